#include "gateway/text/template/globals.h"

#include <fmt/format.h>

#include "gateway/text/template/call_args.h"

namespace tandem::text::jinja {
namespace {

StatusOr<Value> range_fn(const CallArgs& args, int64_t max_range) {
  if (!args.keyword.empty()) return invalid_argument("range() takes no keyword arguments");
  if (args.positional.empty() || args.positional.size() > 3) {
    return invalid_argument("range expected 1 to 3 arguments, got {}", args.positional.size());
  }
  int64_t v[3] = {0, 0, 1};
  for (size_t i = 0; i < args.positional.size(); ++i) {
    const Value& a = args.positional[i];
    if (!a.is_int() && !a.is_bool()) {
      return invalid_argument("'{}' object cannot be interpreted as an integer", a.type_name());
    }
    v[i] = a.as_int();
  }
  int64_t start = 0, stop = 0, step = 1;
  if (args.positional.size() == 1) {
    stop = v[0];
  } else {
    start = v[0];
    stop = v[1];
    step = v[2];
  }
  if (step == 0) return invalid_argument("range() arg 3 must not be zero");
  // Length computed in 128 bits so extreme bounds cannot overflow.
  __int128 span = step > 0 ? static_cast<__int128>(stop) - start : static_cast<__int128>(start) - stop;
  __int128 abs_step = step > 0 ? step : -static_cast<__int128>(step);
  __int128 count = span <= 0 ? 0 : (span + abs_step - 1) / abs_step;
  if (count > max_range) {
    return resource_exhausted("Range too big. The sandbox blocks ranges larger than MAX_RANGE ({}).", max_range);
  }
  ValueList out;
  out.reserve(static_cast<size_t>(count));
  for (__int128 i = 0; i < count; ++i) out.push_back(Value::integer(static_cast<int64_t>(start + i * step)));
  return Value::sequence(std::move(out), Value::SeqKind::kRange);
}

// dict(*args, **kwargs) as namespace() and dict() build it: an optional mapping (or list of
// pairs) followed by keyword arguments.
StatusOr<Dict> dict_from_args(std::string_view fn, const CallArgs& args) {
  if (args.positional.size() > 1) {
    return invalid_argument("{}() expected at most 1 positional argument, got {}", fn, args.positional.size());
  }
  Dict d;
  if (!args.positional.empty()) {
    const Value& src = args.positional[0];
    if (src.is_dict()) {
      d = src.as_dict();
    } else if (src.is_list()) {
      for (const Value& pair : src.as_list()) {
        if (!pair.is_list() || pair.as_list().size() != 2 || !is_hashable(pair.as_list()[0])) {
          return invalid_argument("{}(): each element must be a (key, value) pair with a hashable key", fn);
        }
        d.set(pair.as_list()[0], pair.as_list()[1]);
      }
    } else {
      return invalid_argument("{}(): '{}' object is not a mapping", fn, src.type_name());
    }
  }
  for (const auto& [k, v] : args.keyword) d.set(k, v);
  return d;
}

}  // namespace

std::string py_strftime(const std::string& format, const std::tm& time) {
  // Python handles %f, %z and %Z itself for naive datetimes before calling the C library.
  std::string fmt_str;
  for (size_t i = 0; i < format.size(); ++i) {
    if (format[i] == '%' && i + 1 < format.size()) {
      char c = format[i + 1];
      if (c == 'f') {
        fmt_str += "000000";
        ++i;
        continue;
      }
      if (c == 'z' || c == 'Z') {
        ++i;
        continue;
      }
      fmt_str += format[i];
      fmt_str += c;
      ++i;
      continue;
    }
    fmt_str += format[i];
  }
  if (fmt_str.empty()) return "";
  // strftime returns 0 both for "too small" and for an empty result; a marker tells them apart.
  fmt_str += '\x01';
  std::string buf(64 + fmt_str.size() * 4, '\0');
  for (int attempt = 0; attempt < 8; ++attempt) {
    size_t n = std::strftime(buf.data(), buf.size(), fmt_str.c_str(), &time);
    if (n > 0) {
      buf.resize(n - 1);
      return buf;
    }
    buf.resize(buf.size() * 4);
  }
  return "";
}

Dict builtin_globals(const RenderLimits& limits, const std::tm& now, bool* raised_flag,
                     std::vector<Value>* namespaces) {
  Dict g;
  int64_t max_range = limits.max_range;
  g.set("range", Value::function("range", [max_range](CallArgs& a) { return range_fn(a, max_range); }));
  g.set("namespace", Value::function("namespace", [namespaces](CallArgs& a) -> StatusOr<Value> {
          ASSIGN_OR_RETURN(Dict d, dict_from_args("namespace", a));
          for (const auto& [key, unused] : d.entries()) {
            std::string k = key.str();
            if (!k.empty() && k[0] == '_') {
              return invalid_argument("Chat templates cannot store underscore-prefixed attributes on a "
                                      "namespace, but got '{}'. Please rename the attribute.", k);
            }
          }
          Value ns = Value::make_namespace(std::move(d));
          namespaces->push_back(ns);
          return ns;
        }));
  g.set("dict", Value::function("dict", [](CallArgs& a) -> StatusOr<Value> {
          ASSIGN_OR_RETURN(Dict d, dict_from_args("dict", a));
          return Value::dict(std::move(d));
        }));
  g.set("raise_exception", Value::function("raise_exception", [raised_flag](CallArgs& a) -> StatusOr<Value> {
          ASSIGN_OR_RETURN(auto bound, bind_args("raise_exception", a, {{"message", true}}));
          *raised_flag = true;
          return Status(StatusCode::kInvalidArgument, bound[0].str());
        }));
  g.set("strftime_now", Value::function("strftime_now", [now](CallArgs& a) -> StatusOr<Value> {
          ASSIGN_OR_RETURN(auto bound, bind_args("strftime_now", a, {{"format", true}}));
          ASSIGN_OR_RETURN(std::string format, str_arg("strftime_now", "format", bound[0]));
          return Value::string(py_strftime(format, now));
        }));
  return g;
}

}  // namespace tandem::text::jinja
