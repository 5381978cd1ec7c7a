#include "gateway/text/template/access.h"

#include <algorithm>

#include <fmt/format.h>

#include "gateway/text/template/operators.h"

namespace tandem::text::jinja {
namespace {

// Attribute names of Python's str, dict, list and tuple types. Names listed but not implemented
// in methods.cc fail when called with a clear "not supported" error.
constexpr std::string_view kStrAttrs[] = {
    "capitalize", "casefold", "center", "count", "encode", "endswith", "expandtabs", "find",
    "format", "format_map", "index", "isalnum", "isalpha", "isascii", "isdecimal", "isdigit",
    "isidentifier", "islower", "isnumeric", "isprintable", "isspace", "istitle", "isupper", "join",
    "ljust", "lower", "lstrip", "maketrans", "partition", "removeprefix", "removesuffix", "replace",
    "rfind", "rindex", "rjust", "rpartition", "rsplit", "rstrip", "split", "splitlines",
    "startswith", "strip", "swapcase", "title", "translate", "upper", "zfill"};
constexpr std::string_view kDictSafeAttrs[] = {"copy", "fromkeys", "get", "items", "keys", "values"};
constexpr std::string_view kDictUnsafeAttrs[] = {"clear", "pop", "popitem", "setdefault", "update"};
constexpr std::string_view kListSafeAttrs[] = {"copy", "count", "index"};
constexpr std::string_view kListUnsafeAttrs[] = {"append", "clear", "extend", "insert", "pop",
                                                 "remove", "reverse", "sort"};
constexpr std::string_view kTupleAttrs[] = {"count", "index"};

template <size_t N>
bool in(const std::string_view (&names)[N], std::string_view name) {
  return std::find(std::begin(names), std::end(names), name) != std::end(names);
}

bool is_unsafe(const Value& obj, std::string_view name) {
  if (name.rfind("__", 0) == 0) return true;
  if (obj.is_dict()) return in(kDictUnsafeAttrs, name);
  if (obj.is_list() && obj.seq_kind() == Value::SeqKind::kList) return in(kListUnsafeAttrs, name);
  return false;
}

Value unsafe_attribute(const Value& obj, std::string_view name) {
  return Value::undefined(fmt::format("access to attribute '{}' of '{}' object is unsafe.", name,
                                      obj.type_name()));
}

// Jinja's object_type_repr.
std::string object_repr(const Value& obj) {
  if (obj.is_none()) return "None";
  return fmt::format("{} object", obj.type_name());
}

Value missing_attribute(const Value& obj, std::string_view name) {
  return Value::undefined(fmt::format("'{}' has no attribute '{}'", object_repr(obj), name));
}

Value missing_element(const Value& obj, const Value& key) {
  return Value::undefined(fmt::format("{} has no element {}", object_repr(obj), key.repr()));
}

Value bound_method(const Value& obj, std::string name) {
  std::string fn_name = fmt::format("{}.{}", obj.type_name(), name);
  return Value::function(std::move(fn_name), [obj, name](CallArgs& args) -> StatusOr<Value> {
    return call_method(obj, name, args, RenderLimits{});
  });
}

// The attribute half of the sandbox's getattr: a method, an unsafe marker, or nothing.
std::optional<Value> type_attribute(const Value& obj, const std::string& name) {
  if (!has_attribute(obj, name)) return std::nullopt;
  if (is_unsafe(obj, name)) return unsafe_attribute(obj, name);
  return bound_method(obj, name);
}

}  // namespace

bool has_attribute(const Value& obj, std::string_view name) {
  if (name.rfind("__", 0) == 0) return !obj.is_undefined();
  switch (obj.kind()) {
    case Value::Kind::kString: return in(kStrAttrs, name);
    case Value::Kind::kDict: return in(kDictSafeAttrs, name) || in(kDictUnsafeAttrs, name);
    case Value::Kind::kList:
      switch (obj.seq_kind()) {
        case Value::SeqKind::kList: return in(kListSafeAttrs, name) || in(kListUnsafeAttrs, name);
        case Value::SeqKind::kTuple:
        case Value::SeqKind::kRange: return in(kTupleAttrs, name);  // count, index
        default: return false;
      }
    default: return false;
  }
}

StatusOr<ValueList> py_iter(const Value& v) {
  switch (v.kind()) {
    case Value::Kind::kUndefined:
      return ValueList{};
    case Value::Kind::kList:
      return v.as_list();
    case Value::Kind::kDict: {
      ValueList keys;
      keys.reserve(v.as_dict().size());
      for (const auto& [k, unused] : v.as_dict().entries()) keys.push_back(k);
      return keys;
    }
    case Value::Kind::kString: {
      ValueList chars;
      const std::string& s = v.as_string();
      if (is_ascii(s)) {
        for (char c : s) chars.push_back(Value::string(std::string(1, c)));
      } else {
        for (char32_t cp : utf8_decode(s)) {
          std::string one;
          utf8_append(one, cp);
          chars.push_back(Value::string(std::move(one)));
        }
      }
      return chars;
    }
    default:
      return invalid_argument("'{}' object is not iterable", v.type_name());
  }
}

StatusOr<int64_t> py_len(const Value& v) {
  switch (v.kind()) {
    case Value::Kind::kUndefined: return int64_t{0};
    case Value::Kind::kString: return static_cast<int64_t>(codepoint_count(v.as_string()));
    case Value::Kind::kList:
      if (!v.is_sized()) return invalid_argument("object of type '{}' has no len()", v.type_name());
      return static_cast<int64_t>(v.as_list().size());
    case Value::Kind::kDict: return static_cast<int64_t>(v.as_dict().size());
    default: return invalid_argument("object of type '{}' has no len()", v.type_name());
  }
}

StatusOr<Value> get_attr(const Value& obj, const std::string& name) {
  if (obj.is_undefined()) return undefined_error(obj);
  if (auto attr = type_attribute(obj, name)) return *attr;
  if (obj.is_dict()) {
    if (const Value* v = obj.as_dict().find(name)) return *v;
  } else if (obj.is_namespace()) {
    if (const Value* v = obj.as_namespace().attrs.find(name)) return *v;
  }
  return missing_attribute(obj, name);
}

StatusOr<Value> get_item(const Value& obj, const Value& key) {
  if (obj.is_undefined()) return undefined_error(obj);
  bool indexable = obj.is_string() || obj.is_list_or_tuple() || (obj.is_list() && obj.seq_kind() == Value::SeqKind::kRange);
  if (obj.is_dict() && is_hashable(key)) {
    if (const Value* v = obj.as_dict().find(key)) return *v;
  } else if (indexable && (key.is_int() || key.is_bool())) {
    int64_t i = key.as_int();
    if (obj.is_list()) {
      const ValueList& items = obj.as_list();
      int64_t n = static_cast<int64_t>(items.size());
      if (i < 0) i += n;
      if (i >= 0 && i < n) return items[static_cast<size_t>(i)];
    } else {
      auto one = py_slice(obj.as_string(), SliceSpec{i, i == -1 ? std::nullopt : std::optional<int64_t>(i + 1), 1});
      if (one && !one->empty()) return Value::string(std::move(*one));
    }
    return missing_element(obj, key);
  }
  if (key.is_string()) {
    // The sandbox falls back from a failed subscript to the attribute of that name.
    if (auto attr = type_attribute(obj, key.as_string())) return *attr;
    if (obj.is_namespace()) {
      if (const Value* v = obj.as_namespace().attrs.find(key.as_string())) return *v;
    }
    return missing_attribute(obj, key.as_string());
  }
  return missing_element(obj, key);
}

StatusOr<Value> get_slice(const Value& obj, const SliceSpec& spec) {
  if (obj.is_undefined()) return undefined_error(obj);
  if (spec.step && *spec.step == 0) return invalid_argument("slice step cannot be zero");
  if (obj.is_string()) {
    auto s = py_slice(obj.as_string(), spec);
    return Value::string(std::move(*s));
  }
  if (obj.is_list_or_tuple() || (obj.is_list() && obj.seq_kind() == Value::SeqKind::kRange)) {
    const ValueList& items = obj.as_list();
    auto idx = slice_indices(static_cast<int64_t>(items.size()), spec);
    ValueList out;
    out.reserve(idx->size());
    for (int64_t i : *idx) out.push_back(items[static_cast<size_t>(i)]);
    return Value::sequence(std::move(out), obj.seq_kind());
  }
  return Value::undefined(fmt::format("{} cannot be sliced", object_repr(obj)));
}

StatusOr<Value> get_attr_path(const Value& obj, const Value& path) {
  if (!path.is_string()) return get_item(obj, path);
  Value cur = obj;
  std::string_view rest = path.as_string();
  while (true) {
    size_t dot = rest.find('.');
    std::string part(rest.substr(0, dot));
    bool numeric = !part.empty() && std::all_of(part.begin(), part.end(), [](char c) { return c >= '0' && c <= '9'; });
    Value key = numeric ? Value::integer(std::stoll(part)) : Value::string(part);
    ASSIGN_OR_RETURN(cur, get_item(cur, key));
    if (dot == std::string_view::npos) return cur;
    rest = rest.substr(dot + 1);
  }
}

}  // namespace tandem::text::jinja
