"""Writes the PyTorch oracle: for each case, inputs, the outputs PyTorch computes, loss weights w and the
gradients of L = sum_k sum(out_k * w_k) with respect to every floating input, in float32. Outputs that carry
no gradient (integer indices, updated running statistics) get no weight and are compared as they are.
tests/unit/oracle_test.cpp runs the same ops in trifecta and must agree. Run with Debian's python3-torch:

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
CASES = []  # (name, op, params, inputs (list of tensors), differentiable mask, unit loss weights)


def case(name, op, inputs, params=None, differentiable=None, unit_weights=False):
    CASES.append((name, op, params or {}, inputs, differentiable, unit_weights))


def randn(*shape):
    return torch.randn(tuple(shape), dtype=torch.float64).float()


def positive(*shape):
    return (torch.rand(*shape, dtype=torch.float64) * 2 + 0.5).float()


def indices(high, *shape):
    return torch.randint(0, high, tuple(shape), dtype=torch.int64)


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
# NaN, +inf, -inf and signed zeros: outputs and gradients must be PyTorch's there too.
SPECIALS = [float("nan"), float("inf"), float("-inf"), 0.0, -0.0, 1.0, -1.0, 2.5, -2.0]


def specials():
    """Each special value, and ordinary ones, above a row of random values."""
    return torch.cat([torch.tensor(SPECIALS), randn(9)]).reshape(2, 9).float()


for op in ["exp", "tanh", "sigmoid", "relu", "silu", "neg", "abs", "sin", "cos", "square", "expm1", "log", "sqrt",
           "rsqrt", "reciprocal", "log1p"]:
    case(op + "_nonfinite", op, [specials()])
case("gelu_exact_nonfinite", "gelu", [specials()], {"tanh": 0})
case("gelu_tanh_nonfinite", "gelu", [specials()], {"tanh": 1})
case("softplus_nonfinite", "softplus", [specials()], {"beta": 2.0, "threshold": 5.0})
case("elu_nonfinite", "elu", [specials()], {"alpha": 1.3})
case("leaky_relu_nonfinite", "leaky_relu", [specials()], {"slope": 0.1})
case("clamp_nonfinite", "clamp", [specials()], {"min": -0.4, "max": 0.6})
case("clamp_min_above_max", "clamp", [specials()], {"min": 0.6, "max": -0.4})
for exponent in [0.0, 0.5, -0.5, 1.0, 1.5, 2.0, 3.0, -1.0, -1.5, -2.0]:
    case(f"pow_scalar_{exponent}_nonfinite", "pow_scalar", [specials()], {"exponent": exponent})
# Binary ops on every pair of special values: a column of them against a row.
for op in ["add", "sub", "mul", "div", "pow", "maximum", "minimum"]:
    case(op + "_nonfinite", op, [torch.tensor(SPECIALS).reshape(9, 1), torch.tensor(SPECIALS).reshape(1, 9)])
case("where_nonfinite", "where", [torch.rand(2, 9) < 0.5, specials(), specials().flip(1)],
     differentiable=[False, True, True])
# masked_fill with a 0-dim tensor value (which gets a gradient too): a finite fill, and -inf (an attention
# mask) broadcast over inputs that have NaN and infinities.
case("masked_fill", "masked_fill", [randn(3, 4), torch.rand(3, 4) < 0.5, torch.tensor(1.5)], None,
     [True, False, True])
case("masked_fill_broadcast_nonfinite", "masked_fill", [specials(), torch.rand(1, 9) < 0.5, torch.tensor(float("-inf"))],
     None, [True, False, True])
# Reductions.
case("sum_all", "sum", [randn(3, 4, 5)], {"dims": []})
case("sum_dims", "sum", [randn(3, 4, 5)], {"dims": [0, 2], "keepdim": 1})
case("mean_dim", "mean", [randn(3, 4, 5)], {"dims": [1]})
case("amax_dim", "amax", [randn(4, 6)], {"dims": [1]})
case("amin_all", "amin", [randn(4, 6)], {"dims": []})
case("logsumexp", "logsumexp", [randn(4, 6) * 5], {"dims": [1]})
case("var_unbiased", "var", [randn(4, 6)], {"dims": [1], "correction": 1})
case("var_population", "var", [randn(4, 6)], {"dims": [0, 1], "correction": 0})

# Matrix products: every rank combination of matmul's semantics, and a transposed (non-contiguous) operand.
case("matmul_2d", "matmul", [randn(5, 7), randn(7, 3)])
case("matmul_2d_transposed", "matmul", [randn(5, 7), randn(3, 7)], {"transpose_b": 1})
case("matmul_batched_broadcast", "matmul", [randn(2, 1, 4, 6), randn(3, 6, 5)])
case("matmul_vector_matrix", "matmul", [randn(6), randn(6, 4)])
case("matmul_batched_matrix_vector", "matmul", [randn(3, 5, 6), randn(6)])
case("matmul_dot", "matmul", [randn(7), randn(7)])
# Softmax along the last, first and a middle dim.
case("softmax_last", "softmax", [randn(4, 7) * 3], {"dim": -1})
case("softmax_dim0", "softmax", [randn(5, 3, 4)], {"dim": 0})
case("softmax_middle", "softmax", [randn(3, 6, 4)], {"dim": 1})
case("log_softmax_last", "log_softmax", [randn(4, 7) * 20], {"dim": -1})
case("log_softmax_middle", "log_softmax", [randn(2, 5, 3)], {"dim": 1})
case("log_softmax_dim0", "log_softmax", [randn(6, 4)], {"dim": 0})
# Cross-entropy: each reduction, label smoothing, ignored targets (the default -100 and a class index).
ce = {"smoothing": 0.0, "ignore_index": -100}
case("cross_entropy_mean", "cross_entropy", [randn(6, 5), indices(5, 6)], {**ce, "reduction": "mean"})
case("cross_entropy_sum", "cross_entropy", [randn(6, 5), indices(5, 6)], {**ce, "reduction": "sum"})
case("cross_entropy_none", "cross_entropy", [randn(6, 5), indices(5, 6)], {**ce, "reduction": "none"})
case("cross_entropy_smoothing", "cross_entropy", [randn(7, 4) * 2, indices(4, 7)],
     {"smoothing": 0.1, "ignore_index": -100, "reduction": "mean"})
case("cross_entropy_ignore_default", "cross_entropy", [randn(5, 6), torch.tensor([1, -100, 4, -100, 0])],
     {**ce, "reduction": "mean"})
case("cross_entropy_ignore_class_smoothing", "cross_entropy", [randn(6, 3), torch.tensor([2, 0, 2, 1, 1, 0])],
     {"smoothing": 0.2, "ignore_index": 2, "reduction": "none"})
case("cross_entropy_ignore_sum_smoothing", "cross_entropy", [randn(6, 3), torch.tensor([2, 0, 2, 1, 1, 0])],
     {"smoothing": 0.3, "ignore_index": 1, "reduction": "sum"})
case("cross_entropy_one_sample", "cross_entropy", [randn(5), torch.tensor(3)], {**ce, "reduction": "mean"})
# Layer norm over one and two trailing dims, with and without the affine transform.
case("layer_norm_last", "layer_norm", [randn(4, 6) * 2 + 1, randn(6), randn(6)], {"normalized": [6], "eps": 1e-5})
case("layer_norm_two_dims", "layer_norm", [randn(3, 4, 5), randn(4, 5), randn(4, 5)],
     {"normalized": [4, 5], "eps": 1e-3})
case("layer_norm_no_affine", "layer_norm", [randn(5, 8)], {"normalized": [8], "eps": 1e-5})
# Batch norm: inputs are x, then running mean and variance when "stats", then weight and bias when "affine".
# Training also checks the running statistics it updates in place.
bn = {"momentum": 0.1, "eps": 1e-5, "stats": 1, "affine": 1}
stats_mask = [True, False, False, True, True]
case("batch_norm_train_4d", "batch_norm", [randn(4, 3, 5, 2) * 2 + 0.5, randn(3), positive(3), randn(3), randn(3)],
     {**bn, "training": 1}, stats_mask)
case("batch_norm_train_2d", "batch_norm", [randn(8, 5), randn(5), positive(5), randn(5), randn(5)],
     {**bn, "training": 1, "momentum": 0.3}, stats_mask)
case("batch_norm_train_no_stats", "batch_norm", [randn(6, 4, 3), randn(4), randn(4)],
     {**bn, "training": 1, "stats": 0})
case("batch_norm_eval", "batch_norm", [randn(4, 3, 5, 2), randn(3), positive(3), randn(3), randn(3)],
     {**bn, "training": 0}, stats_mask)
case("batch_norm_eval_no_affine", "batch_norm", [randn(5, 4), randn(4), positive(4)],
     {**bn, "training": 0, "affine": 0, "eps": 1e-3}, stats_mask[:3])
# Convolutions: a bias is present when there are three inputs.
conv = {"stride": [1, 1], "padding": [0, 0], "dilation": [1, 1]}
case("conv2d_basic", "conv2d", [randn(2, 3, 7, 6), randn(4, 3, 3, 3), randn(4)], conv)
case("conv2d_stride_padding", "conv2d", [randn(2, 3, 8, 7), randn(5, 3, 3, 2), randn(5)],
     {**conv, "stride": [2, 1], "padding": [1, 0]})
case("conv2d_dilation_no_bias", "conv2d", [randn(1, 2, 9, 9), randn(3, 2, 3, 3)],
     {**conv, "padding": [2, 2], "dilation": [2, 2]})
case("conv2d_vae_encoder", "conv2d", [randn(2, 1, 8, 8), randn(4, 1, 4, 4), randn(4)],
     {**conv, "stride": [2, 2], "padding": [1, 1]})
tconv = {**conv, "output_padding": [0, 0]}
case("conv_transpose2d_basic", "conv_transpose2d", [randn(2, 4, 3, 3), randn(4, 3, 3, 3), randn(3)], tconv)
case("conv_transpose2d_output_padding", "conv_transpose2d", [randn(2, 3, 4, 5), randn(3, 2, 3, 3), randn(2)],
     {**tconv, "stride": [2, 2], "padding": [1, 1], "output_padding": [1, 1]})
case("conv_transpose2d_vae_decoder", "conv_transpose2d", [randn(2, 4, 4, 4), randn(4, 2, 4, 4), randn(2)],
     {**tconv, "stride": [2, 2], "padding": [1, 1]})
case("conv_transpose2d_dilation_no_bias", "conv_transpose2d", [randn(1, 2, 4, 3), randn(2, 3, 3, 2)],
     {**tconv, "stride": [2, 1], "dilation": [2, 2], "output_padding": [1, 0]})
# Pooling (randn inputs have no ties, so max pooling's gradient has one place to go).
pool = {"stride": [0, 0], "padding": [0, 0], "dilation": [1, 1]}
case("max_pool2d_2x2", "max_pool2d", [randn(2, 3, 6, 6)], {**pool, "kernel": [2, 2]})
case("max_pool2d_3x3_stride_padding", "max_pool2d", [randn(2, 2, 7, 7)],
     {**pool, "kernel": [3, 3], "stride": [2, 2], "padding": [1, 1]})
case("max_pool2d_dilation", "max_pool2d", [randn(1, 2, 8, 8)], {**pool, "kernel": [2, 2], "stride": [1, 1],
                                                                    "dilation": [2, 2]})
case("max_pool2d_with_indices", "max_pool2d_with_indices", [randn(2, 2, 6, 5)],
     {**pool, "kernel": [2, 3], "stride": [2, 1]})
case("avg_pool2d_2x2", "avg_pool2d", [randn(2, 3, 6, 6)], {**pool, "kernel": [2, 2], "count_include_pad": 1})
case("avg_pool2d_padding_included", "avg_pool2d", [randn(2, 2, 7, 7)],
     {**pool, "kernel": [3, 3], "stride": [2, 2], "padding": [1, 1], "count_include_pad": 1})
case("avg_pool2d_padding_excluded", "avg_pool2d", [randn(2, 2, 7, 7)],
     {**pool, "kernel": [3, 3], "stride": [2, 2], "padding": [1, 1], "count_include_pad": 0})
case("avg_pool2d_rectangular_excluded", "avg_pool2d", [randn(1, 3, 5, 8)],
     {**pool, "kernel": [2, 3], "stride": [1, 2], "padding": [1, 1], "count_include_pad": 0})
# Embedding, with and without a padding row (which gets no gradient), repeated indices accumulating.
case("embedding", "embedding", [randn(10, 4), torch.tensor([[1, 7, 7, 0, 9], [3, 3, 3, 2, 1], [0, 5, 6, 8, 4]])])
case("embedding_padding_idx", "embedding", [randn(6, 3), torch.tensor([[2, 1, 5], [2, 2, 0]])], {"padding_idx": 2})
case("embedding_padding_idx_negative", "embedding", [randn(6, 3), torch.tensor([1, 5, 5, 0])], {"padding_idx": -1})
# Picking and scattering by index tensors.
case("gather_dim0", "gather", [randn(4, 5), indices(4, 3, 5)], {"dim": 0})
case("gather_dim1_smaller_index", "gather", [randn(3, 6), indices(6, 2, 4)], {"dim": 1})
case("gather_3d_last", "gather", [randn(2, 3, 5), indices(5, 2, 3, 7)], {"dim": -1})
case("index_select_dim0", "index_select", [randn(6, 4), torch.tensor([5, 0, 0, 3, 5])], {"dim": 0})
case("index_select_dim1", "index_select", [randn(3, 7, 2), torch.tensor([6, 1, 1, 4])], {"dim": 1})
case("index_add_dim0", "index_add", [randn(5, 3), torch.tensor([4, 0, 4, 2]), randn(4, 3)], {"dim": 0})
case("scatter_add_dim0", "scatter_add", [randn(4, 5), indices(4, 6, 5), randn(6, 5)], {"dim": 0})
case("scatter_add_dim1", "scatter_add", [randn(3, 4), indices(4, 2, 6), randn(2, 6)], {"dim": 1})
case("concat_dim0", "concat", [randn(2, 3), randn(4, 3), randn(1, 3)], {"dim": 0})
case("concat_dim_negative", "concat", [randn(2, 3, 2), randn(2, 1, 2)], {"dim": -2})
case("stack_dim1", "stack", [randn(3, 4), randn(3, 4)], {"dim": 1})
case("split_sizes", "split", [randn(7, 3)], {"sizes": [2, 4, 1], "dim": 0})
# topk: values compared with the tolerance, indices exactly.
case("topk_largest", "topk", [randn(4, 7)], {"k": 3, "dim": -1, "largest": 1})
case("topk_smallest_dim0", "topk", [randn(6, 5)], {"k": 2, "dim": 0, "largest": 0})
case("topk_3d_middle", "topk", [randn(2, 8, 3)], {"k": 4, "dim": 1, "largest": 1})
# Dropout draws a random mask, which no two libraries share; only its deterministic cases can be compared.
case("dropout_eval", "dropout", [randn(4, 5)], {"p": 0.5, "training": 0})
case("dropout_p0", "dropout", [randn(4, 5)], {"p": 0.0, "training": 1})
# A small MLP trained one step's worth: x [16, 20] -> Linear(20, 32) -> ReLU -> Linear(32, 10) ->
# cross-entropy, written with raw ops; its loss (weight 1) and every gradient, parameters' and x's.
first, second = torch.nn.Linear(20, 32), torch.nn.Linear(32, 10)
case("mlp", "mlp", [randn(16, 20), first.weight.detach().clone(), first.bias.detach().clone(),
                    second.weight.detach().clone(), second.bias.detach().clone(), indices(10, 16)],
     unit_weights=True)


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
    if op == "masked_fill":
        return [x[0].masked_fill(x[1], x[2])]
    if op in ("sum", "mean", "amax", "amin", "logsumexp"):
        dims = params["dims"] or list(range(x[0].dim()))
        return [getattr(torch, op)(x[0], dim=dims, keepdim=bool(params.get("keepdim", 0)))]
    if op == "var":
        dims = params["dims"] or list(range(x[0].dim()))
        return [torch.var(x[0], dim=dims, unbiased=bool(params["correction"]))]
    if op == "matmul":
        return [torch.matmul(x[0], x[1].transpose(-2, -1) if params.get("transpose_b") else x[1])]
    if op in ("softmax", "log_softmax"):
        return [getattr(torch, op)(x[0], params["dim"])]
    if op == "cross_entropy":
        return [F.cross_entropy(x[0], x[1], label_smoothing=params["smoothing"], ignore_index=params["ignore_index"],
                                reduction=params["reduction"])]
    if op == "layer_norm":
        affine = x[1:3] if len(x) == 3 else [None, None]
        return [F.layer_norm(x[0], params["normalized"], *affine, eps=params["eps"])]
    if op == "batch_norm":
        rest = list(x[1:])
        stats = [rest.pop(0), rest.pop(0)] if params["stats"] else [None, None]
        affine = [rest.pop(0), rest.pop(0)] if params["affine"] else [None, None]
        out = F.batch_norm(x[0], *stats, *affine, training=bool(params["training"]), momentum=params["momentum"],
                           eps=params["eps"])
        return [out] + (stats if params["stats"] and params["training"] else [])
    if op == "conv2d":
        return [F.conv2d(x[0], x[1], x[2] if len(x) == 3 else None, tuple(params["stride"]), tuple(params["padding"]),
                         tuple(params["dilation"]))]
    if op == "conv_transpose2d":
        return [F.conv_transpose2d(x[0], x[1], x[2] if len(x) == 3 else None, tuple(params["stride"]),
                                   tuple(params["padding"]), tuple(params["output_padding"]), 1,
                                   tuple(params["dilation"]))]
    if op in ("max_pool2d", "max_pool2d_with_indices"):
        stride = tuple(params["stride"]) if any(params["stride"]) else None
        out = F.max_pool2d(x[0], tuple(params["kernel"]), stride, tuple(params["padding"]), tuple(params["dilation"]),
                           return_indices=op == "max_pool2d_with_indices")
        return list(out) if isinstance(out, tuple) else [out]
    if op == "avg_pool2d":
        stride = tuple(params["stride"]) if any(params["stride"]) else None
        return [F.avg_pool2d(x[0], tuple(params["kernel"]), stride, tuple(params["padding"]),
                             count_include_pad=bool(params["count_include_pad"]))]
    if op == "embedding":
        return [F.embedding(x[1], x[0], padding_idx=params.get("padding_idx"))]
    if op == "gather":
        return [torch.gather(x[0], params["dim"], x[1])]
    if op == "index_select":
        return [torch.index_select(x[0], params["dim"], x[1])]
    if op == "index_add":
        return [torch.index_add(x[0], params["dim"], x[1], x[2])]
    if op == "scatter_add":
        return [torch.scatter_add(x[0], params["dim"], x[1], x[2])]
    if op == "concat":
        return [torch.cat(x, params["dim"])]
    if op == "stack":
        return [torch.stack(x, params["dim"])]
    if op == "split":
        return list(torch.split(x[0], params["sizes"], params["dim"]))
    if op == "topk":
        values, positions = torch.topk(x[0], params["k"], params["dim"], largest=bool(params["largest"]))
        return [values, positions]
    if op == "dropout":
        return [F.dropout(x[0], params["p"], training=bool(params["training"]))]
    if op == "mlp":
        data, w1, b1, w2, b2, targets = x
        hidden = torch.relu(data @ w1.t() + b1)
        return [F.cross_entropy(hidden @ w2.t() + b2, targets)]
    raise ValueError(f"unknown op {op}")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", required=True)
    args = parser.parse_args()
    tensors, index = {}, []
    for name, op, params, inputs, differentiable, unit_weights in CASES:
        differentiable = differentiable or [True] * len(inputs)
        leaves = [t.clone().requires_grad_(d and t.is_floating_point()) for t, d in zip(inputs, differentiable)]
        outputs = run(op, params, leaves)
        loss = 0
        for k, out in enumerate(outputs):
            tensors[f"{name}/out{k}"] = out.detach().clone().numpy()
            if out.requires_grad:
                w = torch.ones(out.shape) if unit_weights else randn(*out.shape)
                tensors[f"{name}/w{k}"] = w.numpy()
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
