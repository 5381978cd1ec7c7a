#include "gateway/text/reasoning/reasoning_parser.h"

#include <utility>

#include "common/check.h"
#include "gateway/text/stop/partial_match.h"

namespace tandem::text {
namespace {

size_t skip_spaces(std::string_view s, size_t pos) {
  while (pos < s.size() && is_json_space(s[pos])) ++pos;
  return pos;
}

// Length of `s` without its trailing whitespace.
size_t trimmed_end(std::string_view s) {
  size_t end = s.size();
  while (end > 0 && is_json_space(s[end - 1])) --end;
  return end;
}

}  // namespace

ReasoningParser::ReasoningParser(ReasoningConfig config)
    : config_(std::move(config)),
      state_(config_.starts_in_reasoning ? State::kBlockStart : State::kBeforeBlock) {
  CHECK(!config_.start_tag.empty() && !config_.end_tag.empty(),
        "reasoning tags must be non-empty (start '{}', end '{}')", config_.start_tag,
        config_.end_tag);
}

ReasoningDelta ReasoningParser::feed(std::string_view delta) {
  held_.append(delta);
  ReasoningDelta out;
  drain(out);
  return out;
}

// Moves as much of held_ as is decided into `out`, switching states on tags. Loops because one
// delta can carry several transitions (start tag, end tag, content).
void ReasoningParser::drain(ReasoningDelta& out) {
  for (;;) {
    std::string_view text = held_;
    switch (state_) {
      case State::kBeforeBlock:
      case State::kBlockStart: {
        size_t first = skip_spaces(text, 0);
        std::string_view rest = text.substr(first);
        if (rest.empty() || is_proper_prefix(rest, config_.start_tag)) return;  // undecided
        bool opens = rest.starts_with(config_.start_tag);
        if (state_ == State::kBeforeBlock && !opens) {
          state_ = State::kContent;  // no block: everything, whitespace included, is content
          continue;
        }
        // Whitespace before a (repeated) start tag and right after it is dropped.
        held_.erase(0, first + (opens ? config_.start_tag.size() : 0));
        state_ = State::kInBlock;
        skip_space_ = true;
        continue;
      }
      case State::kInBlock: {
        if (skip_space_) {
          held_.erase(0, skip_spaces(held_, 0));
          if (held_.empty()) return;
          skip_space_ = false;
          text = held_;
        }
        size_t end = text.find(config_.end_tag);
        if (end != std::string_view::npos) {
          out.reasoning.append(text.substr(0, trimmed_end(text.substr(0, end))));
          held_.erase(0, end + config_.end_tag.size());
          state_ = State::kContent;
          skip_space_ = true;
          continue;
        }
        // Hold a possible partial end tag, and the whitespace before it (dropped if the tag
        // follows).
        size_t keep_from = text.size() - partial_suffix_len(text, config_.end_tag);
        keep_from = trimmed_end(text.substr(0, keep_from));
        out.reasoning.append(text.substr(0, keep_from));
        held_.erase(0, keep_from);
        return;
      }
      case State::kContent: {
        if (skip_space_) {
          held_.erase(0, skip_spaces(held_, 0));
          if (held_.empty()) return;
          skip_space_ = false;
        }
        out.content.append(held_);
        held_.clear();
        return;
      }
    }
  }
}

ReasoningDelta ReasoningParser::finish() {
  ReasoningDelta out;
  switch (state_) {
    case State::kBeforeBlock:
      out.content = std::move(held_);
      break;
    case State::kBlockStart:
    case State::kInBlock:
      // No end tag: the rest is reasoning; whitespace at the edges is still trimmed.
      if (!skip_space_ && state_ == State::kInBlock) {
        out.reasoning.assign(std::string_view(held_).substr(0, trimmed_end(held_)));
      } else {
        std::string_view rest = std::string_view(held_).substr(skip_spaces(held_, 0));
        out.reasoning.assign(rest.substr(0, trimmed_end(rest)));
      }
      break;
    case State::kContent:
      break;  // nothing is held in this state
  }
  held_.clear();
  return out;
}

ReasoningDelta ReasoningParser::parse_complete(std::string_view text) const {
  ReasoningParser fresh(config_);
  ReasoningDelta out = fresh.feed(text);
  ReasoningDelta tail = fresh.finish();
  out.reasoning += tail.reasoning;
  out.content += tail.content;
  return out;
}

StatusOr<std::unique_ptr<ReasoningParser>> make_reasoning_parser(std::string_view name) {
  ReasoningConfig config;
  if (name == "qwen3") {
    config.starts_in_reasoning = false;
  } else if (name == "deepseek_r1") {
    config.starts_in_reasoning = true;
  } else {
    return invalid_argument(
        "unknown reasoning parser '{}'; known: qwen3, deepseek_r1 (for no reasoning split, create "
        "no parser)",
        name);
  }
  return std::make_unique<ReasoningParser>(std::move(config));
}

}  // namespace tandem::text
