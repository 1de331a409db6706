"""The PyTorch twin of trifecta's VAE (models/vae/vae.cpp), the Two-Stage VAE's second stage
(models/vae/second_stage.h, --stage 2 --from <trifecta's stage-1 run>), WAE-MMD and WAE-GAN
(models/vae/wae.cpp): the same networks (conv, mlp, and the Two-Stage VAE's infogan first stage) with the same parameter names,
started from trifecta's initial weights (<trifecta out>/init.safetensors), trained on the same batches in
the same order (the Philox Fisher-Yates of data/epoch_order.cpp) with the same reparameterization noise
(trifecta's Philox normals), the same KL-weight schedule (optim/kl_schedule.h) and torch.optim.Adam. Prints
one JSON line (also written to --result) with ms/step, images/s, peak memory, every step's loss, the test
negative ELBO (a WAE: the test reconstruction cost and MMD) and the flags it ran with, under the names
`vae train` gives them. --samples writes decoded prior draws as `vae sample --format safetensors` does (the
same z; a second stage decodes its u to z first, then the first stage decodes z), for `classify fid` to score;
--save-weights writes the trained model in the layout of trifecta's checkpoint, so a twin's stage 1 can be
the --from of the twin's own stage 2 and the Two-Stage VAE is compared end to end.

    /usr/bin/python3 bench/reference/vae_torch.py --init runs/vae/init.safetensors --steps 200 ...
"""
import argparse
import gzip
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
from sample_files import add_sample_flags, check_sample_flags, decode_in_batches, write_samples  # noqa: E402

NOISE_XOR = 0x9E3779B97F4A7C15
EVAL_XOR = 0xD1B54A32D192ED03
SAMPLE_SEED = 20261121  # models/vae/train.h's kSampleSeed


def load_split(directory, split, limit):
    prefix = "train" if split == "train" else "t10k"
    with gzip.open(os.path.join(directory, f"{prefix}-images-idx3-ubyte.gz")) as f:
        data = f.read()
    count = int.from_bytes(data[4:8], "big")
    images = np.frombuffer(data, dtype=np.uint8, offset=16).reshape(count, 1, 28, 28)
    if limit >= 0:
        images = images[:limit]
    return torch.from_numpy(images.astype(np.float32) / 255.0)


def build(architecture, likelihood, latent, hidden, objective="elbo"):
    model = nn.Module()
    if architecture == "infogan":
        # Dai & Wipf's 28x28 network, as models/vae/vae.cpp builds it (its weights come from init.safetensors).
        model.enc = nn.Sequential(nn.Conv2d(1, 64, 4, 2, 1), nn.LeakyReLU(0.2), nn.Conv2d(64, 128, 4, 2, 1),
                                  nn.BatchNorm2d(128), nn.LeakyReLU(0.2), nn.Flatten(), nn.Linear(128 * 7 * 7, 1024),
                                  nn.BatchNorm1d(1024), nn.LeakyReLU(0.2), nn.Linear(1024, 2 * latent))
        model.dec = nn.Sequential(nn.Linear(latent, 1024), nn.BatchNorm1d(1024), nn.ReLU(),
                                  nn.Linear(1024, 128 * 7 * 7), nn.BatchNorm1d(128 * 7 * 7), nn.ReLU(),
                                  nn.Unflatten(1, (128, 7, 7)), nn.ConvTranspose2d(128, 64, 4, 2, 1),
                                  nn.BatchNorm2d(64), nn.ReLU(), nn.ConvTranspose2d(64, 1, 4, 2, 1))
    elif architecture == "conv":
        model.enc = nn.Sequential(nn.Conv2d(1, 32, 4, 2, 1), nn.ReLU(), nn.Conv2d(32, 64, 4, 2, 1), nn.ReLU(),
                                  nn.Flatten(), nn.Linear(64 * 7 * 7, hidden), nn.ReLU(), nn.Linear(hidden, 2 * latent))
        model.dec = nn.Sequential(nn.Linear(latent, hidden), nn.ReLU(), nn.Linear(hidden, 64 * 7 * 7), nn.ReLU(),
                                  nn.Unflatten(1, (64, 7, 7)), nn.ConvTranspose2d(64, 32, 4, 2, 1), nn.ReLU(),
                                  nn.ConvTranspose2d(32, 1, 4, 2, 1))
    else:
        model.enc = nn.Sequential(nn.Flatten(), nn.Linear(784, 2 * hidden), nn.ReLU(), nn.Linear(2 * hidden, hidden),
                                  nn.ReLU(), nn.Linear(hidden, 2 * latent))
        model.dec = nn.Sequential(nn.Linear(latent, hidden), nn.ReLU(), nn.Linear(hidden, 2 * hidden), nn.ReLU(),
                                  nn.Linear(2 * hidden, 784), nn.Unflatten(1, (1, 28, 28)))
    if likelihood == "gaussian" and objective == "elbo":
        model.log_gamma = nn.Parameter(torch.zeros(()))
    if objective == "wae-gan":  # the latent discriminator, 4 x 512 ReLU to one logit
        layers = []
        for i in range(4):
            layers += [nn.Linear(latent if i == 0 else 512, 512), nn.ReLU()]
        model.latent_disc = nn.Sequential(*layers, nn.Linear(512, 1))
    return model


def posterior(model, x, architecture, latent):
    """(mu, logvar) of q(z|x); the infogan network's sigma is softplus(s) + 1e-6 (the authors' form)."""
    stats = model.enc(x)
    mu, scale = stats[:, :latent], stats[:, latent:]
    if architecture == "infogan":
        return mu, 2 * torch.log(F.softplus(scale) + 1e-6)
    return mu, scale


def mmd_inverse_multiquadratic(q, p, prior_variance=1.0):
    """nn/mmd.h: the unbiased MMD estimate with the multi-scale inverse multiquadratic kernel."""
    n, d = q.shape
    base = 2.0 * d * prior_variance

    def kernel_sum(a, b):
        squared = ((a[:, None, :] - b[None, :, :]) ** 2).sum(2)
        return sum((s * base / (s * base + squared)).sum() for s in (0.1, 0.2, 0.5, 1.0, 2.0, 5.0, 10.0))
    within = kernel_sum(p, p) + kernel_sum(q, q) - 2 * n * 7
    return within / (n * (n - 1)) - 2 * kernel_sum(q, p) / (n * n)


def wae_codes(model, x, latent, architecture, noise):
    """The deterministic codes, as many prior draws, and the reconstruction cost 0.05 * ||x - y||^2 (batch mean)."""
    z, _ = posterior(model, x, architecture, latent)
    prior = noise.randn(z.shape, x.device)
    return z, prior, 0.05 * ((x - torch.sigmoid(model.dec(z))) ** 2).sum(dim=(1, 2, 3)).mean()


def wae_terms(model, x, latent, architecture, noise):
    """The WAE-MMD's reconstruction cost and MMD of the deterministic codes."""
    z, prior, reconstruction = wae_codes(model, x, latent, architecture, noise)
    return reconstruction, mmd_inverse_multiquadratic(z, prior)


def kl_schedule(text):
    """beta(step) for a --kl-schedule text, as optim/kl_schedule.cpp reads and computes it: constant:B,
    monotonic:N (beta = min(1, step / N)) or cyclical:T=..,M=4,R=0.5 (Fu et al. 2019)."""
    kind, _, arguments = text.partition(":")
    keys = {"constant": [("value", None)], "monotonic": [("N", None)],
            "cyclical": [("T", None), ("M", 4.0), ("R", 0.5)]}
    if kind not in keys:
        sys.exit(f"vae_torch.py --kl-schedule: unknown schedule '{text}'")
    values = {name: default for name, default in keys[kind]}
    for i, part in enumerate(arguments.split(",") if arguments else []):
        name, _, value = part.rpartition("=")
        if not name and i == 0:
            name = keys[kind][0][0]  # a bare first value stands for the kind's first key
        values[name] = float(value)
    if any(v is None for v in values.values()) or set(values) != {name for name, _ in keys[kind]}:
        sys.exit(f"vae_torch.py --kl-schedule: cannot read '{text}'")
    if kind == "constant":
        return lambda step: values["value"]
    if kind == "monotonic":
        return lambda step: min(1.0, step / values["N"])
    total, cycles, ratio = values["T"], values["M"], values["R"]

    def cyclical(step):
        if step >= total:
            return 1.0
        period = total / cycles
        return min(1.0, (step - math.floor(step / period) * period) / (period * ratio))
    return cyclical


class Noise:
    """trifecta's Generator: (seed, offset), each draw of n numbers advancing the offset by n."""

    def __init__(self, seed):
        self.seed, self.offset = seed, 0

    def randn(self, shape, device):
        n = math.prod(shape)
        values = philox.normal(n, self.seed, self.offset)
        self.offset += n
        return torch.from_numpy(values.astype(np.float32)).reshape(shape).to(device)


def negative_elbo_terms(model, x, likelihood, latent, noise, architecture="conv"):
    mu, logvar = posterior(model, x, architecture, latent)
    z = mu + torch.exp(0.5 * logvar) * noise.randn(mu.shape, x.device)
    decoded = model.dec(z)
    if likelihood == "bernoulli":
        recon = F.binary_cross_entropy_with_logits(decoded, x, reduction="none").sum(dim=(1, 2, 3))
    else:
        gamma = torch.exp(model.log_gamma)
        mean = torch.sigmoid(decoded)
        per_pixel = (x - mean) ** 2 / (2 * gamma ** 2) + model.log_gamma + 0.5 * math.log(2 * math.pi)
        recon = per_pixel.flatten(1).sum(1)
    kl = 0.5 * (mu ** 2 + torch.exp(logvar) - 1 - logvar).sum(1)
    return recon, kl


def build_second_stage(latent, hidden):
    """models/vae/second_stage.h: 3 x FC + ReLU, the input concatenated before each side's output layer."""
    def stack():
        return nn.Sequential(nn.Linear(latent, hidden), nn.ReLU(), nn.Linear(hidden, hidden), nn.ReLU(),
                             nn.Linear(hidden, hidden), nn.ReLU())
    model = nn.Module()
    model.enc, model.enc_out = stack(), nn.Linear(hidden + latent, 2 * latent)
    model.dec, model.dec_out = stack(), nn.Linear(hidden + latent, latent)
    model.log_gamma = nn.Parameter(torch.zeros(()))
    return model


def second_stage_terms(model, rows, latent, noise):
    """z = mu + sigma * eps from the first stage's posterior rows [mu, logvar], then the second stage's
    reconstruction term -log N(z; z_hat, gamma_z^2 I) and KL, drawing the noise in trifecta's order."""
    z = rows[:, :latent] + torch.exp(0.5 * rows[:, latent:]) * noise.randn((rows.shape[0], latent), rows.device)
    stats = model.enc_out(torch.cat([model.enc(z), z], 1))
    mu, logvar = stats[:, :latent], 2 * stats[:, latent:]
    u = mu + torch.exp(0.5 * logvar) * noise.randn(mu.shape, rows.device)
    z_hat = model.dec_out(torch.cat([model.dec(u), u], 1))
    per_dim = (z - z_hat) ** 2 / (2 * torch.exp(model.log_gamma) ** 2) + model.log_gamma + 0.5 * math.log(2 * math.pi)
    return per_dim.sum(1), 0.5 * (mu ** 2 + torch.exp(logvar) - 1 - logvar).sum(1)


def first_stage(source, device):
    """The VAE of a stage-1 run, in eval mode, with the architecture its weights recorded: trifecta's run
    folder (its checkpoint.safetensors) or a file the twin's --save-weights wrote in the same layout."""
    path = source if os.path.isfile(source) else os.path.join(source, "checkpoint.safetensors")
    weights, metadata = safetensors_np.load(path)
    config = json.loads(metadata["config"])
    model = build(config["architecture"], config["likelihood"], config["latent"], config["hidden"])
    model.load_state_dict({k[len("model."):]: torch.from_numpy(v) for k, v in weights.items() if k.startswith("model.")})
    return model.to(device).eval(), config


def save_weights(path, model, args):
    """The trained model as trifecta's checkpoint holds it (tensors "model.<name>", the run's flags as JSON
    in "config"), written through a temporary file so a killed run leaves none half-written."""
    config = {"architecture": args.architecture, "likelihood": args.likelihood, "latent": args.latent,
              "hidden": args.hidden, "objective": args.objective, "stage": args.stage}
    tensors = {"model." + name: value.detach().cpu().numpy() for name, value in model.state_dict().items()}
    safetensors_np.save(path + ".partial", tensors, {"config": json.dumps(config), "model_kind": "vae-torch"})
    os.replace(path + ".partial", path)


def posterior_table(model, images, architecture, latent, device):
    with torch.no_grad():
        rows = [torch.cat(posterior(model, images[i:i + 500].to(device), architecture, latent), 1)
                for i in range(0, images.shape[0], 500)]
    return torch.cat(rows, 0)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--init", required=True, help="trifecta's init.safetensors")
    parser.add_argument("--architecture", default="conv")
    parser.add_argument("--likelihood", default="bernoulli")
    parser.add_argument("--latent", type=int, default=16)
    parser.add_argument("--hidden", type=int, default=256)
    parser.add_argument("--steps", type=int, default=200)
    parser.add_argument("--batch-size", type=int, default=128)
    parser.add_argument("--lr", type=float, default=1e-3)
    parser.add_argument("--adam-beta1", type=float, default=0.9)
    parser.add_argument("--objective", default="elbo", choices=["elbo", "wae-mmd", "wae-gan"])
    parser.add_argument("--wae-lambda", type=float, default=10.0)
    parser.add_argument("--disc-lr", type=float, default=5e-4)
    parser.add_argument("--stage", type=int, default=1, choices=[1, 2])
    parser.add_argument("--from", dest="from_run", default="",
                        help="--stage 2: trifecta's stage-1 run folder, or the twin's stage-1 --save-weights file")
    parser.add_argument("--stage2-hidden", type=int, default=1024)
    parser.add_argument("--kl-schedule", default="constant:1")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--data-dir", default=os.environ.get("TRIFECTA_FASHION_MNIST", "/usr/share/datasets/fashion-mnist"))
    parser.add_argument("--train-limit", type=int, default=-1)
    parser.add_argument("--test-limit", type=int, default=-1)
    parser.add_argument("--result", help="also write the JSON line to this file")
    parser.add_argument("--save-weights", help="write the trained model to this .safetensors file")
    add_sample_flags(parser)
    args = parser.parse_args()
    check_sample_flags(parser, args)
    beta = kl_schedule(args.kl_schedule)
    torch.set_num_threads(args.threads)
    device = torch.device(args.device)
    train = load_split(args.data_dir, "train", args.train_limit)
    test = load_split(args.data_dir, "test", args.test_limit)

    # What one training step's loss and the evaluation's scores are, for the four kinds of run; WAE-GAN also
    # trains its discriminator after the autoencoder's step.
    after_step = None
    if args.stage == 2:
        first, config = first_stage(args.from_run, device)
        latent = config["latent"]
        train = posterior_table(first, train, config["architecture"], latent, device).cpu()
        test = posterior_table(first, test, config["architecture"], latent, device).cpu()
        model = build_second_stage(latent, args.stage2_hidden)

        def step_loss(rows, noise, step):
            recon, kl = second_stage_terms(model, rows, latent, noise)
            return recon.mean() + kl.mean() * beta(step)

        def test_scores(rows, noise):
            recon, kl = second_stage_terms(model, rows, latent, noise)
            return {"test_negative_elbo": (recon + kl).sum().item()}
    elif args.objective == "wae-gan":
        model = build(args.architecture, args.likelihood, args.latent, args.hidden, args.objective)
        codes = {}

        def step_loss(x, noise, step):
            z, prior, reconstruction = wae_codes(model, x, args.latent, args.architecture, noise)
            codes.update(z=z.detach(), prior=prior)
            logits = model.latent_disc(z)
            return reconstruction + args.wae_lambda * F.binary_cross_entropy_with_logits(logits, torch.ones_like(logits))

        def after_step():
            # The adversary on the same prior draws and the codes as encoded before the autoencoder's update.
            real, fake = model.latent_disc(codes["prior"]), model.latent_disc(codes["z"])
            loss = args.wae_lambda * (F.binary_cross_entropy_with_logits(real, torch.ones_like(real)) +
                                      F.binary_cross_entropy_with_logits(fake, torch.zeros_like(fake)))
            disc_optimizer.zero_grad(set_to_none=True)
            loss.backward()
            disc_optimizer.step()

        def test_scores(x, noise):
            reconstruction, mmd = wae_terms(model, x, args.latent, args.architecture, noise)
            return {"test_reconstruction": reconstruction.item() * x.shape[0], "test_mmd": mmd.item()}
    elif args.objective == "wae-mmd":
        model = build(args.architecture, args.likelihood, args.latent, args.hidden, args.objective)

        def step_loss(x, noise, step):
            reconstruction, mmd = wae_terms(model, x, args.latent, args.architecture, noise)
            return reconstruction + args.wae_lambda * mmd

        def test_scores(x, noise):
            reconstruction, mmd = wae_terms(model, x, args.latent, args.architecture, noise)
            return {"test_reconstruction": reconstruction.item() * x.shape[0], "test_mmd": mmd.item()}
    else:
        model = build(args.architecture, args.likelihood, args.latent, args.hidden, args.objective)

        def step_loss(x, noise, step):
            recon, kl = negative_elbo_terms(model, x, args.likelihood, args.latent, noise, args.architecture)
            return recon.mean() + kl.mean() * beta(step)

        def test_scores(x, noise):
            recon, kl = negative_elbo_terms(model, x, args.likelihood, args.latent, noise, args.architecture)
            return {"test_negative_elbo": (recon + kl).sum().item()}

    # Images from prior draws, as trifecta's draw_samples: the decoder's mean image of z, or, for a second
    # stage, of the z its decoder maps u to (its mean; no gamma_z noise on top).
    if args.stage == 2:
        def decode_prior(u):
            return torch.sigmoid(first.dec(model.dec_out(torch.cat([model.dec(u), u], 1))))
    else:
        latent = args.latent

        def decode_prior(z):
            return torch.sigmoid(model.dec(z))

    weights, _ = safetensors_np.load(args.init)
    model.load_state_dict({k: torch.from_numpy(v) for k, v in weights.items()}, strict=True)
    model.to(device)
    autoencoder = [p for name, p in model.named_parameters() if not name.startswith("latent_disc.")]
    optimizer = torch.optim.Adam(autoencoder, lr=args.lr, betas=(args.adam_beta1, 0.999))
    if args.objective == "wae-gan":
        disc_optimizer = torch.optim.Adam(model.latent_disc.parameters(), lr=args.disc_lr, betas=(args.adam_beta1, 0.999))
    noise = Noise(args.seed ^ NOISE_XOR)
    batches_per_epoch = train.shape[0] // args.batch_size

    if device.type == "cuda":
        torch.cuda.reset_peak_memory_stats()
    step, epoch, losses, step_times = 0, 0, [], []
    while step < args.steps:
        order = torch.from_numpy(philox.shuffled_order(train.shape[0], args.seed, epoch))
        for b in range(batches_per_epoch):
            if step == args.steps:
                break
            x = train[order[b * args.batch_size:(b + 1) * args.batch_size]].to(device)
            t0 = time.perf_counter()
            loss = step_loss(x, noise, step)
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
            if after_step:
                after_step()
            if device.type == "cuda":
                torch.cuda.synchronize()
            step_times.append(time.perf_counter() - t0)
            losses.append(loss.item())
            step += 1
        epoch += 1

    # Sums over the test set (the MMD: over its batches of 500), then means, as trifecta reports them.
    eval_noise = Noise(args.seed ^ EVAL_XOR)
    totals, batches = {}, 0
    model.eval()  # batch norm on its running statistics, as trifecta evaluates
    with torch.no_grad():
        for start in range(0, test.shape[0], 500):
            for name, value in test_scores(test[start:start + 500].to(device), eval_noise).items():
                totals[name] = totals.get(name, 0.0) + value
            batches += 1
    scores = {name: value / (batches if name == "test_mmd" else test.shape[0]) for name, value in totals.items()}
    if args.save_weights:
        save_weights(args.save_weights, model, args)
    if args.samples > 0:
        write_samples(args, decode_in_batches(decode_prior, Noise(SAMPLE_SEED).randn((args.samples, latent), device)),
                      "vae-torch")
    report(args, device, step_times, args.batch_size, {**scores, "final_loss": losses[-1], "losses": losses},
           leave_out=("save_weights", "samples", "samples_out"), rename={"from-run": "from"})


if __name__ == "__main__":
    main()
