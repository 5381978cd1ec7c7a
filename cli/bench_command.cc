#include "cli/bench_command.h"

#include <CLI/CLI.hpp>
#include <fmt/format.h>

#include <cmath>
#include <memory>
#include <string>

#include "bench/serving/serving_bench.h"
#include "cli/model_paths.h"

namespace tandem::cli {

namespace {

// Parses --request-rate: a positive number or "inf".
bool parse_rate(const std::string& text, double* out) {
  if (text == "inf" || text == "Inf" || text == "infinity") {
    *out = INFINITY;
    return true;
  }
  try {
    size_t used = 0;
    *out = std::stod(text, &used);
    return used == text.size() && *out > 0;
  } catch (const std::exception&) {
    return false;
  }
}

void add_serving(CLI::App& bench, int& exit_code) {
  auto o = std::make_shared<bench::ServingBenchOptions>();
  auto rate = std::make_shared<std::string>("inf");
  CLI::App* s = bench.add_subcommand("serving", "Load-test a serving endpoint (SGLang bench_serving metrics)");
  s->add_option("--backend", o->backend, "openai-chat | openai-completions | sglang-generate | grpc")
      ->capture_default_str();
  s->add_option("--base-url", o->base_url, "HTTP backends: http://host:port");
  s->add_option("--worker", o->worker, "grpc backend: the worker's host:port (no gateway in the path)");
  s->add_option("--model", o->model, "model name sent in request bodies (default: first of GET /v1/models)");
  s->add_option("--tokenizer", o->tokenizer, "a .gguf file or HF tokenizer directory (default: the bundled model)");
  s->add_option("--dataset-name", o->dataset_name, "random | generated-shared-prefix | sharegpt")
      ->capture_default_str();
  s->add_option("--dataset-path", o->dataset_path, "ShareGPT-format JSON file");
  s->add_option("--num-prompts", o->num_prompts, "number of requests")->capture_default_str();
  s->add_option("--random-input-len", o->random_input_len)->capture_default_str();
  s->add_option("--random-output-len", o->random_output_len)->capture_default_str();
  s->add_option("--random-range-ratio", o->random_range_ratio,
                "lengths uniform in [len*ratio, len]; 1 = exact")->capture_default_str();
  s->add_option("--sharegpt-output-len", o->sharegpt_output_len, "override ShareGPT output lengths");
  s->add_option("--gsp-num-groups", o->gsp_num_groups)->capture_default_str();
  s->add_option("--gsp-prompts-per-group", o->gsp_prompts_per_group)->capture_default_str();
  s->add_option("--gsp-system-prompt-len", o->gsp_system_prompt_len)->capture_default_str();
  s->add_option("--gsp-question-len", o->gsp_question_len)->capture_default_str();
  s->add_option("--gsp-output-len", o->gsp_output_len)->capture_default_str();
  s->add_option("--request-rate", *rate, "requests/s, Poisson arrivals; inf = all at once")->capture_default_str();
  s->add_option("--max-concurrency", o->max_concurrency, "most requests in flight (0 = no limit)")
      ->capture_default_str();
  s->add_option("--seed", o->seed)->capture_default_str();
  s->add_option("--output-file", o->output_file, "write the JSON result here");
  s->add_flag("--output-details", o->output_details, "per-request records in the JSON file");
  s->add_flag("--disable-stream", o->disable_stream, "non-streaming requests (TTFT = E2E)");
  s->add_flag("--text-prompt", o->text_prompt,
              "openai-completions / sglang-generate: send prompt text instead of token ids");
  s->add_flag("--disable-progress", o->disable_progress, "no progress bar");
  s->add_option("--client-threads", o->client_threads, "client I/O threads")->capture_default_str();
  s->add_option("--request-timeout", o->request_timeout_s, "seconds before an unfinished request fails")
      ->capture_default_str();
  s->add_option("--warmup-requests", o->warmup_requests, "unmeasured requests sent first")->capture_default_str();
  s->callback([o, rate, &exit_code] {
    if (!parse_rate(*rate, &o->request_rate)) {
      fmt::print(stderr, "tandem bench serving: --request-rate must be a positive number or inf, got '{}'\n", *rate);
      exit_code = 2;
      return;
    }
    if (o->tokenizer.empty()) o->tokenizer = default_model_path();
    const Status st = bench::run_serving_bench(*o);
    if (!st.ok()) {
      fmt::print(stderr, "tandem bench serving: {}\n", st.to_string());
      exit_code = 1;
    }
  });
}

}  // namespace

void add_bench_command(CLI::App& app, int& exit_code) {
  CLI::App* bench = app.add_subcommand("bench", "Benchmarks");
  bench->require_subcommand(1);
  add_serving(*bench, exit_code);
}

}  // namespace tandem::cli
