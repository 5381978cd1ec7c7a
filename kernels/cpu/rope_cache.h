// Cos/sin factors for rotary embeddings, computed once per (config, position) in double
// precision and kept, since every layer of every step rotates the same positions.
// Rows are [rotary_dim cos][rotary_dim signed sin] in the element order of the config's pairing
// (see generic/row_ops_impl.h rope_rows). Positions past kMaxCachedPositions are computed per call.
// Thread model: caller thread only (the backend's engine thread).
#pragma once

#include <cstdint>
#include <vector>

#include "kernels/backend.h"

namespace tandem::kernels::cpu {

class RopeCache {
 public:
  static constexpr int64_t kMaxCachedPositions = 32768;

  // Row pointers for positions[0, tokens), valid until the next call.
  const float* const* rows(const RopeConfig& cfg, const int32_t* positions, int64_t tokens);

 private:
  struct Table {
    RopeConfig cfg;
    std::vector<double> freq;
    std::vector<float> data;  // [positions][2 * rotary_dim]
    int64_t positions = 0;
  };
  Table& table_for(const RopeConfig& cfg);
  static void fill_row(const Table& t, int64_t pos, float* row);

  std::vector<Table> tables_;  // a handful of configs at most (most models have one)
  std::vector<const float*> ptrs_;
  std::vector<float> overflow_;
};

}  // namespace tandem::kernels::cpu
