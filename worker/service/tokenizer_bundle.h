// The GetTokenizer payload: one zip archive (stored entries) holding what a gateway needs to build
// the model's tokenizer without a local copy, plus the archive's SHA-256, as SMG's client expects
// (concatenate every chunk's data; the last chunk carries the hex digest).
//
//   HF directory: tokenizer.json, tokenizer_config.json, special_tokens_map.json,
//                 chat_template.jinja, generation_config.json — those present.
//   GGUF file:    tokenizer.json, tokenizer_config.json, special_tokens_map.json,
//                 generation_config.json made from the GGUF metadata (tokenizer_hf_export.h; for
//                 HF-only gateways such as SMG), then tokenizer.gguf — the model's GGUF header and
//                 every metadata key/value with zero tensors (a few MB instead of the weights);
//                 Tandem's gateway loads that one (text::load_tokenizer_from_gguf). A vocabulary
//                 the HF export does not map ships tokenizer.gguf alone (logged once).
//
// Pure functions; any thread. Building reads the files once (the service caches the result).
#pragma once

#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "common/status.h"

namespace tandem::service {

inline constexpr std::string_view kTokenizerGgufName = "tokenizer.gguf";

struct TokenizerBundle {
  std::string zip;         // the archive bytes
  std::string sha256_hex;  // lowercase hex digest of `zip`
  std::vector<std::string> files;  // entry names, in archive order
};

// path: a .gguf file or an HF model directory. NOT_FOUND / INVALID_ARGUMENT naming the path when
// neither holds a tokenizer.
StatusOr<TokenizerBundle> build_tokenizer_bundle(const std::string& path);

// A GGUF with the same header and metadata as `gguf_path` and no tensors.
StatusOr<std::string> tokenizer_only_gguf(const std::string& gguf_path);

// A zip archive of uncompressed (stored) entries, each with its CRC-32. Names must be relative.
std::string zip_stored(const std::vector<std::pair<std::string, std::string>>& entries);

std::string sha256_hex(std::string_view data);

}  // namespace tandem::service
