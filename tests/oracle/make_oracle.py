"""Writes the PyTorch oracle: for each case, inputs, the outputs PyTorch computes, loss weights w and the
gradients of L = sum(out * w) with respect to every floating input, in float32. tests/unit/oracle_test.cpp
runs the same ops in trifecta and must agree. Run with Debian's python3-torch:

    /usr/bin/python3 tests/oracle/make_oracle.py --out build/oracle.safetensors
"""
import argparse
import json
import os
import sys

import numpy as np
import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import safetensors_np  # noqa: E402

torch.manual_seed(0)
CASES = []  # (name, op, params, inputs (list of tensors), differentiable mask)


def case(name, op, inputs, params=None, differentiable=None):
    CASES.append((name, op, params or {}, inputs, differentiable))


def randn(*shape):
    return torch.randn(tuple(shape), dtype=torch.float64).float()


def positive(*shape):
    return (torch.rand(*shape, dtype=torch.float64) * 2 + 0.5).float()


# Unary math and activations.
for op in ["exp", "tanh", "sigmoid", "relu", "silu", "neg", "abs", "sin", "cos", "square", "expm1"]:
    case(op, op, [randn(4, 5)])
for op in ["log", "sqrt", "rsqrt", "reciprocal", "log1p"]:
    case(op, op, [positive(3, 7)])
case("gelu_exact", "gelu", [randn(6, 4)], {"tanh": 0})
case("gelu_tanh", "gelu", [randn(6, 4)], {"tanh": 1})
case("softplus", "softplus", [randn(5, 5) * 4], {"beta": 2.0, "threshold": 5.0})
case("elu", "elu", [randn(5, 3)], {"alpha": 1.3})
case("leaky_relu", "leaky_relu", [randn(5, 3)], {"slope": 0.1})
case("clamp", "clamp", [randn(5, 3)], {"min": -0.4, "max": 0.6})
case("pow_scalar", "pow_scalar", [positive(4, 3)], {"exponent": 1.7})
# Binary with broadcasting.
case("add_broadcast", "add", [randn(3, 1, 4), randn(5, 1)])
case("sub", "sub", [randn(2, 3), randn(2, 3)])
case("mul_broadcast", "mul", [randn(4, 3), randn(3)])
case("div", "div", [randn(3, 4), positive(3, 4)])
case("pow", "pow", [positive(3, 4), randn(3, 4)])
case("maximum", "maximum", [randn(3, 4), randn(1, 4)])
case("minimum", "minimum", [randn(3, 4), randn(3, 1)])
case("where", "where", [torch.rand(3, 4) < 0.5, randn(3, 4), randn(1, 4)], differentiable=[False, True, True])
# Reductions.
case("sum_all", "sum", [randn(3, 4, 5)], {"dims": []})
case("sum_dims", "sum", [randn(3, 4, 5)], {"dims": [0, 2], "keepdim": 1})
case("mean_dim", "mean", [randn(3, 4, 5)], {"dims": [1]})
case("amax_dim", "amax", [randn(4, 6)], {"dims": [1]})
case("amin_all", "amin", [randn(4, 6)], {"dims": []})
case("logsumexp", "logsumexp", [randn(4, 6) * 5], {"dims": [1]})
case("var_unbiased", "var", [randn(4, 6)], {"dims": [1], "correction": 1})
case("var_population", "var", [randn(4, 6)], {"dims": [0, 1], "correction": 0})


def run(op, params, x):
    if op in ("exp", "tanh", "sigmoid", "relu", "neg", "abs", "sin", "cos", "square", "expm1", "log", "sqrt",
              "rsqrt", "reciprocal", "log1p"):
        return [getattr(torch, op)(x[0])]
    if op == "silu":
        return [F.silu(x[0])]
    if op == "gelu":
        return [F.gelu(x[0], approximate="tanh" if params["tanh"] else "none")]
    if op == "softplus":
        return [F.softplus(x[0], beta=params["beta"], threshold=params["threshold"])]
    if op == "elu":
        return [F.elu(x[0], alpha=params["alpha"])]
    if op == "leaky_relu":
        return [F.leaky_relu(x[0], negative_slope=params["slope"])]
    if op == "clamp":
        return [torch.clamp(x[0], params["min"], params["max"])]
    if op == "pow_scalar":
        return [torch.pow(x[0], params["exponent"])]
    if op in ("add", "sub", "mul", "div", "pow", "maximum", "minimum"):
        return [getattr(torch, op)(x[0], x[1])]
    if op == "where":
        return [torch.where(x[0], x[1], x[2])]
    if op in ("sum", "mean", "amax", "amin", "logsumexp"):
        dims = params["dims"] or list(range(x[0].dim()))
        return [getattr(torch, op)(x[0], dim=dims, keepdim=bool(params.get("keepdim", 0)))]
    if op == "var":
        dims = params["dims"] or list(range(x[0].dim()))
        return [torch.var(x[0], dim=dims, unbiased=bool(params["correction"]))]
    raise ValueError(f"unknown op {op}")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", required=True)
    args = parser.parse_args()
    tensors, index = {}, []
    for name, op, params, inputs, differentiable in CASES:
        differentiable = differentiable or [True] * len(inputs)
        leaves = [t.clone().requires_grad_(d and t.is_floating_point()) for t, d in zip(inputs, differentiable)]
        outputs = run(op, params, leaves)
        loss = 0
        for k, out in enumerate(outputs):
            w = randn(*out.shape)
            tensors[f"{name}/w{k}"] = w.numpy()
            tensors[f"{name}/out{k}"] = out.detach().numpy()
            loss = loss + (out * w).sum()
        loss.backward()
        for i, (leaf, original) in enumerate(zip(leaves, inputs)):
            tensors[f"{name}/in{i}"] = original.numpy()
            if leaf.requires_grad:
                tensors[f"{name}/grad{i}"] = leaf.grad.numpy()
        index.append({"name": name, "op": op, "params": params, "inputs": len(inputs), "outputs": len(outputs)})
    safetensors_np.save(args.out, tensors, {"cases": json.dumps(index), "torch": torch.__version__})
    print(f"wrote {len(index)} oracle cases to {args.out}")


if __name__ == "__main__":
    main()
