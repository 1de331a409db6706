"""The PyTorch twin of trifecta's classifiers (models/classify/classifier.cpp): the same networks with the
same parameter names, started from trifecta's initial weights (<trifecta out>/init.safetensors), trained on
the same batches in the same order (the Philox Fisher-Yates of data/epoch_order.cpp) with the same
optimizer (torch.optim.SGD with momentum, Adam, AdamW, Adam(amsgrad=True)), learning-rate schedule
(constant, or cosine as optim/lr_schedule.h computes it) and dropout masks (trifecta's Philox draws from the
training-noise stream, kernels/dropout/dropout.h), so both take the same steps up to float rounding. Prints one JSON line (also written to
--result) with ms/step, images/s, every step's loss, the test accuracy and cross-entropy, and the flags it ran
with, under the names `classify train` gives them.

    /usr/bin/python3 bench/reference/classify_torch.py --init runs/classify/init.safetensors --steps 600 ...

With --feature-net FILE it instead loads a classify checkpoint (the FID-F network,
data/feature_net/fashion_cnn_v1.safetensors), checks its SHA-256 against --sha256 when given, and prints its
test accuracy: the same weights scored by PyTorch.
"""
import argparse
import gzip
import hashlib
import json
import math
import os
import sys
import time

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(HERE, "..", "..", "tests", "oracle"))
import philox  # noqa: E402
from twin_report import report  # noqa: E402
import safetensors_np  # noqa: E402

# The Fashion-MNIST training set's pixel mean and standard deviation (models/classify/classifier.h).
PIXEL_MEAN, PIXEL_STD = 0.2860, 0.3530
NOISE_XOR = 0x9E3779B97F4A7C15  # Seeds::noise of models/common/runtime.cpp


class PhiloxDropout(nn.Module):
    """trifecta's dropout: element i (row-major) of the draw at the generator's (seed, offset) is kept when its
    Philox uniform is below 1 - p and scaled by 1 / (1 - p) in float32; each draw advances the offset by numel."""

    def __init__(self, p, seed):
        super().__init__()
        self.p, self.seed, self.offset = p, seed, 0

    def forward(self, x):
        if not self.training or self.p == 0:
            return x
        keep = philox.uniform(x.numel(), self.seed, self.offset) < 1.0 - self.p
        self.offset += x.numel()
        mask = torch.from_numpy(keep.astype(np.float32)).reshape(x.shape).to(x.device)
        return x * mask * torch.tensor(1.0 / (1.0 - self.p), dtype=torch.float32)


def load_split(directory, split, limit):
    prefix = "train" if split == "train" else "t10k"
    arrays = []
    for kind, offset in (("images-idx3", 16), ("labels-idx1", 8)):
        with gzip.open(os.path.join(directory, f"{prefix}-{kind}-ubyte.gz")) as f:
            arrays.append(np.frombuffer(f.read(), dtype=np.uint8, offset=offset))
    images = arrays[0].reshape(-1, 1, 28, 28)
    labels = arrays[1].astype(np.int64)
    if limit >= 0:
        images, labels = images[:limit], labels[:limit]
    return torch.from_numpy(images.astype(np.float32) / 255.0), torch.from_numpy(labels)


class Classifier(nn.Module):
    def __init__(self, architecture, hidden1, hidden2, dropout, noise_seed=0):
        super().__init__()
        if architecture == "mlp":
            self.body = nn.Sequential(nn.Flatten(), nn.Linear(784, hidden1), nn.ReLU(), nn.Linear(hidden1, hidden2),
                                      nn.ReLU())
            self.head = nn.Sequential(nn.Linear(hidden2, 10))
        else:
            self.body = nn.Sequential(nn.Conv2d(1, 32, 3, padding=1, bias=False), nn.BatchNorm2d(32), nn.ReLU(),
                                      nn.MaxPool2d(2), nn.Conv2d(32, 64, 3, padding=1, bias=False), nn.BatchNorm2d(64),
                                      nn.ReLU(), nn.MaxPool2d(2), nn.Flatten(), nn.Linear(64 * 7 * 7, 128), nn.ReLU())
            self.head = nn.Sequential(PhiloxDropout(dropout, noise_seed), nn.Linear(128, 10))

    def forward(self, images):
        return self.head(self.body((images - PIXEL_MEAN) / PIXEL_STD))


def make_optimizer(name, params, lr, momentum, weight_decay):
    if name == "sgd":
        return torch.optim.SGD(params, lr=lr, momentum=momentum, weight_decay=weight_decay)
    if name == "adam":
        return torch.optim.Adam(params, lr=lr, weight_decay=weight_decay)
    if name == "adamw":
        return torch.optim.AdamW(params, lr=lr, weight_decay=weight_decay)
    if name == "amsgrad":
        return torch.optim.Adam(params, lr=lr, weight_decay=weight_decay, amsgrad=True)
    sys.exit(f"classify_torch.py --optimizer: expects sgd, adam, adamw or amsgrad, got '{name}'")


def lr_schedule(text, base):
    """lr(step) for the --lr-schedule texts this twin supports: constant, cosine:T_max=..[,eta_min=..,warmup=..]."""
    kind, _, arguments = text.partition(":")
    if kind == "constant":
        return lambda step: base
    if kind != "cosine":
        sys.exit(f"classify_torch.py --lr-schedule: supports constant and cosine, got '{text}'")
    values = {"T_max": None, "eta_min": 0.0, "warmup": 0.0}
    for part in arguments.split(","):
        name, _, value = part.partition("=")
        values[name] = float(value)
    t_max, eta_min, warmup = int(values["T_max"]), values["eta_min"], int(values["warmup"])

    def cosine(step):
        if step < warmup:
            return base * (step + 1) / warmup
        t, total = step - warmup, t_max - warmup
        if t >= total:
            return eta_min
        return eta_min + (base - eta_min) * (1 + math.cos(math.pi * t / total)) / 2
    return cosine


def evaluate(model, images, labels, device):
    model.eval()
    correct, loss = 0, 0.0
    with torch.no_grad():
        for start in range(0, images.shape[0], 500):
            logits = model(images[start:start + 500].to(device))
            y = labels[start:start + 500].to(device)
            loss += F.cross_entropy(logits, y, reduction="sum").item()
            correct += (logits.argmax(1) == y).sum().item()
    model.train()
    return correct / images.shape[0], loss / images.shape[0]


def load_feature_net(path, sha256=None):
    """The classifier of a classify checkpoint (the FID-F network, data/feature_net/fashion_cnn_v1.safetensors),
    built from the configuration it records, in eval mode; and the file's SHA-256, which must equal sha256 when
    given."""
    with open(path, "rb") as f:
        digest = hashlib.sha256(f.read()).hexdigest()
    if sha256 and digest != sha256:
        sys.exit(f"classify_torch.py: {path} has SHA-256 {digest}, expected {sha256}")
    tensors, metadata = safetensors_np.load(path)
    config = json.loads(metadata["config"])
    model = Classifier(config["architecture"], config["hidden1"], config["hidden2"], config["dropout"])
    state = {k[len("model."):]: torch.from_numpy(v) for k, v in tensors.items() if k.startswith("model.")}
    model.load_state_dict(state, strict=True)
    return model.eval(), digest


def score_feature_net(args):
    model, digest = load_feature_net(args.feature_net, args.sha256)
    test_images, test_labels = load_split(args.data_dir, "test", args.test_limit)
    accuracy, loss = evaluate(model, test_images, test_labels, torch.device("cpu"))
    print(json.dumps({"impl": "pytorch", "feature_net": args.feature_net, "sha256": digest,
                      "test_accuracy": accuracy, "test_loss": loss}))


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--init", help="trifecta's init.safetensors")
    parser.add_argument("--feature-net", help="score this classify checkpoint on the test set instead of training")
    parser.add_argument("--sha256", help="with --feature-net: the hash the file must have")
    parser.add_argument("--architecture", default="cnn")
    parser.add_argument("--hidden1", type=int, default=256)
    parser.add_argument("--hidden2", type=int, default=256)
    parser.add_argument("--dropout", type=float, default=0.3)
    parser.add_argument("--steps", type=int, default=600)
    parser.add_argument("--batch-size", type=int, default=128)
    parser.add_argument("--optimizer", default="adam")
    parser.add_argument("--lr", type=float, default=1e-3)
    parser.add_argument("--momentum", type=float, default=0.9)
    parser.add_argument("--weight-decay", type=float, default=0.0)
    parser.add_argument("--lr-schedule", default="constant")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--data-dir", default=os.environ.get("TRIFECTA_FASHION_MNIST", "/usr/share/datasets/fashion-mnist"))
    parser.add_argument("--train-limit", type=int, default=-1)
    parser.add_argument("--test-limit", type=int, default=-1)
    parser.add_argument("--result", help="also write the JSON line to this file")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    if args.feature_net:
        return score_feature_net(args)
    if not args.init:
        sys.exit("classify_torch.py: give --init (trifecta's init.safetensors) or --feature-net")
    device = torch.device(args.device)

    model = Classifier(args.architecture, args.hidden1, args.hidden2, args.dropout, args.seed ^ NOISE_XOR)
    weights, _ = safetensors_np.load(args.init)
    model.load_state_dict({k: torch.from_numpy(v) for k, v in weights.items()}, strict=True)
    model.to(device)
    optimizer = make_optimizer(args.optimizer, model.parameters(), args.lr, args.momentum, args.weight_decay)
    lr_at = lr_schedule(args.lr_schedule, args.lr)
    train_images, train_labels = load_split(args.data_dir, "train", args.train_limit)
    test_images, test_labels = load_split(args.data_dir, "test", args.test_limit)
    batches_per_epoch = train_images.shape[0] // args.batch_size

    step, epoch, losses, step_times = 0, 0, [], []
    start = time.perf_counter()
    while step < args.steps:
        order = torch.from_numpy(philox.shuffled_order(train_images.shape[0], args.seed, epoch))
        for b in range(batches_per_epoch):
            if step == args.steps:
                break
            rows = order[b * args.batch_size:(b + 1) * args.batch_size]
            x, y = train_images[rows].to(device), train_labels[rows].to(device)
            t0 = time.perf_counter()
            for group in optimizer.param_groups:
                group["lr"] = lr_at(step)
            loss = F.cross_entropy(model(x), y)
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
            if device.type == "cuda":
                torch.cuda.synchronize()
            step_times.append(time.perf_counter() - t0)
            losses.append(loss.item())
            step += 1
        epoch += 1
    train_seconds = time.perf_counter() - start

    accuracy, test_loss = evaluate(model, test_images, test_labels, device)
    report(args, device, step_times, args.batch_size,
           {"train_seconds": train_seconds, "test_accuracy": accuracy, "test_loss": test_loss,
            "final_loss": losses[-1], "losses": losses}, leave_out=("feature_net", "sha256"))


if __name__ == "__main__":
    main()
