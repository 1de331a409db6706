"""trifecta's VAE against its PyTorch twin (bench/reference/vae_torch.py), side by side in one run: the same
architecture, initial weights, batches, noise, optimizer, batch size and thread count. Prints ms/step,
images/s, peak memory and the test negative ELBO after the same number of steps, with trifecta/PyTorch
ratios, and writes the rows as JSON.

    python3 bench/vae_bench.py --build build --steps 300 [--device cpu] [--architectures conv,mlp] [--repeat 1]
    python3 bench/vae_bench.py --build build --architectures infogan --likelihood gaussian --latent 64 \
        --batch-size 64 --steps 60 --repeat 3      # the Two-Stage VAE's first stage (issue target: <= 0.8x)

On a shared machine, --repeat N trains both sides N times, alternating, and keeps each side's fastest run (the
least disturbed estimate of its speed); every run's ms/step is kept in the JSON. Training is deterministic, so
the test -ELBO is the same in every run.
"""
import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "reference"))
from torch_env import torch_env  # noqa: E402


def run_measured(command, env):
    """Runs command; returns (stdout, stderr)."""
    process = subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    out, err = process.communicate()
    if process.returncode != 0:
        sys.exit(f"{' '.join(command)} failed:\n{err}")
    return out, err


def peak_rss_wrapper(command):
    """A python -c wrapper that runs command and prints its peak RSS in bytes as the last stderr line (each
    run gets its own wrapper, so RUSAGE_CHILDREN's maximum is that run's alone)."""
    script = ("import os, resource, subprocess, sys; p = subprocess.run(sys.argv[1:]); "
              "print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss * 1024, file=sys.stderr); "
              "sys.exit(p.returncode)")
    return [sys.executable, "-c", script] + command


def trifecta_run(args, architecture, out_dir, env):
    command = [os.path.join(args.build, "bin", "vae"), "train", "--architecture", architecture,
               "--steps", str(args.steps), "--batch-size", str(args.batch_size), "--threads", str(args.threads),
               "--device", args.device, "--out", out_dir, "--log-every", "10", "--checkpoint-every", "0",
               "--seed", str(args.seed), "--latent", str(args.latent), "--likelihood", args.likelihood, "--test-limit", str(args.test_limit)]
    _, err = run_measured(peak_rss_wrapper(command), env)
    peak = int(err.strip().splitlines()[-1])
    lines = [json.loads(l) for l in open(os.path.join(out_dir, "metrics.jsonl"))]
    rates = [l["images_per_second"] for l in lines if "images_per_second" in l][1:]  # the first window warms up
    test = [l for l in lines if "test_negative_elbo" in l][-1]
    ms = 1e3 * args.batch_size / statistics.median(rates)
    return {"impl": "trifecta", "ms_per_step": ms, "images_per_second": 1e3 * args.batch_size / ms,
            "peak_memory_bytes": peak, "test_negative_elbo": test["test_negative_elbo"]}


def torch_run(args, architecture, init, env):
    command = [args.python, os.path.join(HERE, "reference", "vae_torch.py"), "--init", init,
               "--architecture", architecture, "--steps", str(args.steps), "--batch-size", str(args.batch_size),
               "--threads", str(args.threads), "--device", args.device, "--seed", str(args.seed),
               "--latent", str(args.latent), "--likelihood", args.likelihood, "--test-limit", str(args.test_limit)]
    out, err = run_measured(peak_rss_wrapper(command), torch_env(args.threads, env))
    row = json.loads(out.strip().splitlines()[-1])
    if args.device == "cpu":
        row["peak_memory_bytes"] = int(err.strip().splitlines()[-1])
    return row


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--build", default="build")
    parser.add_argument("--steps", type=int, default=300)
    parser.add_argument("--batch-size", type=int, default=128)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--latent", type=int, default=16)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--test-limit", type=int, default=-1, help="test images the final -ELBO is over (-1: all)")
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--architectures", default="conv,mlp", help="any of conv, mlp, infogan")
    parser.add_argument("--likelihood", default="bernoulli", help="bernoulli or gaussian (the Two-Stage VAE's)")
    parser.add_argument("--python", default="/usr/bin/python3", help="a Python with PyTorch")
    parser.add_argument("--repeat", type=int, default=1, help="runs of each side; the fastest counts")
    parser.add_argument("--json", help="write the rows here")
    args = parser.parse_args()
    env = dict(os.environ, OMP_NUM_THREADS=str(args.threads), OPENBLAS_NUM_THREADS=str(args.threads))

    rows = []
    print(f"VAE training, batch {args.batch_size}, {args.steps} steps, {args.threads} threads, {args.device}")
    print(f"{'model':<7} {'impl':<9} {'ms/step':>9} {'img/s':>8} {'peak MiB':>9} {'test -ELBO':>11}")
    for architecture in args.architectures.split(","):
        ours_runs, theirs_runs = [], []
        for _ in range(max(1, args.repeat)):
            with tempfile.TemporaryDirectory() as out_dir:
                ours_runs.append(trifecta_run(args, architecture, out_dir, env))
                theirs_runs.append(torch_run(args, architecture, os.path.join(out_dir, "init.safetensors"), env))
        ours = min(ours_runs, key=lambda row: row["ms_per_step"])
        theirs = min(theirs_runs, key=lambda row: row["ms_per_step"])
        ours["ms_per_step_all_runs"] = [row["ms_per_step"] for row in ours_runs]
        theirs["ms_per_step_all_runs"] = [row["ms_per_step"] for row in theirs_runs]
        for row in (ours, theirs):
            row["model"] = architecture
            print(f"{architecture:<7} {row['impl']:<9} {row['ms_per_step']:>9.1f} {row['images_per_second']:>8.0f} "
                  f"{row['peak_memory_bytes'] / 2**20:>9.0f} {row['test_negative_elbo']:>11.3f}"
                  + (f"   all runs: {' '.join(f'{ms:.1f}' for ms in row['ms_per_step_all_runs'])}"
                     if args.repeat > 1 else ""))
        ratio = {"model": architecture, "time_ratio": ours["ms_per_step"] / theirs["ms_per_step"],
                 "memory_ratio": ours["peak_memory_bytes"] / theirs["peak_memory_bytes"],
                 "elbo_difference_nats": ours["test_negative_elbo"] - theirs["test_negative_elbo"]}
        print(f"{architecture:<7} ratio     time {ratio['time_ratio']:.2f}x  memory {ratio['memory_ratio']:.2f}x  "
              f"test -ELBO difference {ratio['elbo_difference_nats']:+.3f} nats")
        rows += [ours, theirs, ratio]
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"args": vars(args), "rows": rows}, f, indent=1)


if __name__ == "__main__":
    main()
