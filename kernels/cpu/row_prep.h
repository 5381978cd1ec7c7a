// Decodes one quantized weight row into small integers plus per-block float factors, the form
// the scalar and AVX2 integer matmuls consume (AVX-512 packs 16 rows at a time instead, see
// avx512/q8_pack_avx512.h). Header-only, internal linkage: each ISA translation unit gets its
// own copy compiled with its own flags.
//
// For block b (32 elements) of the row, with q = decoded integers (natural element order):
//   kMin     (Q4_1, Q4_K): w = s0[b] * q + s1[b]
//   kOffset  (Q8_0, Q4_0): w = s0[b] * (q - offset)            (offset from act_offset)
//   kHalves  (Q6_K):       w = s0[b] * (q - 32) for elements 0..15, s1[b] * (q - 32) for 16..31
#pragma once

#include <cstdint>
#include <cstring>

#include "common/dtype.h"

namespace tandem::kernels::cpu {

enum class PackMode { kMin, kOffset, kHalves };

static inline PackMode pack_mode(DType t) {
  switch (t) {
    case DType::kQ4_1:
    case DType::kQ4_K: return PackMode::kMin;
    case DType::kQ6_K: return PackMode::kHalves;
    default: return PackMode::kOffset;
  }
}

static inline float load_f16(const uint8_t* p) {
  uint16_t h;
  std::memcpy(&h, p, 2);
  return fp16_to_fp32(h);
}

static inline void q4k_scale_min(int j, const uint8_t* s, int* sc, int* m) {
  if (j < 4) {
    *sc = s[j] & 63;
    *m = s[j + 4] & 63;
  } else {
    *sc = (s[j + 4] & 0x0F) | ((s[j - 4] >> 6) << 4);
    *m = (s[j + 4] >> 4) | ((s[j] >> 6) << 4);
  }
}

// Q4_K and Q6_K rows (the 32-element legacy formats have vectorized decoders per ISA).
static inline void prep_row_k(DType type, const uint8_t* row, int64_t k, int8_t* q, float* s0, float* s1) {
  if (type == DType::kQ4_K) {
    for (int64_t sb = 0; sb < k / 256; ++sb) {
      const uint8_t* b = row + sb * 144;
      const float d = load_f16(b), dmin = load_f16(b + 2);
      for (int j = 0; j < 8; ++j) {
        int sc, m;
        q4k_scale_min(j, b + 4, &sc, &m);
        s0[sb * 8 + j] = d * static_cast<float>(sc);
        s1[sb * 8 + j] = -dmin * static_cast<float>(m);
        const uint8_t* qs = b + 16 + 32 * (j / 2);
        const int shift = (j & 1) ? 4 : 0;
        for (int l = 0; l < 32; ++l) q[sb * 256 + 32 * j + l] = static_cast<int8_t>((qs[l] >> shift) & 0x0F);
      }
    }
    return;
  }
  // Q6_K
  for (int64_t sb = 0; sb < k / 256; ++sb) {
    const uint8_t* b = row + sb * 210;
    const float d = load_f16(b + 208);
    const auto* scales = reinterpret_cast<const int8_t*>(b + 192);
    for (int half = 0; half < 2; ++half) {
      const uint8_t* ql = b + 64 * half;
      const uint8_t* qh = b + 128 + 32 * half;
      for (int t = 0; t < 4; ++t) {
        const int64_t blk = sb * 8 + half * 4 + t;
        s0[blk] = d * static_cast<float>(scales[8 * half + 2 * t]);
        s1[blk] = d * static_cast<float>(scales[8 * half + 2 * t + 1]);
        for (int l = 0; l < 32; ++l) {
          const uint8_t low = ql[l + 32 * (t & 1)];
          const int lo4 = t < 2 ? (low & 0x0F) : (low >> 4);
          q[blk * 32 + l] = static_cast<int8_t>(lo4 | (((qh[l] >> (2 * t)) & 3) << 4));
        }
      }
    }
  }
}

// Scalar decoder for every quantized type.
static inline void prep_row_scalar(DType type, const uint8_t* row, int64_t k, int8_t* q, float* s0, float* s1) {
  const int64_t nb = k / 32;
  switch (type) {
    case DType::kQ8_0:
      for (int64_t b = 0; b < nb; ++b) {
        s0[b] = load_f16(row + 34 * b);
        std::memcpy(q + 32 * b, row + 34 * b + 2, 32);
      }
      return;
    case DType::kQ4_0:
    case DType::kQ4_1: {
      const int bb = type == DType::kQ4_0 ? 18 : 20;
      for (int64_t b = 0; b < nb; ++b) {
        const uint8_t* p = row + bb * b;
        s0[b] = load_f16(p);
        s1[b] = type == DType::kQ4_1 ? load_f16(p + 2) : 0.0f;
        const uint8_t* qs = p + bb - 16;
        for (int l = 0; l < 16; ++l) {
          q[32 * b + l] = static_cast<int8_t>(qs[l] & 0x0F);
          q[32 * b + 16 + l] = static_cast<int8_t>(qs[l] >> 4);
        }
      }
      return;
    }
    default: prep_row_k(type, row, k, q, s0, s1); return;
  }
}

}  // namespace tandem::kernels::cpu
