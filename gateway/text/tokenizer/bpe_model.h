// BpeModel: turns one pre-tokenized piece into token ids by byte-pair merges, as HF's BPE model:
// start from one symbol per character (per byte for byte-level vocabularies), then repeatedly
// merge the adjacent pair with the lowest merge rank (leftmost first on ties) until none applies.
// Characters missing from the vocabulary become <0xNN> byte tokens (byte_fallback) or the unk
// token (fused when fuse_unk), or are dropped when neither exists -- all as HF does.
//
// Thread model: immutable after create() except for the word cache, which is sharded and
// mutex-guarded; encode_piece() is thread-safe.
#pragma once

#include <array>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "common/status.h"
#include "gateway/text/tokenizer/tokenizer_spec.h"

namespace tandem::text {

struct StringHash {
  using is_transparent = void;
  size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
};
using TokenMap = std::unordered_map<std::string, int32_t, StringHash, std::equal_to<>>;

// Open-addressing map from an id pair to (rank, merged id); the merge loop's hot lookup.
class PairRankMap {
 public:
  struct Entry {
    uint64_t key = kEmpty;
    int32_t rank = 0;
    int32_t new_id = 0;
  };
  void reserve(size_t n);
  void insert_or_assign(int32_t a, int32_t b, int32_t rank, int32_t new_id);
  const Entry* find(int32_t a, int32_t b) const {
    const uint64_t key = pack(a, b);
    for (size_t i = slot(key);; i = (i + 1) & mask_) {
      const Entry& e = slots_[i];
      if (e.key == key) return &e;
      if (e.key == kEmpty) return nullptr;
    }
  }
  size_t size() const { return size_; }

 private:
  static constexpr uint64_t kEmpty = ~uint64_t{0};
  static uint64_t pack(int32_t a, int32_t b) {
    return (static_cast<uint64_t>(static_cast<uint32_t>(a)) << 32) | static_cast<uint32_t>(b);
  }
  size_t slot(uint64_t key) const { return (key * 0x9E3779B97F4A7C15ull) >> shift_; }
  std::vector<Entry> slots_{1};
  size_t mask_ = 0;
  int shift_ = 64;
  size_t size_ = 0;
};

// Bounded cache of piece -> ids. Sharded so concurrent encoders rarely contend; a full shard is
// simply cleared (words repeat, so it refills with what is hot).
class WordCache {
 public:
  static constexpr size_t kShards = 16;
  static constexpr size_t kEntriesPerShard = 1024;
  static constexpr size_t kMaxKeyBytes = 64;  // longer pieces are rare and not worth caching
  bool lookup(std::string_view key, std::vector<int32_t>* out) const;  // appends on a hit
  void insert(std::string_view key, std::span<const int32_t> ids) const;

 private:
  struct Shard {
    std::mutex mu;
    std::unordered_map<std::string, std::vector<int32_t>, StringHash, std::equal_to<>> map;  // guarded by mu
  };
  mutable std::array<Shard, kShards> shards_;
};

class BpeModel {
 public:
  // byte_level: pieces are raw bytes spelled through the GPT-2 alphabet. Errors name `source`.
  static StatusOr<std::unique_ptr<BpeModel>> create(const BpeSpec& spec, bool byte_level, const std::string& source);

  // Appends the ids for one piece (raw bytes when byte-level, normalized text otherwise).
  void encode_piece(std::string_view piece, std::vector<int32_t>* out) const;

  std::optional<int32_t> find(std::string_view token) const;
  const TokenMap& vocab() const { return vocab_; }
  size_t merge_count() const { return merges_.size(); }

 private:
  BpeModel() = default;
  struct Symbol {
    int32_t id;
    int32_t prev;
    int32_t next;
  };
  // Initial symbols of a piece (before merges), with unknown-character handling applied.
  void initial_symbols(std::string_view piece, std::vector<Symbol>* syms) const;
  void add_unit(std::string_view unit, std::vector<Symbol>* syms, int32_t* pending_unk) const;
  void merge(std::vector<Symbol>* syms) const;

  TokenMap vocab_;
  PairRankMap merges_;
  bool byte_level_ = false;
  std::array<int32_t, 256> byte_ids_{};      // byte-level: id of each byte's spelling, -1 if absent
  std::array<int32_t, 256> fallback_ids_{};  // id of "<0xNN>", -1 if absent
  std::array<int32_t, 128> ascii_ids_{};     // non-byte-level: id of each ASCII character
  bool byte_fallback_ = false;
  std::optional<int32_t> unk_id_;
  bool fuse_unk_ = false;
  bool ignore_merges_ = false;
  TokenMap raw_vocab_;  // byte-level + ignore_merges: raw bytes of each token -> id
  WordCache cache_;
};

}  // namespace tandem::text
