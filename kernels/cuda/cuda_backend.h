// The CUDA backend (Hopper, sm_90a): every Backend op on one GPU. Weights are bf16 on the device
// (quantized GGUF weights are dequantized once at upload), activations float32 in device memory,
// matmuls through cuBLAS (bf16 operands, fp32 accumulate and output), the KV cache on the device
// in F32, F16 or BF16.
// Thread model: as Backend — one caller thread at a time; every op is queued on the backend's own
// stream and returns at once, except copy_to_host / synchronize (which wait) and alloc / free.
#pragma once

#include <memory>

#include "common/status.h"
#include "kernels/backend.h"

namespace tandem::kernels {

// Fails (FAILED_PRECONDITION) when no GPU is usable: no driver, no device, or index out of range.
StatusOr<std::unique_ptr<Backend>> make_cuda_backend(int device_index);

// Number of usable CUDA devices (0 when the driver or the devices are missing; never fails).
// Tests use it to skip cleanly on machines without a GPU.
int cuda_device_count();

}  // namespace tandem::kernels
