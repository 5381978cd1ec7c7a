// Row ops of the CUDA backend: embedding, RMSNorm (+ fused residual add), RoPE, SiLU·mul, adds,
// bf16 conversion for GEMM operands, row gather and KV stores. Memory-bound and simple: one block
// per row for reductions, one thread per element otherwise. Float math matches the reference's
// definitions (RoPE angles in double, as ref::rope).
#include <cuda_bf16.h>
#include <cuda_fp16.h>

#include "kernels/cuda/launch.h"

namespace tandem::kernels::cuda {

namespace {

constexpr int kThreads = 256;

unsigned blocks_for(int64_t n, int threads = kThreads) {
  return static_cast<unsigned>((n + threads - 1) / threads);
}

__device__ float block_sum(float v, float* shared) {
  for (int o = 16; o > 0; o >>= 1) v += __shfl_xor_sync(0xffffffffu, v, o);
  const int warp = threadIdx.x / 32, lane = threadIdx.x % 32, warps = blockDim.x / 32;
  if (warps == 1) return v;
  __syncthreads();  // shared may still be read by a previous call
  if (lane == 0) shared[warp] = v;
  __syncthreads();
  float t = 0.0f;
  for (int i = 0; i < warps; ++i) t += shared[i];
  return t;
}

__global__ void embed_kernel(const __nv_bfloat16* table, int64_t dim, const int32_t* ids, float* out) {
  const int64_t row = blockIdx.x;
  const int32_t id = ids[row];
  if (id < 0) {  // another vocabulary shard's token
    for (int64_t j = threadIdx.x; j < dim; j += blockDim.x) out[row * dim + j] = 0.0f;
    return;
  }
  const __nv_bfloat16* src = table + static_cast<int64_t>(id) * dim;
  for (int64_t j = threadIdx.x; j < dim; j += blockDim.x) out[row * dim + j] = __bfloat162float(src[j]);
}

// x and out may alias: every element is read before it is written by the same thread.
__global__ void rms_norm_kernel(const float* x, const float* w, int64_t dim, float eps, float* out) {
  __shared__ float shared[32];
  const int64_t row = blockIdx.x;
  const float* xr = x + row * dim;
  float ss = 0.0f;
  for (int64_t j = threadIdx.x; j < dim; j += blockDim.x) ss += xr[j] * xr[j];
  ss = block_sum(ss, shared);
  const float inv = rsqrtf(ss / static_cast<float>(dim) + eps);
  for (int64_t j = threadIdx.x; j < dim; j += blockDim.x) out[row * dim + j] = xr[j] * inv * w[j];
}

__global__ void add_rms_norm_kernel(float* resid, const float* x, const float* w, int64_t dim, float eps,
                                    float* out) {
  __shared__ float shared[32];
  const int64_t row = blockIdx.x;
  float* r = resid + row * dim;
  float ss = 0.0f;
  for (int64_t j = threadIdx.x; j < dim; j += blockDim.x) {
    const float v = r[j] + x[row * dim + j];
    r[j] = v;
    ss += v * v;
  }
  ss = block_sum(ss, shared);
  const float inv = rsqrtf(ss / static_cast<float>(dim) + eps);
  for (int64_t j = threadIdx.x; j < dim; j += blockDim.x) out[row * dim + j] = r[j] * inv * w[j];
}

// One thread per (token, head, pair).
__global__ void rope_kernel(float* x, const int32_t* positions, int64_t tokens, int n_heads, int head_dim,
                            int half, bool neox, const double* freq) {
  const int64_t i = blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x;
  if (i >= tokens * n_heads * half) return;
  const int p = static_cast<int>(i % half);
  const int64_t th = i / half;  // token * n_heads + head
  const int64_t t = th / n_heads;
  float* v = x + th * head_dim;
  double s, c;
  sincos(static_cast<double>(positions[t]) * freq[p], &s, &c);
  const int i0 = neox ? p : 2 * p;
  const int i1 = neox ? p + half : 2 * p + 1;
  const double a = v[i0], b = v[i1];
  v[i0] = static_cast<float>(a * c - b * s);
  v[i1] = static_cast<float>(a * s + b * c);
}

__global__ void silu_mul_kernel(const float* gu, int64_t rows, int64_t ff, float* out) {
  const int64_t i = blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x;
  if (i >= rows * ff) return;
  const int64_t r = i / ff, j = i % ff;
  const float g = gu[r * 2 * ff + j];
  out[i] = g / (1.0f + expf(-g)) * gu[r * 2 * ff + ff + j];
}

__global__ void add_kernel(float* x, const float* y, int64_t n) {
  const int64_t i = blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x;
  if (i < n) x[i] += y[i];
}

__global__ void add_bias_kernel(float* y, const float* bias, int64_t m, int64_t n) {
  const int64_t i = blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x;
  if (i < m * n) y[i] += bias[i % n];
}

// 4 elements per thread (n need not divide).
__global__ void to_bf16_kernel(const float* x, int64_t n, __nv_bfloat16* out, bool aligned) {
  const int64_t i = (blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x) * 4;
  if (aligned && i + 3 < n) {
    const float4 v = *reinterpret_cast<const float4*>(x + i);
    reinterpret_cast<__nv_bfloat162*>(out + i)[0] = __floats2bfloat162_rn(v.x, v.y);
    reinterpret_cast<__nv_bfloat162*>(out + i)[1] = __floats2bfloat162_rn(v.z, v.w);
  } else {
    for (int64_t j = i; j < n; ++j) out[j] = __float2bfloat16_rn(x[j]);
  }
}

__global__ void gather_rows_kernel(const float* src, int64_t dim, const int32_t* rows, float* dst) {
  const int64_t i = blockIdx.x;
  const float* s = src + static_cast<int64_t>(rows[i]) * dim;
  for (int64_t j = threadIdx.x; j < dim; j += blockDim.x) dst[i * dim + j] = s[j];
}

__global__ void add_rows_weighted_kernel(const float* src, int64_t dim, const int32_t* dst_rows, const float* weights,
                                         float* dst) {
  const int64_t i = blockIdx.x;
  const float w = weights[i];
  float* o = dst + static_cast<int64_t>(dst_rows[i]) * dim;
  for (int64_t j = threadIdx.x; j < dim; j += blockDim.x) o[j] += w * src[i * dim + j];
}

template <typename T>
__device__ T from_float(float f);
template <>
__device__ float from_float<float>(float f) { return f; }
template <>
__device__ __half from_float<__half>(float f) { return __float2half_rn(f); }
template <>
__device__ __nv_bfloat16 from_float<__nv_bfloat16>(float f) { return __float2bfloat16_rn(f); }

template <typename T>
__global__ void store_kv_kernel(T* kc, T* vc, const float* k, const float* v, const int32_t* slots, int64_t tokens,
                                int64_t kv_dim) {
  const int64_t i = blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x;
  if (i >= tokens * kv_dim) return;
  const int64_t t = i / kv_dim, j = i % kv_dim;
  const int64_t dst = static_cast<int64_t>(slots[t]) * kv_dim + j;
  kc[dst] = from_float<T>(k[i]);
  vc[dst] = from_float<T>(v[i]);
}

int row_threads(int64_t dim) { return dim <= 128 ? 32 : (dim <= 1024 ? 128 : kThreads); }

}  // namespace

void embed_bf16(const uint16_t* table, int64_t dim, const int32_t* ids, int64_t n, float* out, cudaStream_t s) {
  if (n <= 0) return;
  embed_kernel<<<static_cast<unsigned>(n), row_threads(dim), 0, s>>>(
      reinterpret_cast<const __nv_bfloat16*>(table), dim, ids, out);
}

void rms_norm(const float* x, const float* w, int64_t rows, int64_t dim, float eps, float* out, cudaStream_t s) {
  if (rows <= 0) return;
  rms_norm_kernel<<<static_cast<unsigned>(rows), row_threads(dim), 0, s>>>(x, w, dim, eps, out);
}

void add_rms_norm(float* resid, const float* x, const float* w, int64_t rows, int64_t dim, float eps, float* out,
                  cudaStream_t s) {
  if (rows <= 0) return;
  add_rms_norm_kernel<<<static_cast<unsigned>(rows), row_threads(dim), 0, s>>>(resid, x, w, dim, eps, out);
}

void rope(float* x, const int32_t* positions, int64_t tokens, int n_heads, int head_dim, int rotary_dim, bool neox,
          const double* inv_freq, cudaStream_t s) {
  const int half = rotary_dim / 2;
  const int64_t n = tokens * n_heads * half;
  if (n <= 0) return;
  rope_kernel<<<blocks_for(n), kThreads, 0, s>>>(x, positions, tokens, n_heads, head_dim, half, neox, inv_freq);
}

void silu_mul(const float* gate_up, int64_t rows, int64_t ff, float* out, cudaStream_t s) {
  if (rows * ff <= 0) return;
  silu_mul_kernel<<<blocks_for(rows * ff), kThreads, 0, s>>>(gate_up, rows, ff, out);
}

void add(float* x, const float* y, int64_t n, cudaStream_t s) {
  if (n <= 0) return;
  add_kernel<<<blocks_for(n), kThreads, 0, s>>>(x, y, n);
}

void add_bias(float* y, const float* bias, int64_t m, int64_t n, cudaStream_t s) {
  if (m * n <= 0) return;
  add_bias_kernel<<<blocks_for(m * n), kThreads, 0, s>>>(y, bias, m, n);
}

void to_bf16(const float* x, int64_t n, uint16_t* out, cudaStream_t s) {
  if (n <= 0) return;
  const bool aligned = reinterpret_cast<uintptr_t>(x) % 16 == 0 && reinterpret_cast<uintptr_t>(out) % 8 == 0;
  to_bf16_kernel<<<blocks_for((n + 3) / 4), kThreads, 0, s>>>(x, n, reinterpret_cast<__nv_bfloat16*>(out), aligned);
}

void gather_rows(const float* src, int64_t dim, const int32_t* rows, int64_t n, float* dst, cudaStream_t s) {
  if (n <= 0) return;
  gather_rows_kernel<<<static_cast<unsigned>(n), row_threads(dim), 0, s>>>(src, dim, rows, dst);
}

void add_rows_weighted(const float* src, int64_t dim, const int32_t* dst_rows, const float* weights, int64_t n,
                       float* dst, cudaStream_t s) {
  if (n <= 0) return;
  add_rows_weighted_kernel<<<static_cast<unsigned>(n), row_threads(dim), 0, s>>>(src, dim, dst_rows, weights, dst);
}

void store_kv(CacheType t, void* k_cache, void* v_cache, const float* k, const float* v, const int32_t* slots,
              int64_t tokens, int64_t kv_dim, cudaStream_t s) {
  const int64_t n = tokens * kv_dim;
  if (n <= 0) return;
  switch (t) {
    case CacheType::kF32:
      store_kv_kernel<<<blocks_for(n), kThreads, 0, s>>>(static_cast<float*>(k_cache), static_cast<float*>(v_cache),
                                                         k, v, slots, tokens, kv_dim);
      break;
    case CacheType::kF16:
      store_kv_kernel<<<blocks_for(n), kThreads, 0, s>>>(static_cast<__half*>(k_cache), static_cast<__half*>(v_cache),
                                                         k, v, slots, tokens, kv_dim);
      break;
    case CacheType::kBF16:
      store_kv_kernel<<<blocks_for(n), kThreads, 0, s>>>(static_cast<__nv_bfloat16*>(k_cache),
                                                         static_cast<__nv_bfloat16*>(v_cache), k, v, slots, tokens,
                                                         kv_dim);
      break;
  }
}

}  // namespace tandem::kernels::cuda
