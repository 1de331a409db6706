"""Runs trifecta's kernel benchmark and PyTorch's twin in one go, on the same machine and thread count, and
prints a side-by-side table with the ratio trifecta/PyTorch of median times (below 1: trifecta is faster), and
of minimum times (the least disturbed runs: the fairer figure when other jobs share the cores). On a GPU it also
measures the device-to-device copy bandwidth and reports each memory-bound kernel as a fraction of it. A
summary per device closes the table: the geometric-mean ratios and, on a GPU, each memory-bound kernel's
fraction of copy bandwidth at its largest size, flagged when below the 80% target.

    python3 bench/run_kernels.py --build build [--device cpu|cuda|all] [--threads 2] [--repeat 1] [--json out.json]

On a shared machine, --repeat N runs both sides N times, alternating, and keeps each case's fastest median:
the least disturbed estimate of each side, so the ratio is less at the mercy of the neighbours' load.
"""
import argparse
import json
import math
import os
import subprocess
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "reference"))
from torch_env import torch_env  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
BANDWIDTH_TARGET = 0.8  # memory-bound kernels on a GPU: at least this fraction of device-to-device copy bandwidth


def run_lines(command, env):
    result = subprocess.run(command, env=env, capture_output=True, text=True)
    if result.returncode != 0:
        sys.exit(f"{' '.join(command)} failed:\n{result.stderr}")
    return [json.loads(line) for line in result.stdout.splitlines() if line.startswith("{")]


def gbs(row):
    return row["bytes"] / row["ms"] / 1e6


def fastest(best, rows):
    """Keeps, case by case, the row with the smaller median of two runs (rows in the same order), and the
    smaller of their minimum times."""
    if not best:
        return rows
    kept = []
    for old, row in zip(best, rows):
        winner = dict(row if row["ms"] < old["ms"] else old)
        winner["min_ms"] = min(row["min_ms"], old["min_ms"])
        kept.append(winner)
    return kept


def copy_bandwidth_gbs(rows):
    """The device's copy bandwidth: trifecta's copy_dense at its largest size (the one least helped by cache)."""
    copies = [row for row in rows if row["op"] == "copy_dense" and row["device"] == "cuda"]
    return gbs(max(copies, key=lambda row: row["bytes"])) if copies else None


def check_twins(ours, theirs):
    """Both sides must time the same cases with the same byte and flop counts; says where they differ."""
    mine = {(r["op"], r["shape"], r["device"]): r for r in ours}
    peer = {(r["op"], r["shape"], r["device"]): r for r in theirs}
    problems = []
    for device in sorted({key[2] for key in mine}):
        if not any(key[2] == device for key in peer):
            problems.append(f"PyTorch timed nothing on {device} (for CUDA, pass --python a Python whose PyTorch has it)")
            continue
        problems += [f"only trifecta has {key}" for key in mine.keys() - peer.keys() if key[2] == device]
    problems += [f"only PyTorch has {key}" for key in peer.keys() - mine.keys()]
    for key in mine.keys() & peer.keys():
        for field in ("bytes", "flops"):
            if not math.isclose(mine[key][field], peer[key][field], rel_tol=1e-9):
                problems.append(f"{key}: {field} {mine[key][field]} (trifecta) vs {peer[key][field]} (PyTorch)")
    for problem in sorted(problems):
        print(f"warning: {problem}", file=sys.stderr)


def geomean(rows, field):
    return math.exp(sum(math.log(row[field]) for row in rows) / len(rows))


def summarize(rows, bound, bandwidth):
    """Lines per device: the geometric-mean ratio; on a GPU, memory-bound kernels against copy bandwidth."""
    lines = []
    for device in ("cpu", "cuda"):
        mine = [row for row in rows if row["device"] == device]
        paired = [row for row in mine if row["ratio"]]
        if paired:
            lines.append(f"summary {device}: geometric-mean ratio trifecta/PyTorch {geomean(paired, 'ratio'):.2f} "
                         f"(of minimum times {geomean(paired, 'min_ratio'):.2f}) over {len(paired)} kernels "
                         f"(below 1: trifecta faster)")
        if device != "cuda" or not bandwidth:
            continue
        largest = {}
        for row in mine:
            if bound[row["op"]] == "memory" and row["op"] != "copy_dense" and (
                    row["op"] not in largest or row["bytes"] > largest[row["op"]]["bytes"]):
                largest[row["op"]] = row
        parts, below = [], []
        for op, row in largest.items():
            fraction = gbs(row) / bandwidth
            parts.append(f"{op} {row['shape']} {100 * fraction:.0f}%")
            if fraction < BANDWIDTH_TARGET:
                below.append(op)
        lines.append(f"summary cuda: copy bandwidth {bandwidth:.0f} GB/s; memory-bound kernels at their largest size: "
                     + ", ".join(parts))
        lines.append(f"summary cuda: below the {100 * BANDWIDTH_TARGET:.0f}% target: " + (", ".join(below) or "none"))
    return lines


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--build", default="build")
    parser.add_argument("--device", default="all", choices=["cpu", "cuda", "all"])
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--cases", default=os.path.join(HERE, "kernel_cases.json"))
    parser.add_argument("--python", default="/usr/bin/python3", help="a Python with PyTorch")
    parser.add_argument("--repeat", type=int, default=1, help="runs of each side; the fastest median counts")
    parser.add_argument("--json", help="also write all rows here")
    args = parser.parse_args()

    env = dict(os.environ, OMP_NUM_THREADS=str(args.threads), OPENBLAS_NUM_THREADS=str(args.threads))
    ours_command = [os.path.join(args.build, "bench", "kernels_bench"), args.cases, args.device]
    torch_script = (f"import torch; torch.set_num_threads({args.threads}); import runpy, sys; "
                    f"sys.argv = ['torch_kernels.py', {args.cases!r}, {args.device!r}]; "
                    f"runpy.run_path({os.path.join(HERE, 'reference', 'torch_kernels.py')!r}, run_name='__main__')")
    ours, theirs = [], []
    for _ in range(max(1, args.repeat)):
        ours = fastest(ours, run_lines(ours_command, env))
        theirs = fastest(theirs, run_lines([args.python, "-c", torch_script], torch_env(args.threads, env)))
    check_twins(ours, theirs)
    peer = {(r["op"], r["shape"], r["device"]): r for r in theirs}
    with open(args.cases) as cases:
        bound = {case["op"]: case["bound"] for case in json.load(cases)["cases"]}
    bandwidth = copy_bandwidth_gbs(ours)

    op_width = max(len("op"), *(len(row["op"]) for row in ours))
    shape_width = max(len("shape"), *(len(row["shape"]) for row in ours))
    print(f"{'op':<{op_width}} {'shape':<{shape_width}} {'dev':<5} {'trifecta ms':>12} {'torch ms':>10} {'ratio':>7} "
          f"{'min ratio':>9} {'GB/s':>8} {'GFLOP/s':>8}" + ("  %copy-bw" if bandwidth else ""))
    nan = float("nan")
    for row in ours:
        other = peer.get((row["op"], row["shape"], row["device"]))
        row["torch_ms"] = other["ms"] if other else None
        row["torch_min_ms"] = other["min_ms"] if other else None
        row["ratio"] = row["ms"] / other["ms"] if other else None
        row["min_ratio"] = row["min_ms"] / other["min_ms"] if other else None
        row["bound"] = bound[row["op"]]
        line = (f"{row['op']:<{op_width}} {row['shape']:<{shape_width}} {row['device']:<5} {row['ms']:>12.4f} "
                f"{row['torch_ms'] or nan:>10.4f} {row['ratio'] or nan:>7.2f} {row['min_ratio'] or nan:>9.2f} "
                f"{gbs(row):>8.1f} {row['flops'] / row['ms'] / 1e6:>8.1f}")
        if bandwidth and row["device"] == "cuda" and row["bound"] == "memory":
            line += f"  {100 * gbs(row) / bandwidth:>7.0f}%"
        print(line)
    summary = summarize(ours, bound, bandwidth)
    print("\n".join(summary))
    if args.json:
        with open(args.json, "w") as out:
            json.dump({"rows": ours, "copy_bandwidth_gbs": bandwidth, "summary": summary}, out, indent=1)


if __name__ == "__main__":
    main()
