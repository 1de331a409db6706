"""Draws a run's metrics.jsonl as a PNG beside it: one panel per quantity against the step. Every model binary
writes that file the same way (models/common/trainer.h): training values (loss and its terms, throughput)
every --log-every steps, and evaluation metrics every --eval-every steps and at the end. Long noisy series
are drawn faint with their running mean on top; short ones (evaluations) with a marker at each point.

    python3 scripts/plot.py runs/vae/metrics.jsonl                # writes runs/vae/metrics.png
    python3 scripts/plot.py runs/vae/metrics.jsonl --out curves.png

Needs matplotlib (Debian's python3-matplotlib). Prints the PNG's path and the quantities it drew.
"""
import argparse
import json
import math
import os
import sys

# Keys that say where a line sits rather than what was measured.
POSITION_KEYS = {"step", "epoch", "elapsed_seconds"}
MANY_POINTS = 50  # from here on a series gets a running mean


def fail(message):
    print(f"plot.py: {message}", file=sys.stderr)
    sys.exit(1)


def read_series(path):
    """{quantity: [(step, value), ...]} in order of first appearance."""
    series, evaluated = {}, set()
    try:
        lines = open(path, encoding="utf-8").read().splitlines()
    except OSError as e:
        fail(f"cannot read {path}: {e.strerror}")
    for number, text in enumerate(lines, 1):
        if not text.strip():
            continue
        try:
            line = json.loads(text)
        except json.JSONDecodeError as e:
            fail(f"{path} line {number} is not JSON ({e.msg})")
        if not isinstance(line, dict) or not isinstance(line.get("step"), int):
            fail(f"{path} line {number} has no integer \"step\"")
        for key, value in line.items():
            if key in POSITION_KEYS or isinstance(value, bool) or not isinstance(value, (int, float)):
                continue
            series.setdefault(key, []).append((line["step"], float(value)))
            if "epoch" not in line:
                evaluated.add(key)
    # A constant count (test_images) says nothing as a curve.
    series = {k: v for k, v in series.items()
              if not (len({value for _, value in v}) == 1 and all(value.is_integer() for _, value in v))}
    if not series:
        fail(f"{path} holds no measured values")
    # The loss first, then the other training values, the evaluations (lines without an "epoch"), and the
    # throughput last.
    def rank(name):
        return (0 if name == "loss" else 3 if name.endswith("_per_second") else 2 if name in evaluated else 1)
    return dict(sorted(series.items(), key=lambda item: rank(item[0])))


def running_mean(values, window):
    out, total = [], 0.0
    for i, value in enumerate(values):
        total += value
        if i >= window:
            total -= values[i - window]
        out.append(total / min(i + 1, window))
    return out


def plot(series, title, out):
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    columns = min(3, len(series))
    rows = math.ceil(len(series) / columns)
    figure, axes = plt.subplots(rows, columns, figsize=(4.2 * columns, 3.0 * rows), squeeze=False)
    for axis, (name, points) in zip(axes.flat, series.items()):
        points.sort()
        steps = [s for s, _ in points]
        values = [v for _, v in points]
        if len(points) >= MANY_POINTS:
            axis.plot(steps, values, color="tab:blue", alpha=0.3, linewidth=0.8)
            axis.plot(steps, running_mean(values, max(2, len(points) // MANY_POINTS)), color="tab:blue",
                      linewidth=1.5)
        else:
            axis.plot(steps, values, color="tab:orange", marker="o", markersize=3, linewidth=1.2)
        axis.set_title(name, fontsize=10)
        axis.set_xlabel("step", fontsize=8)
        axis.tick_params(labelsize=8)
        axis.grid(alpha=0.3)
    for axis in list(axes.flat)[len(series):]:
        axis.set_visible(False)
    figure.suptitle(title, fontsize=11)
    figure.tight_layout()
    figure.savefig(out, dpi=100)
    plt.close(figure)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("metrics", help="a run's metrics.jsonl")
    parser.add_argument("--out", help="the PNG to write (default: metrics.png beside the metrics)")
    args = parser.parse_args()
    series = read_series(args.metrics)
    folder = os.path.dirname(os.path.abspath(args.metrics))
    out = args.out or os.path.join(folder, "metrics.png")
    try:
        import matplotlib  # noqa: F401
    except ImportError:
        fail("matplotlib is missing (apt-get install python3-matplotlib)")
    plot(series, os.path.basename(folder), out)
    print(f"wrote {out}: {', '.join(series)}")


if __name__ == "__main__":
    main()
