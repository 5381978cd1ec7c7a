#!/usr/bin/env python3
"""Writes dequant_golden.bin: random GGML blocks and their float32 decoding by gguf-py.

An independent oracle for tandem::kernels::ref::dequantize_row (bit-exact to the GGML formats).
Run from this directory with a Python that has numpy and gguf (pip install gguf numpy):
    python make_dequant_golden.py
File format, repeated per tensor: u32 ggml_type, u32 n_elements, u32 n_bytes, the raw bytes,
then n_elements float32 values (little endian).
"""
import struct

import numpy as np
from gguf import GGMLQuantizationType as T
from gguf import quants

rng = np.random.default_rng(20261122)


def f16_bytes(n, lo, hi):
    return rng.uniform(lo, hi, n).astype(np.float16).view(np.uint8).reshape(n, 2)


def make(qtype, blocks):
    if qtype == T.F16:
        return rng.uniform(-4, 4, blocks * 32).astype(np.float16).view(np.uint8)
    if qtype == T.BF16:
        f = rng.uniform(-4, 4, blocks * 32).astype(np.float32).view(np.uint32)
        return (f >> 16).astype(np.uint16).view(np.uint8)
    block_elems, block_bytes = quants.GGML_QUANT_SIZES[qtype]
    raw = rng.integers(0, 256, (blocks, block_bytes), dtype=np.uint8)
    # Scale fields get finite f16 values; everything else stays random bits.
    if qtype in (T.Q8_0, T.Q4_0):
        raw[:, 0:2] = f16_bytes(blocks, -0.5, 0.5)
    elif qtype == T.Q4_1:
        raw[:, 0:2] = f16_bytes(blocks, -0.5, 0.5)
        raw[:, 2:4] = f16_bytes(blocks, -2, 2)
    elif qtype == T.Q4_K:
        raw[:, 0:2] = f16_bytes(blocks, 0, 0.1)
        raw[:, 2:4] = f16_bytes(blocks, 0, 0.1)
    elif qtype == T.Q6_K:
        raw[:, 208:210] = f16_bytes(blocks, -0.05, 0.05)
    return raw.reshape(-1)


def main():
    out = bytearray()
    for qtype, blocks in [(T.F16, 4), (T.BF16, 4), (T.Q8_0, 8), (T.Q4_0, 8), (T.Q4_1, 8), (T.Q4_K, 3), (T.Q6_K, 3)]:
        raw = make(qtype, blocks)
        if qtype == T.F16:
            values = raw.view(np.float16).astype(np.float32)
        elif qtype == T.BF16:
            values = (raw.view(np.uint16).astype(np.uint32) << 16).view(np.float32)
        else:
            values = quants.dequantize(raw, qtype).astype(np.float32).reshape(-1)
        out += struct.pack("<III", int(qtype), values.size, raw.size)
        out += raw.tobytes()
        out += values.astype("<f4").tobytes()
    with open("dequant_golden.bin", "wb") as f:
        f.write(out)
    print(f"wrote {len(out)} bytes")


if __name__ == "__main__":
    main()
