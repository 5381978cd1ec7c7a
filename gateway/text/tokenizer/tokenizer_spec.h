// TokenizerSpec: the complete, source-neutral description of a BPE tokenizer. The GGUF and the
// tokenizer.json loaders only translate their format into this struct; build_tokenizer() turns it
// into a working Tokenizer. The stages mirror HF `tokenizers`' pipeline, whose behaviour is the
// reference: added tokens -> normalizer -> pre-tokenizer -> BPE model -> post-processor, and
// decoder for the way back. Plain data; thread-compatible.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "common/status.h"

namespace tandem::text {

class Tokenizer;

// A token matched whole in the text before any other processing ("<|im_start|>").
struct AddedTokenSpec {
  int32_t id = -1;
  std::string content;
  bool special = false;      // skipped by decode(skip_special_tokens=true)
  bool single_word = false;  // only matches when not inside a word
  bool lstrip = false;       // swallows the whitespace on its left
  bool rstrip = false;       // swallows the whitespace on its right
  bool normalized = false;   // matched against normalized text instead of the raw input
};

struct NormalizerStep {
  enum class Kind { kPrepend, kReplace, kNfc };
  Kind kind = Kind::kNfc;
  std::string pattern;  // kReplace: literal to find
  std::string content;  // kPrepend: the prefix; kReplace: the replacement

  static NormalizerStep nfc() { return make(Kind::kNfc, "", ""); }
  static NormalizerStep prepend(std::string prefix) { return make(Kind::kPrepend, "", std::move(prefix)); }
  static NormalizerStep replace(std::string pattern, std::string content) {
    return make(Kind::kReplace, std::move(pattern), std::move(content));
  }

 private:
  static NormalizerStep make(Kind k, std::string pattern, std::string content) {
    NormalizerStep s;
    s.kind = k;
    s.pattern = std::move(pattern);
    s.content = std::move(content);
    return s;
  }
};

// How a Split pre-tokenizer treats the pieces its pattern matched (HF's SplitDelimiterBehavior).
enum class SplitBehavior { kRemoved, kIsolated, kMergedWithPrevious, kMergedWithNext, kContiguous };
enum class PrependScheme { kAlways, kFirst, kNever };

struct PreTokenizerStep {
  enum class Kind { kSplit, kByteLevel, kMetaspace };
  Kind kind = Kind::kSplit;
  // kSplit. A Digits pre-tokenizer is a Split on \p{N} (individual) or \p{N}+; a literal pattern
  // is stored escaped. The regex dialect is PCRE2 with Unicode properties.
  std::string regex;
  SplitBehavior behavior = SplitBehavior::kIsolated;
  bool invert = false;
  // kByteLevel: must be the last step; the model then works on bytes.
  bool add_prefix_space = false;
  bool use_regex = true;
  // kMetaspace
  std::string replacement = "\u2581";
  PrependScheme prepend_scheme = PrependScheme::kAlways;
  bool split = true;
};

struct DecoderStep {
  enum class Kind { kByteLevel, kReplace, kByteFallback, kFuse, kStrip, kMetaspace };
  Kind kind = Kind::kByteLevel;
  std::string pattern;  // kReplace: literal
  std::string content;  // kReplace: replacement; kStrip: the character stripped
  size_t start = 0;     // kStrip: at most this many leading `content` characters
  size_t stop = 0;      // kStrip: at most this many trailing ones
  std::string replacement = "\u2581";  // kMetaspace
  PrependScheme prepend_scheme = PrependScheme::kAlways;

  static DecoderStep of(Kind k) {
    DecoderStep s;
    s.kind = k;
    return s;
  }
  static DecoderStep replace(std::string pattern, std::string content) {
    DecoderStep s = of(Kind::kReplace);
    s.pattern = std::move(pattern);
    s.content = std::move(content);
    return s;
  }
  static DecoderStep strip(std::string ch, size_t start, size_t stop) {
    DecoderStep s = of(Kind::kStrip);
    s.content = std::move(ch);
    s.start = start;
    s.stop = stop;
    return s;
  }
};

struct BpeSpec {
  std::vector<std::pair<std::string, int32_t>> vocab;        // token -> id (ids may be sparse)
  std::vector<std::pair<std::string, std::string>> merges;  // best (rank 0) first
  std::optional<std::string> unk_token;
  bool byte_fallback = false;  // unknown characters become <0xNN> tokens
  bool fuse_unk = false;       // consecutive unknown characters give one unk token
  bool ignore_merges = false;  // a piece that is itself in the vocab is emitted whole (Llama-3)
  // true: a merge naming a token that is not in the vocab is an error (tokenizer.json, like HF);
  // false: it is skipped with a warning (GGUF files in the wild carry a few).
  bool strict_merges = true;
};

struct TokenizerSpec {
  std::string source;  // file name for messages
  BpeSpec model;
  std::vector<AddedTokenSpec> added_tokens;
  std::vector<NormalizerStep> normalizer;
  std::vector<PreTokenizerStep> pre_tokenizer;
  // Empty: tokens are joined with spaces (HF's behaviour without a decoder).
  std::vector<DecoderStep> decoder;
  // encode(add_special_tokens=true) returns prefix_ids + ids + suffix_ids.
  std::vector<int32_t> prefix_ids, suffix_ids;
  std::optional<int32_t> bos_id, eos_id;
  std::string bos_token, eos_token;
  std::optional<std::string> chat_template;
};

// Validates the spec (ids in range, regexes compile, stage combinations supported) and builds the
// tokenizer. Errors are INVALID_ARGUMENT / UNIMPLEMENTED naming the source and the offending part.
StatusOr<std::unique_ptr<Tokenizer>> build_tokenizer(TokenizerSpec spec);

}  // namespace tandem::text
