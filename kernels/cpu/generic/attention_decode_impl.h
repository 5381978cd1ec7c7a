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

// Items of one unit differ only in kv head (and partial outputs). All their heads advance through
// the context together, chunk by chunk, so each slot's K / V row (all heads, contiguous) is
// used while in cache; per-head state lives in `state` between chunks.
template <class V, DType E, int R, int HDV>
void attention_small_t(const AttentionItem* items, int count) {
  using T = typename V::T;
  using L = KvLoad<V, E>;
  using Elem = typename L::Elem;
  constexpr int kChunk = kAttnChunk;
  constexpr int hd = HDV * V::kW;
  const AttentionItem& it = items[0];
  const int group = it.group;
  const int64_t q_dim = static_cast<int64_t>(it.n_heads) * hd;
  const int64_t kv_dim = static_cast<int64_t>(it.n_kv_heads) * hd;
  const Elem* k_cache = static_cast<const Elem*>(it.k_cache);
  const Elem* v_cache = static_cast<const Elem*>(it.v_cache);
  constexpr int kLineElems = 64 / static_cast<int>(sizeof(Elem));
  constexpr int kMaxHeads = 8;
  constexpr int kPrefetchChunks = 2;  // prefetch distance, in chunks (measured best on Zen 4)

  struct HeadState {
    T q[R][HDV], o[R][HDV];
    float mx[R], sum[R];
  };
  HeadState state[kMaxHeads];
  int pos[R];
#pragma GCC unroll 8
  for (int r = 0; r < R; ++r) pos[r] = it.first_pos + it.q_begin + r / group;
  for (int h = 0; h < count; ++h) {
    HeadState& st = state[h];
    const T scale = V::set1(it.scale);
    for (int r = 0; r < R; ++r) {
      const int qi = r / group, g = r % group;
      const float* src =
          it.q + (it.q_row0 + it.q_begin + qi) * q_dim + static_cast<int64_t>(items[h].kv_head * group + g) * hd;
#pragma GCC unroll 16
      for (int v = 0; v < HDV; ++v) {
        st.q[r][v] = V::mul(V::load(src + v * V::kW), scale);
        st.o[r][v] = V::zero();
      }
      st.mx[r] = -INFINITY;
      st.sum[r] = 0.0f;
    }
  }

  const int last = it.first_pos + it.q_end;
  const int end = it.ctx_end < last ? it.ctx_end : last;
  const int64_t head0 = static_cast<int64_t>(items[0].kv_head) * hd;
  const int64_t span = static_cast<int64_t>(count) * hd;  // elements of a slot row this unit reads
  T part[R][kChunk];
  alignas(64) float p[R][kChunk];
  // Slot rows of chunks ahead go to L2 (prefetcht1: into L1 they would evict the chunk at work).
  auto prefetch_slots = [&](int s0, int s1) {
    for (int s = s0; s < s1 && s < end; ++s) {
      const int64_t base = static_cast<int64_t>(it.slots[s]) * kv_dim + head0;
      for (int64_t d = 0; d < span; d += kLineElems) {
        __builtin_prefetch(k_cache + base + d, 0, 2);
        __builtin_prefetch(v_cache + base + d, 0, 2);
      }
    }
  };
  prefetch_slots(it.ctx_begin, it.ctx_begin + kPrefetchChunks * kChunk);
  for (int c0 = it.ctx_begin; c0 < end; c0 += kChunk) {
    const int cs = end - c0 < kChunk ? end - c0 : kChunk;
    prefetch_slots(c0 + kPrefetchChunks * kChunk, c0 + (kPrefetchChunks + 1) * kChunk);
    for (int h = 0; h < count; ++h) {
      const int64_t kv_off = static_cast<int64_t>(items[h].kv_head) * hd;
      T q[R][HDV], o[R][HDV];
      float mx[R], sum[R];
#pragma GCC unroll 8
      for (int r = 0; r < R; ++r) {
#pragma GCC unroll 16
        for (int v = 0; v < HDV; ++v) {
          q[r][v] = state[h].q[r][v];
          o[r][v] = state[h].o[r][v];
        }
        mx[r] = state[h].mx[r];
        sum[r] = state[h].sum[r];
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
        for (int s = valid; s < kChunk; ++s) p[r][s] = -INFINITY;  // only the last chunk has any
        T vmax = V::load(p[r]);
        for (int sv = V::kW; sv < kChunk; sv += V::kW) vmax = V::max(vmax, V::load(p[r] + sv));
        const float cmax = V::reduce_max(vmax);
        const float m_new = cmax > mx[r] ? cmax : mx[r];
        const float alpha = mx[r] == -INFINITY ? 0.0f : std::exp(mx[r] - m_new);
        for (int sv = 0; sv < kChunk; sv += V::kW) V::store(p[r] + sv, V::exp(V::sub(V::load(p[r] + sv), V::set1(m_new))));
        for (int s = valid; s < kChunk; ++s) p[r][s] = 0.0f;  // exp() clamps; masked slots must be 0
        T vsum = V::load(p[r]);
        for (int sv = V::kW; sv < kChunk; sv += V::kW) vsum = V::add(vsum, V::load(p[r] + sv));
        const float psum = V::reduce_add(vsum);
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
#pragma GCC unroll 8
      for (int r = 0; r < R; ++r) {
#pragma GCC unroll 16
        for (int v = 0; v < HDV; ++v) state[h].o[r][v] = o[r][v];
        state[h].mx[r] = mx[r];
        state[h].sum[r] = sum[r];
      }
    }
  }

  for (int h = 0; h < count; ++h) {
    const AttentionItem& ih = items[h];
    const HeadState& st = state[h];
    for (int r = 0; r < R; ++r) {
      const int qi = r / group, g = r % group;
      if (ih.partial_o) {
        ih.partial_m[r] = st.mx[r];
        ih.partial_l[r] = st.sum[r];
#pragma GCC unroll 16
        for (int v = 0; v < HDV; ++v) V::store(ih.partial_o + static_cast<int64_t>(r) * hd + v * V::kW, st.o[r][v]);
      } else {
        float* dst = ih.out + (ih.q_row0 + ih.q_begin + qi) * q_dim + static_cast<int64_t>(ih.kv_head * group + g) * hd;
        const T inv = V::set1(st.sum[r] > 0.0f ? 1.0f / st.sum[r] : 0.0f);
#pragma GCC unroll 16
        for (int v = 0; v < HDV; ++v) V::store(dst + v * V::kW, V::mul(st.o[r][v], inv));
      }
    }
  }
}

template <class V, DType E, int R, int HDV>
void attention_small_groups(const AttentionItem* items, int count) {
  for (int h = 0; h < count; h += 8) attention_small_t<V, E, R, HDV>(items + h, count - h < 8 ? count - h : 8);
}

// Runs the small-row kernel for the unit's items when their shape has an instantiation; false
// otherwise (the caller then runs attention_item_t per item).
template <class V, DType E>
bool attention_small(const AttentionItem* items, int count) {
  if constexpr (V::kW == 1) {
    return false;  // the scalar ISA gains nothing from it
  } else {
    const AttentionItem& it = items[0];
    const int rows = (it.q_end - it.q_begin) * it.group;
    if (it.head_dim % V::kW != 0) return false;
    // The heads must be consecutive (one contiguous span of each slot row).
    for (int h = 1; h < count; ++h) {
      if (items[h].kv_head != it.kv_head + h) return false;
    }
    const int hdv = it.head_dim / V::kW;
    if (hdv == 4) {
      switch (rows) {
        case 1: attention_small_groups<V, E, 1, 4>(items, count); return true;
        case 2: attention_small_groups<V, E, 2, 4>(items, count); return true;
        case 3: attention_small_groups<V, E, 3, 4>(items, count); return true;
        case 4: attention_small_groups<V, E, 4, 4>(items, count); return true;
        default: return false;
      }
    }
    if (hdv == 8) {
      switch (rows) {
        case 1: attention_small_groups<V, E, 1, 8>(items, count); return true;
        case 2: attention_small_groups<V, E, 2, 8>(items, count); return true;
        case 3: attention_small_groups<V, E, 3, 8>(items, count); return true;
        default: return false;
      }
    }
    return false;
  }
}

}  // namespace tandem::kernels::cpu::generic
