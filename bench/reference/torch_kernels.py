"""PyTorch's twin of bench/kernels_bench.cpp: the same cases (bench/kernel_cases.json), the same timing
method (median over batches of back-to-back runs lasting at least 1 ms, synchronizing at batch ends), one
JSON line per case and device."""
import json
import math
import statistics
import sys
import time

import torch
import torch.nn.functional as F


def numel(shape):
    return math.prod(shape)


def builders(shape, device):
    def randn():
        return torch.randn(shape, device=device)

    n = float(numel(shape))
    table = {}

    def copy_dense():
        x, y = randn(), torch.empty(shape, device=device)
        return (lambda: y.copy_(x)), 8 * n, 0

    def copy_transpose():
        x = randn()
        return (lambda: x.t().contiguous()), 8 * n, 0

    def add():
        a, b = randn(), randn()
        return (lambda: a + b), 12 * n, n

    def mul_scalar():
        a = randn()
        return (lambda: a * 1.5), 8 * n, n

    def exp():
        a = randn()
        return (lambda: torch.exp(a)), 8 * n, n

    def gelu():
        a = randn()
        return (lambda: F.gelu(a)), 8 * n, n

    def relu():
        a = randn()
        return (lambda: torch.relu(a)), 8 * n, n

    def relu_backward():
        a = randn().requires_grad_()
        g = randn()
        y = torch.relu(a)

        def run():
            a.grad = None
            y.backward(g, retain_graph=True)
        return run, 12 * n, n

    def sum_all():
        a = randn()
        return (lambda: a.sum()), 4 * n, n

    def sum_rows():
        a = randn()
        return (lambda: a.sum(-1)), 4 * n, n

    def sum_columns():
        a = randn()
        return (lambda: a.sum(0)), 4 * n, n

    def logsumexp_rows():
        a = randn()
        return (lambda: torch.logsumexp(a, -1)), 4 * n, 3 * n

    for f in [copy_dense, copy_transpose, add, mul_scalar, exp, gelu, relu, relu_backward, sum_all, sum_rows,
              sum_columns, logsumexp_rows]:
        table[f.__name__] = f
    return table


def time_it(fn, device, warmup=3, min_runs=10, min_seconds=0.3):
    sync = torch.cuda.synchronize if device == "cuda" else (lambda: None)
    for _ in range(warmup):
        fn()
    sync()
    t0 = time.perf_counter()
    fn()
    sync()
    single_ms = max((time.perf_counter() - t0) * 1e3, 1e-4)
    batch = max(1, math.ceil(1.0 / single_ms))
    samples, start = [], time.perf_counter()
    while len(samples) < min_runs or time.perf_counter() - start < min_seconds:
        t0 = time.perf_counter()
        for _ in range(batch):
            fn()
        sync()
        samples.append((time.perf_counter() - t0) * 1e3 / batch)
        if len(samples) >= 1000:
            break
    return statistics.median(samples)


def main():
    cases = json.load(open(sys.argv[1]))["cases"]
    which = sys.argv[2] if len(sys.argv) > 2 else "all"
    devices = []
    if which in ("cpu", "all"):
        devices.append("cpu")
    if which in ("cuda", "all") and torch.cuda.is_available():
        devices.append("cuda")
    for case in cases:
        for shape in case["shapes"]:
            for device in devices:
                with torch.set_grad_enabled(case["op"] == "relu_backward"):
                    fn, nbytes, flops = builders(tuple(shape), device)[case["op"]]()
                    ms = time_it(fn, device)
                shape_text = "[" + ", ".join(str(d) for d in shape) + "]"
                print(json.dumps({"op": case["op"], "shape": shape_text, "device": device, "ms": ms, "bytes": nbytes,
                                  "flops": flops, "threads": torch.get_num_threads()}), flush=True)


if __name__ == "__main__":
    main()
