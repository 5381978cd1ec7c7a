#include "gateway/text/tool_parsers/llama3_parser.h"

#include <utility>

#include "gateway/text/stop/partial_match.h"
#include "gateway/text/tool_parsers/json_call.h"

namespace tandem::text {
namespace {

constexpr std::string_view kPythonTag = "<|python_tag|>";

size_t skip_spaces(std::string_view s, size_t pos) {
  while (pos < s.size() && is_json_space(s[pos])) ++pos;
  return pos;
}

}  // namespace

Llama3Parser::Llama3Parser(ToolCatalog catalog) : catalog_(std::move(catalog)) {}

bool Llama3Parser::has_tool_call(std::string_view text) const {
  std::string_view rest = text.substr(skip_spaces(text, 0));
  return rest.starts_with('{') || text.find(kPythonTag) != std::string_view::npos;
}

void Llama3Parser::reset() {
  state_ = State::kStart;
  held_.clear();
  consumed_.clear();
  scanner_ = JsonObjectScanner();
  next_index_ = 0;
}

StreamDelta Llama3Parser::feed(std::string_view delta) {
  held_.append(delta);
  StreamDelta out;
  drain(out);
  return out;
}

// Everything from here on is content, starting with what was consumed but not yet emitted.
void Llama3Parser::pass_through(StreamDelta& out) {
  state_ = State::kText;
  out.normal_text += consumed_;
  out.normal_text += held_;
  consumed_.clear();
  held_.clear();
}

// Moves leading whitespace of held_ into consumed_; false when nothing else is held yet.
static bool consume_spaces(std::string& held, std::string& consumed) {
  size_t first = skip_spaces(held, 0);
  consumed.append(held, 0, first);
  held.erase(0, first);
  return !held.empty();
}

void Llama3Parser::drain(StreamDelta& out) {
  for (;;) {
    switch (state_) {
      case State::kStart: {
        if (!consume_spaces(held_, consumed_)) return;
        if (is_proper_prefix(held_, kPythonTag)) return;  // undecided
        if (held_.starts_with(kPythonTag)) {
          consumed_.append(kPythonTag);
          held_.erase(0, kPythonTag.size());
          state_ = State::kExpectCall;
        } else if (held_.starts_with('{')) {
          state_ = State::kExpectCall;
        } else {
          pass_through(out);
        }
        continue;
      }
      case State::kExpectCall: {
        if (!consume_spaces(held_, consumed_)) return;
        if (!held_.starts_with('{')) {
          pass_through(out);
          continue;
        }
        size_t extent = scanner_.scan(held_);
        if (extent == 0) return;  // object not closed yet
        std::optional<ToolCall> call =
            parse_json_call(std::string_view(held_).substr(0, extent), catalog_);
        if (!call.has_value()) {
          pass_through(out);
          continue;
        }
        out.deltas.push_back(
            ToolCallDelta{next_index_++, std::move(call->name), std::move(call->arguments_json)});
        held_.erase(0, extent);
        scanner_ = JsonObjectScanner();
        consumed_.clear();
        state_ = State::kAfterCall;
        continue;
      }
      case State::kAfterCall: {
        if (!consume_spaces(held_, consumed_)) return;
        if (held_.starts_with(';')) {
          consumed_.push_back(';');
          held_.erase(0, 1);
          state_ = State::kExpectCall;
          continue;
        }
        consumed_.clear();  // whitespace after the last call is dropped, the text is content
        pass_through(out);
        continue;
      }
      case State::kText:
        out.normal_text += held_;
        held_.clear();
        return;
    }
  }
}

StreamDelta Llama3Parser::finish() {
  StreamDelta out;
  switch (state_) {
    case State::kStart:
      pass_through(out);  // only whitespace or a partial <|python_tag|>: content
      break;
    case State::kExpectCall:
      // An unclosed object (or nothing after a trailing `;`). Nothing at all held after an
      // accepted call's `;` is dropped like the separator; else the raw text is content.
      if (held_.empty() && next_index_ > 0) break;
      pass_through(out);
      break;
    case State::kAfterCall:
    case State::kText:
      break;
  }
  held_.clear();
  consumed_.clear();
  return out;
}

}  // namespace tandem::text
