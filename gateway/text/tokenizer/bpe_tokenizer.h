// BpeTokenizer: the Tokenizer for byte-level (GPT-2, Llama-3, Qwen2, SmolLM2) and
// SentencePiece-style (Llama-2, Mistral-v0.1) BPE vocabularies. Built by build_tokenizer() from a
// TokenizerSpec. The encode path of one request:
//
//   text --AddedTokenMatcher (raw)--> [added id | text] --Normalizer--> --AddedTokenMatcher
//   (normalized)--> --PreTokenizer--> pieces --BpeModel (cached per piece)--> ids
//   --post-processor--> prefix_ids + ids + suffix_ids
//
// and decode: ids -> token strings -> DecoderPipeline -> text.
// Thread model: immutable after construction; all methods thread-safe (see tokenizer.h).
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "gateway/text/tokenizer/added_tokens.h"
#include "gateway/text/tokenizer/bpe_model.h"
#include "gateway/text/tokenizer/decoder.h"
#include "gateway/text/tokenizer/normalizer.h"
#include "gateway/text/tokenizer/pre_tokenizer.h"
#include "gateway/text/tokenizer/tokenizer.h"
#include "gateway/text/tokenizer/tokenizer_spec.h"

namespace tandem::text {

class BpeTokenizer final : public Tokenizer {
 public:
  std::vector<int32_t> encode(std::string_view text, bool add_special_tokens) const override;
  std::string decode(std::span<const int32_t> ids, bool skip_special_tokens) const override;
  int32_t vocab_size() const override { return static_cast<int32_t>(id_to_token_.size()); }
  std::optional<int32_t> token_to_id(std::string_view token) const override;
  std::string_view id_to_token(int32_t id) const override;
  bool is_special(int32_t id) const override;
  std::unique_ptr<DecodeStream> new_decode_stream(bool skip_special_tokens) const override;

  // The string decode() starts from for id, or nullptr when id has none or is skipped.
  const std::string* token_for_decode(int32_t id, bool skip_special_tokens) const;
  const DecoderPipeline& decoder() const { return decoder_; }

 private:
  friend StatusOr<std::unique_ptr<Tokenizer>> build_tokenizer(TokenizerSpec spec);
  BpeTokenizer() = default;
  void encode_segment(std::string_view text, bool at_origin, std::vector<int32_t>* ids) const;
  void encode_normalized(std::string_view text, bool at_origin, std::vector<int32_t>* ids) const;

  std::string source_;
  std::unique_ptr<BpeModel> model_;
  AddedTokenMatcher raw_added_;         // added tokens with normalized=false
  AddedTokenMatcher normalized_added_;  // normalized=true, matched after the normalizer
  Normalizer normalizer_;
  PreTokenizer pre_tokenizer_;
  DecoderPipeline decoder_;
  TokenMap added_by_content_;
  std::vector<std::string> id_to_token_;
  std::vector<uint8_t> has_token_;  // ids that exist (vocabularies may be sparse)
  std::vector<uint8_t> special_;
  std::vector<int32_t> prefix_ids_, suffix_ids_;
};

}  // namespace tandem::text
