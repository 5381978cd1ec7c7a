// Normalizer: rewrites the text between added tokens before pre-tokenization. Supports what
// byte-level and SentencePiece-style BPE vocabularies use: Prepend and Replace (Llama-2's
// "▁" spacing) and NFC, which is treated as identity (Tandem carries no Unicode composition
// tables; input that is not already NFC may tokenize differently from HF -- logged at load).
// Immutable; thread-safe.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "gateway/text/tokenizer/tokenizer_spec.h"

namespace tandem::text {

class Normalizer {
 public:
  Normalizer() = default;
  explicit Normalizer(std::vector<NormalizerStep> steps);

  // False when apply() would return its input unchanged (no steps, or NFC only).
  bool active() const { return active_; }
  std::string apply(std::string_view text) const;

 private:
  std::vector<NormalizerStep> steps_;
  bool active_ = false;
};

}  // namespace tandem::text
