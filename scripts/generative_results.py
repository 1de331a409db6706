"""The generative results table (issue 8, "Side by side"): trains every model with trifecta and its PyTorch
twin at a fixed step budget, scores 10,000 samples of each by FID-F and KID-F against the 10,000 test
images (`classify fid`), and writes the table, the FID-F-against-steps curves and a sample grid per model.

    /usr/bin/python3 scripts/generative_results.py --build build-cpu --out runs/generative          # the sweep
    /usr/bin/python3 scripts/generative_results.py --rows sngan --seeds 1 --twin-seeds 0 --budget-minutes 8

Rows: vae (the main job's configuration, scripts/run.sh), two-stage (infogan stage 1, then stage 2 on its
codes), wae-mmd, wae-gan, sngan, fqgan-ff, fqgan-aux (`ROWS` below holds each one's flags and why). Per row
and seed: trifecta trains for the row's steps (its budget: --budget-minutes of training at the row's
measured time per step on 2 cores, evaluations not counted), `sample --count 10000 --format safetensors`,
`classify fid --json`; the twin (bench/reference/{vae,gan}_torch.py) starts from the same init.safetensors and
trains the same steps, batches and noise, writes its samples of the same z, and is scored the same way.
The Two-Stage twin runs both stages itself (its stage 2 on the codes of its own stage 1). Time per step is
each side's own figure (trifecta: metrics.jsonl's images_per_second; the twin: its ms_per_step); both run
on the shared machine, whose load moves them, so the benchmark scripts (bench/*_bench.py) give the clean
ratio. FID-F against steps: the gan binary logs it every --eval-every steps (on --curve-samples samples);
a vae run is trained in --curve-points chunks with --resume (bit-identical to one uninterrupted run) and its
samples scored after each chunk. The floor is the first 10,000 training images against the test images.

Every finished piece (a run's training, its samples, its scores) leaves a file; with --skip-existing a
killed sweep rerun picks up where it stopped (a half-trained run continues with --resume). Writes
<out>/results.json, <out>/table.md (the fragment for docs/results/generative.md),
<images>/generative_fid_curves.png and <images>/<row>_samples.png (the binaries' own samples.png grids).
"""
import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "bench", "reference"))
from torch_env import torch_env  # noqa: E402

PYTHON = "/usr/bin/python3"  # the Python with PyTorch
VAE_TWIN = os.path.join(ROOT, "bench", "reference", "vae_torch.py")
GAN_TWIN = os.path.join(ROOT, "bench", "reference", "gan_torch.py")

# Each row: the binary, the flags trifecta and its twin share, trifecta's time per training step (ms; measured
# here on 2 threads, 2026-12-01, plus about 30% for the shared machine's load; it sets the steps a budget
# buys) and a cap on the steps. The VAE rows stop at the main job's 6,000 steps (its own budget: conv VAE 37
# ms a step, WAE-MMD 40, WAE-GAN 58, so 4 to 6 minutes). The GANs use --g-channels 64 --d-channels 32
# (SN-GAN 210 ms a step, FQ-GAN 217; the default 256/64 networks take 3.2 s, under 300 steps in 15 minutes;
# 64/64 takes 930 ms, the discriminator dominating): all three rows share one estimate, so SN-GAN and both
# FQ-GANs train the same steps (15 minutes: 3,100). Two-Stage: stage 1 is the authors' infogan network with
# a learned gamma (lr 1e-4, batch 64, latent 64; 95 ms a step; no learning-rate halving, which the authors
# start after 150 epochs, far beyond this budget, and the twin has no schedule); stage 2 trains twice stage
# 1's steps (the paper's 800 to 400 epochs) at 17 ms, so one stage-1 step of the budget costs 95 + 2 x 17
# ms, 170 with the margin. The WAEs: the README's settings (the paper's lambda and beta1) on the conv
# network with the binary's default latent 16.
GAN_MS_PER_STEP = 290
ROWS = {
    "vae": {"binary": "vae", "flags": [], "ms_per_step": 50, "max_steps": 6000, "label": "VAE (main job)"},
    "two-stage": {"binary": "vae", "ms_per_step": 170, "max_steps": 6000, "label": "Two-Stage VAE",
                  "flags": ["--architecture", "infogan", "--likelihood", "gaussian", "--latent", "64",
                            "--batch-size", "64", "--lr", "1e-4"],
                  "stage2_flags": ["--batch-size", "64", "--lr", "1e-4"], "stage2_steps_per_stage1_step": 2},
    "wae-mmd": {"binary": "vae", "ms_per_step": 55, "max_steps": 6000, "label": "WAE-MMD",
                "flags": ["--objective", "wae-mmd", "--wae-lambda", "10", "--adam-beta1", "0.5"]},
    "wae-gan": {"binary": "vae", "ms_per_step": 75, "max_steps": 6000, "label": "WAE-GAN",
                "flags": ["--objective", "wae-gan", "--wae-lambda", "1", "--disc-lr", "5e-4", "--adam-beta1", "0.5"]},
    "sngan": {"binary": "gan", "ms_per_step": GAN_MS_PER_STEP, "max_steps": 10000, "label": "SN-GAN",
              "flags": ["--g-channels", "64", "--d-channels", "32"]},
    "fqgan-ff": {"binary": "gan", "ms_per_step": GAN_MS_PER_STEP, "max_steps": 10000, "label": "FQ-GAN (feed-forward)",
                 "flags": ["--g-channels", "64", "--d-channels", "32", "--fq-blocks", "1,2", "--fq-form", "feed-forward"]},
    "fqgan-aux": {"binary": "gan", "ms_per_step": GAN_MS_PER_STEP, "max_steps": 10000, "label": "FQ-GAN (auxiliary)",
                  "flags": ["--g-channels", "64", "--d-channels", "32", "--fq-blocks", "1,2", "--fq-form", "auxiliary"]},
}
# The two pairs the papers' claims are about get 3 seeds; the other rows 1.
DEFAULT_SEEDS = {"vae": 3, "two-stage": 3, "wae-mmd": 1, "wae-gan": 1, "sngan": 3, "fqgan-ff": 3, "fqgan-aux": 3}
LOAD_NOTE = ("Times per step are each side's own figure on the shared 2-core machine (the load averages at "
             "each run are recorded); the machine's load moves them, so bench/gan_bench.py and "
             "bench/vae_bench.py give the clean ratio.")


def fail(message):
    print(f"generative_results.py: {message}", file=sys.stderr)
    sys.exit(1)


def flag(flags, name, default):
    return flags[flags.index(name) + 1] if name in flags else default


def write_json(path, value):
    """Through a temporary file: a killed sweep never leaves a half-written result for --skip-existing."""
    with open(path + ".partial", "w") as f:
        json.dump(value, f, indent=1)
        f.write("\n")
    os.replace(path + ".partial", path)


def read_json(path):
    with open(path) as f:
        return json.load(f)


def run(command, env=None, log=None):
    """Runs a command, its output appended to log; a failure stops the sweep naming the command."""
    print("+ " + " ".join(command), flush=True)
    with open(log, "a") if log else open(os.devnull, "w") as sink:
        result = subprocess.run(command, env=env, stdout=subprocess.PIPE, stderr=sink, text=True)
        if log:
            sink.write(result.stdout)
    if result.returncode != 0:
        fail(f"'{' '.join(command)}' failed with status {result.returncode}" + (f" (its output: {log})" if log else ""))
    return result.stdout


class Sweep:
    def __init__(self, args):
        self.args = args
        self.bin = os.path.join(os.path.abspath(args.build), "bin")
        for binary in ("vae", "gan", "classify"):
            if not os.access(os.path.join(self.bin, binary), os.X_OK):
                fail(f"no {binary} binary in {self.bin} (build first, or pass --build)")
        self.log = os.path.join(args.out, "commands.log")

    def steps(self, row):
        if self.args.steps:
            return self.args.steps
        spec = ROWS[row]
        budget = int(self.args.budget_minutes * 60000 / spec["ms_per_step"]) // 100 * 100
        return max(100, min(spec["max_steps"], budget))

    def data_flags(self, test=True):
        flags = ["--threads", str(self.args.threads), "--device", self.args.device]
        if self.args.train_limit >= 0:
            flags += ["--train-limit", str(self.args.train_limit)]
        if test and self.args.test_limit >= 0:
            flags += ["--test-limit", str(self.args.test_limit)]
        return flags

    def score(self, samples, path, count):
        """FID-F and KID-F of a sample file of count images (or the training images) against the test
        images, cached in path."""
        if self.args.skip_existing and os.path.exists(path):
            return read_json(path)
        reference = self.args.test_limit if self.args.test_limit >= 0 else 10000
        command = [os.path.join(self.bin, "classify"), "fid", "--samples", samples, "--reference", "test", "--json",
                   "--threads", str(self.args.threads), "--device", self.args.device,
                   "--reference-limit", str(reference)]
        if samples == "train":
            command += ["--samples-limit", str(count)]
        command += ["--kid-subset-size", str(min(1000, reference, count))]
        line = [text for text in run(command, log=self.log).splitlines() if text.startswith("{")][-1]
        scores = json.loads(line)
        result = {"fid_f": scores["fid"], "kid_f": scores["kid_mean"], "kid_f_std": scores["kid_std"],
                  "samples": samples}
        write_json(path, result)
        return result

    def train(self, binary, folder, steps, flags, seed):
        """Trains the run in folder to steps: continues its checkpoint (a killed sweep's), or starts afresh."""
        reached = checkpoint_step(folder)
        if reached is not None and reached >= steps:
            return
        resume = "--resume" if reached is not None else "--overwrite"
        run([os.path.join(self.bin, binary), "train", "--out", folder, resume, "--steps", str(steps),
             "--seed", str(seed), *flags, *self.data_flags()], log=self.log)

    def trifecta_vae(self, folder, steps, flags, seed, curve_path):
        """Trains in chunks with --resume, scoring samples after each, for the FID-F curve."""
        curve = read_json(curve_path) if os.path.exists(curve_path) else []
        points = max(1, self.args.curve_points)
        targets = sorted({max(1, round(steps * (i + 1) / points)) for i in range(points)})
        for target in targets:
            if any(point["step"] == target for point in curve):
                continue
            self.train("vae", folder, target, flags + ["--checkpoint-every", "0", "--eval-every", "0"], seed)
            run([os.path.join(self.bin, "vae"), "sample", "--out", folder, "--count", str(self.args.curve_samples),
                 "--format", "safetensors", "--threads", str(self.args.threads), "--device", self.args.device],
                log=self.log)
            path = os.path.join(folder, "..", f"curve_{target}.json")
            scores = self.score(os.path.join(folder, "samples.safetensors"), path, self.args.curve_samples)
            curve.append({"step": target, "fid_f": scores["fid_f"], "kid_f": scores["kid_f"]})
            write_json(curve_path, curve)
            os.remove(path)
        return curve

    def trifecta_gan(self, folder, steps, flags, seed):
        every = max(1, steps // max(1, self.args.curve_points))
        reference = self.args.test_limit if self.args.test_limit >= 0 else 10000
        self.train("gan", folder, steps, flags + [
            "--eval-every", str(every), "--fid-samples", str(self.args.curve_samples),
            "--kid-subsets", "1" if min(reference, self.args.curve_samples) < 1000 else "10"], seed)
        # By step: a resumed run logs again the evaluations its killed predecessor made after its checkpoint.
        curve = {line["step"]: {"step": line["step"], "fid_f": line["fid_f"], "kid_f": line["kid_f"]}
                 for line in metrics(folder) if "fid_f" in line}
        return [curve[step] for step in sorted(curve)]

    def scored_samples(self, binary, folder, scores_path):
        """FID-F and KID-F of --samples samples of the trained run in folder."""
        if self.args.skip_existing and os.path.exists(scores_path):
            return read_json(scores_path)
        run([os.path.join(self.bin, binary), "sample", "--out", folder, "--count", str(self.args.samples), "--format",
             "safetensors", "--threads", str(self.args.threads), "--device", self.args.device], log=self.log)
        return self.score(os.path.join(folder, "samples.safetensors"), scores_path, self.args.samples)

    def twin(self, script, init, steps, flags, seed, folder, samples=True, extra=()):
        """One twin run from trifecta's init; its JSON result (with ms_per_step), cached in folder."""
        result_path = os.path.join(folder, "result.json")
        if self.args.skip_existing and os.path.exists(result_path):
            return read_json(result_path)
        command = [PYTHON, script, "--init", init, "--steps", str(steps), "--seed", str(seed), *flags,
                   *self.data_flags(test=script == VAE_TWIN), "--result", result_path + ".run", *extra]
        if samples:
            command += ["--samples", str(self.args.samples),
                        "--samples-out", os.path.join(folder, "samples.safetensors")]
        run(command, env=torch_env(self.args.threads), log=self.log)
        result = read_json_line(result_path + ".run")
        os.remove(result_path + ".run")
        result = {key: result[key] for key in ("ms_per_step", "peak_memory_bytes", "flags", "torch")}
        write_json(result_path, result)
        return result

    def seed_run(self, row, seed, with_twin):
        """One seed of one row: trifecta's run (and the twin's), scored; cached as <out>/<row>/seed<seed>.json."""
        spec, args = ROWS[row], self.args
        base = os.path.join(args.out, row, f"seed{seed}")
        done = base + ".json"
        if args.skip_existing and os.path.exists(done):
            result = read_json(done)
            if with_twin <= ("twin" in result):
                return result
        elif not args.skip_existing and os.path.exists(base):
            shutil.rmtree(base)  # a fresh sweep: nothing of an earlier one carries over
        os.makedirs(base, exist_ok=True)
        steps = self.steps(row)
        load_before = os.getloadavg()
        first = os.path.join(base, "trifecta")
        result = {"row": row, "seed": seed, "steps": steps, "flags": spec["flags"]}
        if spec["binary"] == "gan":
            curve = self.trifecta_gan(first, steps, spec["flags"], seed)
            trained, trained_flags = first, spec["flags"]
        else:
            curve = self.trifecta_vae(first, steps, spec["flags"], seed, os.path.join(base, "curve_stage1.json"))
            trained, trained_flags = first, spec["flags"]
        if row == "two-stage":
            steps2 = steps * spec["stage2_steps_per_stage1_step"]
            trained, trained_flags = os.path.join(base, "trifecta_stage2"), spec["stage2_flags"]
            curve2 = self.trifecta_vae(trained, steps2, ["--stage", "2", "--from", first, *trained_flags], seed,
                                       os.path.join(base, "curve_stage2.json"))
            result.update(stage2_steps=steps2, stage2_flags=trained_flags, stage1_curve=curve,
                          stage1_ms_per_step=trifecta_ms_per_step(first, spec["flags"], "vae"))
            # The curve over both stages' steps: stage 1's points, then stage 2's after them.
            curve = curve + [{**point, "step": steps + point["step"]} for point in curve2]
        result["trifecta"] = {**self.scored_samples(spec["binary"], trained, os.path.join(base, "trifecta_scores.json")),
                              "ms_per_step": trifecta_ms_per_step(trained, trained_flags, spec["binary"]),
                              "curve": curve, "grid": os.path.join(trained, "samples.png")}
        if with_twin:
            result["twin"] = self.twin_run(row, base, steps, seed)
        result["load_average"] = {"before": load_before, "after": os.getloadavg()}
        write_json(done, result)
        return result

    def twin_run(self, row, base, steps, seed):
        spec = ROWS[row]
        folder = os.path.join(base, "twin")
        os.makedirs(folder, exist_ok=True)
        script = GAN_TWIN if spec["binary"] == "gan" else VAE_TWIN
        first_init = os.path.join(base, "trifecta", "init.safetensors")
        if row != "two-stage":
            twin = self.twin(script, first_init, steps, spec["flags"], seed, folder)
        else:
            # Stage 1 saves its weights; stage 2 trains on their codes, from trifecta's stage-2 init.
            stage1_folder = os.path.join(folder, "stage1")
            os.makedirs(stage1_folder, exist_ok=True)
            weights = os.path.join(stage1_folder, "weights.safetensors")
            stage1 = self.twin(script, first_init, steps, spec["flags"], seed, stage1_folder, samples=False,
                               extra=["--save-weights", weights])
            twin = self.twin(script, os.path.join(base, "trifecta_stage2", "init.safetensors"),
                             steps * spec["stage2_steps_per_stage1_step"],
                             ["--stage", "2", "--from", weights, *spec["stage2_flags"]], seed, folder)
            twin["stage1_ms_per_step"] = stage1["ms_per_step"]
        return {**self.score(os.path.join(folder, "samples.safetensors"), os.path.join(base, "twin_scores.json"), self.args.samples),
                **twin}


def checkpoint_step(folder):
    """The step of the checkpoint in folder (from its safetensors metadata), None without one."""
    path = os.path.join(folder, "checkpoint.safetensors")
    if not os.path.exists(path):
        return None
    with open(path, "rb") as f:
        header = json.loads(f.read(int.from_bytes(f.read(8), "little")))
    return int(header["__metadata__"]["step"])


def read_json_line(path):
    with open(path) as f:
        return json.loads(f.readline())


def metrics(folder):
    with open(os.path.join(folder, "metrics.jsonl")) as f:
        return [json.loads(line) for line in f if line.strip()]


def trifecta_ms_per_step(folder, flags, binary):
    """The median over metrics.jsonl's logging windows (evaluations are paused out of them) of the time per
    step: the items a step takes (images; a GAN: --n-dis batches of them; a second stage: codes) over the
    items per second."""
    batch = int(flag(flags, "--batch-size", 64 if binary == "gan" else 128))
    per_step = batch * (int(flag(flags, "--n-dis", 1)) if binary == "gan" else 1)
    rates = [value for line in metrics(folder) for key, value in line.items()
             if key.endswith("_per_second") and value > 0]
    if not rates:
        fail(f"no images_per_second (or codes_per_second) in {folder}/metrics.jsonl")
    return 1000.0 * per_step / statistics.median(rates)


def mean_std(values):
    values = [v for v in values if v is not None]
    if not values:
        return None, None
    return statistics.mean(values), (statistics.stdev(values) if len(values) > 1 else None)


def cell(values, digits):
    mean, std = mean_std(values)
    if mean is None:
        return "-"
    return f"{mean:.{digits}f}" + (f" ± {std:.{digits}f}" if std is not None else "")


def summarize(results):
    """Per row: mean and std over seeds of each score, and the times."""
    summary = {}
    for row, seeds in results.items():
        twins = [s["twin"] for s in seeds if "twin" in s]
        summary[row] = {"seeds": len(seeds), "twin_seeds": len(twins), "steps": seeds[0]["steps"]}
        for side, runs in (("trifecta", [s["trifecta"] for s in seeds]), ("twin", twins)):
            for key in ("fid_f", "kid_f", "ms_per_step"):
                mean, std = mean_std([r[key] for r in runs])
                summary[row][f"{side}_{key}"] = {"mean": mean, "std": std, "values": [r[key] for r in runs]}
    return summary


def table(results, summary, floor):
    lines = ["| model | steps | seeds (trifecta / twin) | FID-F trifecta | FID-F twin | KID-F trifecta | KID-F twin "
             "| ms/step trifecta | ms/step twin | ratio |", "|" + " --- |" * 10]
    for row, seeds in results.items():
        twins = [s["twin"] for s in seeds if "twin" in s]
        trifecta = [s["trifecta"] for s in seeds]
        mine, theirs = summary[row]["trifecta_ms_per_step"]["mean"], summary[row]["twin_ms_per_step"]["mean"]
        steps = str(seeds[0]["steps"])
        if row == "two-stage":
            steps += f" + {seeds[0]['stage2_steps']}"
        lines.append(" | ".join([
            f"| {ROWS[row]['label']}", steps, f"{len(trifecta)} / {len(twins)}",
            cell([r["fid_f"] for r in trifecta], 2), cell([r["fid_f"] for r in twins], 2),
            cell([r["kid_f"] for r in trifecta], 2), cell([r["kid_f"] for r in twins], 2),
            cell([r["ms_per_step"] for r in trifecta], 1), cell([r["ms_per_step"] for r in twins], 1),
            f"{mine / theirs:.2f}x |" if theirs else "- |"]))
    lines.append("")
    if floor:
        lines.append(f"Floor (the first {floor['samples_limit']} training images against the test images): "
                     f"FID-F {floor['fid_f']:.3f}, KID-F {floor['kid_f']:.2f} ± {floor['kid_f_std']:.2f}.")
    if "two-stage" in results:
        lines.append("Two-Stage VAE: steps are stage 1 + stage 2; its times per step are stage 2's (stage 1's are "
                     "in results.json: stage1_ms_per_step, and the twin's stage1_ms_per_step).")
    lines.append(LOAD_NOTE)
    return "\n".join(lines) + "\n"


def plot(results, path):
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    figure, axes = plt.subplots(figsize=(8, 5))
    for row, seeds in results.items():
        by_step = {}
        for s in seeds:
            for point in s["trifecta"]["curve"]:
                by_step.setdefault(point["step"], []).append(point["fid_f"])
        steps = sorted(by_step)
        means = [statistics.mean(by_step[step]) for step in steps]
        axes.plot(steps, means, marker="o", markersize=3,
                  label=f"{ROWS[row]['label']} ({len(seeds)} seed{'s' if len(seeds) > 1 else ''})")
    axes.set_yscale("log")
    axes.set_xlabel("training step (Two-Stage VAE: stage 1, then stage 2)")
    axes.set_ylabel(f"FID-F ({results[next(iter(results))][0]['curve_samples']} samples vs test, log scale)")
    axes.set_title("FID-F against training steps, trifecta (mean over seeds)")
    axes.grid(True, which="both", alpha=0.3)
    axes.legend(fontsize=8)
    figure.tight_layout()
    figure.savefig(path, dpi=110)
    plt.close(figure)


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--build", default=os.path.join(ROOT, "build"), help="the build folder holding bin/vae, bin/gan, bin/classify")
    parser.add_argument("--rows", default=",".join(ROWS), help="comma-separated, of: " + ", ".join(ROWS))
    parser.add_argument("--seeds", type=int, default=0, help="seeds per row (0: 3 for the papers' pairs, 1 for the others)")
    parser.add_argument("--twin-seeds", type=int, default=1, help="of those seeds, how many the twin also runs")
    parser.add_argument("--budget-minutes", type=float, default=15.0, help="training time per run on 2 cores, at most 15")
    parser.add_argument("--steps", type=int, default=0, help="train every row this many steps instead of its budget's")
    parser.add_argument("--samples", type=int, default=10000, help="samples scored per model")
    parser.add_argument("--curve-samples", type=int, default=2000, help="samples scored at each point of the curves")
    parser.add_argument("--curve-points", type=int, default=8, help="points of each FID-F curve")
    parser.add_argument("--samples-limit", type=int, default=10000, help="training images the floor scores")
    parser.add_argument("--train-limit", type=int, default=-1, help="train on the first N images only (tests)")
    parser.add_argument("--test-limit", type=int, default=-1, help="score against the first N test images only (tests)")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--out", default=os.path.join(ROOT, "runs", "generative"))
    parser.add_argument("--images", default=os.path.join(ROOT, "docs", "images"), help="where the plot and grids go")
    parser.add_argument("--skip-existing", action="store_true", help="keep what a previous, killed sweep finished")
    args = parser.parse_args()
    rows = args.rows.split(",")
    unknown = [row for row in rows if row not in ROWS]
    if unknown:
        parser.error(f"--rows: unknown {', '.join(unknown)} (known: {', '.join(ROWS)})")
    if not 0 < args.budget_minutes <= 15:
        parser.error(f"--budget-minutes expects more than 0 and at most 15, got {args.budget_minutes}")
    if args.seeds < 0 or args.twin_seeds < 0 or args.steps < 0 or args.samples < 2 or args.curve_samples < 2:
        parser.error("--seeds, --twin-seeds, --steps must not be negative, --samples and --curve-samples at least 2")
    args.rows = rows
    return args


def main():
    args = parse_args()
    os.makedirs(args.out, exist_ok=True)
    os.makedirs(args.images, exist_ok=True)
    sweep = Sweep(args)
    started = time.time()
    # The commit the sweep starts from (it may run for hours while the tree moves on).
    commit = subprocess.run(["git", "-C", ROOT, "describe", "--always", "--dirty"], capture_output=True,
                            text=True).stdout.strip()
    floor = None
    if args.samples_limit > 0:
        floor = {**sweep.score("train", os.path.join(args.out, "floor.json"), args.samples_limit), "samples_limit": args.samples_limit}
    results = {}
    for row in args.rows:
        seeds = args.seeds or DEFAULT_SEEDS[row]
        results[row] = [{**sweep.seed_run(row, seed, seed < args.twin_seeds), "curve_samples": args.curve_samples}
                        for seed in range(seeds)]
        shutil.copyfile(results[row][0]["trifecta"]["grid"], os.path.join(args.images, f"{row}_samples.png"))
    summary = summarize(results)
    fragment = table(results, summary, floor)
    write_json(os.path.join(args.out, "results.json"), {
        "date": time.strftime("%Y-%m-%d", time.gmtime()), "commit": commit, "note": LOAD_NOTE, "floor": floor,
        "budget_minutes": args.budget_minutes, "threads": args.threads, "device": args.device,
        "summary": summary, "runs": results, "wall_seconds": time.time() - started})
    with open(os.path.join(args.out, "table.md"), "w") as f:
        f.write(fragment)
    plot(results, os.path.join(args.images, "generative_fid_curves.png"))
    print(fragment, end="")
    print(f"wrote {args.out}/results.json, {args.out}/table.md, {args.images}/generative_fid_curves.png and "
          f"{', '.join(f'{row}_samples.png' for row in results)}")


if __name__ == "__main__":
    main()
