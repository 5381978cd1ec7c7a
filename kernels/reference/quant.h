// Row conversions between float32 and every DType of common/dtype.h, in GGML's exact block
// layouts (so GGUF tensors decode bit-exactly). Plain scalar code: loaders, tests and the
// reference backend use it; hot paths live in kernels/cpu.
// Thread-safe (pure functions).
#pragma once

#include <cstdint>

#include "common/dtype.h"

namespace tandem::kernels::ref {

// dst[0, n) = src row decoded to float32. n must be a multiple of the type's block size.
void dequantize_row(DType type, const void* src, int64_t n, float* dst);

// dst = src[0, n) encoded as `type` (row_bytes(type, n) bytes). Quantizers use simple min/max
// scale choices (not llama.cpp's search), good enough for tests and for writing files.
void quantize_row(DType type, const float* src, int64_t n, void* dst);

// Per-format helpers, exposed for tests of block layouts. Each handles whole blocks.
void dequantize_q8_0(const void* src, int64_t n, float* dst);
void dequantize_q4_0(const void* src, int64_t n, float* dst);
void dequantize_q4_1(const void* src, int64_t n, float* dst);
void dequantize_q4_k(const void* src, int64_t n, float* dst);
void dequantize_q6_k(const void* src, int64_t n, float* dst);
void quantize_q8_0(const float* src, int64_t n, void* dst);
void quantize_q4_0(const float* src, int64_t n, void* dst);
void quantize_q4_1(const float* src, int64_t n, void* dst);
void quantize_q4_k(const float* src, int64_t n, void* dst);
void quantize_q6_k(const float* src, int64_t n, void* dst);

// Activation quantization used by the CPU backend's integer matmuls, as a float-to-float
// simulation: each 32-element block becomes round_half_even(x * 127 / amax) * (amax / 127).
// A reference matmul on these values reproduces the CPU kernels up to float summation order.
// n must be a multiple of 32.
void simulate_act_quant(const float* src, int64_t n, float* dst);

}  // namespace tandem::kernels::ref
