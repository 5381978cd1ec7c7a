// Methods of str, dict, list and tuple that chat templates call (`content.split('</think>')`,
// `message.get('tool_calls')`, `tool.items()`...), with Python's semantics.
#include <algorithm>

#include <fmt/format.h>

#include "gateway/text/template/access.h"
#include "gateway/text/template/call_args.h"
#include "gateway/text/template/operators.h"

namespace tandem::text::jinja {
namespace {

StatusOr<std::optional<std::string>> optional_str(std::string_view fn, std::string_view param, const Value& v) {
  if (!given(v) || v.is_none()) return std::optional<std::string>();
  ASSIGN_OR_RETURN(std::string s, str_arg(fn, param, v));
  return std::optional<std::string>(std::move(s));
}

StatusOr<int64_t> optional_int(std::string_view fn, std::string_view param, const Value& v, int64_t def) {
  if (!given(v) || v.is_none()) return def;
  return int_arg(fn, param, v);
}

Value string_list(std::vector<std::string> parts) {
  ValueList out;
  out.reserve(parts.size());
  for (auto& p : parts) out.push_back(Value::string(std::move(p)));
  return Value::list(std::move(out));
}

// Code-point index of a byte offset in s.
int64_t cp_index(std::string_view s, size_t byte_offset) {
  return static_cast<int64_t>(codepoint_count(s.substr(0, byte_offset)));
}

// The part of s selected by optional start/end arguments, and its code-point offset.
StatusOr<std::pair<std::string, int64_t>> window(std::string_view fn, std::string_view s,
                                                 const Value& start, const Value& end) {
  if ((!given(start) || start.is_none()) && (!given(end) || end.is_none())) return std::make_pair(std::string(s), int64_t{0});
  SliceSpec spec;
  if (given(start) && !start.is_none()) {
    ASSIGN_OR_RETURN(spec.start, int_arg(fn, "start", start));
  }
  if (given(end) && !end.is_none()) {
    ASSIGN_OR_RETURN(spec.stop, int_arg(fn, "end", end));
  }
  auto idx = slice_indices(static_cast<int64_t>(codepoint_count(s)), spec);
  int64_t offset = idx->empty() ? 0 : idx->front();
  return std::make_pair(*py_slice(s, spec), offset);
}

StatusOr<Value> affix_test(std::string_view fn, const std::string& s, const CallArgs& args, bool prefix) {
  ASSIGN_OR_RETURN(auto a, bind_args(fn, args, {{"affix", true}, {"start"}, {"end"}}));
  ASSIGN_OR_RETURN(auto win, window(fn, s, a[1], a[2]));
  std::vector<std::string> options;
  if (a[0].is_string()) {
    options.push_back(a[0].as_string());
  } else if (a[0].is_tuple()) {
    for (const Value& v : a[0].as_list()) {
      ASSIGN_OR_RETURN(std::string o, str_arg(fn, "affix", v));
      options.push_back(std::move(o));
    }
  } else {
    return invalid_argument("{} first arg must be str or a tuple of str, not {}", fn, a[0].type_name());
  }
  const std::string& hay = win.first;
  for (const std::string& o : options) {
    bool hit = prefix ? hay.compare(0, o.size(), o) == 0 && hay.size() >= o.size()
                      : hay.size() >= o.size() && hay.compare(hay.size() - o.size(), o.size(), o) == 0;
    if (hit) return Value::boolean(true);
  }
  return Value::boolean(false);
}

StatusOr<Value> find_method(std::string_view fn, const std::string& s, const CallArgs& args, bool reverse,
                            bool raise) {
  ASSIGN_OR_RETURN(auto a, bind_args(fn, args, {{"sub", true}, {"start"}, {"end"}}));
  ASSIGN_OR_RETURN(std::string sub, str_arg(fn, "sub", a[0]));
  ASSIGN_OR_RETURN(auto win, window(fn, s, a[1], a[2]));
  size_t hit = reverse ? win.first.rfind(sub) : win.first.find(sub);
  if (hit == std::string::npos) {
    if (raise) return invalid_argument("substring not found");
    return Value::integer(-1);
  }
  return Value::integer(win.second + cp_index(win.first, hit));
}

// str.format with positional `{}`/`{0}` and named `{name}` fields; format specs are rejected.
StatusOr<Value> format_method(const std::string& s, const CallArgs& args) {
  std::string out;
  size_t auto_index = 0;
  for (size_t i = 0; i < s.size(); ++i) {
    char c = s[i];
    if (c == '}' ) {
      if (i + 1 < s.size() && s[i + 1] == '}') {
        out.push_back('}');
        ++i;
        continue;
      }
      return invalid_argument("Single '}}' encountered in format string");
    }
    if (c != '{') {
      out.push_back(c);
      continue;
    }
    if (i + 1 < s.size() && s[i + 1] == '{') {
      out.push_back('{');
      ++i;
      continue;
    }
    size_t close = s.find('}', i);
    if (close == std::string::npos) return invalid_argument("Single '{{' encountered in format string");
    std::string field = s.substr(i + 1, close - i - 1);
    if (field.find_first_of(":!.[") != std::string::npos) {
      return invalid_argument("str.format(): field '{{{}}}' uses conversions or format specs, which are not supported", field);
    }
    const Value* v = nullptr;
    if (field.empty() || std::all_of(field.begin(), field.end(), [](char d) { return d >= '0' && d <= '9'; })) {
      size_t idx = field.empty() ? auto_index++ : std::stoul(field);
      if (idx >= args.positional.size()) return invalid_argument("Replacement index {} out of range for positional args tuple", idx);
      v = &args.positional[idx];
    } else {
      for (const auto& [k, val] : args.keyword) {
        if (k == field) v = &val;
      }
      if (!v) return invalid_argument("KeyError: '{}'", field);
    }
    v->append_str(&out);
    i = close;
  }
  return Value::string(std::move(out));
}

StatusOr<Value> pad(std::string_view fn, const std::string& s, const CallArgs& args, char mode) {
  ASSIGN_OR_RETURN(auto a, bind_args(fn, args, {{"width", true}, {"fillchar"}}));
  ASSIGN_OR_RETURN(int64_t width, int_arg(fn, "width", a[0]));
  std::string fill = " ";
  if (given(a[1])) {
    ASSIGN_OR_RETURN(fill, str_arg(fn, "fillchar", a[1]));
  }
  if (codepoint_count(fill) != 1) return invalid_argument("The fill character must be exactly one character long");
  int64_t len = static_cast<int64_t>(codepoint_count(s));
  if (width <= len) return Value::string(s);
  if (width > (int64_t{1} << 24)) return invalid_argument("{}(): width {} is too large", fn, width);
  int64_t total = width - len, left = 0;
  if (mode == 'r') left = total;
  if (mode == 'c') left = total / 2 + (total & width & 1);  // Python's centering rule
  std::string out;
  for (int64_t i = 0; i < left; ++i) out += fill;
  out += s;
  for (int64_t i = left; i < total; ++i) out += fill;
  return Value::string(std::move(out));
}

StatusOr<Value> str_method(const std::string& s, std::string_view name, const CallArgs& args,
                           const RenderLimits& limits) {
  std::string fn = fmt::format("str.{}", name);
  auto no_args = [&]() -> Status {
    if (!args.positional.empty() || !args.keyword.empty()) return invalid_argument("{}() takes no arguments", fn);
    return Status::Ok();
  };
  if (name == "startswith" || name == "endswith") return affix_test(fn, s, args, name == "startswith");
  if (name == "strip" || name == "lstrip" || name == "rstrip") {
    ASSIGN_OR_RETURN(auto a, bind_args(fn, args, {{"chars"}}));
    ASSIGN_OR_RETURN(auto chars, optional_str(fn, "chars", a[0]));
    StripSide side = name == "strip" ? StripSide::kBoth : name == "lstrip" ? StripSide::kLeft : StripSide::kRight;
    return Value::string(py_strip(s, chars, side));
  }
  if (name == "split" || name == "rsplit") {
    ASSIGN_OR_RETURN(auto a, bind_args(fn, args, {{"sep"}, {"maxsplit"}}));
    ASSIGN_OR_RETURN(auto sep, optional_str(fn, "sep", a[0]));
    ASSIGN_OR_RETURN(int64_t maxsplit, optional_int(fn, "maxsplit", a[1], -1));
    if (sep && sep->empty()) return invalid_argument("empty separator");
    return string_list(name == "split" ? py_split(s, sep, maxsplit) : py_rsplit(s, sep, maxsplit));
  }
  if (name == "splitlines") {
    RETURN_IF_ERROR(no_args());
    return string_list(py_splitlines(s));
  }
  if (name == "upper" || name == "lower" || name == "title" || name == "capitalize") {
    RETURN_IF_ERROR(no_args());
    if (name == "upper") return Value::string(py_upper(s));
    if (name == "lower") return Value::string(py_lower(s));
    if (name == "title") return Value::string(py_title(s));
    return Value::string(py_capitalize(s));
  }
  if (name == "swapcase") {
    RETURN_IF_ERROR(no_args());
    std::string out;
    for (char32_t cp : utf8_decode(s)) {
      std::string one;
      utf8_append(one, cp);
      std::string up = py_upper(one);
      out += up != one ? up : py_lower(one);
    }
    return Value::string(std::move(out));
  }
  if (name == "replace") {
    ASSIGN_OR_RETURN(auto a, bind_args(fn, args, {{"old", true}, {"new", true}, {"count"}}));
    ASSIGN_OR_RETURN(std::string old_sub, str_arg(fn, "old", a[0]));
    ASSIGN_OR_RETURN(std::string new_sub, str_arg(fn, "new", a[1]));
    ASSIGN_OR_RETURN(int64_t count, optional_int(fn, "count", a[2], -1));
    std::string out = py_replace(s, old_sub, new_sub, count);
    if (out.size() > limits.max_output_bytes) {
      return resource_exhausted("str.replace() result of {} bytes exceeds the template limit", out.size());
    }
    return Value::string(std::move(out));
  }
  if (name == "find") return find_method(fn, s, args, false, false);
  if (name == "rfind") return find_method(fn, s, args, true, false);
  if (name == "index") return find_method(fn, s, args, false, true);
  if (name == "rindex") return find_method(fn, s, args, true, true);
  if (name == "count") {
    ASSIGN_OR_RETURN(auto a, bind_args(fn, args, {{"sub", true}, {"start"}, {"end"}}));
    ASSIGN_OR_RETURN(std::string sub, str_arg(fn, "sub", a[0]));
    ASSIGN_OR_RETURN(auto win, window(fn, s, a[1], a[2]));
    if (sub.empty()) return Value::integer(static_cast<int64_t>(codepoint_count(win.first)) + 1);
    int64_t n = 0;
    for (size_t p = win.first.find(sub); p != std::string::npos; p = win.first.find(sub, p + sub.size())) ++n;
    return Value::integer(n);
  }
  if (name == "join") {
    ASSIGN_OR_RETURN(auto a, bind_args(fn, args, {{"iterable", true}}));
    ASSIGN_OR_RETURN(ValueList items, py_iter(a[0]));
    std::string out;
    for (size_t i = 0; i < items.size(); ++i) {
      if (!items[i].is_string()) {
        return invalid_argument("sequence item {}: expected str instance, {} found", i, items[i].type_name());
      }
      if (i) out += s;
      out += items[i].as_string();
      if (out.size() > limits.max_output_bytes) return resource_exhausted("str.join() result exceeds the template limit");
    }
    return Value::string(std::move(out));
  }
  if (name == "removeprefix" || name == "removesuffix") {
    ASSIGN_OR_RETURN(auto a, bind_args(fn, args, {{"affix", true}}));
    ASSIGN_OR_RETURN(std::string affix, str_arg(fn, "affix", a[0]));
    bool prefix = name == "removeprefix";
    if (s.size() >= affix.size() &&
        s.compare(prefix ? 0 : s.size() - affix.size(), affix.size(), affix) == 0) {
      return Value::string(prefix ? s.substr(affix.size()) : s.substr(0, s.size() - affix.size()));
    }
    return Value::string(s);
  }
  if (name == "format") return format_method(s, args);
  if (name == "center") return pad(fn, s, args, 'c');
  if (name == "ljust") return pad(fn, s, args, 'l');
  if (name == "rjust") return pad(fn, s, args, 'r');
  if (name == "zfill") {
    ASSIGN_OR_RETURN(auto a, bind_args(fn, args, {{"width", true}}));
    ASSIGN_OR_RETURN(int64_t width, int_arg(fn, "width", a[0]));
    int64_t len = static_cast<int64_t>(codepoint_count(s));
    if (width <= len) return Value::string(s);
    if (width > (int64_t{1} << 24)) return invalid_argument("zfill(): width {} is too large", width);
    size_t sign = !s.empty() && (s[0] == '+' || s[0] == '-') ? 1 : 0;
    return Value::string(s.substr(0, sign) + std::string(static_cast<size_t>(width - len), '0') + s.substr(sign));
  }
  if (name == "isupper" || name == "islower") {
    RETURN_IF_ERROR(no_args());
    return Value::boolean(name == "isupper" ? py_isupper(s) : py_islower(s));
  }
  if (name == "isdigit" || name == "isdecimal" || name == "isnumeric" || name == "isalpha" ||
      name == "isalnum" || name == "isspace" || name == "isascii") {
    RETURN_IF_ERROR(no_args());
    if (name == "isascii") return Value::boolean(is_ascii(s));
    std::u32string cps = utf8_decode(s);
    if (cps.empty()) return Value::boolean(false);
    auto digit = [](char32_t c) { return c >= '0' && c <= '9'; };
    auto alpha = [](char32_t c) {
      return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= 0xC0 && c != 0xD7 && c != 0xF7 && !is_py_space(c));
    };
    for (char32_t c : cps) {
      bool ok = name == "isspace" ? is_py_space(c)
                : name == "isalpha" ? alpha(c)
                : name == "isalnum" ? alpha(c) || digit(c)
                                    : digit(c);
      if (!ok) return Value::boolean(false);
    }
    return Value::boolean(true);
  }
  return invalid_argument("str.{}() is not supported in chat templates", name);
}

StatusOr<Value> dict_method(const Value& obj, std::string_view name, const CallArgs& args) {
  std::string fn = fmt::format("dict.{}", name);
  const Dict& d = obj.as_dict();
  if (name == "get") {
    ASSIGN_OR_RETURN(auto a, bind_args(fn, args, {{"key", true}, {"default"}}));
    if (!is_hashable(a[0])) return invalid_argument("unhashable type: '{}'", a[0].type_name());
    if (const Value* v = d.find(a[0])) return *v;
    return given(a[1]) ? a[1] : Value::none();
  }
  if (!args.positional.empty() || !args.keyword.empty()) return invalid_argument("{}() takes no arguments", fn);
  if (name == "items") {
    ValueList out;
    out.reserve(d.size());
    for (const auto& [k, v] : d.entries()) out.push_back(Value::tuple({k, v}));
    return Value::sequence(std::move(out), Value::SeqKind::kDictItems);
  }
  if (name == "keys") {
    ValueList out;
    for (const auto& [k, unused] : d.entries()) out.push_back(k);
    return Value::sequence(std::move(out), Value::SeqKind::kDictKeys);
  }
  if (name == "values") {
    ValueList out;
    for (const auto& [unused, v] : d.entries()) out.push_back(v);
    return Value::sequence(std::move(out), Value::SeqKind::kDictValues);
  }
  if (name == "copy") return obj;
  return invalid_argument("dict.{}() is not supported in chat templates", name);
}

StatusOr<Value> list_method(const Value& obj, std::string_view name, const CallArgs& args) {
  std::string fn = fmt::format("{}.{}", obj.type_name(), name);
  const ValueList& items = obj.as_list();
  if (name == "copy") return obj;
  ASSIGN_OR_RETURN(auto a, bind_args(fn, args, {{"value", true}}));
  if (name == "count") {
    return Value::integer(std::count_if(items.begin(), items.end(), [&](const Value& v) { return values_equal(v, a[0]); }));
  }
  if (name == "index") {
    for (size_t i = 0; i < items.size(); ++i) {
      if (values_equal(items[i], a[0])) return Value::integer(static_cast<int64_t>(i));
    }
    return invalid_argument("{} is not in {}", a[0].repr(), obj.type_name());
  }
  return invalid_argument("{}() is not supported in chat templates", fn);
}

}  // namespace

StatusOr<Value> call_method(const Value& obj, std::string_view name, const CallArgs& args,
                            const RenderLimits& limits) {
  if (!has_attribute(obj, name)) {
    return invalid_argument("'{}' object has no attribute '{}'", obj.type_name(), name);
  }
  if (name.rfind("__", 0) == 0 || (obj.is_dict() && (name == "clear" || name == "pop" || name == "popitem" ||
                                                      name == "setdefault" || name == "update"))) {
    return invalid_argument("access to attribute '{}' of '{}' object is unsafe.", name, obj.type_name());
  }
  switch (obj.kind()) {
    case Value::Kind::kString: return str_method(obj.as_string(), name, args, limits);
    case Value::Kind::kDict: return dict_method(obj, name, args);
    case Value::Kind::kList:
      if (obj.seq_kind() == Value::SeqKind::kList && name != "copy" && name != "count" && name != "index") {
        return invalid_argument("access to attribute '{}' of 'list' object is unsafe.", name);
      }
      return list_method(obj, name, args);
    default: return invalid_argument("'{}' object has no attribute '{}'", obj.type_name(), name);
  }
}

}  // namespace tandem::text::jinja
