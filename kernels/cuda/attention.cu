// Paged attention over a ragged batch (prefill chunks and decode rows alike), causal, GQA.
// First pass, correctness first: one block of 4 warps per (query row, head, KV split); each warp
// takes every 4th key of the split, a lane holds head_dim / 32 of the dimensions, and the dot
// product is a warp reduction; online softmax per warp, warps merged in shared memory. Decode
// splits the keys (split-KV) when rows × heads alone would leave SMs idle, and a second kernel
// merges the splits; each row sizes its split chunks from its own context length. Prefill with
// 16-bit caches goes to flash_attention.cu (tensor cores); this kernel serves decode, f32 caches
// and odd head sizes.
// 16-bit decode rows with head_dim 64 or 128 go to decode_attention.cu (GQA-sharing kernels);
// the split merge below serves both.
#include <cuda_bf16.h>
#include <cuda_fp16.h>

#include <cmath>

#include "kernels/cuda/launch.h"

namespace tandem::kernels::cuda {

namespace {

constexpr int kWarps = 4;

__device__ __forceinline__ float load(const float* p) { return *p; }
__device__ __forceinline__ float load(const __half* p) { return __half2float(*p); }
__device__ __forceinline__ float load(const __nv_bfloat16* p) { return __bfloat162float(*p); }

// V: dimensions per lane (head_dim <= 32 * V).
template <typename T, int V>
__global__ void __launch_bounds__(kWarps * 32) attention_kernel(AttentionArgs a) {
  const int row = blockIdx.x, h = blockIdx.y, split = blockIdx.z;
  const int lane = threadIdx.x % 32, warp = threadIdx.x / 32;
  const int D = a.head_dim;
  // The row's sequence: last s with q_offsets[s] <= row.
  int lo = 0, hi = a.num_seqs - 1;
  while (lo < hi) {
    const int mid = (lo + hi + 1) / 2;
    if (a.q_offsets[mid] <= row) lo = mid; else hi = mid - 1;
  }
  const int s = lo;
  const int q_len = a.q_offsets[s + 1] - a.q_offsets[s];
  const int pos = a.ctx_lens[s] - q_len + (row - a.q_offsets[s]);
  // The split of this row's own keys (a grid sized for a longer bound leaves later splits empty
  // only when the row has fewer than num_splits * min_chunk keys).
  const int n_keys = pos + 1;
  const int chunk = max(a.min_chunk, (n_keys + a.num_splits - 1) / a.num_splits);
  const int begin = split * chunk;
  const int end = min(n_keys, begin + chunk);
  const int kvh = h / (a.n_heads / a.n_kv_heads);
  const int64_t kv_dim = static_cast<int64_t>(a.n_kv_heads) * D;
  const int32_t* slots = a.slots + a.slot_offsets[s];
  const T* kc = static_cast<const T*>(a.k_cache);
  const T* vc = static_cast<const T*>(a.v_cache);

  float qv[V], acc[V];
  const float* qr = a.q + (static_cast<int64_t>(row) * a.n_heads + h) * D;
#pragma unroll
  for (int i = 0; i < V; ++i) {
    const int d = lane + 32 * i;
    qv[i] = d < D ? qr[d] * a.scale : 0.0f;
    acc[i] = 0.0f;
  }
  float m = -INFINITY, l = 0.0f;
  for (int j = begin + warp; j < end; j += kWarps) {
    const int64_t base = static_cast<int64_t>(slots[j]) * kv_dim + static_cast<int64_t>(kvh) * D;
    float dot = 0.0f;
#pragma unroll
    for (int i = 0; i < V; ++i) {
      const int d = lane + 32 * i;
      if (d < D) dot += qv[i] * load(kc + base + d);
    }
    for (int o = 16; o > 0; o >>= 1) dot += __shfl_xor_sync(0xffffffffu, dot, o);
    const float m_new = fmaxf(m, dot);
    const float corr = expf(m - m_new);  // m == -inf on the first key: 0
    const float p = expf(dot - m_new);
    l = l * corr + p;
#pragma unroll
    for (int i = 0; i < V; ++i) {
      const int d = lane + 32 * i;
      acc[i] = acc[i] * corr + (d < D ? p * load(vc + base + d) : 0.0f);
    }
    m = m_new;
  }

  // Merge the warps.
  __shared__ float sm[kWarps], sl[kWarps], sacc[kWarps][32 * V];
  if (lane == 0) {
    sm[warp] = m;
    sl[warp] = l;
  }
#pragma unroll
  for (int i = 0; i < V; ++i) sacc[warp][lane + 32 * i] = acc[i];
  __syncthreads();
  float M = -INFINITY;
  for (int w = 0; w < kWarps; ++w) M = fmaxf(M, sm[w]);
  float L = 0.0f, wts[kWarps];
  for (int w = 0; w < kWarps; ++w) {
    wts[w] = sl[w] > 0.0f ? expf(sm[w] - M) : 0.0f;
    L += sl[w] * wts[w];
  }
  const int64_t oi = static_cast<int64_t>(row) * a.n_heads + h;
  for (int d = threadIdx.x; d < D; d += blockDim.x) {
    float o = 0.0f;
    for (int w = 0; w < kWarps; ++w) o += sacc[w][d] * wts[w];
    if (a.num_splits == 1) {
      a.out[oi * D + d] = o / L;
    } else {
      a.part_o[(oi * a.num_splits + split) * D + d] = o;
    }
  }
  if (a.num_splits > 1 && threadIdx.x == 0) {
    a.part_ml[(oi * a.num_splits + split) * 2] = M;
    a.part_ml[(oi * a.num_splits + split) * 2 + 1] = L;
  }
}

// One block per (row, head): out = sum_s part_o[s] e^(m_s - M) / sum_s l_s e^(m_s - M). The
// per-split weights are computed once into shared memory (splits <= kMaxAttentionSplits). The
// sums run in split order and end in a division, as a one-split launch does, so a captured step
// (more splits, most of them empty) gives bit-identical results to a plain one.
__global__ void merge_splits_kernel(AttentionArgs a) {
  const int64_t oi = static_cast<int64_t>(blockIdx.x) * a.n_heads + blockIdx.y;
  const int S = a.num_splits, D = a.head_dim;
  const float* ml = a.part_ml + oi * S * 2;
  __shared__ float w[kMaxAttentionSplits];
  __shared__ float s_l;
  float M = -INFINITY;
  for (int s = 0; s < S; ++s) {
    if (ml[2 * s + 1] > 0.0f) M = fmaxf(M, ml[2 * s]);
  }
  for (int s = threadIdx.x; s < S; s += blockDim.x) w[s] = ml[2 * s + 1] > 0.0f ? expf(ml[2 * s] - M) : 0.0f;
  __syncthreads();
  if (threadIdx.x == 0) {
    float L = 0.0f;
    for (int s = 0; s < S; ++s) {
      if (w[s] > 0.0f) L += ml[2 * s + 1] * w[s];
    }
    s_l = L;
  }
  __syncthreads();
  for (int d = threadIdx.x; d < D; d += blockDim.x) {
    float o = 0.0f;
    for (int s = 0; s < S; ++s) {
      if (w[s] > 0.0f) o += a.part_o[(oi * S + s) * D + d] * w[s];
    }
    a.out[oi * D + d] = o / s_l;
  }
}

}  // namespace

void merge_attention_splits(const AttentionArgs& a, cudaStream_t s) {
  merge_splits_kernel<<<dim3(static_cast<unsigned>(a.total_q), static_cast<unsigned>(a.n_heads)), 64, 0, s>>>(a);
}

namespace {

template <typename T>
bool launch_typed(const AttentionArgs& a, cudaStream_t s) {
  const dim3 grid(static_cast<unsigned>(a.total_q), static_cast<unsigned>(a.n_heads),
                  static_cast<unsigned>(a.num_splits));
  const int threads = kWarps * 32;
  if (a.head_dim <= 64) {
    attention_kernel<T, 2><<<grid, threads, 0, s>>>(a);
  } else if (a.head_dim <= 128) {
    attention_kernel<T, 4><<<grid, threads, 0, s>>>(a);
  } else if (a.head_dim <= 256) {
    attention_kernel<T, 8><<<grid, threads, 0, s>>>(a);
  } else {
    return false;
  }
  if (a.num_splits > 1) merge_attention_splits(a, s);
  return true;
}

}  // namespace

bool attention(CacheType t, const AttentionArgs& a, cudaStream_t s) {
  if (a.total_q <= 0) return true;
  if (a.num_splits < 1 || a.num_splits > kMaxAttentionSplits) return false;
  switch (t) {
    case CacheType::kF32: return launch_typed<float>(a, s);
    case CacheType::kF16: return launch_typed<__half>(a, s);
    case CacheType::kBF16: return launch_typed<__nv_bfloat16>(a, s);
  }
  return false;
}

}  // namespace tandem::kernels::cuda
