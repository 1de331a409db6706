"""Loads the state dicts trifecta saved (tests/unit/nn_export_test.cpp) into the PyTorch twins of its
networks with load_state_dict(strict=True), checks that PyTorch orders the state dict's keys as trifecta
does, runs the saved inputs in evaluation mode and compares the outputs. Exits non-zero on any mismatch.

    /usr/bin/python3 tests/oracle/check_nn_export.py --in build/nn_export.safetensors
"""
import argparse
import json
import sys

import numpy as np
import torch
import torch.nn as nn


def load_safetensors(path):
    """Reads a safetensors file into numpy arrays (the format: 8-byte header length, JSON header, data)."""
    dtypes = {"F32": np.float32, "F64": np.float64, "I64": np.int64, "I32": np.int32, "BOOL": np.bool_}
    with open(path, "rb") as f:
        data = f.read()
    header_len = int.from_bytes(data[:8], "little")
    header = json.loads(data[8:8 + header_len])
    metadata = header.pop("__metadata__", {})
    base = 8 + header_len
    arrays = {}
    for name, info in header.items():
        begin, end = info["data_offsets"]
        arrays[name] = np.frombuffer(data[base + begin:base + end], dtype=dtypes[info["dtype"]]).reshape(info["shape"])
    return arrays, metadata


def image_network():
    """The twin of image_network() in nn_export_test.cpp."""
    sn = nn.utils.spectral_norm
    return nn.Sequential(
        nn.Conv2d(1, 4, 3, stride=2, padding=1), nn.BatchNorm2d(4), nn.LeakyReLU(0.2),
        sn(nn.Conv2d(4, 6, 3, stride=2, padding=1)), nn.ELU(), nn.Flatten(), nn.Linear(24, 8), nn.LayerNorm(8),
        nn.GELU(approximate="tanh"), nn.Unflatten(1, (2, 2, 2)),
        sn(nn.ConvTranspose2d(2, 3, 4, stride=2, padding=1)), nn.BatchNorm2d(3, momentum=None), nn.SiLU(),
        nn.Flatten(), nn.Dropout(0.3), nn.Linear(48, 5, bias=False), nn.Softplus())


def token_network():
    """The twin of token_network() in nn_export_test.cpp."""
    return nn.Sequential(nn.Embedding(10, 4, padding_idx=0), nn.Flatten(), nn.BatchNorm1d(12), nn.Tanh(),
                         nn.Linear(12, 3), nn.Sigmoid())


def check(prefix, net, arrays, metadata):
    state = {name[len(prefix) + 7:]: torch.from_numpy(a.copy()) for name, a in arrays.items()
             if name.startswith(prefix + "/state/")}
    net.load_state_dict(state, strict=True)
    ok = True
    trifecta_keys = json.loads(metadata[prefix + "/state_keys"])
    if list(net.state_dict().keys()) != trifecta_keys:
        print(f"{prefix}: state dict key order differs:\n  torch    {list(net.state_dict().keys())}\n"
              f"  trifecta {trifecta_keys}")
        ok = False
    net.eval()
    with torch.no_grad():
        out = net(torch.from_numpy(arrays[prefix + "/in"].copy())).numpy()
    expected = arrays[prefix + "/out"]
    if out.shape != expected.shape or not np.allclose(out, expected, rtol=1e-4, atol=1e-5):
        print(f"{prefix}: outputs differ (max abs diff {np.abs(out - expected).max()})\n  torch    {out}\n"
              f"  trifecta {expected}")
        ok = False
    else:
        print(f"{prefix}: {len(state)} tensors loaded strictly; outputs agree (max abs diff "
              f"{np.abs(out - expected).max():.2e})")
    return ok


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--in", dest="path", required=True)
    args = parser.parse_args()
    arrays, metadata = load_safetensors(args.path)
    ok = check("image", image_network(), arrays, metadata)
    ok = check("token", token_network(), arrays, metadata) and ok
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
