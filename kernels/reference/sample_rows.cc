// Host version of Backend::sample_rows (semantics in kernels/sample_rows.h). Plain and sort-based:
// it is the default for host backends (which normally sample with worker/sampling instead) and the
// reference the CUDA kernel's radix selection is checked against.
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>
#include <numeric>
#include <vector>

#include "kernels/sample_rows.h"

namespace tandem::kernels {
namespace {

inline float finite_or_neg_inf(float x) { return std::isnan(x) ? -std::numeric_limits<float>::infinity() : x; }

double raw_log_sum_exp(const float* l, int64_t vocab) {
  float m = -std::numeric_limits<float>::infinity();
  for (int64_t i = 0; i < vocab; ++i) m = std::max(m, finite_or_neg_inf(l[i]));
  if (m == -std::numeric_limits<float>::infinity()) return m;
  double s = 0.0;
  for (int64_t i = 0; i < vocab; ++i) s += std::exp(static_cast<double>(finite_or_neg_inf(l[i])) - m);
  return m + std::log(s);
}

void apply_edits(float* l, LogitEdit* begin, LogitEdit* end) {
  for (LogitEdit* e = begin; e != end; ++e) e->raw = l[e->token];
  for (LogitEdit* e = begin; e != end; ++e) {
    float& x = l[e->token];
    switch (e->kind) {
      case LogitEditKind::kRepeat: x = x > 0.0f ? x / e->value : x * e->value; break;
      case LogitEditKind::kSubtract: x -= e->value; break;
      case LogitEditKind::kAdd: x += e->value; break;
      case LogitEditKind::kMask: x = -std::numeric_limits<float>::infinity(); break;
    }
  }
}

int32_t argmax(const float* l, int64_t vocab) {
  int32_t best = -1;
  float bv = -std::numeric_limits<float>::infinity();
  for (int64_t i = 0; i < vocab; ++i) {
    const float x = finite_or_neg_inf(l[i]);
    if (x > bv) bv = x, best = static_cast<int32_t>(i);
  }
  return best;
}

int32_t draw(const float* l, int64_t vocab, const SampleRow& row) {
  const int32_t m_id = argmax(l, vocab);
  if (m_id < 0) return -1;
  const float m = l[m_id];
  const float inv_t = 1.0f / row.temperature;
  std::vector<float> w(vocab);
  std::vector<uint64_t> q(vocab);
  uint64_t total = 0;
  for (int64_t i = 0; i < vocab; ++i) {
    w[i] = std::exp((finite_or_neg_inf(l[i]) - m) * inv_t);
    q[i] = static_cast<uint64_t>(w[i] * static_cast<float>(kSampleWeightScale));
    total += q[i];
  }
  std::vector<char> keep(vocab, 1);
  if (row.min_p > 0.0f) {
    for (int64_t i = 0; i < vocab; ++i) keep[i] = w[i] >= row.min_p;
  }
  const bool by_k = row.top_k > 0 && row.top_k < vocab;
  const bool by_p = row.top_p < 1.0f;
  if (by_k || by_p) {
    std::vector<int32_t> order;
    for (int64_t i = 0; i < vocab; ++i) {
      if (keep[i]) order.push_back(static_cast<int32_t>(i));
    }
    std::sort(order.begin(), order.end(), [&](int32_t a, int32_t b) { return w[a] != w[b] ? w[a] > w[b] : a < b; });
    const uint64_t k_limit = by_k ? static_cast<uint64_t>(row.top_k) : UINT64_MAX;
    const uint64_t p_limit = by_p ? static_cast<uint64_t>(std::ceil(static_cast<double>(row.top_p) * total)) : UINT64_MAX;
    uint64_t count = 0, mass = 0;
    size_t cut = order.size();
    for (size_t j = 0; j < order.size(); ++j) {
      ++count, mass += q[order[j]];
      if (count >= k_limit || mass >= p_limit) {
        cut = j + 1;
        break;
      }
    }
    std::fill(keep.begin(), keep.end(), 0);
    for (size_t j = 0; j < cut; ++j) keep[order[j]] = 1;
  }
  uint64_t survivors = 0;
  for (int64_t i = 0; i < vocab; ++i) survivors += keep[i] ? q[i] : 0;
  const uint64_t r = std::min(static_cast<uint64_t>(row.u * static_cast<double>(survivors)), survivors - 1);
  uint64_t running = 0;
  for (int64_t i = 0; i < vocab; ++i) {
    if (!keep[i]) continue;
    running += q[i];
    if (running > r) return static_cast<int32_t>(i);
  }
  return m_id;  // unreachable: the survivors' mass is positive (the maximum always survives)
}

}  // namespace

void sample_rows_host(float* logits, int64_t vocab, const SampleRow* rows, int64_t n, LogitEdit* edits,
                      SampledToken* out) {
  for (int64_t s = 0; s < n; ++s) {
    const SampleRow& row = rows[s];
    float* l = logits + static_cast<int64_t>(row.logit_row) * vocab;
    const double lse = row.want_logprob ? raw_log_sum_exp(l, vocab) : 0.0;
    apply_edits(l, edits + row.edit_begin, edits + row.edit_end);
    SampledToken& o = out[s];
    o.token = row.greedy ? argmax(l, vocab) : draw(l, vocab, row);
    o.logprob = 0.0f;
    if (row.want_logprob && o.token >= 0) {
      float raw = l[o.token];
      for (const LogitEdit* e = edits + row.edit_begin; e != edits + row.edit_end; ++e) {
        if (e->token == o.token) {
          raw = e->raw;
          break;
        }
      }
      o.logprob = static_cast<float>(static_cast<double>(raw) - lse);
    }
  }
}

}  // namespace tandem::kernels
