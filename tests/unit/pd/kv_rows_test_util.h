// Helpers shared by the KV row tests (pd_kv_rows_test, pd_device_rows_test): random cache bytes
// and a gathered staging buffer seen as the chunk a decode worker would receive.
#pragma once

#include <cstdint>
#include <random>

#include "worker/pd/kv_rows.h"

namespace tandem::pd::testing {

// Every byte of every K and V array of `kv` (host-addressable memory), from `seed`.
inline void fill_random(runtime::KvCache& kv, uint32_t seed) {
  std::mt19937 rng(seed);
  const size_t bytes = static_cast<size_t>(kv.num_slots()) * row_bytes(kv.dtype(), kv.kv_dim());
  for (int l = 0; l < kv.num_layers(); ++l) {
    for (void* p : {kv.k(l), kv.v(l)}) {
      auto* b = static_cast<uint8_t*>(p);
      for (size_t i = 0; i < bytes; ++i) b[i] = static_cast<uint8_t>(rng());
    }
  }
}

// The received-chunk view of a staging buffer (spans into it, not copies).
inline KvRows as_rows(const KvStaging& s) {
  KvRows r;
  r.first_token_index = s.first_token_index;
  r.num_tokens = s.num_tokens;
  r.layer_begin = s.layer_begin;
  r.layer_end = s.layer_end;
  for (int32_t l = s.layer_begin; l < s.layer_end; ++l) {
    r.k.emplace_back(s.k(l), s.block_bytes());
    r.v.emplace_back(s.v(l), s.block_bytes());
  }
  return r;
}

}  // namespace tandem::pd::testing
