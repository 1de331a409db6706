"""scripts/plot.py on a metrics.jsonl: a synthetic one (a resumed run's training lines, evaluations, a
constant count) and, with --run, the one a real training run of the vae binary wrote (CTest's vae_export
fixture). Each must give a PNG of the expected size that is not blank, listing the quantities drawn; bad
input must fail naming the file and line.

    python3 tests/scripts/plot_test.py --script scripts/plot.py [--run build/vae_checkpoint_export]
"""
import argparse
import json
import math
import os
import shutil
import struct
import subprocess
import sys
import tempfile

import matplotlib.image


def run_plot(script, *args):
    return subprocess.run([sys.executable, script, *args], capture_output=True, text=True)


def check(condition, message):
    if not condition:
        print(f"FAILED: {message}", file=sys.stderr)
        sys.exit(1)


def check_png(path, drawn):
    """The PNG's signature, its size (3 panels to a row of 420 x 300 pixels at dpi 100) and some contrast."""
    check(os.path.isfile(path), f"no PNG at {path}")
    with open(path, "rb") as f:
        head = f.read(24)
    check(head[:8] == b"\x89PNG\r\n\x1a\n", f"{path} is not a PNG")
    width, height = struct.unpack(">II", head[16:24])
    columns = min(3, len(drawn))
    check((width, height) == (420 * columns, 300 * math.ceil(len(drawn) / columns)),
          f"{path} is {width}x{height} for {len(drawn)} panels")
    pixels = matplotlib.image.imread(path)
    check(pixels.std() > 0.05, f"{path} is blank")


def drawn_quantities(result):
    check(result.returncode == 0, f"plot.py failed: {result.stderr}")
    line = result.stdout.strip().splitlines()[-1]
    check(line.startswith("wrote "), f"unexpected output: {result.stdout}")
    return line.split(": ", 1)[1].split(", ")


def synthetic(script, folder):
    path = os.path.join(folder, "metrics.jsonl")
    with open(path, "w") as f:
        for step in range(1, 121):  # steps 1..120, as a run resumed at step 60 leaves them
            loss = 500 * math.exp(-step / 40) + 200 + 5 * math.sin(step)
            f.write(json.dumps({"step": step, "epoch": step // 50, "loss": loss, "kl": 10 + step / 20,
                                "beta": min(1.0, step / 30), "images_per_second": 900.0 + step,
                                "elapsed_seconds": step * 0.05}) + "\n")
            if step % 40 == 0:
                f.write(json.dumps({"step": step, "test_negative_elbo": 300 - step / 2, "test_images": 1000}) + "\n")
    drawn = drawn_quantities(run_plot(script, path))
    check(drawn == ["loss", "kl", "beta", "test_negative_elbo", "images_per_second"], f"drew {drawn}")
    check_png(os.path.join(folder, "metrics.png"), drawn)

    broken = os.path.join(folder, "broken.jsonl")
    with open(broken, "w") as f:
        f.write('{"step": 1, "loss": 3.0}\n{"step": 2, "loss": \n')
    result = run_plot(script, broken)
    check(result.returncode != 0 and "broken.jsonl line 2 is not JSON" in result.stderr, result.stderr)
    result = run_plot(script, os.path.join(folder, "missing.jsonl"))
    check(result.returncode != 0 and "cannot read" in result.stderr and "missing.jsonl" in result.stderr,
          result.stderr)


def real_run(script, run, folder):
    path = os.path.join(folder, "metrics.jsonl")
    shutil.copy(os.path.join(run, "metrics.jsonl"), path)
    out = os.path.join(folder, "real.png")
    drawn = drawn_quantities(run_plot(script, path, "--out", out))
    for quantity in ("loss", "kl", "reconstruction", "test_negative_elbo"):
        check(quantity in drawn, f"{quantity} missing from {drawn}")
    check_png(out, drawn)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--script", required=True)
    parser.add_argument("--run", help="a run folder of the vae binary")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        synthetic(args.script, folder)
        if args.run:
            real_run(args.script, args.run, folder)
    print("plot_test: ok")


if __name__ == "__main__":
    main()
