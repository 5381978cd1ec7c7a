// Decode throughput of the engine on one model: single-stream tokens/s and batched decode at the
// given batch sizes, measured the way bench/peer/llama_cpp_decode.py measures llama.cpp (prompts
// prefilled first, then `steps` decode steps of one token per sequence; greedy). Prints one JSON
// line per batch size. Usage: tandem_bench_decode [--model PATH] [--threads N] [--batch 1,8,32]
//                                                 [--steps 64] [--prompt-len 16] [--repeats 3]
#include <algorithm>
#include <cstdio>
#include <string>
#include <vector>

#include <CLI/CLI.hpp>
#include <fmt/format.h>

#include "bench/common/decode_steps.h"
#include "cli/model_paths.h"
#include "kernels/backend.h"
#include "worker/model/model_loader.h"

using namespace tandem;

int main(int argc, char** argv) {
  CLI::App app{"Engine decode throughput"};
  std::string model_path = cli::default_model_path();
  int threads = 2, steps = 64, prompt_len = 16, repeats = 3;
  std::vector<int> batches = {1, 8, 32};
  std::string kv_dtype = "f32";
  app.add_option("--model", model_path);
  app.add_option("--threads", threads);
  app.add_option("--batch", batches)->delimiter(',');
  app.add_option("--steps", steps);
  app.add_option("--prompt-len", prompt_len);
  app.add_option("--repeats", repeats);
  app.add_option("--kv-dtype", kv_dtype, "f32, f16 or bf16");
  CLI11_PARSE(app, argc, argv);

  auto backend = kernels::make_cpu_backend(threads);
  auto loaded = model::load_model(model_path, *backend);
  if (!loaded.ok()) {
    fmt::print(stderr, "{}\n", loaded.status().to_string());
    return 1;
  }
  model::LlamaModel& m = *loaded->model;
  const std::optional<DType> kv_type = dtype_from_name(kv_dtype);
  if (!kv_type) {
    fmt::print(stderr, "unknown --kv-dtype {}\n", kv_dtype);
    return 2;
  }
  for (int bs : batches) {
    std::vector<double> rates;
    for (int rep = 0; rep < repeats; ++rep) {
      rates.push_back(1e3 * bs / bench::time_decode_steps(m, bs, prompt_len, steps, *kv_type));
    }
    std::sort(rates.begin(), rates.end());
    fmt::print("{{\"engine\": \"tandem\", \"batch\": {}, \"threads\": {}, \"kv_dtype\": \"{}\", \"steps\": {}, \"tok_per_s_median\": {:.2f}, "
               "\"tok_per_s_best\": {:.2f}, \"ms_per_step_median\": {:.3f}}}\n",
               bs, threads, kv_dtype, steps, rates[rates.size() / 2], rates.back(), 1e3 * bs / rates[rates.size() / 2]);
    std::fflush(stdout);
  }
  return 0;
}
