// Tandem's side of the comparison with Hugging Face transformers on the GPU machine
// (scripts/device/hf_compare.py runs it, then transformers on the same checkpoint and token ids):
// loads a checkpoint on the CUDA backend, runs all prompts as one ragged batch (so the prefill
// goes through the tensor-core attention path with a 16-bit cache), then greedy-decodes STEPS
// tokens per prompt in batched steps, and writes
//   OUT_DIR/tokens.txt      one line per prompt: the greedy token ids, space separated;
//   OUT_DIR/logits0.f32     the first step's logits, [prompts, vocab] little-endian float32.
// Usage: tandem_cuda_hf_check CHECKPOINT PROMPTS_FILE OUT_DIR [STEPS=16] [KV_DTYPE=bf16]
// PROMPTS_FILE holds one prompt a line as space-separated token ids.
#include <fmt/format.h>
#include <fmt/ranges.h>

#include <algorithm>
#include <cstdio>
#include <fstream>
#include <optional>
#include <sstream>
#include <string>
#include <vector>

#include "kernels/cuda/cuda_backend.h"
#include "worker/model/model_loader.h"

namespace tandem {
namespace {

int run(int argc, char** argv) {
  if (argc < 4) {
    fmt::print(stderr, "usage: {} CHECKPOINT PROMPTS_FILE OUT_DIR [STEPS=16] [KV_DTYPE=bf16]\n", argv[0]);
    return 2;
  }
  const std::string ckpt = argv[1], prompts_path = argv[2], out_dir = argv[3];
  const int steps = argc > 4 ? std::stoi(argv[4]) : 16;
  const std::optional<DType> kv_dtype = dtype_from_name(argc > 5 ? argv[5] : "bf16");
  if (!kv_dtype) {
    fmt::print(stderr, "KV dtype '{}' is not one of f32, f16, bf16\n", argv[5]);
    return 2;
  }
  std::vector<std::vector<int32_t>> prompts;
  std::ifstream in(prompts_path);
  for (std::string line; std::getline(in, line);) {
    std::istringstream ls(line);
    std::vector<int32_t> ids;
    for (int32_t t; ls >> t;) ids.push_back(t);
    if (!ids.empty()) prompts.push_back(std::move(ids));
  }
  if (prompts.empty()) {
    fmt::print(stderr, "{}: no prompts (one line of space-separated token ids each)\n", prompts_path);
    return 2;
  }
  auto be_or = kernels::make_cuda_backend(0);
  if (!be_or.ok()) {
    fmt::print(stderr, "{}\n", be_or.status().to_string());
    return 1;
  }
  auto loaded_or = model::load_model(ckpt, **be_or);
  if (!loaded_or.ok()) {
    fmt::print(stderr, "{}\n", loaded_or.status().to_string());
    return 1;
  }
  model::LlamaModel& m = *loaded_or->model;
  const auto& c = m.config();
  int32_t total = 0;
  for (const auto& p : prompts) total += static_cast<int32_t>(p.size()) + steps;
  runtime::KvCache kv(c.num_layers, total, c.kv_dim(), *kv_dtype, &m.backend());
  const size_t n = prompts.size();
  std::vector<std::vector<int32_t>> slots(n), tokens(n);
  std::vector<float> logits(n * c.vocab_size);
  model::ForwardBatch b;
  for (int step = 0; step < steps; ++step) {
    b.clear();
    for (size_t i = 0; i < n; ++i) {
      const std::vector<int32_t> fresh = step == 0 ? prompts[i] : std::vector<int32_t>{tokens[i].back()};
      if (!kv.allocator().allocate(static_cast<int32_t>(fresh.size()), slots[i]).ok()) {
        fmt::print(stderr, "KV allocation failed at step {}\n", step);
        return 1;
      }
      b.add_sequence(fresh, slots[i]);
    }
    m.forward(b, kv, logits.data());
    if (step == 0) {
      std::FILE* f = std::fopen((out_dir + "/logits0.f32").c_str(), "wb");
      if (!f || std::fwrite(logits.data(), sizeof(float), logits.size(), f) != logits.size()) {
        fmt::print(stderr, "cannot write {}/logits0.f32\n", out_dir);
        return 1;
      }
      std::fclose(f);
    }
    for (size_t i = 0; i < n; ++i) {
      const float* row = logits.data() + i * c.vocab_size;
      tokens[i].push_back(static_cast<int32_t>(std::max_element(row, row + c.vocab_size) - row));
    }
  }
  std::ofstream out(out_dir + "/tokens.txt");
  for (const auto& t : tokens) out << fmt::format("{}\n", fmt::join(t, " "));
  fmt::print("{} prompts x {} greedy tokens on {} ({} KV cache) -> {}\n", n, steps, m.backend().name(),
             dtype_name(*kv_dtype), out_dir);
  return out.good() ? 0 : 1;
}

}  // namespace
}  // namespace tandem

int main(int argc, char** argv) { return tandem::run(argc, argv); }
