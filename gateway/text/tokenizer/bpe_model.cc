#include "gateway/text/tokenizer/bpe_model.h"

#include <algorithm>
#include <functional>

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "gateway/text/tokenizer/byte_level.h"
#include "gateway/text/tokenizer/utf8.h"

namespace tandem::text {

void PairRankMap::reserve(size_t n) {
  size_t cap = 16;
  int shift = 60;
  while (cap < n * 2) {
    cap <<= 1;
    --shift;
  }
  slots_.assign(cap, Entry{});
  mask_ = cap - 1;
  shift_ = shift;
  size_ = 0;
}

void PairRankMap::insert_or_assign(int32_t a, int32_t b, int32_t rank, int32_t new_id) {
  if ((size_ + 1) * 2 > slots_.size()) {  // keep the load factor <= 1/2
    std::vector<Entry> old = std::move(slots_);
    reserve(std::max<size_t>(16, old.size()));
    for (const Entry& e : old) {
      if (e.key != kEmpty) insert_or_assign(static_cast<int32_t>(e.key >> 32), static_cast<int32_t>(e.key), e.rank, e.new_id);
    }
  }
  const uint64_t key = pack(a, b);
  for (size_t i = slot(key);; i = (i + 1) & mask_) {
    Entry& e = slots_[i];
    if (e.key == key || e.key == kEmpty) {
      if (e.key == kEmpty) ++size_;
      e = Entry{key, rank, new_id};  // a repeated pair keeps its last rank, as HF's map does
      return;
    }
  }
}

bool WordCache::lookup(std::string_view key, std::vector<int32_t>* out) const {
  if (key.size() > kMaxKeyBytes) return false;
  Shard& s = shards_[StringHash{}(key) % kShards];
  std::lock_guard<std::mutex> lock(s.mu);
  auto it = s.map.find(key);
  if (it == s.map.end()) return false;
  out->insert(out->end(), it->second.begin(), it->second.end());
  return true;
}

void WordCache::insert(std::string_view key, std::span<const int32_t> ids) const {
  if (key.size() > kMaxKeyBytes) return;
  Shard& s = shards_[StringHash{}(key) % kShards];
  std::lock_guard<std::mutex> lock(s.mu);
  if (s.map.size() >= kEntriesPerShard) s.map.clear();
  s.map.try_emplace(std::string(key), ids.begin(), ids.end());
}

StatusOr<std::unique_ptr<BpeModel>> BpeModel::create(const BpeSpec& spec, bool byte_level, const std::string& source) {
  std::unique_ptr<BpeModel> m(new BpeModel());
  m->byte_level_ = byte_level;
  m->byte_fallback_ = spec.byte_fallback;
  m->fuse_unk_ = spec.fuse_unk;
  m->ignore_merges_ = spec.ignore_merges;
  m->vocab_.reserve(spec.vocab.size());
  for (const auto& [token, id] : spec.vocab) {
    if (id < 0) return invalid_argument("{}: vocab token '{}' has negative id {}", source, token, id);
    m->vocab_.insert_or_assign(token, id);  // duplicates: the last one wins (as a JSON/Python dict)
  }
  if (spec.unk_token) {
    auto unk = m->find(*spec.unk_token);
    if (!unk) {
      return invalid_argument("{}: unk_token '{}' is not in the vocabulary ({} tokens); fix the tokenizer file",
                              source, *spec.unk_token, m->vocab_.size());
    }
    m->unk_id_ = *unk;
  }

  m->merges_.reserve(spec.merges.size());
  std::string merged;
  size_t skipped = 0;
  for (size_t rank = 0; rank < spec.merges.size(); ++rank) {
    const auto& [a, b] = spec.merges[rank];
    auto ia = m->find(a), ib = m->find(b);
    merged.assign(a).append(b);
    auto in = m->find(merged);
    if (!ia || !ib || !in) {
      const std::string& missing = !ia ? a : !ib ? b : merged;
      if (spec.strict_merges) {
        return invalid_argument("{}: merge #{} '{} {}' uses token '{}' that is not in the vocabulary", source, rank, a,
                                b, missing);
      }
      ++skipped;
      continue;
    }
    m->merges_.insert_or_assign(*ia, *ib, static_cast<int32_t>(rank), *in);
  }
  if (skipped > 0) {
    spdlog::warn("{}: skipped {} of {} merges that name tokens missing from the vocabulary", source, skipped,
                 spec.merges.size());
  }

  const ByteLevelAlphabet& alpha = ByteLevelAlphabet::get();
  for (int b = 0; b < 256; ++b) {
    m->byte_ids_[b] = m->find(alpha.spelling(static_cast<uint8_t>(b))).value_or(-1);
    m->fallback_ids_[b] = m->find(fmt::format("<0x{:02X}>", b)).value_or(-1);
    if (b < 128) m->ascii_ids_[b] = m->find(std::string(1, static_cast<char>(b))).value_or(-1);
  }
  if (byte_level && spec.ignore_merges) {
    std::string raw;
    for (const auto& [token, id] : m->vocab_) {
      raw.clear();
      if (alpha.to_bytes(token, &raw)) m->raw_vocab_.insert_or_assign(raw, id);
    }
  }
  return m;
}

std::optional<int32_t> BpeModel::find(std::string_view token) const {
  auto it = vocab_.find(token);
  if (it == vocab_.end()) return std::nullopt;
  return it->second;
}

void BpeModel::add_unit(std::string_view unit, std::vector<Symbol>* syms, int32_t* pending_unk) const {
  auto push = [syms](int32_t id) {
    const auto n = static_cast<int32_t>(syms->size());
    syms->push_back({id, n - 1, -1});
  };
  if (auto id = find(unit)) {
    if (*pending_unk >= 0) push(*pending_unk);
    *pending_unk = -1;
    push(*id);
    return;
  }
  if (byte_fallback_) {
    bool all = true;
    for (char c : unit) all &= fallback_ids_[static_cast<uint8_t>(c)] >= 0;
    if (all) {
      // Like HF, a pending unk is not flushed here: it lands after these byte tokens.
      for (char c : unit) push(fallback_ids_[static_cast<uint8_t>(c)]);
      return;
    }
  }
  if (unk_id_) {
    if (*pending_unk >= 0 && !fuse_unk_) push(*pending_unk);
    *pending_unk = *unk_id_;
  }
  // Neither byte fallback nor unk: the character is dropped, as HF does.
}

void BpeModel::initial_symbols(std::string_view piece, std::vector<Symbol>* syms) const {
  int32_t pending_unk = -1;
  const ByteLevelAlphabet& alpha = ByteLevelAlphabet::get();
  size_t i = 0;
  while (i < piece.size()) {
    const auto b = static_cast<uint8_t>(piece[i]);
    if (byte_level_) {
      if (byte_ids_[b] >= 0 && pending_unk < 0) {
        syms->push_back({byte_ids_[b], static_cast<int32_t>(syms->size()) - 1, -1});
      } else {
        add_unit(alpha.spelling(b), syms, &pending_unk);
      }
      ++i;
      continue;
    }
    if (b < 0x80 && ascii_ids_[b] >= 0 && pending_unk < 0) {
      syms->push_back({ascii_ids_[b], static_cast<int32_t>(syms->size()) - 1, -1});
      ++i;
      continue;
    }
    size_t len = utf8_sequence_length(piece, i);
    if (len == 0) len = 1;  // an invalid byte is its own unit (and normally falls back to <0xNN>)
    add_unit(piece.substr(i, len), syms, &pending_unk);
    i += len;
  }
  if (pending_unk >= 0) syms->push_back({pending_unk, static_cast<int32_t>(syms->size()) - 1, -1});
  for (size_t k = 0; k + 1 < syms->size(); ++k) (*syms)[k].next = static_cast<int32_t>(k + 1);
}

void BpeModel::merge(std::vector<Symbol>* syms) const {
  std::vector<Symbol>& s = *syms;
  if (s.size() < 2) return;
  // Min-heap of (rank << 32 | position): lowest rank first, leftmost on ties. Entries go stale
  // when a neighbour merges; they are recognised on pop because the pair's rank changed.
  thread_local std::vector<uint64_t> heap;
  heap.clear();
  auto push = [&](int32_t pos) {
    const int32_t nx = s[pos].next;
    if (nx < 0) return;
    if (const PairRankMap::Entry* e = merges_.find(s[pos].id, s[nx].id)) {
      heap.push_back((static_cast<uint64_t>(e->rank) << 32) | static_cast<uint32_t>(pos));
      std::push_heap(heap.begin(), heap.end(), std::greater<>{});
    }
  };
  for (size_t i = 0; i + 1 < s.size(); ++i) push(static_cast<int32_t>(i));
  while (!heap.empty()) {
    std::pop_heap(heap.begin(), heap.end(), std::greater<>{});
    const uint64_t top = heap.back();
    heap.pop_back();
    const auto rank = static_cast<int32_t>(top >> 32);
    const auto pos = static_cast<int32_t>(top & 0xFFFFFFFFu);
    const int32_t nx = s[pos].next;
    if (s[pos].id < 0 || nx < 0) continue;
    const PairRankMap::Entry* e = merges_.find(s[pos].id, s[nx].id);
    if (e == nullptr || e->rank != rank) continue;
    s[pos].id = e->new_id;
    s[pos].next = s[nx].next;
    if (s[nx].next >= 0) s[s[nx].next].prev = pos;
    s[nx].id = -1;
    if (s[pos].prev >= 0) push(s[pos].prev);
    push(pos);
  }
}

void BpeModel::encode_piece(std::string_view piece, std::vector<int32_t>* out) const {
  if (piece.empty()) return;
  if (cache_.lookup(piece, out)) return;
  const size_t first = out->size();
  if (ignore_merges_) {
    const TokenMap& whole = byte_level_ ? raw_vocab_ : vocab_;
    if (auto it = whole.find(piece); it != whole.end()) {
      out->push_back(it->second);
      cache_.insert(piece, std::span<const int32_t>(out->data() + first, 1));
      return;
    }
  }
  thread_local std::vector<Symbol> syms;
  syms.clear();
  initial_symbols(piece, &syms);
  merge(&syms);
  for (const Symbol& sym : syms) {
    if (sym.id >= 0) out->push_back(sym.id);
  }
  cache_.insert(piece, std::span<const int32_t>(out->data() + first, out->size() - first));
}

}  // namespace tandem::text
