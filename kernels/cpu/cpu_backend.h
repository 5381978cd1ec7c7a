// The CPU Backend: AVX-512 (with VNNI) or AVX2 inner loops chosen at run time, a scalar fallback,
// and a ThreadPool that each call splits its work over. Quantized matmuls never dequantize the
// weight matrix: activations are quantized to int8 once per call (act_quant.h) and multiplied
// with the packed weights in integer arithmetic.
// Thread model: a backend object is used by one thread at a time (the engine thread); every call
// blocks until its own worker threads are done.
#pragma once

#include <memory>
#include <optional>
#include <string_view>

#include "kernels/backend.h"

namespace tandem::kernels {

enum class CpuIsa { kScalar, kAvx2, kAvx512 };

// The best level this CPU and this build support (AVX-512 needs F, BW, VL, DQ and VNNI).
CpuIsa detect_cpu_isa();
std::string_view cpu_isa_name(CpuIsa isa);               // "scalar" | "avx2" | "avx512"
std::optional<CpuIsa> parse_cpu_isa(std::string_view s);  // inverse of cpu_isa_name

// num_threads <= 0: all hardware threads. isa must be supported by this CPU (CHECKed).
std::unique_ptr<Backend> make_cpu_backend(int num_threads, CpuIsa isa);
// act_levels: 2 (default) quantizes matmul activations as two int8 levels (float-like accuracy);
// 1 is llama.cpp's single int8 level (faster when compute-bound, ~1% relative error).
std::unique_ptr<Backend> make_cpu_backend(int num_threads, CpuIsa isa, int act_levels);

}  // namespace tandem::kernels
