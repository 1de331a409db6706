"""Philox4x32-10 in numpy, vectorized over counters: the same function as kernels/fill/philox.h, so the
PyTorch twins can draw trifecta's exact random numbers (data order, reparameterization noise)."""
import numpy as np

M0, M1 = np.uint64(0xD2511F53), np.uint64(0xCD9E8D57)
W0, W1 = 0x9E3779B9, 0xBB67AE85
MASK = np.uint64(0xFFFFFFFF)


def philox4x32_10(c0, c1, c2, c3, seed):
    """Counters as uint64 arrays holding 32-bit words; returns four uint64 arrays of 32-bit words."""
    c0, c1, c2, c3 = (np.asarray(c, dtype=np.uint64) & MASK for c in (c0, c1, c2, c3))
    k0, k1 = seed & 0xFFFFFFFF, (seed >> 32) & 0xFFFFFFFF
    for _ in range(10):
        p0 = M0 * c0
        p1 = M1 * c2
        hi0, lo0 = p0 >> np.uint64(32), p0 & MASK
        hi1, lo1 = p1 >> np.uint64(32), p1 & MASK
        c0, c1, c2, c3 = hi1 ^ c1 ^ np.uint64(k0), lo1, hi0 ^ c3 ^ np.uint64(k1), lo0
        k0, k1 = (k0 + W0) & 0xFFFFFFFF, (k1 + W1) & 0xFFFFFFFF
    return c0, c1, c2, c3


def normal(n, seed, offset):
    """Element i of trifecta's randn at generator state (seed, offset): Box-Muller on words 2 and 3."""
    counter = np.uint64(offset) + np.arange(n, dtype=np.uint64)
    _, _, r2, r3 = philox4x32_10(counter & MASK, counter >> np.uint64(32), 0, 0, seed)
    u1 = (r2.astype(np.float64) + 1.0) * 2.3283064365386963e-10
    u2 = r3.astype(np.float64) * 2.3283064365386963e-10
    return np.sqrt(-2.0 * np.log(u1)) * np.cos(6.283185307179586 * u2)


def uniform(n, seed, offset):
    """Element i of trifecta's philox_uniform at generator state (seed, offset), in [0, 1) with 53 random bits
    from words 0 and 1 (kernels/fill/philox.h); dropout keeps element i when it is below 1 - p."""
    counter = np.uint64(offset) + np.arange(n, dtype=np.uint64)
    r0, r1, _, _ = philox4x32_10(counter & MASK, counter >> np.uint64(32), 0, 0, seed)
    bits = ((r0.astype(np.uint64) << np.uint64(21)) ^ (r1.astype(np.uint64) >> np.uint64(11))) & np.uint64((1 << 53) - 1)
    return bits.astype(np.float64) * 1.1102230246251565e-16


def shuffled_order(n, seed, epoch):
    """data/epoch_order.cpp: Fisher-Yates driven by Philox with counter (i, epoch) and key seed."""
    i = np.arange(n - 1, 0, -1, dtype=np.uint64)
    e = np.uint64(epoch)
    r0, r1, _, _ = philox4x32_10(i & MASK, i >> np.uint64(32), e & MASK, e >> np.uint64(32), seed)
    # j = floor(bits * (i + 1) / 2^64) for bits = r0 * 2^32 + r1, without 128-bit integers:
    # floor(bits * m / 2^64) = floor((r0 * m + floor(r1 * m / 2^32)) / 2^32), every term below 2^49.
    m = i + np.uint64(1)
    high = (r0 * m) + ((r1 * m) >> np.uint64(32))
    j = (high >> np.uint64(32)).astype(np.int64)
    order = np.arange(n, dtype=np.int64)
    for position, partner in zip(range(n - 1, 0, -1), j.tolist()):
        order[position], order[partner] = order[partner], order[position]
    return order
