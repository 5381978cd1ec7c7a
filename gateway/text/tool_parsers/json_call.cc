#include "gateway/text/tool_parsers/json_call.h"

#include <boost/json.hpp>
#include <fmt/format.h>

namespace tandem::text {

size_t JsonObjectScanner::scan(std::string_view text) {
  for (; pos_ < text.size(); ++pos_) {
    char c = text[pos_];
    if (in_string_) {
      if (escaped_) {
        escaped_ = false;
      } else if (c == '\\') {
        escaped_ = true;
      } else if (c == '"') {
        in_string_ = false;
      }
      continue;
    }
    if (c == '"') {
      in_string_ = true;
    } else if (c == '{' || c == '[') {
      ++depth_;
    } else if ((c == '}' || c == ']') && --depth_ == 0) {
      return ++pos_;
    }
  }
  return 0;
}

namespace {

void append_compact(const boost::json::value& v, std::string& out) {
  switch (v.kind()) {
    case boost::json::kind::object: {
      out += '{';
      bool first = true;
      for (const auto& [key, item] : v.get_object()) {
        if (!first) out += ',';
        first = false;
        out += boost::json::serialize(boost::json::string_view(key));
        out += ':';
        append_compact(item, out);
      }
      out += '}';
      break;
    }
    case boost::json::kind::array: {
      out += '[';
      bool first = true;
      for (const boost::json::value& item : v.get_array()) {
        if (!first) out += ',';
        first = false;
        append_compact(item, out);
      }
      out += ']';
      break;
    }
    case boost::json::kind::double_:
      // fmt's shortest round-trip form; Boost.JSON's own would print 2.5 as "2.5E0".
      out += fmt::format("{}", v.get_double());
      break;
    default:  // string, integers, bool, null: Boost.JSON's form is already compact
      out += boost::json::serialize(v);
      break;
  }
}

}  // namespace

std::string to_compact_json(const boost::json::value& value) {
  std::string out;
  append_compact(value, out);
  return out;
}

std::optional<ToolCall> parse_json_call(std::string_view json, const ToolCatalog& catalog) {
  boost::system::error_code ec;
  boost::json::value parsed = boost::json::parse(json, ec);
  if (ec || !parsed.is_object()) return std::nullopt;
  const boost::json::object& obj = parsed.get_object();
  const boost::json::value* name = obj.if_contains("name");
  if (name == nullptr || !name->is_string()) return std::nullopt;
  std::string_view name_sv(name->get_string().data(), name->get_string().size());
  if (!catalog.knows(name_sv)) return std::nullopt;
  const boost::json::value* args = obj.if_contains("arguments");
  if (args == nullptr) args = obj.if_contains("parameters");
  ToolCall call{std::string(name_sv), "{}"};
  if (args == nullptr) return call;
  if (args->is_object()) {
    call.arguments_json = to_compact_json(*args);
    return call;
  }
  // Some fine-tunes emit the arguments as a JSON string holding the object, OpenAI-style.
  if (!args->is_string()) return std::nullopt;
  boost::json::value inner = boost::json::parse(args->get_string(), ec);
  if (ec || !inner.is_object()) return std::nullopt;
  call.arguments_json = to_compact_json(inner);
  return call;
}

}  // namespace tandem::text
