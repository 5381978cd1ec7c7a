// Tensor-parallel forward on GPUs, one rank per GPU, under mpirun (N = 1 is the unsharded model):
//   mpirun -np 1 tandem_tp_bench MODEL --out tp1.bin
//   mpirun -np 2 tandem_tp_bench MODEL --ref tp1.bin
// 1. Greedy check: a fixed 64-token prompt, then 32 greedy tokens (step graphs on). Rank 0 writes
//    the tokens and the prompt's last logits row to --out, or compares them with --ref (tokens equal,
//    max |logit difference| against the largest |logit|).
//    Also the noise floor of one configuration: the same prompt's logits batched with another
//    sequence against alone (different GEMM shapes, so different kernels and summation orders).
// 2. Timing: decode step at batch 1 and 64 (512-token contexts, bf16 KV, graphs on; median of 20
//    steps) and a 4096-token prefill (second of two runs) in tokens/s.
// Every rank runs the same forwards (the logits are all-gathered to every rank, so each picks the
// same greedy token). Prints one "tp_bench tp=N ..." line on rank 0.
#include <fmt/format.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <random>
#include <string>
#include <vector>

#include "kernels/cuda/cuda_backend.h"
#include "worker/model/model_loader.h"
#include "worker/runtime/kv_cache.h"
#include "worker/runtime/nccl_group.h"

namespace tandem {
namespace {

using Clock = std::chrono::steady_clock;
double ms_since(Clock::time_point t0) { return std::chrono::duration<double, std::milli>(Clock::now() - t0).count(); }
double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v[v.size() / 2];
}
int32_t argmax(const float* x, int64_t n) { return static_cast<int32_t>(std::max_element(x, x + n) - x); }

struct Greedy {
  std::vector<int32_t> tokens;
  std::vector<float> prompt_logits;
};

Greedy greedy(model::LlamaModel& m, int prompt_len, int steps) {
  const auto& c = m.config();
  runtime::KvCache kv(c.num_layers, prompt_len + steps + 1, m.local_kv_dim(), DType::kBF16, &m.backend());
  std::vector<int32_t> prompt(prompt_len), slots;
  for (int i = 0; i < prompt_len; ++i) prompt[i] = 100 + static_cast<int32_t>((i * 7919LL) % (c.vocab_size - 200));
  CHECK(kv.allocator().allocate(prompt_len, slots).ok());
  model::ForwardBatch b;
  b.add_sequence(prompt, slots);
  Greedy g;
  g.prompt_logits.resize(c.vocab_size);
  m.forward(b, kv, g.prompt_logits.data());
  int32_t t = argmax(g.prompt_logits.data(), c.vocab_size);
  std::vector<float> logits(c.vocab_size);
  for (int s = 0; s < steps; ++s) {
    g.tokens.push_back(t);
    CHECK(kv.allocator().allocate(1, slots).ok());
    b.clear();
    b.add_sequence(std::span<const int32_t>(&t, 1), slots);
    m.forward(b, kv, logits.data());
    t = argmax(logits.data(), c.vocab_size);
  }
  return g;
}

// The kernel-shape noise floor: the prompt's last logits when it shares a batch with another
// sequence (other GEMM shapes, so other cuBLAS kernels and summation orders) against `alone`.
double batched_vs_alone(model::LlamaModel& m, const Greedy& alone, int prompt_len) {
  const auto& c = m.config();
  runtime::KvCache kv(c.num_layers, 2 * prompt_len + 64, m.local_kv_dim(), DType::kBF16, &m.backend());
  std::vector<int32_t> other(48), prompt(prompt_len), s0, s1;
  for (int i = 0; i < 48; ++i) other[i] = 100 + static_cast<int32_t>((i * 104729LL) % (c.vocab_size - 200));
  for (int i = 0; i < prompt_len; ++i) prompt[i] = 100 + static_cast<int32_t>((i * 7919LL) % (c.vocab_size - 200));
  CHECK(kv.allocator().allocate(48, s0).ok() && kv.allocator().allocate(prompt_len, s1).ok());
  model::ForwardBatch b;
  b.add_sequence(other, s0);
  b.add_sequence(prompt, s1);
  std::vector<float> logits(2 * static_cast<size_t>(c.vocab_size));
  m.forward(b, kv, logits.data());
  double d = 0;
  for (int64_t i = 0; i < c.vocab_size; ++i) {
    d = std::max(d, double(std::fabs(logits[c.vocab_size + i] - alone.prompt_logits[i])));
  }
  return d;
}

double decode_ms(model::LlamaModel& m, int batch, int ctx, int steps) {
  const auto& c = m.config();
  runtime::KvCache kv(c.num_layers, batch * (ctx + steps + 1), m.local_kv_dim(), DType::kBF16, &m.backend());
  std::mt19937 rng(7);  // same seed on every rank: the same batch everywhere
  std::uniform_int_distribution<int32_t> tok(100, c.vocab_size - 1);
  std::vector<std::vector<int32_t>> slots(batch);
  std::vector<float> logits(static_cast<size_t>(batch) * c.vocab_size);
  model::ForwardBatch b;
  for (int i = 0; i < batch; ++i) {
    std::vector<int32_t> prompt(ctx);
    for (auto& t : prompt) t = tok(rng);
    CHECK(kv.allocator().allocate(ctx, slots[i]).ok());
    b.clear();
    b.add_sequence(prompt, slots[i]);
    m.forward(b, kv, logits.data());
  }
  std::vector<double> ms;
  for (int s = 0; s < steps; ++s) {
    b.clear();
    for (int i = 0; i < batch; ++i) {
      CHECK(kv.allocator().allocate(1, slots[i]).ok());
      const int32_t t = tok(rng);
      b.add_sequence(std::span<const int32_t>(&t, 1), slots[i]);
    }
    const auto t0 = Clock::now();
    m.forward(b, kv, logits.data());  // ends with the logits copy back (synchronous)
    if (s >= steps - 20) ms.push_back(ms_since(t0));
  }
  return median(ms);
}

double prefill_tok_s(model::LlamaModel& m, int len) {
  const auto& c = m.config();
  runtime::KvCache kv(c.num_layers, 2 * len, m.local_kv_dim(), DType::kBF16, &m.backend());
  std::mt19937 rng(11);
  std::uniform_int_distribution<int32_t> tok(100, c.vocab_size - 1);
  std::vector<float> logits(c.vocab_size);
  double ms = 0;
  for (int rep = 0; rep < 2; ++rep) {
    std::vector<int32_t> prompt(len), slots;
    for (auto& t : prompt) t = tok(rng);
    CHECK(kv.allocator().allocate(len, slots).ok());
    model::ForwardBatch b;
    b.add_sequence(prompt, slots);
    const auto t0 = Clock::now();
    m.forward(b, kv, logits.data());
    ms = ms_since(t0);
  }
  return len / (ms * 1e-3);
}

void write_ref(const std::string& path, const Greedy& g) {
  FILE* f = std::fopen(path.c_str(), "wb");
  CHECK(f != nullptr, "cannot write {}", path);
  const int32_t nt = static_cast<int32_t>(g.tokens.size()), nv = static_cast<int32_t>(g.prompt_logits.size());
  std::fwrite(&nt, 4, 1, f), std::fwrite(&nv, 4, 1, f);
  std::fwrite(g.tokens.data(), 4, nt, f), std::fwrite(g.prompt_logits.data(), 4, nv, f);
  std::fclose(f);
}

// "tokens=32/32 first_diff=-1 max_abs=... max_ref=..." against the file of an earlier run.
std::string compare_ref(const std::string& path, const Greedy& g) {
  FILE* f = std::fopen(path.c_str(), "rb");
  if (!f) return fmt::format("no reference at {}", path);
  int32_t nt = 0, nv = 0;
  CHECK(std::fread(&nt, 4, 1, f) == 1 && std::fread(&nv, 4, 1, f) == 1, "short reference");
  std::vector<int32_t> tokens(nt);
  std::vector<float> logits(nv);
  CHECK(std::fread(tokens.data(), 4, nt, f) == size_t(nt) && std::fread(logits.data(), 4, nv, f) == size_t(nv),
        "short reference");
  std::fclose(f);
  CHECK(nt == static_cast<int32_t>(g.tokens.size()) && nv == static_cast<int32_t>(g.prompt_logits.size()),
        "reference shape {}x{} differs", nt, nv);
  int same = 0, first_diff = -1;
  for (int i = 0; i < nt; ++i) {
    if (tokens[i] == g.tokens[i]) ++same;
    else if (first_diff < 0) first_diff = i;
  }
  double max_abs = 0, max_ref = 0;
  for (int i = 0; i < nv; ++i) {
    max_abs = std::max(max_abs, double(std::fabs(logits[i] - g.prompt_logits[i])));
    max_ref = std::max(max_ref, double(std::fabs(logits[i])));
  }
  return fmt::format("tokens_equal={}/{} first_diff={} prompt_logits_max_abs_diff={:.3g} max_abs_logit={:.3g}", same,
                     nt, first_diff, max_abs, max_ref);
}

int run(int argc, char** argv) {
  if (argc < 2) {
    fmt::print(stderr, "usage: mpirun -np N tandem_tp_bench MODEL [--out FILE | --ref FILE] [--no-timing]\n");
    return 2;
  }
  const std::string path = argv[1];
  std::string out, ref;
  bool timing = true;
  for (int i = 2; i < argc; ++i) {
    const std::string a = argv[i];
    if (a == "--out" && i + 1 < argc) out = argv[++i];
    else if (a == "--ref" && i + 1 < argc) ref = argv[++i];
    else if (a == "--no-timing") timing = false;
  }
  auto mpi = runtime::MpiSession::start();
  CHECK(mpi.ok(), "{}", mpi.status().to_string());
  const int R = (*mpi)->rank(), N = (*mpi)->size();
  auto be = kernels::make_cuda_backend(runtime::local_rank_from_env());
  CHECK(be.ok(), "{}", be.status().to_string());
  std::unique_ptr<runtime::ProcessGroup> group;
  if (N > 1) {
    auto g = runtime::make_process_group(**mpi, **be, "");
    CHECK(g.ok(), "{}", g.status().to_string());
    group = std::move(*g);
  }
  const auto t_load = Clock::now();
  auto loaded = model::load_model(path, **be, group.get());
  CHECK(loaded.ok(), "{}", loaded.status().to_string());
  model::LlamaModel& m = *loaded->model;
  const double load_s = ms_since(t_load) / 1e3;
  m.set_step_graphs(true);
  const Greedy g = greedy(m, 64, 32);
  const double noise = batched_vs_alone(m, g, 64);
  std::string check = "tokens=" + fmt::format("{}", fmt::join(g.tokens, ","));
  if (R == 0 && !out.empty()) write_ref(out, g);
  if (R == 0 && !ref.empty()) check = compare_ref(ref, g);
  std::string times;
  if (timing) {
    const double b1 = decode_ms(m, 1, 512, 30), b64 = decode_ms(m, 64, 512, 30);
    const double pf = prefill_tok_s(m, 4096);
    times = fmt::format(" decode_b1_ms={:.2f} decode_b64_ms={:.2f} prefill4096_tok_s={:.0f}", b1, b64, pf);
  }
  if (R == 0) {
    fmt::print("tp_bench tp={} layers={} load_s={:.1f} {} batched_vs_alone_max_abs_diff={:.3g}{}\n", N,
               m.config().num_layers, load_s, check, noise, times);
  }
  std::fflush(stdout);
  loaded->model.reset();
  group.reset();
  return 0;
}

}  // namespace
}  // namespace tandem

int main(int argc, char** argv) { return tandem::run(argc, argv); }
