#include "gateway/text/template/filters.h"

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstdio>
#include <cstdlib>

#include <fmt/format.h>

#include "gateway/text/template/access.h"
#include "gateway/text/template/call_args.h"
#include "gateway/text/template/filters_sequence.h"
#include "gateway/text/template/operators.h"
#include "gateway/text/template/py_string.h"
#include "gateway/text/template/value_json.h"

namespace tandem::text::jinja {
namespace {

using FilterFn = StatusOr<Value> (*)(const Value&, const CallArgs&, const RenderLimits&);

// Python's int(str, base) for bases 2, 8, 10, 16 (whitespace, sign, underscores, base prefix).
std::optional<int64_t> parse_py_int(const std::string& text, int base) {
  std::string s = py_strip(text, std::nullopt, StripSide::kBoth);
  size_t i = 0;
  bool negative = false;
  if (i < s.size() && (s[i] == '+' || s[i] == '-')) negative = s[i++] == '-';
  if (base != 10 && i + 1 < s.size() && s[i] == '0') {
    char p = static_cast<char>(s[i + 1] | 0x20);
    if ((base == 16 && p == 'x') || (base == 8 && p == 'o') || (base == 2 && p == 'b')) {
      i += 2;
      if (i < s.size() && s[i] == '_') ++i;
    }
  }
  if (i >= s.size()) return std::nullopt;
  int64_t value = 0;
  bool prev_digit = false;
  for (; i < s.size(); ++i) {
    char c = s[i];
    if (c == '_') {
      if (!prev_digit || i + 1 >= s.size()) return std::nullopt;
      prev_digit = false;
      continue;
    }
    int d = c >= '0' && c <= '9' ? c - '0' : (c | 0x20) >= 'a' && (c | 0x20) <= 'z' ? (c | 0x20) - 'a' + 10 : 99;
    if (d >= base) return std::nullopt;
    if (__builtin_mul_overflow(value, base, &value) || __builtin_add_overflow(value, d, &value)) return std::nullopt;
    prev_digit = true;
  }
  return negative ? -value : value;
}

// Python's float(str): decimal and exponent forms, inf/nan, underscores between digits.
std::optional<double> parse_py_float(const std::string& text) {
  std::string s = py_strip(text, std::nullopt, StripSide::kBoth);
  std::string clean;
  for (size_t i = 0; i < s.size(); ++i) {
    char c = s[i];
    if (c == 'x' || c == 'X') return std::nullopt;  // strtod's hex floats are not Python's
    if (c == '_') {
      bool ok = i > 0 && i + 1 < s.size() && std::isdigit(static_cast<unsigned char>(s[i - 1])) &&
                std::isdigit(static_cast<unsigned char>(s[i + 1]));
      if (!ok) return std::nullopt;
      continue;
    }
    clean.push_back(c);
  }
  if (clean.empty()) return std::nullopt;
  char* end = nullptr;
  double v = std::strtod(clean.c_str(), &end);
  if (*end != '\0') return std::nullopt;
  return v;
}

StatusOr<Value> f_tojson(const Value& v, const CallArgs& args, const RenderLimits& limits) {
  ASSIGN_OR_RETURN(auto a, bind_args("tojson", args, {{"ensure_ascii"}, {"indent"}, {"separators"}, {"sort_keys"}}));
  JsonDumpOptions o;
  o.ensure_ascii = a[0].truthy();
  if (given(a[1]) && !a[1].is_none()) {
    if (a[1].is_string()) o.indent = a[1].as_string();
    else if (a[1].is_int() || a[1].is_bool()) o.indent = std::string(static_cast<size_t>(std::clamp<int64_t>(a[1].as_int(), 0, 64)), ' ');
    else return invalid_argument("tojson(): indent must be an integer or a string, got {}", a[1].type_name());
  }
  if (given(a[2]) && !a[2].is_none()) {
    if (!a[2].is_list() || a[2].as_list().size() != 2 || !a[2].as_list()[0].is_string() || !a[2].as_list()[1].is_string()) {
      return invalid_argument("tojson(): separators must be a pair of strings (item_separator, key_separator)");
    }
    o.item_separator = a[2].as_list()[0].as_string();
    o.key_separator = a[2].as_list()[1].as_string();
  }
  o.sort_keys = a[3].truthy();
  ASSIGN_OR_RETURN(std::string out, dump_json(v, o));
  if (out.size() > limits.max_output_bytes) return resource_exhausted("tojson: {} bytes exceeds the template limit", out.size());
  return Value::string(std::move(out));
}

StatusOr<Value> f_trim(const Value& v, const CallArgs& args, const RenderLimits&) {
  ASSIGN_OR_RETURN(auto a, bind_args("trim", args, {{"chars"}}));
  std::optional<std::string> chars;
  if (given(a[0]) && !a[0].is_none()) {
    ASSIGN_OR_RETURN(chars, str_arg("trim", "chars", a[0]));
  }
  return Value::string(py_strip(v.str(), chars, StripSide::kBoth));
}

template <std::string (*Fn)(std::string_view)>
StatusOr<Value> f_case(const Value& v, const CallArgs& args, const RenderLimits&) {
  ASSIGN_OR_RETURN(auto a, bind_args("filter", args, {}));
  return Value::string(Fn(v.str()));
}

// Jinja's title filter: upper-case the first character after the start or a run of
// whitespace / - ( { [ <, lower-case everything else (not Python's str.title()).
std::string jinja_title(std::string_view s) {
  std::string out;
  bool word_start = true;
  for (char32_t cp : utf8_decode(s)) {
    std::string one;
    utf8_append(one, cp);
    bool delim = is_py_space(cp) || cp == '-' || cp == '(' || cp == '{' || cp == '[' || cp == '<';
    if (delim) {
      out += one;
      word_start = true;
    } else {
      out += word_start ? py_upper(one) : py_lower(one);
      word_start = false;
    }
  }
  return out;
}

StatusOr<Value> f_replace(const Value& v, const CallArgs& args, const RenderLimits& limits) {
  ASSIGN_OR_RETURN(auto a, bind_args("replace", args, {{"old", true}, {"new", true}, {"count"}}));
  int64_t count = -1;
  if (given(a[2]) && !a[2].is_none()) {
    ASSIGN_OR_RETURN(count, int_arg("replace", "count", a[2]));
  }
  std::string out = py_replace(v.str(), a[0].str(), a[1].str(), count);
  if (out.size() > limits.max_output_bytes) return resource_exhausted("replace: {} bytes exceeds the template limit", out.size());
  return Value::string(std::move(out));
}

StatusOr<Value> f_default(const Value& v, const CallArgs& args, const RenderLimits&) {
  ASSIGN_OR_RETURN(auto a, bind_args("default", args, {{"default_value"}, {"boolean"}}));
  Value fallback = given(a[0]) ? a[0] : Value::string("");
  if (v.is_undefined() || (a[1].truthy() && !v.truthy())) return fallback;
  return v;
}

StatusOr<Value> f_string(const Value& v, const CallArgs& args, const RenderLimits&) {
  ASSIGN_OR_RETURN(auto a, bind_args("string", args, {}));
  return Value::string(v.str());
}

StatusOr<Value> f_int(const Value& v, const CallArgs& args, const RenderLimits&) {
  ASSIGN_OR_RETURN(auto a, bind_args("int", args, {{"default"}, {"base"}}));
  Value fallback = given(a[0]) ? a[0] : Value::integer(0);
  int64_t base = 10;
  if (given(a[1])) {
    ASSIGN_OR_RETURN(base, int_arg("int", "base", a[1]));
  }
  if (v.is_undefined()) return undefined_error(v);
  if (v.is_int() || v.is_bool()) return Value::integer(v.as_int());
  if (v.is_float()) {
    double f = v.as_double();
    if (std::isnan(f)) return fallback;
    if (std::isinf(f) || std::fabs(f) >= 9.2e18) return invalid_argument("int(): cannot convert float {} to a 64-bit integer", format_py_float(f));
    return Value::integer(static_cast<int64_t>(f));
  }
  if (v.is_string()) {
    if (base == 2 || base == 8 || base == 10 || base == 16) {
      if (auto i = parse_py_int(v.as_string(), static_cast<int>(base))) return Value::integer(*i);
    }
    if (auto f = parse_py_float(v.as_string())) {
      if (std::isnan(*f)) return fallback;
      if (std::isinf(*f) || std::fabs(*f) >= 9.2e18) return invalid_argument("int(): cannot convert float {} to a 64-bit integer", format_py_float(*f));
      return Value::integer(static_cast<int64_t>(*f));
    }
  }
  return fallback;
}

StatusOr<Value> f_float(const Value& v, const CallArgs& args, const RenderLimits&) {
  ASSIGN_OR_RETURN(auto a, bind_args("float", args, {{"default"}}));
  Value fallback = given(a[0]) ? a[0] : Value::number(0.0);
  if (v.is_undefined()) return undefined_error(v);
  if (v.is_numeric()) return Value::number(v.as_double());
  if (v.is_string()) {
    if (auto f = parse_py_float(v.as_string())) return Value::number(*f);
  }
  return fallback;
}

StatusOr<Value> f_abs(const Value& v, const CallArgs& args, const RenderLimits&) {
  ASSIGN_OR_RETURN(auto a, bind_args("abs", args, {}));
  if (v.is_float()) return Value::number(std::fabs(v.as_double()));
  if (v.is_int() || v.is_bool()) {
    if (v.as_int() == INT64_MIN) return invalid_argument("abs(): integer overflow");
    return Value::integer(std::llabs(v.as_int()));
  }
  if (v.is_undefined()) return undefined_error(v);
  return invalid_argument("bad operand type for abs(): '{}'", v.type_name());
}

StatusOr<Value> f_round(const Value& v, const CallArgs& args, const RenderLimits&) {
  ASSIGN_OR_RETURN(auto a, bind_args("round", args, {{"precision"}, {"method"}}));
  int64_t precision = 0;
  if (given(a[0])) {
    ASSIGN_OR_RETURN(precision, int_arg("round", "precision", a[0]));
  }
  std::string method = given(a[1]) ? a[1].str() : "common";
  if (method != "common" && method != "ceil" && method != "floor") {
    return invalid_argument("method must be common, ceil or floor");
  }
  if (v.is_undefined()) return undefined_error(v);
  if (!v.is_numeric()) return invalid_argument("type {} doesn't define __round__ method", v.type_name());
  if (precision < -300 || precision > 300) return invalid_argument("round(): precision {} out of range", precision);
  if (method == "common") {
    if (!v.is_float()) return Value::integer(v.as_int());
    double x = v.as_double();
    if (!std::isfinite(x)) return Value::number(x);
    if (precision >= 0) {
      // printf rounds the exact binary value half-to-even, which is what Python's round() does.
      char buf[512];
      std::snprintf(buf, sizeof(buf), "%.*f", static_cast<int>(std::min<int64_t>(precision, 100)), x);
      return Value::number(std::strtod(buf, nullptr));
    }
    double scale = std::pow(10.0, static_cast<double>(-precision));
    return Value::number(std::nearbyint(x / scale) * scale);
  }
  double scale = std::pow(10.0, static_cast<double>(precision));
  double r = method == "ceil" ? std::ceil(v.as_double() * scale) : std::floor(v.as_double() * scale);
  return Value::number(r / scale);
}

StatusOr<Value> f_safe(const Value& v, const CallArgs& args, const RenderLimits&) {
  ASSIGN_OR_RETURN(auto a, bind_args("safe", args, {}));
  return Value::markup(v.str());
}

StatusOr<Value> f_escape(const Value& v, const CallArgs& args, const RenderLimits&) {
  ASSIGN_OR_RETURN(auto a, bind_args("escape", args, {}));
  if (v.is_markup()) return v;  // already safe
  return Value::markup(html_escape(v.str()));
}

StatusOr<Value> f_attr(const Value& v, const CallArgs& args, const RenderLimits&) {
  ASSIGN_OR_RETURN(auto a, bind_args("attr", args, {{"name", true}}));
  std::string name = a[0].str();
  if (v.is_undefined()) return undefined_error(v);
  if (v.is_namespace()) {
    if (const Value* found = v.as_namespace().attrs.find(name)) return *found;
  }
  if (has_attribute(v, name)) return get_attr(v, name);  // no fallback to dict items
  return Value::undefined(fmt::format("'{} object' has no attribute '{}'", v.type_name(), name));
}

StatusOr<Value> f_indent(const Value& v, const CallArgs& args, const RenderLimits&) {
  ASSIGN_OR_RETURN(auto a, bind_args("indent", args, {{"width"}, {"first"}, {"blank"}}));
  std::string indention = "    ";
  if (given(a[0])) {
    if (a[0].is_string()) {
      indention = a[0].as_string();
    } else {
      ASSIGN_OR_RETURN(int64_t w, int_arg("indent", "width", a[0]));
      indention = std::string(static_cast<size_t>(std::clamp<int64_t>(w, 0, 1024)), ' ');
    }
  }
  std::vector<std::string> lines = py_splitlines(v.str() + "\n");
  std::string out;
  if (a[2].truthy()) {
    for (size_t i = 0; i < lines.size(); ++i) {
      if (i) out += "\n" + indention;
      out += lines[i];
    }
  } else {
    for (size_t i = 0; i < lines.size(); ++i) {
      if (i) out += "\n" + (lines[i].empty() ? std::string() : indention);
      out += lines[i];
    }
  }
  if (a[1].truthy()) out = indention + out;
  return Value::string(std::move(out));
}

StatusOr<Value> f_center(const Value& v, const CallArgs& args, const RenderLimits& limits) {
  ASSIGN_OR_RETURN(auto a, bind_args("center", args, {{"width"}}));
  CallArgs method_args;
  method_args.positional.push_back(given(a[0]) ? a[0] : Value::integer(80));
  return call_method(Value::string(v.str()), "center", method_args, limits);
}

StatusOr<Value> f_wordcount(const Value& v, const CallArgs& args, const RenderLimits&) {
  ASSIGN_OR_RETURN(auto a, bind_args("wordcount", args, {}));
  int64_t words = 0;
  bool in_word = false;
  for (char32_t cp : utf8_decode(v.str())) {
    bool word_char = (cp >= '0' && cp <= '9') || (cp >= 'a' && cp <= 'z') || (cp >= 'A' && cp <= 'Z') ||
                     cp == '_' || (cp >= 0xC0 && cp != 0xD7 && cp != 0xF7 && !is_py_space(cp));
    if (word_char && !in_word) ++words;
    in_word = word_char;
  }
  return Value::integer(words);
}

struct Entry {
  std::string_view name;
  FilterFn fn;
};

const Entry kFilters[] = {
    {"abs", f_abs},
    {"attr", f_attr},
    {"capitalize", f_case<py_capitalize>},
    {"center", f_center},
    {"count", sequence_filters::length},
    {"d", f_default},
    {"default", f_default},
    {"dictsort", sequence_filters::dictsort},
    {"e", f_escape},
    {"escape", f_escape},
    {"first", sequence_filters::first},
    {"float", f_float},
    {"indent", f_indent},
    {"int", f_int},
    {"items", sequence_filters::items},
    {"join", sequence_filters::join},
    {"last", sequence_filters::last},
    {"length", sequence_filters::length},
    {"list", sequence_filters::list},
    {"lower", f_case<py_lower>},
    {"map", sequence_filters::map},
    {"max", sequence_filters::max},
    {"min", sequence_filters::min},
    {"reject", sequence_filters::reject},
    {"rejectattr", sequence_filters::rejectattr},
    {"replace", f_replace},
    {"reverse", sequence_filters::reverse},
    {"round", f_round},
    {"safe", f_safe},
    {"select", sequence_filters::select},
    {"selectattr", sequence_filters::selectattr},
    {"sort", sequence_filters::sort},
    {"string", f_string},
    {"sum", sequence_filters::sum},
    {"title", f_case<jinja_title>},
    {"tojson", f_tojson},
    {"trim", f_trim},
    {"unique", sequence_filters::unique},
    {"upper", f_case<py_upper>},
    {"wordcount", f_wordcount},
};

FilterFn find_filter(std::string_view name) {
  for (const Entry& e : kFilters) {
    if (e.name == name) return e.fn;
  }
  return nullptr;
}

}  // namespace

bool is_known_filter(std::string_view name) { return find_filter(name) != nullptr; }

StatusOr<Value> apply_filter(std::string_view name, const Value& input, const CallArgs& args,
                             const RenderLimits& limits) {
  FilterFn fn = find_filter(name);
  if (!fn) return invalid_argument("no filter named '{}'", name);
  return fn(input, args, limits);
}

}  // namespace tandem::text::jinja
