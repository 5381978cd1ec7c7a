#include "worker/sampling/logit_math.h"

#include <cmath>

#include "worker/sampling/exp_kernels.h"

#if defined(__SSE2__)
#include <emmintrin.h>
#endif

namespace tandem::sampling {
namespace {

detail::ExpRangeFn pick_exp_range() {
  const detail::ExpRangeFn avx2 = detail::exp_range_avx2_if_supported();
  return avx2 != nullptr ? avx2 : &detail::exp_range_baseline;
}

}  // namespace

float exp_range(const float* x, int32_t begin, int32_t end, float shift, float scale,
                float min_weight, float* out) {
  // Chosen once per process; every variant returns the same bits (exp_kernels.h).
  static const detail::ExpRangeFn kernel = pick_exp_range();
  return kernel(x, begin, end, shift, scale, min_weight, out);
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
