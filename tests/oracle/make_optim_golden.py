"""Writes the PyTorch golden values for trifecta's optimizers: each optimizer configuration runs STEPS steps
on the same float32 parameters with the same sequence of gradients (some parameters skip some steps: no
gradient), and the parameters after every step are recorded; also clip_grad_norm_ and clip_grad_value_ on a
set of gradients, and the learning rates of StepLR and CosineAnnealingLR. tests/unit/optim_golden_test.cpp
replays the same gradients in trifecta and must agree. Run with Debian's python3-torch:

    /usr/bin/python3 tests/oracle/make_optim_golden.py --out build/optim_golden.safetensors
"""
import argparse
import json
import os
import sys

import numpy as np
import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import safetensors_np  # noqa: E402

STEPS = 10
SHAPES = [(4, 3), (5,), (2, 2, 3)]
# (step, parameter) pairs without a gradient: those parameters are skipped at that step, so their own
# update counts (and Adam's bias corrections) fall behind the others'.
MISSING = {(3, 1), (6, 2), (7, 2)}
# Gradient scales per step: large and small gradients alternate, so v shrinks at times and AMSGrad's maximum
# differs from v.
SCALES = [2.0, 0.3, 1.0, 0.1, 3.0, 0.5, 0.05, 1.5, 0.2, 1.0]

# name, optimizer type, options (trifecta's names), parameter groups (indices and per-group overrides).
CONFIGS = [
    ("sgd_plain", "SGD", {"lr": 0.1}, None),
    ("sgd_momentum_dampening", "SGD", {"lr": 0.05, "momentum": 0.9, "dampening": 0.1}, None),
    ("sgd_nesterov", "SGD", {"lr": 0.05, "momentum": 0.9, "nesterov": True}, None),
    ("sgd_weight_decay", "SGD", {"lr": 0.05, "momentum": 0.9, "weight_decay": 0.01}, None),
    ("adam", "Adam", {"lr": 1e-2}, None),
    ("adam_weight_decay", "Adam", {"lr": 1e-2, "weight_decay": 0.1}, None),
    ("adamw", "AdamW", {"lr": 1e-2, "weight_decay": 0.1}, None),
    ("amsgrad", "Adam", {"lr": 1e-2, "amsgrad": True}, None),
    ("adamw_amsgrad", "AdamW", {"lr": 1e-2, "weight_decay": 0.1, "amsgrad": True, "beta1": 0.8, "beta2": 0.95,
                                "eps": 1e-6}, None),
    ("adamw_groups", "AdamW", {"lr": 1e-2, "weight_decay": 0.1},
     [{"params": [0, 2], "lr": 3e-2, "weight_decay": 0.0}, {"params": [1]}]),
    ("sgd_groups", "SGD", {"lr": 0.05, "momentum": 0.5},
     [{"params": [1]}, {"params": [0, 2], "lr": 0.2, "weight_decay": 0.05}]),
]

CLIP_CASES = [  # name, max_norm for clip_grad_norm_ or clip_value for clip_grad_value_
    ("norm_clips", 0.5, None),
    ("norm_below_threshold", 100.0, None),
    ("value", None, 0.3),
]


def make_optimizer(kind, options, groups, params):
    o = dict(options)
    betas = (o.pop("beta1", 0.9), o.pop("beta2", 0.999))
    if kind != "SGD":
        o["betas"] = betas
    if groups is None:
        param_groups = [{"params": params}]
    else:
        param_groups = []
        for g in groups:
            group = {k: v for k, v in g.items() if k != "params"}
            group["params"] = [params[i] for i in g["params"]]
            param_groups.append(group)
    if kind == "AdamW":
        o.setdefault("weight_decay", 0.0)  # trifecta's AdamOptions default (PyTorch's AdamW uses 1e-2)
    return {"SGD": torch.optim.SGD, "Adam": torch.optim.Adam, "AdamW": torch.optim.AdamW}[kind](param_groups, **o)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--out", required=True)
    args = parser.parse_args()
    torch.manual_seed(0)
    tensors = {}

    init = [torch.randn(s, dtype=torch.float64).float() for s in SHAPES]
    grads = [[torch.randn(s, dtype=torch.float64).float() * SCALES[t] for s in SHAPES] for t in range(STEPS)]
    present = np.array([[(t, i) not in MISSING for i in range(len(SHAPES))] for t in range(STEPS)])
    tensors["present"] = present
    for i in range(len(SHAPES)):
        tensors[f"init.p{i}"] = init[i].numpy()
        tensors[f"grads.p{i}"] = torch.stack([grads[t][i] for t in range(STEPS)]).numpy()

    configs = []
    for name, kind, options, groups in CONFIGS:
        params = [p.clone().requires_grad_() for p in init]
        optimizer = make_optimizer(kind, options, groups, params)
        after = [[] for _ in params]
        for t in range(STEPS):
            for i, p in enumerate(params):
                p.grad = grads[t][i].clone() if present[t, i] else None
            optimizer.step()
            for i, p in enumerate(params):
                after[i].append(p.detach().clone())
        for i in range(len(params)):
            tensors[f"{name}.p{i}.after"] = torch.stack(after[i]).numpy()
        configs.append({"name": name, "type": kind, "options": options, "groups": groups})

    clip_cases = []
    for name, max_norm, clip_value in CLIP_CASES:
        params = [p.clone().requires_grad_() for p in init]
        for i, p in enumerate(params):
            # The second parameter has no gradient: it must be skipped.
            p.grad = None if i == 1 else grads[0][i].clone()
            if p.grad is not None:
                tensors[f"clip.{name}.grad{i}"] = p.grad.numpy().copy()
        if max_norm is not None:
            norm = torch.nn.utils.clip_grad_norm_(params, max_norm)
            tensors[f"clip.{name}.norm"] = np.array(norm.item(), dtype=np.float64)
        else:
            torch.nn.utils.clip_grad_value_(params, clip_value)
        for i, p in enumerate(params):
            if p.grad is not None:
                tensors[f"clip.{name}.clipped{i}"] = p.grad.numpy()
        clip_cases.append({"name": name, "max_norm": max_norm, "clip_value": clip_value})

    # Learning rates before each optimizer step, the scheduler stepped after it (PyTorch's documented order).
    schedules = {"step": (lambda o: torch.optim.lr_scheduler.StepLR(o, step_size=3, gamma=0.5), 12),
                 "cosine": (lambda o: torch.optim.lr_scheduler.CosineAnnealingLR(o, T_max=10, eta_min=1e-3), 11)}
    for name, (make, count) in schedules.items():
        optimizer = torch.optim.SGD([torch.zeros(1, requires_grad=True)], lr=0.1)
        scheduler = make(optimizer)
        lrs = []
        for _ in range(count):
            lrs.append(optimizer.param_groups[0]["lr"])
            optimizer.step()
            scheduler.step()
        tensors[f"lr.{name}"] = np.array(lrs, dtype=np.float64)

    metadata = {"configs": json.dumps(configs), "clip_cases": json.dumps(clip_cases), "steps": STEPS,
                "torch_version": torch.__version__}
    safetensors_np.save(args.out, tensors, metadata)
    print(f"wrote {len(configs)} optimizer configs, {len(clip_cases)} clip cases and 2 schedules to {args.out}")


if __name__ == "__main__":
    main()
