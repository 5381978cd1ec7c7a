#include "bench/serving/metrics.h"

#include <algorithm>
#include <cmath>
#include <numeric>

#include "common/check.h"

namespace tandem::bench {

double percentile(std::vector<double> values, double q) {
  if (values.empty()) return 0;
  std::sort(values.begin(), values.end());
  // numpy "linear": rank (n - 1) * q / 100 between the two nearest order statistics.
  const double rank = (static_cast<double>(values.size()) - 1) * q / 100.0;
  const auto lo = static_cast<size_t>(std::floor(rank));
  const size_t hi = std::min(lo + 1, values.size() - 1);
  const double frac = rank - static_cast<double>(lo);
  return values[lo] + (values[hi] - values[lo]) * frac;
}

Distribution summarize(std::vector<double> values) {
  Distribution d;
  if (values.empty()) return d;
  std::sort(values.begin(), values.end());
  const double n = static_cast<double>(values.size());
  d.mean = std::accumulate(values.begin(), values.end(), 0.0) / n;
  double sq = 0;
  for (double v : values) sq += (v - d.mean) * (v - d.mean);
  d.std = std::sqrt(sq / n);
  d.median = percentile(values, 50);
  d.p90 = percentile(values, 90);
  d.p95 = percentile(values, 95);
  d.p99 = percentile(values, 99);
  d.max = values.back();
  return d;
}

BenchMetrics compute_metrics(const std::vector<RequestRecord>& records, double duration_s) {
  CHECK(duration_s > 0, "benchmark duration must be positive, got {}", duration_s);
  BenchMetrics m;
  m.duration_s = duration_s;
  std::vector<double> ttft, tpot, itl, e2e;
  double e2e_sum = 0;
  for (const RequestRecord& r : records) {
    if (!r.success) {
      ++m.failed;
      continue;
    }
    ++m.completed;
    m.total_input_tokens += r.input_tokens;
    m.total_output_tokens += r.output_tokens;
    ttft.push_back(r.ttft_s * 1000);
    e2e.push_back(r.e2e_s * 1000);
    e2e_sum += r.e2e_s;
    if (r.output_tokens > 1) {
      tpot.push_back((r.e2e_s - r.ttft_s) / static_cast<double>(r.output_tokens - 1) * 1000);
    }
    for (double g : r.itl_s) itl.push_back(g * 1000);
  }
  m.request_throughput = static_cast<double>(m.completed) / duration_s;
  m.input_throughput = static_cast<double>(m.total_input_tokens) / duration_s;
  m.output_throughput = static_cast<double>(m.total_output_tokens) / duration_s;
  m.total_throughput = static_cast<double>(m.total_input_tokens + m.total_output_tokens) / duration_s;
  m.concurrency = e2e_sum / duration_s;
  m.ttft_ms = summarize(std::move(ttft));
  m.tpot_ms = summarize(std::move(tpot));
  m.itl_ms = summarize(std::move(itl));
  m.e2e_ms = summarize(std::move(e2e));
  return m;
}

}  // namespace tandem::bench
