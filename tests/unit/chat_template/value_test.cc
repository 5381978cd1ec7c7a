// Python value semantics the renderer depends on: float repr, str/repr of containers, string
// slicing and splitting over UTF-8, json.dumps options, JSON parsing.
#include <cmath>

#include <gtest/gtest.h>

#include "gateway/text/template/py_string.h"
#include "gateway/text/template/value.h"
#include "gateway/text/template/value_json.h"

namespace tandem::text::jinja {
namespace {

TEST(PyFloat, ReprMatchesPython) {
  EXPECT_EQ(format_py_float(1.0), "1.0");
  EXPECT_EQ(format_py_float(0.1), "0.1");
  EXPECT_EQ(format_py_float(0.1 + 0.2), "0.30000000000000004");
  EXPECT_EQ(format_py_float(1e16), "1e+16");
  EXPECT_EQ(format_py_float(1234567890123456.0), "1234567890123456.0");
  EXPECT_EQ(format_py_float(0.0001), "0.0001");
  EXPECT_EQ(format_py_float(0.00001), "1e-05");
  EXPECT_EQ(format_py_float(-2.5e-300), "-2.5e-300");
  EXPECT_EQ(format_py_float(123.456), "123.456");
  EXPECT_EQ(format_py_float(-0.0), "-0.0");
  EXPECT_EQ(format_py_float(INFINITY), "inf");
  EXPECT_EQ(format_py_float(NAN), "nan");
}

TEST(PyValue, StrAndReprOfContainers) {
  Dict d;
  d.set("k", Value::list({Value::integer(1), Value::string("it's"), Value::none(), Value::boolean(true)}));
  d.set("t", Value::tuple({Value::string("x")}));
  EXPECT_EQ(Value::dict(d).str(), "{'k': [1, \"it's\", None, True], 't': ('x',)}");
  EXPECT_EQ(Value::string("a\nb").repr(), "'a\\nb'");
  EXPECT_EQ(Value().str(), "");  // Undefined prints nothing
  EXPECT_FALSE(Value().truthy());
  EXPECT_FALSE(Value::string("").truthy());
  EXPECT_TRUE(Value::list({Value::none()}).truthy());
  // Setting an existing key keeps its position, like Python dict assignment.
  d.set("k", Value::integer(2));
  EXPECT_EQ(Value::dict(d).str(), "{'k': 2, 't': ('x',)}");
}

TEST(PyValue, EqualityFollowsPython) {
  EXPECT_TRUE(values_equal(Value::integer(1), Value::number(1.0)));
  EXPECT_TRUE(values_equal(Value::boolean(true), Value::integer(1)));
  EXPECT_FALSE(values_equal(Value::list({Value::integer(1)}), Value::tuple({Value::integer(1)})));
  EXPECT_FALSE(values_equal(Value::none(), Value()));
  EXPECT_TRUE(values_equal(Value(), Value()));
}

TEST(PyString, SlicesCountCodePoints) {
  std::string s = "h\xC3\xA9llo \xE6\x97\xA5\xE6\x9C\xAC";  // "héllo 日本"
  EXPECT_EQ(codepoint_count(s), 8u);
  EXPECT_EQ(*py_slice(s, SliceSpec{1, 2, std::nullopt}), "\xC3\xA9");
  EXPECT_EQ(*py_slice(s, SliceSpec{-2, std::nullopt, std::nullopt}), "\xE6\x97\xA5\xE6\x9C\xAC");
  EXPECT_EQ(*py_slice("abcdef", SliceSpec{std::nullopt, std::nullopt, -2}), "fdb");
  EXPECT_EQ(*py_slice("abc", SliceSpec{10, std::nullopt, std::nullopt}), "");
  EXPECT_FALSE(py_slice("abc", SliceSpec{std::nullopt, std::nullopt, 0}).has_value());
}

TEST(PyString, InvalidUtf8BytesSurviveRoundTrip) {
  std::string bad = "a\xFF\xC3(b";
  EXPECT_EQ(utf8_encode(utf8_decode(bad)), bad);
  EXPECT_EQ(*py_slice(bad, SliceSpec{std::nullopt, std::nullopt, -1}), "b(\xC3\xFF" "a");
}

TEST(PyString, SplitStripReplace) {
  EXPECT_EQ(py_split("  a  b c ", std::nullopt, -1), (std::vector<std::string>{"a", "b", "c"}));
  EXPECT_EQ(py_split("  a  b c ", std::nullopt, 1), (std::vector<std::string>{"a", "b c "}));
  EXPECT_EQ(py_rsplit("  a  b c ", std::nullopt, 1), (std::vector<std::string>{"  a  b", "c"}));
  EXPECT_EQ(py_split("a,,b", std::string(","), -1), (std::vector<std::string>{"a", "", "b"}));
  EXPECT_EQ(py_rsplit("a.b.c", std::string("."), 1), (std::vector<std::string>{"a.b", "c"}));
  EXPECT_EQ(py_strip("\xC2\xA0 x \xE3\x80\x80", std::nullopt, StripSide::kBoth), "x");  // NBSP, ideographic space
  EXPECT_EQ(py_strip("xxhixy", std::string("xy"), StripSide::kBoth), "hi");
  EXPECT_EQ(py_strip("\n\nA\n", std::string("\n"), StripSide::kLeft), "A\n");
  EXPECT_EQ(py_replace("ab", "", "-", -1), "-a-b-");
  EXPECT_EQ(py_replace("aaaa", "a", "b", 2), "bbaa");
  EXPECT_EQ(py_splitlines("a\r\nb\rc\n\nd"), (std::vector<std::string>{"a", "b", "c", "", "d"}));
}

TEST(PyString, CaseMapping) {
  EXPECT_EQ(py_upper("stra\xC3\x9F" "e"), "STRASSE");
  EXPECT_EQ(py_lower("\xC3\x89" "COLE"), "\xC3\xA9" "cole");
  EXPECT_EQ(py_title("they're bill's"), "They'Re Bill'S");
  EXPECT_EQ(py_capitalize("hELLO wORLD"), "Hello world");
  EXPECT_TRUE(py_islower("abc1"));
  EXPECT_FALSE(py_isupper("123"));
  EXPECT_EQ(py_repr("tab\t\xC2\xA0" "e\xCC\x81"), "'tab\\t\\xa0e\xCC\x81'");
}

TEST(Json, DumpsLikePython) {
  auto v = parse_json_value(R"({"b": [1, 2.5, {"c": null}], "a": "\u00e9\"\n", "e": {}, "f": []})", "test");
  ASSERT_TRUE(v.ok()) << v.status().to_string();
  EXPECT_EQ(*dump_json(*v, {}), R"({"b": [1, 2.5, {"c": null}], "a": "é\"\n", "e": {}, "f": []})");
  JsonDumpOptions ascii;
  ascii.ensure_ascii = true;
  ascii.sort_keys = true;
  EXPECT_EQ(*dump_json(*v, ascii), R"({"a": "\u00e9\"\n", "b": [1, 2.5, {"c": null}], "e": {}, "f": []})");
  JsonDumpOptions indent;
  indent.indent = "  ";
  EXPECT_EQ(*dump_json(Value::list({Value::integer(1), Value::list({})}), indent), "[\n  1,\n  []\n]");
  JsonDumpOptions compact;
  compact.item_separator = ",";
  compact.key_separator = ":";
  EXPECT_EQ(*dump_json(*v, compact), R"({"b":[1,2.5,{"c":null}],"a":"é\"\n","e":{},"f":[]})");
  EXPECT_EQ(*dump_json(Value::string("\xF0\x9F\x9A\x80"), ascii), "\"\\ud83d\\ude80\"");
  EXPECT_EQ(*dump_json(Value::number(1e20), {}), "1e+20");
  auto bad = dump_json(Value(), {});
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.status().message().find("Undefined is not JSON serializable"), std::string::npos);
}

TEST(Json, ParseErrorsAreStatuses) {
  auto r = parse_json_value("[1, 2", "messages_json");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(r.status().message().find("messages_json"), std::string::npos);
  std::string deep(5000, '[');
  EXPECT_FALSE(parse_json_value(deep + std::string(5000, ']'), "deep").ok());
  auto big = parse_json_value("[18446744073709551615, 9223372036854775807, 1.0]", "n");
  ASSERT_TRUE(big.ok());
  EXPECT_EQ(big->str(), "[1.8446744073709552e+19, 9223372036854775807, 1.0]");
}

}  // namespace
}  // namespace tandem::text::jinja
