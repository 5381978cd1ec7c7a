#include "kernels/cpu/avx512/q8_pack_avx512.h"

#include "kernels/cpu/row_prep.h"

namespace tandem::kernels::cpu::avx512 {

namespace {

using namespace detail;

void store(const RegBlock& r, PackedBlock& o) {
#pragma GCC unroll 8
  for (int t = 0; t < 8; ++t) _mm512_store_si512(o.w[t], r.w[t]);
  _mm512_store_ps(o.s0, r.s0);
  _mm512_store_ps(o.s1, r.s1);
}

void pack_q4_k(const uint8_t* const* rows, int64_t b0, int64_t b1, PackedBlock* out) {
  const __m512i low4 = _mm512_set1_epi8(0x0F);
  for (int64_t sb = b0 / 8; sb < b1 / 8; ++sb) {
    PackedBlock* o = out + (sb * 8 - b0);
    #pragma GCC unroll 16
    for (int c = 0; c < 4; ++c) {
      __m512i v[8];
      transpose_16x8(rows, sb * 144 + 16 + 32 * c, v);
      #pragma GCC unroll 16
      for (int t = 0; t < 8; ++t) {
        _mm512_store_si512(o[2 * c].w[t], _mm512_and_si512(v[t], low4));
        _mm512_store_si512(o[2 * c + 1].w[t], _mm512_and_si512(_mm512_srli_epi16(v[t], 4), low4));
      }
    }
    for (int j = 0; j < kTileRows; ++j) {
      const uint8_t* blk = rows[j] + sb * 144;
      const float d = load_f16(blk), dmin = load_f16(blk + 2);
      #pragma GCC unroll 16
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
      #pragma GCC unroll 16
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
      #pragma GCC unroll 16
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
      for (int64_t b = b0; b < b1; ++b) store(pack_block_q4<false>(rows, b), out[b - b0]);
      return;
    case DType::kQ4_1:
      for (int64_t b = b0; b < b1; ++b) store(pack_block_q4<true>(rows, b), out[b - b0]);
      return;
    case DType::kQ8_0:
      for (int64_t b = b0; b < b1; ++b) store(pack_block_q8_0(rows, b), out[b - b0]);
      return;
    case DType::kQ4_K: pack_q4_k(rows, b0, b1, out); return;
    case DType::kQ6_K: pack_q6_k(rows, b0, b1, out); return;
    default: return;
  }
}

}  // namespace tandem::kernels::cpu::avx512
