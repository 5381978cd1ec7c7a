// The decode loop the engine benchmarks share (bench/engine/decode_bench.cc, bench/tp/tp_bench.cc):
// bs prompts of prompt_len tokens prefilled in one batch, then `steps` decode steps of one token per
// sequence, greedy over host logits (so every tensor-parallel rank picks the same tokens without a
// control channel). Returns the mean milliseconds of one decode step. Header-only: the benchmarks
// are single-file executables.
#pragma once

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <span>
#include <vector>

#include "common/dtype.h"
#include "worker/model/llama_model.h"
#include "worker/runtime/kv_cache.h"

namespace tandem::bench {

inline double time_decode_steps(model::LlamaModel& m, int bs, int prompt_len, int steps, DType kv_type) {
  const model::ModelConfig& c = m.config();
  runtime::KvCache kv(c.num_layers, bs * (prompt_len + steps + 1), m.local_kv_dim(), kv_type);
  std::vector<std::vector<int32_t>> slots(bs);
  std::vector<int32_t> last(bs);
  model::ForwardBatch b;
  for (int s = 0; s < bs; ++s) {
    std::vector<int32_t> prompt;
    for (int i = 0; i < prompt_len; ++i) prompt.push_back(100 + (s * 131 + i * 17) % 20000);
    (void)kv.allocator().allocate(prompt_len, slots[s]);
    b.add_sequence(prompt, slots[s]);
  }
  std::vector<float> logits(static_cast<size_t>(bs) * c.vocab_size);
  auto pick = [&] {
    for (int s = 0; s < bs; ++s) {
      const float* row = logits.data() + static_cast<size_t>(s) * c.vocab_size;
      last[s] = static_cast<int32_t>(std::max_element(row, row + c.vocab_size) - row);
    }
  };
  m.forward(b, kv, logits.data());
  pick();
  const auto t0 = std::chrono::steady_clock::now();
  for (int step = 0; step < steps; ++step) {
    b.clear();
    for (int s = 0; s < bs; ++s) {
      (void)kv.allocator().allocate(1, slots[s]);
      b.add_sequence(std::span<const int32_t>(&last[s], 1), slots[s]);
    }
    m.forward(b, kv, logits.data());
    pick();
  }
  return 1e3 * std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count() / steps;
}

}  // namespace tandem::bench
