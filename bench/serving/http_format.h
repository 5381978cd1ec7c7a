// What the HTTP backends send and how they read the answer: request bodies for /v1/chat/completions,
// /v1/completions and SGLang's /generate, and the interpretation of each streamed event (or the
// whole non-streamed body): does it carry output (a timed chunk), token counts, an error?
//
// Every request asks for greedy sampling, exactly prompt.output_len tokens and ignore_eos, as
// SGLang's bench_serving does, so output lengths are controlled.
//
// Thread model: ResponseState belongs to one request; pure functions otherwise.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "bench/serving/backend.h"

namespace tandem::bench {

std::string request_path(BackendKind kind);
// text_prompt: completions / generate send prompt.text instead of prompt.ids (for servers that take
// no token ids, e.g. SMG's /v1/completions; the server's tokenizer then sets the input length).
std::string request_body(BackendKind kind, const BenchPrompt& prompt, const std::string& model, bool stream,
                         bool text_prompt = false);

class ResponseState {
 public:
  explicit ResponseState(BackendKind kind) : kind_(kind) {}
  // One SSE event's data. Returns true when it carried output text/tokens (a chunk to time).
  bool on_event(std::string_view data);
  // A non-streamed JSON body.
  void on_body(std::string_view body);

  bool done() const { return done_; }  // "[DONE]" seen
  const std::string& error() const { return error_; }
  const std::string& text() const { return text_; }
  int64_t prompt_tokens() const { return prompt_tokens_; }        // -1: not reported
  int64_t completion_tokens() const { return completion_tokens_; }  // -1: not reported

 private:
  bool take(std::string_view json_text, bool streamed);

  BackendKind kind_;
  bool done_ = false;
  std::string error_;
  std::string text_;
  int64_t prompt_tokens_ = -1;
  int64_t completion_tokens_ = -1;
};

}  // namespace tandem::bench
