#include "gateway/text/tokenizer/decoder.h"

#include <utility>

#include "gateway/text/tokenizer/byte_level.h"
#include "gateway/text/tokenizer/utf8.h"

namespace tandem::text {

// Hands an item to the stages after the current one.
struct DecoderNext {
  std::vector<std::unique_ptr<DecoderStage>>* stages;
  size_t index;
  std::string* out;
  void operator()(std::string_view item) const;
};

class DecoderStage {
 public:
  virtual ~DecoderStage() = default;
  // item: a whole token while the chain is in token mode, else the next chunk of the one long
  // token that Fuse/ByteLevel produced.
  virtual void push(std::string_view item, const DecoderNext& next) = 0;
  virtual void finish(const DecoderNext& next) { (void)next; }
};

void DecoderNext::operator()(std::string_view item) const {
  if (index < stages->size()) (*stages)[index]->push(item, DecoderNext{stages, index + 1, out});
}

namespace {

std::string replace_all(std::string_view s, std::string_view pattern, std::string_view content) {
  std::string out;
  size_t pos = 0;
  for (size_t hit = s.find(pattern); hit != std::string_view::npos; hit = s.find(pattern, pos)) {
    out.append(s.substr(pos, hit - pos));
    out.append(content);
    pos = hit + pattern.size();
  }
  out.append(s.substr(pos));
  return out;
}

// Last stage: the text leaves here, as valid UTF-8 (tokens that are not valid UTF-8 on their own,
// possible in GGUF vocabularies, are joined with their neighbours or replaced by U+FFFD).
class SinkStage final : public DecoderStage {
 public:
  void push(std::string_view item, const DecoderNext& next) override { utf8_.push(item, next.out); }
  void finish(const DecoderNext& next) override { utf8_.finish(next.out); }

 private:
  Utf8LossyStream utf8_;
};

// No decoder configured: HF joins the token strings with single spaces.
class SpaceJoinStage final : public DecoderStage {
 public:
  void push(std::string_view item, const DecoderNext& next) override {
    if (!first_) next(" ");
    first_ = false;
    next(item);
  }

 private:
  bool first_ = true;
};

// Each token's byte-level spelling back to bytes (a token outside the alphabet, like an added
// "<|im_start|>", contributes its own UTF-8), then all bytes as one lossy UTF-8 string.
class ByteLevelStage final : public DecoderStage {
 public:
  void push(std::string_view item, const DecoderNext& next) override {
    bytes_.clear();
    if (!ByteLevelAlphabet::get().to_bytes(item, &bytes_)) bytes_.assign(item);
    text_.clear();
    utf8_.push(bytes_, &text_);
    if (!text_.empty()) next(text_);
  }
  void finish(const DecoderNext& next) override {
    text_.clear();
    utf8_.finish(&text_);
    if (!text_.empty()) next(text_);
  }

 private:
  Utf8LossyStream utf8_;
  std::string bytes_, text_;
};

class ReplaceStage final : public DecoderStage {
 public:
  ReplaceStage(std::string pattern, std::string content, bool continuous)
      : pattern_(std::move(pattern)), content_(std::move(content)), continuous_(continuous) {}
  void push(std::string_view item, const DecoderNext& next) override {
    if (!continuous_) {
      next(replace_all(item, pattern_, content_));
      return;
    }
    pending_.append(item);
    // Hold back the longest tail that could be the start of the pattern.
    size_t keep = 0;
    for (size_t k = std::min(pattern_.size() - 1, pending_.size()); k > 0; --k) {
      if (std::string_view(pending_).substr(pending_.size() - k) == std::string_view(pattern_).substr(0, k)) {
        keep = k;
        break;
      }
    }
    const std::string ready = replace_all(std::string_view(pending_).substr(0, pending_.size() - keep), pattern_, content_);
    pending_.erase(0, pending_.size() - keep);
    if (!ready.empty()) next(ready);
  }
  void finish(const DecoderNext& next) override {
    if (!pending_.empty()) next(pending_);
    pending_.clear();
  }

 private:
  std::string pattern_, content_;
  bool continuous_;
  std::string pending_;
};

// Runs of "<0xNN>" tokens become the string their bytes spell, or one U+FFFD per byte when the
// run is not valid UTF-8 as a whole -- which is why a run is held until it ends.
class ByteFallbackStage final : public DecoderStage {
 public:
  void push(std::string_view item, const DecoderNext& next) override {
    int byte = parse(item);
    if (byte >= 0) {
      run_.push_back(static_cast<char>(byte));
      return;
    }
    flush(next);
    next(item);
  }
  void finish(const DecoderNext& next) override { flush(next); }

 private:
  static int hex(char c) {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
  }
  static int parse(std::string_view t) {
    if (t.size() != 6 || !t.starts_with("<0x") || t.back() != '>') return -1;
    const int hi = hex(t[3]), lo = hex(t[4]);
    return hi < 0 || lo < 0 ? -1 : hi * 16 + lo;
  }
  void flush(const DecoderNext& next) {
    if (run_.empty()) return;
    if (is_valid_utf8(run_)) {
      next(run_);
    } else {
      for (size_t i = 0; i < run_.size(); ++i) next(kReplacementChar);
    }
    run_.clear();
  }
  std::string run_;
};

class PassStage final : public DecoderStage {  // Fuse: the mode switch happens at build time
 public:
  void push(std::string_view item, const DecoderNext& next) override { next(item); }
};

class StripStage final : public DecoderStage {
 public:
  StripStage(std::string ch, size_t start, size_t stop, bool continuous)
      : ch_(std::move(ch)), start_(start), stop_(stop), continuous_(continuous), left_(start) {}

  void push(std::string_view item, const DecoderNext& next) override {
    if (!continuous_) {
      next(strip_token(item));
      return;
    }
    std::string ready;
    size_t i = 0;
    while (i < item.size()) {
      const size_t len = std::max<size_t>(1, utf8_sequence_length(item, i));
      const std::string_view c = item.substr(i, len);
      i += len;
      if (!begun_ && left_ > 0 && c == ch_) {
        --left_;
        continue;
      }
      begun_ = true;
      if (stop_ == 0) {
        ready.append(c);
      } else if (c == ch_) {
        held_.append(c);
        if (++held_count_ > stop_) {  // more than can be stripped: the oldest one stays
          ready.append(held_, 0, ch_.size());
          held_.erase(0, ch_.size());
          --held_count_;
        }
      } else {
        ready.append(held_);
        held_.clear();
        held_count_ = 0;
        ready.append(c);
      }
    }
    if (!ready.empty()) next(ready);
  }
  void finish(const DecoderNext& next) override {
    (void)next;
    held_.clear();  // the trailing characters Strip removes
  }

 private:
  std::string strip_token(std::string_view t) const {
    size_t b = 0, e = t.size();
    for (size_t k = 0; k < start_ && t.substr(b).starts_with(ch_); ++k) b += ch_.size();
    for (size_t k = 0; k < stop_ && e >= b + ch_.size() && t.substr(0, e).ends_with(ch_); ++k) e -= ch_.size();
    return std::string(t.substr(b, e - b));
  }
  std::string ch_;
  size_t start_, stop_;
  bool continuous_;
  size_t left_;
  bool begun_ = false;
  std::string held_;
  size_t held_count_ = 0;
};

// "▁" back to spaces; in the first token (index 0 of the list it sees) they are removed instead,
// undoing the prefix space -- unless the prepend scheme is "never".
class MetaspaceStage final : public DecoderStage {
 public:
  MetaspaceStage(std::string replacement, PrependScheme scheme, bool continuous)
      : replacement_(std::move(replacement)), scheme_(scheme), continuous_(continuous) {}
  void push(std::string_view item, const DecoderNext& next) override {
    const bool first = continuous_ || index_ == 0;
    ++index_;
    next(replace_all(item, replacement_, first && scheme_ != PrependScheme::kNever ? "" : " "));
  }

 private:
  std::string replacement_;
  PrependScheme scheme_;
  bool continuous_;
  size_t index_ = 0;
};

}  // namespace

DecoderState::DecoderState(std::vector<std::unique_ptr<DecoderStage>> stages) : stages_(std::move(stages)) {}
DecoderState::~DecoderState() = default;

void DecoderState::push(std::string_view token, std::string* out) { DecoderNext{&stages_, 0, out}(token); }

void DecoderState::finish(std::string* out) {
  // In order: a stage's flush feeds the stages after it, which flush next.
  for (size_t i = 0; i < stages_.size(); ++i) stages_[i]->finish(DecoderNext{&stages_, i + 1, out});
}

StatusOr<DecoderPipeline> DecoderPipeline::create(const std::vector<DecoderStep>& steps) {
  bool continuous = false;
  for (size_t i = 0; i < steps.size(); ++i) {
    const DecoderStep& s = steps[i];
    switch (s.kind) {
      case DecoderStep::Kind::kByteLevel:
      case DecoderStep::Kind::kByteFallback:
        if (continuous) {
          return unimplemented("decoder step {}: {} after Fuse/ByteLevel is not supported", i + 1,
                               s.kind == DecoderStep::Kind::kByteLevel ? "ByteLevel" : "ByteFallback");
        }
        if (s.kind == DecoderStep::Kind::kByteLevel) continuous = true;
        break;
      case DecoderStep::Kind::kFuse:
        continuous = true;
        break;
      case DecoderStep::Kind::kReplace:
        if (s.pattern.empty()) return invalid_argument("decoder step {}: Replace pattern is empty", i + 1);
        break;
      case DecoderStep::Kind::kStrip:
        if (s.content.empty() || utf8_sequence_length(s.content, 0) != s.content.size()) {
          return invalid_argument("decoder step {}: Strip content must be one character, got '{}'", i + 1, s.content);
        }
        break;
      case DecoderStep::Kind::kMetaspace:
        if (s.replacement.empty()) return invalid_argument("decoder step {}: Metaspace replacement is empty", i + 1);
        break;
    }
  }
  DecoderPipeline p;
  p.steps_ = steps;
  return p;
}

std::unique_ptr<DecoderState> DecoderPipeline::start() const {
  std::vector<std::unique_ptr<DecoderStage>> stages;
  if (steps_.empty()) stages.push_back(std::make_unique<SpaceJoinStage>());
  bool continuous = false;
  for (const DecoderStep& s : steps_) {
    switch (s.kind) {
      case DecoderStep::Kind::kByteLevel:
        stages.push_back(std::make_unique<ByteLevelStage>());
        continuous = true;
        break;
      case DecoderStep::Kind::kReplace:
        stages.push_back(std::make_unique<ReplaceStage>(s.pattern, s.content, continuous));
        break;
      case DecoderStep::Kind::kByteFallback:
        stages.push_back(std::make_unique<ByteFallbackStage>());
        break;
      case DecoderStep::Kind::kFuse:
        stages.push_back(std::make_unique<PassStage>());
        continuous = true;
        break;
      case DecoderStep::Kind::kStrip:
        stages.push_back(std::make_unique<StripStage>(s.content, s.start, s.stop, continuous));
        break;
      case DecoderStep::Kind::kMetaspace:
        stages.push_back(std::make_unique<MetaspaceStage>(s.replacement, s.prepend_scheme, continuous));
        break;
    }
  }
  stages.push_back(std::make_unique<SinkStage>());
  return std::make_unique<DecoderState>(std::move(stages));
}

}  // namespace tandem::text
