#include "gateway/openai/completion_request.h"

#include <limits>

#include <boost/json.hpp>
#include <fmt/format.h>

#include "gateway/openai/field_reader.h"

namespace tandem::gateway::openai {
namespace json = boost::json;

ApiResult<std::vector<int32_t>> parse_token_ids(const json::value& v, const std::string& param) {
  if (!v.is_array()) return invalid_type_error(param, "an array of token ids");
  std::vector<int32_t> ids;
  ids.reserve(v.get_array().size());
  std::size_t i = 0;
  for (const json::value& e : v.get_array()) {
    std::optional<int64_t> id = json_to_int(e);
    std::string p = fmt::format("{}[{}]", param, i++);
    if (!id) return invalid_type_error(p, "an integer token id");
    if (*id < 0 || *id > std::numeric_limits<int32_t>::max()) {
      return invalid_value_error(p, fmt::format("token id must be >= 0, got {}", *id));
    }
    ids.push_back(static_cast<int32_t>(*id));
  }
  return ids;
}

namespace {

void read_prompt(FieldReader& r, CompletionRequest& out) {
  if (!r.ok()) return;
  const json::value* v = r.find("prompt");
  if (v == nullptr) return r.fail(missing_field_error("prompt"));
  auto add_tokens = [&](const json::value& ids, const std::string& p) {
    ApiResult<std::vector<int32_t>> t = parse_token_ids(ids, p);
    if (!t.ok()) return r.fail(t.error());
    if (t->empty()) return r.fail(invalid_value_error(p, "token prompt must not be empty"));
    out.prompts.push_back(Prompt{true, "", std::move(t.value())});
  };
  if (v->is_string()) {
    out.prompts.push_back(Prompt{false, std::string(v->get_string()), {}});
    return;
  }
  if (!v->is_array()) {
    return r.fail(invalid_type_error("prompt", "a string, an array of strings, an array of "
                                               "token ids, or an array of token-id arrays"));
  }
  const json::array& a = v->get_array();
  if (a.empty()) return r.fail(invalid_value_error("prompt", "must not be an empty array"));
  if (a[0].is_string()) {
    for (std::size_t i = 0; i < a.size(); ++i) {
      if (!a[i].is_string()) {
        return r.fail(invalid_type_error(fmt::format("prompt[{}]", i), "a string (all elements "
                                                                       "must have one type)"));
      }
      out.prompts.push_back(Prompt{false, std::string(a[i].get_string()), {}});
    }
  } else if (a[0].is_array()) {
    for (std::size_t i = 0; i < a.size() && r.ok(); ++i) {
      add_tokens(a[i], fmt::format("prompt[{}]", i));
    }
  } else {
    add_tokens(*v, "prompt");
  }
}

}  // namespace

ApiResult<CompletionRequest> parse_completion_request(std::string_view body) {
  ApiResult<json::object> obj = parse_body_object(body);
  if (!obj.ok()) return obj.error();
  return parse_completion_request(obj.value());
}

ApiResult<CompletionRequest> parse_completion_request(const json::object& body) {
  CompletionRequest out;
  FieldReader r(body);
  if (auto m = r.get_string("model")) out.model = *m;
  read_prompt(r, out);
  if (auto e = r.get_bool("echo")) out.echo = *e;
  if (auto s = r.get_string("suffix"); s && !s->empty()) {
    r.fail(unsupported_parameter_error("suffix", "insertion (suffix) is not supported; put the "
                                                 "whole text in prompt"));
  }
  read_stream_options(r, out.stream, out.include_usage);
  read_openai_sampling(r, out.sampling);
  if (auto l = r.get_int("logprobs", 0, kMaxLegacyLogprobs)) out.logprobs = static_cast<int>(*l);
  if (auto b = r.get_int("best_of", 1, kMaxN); b && *b != out.sampling.n) {
    r.fail(unsupported_parameter_error("best_of", "best_of other than n is not supported"));
  }
  if (auto u = r.get_string("user")) out.user = *u;
  if (r.ok() && out.prompts.size() > static_cast<std::size_t>(kMaxPrompts)) {
    r.fail(invalid_value_error("prompt", fmt::format("a batch may hold at most {} prompts, got {}; split it into "
                                                     "several requests", kMaxPrompts, out.prompts.size())));
  }
  if (r.ok() && out.prompts.size() * static_cast<std::size_t>(out.sampling.n) >
                    static_cast<std::size_t>(kMaxCompletionChoices)) {
    r.fail(invalid_value_error("n", fmt::format("{} prompts x n={} asks for {} choices; at most {} per request",
                                                out.prompts.size(), out.sampling.n,
                                                out.prompts.size() * static_cast<std::size_t>(out.sampling.n),
                                                kMaxCompletionChoices)));
  }
  if (!r.ok()) return *r.error();
  return out;
}

}  // namespace tandem::gateway::openai
