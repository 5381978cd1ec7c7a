// Element types of weights and activations, with GGML's block layouts for quantized types.
// A quantized row of n elements is n / block_elems blocks of block_bytes each (n must divide).
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string_view>

namespace tandem {

enum class DType : uint8_t {
  kF32,
  kF16,
  kBF16,
  kQ8_0,  // 32 elems: f16 d; int8 qs[32]                                  (34 bytes)
  kQ4_0,  // 32 elems: f16 d; uint8 qs[16] (x = (q - 8) * d)               (18 bytes)
  kQ4_1,  // 32 elems: f16 d, f16 m; uint8 qs[16] (x = q * d + m)          (20 bytes)
  kQ4_K,  // 256 elems: f16 d, dmin; uint8 scales[12]; uint8 qs[128]      (144 bytes)
  kQ6_K,  // 256 elems: uint8 ql[128], qh[64]; int8 scales[16]; f16 d     (210 bytes)
};

struct DTypeInfo {
  std::string_view name;
  int block_elems;  // elements per block (1 for plain types)
  int block_bytes;  // bytes per block
  bool quantized;
};

const DTypeInfo& dtype_info(DType t);
inline std::string_view dtype_name(DType t) { return dtype_info(t).name; }

// Bytes of a row of `n` elements; n must be a multiple of block_elems (CHECKed).
size_t row_bytes(DType t, int64_t n);

// "f16", "F16", "bf16", ... (case-insensitive) -> DType; nullopt for unknown names.
std::optional<DType> dtype_from_name(std::string_view name);

// GGML type ids (ggml_type enum values in GGUF files) <-> DType. nullopt for types we do not load.
std::optional<DType> dtype_from_ggml(uint32_t ggml_type);
uint32_t dtype_to_ggml(DType t);

// Scalar conversions used by loaders, references and tests.
float fp16_to_fp32(uint16_t h);
uint16_t fp32_to_fp16(float f);
inline float bf16_to_fp32(uint16_t b) {
  uint32_t u = static_cast<uint32_t>(b) << 16;
  float f;
  __builtin_memcpy(&f, &u, 4);
  return f;
}
uint16_t fp32_to_bf16(float f);  // round to nearest even

}  // namespace tandem
