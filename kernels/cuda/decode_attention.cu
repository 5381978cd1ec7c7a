// Decode attention for 16-bit KV caches with head_dim 64 or 128, GQA-sharing: one block of 4
// warps per (query row, KV head, split) computes every query head of the KV head's group (padded
// to GP = 1, 2, 4 or 8 heads; larger groups take several blocks), so each cached key and value
// row is read once per query row instead of once per query head. attention.cu's per-(row, head)
// kernel remains for f32 caches, other head sizes and TANDEM_ATTN_DECODE=legacy.
//
// Lane layout (both kernels): a key's D / 8 lanes each hold 8 consecutive dimensions, one 16-byte
// load of K and one of V; a warp takes 8 keys per iteration (4 when GP = 8, for registers). Dot
// products are summed over the key's lanes with shuffles; the running max is kept warp-uniform
// per head, so the softmax rescale happens once per iteration and the lanes of different keys can
// simply be summed at the end. Scores are in log2 units (q pre-scaled by scale · log2 e).
//   - kRegisters (decode_kernel, the default): each warp loads its keys straight into registers
//     (4 KB in flight per warp, 4 blocks per SM at 128 registers); slot indices are staged in
//     shared memory 256 at a time so the gathers never wait on an index load. On an H200 at
//     batch 128-256 it reads K and V at 78-83% of the measured copy bandwidth.
//   - kPipelined (decode_pipe_kernel, TANDEM_ATTN_DECODE=pipelined): the block streams its keys
//     through a 3-stage shared-memory ring with cp.async, two stages in flight while one is used;
//     slot indices are read one stage further ahead into a small ring of their own. Measured
//     slower (62-67%): the whole block waits at each stage's barrier; kept for tuning.
// Split-KV as in attention.cu: each (row, split) takes its own share of the row's keys; the
// partial results go through merge_attention_splits.
#include <cuda_bf16.h>
#include <cuda_fp16.h>
#include <cuda_pipeline.h>

#include <cmath>

#include "kernels/cuda/launch.h"

namespace tandem::kernels::cuda {

namespace {

constexpr int kWarps = 4;
constexpr int kThreads = kWarps * 32;
constexpr int kSlotTile = 256;  // decode_kernel: slot indices staged per pass
constexpr int kStages = 3;      // decode_pipe_kernel: ring depth
constexpr float kLog2e = 1.4426950408889634f;
constexpr float kLn2 = 0.6931471805599453f;

// Eight 16-bit values (one 16-byte load) to floats; element 2i sits in the low half of word i.
__device__ __forceinline__ void widen(const uint4& r, const __nv_bfloat16*, float (&f)[8]) {
  const uint32_t w[4] = {r.x, r.y, r.z, r.w};
#pragma unroll
  for (int i = 0; i < 4; ++i) {
    f[2 * i] = __uint_as_float(w[i] << 16);
    f[2 * i + 1] = __uint_as_float(w[i] & 0xffff0000u);
  }
}
__device__ __forceinline__ void widen(const uint4& r, const __half*, float (&f)[8]) {
  const __half2* h = reinterpret_cast<const __half2*>(&r);
#pragma unroll
  for (int i = 0; i < 4; ++i) {
    const float2 t = __half22float2(h[i]);
    f[2 * i] = t.x;
    f[2 * i + 1] = t.y;
  }
}

template <int D, int GP>
struct Lanes {
  static constexpr int kLpk = D / 8;                     // lanes per key
  static constexpr int kKpw = 32 / kLpk;                 // keys per warp per pass
  static constexpr int kPerIter = GP <= 4 ? 8 : 4;       // keys per warp iteration
  static constexpr int kUnroll = kPerIter / kKpw;        // passes per iteration
  static_assert(D % 8 == 0 && 32 % kLpk == 0 && kUnroll >= 1, "decode lane layout");
};

// The block's share: the row's sequence, its query heads [h0, h0 + ng), its keys [begin, end).
struct Work {
  int s, kvh, h0, ng, begin, end;
};

template <int GP>
__device__ __forceinline__ Work block_work(const AttentionArgs& a) {
  const int row = blockIdx.x, split = blockIdx.z;
  const int G = a.n_heads / a.n_kv_heads;
  const int hgroups = (G + GP - 1) / GP;
  Work w;
  w.kvh = blockIdx.y / hgroups;
  const int g0 = (blockIdx.y % hgroups) * GP;
  w.ng = min(GP, G - g0);
  w.h0 = w.kvh * G + g0;
  int lo = 0, hi = a.num_seqs - 1;  // the row's sequence: last s with q_offsets[s] <= row
  while (lo < hi) {
    const int mid = (lo + hi + 1) / 2;
    if (a.q_offsets[mid] <= row) lo = mid; else hi = mid - 1;
  }
  w.s = lo;
  const int q_len = a.q_offsets[w.s + 1] - a.q_offsets[w.s];
  const int n_keys = a.ctx_lens[w.s] - q_len + (row - a.q_offsets[w.s]) + 1;
  const int chunk = max(a.min_chunk, (n_keys + a.num_splits - 1) / a.num_splits);
  w.begin = min(n_keys, split * chunk);
  w.end = min(n_keys, w.begin + chunk);
  return w;
}

template <int GP>
struct State {
  float q[GP][8], acc[GP][8], m[GP], l[GP];
};

template <int D, int GP>
__device__ __forceinline__ void init_state(const AttentionArgs& a, const Work& w, int dl, State<GP>& st) {
  const float qscale = a.scale * kLog2e;
#pragma unroll
  for (int g = 0; g < GP; ++g) {
    float4 x = make_float4(0.f, 0.f, 0.f, 0.f), y = x;
    if (g < w.ng) {
      const float4* qp = reinterpret_cast<const float4*>(
          a.q + (static_cast<int64_t>(blockIdx.x) * a.n_heads + w.h0 + g) * D + dl);
      x = qp[0];
      y = qp[1];
    }
    const float v[8] = {x.x, x.y, x.z, x.w, y.x, y.y, y.z, y.w};
#pragma unroll
    for (int i = 0; i < 8; ++i) {
      st.q[g][i] = v[i] * qscale;
      st.acc[g][i] = 0.0f;
    }
    st.m[g] = -INFINITY;
    st.l[g] = 0.0f;
  }
}

// One warp iteration: pass u holds key u * kKpw + sub of the iteration; keys from `valid` on
// are masked (valid >= 1, so the warp's max is finite and stays uniform).
template <typename T, int D, int GP>
__device__ __forceinline__ void consume(const uint4 (&kr)[Lanes<D, GP>::kUnroll],
                                        const uint4 (&vr)[Lanes<D, GP>::kUnroll], int valid, int sub,
                                        State<GP>& st) {
  using Ln = Lanes<D, GP>;
  constexpr int U = Ln::kUnroll;
  float sc[U][GP];
#pragma unroll
  for (int u = 0; u < U; ++u) {
    float kf[8];
    widen(kr[u], static_cast<const T*>(nullptr), kf);
#pragma unroll
    for (int g = 0; g < GP; ++g) {
      float d = 0.0f;
#pragma unroll
      for (int i = 0; i < 8; ++i) d = fmaf(st.q[g][i], kf[i], d);
      sc[u][g] = d;
    }
  }
#pragma unroll
  for (int o = Ln::kLpk / 2; o > 0; o >>= 1) {
#pragma unroll
    for (int u = 0; u < U; ++u) {
#pragma unroll
      for (int g = 0; g < GP; ++g) sc[u][g] += __shfl_xor_sync(0xffffffffu, sc[u][g], o);
    }
  }
#pragma unroll
  for (int g = 0; g < GP; ++g) {
    float mx = -INFINITY;
#pragma unroll
    for (int u = 0; u < U; ++u) {
      if (u * Ln::kKpw + sub >= valid) sc[u][g] = -INFINITY;
      mx = fmaxf(mx, sc[u][g]);
    }
#pragma unroll
    for (int o = Ln::kLpk; o < 32; o <<= 1) mx = fmaxf(mx, __shfl_xor_sync(0xffffffffu, mx, o));
    const float m_new = fmaxf(st.m[g], mx);
    const float corr = exp2f(st.m[g] - m_new);  // 0 on the warp's first keys (m = -inf)
    st.m[g] = m_new;
    st.l[g] *= corr;
#pragma unroll
    for (int i = 0; i < 8; ++i) st.acc[g][i] *= corr;
#pragma unroll
    for (int u = 0; u < U; ++u) {
      sc[u][g] = exp2f(sc[u][g] - m_new);  // masked keys: 0
      st.l[g] += sc[u][g];
    }
  }
#pragma unroll
  for (int u = 0; u < U; ++u) {
    float vf[8];
    widen(vr[u], static_cast<const T*>(nullptr), vf);
#pragma unroll
    for (int g = 0; g < GP; ++g) {
#pragma unroll
      for (int i = 0; i < 8; ++i) st.acc[g][i] = fmaf(sc[u][g], vf[i], st.acc[g][i]);
    }
  }
}

// Sums the warp's key groups, merges the 4 warps through shared memory (s_acc: kWarps * GP * D
// floats, s_ml: kWarps * GP * 2) and writes out, or the split's partial result.
template <int D, int GP>
__device__ __forceinline__ void finish(const AttentionArgs& a, const Work& w, State<GP>& st, float* s_acc,
                                       float* s_ml) {
  using Ln = Lanes<D, GP>;
  const int lane = threadIdx.x % 32, warp = threadIdx.x / 32;
  const int sub = lane / Ln::kLpk, dl = (lane % Ln::kLpk) * 8;
#pragma unroll
  for (int o = Ln::kLpk; o < 32; o <<= 1) {
#pragma unroll
    for (int g = 0; g < GP; ++g) {
      st.l[g] += __shfl_xor_sync(0xffffffffu, st.l[g], o);
#pragma unroll
      for (int i = 0; i < 8; ++i) st.acc[g][i] += __shfl_xor_sync(0xffffffffu, st.acc[g][i], o);
    }
  }
  if (sub == 0) {
#pragma unroll
    for (int g = 0; g < GP; ++g) {
#pragma unroll
      for (int i = 0; i < 8; ++i) s_acc[(warp * GP + g) * D + dl + i] = st.acc[g][i];
    }
  }
  if (lane == 0) {
#pragma unroll
    for (int g = 0; g < GP; ++g) {
      s_ml[(warp * GP + g) * 2] = st.m[g];
      s_ml[(warp * GP + g) * 2 + 1] = st.l[g];
    }
  }
  __syncthreads();
  const int split = blockIdx.z;
  for (int e = threadIdx.x; e < w.ng * D; e += kThreads) {
    const int g = e / D, d = e % D;
    float M = -INFINITY;
#pragma unroll
    for (int v = 0; v < kWarps; ++v) {
      if (s_ml[(v * GP + g) * 2 + 1] > 0.0f) M = fmaxf(M, s_ml[(v * GP + g) * 2]);
    }
    float L = 0.0f, o = 0.0f;
#pragma unroll
    for (int v = 0; v < kWarps; ++v) {
      const float l = s_ml[(v * GP + g) * 2 + 1];
      const float wt = l > 0.0f ? exp2f(s_ml[(v * GP + g) * 2] - M) : 0.0f;
      L += l * wt;
      o += s_acc[(v * GP + g) * D + d] * wt;
    }
    const int64_t oi = static_cast<int64_t>(blockIdx.x) * a.n_heads + w.h0 + g;
    if (a.num_splits == 1) {
      a.out[oi * D + d] = o / L;  // the one split holds all of the row's keys, at least one
    } else {
      a.part_o[(oi * a.num_splits + split) * D + d] = o;
      if (d == 0) {  // the merge works in natural-log units; an empty split writes l = 0
        a.part_ml[(oi * a.num_splits + split) * 2] = M * kLn2;
        a.part_ml[(oi * a.num_splits + split) * 2 + 1] = L;
      }
    }
  }
}

template <typename T, int D, int GP>
__global__ void __launch_bounds__(kThreads) decode_kernel(AttentionArgs a) {
  using Ln = Lanes<D, GP>;
  constexpr int U = Ln::kUnroll, kStep = Ln::kPerIter;
  __shared__ int32_t s_slots[kSlotTile];
  __shared__ float s_acc[kWarps * GP * D];
  __shared__ float s_ml[kWarps * GP * 2];
  const Work w = block_work<GP>(a);
  const int lane = threadIdx.x % 32, warp = threadIdx.x / 32;
  const int sub = lane / Ln::kLpk, dl = (lane % Ln::kLpk) * 8;
  State<GP> st;
  init_state<D, GP>(a, w, dl, st);
  const int64_t kv_dim = static_cast<int64_t>(a.n_kv_heads) * D;
  const T* kc = static_cast<const T*>(a.k_cache) + static_cast<int64_t>(w.kvh) * D + dl;
  const T* vc = static_cast<const T*>(a.v_cache) + static_cast<int64_t>(w.kvh) * D + dl;
  const int32_t* slots = a.slots + a.slot_offsets[w.s];
  for (int t0 = w.begin; t0 < w.end; t0 += kSlotTile) {  // block-uniform
    const int n = min(kSlotTile, w.end - t0);
    __syncthreads();  // every warp is done with the previous tile's slots
    for (int i = threadIdx.x; i < n; i += kThreads) s_slots[i] = slots[t0 + i];
    __syncthreads();
    for (int k0 = warp * kStep; k0 < n; k0 += kWarps * kStep) {
      uint4 kr[U], vr[U];
#pragma unroll
      for (int u = 0; u < U; ++u) {
        const int kk = k0 + u * Ln::kKpw + sub;
        if (kk < n) {
          const int64_t off = static_cast<int64_t>(s_slots[kk]) * kv_dim;
          kr[u] = __ldg(reinterpret_cast<const uint4*>(kc + off));
          vr[u] = __ldg(reinterpret_cast<const uint4*>(vc + off));
        } else {
          kr[u] = vr[u] = make_uint4(0, 0, 0, 0);
        }
      }
      consume<T, D, GP>(kr, vr, n - k0, sub, st);
    }
  }
  finish<D, GP>(a, w, st, s_acc, s_ml);
}

template <typename T, int D, int GP>
struct PipeLayout {
  static constexpr int kStage = kWarps * Lanes<D, GP>::kPerIter;  // keys per stage
  static constexpr int kElems = kStage * D;                       // of K (or V) per stage
  static constexpr size_t kRingBytes = sizeof(T) * kStages * 2 * kElems;
  static constexpr size_t kAccBytes = sizeof(float) * kWarps * GP * D;  // finish() reuses the ring
  static constexpr size_t kBytes = kRingBytes > kAccBytes ? kRingBytes : kAccBytes;
};

template <typename T, int D, int GP>
__global__ void __launch_bounds__(kThreads, GP <= 4 ? 4 : 2) decode_pipe_kernel(AttentionArgs a) {
  using Ln = Lanes<D, GP>;
  using P = PipeLayout<T, D, GP>;
  constexpr int U = Ln::kUnroll, kStage = P::kStage, kChunks = D / 8;
  extern __shared__ __align__(16) unsigned char smem[];
  T* ring = reinterpret_cast<T*>(smem);  // [kStages][K, V][kStage][D]
  __shared__ int32_t s_sl[4][kStage];    // slot ring: stage i's indices in s_sl[i % 4]
  __shared__ float s_ml[kWarps * GP * 2];
  const Work w = block_work<GP>(a);
  const int tid = threadIdx.x, lane = tid % 32, warp = tid / 32;
  const int sub = lane / Ln::kLpk, dl = (lane % Ln::kLpk) * 8;
  State<GP> st;
  init_state<D, GP>(a, w, dl, st);
  const int n = w.end - w.begin;
  const int n_st = (n + kStage - 1) / kStage;
  const int64_t kv_dim = static_cast<int64_t>(a.n_kv_heads) * D;
  const T* kc = static_cast<const T*>(a.k_cache) + static_cast<int64_t>(w.kvh) * D;
  const T* vc = static_cast<const T*>(a.v_cache) + static_cast<int64_t>(w.kvh) * D;
  const int32_t* slots = a.slots + a.slot_offsets[w.s] + w.begin;
  auto slot_of = [&](int stage) -> int32_t {  // tid < kStage
    const int j = stage * kStage + tid;
    return j < n ? slots[j] : 0;
  };
  // Stage `stage` into ring buffer stage % kStages; keys past the end are zeroed (0 × garbage
  // could be NaN in P·V). Every call commits a group, empty or not, so wait counts stay uniform.
  auto issue = [&](int stage) {
    if (stage < n_st) {
      T* kd = ring + (stage % kStages) * 2 * P::kElems;
      T* vd = kd + P::kElems;
      const int32_t* sl = s_sl[stage % 4];
      for (int i = tid; i < kStage * kChunks; i += kThreads) {
        const int kk = i / kChunks, c = (i % kChunks) * 8;
        if (stage * kStage + kk < n) {
          const int64_t base = static_cast<int64_t>(sl[kk]) * kv_dim + c;
          __pipeline_memcpy_async(kd + kk * D + c, kc + base, 16);
          __pipeline_memcpy_async(vd + kk * D + c, vc + base, 16);
        } else {
          *reinterpret_cast<uint4*>(kd + kk * D + c) = make_uint4(0, 0, 0, 0);
          *reinterpret_cast<uint4*>(vd + kk * D + c) = make_uint4(0, 0, 0, 0);
        }
      }
    }
    __pipeline_commit();
  };
  int32_t next = 0;
  if (tid < kStage) {
#pragma unroll
    for (int i = 0; i < 3; ++i) s_sl[i][tid] = slot_of(i);
    next = slot_of(3);
  }
  __syncthreads();
  issue(0);
  issue(1);
  for (int i = 0; i < n_st; ++i) {
    if (tid < kStage) s_sl[(i + 3) % 4][tid] = next;  // read by issue(i + 3), after the next barrier
    __pipeline_wait_prior(1);  // this thread's copies of stage i have landed
    // Everyone's copies of stage i are visible, and every warp is done with stage i - 1, whose
    // buffer issue(i + 2) refills.
    __syncthreads();
    issue(i + 2);
    if (tid < kStage) next = slot_of(i + 4);
    const int k0 = warp * Ln::kPerIter, valid = n - i * kStage - k0;
    if (valid > 0) {  // warp-uniform
      const T* ks = ring + (i % kStages) * 2 * P::kElems;
      const T* vs = ks + P::kElems;
      uint4 kr[U], vr[U];
#pragma unroll
      for (int u = 0; u < U; ++u) {
        const int kk = k0 + u * Ln::kKpw + sub;
        kr[u] = *reinterpret_cast<const uint4*>(ks + kk * D + dl);
        vr[u] = *reinterpret_cast<const uint4*>(vs + kk * D + dl);
      }
      consume<T, D, GP>(kr, vr, valid, sub, st);
    }
  }
  __pipeline_wait_prior(0);
  __syncthreads();  // the ring is free for finish()'s staging
  finish<D, GP>(a, w, st, reinterpret_cast<float*>(smem), s_ml);
}

int padded_group(int n_heads, int n_kv_heads) {
  const int G = n_heads / n_kv_heads;
  return G <= 1 ? 1 : G <= 2 ? 2 : G <= 4 ? 4 : 8;
}

template <typename T, int D, int GP>
bool launch_gp(const AttentionArgs& a, DecodeKernel k, dim3 grid, cudaStream_t st) {
  if (k == DecodeKernel::kRegisters) {
    decode_kernel<T, D, GP><<<grid, kThreads, 0, st>>>(a);
    return true;
  }
  using P = PipeLayout<T, D, GP>;
  static bool configured = false;  // once per instantiation; racing first calls set the same value
  if (!configured) {
    if (cudaFuncSetAttribute(decode_pipe_kernel<T, D, GP>, cudaFuncAttributeMaxDynamicSharedMemorySize,
                             static_cast<int>(P::kBytes)) != cudaSuccess) {
      return false;
    }
    configured = true;
  }
  decode_pipe_kernel<T, D, GP><<<grid, kThreads, P::kBytes, st>>>(a);
  return true;
}

template <typename T, int D>
bool launch_dim(const AttentionArgs& a, DecodeKernel k, cudaStream_t st) {
  const dim3 grid(static_cast<unsigned>(a.total_q),
                  static_cast<unsigned>(decode_attention_blocks_per_row(a.n_heads, a.n_kv_heads)),
                  static_cast<unsigned>(a.num_splits));
  bool ok = false;
  switch (padded_group(a.n_heads, a.n_kv_heads)) {
    case 1: ok = launch_gp<T, D, 1>(a, k, grid, st); break;
    case 2: ok = launch_gp<T, D, 2>(a, k, grid, st); break;
    case 4: ok = launch_gp<T, D, 4>(a, k, grid, st); break;
    default: ok = launch_gp<T, D, 8>(a, k, grid, st); break;
  }
  if (ok && a.num_splits > 1) merge_attention_splits(a, st);
  return ok;
}

template <typename T>
bool launch_typed(const AttentionArgs& a, DecodeKernel k, cudaStream_t st) {
  switch (a.head_dim) {
    case 64: return launch_dim<T, 64>(a, k, st);
    case 128: return launch_dim<T, 128>(a, k, st);
    default: return false;
  }
}

}  // namespace

bool decode_attention_supported(CacheType t, int head_dim) {
  return t != CacheType::kF32 && (head_dim == 64 || head_dim == 128);
}

int decode_attention_blocks_per_row(int n_heads, int n_kv_heads) {
  const int G = n_heads / n_kv_heads, gp = padded_group(n_heads, n_kv_heads);
  return n_kv_heads * ((G + gp - 1) / gp);
}

bool decode_attention(CacheType t, const AttentionArgs& a, DecodeKernel k, cudaStream_t s) {
  if (a.total_q <= 0) return true;
  if (a.num_splits < 1 || a.num_splits > kMaxAttentionSplits) return false;
  switch (t) {
    case CacheType::kF16: return launch_typed<__half>(a, k, s);
    case CacheType::kBF16: return launch_typed<__nv_bfloat16>(a, k, s);
    case CacheType::kF32: return false;
  }
  return false;
}

}  // namespace tandem::kernels::cuda
