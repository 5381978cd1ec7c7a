#include "gateway/text/tokenizer/bpe_tokenizer.h"

#include <algorithm>
#include <deque>
#include <utility>

#include <spdlog/spdlog.h>

namespace tandem::text {
namespace {

// Vocabularies are at most a few hundred thousand entries; an id beyond this is a corrupt file,
// and refusing it avoids a giant allocation.
constexpr int64_t kMaxTokenId = 1 << 24;

class BpeDecodeStream final : public DecodeStream {
 public:
  BpeDecodeStream(const BpeTokenizer& tok, bool skip_special)
      : tok_(tok), skip_special_(skip_special), state_(tok.decoder().start()) {}
  void push(int32_t id, std::string* out) override {
    if (const std::string* token = tok_.token_for_decode(id, skip_special_)) state_->push(*token, out);
  }
  void finish(std::string* out) override { state_->finish(out); }

 private:
  const BpeTokenizer& tok_;
  bool skip_special_;
  std::unique_ptr<DecoderState> state_;
};

}  // namespace

std::vector<int32_t> BpeTokenizer::encode(std::string_view text, bool add_special_tokens) const {
  std::vector<int32_t> ids;
  ids.reserve(text.size() / 3 + 8);
  if (add_special_tokens) ids = prefix_ids_;
  if (raw_added_.empty()) {
    encode_segment(text, true, &ids);
  } else {
    thread_local std::vector<TextSegment> segments;  // scratch; encode() is not re-entrant
    segments.clear();
    raw_added_.split(text, &segments);
    for (const TextSegment& seg : segments) {
      if (seg.token_id >= 0) {
        ids.push_back(seg.token_id);
      } else {
        encode_segment(seg.text, seg.offset == 0, &ids);
      }
    }
  }
  if (add_special_tokens) ids.insert(ids.end(), suffix_ids_.begin(), suffix_ids_.end());
  return ids;
}

void BpeTokenizer::encode_segment(std::string_view text, bool at_origin, std::vector<int32_t>* ids) const {
  if (text.empty()) return;
  if (!normalizer_.active() && normalized_added_.empty()) {
    encode_normalized(text, at_origin, ids);
    return;
  }
  const std::string normalized = normalizer_.active() ? normalizer_.apply(text) : std::string(text);
  if (normalized_added_.empty()) {
    encode_normalized(normalized, at_origin, ids);
    return;
  }
  thread_local std::vector<TextSegment> segments;
  segments.clear();
  normalized_added_.split(normalized, &segments);
  for (const TextSegment& seg : segments) {
    if (seg.token_id >= 0) {
      ids->push_back(seg.token_id);
    } else {
      encode_normalized(seg.text, at_origin && seg.offset == 0, ids);
    }
  }
}

void BpeTokenizer::encode_normalized(std::string_view text, bool at_origin, std::vector<int32_t>* ids) const {
  thread_local std::vector<Piece> pieces;
  thread_local std::deque<std::string> arena;  // strings the pre-tokenizer rewrote
  pieces.clear();
  arena.clear();
  pre_tokenizer_.split(text, at_origin, &pieces, &arena);
  for (const Piece& p : pieces) model_->encode_piece(p.text, ids);
}

std::string BpeTokenizer::decode(std::span<const int32_t> ids, bool skip_special_tokens) const {
  std::string out;
  out.reserve(ids.size() * 4);
  BpeDecodeStream stream(*this, skip_special_tokens);
  for (int32_t id : ids) stream.push(id, &out);
  stream.finish(&out);
  return out;
}

std::unique_ptr<DecodeStream> BpeTokenizer::new_decode_stream(bool skip_special_tokens) const {
  return std::make_unique<BpeDecodeStream>(*this, skip_special_tokens);
}

const std::string* BpeTokenizer::token_for_decode(int32_t id, bool skip_special_tokens) const {
  if (id < 0 || id >= vocab_size() || !has_token_[id]) return nullptr;
  if (skip_special_tokens && special_[id]) return nullptr;
  return &id_to_token_[id];
}

std::optional<int32_t> BpeTokenizer::token_to_id(std::string_view token) const {
  if (auto it = added_by_content_.find(token); it != added_by_content_.end()) return it->second;
  return model_->find(token);
}

std::string_view BpeTokenizer::id_to_token(int32_t id) const {
  if (id < 0 || id >= vocab_size()) return {};
  return id_to_token_[id];
}

bool BpeTokenizer::is_special(int32_t id) const { return id >= 0 && id < vocab_size() && special_[id]; }

StatusOr<std::unique_ptr<Tokenizer>> build_tokenizer(TokenizerSpec spec) {
  const std::string& src = spec.source;
  if (spec.model.vocab.empty()) return invalid_argument("{}: the vocabulary is empty", src);
  std::unique_ptr<BpeTokenizer> t(new BpeTokenizer());
  t->source_ = src;

  auto pre = PreTokenizer::create(spec.pre_tokenizer);
  if (!pre.ok()) return pre.status().with_context(src);
  t->pre_tokenizer_ = std::move(*pre);
  auto dec = DecoderPipeline::create(spec.decoder);
  if (!dec.ok()) return dec.status().with_context(src);
  t->decoder_ = std::move(*dec);
  auto model = BpeModel::create(spec.model, t->pre_tokenizer_.byte_level(), src);
  if (!model.ok()) return model.status();
  t->model_ = std::move(*model);
  for (const NormalizerStep& s : spec.normalizer) {
    if (s.kind == NormalizerStep::Kind::kNfc) {
      spdlog::info("{}: NFC normalizer treated as identity; text that is not already NFC may tokenize "
                   "differently from Hugging Face tokenizers", src);
    }
  }
  t->normalizer_ = Normalizer(spec.normalizer);

  int64_t max_id = -1;
  for (const auto& [token, id] : spec.model.vocab) max_id = std::max<int64_t>(max_id, id);
  for (const AddedTokenSpec& a : spec.added_tokens) {
    if (a.id < 0) return invalid_argument("{}: added token '{}' has negative id {}", src, a.content, a.id);
    max_id = std::max<int64_t>(max_id, a.id);
  }
  if (max_id >= kMaxTokenId) {
    return invalid_argument("{}: token id {} is larger than any real vocabulary (limit {}); the file is corrupt",
                            src, max_id, kMaxTokenId);
  }
  const auto n = static_cast<size_t>(max_id + 1);
  t->id_to_token_.resize(n);
  t->has_token_.assign(n, 0);
  t->special_.assign(n, 0);
  for (const auto& [token, id] : spec.model.vocab) {
    t->id_to_token_[id] = token;
    t->has_token_[id] = 1;
  }

  std::vector<AddedTokenSpec> raw, normalized;
  for (AddedTokenSpec& a : spec.added_tokens) {
    t->id_to_token_[a.id] = a.content;  // HF looks ids up in the added vocabulary first
    t->has_token_[a.id] = 1;
    t->special_[a.id] = a.special ? 1 : 0;
    t->added_by_content_.insert_or_assign(a.content, a.id);
    if (a.normalized && t->normalizer_.active()) {
      a.content = t->normalizer_.apply(a.content);  // matched in normalized text, so normalize it too
      normalized.push_back(std::move(a));
    } else if (a.normalized) {
      normalized.push_back(std::move(a));
    } else {
      raw.push_back(std::move(a));
    }
  }
  t->raw_added_ = AddedTokenMatcher(std::move(raw));
  t->normalized_added_ = AddedTokenMatcher(std::move(normalized));

  for (int32_t id : spec.prefix_ids) {
    if (id < 0 || static_cast<size_t>(id) >= n) return invalid_argument("{}: post-processor id {} out of range", src, id);
  }
  for (int32_t id : spec.suffix_ids) {
    if (id < 0 || static_cast<size_t>(id) >= n) return invalid_argument("{}: post-processor id {} out of range", src, id);
  }
  t->prefix_ids_ = spec.prefix_ids;
  t->suffix_ids_ = spec.suffix_ids;
  for (auto* id : {&spec.bos_id, &spec.eos_id}) {
    if (*id && (**id < 0 || static_cast<size_t>(**id) >= n)) {
      return invalid_argument("{}: {} id {} is outside the vocabulary (size {})", src,
                              id == &spec.bos_id ? "BOS" : "EOS", **id, n);
    }
  }
  t->bos_id_ = spec.bos_id;
  t->eos_id_ = spec.eos_id;
  t->bos_token_ = spec.bos_token;
  t->eos_token_ = spec.eos_token;
  t->add_bos_ = spec.bos_id && !spec.prefix_ids.empty() && spec.prefix_ids.front() == *spec.bos_id;
  t->chat_template_ = std::move(spec.chat_template);
  return std::unique_ptr<Tokenizer>(std::move(t));
}

}  // namespace tandem::text
