// The SGLang-native /generate response ({text, output_ids, meta_info{...}}).
#include <boost/json.hpp>

#include "gateway/openai/respond.h"

namespace tandem::gateway::openai {
namespace json = boost::json;

namespace {

json::value finish_reason_json(const std::optional<FinishReason>& f) {
  if (!f) return nullptr;
  json::object o{{"type", f->type}};
  if (f->matched_token) {
    o["matched"] = *f->matched_token;
  } else if (f->matched_text) {
    o["matched"] = *f->matched_text;
  }
  if (f->length) o["length"] = *f->length;
  if (!f->message.empty()) o["message"] = f->message;
  return o;
}

// SGLang's logprob triple: [logprob, token_id, token_text]; the text is null unless the
// client asked for it (return_text_in_logprobs, not supported here).
json::array triple(double logprob, int32_t id) {
  return json::array{logprob, static_cast<int64_t>(id), nullptr};
}

}  // namespace

std::string generate_response_json(const GenerateResult& r) {
  json::array ids;
  for (int32_t id : r.output_ids) ids.emplace_back(static_cast<int64_t>(id));
  json::object meta{{"id", r.id},
                    {"finish_reason", finish_reason_json(r.finish_reason)},
                    {"prompt_tokens", r.prompt_tokens},
                    {"completion_tokens", r.completion_tokens},
                    {"cached_tokens", r.cached_tokens},
                    {"e2e_latency", r.e2e_latency}};
  if (r.output_token_logprobs) {
    json::array a;
    for (const auto& [lp, id] : *r.output_token_logprobs) a.push_back(triple(lp, id));
    meta["output_token_logprobs"] = std::move(a);
  }
  if (r.output_top_logprobs) {
    json::array a;
    for (const auto& alternatives : *r.output_top_logprobs) {
      json::array inner;
      for (const auto& [lp, id] : alternatives) inner.push_back(triple(lp, id));
      a.push_back(std::move(inner));
    }
    meta["output_top_logprobs"] = std::move(a);
  }
  json::object root{
      {"text", r.text}, {"output_ids", std::move(ids)}, {"meta_info", std::move(meta)}};
  return json::serialize(root);
}

}  // namespace tandem::gateway::openai
