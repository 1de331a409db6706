#!/usr/bin/env python3
"""Writes the fuzz seeds, tests/fuzz/corpus/<target>/: small valid inputs for each loader in tests/fuzz/targets.h.

    python3 tests/fuzz/make_seeds.py [--out tests/fuzz/corpus]

The files are built byte by byte from the formats (safetensors, trifecta's checkpoint and optimizer state as
optim/optimizer.h lists it, IDX, .npy, PNG), so this needs nothing but Python. FuzzLoaders.EveryCommittedSeedLoads checks
that each one still loads: when a format changes, rerun this and commit the result.
"""
import argparse
import gzip
import json
import pathlib
import struct
import zlib

# safetensors dtype name -> struct format of one element
FORMATS = {"F32": "f", "F64": "d", "I32": "i", "I64": "q", "BOOL": "?", "F16": "e"}


def tensor(dtype, shape, values):
    if dtype == "BF16":  # the high half of a float32
        data = b"".join(struct.pack("<f", v)[2:] for v in values)
    else:
        data = struct.pack("<" + FORMATS[dtype] * len(values), *values)
    return dtype, list(shape), data


def safetensors(tensors, metadata=None):
    """tensors: {name: (dtype, shape, bytes)}, written in name order, as trifecta writes them."""
    header, data = {}, b""
    for name in sorted(tensors):
        dtype, shape, raw = tensors[name]
        header[name] = {"dtype": dtype, "shape": shape, "data_offsets": [len(data), len(data) + len(raw)]}
        data += raw
    if metadata:
        header["__metadata__"] = metadata
    text = json.dumps(header, separators=(",", ":"), sort_keys=True).encode()
    text += b" " * (-len(text) % 8)
    return struct.pack("<Q", len(text)) + text + data


def checkpoint(with_state):
    """A checkpoint of nn::Linear(3, 2) and its Adam (model kind 'fuzz-linear'), after one step or none."""
    scalar_i64 = lambda v: tensor("I64", [], [v])
    scalar_f64 = lambda v: tensor("F64", [], [v])
    tensors = {
        "model.weight": tensor("F32", [2, 3], [0.1, -0.2, 0.3, -0.4, 0.5, -0.6]),
        "model.bias": tensor("F32", [2], [0.01, -0.02]),
        "optimizer.optimizer.Adam": scalar_i64(1),
        "optimizer.step": scalar_i64(1 if with_state else 0),
        "optimizer.hyper.beta1": scalar_f64(0.9),
        "optimizer.hyper.beta2": scalar_f64(0.999),
        "optimizer.hyper.eps": scalar_f64(1e-8),
        "optimizer.hyper.amsgrad": scalar_f64(0.0),
        "optimizer.param_groups.0.params": tensor("I64", [2], [0, 1]),
        "optimizer.param_groups.0.lr": scalar_f64(1e-3),
        "optimizer.param_groups.0.weight_decay": scalar_f64(0.0),
        "optimizer.param_groups.0.initial_lr": scalar_f64(1e-3),
    }
    if with_state:
        for name, shape in (("weight", [2, 3]), ("bias", [2])):
            n = shape[0] * (shape[1] if len(shape) > 1 else 1)
            tensors[f"optimizer.state.{name}.step"] = scalar_i64(1)
            tensors[f"optimizer.state.{name}.exp_avg"] = tensor("F32", shape, [0.01 * i for i in range(n)])
            tensors[f"optimizer.state.{name}.exp_avg_sq"] = tensor("F32", shape, [0.001 * i for i in range(n)])
    metadata = {"format": "trifecta-checkpoint-1", "model_kind": "fuzz-linear", "step": "1" if with_state else "0",
                "epoch": "0", "batch": "1" if with_state else "0", "rng_seed": "7", "rng_offset": "12",
                "config": json.dumps({"lr": "0.001", "steps": "10"}, separators=(",", ":"))}
    return safetensors(tensors, metadata)


def idx(rank, dims, data):
    return struct.pack(">BBBB", 0, 0, 0x08, rank) + b"".join(struct.pack(">I", d) for d in dims) + bytes(data)


def npy(descr, shape, data, major=1):
    """A .npy file as numpy.save writes it: magic, version, header length, dict padded to 64 bytes, data."""
    dims = ", ".join(str(d) for d in shape) + ("," if len(shape) == 1 else "")
    header = f"{{'descr': '{descr}', 'fortran_order': False, 'shape': ({dims}), }}"
    prefix = 10 if major == 1 else 12
    header += " " * (63 - (prefix + len(header)) % 64) + "\n"
    length = struct.pack("<H" if major == 1 else "<I", len(header))
    return b"\x93NUMPY" + bytes([major, 0]) + length + header.encode() + data


def png(width, height, color_type, channels, rows_filters):
    """A PNG (W3C PNG 2nd ed.): signature, IHDR, one IDAT of zlib-deflated rows, each led by its filter
    byte, and IEND, every chunk with its CRC-32. The samples are arbitrary bytes: any filter type makes a
    valid file, since decoding a filter only changes which pixels come out."""
    def chunk(kind, data):
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
    stride = width * channels
    raw = b"".join(bytes([rows_filters[y % len(rows_filters)]]) + bytes((7 * y + 13 * x) % 256 for x in range(stride))
                   for y in range(height))
    header = struct.pack(">IIBBBBB", width, height, 8, color_type, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(raw)) + chunk(b"IEND", b"")


def seeds():
    mixed = {
        "f32": tensor("F32", [2, 3], [1.5, -2.0, 0.0, 3.25, 1e-3, -7.0]),
        "f64": tensor("F64", [0, 2], []),
        "i32": tensor("I32", [4], [1, -2, 3, 2147483647]),
        "i64": tensor("I64", [], [-9223372036854775808]),
        "bool": tensor("BOOL", [3], [True, False, True]),
        "bf16": tensor("BF16", [2], [1.0, -0.5]),
        "f16": tensor("F16", [1, 1], [0.25]),
    }
    images = idx(3, [2, 3, 3], range(18))
    labels = idx(1, [5], [0, 9, 3, 3, 7])
    return {
        "safetensors": {
            "mixed.safetensors": safetensors(mixed, {"note": "seed \u00e9", "step": "3"}),
            "empty.safetensors": safetensors({}),
            "metadata_only.safetensors": safetensors({}, {"format": "x"}),
        },
        "checkpoint": {
            "after_one_step.safetensors": checkpoint(with_state=True),
            "before_any_step.safetensors": checkpoint(with_state=False),
        },
        "idx_images": {
            "images-idx3-ubyte": images,
            "images-idx3-ubyte.gz": gzip.compress(images, mtime=0),
        },
        "idx_labels": {
            "labels-idx1-ubyte": labels,
            "labels-idx1-ubyte.gz": gzip.compress(labels, mtime=0),
        },
        "npy": {
            "images_f4.npy": npy("<f4", [1, 1, 28, 28], struct.pack("<784f", *[(p % 256) / 255 for p in range(784)])),
            "vector_f8_v2.npy": npy("<f8", [3], struct.pack("<3d", 0.5, -1.0, 2.0), major=2),
            "bytes_u1.npy": npy("|u1", [2, 2], bytes([0, 1, 128, 255])),
            "scalar_f8.npy": npy("<f8", [], struct.pack("<d", 2.5)),
        },
        "png": {
            "gray_28x28.png": png(28, 28, 0, 1, [0]),
            "rgb_every_filter.png": png(5, 5, 2, 3, [0, 1, 2, 3, 4]),
            "gray_alpha.png": png(3, 2, 4, 2, [4, 1]),
            "rgba.png": png(2, 3, 6, 4, [2, 3]),
        },
        "json": {
            "config.json": b'{"architecture":"conv","lr":"0.001","steps":"5000"}',
            "metrics.json": b'{"step":20,"loss":231.5,"kl":12.25e0,"beta":1,"gamma":-0.5E-3}',
            "numbers.json": b"[0,-0,1,-1,18446744073709551615,-9223372036854775808,1.5,1.5e308,-1e-400]",
            "strings.json": b'["", "a\\"b\\\\c\\/", "\\u00e9\\ud83d\\ude00\\u0000", "\xc3\xa9\xf0\x9f\x98\x80"]',
            "nested.json": b'{"a":{"b":[[[{}]],[]],"c":null},"d":[true,false,null]}',
        },
    }


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default=str(pathlib.Path(__file__).parent / "corpus"))
    out = pathlib.Path(parser.parse_args().out)
    for target, files in seeds().items():
        (out / target).mkdir(parents=True, exist_ok=True)
        for name, data in files.items():
            (out / target / name).write_bytes(data)


if __name__ == "__main__":
    main()
