// The tokenizer part of a GGUF file's metadata as plain data, and its translation into a
// TokenizerSpec. Kept apart from model::GgufFile so the tokenizer builds and tests without the
// loader; gguf_loader.cc fills this struct from a GgufFile.
//
// Semantics follow llama.cpp, which writes and reads these files, and agree with the
// tokenizer.json a model ships:
//   "gpt2"  byte-level BPE; tokenizer.ggml.pre names the split regexes ("smollm", "llama-bpe", ...)
//   "llama" SentencePiece-style BPE: "▁" for spaces, a prefix space before every text run
//           (llama.cpp, and the Prepend normalizer of the original Llama-2 tokenizer.json), byte
//           fallback; merges derived from the scores exactly as transformers' converters do.
// Token types: 1 normal, 2 unknown, 3 control, 4 user-defined, 5 unused, 6 byte. Types 2-4 are
// matched whole in text; 2 and 3 are special (skipped by decode(skip_special_tokens=true)).
// Pure functions; thread-safe.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"
#include "gateway/text/tokenizer/tokenizer_spec.h"

namespace tandem::text {

class Tokenizer;

struct GgufTokenizerData {
  std::string source = "gguf";  // file name for messages
  std::string model;            // tokenizer.ggml.model
  std::string pre;              // tokenizer.ggml.pre ("" when absent)
  std::vector<std::string> tokens;
  std::vector<int32_t> token_types;  // empty: all normal
  std::vector<std::string> merges;   // "left right"
  std::vector<float> scores;
  std::optional<int32_t> bos_id, eos_id, unk_id, pad_id;
  std::optional<bool> add_bos, add_eos, add_space_prefix;
  std::optional<std::string> chat_template;
};

// The pre-tokenizer for a tokenizer.ggml.pre name and whether it sets ignore_merges (Llama-3).
// UNIMPLEMENTED for an unknown name, listing the known ones.
struct GgufPreTokenizer {
  std::vector<PreTokenizerStep> steps;
  bool ignore_merges = false;
};
StatusOr<GgufPreTokenizer> gguf_pre_tokenizer(std::string_view pre);
std::vector<std::string> known_gguf_pre_tokenizers();

StatusOr<TokenizerSpec> tokenizer_spec_from_gguf(const GgufTokenizerData& data);
StatusOr<std::unique_ptr<Tokenizer>> load_tokenizer_from_gguf_data(const GgufTokenizerData& data);

// SentencePiece vocabularies ship scores, not merges. Rebuilds the merge list the way
// transformers' generate_merges does (every split of every token into two vocabulary tokens,
// ranked by the token's score, then longer left part, then longer right part), so a GGUF and the
// tokenizer.json converted from it rank merges identically.
std::vector<std::pair<std::string, std::string>> merges_from_scores(const std::vector<std::string>& tokens,
                                                                    const std::vector<float>& scores);

}  // namespace tandem::text
