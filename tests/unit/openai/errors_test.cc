#include "gateway/openai/errors.h"

#include <boost/json.hpp>
#include <gtest/gtest.h>

namespace tandem::gateway::openai {
namespace {

TEST(ApiError, SerializesOpenAiShapeWithNullParamWhenEmpty) {
  ApiError e = invalid_value_error("temperature", "must be in [0, 2], got 3");
  auto v = boost::json::parse(e.to_json()).as_object();
  ASSERT_EQ(v.size(), 1u);
  auto err = v.at("error").as_object();
  EXPECT_EQ(err.at("message").as_string(), "field 'temperature': must be in [0, 2], got 3");
  EXPECT_EQ(err.at("type").as_string(), "invalid_request_error");
  EXPECT_EQ(err.at("param").as_string(), "temperature");
  EXPECT_EQ(err.at("code").as_string(), "invalid_value");
  EXPECT_EQ(e.http_status, 400);

  ApiError nf = not_found_error("GET", "/x");
  auto nerr = boost::json::parse(nf.to_json()).at("error").as_object();
  EXPECT_TRUE(nerr.at("param").is_null());
  EXPECT_EQ(nf.http_status, 404);
}

TEST(ApiError, ConstructorsUseStableCodesAndStatuses) {
  struct Case {
    ApiError e;
    int status;
    const char* code;
  };
  const Case cases[] = {
      {invalid_json_error("x"), 400, "invalid_json"},
      {invalid_type_error("n", "an integer"), 400, "invalid_type"},
      {missing_field_error("messages"), 400, "missing_field"},
      {unsupported_parameter_error("suffix", "no"), 400, "unsupported_parameter"},
      {model_not_found_error("gpt-9"), 404, "model_not_found"},
      {context_length_error(9000, 100, 8192), 400, "context_length_exceeded"},
      {body_too_large_error(1024), 413, "body_too_large"},
      {method_not_allowed_error("PUT", "/v1/models"), 405, "method_not_allowed"},
      {internal_error("x"), 500, "internal_error"},
      {shutting_down_error(), 503, "shutting_down"},
      {no_available_workers_error("x"), 503, "no_available_workers"},
      {worker_error("x"), 502, "worker_error"},
      {timeout_error("x"), 504, "timeout"},
      {rate_limited_error("x"), 429, "rate_limited"},
      {unauthorized_error("x"), 401, "unauthorized"},
  };
  for (const Case& c : cases) {
    EXPECT_EQ(c.e.http_status, c.status) << c.code;
    EXPECT_EQ(c.e.code, c.code);
    EXPECT_EQ(boost::json::parse(c.e.to_json()).at("error").at("code").as_string(), c.code);
  }
  EXPECT_NE(context_length_error(9000, 100, 8192).message.find("8192"), std::string::npos);
  EXPECT_NE(unsupported_parameter_error("response_format", "no grammar backend")
                .message.find("unsupported_parameter: "),
            std::string::npos);
}

}  // namespace
}  // namespace tandem::gateway::openai
