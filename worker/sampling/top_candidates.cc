#include "worker/sampling/top_candidates.h"

#include <algorithm>
#include <functional>

#if defined(__SSE2__)
#include <emmintrin.h>
#endif

#include "worker/sampling/logit_math.h"

namespace tandem::sampling {
namespace {

inline float sanitized(float v) { return v == v ? v : kNegInf; }

// Beyond this fraction of the vocabulary, threshold filtering admits so many tokens that
// nth_element over all ids is cheaper.
constexpr int32_t kFilterFractionDenominator = 8;

void select_by_nth_element(const float* x, int32_t n, int32_t m, std::vector<Candidate>& out,
                           bool sorted) {
  out.resize(n);
  for (int32_t i = 0; i < n; ++i) out[i] = {i, sanitized(x[i])};
  if (m < n) {
    std::nth_element(out.begin(), out.begin() + m, out.end(), ranks_before);
    out.resize(m);
  }
  if (sorted) std::sort(out.begin(), out.end(), ranks_before);
}

// For large m the running-threshold filter starts from -inf and compacts many times before the
// threshold settles. Instead, estimate a threshold from every kSampleStride-th logit that about
// 2m tokens exceed, and collect those in one pass.
constexpr int32_t kSampleStride = 16;
constexpr int32_t kSampledThresholdMinM = 256;

// Appends every token with x > threshold to out (vectorized test, sixteen at a time).
void collect_above(const float* x, int32_t n, float threshold, std::vector<Candidate>& out) {
  int32_t i = 0;
#if defined(__SSE2__)
  const __m128 t = _mm_set1_ps(threshold);
  for (; i + 16 <= n; i += 16) {
    const int mask = _mm_movemask_ps(_mm_or_ps(
        _mm_or_ps(_mm_cmpgt_ps(_mm_loadu_ps(x + i), t), _mm_cmpgt_ps(_mm_loadu_ps(x + i + 4), t)),
        _mm_or_ps(_mm_cmpgt_ps(_mm_loadu_ps(x + i + 8), t),
                  _mm_cmpgt_ps(_mm_loadu_ps(x + i + 12), t))));
    if (mask == 0) continue;
    for (int32_t k = i; k < i + 16; ++k) {
      if (x[k] > threshold) out.push_back({k, x[k]});
    }
  }
#endif
  for (; i < n; ++i) {
    if (x[i] > threshold) out.push_back({i, x[i]});
  }
}

// True when out now holds the m best (in any order). If at least m tokens exceed the estimated
// threshold, the m best all do (ties included), so the answer is exact; otherwise the caller
// falls back to the general filter.
bool select_with_sampled_threshold(const float* x, int32_t n, int32_t m,
                                   std::vector<Candidate>& out) {
  std::vector<float> sample;
  sample.reserve(n / kSampleStride + 1);
  for (int32_t i = 0; i < n; i += kSampleStride) sample.push_back(sanitized(x[i]));
  const size_t rank = std::min(sample.size() - 1, static_cast<size_t>(2 * m / kSampleStride));
  std::nth_element(sample.begin(), sample.begin() + rank, sample.end(), std::greater<float>());
  const float threshold = sample[rank];
  out.clear();
  collect_above(x, n, threshold, out);
  if (out.size() < static_cast<size_t>(m)) return false;
  std::nth_element(out.begin(), out.begin() + (m - 1), out.end(), ranks_before);
  out.resize(m);
  return true;
}

}  // namespace

void select_top(const float* x, int32_t n, int32_t m, std::vector<Candidate>& out, bool sorted) {
  out.clear();
  m = std::min(m, n);
  if (m <= 0) return;
  if (m > n / kFilterFractionDenominator) {
    select_by_nth_element(x, n, m, out, sorted);
    return;
  }
  if (m >= kSampledThresholdMinM && select_with_sampled_threshold(x, n, m, out)) {
    if (sorted) std::sort(out.begin(), out.end(), ranks_before);
    return;
  }
  out.clear();
  // Collect every token that beats `threshold` (the m-th best so far); when the buffer reaches
  // 2m, keep its m best and raise the threshold. Each compaction costs O(m) and happens once per
  // m admissions, so admissions stay O(1) amortized, and on typical logits only about
  // m * (2 + ln(n / m)) tokens are ever admitted. Ids arrive in increasing order, so a later token
  // with a logit equal to the threshold ranks after every kept one: only strictly greater enters.
  const size_t cap = 2 * static_cast<size_t>(m);
  out.reserve(cap);
  float threshold = kNegInf;
  auto compact = [&] {
    std::nth_element(out.begin(), out.begin() + (m - 1), out.end(), ranks_before);
    out.resize(m);
    threshold = out[m - 1].logit;
  };
  auto consider = [&](int32_t id) {
    if (!(x[id] > threshold)) return;
    out.push_back({id, x[id]});
    if (out.size() == cap) compact();
  };
  int32_t i = 0;
#if defined(__SSE2__)
  // Most tokens lose to the threshold: test sixteen at a time and look closer only at groups
  // with a winner.
  for (; i + 16 <= n; i += 16) {
    const __m128 t = _mm_set1_ps(threshold);
    const int mask = _mm_movemask_ps(_mm_or_ps(
        _mm_or_ps(_mm_cmpgt_ps(_mm_loadu_ps(x + i), t), _mm_cmpgt_ps(_mm_loadu_ps(x + i + 4), t)),
        _mm_or_ps(_mm_cmpgt_ps(_mm_loadu_ps(x + i + 8), t),
                  _mm_cmpgt_ps(_mm_loadu_ps(x + i + 12), t))));
    if (mask == 0) continue;
    for (int32_t k = i; k < i + 16; ++k) consider(k);
  }
#endif
  for (; i < n; ++i) consider(i);
  if (out.size() > static_cast<size_t>(m)) compact();
  // Fewer than m tokens beat -inf: the rest are -inf (or NaN), which rank by id.
  for (int32_t id = 0; out.size() < static_cast<size_t>(m); ++id) {
    if (!(x[id] > kNegInf)) out.push_back({id, kNegInf});
  }
  if (sorted) std::sort(out.begin(), out.end(), ranks_before);
}

}  // namespace tandem::sampling
