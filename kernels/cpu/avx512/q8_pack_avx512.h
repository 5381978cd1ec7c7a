// Packing of 16 quantized weight rows into the layout the AVX-512 VNNI microkernel consumes.
// For each 32-element block b of the 16 rows, one PackedBlock holds
//   w[p] (p = 0..7): a 64-byte vector whose dword lane j is row j's (unsigned) quantized values
//                    for elements 4p..4p+3, so vpdpbusd against a broadcast dword of the
//                    activation block adds 4 products into each of 16 output rows at once;
//   s0, s1:          per-row float factors, meaning as in row_prep.h's PackMode.
// Rows are gathered with 128/256-bit loads and transposed in registers (vpermt2d), so packing
// costs a few instructions per 32 weights: cheap enough to redo for every call, which is what
// lets matmul work straight from the mmapped GGUF without a repacked copy of the model.
// Include only from AVX-512 translation units.
#pragma once

#include <immintrin.h>

#include <cstdint>

#include "common/dtype.h"

namespace tandem::kernels::cpu::avx512 {

inline constexpr int kTileRows = 16;

struct alignas(64) PackedBlock {
  uint8_t w[8][64];
  float s0[16];
  float s1[16];
};

// Packs blocks [b0, b1) (32-element units; multiples of 8 for K-quants) of 16 rows. rows[j] is
// row j's start (rows past the matrix repeat the last row; their outputs are never stored).
void pack_rows(DType type, const uint8_t* const* rows, int64_t b0, int64_t b1, PackedBlock* out);

}  // namespace tandem::kernels::cpu::avx512
