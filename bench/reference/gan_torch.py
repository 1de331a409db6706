"""The PyTorch twin of trifecta's SN-GAN (models/gan/gan.cpp, models/gan/train.cpp): the same networks with the
same parameter names (torch.nn.utils.spectral_norm keeps weight_orig, weight_u, weight_v), started from
trifecta's initial weights (<trifecta out>/init.safetensors), trained on the same batches in the same order
(the Philox Fisher-Yates of data/epoch_order.cpp) with the same z (trifecta's Philox normals, drawn in the
same order), the same hinge losses, n_dis, learning-rate decay, generator moving average, FQ-GAN feature
quantizers (the same EMA dictionary as nn/feature_quantizer.h, written here in PyTorch) and
torch.optim.Adam. Prints one JSON line (also written to --result) with ms/step, peak memory, every step's
losses and the flags it ran with, under the names `gan train` gives them; --samples writes generated images
as `gan sample --format safetensors` does (the same z), for `classify fid` to score.

    /usr/bin/python3 bench/reference/gan_torch.py --init runs/gan/init.safetensors --steps 200 ...
"""
import argparse
import copy
import os
import sys
import time

import torch
import torch.nn as nn
from torch.nn.utils import spectral_norm

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(HERE, "..", "..", "tests", "oracle"))
import philox  # noqa: E402
from twin_report import report  # noqa: E402
import safetensors_np  # noqa: E402
from sample_files import add_sample_flags, check_sample_flags, decode_in_batches, write_samples  # noqa: E402
from vae_torch import NOISE_XOR, Noise, load_split  # noqa: E402

SAMPLE_SEED = 20261201  # models/gan/train.cpp's kSampleSeed
LEAKY_SLOPE = 0.1


def build_generator(latent, g):
    return nn.Sequential(nn.Linear(latent, g * 49), nn.Unflatten(1, (g, 7, 7)), nn.BatchNorm2d(g), nn.ReLU(),
                         nn.ConvTranspose2d(g, g // 2, 4, 2, 1), nn.BatchNorm2d(g // 2), nn.ReLU(),
                         nn.ConvTranspose2d(g // 2, g // 4, 4, 2, 1), nn.BatchNorm2d(g // 4), nn.ReLU(),
                         nn.Conv2d(g // 4, 1, 3, 1, 1), nn.Sigmoid())


class Discriminator(nn.Module):
    def __init__(self, d):
        super().__init__()
        self.channels = d

        def conv(i, o, k, s):
            return spectral_norm(nn.Conv2d(i, o, k, s, 1), eps=1e-12)

        def act():
            return nn.LeakyReLU(LEAKY_SLOPE)
        self.blocks = nn.Sequential(
            nn.Sequential(conv(1, d, 3, 1), act(), conv(d, d, 4, 2), act()),
            nn.Sequential(conv(d, 2 * d, 3, 1), act(), conv(2 * d, 2 * d, 4, 2), act()),
            nn.Sequential(conv(2 * d, 4 * d, 3, 1), act()))
        self.head = spectral_norm(nn.Linear(4 * d * 49, 1), eps=1e-12)

    def forward(self, x, after_block=None):
        h = x * 2.0 - 1.0
        for i, block in enumerate(self.blocks):
            h = block(h)
            if after_block is not None:
                h = after_block(i, h)
        return self.head(h.flatten(1))

    def block_channels(self, block):
        return self.channels << min(block, 2)


class FeatureQuantizer(nn.Module):
    """FQ-GAN's quantizer (Zhao et al. 2020) as nn/feature_quantizer.h computes it: nearest dictionary entry
    per spatial feature vector, straight-through gradient, commitment loss, EMA dictionary with Laplace
    smoothing updated on training forwards."""

    def __init__(self, channels, entries, decay, commitment, feed_forward, eps=1e-5):
        super().__init__()
        self.decay, self.commitment, self.feed_forward, self.eps = decay, commitment, feed_forward, eps
        self.register_buffer("dictionary", torch.randn(entries, channels))
        self.register_buffer("cluster_size", torch.zeros(entries))
        self.register_buffer("embed_sum", self.dictionary.clone())
        self.last_counts = None

    def forward(self, h):
        channels, entries = h.shape[1], self.dictionary.shape[0]
        flat = h.detach().permute(0, 2, 3, 1).reshape(-1, channels)
        # argmin_k ||h - e_k||^2 = argmin_k ||e_k||^2 - 2 h.e_k
        indices = ((self.dictionary ** 2).sum(1)[None, :] - 2.0 * flat @ self.dictionary.t()).argmin(1)
        q = self.dictionary[indices].reshape(h.shape[0], h.shape[2], h.shape[3], channels).permute(0, 3, 1, 2)
        commitment = ((h - q) ** 2).mean() * self.commitment
        features = q + (h - h.detach()) if self.feed_forward else h
        if self.training:
            with torch.no_grad():
                counts = torch.zeros(entries, device=h.device).index_add_(
                    0, indices, torch.ones(indices.shape[0], device=h.device))
                sums = torch.zeros(entries, channels, device=h.device).index_add_(0, indices, flat)
                self.cluster_size.copy_(self.cluster_size * self.decay + counts * (1 - self.decay))
                self.embed_sum.copy_(self.embed_sum * self.decay + sums * (1 - self.decay))
                n = self.cluster_size.sum()
                smoothed = (self.cluster_size + self.eps) / (n + entries * self.eps) * n
                self.dictionary.copy_(self.embed_sum / smoothed[:, None])
                self.last_counts = counts
        return features, commitment


def build(args):
    model = nn.Module()
    model.generator = build_generator(args.latent, args.g_channels)
    model.discriminator = Discriminator(args.d_channels)
    blocks = [int(b) for b in args.fq_blocks.split(",")] if args.fq_blocks else []
    if blocks:
        model.quantizers = nn.ModuleDict({str(b): FeatureQuantizer(
            model.discriminator.block_channels(b), args.fq_entries, args.fq_decay, args.fq_commitment,
            args.fq_form == "feed-forward") for b in blocks})
    if args.ema_decay > 0:
        model.generator_ema = copy.deepcopy(model.generator)
    return model


def discriminate(model, images):
    """Scores and the quantizers' summed commitment loss (None without quantizers), as gan::Gan::discriminate."""
    if not hasattr(model, "quantizers"):
        return model.discriminator(images), None
    losses = []

    def quantize(block, h):
        if str(block) not in model.quantizers:
            return h
        features, commitment = model.quantizers[str(block)](h)
        losses.append(commitment)
        return features
    scores = model.discriminator(images, quantize)
    total = losses[0]
    for loss in losses[1:]:
        total = total + loss
    return scores, total


def update_ema(model, decay):
    with torch.no_grad():
        for average, weight in zip(model.generator_ema.parameters(), model.generator.parameters()):
            average.copy_(average * decay + weight * (1.0 - decay))
        for average, buffer in zip(model.generator_ema.buffers(), model.generator.buffers()):
            average.copy_(buffer)


def draw_samples(sampler, count, latent, device):
    """count images from z = Philox normals of SAMPLE_SEED, in eval mode, as trifecta's gan::draw_samples."""
    z = Noise(SAMPLE_SEED).randn((count, latent), device)
    sampler.eval()
    images = decode_in_batches(sampler, z)
    sampler.train()
    return images


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--init", required=True, help="trifecta's init.safetensors")
    parser.add_argument("--latent", type=int, default=128)
    parser.add_argument("--g-channels", type=int, default=256)
    parser.add_argument("--d-channels", type=int, default=64)
    parser.add_argument("--steps", type=int, default=200)
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--n-dis", type=int, default=1)
    parser.add_argument("--lr", type=float, default=2e-4)
    parser.add_argument("--betas", default="0,0.9")
    parser.add_argument("--lr-decay", default="none", choices=["none", "linear"])
    parser.add_argument("--ema-decay", type=float, default=0.0)
    parser.add_argument("--fq-blocks", default="")
    parser.add_argument("--fq-entries", type=int, default=256)
    parser.add_argument("--fq-decay", type=float, default=0.8)
    parser.add_argument("--fq-commitment", type=float, default=1.0)
    parser.add_argument("--fq-form", default="feed-forward", choices=["feed-forward", "auxiliary"])
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--data-dir", default=os.environ.get("TRIFECTA_FASHION_MNIST", "/usr/share/datasets/fashion-mnist"))
    parser.add_argument("--train-limit", type=int, default=-1)
    add_sample_flags(parser)
    parser.add_argument("--result", help="also write the JSON line to this file")
    args = parser.parse_args()
    check_sample_flags(parser, args)
    torch.set_num_threads(args.threads)
    device = torch.device(args.device)
    beta1, beta2 = (float(b) for b in args.betas.split(","))

    model = build(args)
    weights, _ = safetensors_np.load(args.init)
    model.load_state_dict({k: torch.from_numpy(v) for k, v in weights.items()}, strict=True)
    model.to(device)
    G, D = model.generator, model.discriminator  # the quantizers are not trained by gradient
    g_optimizer = torch.optim.Adam(G.parameters(), lr=args.lr, betas=(beta1, beta2))
    d_optimizer = torch.optim.Adam(D.parameters(), lr=args.lr, betas=(beta1, beta2))
    train = load_split(args.data_dir, "train", args.train_limit)
    noise = Noise(args.seed ^ NOISE_XOR)
    B, n_dis = args.batch_size, args.n_dis
    batches_per_epoch = train.shape[0] // (B * n_dis)

    if device.type == "cuda":
        torch.cuda.reset_peak_memory_stats()
    step, epoch, step_times = 0, 0, []
    logged = {"loss_d": [], "loss_g": [], "d_real": [], "d_fake": [], "commitment_d": [], "commitment_g": []}
    while step < args.steps:
        order = torch.from_numpy(philox.shuffled_order(train.shape[0], args.seed, epoch))
        for b in range(batches_per_epoch):
            if step == args.steps:
                break
            images = train[order[b * B * n_dis:(b + 1) * B * n_dis]].to(device)
            t0 = time.perf_counter()
            lr = args.lr * (1.0 - step / args.steps) if args.lr_decay == "linear" else args.lr
            for optimizer in (g_optimizer, d_optimizer):
                for group in optimizer.param_groups:
                    group["lr"] = lr
            for k in range(n_dis):
                real = images[k * B:(k + 1) * B]
                with torch.no_grad():
                    fake = G(noise.randn((B, args.latent), device))
                scores, commitment_d = discriminate(model, torch.cat([real, fake]))
                real_scores, fake_scores = scores[:B], scores[B:]
                loss_d = torch.relu(1.0 - real_scores).mean() + torch.relu(1.0 + fake_scores).mean()
                d_optimizer.zero_grad(set_to_none=True)
                (loss_d if commitment_d is None else loss_d + commitment_d).backward()
                d_optimizer.step()
            scores, commitment_g = discriminate(model, G(noise.randn((B, args.latent), device)))
            loss_g = -scores.mean()
            auxiliary = commitment_g is not None and args.fq_form == "auxiliary"
            g_optimizer.zero_grad(set_to_none=True)
            (loss_g + commitment_g if auxiliary else loss_g).backward()
            g_optimizer.step()
            if args.ema_decay > 0:
                update_ema(model, args.ema_decay)
            if device.type == "cuda":
                torch.cuda.synchronize()
            step_times.append(time.perf_counter() - t0)
            logged["loss_d"].append(loss_d.item())
            logged["loss_g"].append(loss_g.item())
            logged["d_real"].append(real_scores.mean().item())
            logged["d_fake"].append(fake_scores.mean().item())
            if commitment_d is not None:
                logged["commitment_d"].append(commitment_d.item())
                logged["commitment_g"].append(commitment_g.item())
            step += 1
        epoch += 1

    if args.samples > 0:
        sampler = model.generator_ema if args.ema_decay > 0 else G
        write_samples(args, draw_samples(sampler, args.samples, args.latent, device), "sngan-torch")
    report(args, device, step_times, B * n_dis, logged, leave_out=("samples", "samples_out"))


if __name__ == "__main__":
    main()
