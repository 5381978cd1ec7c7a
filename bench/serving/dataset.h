// Benchmark prompts: `random` (token-length ranges), `generated-shared-prefix` (groups of
// questions behind one long system prompt, for prefix caches) and ShareGPT-format JSON files.
// Semantics follow SGLang's bench_serving (sample_random_requests, sample_generated_shared_prefix_
// requests, sample_sharegpt_requests); the code is our own.
//
// Every prompt carries both forms: text (chat, and completions when token ids are not wanted) and
// token ids (completions / sglang-generate / grpc send these, so input lengths are exact).
//
// Thread model: pure functions; the tokenizer is only read (text::Tokenizer is thread-safe).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"

namespace tandem::text {
class Tokenizer;
}

namespace tandem::bench {

struct BenchPrompt {
  std::string text;
  std::vector<int32_t> ids;  // what the tokenizer made of text (or the ids text was decoded from)
  int64_t input_len = 0;     // ids.size()
  int64_t output_len = 0;    // max_tokens to ask for (sent with ignore_eos)
};

struct RandomDatasetOptions {
  int64_t num_prompts = 1000;
  int64_t input_len = 1024;
  int64_t output_len = 1024;
  // Lengths are uniform in [max(1, len * ratio), len]; 1.0 gives exactly len.
  double range_ratio = 0.0;
  uint64_t seed = 1;
};
// Random non-special token ids; text = their decoding.
StatusOr<std::vector<BenchPrompt>> make_random_prompts(const text::Tokenizer& tokenizer,
                                                       const RandomDatasetOptions& options);

struct SharedPrefixOptions {
  int64_t num_groups = 64;
  int64_t prompts_per_group = 16;
  int64_t system_prompt_len = 2048;
  int64_t question_len = 128;
  int64_t output_len = 256;
  uint64_t seed = 1;
};
// num_groups * prompts_per_group prompts, shuffled; within a group all share the system prompt's
// ids as their first system_prompt_len tokens.
StatusOr<std::vector<BenchPrompt>> make_shared_prefix_prompts(const text::Tokenizer& tokenizer,
                                                              const SharedPrefixOptions& options);

// One usable conversation of a ShareGPT file: the first human turn and the gpt turn after it.
struct ShareGptPair {
  std::string prompt;
  std::string completion;
};
// json: the file's contents; source names the file in errors. Entries without a human turn
// followed by a gpt turn are skipped (as SGLang skips conversations shorter than two turns);
// a file that is not a list of {conversations: [{from, value}, ...]} is an error saying where.
StatusOr<std::vector<ShareGptPair>> parse_sharegpt(std::string_view json, const std::string& source);

struct ShareGptOptions {
  int64_t num_prompts = 1000;
  int64_t fixed_output_len = 0;  // > 0: overrides the completion's token count
  uint64_t seed = 1;
};
// Shuffles, tokenizes, drops pairs SGLang drops (prompt or output under 2 tokens, prompt over
// 1024, prompt + output over 2048) and keeps num_prompts. Fewer usable pairs than asked: error.
StatusOr<std::vector<BenchPrompt>> make_sharegpt_prompts(const text::Tokenizer& tokenizer,
                                                         std::vector<ShareGptPair> pairs,
                                                         const ShareGptOptions& options);

}  // namespace tandem::bench
