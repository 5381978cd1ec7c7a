// Pre-tokenization: cuts normalized text into the pieces the BPE model encodes one by one
// (HF's PreTokenizer chain: Split / Digits / ByteLevel / Metaspace, each applied to every piece
// the previous step produced; empty pieces are dropped).
// Immutable after create(); split() is thread-safe.
#pragma once

#include <deque>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"
#include "gateway/text/tokenizer/regex.h"
#include "gateway/text/tokenizer/tokenizer_spec.h"

namespace tandem::text {

struct Piece {
  std::string_view text;
  // The piece starts at byte 0 of the caller's original input (Metaspace prepend_scheme "first").
  bool at_origin = false;
};

class PreTokenizer {
 public:
  // INVALID_ARGUMENT for a regex that does not compile, UNIMPLEMENTED for a ByteLevel step that
  // is not the last one (the model would then see byte-level spellings mid-chain).
  static StatusOr<PreTokenizer> create(const std::vector<PreTokenizerStep>& steps);

  // True when the chain ends in ByteLevel: pieces are raw bytes and the model maps them itself.
  bool byte_level() const { return byte_level_; }

  // Appends the pieces of `text` to *out. Pieces point into `text` or into strings appended to
  // *arena (for steps that rewrite text: prefix space, Metaspace).
  void split(std::string_view text, bool at_origin, std::vector<Piece>* out, std::deque<std::string>* arena) const;

 private:
  struct Step {
    PreTokenizerStep spec;
    std::shared_ptr<const Regex> regex;  // kSplit, and kByteLevel with use_regex
  };
  void apply(const Step& step, const Piece& piece, std::vector<Piece>* out, std::deque<std::string>* arena,
             std::vector<MatchSpan>* scratch) const;

  std::vector<Step> steps_;
  bool byte_level_ = false;
};

// GPT-2's pre-tokenizer regex, used by ByteLevel(use_regex=true).
extern const char* const kGpt2SplitRegex;

}  // namespace tandem::text
