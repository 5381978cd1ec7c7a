#include "worker/sampling/logit_math.h"

#include <cmath>

#if defined(__SSE2__)
#include <emmintrin.h>
#endif

namespace tandem::sampling {
namespace {

#if defined(__SSE2__)
// Four lanes of fast_exp, the same arithmetic step for step.
inline __m128 fast_exp4(__m128 x) {
  const __m128 lo = _mm_set1_ps(-87.3f);
  // _mm_max_ps returns its second operand when either is NaN: NaN is clamped to lo here...
  const __m128 clamped = _mm_min_ps(_mm_max_ps(x, lo), _mm_set1_ps(88.0f));
  const __m128 magic = _mm_set1_ps(12582912.0f);
  const __m128 n = _mm_sub_ps(
      _mm_add_ps(_mm_mul_ps(clamped, _mm_set1_ps(1.44269504088896341f)), magic), magic);
  __m128 r = _mm_sub_ps(clamped, _mm_mul_ps(n, _mm_set1_ps(0.693145751953125f)));
  r = _mm_sub_ps(r, _mm_mul_ps(n, _mm_set1_ps(1.42860682030941723212e-6f)));
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

}  // namespace

// out is indexed from begin (out[i - begin]); null to only sum.
float exp_range(const float* x, int32_t begin, int32_t end, float shift, float scale,
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
#endif
  for (; i < end; ++i) {
    float w = fast_exp((x[i] - shift) * scale);
    w = w >= min_weight ? w : 0.0f;
    if (out != nullptr) out[i - begin] = w;
    sum += w;
  }
  return sum;
}

float max_logit(const float* x, int32_t n) {
  int32_t i = 0;
  float best = kNegInf;
#if defined(__SSE2__)
  __m128 m0 = _mm_set1_ps(kNegInf);
  __m128 m1 = m0, m2 = m0, m3 = m0;
  // The loaded value goes first: _mm_max_ps keeps the second operand when the first is NaN.
  for (; i + 16 <= n; i += 16) {
    m0 = _mm_max_ps(_mm_loadu_ps(x + i), m0);
    m1 = _mm_max_ps(_mm_loadu_ps(x + i + 4), m1);
    m2 = _mm_max_ps(_mm_loadu_ps(x + i + 8), m2);
    m3 = _mm_max_ps(_mm_loadu_ps(x + i + 12), m3);
  }
  alignas(16) float lanes[4];
  _mm_store_ps(lanes, _mm_max_ps(_mm_max_ps(m0, m1), _mm_max_ps(m2, m3)));
  for (float v : lanes) best = v > best ? v : best;
#endif
  for (; i < n; ++i) best = x[i] > best ? x[i] : best;
  return best;
}

int32_t argmax_logit(const float* x, int32_t n) {
  // Two cheap passes (max, then the first index equal to it) beat one pass that carries an index
  // per lane: the compare-and-blend chain costs more than re-reading the row from cache.
  const float best = max_logit(x, n);
  if (best == kNegInf) return -1;
  int32_t i = 0;
#if defined(__SSE2__)
  const __m128 target = _mm_set1_ps(best);
  for (; i + 16 <= n; i += 16) {
    const __m128 eq = _mm_or_ps(
        _mm_or_ps(_mm_cmpeq_ps(_mm_loadu_ps(x + i), target),
                  _mm_cmpeq_ps(_mm_loadu_ps(x + i + 4), target)),
        _mm_or_ps(_mm_cmpeq_ps(_mm_loadu_ps(x + i + 8), target),
                  _mm_cmpeq_ps(_mm_loadu_ps(x + i + 12), target)));
    if (_mm_movemask_ps(eq) != 0) break;  // the first match is in x[i, i + 16)
  }
#endif
  for (; i < n; ++i) {
    if (x[i] == best) return i;
  }
  return -1;  // unreachable: best is one of the values
}

double exp_pass(const float* x, int32_t n, float shift, float scale, float min_weight, float* w,
                float* block_sums) {
  double total = 0.0;
  for (int32_t begin = 0, b = 0; begin < n; begin += kExpBlock, ++b) {
    const int32_t end = begin + kExpBlock < n ? begin + kExpBlock : n;
    const float s =
        exp_range(x, begin, end, shift, scale, min_weight, w == nullptr ? nullptr : w + begin);
    if (block_sums != nullptr) block_sums[b] = s;
    total += s;
  }
  return total;
}

double log_sum_exp(const float* x, int32_t n) {
  const float m = max_logit(x, n);
  if (m == kNegInf) return -std::numeric_limits<double>::infinity();
  return static_cast<double>(m) + std::log(exp_pass(x, n, m, 1.0f, 0.0f, nullptr, nullptr));
}

}  // namespace tandem::sampling
