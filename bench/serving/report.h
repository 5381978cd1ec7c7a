// The results: SGLang-style summary table on stdout and the JSON result file (same key names as
// SGLang's bench_serving output where they exist: request_throughput, mean_ttft_ms, p99_itl_ms, ...).
//
// Thread model: pure functions.
#pragma once

#include <cstdint>
#include <cstdio>
#include <string>
#include <vector>

#include "bench/serving/metrics.h"

namespace tandem::bench {

// What was run; echoed into the JSON file so a result is self-describing.
struct BenchConfig {
  std::string backend;
  std::string target;  // base URL or worker address
  std::string model;
  std::string dataset_name;
  std::string dataset_path;
  int64_t num_prompts = 0;
  int64_t random_input_len = 0, random_output_len = 0;
  double random_range_ratio = 0;
  double request_rate = 0;  // inf allowed (written as the string "inf")
  int64_t max_concurrency = 0;  // 0: none
  uint64_t seed = 0;
  bool stream = true;
  int client_threads = 1;
  bool text_prompt = false;
};

void print_summary(std::FILE* out, const BenchConfig& config, const BenchMetrics& m);

// details: add per-request arrays (input_lens, output_lens, ttfts, e2e_latencies, itls,
// generated_texts, errors) as SGLang does with --output-details.
std::string result_json(const BenchConfig& config, const BenchMetrics& m,
                        const std::vector<RequestRecord>& records, bool details);

}  // namespace tandem::bench
