// First CUDA timing table (scripts/device/cuda_check.sh runs it on the GPU machine):
// - device-to-device copy bandwidth (1 GiB, counting bytes read + written): the memory ceiling;
// - cuBLAS bf16 GEMM rate at 8192³ on random data: the matrix ceiling;
// - decode step time of a model (default: SmolLM2-135M) at batch 1 / 8 / 32 with a 512-token
//   context per sequence, against the memory floor (bf16 weights + KV bytes over the measured copy
//   bandwidth), and prefills of 512 / 1K / 4K tokens; each with an f32 and a bf16 KV cache (a
//   16-bit cache puts prefill attention on tensor cores).
// A second argument limits the KV types: f32, bf16 or both (default).
// Environment: TANDEM_BENCH_CTX / TANDEM_BENCH_BATCHES pick the decode shapes;
// TANDEM_BENCH_VARIANTS=legacy,registers,pipelined times each decode shape once per value of TANDEM_ATTN_DECODE
// (the CUDA backend's decode-attention kernel choice) in one process; TANDEM_BENCH_PREFILL=0 and
// TANDEM_BENCH_PLAIN=0 skip the prefills and the uncaptured steps; TANDEM_BENCH_ATTN=1 times only
// decode attention itself on the Llama-3-8B shape (no model needed) and exits.
// Times are medians over repeats after warm-up, taken with CUDA events or after a synchronize.
// Usage: tandem_cuda_bench [model.gguf|hf_dir] [f32|bf16|f16|both]. Prints the table last.
#include <cublas_v2.h>
#include <cuda_runtime.h>
#include <fmt/format.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdlib>
#include <optional>
#include <random>
#include <string>
#include <vector>

#include "kernels/cuda/cuda_backend.h"
#include "kernels/cuda/cuda_check.h"
#include "tests/support/test_paths.h"
#include "worker/model/model_loader.h"

namespace tandem {
namespace {

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v[v.size() / 2];
}

double copy_bandwidth_gbs() {
  const size_t bytes = size_t{1} << 30;
  void *a = nullptr, *b = nullptr;
  CUDA_OK(cudaMalloc(&a, bytes));
  CUDA_OK(cudaMalloc(&b, bytes));
  CUDA_OK(cudaMemset(a, 0x5a, bytes));
  cudaEvent_t e0, e1;
  CUDA_OK(cudaEventCreate(&e0));
  CUDA_OK(cudaEventCreate(&e1));
  std::vector<double> ms;
  for (int i = 0; i < 23; ++i) {
    CUDA_OK(cudaEventRecord(e0));
    CUDA_OK(cudaMemcpyAsync(i % 2 ? a : b, i % 2 ? b : a, bytes, cudaMemcpyDeviceToDevice));
    CUDA_OK(cudaEventRecord(e1));
    CUDA_OK(cudaEventSynchronize(e1));
    float t = 0;
    CUDA_OK(cudaEventElapsedTime(&t, e0, e1));
    if (i >= 3) ms.push_back(t);
  }
  cudaFree(a), cudaFree(b);
  return 2.0 * bytes / (median(ms) * 1e-3) / 1e9;
}

double gemm_tflops() {
  const int n = 8192;
  const size_t elems = size_t{n} * n;
  std::vector<uint16_t> h(elems);
  std::mt19937 rng(1);
  std::uniform_real_distribution<float> d(-1, 1);
  for (auto& x : h) x = fp32_to_bf16(d(rng));
  void *a, *b, *c;
  CUDA_OK(cudaMalloc(&a, elems * 2));
  CUDA_OK(cudaMalloc(&b, elems * 2));
  CUDA_OK(cudaMalloc(&c, elems * 2));
  CUDA_OK(cudaMemcpy(a, h.data(), elems * 2, cudaMemcpyHostToDevice));
  CUDA_OK(cudaMemcpy(b, h.data(), elems * 2, cudaMemcpyHostToDevice));
  cublasHandle_t hd;
  CUBLAS_OK(cublasCreate(&hd));
  cudaEvent_t e0, e1;
  CUDA_OK(cudaEventCreate(&e0));
  CUDA_OK(cudaEventCreate(&e1));
  const float alpha = 1, beta = 0;
  std::vector<double> ms;
  for (int i = 0; i < 13; ++i) {
    CUDA_OK(cudaEventRecord(e0));
    CUBLAS_OK(cublasGemmEx(hd, CUBLAS_OP_T, CUBLAS_OP_N, n, n, n, &alpha, a, CUDA_R_16BF, n, b, CUDA_R_16BF, n, &beta,
                           c, CUDA_R_16BF, n, CUBLAS_COMPUTE_32F, CUBLAS_GEMM_DEFAULT));
    CUDA_OK(cudaEventRecord(e1));
    CUDA_OK(cudaEventSynchronize(e1));
    float t = 0;
    CUDA_OK(cudaEventElapsedTime(&t, e0, e1));
    if (i >= 3) ms.push_back(t);
  }
  cublasDestroy(hd);
  cudaFree(a), cudaFree(b), cudaFree(c);
  return 2.0 * n * n * double(n) / (median(ms) * 1e-3) / 1e12;
}

struct DecodeResult {
  DType kv;
  int batch;
  std::string variant;
  double plain_ms, graph_ms, floor_ms;
};

bool env_off(const char* name) {
  const char* e = std::getenv(name);
  return e && std::string(e) == "0";
}

std::vector<std::string> split_list(const char* s) {
  std::vector<std::string> out;
  for (const char* q = s; q && *q;) {
    const char* e = q;
    while (*e && *e != ',') ++e;
    out.emplace_back(q, e);
    q = *e ? e + 1 : e;
  }
  return out;
}

// Decode attention alone on the Llama-3-8B shape (32 query heads, 8 KV heads, head_dim 128, bf16
// cache, each sequence's slots contiguous as a fresh allocator hands them out): one call is one
// layer. Prints microseconds per call, K+V bytes read over that time, and the 32 layers' share
// of a step, for each TANDEM_ATTN_DECODE variant.
void attention_bench(kernels::Backend& be, double bw) {
  const int nh = 32, nkv = 8, hd = 128, layers = 32, max_batch = 256, max_ctx = 2048;
  const int64_t kv_dim = int64_t{nkv} * hd;
  const size_t cache_bytes = size_t{max_batch} * max_ctx * kv_dim * 2;
  kernels::BackendBuffer kc(be, cache_bytes), vc(be, cache_bytes), q(be, size_t{max_batch} * nh * hd * 4),
      out(be, size_t{max_batch} * nh * hd * 4);
  CUDA_OK(cudaMemset(kc.get(), 0x3c, cache_bytes));
  CUDA_OK(cudaMemset(vc.get(), 0x3d, cache_bytes));
  std::mt19937 rng(3);
  std::uniform_real_distribution<float> d(-1, 1);
  std::vector<float> hq(size_t{max_batch} * nh * hd);
  for (auto& x : hq) x = d(rng);
  be.copy_to_backend(q.get(), hq.data(), hq.size() * 4);
  auto stream = static_cast<cudaStream_t>(be.native_stream());
  cudaEvent_t e0, e1;
  CUDA_OK(cudaEventCreate(&e0));
  CUDA_OK(cudaEventCreate(&e1));
  std::vector<std::string> variants = split_list(std::getenv("TANDEM_BENCH_VARIANTS"));
  if (variants.empty()) variants = {"legacy", "registers", "pipelined"};
  fmt::print("\n=== decode attention alone, Llama-3-8B shape (32/8 heads, head_dim 128, bf16 KV) ===\n");
  fmt::print("{:>5} {:>6} {:>10} {:>12} {:>10} {:>12} {:>16}\n", "ctx", "batch", "kernel", "us/layer", "GB/s",
             "% of copy", "x32 layers (ms)");
  for (int ctx : {1024, 2048})
  for (int batch : {1, 32, 128, 256}) {
    std::vector<int32_t> qo(batch + 1), cl(batch, ctx), so(batch + 1), sl(static_cast<size_t>(batch) * ctx);
    for (int i = 0; i <= batch; ++i) qo[i] = i, so[i] = i * ctx;
    for (size_t j = 0; j < sl.size(); ++j) sl[j] = static_cast<int32_t>(j);
    kernels::BackendBuffer idx(be, (qo.size() + cl.size() + so.size() + sl.size()) * 4);
    int32_t* p = idx.as<int32_t>();
    kernels::AttentionBatch ab;
    ab.num_seqs = batch;
    ab.q_offsets = p, be.copy_to_backend(p, qo.data(), qo.size() * 4), p += qo.size();
    ab.ctx_lens = p, be.copy_to_backend(p, cl.data(), cl.size() * 4), p += cl.size();
    ab.slot_offsets = p, be.copy_to_backend(p, so.data(), so.size() * 4), p += so.size();
    ab.slots = p, be.copy_to_backend(p, sl.data(), sl.size() * 4);
    ab.n_heads = nh, ab.n_kv_heads = nkv, ab.head_dim = hd, ab.scale = 1.0f / std::sqrt(float(hd));
    ab.total_q = batch, ab.max_q_len = 1, ab.max_ctx_len = ctx;
    const double bytes = 2.0 * batch * ctx * kv_dim * 2;
    for (const std::string& v : variants) {
      setenv("TANDEM_ATTN_DECODE", v.c_str(), 1);
      std::vector<double> us;
      for (int i = 0; i < 25; ++i) {
        CUDA_OK(cudaEventRecord(e0, stream));
        be.attention_half(DType::kBF16, q.as<float>(), kc.get(), vc.get(), ab, out.as<float>());
        CUDA_OK(cudaEventRecord(e1, stream));
        CUDA_OK(cudaEventSynchronize(e1));
        float t = 0;
        CUDA_OK(cudaEventElapsedTime(&t, e0, e1));
        if (i >= 5) us.push_back(t * 1e3);
      }
      const double t = median(us);
      fmt::print("{:>5} {:>6} {:>10} {:>12.1f} {:>10.0f} {:>11.0f}% {:>16.2f}\n", ctx, batch, v, t, bytes / (t * 1e3),
                 100.0 * bytes / (t * 1e3) / bw, t * layers / 1e3);
    }
  }
  unsetenv("TANDEM_ATTN_DECODE");
  // Prefill attention (tensor-core kernel) on one causal prompt, for the prefill gap: its share
  // of a prefill against the GEMMs'.
  fmt::print("prefill attention (flash_attention.cu), one causal prompt:\n");
  fmt::print("{:>6} {:>12} {:>10} {:>16}\n", "tokens", "us/layer", "TFLOP/s", "x32 layers (ms)");
  for (int len : {1024, 4096}) {
    kernels::BackendBuffer pq(be, size_t{4} * len * nh * hd), po(be, size_t{4} * len * nh * hd),
        idx(be, size_t{4} * (5 + len));
    std::vector<float> hpq(static_cast<size_t>(len) * nh * hd);
    for (auto& x : hpq) x = d(rng);
    be.copy_to_backend(pq.get(), hpq.data(), hpq.size() * 4);
    std::vector<int32_t> arr = {0, len, len, 0, len};  // q_offsets, ctx_lens, slot_offsets
    for (int j = 0; j < len; ++j) arr.push_back(j);
    be.copy_to_backend(idx.get(), arr.data(), arr.size() * 4);
    const int32_t* p = idx.as<int32_t>();
    kernels::AttentionBatch ab;
    ab.num_seqs = 1, ab.q_offsets = p, ab.ctx_lens = p + 2, ab.slot_offsets = p + 3, ab.slots = p + 5;
    ab.n_heads = nh, ab.n_kv_heads = nkv, ab.head_dim = hd, ab.scale = 1.0f / std::sqrt(float(hd));
    ab.total_q = len, ab.max_q_len = len, ab.max_ctx_len = len;
    std::vector<double> us;
    for (int i = 0; i < 12; ++i) {
      CUDA_OK(cudaEventRecord(e0, stream));
      be.attention_half(DType::kBF16, pq.as<float>(), kc.get(), vc.get(), ab, po.as<float>());
      CUDA_OK(cudaEventRecord(e1, stream));
      CUDA_OK(cudaEventSynchronize(e1));
      float t = 0;
      CUDA_OK(cudaEventElapsedTime(&t, e0, e1));
      if (i >= 2) us.push_back(t * 1e3);
    }
    const double t = median(us), flops = 4.0 * nh * hd * double(len) * (len + 1) / 2;
    fmt::print("{:>6} {:>12.1f} {:>10.1f} {:>16.2f}\n", len, t, flops / (t * 1e-6) / 1e12, t * layers / 1e3);
  }
}

int run(int argc, char** argv) {
  const std::string path = argc > 1 ? argv[1] : testing::default_model_path();
  if (kernels::cuda_device_count() == 0) {
    fmt::print("no CUDA device: nothing to time\n");
    return 1;
  }
  auto be_or = kernels::make_cuda_backend(0);
  if (!be_or.ok()) {
    fmt::print("{}\n", be_or.status().to_string());
    return 1;
  }
  kernels::Backend& be = **be_or;
  const double bw = copy_bandwidth_gbs();
  if (const char* e = std::getenv("TANDEM_BENCH_ATTN"); e && std::string(e) == "1") {
    fmt::print("device-to-device copy: {:.0f} GB/s (read + write)\n", bw);
    attention_bench(be, bw);
    return 0;
  }
  const double tflops = gemm_tflops();
  auto loaded_or = model::load_model(path, be);
  if (!loaded_or.ok()) {
    fmt::print("{}\n", loaded_or.status().to_string());
    return 1;
  }
  model::LlamaModel& m = *loaded_or->model;
  const model::ModelConfig& c = m.config();
  // bf16 parameter bytes as uploaded (tied head counted once).
  const double layer_params = double(c.hidden_size) * (c.q_dim() + 2 * c.kv_dim()) + double(c.q_dim()) * c.hidden_size +
                              3.0 * c.hidden_size * c.intermediate_size;
  const double weight_bytes = 2.0 * (layer_params * c.num_layers + double(c.vocab_size) * c.hidden_size *
                                                                       (c.tie_word_embeddings ? 1 : 2));
  // TANDEM_BENCH_CTX (default 512) and TANDEM_BENCH_BATCHES (comma list, default 1,8,32) pick the
  // decode shapes, e.g. the serving comparison's batch 128 at context 1K.
  const char* ctx_env = std::getenv("TANDEM_BENCH_CTX");
  const int ctx = ctx_env ? std::atoi(ctx_env) : 512, decode_steps = 40;
  std::vector<int> batches;
  if (const char* b_env = std::getenv("TANDEM_BENCH_BATCHES")) {
    for (const char* q = b_env; *q;) {
      batches.push_back(std::atoi(q));
      while (*q && *q != ',') ++q;
      if (*q == ',') ++q;
    }
  }
  if (batches.empty()) batches = {1, 8, 32};
  CHECK(ctx >= 1, "TANDEM_BENCH_CTX must be a positive token count, got {}", ctx);
  std::vector<DecodeResult> results;
  std::mt19937 rng(7);
  std::uniform_int_distribution<int32_t> tok(100, c.vocab_size - 1);
  std::vector<DType> kv_types = {DType::kF32, DType::kBF16};
  if (argc > 2 && std::string(argv[2]) != "both") {
    const std::optional<DType> t = dtype_from_name(argv[2]);
    if (!t || (*t != DType::kF32 && *t != DType::kBF16 && *t != DType::kF16)) {
      fmt::print("KV type '{}' is not one of f32, f16, bf16, both\n", argv[2]);
      return 2;
    }
    kv_types = {*t};
  }
  // Prefill of one prompt, second of two runs (the first sizes buffers and warms cuBLAS).
  struct Prefill {
    DType kv;
    int len;
    double ms;
  };
  std::vector<Prefill> prefills;
  std::vector<int> prefill_lens = {512, 1024, 4096};
  if (env_off("TANDEM_BENCH_PREFILL")) prefill_lens.clear();
  for (DType kvt : kv_types)
  for (int len : prefill_lens) {
    runtime::KvCache kv(c.num_layers, 2 * len, c.kv_dim(), kvt, &be);
    std::vector<float> logits(c.vocab_size);
    double t_ms = 0;
    for (int rep = 0; rep < 2; ++rep) {
      std::vector<int32_t> prompt(len), slots;
      for (auto& t : prompt) t = tok(rng);
      CHECK(kv.allocator().allocate(len, slots).ok());
      model::ForwardBatch b;
      b.add_sequence(prompt, slots);
      const auto t0 = std::chrono::steady_clock::now();
      m.forward(b, kv, logits.data());
      t_ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
    }
    prefills.push_back({kvt, len, t_ms});
  }
  std::vector<std::string> variants = split_list(std::getenv("TANDEM_BENCH_VARIANTS"));
  if (variants.empty()) variants = {""};  // the backend's default choice
  const bool plain = !env_off("TANDEM_BENCH_PLAIN");
  for (DType kvt : kv_types)
  for (int batch : batches)
  for (const std::string& variant : variants) {
    if (!variant.empty()) setenv("TANDEM_ATTN_DECODE", variant.c_str(), 1);
    double step_ms[2] = {0, 0};
    for (int graphs = plain ? 0 : 1; graphs < 2; ++graphs) {
      m.set_step_graphs(graphs == 1);
      runtime::KvCache kv(c.num_layers, batch * (ctx + decode_steps + 1), c.kv_dim(), kvt, &be);
      std::vector<std::vector<int32_t>> slots(batch);
      std::vector<float> logits(static_cast<size_t>(batch) * c.vocab_size);
      model::ForwardBatch b;
      // Fill the contexts, 8 prompts per forward (their contents do not matter for timing).
      for (int i0 = 0; i0 < batch; i0 += 8) {
        b.clear();
        for (int i = i0; i < std::min(batch, i0 + 8); ++i) {
          std::vector<int32_t> prompt(ctx);
          for (auto& t : prompt) t = tok(rng);
          CHECK(kv.allocator().allocate(ctx, slots[i]).ok());
          b.add_sequence(prompt, slots[i]);
        }
        m.forward(b, kv, logits.data());
      }
      std::vector<double> ms;
      for (int s = 0; s < decode_steps; ++s) {
        b.clear();
        for (int i = 0; i < batch; ++i) {
          CHECK(kv.allocator().allocate(1, slots[i]).ok());
          const int32_t t = tok(rng);
          b.add_sequence(std::span<const int32_t>(&t, 1), slots[i]);
        }
        const auto t0 = std::chrono::steady_clock::now();
        m.forward(b, kv, logits.data());  // ends with the logits copy back (synchronous)
        const double t = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
        if (s >= 5) ms.push_back(t);  // the first steps of a shape run plainly, then capture
      }
      step_ms[graphs] = median(ms);
    }
    const double kv_bytes = 2.0 * c.num_layers * batch * double(ctx) * c.kv_dim() * dtype_info(kvt).block_bytes;
    results.push_back({kvt, batch, variant.empty() ? "default" : variant, step_ms[0], step_ms[1],
                       (weight_bytes + kv_bytes) / (bw * 1e9) * 1e3});
  }
  unsetenv("TANDEM_ATTN_DECODE");
  fmt::print("\n=== CUDA timing table ({}) ===\n", be.name());
  fmt::print("device-to-device copy: {:.0f} GB/s (read + write)\n", bw);
  fmt::print("cuBLAS bf16 GEMM 8192^3: {:.0f} TFLOP/s\n", tflops);
  fmt::print("model: {} ({:.1f} MB bf16 weights)\n", path, weight_bytes / 1e6);
  // Matmul work of a prefill: 2 FLOPs per weight per token (attention excluded), LM head on one row.
  const double linear_params = layer_params * c.num_layers;
  fmt::print("{:>4} {:>15} {:>10} {:>12} {:>16} {:>14}\n", "KV", "prefill tokens", "ms", "tok/s",
             "matmul TFLOP/s", "% of GEMM rate");
  for (auto [kvt, len, t_ms] : prefills) {
    const double tf = 2.0 * linear_params * len / (t_ms * 1e-3) / 1e12;
    fmt::print("{:>4} {:>15} {:>10.2f} {:>12.0f} {:>16.1f} {:>13.1f}%\n", dtype_name(kvt), len, t_ms,
               len * 1e3 / t_ms, tf, 100.0 * tf / tflops);
  }
  fmt::print("decode steps, context {} per sequence; 'plain' launches every kernel, 'graph' replays a captured step\n",
             ctx);
  fmt::print("{:>4} {:>6} {:>10} {:>15} {:>15} {:>12} {:>16} {:>12}\n", "KV", "batch", "attn", "plain ms/step",
             "graph ms/step", "graph tok/s", "memory floor ms", "% of floor");
  for (const auto& r : results) {
    fmt::print("{:>4} {:>6} {:>10} {:>15.3f} {:>15.3f} {:>12.0f} {:>16.3f} {:>11.0f}%\n", dtype_name(r.kv), r.batch,
               r.variant, r.plain_ms, r.graph_ms, r.batch * 1e3 / r.graph_ms, r.floor_ms,
               100.0 * r.floor_ms / r.graph_ms);
  }
  return 0;
}

}  // namespace
}  // namespace tandem

int main(int argc, char** argv) { return tandem::run(argc, argv); }
