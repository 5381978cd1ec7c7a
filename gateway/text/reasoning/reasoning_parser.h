// ReasoningParser: splits a model's output into `reasoning_content` (the <think>…</think> block)
// and `content`, streaming or one-shot, with the same result for any chunking of the text.
//
// Rules, in stream order:
//  - starts_in_reasoning = false: leading whitespace is held; if the first other text is the start
//    tag the block begins, otherwise everything is content (a start tag later in the text is
//    ordinary content: models put the block first).
//  - starts_in_reasoning = true (the chat template already put the start tag in the prompt): the
//    output begins inside the block; a start tag the model repeats at its very beginning (after
//    whitespace) is dropped.
//  - Inside the block, whitespace right after the start and right before the end tag is dropped.
//  - After the end tag, leading whitespace of the content is dropped; the rest is content, and
//    further tags in it are left alone.
//  - No end tag by the end of the stream: everything after the start is reasoning (a held partial
//    end tag included).
// Text that could be the start of an awaited tag is held back until the next delta decides it.
//
// Thread model: one request's object, called by one thread at a time.
#pragma once

#include <memory>
#include <string>
#include <string_view>

#include "common/status.h"

namespace tandem::text {

struct ReasoningConfig {
  std::string start_tag = "<think>";
  std::string end_tag = "</think>";
  bool starts_in_reasoning = false;
};

struct ReasoningDelta {
  std::string reasoning;  // goes to `reasoning_content`
  std::string content;    // goes to `content`
};

class ReasoningParser {
 public:
  // Tags must be non-empty (CHECKed: configs come from code, not users).
  explicit ReasoningParser(ReasoningConfig config);

  ReasoningDelta feed(std::string_view delta);
  ReasoningDelta finish();
  // One-shot split of a whole output; independent of (and not touching) the streaming state.
  ReasoningDelta parse_complete(std::string_view text) const;

  const ReasoningConfig& config() const { return config_; }

 private:
  enum class State { kBeforeBlock, kBlockStart, kInBlock, kContent };
  void drain(ReasoningDelta& out);

  ReasoningConfig config_;
  State state_;
  std::string held_;
  bool skip_space_ = false;  // dropping whitespace after the end tag
};

// "qwen3" (<think> emitted by the model) and "deepseek_r1" (template opens the block). "none" or
// any other name is an error: the caller should then not create a parser at all.
StatusOr<std::unique_ptr<ReasoningParser>> make_reasoning_parser(std::string_view name);

}  // namespace tandem::text
