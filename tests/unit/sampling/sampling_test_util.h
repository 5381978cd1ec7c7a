// Reference math and draw helpers shared by the sampling tests (double precision, plain loops).
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>
#include <numeric>
#include <random>
#include <span>
#include <vector>

#include "worker/sampling/sequence_sampler.h"

namespace tandem::sampling::testing {

// softmax(logits / temperature) in double.
inline std::vector<double> softmax(std::span<const float> logits, double temperature = 1.0) {
  double max = -std::numeric_limits<double>::infinity();
  for (float l : logits) max = std::max(max, static_cast<double>(l));
  std::vector<double> p(logits.size());
  double sum = 0.0;
  for (size_t i = 0; i < logits.size(); ++i) {
    p[i] = std::exp((static_cast<double>(logits[i]) - max) / temperature);
    sum += p[i];
  }
  for (double& v : p) v /= sum;
  return p;
}

inline std::vector<double> log_softmax(std::span<const float> logits) {
  std::vector<double> p = softmax(logits);
  for (double& v : p) v = std::log(v);
  return p;
}

// Token ids ranked by (logit desc, id asc).
inline std::vector<int32_t> ranked(std::span<const float> logits) {
  std::vector<int32_t> ids(logits.size());
  std::iota(ids.begin(), ids.end(), 0);
  std::stable_sort(ids.begin(), ids.end(),
                   [&](int32_t a, int32_t b) { return logits[a] > logits[b]; });
  return ids;
}

// Draws `n` tokens from one sampler (accepting each) and counts them per id.
inline std::vector<int64_t> draw_counts(SamplingParams params, std::span<const float> logits,
                                        int64_t n, uint64_t seed = 1234) {
  params.seed = seed;
  params.max_new_tokens = std::numeric_limits<int32_t>::max();
  SequenceSampler sampler(params, {}, {}, 0);
  std::vector<int64_t> counts(logits.size(), 0);
  std::vector<float> row(logits.begin(), logits.end());
  const auto vocab = static_cast<int32_t>(logits.size());
  for (int64_t i = 0; i < n; ++i) {
    std::copy(logits.begin(), logits.end(), row.begin());
    const int32_t t = sampler.sample(row.data(), vocab).token;
    ++counts.at(t);
    sampler.accept(t);
  }
  return counts;
}

struct ChiSquare {
  double statistic = 0.0;
  int degrees_of_freedom = 0;
  double critical = 0.0;  // upper 1e-4 quantile (Wilson-Hilferty approximation)
  double mass_outside = 0.0;  // observed count where the expected probability is 0
};

// Pearson's chi-square of counts against probabilities; bins with expected count < 5 are pooled.
inline ChiSquare chi_square(std::span<const int64_t> counts, std::span<const double> probs) {
  int64_t total = 0;
  for (int64_t c : counts) total += c;
  ChiSquare r;
  double pooled_expected = 0.0, pooled_observed = 0.0;
  int bins = 0;
  for (size_t i = 0; i < counts.size(); ++i) {
    const double expected = probs[i] * static_cast<double>(total);
    if (probs[i] == 0.0) {
      r.mass_outside += static_cast<double>(counts[i]);
      continue;
    }
    if (expected < 5.0) {
      pooled_expected += expected;
      pooled_observed += static_cast<double>(counts[i]);
      continue;
    }
    const double d = static_cast<double>(counts[i]) - expected;
    r.statistic += d * d / expected;
    ++bins;
  }
  if (pooled_expected > 0.0) {
    const double d = pooled_observed - pooled_expected;
    r.statistic += d * d / std::max(pooled_expected, 1e-9);
    ++bins;
  }
  r.degrees_of_freedom = std::max(bins - 1, 1);
  const double k = r.degrees_of_freedom;
  const double z = 3.719;  // standard normal upper 1e-4 quantile
  r.critical = k * std::pow(1.0 - 2.0 / (9.0 * k) + z * std::sqrt(2.0 / (9.0 * k)), 3.0);
  return r;
}

inline std::vector<float> random_logits(int32_t vocab, uint32_t seed, float stddev = 2.0f) {
  std::mt19937 gen(seed);
  std::normal_distribution<float> d(0.0f, stddev);
  std::vector<float> l(vocab);
  for (float& v : l) v = d(gen);
  return l;
}

}  // namespace tandem::sampling::testing

namespace tandem::sampling::testing {

// The truncated, renormalized distribution by definition (double precision): rank tokens by
// (p desc, id asc); keep the first top_k, the shortest prefix with mass >= top_p, and tokens with
// p >= min_p * p_max; all judged on p = softmax(logits / T).
inline std::vector<double> truncated_distribution(std::span<const float> logits, double temperature,
                                                  int32_t top_k, double top_p, double min_p) {
  const std::vector<double> p = softmax(logits, temperature);
  const std::vector<int32_t> order = ranked(logits);
  const double p_max = p[order[0]];
  std::vector<double> q(p.size(), 0.0);
  double before = 0.0, kept = 0.0;
  for (size_t r = 0; r < order.size(); ++r) {
    const int32_t id = order[r];
    if (top_k > 0 && static_cast<int32_t>(r) >= top_k) break;
    if (before >= top_p) break;
    before += p[id];
    if (p[id] >= min_p * p_max) {
      q[id] = p[id];
      kept += p[id];
    }
  }
  for (double& v : q) v /= kept;
  return q;
}

}  // namespace tandem::sampling::testing
