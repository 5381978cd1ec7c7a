// Attention for items with few rows (decode: one query row times the heads of a GQA group):
// each row's query and output stay in registers (R x HDV vectors), each K and V row of the
// paged cache is loaded (and widened from F16 / BF16) once per chunk for all rows, and the
// 16 scores of a chunk come out of one transpose-and-add tree instead of a horizontal sum per
// dot product. Same results as attention_item_t (attention_impl.h), which handles the rest.
// Header-only; include only from ISA translation units (via attention_impl.h).
#pragma once

#include <cmath>
#include <cstdint>

#include "kernels/cpu/kernel_table.h"

namespace tandem::kernels::cpu::generic {

template <class V, DType E, int R, int HDV>
void attention_small_t(const AttentionItem& it) {
  using T = typename V::T;
  using L = KvLoad<V, E>;
  using Elem = typename L::Elem;
  constexpr int kChunk = kAttnChunk;
  constexpr int hd = HDV * V::kW;
  const int group = it.group;
  const int64_t q_dim = static_cast<int64_t>(it.n_heads) * hd;
  const int64_t kv_dim = static_cast<int64_t>(it.n_kv_heads) * hd;
  const int64_t kv_off = static_cast<int64_t>(it.kv_head) * hd;
  const Elem* k_cache = static_cast<const Elem*>(it.k_cache);
  const Elem* v_cache = static_cast<const Elem*>(it.v_cache);
  constexpr int kLineElems = 64 / static_cast<int>(sizeof(Elem));

  T q[R][HDV], o[R][HDV];
  float mx[R], sum[R];
  int pos[R];
#pragma GCC unroll 8
  for (int r = 0; r < R; ++r) {
    const int qi = r / group, g = r % group;
    const float* src = it.q + (it.q_row0 + it.q_begin + qi) * q_dim + static_cast<int64_t>(it.kv_head * group + g) * hd;
    const T scale = V::set1(it.scale);
#pragma GCC unroll 16
    for (int v = 0; v < HDV; ++v) {
      q[r][v] = V::mul(V::load(src + v * V::kW), scale);
      o[r][v] = V::zero();
    }
    mx[r] = -INFINITY;
    sum[r] = 0.0f;
    pos[r] = it.first_pos + it.q_begin + qi;
  }

  const int last = it.first_pos + it.q_end;
  const int end = it.ctx_end < last ? it.ctx_end : last;
  T part[R][kChunk];
  alignas(64) float p[R][kChunk];
  for (int c0 = it.ctx_begin; c0 < end; c0 += kChunk) {
    const int cs = end - c0 < kChunk ? end - c0 : kChunk;
    for (int s = c0 + kChunk; s < c0 + 2 * kChunk && s < end; ++s) {
      const int64_t slot = it.slots[s];
      for (int d = 0; d < hd; d += kLineElems) {
        __builtin_prefetch(k_cache + slot * kv_dim + kv_off + d);
        __builtin_prefetch(v_cache + slot * kv_dim + kv_off + d);
      }
    }
    // Scores: per slot, R partial-product vectors; then 16 horizontal sums at once per row.
    for (int s = 0; s < kChunk; ++s) {
      if (s >= cs) {
#pragma GCC unroll 8
        for (int r = 0; r < R; ++r) part[r][s] = V::zero();
        continue;
      }
      const Elem* kp = k_cache + static_cast<int64_t>(it.slots[c0 + s]) * kv_dim + kv_off;
      T k[HDV];
#pragma GCC unroll 16
      for (int v = 0; v < HDV; ++v) k[v] = L::load(kp + v * V::kW);
#pragma GCC unroll 8
      for (int r = 0; r < R; ++r) {
        T acc = V::mul(q[r][0], k[0]);
#pragma GCC unroll 16
        for (int v = 1; v < HDV; ++v) acc = V::fma(q[r][v], k[v], acc);
        part[r][s] = acc;
      }
    }
    // Online softmax per row; p[r][s] = 0 for slots the row may not see.
#pragma GCC unroll 8
    for (int r = 0; r < R; ++r) {
      V::hsum16(part[r], p[r]);
      const int valid = pos[r] - c0 + 1 < cs ? pos[r] - c0 + 1 : cs;
      if (valid <= 0) {
        for (int s = 0; s < kChunk; ++s) p[r][s] = 0.0f;
        continue;
      }
      float cmax = p[r][0];
      for (int s = 1; s < valid; ++s) cmax = p[r][s] > cmax ? p[r][s] : cmax;
      const float m_new = cmax > mx[r] ? cmax : mx[r];
      const float alpha = mx[r] == -INFINITY ? 0.0f : std::exp(mx[r] - m_new);
      for (int sv = 0; sv < kChunk; sv += V::kW) V::store(p[r] + sv, V::exp(V::sub(V::load(p[r] + sv), V::set1(m_new))));
      float psum = 0.0f;
      for (int s = 0; s < kChunk; ++s) {
        if (s >= valid) p[r][s] = 0.0f;
        psum += p[r][s];
      }
      sum[r] = sum[r] * alpha + psum;
      mx[r] = m_new;
      const T va = V::set1(alpha);
#pragma GCC unroll 16
      for (int v = 0; v < HDV; ++v) o[r][v] = V::mul(o[r][v], va);
    }
    // Weighted V rows, each loaded once for all rows.
    for (int s = 0; s < cs; ++s) {
      const Elem* vp = v_cache + static_cast<int64_t>(it.slots[c0 + s]) * kv_dim + kv_off;
      T vv[HDV];
#pragma GCC unroll 16
      for (int v = 0; v < HDV; ++v) vv[v] = L::load(vp + v * V::kW);
#pragma GCC unroll 8
      for (int r = 0; r < R; ++r) {
        const T w = V::set1(p[r][s]);
#pragma GCC unroll 16
        for (int v = 0; v < HDV; ++v) o[r][v] = V::fma(w, vv[v], o[r][v]);
      }
    }
  }

#pragma GCC unroll 8
  for (int r = 0; r < R; ++r) {
    const int qi = r / group, g = r % group;
    if (it.partial_o) {
      it.partial_m[r] = mx[r];
      it.partial_l[r] = sum[r];
#pragma GCC unroll 16
      for (int v = 0; v < HDV; ++v) V::store(it.partial_o + static_cast<int64_t>(r) * hd + v * V::kW, o[r][v]);
    } else {
      float* dst = it.out + (it.q_row0 + it.q_begin + qi) * q_dim + static_cast<int64_t>(it.kv_head * group + g) * hd;
      const T inv = V::set1(sum[r] > 0.0f ? 1.0f / sum[r] : 0.0f);
#pragma GCC unroll 16
      for (int v = 0; v < HDV; ++v) V::store(dst + v * V::kW, V::mul(o[r][v], inv));
    }
  }
}

// Runs the small-row kernel when the item's shape has an instantiation; false otherwise.
template <class V, DType E>
bool attention_small(const AttentionItem& it) {
  if constexpr (V::kW == 1) {
    return false;  // the scalar ISA gains nothing from it
  } else {
    const int rows = (it.q_end - it.q_begin) * it.group;
    if (it.head_dim % V::kW != 0) return false;
    const int hdv = it.head_dim / V::kW;
    if (hdv == 4) {
      switch (rows) {
        case 1: attention_small_t<V, E, 1, 4>(it); return true;
        case 2: attention_small_t<V, E, 2, 4>(it); return true;
        case 3: attention_small_t<V, E, 3, 4>(it); return true;
        case 4: attention_small_t<V, E, 4, 4>(it); return true;
        default: return false;
      }
    }
    if (hdv == 8) {
      switch (rows) {
        case 1: attention_small_t<V, E, 1, 8>(it); return true;
        case 2: attention_small_t<V, E, 2, 8>(it); return true;
        case 3: attention_small_t<V, E, 3, 8>(it); return true;
        default: return false;
      }
    }
    return false;
  }
}

}  // namespace tandem::kernels::cpu::generic
