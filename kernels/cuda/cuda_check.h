// CUDA_OK / CUBLAS_OK: every runtime and cuBLAS call goes through one of these. A failure here is
// a broken invariant (bad launch, device fault, out of memory after the caller's own checks), so
// it CHECK-fails with the call, the CUDA error string and the code.
// Host code only (.cc files).
#pragma once

#include <cublas_v2.h>
#include <cuda_runtime.h>

#include "common/check.h"

#define CUDA_OK(expr)                                                                                   \
  do {                                                                                                  \
    const cudaError_t tandem_cuda_err_ = (expr);                                                        \
    CHECK(tandem_cuda_err_ == cudaSuccess, "{} failed: {} ({})", #expr,                                \
          cudaGetErrorString(tandem_cuda_err_), static_cast<int>(tandem_cuda_err_));                    \
  } while (0)

#define CUBLAS_OK(expr)                                                                                 \
  do {                                                                                                  \
    const cublasStatus_t tandem_cublas_st_ = (expr);                                                    \
    CHECK(tandem_cublas_st_ == CUBLAS_STATUS_SUCCESS, "{} failed: {} ({})", #expr,                     \
          cublasGetStatusString(tandem_cublas_st_), static_cast<int>(tandem_cublas_st_));              \
  } while (0)

// After each kernel launch: launch-configuration errors surface here, faults at the next sync.
#define CUDA_LAUNCHED() CUDA_OK(cudaGetLastError())
