// Benchmark metrics, defined as SGLang's bench_serving defines them, from per-request records.
//
// Times are seconds on one steady clock. TTFT: send -> first chunk with content. ITL: every gap
// between consecutive content chunks. TPOT: per request with more than one output token,
// (e2e - ttft) / (output_tokens - 1). Percentiles interpolate linearly (numpy's default), std is
// the population std (numpy's), so numbers compare one to one with SGLang's.
//
// Thread model: plain values and pure functions; call from any thread.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace tandem::bench {

// What one request produced. The runner fills it on the request's I/O thread.
struct RequestRecord {
  bool success = false;
  std::string error;            // when !success: what failed (HTTP status + body, gRPC status, ...)
  double start_s = 0;           // send time, relative to the benchmark's start
  double ttft_s = 0;            // 0 until the first content chunk
  double e2e_s = 0;             // send -> response complete
  std::vector<double> itl_s;    // gaps between content chunks
  int64_t input_tokens = 0;     // from usage when the server reports it, else the prompt's length
  int64_t output_tokens = 0;    // from usage / meta_info / worker counts
  std::string generated_text;   // HTTP backends; empty for grpc (token ids only)
};

// mean / median / std / p90 / p95 / p99 of one series, in the series' unit. All zero when empty
// (SGLang: np.mean(x or 0)).
struct Distribution {
  double mean = 0, median = 0, std = 0, p90 = 0, p95 = 0, p99 = 0, max = 0;
};
Distribution summarize(std::vector<double> values);
// numpy.percentile(values, q) with linear interpolation; values need not be sorted. 0 when empty.
double percentile(std::vector<double> values, double q);

struct BenchMetrics {
  double duration_s = 0;
  int64_t completed = 0;
  int64_t failed = 0;
  int64_t total_input_tokens = 0;   // completed requests only
  int64_t total_output_tokens = 0;  // completed requests only
  double request_throughput = 0;    // completed / duration
  double input_throughput = 0;      // tokens/s
  double output_throughput = 0;
  double total_throughput = 0;      // (input + output) / duration
  double concurrency = 0;           // sum of E2E / duration
  Distribution ttft_ms, tpot_ms, itl_ms, e2e_ms;
};

// duration_s: first send -> last completion (the benchmark's wall time); must be > 0.
BenchMetrics compute_metrics(const std::vector<RequestRecord>& records, double duration_s);

}  // namespace tandem::bench
