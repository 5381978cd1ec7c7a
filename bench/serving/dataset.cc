#include "bench/serving/dataset.h"

#include <algorithm>
#include <random>

#include "gateway/text/tokenizer/tokenizer.h"

namespace tandem::bench {
namespace {

// The ids a random prompt may use: everything but special/control tokens (a random "<|im_end|>"
// would end chat turns early or be refused).
std::vector<int32_t> ordinary_ids(const text::Tokenizer& tokenizer) {
  std::vector<int32_t> ids;
  ids.reserve(static_cast<size_t>(tokenizer.vocab_size()));
  for (int32_t id = 0; id < tokenizer.vocab_size(); ++id) {
    if (!tokenizer.is_special(id) && !tokenizer.id_to_token(id).empty()) ids.push_back(id);
  }
  return ids;
}

std::vector<int32_t> random_ids(const std::vector<int32_t>& pool, int64_t n, std::mt19937_64& rng) {
  std::uniform_int_distribution<size_t> pick(0, pool.size() - 1);
  std::vector<int32_t> out(static_cast<size_t>(n));
  for (int32_t& id : out) id = pool[pick(rng)];
  return out;
}

int64_t random_len(int64_t len, double ratio, std::mt19937_64& rng) {
  const int64_t lo = std::max<int64_t>(1, static_cast<int64_t>(static_cast<double>(len) * ratio));
  return std::uniform_int_distribution<int64_t>(std::min(lo, len), len)(rng);
}

}  // namespace

StatusOr<std::vector<BenchPrompt>> make_random_prompts(const text::Tokenizer& tokenizer,
                                                       const RandomDatasetOptions& o) {
  if (o.num_prompts < 1 || o.input_len < 1 || o.output_len < 1) {
    return invalid_argument("random dataset: --num-prompts ({}), --random-input-len ({}) and "
                            "--random-output-len ({}) must all be at least 1",
                            o.num_prompts, o.input_len, o.output_len);
  }
  if (o.range_ratio < 0 || o.range_ratio > 1) {
    return invalid_argument("--random-range-ratio must be in [0, 1], got {}", o.range_ratio);
  }
  const std::vector<int32_t> pool = ordinary_ids(tokenizer);
  if (pool.empty()) return invalid_argument("the tokenizer has no ordinary (non-special) tokens");
  std::mt19937_64 rng(o.seed);
  std::vector<BenchPrompt> out;
  out.reserve(static_cast<size_t>(o.num_prompts));
  for (int64_t i = 0; i < o.num_prompts; ++i) {
    BenchPrompt p;
    p.input_len = random_len(o.input_len, o.range_ratio, rng);
    p.output_len = random_len(o.output_len, o.range_ratio, rng);
    p.ids = random_ids(pool, p.input_len, rng);
    p.text = tokenizer.decode(p.ids, /*skip_special_tokens=*/false);
    out.push_back(std::move(p));
  }
  return out;
}

StatusOr<std::vector<BenchPrompt>> make_shared_prefix_prompts(const text::Tokenizer& tokenizer,
                                                              const SharedPrefixOptions& o) {
  if (o.num_groups < 1 || o.prompts_per_group < 1 || o.system_prompt_len < 1 || o.question_len < 1 ||
      o.output_len < 1) {
    return invalid_argument("generated-shared-prefix: --gsp-num-groups ({}), --gsp-prompts-per-group "
                            "({}), --gsp-system-prompt-len ({}), --gsp-question-len ({}) and "
                            "--gsp-output-len ({}) must all be at least 1",
                            o.num_groups, o.prompts_per_group, o.system_prompt_len, o.question_len,
                            o.output_len);
  }
  const std::vector<int32_t> pool = ordinary_ids(tokenizer);
  if (pool.empty()) return invalid_argument("the tokenizer has no ordinary (non-special) tokens");
  std::mt19937_64 rng(o.seed);
  std::vector<BenchPrompt> out;
  out.reserve(static_cast<size_t>(o.num_groups * o.prompts_per_group));
  for (int64_t g = 0; g < o.num_groups; ++g) {
    const std::vector<int32_t> system = random_ids(pool, o.system_prompt_len, rng);
    const std::string system_text = tokenizer.decode(system, false);
    for (int64_t q = 0; q < o.prompts_per_group; ++q) {
      const std::vector<int32_t> question = random_ids(pool, o.question_len, rng);
      BenchPrompt p;
      p.ids = system;
      p.ids.insert(p.ids.end(), question.begin(), question.end());
      p.text = system_text + tokenizer.decode(question, false);
      p.input_len = static_cast<int64_t>(p.ids.size());
      p.output_len = o.output_len;
      out.push_back(std::move(p));
    }
  }
  std::shuffle(out.begin(), out.end(), rng);
  return out;
}

StatusOr<std::vector<BenchPrompt>> make_sharegpt_prompts(const text::Tokenizer& tokenizer,
                                                         std::vector<ShareGptPair> pairs,
                                                         const ShareGptOptions& o) {
  if (o.num_prompts < 1) return invalid_argument("--num-prompts must be at least 1, got {}", o.num_prompts);
  std::mt19937_64 rng(o.seed);
  std::shuffle(pairs.begin(), pairs.end(), rng);
  std::vector<BenchPrompt> out;
  int64_t skipped = 0;
  for (ShareGptPair& pair : pairs) {
    if (static_cast<int64_t>(out.size()) == o.num_prompts) break;
    BenchPrompt p;
    p.ids = tokenizer.encode(pair.prompt, /*add_special_tokens=*/false);
    p.input_len = static_cast<int64_t>(p.ids.size());
    p.output_len = o.fixed_output_len > 0
                       ? o.fixed_output_len
                       : static_cast<int64_t>(tokenizer.encode(pair.completion, false).size());
    // SGLang's filter: too short to measure, or too long for common context windows.
    if (p.input_len < 2 || p.output_len < 2 || p.input_len > 1024 || p.input_len + p.output_len > 2048) {
      ++skipped;
      continue;
    }
    p.text = std::move(pair.prompt);
    out.push_back(std::move(p));
  }
  if (static_cast<int64_t>(out.size()) < o.num_prompts) {
    return invalid_argument("the ShareGPT file has {} usable conversations ({} skipped for length: "
                            "prompt or output under 2 tokens, prompt over 1024 or both over 2048), "
                            "--num-prompts asks for {}; lower --num-prompts or use a larger file",
                            out.size(), skipped, o.num_prompts);
  }
  return out;
}

}  // namespace tandem::bench
