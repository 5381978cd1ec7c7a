// Jinja "tests" (`x is defined`, `x is string`, `n is divisibleby 3`, ...) with the semantics of
// jinja2/tests.py applied to our Values. Also used by the select/reject filters.
// Thread-safe: pure functions.
#pragma once

#include <string_view>

#include "common/status.h"
#include "gateway/text/template/value.h"

namespace tandem::text::jinja {

bool is_known_test(std::string_view name);
StatusOr<bool> apply_test(std::string_view name, const Value& value, const CallArgs& args);

}  // namespace tandem::text::jinja
