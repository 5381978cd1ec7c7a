#include "kernels/cpu/avx512/q8_pack_avx512.h"

#include <cstring>

#include "kernels/cpu/row_prep.h"

namespace tandem::kernels::cpu::avx512 {

namespace {

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
  for (int a = 0; a < 8; ++a) {
    z[a] = _mm512_inserti64x4(_mm512_castsi256_si512(load256(p[2 * a] + off)), load256(p[2 * a + 1] + off), 1);
  }
  __m512i l1[4][2];  // [row quad][t half]: position t' * 4 + r
  for (int q = 0; q < 4; ++q) {
    l1[q][0] = _mm512_permutex2var_epi32(z[2 * q], idx(k8Step1Lo), z[2 * q + 1]);
    l1[q][1] = _mm512_permutex2var_epi32(z[2 * q], idx(k8Step1Hi), z[2 * q + 1]);
  }
  __m512i l2[2][4];  // [row octet][t pair]: position t'' * 8 + r
  for (int u = 0; u < 2; ++u) {
    for (int h = 0; h < 2; ++h) {
      l2[u][2 * h] = _mm512_permutex2var_epi32(l1[2 * u][h], idx(k8Step2Lo), l1[2 * u + 1][h]);
      l2[u][2 * h + 1] = _mm512_permutex2var_epi32(l1[2 * u][h], idx(k8Step2Hi), l1[2 * u + 1][h]);
    }
  }
  for (int e = 0; e < 4; ++e) {
    v[2 * e] = _mm512_permutex2var_epi32(l2[0][e], idx(kJoinLo), l2[1][e]);
    v[2 * e + 1] = _mm512_permutex2var_epi32(l2[0][e], idx(kJoinHi), l2[1][e]);
  }
}

// Lane j = the 32-bit word at p[j] + off (scales sit at block starts). Rows of one matrix are
// less than 2 GiB apart, so 32-bit offsets from p[0] suffice.
inline __m512i row_offsets(const uint8_t* const* p) {
  alignas(64) int32_t w[16];
  for (int j = 0; j < 16; ++j) w[j] = static_cast<int32_t>(p[j] - p[0]);
  return _mm512_load_si512(w);
}
inline __m512i gather_dwords(const uint8_t* const* p, __m512i offs, int64_t off) {
  return _mm512_i32gather_epi32(offs, p[0] + off, 1);
}

inline __m512 half_lo_to_ps(__m512i v) { return _mm512_cvtph_ps(_mm512_cvtepi32_epi16(v)); }
inline __m512 half_hi_to_ps(__m512i v) { return _mm512_cvtph_ps(_mm512_cvtepi32_epi16(_mm512_srli_epi32(v, 16))); }

void pack_q4(DType type, const uint8_t* const* rows, int64_t b0, int64_t b1, PackedBlock* out) {
  const int bb = type == DType::kQ4_0 ? 18 : 20;
  const __m512i low4 = _mm512_set1_epi8(0x0F);
  const __m512i offs = row_offsets(rows);
  for (int64_t b = b0; b < b1; ++b) {
    PackedBlock& o = out[b - b0];
    __m512i v[4];
    transpose_16x4(rows, b * bb + bb - 16, v);
    for (int t = 0; t < 4; ++t) {
      _mm512_store_si512(o.w[t], _mm512_and_si512(v[t], low4));
      _mm512_store_si512(o.w[4 + t], _mm512_and_si512(_mm512_srli_epi16(v[t], 4), low4));
    }
    const __m512i dm = gather_dwords(rows, offs, b * bb);
    _mm512_store_ps(o.s0, half_lo_to_ps(dm));
    _mm512_store_ps(o.s1, type == DType::kQ4_1 ? half_hi_to_ps(dm) : _mm512_setzero_ps());
  }
}

void pack_q8_0(const uint8_t* const* rows, int64_t b0, int64_t b1, PackedBlock* out) {
  const __m512i flip = _mm512_set1_epi8(static_cast<char>(0x80));
  const __m512i offs = row_offsets(rows);
  for (int64_t b = b0; b < b1; ++b) {
    PackedBlock& o = out[b - b0];
    __m512i v[8];
    transpose_16x8(rows, b * 34 + 2, v);
    // Signed q becomes unsigned q + 128 for vpdpbusd; act_offset() = 128 corrects for it.
    for (int t = 0; t < 8; ++t) _mm512_store_si512(o.w[t], _mm512_xor_si512(v[t], flip));
    _mm512_store_ps(o.s0, half_lo_to_ps(gather_dwords(rows, offs, b * 34)));
    _mm512_store_ps(o.s1, _mm512_setzero_ps());
  }
}

void pack_q4_k(const uint8_t* const* rows, int64_t b0, int64_t b1, PackedBlock* out) {
  const __m512i low4 = _mm512_set1_epi8(0x0F);
  for (int64_t sb = b0 / 8; sb < b1 / 8; ++sb) {
    PackedBlock* o = out + (sb * 8 - b0);
    for (int c = 0; c < 4; ++c) {
      __m512i v[8];
      transpose_16x8(rows, sb * 144 + 16 + 32 * c, v);
      for (int t = 0; t < 8; ++t) {
        _mm512_store_si512(o[2 * c].w[t], _mm512_and_si512(v[t], low4));
        _mm512_store_si512(o[2 * c + 1].w[t], _mm512_and_si512(_mm512_srli_epi16(v[t], 4), low4));
      }
    }
    for (int j = 0; j < kTileRows; ++j) {
      const uint8_t* blk = rows[j] + sb * 144;
      const float d = load_f16(blk), dmin = load_f16(blk + 2);
      for (int s = 0; s < 8; ++s) {
        int sc, m;
        q4k_scale_min(s, blk + 4, &sc, &m);
        o[s].s0[j] = d * static_cast<float>(sc);
        o[s].s1[j] = -dmin * static_cast<float>(m);
      }
    }
  }
}

void pack_q6_k(const uint8_t* const* rows, int64_t b0, int64_t b1, PackedBlock* out) {
  const __m512i low4 = _mm512_set1_epi8(0x0F);
  const __m512i bits45 = _mm512_set1_epi8(0x30);
  for (int64_t sb = b0 / 8; sb < b1 / 8; ++sb) {
    PackedBlock* o = out + (sb * 8 - b0);
    for (int half = 0; half < 2; ++half) {
      __m512i lo[8], hi[8], qh[8];
      const int64_t base = sb * 210;
      transpose_16x8(rows, base + 64 * half, lo);
      transpose_16x8(rows, base + 64 * half + 32, hi);
      transpose_16x8(rows, base + 128 + 32 * half, qh);
      PackedBlock* ob = o + 4 * half;
      for (int t = 0; t < 8; ++t) {
        // Block 0..3 of the half: low nibble of ql[0:32] / ql[32:64], then the high nibbles;
        // the two high bits come from successive bit pairs of qh.
        const __m512i h = qh[t];
        _mm512_store_si512(ob[0].w[t], _mm512_or_si512(_mm512_and_si512(lo[t], low4),
                                                       _mm512_and_si512(_mm512_slli_epi16(h, 4), bits45)));
        _mm512_store_si512(ob[1].w[t], _mm512_or_si512(_mm512_and_si512(hi[t], low4),
                                                       _mm512_and_si512(_mm512_slli_epi16(h, 2), bits45)));
        _mm512_store_si512(ob[2].w[t], _mm512_or_si512(_mm512_and_si512(_mm512_srli_epi16(lo[t], 4), low4),
                                                       _mm512_and_si512(h, bits45)));
        _mm512_store_si512(ob[3].w[t], _mm512_or_si512(_mm512_and_si512(_mm512_srli_epi16(hi[t], 4), low4),
                                                       _mm512_and_si512(_mm512_srli_epi16(h, 2), bits45)));
      }
    }
    for (int j = 0; j < kTileRows; ++j) {
      const uint8_t* blk = rows[j] + sb * 210;
      const float d = load_f16(blk + 208);
      const auto* scales = reinterpret_cast<const int8_t*>(blk + 192);
      for (int s = 0; s < 8; ++s) {
        o[s].s0[j] = d * static_cast<float>(scales[2 * s]);
        o[s].s1[j] = d * static_cast<float>(scales[2 * s + 1]);
      }
    }
  }
}

}  // namespace

void pack_rows(DType type, const uint8_t* const* rows, int64_t b0, int64_t b1, PackedBlock* out) {
  switch (type) {
    case DType::kQ4_0:
    case DType::kQ4_1: pack_q4(type, rows, b0, b1, out); return;
    case DType::kQ8_0: pack_q8_0(rows, b0, b1, out); return;
    case DType::kQ4_K: pack_q4_k(rows, b0, b1, out); return;
    case DType::kQ6_K: pack_q6_k(rows, b0, b1, out); return;
    default: return;
  }
}

}  // namespace tandem::kernels::cpu::avx512
