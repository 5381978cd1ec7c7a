// Internal to the tokenizer.json loader (hf_json_loader.cc, hf_json_components.cc): typed access
// to Boost.JSON values with errors that name the file and the JSON path, and the parsers for the
// pipeline components. Not for other components: Boost.JSON is a heavy include.
#pragma once

#include <boost/json.hpp>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"
#include "gateway/text/tokenizer/tokenizer_spec.h"

namespace tandem::text::hfjson {

namespace json = boost::json;

// A position in the document, for messages: "tokenizer.json: pre_tokenizer.pretokenizers[1]".
struct Where {
  const std::string* source;
  std::string path;
  Where at(std::string_view key) const { return {source, path.empty() ? std::string(key) : path + "." + std::string(key)}; }
  Where index(size_t i) const { return {source, path + "[" + std::to_string(i) + "]"}; }
};

std::string_view kind_name(const json::value& v);
Status type_error(const Where& w, std::string_view want, const json::value& got);

// Field readers: a missing key or JSON null gives the default / nullopt; a wrong type is an error.
StatusOr<const json::object*> object_at(const json::value& v, const Where& w);
StatusOr<const json::array*> array_at(const json::value& v, const Where& w);
StatusOr<std::string> string_at(const json::value& v, const Where& w);
StatusOr<int64_t> int_at(const json::value& v, const Where& w);
StatusOr<bool> bool_field(const json::object& o, std::string_view key, bool dflt, const Where& w);
StatusOr<std::optional<std::string>> string_field(const json::object& o, std::string_view key, const Where& w);
StatusOr<std::string> required_string(const json::object& o, std::string_view key, const Where& w);
const json::value* field(const json::object& o, std::string_view key);  // nullptr when missing or null

// {"String": "..."} (escaped into a regex when as_regex) or {"Regex": "..."}.
StatusOr<std::string> pattern_at(const json::value& v, const Where& w, bool as_regex);

Status parse_normalizer(const json::value& v, const Where& w, std::vector<NormalizerStep>* out);
Status parse_pre_tokenizer(const json::value& v, const Where& w, std::vector<PreTokenizerStep>* out);
Status parse_decoder(const json::value& v, const Where& w, std::vector<DecoderStep>* out);

// TemplateProcessing / ByteLevel / Roberta / Bert / Sequence: the ids added around a single
// sequence by encode(add_special_tokens=true).
struct PostProcessor {
  std::vector<int32_t> prefix, suffix;
};
Status parse_post_processor(const json::value& v, const Where& w, PostProcessor* out);

}  // namespace tandem::text::hfjson
