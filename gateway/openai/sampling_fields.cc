#include "gateway/openai/sampling_fields.h"

#include <charconv>
#include <limits>

#include <boost/json.hpp>
#include <fmt/format.h>

#include "gateway/openai/field_reader.h"

namespace tandem::gateway::openai {
namespace json = boost::json;

namespace {

constexpr int64_t kMaxTokenId = std::numeric_limits<int32_t>::max();
constexpr int64_t kMaxTokens = std::numeric_limits<int32_t>::max();

// `stop`: a string or an array of strings.
void read_stop(FieldReader& r, SamplingFields& out) {
  const json::value* v = r.ok() ? r.find("stop") : nullptr;
  if (v == nullptr) return;
  if (v->is_string()) {
    if (!v->get_string().empty()) out.stop.emplace_back(v->get_string());
    return;
  }
  if (!v->is_array()) {
    r.fail(invalid_type_error(r.param("stop"), "a string or an array of strings"));
    return;
  }
  const json::array& a = v->get_array();
  for (std::size_t i = 0; i < a.size(); ++i) {
    if (!a[i].is_string()) {
      r.fail(invalid_type_error(fmt::format("{}[{}]", r.param("stop"), i), "a string"));
      return;
    }
    if (!a[i].get_string().empty()) out.stop.emplace_back(a[i].get_string());
  }
}

void read_stop_token_ids(FieldReader& r, SamplingFields& out) {
  const json::array* a = r.get_array("stop_token_ids");
  if (a == nullptr) return;
  for (std::size_t i = 0; i < a->size(); ++i) {
    std::optional<int64_t> id = json_to_int((*a)[i]);
    std::string p = fmt::format("{}[{}]", r.param("stop_token_ids"), i);
    if (!id) return r.fail(invalid_type_error(p, "an integer token id"));
    if (*id < 0 || *id > kMaxTokenId) {
      return r.fail(invalid_value_error(p, fmt::format("token id must be >= 0, got {}", *id)));
    }
    out.stop_token_ids.push_back(*id);
  }
}

void read_logit_bias(FieldReader& r, SamplingFields& out) {
  const json::object* o = r.get_object("logit_bias");
  if (o == nullptr) return;
  for (const auto& [key, value] : *o) {
    std::string p = fmt::format("{}.{}", r.param("logit_bias"), std::string_view(key));
    int64_t id = -1;
    auto [ptr, ec] = std::from_chars(key.data(), key.data() + key.size(), id);
    if (ec != std::errc() || ptr != key.data() + key.size() || id < 0 || id > kMaxTokenId) {
      return r.fail(invalid_value_error(p, "keys must be token ids (non-negative integers as "
                                           "strings)"));
    }
    std::optional<double> bias = json_to_double(value);
    if (!bias) return r.fail(invalid_type_error(p, "a number"));
    if (*bias < -100 || *bias > 100) {
      return r.fail(invalid_value_error(p, fmt::format("bias must be in [-100, 100], got {}",
                                                       *bias)));
    }
    out.logit_bias.emplace_back(id, *bias);
  }
}

void read_shared(FieldReader& r, SamplingFields& out) {
  out.temperature = r.get_number("temperature", 0.0, 2.0);
  out.top_p = r.get_number("top_p", 0.0, 1.0, /*min_exclusive=*/true);
  out.top_k = r.get_int("top_k", -1, kMaxTokenId);
  out.min_p = r.get_number("min_p", 0.0, 1.0);
  out.frequency_penalty = r.get_number("frequency_penalty", -2.0, 2.0);
  out.presence_penalty = r.get_number("presence_penalty", -2.0, 2.0);
  out.repetition_penalty = r.get_number("repetition_penalty", 0.0, 2.0, /*min_exclusive=*/true);
  read_stop(r, out);
  read_stop_token_ids(r, out);
  read_logit_bias(r, out);
  if (auto b = r.get_bool("ignore_eos")) out.ignore_eos = *b;
  if (auto b = r.get_bool("skip_special_tokens")) out.skip_special_tokens = *b;
  if (auto n = r.get_int("n", 1, kMaxN)) out.n = static_cast<int>(*n);
}

}  // namespace

void read_openai_sampling(FieldReader& r, SamplingFields& out) {
  out.max_tokens = r.get_int("max_tokens", 1, kMaxTokens);
  if (auto m = r.get_int("max_completion_tokens", 1, kMaxTokens)) out.max_tokens = m;
  out.min_tokens = r.get_int("min_tokens", 0, kMaxTokens);
  out.seed = r.get_int("seed", std::numeric_limits<int64_t>::min(),
                       std::numeric_limits<int64_t>::max());
  read_shared(r, out);
  if (r.ok() && out.min_tokens && out.max_tokens && *out.min_tokens > *out.max_tokens) {
    r.fail(invalid_value_error(r.param("min_tokens"),
                               fmt::format("min_tokens ({}) is larger than max_tokens ({})",
                                           *out.min_tokens, *out.max_tokens)));
  }
}

void read_sglang_sampling(FieldReader& r, SamplingFields& out) {
  // SGLang allows max_new_tokens = 0 (prefill only, e.g. for logprobs of the prompt).
  out.max_tokens = r.get_int("max_new_tokens", 0, kMaxTokens);
  out.min_tokens = r.get_int("min_new_tokens", 0, kMaxTokens);
  out.seed = r.get_int("sampling_seed", std::numeric_limits<int64_t>::min(),
                       std::numeric_limits<int64_t>::max());
  read_shared(r, out);
  if (r.ok() && out.min_tokens && out.max_tokens && *out.min_tokens > *out.max_tokens) {
    r.fail(invalid_value_error(r.param("min_new_tokens"),
                               fmt::format("min_new_tokens ({}) is larger than max_new_tokens ({})",
                                           *out.min_tokens, *out.max_tokens)));
  }
}

ApiResult<json::object> parse_body_object(std::string_view body) {
  boost::system::error_code ec;
  json::value v = json::parse(body, ec);
  if (ec) {
    return invalid_json_error(fmt::format("{} (body is {} bytes)", ec.message(), body.size()));
  }
  if (!v.is_object()) {
    ApiError e = invalid_json_error("the body must be a JSON object");
    return e;
  }
  return std::move(v.get_object());
}

void read_stream_options(FieldReader& r, bool& stream, bool& include_usage) {
  if (auto s = r.get_bool("stream")) stream = *s;
  if (const boost::json::object* so = r.get_object("stream_options")) {
    FieldReader s(*so, "stream_options.");
    if (auto u = s.get_bool("include_usage")) include_usage = *u;
    if (!s.ok()) r.fail(*s.error());
  }
}

}  // namespace tandem::gateway::openai
