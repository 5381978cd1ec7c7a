#include "gateway/openai/generate_request.h"

#include <boost/json.hpp>

#include "gateway/openai/completion_request.h"
#include "gateway/openai/field_reader.h"

namespace tandem::gateway::openai {
namespace json = boost::json;

ApiResult<GenerateRequest> parse_generate_request(std::string_view body) {
  ApiResult<json::object> obj = parse_body_object(body);
  if (!obj.ok()) return obj.error();
  return parse_generate_request(obj.value());
}

ApiResult<GenerateRequest> parse_generate_request(const json::object& body) {
  GenerateRequest out;
  FieldReader r(body);
  const json::value* text = r.find("text");
  const json::value* ids = r.find("input_ids");
  if (text != nullptr && ids != nullptr) {
    return invalid_value_error("text", "send either text or input_ids, not both");
  }
  if (text == nullptr && ids == nullptr) return missing_field_error("text");
  if (text != nullptr) {
    if (text->is_array()) {
      return unsupported_parameter_error("text", "batched requests are not supported; send one "
                                                 "request per prompt");
    }
    if (!text->is_string()) return invalid_type_error("text", "a string");
    out.text = std::string(text->get_string());
  } else {
    if (ids->is_array() && !ids->get_array().empty() && ids->get_array()[0].is_array()) {
      return unsupported_parameter_error("input_ids", "batched requests are not supported; send "
                                                      "one request per prompt");
    }
    ApiResult<std::vector<int32_t>> t = parse_token_ids(*ids, "input_ids");
    if (!t.ok()) return t.error();
    if (t->empty()) return invalid_value_error("input_ids", "must not be empty");
    out.input_ids = std::move(t.value());
  }
  if (const json::object* sp = r.get_object("sampling_params")) {
    FieldReader s(*sp, "sampling_params.");
    read_sglang_sampling(s, out.sampling);
    if (!s.ok()) return *s.error();
  }
  if (auto s = r.get_bool("stream")) out.stream = *s;
  if (auto l = r.get_bool("return_logprob")) out.return_logprob = *l;
  if (auto t = r.get_int("top_logprobs_num", 0, 20)) out.top_logprobs_num = static_cast<int>(*t);
  if (auto l = r.get_int("logprob_start_len", -1, INT32_MAX)) out.logprob_start_len = *l;
  if (auto rid = r.get_string("rid")) out.rid = *rid;
  if (!r.ok()) return *r.error();
  return out;
}

}  // namespace tandem::gateway::openai
