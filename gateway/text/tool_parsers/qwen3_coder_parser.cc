#include "gateway/text/tool_parsers/qwen3_coder_parser.h"

#include <algorithm>
#include <utility>

#include <boost/json.hpp>

#include "gateway/text/stop/partial_match.h"
#include "gateway/text/tool_parsers/json_call.h"

namespace tandem::text {
namespace {

constexpr std::string_view kFunctionOpen = "<function=";
constexpr std::string_view kFunctionClose = "</function>";
constexpr std::string_view kParamOpen = "<parameter=";
constexpr std::string_view kParamClose = "</parameter>";

size_t skip_spaces(std::string_view s, size_t pos) {
  while (pos < s.size() && is_json_space(s[pos])) ++pos;
  return pos;
}

std::string_view trim(std::string_view s) {
  size_t b = skip_spaces(s, 0);
  size_t e = s.size();
  while (e > b && is_json_space(s[e - 1])) --e;
  return s.substr(b, e - b);
}

boost::json::value convert_value(std::string_view raw, std::string_view type) {
  if (type.empty() || type == "string") return boost::json::string(raw);
  std::string_view text = trim(raw);
  if (text == "null") return nullptr;
  if (type == "boolean") {
    if (text == "true" || text == "True") return true;
    if (text == "false" || text == "False") return false;
    return boost::json::string(raw);
  }
  boost::system::error_code ec;
  boost::json::value parsed = boost::json::parse(text, ec);
  if (ec) return boost::json::string(raw);
  bool fits = (type == "integer" || type == "number") ? parsed.is_number()
              : type == "object"                      ? parsed.is_object()
              : type == "array"                       ? parsed.is_array()
                                                      : true;  // a type we do not know: any JSON
  return fits ? parsed : boost::json::value(boost::json::string(raw));
}

// `<name>` after an opening marker: returns the trimmed name and moves pos past '>'.
std::optional<std::string_view> read_tag_name(std::string_view body, size_t& pos) {
  size_t close = body.find('>', pos);
  if (close == std::string_view::npos) return std::nullopt;
  std::string_view name = trim(body.substr(pos, close - pos));
  if (name.empty()) return std::nullopt;
  pos = close + 1;
  return name;
}

}  // namespace

Qwen3CoderParser::Qwen3CoderParser(ToolCatalog catalog)
    : BlockToolParser(std::move(catalog), "<tool_call>", "</tool_call>") {}

std::optional<std::vector<ToolCall>> Qwen3CoderParser::parse_block(std::string_view body) const {
  std::vector<ToolCall> calls;
  size_t pos = skip_spaces(body, 0);
  while (pos < body.size()) {
    if (body.substr(pos, kFunctionOpen.size()) != kFunctionOpen) return std::nullopt;
    pos += kFunctionOpen.size();
    std::optional<std::string_view> name = read_tag_name(body, pos);
    if (!name.has_value() || !catalog().knows(*name)) return std::nullopt;

    boost::json::object args;
    for (;;) {
      pos = skip_spaces(body, pos);
      if (pos >= body.size()) break;  // missing </function>: the block end closes it
      if (body.substr(pos, kFunctionClose.size()) == kFunctionClose) {
        pos += kFunctionClose.size();
        break;
      }
      if (body.substr(pos, kParamOpen.size()) != kParamOpen) return std::nullopt;
      pos += kParamOpen.size();
      std::optional<std::string_view> param = read_tag_name(body, pos);
      if (!param.has_value()) return std::nullopt;
      size_t close = body.find(kParamClose, pos);
      size_t next = std::min(body.find(kParamOpen, pos), body.find(kFunctionClose, pos));
      size_t end = std::min(close, next);
      if (end == std::string_view::npos) end = body.size();
      std::string_view value = body.substr(pos, end - pos);
      if (value.starts_with('\n')) value.remove_prefix(1);
      if (value.ends_with('\n')) value.remove_suffix(1);
      args[*param] = convert_value(value, catalog().param_type(*name, *param));
      pos = (end == close) ? end + kParamClose.size() : end;
    }
    calls.push_back(ToolCall{std::string(*name), to_compact_json(args)});
    pos = skip_spaces(body, pos);
  }
  if (calls.empty()) return std::nullopt;
  return calls;
}

}  // namespace tandem::text
