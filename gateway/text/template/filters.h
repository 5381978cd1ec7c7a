// Jinja filters (`x | name(args)`) with the semantics of jinja2/filters.py in a non-autoescaping
// environment, plus Hugging Face's `tojson` (json.dumps with ensure_ascii=False by default, and
// indent / separators / sort_keys options instead of Jinja's HTML-safe variant).
//
// Implemented: abs attr capitalize center count d default dictsort e escape first float indent
// int items join last length list lower map max min reject rejectattr replace reverse round safe
// select selectattr sort string sum title tojson trim unique upper wordcount. Any other name is
// rejected when the template is compiled (check_names.cc), or when it runs if guarded by an `if`.
// Thread-safe: pure functions.
#pragma once

#include <string_view>

#include "common/status.h"
#include "gateway/text/template/limits.h"
#include "gateway/text/template/value.h"

namespace tandem::text::jinja {

bool is_known_filter(std::string_view name);
StatusOr<Value> apply_filter(std::string_view name, const Value& input, const CallArgs& args,
                             const RenderLimits& limits);

}  // namespace tandem::text::jinja
