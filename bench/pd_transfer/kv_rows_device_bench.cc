// tandem_bench_kv_rows_device: how fast a device KV cache's rows leave and enter it for a PD
// transfer (worker/pd kv_rows: slot upload, gather_slots of every layer into one device buffer,
// one copy into a pinned block the transport sends from; scatter the reverse), against plain
// device->host copies of the same bytes into pinned and pageable memory measured in the same run. Slots are a shuffled permutation (a radix cache's pages are not
// contiguous). Without --device cuda it measures the host path.
//
// Usage: tandem_bench_kv_rows_device [--device cuda] [--tokens N] [--layers N] [--kv-heads N]
//                                    [--head-dim N] [--dtype bf16|f16|f32] [--iterations N]
#include <fmt/format.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <numeric>
#include <random>
#include <string>
#include <vector>

#include "kernels/backend.h"
#include "worker/pd/kv_rows.h"

namespace {

using namespace tandem;
using Clock = std::chrono::steady_clock;

struct Args {
  std::string device = "cpu";
  int tokens = 4096, layers = 32, kv_heads = 8, head_dim = 128, iterations = 5;
  std::string dtype = "bf16";
};

template <typename F>
double best_seconds(int iterations, F&& f) {
  double best = 1e30;
  for (int i = 0; i < iterations; ++i) {
    const auto t0 = Clock::now();
    f();
    best = std::min(best, std::chrono::duration<double>(Clock::now() - t0).count());
  }
  return best;
}

int run(const Args& a) {
  auto be_or = kernels::make_backend(a.device, 0);
  if (!be_or.ok()) {
    fmt::print(stderr, "{}\n", be_or.status().to_string());
    return 1;
  }
  kernels::Backend& be = **be_or;
  const DType dt = a.dtype == "f32" ? DType::kF32 : a.dtype == "f16" ? DType::kF16 : DType::kBF16;
  const int kv_dim = a.kv_heads * a.head_dim;
  const int32_t num_slots = a.tokens * 2;
  runtime::KvCache src(a.layers, num_slots, kv_dim, dt, &be), dst(a.layers, num_slots, kv_dim, dt, &be);
  std::vector<int32_t> perm(num_slots);
  std::iota(perm.begin(), perm.end(), 0);
  std::mt19937 rng(1);
  std::shuffle(perm.begin(), perm.end(), rng);
  const std::vector<int32_t> slots(perm.begin(), perm.begin() + a.tokens);
  const std::vector<int32_t> dst_slots(perm.begin() + a.tokens, perm.end());
  // Fill the source rows so the check below compares something.
  const size_t rb = row_bytes(dt, kv_dim), layer_bytes = static_cast<size_t>(num_slots) * rb;
  std::vector<uint8_t> fill(layer_bytes);
  for (auto& b : fill) b = static_cast<uint8_t>(rng());
  for (int l = 0; l < a.layers; ++l) {
    be.copy_to_backend(src.k(l), fill.data(), layer_bytes);
    be.copy_to_backend(src.v(l), fill.data(), layer_bytes);
  }
  be.synchronize();

  auto src_io = pd::local_kv_row_io(src);
  auto dst_io = pd::local_kv_row_io(dst);
  std::shared_ptr<pd::KvStaging> staged;
  const double gather_s = best_seconds(a.iterations, [&] { staged = src_io->gather(slots, 0); });
  pd::KvRows rows;
  rows.num_tokens = staged->num_tokens;
  rows.layer_end = a.layers;
  for (int l = 0; l < a.layers; ++l) {
    rows.k.emplace_back(staged->k(l), staged->block_bytes());
    rows.v.emplace_back(staged->v(l), staged->block_bytes());
  }
  bool ok = true;
  const double scatter_s = best_seconds(a.iterations, [&] { ok = ok && dst_io->scatter(rows, dst_slots).ok(); });
  // Round trip check: gather the destination slots again, bytes must equal the first gather.
  auto back = dst_io->gather(dst_slots, 0);
  const bool equal = ok && back->size() == staged->size() &&
                     std::memcmp(back->data(), staged->data(), staged->size()) == 0;

  const size_t bytes = staged->size();
  kernels::BackendBuffer dev(be, bytes);
  be.copy_to_backend(dev.get(), staged->data(), bytes);
  void* pinned = be.alloc_host_pinned(bytes);
  std::vector<uint8_t> pageable(bytes);
  const double d2h_pinned_s = best_seconds(a.iterations, [&] { be.copy_to_host(pinned, dev.get(), bytes); });
  const double d2h_pageable_s =
      best_seconds(a.iterations, [&] { be.copy_to_host(pageable.data(), dev.get(), bytes); });
  const double h2d_pinned_s = best_seconds(a.iterations, [&] {
    be.copy_to_backend(dev.get(), pinned, bytes);
    be.synchronize();
  });
  be.free_host_pinned(pinned);

  const double gb = bytes / 1e9;
  fmt::print("kv rows on {}: {} tokens x {} layers x {} kv heads x {} dim {} = {:.1f} MiB K+V (best of {})\n",
             be.name(), a.tokens, a.layers, a.kv_heads, a.head_dim, dtype_name(dt), bytes / 1048576.0, a.iterations);
  fmt::print("  gather  (slots -> device buffer -> pinned staging):    {:8.2f} ms  {:6.1f} GB/s\n", gather_s * 1e3,
             gb / gather_s);
  fmt::print("  scatter (frames -> pinned -> device buffer -> slots):  {:8.2f} ms  {:6.1f} GB/s\n", scatter_s * 1e3,
             gb / scatter_s);
  fmt::print("  plain copy device->pinned host:                      {:8.2f} ms  {:6.1f} GB/s\n",
             d2h_pinned_s * 1e3, gb / d2h_pinned_s);
  fmt::print("  plain copy device->pageable host:                    {:8.2f} ms  {:6.1f} GB/s\n",
             d2h_pageable_s * 1e3, gb / d2h_pageable_s);
  fmt::print("  plain copy pinned host->device:                      {:8.2f} ms  {:6.1f} GB/s\n",
             h2d_pinned_s * 1e3, gb / h2d_pinned_s);
  fmt::print("  round trip bytes equal: {}\n", equal ? "yes" : "NO");
  return equal ? 0 : 1;
}

}  // namespace

int main(int argc, char** argv) {
  Args a;
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string k = argv[i], v = argv[i + 1];
    if (k == "--device") a.device = v;
    else if (k == "--tokens") a.tokens = std::stoi(v);
    else if (k == "--layers") a.layers = std::stoi(v);
    else if (k == "--kv-heads") a.kv_heads = std::stoi(v);
    else if (k == "--head-dim") a.head_dim = std::stoi(v);
    else if (k == "--dtype") a.dtype = v;
    else if (k == "--iterations") a.iterations = std::stoi(v);
    else {
      fmt::print(stderr, "unknown option {}\n", k);
      return 2;
    }
  }
  return run(a);
}
