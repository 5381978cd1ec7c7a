#include "gateway/text/template/call_args.h"

namespace tandem::text::jinja {

StatusOr<std::vector<Value>> bind_args(std::string_view fn, const CallArgs& args,
                                       std::initializer_list<Param> params) {
  std::vector<Value> bound(params.size());
  std::vector<bool> set(params.size(), false);
  if (args.positional.size() > params.size()) {
    return invalid_argument("{}() takes at most {} argument(s) ({} given)", fn, params.size(),
                            args.positional.size());
  }
  for (size_t i = 0; i < args.positional.size(); ++i) {
    bound[i] = args.positional[i];
    set[i] = true;
  }
  for (const auto& [key, value] : args.keyword) {
    size_t i = 0;
    for (const Param& p : params) {
      if (p.name == key) break;
      ++i;
    }
    if (i == params.size()) return invalid_argument("{}() got an unexpected keyword argument '{}'", fn, key);
    if (set[i]) return invalid_argument("{}() got multiple values for argument '{}'", fn, key);
    bound[i] = value;
    set[i] = true;
  }
  size_t i = 0;
  for (const Param& p : params) {
    if (p.required && !set[i]) return invalid_argument("{}() missing required argument '{}'", fn, p.name);
    ++i;
  }
  return bound;
}

StatusOr<int64_t> int_arg(std::string_view fn, std::string_view param, const Value& v) {
  if (v.is_int() || v.is_bool()) return v.as_int();
  return invalid_argument("{}(): '{}' must be an integer, got {}", fn, param, v.type_name());
}

StatusOr<std::string> str_arg(std::string_view fn, std::string_view param, const Value& v) {
  if (v.is_string()) return v.as_string();
  return invalid_argument("{}(): '{}' must be a string, got {}", fn, param, v.type_name());
}

}  // namespace tandem::text::jinja
