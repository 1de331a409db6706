"""trifecta's SN-GAN against its PyTorch twin (bench/reference/gan_torch.py), side by side in one run: the same
networks, initial weights, batches, z, optimizers, batch size and thread count. Prints the training step's
ms (one step: n_dis discriminator updates and one generator update), images/s and peak memory of both, with
trifecta/PyTorch ratios, and writes the rows as JSON.

    python3 bench/gan_bench.py --build build --steps 60 [--g-channels 256 --d-channels 64] [--repeat 3]

Memory: the peak resident set of each process (both sides hold the training set, the weights and the
optimizer state), and trifecta's own peak of live tensor bytes within a step above what lived before it
(`step_peak_tensor_bytes` in metrics.jsonl; PyTorch has no such counter for CPU tensors).

On a shared machine, --repeat N trains both sides N times, alternating, and keeps each side's fastest run;
every run's ms/step is kept in the JSON.
"""
import argparse
import json
import os
import statistics
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(HERE, "reference"))
from torch_env import torch_env  # noqa: E402
from vae_bench import peak_rss_wrapper, run_measured  # noqa: E402


def model_flags(args):
    return ["--steps", str(args.steps), "--batch-size", str(args.batch_size), "--threads", str(args.threads),
            "--device", args.device, "--seed", str(args.seed), "--latent", str(args.latent),
            "--g-channels", str(args.g_channels), "--d-channels", str(args.d_channels), "--n-dis", str(args.n_dis)]


def trifecta_run(args, out_dir, env):
    command = [os.path.join(args.build, "bin", "gan"), "train", "--out", out_dir, "--log-every", "10",
               "--checkpoint-every", "0", "--eval-every", "0", "--fid-samples", "100", "--kid-subsets", "1",
               "--test-limit", "100"] + model_flags(args)
    _, err = run_measured(peak_rss_wrapper(command), env)
    peak = int(err.strip().splitlines()[-1])
    lines = [json.loads(l) for l in open(os.path.join(out_dir, "metrics.jsonl"))]
    steps = [l for l in lines if "images_per_second" in l][1:]  # the first window warms up
    images_per_step = args.batch_size * args.n_dis
    ms = 1e3 * images_per_step / statistics.median(l["images_per_second"] for l in steps)
    return {"impl": "trifecta", "ms_per_step": ms, "images_per_second": 1e3 * images_per_step / ms,
            "peak_memory_bytes": peak, "step_peak_tensor_bytes": max(l["step_peak_tensor_bytes"] for l in steps)}


def torch_run(args, init, env):
    command = [args.python, os.path.join(HERE, "reference", "gan_torch.py"), "--init", init] + model_flags(args)
    out, err = run_measured(peak_rss_wrapper(command), torch_env(args.threads, env))
    row = json.loads(out.strip().splitlines()[-1])
    if args.device == "cpu":
        row["peak_memory_bytes"] = int(err.strip().splitlines()[-1])
    return {key: row[key] for key in ("impl", "ms_per_step", "images_per_second", "peak_memory_bytes")}


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--build", default="build")
    parser.add_argument("--steps", type=int, default=60)
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--latent", type=int, default=128)
    parser.add_argument("--g-channels", type=int, default=256)
    parser.add_argument("--d-channels", type=int, default=64)
    parser.add_argument("--n-dis", type=int, default=1)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--python", default="/usr/bin/python3", help="a Python with PyTorch")
    parser.add_argument("--repeat", type=int, default=1, help="runs of each side; the fastest counts")
    parser.add_argument("--json", help="write the rows here")
    args = parser.parse_args()
    env = dict(os.environ, OMP_NUM_THREADS=str(args.threads), OPENBLAS_NUM_THREADS=str(args.threads))

    print(f"SN-GAN training, batch {args.batch_size}, n_dis {args.n_dis}, G {args.g_channels} / D {args.d_channels} "
          f"channels, {args.steps} steps, {args.threads} threads, {args.device}")
    ours_runs, theirs_runs = [], []
    for _ in range(max(1, args.repeat)):
        with tempfile.TemporaryDirectory() as out_dir:
            ours_runs.append(trifecta_run(args, out_dir, env))
            theirs_runs.append(torch_run(args, os.path.join(out_dir, "init.safetensors"), env))
    ours = min(ours_runs, key=lambda row: row["ms_per_step"])
    theirs = min(theirs_runs, key=lambda row: row["ms_per_step"])
    ours["ms_per_step_all_runs"] = [row["ms_per_step"] for row in ours_runs]
    theirs["ms_per_step_all_runs"] = [row["ms_per_step"] for row in theirs_runs]
    print(f"{'impl':<9} {'ms/step':>9} {'img/s':>8} {'peak RSS MiB':>13} {'step tensors MiB':>17}")
    for row in (ours, theirs):
        step_tensors = (f"{row['step_peak_tensor_bytes'] / 2**20:>17.1f}" if "step_peak_tensor_bytes" in row
                        else f"{'n/a':>17}")
        print(f"{row['impl']:<9} {row['ms_per_step']:>9.1f} {row['images_per_second']:>8.0f} "
              f"{row['peak_memory_bytes'] / 2**20:>13.0f} {step_tensors}"
              + (f"   all runs: {' '.join(f'{ms:.1f}' for ms in row['ms_per_step_all_runs'])}" if args.repeat > 1 else ""))
    ratio = {"time_ratio": ours["ms_per_step"] / theirs["ms_per_step"],
             "memory_ratio": ours["peak_memory_bytes"] / theirs["peak_memory_bytes"]}
    print(f"ratio     time {ratio['time_ratio']:.2f}x  peak RSS {ratio['memory_ratio']:.2f}x  (target: time <= 0.8x)")
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"args": vars(args), "rows": [ours, theirs, ratio]}, f, indent=1)


if __name__ == "__main__":
    main()
