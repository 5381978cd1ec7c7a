#include <utility>
#include <vector>

#include "common/check.h"
#include "gateway/text/tokenizer/tokenizer.h"
#include "gateway/text/tokenizer/utf8.h"

namespace tandem::text {
namespace {

// Fallback for Tokenizer implementations without their own stream: re-decode everything pushed
// so far and emit what was added, holding back a trailing U+FFFD (probably a character still
// incomplete). Quadratic in the sequence length, and exact only when decode() of a prefix is a
// prefix of decode() of the whole; BpeTokenizer overrides new_decode_stream() with an exact one.
class RedecodeStream final : public DecodeStream {
 public:
  RedecodeStream(const Tokenizer& tok, bool skip) : tok_(tok), skip_(skip) {}
  void push(int32_t id, std::string* out) override {
    ids_.push_back(id);
    const std::string text = tok_.decode(ids_, skip_);
    if (text.ends_with(kReplacementChar)) return;
    emit(text, out);
  }
  void finish(std::string* out) override { emit(tok_.decode(ids_, skip_), out); }

 private:
  void emit(const std::string& text, std::string* out) {
    if (text.size() > emitted_ && std::string_view(text).substr(0, emitted_) == std::string_view(sent_)) {
      out->append(text, emitted_, std::string::npos);
      sent_ = text;
      emitted_ = text.size();
    }
  }
  const Tokenizer& tok_;
  bool skip_;
  std::vector<int32_t> ids_;
  std::string sent_;
  size_t emitted_ = 0;
};

}  // namespace

std::unique_ptr<DecodeStream> Tokenizer::new_decode_stream(bool skip_special_tokens) const {
  return std::make_unique<RedecodeStream>(*this, skip_special_tokens);
}

IncrementalDetokenizer::IncrementalDetokenizer(const Tokenizer& tokenizer, bool skip_special_tokens)
    : stream_(tokenizer.new_decode_stream(skip_special_tokens)) {}

std::string IncrementalDetokenizer::push(int32_t id) {
  CHECK(!finished_, "IncrementalDetokenizer::push after finish (id {})", id);
  std::string out;
  stream_->push(id, &out);
  return out;
}

std::string IncrementalDetokenizer::finish() {
  CHECK(!finished_, "IncrementalDetokenizer::finish called twice");
  finished_ = true;
  std::string out;
  stream_->finish(&out);
  return out;
}

}  // namespace tandem::text
