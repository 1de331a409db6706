"""PyTorch's twin of bench/kernels_bench.cpp: the same cases (bench/kernel_cases.json), the same byte and flop
formulas, the same timing method (median and minimum over batches of back-to-back runs lasting at least 1 ms,
synchronizing at batch ends), one JSON line per case and device."""
import json
import math
import statistics
import sys
import time

import torch
import torch.nn.functional as F


def backward_of(y, leaves, nbytes, flops):
    """Times the backward pass alone: the graph is built once and replayed, from fresh gradients each run."""
    g = torch.randn_like(y)

    def run():
        for leaf in leaves:
            leaf.grad = None
        y.backward(g, retain_graph=True)
    return run, nbytes, flops


def conv_sizes(a, transposed):
    n, c, h, w, o, k, stride, pad = a
    if transposed:
        oh, ow = (h - 1) * stride - 2 * pad + k, (w - 1) * stride - 2 * pad + k
    else:
        oh, ow = (h + 2 * pad - k) // stride + 1, (w + 2 * pad - k) // stride + 1
    return n, c, h, w, o, k, stride, pad, oh, ow


def conv_work(a, device, transposed, backward):
    n, c, h, w, o, k, stride, pad, oh, ow = conv_sizes(a, transposed)
    x = torch.randn(n, c, h, w, device=device)
    weight = torch.randn((c, o, k, k) if transposed else (o, c, k, k), device=device)
    bias = torch.randn(o, device=device)
    inputs, weights, outputs = n * c * h * w, o * c * k * k, n * o * oh * ow
    flops = 2.0 * weights * n * (h * w if transposed else oh * ow)

    def forward():
        if transposed:
            return F.conv_transpose2d(x, weight, bias, stride, pad)
        return F.conv2d(x, weight, bias, stride, pad)
    if not backward:
        return forward, 4 * (inputs + weights + o + outputs), flops
    for t in (x, weight, bias):
        t.requires_grad_()
    return backward_of(forward(), [x, weight, bias], 4 * (2 * inputs + 2 * weights + o + outputs), 2 * flops)


def pool_work(a, device, average):
    n, c, h, w, k, stride = a
    out = n * c * ((h - k) // stride + 1) * ((w - k) // stride + 1)
    x = torch.randn(n, c, h, w, device=device)
    pool = F.avg_pool2d if average else F.max_pool2d
    return (lambda: pool(x, k, stride)), 4 * (n * c * h * w + out), out * k * k


def builders(a, device):
    """Each case's builder: returns (run, bytes, flops) with bench/kernels_bench.cpp's formulas."""
    n = float(math.prod(a))

    def randn(*shape):
        return torch.randn(shape or tuple(a), device=device)

    def indices(high, *shape):
        return torch.randint(0, high, shape, device=device)

    def copy_dense():
        x, y = randn(), torch.empty(tuple(a), device=device)
        return (lambda: y.copy_(x)), 8 * n, 0

    def copy_transpose():
        x = randn()
        return (lambda: x.t().contiguous()), 8 * n, 0

    def add():
        x, y = randn(), randn()
        return (lambda: x + y), 12 * n, n

    def add_bf16():
        x, y = randn().bfloat16(), randn().bfloat16()
        return (lambda: x + y), 6 * n, n

    def mul_scalar():
        x = randn()
        return (lambda: x * 1.5), 8 * n, n

    def exp():
        x = randn()
        return (lambda: torch.exp(x)), 8 * n, n

    def gelu():
        x = randn()
        return (lambda: F.gelu(x)), 8 * n, n

    def relu():
        x = randn()
        return (lambda: torch.relu(x)), 8 * n, n

    def relu_backward():
        x = randn().requires_grad_()
        return backward_of(torch.relu(x), [x], 12 * n, n)

    def dropout():
        x = randn()
        return (lambda: F.dropout(x, 0.5)), 8 * n, n

    def sum_all():
        x = randn()
        return (lambda: x.sum()), 4 * n, n

    def sum_rows():
        x = randn()
        return (lambda: x.sum(-1)), 4 * n, n

    def sum_columns():
        x = randn()
        return (lambda: x.sum(0)), 4 * n, n

    def var_rows():
        x = randn()
        return (lambda: torch.var(x, -1)), 4 * n, 3 * n

    def var_columns():
        x = randn()
        return (lambda: torch.var(x, 0)), 4 * n, 3 * n

    def logsumexp_rows():
        x = randn()
        return (lambda: torch.logsumexp(x, -1)), 4 * n, 3 * n

    def softmax():
        x = randn()
        return (lambda: torch.softmax(x, -1)), 8 * n, 4 * n

    def log_softmax():
        x = randn()
        return (lambda: torch.log_softmax(x, -1)), 8 * n, 4 * n

    def softmax_backward():
        x = randn().requires_grad_()
        return backward_of(torch.softmax(x, -1), [x], 12 * n, 4 * n)

    def layer_norm():
        cols = a[1]
        x, w, b = randn(), randn(cols), randn(cols)
        return (lambda: F.layer_norm(x, (cols,), w, b)), 4 * (2 * n + 2 * cols), 7 * n

    def layer_norm_backward():
        rows, cols = a
        x, w, b = randn().requires_grad_(), randn(cols).requires_grad_(), randn(cols).requires_grad_()
        return backward_of(F.layer_norm(x, (cols,), w, b), [x, w, b], 4 * (3 * n + 3 * cols + 2 * rows), 8 * n)

    def batch_norm_train():
        channels = a[1]
        x, w, b = randn(), randn(channels), randn(channels)
        mean, var = torch.zeros(channels, device=device), torch.ones(channels, device=device)
        return (lambda: F.batch_norm(x, mean, var, w, b, training=True)), 4 * (2 * n + 6 * channels), 7 * n

    def batch_norm_train_backward():
        channels = a[1]
        x = randn().requires_grad_()
        w, b = randn(channels).requires_grad_(), randn(channels).requires_grad_()
        mean, var = torch.zeros(channels, device=device), torch.ones(channels, device=device)
        return backward_of(F.batch_norm(x, mean, var, w, b, training=True), [x, w, b], 4 * (3 * n + 5 * channels), 8 * n)

    def cross_entropy():
        rows, classes = a
        logits, targets = randn().requires_grad_(), indices(classes, rows)

        def run():
            logits.grad = None
            F.cross_entropy(logits, targets).backward()
        return run, 8 * n + 8 * rows, 6 * n

    def max_pool2d():
        return pool_work(a, device, average=False)

    def avg_pool2d():
        return pool_work(a, device, average=True)

    def matmul():
        batch, (m, k, cols) = (a[0] if len(a) == 4 else 1), a[-3:]
        lead = (batch,) if len(a) == 4 else ()
        x, y = randn(*lead, m, k), randn(*lead, k, cols)
        return (lambda: torch.matmul(x, y)), 4.0 * batch * (m * k + k * cols + m * cols), 2.0 * batch * m * cols * k

    def matmul_bf16():
        m, k, cols = a
        x, y = randn(m, k).bfloat16(), randn(k, cols).bfloat16()
        return (lambda: torch.matmul(x, y)), 2.0 * (m * k + k * cols + m * cols), 2.0 * m * cols * k

    def conv2d():
        return conv_work(a, device, transposed=False, backward=False)

    def conv2d_backward():
        return conv_work(a, device, transposed=False, backward=True)

    def conv_transpose2d():
        return conv_work(a, device, transposed=True, backward=False)

    def conv_transpose2d_backward():
        return conv_work(a, device, transposed=True, backward=True)

    def embedding():
        rows, dim, tokens = a
        table, ids = randn(rows, dim), indices(rows, tokens)
        return (lambda: F.embedding(ids, table)), 8.0 * tokens * dim + 8.0 * tokens, 0

    def embedding_backward():
        rows, dim, tokens = a
        table, ids = randn(rows, dim).requires_grad_(), indices(rows, tokens)
        return backward_of(F.embedding(ids, table), [table], 4.0 * tokens * dim + 8.0 * tokens + 4.0 * rows * dim,
                           float(tokens * dim))

    def gather():
        rows, cols, picked = a
        x, index = randn(rows, cols), indices(cols, rows, picked)
        return (lambda: torch.gather(x, 1, index)), 16.0 * rows * picked, 0

    def index_select():
        rows, cols, picked = a
        x, index = randn(rows, cols), indices(rows, picked)
        return (lambda: torch.index_select(x, 0, index)), 8.0 * picked * cols + 8.0 * picked, 0

    def topk():
        rows, cols, k = a
        x = randn(rows, cols)
        return (lambda: torch.topk(x, k, -1)), 4.0 * rows * cols + 12.0 * rows * k, float(rows * cols)

    def nearest_code():
        # The FQ-GAN authors' lookup: the expanded squared distances ||h||^2 - 2 h.e + ||e||^2, then argmin.
        rows, channels, entries = a
        features, codebook = randn(rows, channels), randn(entries, channels)

        def lookup():
            distances = (features.pow(2).sum(1, keepdim=True) - 2 * features @ codebook.t()
                         + codebook.pow(2).sum(1))
            return distances.argmin(1)
        return lookup, 4.0 * (rows + entries) * channels + 8.0 * rows, 2.0 * rows * entries * channels

    return {name: f for name, f in locals().items() if callable(f) and name not in ("randn", "indices")}


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
    return statistics.median(samples), min(samples)


def case_args(case, device):
    """The argument tuples of a case on a device: cpu_shapes or cuda_shapes when given, else shapes."""
    return case.get(f"{device}_shapes", case.get("shapes"))


def main():
    cases = json.load(open(sys.argv[1]))["cases"]
    which = sys.argv[2] if len(sys.argv) > 2 else "all"
    devices = []
    if which in ("cpu", "all"):
        devices.append("cpu")
    if which in ("cuda", "all") and torch.cuda.is_available():
        devices.append("cuda")
    for case in cases:
        for device in devices:
            for a in case_args(case, device):
                with torch.set_grad_enabled(case.get("autograd", False)):
                    fn, nbytes, flops = builders(tuple(a), device)[case["op"]]()
                    ms, min_ms = time_it(fn, device)
                shape_text = "[" + ", ".join(str(d) for d in a) + "]"
                print(json.dumps({"op": case["op"], "shape": shape_text, "device": device, "ms": ms, "min_ms": min_ms,
                                  "bytes": nbytes, "flops": flops, "threads": torch.get_num_threads()}), flush=True)


if __name__ == "__main__":
    main()
