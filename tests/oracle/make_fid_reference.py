#!/usr/bin/env python3
"""Reference values for tests/unit/image_metrics_reference_test.cpp, from scipy and bench/reference/fid_torch.py.

    /usr/bin/python3 tests/oracle/make_fid_reference.py --out build/fid_reference.safetensors

- spd.<k>.{mu1,sigma1,mu2,sigma2,fd_sqrtm,fd_eigh}: random symmetric positive definite covariances of several
  sizes and condition numbers, and the Frechet distance with scipy.linalg.sqrtm(S1 @ S2) (pytorch-fid's way)
  and with torch.linalg.eigh.
- features.{x,y,probabilities}: float64 feature sets of unequal sizes and class probabilities for y, and
  the report fid_torch.image_quality gives on them (expected.* and kid_per_subset), with the KID options in
  the metadata.
"""
import argparse
import os
import sys

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(HERE, "..", "..", "bench", "reference"))
import fid_torch  # noqa: E402
import safetensors_np  # noqa: E402

KID = {"subsets": 7, "subset_size": 90, "seed": 11}


def random_spd(rng, n, condition):
    q, _ = np.linalg.qr(rng.standard_normal((n, n)))
    eigenvalues = np.geomspace(1.0, 1.0 / condition, n) * rng.uniform(0.5, 2.0)
    s = (q * eigenvalues) @ q.T
    return 0.5 * (s + s.T)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", required=True)
    args = parser.parse_args()
    rng = np.random.default_rng(20240607)
    tensors = {}
    for k, (n, condition) in enumerate([(1, 1.0), (5, 10.0), (17, 1e3), (64, 1e4), (128, 1e2)]):
        s1, s2 = random_spd(rng, n, condition), random_spd(rng, n, condition)
        mu1, mu2 = rng.standard_normal(n), rng.standard_normal(n) * 0.5
        tensors.update({f"spd.{k}.mu1": mu1, f"spd.{k}.sigma1": s1, f"spd.{k}.mu2": mu2, f"spd.{k}.sigma2": s2,
                        f"spd.{k}.fd_sqrtm": np.array(fid_torch.frechet_distance(mu1, s1, mu2, s2, "sqrtm")),
                        f"spd.{k}.fd_eigh": np.array(fid_torch.frechet_distance(mu1, s1, mu2, s2, "eigh"))})

    # Post-ReLU-like features (non-negative, correlated, a mean large against the spread) for a reference set
    # and a shifted sample set, and a softmax over 10 classes for the samples.
    dim = 48
    mixing = rng.standard_normal((dim, dim)) / np.sqrt(dim)
    x = np.maximum(rng.standard_normal((300, dim)) @ mixing + 2.0, 0.0)
    y = np.maximum(1.1 * rng.standard_normal((250, dim)) @ mixing + 2.2, 0.0)
    logits = rng.standard_normal((250, 10)) * 3.0
    probabilities = np.exp(logits - logits.max(axis=1, keepdims=True))
    probabilities /= probabilities.sum(axis=1, keepdims=True)
    report = fid_torch.image_quality(x, y, probabilities, KID["subsets"], KID["subset_size"], KID["seed"])
    _, _, per_subset = fid_torch.kernel_inception_distance(x, y, KID["subsets"], KID["subset_size"], KID["seed"])
    tensors.update({"features.x": x, "features.y": y, "features.probabilities": probabilities,
                    "features.kid_per_subset": per_subset,
                    "features.mmd_all": np.array(fid_torch.polynomial_mmd2_unbiased(x, y)),
                    "features.fid_eigh": np.array(fid_torch.fid_from_features(x, y, "eigh"))})
    for key in ("fid", "kid_mean", "kid_std", "entropy_conditional", "entropy_marginal", "inception_score"):
        tensors[f"expected.{key}"] = np.array(report[key])
    safetensors_np.save(args.out, {k: np.asarray(v, dtype=np.float64) for k, v in tensors.items()},
                        {f"kid_{k}": v for k, v in KID.items()})


if __name__ == "__main__":
    main()
