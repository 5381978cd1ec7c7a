// `tandem bench serving`: the whole run — tokenizer, dataset, backend, load, metrics, report.
// The CLI (cli/bench_command.cc) only maps flags onto ServingBenchOptions.
//
// Thread model: run_serving_bench() blocks the calling thread for the whole benchmark.
#pragma once

#include <cstdint>
#include <limits>
#include <string>

#include "common/status.h"

namespace tandem::bench {

struct ServingBenchOptions {
  std::string backend = "openai-completions";
  std::string base_url;   // HTTP backends
  std::string worker;     // grpc backend: host:port
  std::string model;      // "" : ask GET /v1/models (HTTP backends)
  std::string tokenizer;  // .gguf file or HF directory; "" : the bundled default model
  std::string dataset_name = "random";
  std::string dataset_path;
  int64_t num_prompts = 1000;
  int64_t random_input_len = 1024;
  int64_t random_output_len = 1024;
  double random_range_ratio = 0.0;
  int64_t sharegpt_output_len = 0;
  int64_t gsp_num_groups = 64;
  int64_t gsp_prompts_per_group = 16;
  int64_t gsp_system_prompt_len = 2048;
  int64_t gsp_question_len = 128;
  int64_t gsp_output_len = 256;
  double request_rate = std::numeric_limits<double>::infinity();
  int64_t max_concurrency = 0;
  uint64_t seed = 1;
  std::string output_file;
  bool output_details = false;
  bool disable_stream = false;
  bool text_prompt = false;
  bool disable_progress = false;
  int client_threads = 2;
  double request_timeout_s = 600;
  int64_t warmup_requests = 1;  // sent (and not counted) before the measured run
};

// Prints the summary on stdout. Error: the set-up failed (bad flags, unreadable dataset,
// unreachable server). Failed requests do not make it fail; they are counted and reported.
Status run_serving_bench(const ServingBenchOptions& options);

}  // namespace tandem::bench
