#include "tests/unit/model/model_test_support.h"

#include <algorithm>

#include "common/check.h"

namespace tandem::testing {

StatusOr<std::unique_ptr<TestModel>> load_test_model(const std::string& path,
                                                     std::unique_ptr<kernels::Backend> backend,
                                                     runtime::ProcessGroup* group) {
  auto m = std::make_unique<TestModel>();
  m->backend = std::move(backend);
  ASSIGN_OR_RETURN(m->loaded, model::load_model(path, *m->backend, group));
  return m;
}

int32_t argmax(const float* logits, int32_t n) {
  return static_cast<int32_t>(std::max_element(logits, logits + n) - logits);
}

std::vector<float> prompt_logits(TestModel& m, const std::vector<int32_t>& prompt) {
  const auto& c = m.config();
  runtime::KvCache kv(c.num_layers, static_cast<int32_t>(prompt.size()), m.model().local_kv_dim());
  std::vector<int32_t> slots;
  CHECK(kv.allocator().allocate(static_cast<int32_t>(prompt.size()), slots).ok());
  model::ForwardBatch b;
  b.add_sequence(prompt, slots, /*all_logits=*/true);
  std::vector<float> logits(prompt.size() * c.vocab_size);
  m.model().forward(b, kv, logits.data());
  return logits;
}

std::vector<std::vector<int32_t>> greedy_batch(TestModel& m, const std::vector<std::vector<int32_t>>& prompts,
                                               int steps, std::vector<std::vector<std::vector<float>>>* step_logits,
                                               DType kv_dtype) {
  const auto& c = m.config();
  const int32_t vocab = c.vocab_size;
  int32_t total = 0;
  for (const auto& p : prompts) total += static_cast<int32_t>(p.size()) + steps;
  runtime::KvCache kv(c.num_layers, total, m.model().local_kv_dim(), kv_dtype);
  const size_t n = prompts.size();
  std::vector<std::vector<int32_t>> slots(n), out(n);
  if (step_logits) step_logits->assign(n, {});
  model::ForwardBatch b;
  std::vector<float> logits(n * vocab);
  for (int step = 0; step <= steps; ++step) {
    b.clear();
    for (size_t i = 0; i < n; ++i) {
      std::vector<int32_t> fresh = step == 0 ? prompts[i] : std::vector<int32_t>{out[i].back()};
      CHECK(kv.allocator().allocate(static_cast<int32_t>(fresh.size()), slots[i]).ok());
      b.add_sequence(fresh, slots[i]);
    }
    if (step == steps) break;
    m.model().forward(b, kv, logits.data());
    for (size_t i = 0; i < n; ++i) {
      const float* row = logits.data() + i * vocab;
      if (step_logits) (*step_logits)[i].emplace_back(row, row + vocab);
      out[i].push_back(argmax(row, vocab));
    }
  }
  return out;
}

}  // namespace tandem::testing
