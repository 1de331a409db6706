"""The twins' side of `<binary> sample --format safetensors|npy` (models/common/sample_files.h): the
--samples/--samples-out flags and the file they write, [N, 1, 28, 28] float32 in [0, 1] (a .safetensors file
with tensor "images", or a .npy array), the image sets `classify fid` reads (data/image_set.h). The draws
themselves are each model's: z as trifecta's Philox normals of the binary's sample seed, so a twin decodes the
same latent points trifecta's `sample` does."""
import os

import numpy as np
import torch

import safetensors_np

BATCH = 500  # decoded a batch at a time, as trifecta's draw_samples does


def add_sample_flags(parser):
    parser.add_argument("--samples", help="write this many samples to --samples-out after training", type=int, default=0)
    parser.add_argument("--samples-out", help="a .safetensors (tensor \"images\") or .npy file: [N, 1, 28, 28] in [0, 1]")


def check_sample_flags(parser, args):
    """Fails before training, naming the flag, so a long run cannot end without its samples."""
    if args.samples < 0 or args.samples > 1000000:
        parser.error(f"--samples expects 0 to 1000000 images, got {args.samples}")
    if args.samples > 0 and not (args.samples_out or "").endswith((".safetensors", ".npy")):
        parser.error(f"--samples-out must name a .safetensors or .npy file, got '{args.samples_out}'")


def decode_in_batches(decode, z):
    """decode(z batch) -> images, without gradients, gathered on the CPU as float32 numpy."""
    with torch.no_grad():
        return torch.cat([decode(z[s:s + BATCH]).cpu() for s in range(0, z.shape[0], BATCH)]).numpy().astype(np.float32)


def write_samples(args, images, model_kind):
    """Writes the images to --samples-out, in the format its name ends with, through a temporary file, so
    a killed run never leaves a half-written set for a resumed sweep to score."""
    if images.shape[1:] != (1, 28, 28):
        raise ValueError(f"sample_files.write_samples: expects [N, 1, 28, 28] images, got {list(images.shape)}")
    temporary = args.samples_out + ".partial"
    if args.samples_out.endswith(".npy"):
        with open(temporary, "wb") as f:
            np.save(f, np.ascontiguousarray(images))
    else:
        safetensors_np.save(temporary, {"images": np.ascontiguousarray(images)}, {"model_kind": model_kind})
    os.replace(temporary, args.samples_out)
