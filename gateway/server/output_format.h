// Output formatting: the JSON bodies and SSE payloads of chat, completion and native /generate
// responses, built from the choices' ChoiceState and ChoiceDelta. Pure functions.
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "gateway/openai/respond.h"
#include "gateway/server/request_preparation.h"
#include "gateway/server/response_processing.h"

namespace tandem::gateway::server {

struct ResponseContext {
  const PreparedRequest* request = nullptr;
  openai::ResponseMeta meta;
  int64_t cached_tokens = 0;
  double e2e_seconds = 0;
};

openai::Usage usage_of(const ResponseContext& ctx,
                       const std::vector<std::unique_ptr<ChoiceState>>& choices);

// Streaming: the payload for one choice's delta (nullopt: nothing worth sending), the opening
// chunk (chat: role), the closing chunk of a choice, the usage chunk.
std::optional<std::string> stream_delta(const ResponseContext& ctx, const ChoiceState& choice,
                                        const ChoiceDelta& delta);
std::optional<std::string> stream_open(const ResponseContext& ctx, int index);
std::string stream_close(const ResponseContext& ctx, const ChoiceState& choice);
std::optional<std::string> stream_usage(const ResponseContext& ctx,
                                        const std::vector<std::unique_ptr<ChoiceState>>& choices);

// Non-streaming: the whole response body.
std::string full_response(const ResponseContext& ctx,
                          const std::vector<std::unique_ptr<ChoiceState>>& choices);

}  // namespace tandem::gateway::server
