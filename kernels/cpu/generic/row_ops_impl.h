// Row-wise float kernels written once over a vector type V (simd/vec_*.h) and instantiated by
// each ISA's float_kernels_*.cc. Header-only templates; include only from ISA translation units.
// Every loop has a masked tail, so dims need not be multiples of the vector width.
#pragma once

#include <cmath>
#include <cstdint>

#include "common/dtype.h"

namespace tandem::kernels::cpu::generic {

template <class V>
float sum_squares(const float* x, int64_t n) {
  using T = typename V::T;
  T a0 = V::zero(), a1 = V::zero();
  int64_t i = 0;
  for (; i + 2 * V::kW <= n; i += 2 * V::kW) {
    const T u = V::load(x + i), w = V::load(x + i + V::kW);
    a0 = V::fma(u, u, a0);
    a1 = V::fma(w, w, a1);
  }
  for (; i < n; i += V::kW) {
    const T u = V::load_partial(x + i, static_cast<int>(n - i));
    a0 = V::fma(u, u, a0);
  }
  return V::reduce_add(V::add(a0, a1));
}

template <class V>
void scale_by_weight(const float* x, const float* w, float inv, int64_t n, float* out) {
  const typename V::T s = V::set1(inv);
  int64_t i = 0;
  for (; i + V::kW <= n; i += V::kW) V::store(out + i, V::mul(V::mul(V::load(x + i), s), V::load(w + i)));
  if (i < n) {
    const int t = static_cast<int>(n - i);
    V::store_partial(out + i, V::mul(V::mul(V::load_partial(x + i, t), s), V::load_partial(w + i, t)), t);
  }
}

template <class V>
void rms_norm_rows(const float* x, const float* w, int64_t r0, int64_t r1, int64_t dim, float eps, float* out) {
  for (int64_t r = r0; r < r1; ++r) {
    const float ss = sum_squares<V>(x + r * dim, dim);
    const float inv = 1.0f / std::sqrt(ss / static_cast<float>(dim) + eps);
    scale_by_weight<V>(x + r * dim, w, inv, dim, out + r * dim);
  }
}

template <class V>
void add_rms_norm_rows(float* res, const float* x, const float* w, int64_t r0, int64_t r1, int64_t dim,
                       float eps, float* out) {
  using T = typename V::T;
  for (int64_t r = r0; r < r1; ++r) {
    float* rr = res + r * dim;
    const float* xr = x + r * dim;
    T acc = V::zero();
    int64_t i = 0;
    for (; i + V::kW <= dim; i += V::kW) {
      const T s = V::add(V::load(rr + i), V::load(xr + i));
      V::store(rr + i, s);
      acc = V::fma(s, s, acc);
    }
    if (i < dim) {
      const int t = static_cast<int>(dim - i);
      const T s = V::add(V::load_partial(rr + i, t), V::load_partial(xr + i, t));
      V::store_partial(rr + i, s, t);
      acc = V::fma(s, s, acc);
    }
    const float inv = 1.0f / std::sqrt(V::reduce_add(acc) / static_cast<float>(dim) + eps);
    scale_by_weight<V>(rr, w, inv, dim, out + r * dim);
  }
}

// cos_sin[t] = [rotary_dim cos factors][rotary_dim signed sin factors]; element i becomes
// x[i] * cos[i] + x[partner(i)] * sin[i] where partner is the other half (neox) or the pair
// neighbour (interleaved).
template <class V>
void rope_rows(float* x, const float* const* cos_sin, int64_t t0, int64_t t1, int n_heads, int head_dim,
               int rot, bool neox) {
  using T = typename V::T;
  const int half = rot / 2;
  for (int64_t t = t0; t < t1; ++t) {
    const float* c = cos_sin[t];
    const float* s = c + rot;
    for (int h = 0; h < n_heads; ++h) {
      float* v = x + (t * n_heads + h) * static_cast<int64_t>(head_dim);
      if (neox) {
        for (int i = 0; i < half; i += V::kW) {
          const int n = half - i;
          const T a = V::load_partial(v + i, n), b = V::load_partial(v + half + i, n);
          const T cc = V::load_partial(c + i, n);
          V::store_partial(v + i, V::fma(a, cc, V::mul(b, V::load_partial(s + i, n))), n);
          V::store_partial(v + half + i, V::fma(b, cc, V::mul(a, V::load_partial(s + half + i, n))), n);
        }
      } else if constexpr (V::kW == 1) {
        for (int i = 0; i < rot; i += 2) {
          const float a = v[i], b = v[i + 1];
          v[i] = a * c[i] + b * s[i];
          v[i + 1] = b * c[i + 1] + a * s[i + 1];
        }
      } else {
        // Pairs never straddle a vector: i and kW are even.
        for (int i = 0; i < rot; i += V::kW) {
          const int n = rot - i;
          const T u = V::load_partial(v + i, n);
          const T r = V::fma(u, V::load_partial(c + i, n), V::mul(V::swap_pairs(u), V::load_partial(s + i, n)));
          V::store_partial(v + i, r, n);
        }
      }
    }
  }
}

template <class V>
void silu_mul_rows(const float* gate_up, int64_t r0, int64_t r1, int64_t ff, float* out) {
  using T = typename V::T;
  const T one = V::set1(1.0f);
  for (int64_t r = r0; r < r1; ++r) {
    const float* g = gate_up + r * 2 * ff;
    const float* u = g + ff;
    float* o = out + r * ff;
    for (int64_t j = 0; j < ff; j += V::kW) {
      const int n = static_cast<int>(ff - j < V::kW ? ff - j : V::kW);
      const T gv = V::load_partial(g + j, n);
      const T e = V::exp(V::sub(V::zero(), gv));
      V::store_partial(o + j, V::mul(V::div(gv, V::add(one, e)), V::load_partial(u + j, n)), n);
    }
  }
}

template <class V>
void add_range(float* x, const float* y, int64_t i0, int64_t i1) {
  int64_t i = i0;
  for (; i + V::kW <= i1; i += V::kW) V::store(x + i, V::add(V::load(x + i), V::load(y + i)));
  if (i < i1) {
    const int t = static_cast<int>(i1 - i);
    V::store_partial(x + i, V::add(V::load_partial(x + i, t), V::load_partial(y + i, t)), t);
  }
}

template <class V>
void convert_half(DType type, const float* src, uint16_t* dst, int64_t n) {
  int64_t i = 0;
  if (type == DType::kF16) {
    for (; i + V::kW <= n; i += V::kW) V::store_f16(dst + i, V::load(src + i));
    for (; i < n; ++i) dst[i] = fp32_to_fp16(src[i]);
  } else {
    for (; i + V::kW <= n; i += V::kW) V::store_bf16(dst + i, V::load(src + i));
    for (; i < n; ++i) dst[i] = fp32_to_bf16(src[i]);
  }
}

}  // namespace tandem::kernels::cpu::generic
