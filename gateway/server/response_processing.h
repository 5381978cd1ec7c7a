// Response processing for one choice (one sample of a request): token ids from the worker →
// incremental detokenization → stop strings → reasoning split (<think>) → tool-call parsing →
// the deltas the OpenAI / native responses are made of.
//
// Threads: one ChoiceState per choice, used by the request's handler only.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "gateway/openai/respond.h"
#include "gateway/server/model_context.h"
#include "gateway/text/reasoning/reasoning_parser.h"
#include "gateway/text/stop/stop_matcher.h"
#include "gateway/text/tool_parsers/tool_parser.h"

namespace tandem::gateway::server {

struct ChoiceOptions {
  std::vector<std::string> stop;        // stop strings (the worker stops on ids only)
  bool skip_special_tokens = true;
  bool parse_reasoning = false;         // split <think> blocks into reasoning_content
  std::string reasoning_parser = "qwen3";
  bool parse_tools = false;             // tools given and tool_choice != none
  std::string tool_parser = "hermes";
  std::vector<text::ToolSpec> tools;
  int top_logprobs = 0;                 // alternatives per token (when logprobs are kept)
};

// What one batch of tokens (or the end) adds to a choice.
struct ChoiceDelta {
  std::string content;
  std::string reasoning;
  std::vector<openai::ToolCallDelta> tool_calls;
  std::vector<openai::TokenLogprob> logprobs;
  bool stopped = false;  // a stop string matched: the rest of the output is to be dropped
};

// A logprob entry from the worker: the sampled token and its alternatives.
struct TokenLogprobIn {
  int32_t token = 0;
  float logprob = 0;
  std::vector<std::pair<int32_t, float>> top;
};

class ChoiceState {
 public:
  static StatusOr<std::unique_ptr<ChoiceState>> create(std::shared_ptr<const ModelContext> model,
                                                       ChoiceOptions options, int index);

  // New tokens from the worker (and their logprobs when asked for). Tokens after a stop string
  // matched are ignored.
  ChoiceDelta on_tokens(const std::vector<int32_t>& tokens,
                        const std::vector<TokenLogprobIn>& logprobs);
  // The worker finished this choice ("stop", "length", "abort"): flushes held-back text.
  ChoiceDelta on_finish(const std::string& worker_finish_reason);

  int index() const { return index_; }
  bool finished() const { return finished_; }
  bool stopped_by_string() const { return stopped_; }
  // "stop" | "length" | "tool_calls" | "abort" (valid after on_finish or a stop string).
  const std::string& finish_reason() const { return finish_reason_; }
  const std::optional<std::string>& matched_stop() const { return matched_stop_; }
  int64_t completion_tokens() const { return completion_tokens_; }

  // Everything so far, for non-streaming responses.
  const std::string& content() const { return content_; }
  const std::string& reasoning() const { return reasoning_; }
  const std::vector<openai::ToolCall>& tool_calls() const { return calls_; }
  const std::vector<openai::TokenLogprob>& logprobs() const { return all_logprobs_; }
  const std::vector<int32_t>& output_ids() const { return output_ids_; }
  std::string text() const { return raw_text_; }  // detokenized text before reasoning/tool split

 private:
  ChoiceState(std::shared_ptr<const ModelContext> model, ChoiceOptions options, int index);
  // Runs text through stop → reasoning → tools and accumulates.
  void feed_text(std::string piece, ChoiceDelta& out, bool end);
  void route_content(const std::string& text, ChoiceDelta& out, bool end);
  openai::TokenLogprob to_logprob(const TokenLogprobIn& in) const;

  std::shared_ptr<const ModelContext> model_;
  ChoiceOptions options_;
  int index_;
  std::unique_ptr<text::IncrementalDetokenizer> detok_;
  std::optional<text::StopMatcher> stop_;
  std::unique_ptr<text::ReasoningParser> reasoning_parser_;
  std::unique_ptr<text::ToolParser> tool_parser_;
  bool stopped_ = false;
  bool finished_ = false;
  std::string finish_reason_;
  std::optional<std::string> matched_stop_;
  int64_t completion_tokens_ = 0;
  std::string raw_text_, content_, reasoning_;
  std::vector<openai::ToolCall> calls_;
  std::vector<openai::TokenLogprob> all_logprobs_;
  std::vector<int32_t> output_ids_;
};

}  // namespace tandem::gateway::server
