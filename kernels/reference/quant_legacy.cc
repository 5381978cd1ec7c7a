// Float types and the 32-element "legacy" GGML blocks: Q8_0, Q4_0, Q4_1.
#include <algorithm>
#include <cmath>
#include <cstring>

#include "common/check.h"
#include "kernels/reference/quant.h"

namespace tandem::kernels::ref {

namespace {

constexpr int kBlock = 32;

uint16_t load_u16(const uint8_t* p) {
  uint16_t v;
  std::memcpy(&v, p, 2);
  return v;
}
void store_u16(uint8_t* p, uint16_t v) { std::memcpy(p, &v, 2); }

}  // namespace

void dequantize_q8_0(const void* src, int64_t n, float* dst) {
  const auto* b = static_cast<const uint8_t*>(src);
  for (int64_t i = 0; i < n / kBlock; ++i, b += 34) {
    const float d = fp16_to_fp32(load_u16(b));
    const auto* q = reinterpret_cast<const int8_t*>(b + 2);
    for (int j = 0; j < kBlock; ++j) dst[i * kBlock + j] = static_cast<float>(q[j]) * d;
  }
}

void dequantize_q4_0(const void* src, int64_t n, float* dst) {
  const auto* b = static_cast<const uint8_t*>(src);
  for (int64_t i = 0; i < n / kBlock; ++i, b += 18) {
    const float d = fp16_to_fp32(load_u16(b));
    const uint8_t* q = b + 2;
    float* y = dst + i * kBlock;
    // Element j sits in the low nibble of byte j, element j + 16 in its high nibble.
    for (int j = 0; j < 16; ++j) {
      y[j] = static_cast<float>((q[j] & 0x0F) - 8) * d;
      y[j + 16] = static_cast<float>((q[j] >> 4) - 8) * d;
    }
  }
}

void dequantize_q4_1(const void* src, int64_t n, float* dst) {
  const auto* b = static_cast<const uint8_t*>(src);
  for (int64_t i = 0; i < n / kBlock; ++i, b += 20) {
    const float d = fp16_to_fp32(load_u16(b));
    const float m = fp16_to_fp32(load_u16(b + 2));
    const uint8_t* q = b + 4;
    float* y = dst + i * kBlock;
    for (int j = 0; j < 16; ++j) {
      y[j] = static_cast<float>(q[j] & 0x0F) * d + m;
      y[j + 16] = static_cast<float>(q[j] >> 4) * d + m;
    }
  }
}

void quantize_q8_0(const float* src, int64_t n, void* dst) {
  auto* b = static_cast<uint8_t*>(dst);
  for (int64_t i = 0; i < n / kBlock; ++i, b += 34) {
    const float* x = src + i * kBlock;
    float amax = 0.0f;
    for (int j = 0; j < kBlock; ++j) amax = std::max(amax, std::fabs(x[j]));
    // Quantize against the f16-rounded scale the decoder will use.
    store_u16(b, fp32_to_fp16(amax / 127.0f));
    const float d = fp16_to_fp32(load_u16(b));
    const float id = d != 0.0f ? 1.0f / d : 0.0f;
    auto* q = reinterpret_cast<int8_t*>(b + 2);
    for (int j = 0; j < kBlock; ++j) {
      q[j] = static_cast<int8_t>(std::clamp(std::lround(x[j] * id), -127L, 127L));
    }
  }
}

void quantize_q4_0(const float* src, int64_t n, void* dst) {
  auto* b = static_cast<uint8_t*>(dst);
  for (int64_t i = 0; i < n / kBlock; ++i, b += 18) {
    const float* x = src + i * kBlock;
    // The value of largest magnitude maps to -8 so the full [-8, 7] range is used on that side.
    float vmax = 0.0f;
    for (int j = 0; j < kBlock; ++j) {
      if (std::fabs(x[j]) > std::fabs(vmax)) vmax = x[j];
    }
    store_u16(b, fp32_to_fp16(vmax / -8.0f));
    const float d = fp16_to_fp32(load_u16(b));
    const float id = d != 0.0f ? 1.0f / d : 0.0f;
    uint8_t* q = b + 2;
    for (int j = 0; j < 16; ++j) {
      const long lo = std::clamp(std::lround(x[j] * id) + 8, 0L, 15L);
      const long hi = std::clamp(std::lround(x[j + 16] * id) + 8, 0L, 15L);
      q[j] = static_cast<uint8_t>(lo | hi << 4);
    }
  }
}

void quantize_q4_1(const float* src, int64_t n, void* dst) {
  auto* b = static_cast<uint8_t*>(dst);
  for (int64_t i = 0; i < n / kBlock; ++i, b += 20) {
    const float* x = src + i * kBlock;
    float lo = x[0], hi = x[0];
    for (int j = 1; j < kBlock; ++j) {
      lo = std::min(lo, x[j]);
      hi = std::max(hi, x[j]);
    }
    store_u16(b, fp32_to_fp16((hi - lo) / 15.0f));
    store_u16(b + 2, fp32_to_fp16(lo));
    const float d = fp16_to_fp32(load_u16(b));
    lo = fp16_to_fp32(load_u16(b + 2));
    const float id = d != 0.0f ? 1.0f / d : 0.0f;
    uint8_t* q = b + 4;
    for (int j = 0; j < 16; ++j) {
      const long q0 = std::clamp(std::lround((x[j] - lo) * id), 0L, 15L);
      const long q1 = std::clamp(std::lround((x[j + 16] - lo) * id), 0L, 15L);
      q[j] = static_cast<uint8_t>(q0 | q1 << 4);
    }
  }
}

void dequantize_row(DType type, const void* src, int64_t n, float* dst) {
  const int be = dtype_info(type).block_elems;
  CHECK(n % be == 0, "dequantize_row: {} elements is not a multiple of the {} block size {}", n,
        dtype_name(type), be);
  switch (type) {
    case DType::kF32: std::memcpy(dst, src, static_cast<size_t>(n) * 4); return;
    case DType::kF16: {
      const auto* s = static_cast<const uint16_t*>(src);
      for (int64_t i = 0; i < n; ++i) dst[i] = fp16_to_fp32(s[i]);
      return;
    }
    case DType::kBF16: {
      const auto* s = static_cast<const uint16_t*>(src);
      for (int64_t i = 0; i < n; ++i) dst[i] = bf16_to_fp32(s[i]);
      return;
    }
    case DType::kQ8_0: dequantize_q8_0(src, n, dst); return;
    case DType::kQ4_0: dequantize_q4_0(src, n, dst); return;
    case DType::kQ4_1: dequantize_q4_1(src, n, dst); return;
    case DType::kQ4_K: dequantize_q4_k(src, n, dst); return;
    case DType::kQ6_K: dequantize_q6_k(src, n, dst); return;
  }
  CHECK(false, "dequantize_row: unknown dtype {}", static_cast<int>(type));
}

void quantize_row(DType type, const float* src, int64_t n, void* dst) {
  const int be = dtype_info(type).block_elems;
  CHECK(n % be == 0, "quantize_row: {} elements is not a multiple of the {} block size {}", n,
        dtype_name(type), be);
  switch (type) {
    case DType::kF32: std::memcpy(dst, src, static_cast<size_t>(n) * 4); return;
    case DType::kF16: {
      auto* d = static_cast<uint16_t*>(dst);
      for (int64_t i = 0; i < n; ++i) d[i] = fp32_to_fp16(src[i]);
      return;
    }
    case DType::kBF16: {
      auto* d = static_cast<uint16_t*>(dst);
      for (int64_t i = 0; i < n; ++i) d[i] = fp32_to_bf16(src[i]);
      return;
    }
    case DType::kQ8_0: quantize_q8_0(src, n, dst); return;
    case DType::kQ4_0: quantize_q4_0(src, n, dst); return;
    case DType::kQ4_1: quantize_q4_1(src, n, dst); return;
    case DType::kQ4_K: quantize_q4_k(src, n, dst); return;
    case DType::kQ6_K: quantize_q6_k(src, n, dst); return;
  }
  CHECK(false, "quantize_row: unknown dtype {}", static_cast<int>(type));
}

void simulate_act_quant(const float* src, int64_t n, float* dst) {
  CHECK(n % kBlock == 0, "simulate_act_quant: {} is not a multiple of 32", n);
  for (int64_t i = 0; i < n; i += kBlock) {
    float amax = 0.0f;
    for (int j = 0; j < kBlock; ++j) amax = std::max(amax, std::fabs(src[i + j]));
    // Must match kernels/cpu/act_quant.h exactly: d = amax / 127, q = rint(x * (127 / amax)).
    const float d = amax / 127.0f;
    const float id = amax != 0.0f ? 127.0f / amax : 0.0f;
    for (int j = 0; j < kBlock; ++j) dst[i + j] = std::nearbyint(src[i + j] * id) * d;
  }
}

}  // namespace tandem::kernels::ref
