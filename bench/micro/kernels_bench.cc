// Kernel micro-benchmarks (Google Benchmark): the default model's matmul shapes at decode and
// batch sizes, the memory roofline they are bound by, and paged attention decode.
//
//   tandem_bench_kernels [--benchmark_filter=...]   env: TANDEM_BENCH_THREADS (default 2),
//                                                   TANDEM_CPU_ISA (default: best),
//                                                   TANDEM_BENCH_HOT=1 (one cache-resident copy:
//                                                   the kernels' compute cost alone)
//
// Weights are cycled through enough copies to exceed the last-level cache, so numbers reflect
// streaming from DRAM as in a real decode step (a 135M model is ~105 MB per token), not a
// cache-resident matrix. Counters: weight_GBps = weight bytes / time; tokens_per_s = m / time.
#include <benchmark/benchmark.h>

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <numeric>
#include <random>
#include <vector>

#include "common/dtype.h"
#include "common/tensor_view.h"
#include "common/thread_pool.h"
#include "kernels/cpu/cpu_backend.h"
#include "kernels/reference/quant.h"

namespace tandem::kernels {
namespace {

constexpr size_t kColdBytes = 192ull << 20;  // > L3 on the machines we run on

int bench_threads() {
  const char* s = std::getenv("TANDEM_BENCH_THREADS");
  return s && *s ? std::atoi(s) : 2;
}

Backend& backend() {
  static std::unique_ptr<Backend> be = make_cpu_backend(bench_threads());
  return *be;
}

std::vector<uint8_t> random_weight_bytes(DType type, int64_t n, int64_t k, uint32_t seed) {
  std::mt19937 rng(seed);
  std::normal_distribution<float> dist(0.0f, 0.05f);
  std::vector<float> row(static_cast<size_t>(k));
  const size_t rb = row_bytes(type, k);
  std::vector<uint8_t> bytes(rb * static_cast<size_t>(n));
  for (int64_t j = 0; j < n; ++j) {
    for (float& v : row) v = dist(rng);
    ref::quantize_row(type, row.data(), k, bytes.data() + j * rb);
  }
  return bytes;
}

// args: n, k, m, dtype
void BM_Matmul(benchmark::State& state) {
  const int64_t n = state.range(0), k = state.range(1), m = state.range(2);
  const auto type = static_cast<DType>(state.range(3));
  const std::vector<uint8_t> one = random_weight_bytes(type, n, k, 1);
  const bool hot = std::getenv("TANDEM_BENCH_HOT") != nullptr;
  const size_t copies = hot ? 1 : std::max<size_t>(1, kColdBytes / one.size());
  std::vector<uint8_t> all(one.size() * copies);
  for (size_t c = 0; c < copies; ++c) std::memcpy(all.data() + c * one.size(), one.data(), one.size());
  std::vector<TensorView> views(copies);
  for (size_t c = 0; c < copies; ++c) {
    views[c].name = "bench";
    views[c].dtype = type;
    views[c].shape = {n, k};
    views[c].data = all.data() + c * one.size();
    views[c].nbytes = one.size();
  }
  std::mt19937 rng(2);
  std::normal_distribution<float> dist;
  std::vector<float> x(static_cast<size_t>(m * k)), y(static_cast<size_t>(m * n));
  for (float& v : x) v = dist(rng);
  size_t c = 0;
  for (auto _ : state) {
    backend().matmul(x.data(), m, views[c], nullptr, y.data());
    benchmark::DoNotOptimize(y.data());
    c = (c + 1) % copies;
  }
  state.counters["weight_GBps"] =
      benchmark::Counter(static_cast<double>(one.size()) * state.iterations() / 1e9, benchmark::Counter::kIsRate);
  state.counters["rows_per_s"] = benchmark::Counter(static_cast<double>(m) * state.iterations(), benchmark::Counter::kIsRate);
  state.counters["GMACps"] =
      benchmark::Counter(static_cast<double>(m) * n * k * state.iterations() / 1e9, benchmark::Counter::kIsRate);
  state.SetLabel(std::string(dtype_name(type)) + " " + backend().name());
}

void matmul_args(benchmark::internal::Benchmark* b) {
  const int q41 = static_cast<int>(DType::kQ4_1), q80 = static_cast<int>(DType::kQ8_0);
  for (int64_t m : {1, 8, 32}) {
    b->Args({576, 576, m, q41});     // attn q / o
    b->Args({192, 576, m, q41});     // attn k / v
    b->Args({1536, 576, m, q41});    // ffn gate / up
    b->Args({576, 1536, m, q41});    // ffn down
    b->Args({49152, 576, m, q80});   // lm head (tied token_embd)
  }
  b->Args({1536, 576, 512, q41});    // prefill: compute-bound
  b->Args({1536, 576, 512, static_cast<int>(DType::kF32)});
  b->ArgNames({"n", "k", "m", "dtype"});
}
BENCHMARK(BM_Matmul)->Apply(matmul_args)->UseRealTime()->Unit(benchmark::kMicrosecond);

// The roofline: streaming reads (what a memory-bound matmul does) and memcpy, same threads.
void BM_MemoryRead(benchmark::State& state) {
  const size_t n = kColdBytes / sizeof(uint64_t);
  std::vector<uint64_t> buf(n, 1);
  ThreadPool* pool = nullptr;
  static std::unique_ptr<ThreadPool> owned;
  if (!owned) owned = std::make_unique<ThreadPool>(bench_threads());
  pool = owned.get();
  std::vector<uint64_t> sums(static_cast<size_t>(pool->size()) * 8);
  for (auto _ : state) {
    pool->parallel_for(static_cast<int64_t>(n), [&](int64_t b, int64_t e, int t) {
      uint64_t s0 = 0, s1 = 0, s2 = 0, s3 = 0;
      for (int64_t i = b; i + 4 <= e; i += 4) {
        s0 += buf[i];
        s1 += buf[i + 1];
        s2 += buf[i + 2];
        s3 += buf[i + 3];
      }
      sums[t * 8] = s0 + s1 + s2 + s3;
    }, 1024);
    benchmark::DoNotOptimize(sums.data());
  }
  state.counters["read_GBps"] =
      benchmark::Counter(static_cast<double>(n * sizeof(uint64_t)) * state.iterations() / 1e9, benchmark::Counter::kIsRate);
}
BENCHMARK(BM_MemoryRead)->UseRealTime()->Unit(benchmark::kMillisecond);

void BM_Memcpy(benchmark::State& state) {
  const size_t n = kColdBytes / 2;
  std::vector<uint8_t> a(n, 1), b(n, 2);
  for (auto _ : state) {
    std::memcpy(b.data(), a.data(), n);
    benchmark::DoNotOptimize(b.data());
  }
  state.counters["copy_GBps(r+w)"] =
      benchmark::Counter(2.0 * static_cast<double>(n) * state.iterations() / 1e9, benchmark::Counter::kIsRate);
}
BENCHMARK(BM_Memcpy)->UseRealTime()->Unit(benchmark::kMillisecond);

// Decode attention for the default model's heads (9 q / 3 kv, head_dim 64), one layer per call,
// cycling through 30 layers' caches like a decode step does. args: context, sequences.
void BM_AttentionDecode(benchmark::State& state) {
  const int ctx = static_cast<int>(state.range(0)), seqs = static_cast<int>(state.range(1));
  const int n_heads = 9, n_kv = 3, hd = 64, layers = 30;
  const int64_t kv_dim = n_kv * hd, slots = static_cast<int64_t>(ctx) * seqs;
  std::mt19937 rng(3);
  std::uniform_real_distribution<float> dist(-1.0f, 1.0f);
  std::vector<std::vector<float>> kc(layers), vc(layers);
  for (int l = 0; l < layers; ++l) {
    kc[l].resize(static_cast<size_t>(slots * kv_dim));
    vc[l].resize(static_cast<size_t>(slots * kv_dim));
    for (float& v : kc[l]) v = dist(rng);
    for (float& v : vc[l]) v = dist(rng);
  }
  // Pages of 16 contiguous slots, the pages scattered over the pool (as a paged KV pool
  // allocates them).
  constexpr int kPage = 16;
  std::vector<int32_t> pages(static_cast<size_t>(slots / kPage));
  std::iota(pages.begin(), pages.end(), 0);
  std::shuffle(pages.begin(), pages.end(), rng);
  std::vector<int32_t> slot_ids(static_cast<size_t>(slots));
  for (int64_t i = 0; i < slots; ++i) slot_ids[i] = pages[i / kPage] * kPage + static_cast<int32_t>(i % kPage);
  std::vector<int32_t> q_off(seqs + 1), ctx_lens(seqs, ctx), slot_off(seqs + 1);
  for (int s = 0; s <= seqs; ++s) {
    q_off[s] = s;
    slot_off[s] = s * ctx;
  }
  std::vector<float> q(static_cast<size_t>(seqs) * n_heads * hd), out(q.size());
  for (float& v : q) v = dist(rng);
  AttentionBatch b;
  b.num_seqs = seqs;
  b.q_offsets = q_off.data();
  b.ctx_lens = ctx_lens.data();
  b.slot_offsets = slot_off.data();
  b.slots = slot_ids.data();
  b.n_heads = n_heads;
  b.n_kv_heads = n_kv;
  b.head_dim = hd;
  b.scale = 1.0f / 8.0f;
  int l = 0;
  for (auto _ : state) {
    backend().attention(q.data(), kc[l].data(), vc[l].data(), b, out.data());
    benchmark::DoNotOptimize(out.data());
    l = (l + 1) % layers;
  }
  state.counters["kv_GBps"] = benchmark::Counter(2.0 * static_cast<double>(slots * kv_dim) * 4 * state.iterations() / 1e9,
                                                 benchmark::Counter::kIsRate);
}
BENCHMARK(BM_AttentionDecode)->Args({512, 1})->Args({2048, 1})->Args({512, 32})->ArgNames({"ctx", "seqs"})
    ->UseRealTime()->Unit(benchmark::kMicrosecond);


// A whole decode step of the default model's shapes (SmolLM2-135M: 30 layers, dim 576, 9/3 heads
// of 64, ff 1536, vocab 49152; Q4_1 matrices, Q8_0 LM head) on random weights: every kernel call
// the forward makes, in order, so bytes moved match the real model. args: batch, context,
// KV cache type (0: F32 via store_kv / attention, 1: F16 via the *_half variants).
// tokens_per_s = batch / step time: the ratio batch-32 / batch-1 is the batching speedup.
struct DecodeModel {
  static constexpr int kLayers = 30, kDim = 576, kHeads = 9, kKvHeads = 3, kHd = 64, kFf = 1536, kVocab = 49152;
  struct Layer {
    std::vector<uint8_t> q, k, v, o, gate_up, down;
    TensorView tq, tk, tv, to, tgu, tdown;
    std::vector<float> k_cache, v_cache;       // F32 caches, allocated on first use
    std::vector<uint16_t> k_half, v_half;      // F16 caches, allocated on first use
  };
  static constexpr int kSlots = 32 * 512;
  std::vector<Layer> layers;
  std::vector<uint8_t> head_bytes;
  TensorView head;
  std::vector<float> norm_w;

  static TensorView view(const std::vector<uint8_t>& b, DType t, int64_t n, int64_t k) {
    TensorView v;
    v.name = "w";
    v.dtype = t;
    v.shape = {n, k};
    v.data = b.data();
    v.nbytes = b.size();
    return v;
  }

  DecodeModel() : layers(kLayers), norm_w(kFf, 1.0f) {
    uint32_t seed = 10;
    for (Layer& l : layers) {
      l.q = random_weight_bytes(DType::kQ4_1, kDim, kDim, ++seed);
      l.k = random_weight_bytes(DType::kQ4_1, kKvHeads * kHd, kDim, ++seed);
      l.v = random_weight_bytes(DType::kQ4_1, kKvHeads * kHd, kDim, ++seed);
      l.o = random_weight_bytes(DType::kQ4_1, kDim, kDim, ++seed);
      l.gate_up = random_weight_bytes(DType::kQ4_1, 2 * kFf, kDim, ++seed);
      l.down = random_weight_bytes(DType::kQ4_1, kDim, kFf, ++seed);
      l.tq = view(l.q, DType::kQ4_1, kDim, kDim);
      l.tk = view(l.k, DType::kQ4_1, kKvHeads * kHd, kDim);
      l.tv = view(l.v, DType::kQ4_1, kKvHeads * kHd, kDim);
      l.to = view(l.o, DType::kQ4_1, kDim, kDim);
      l.tgu = view(l.gate_up, DType::kQ4_1, 2 * kFf, kDim);
      l.tdown = view(l.down, DType::kQ4_1, kDim, kFf);
    }
    head_bytes = random_weight_bytes(DType::kQ8_0, kVocab, kDim, 99);
    head = view(head_bytes, DType::kQ8_0, kVocab, kDim);
  }
};

void BM_DecodeStep(benchmark::State& state) {
  using M = DecodeModel;
  const int batch = static_cast<int>(state.range(0)), ctx = static_cast<int>(state.range(1));
  const bool half = state.range(2) != 0;
  static std::unique_ptr<DecodeModel> model;
  if (!model) model = std::make_unique<DecodeModel>();
  if (static_cast<int64_t>(batch) * ctx > M::kSlots) {
    state.SkipWithError("batch x context exceeds the benchmark's KV pool");
    return;
  }
  const size_t cache_elems = static_cast<size_t>(M::kSlots) * M::kKvHeads * M::kHd;
  for (auto& l : model->layers) {
    if (half && l.k_half.empty()) {
      l.k_half.assign(cache_elems, fp32_to_fp16(0.01f));
      l.v_half.assign(cache_elems, fp32_to_fp16(0.01f));
    }
    if (!half && l.k_cache.empty()) {
      l.k_cache.assign(cache_elems, 0.01f);
      l.v_cache.assign(cache_elems, 0.01f);
    }
  }
  Backend& be = backend();
  const int kv_dim = M::kKvHeads * M::kHd;
  std::vector<float> h(static_cast<size_t>(batch) * M::kDim, 0.1f), res(h.size(), 0.1f), x(h.size());
  std::vector<float> q(h.size()), k(static_cast<size_t>(batch) * kv_dim), v(k.size()), att(h.size());
  std::vector<float> gu(static_cast<size_t>(batch) * 2 * M::kFf), act(static_cast<size_t>(batch) * M::kFf);
  std::vector<float> logits(static_cast<size_t>(batch) * M::kVocab);
  std::vector<int32_t> pos(batch, ctx - 1), q_off(batch + 1), ctx_lens(batch, ctx), slot_off(batch + 1), slots(
                                                                                                    static_cast<size_t>(batch) * ctx),
      new_slots(batch);
  for (int s = 0; s <= batch; ++s) {
    q_off[s] = s;
    slot_off[s] = s * ctx;
  }
  std::iota(slots.begin(), slots.end(), 0);
  for (int s = 0; s < batch; ++s) new_slots[s] = slots[static_cast<size_t>(s) * ctx + ctx - 1];
  AttentionBatch ab;
  ab.num_seqs = batch;
  ab.q_offsets = q_off.data();
  ab.ctx_lens = ctx_lens.data();
  ab.slot_offsets = slot_off.data();
  ab.slots = slots.data();
  ab.n_heads = M::kHeads;
  ab.n_kv_heads = M::kKvHeads;
  ab.head_dim = M::kHd;
  ab.scale = 0.125f;
  RopeConfig rc;
  rc.head_dim = rc.rotary_dim = M::kHd;
  rc.theta = 100000.0f;
  rc.neox = false;
  for (auto _ : state) {
    be.rms_norm(res.data(), model->norm_w.data(), batch, M::kDim, 1e-5f, x.data());
    for (auto& l : model->layers) {
      be.matmul(x.data(), batch, l.tq, nullptr, q.data());
      be.matmul(x.data(), batch, l.tk, nullptr, k.data());
      be.matmul(x.data(), batch, l.tv, nullptr, v.data());
      be.rope(q.data(), pos.data(), batch, M::kHeads, rc);
      be.rope(k.data(), pos.data(), batch, M::kKvHeads, rc);
      if (half) {
        be.store_kv_half(DType::kF16, l.k_half.data(), l.v_half.data(), k.data(), v.data(), new_slots.data(), batch,
                         kv_dim);
        be.attention_half(DType::kF16, q.data(), l.k_half.data(), l.v_half.data(), ab, att.data());
      } else {
        be.store_kv(l.k_cache.data(), l.v_cache.data(), k.data(), v.data(), new_slots.data(), batch, kv_dim);
        be.attention(q.data(), l.k_cache.data(), l.v_cache.data(), ab, att.data());
      }
      be.matmul(att.data(), batch, l.to, nullptr, h.data());
      be.add_rms_norm(res.data(), h.data(), model->norm_w.data(), batch, M::kDim, 1e-5f, x.data());
      be.matmul(x.data(), batch, l.tgu, nullptr, gu.data());
      be.silu_mul(gu.data(), batch, M::kFf, act.data());
      be.matmul(act.data(), batch, l.tdown, nullptr, h.data());
      be.add_rms_norm(res.data(), h.data(), model->norm_w.data(), batch, M::kDim, 1e-5f, x.data());
    }
    be.matmul(x.data(), batch, model->head, nullptr, logits.data());
    benchmark::DoNotOptimize(logits.data());
  }
  state.counters["tokens_per_s"] = benchmark::Counter(static_cast<double>(batch) * state.iterations(), benchmark::Counter::kIsRate);
}
BENCHMARK(BM_DecodeStep)
    ->Args({1, 512, 0})->Args({8, 512, 0})->Args({32, 512, 0})
    ->Args({1, 512, 1})->Args({8, 512, 1})->Args({32, 512, 1})
    ->Args({1, 128, 1})->Args({32, 128, 1})
    ->ArgNames({"batch", "ctx", "kv_f16"})
    ->UseRealTime()->Unit(benchmark::kMillisecond);

}  // namespace
}  // namespace tandem::kernels

BENCHMARK_MAIN();
