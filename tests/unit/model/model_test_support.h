// Helpers for model tests: load a checkpoint on the CPU backend and run greedy decoding through
// the real forward pass with a KV cache, one request or a ragged batch at a time.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "kernels/backend.h"
#include "worker/model/model_loader.h"
#include "worker/runtime/kv_cache.h"

namespace tandem::testing {

struct TestModel {
  std::unique_ptr<kernels::Backend> backend;
  model::LoadedModel loaded;
  model::LlamaModel& model() { return *loaded.model; }
  const model::ModelConfig& config() { return loaded.model->config(); }
};

// Aborts the test (fatal assertion in the caller via status) when loading fails.
// With a group of size > 1: that rank's tensor-parallel shard.
StatusOr<std::unique_ptr<TestModel>> load_test_model(const std::string& path,
                                                     std::unique_ptr<kernels::Backend> backend,
                                                     runtime::ProcessGroup* group = nullptr);

// Logits of every position of `prompt` (prefill in one forward): [prompt.size(), vocab].
std::vector<float> prompt_logits(TestModel& m, const std::vector<int32_t>& prompt);

// Greedy continuation of each prompt, run together as one ragged batch (prefill all, then decode
// all), `steps` tokens each; last_logits receives each sequence's logits before every step.
std::vector<std::vector<int32_t>> greedy_batch(TestModel& m, const std::vector<std::vector<int32_t>>& prompts,
                                               int steps,
                                               std::vector<std::vector<std::vector<float>>>* step_logits = nullptr,
                                               DType kv_dtype = DType::kF32);

int32_t argmax(const float* logits, int32_t n);

}  // namespace tandem::testing
