// Binding Python-style call arguments (positional + keyword) to a builtin's named parameters,
// with the errors Python gives for too many, unknown or duplicate arguments.
// Thread-safe: pure function.
#pragma once

#include <initializer_list>
#include <string_view>
#include <vector>

#include "common/status.h"
#include "gateway/text/template/value.h"

namespace tandem::text::jinja {

struct Param {
  std::string_view name;
  bool required = false;
};

// Returns one Value per parameter, in declaration order; parameters not passed are Undefined
// (callers substitute their defaults). `fn` names the builtin in error messages.
StatusOr<std::vector<Value>> bind_args(std::string_view fn, const CallArgs& args,
                                       std::initializer_list<Param> params);

// Helpers for builtins that take loosely typed arguments.
inline bool given(const Value& v) { return !v.is_undefined(); }
StatusOr<int64_t> int_arg(std::string_view fn, std::string_view param, const Value& v);
StatusOr<std::string> str_arg(std::string_view fn, std::string_view param, const Value& v);

}  // namespace tandem::text::jinja
