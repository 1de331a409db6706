"""A trifecta checkpoint read by PyTorch's ecosystem: safetensors.torch.load_file opens it, its metadata is
readable, and its model.* tensors load strictly into the PyTorch twin of the VAE, whose output on an image
batch matches the one trifecta saved beside it. Exits non-zero on any failure.

    python3 tests/oracle/check_checkpoint_torch.py --dir build/vae_checkpoint_check
"""
import argparse
import json
import os
import sys

import torch

try:
    from safetensors import safe_open
    from safetensors.torch import load_file
except ModuleNotFoundError:
    sys.exit("check_checkpoint_torch.py: the safetensors package is missing; `bash scripts/setup.sh BUILD_DIR` "
             "installs it into BUILD_DIR/python, which this test puts on PYTHONPATH")

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "..", "bench", "reference"))
import vae_torch  # noqa: E402


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dir", required=True)
    args = parser.parse_args()
    path = os.path.join(args.dir, "checkpoint.safetensors")
    tensors = load_file(path)
    with safe_open(path, framework="pt") as f:
        metadata = f.metadata()
    config = json.loads(metadata["config"])
    assert metadata["model_kind"] == "vae-conv-bernoulli", metadata["model_kind"]
    assert int(metadata["step"]) > 0
    assert any(k.startswith("optimizer.") for k in tensors), "no optimizer state in the checkpoint"
    model = vae_torch.build(config["architecture"], config["likelihood"], int(config["latent"]), int(config["hidden"]))
    weights = {k[len("model."):]: v for k, v in tensors.items() if k.startswith("model.")}
    model.load_state_dict(weights, strict=True)
    probe = load_file(os.path.join(args.dir, "probe.safetensors"))
    with torch.no_grad():
        stats = model.enc(probe["images"])
    error = (stats - probe["encoder_output"]).abs().max().item()
    if not error < 1e-4:
        sys.exit(f"encoder outputs differ by {error}")
    print(f"ok: {len(tensors)} tensors, step {metadata['step']}, encoder outputs agree to {error:.2e}")


if __name__ == "__main__":
    main()
