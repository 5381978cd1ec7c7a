// load_tokenizer_from_gguf: model::GgufFile metadata -> GgufTokenizerData -> Tokenizer.
// Compiled only when the GGUF loader (worker/model/loader) is part of the build.
#include <utility>

#include "gateway/text/tokenizer/gguf_tokenizer_data.h"
#include "gateway/text/tokenizer/tokenizer.h"
#include "worker/model/loader/gguf_file.h"

namespace tandem::text {
namespace {

template <typename T>
StatusOr<std::optional<T>> optional_key(const model::GgufFile& f, std::string_view key,
                                        StatusOr<T> (model::GgufFile::*get)(std::string_view) const) {
  if (!f.has(key)) return std::optional<T>();
  ASSIGN_OR_RETURN(T v, (f.*get)(key));
  return std::optional<T>(std::move(v));
}

StatusOr<std::optional<int32_t>> optional_id(const model::GgufFile& f, std::string_view key) {
  ASSIGN_OR_RETURN(std::optional<int64_t> v, optional_key<int64_t>(f, key, &model::GgufFile::get_int));
  if (!v) return std::optional<int32_t>();
  if (*v < 0 || *v > INT32_MAX) return invalid_argument("gguf '{}': {} = {} is not a token id", f.path(), key, *v);
  return std::optional<int32_t>(static_cast<int32_t>(*v));
}

}  // namespace

StatusOr<std::unique_ptr<Tokenizer>> load_tokenizer_from_gguf(const model::GgufFile& f) {
  GgufTokenizerData d;
  d.source = f.path().empty() ? std::string("gguf") : f.path();
  ASSIGN_OR_RETURN(d.model, f.get_string("tokenizer.ggml.model"));
  ASSIGN_OR_RETURN(std::optional<std::string> pre,
                   optional_key<std::string>(f, "tokenizer.ggml.pre", &model::GgufFile::get_string));
  d.pre = pre.value_or("");
  ASSIGN_OR_RETURN(d.tokens, f.get_string_array("tokenizer.ggml.tokens"));
  if (f.has("tokenizer.ggml.token_type")) {
    ASSIGN_OR_RETURN(std::vector<int64_t> types, f.get_int_array("tokenizer.ggml.token_type"));
    d.token_types.assign(types.begin(), types.end());
  }
  if (f.has("tokenizer.ggml.merges")) {
    ASSIGN_OR_RETURN(d.merges, f.get_string_array("tokenizer.ggml.merges"));
  }
  if (f.has("tokenizer.ggml.scores")) {
    ASSIGN_OR_RETURN(d.scores, f.get_float_array("tokenizer.ggml.scores"));
  }
  ASSIGN_OR_RETURN(d.bos_id, optional_id(f, "tokenizer.ggml.bos_token_id"));
  ASSIGN_OR_RETURN(d.eos_id, optional_id(f, "tokenizer.ggml.eos_token_id"));
  ASSIGN_OR_RETURN(d.unk_id, optional_id(f, "tokenizer.ggml.unknown_token_id"));
  ASSIGN_OR_RETURN(d.pad_id, optional_id(f, "tokenizer.ggml.padding_token_id"));
  ASSIGN_OR_RETURN(d.add_bos, optional_key<bool>(f, "tokenizer.ggml.add_bos_token", &model::GgufFile::get_bool));
  ASSIGN_OR_RETURN(d.add_eos, optional_key<bool>(f, "tokenizer.ggml.add_eos_token", &model::GgufFile::get_bool));
  ASSIGN_OR_RETURN(d.add_space_prefix,
                   optional_key<bool>(f, "tokenizer.ggml.add_space_prefix", &model::GgufFile::get_bool));
  ASSIGN_OR_RETURN(d.chat_template,
                   optional_key<std::string>(f, "tokenizer.chat_template", &model::GgufFile::get_string));
  return load_tokenizer_from_gguf_data(d);
}

}  // namespace tandem::text
