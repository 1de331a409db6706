"""Two builds of trifecta side by side on the same kernel cases: for example the portable default
(-march=x86-64-v3) against -march=native, to see what a compiler flag is worth. Runs the two builds'
kernels_bench alternately, --repeat times each, and prints per kernel time(B) / time(A) (above 1: B is
slower) and the geometric mean, twice: from each build's fastest median over the runs, and from its fastest
single batch (the figure least touched by other jobs when they crowd the cores: a batch that ran undisturbed
shows the kernel's own speed). "A noise" is A against itself, its slowest run's median over its fastest:
differences smaller than that are noise.

On a crowded machine, --clock cpu times each kernel by the process's CPU time in a single-threaded run
(TRIFECTA_BENCH_CLOCK=cpu, bench/timer.h): the work the kernel does, not how long it waited for a core.
--vae-steps N also trains the conv and the MLP VAE for N steps (batch 128) with each build, one thread, and
compares the CPU time each run took (start-up and a 1000-image evaluation included, the same in both).

    python3 bench/compare_builds.py --a build-native --b build-cpu --repeat 3 [--clock cpu] [--json out.json]
"""
import argparse
import json
import math
import os
import resource
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))


def run_rows(build, cases, device, env):
    command = [os.path.join(build, "bench", "kernels_bench"), cases, device]
    result = subprocess.run(command, env=env, capture_output=True, text=True)
    if result.returncode != 0:
        sys.exit(f"{' '.join(command)} failed:\n{result.stderr}")
    return [json.loads(line) for line in result.stdout.splitlines() if line.startswith("{")]


def vae_cpu_seconds(build, architecture, steps, env):
    """CPU seconds (user + system) of one single-threaded training run."""
    def children_cpu():
        usage = resource.getrusage(resource.RUSAGE_CHILDREN)
        return usage.ru_utime + usage.ru_stime
    with tempfile.TemporaryDirectory() as out:
        command = [os.path.join(build, "bin", "vae"), "train", "--architecture", architecture, "--steps", str(steps),
                   "--batch-size", "128", "--threads", "1", "--device", "cpu", "--test-limit", "1000",
                   "--checkpoint-every", "0", "--log-every", str(steps), "--out", out]
        before = children_cpu()
        result = subprocess.run(command, env=env, capture_output=True, text=True)
        if result.returncode != 0:
            sys.exit(f"{' '.join(command)} failed:\n{result.stderr}")
        return children_cpu() - before


def geomean(values):
    return math.exp(sum(math.log(v) for v in values) / len(values))


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--a", required=True, help="the reference build folder")
    parser.add_argument("--b", required=True, help="the build compared with it")
    parser.add_argument("--device", default="cpu", choices=["cpu", "cuda"])
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--cases", default=os.path.join(HERE, "kernel_cases.json"))
    parser.add_argument("--clock", default="wall", choices=["wall", "cpu"])
    parser.add_argument("--vae-steps", type=int, default=0, help="also compare VAE training runs of this many steps")
    parser.add_argument("--json", help="also write every run's rows here")
    args = parser.parse_args()
    if args.clock == "cpu" and (args.threads != 1 or args.device != "cpu"):
        sys.exit("--clock cpu needs --threads 1 on the cpu: other threads' waiting would count as work")

    env = dict(os.environ, OMP_NUM_THREADS=str(args.threads), OPENBLAS_NUM_THREADS=str(args.threads),
               TRIFECTA_BENCH_CLOCK=args.clock)
    runs = {"a": [], "b": []}
    for _ in range(max(1, args.repeat)):
        for side in ("a", "b"):
            runs[side].append(run_rows(getattr(args, side), args.cases, args.device, env))

    def key(row):
        return row["op"], row["shape"]

    def fastest(side, field):
        kept = {}
        for rows in runs[side]:
            for row in rows:
                kept[key(row)] = min(kept.get(key(row), math.inf), row[field])
        return kept

    median = {side: fastest(side, "ms") for side in runs}
    minimum = {side: fastest(side, "min_ms") for side in runs}
    spread = {}
    for rows in runs["a"]:
        for row in rows:
            spread.setdefault(key(row), []).append(row["ms"])

    print(f"A = {args.a}, B = {args.b}; {args.repeat} alternating runs each, {args.threads} threads, "
          f"{args.clock} clock")
    print(f"{'op':<26} {'shape':<30} {'A ms':>9} {'B ms':>9} {'B/A':>6} {'A min':>9} {'B min':>9} {'B/A':>6} "
          f"{'A noise':>8}")
    ratios, min_ratios, noises = [], [], []
    for k, a_ms in median["a"].items():
        if k not in median["b"]:
            continue
        ratios.append(median["b"][k] / a_ms)
        min_ratios.append(minimum["b"][k] / minimum["a"][k])
        noises.append(max(spread[k]) / min(spread[k]))
        print(f"{k[0]:<26} {k[1]:<30} {a_ms:>9.4f} {median['b'][k]:>9.4f} {ratios[-1]:>6.2f} {minimum['a'][k]:>9.4f} "
              f"{minimum['b'][k]:>9.4f} {min_ratios[-1]:>6.2f} {noises[-1]:>8.2f}")
    print(f"summary: geometric-mean B/A {geomean(ratios):.3f} (of fastest batches {geomean(min_ratios):.3f}) over "
          f"{len(ratios)} kernels; A's slowest/fastest median, geometric mean {geomean(noises):.3f}")

    vae = {}
    if args.vae_steps > 0:
        for architecture in ("conv", "mlp"):
            for _ in range(max(1, args.repeat)):
                for side in ("a", "b"):
                    seconds = vae_cpu_seconds(getattr(args, side), architecture, args.vae_steps, env)
                    vae.setdefault(f"{architecture} {side}", []).append(seconds)
            a, b = min(vae[f"{architecture} a"]), min(vae[f"{architecture} b"])
            print(f"vae {architecture}: {args.vae_steps} steps, CPU seconds A {a:.2f}, B {b:.2f}, B/A {b / a:.3f} "
                  f"(fewest of {args.repeat}; A's runs {' '.join(f'{x:.2f}' for x in vae[f'{architecture} a'])})")
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"args": vars(args), "runs": runs, "vae_cpu_seconds": vae}, f, indent=1)


if __name__ == "__main__":
    main()
