#include "worker/sampling/exp_kernels.h"

#include "worker/sampling/logit_math.h"

#if defined(__x86_64__) && defined(__GNUC__)
#include <immintrin.h>
#define TANDEM_SAMPLING_HAVE_AVX2_KERNEL 1
#endif

namespace tandem::sampling::detail {
namespace {

constexpr float kExpLo = -87.3f;  // see fast_exp in logit_math.h for the constants
constexpr float kExpHi = 88.0f;
constexpr float kLog2e = 1.44269504088896341f;
constexpr float kRoundMagic = 12582912.0f;
constexpr float kLn2Hi = 0.693145751953125f;
constexpr float kLn2Lo = 1.42860682030941723212e-6f;

#if defined(__SSE2__)
// Four lanes of fast_exp, the same arithmetic step for step.
inline __m128 fast_exp4(__m128 x) {
  const __m128 lo = _mm_set1_ps(kExpLo);
  // _mm_max_ps returns its second operand when either is NaN: NaN is clamped to lo here...
  const __m128 clamped = _mm_min_ps(_mm_max_ps(x, lo), _mm_set1_ps(kExpHi));
  const __m128 magic = _mm_set1_ps(kRoundMagic);
  const __m128 n =
      _mm_sub_ps(_mm_add_ps(_mm_mul_ps(clamped, _mm_set1_ps(kLog2e)), magic), magic);
  __m128 r = _mm_sub_ps(clamped, _mm_mul_ps(n, _mm_set1_ps(kLn2Hi)));
  r = _mm_sub_ps(r, _mm_mul_ps(n, _mm_set1_ps(kLn2Lo)));
  __m128 p = _mm_set1_ps(1.0f / 720.0f);
  p = _mm_add_ps(_mm_mul_ps(p, r), _mm_set1_ps(1.0f / 120.0f));
  p = _mm_add_ps(_mm_mul_ps(p, r), _mm_set1_ps(1.0f / 24.0f));
  p = _mm_add_ps(_mm_mul_ps(p, r), _mm_set1_ps(1.0f / 6.0f));
  p = _mm_add_ps(_mm_mul_ps(p, r), _mm_set1_ps(0.5f));
  p = _mm_add_ps(_mm_mul_ps(p, r), _mm_set1_ps(1.0f));
  p = _mm_add_ps(_mm_mul_ps(p, r), _mm_set1_ps(1.0f));
  const __m128i e = _mm_slli_epi32(_mm_add_epi32(_mm_cvttps_epi32(n), _mm_set1_epi32(127)), 23);
  // ...and zeroed here, together with everything below the underflow limit.
  const __m128 keep = _mm_cmpge_ps(x, lo);
  return _mm_and_ps(keep, _mm_mul_ps(p, _mm_castsi128_ps(e)));
}

inline float horizontal_sum(__m128 v) {
  alignas(16) float lanes[4];
  _mm_store_ps(lanes, v);
  return (lanes[0] + lanes[1]) + (lanes[2] + lanes[3]);
}
#endif

// Scalar tail shared by every variant (elements past the last full group of 8).
inline float exp_tail(const float* x, int32_t i, int32_t begin, int32_t end, float shift,
                      float scale, float min_weight, float* out, float sum) {
  for (; i < end; ++i) {
    float w = fast_exp((x[i] - shift) * scale);
    w = w >= min_weight ? w : 0.0f;
    if (out != nullptr) out[i - begin] = w;
    sum += w;
  }
  return sum;
}

#if defined(TANDEM_SAMPLING_HAVE_AVX2_KERNEL)
__attribute__((target("avx2"))) inline __m256 fast_exp8(__m256 x) {
  const __m256 lo = _mm256_set1_ps(kExpLo);
  const __m256 clamped = _mm256_min_ps(_mm256_max_ps(x, lo), _mm256_set1_ps(kExpHi));
  const __m256 magic = _mm256_set1_ps(kRoundMagic);
  const __m256 n = _mm256_sub_ps(
      _mm256_add_ps(_mm256_mul_ps(clamped, _mm256_set1_ps(kLog2e)), magic), magic);
  __m256 r = _mm256_sub_ps(clamped, _mm256_mul_ps(n, _mm256_set1_ps(kLn2Hi)));
  r = _mm256_sub_ps(r, _mm256_mul_ps(n, _mm256_set1_ps(kLn2Lo)));
  __m256 p = _mm256_set1_ps(1.0f / 720.0f);
  p = _mm256_add_ps(_mm256_mul_ps(p, r), _mm256_set1_ps(1.0f / 120.0f));
  p = _mm256_add_ps(_mm256_mul_ps(p, r), _mm256_set1_ps(1.0f / 24.0f));
  p = _mm256_add_ps(_mm256_mul_ps(p, r), _mm256_set1_ps(1.0f / 6.0f));
  p = _mm256_add_ps(_mm256_mul_ps(p, r), _mm256_set1_ps(0.5f));
  p = _mm256_add_ps(_mm256_mul_ps(p, r), _mm256_set1_ps(1.0f));
  p = _mm256_add_ps(_mm256_mul_ps(p, r), _mm256_set1_ps(1.0f));
  const __m256i e =
      _mm256_slli_epi32(_mm256_add_epi32(_mm256_cvttps_epi32(n), _mm256_set1_epi32(127)), 23);
  const __m256 keep = _mm256_cmp_ps(x, lo, _CMP_GE_OQ);
  return _mm256_and_ps(keep, _mm256_mul_ps(p, _mm256_castsi256_ps(e)));
}

__attribute__((target("avx2"))) float exp_range_avx2(const float* x, int32_t begin, int32_t end,
                                                     float shift, float scale, float min_weight,
                                                     float* out) {
  const __m256 vshift = _mm256_set1_ps(shift);
  const __m256 vscale = _mm256_set1_ps(scale);
  const __m256 vmin = _mm256_set1_ps(min_weight);
  __m256 acc = _mm256_setzero_ps();
  int32_t i = begin;
  for (; i + 8 <= end; i += 8) {
    __m256 w = fast_exp8(_mm256_mul_ps(_mm256_sub_ps(_mm256_loadu_ps(x + i), vshift), vscale));
    w = _mm256_and_ps(_mm256_cmp_ps(w, vmin, _CMP_GE_OQ), w);
    if (out != nullptr) _mm256_storeu_ps(out + (i - begin), w);
    acc = _mm256_add_ps(acc, w);
  }
  // Lanes 0-3 hold what the SSE2 kernel's first accumulator holds, lanes 4-7 its second.
  const __m128 both = _mm_add_ps(_mm256_castps256_ps128(acc), _mm256_extractf128_ps(acc, 1));
  return exp_tail(x, i, begin, end, shift, scale, min_weight, out, horizontal_sum(both));
}
#endif

}  // namespace

float exp_range_baseline(const float* x, int32_t begin, int32_t end, float shift, float scale,
                         float min_weight, float* out) {
  int32_t i = begin;
  float sum = 0.0f;
#if defined(__SSE2__)
  const __m128 vshift = _mm_set1_ps(shift);
  const __m128 vscale = _mm_set1_ps(scale);
  const __m128 vmin = _mm_set1_ps(min_weight);
  __m128 acc0 = _mm_setzero_ps();
  __m128 acc1 = _mm_setzero_ps();
  for (; i + 8 <= end; i += 8) {
    __m128 w0 = fast_exp4(_mm_mul_ps(_mm_sub_ps(_mm_loadu_ps(x + i), vshift), vscale));
    __m128 w1 = fast_exp4(_mm_mul_ps(_mm_sub_ps(_mm_loadu_ps(x + i + 4), vshift), vscale));
    w0 = _mm_and_ps(_mm_cmpge_ps(w0, vmin), w0);
    w1 = _mm_and_ps(_mm_cmpge_ps(w1, vmin), w1);
    if (out != nullptr) {
      _mm_storeu_ps(out + (i - begin), w0);
      _mm_storeu_ps(out + (i - begin) + 4, w1);
    }
    acc0 = _mm_add_ps(acc0, w0);
    acc1 = _mm_add_ps(acc1, w1);
  }
  sum = horizontal_sum(_mm_add_ps(acc0, acc1));
#else
  // Plain C++: the same 8-lane sums as the SIMD kernels.
  float lanes[8] = {};
  for (; i + 8 <= end; i += 8) {
    for (int k = 0; k < 8; ++k) {
      float w = fast_exp((x[i + k] - shift) * scale);
      w = w >= min_weight ? w : 0.0f;
      if (out != nullptr) out[i - begin + k] = w;
      lanes[k] += w;
    }
  }
  sum = ((lanes[0] + lanes[4]) + (lanes[1] + lanes[5])) +
        ((lanes[2] + lanes[6]) + (lanes[3] + lanes[7]));
#endif
  return exp_tail(x, i, begin, end, shift, scale, min_weight, out, sum);
}

ExpRangeFn exp_range_avx2_if_supported() {
#if defined(TANDEM_SAMPLING_HAVE_AVX2_KERNEL)
  if (__builtin_cpu_supports("avx2")) return &exp_range_avx2;
#endif
  return nullptr;
}

}  // namespace tandem::sampling::detail
