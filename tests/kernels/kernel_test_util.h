// Shared helpers for the kernel tests: which CPU ISA levels to test, random inputs, quantized
// weight tensors built with the reference quantizers (or from random raw blocks).
#pragma once

#include <gtest/gtest.h>

#include <cmath>
#include <cstdlib>
#include <cstring>
#include <random>
#include <string>
#include <vector>

#include "common/dtype.h"
#include "common/tensor_view.h"
#include "kernels/cpu/cpu_backend.h"
#include "kernels/reference/quant.h"

namespace tandem::kernels::testing {

// ISA levels under test: TANDEM_CPU_ISA alone when set (ctest -L kernels per level), else every
// level this CPU supports.
inline std::vector<CpuIsa> isas_under_test() {
  if (const char* env = std::getenv("TANDEM_CPU_ISA"); env && *env) {
    if (auto isa = parse_cpu_isa(env)) return {*isa};
    ADD_FAILURE() << "TANDEM_CPU_ISA='" << env << "' is not one of scalar|avx2|avx512";
    return {};
  }
  std::vector<CpuIsa> out{CpuIsa::kScalar};
  if (detect_cpu_isa() >= CpuIsa::kAvx2) out.push_back(CpuIsa::kAvx2);
  if (detect_cpu_isa() >= CpuIsa::kAvx512) out.push_back(CpuIsa::kAvx512);
  return out;
}

inline std::vector<float> random_floats(std::mt19937& rng, size_t n, float lo = -1.0f, float hi = 1.0f) {
  std::uniform_real_distribution<float> dist(lo, hi);
  std::vector<float> v(n);
  for (float& x : v) x = dist(rng);
  return v;
}

// Activation-like rows: mostly N(0, 1) with a few large outliers, as hidden states have.
inline std::vector<float> random_activations(std::mt19937& rng, size_t n) {
  std::normal_distribution<float> dist(0.0f, 1.0f);
  std::uniform_int_distribution<int> pick(0, 63);
  std::vector<float> v(n);
  for (float& x : v) x = dist(rng) * (pick(rng) == 0 ? 8.0f : 1.0f);
  return v;
}

// A weight matrix [n, k] in `type` and its storage.
struct Weights {
  std::vector<uint8_t> bytes;
  TensorView view;
};

inline Weights make_weights(DType type, int64_t n, int64_t k, const std::vector<float>& values) {
  Weights w;
  const size_t rb = row_bytes(type, k);
  w.bytes.resize(rb * static_cast<size_t>(n) + 64);
  for (int64_t j = 0; j < n; ++j) ref::quantize_row(type, values.data() + j * k, k, w.bytes.data() + j * rb);
  w.view.name = "test.weight";
  w.view.dtype = type;
  w.view.shape = {n, k};
  w.view.data = w.bytes.data();
  w.view.nbytes = rb * static_cast<size_t>(n);
  return w;
}

// Random raw blocks: every quant bit pattern appears (e.g. Q8_0 -128, Q4_K top scale bits);
// scale fields get finite f16 values.
inline Weights make_random_block_weights(std::mt19937& rng, DType type, int64_t n, int64_t k) {
  Weights w;
  const DTypeInfo& info = dtype_info(type);
  const size_t rb = row_bytes(type, k);
  w.bytes.resize(rb * static_cast<size_t>(n) + 64);
  std::uniform_int_distribution<int> byte(0, 255);
  for (auto& b : w.bytes) b = static_cast<uint8_t>(byte(rng));
  std::uniform_real_distribution<float> scale(-0.05f, 0.05f);
  auto put = [&](uint8_t* p, float v) {
    const uint16_t h = fp32_to_fp16(v);
    std::memcpy(p, &h, 2);
  };
  const int64_t blocks = n * (k / info.block_elems);
  for (int64_t b = 0; b < blocks; ++b) {
    uint8_t* p = w.bytes.data() + b * info.block_bytes;
    switch (type) {
      case DType::kQ8_0:
      case DType::kQ4_0: put(p, scale(rng)); break;
      case DType::kQ4_1:
        put(p, scale(rng));
        put(p + 2, scale(rng) * 10.0f);
        break;
      case DType::kQ4_K:
        put(p, std::fabs(scale(rng)) * 0.1f);
        put(p + 2, std::fabs(scale(rng)) * 0.1f);
        break;
      case DType::kQ6_K: put(p + 208, scale(rng) * 0.1f); break;
      default: break;
    }
  }
  w.view.name = "test.random_blocks";
  w.view.dtype = type;
  w.view.shape = {n, k};
  w.view.data = w.bytes.data();
  w.view.nbytes = rb * static_cast<size_t>(n);
  return w;
}

inline std::vector<float> dequantize_matrix(const TensorView& w) {
  std::vector<float> out(static_cast<size_t>(w.numel()));
  for (int64_t j = 0; j < w.rows(); ++j) ref::dequantize_row(w.dtype, w.row(j), w.cols(), out.data() + j * w.cols());
  return out;
}

}  // namespace tandem::kernels::testing
