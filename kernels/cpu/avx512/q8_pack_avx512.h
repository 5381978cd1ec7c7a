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
#include <cstring>

#include "common/dtype.h"

namespace tandem::kernels::cpu::avx512 {

inline constexpr int kTileRows = 16;

struct alignas(64) PackedBlock {
  uint8_t w[8][64];
  float s0[16];
  float s1[16];
};

// One packed block held in registers (the fused path for few activation rows skips the
// round trip through PackedBlock memory).
struct RegBlock {
  __m512i w[8];
  __m512 s0, s1;
};

namespace detail {
// Permutation tables (dword indices for vpermt2d: 0-15 first source, 16-31 second).
// 16x4: z[a] holds rows 4a..4a+3 (4 dwords each). Step 1 -> [t][row] for t pairs {0,1} / {2,3}
// over 8 rows; step 2 joins rows 0-7 and 8-15 for one t.
alignas(64) constexpr int32_t k4StepLo[16] = {0, 4, 8, 12, 16, 20, 24, 28, 1, 5, 9, 13, 17, 21, 25, 29};
alignas(64) constexpr int32_t k4StepHi[16] = {2, 6, 10, 14, 18, 22, 26, 30, 3, 7, 11, 15, 19, 23, 27, 31};
alignas(64) constexpr int32_t kJoinLo[16] = {0, 1, 2, 3, 4, 5, 6, 7, 16, 17, 18, 19, 20, 21, 22, 23};
alignas(64) constexpr int32_t kJoinHi[16] = {8, 9, 10, 11, 12, 13, 14, 15, 24, 25, 26, 27, 28, 29, 30, 31};
// 16x8: z[a] holds rows 2a, 2a+1 (8 dwords each). Step 1 -> [t][row] for t 0-3 / 4-7 over 4
// rows; step 2 -> [t][row] for t pairs over 8 rows; then kJoin* as above.
alignas(64) constexpr int32_t k8Step1Lo[16] = {0, 8, 16, 24, 1, 9, 17, 25, 2, 10, 18, 26, 3, 11, 19, 27};
alignas(64) constexpr int32_t k8Step1Hi[16] = {4, 12, 20, 28, 5, 13, 21, 29, 6, 14, 22, 30, 7, 15, 23, 31};
alignas(64) constexpr int32_t k8Step2Lo[16] = {0, 1, 2, 3, 16, 17, 18, 19, 4, 5, 6, 7, 20, 21, 22, 23};
alignas(64) constexpr int32_t k8Step2Hi[16] = {8, 9, 10, 11, 24, 25, 26, 27, 12, 13, 14, 15, 28, 29, 30, 31};

inline __m512i idx(const int32_t* t) { return _mm512_load_si512(t); }

inline __m128i load128(const uint8_t* p) { return _mm_loadu_si128(reinterpret_cast<const __m128i*>(p)); }
inline __m256i load256(const uint8_t* p) { return _mm256_loadu_si256(reinterpret_cast<const __m256i*>(p)); }

// v[t] lane j = dword t of the 16 bytes at p[j] + off.
inline void transpose_16x4(const uint8_t* const* p, int64_t off, __m512i v[4]) {
  __m512i z[4];
  #pragma GCC unroll 16
  for (int a = 0; a < 4; ++a) {
    __m512i t = _mm512_castsi128_si512(load128(p[4 * a] + off));
    t = _mm512_inserti32x4(t, load128(p[4 * a + 1] + off), 1);
    t = _mm512_inserti32x4(t, load128(p[4 * a + 2] + off), 2);
    z[a] = _mm512_inserti32x4(t, load128(p[4 * a + 3] + off), 3);
  }
  const __m512i a01 = _mm512_permutex2var_epi32(z[0], idx(k4StepLo), z[1]);
  const __m512i a23 = _mm512_permutex2var_epi32(z[0], idx(k4StepHi), z[1]);
  const __m512i c01 = _mm512_permutex2var_epi32(z[2], idx(k4StepLo), z[3]);
  const __m512i c23 = _mm512_permutex2var_epi32(z[2], idx(k4StepHi), z[3]);
  v[0] = _mm512_permutex2var_epi32(a01, idx(kJoinLo), c01);
  v[1] = _mm512_permutex2var_epi32(a01, idx(kJoinHi), c01);
  v[2] = _mm512_permutex2var_epi32(a23, idx(kJoinLo), c23);
  v[3] = _mm512_permutex2var_epi32(a23, idx(kJoinHi), c23);
}

// v[t] lane j = dword t of the 32 bytes at p[j] + off.
inline void transpose_16x8(const uint8_t* const* p, int64_t off, __m512i v[8]) {
  __m512i z[8];
  #pragma GCC unroll 16
  for (int a = 0; a < 8; ++a) {
    z[a] = _mm512_inserti64x4(_mm512_castsi256_si512(load256(p[2 * a] + off)), load256(p[2 * a + 1] + off), 1);
  }
  __m512i l1[4][2];  // [row quad][t half]: position t' * 4 + r
  #pragma GCC unroll 16
  for (int q = 0; q < 4; ++q) {
    l1[q][0] = _mm512_permutex2var_epi32(z[2 * q], idx(k8Step1Lo), z[2 * q + 1]);
    l1[q][1] = _mm512_permutex2var_epi32(z[2 * q], idx(k8Step1Hi), z[2 * q + 1]);
  }
  __m512i l2[2][4];  // [row octet][t pair]: position t'' * 8 + r
  #pragma GCC unroll 16
  for (int u = 0; u < 2; ++u) {
    #pragma GCC unroll 16
    for (int h = 0; h < 2; ++h) {
      l2[u][2 * h] = _mm512_permutex2var_epi32(l1[2 * u][h], idx(k8Step2Lo), l1[2 * u + 1][h]);
      l2[u][2 * h + 1] = _mm512_permutex2var_epi32(l1[2 * u][h], idx(k8Step2Hi), l1[2 * u + 1][h]);
    }
  }
  #pragma GCC unroll 16
  for (int e = 0; e < 4; ++e) {
    v[2 * e] = _mm512_permutex2var_epi32(l2[0][e], idx(kJoinLo), l2[1][e]);
    v[2 * e + 1] = _mm512_permutex2var_epi32(l2[0][e], idx(kJoinHi), l2[1][e]);
  }
}

// Lane j = the 32-bit word at p[j] + off (scales sit at block starts). Built from 16 scalar
// loads: on Zen 4 this is cheaper than vpgatherdd, which costs a quarter of a Q4_1 GEMV.
inline int32_t load_i32(const uint8_t* p) {
  int32_t v;
  std::memcpy(&v, p, 4);
  return v;
}
inline __m512i gather_dwords(const uint8_t* const* p, int64_t off) {
  __m128i q[4];
#pragma GCC unroll 4
  for (int a = 0; a < 4; ++a) {
    q[a] = _mm_setr_epi32(load_i32(p[4 * a] + off), load_i32(p[4 * a + 1] + off), load_i32(p[4 * a + 2] + off),
                          load_i32(p[4 * a + 3] + off));
  }
  const __m512i lo = _mm512_inserti32x4(_mm512_castsi128_si512(q[0]), q[1], 1);
  return _mm512_inserti32x4(_mm512_inserti32x4(lo, q[2], 2), q[3], 3);
}

inline __m512 half_lo_to_ps(__m512i v) { return _mm512_cvtph_ps(_mm512_cvtepi32_epi16(v)); }
inline __m512 half_hi_to_ps(__m512i v) { return _mm512_cvtph_ps(_mm512_cvtepi32_epi16(_mm512_srli_epi32(v, 16))); }

}  // namespace detail

// Q4_0 (kMin = false) / Q4_1 (true): 18 / 20-byte blocks, qs in the last 16 bytes.
template <bool kMin>
inline RegBlock pack_block_q4(const uint8_t* const* rows, int64_t b) {
  constexpr int bb = kMin ? 20 : 18;
  const __m512i low4 = _mm512_set1_epi8(0x0F);
  RegBlock r;
  __m512i v[4];
  detail::transpose_16x4(rows, b * bb + bb - 16, v);
#pragma GCC unroll 4
  for (int t = 0; t < 4; ++t) {
    r.w[t] = _mm512_and_si512(v[t], low4);
    r.w[4 + t] = _mm512_and_si512(_mm512_srli_epi16(v[t], 4), low4);
  }
  const __m512i dm = detail::gather_dwords(rows, b * bb);
  r.s0 = detail::half_lo_to_ps(dm);
  r.s1 = kMin ? detail::half_hi_to_ps(dm) : _mm512_setzero_ps();
  return r;
}

// Q8_0: signed q becomes unsigned q + 128 for vpdpbusd; act_offset() = 128 corrects for it.
inline RegBlock pack_block_q8_0(const uint8_t* const* rows, int64_t b) {
  const __m512i flip = _mm512_set1_epi8(static_cast<char>(0x80));
  RegBlock r;
  __m512i v[8];
  detail::transpose_16x8(rows, b * 34 + 2, v);
#pragma GCC unroll 8
  for (int t = 0; t < 8; ++t) r.w[t] = _mm512_xor_si512(v[t], flip);
  r.s0 = detail::half_lo_to_ps(detail::gather_dwords(rows, b * 34));
  r.s1 = _mm512_setzero_ps();
  return r;
}

// Packs blocks [b0, b1) (32-element units; multiples of 8 for K-quants) of 16 rows. rows[j] is
// row j's start (rows past the matrix repeat the last row; their outputs are never stored).
void pack_rows(DType type, const uint8_t* const* rows, int64_t b0, int64_t b1, PackedBlock* out);

}  // namespace tandem::kernels::cpu::avx512
