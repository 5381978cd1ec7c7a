#include "kernels/cpu/rope_cache.h"

#include <algorithm>
#include <cmath>

#include "common/check.h"
#include "kernels/reference/ops.h"

namespace tandem::kernels::cpu {

namespace {

bool same_config(const RopeConfig& a, const RopeConfig& b) {
  return a.head_dim == b.head_dim && a.rotary_dim == b.rotary_dim && a.theta == b.theta && a.neox == b.neox &&
         a.scaling == b.scaling && a.factor == b.factor && a.low_freq_factor == b.low_freq_factor &&
         a.high_freq_factor == b.high_freq_factor && a.original_max_positions == b.original_max_positions;
}

constexpr size_t kMaxTables = 4;

}  // namespace

RopeCache::Table& RopeCache::table_for(const RopeConfig& cfg) {
  for (Table& t : tables_) {
    if (same_config(t.cfg, cfg)) return t;
  }
  if (tables_.size() >= kMaxTables) tables_.erase(tables_.begin());
  Table t;
  t.cfg = cfg;
  t.freq.resize(static_cast<size_t>(cfg.rotary_dim / 2));
  ref::rope_frequencies(cfg, t.freq.data());
  tables_.push_back(std::move(t));
  return tables_.back();
}

void RopeCache::fill_row(const Table& t, int64_t pos, float* row) {
  const int rot = t.cfg.rotary_dim;
  const int half = rot / 2;
  float* c = row;
  float* s = row + rot;
  for (int i = 0; i < half; ++i) {
    const double angle = static_cast<double>(pos) * t.freq[i];
    const float cv = static_cast<float>(std::cos(angle));
    const float sv = static_cast<float>(std::sin(angle));
    const int i0 = t.cfg.neox ? i : 2 * i;
    const int i1 = t.cfg.neox ? i + half : 2 * i + 1;
    c[i0] = cv;
    c[i1] = cv;
    s[i0] = -sv;  // first of the pair: x0 cos - x1 sin
    s[i1] = sv;   // second: x1 cos + x0 sin
  }
}

const float* const* RopeCache::rows(const RopeConfig& cfg, const int32_t* positions, int64_t tokens) {
  CHECK(cfg.rotary_dim > 0 && cfg.rotary_dim % 2 == 0 && cfg.rotary_dim <= cfg.head_dim,
        "rope: rotary_dim {} must be even and in (0, head_dim {}]", cfg.rotary_dim, cfg.head_dim);
  Table& t = table_for(cfg);
  const int64_t width = 2LL * cfg.rotary_dim;
  int64_t max_pos = -1;
  int64_t overflow = 0;
  for (int64_t i = 0; i < tokens; ++i) {
    CHECK(positions[i] >= 0, "rope: negative position {} at token {}", positions[i], i);
    if (positions[i] < kMaxCachedPositions) {
      max_pos = std::max<int64_t>(max_pos, positions[i]);
    } else {
      ++overflow;
    }
  }
  if (max_pos >= t.positions) {
    const int64_t grown = std::min(kMaxCachedPositions, std::max({max_pos + 1, 2 * t.positions, int64_t{1024}}));
    t.data.resize(static_cast<size_t>(grown * width));
    for (int64_t p = t.positions; p < grown; ++p) fill_row(t, p, t.data.data() + p * width);
    t.positions = grown;
  }
  ptrs_.resize(static_cast<size_t>(tokens));
  overflow_.resize(static_cast<size_t>(overflow * width));
  int64_t o = 0;
  for (int64_t i = 0; i < tokens; ++i) {
    if (positions[i] < kMaxCachedPositions) {
      ptrs_[i] = t.data.data() + positions[i] * width;
    } else {
      float* row = overflow_.data() + (o++) * width;
      fill_row(t, positions[i], row);
      ptrs_[i] = row;
    }
  }
  return ptrs_.data();
}

}  // namespace tandem::kernels::cpu
