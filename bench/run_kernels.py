"""Runs trifecta's kernel benchmark and PyTorch's twin in one go, on the same machine and thread count, and
prints a side-by-side table with the ratio trifecta/PyTorch (below 1: trifecta is faster). On a GPU it also
measures the device-to-device copy bandwidth and reports each memory-bound kernel as a fraction of it.

    python3 bench/run_kernels.py --build build [--device cpu|cuda|all] [--threads 2] [--repeat 1] [--json out.json]

On a shared machine, --repeat N runs both sides N times, alternating, and keeps each case's fastest median:
the least disturbed estimate of each side, so the ratio is less at the mercy of the neighbours' load.
"""
import argparse
import json
import os
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))


def run_lines(command, env):
    result = subprocess.run(command, env=env, capture_output=True, text=True)
    if result.returncode != 0:
        sys.exit(f"{' '.join(command)} failed:\n{result.stderr}")
    return [json.loads(line) for line in result.stdout.splitlines() if line.startswith("{")]


def fastest(best, rows):
    """Keeps, case by case, the row with the smaller median of two runs (rows in the same order)."""
    if not best:
        return rows
    return [row if row["ms"] < old["ms"] else old for old, row in zip(best, rows)]


def copy_bandwidth_gbs(rows):
    for row in rows:
        if row["op"] == "copy_dense" and row["device"] == "cuda":
            return row["bytes"] / row["ms"] / 1e6
    return None


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
        theirs = fastest(theirs, run_lines([args.python, "-c", torch_script], env))
    peer = {(r["op"], r["shape"], r["device"]): r for r in theirs}
    bandwidth = copy_bandwidth_gbs(ours)

    print(f"{'op':<16} {'shape':<16} {'dev':<5} {'trifecta ms':>12} {'torch ms':>10} {'ratio':>7} "
          f"{'GB/s':>8} {'GFLOP/s':>8}" + ("  %copy-bw" if bandwidth else ""))
    for row in ours:
        other = peer.get((row["op"], row["shape"], row["device"]))
        row["torch_ms"] = other["ms"] if other else None
        row["ratio"] = row["ms"] / other["ms"] if other else None
        gbs = row["bytes"] / row["ms"] / 1e6
        gflops = row["flops"] / row["ms"] / 1e6
        line = (f"{row['op']:<16} {row['shape']:<16} {row['device']:<5} {row['ms']:>12.4f} "
                f"{(other['ms'] if other else float('nan')):>10.4f} {(row['ratio'] or float('nan')):>7.2f} "
                f"{gbs:>8.1f} {gflops:>8.1f}")
        if bandwidth and row["device"] == "cuda" and row["bytes"]:
            line += f"  {100 * gbs / bandwidth:>7.0f}%"
        print(line)
    if args.json:
        with open(args.json, "w") as out:
            json.dump({"rows": ours, "copy_bandwidth_gbs": bandwidth}, out, indent=1)


if __name__ == "__main__":
    main()
