// ToolParser: turns a model's decoded output into OpenAI tool calls plus ordinary content,
// streaming (feed/finish) or one-shot (parse_complete). One implementation per output format
// (hermes_parser, llama3_parser, qwen3_coder_parser), picked by make_tool_parser.
//
// Contract shared by every format (acceptance-tested in tests/unit/text_parsers):
//  - Any chunking of the text yields the same calls and normal text as one-shot.
//  - A call is emitted only once its markup is complete and valid: name known in the request's
//    tools, arguments a JSON object. Its arguments come as one or more `arguments_delta` strings
//    whose concatenation is the call's arguments JSON. Today each call arrives as a single delta
//    (index + name + all arguments): a call is not streamed piecewise because it can still turn
//    out malformed, and then its raw text must go out unchanged as content.
//  - Arguments are normalised the same way for both paths: parsed with Boost.JSON and
//    re-serialised compactly (no spaces, keys in the model's order, strings re-escaped the
//    Boost.JSON way, numbers in Boost.JSON's shortest form).
//  - Unknown function names and malformed markup or JSON: the raw text of that call passes
//    through unchanged as normal text and parsing continues after it.
//  - Text that could be the beginning of tool-call markup is held back until decided; at
//    finish() anything still undecided goes out as normal text.
//
// Thread model: one request's object, called by one thread at a time.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace tandem::text {

// One function from the request's `tools`. `parameters_json` is the JSON-schema text of its
// `parameters` (may be empty); qwen3_coder reads the property types from it.
struct ToolSpec {
  std::string name;
  std::string parameters_json;
};

struct ToolCall {
  std::string name;
  std::string arguments_json;  // compact JSON object, see the normalisation note above
};

struct ParseResult {
  std::string normal_text;
  std::vector<ToolCall> calls;
};

// Mirrors an OpenAI streaming `tool_calls[i]` delta.
struct ToolCallDelta {
  int index = 0;                    // 0, 1, ... in call order within the response
  std::optional<std::string> name;  // only on the first delta of a call
  std::string arguments_delta;
};

struct StreamDelta {
  std::string normal_text;
  std::vector<ToolCallDelta> deltas;
};

class ToolParser {
 public:
  virtual ~ToolParser() = default;

  // Cheap check whether `text` holds this format's tool-call opening (<tool_call>, or for llama3
  // a leading `{` or <|python_tag|>). Does not validate; the parse decides.
  virtual bool has_tool_call(std::string_view text) const = 0;

  virtual StreamDelta feed(std::string_view delta) = 0;
  virtual StreamDelta finish() = 0;
  // Back to the state of a fresh parser (call numbering restarts at 0).
  virtual void reset() = 0;

  // One-shot parse of a whole output. Runs the streaming path on this object, so call it on a
  // parser that is not in the middle of a stream; it leaves the parser reset.
  ParseResult parse_complete(std::string_view text);
};

// Appends a stream delta to an accumulated result (how parse_complete and clients assemble).
void accumulate(ParseResult& result, const StreamDelta& delta);

}  // namespace tandem::text
