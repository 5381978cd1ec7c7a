#include "worker/runtime/generator.h"

#include <chrono>

#include "common/check.h"

namespace tandem::runtime {

namespace {
using Clock = std::chrono::steady_clock;
double seconds_since(Clock::time_point t0) {
  return std::chrono::duration<double>(Clock::now() - t0).count();
}

struct Sequence {
  std::vector<int32_t> slots;
  std::vector<int32_t> tokens;  // prompt + generated
  std::unique_ptr<sampling::SequenceSampler> sampler;
  bool finished = false;
};
}  // namespace

Generator::Generator(model::LlamaModel& model, KvCache& kv, std::vector<int32_t> eos_ids, uint64_t base_seed,
                     int max_batch_tokens)
    : model_(model), kv_(kv), eos_ids_(std::move(eos_ids)), base_seed_(base_seed), max_batch_tokens_(max_batch_tokens) {}

StatusOr<GenerateStats> Generator::run(const std::vector<GenerateRequest>& requests,
                                       const std::function<void(const TokenEvent&)>& on_token) {
  const model::ModelConfig& cfg = model_.config();
  const int vocab = cfg.vocab_size;
  int64_t need = 0;
  for (size_t i = 0; i < requests.size(); ++i) {
    const GenerateRequest& r = requests[i];
    if (r.prompt.empty()) return invalid_argument("request {}: empty prompt", i);
    RETURN_IF_ERROR(r.params.validate(vocab).with_context(fmt::format("request {}", i)));
    for (int32_t t : r.prompt) {
      if (t < 0 || t >= vocab) return invalid_argument("request {}: token id {} outside vocab of {}", i, t, vocab);
    }
    const int64_t total = static_cast<int64_t>(r.prompt.size()) + r.params.max_new_tokens;
    if (total > cfg.max_position_embeddings) {
      return invalid_argument("request {}: prompt ({} tokens) + max_new_tokens ({}) exceeds the model's "
                              "context length of {}", i, r.prompt.size(), r.params.max_new_tokens,
                              cfg.max_position_embeddings);
    }
    need += total;
  }
  if (need > kv_.allocator().num_free()) {
    return resource_exhausted("KV cache too small: {} requests need {} token slots, {} free; lower "
                              "max_new_tokens or raise the KV cache size", requests.size(), need,
                              kv_.allocator().num_free());
  }

  GenerateStats stats;
  std::vector<Sequence> seqs(requests.size());
  for (size_t i = 0; i < requests.size(); ++i) {
    seqs[i].tokens = requests[i].prompt;
    seqs[i].sampler = std::make_unique<sampling::SequenceSampler>(requests[i].params, requests[i].prompt,
                                                                  eos_ids_, /*fallback_seed=*/base_seed_ + i);
    stats.prompt_tokens += static_cast<int64_t>(requests[i].prompt.size());
  }

  model::ForwardBatch batch;
  std::vector<float> logits;
  std::vector<int> rows;  // request index of each logits row
  auto run_batch = [&]() {
    logits.resize(batch.logit_rows.size() * static_cast<size_t>(vocab));
    model_.forward(batch, kv_, logits.data());
    for (size_t j = 0; j < rows.size(); ++j) {
      Sequence& s = seqs[rows[j]];
      TokenEvent ev;
      ev.request = rows[j];
      ev.sample = s.sampler->sample(logits.data() + j * vocab, vocab);
      ev.finish = s.sampler->accept(ev.sample.token);
      s.tokens.push_back(ev.sample.token);
      s.finished = ev.finish != sampling::FinishReason::kNone;
      on_token(ev);
      ++stats.generated_tokens;
    }
    batch.clear();
    rows.clear();
  };

  // Prefill: pack whole prompts into batches of at most max_batch_tokens (a longer prompt runs alone).
  auto t0 = Clock::now();
  for (size_t i = 0; i < seqs.size(); ++i) {
    Sequence& s = seqs[i];
    const int32_t n = static_cast<int32_t>(s.tokens.size());
    if (batch.num_tokens() > 0 && batch.num_tokens() + n > max_batch_tokens_) run_batch();
    Status st = kv_.allocator().allocate(n, s.slots);
    CHECK(st.ok(), "KV allocation failed after the capacity check: {}", st.to_string());
    batch.add_sequence(s.tokens, s.slots);
    rows.push_back(static_cast<int>(i));
  }
  if (batch.num_tokens() > 0) run_batch();
  stats.prefill_seconds = seconds_since(t0);

  // Decode: every unfinished sequence advances one token per step.
  t0 = Clock::now();
  while (true) {
    for (size_t i = 0; i < seqs.size(); ++i) {
      Sequence& s = seqs[i];
      if (s.finished) continue;
      Status st = kv_.allocator().allocate(1, s.slots);
      CHECK(st.ok(), "KV allocation failed after the capacity check: {}", st.to_string());
      batch.add_sequence(std::span<const int32_t>(&s.tokens.back(), 1), s.slots);
      rows.push_back(static_cast<int>(i));
    }
    if (rows.empty()) break;
    run_batch();
    ++stats.decode_steps;
  }
  stats.decode_seconds = seconds_since(t0);
  for (Sequence& s : seqs) kv_.allocator().release(s.slots);
  return stats;
}

}  // namespace tandem::runtime
