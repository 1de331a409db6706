"""scripts/generative_results.py end to end on tiny settings (3 steps, 200 samples, 1 seed, the Two-Stage VAE
and SN-GAN rows, each with its twin): the results JSON must hold both sides' scores, times and curves, the
twin's FID-F must match trifecta's (the same init, batches and z: after 3 steps the models barely differ),
the table, plot and grids must be written, a rerun with --skip-existing must run nothing, and a bad --rows
must fail naming the flag.

    /usr/bin/python3 tests/scripts/generative_results_test.py --script scripts/generative_results.py --build build
"""
import argparse
import json
import math
import os
import subprocess
import sys
import tempfile

import matplotlib.image

TINY = ["--rows", "two-stage,sngan", "--seeds", "1", "--twin-seeds", "1", "--steps", "3", "--samples", "200",
        "--curve-samples", "100", "--curve-points", "2", "--samples-limit", "200", "--train-limit", "512",
        "--test-limit", "200", "--threads", "1"]


def check(condition, message):
    if not condition:
        print(f"FAILED: {message}", file=sys.stderr)
        sys.exit(1)


def drive(script, build, out, *extra):
    return subprocess.run([sys.executable, script, "--build", build, "--out", out, "--images",
                           os.path.join(out, "images"), *TINY, *extra], capture_output=True, text=True)


def check_side(name, side, steps):
    for key in ("fid_f", "kid_f", "ms_per_step"):
        check(isinstance(side.get(key), float) and math.isfinite(side[key]), f"{name}: {key} is {side.get(key)}")
    check(side["fid_f"] > 0 and side["ms_per_step"] > 0, f"{name}: FID-F {side['fid_f']}, {side['ms_per_step']} ms")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--script", required=True)
    parser.add_argument("--build", required=True)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as out:
        first = drive(args.script, args.build, out)
        check(first.returncode == 0, f"the driver failed: {first.stderr[-2000:]}")
        results = json.load(open(os.path.join(out, "results.json")))
        check(set(results["runs"]) == {"two-stage", "sngan"}, f"rows {sorted(results['runs'])}")
        check(0 < results["floor"]["fid_f"] < 200, f"the floor's FID-F {results['floor']['fid_f']}")
        for row, seeds in results["runs"].items():
            check(len(seeds) == 1 and "twin" in seeds[0], f"{row}: one seed with its twin")
            run = seeds[0]
            check_side(f"{row} trifecta", run["trifecta"], run["steps"])
            check_side(f"{row} twin", run["twin"], run["steps"])
            gap = abs(run["trifecta"]["fid_f"] - run["twin"]["fid_f"]) / run["trifecta"]["fid_f"]
            check(gap < 1e-3, f"{row}: trifecta's FID-F {run['trifecta']['fid_f']} against the twin's "
                              f"{run['twin']['fid_f']} (the same model after 3 steps)")
            curve = run["trifecta"]["curve"]
            last = run["steps"] + run.get("stage2_steps", 0)
            check(len(curve) >= 2 and curve[-1]["step"] == last and all(math.isfinite(p["fid_f"]) for p in curve),
                  f"{row}: curve {curve} should end at step {last}")
            check(os.path.getsize(os.path.join(out, "images", f"{row}_samples.png")) > 0, f"{row}: no sample grid")
        check(results["runs"]["two-stage"][0]["stage2_steps"] == 6, "two-stage: stage 2 trains twice stage 1's steps")
        check("stage1_ms_per_step" in results["runs"]["two-stage"][0]["twin"], "two-stage: the twin ran its own stage 1")
        table = open(os.path.join(out, "table.md")).read()
        for text in ("| Two-Stage VAE | 3 + 6 | 1 / 1 |", "| SN-GAN | 3 | 1 / 1 |", "Floor", "x |"):
            check(text in table, f"table.md lacks '{text}':\n{table}")
        plot = matplotlib.image.imread(os.path.join(out, "images", "generative_fid_curves.png"))
        check(plot.shape[0] > 300 and plot.std() > 0.01, f"the curves plot is {plot.shape}, std {plot.std()}")

        again = drive(args.script, args.build, out, "--skip-existing")
        check(again.returncode == 0, f"the rerun failed: {again.stderr[-2000:]}")
        commands = [line for line in again.stdout.splitlines() if line.startswith("+ ")]
        check(not commands, f"--skip-existing reran {commands}")
        check(json.load(open(os.path.join(out, "results.json")))["summary"] == results["summary"],
              "--skip-existing changed the results")

    bad = subprocess.run([sys.executable, args.script, "--build", args.build, "--rows", "vae,bigan"],
                         capture_output=True, text=True)
    check(bad.returncode != 0 and "--rows" in bad.stderr and "bigan" in bad.stderr, f"bad --rows: {bad.stderr}")
    print("generative_results.py: both rows, both sides, curves, table, plot, grids and --skip-existing all fine")


if __name__ == "__main__":
    main()
