// Normalisation of an OpenAI messages array before a chat template sees it (the rules are listed
// in chat_template.h). Separate from the renderer so the rules are testable on their own.
// Thread-safe: pure function.
#pragma once

#include <string_view>

#include "common/status.h"
#include "gateway/text/template/value.h"

namespace tandem::text::jinja {

// Parses `messages_json` (a JSON array of objects, each with a string "role") and returns the
// normalised list. Errors are kInvalidArgument naming the offending message index.
StatusOr<Value> normalize_messages(std::string_view messages_json);

}  // namespace tandem::text::jinja
