// Matmul on float weights (F32 / F16 / BF16) over vector type V. Few activation rows: each weight
// row is converted on the fly and dotted with up to 4 x rows at once. Many rows: a panel of 16
// weight rows x kKc columns is converted once into [kKc][16] floats and an MR x 16 broadcast-FMA
// microkernel sweeps the x rows over it.
// Header-only; include only from ISA translation units.
#pragma once

#include <cstdint>

#include "common/dtype.h"
#include "kernels/cpu/kernel_table.h"

namespace tandem::kernels::cpu::generic {

inline constexpr int kFloatTileRows = 16;  // output columns per panel
inline constexpr int kFloatKc = 256;       // k per panel
inline constexpr int kFloatSmallM = 8;     // below this many x rows: dot products

static inline int64_t gemm_f_scratch_floats() { return static_cast<int64_t>(kFloatKc) * (kFloatTileRows + 1) + 64; }

static inline float weight_at(DType t, const uint8_t* row, int64_t i) {
  if (t == DType::kF32) return reinterpret_cast<const float*>(row)[i];
  const uint16_t h = reinterpret_cast<const uint16_t*>(row)[i];
  return t == DType::kF16 ? fp16_to_fp32(h) : bf16_to_fp32(h);
}

template <class V>
typename V::T load_weights(DType t, const uint8_t* row, int64_t i) {
  if (t == DType::kF32) return V::load(reinterpret_cast<const float*>(row) + i);
  const uint16_t* p = reinterpret_cast<const uint16_t*>(row) + i;
  return t == DType::kF16 ? V::load_f16(p) : V::load_bf16(p);
}

template <class V, int C>
void dot_rows(const FGemmArgs& a, int64_t j, int64_t r0) {
  using T = typename V::T;
  const uint8_t* row = a.w + j * a.row_bytes;
  T acc[C];
  #pragma GCC unroll 16
  for (int c = 0; c < C; ++c) acc[c] = V::zero();
  int64_t i = 0;
  for (; i + V::kW <= a.k; i += V::kW) {
    const T w = load_weights<V>(a.type, row, i);
    #pragma GCC unroll 16
    for (int c = 0; c < C; ++c) acc[c] = V::fma(w, V::load(a.x + (r0 + c) * a.k + i), acc[c]);
  }
  #pragma GCC unroll 16
  for (int c = 0; c < C; ++c) {
    float s = V::reduce_add(acc[c]);
    for (int64_t t = i; t < a.k; ++t) s += weight_at(a.type, row, t) * a.x[(r0 + c) * a.k + t];
    if (a.bias) s += a.bias[j];
    a.y[(r0 + c) * a.n + j] = s;
  }
}

template <class V, int MR>
void panel_kernel(const FGemmArgs& a, const float* panel, int64_t kc, int64_t k0, int64_t j0, int cols,
                  int64_t r0, bool first) {
  using T = typename V::T;
  constexpr int NV = kFloatTileRows / V::kW;
  T acc[MR][NV];
  #pragma GCC unroll 16
  for (int i = 0; i < MR; ++i)
    #pragma GCC unroll 16
    for (int v = 0; v < NV; ++v) acc[i][v] = V::zero();
  for (int64_t kk = 0; kk < kc; ++kk) {
    T w[NV];
    #pragma GCC unroll 16
    for (int v = 0; v < NV; ++v) w[v] = V::load(panel + kk * kFloatTileRows + v * V::kW);
    #pragma GCC unroll 16
    for (int i = 0; i < MR; ++i) {
      const T xv = V::set1(a.x[(r0 + i) * a.k + k0 + kk]);
      #pragma GCC unroll 16
      for (int v = 0; v < NV; ++v) acc[i][v] = V::fma(xv, w[v], acc[i][v]);
    }
  }
  #pragma GCC unroll 16
  for (int i = 0; i < MR; ++i) {
    float* y = a.y + (r0 + i) * a.n + j0;
    #pragma GCC unroll 16
    for (int v = 0; v < NV; ++v) {
      const int n = cols - v * V::kW;
      if (n <= 0) break;
      T out = acc[i][v];
      if (first) {
        if (a.bias) out = V::add(out, V::load_partial(a.bias + j0 + v * V::kW, n));
      } else {
        out = V::add(out, V::load_partial(y + v * V::kW, n));
      }
      V::store_partial(y + v * V::kW, out, n);
    }
  }
}

template <class V>
void gemm_f(const FGemmArgs& a, int64_t n0, int64_t n1, int64_t r0, int64_t r1, float* scratch) {
  if (r1 - r0 < kFloatSmallM) {
    for (int64_t j = n0; j < n1; ++j) {
      int64_t r = r0;
      for (; r + 4 <= r1; r += 4) dot_rows<V, 4>(a, j, r);
      for (; r < r1; ++r) dot_rows<V, 1>(a, j, r);
    }
    return;
  }
  constexpr int MR = V::kW >= 16 ? 8 : (V::kW >= 8 ? 4 : 1);
  for (int64_t j0 = n0; j0 < n1; j0 += kFloatTileRows) {
    const int cols = static_cast<int>(n1 - j0 < kFloatTileRows ? n1 - j0 : kFloatTileRows);
    for (int64_t k0 = 0; k0 < a.k; k0 += kFloatKc) {
      const int64_t kc = a.k - k0 < kFloatKc ? a.k - k0 : kFloatKc;
      // Convert each row's chunk with vector loads (F16C / shifts), then interleave.
      float* row_f32 = scratch + kFloatKc * kFloatTileRows;
      for (int c = 0; c < kFloatTileRows; ++c) {
        const uint8_t* row = a.w + (j0 + (c < cols ? c : cols - 1)) * a.row_bytes;
        int64_t kk = 0;
        for (; kk + V::kW <= kc; kk += V::kW) V::store(row_f32 + kk, load_weights<V>(a.type, row, k0 + kk));
        for (; kk < kc; ++kk) row_f32[kk] = weight_at(a.type, row, k0 + kk);
        for (kk = 0; kk < kc; ++kk) scratch[kk * kFloatTileRows + c] = row_f32[kk];
      }
      int64_t r = r0;
      for (; r + MR <= r1; r += MR) panel_kernel<V, MR>(a, scratch, kc, k0, j0, cols, r, k0 == 0);
      for (; r < r1; ++r) panel_kernel<V, 1>(a, scratch, kc, k0, j0, cols, r, k0 == 0);
    }
  }
}

}  // namespace tandem::kernels::cpu::generic
