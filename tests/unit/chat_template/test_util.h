// Helpers shared by the chat-template tests.
#pragma once

#include <ctime>
#include <fstream>
#include <sstream>
#include <string>

#include <gtest/gtest.h>

#include "gateway/text/template/template.h"
#include "gateway/text/template/value_json.h"
#include "tests/support/test_paths.h"

namespace tandem::text::jinja::testing {

// The instant the oracle froze strftime_now() at (make_cases.py FIXED_NOW): 2024-07-26 12:00:00.
inline std::tm fixed_now() {
  std::tm tm{};
  tm.tm_year = 2024 - 1900;
  tm.tm_mon = 6;
  tm.tm_mday = 26;
  tm.tm_hour = 12;
  std::time_t t = timegm(&tm);  // normalises and fills tm_wday / tm_yday
  std::tm out{};
  gmtime_r(&t, &out);
  return out;
}

inline std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  EXPECT_TRUE(in.good()) << "cannot open " << path;
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

inline std::string data_file(const std::string& rel) {
  return read_file(::tandem::testing::data_path("chat_templates/" + rel));
}

// Compiles and renders `source` with a JSON object as context.
inline StatusOr<std::string> render(const std::string& source, const std::string& context_json = "{}",
                                    RenderLimits limits = RenderLimits{}) {
  ASSIGN_OR_RETURN(Template t, Template::compile(source));
  ASSIGN_OR_RETURN(Value ctx, parse_json_value(context_json, "context"));
  RenderOptions options;
  options.limits = limits;
  options.now = fixed_now();
  return t.render(ctx.as_dict(), options);
}

// Renders and expects success; returns the output (or the error text, which then fails).
inline std::string render_ok(const std::string& source, const std::string& context_json = "{}") {
  auto r = render(source, context_json);
  EXPECT_TRUE(r.ok()) << source << "\n  -> " << r.status().to_string();
  return r.ok() ? *r : "<error: " + r.status().message() + ">";
}

inline Status render_error(const std::string& source, const std::string& context_json = "{}",
                           RenderLimits limits = RenderLimits{}) {
  auto r = render(source, context_json, limits);
  EXPECT_FALSE(r.ok()) << source << "\n  rendered: " << (r.ok() ? *r : "");
  return r.ok() ? Status() : r.status();
}

}  // namespace tandem::text::jinja::testing
