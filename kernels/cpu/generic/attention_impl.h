// Flash-style attention for one work item (kernel_table.h AttentionItem), over vector type V.
// The item's rows are (query row, head of the kv group) pairs, so every K and V row loaded from
// the paged cache serves all heads of the group. Context slots are visited in chunks of
// kChunk: scores for the chunk, an online-softmax rescale of the running (max, sum, output), then
// the probability-weighted V rows. Query rows are pre-scaled by `scale`.
// Header-only; include only from ISA translation units.
#pragma once

#include <cmath>
#include <cstdint>
#include <type_traits>

#include "common/dtype.h"

#include "kernels/cpu/kernel_table.h"

namespace tandem::kernels::cpu::generic {

inline constexpr int kAttnChunk = 16;
// From this many rows per item on, K chunks are transposed once so scores become broadcast
// FMAs (no per-dot horizontal sums).
inline constexpr int kAttnTransposeRows = 8;

static inline int64_t attention_scratch_floats(int rows, int head_dim) {
  return 2LL * rows * head_dim + static_cast<int64_t>(rows) * kAttnChunk + 2LL * rows +
         static_cast<int64_t>(head_dim) * kAttnChunk + 64;
}

// Loads of KV cache elements (float, or F16 / BF16 widened to float) as vectors.
template <class V, DType E>
struct KvLoad {
  using T = typename V::T;
  using Elem = std::conditional_t<E == DType::kF32, float, uint16_t>;
  static T load(const Elem* p) {
    if constexpr (E == DType::kF32) {
      return V::load(p);
    } else if constexpr (E == DType::kF16) {
      return V::load_f16(p);
    } else {
      return V::load_bf16(p);
    }
  }
  static float at(const Elem* p, int i) {
    if constexpr (E == DType::kF32) {
      return p[i];
    } else if constexpr (E == DType::kF16) {
      return fp16_to_fp32(p[i]);
    } else {
      return bf16_to_fp32(p[i]);
    }
  }
  static T load_partial(const Elem* p, int n) {
    if constexpr (E == DType::kF32) {
      return V::load_partial(p, n);
    } else {
      float tmp[V::kW];
      for (int i = 0; i < n; ++i) tmp[i] = at(p, i);
      return V::load_partial(tmp, n);
    }
  }
};

template <class V, DType E>
float dot(const float* a, const typename KvLoad<V, E>::Elem* b, int n) {
  using T = typename V::T;
  using L = KvLoad<V, E>;
  T acc = V::zero();
  int i = 0;
  for (; i + V::kW <= n; i += V::kW) acc = V::fma(V::load(a + i), L::load(b + i), acc);
  if (i < n) acc = V::fma(V::load_partial(a + i, n - i), L::load_partial(b + i, n - i), acc);
  return V::reduce_add(acc);
}

template <class V, DType E>
void attention_item_t(const AttentionItem& it, float* scratch) {
  using L = KvLoad<V, E>;
  using Elem = typename L::Elem;
  using T = typename V::T;
  const int hd = it.head_dim;
  const int group = it.group;
  const int nq = it.q_end - it.q_begin;
  const int rows = nq * group;
  const int64_t q_dim = static_cast<int64_t>(it.n_heads) * hd;
  const int64_t kv_dim = static_cast<int64_t>(it.n_kv_heads) * hd;
  const int64_t kv_off = static_cast<int64_t>(it.kv_head) * hd;

  float* qs = scratch;
  float* o = qs + static_cast<int64_t>(rows) * hd;
  float* sc = o + static_cast<int64_t>(rows) * hd;
  float* mx = sc + static_cast<int64_t>(rows) * kAttnChunk;
  float* sum = mx + rows;
  float* kt = sum + rows;
  for (int64_t i = 0; i < static_cast<int64_t>(rows) * kAttnChunk; ++i) sc[i] = 0.0f;

  for (int qi = 0; qi < nq; ++qi) {
    for (int g = 0; g < group; ++g) {
      const int r = qi * group + g;
      const float* src = it.q + (it.q_row0 + it.q_begin + qi) * q_dim + static_cast<int64_t>(it.kv_head * group + g) * hd;
      for (int d = 0; d < hd; ++d) qs[static_cast<int64_t>(r) * hd + d] = src[d] * it.scale;
      for (int d = 0; d < hd; ++d) o[static_cast<int64_t>(r) * hd + d] = 0.0f;
      mx[r] = -INFINITY;
      sum[r] = 0.0f;
    }
  }

  // The last context position any row of the item may see (causal), exclusive.
  const int last = it.first_pos + it.q_end;
  const int end = it.ctx_end < last ? it.ctx_end : last;
  const bool transpose = V::kW > 1 && rows >= kAttnTransposeRows;
  const Elem* krow[kAttnChunk];
  const Elem* vrow[kAttnChunk];
  const Elem* k_cache = static_cast<const Elem*>(it.k_cache);
  const Elem* v_cache = static_cast<const Elem*>(it.v_cache);
  constexpr int kLineElems = 64 / static_cast<int>(sizeof(Elem));

  for (int c0 = it.ctx_begin; c0 < end; c0 += kAttnChunk) {
    const int cs = end - c0 < kAttnChunk ? end - c0 : kAttnChunk;
    // Slots are scattered over the pool (pages); fetch the next chunk's rows while this one runs.
    for (int s = c0 + kAttnChunk; s < c0 + 2 * kAttnChunk && s < end; ++s) {
      const int64_t slot = it.slots[s];
      for (int d = 0; d < hd; d += kLineElems) {
        __builtin_prefetch(k_cache + slot * kv_dim + kv_off + d);
        __builtin_prefetch(v_cache + slot * kv_dim + kv_off + d);
      }
    }
    for (int s = 0; s < cs; ++s) {
      const int64_t slot = it.slots[c0 + s];
      krow[s] = k_cache + slot * kv_dim + kv_off;
      vrow[s] = v_cache + slot * kv_dim + kv_off;
    }
    // Scores sc[r, s] = q_r . k_s.
    if (transpose) {
      for (int d = 0; d < hd; ++d) {
        for (int s = 0; s < kAttnChunk; ++s) kt[d * kAttnChunk + s] = s < cs ? L::at(krow[s], d) : 0.0f;
      }
      for (int r = 0; r < rows; ++r) {
        const float* qr = qs + static_cast<int64_t>(r) * hd;
        for (int sv = 0; sv < kAttnChunk; sv += V::kW) {
          T acc = V::zero();
          for (int d = 0; d < hd; ++d) acc = V::fma(V::set1(qr[d]), V::load(kt + d * kAttnChunk + sv), acc);
          V::store(sc + r * kAttnChunk + sv, acc);
        }
      }
    } else {
      for (int s = 0; s < cs; ++s) {
        for (int r = 0; r < rows; ++r) sc[r * kAttnChunk + s] = dot<V, E>(qs + static_cast<int64_t>(r) * hd, krow[s], hd);
      }
    }
    // Online softmax and the weighted sum of V rows, row by row.
    for (int r = 0; r < rows; ++r) {
      const int pos = it.first_pos + it.q_begin + r / group;
      const int valid = pos - c0 + 1 < cs ? pos - c0 + 1 : cs;
      if (valid <= 0) continue;
      float* srow = sc + r * kAttnChunk;
      float cmax = srow[0];
      for (int s = 1; s < valid; ++s) cmax = srow[s] > cmax ? srow[s] : cmax;
      const float m_new = cmax > mx[r] ? cmax : mx[r];
      const float alpha = mx[r] == -INFINITY ? 0.0f : std::exp(mx[r] - m_new);
      for (int sv = 0; sv < kAttnChunk; sv += V::kW) {
        V::store(srow + sv, V::exp(V::sub(V::load(srow + sv), V::set1(m_new))));
      }
      float psum = 0.0f;
      for (int s = 0; s < valid; ++s) psum += srow[s];
      sum[r] = sum[r] * alpha + psum;
      mx[r] = m_new;
      float* orow = o + static_cast<int64_t>(r) * hd;
      const T va = V::set1(alpha);
      int d = 0;
      for (; d + V::kW <= hd; d += V::kW) {
        T acc = V::mul(V::load(orow + d), va);
        for (int s = 0; s < valid; ++s) acc = V::fma(V::set1(srow[s]), L::load(vrow[s] + d), acc);
        V::store(orow + d, acc);
      }
      if (d < hd) {
        const int t = hd - d;
        T acc = V::mul(V::load_partial(orow + d, t), va);
        for (int s = 0; s < valid; ++s) acc = V::fma(V::set1(srow[s]), L::load_partial(vrow[s] + d, t), acc);
        V::store_partial(orow + d, acc, t);
      }
    }
  }

  for (int qi = 0; qi < nq; ++qi) {
    for (int g = 0; g < group; ++g) {
      const int r = qi * group + g;
      const float* orow = o + static_cast<int64_t>(r) * hd;
      if (it.partial_o) {
        it.partial_m[r] = mx[r];
        it.partial_l[r] = sum[r];
        for (int d = 0; d < hd; ++d) it.partial_o[static_cast<int64_t>(r) * hd + d] = orow[d];
      } else {
        float* dst = it.out + (it.q_row0 + it.q_begin + qi) * q_dim + static_cast<int64_t>(it.kv_head * group + g) * hd;
        const float inv = sum[r] > 0.0f ? 1.0f / sum[r] : 0.0f;
        for (int d = 0; d < hd; ++d) dst[d] = orow[d] * inv;
      }
    }
  }
}

}  // namespace tandem::kernels::cpu::generic

#include "kernels/cpu/generic/attention_decode_impl.h"

namespace tandem::kernels::cpu::generic {

template <class V, DType E>
void attention_items_t(const AttentionItem* items, int count, float* scratch) {
  if (attention_small<V, E>(items, count)) return;
  for (int i = 0; i < count; ++i) attention_item_t<V, E>(items[i], scratch);
}

// The kv heads of one unit of work (kernel_table.h).
template <class V>
void attention_items(const AttentionItem* items, int count, float* scratch) {
  switch (items[0].cache_type) {
    case DType::kF16: attention_items_t<V, DType::kF16>(items, count, scratch); return;
    case DType::kBF16: attention_items_t<V, DType::kBF16>(items, count, scratch); return;
    default: attention_items_t<V, DType::kF32>(items, count, scratch); return;
  }
}

}  // namespace tandem::kernels::cpu::generic
