// Test-only helpers for the tokenizer tests: the oracle files in tests/data/tokenizer (written by
// scripts/oracles/tokenizer/make_expected.py), the generated SmolLM2 tokenizer.json variants
// (gen_smollm2_tokenizers.py), and a minimal GGUF metadata reader standing in for
// model::GgufFile until the loader library is part of this build.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "common/status.h"
#include "gateway/text/tokenizer/gguf_tokenizer_data.h"
#include "gateway/text/tokenizer/tokenizer.h"

namespace tandem::text::testing {

struct OracleCase {
  std::string name;
  std::string text;
  std::vector<int32_t> ids;          // encode(text, add_special_tokens=false) by HF tokenizers
  std::vector<int32_t> ids_special;  // add_special_tokens=true
  bool roundtrip = false;            // HF decode(ids) == text
  bool needs_nfc = false;            // HF's NFC normalizer changes the ids (Tandem: identity)
};

struct DecodeCase {
  std::vector<int32_t> ids;
  std::string text;       // HF decode(ids, skip_special_tokens=false)
  std::string text_skip;  // skip_special_tokens=true
};

std::string tokenizer_data_dir();  // <source>/tests/data/tokenizer
// $TANDEM_TEST_GEN_DIR/tokenizer, else $TANDEM_BUILD_DIR/generated/tokenizer.
std::string generated_dir();
// "" when the generated variant exists, else a message naming the script that makes it.
std::string missing_generated(const std::string& variant);

// Expected ids of a variant, joined with the corpus texts. Aborts the test run on a missing or
// malformed file (a broken checkout is not a test result).
std::vector<OracleCase> load_oracle(const std::string& variant);
std::vector<DecodeCase> load_decode_cases(const std::string& family);

// GGUF metadata -> GgufTokenizerData (tokenizer.* keys only; tensors are not read).
StatusOr<GgufTokenizerData> read_gguf_tokenizer(const std::string& path);

// Loaders with a fatal error on failure, for fixtures.
std::unique_ptr<Tokenizer> must_load_hf(const std::string& dir);
std::unique_ptr<Tokenizer> must_load_gguf(const GgufTokenizerData& data);

std::string describe_ids(const Tokenizer& tok, const std::vector<int32_t>& ids);  // "[12 'Ġthe', ...]"

}  // namespace tandem::text::testing
