"""The Fashion-MNIST experiment of Meng et al. (ICLR 2019, "G-SGD: Optimizing ReLU Neural Networks in its
Positively Scale-Invariant Space"), in its shape: 2-hidden-layer ReLU MLPs of a few widths trained with
g-SGD and with SGD, each at its best learning rate from a small grid, the same epochs, 3 seeds each; test
error and training loss curves. Trains with the classify binary, then writes the tables, the verdict on the
paper's claim (g-SGD reaches lower test error than SGD) and the plot into docs/results/gsgd.md, between the
markers <!-- experiment:begin --> and <!-- experiment:end --> (the rest of that file is left as it is).

    /usr/bin/python3 scripts/gsgd_experiment.py --binary build/bin/classify --jobs 2
    /usr/bin/python3 scripts/gsgd_experiment.py --report-only        # tables and plot from finished runs

Each run: classify train --architecture mlp --hidden W --optimizer sgd|gsgd --lr LR --seed S --epochs E
--batch-size B --eval-every <steps per epoch> --out runs/gsgd/<optimizer>-h<W>-lr<LR>-s<S>. A run whose
folder already holds a finished metrics.jsonl (an evaluation at the last epoch) is not run again unless
--rerun. Flags the binary spells differently can be renamed with --flag-names old=new,... and extra flags
passed with --extra "...". The best learning rate is chosen per optimizer and width by the mean over seeds
of the final test error (--select-by test_error, as papers report their best setting; both optimizers are
chosen the same way) or of the final training loss (--select-by train_loss, no test data involved); the
report gives both selections. A run that diverged (no finite final metrics) counts as failed and its
learning rate is only chosen when every rate failed.

Needs matplotlib (Debian's python3-matplotlib).
"""
import argparse
import concurrent.futures
import json
import math
import os
import re
import shlex
import statistics
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BEGIN, END = "<!-- experiment:begin -->", "<!-- experiment:end -->"
OPTIMIZERS = ("sgd", "gsgd")
LABEL = {"sgd": "SGD", "gsgd": "g-SGD"}


def parse_args():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--binary", default=os.path.join(ROOT, "build", "bin", "classify"))
    p.add_argument("--widths", default="64,128,256")
    p.add_argument("--seeds", default="1,2,3")
    p.add_argument("--epochs", type=int, default=10)
    p.add_argument("--batch-size", type=int, default=128)
    p.add_argument("--train-size", type=int, default=60000, help="training images (to count steps per epoch)")
    # g-SGD steps a weight by lr dL/dW / (D U)^2 (optim/gsgd.h): with default initialization its useful rates
    # lie decades below SGD's, so its grid is its own.
    p.add_argument("--sgd-lrs", default="0.01,0.03,0.1,0.3")
    p.add_argument("--gsgd-lrs", default="1e-5,3e-5,1e-4,1e-3,1e-2")
    p.add_argument("--runs-dir", default=os.path.join(ROOT, "runs", "gsgd"))
    p.add_argument("--doc", default=os.path.join(ROOT, "docs", "results", "gsgd.md"))
    p.add_argument("--plot", default=os.path.join(ROOT, "docs", "images", "gsgd_fashion_mnist.png"))
    p.add_argument("--jobs", type=int, default=1, help="runs at once")
    p.add_argument("--threads", type=int, default=1, help="--threads of each run")
    p.add_argument("--device", default="cpu")
    p.add_argument("--select-by", choices=("test_error", "train_loss"), default="test_error")
    p.add_argument("--train-loss-key", default="loss")
    p.add_argument("--test-error-key", default="test_error")
    p.add_argument("--test-accuracy-key", default="test_accuracy", help="used when no test error is logged")
    p.add_argument("--flag-names", default="", help="renames of classify's flags: old=new,...")
    p.add_argument("--extra", default="", help="more flags for every run")
    p.add_argument("--rerun", action="store_true", help="run again even where a finished run exists")
    p.add_argument("--report-only", action="store_true", help="no training: report the runs found")
    return p.parse_args()


def numbers(text, kind=float):
    return [kind(x) for x in text.split(",") if x.strip()]


def steps_per_epoch(args):
    return math.ceil(args.train_size / args.batch_size)


def run_dir(args, optimizer, width, lr, seed):
    return os.path.join(args.runs_dir, f"{optimizer}-h{width}-lr{lr:g}-s{seed}")


def command(args, optimizer, width, lr, seed):
    renames = dict(item.split("=", 1) for item in args.flag_names.split(",") if item)
    # Plain SGD, as the paper compares (classify's sgd has momentum 0.9 unless told); g-SGD has none.
    flags = [("architecture", "mlp"), ("hidden1", width), ("hidden2", width), ("optimizer", optimizer),
             ("lr", f"{lr:g}"), ("momentum", 0),
             ("seed", seed), ("epochs", args.epochs), ("batch-size", args.batch_size),
             ("eval-every", steps_per_epoch(args)), ("log-every", max(1, steps_per_epoch(args) // 10)),
             ("checkpoint-every", 0), ("threads", args.threads), ("device", args.device),
             ("out", run_dir(args, optimizer, width, lr, seed))]
    cmd = [args.binary, "train"]
    for name, value in flags:
        cmd += ["--" + renames.get(name, name), str(value)]
    return cmd + ["--overwrite"] + shlex.split(args.extra)


def read_run(args, path):
    """{'epochs': [...], 'test_error': [...], 'train_loss': [...]} per epoch from metrics.jsonl, or None."""
    metrics = os.path.join(path, "metrics.jsonl")
    if not os.path.exists(metrics):
        return None
    per_epoch = steps_per_epoch(args)
    losses, errors = {}, {}
    for text in open(metrics, encoding="utf-8"):
        if not text.strip():
            continue
        line = json.loads(text)
        step = line.get("step")
        if step is None:
            continue
        if args.train_loss_key in line:
            epoch = max(1, math.ceil(step / per_epoch))
            losses.setdefault(epoch, []).append(float(line[args.train_loss_key]))
        error = None
        if args.test_error_key in line:
            error = float(line[args.test_error_key])
        elif args.test_accuracy_key in line:
            error = 1.0 - float(line[args.test_accuracy_key])
        if error is not None:
            errors[max(1, round(step / per_epoch))] = error
    epochs = sorted(errors)
    return {"epochs": epochs, "test_error": [errors[e] for e in epochs],
            "train_loss": [statistics.fmean(losses[e]) if e in losses else math.nan for e in epochs],
            "finished": bool(epochs) and epochs[-1] >= args.epochs}


def finite(x):
    return x is not None and math.isfinite(x)


def train_all(args, grid):
    todo = []
    for key in grid:
        path = run_dir(args, *key)
        run = read_run(args, path)
        if args.rerun or run is None or not run["finished"]:
            todo.append(key)
    print(f"{len(grid)} runs, {len(todo)} to train", flush=True)

    def one(key):
        cmd = command(args, *key)
        os.makedirs(args.runs_dir, exist_ok=True)
        log = run_dir(args, *key) + ".log"
        with open(log, "w") as out:
            code = subprocess.run(cmd, stdout=out, stderr=subprocess.STDOUT).returncode
        return key, code, log

    with concurrent.futures.ThreadPoolExecutor(max_workers=args.jobs) as pool:
        for key, code, log in pool.map(one, todo):
            status = "ok" if code == 0 else f"exit {code} (see {log})"
            print(f"  {key[0]} h={key[1]} lr={key[2]:g} seed={key[3]}: {status}", flush=True)


def summarize(args, grid):
    """{(optimizer, width, lr): {'runs': [...], 'test_error': mean, 'test_std', 'train_loss': mean, 'failed'}}"""
    cells = {}
    for optimizer, width, lr, seed in grid:
        run = read_run(args, run_dir(args, optimizer, width, lr, seed))
        cell = cells.setdefault((optimizer, width, lr), {"runs": [], "failed": 0})
        ok = run is not None and run["finished"] and finite(run["test_error"][-1]) and finite(run["train_loss"][-1])
        if ok:
            cell["runs"].append(run)
        else:
            cell["failed"] += 1
    for cell in cells.values():
        errors = [r["test_error"][-1] for r in cell["runs"]]
        losses = [r["train_loss"][-1] for r in cell["runs"]]
        cell["test_error"] = statistics.fmean(errors) if errors else math.nan
        cell["test_std"] = statistics.stdev(errors) if len(errors) > 1 else 0.0
        cell["train_loss"] = statistics.fmean(losses) if losses else math.nan
        cell["loss_std"] = statistics.stdev(losses) if len(losses) > 1 else 0.0
    return cells


def best_lr(cells, optimizer, width, lrs, by):
    def score(lr):
        cell = cells[(optimizer, width, lr)]
        complete = cell["failed"] == 0 and finite(cell[by])
        return (0 if complete else 1, cell[by] if finite(cell[by]) else math.inf)
    return min(lrs, key=score)


def percent(x, std=None):
    if not finite(x):
        return "diverged"
    return f"{100 * x:.2f} ± {100 * std:.2f}" if std is not None else f"{100 * x:.2f}"


def plot(args, cells, chosen, widths):
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    fig, axes = plt.subplots(2, len(widths), figsize=(4.2 * len(widths), 6.5), squeeze=False)
    colors = {"sgd": "tab:blue", "gsgd": "tab:red"}
    for column, width in enumerate(widths):
        for optimizer in OPTIMIZERS:
            lr = chosen[(optimizer, width)]
            runs = cells[(optimizer, width, lr)]["runs"]
            if not runs:
                continue
            for row, key in enumerate(("test_error", "train_loss")):
                length = min(len(r[key]) for r in runs)
                epochs = runs[0]["epochs"][:length]
                values = [[r[key][i] for r in runs] for i in range(length)]
                scale = 100 if key == "test_error" else 1
                mean = [scale * statistics.fmean(v) for v in values]
                ax = axes[row][column]
                ax.plot(epochs, mean, color=colors[optimizer], marker="o", markersize=3,
                        label=f"{LABEL[optimizer]} lr {lr:g}")
                ax.fill_between(epochs, [scale * min(v) for v in values], [scale * max(v) for v in values],
                                color=colors[optimizer], alpha=0.2)
        axes[0][column].set_title(f"784-{width}-{width}-10")
        axes[0][column].set_ylabel("test error (%)")
        axes[1][column].set_ylabel("training loss")
        axes[1][column].set_yscale("log")
        axes[1][column].set_xlabel("epoch")
        axes[0][column].legend(fontsize=8)
    fig.suptitle(f"Fashion-MNIST, mean over {len(numbers(args.seeds, int))} seeds (band: min to max), "
                 f"each optimizer at its best lr (by {args.select_by.replace('_', ' ')})")
    fig.tight_layout()
    os.makedirs(os.path.dirname(args.plot), exist_ok=True)
    fig.savefig(args.plot, dpi=110)
    print(f"wrote {args.plot}")


def report(args, grid, widths, lrs):
    cells = summarize(args, grid)
    selections = {by: {(o, w): best_lr(cells, o, w, lrs[o], by) for o in OPTIMIZERS for w in widths}
                  for by in ("test_error", "train_loss")}
    chosen = selections[args.select_by]
    seeds = numbers(args.seeds, int)
    lines = [BEGIN, "", "## Fashion-MNIST: g-SGD against SGD", "",
             "Made by (run from the repository root):", "",
             "    " + " ".join(shlex.quote(a) for a in [sys.executable] + sys.argv), "",
             f"2-hidden-layer ReLU MLPs 784-W-W-10 on Fashion-MNIST (60,000 training, 10,000 test images), batch "
             f"{args.batch_size}, {args.epochs} epochs, seeds {args.seeds}; learning-rate grids SGD "
             f"{{{args.sgd_lrs}}}, g-SGD {{{args.gsgd_lrs}}}. Test error and training loss after the last "
             f"epoch, mean ± standard deviation over the {len(seeds)} seeds; the training loss is the mean of the "
             f"losses logged during the last epoch.", ""]
    verdicts = []
    for by in ("test_error", "train_loss"):
        selected = selections[by]
        lines += [f"### Each optimizer at its best learning rate by final {by.replace('_', ' ')}"
                  + (" (the plot's)" if by == args.select_by else ""), "",
                  "| width | optimizer | lr | test error % | training loss | failed runs |", "|---|---|---|---|---|---|"]
        for width in widths:
            for optimizer in OPTIMIZERS:
                lr = selected[(optimizer, width)]
                cell = cells[(optimizer, width, lr)]
                loss = f"{cell['train_loss']:.4f} ± {cell['loss_std']:.4f}" if finite(cell["train_loss"]) else "diverged"
                lines.append(f"| {width} | {LABEL[optimizer]} | {lr:g} | {percent(cell['test_error'], cell['test_std'])} "
                             f"| {loss} | {cell['failed']} of {len(seeds)} |")
            sgd = cells[("sgd", width, selected[("sgd", width)])]
            gsgd = cells[("gsgd", width, selected[("gsgd", width)])]
            if by == args.select_by:
                gap = gsgd["test_error"] - sgd["test_error"]
                noise = math.hypot(gsgd["test_std"], sgd["test_std"])
                if not (finite(gap)):
                    verdicts.append(f"width {width}: no comparison (a side has no finished run)")
                else:
                    better = "lower" if gap < 0 else "higher"
                    clear = "clearly " if abs(gap) > 2 * noise else ""
                    within = "" if clear else ", within seed noise"
                    verdicts.append(f"width {width}: g-SGD's test error is {clear}{better} than SGD's{within} "
                                    f"({percent(gsgd['test_error'])}% vs {percent(sgd['test_error'])}%, "
                                    f"difference {100 * gap:+.2f} points, seed spread {100 * noise:.2f})")
        lines.append("")
    holds = [v for v in verdicts if "clearly lower" in v]
    lines += ["### The paper's claim", "",
              "Meng et al. report that g-SGD reaches lower test error than SGD on these MLPs. Here:", ""]
    lines += [f"- {v}" for v in verdicts]
    lines += ["", "Verdict: the claim " + (
        "holds at every width." if len(holds) == len(widths) else
        "does not hold at any width." if not holds else
        f"holds at {len(holds)} of {len(widths)} widths only.") +
        f" (Selection by final {args.select_by.replace('_', ' ')}; a difference counts when it exceeds twice "
        "the combined seed standard deviation.)", ""]
    lines += ["### Every learning rate (mean over seeds)", "",
              "| width | optimizer | lr | test error % | training loss | failed runs |", "|---|---|---|---|---|---|"]
    for width in widths:
        for optimizer in OPTIMIZERS:
            for lr in lrs[optimizer]:
                cell = cells[(optimizer, width, lr)]
                loss = f"{cell['train_loss']:.4f}" if finite(cell["train_loss"]) else "diverged"
                lines.append(f"| {width} | {LABEL[optimizer]} | {lr:g} | {percent(cell['test_error'])} | {loss} | "
                             f"{cell['failed']} |")
    rel_plot = os.path.relpath(args.plot, os.path.dirname(os.path.abspath(args.doc)))
    lines += ["", f"![test error and training loss curves]({rel_plot})", "", END]

    plot(args, cells, chosen, widths)
    section = "\n".join(lines)
    text = open(args.doc, encoding="utf-8").read() if os.path.exists(args.doc) else ""
    if BEGIN in text and END in text:
        text = re.sub(re.escape(BEGIN) + ".*?" + re.escape(END), lambda _: section, text, flags=re.S)
    else:
        text = text.rstrip() + "\n\n" + section + "\n"
    with open(args.doc, "w", encoding="utf-8") as f:
        f.write(text)
    print(f"wrote {args.doc}")
    print("\n".join(verdicts))


def main():
    args = parse_args()
    widths = numbers(args.widths, int)
    lrs = {"sgd": numbers(args.sgd_lrs), "gsgd": numbers(args.gsgd_lrs)}
    grid = [(o, w, lr, s) for w in widths for o in OPTIMIZERS for lr in lrs[o] for s in numbers(args.seeds, int)]
    if not args.report_only:
        if not os.path.exists(args.binary):
            sys.exit(f"gsgd_experiment.py: no binary at {args.binary} (build the classify target first)")
        train_all(args, grid)
    report(args, grid, widths, lrs)


if __name__ == "__main__":
    main()
