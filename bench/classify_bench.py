"""trifecta's classifiers against their PyTorch twin (bench/reference/classify_torch.py), side by side in one
run: the same architecture, initial weights, batches, optimizer, schedule, batch size and thread count. Prints
ms/step and the test accuracy and cross-entropy after the same number of steps, with the trifecta/PyTorch time
ratio and the largest difference between their
per-step training losses (the twin draws the same dropout masks, so they take the same steps); writes the rows as JSON.

    python3 bench/classify_bench.py --build build --steps 600 [--architectures cnn,mlp] [--repeat 1]

On a shared machine, --repeat N trains both sides N times, alternating, and keeps each side's fastest run.
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


def run(command, env):
    process = subprocess.run(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    if process.returncode != 0:
        sys.exit(f"{' '.join(command)} failed:\n{process.stderr}")
    return process.stdout


def recipe(args, architecture):
    """The flags both sides train with."""
    return ["--architecture", architecture, "--steps", str(args.steps), "--batch-size", str(args.batch_size),
            "--threads", str(args.threads), "--seed", str(args.seed), "--optimizer", args.optimizer,
            "--lr", str(args.lr), "--lr-schedule", f"cosine:T_max={args.steps}", "--device", "cpu"]


def trifecta_run(args, architecture, out_dir, env):
    command = [os.path.join(args.build, "bin", "classify"), "train", "--out", out_dir, "--log-every", "1",
               "--checkpoint-every", "0", "--eval-every", "0"] + recipe(args, architecture)
    run(command, env)
    lines = [json.loads(l) for l in open(os.path.join(out_dir, "metrics.jsonl"))]
    steps = [l for l in lines if "loss" in l]
    rates = [l["images_per_second"] for l in steps][5:]  # the first steps warm up
    test = [l for l in lines if "test_accuracy" in l][-1]
    ms = 1e3 * args.batch_size / statistics.median(rates)
    return {"impl": "trifecta", "ms_per_step": ms, "test_accuracy": test["test_accuracy"],
            "test_loss": test["test_loss"], "losses": [l["loss"] for l in steps]}


def torch_run(args, architecture, init, env):
    command = [args.python, os.path.join(HERE, "reference", "classify_torch.py"), "--init", init] + recipe(args, architecture)
    return json.loads(run(command, torch_env(args.threads, env)).strip().splitlines()[-1])


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--build", default="build")
    parser.add_argument("--steps", type=int, default=600)
    parser.add_argument("--batch-size", type=int, default=128)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--optimizer", default="adam")
    parser.add_argument("--lr", type=float, default=2e-3)
    parser.add_argument("--architectures", default="cnn,mlp")
    parser.add_argument("--python", default="/usr/bin/python3", help="a Python with PyTorch")
    parser.add_argument("--repeat", type=int, default=1, help="runs of each side; the fastest counts")
    parser.add_argument("--json", help="write the rows here")
    args = parser.parse_args()
    env = dict(os.environ, OMP_NUM_THREADS=str(args.threads), OPENBLAS_NUM_THREADS=str(args.threads))

    rows = []
    print(f"classifier training, batch {args.batch_size}, {args.steps} steps, {args.optimizer} lr {args.lr} cosine, "
          f"{args.threads} threads, cpu")
    print(f"{'model':<5} {'impl':<9} {'ms/step':>9} {'test acc':>9} {'test CE':>8}")
    for architecture in args.architectures.split(","):
        ours_runs, theirs_runs = [], []
        for _ in range(max(1, args.repeat)):
            with tempfile.TemporaryDirectory() as out_dir:
                ours_runs.append(trifecta_run(args, architecture, out_dir, env))
                theirs_runs.append(torch_run(args, architecture, os.path.join(out_dir, "init.safetensors"), env))
        ours = min(ours_runs, key=lambda row: row["ms_per_step"])
        theirs = min(theirs_runs, key=lambda row: row["ms_per_step"])
        for row in (ours, theirs):
            row["model"] = architecture
            row["ms_per_step_all_runs"] = [r["ms_per_step"] for r in (ours_runs if row is ours else theirs_runs)]
            print(f"{architecture:<5} {row['impl']:<9} {row['ms_per_step']:>9.1f} {row['test_accuracy']:>9.4f} "
                  f"{row['test_loss']:>8.4f}")
        first = min(10, len(ours["losses"]))
        ratio = {"model": architecture, "time_ratio": ours["ms_per_step"] / theirs["ms_per_step"],
                 "accuracy_difference": ours["test_accuracy"] - theirs["test_accuracy"],
                 "first_losses_max_difference": max(abs(a - b) for a, b in zip(ours["losses"][:first], theirs["losses"][:first]))}
        print(f"{architecture:<5} ratio     time {ratio['time_ratio']:.2f}x  accuracy difference "
              f"{ratio['accuracy_difference']:+.4f}  first {first} losses differ by at most "
              f"{ratio['first_losses_max_difference']:.2e}")
        rows += [ours, theirs, ratio]
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"args": vars(args), "rows": rows}, f, indent=1)


if __name__ == "__main__":
    main()
