// One-lane "vector" for the generic float kernels (kernels/cpu/generic/*.h): the scalar ISA.
// Included only by kernels/cpu/scalar/*.cc.
#pragma once

#include <cmath>
#include <cstdint>
#include <cstring>

#include "common/dtype.h"

namespace tandem::kernels::cpu::scalar {

struct VecF {
  using T = float;
  static constexpr int kW = 1;
  static T load(const float* p) { return *p; }
  static void store(float* p, T v) { *p = v; }
  static T load_partial(const float* p, int n) { return n > 0 ? *p : 0.0f; }
  static void store_partial(float* p, T v, int n) {
    if (n > 0) *p = v;
  }
  static T set1(float f) { return f; }
  static T zero() { return 0.0f; }
  static T add(T a, T b) { return a + b; }
  static T sub(T a, T b) { return a - b; }
  static T mul(T a, T b) { return a * b; }
  static T div(T a, T b) { return a / b; }
  static T fma(T a, T b, T c) { return a * b + c; }
  static T max(T a, T b) { return a > b ? a : b; }
  static float reduce_add(T v) { return v; }
  static float reduce_max(T v) { return v; }
  static T exp(T v) { return std::exp(v); }
  // out[s] = sum of the lanes of p[s] for s < 16.
  static void hsum16(const T* p, float* out) {
    for (int s = 0; s < 16; ++s) out[s] = p[s];
  }
  static T load_f16(const uint16_t* p) { return fp16_to_fp32(*p); }
  static T load_bf16(const uint16_t* p) { return bf16_to_fp32(*p); }
  static void store_f16(uint16_t* p, T v) { *p = fp32_to_fp16(v); }
  static void store_bf16(uint16_t* p, T v) { *p = fp32_to_bf16(v); }
};

}  // namespace tandem::kernels::cpu::scalar
