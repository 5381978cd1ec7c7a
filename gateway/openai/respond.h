// Response JSON builders: chat.completion and its stream chunks, text_completion and its stream
// chunks, usage, the /v1/models list, and SGLang's native /generate response. Each returns the
// serialized JSON (for an SSE event: the `data:` payload without the framing).
//
// Threads: pure functions (any thread).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace tandem::gateway::openai {

// "chatcmpl-<32 hex>" / "cmpl-<32 hex>"; random, distinct per call.
std::string make_chat_completion_id();
std::string make_completion_id();
int64_t unix_seconds_now();

struct ResponseMeta {
  std::string id;
  int64_t created = 0;  // unix seconds
  std::string model;
};

struct Usage {
  int64_t prompt_tokens = 0;
  int64_t completion_tokens = 0;
  std::optional<int64_t> cached_tokens;  // -> prompt_tokens_details.cached_tokens
};

struct TopLogprob {
  std::string token;
  double logprob = 0;
};

// One sampled token's logprob entry; `bytes` is derived from the token's UTF-8 text.
struct TokenLogprob {
  std::string token;
  double logprob = 0;
  std::vector<TopLogprob> top_logprobs;
};

struct ToolCall {
  std::string id;
  std::string name;
  std::string arguments;  // JSON-encoded
};

// A tool call fragment in a stream: the first delta of a call has id and name, later ones only
// argument text. Empty id / name are left out of the JSON.
struct ToolCallDelta {
  int index = 0;
  std::string id;
  std::string name;
  std::string arguments;
};

struct ChatChoice {
  int index = 0;
  std::string content;  // null in JSON when empty and tool_calls exist
  std::optional<std::string> reasoning_content;
  std::vector<ToolCall> tool_calls;
  std::string finish_reason;  // "stop", "length", "tool_calls", "abort"
  std::optional<std::vector<TokenLogprob>> logprobs;
  std::optional<std::string> matched_stop;  // SGLang extension: the stop string that matched
};

struct ChatChunkChoice {
  int index = 0;
  std::optional<std::string> role;  // "assistant" in each choice's first chunk
  std::optional<std::string> content;
  std::optional<std::string> reasoning_content;
  std::vector<ToolCallDelta> tool_calls;
  std::optional<std::string> finish_reason;  // null until the last chunk of the choice
  std::optional<std::vector<TokenLogprob>> logprobs;
};

std::string chat_completion_json(const ResponseMeta& meta, const std::vector<ChatChoice>& choices,
                                  const Usage& usage);
// A chunk; `usage` is set only on the final usage chunk (stream_options.include_usage), which
// has no choices.
std::string chat_chunk_json(const ResponseMeta& meta, const std::vector<ChatChunkChoice>& choices,
                            const std::optional<Usage>& usage = std::nullopt);

// Legacy completions logprobs: parallel arrays.
struct CompletionLogprobs {
  std::vector<std::string> tokens;
  std::vector<double> token_logprobs;
  std::vector<std::vector<TopLogprob>> top_logprobs;
  std::vector<int64_t> text_offset;
};

struct CompletionChoice {
  int index = 0;
  std::string text;
  std::optional<std::string> finish_reason;  // null in chunks until the last
  std::optional<CompletionLogprobs> logprobs;
};

std::string text_completion_json(const ResponseMeta& meta,
                                 const std::vector<CompletionChoice>& choices, const Usage& usage);
std::string completion_chunk_json(const ResponseMeta& meta,
                                  const std::vector<CompletionChoice>& choices,
                                  const std::optional<Usage>& usage = std::nullopt);

struct ModelCard {
  std::string id;
  int64_t created = 0;
  std::string owned_by = "tandem";
  std::optional<int64_t> max_model_len;
};
std::string models_list_json(const std::vector<ModelCard>& models);

// SGLang /generate meta_info.finish_reason: {"type":"stop","matched":<id or string>} |
// {"type":"length","length":N} | {"type":"abort","message":"..."}.
struct FinishReason {
  std::string type;
  std::optional<int64_t> matched_token;
  std::optional<std::string> matched_text;
  std::optional<int64_t> length;
  std::string message;
};

struct GenerateResult {
  std::string text;
  std::vector<int32_t> output_ids;
  std::string id;
  std::optional<FinishReason> finish_reason;  // null while streaming
  int64_t prompt_tokens = 0;
  int64_t completion_tokens = 0;
  int64_t cached_tokens = 0;
  double e2e_latency = 0;  // seconds
  // With return_logprob: meta_info.output_token_logprobs as [[logprob, token_id, null], ...]
  // and output_top_logprobs as [[[logprob, token_id, null], ...], ...].
  std::optional<std::vector<std::pair<double, int32_t>>> output_token_logprobs;
  std::optional<std::vector<std::vector<std::pair<double, int32_t>>>> output_top_logprobs;
};
std::string generate_response_json(const GenerateResult& result);

}  // namespace tandem::gateway::openai
