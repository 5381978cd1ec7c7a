#!/usr/bin/env python3
"""Writes the loader's reference files with the upstream writers (gguf-py, safetensors), so the
C++ readers are checked against an independent implementation, not only against our own test
writer. Also writes the fuzz seed corpus. Run from the repository root:

    python tests/data/loader/make_reference_files.py

The values written here are asserted in tests/unit/loader/reference_files_test.cc; change both.
"""
import os
import struct

import numpy as np
import gguf
import torch
from safetensors.torch import save_file

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))
DATA = os.path.join(ROOT, "tests/data/loader")
CORPUS = os.path.join(ROOT, "tests/fuzz/corpus")


def write_gguf(path):
    w = gguf.GGUFWriter(path, "llama")  # adds general.architecture = "llama"
    w.add_custom_alignment(64)
    w.add_uint8("t.u8", 200)
    w.add_int8("t.i8", -100)
    w.add_uint16("t.u16", 60000)
    w.add_int16("t.i16", -30000)
    w.add_uint32("t.u32", 4000000000)
    w.add_int32("t.i32", -2000000000)
    w.add_float32("t.f32", 0.15625)
    w.add_uint64("t.u64", 2**63 + 5)
    w.add_int64("t.i64", -(2**62))
    w.add_float64("t.f64", 3.141592653589793)
    w.add_bool("t.bool", True)
    w.add_string("t.str", "héllo ✓")
    w.add_array("t.arr_i32", [1, -2, 3])
    w.add_array("t.arr_f32", [0.5, -1.25])
    w.add_array("t.arr_str", ["a", "", "ccc"])
    w.add_array("t.arr_bool", [True, False, True])
    w.add_array("t.nested", [[1, 2], [3]])
    w.add_key_value("t.arr_u64", [7, 2**64 - 1], gguf.GGUFValueType.ARRAY, sub_type=gguf.GGUFValueType.UINT64)
    w.add_tensor("f32", np.arange(6, dtype=np.float32).reshape(2, 3))
    w.add_tensor("f16", np.array([1.0, -2.0, 0.5, 65504.0], dtype=np.float16))
    x = (np.arange(64, dtype=np.float32) - 20.0) / 8.0
    q = gguf.quants.quantize(x.reshape(2, 32), gguf.GGMLQuantizationType.Q8_0)
    w.add_tensor("q8_0", q, raw_dtype=gguf.GGMLQuantizationType.Q8_0)
    w.write_header_to_file()
    w.write_kv_data_to_file()
    w.write_tensors_to_file()
    w.close()


def write_safetensors(path):
    tensors = {
        "f32": torch.arange(6, dtype=torch.float32).reshape(2, 3),
        "f16": torch.tensor([1.0, -2.0, 0.5, 65504.0], dtype=torch.float16),
        "bf16": torch.tensor([[1.0, -3.0], [0.15625, 256.0]], dtype=torch.bfloat16),
    }
    save_file(tensors, path, metadata={"format": "pt"})


def main():
    ref_gguf = os.path.join(DATA, "reference_v3.gguf")
    ref_st = os.path.join(DATA, "reference.safetensors")
    write_gguf(ref_gguf)
    write_safetensors(ref_st)

    g = open(ref_gguf, "rb").read()
    seeds = {
        "gguf/reference_v3.gguf": g,
        # v2 and v3 share the layout (v3 only added big-endian files).
        "gguf/reference_v2.gguf": g[:4] + struct.pack("<I", 2) + g[8:],
        "gguf/empty_v3.gguf": b"GGUF" + struct.pack("<IQQ", 3, 0, 0),
        "safetensors/reference.safetensors": open(ref_st, "rb").read(),
        "safetensors/empty_header.safetensors": struct.pack("<Q", 8) + b"{}      ",
    }
    for rel, blob in seeds.items():
        with open(os.path.join(CORPUS, rel), "wb") as f:
            f.write(blob)


if __name__ == "__main__":
    main()
