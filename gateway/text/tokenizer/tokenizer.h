// Tokenizer: text <-> token ids for the gateway (prompts in, streamed completions out).
//
// One implementation today, byte-level and SentencePiece-style BPE (bpe_tokenizer.h), loaded from
// GGUF metadata or a Hugging Face tokenizer.json; its behaviour follows HF `tokenizers`, checked
// against it by the oracle tests (tests/unit/tokenizer).
//
// Thread model: a loaded Tokenizer is immutable; every method is thread-safe and may be called
// concurrently from any gateway thread (the BPE word cache inside is internally synchronized).
// Encoding a long prompt is CPU work: callers on the I/O loop should offload it.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"

namespace tandem::model {
class GgufFile;
}  // namespace tandem::model

namespace tandem::text {

// Streaming decoder state for one sequence (see IncrementalDetokenizer). Not thread-safe.
class DecodeStream {
 public:
  virtual ~DecodeStream() = default;
  // Appends to *out the text that id makes final (maybe nothing).
  virtual void push(int32_t id, std::string* out) = 0;
  // Appends whatever was held back. The stream must not be used afterwards.
  virtual void finish(std::string* out) = 0;
};

class Tokenizer {
 public:
  virtual ~Tokenizer() = default;

  // add_special_tokens: add BOS/EOS as the model's config says. Special/added tokens written in
  // the text (e.g. "<|im_start|>") are always recognised as single tokens. Any bytes are
  // accepted; invalid UTF-8 is tokenized byte by byte (byte-level) or through byte fallback.
  virtual std::vector<int32_t> encode(std::string_view text, bool add_special_tokens) const = 0;
  // Always valid UTF-8. Ids outside the vocabulary are ignored (as HF does).
  virtual std::string decode(std::span<const int32_t> ids, bool skip_special_tokens) const = 0;
  // One past the largest id (model vocabulary plus added tokens).
  virtual int32_t vocab_size() const = 0;
  virtual std::optional<int32_t> token_to_id(std::string_view token) const = 0;  // exact vocab string
  virtual std::string_view id_to_token(int32_t id) const = 0;  // raw vocab string; "" if unknown id
  virtual bool is_special(int32_t id) const = 0;

  // A stream whose pieces concatenate to decode(all ids pushed). BpeTokenizer's is exact and
  // linear. The default, for other implementations, re-decodes everything pushed so far
  // (quadratic; exact only when decoding a prefix yields a prefix of the whole).
  virtual std::unique_ptr<DecodeStream> new_decode_stream(bool skip_special_tokens) const;

  std::optional<int32_t> bos_id() const { return bos_id_; }
  std::optional<int32_t> eos_id() const { return eos_id_; }
  std::string bos_token() const { return bos_token_; }  // "" when none
  std::string eos_token() const { return eos_token_; }
  // Whether encode(text, add_special_tokens=true) starts with BOS.
  bool add_bos() const { return add_bos_; }
  // The chat template shipped with the tokenizer (GGUF tokenizer.chat_template, or
  // tokenizer_config.json's chat_template, its "default" entry when it is a list).
  const std::optional<std::string>& chat_template() const { return chat_template_; }

 protected:
  std::optional<int32_t> bos_id_, eos_id_;
  std::string bos_token_, eos_token_;
  bool add_bos_ = false;
  std::optional<std::string> chat_template_;
};

// GGUF metadata (tokenizer.ggml.*): model "gpt2" (byte-level BPE; tokenizer.ggml.pre picks the
// pre-tokenizer) or "llama" (SentencePiece-style BPE with scores). Defined in gguf_loader.cc.
StatusOr<std::unique_ptr<Tokenizer>> load_tokenizer_from_gguf(const model::GgufFile& gguf);

// dir with tokenizer.json (and optionally tokenizer_config.json).
StatusOr<std::unique_ptr<Tokenizer>> load_tokenizer_from_hf_dir(const std::string& dir);
// Same from in-memory file contents (config_json may be empty); `source` names them in errors.
StatusOr<std::unique_ptr<Tokenizer>> load_tokenizer_from_hf_json(std::string_view tokenizer_json,
                                                                 std::string_view config_json,
                                                                 const std::string& source);

// Reads tokenizer_config.json's chat_template (or nullopt when the file or the key is absent).
// GGUF: key tokenizer.chat_template (see Tokenizer::chat_template()).
StatusOr<std::optional<std::string>> read_hf_chat_template(const std::string& dir);

// Feeds generated ids one at a time and returns text that is safe to show: never a broken UTF-8
// sequence (a multi-byte character split over byte tokens is held until complete), with
// SentencePiece spacing handled as decode() does. The concatenation of every push() result and
// finish() equals tokenizer.decode(all ids, skip_special_tokens).
// Thread model: one instance per sequence, used by one thread at a time. The tokenizer must
// outlive it.
class IncrementalDetokenizer {
 public:
  IncrementalDetokenizer(const Tokenizer& tokenizer, bool skip_special_tokens);
  std::string push(int32_t id);  // text now safe to emit, maybe ""
  std::string finish();          // the rest; call once at the end

 private:
  std::unique_ptr<DecodeStream> stream_;
  bool finished_ = false;
};

}  // namespace tandem::text
