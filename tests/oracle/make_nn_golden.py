"""Writes the golden file for trifecta's nn layer: for each case, a layer (or loss) built in PyTorch from a
spec that tests/unit/nn_golden_test.cpp builds the same way in trifecta. Per layer case it stores the state
dict under PyTorch's names (random values, so affine parameters and running statistics are not trivial),
the input, the output, loss weights w, the gradients of L = sum(out * w) with respect to the input and every
parameter, the state dict's key order, and the state dict after the forward (batch norm's running
statistics, spectral norm's u and v).
Loss cases store their inputs, output, w and input gradients. Everything is float32. Run with Debian's
python3-torch:

    /usr/bin/python3 tests/oracle/make_nn_golden.py --out build/nn_golden.safetensors
"""
import argparse
import json
import math
import os
import sys

import torch
import torch.nn as nn
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import safetensors_np  # noqa: E402

torch.manual_seed(0)


def randn(*shape):
    return torch.randn(tuple(shape), dtype=torch.float64).float()


# ---- Layer specs (the C++ test reads the same dicts) ----

def pair(v):
    return tuple(v) if isinstance(v, (list, tuple)) else (v, v)


def build(spec):
    kind = spec["type"]
    if kind == "Linear":
        layer = nn.Linear(spec["in"], spec["out"], bias=spec["bias"])
    elif kind == "Conv2d":
        layer = nn.Conv2d(spec["in"], spec["out"], pair(spec["kernel"]), stride=pair(spec["stride"]),
                          padding=pair(spec["padding"]), dilation=pair(spec["dilation"]), bias=spec["bias"])
    elif kind == "ConvTranspose2d":
        layer = nn.ConvTranspose2d(spec["in"], spec["out"], pair(spec["kernel"]), stride=pair(spec["stride"]),
                                   padding=pair(spec["padding"]), output_padding=pair(spec["output_padding"]),
                                   dilation=pair(spec["dilation"]), bias=spec["bias"])
    elif kind in ("BatchNorm1d", "BatchNorm2d"):
        layer = getattr(nn, kind)(spec["features"], eps=spec["eps"], momentum=spec["momentum"],
                                  affine=spec["affine"], track_running_stats=spec["track"])
    elif kind == "LayerNorm":
        layer = nn.LayerNorm(spec["shape"], eps=spec["eps"], elementwise_affine=spec["affine"])
    elif kind == "Embedding":
        layer = nn.Embedding(spec["num"], spec["dim"], padding_idx=spec["padding_idx"])
    elif kind == "Dropout":
        layer = nn.Dropout(spec["p"])
    elif kind == "LeakyReLU":
        layer = nn.LeakyReLU(spec["slope"])
    elif kind == "ELU":
        layer = nn.ELU(spec["alpha"])
    elif kind == "GELU":
        layer = nn.GELU(approximate="tanh" if spec["tanh"] else "none")
    elif kind == "Softplus":
        layer = nn.Softplus(spec["beta"], spec["threshold"])
    elif kind in ("ReLU", "SiLU", "Sigmoid", "Tanh"):
        layer = getattr(nn, kind)()
    elif kind == "Flatten":
        layer = nn.Flatten(spec["start"], spec["end"])
    elif kind == "Unflatten":
        layer = nn.Unflatten(spec["dim"], tuple(spec["sizes"]))
    elif kind == "Sequential":
        layer = nn.Sequential(*[build(s) for s in spec["layers"]])
    else:
        raise ValueError(f"unknown layer {kind}")
    if "spectral_norm" in spec:
        layer = nn.utils.spectral_norm(layer, n_power_iterations=spec["spectral_norm"]["n_power_iterations"])
    return layer


def linear(i, o, bias=True, **extra):
    return {"type": "Linear", "in": i, "out": o, "bias": bias, **extra}


def conv2d(i, o, kernel, stride=1, padding=0, dilation=1, bias=True, **extra):
    return {"type": "Conv2d", "in": i, "out": o, "kernel": kernel, "stride": stride, "padding": padding,
            "dilation": dilation, "bias": bias, **extra}


def conv_transpose2d(i, o, kernel, stride=1, padding=0, output_padding=0, dilation=1, bias=True, **extra):
    return {"type": "ConvTranspose2d", "in": i, "out": o, "kernel": kernel, "stride": stride, "padding": padding,
            "output_padding": output_padding, "dilation": dilation, "bias": bias, **extra}


def batch_norm(dims, features, eps=1e-5, momentum=0.1, affine=True, track=True):
    return {"type": f"BatchNorm{dims}d", "features": features, "eps": eps, "momentum": momentum, "affine": affine,
            "track": track}


def sn(iterations=1):
    return {"spectral_norm": {"n_power_iterations": iterations}}


# (name, spec, input shape or an int64 index tensor, training mode)
LAYER_CASES = [
    ("linear", linear(5, 4), (3, 5), True),
    ("linear_nobias_3d", linear(5, 4, bias=False), (2, 3, 5), True),
    ("conv2d", conv2d(3, 4, 3, stride=2, padding=1), (2, 3, 7, 6), True),
    ("conv2d_rect_dilated_nobias", conv2d(2, 3, [3, 2], stride=[1, 2], padding=[2, 1], dilation=[2, 1], bias=False),
     (2, 2, 8, 7), True),
    ("conv_transpose2d", conv_transpose2d(3, 2, 4, stride=2, padding=1), (2, 3, 4, 5), True),
    ("conv_transpose2d_output_padding", conv_transpose2d(2, 3, 3, stride=2, padding=1, output_padding=1),
     (1, 2, 3, 4), True),
    ("conv_transpose2d_rect_dilated_nobias",
     conv_transpose2d(2, 2, [2, 3], stride=[2, 1], padding=[0, 1], output_padding=[1, 0], dilation=[1, 2],
                      bias=False), (2, 2, 3, 4), True),
    ("batchnorm1d_train", batch_norm(1, 4), (6, 4), True),
    ("batchnorm1d_3d_train", batch_norm(1, 3, momentum=0.3, eps=1e-3), (4, 3, 5), True),
    ("batchnorm1d_eval", batch_norm(1, 4), (5, 4), False),
    ("batchnorm1d_noaffine_train", batch_norm(1, 3, affine=False), (5, 3), True),
    ("batchnorm2d_train", batch_norm(2, 3), (4, 3, 5, 6), True),
    ("batchnorm2d_eval", batch_norm(2, 3), (2, 3, 4, 5), False),
    ("batchnorm2d_cumulative_train", batch_norm(2, 2, momentum=None), (3, 2, 4, 4), True),
    ("batchnorm2d_untracked_eval", batch_norm(2, 2, track=False), (3, 2, 3, 3), False),
    ("layernorm_2d", {"type": "LayerNorm", "shape": [4, 5], "eps": 1e-5, "affine": True}, (3, 4, 5), True),
    ("layernorm_eps", {"type": "LayerNorm", "shape": [6], "eps": 1e-3, "affine": True}, (2, 3, 6), True),
    ("layernorm_noaffine", {"type": "LayerNorm", "shape": [6], "eps": 1e-5, "affine": False}, (4, 6), True),
    ("embedding", {"type": "Embedding", "num": 10, "dim": 4, "padding_idx": None},
     torch.tensor([[1, 3, 3, 9, 0], [2, 3, 7, 1, 1], [0, 0, 4, 5, 6]]), True),
    ("embedding_padding", {"type": "Embedding", "num": 7, "dim": 3, "padding_idx": -2},
     torch.tensor([[5, 1, 5], [2, 6, 0]]), True),
    ("dropout_eval", {"type": "Dropout", "p": 0.5}, (4, 5), False),
    ("dropout_p0_train", {"type": "Dropout", "p": 0.0}, (4, 5), True),
    ("relu", {"type": "ReLU"}, (4, 5), True),
    ("leaky_relu", {"type": "LeakyReLU", "slope": 0.2}, (4, 5), True),
    ("elu", {"type": "ELU", "alpha": 0.7}, (4, 5), True),
    ("gelu", {"type": "GELU", "tanh": False}, (4, 5), True),
    ("gelu_tanh", {"type": "GELU", "tanh": True}, (4, 5), True),
    ("silu", {"type": "SiLU"}, (4, 5), True),
    ("sigmoid", {"type": "Sigmoid"}, (4, 5), True),
    ("tanh", {"type": "Tanh"}, (4, 5), True),
    ("softplus", {"type": "Softplus", "beta": 2.0, "threshold": 3.0}, (4, 5), True),
    ("flatten", {"type": "Flatten", "start": 1, "end": -1}, (2, 3, 4, 5), True),
    ("flatten_middle", {"type": "Flatten", "start": 0, "end": 1}, (2, 3, 4), True),
    ("unflatten", {"type": "Unflatten", "dim": 1, "sizes": [3, 4]}, (2, 12, 5), True),
    ("unflatten_infer", {"type": "Unflatten", "dim": -1, "sizes": [2, -1]}, (3, 8), True),
    ("sequential_mlp", {"type": "Sequential", "layers": [
        linear(6, 5), batch_norm(1, 5), {"type": "LeakyReLU", "slope": 0.2}, linear(5, 3), {"type": "Tanh"}]},
     (4, 6), True),
    ("sequential_conv", {"type": "Sequential", "layers": [
        conv2d(1, 4, 3, stride=2, padding=1), batch_norm(2, 4), {"type": "ReLU"},
        {"type": "Flatten", "start": 1, "end": -1}, linear(64, 6)]}, (3, 1, 8, 8), True),
    ("sn_linear_train", linear(6, 4, **sn()), (3, 6), True),
    ("sn_linear_eval", linear(6, 4, **sn()), (3, 6), False),
    ("sn_linear_3_iterations_train", linear(5, 7, bias=False, **sn(3)), (2, 5), True),
    ("sn_conv2d_train", conv2d(3, 4, 3, stride=1, padding=1, **sn()), (2, 3, 5, 5), True),
    ("sn_conv_transpose2d_train", conv_transpose2d(4, 3, 4, stride=2, padding=1, **sn()), (2, 4, 3, 3), True),
    ("sn_sequential_train", {"type": "Sequential", "layers": [
        conv2d(2, 3, 3, padding=1, **sn()), {"type": "LeakyReLU", "slope": 0.1},
        {"type": "Flatten", "start": 1, "end": -1}, linear(48, 2, **sn())]}, (2, 2, 4, 4), True),
]


def randomize_state(module):
    """Overwrites every tensor of the state with random values of the right kind."""
    with torch.no_grad():
        for name, t in module.state_dict(keep_vars=True).items():
            leaf = name.rsplit(".", 1)[-1]
            if leaf == "num_batches_tracked":
                t.fill_(3)
            elif leaf == "running_var":
                t.copy_(torch.rand(t.shape, dtype=torch.float64) + 0.5)
            elif leaf in ("weight_u", "weight_v"):
                t.copy_(F.normalize(randn(*t.shape), dim=0))
            elif leaf == "weight" and isinstance(module, nn.Embedding) and module.padding_idx is not None:
                t.copy_(randn(*t.shape))
                t[module.padding_idx].zero_()
            else:
                t.copy_(randn(*t.shape) * 0.7)


def layer_case(tensors, name, spec, input_spec, training):
    module = build(spec)
    randomize_state(module)
    for key, t in module.state_dict().items():
        tensors[f"{name}/state/{key}"] = t.detach().clone().numpy()
    module.train(training)
    if isinstance(input_spec, torch.Tensor):
        x = input_spec.clone()
    else:
        x = randn(*input_spec).requires_grad_()
    out = module(x)
    w = randn(*out.shape)
    (out * w).sum().backward()
    tensors[f"{name}/in"] = x.detach().numpy()
    tensors[f"{name}/out"] = out.detach().numpy()
    tensors[f"{name}/w"] = w.numpy()
    if x.requires_grad:
        tensors[f"{name}/grad_in"] = x.grad.numpy()
    for key, p in module.named_parameters():
        tensors[f"{name}/grad/{key}"] = p.grad.numpy()
    for key, t in module.state_dict().items():
        tensors[f"{name}/after/{key}"] = t.detach().clone().numpy()
    return {"name": name, "kind": "layer", "spec": spec, "training": training,
            "state_keys": list(module.state_dict().keys())}


# ---- Losses ----

def per_example_sum(t):
    return t.sum(dim=tuple(range(1, t.dim()))) if t.dim() > 1 else t


def reduce_examples(t, reduction):
    return {"mean": t.mean(), "sum": t.sum(), "none": t}[reduction]


def gaussian_nll(x, mean, log_gamma, reduction):
    """Dai & Wipf 2019: sum over dims of (x - mean)^2 / (2 gamma^2) + log gamma + log(2 pi) / 2."""
    per_dim = (x - mean) ** 2 / (2 * torch.exp(2 * log_gamma)) + log_gamma + 0.5 * math.log(2 * math.pi)
    return reduce_examples(per_example_sum(per_dim), reduction)


def kl_diag_gaussian_standard(mu, logvar, reduction):
    return reduce_examples(0.5 * per_example_sum(mu ** 2 + torch.exp(logvar) - 1 - logvar), reduction)


def run_loss(loss, params, inputs, reduction):
    if loss == "mse":
        return F.mse_loss(inputs[0], inputs[1], reduction=reduction)
    if loss == "bce_with_logits":
        return F.binary_cross_entropy_with_logits(inputs[0], inputs[1], reduction=reduction)
    if loss == "cross_entropy":
        return F.cross_entropy(inputs[0], inputs[1], reduction=reduction, label_smoothing=params["label_smoothing"],
                               ignore_index=params["ignore_index"])
    if loss == "gaussian_nll":
        return gaussian_nll(inputs[0], inputs[1], inputs[2], reduction)
    if loss == "kl_diag_gaussian_standard":
        return kl_diag_gaussian_standard(inputs[0], inputs[1], reduction)
    raise ValueError(f"unknown loss {loss}")


def logits_with_extremes(*shape):
    """Logits that include an exact zero and values whose exp overflows float32."""
    x = randn(*shape) * 3
    flat = x.view(-1)
    flat[0], flat[1], flat[2], flat[3] = 0.0, 95.0, -120.0, 30.0
    return x


# (name, loss, params, inputs)
LOSS_CASES = [
    ("mse", "mse", {}, [randn(4, 5), randn(4, 5)]),
    ("mse_3d", "mse", {}, [randn(2, 3, 4), randn(2, 3, 4)]),
    ("bce_with_logits", "bce_with_logits", {}, [logits_with_extremes(4, 5), torch.rand(4, 5)]),
    ("bce_with_logits_hard_targets", "bce_with_logits", {}, [randn(3, 4) * 2, (torch.rand(3, 4) < 0.5).float()]),
    ("cross_entropy", "cross_entropy", {"label_smoothing": 0.0, "ignore_index": -100},
     [randn(5, 4) * 2, torch.tensor([0, 3, 1, 1, 2])]),
    ("cross_entropy_smoothing_ignore", "cross_entropy", {"label_smoothing": 0.1, "ignore_index": 2},
     [randn(6, 5), torch.tensor([0, 2, 4, 1, 2, 3])]),
    ("cross_entropy_kdim", "cross_entropy", {"label_smoothing": 0.0, "ignore_index": -100},
     [randn(2, 4, 3, 2), torch.randint(0, 4, (2, 3, 2))]),
    ("gaussian_nll", "gaussian_nll", {}, [randn(4, 6), randn(4, 6), torch.tensor(-0.3)]),
    ("gaussian_nll_images", "gaussian_nll", {}, [torch.rand(3, 1, 4, 4), torch.rand(3, 1, 4, 4), torch.tensor(0.4)]),
    ("gaussian_nll_per_dim_gamma", "gaussian_nll", {}, [randn(3, 2, 4), randn(3, 2, 4), randn(2, 4) * 0.3]),
    ("kl_diag_gaussian_standard", "kl_diag_gaussian_standard", {}, [randn(4, 3), randn(4, 3)]),
    ("kl_diag_gaussian_standard_3d", "kl_diag_gaussian_standard", {}, [randn(3, 2, 2), randn(3, 2, 2)]),
]


def loss_case(tensors, name, loss, params, inputs, reduction):
    key = f"{name}_{reduction}"
    leaves = [t.clone().requires_grad_(t.is_floating_point()) for t in inputs]
    out = run_loss(loss, params, leaves, reduction)
    w = randn(*out.shape)
    (out * w).sum().backward()
    tensors[f"{key}/out"] = out.detach().numpy()
    tensors[f"{key}/w"] = w.numpy()
    for i, (leaf, original) in enumerate(zip(leaves, inputs)):
        tensors[f"{key}/in{i}"] = original.numpy()
        if leaf.requires_grad:
            tensors[f"{key}/grad{i}"] = leaf.grad.numpy()
    return {"name": key, "kind": "loss", "loss": loss, "params": params, "reduction": reduction,
            "inputs": len(inputs)}


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", required=True)
    args = parser.parse_args()
    tensors, index = {}, []
    for name, spec, input_spec, training in LAYER_CASES:
        index.append(layer_case(tensors, name, spec, input_spec, training))
    for name, loss, params, inputs in LOSS_CASES:
        for reduction in ("mean", "sum", "none"):
            index.append(loss_case(tensors, name, loss, params, inputs, reduction))
    safetensors_np.save(args.out, tensors, {"cases": json.dumps(index), "torch": torch.__version__})
    print(f"wrote {len(index)} nn golden cases to {args.out}")


if __name__ == "__main__":
    main()
