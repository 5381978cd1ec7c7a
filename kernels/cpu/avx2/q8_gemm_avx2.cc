#include "kernels/cpu/avx2/q8_gemm_avx2.h"

#include <immintrin.h>

#include <cstring>

#include "kernels/cpu/row_prep.h"

namespace tandem::kernels::cpu::avx2 {

namespace {

constexpr int kRowsPerPass = 4;

float hsum(__m256 v) {
  __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
  s = _mm_add_ps(s, _mm_movehl_ps(s, s));
  s = _mm_add_ss(s, _mm_movehdup_ps(s));
  return _mm_cvtss_f32(s);
}

int32_t hsum_epi32(__m256i v) {
  __m128i s = _mm_add_epi32(_mm256_castsi256_si128(v), _mm256_extracti128_si256(v, 1));
  s = _mm_add_epi32(s, _mm_shuffle_epi32(s, 0x4E));
  s = _mm_add_epi32(s, _mm_shuffle_epi32(s, 0xB1));
  return _mm_cvtsi128_si32(s);
}

float f16(const uint8_t* p) {
  uint16_t h;
  std::memcpy(&h, p, 2);
  return _cvtsh_ss(h);
}

// Vectorized decoders for the 32-element formats; K-quants use the scalar one.
void prep_row(DType type, const uint8_t* row, int64_t k, int8_t* q, float* s0, float* s1) {
  const int64_t nb = k / 32;
  const __m128i low4 = _mm_set1_epi8(0x0F);
  switch (type) {
    case DType::kQ4_0:
    case DType::kQ4_1: {
      const int bb = type == DType::kQ4_0 ? 18 : 20;
      for (int64_t b = 0; b < nb; ++b) {
        const uint8_t* p = row + bb * b;
        s0[b] = f16(p);
        s1[b] = type == DType::kQ4_1 ? f16(p + 2) : 0.0f;
        const __m128i v = _mm_loadu_si128(reinterpret_cast<const __m128i*>(p + bb - 16));
        _mm_storeu_si128(reinterpret_cast<__m128i*>(q + 32 * b), _mm_and_si128(v, low4));
        _mm_storeu_si128(reinterpret_cast<__m128i*>(q + 32 * b + 16), _mm_and_si128(_mm_srli_epi16(v, 4), low4));
      }
      return;
    }
    case DType::kQ8_0:
      for (int64_t b = 0; b < nb; ++b) {
        s0[b] = f16(row + 34 * b);
        std::memcpy(q + 32 * b, row + 34 * b + 2, 32);
      }
      return;
    default: prep_row_scalar(type, row, k, q, s0, s1); return;
  }
}

template <int C>
void dot_rows(const QGemmArgs& a, PackMode mode, bool is_signed, const int8_t* q, const float* s0,
              const float* s1, int64_t j, int64_t r) {
  const ActQ8& x = *a.acts;
  const int64_t nb = a.k / 32;
  const __m256i ones = _mm256_set1_epi16(1);
  __m256 acc[C];
  float extra[C];
  #pragma GCC unroll 16
  for (int c = 0; c < C; ++c) {
    acc[c] = _mm256_setzero_ps();
    extra[c] = 0.0f;
  }
  for (int64_t b = 0; b < nb; ++b) {
    const __m256i w = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(q + 32 * b));
    // vpmaddubsw needs an unsigned left operand; signed Q8_0 weights move their sign onto x.
    const __m256i wu = is_signed ? _mm256_sign_epi8(w, w) : w;
    #pragma GCC unroll 16
    for (int c = 0; c < C; ++c) {
      const int64_t ib = (r + c) * nb + b;
      __m256i xv = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(x.qs + (r + c) * x.k + 32 * b));
      if (is_signed) xv = _mm256_sign_epi8(xv, w);
      const __m256i s32 = _mm256_madd_epi16(_mm256_maddubs_epi16(wu, xv), ones);
      const float dx = x.d[ib];
      __m256 scale;
      if (mode == PackMode::kHalves) {
        // Lanes 0-3 hold elements 0-15, lanes 4-7 elements 16-31.
        scale = _mm256_set_m128(_mm_set1_ps(s1[b] * dx), _mm_set1_ps(s0[b] * dx));
        extra[c] += (static_cast<float>(x.corr16[2 * ib]) * s0[b] + static_cast<float>(x.corr16[2 * ib + 1]) * s1[b]) * dx;
      } else {
        scale = _mm256_set1_ps(s0[b] * dx);
        if (mode == PackMode::kMin) {
          extra[c] += s1[b] * x.ds[ib];
        } else {
          extra[c] += static_cast<float>(x.corr[ib]) * s0[b] * dx;
        }
      }
      acc[c] = _mm256_fmadd_ps(_mm256_cvtepi32_ps(s32), scale, acc[c]);
    }
  }
  #pragma GCC unroll 16
  for (int c = 0; c < C; ++c) a.y[(r + c) * a.n + j] = hsum(acc[c]) + extra[c] + (a.bias ? a.bias[j] : 0.0f);
}

}  // namespace

int act_offset(DType type) {
  switch (type) {
    case DType::kQ4_0: return 8;
    case DType::kQ6_K: return 32;
    default: return 0;
  }
}

void quantize_acts(const float* x, int64_t r0, int64_t r1, int offset, const ActQ8& a) {
  const __m256 sign = _mm256_set1_ps(-0.0f);
  for (int64_t r = r0; r < r1; ++r) {
    for (int64_t b = 0; b < a.nb; ++b) {
      const float* v = x + r * a.k + b * kActBlock;
      __m256 f[4];
      __m256 mx = _mm256_setzero_ps();
      #pragma GCC unroll 16
      for (int i = 0; i < 4; ++i) {
        f[i] = _mm256_loadu_ps(v + 8 * i);
        mx = _mm256_max_ps(mx, _mm256_andnot_ps(sign, f[i]));
      }
      __m128 m4 = _mm_max_ps(_mm256_castps256_ps128(mx), _mm256_extractf128_ps(mx, 1));
      m4 = _mm_max_ps(m4, _mm_movehl_ps(m4, m4));
      m4 = _mm_max_ss(m4, _mm_movehdup_ps(m4));
      const float amax = _mm_cvtss_f32(m4);
      const float d = amax / 127.0f;
      const float id = amax != 0.0f ? 127.0f / amax : 0.0f;
      const __m256 vid = _mm256_set1_ps(id);
      __m256i qi[4];
      #pragma GCC unroll 16
      for (int i = 0; i < 4; ++i) qi[i] = _mm256_cvtps_epi32(_mm256_mul_ps(f[i], vid));  // MXCSR: nearest-even
      const int32_t lo = hsum_epi32(_mm256_add_epi32(qi[0], qi[1]));
      const int32_t hi = hsum_epi32(_mm256_add_epi32(qi[2], qi[3]));
      // int32 -> int8 (values are within [-127, 127]); packs interleave 128-bit lanes, undo it.
      const __m256i p16a = _mm256_packs_epi32(qi[0], qi[1]);
      const __m256i p16b = _mm256_packs_epi32(qi[2], qi[3]);
      __m256i p8 = _mm256_packs_epi16(p16a, p16b);
      p8 = _mm256_permutevar8x32_epi32(p8, _mm256_setr_epi32(0, 4, 1, 5, 2, 6, 3, 7));
      _mm256_storeu_si256(reinterpret_cast<__m256i*>(a.qs + r * a.k + b * kActBlock), p8);
      const int64_t ib = r * a.nb + b;
      a.d[ib] = d;
      a.ds[ib] = d * static_cast<float>(lo + hi);
      a.corr[ib] = -offset * (lo + hi);
      a.corr16[2 * ib] = -offset * lo;
      a.corr16[2 * ib + 1] = -offset * hi;
    }
  }
}

int64_t gemm_q_scratch_bytes(const QGemmArgs& a) { return a.k + 2 * (a.k / 32) * 4 + 128; }

void gemm_q(const QGemmArgs& a, int64_t n0, int64_t n1, int64_t r0, int64_t r1, uint8_t* scratch) {
  const int64_t nb = a.k / 32;
  auto* q = reinterpret_cast<int8_t*>(scratch);
  float* s0 = reinterpret_cast<float*>(scratch + ((a.k + 63) & ~63));
  float* s1 = s0 + nb;
  const PackMode mode = pack_mode(a.type);
  const bool is_signed = a.type == DType::kQ8_0;
  for (int64_t j = n0; j < n1; ++j) {
    prep_row(a.type, a.w + j * a.row_bytes, a.k, q, s0, s1);
    int64_t r = r0;
    for (; r + kRowsPerPass <= r1; r += kRowsPerPass) dot_rows<kRowsPerPass>(a, mode, is_signed, q, s0, s1, j, r);
    for (; r < r1; ++r) dot_rows<1>(a, mode, is_signed, q, s0, s1, j, r);
  }
}

}  // namespace tandem::kernels::cpu::avx2
