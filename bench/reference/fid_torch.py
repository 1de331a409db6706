#!/usr/bin/env python3
"""FID-F, KID-F and the label entropies in numpy/scipy/PyTorch: the twin of models/common/image_metrics/ and of
`classify fid`, used to check trifecta's numbers on the same features (tests/oracle/make_fid_reference.py) and,
with the FID-F network loaded into its PyTorch twin (bench/reference/classify_torch.py), on the same images.

From images, as `classify fid` (the same JSON line as `classify fid --json`):
    /usr/bin/python3 bench/reference/fid_torch.py --reference test --samples runs/vae/samples.safetensors \
        [--reference-limit N --samples-limit M] [--feature-net data/feature_net/fashion_cnn_v1.safetensors] \
        [--kid-subsets 100 --kid-subset-size 1000 --kid-seed 0] [--json out.json]
From features already computed:
    /usr/bin/python3 bench/reference/fid_torch.py --reference-features ref.npy --sample-features s.npy \
        --sample-probabilities p.npy [--kid-subsets 100 --kid-subset-size 1000 --kid-seed 0] [--json out.json]

Formulas (docs/metrics.md): Heusel et al. 2017, eq. 6, for the Frechet distance; Binkowski et al. 2018,
sec. 5, for KID with k(x, y) = (x . y / d + 1)^3 and the unbiased MMD^2 of Gretton et al. 2012, eq. 3.
"""
import argparse
import json
import math
import os
import sys

import numpy as np
import scipy.linalg
import torch

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(HERE, "..", "..", "tests", "oracle"))
import classify_torch  # noqa: E402
import philox  # noqa: E402
import safetensors_np  # noqa: E402
import vae_torch  # noqa: E402  (its Fashion-MNIST reader)

FASHION_MNIST = os.environ.get("TRIFECTA_FASHION_MNIST", "/usr/share/datasets/fashion-mnist")
FEATURE_NET = os.path.join(HERE, "..", "..", "data", "feature_net", "fashion_cnn_v1.safetensors")


# ---- statistics and distances ------------------------------------------------------------------------

def feature_statistics(features):
    """Mean and unbiased covariance (np.cov, divided by N - 1) in float64, as pytorch-fid computes them."""
    x = np.asarray(features, dtype=np.float64)
    assert x.ndim == 2 and x.shape[0] >= 2, f"features must be [N >= 2, F], got {x.shape}"
    return x.mean(axis=0), np.cov(x, rowvar=False).reshape(x.shape[1], x.shape[1])


def frechet_distance(mu1, sigma1, mu2, sigma2, method="sqrtm"):
    """||mu1 - mu2||^2 + tr(S1 + S2 - 2 (S1^1/2 S2 S1^1/2)^1/2).

    method "sqrtm": tr sqrtm(S1 @ S2) by scipy's Schur-based square root, as pytorch-fid does (the product is
    not symmetric, but its eigenvalues are those of S1^1/2 S2 S1^1/2; the real part is kept).
    method "eigh": torch.linalg.eigh in float64, in S1's eigenbasis, as trifecta computes it
    (models/common/image_metrics/frechet_distance.cpp)."""
    mu1, mu2 = np.asarray(mu1, np.float64), np.asarray(mu2, np.float64)
    s1, s2 = np.asarray(sigma1, np.float64), np.asarray(sigma2, np.float64)
    if method == "sqrtm":
        covmean = scipy.linalg.sqrtm(s1 @ s2, disp=False)[0]
        trace_sqrt = float(np.trace(covmean.real))
    elif method == "eigh":
        l, u = torch.linalg.eigh(torch.from_numpy(s1))
        d = torch.sqrt(torch.clamp(l, min=0))
        c = d[:, None] * (u.T @ torch.from_numpy(s2) @ u) * d[None, :]
        mu = torch.linalg.eigvalsh(0.5 * (c + c.T))
        trace_sqrt = float(torch.sqrt(torch.clamp(mu, min=0)).sum())
    else:
        raise ValueError(f"unknown method {method}")
    diff = mu1 - mu2
    return float(diff @ diff + np.trace(s1) + np.trace(s2) - 2.0 * trace_sqrt)


def fid_from_features(x, y, method="sqrtm"):
    return frechet_distance(*feature_statistics(x), *feature_statistics(y), method=method)


def polynomial_mmd2_unbiased(x, y):
    """Unbiased MMD^2 with k(a, b) = (a . b / d + 1)^3, as the KID code of Binkowski et al."""
    x, y = np.asarray(x, np.float64), np.asarray(y, np.float64)
    d = x.shape[1]
    kxx, kyy, kxy = ((a @ b.T / d + 1.0) ** 3 for a, b in ((x, x), (y, y), (x, y)))
    m, n = x.shape[0], y.shape[0]
    return float((kxx.sum() - np.trace(kxx)) / (m * (m - 1)) + (kyy.sum() - np.trace(kyy)) / (n * (n - 1))
                 - 2.0 * kxy.sum() / (m * n))


def kid_subsets(n_x, n_y, subsets, subset_size, seed):
    """Subset s: the first subset_size entries of trifecta's shuffled_order (data/epoch_order.h) with epoch 2s
    for the first set and 2s + 1 for the second."""
    return [(philox.shuffled_order(n_x, seed, 2 * s)[:subset_size], philox.shuffled_order(n_y, seed, 2 * s + 1)[:subset_size])
            for s in range(subsets)]


def kernel_inception_distance(x, y, subsets=100, subset_size=1000, seed=0):
    """(mean, population std, per-subset values) of MMD^2_u over random subsets, drawn as trifecta draws them."""
    x, y = np.asarray(x, np.float64), np.asarray(y, np.float64)
    assert 2 <= subset_size <= min(len(x), len(y)), "subset size must be 2 to the smaller set's size"
    values = np.array([polynomial_mmd2_unbiased(x[i], y[j]) for i, j in kid_subsets(len(x), len(y), subsets, subset_size, seed)])
    return float(values.mean()), float(values.std()), values


def label_entropy(probabilities):
    """H(y|x) = mean of each row's entropy, H(y) = entropy of the mean row, IS = exp(H(y) - H(y|x)); nats."""
    p = np.asarray(probabilities, np.float64)
    plogp = np.where(p > 0, p * np.log(np.where(p > 0, p, 1.0)), 0.0)
    conditional = float(-plogp.sum(axis=1).mean())
    average = p.mean(axis=0)
    marginal = float(-np.sum(np.where(average > 0, average * np.log(np.where(average > 0, average, 1.0)), 0.0)))
    return {"conditional": conditional, "marginal": marginal, "inception_score": math.exp(marginal - conditional)}


def image_quality(reference_features, sample_features, sample_probabilities, subsets=100, subset_size=1000, seed=0):
    """The same report as image_metrics::to_json(image_quality(...))."""
    kid_mean, kid_std, _ = kernel_inception_distance(reference_features, sample_features, subsets, subset_size, seed)
    entropy = label_entropy(sample_probabilities)
    return {"fid": fid_from_features(reference_features, sample_features), "kid_mean": kid_mean, "kid_std": kid_std,
            "kid_subsets": subsets, "kid_subset_size": subset_size, "entropy_conditional": entropy["conditional"],
            "entropy_marginal": entropy["marginal"], "inception_score": entropy["inception_score"],
            "reference_images": len(reference_features), "sample_images": len(sample_features),
            "features": int(np.asarray(reference_features).shape[1])}


# ---- image sets and the feature network -------------------------------------------------------------

def load_image_set(source, tensor=None, data_dir=FASHION_MNIST, limit=-1):
    """float32 [N, 1, 28, 28] in [0, 1] from "train"/"test", a .npy or a .safetensors file (data/image_set.h)."""
    if source in ("train", "test"):
        images = vae_torch.load_split(data_dir, source, -1).numpy()
    elif source.endswith(".npy"):
        images = np.load(source, allow_pickle=False)
        images = images.astype(np.float64) / 255.0 if images.dtype == np.uint8 else images
    elif source.endswith(".safetensors"):
        tensors, _ = safetensors_np.load(source)
        images = tensors[tensor] if tensor else next(iter(tensors.values()))
        assert tensor or len(tensors) == 1, f"{source} holds several tensors; name one"
    else:
        raise ValueError(f"{source}: neither train, test, .npy nor .safetensors")
    assert images.ndim == 4 and images.shape[1:] == (1, 28, 28), f"{source}: shape {images.shape}"
    assert np.all((images >= 0) & (images <= 1)), f"{source}: values outside [0, 1]"
    return np.ascontiguousarray(images[:limit] if limit >= 0 else images, dtype=np.float32)


def feature_net_forward(model):
    """The FID-F network's twin (classify_torch.load_feature_net) as features_and_probabilities wants it: the
    body's output (the 128 penultimate ReLU units) and the softmax of the head's logits, as
    models/classify/train.cpp's features_and_probabilities computes them."""
    def forward(images):
        features = model.body((images - classify_torch.PIXEL_MEAN) / classify_torch.PIXEL_STD)
        return features, torch.softmax(model.head(features), dim=1)
    return forward


@torch.no_grad()
def features_and_probabilities(forward, images, batch_size=500):
    """forward(batch [B, 1, 28, 28]) -> (features [B, F], probabilities [B, C]); returns both, float64 numpy."""
    features, probabilities = [], []
    for start in range(0, len(images), batch_size):
        f, p = forward(torch.from_numpy(np.asarray(images[start:start + batch_size])))
        features.append(f.double().numpy())
        probabilities.append(p.double().numpy())
    return np.concatenate(features), np.concatenate(probabilities)


def image_quality_of_images(args):
    """`classify fid`: both sets through the FID-F network's twin, then image_quality."""
    model, digest = classify_torch.load_feature_net(args.feature_net, args.sha256)
    forward = feature_net_forward(model)
    reference, _ = features_and_probabilities(forward, load_image_set(args.reference, limit=args.reference_limit))
    features, probabilities = features_and_probabilities(forward, load_image_set(args.samples, limit=args.samples_limit))
    report = image_quality(reference, features, probabilities, args.kid_subsets, args.kid_subset_size, args.kid_seed)
    report.update(feature_net=os.path.splitext(os.path.basename(args.feature_net))[0], feature_net_sha256=digest,
                  reference=args.reference, samples=args.samples)
    return report


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reference", help="reference images: train, test, .npy or .safetensors [N, 1, 28, 28]")
    parser.add_argument("--samples", help="sample images, as --reference")
    parser.add_argument("--reference-limit", type=int, default=-1, help="only the first N reference images")
    parser.add_argument("--samples-limit", type=int, default=-1, help="only the first N sample images")
    parser.add_argument("--feature-net", default=FEATURE_NET, help="the FID-F network (a classify checkpoint)")
    parser.add_argument("--sha256", help="the SHA-256 the feature network's file must have")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--reference-features", help=".npy [N, F]")
    parser.add_argument("--sample-features", help=".npy [M, F]")
    parser.add_argument("--sample-probabilities", help=".npy [M, C]")
    parser.add_argument("--kid-subsets", type=int, default=100)
    parser.add_argument("--kid-subset-size", type=int, default=1000)
    parser.add_argument("--kid-seed", type=int, default=0)
    parser.add_argument("--json", help="write the report here as well")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    if args.reference and args.samples:
        report = image_quality_of_images(args)
    elif args.reference_features and args.sample_features and args.sample_probabilities:
        report = image_quality(np.load(args.reference_features), np.load(args.sample_features),
                               np.load(args.sample_probabilities), args.kid_subsets, args.kid_subset_size,
                               args.kid_seed)
    else:
        sys.exit("fid_torch.py: give --reference and --samples (images), or --reference-features, "
                 "--sample-features and --sample-probabilities")
    text = json.dumps(report)
    print(text)
    if args.json:
        with open(args.json, "w") as f:
            f.write(text + "\n")


if __name__ == "__main__":
    main()
