// tandem_bench_kv_transfer: how fast the PD transport moves one request's KV cache between two
// transports in one process over loopback (tcp and ipc), against a plain memcpy of the same bytes
// measured in the same run. Shape: a Llama-3-8B-like cache (32 layers x 8 kv heads x 128 dim, bf16)
// for 2,048 tokens = 256 MiB of K+V, sent as per-layer chunks (one KvChunk of 2 frames per layer,
// as a prefill worker overlapping transfer with compute would) followed by Done.
//
// "transfer": first chunk handed to the prefill transport -> Done seen by the decode engine-side
// poll with every chunk received (frames are zero-copy on both ends). "+ scatter": the same plus
// copying every received frame into a destination buffer (what the decode engine's scatter does).
//
// Usage: tandem_bench_kv_transfer [--iterations N] [--tokens N] [--layers N] [--kv-heads N]
//                                 [--head-dim N]
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <cstring>
#include <mutex>
#include <random>
#include <string>
#include <vector>

#include <fmt/format.h>

#include "worker/pd/kv_transfer.h"

namespace {

using Clock = std::chrono::steady_clock;
using namespace tandem;

struct Args {
  int iterations = 10;
  int tokens = 2048;
  int layers = 32;
  int kv_heads = 8;
  int head_dim = 128;
};

struct Result {
  double transfer_s = 0;  // median
  double scatter_s = 0;   // median, transfer + copy into the destination
  double best_transfer_s = 0;
};

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v[v.size() / 2];
}

// Wakes the bench when a transport reports progress.
struct Signal {
  std::mutex mu;
  std::condition_variable cv;
  uint64_t n = 0;
  void fire() {
    std::lock_guard<std::mutex> l(mu);
    ++n;
    cv.notify_all();
  }
  void wait_change(uint64_t& seen) {
    std::unique_lock<std::mutex> l(mu);
    cv.wait_for(l, std::chrono::milliseconds(5), [&] { return n != seen; });
    seen = n;
  }
};

Result run(const std::string& bind, const Args& a, const std::vector<std::shared_ptr<pd::KvStaging>>& layers,
           std::vector<uint8_t>& dest) {
  pd::KvLayout layout;
  layout.num_layers = a.layers;
  layout.kv_heads = a.kv_heads;
  layout.head_dim = a.head_dim;
  layout.dtype = DType::kBF16;
  pd::TransferOptions opts;
  auto prefill = pd::make_prefill_transport("zmq", bind, layout, opts);
  if (!prefill.ok()) {
    fmt::print(stderr, "{}\n", prefill.status().to_string());
    std::exit(1);
  }
  auto decode = pd::make_decode_transport("zmq", layout, opts);
  Signal sig;
  (*decode)->set_listener([&] { sig.fire(); });
  (*prefill)->set_listener([&] { sig.fire(); });

  std::vector<double> transfer, scatter;
  for (int it = 0; it < a.iterations + 1; ++it) {  // iteration 0 warms up the connection
    const int32_t room = it;
    (void)(*decode)->reserve(room, {"bench", (*prefill)->endpoint(), a.tokens});
    (void)(*prefill)->open_room(room, "bench");
    uint64_t seen = 0;
    while ((*prefill)->poll(room).state != pd::RoomState::kWaitingForInput) sig.wait_change(seen);
    while ((*decode)->poll(room).state != pd::RoomState::kWaitingForInput) sig.wait_change(seen);

    const Clock::time_point t0 = Clock::now();
    for (const auto& l : layers) (*prefill)->send_chunk(room, l);
    (*prefill)->send_done(room, pd::FirstToken{});
    size_t received = 0;
    std::vector<pd::KvRows> chunks;
    Clock::time_point t1;
    while (true) {
      pd::RoomUpdate u = (*decode)->poll(room);
      for (auto& c : u.chunks) chunks.push_back(std::move(c));
      if (u.state == pd::RoomState::kSuccess) {
        t1 = Clock::now();
        break;
      }
      if (u.state == pd::RoomState::kFailed) {
        fmt::print(stderr, "transfer failed: {}\n", u.reason);
        std::exit(1);
      }
      sig.wait_change(seen);
    }
    // The decode engine's scatter: every frame into its place in the destination.
    size_t off = 0;
    for (const pd::KvRows& c : chunks) {
      for (size_t i = 0; i < c.k.size(); ++i) {
        std::memcpy(dest.data() + off, c.k[i].data(), c.k[i].size());
        off += c.k[i].size();
        std::memcpy(dest.data() + off, c.v[i].data(), c.v[i].size());
        off += c.v[i].size();
      }
      received += c.k.size();
    }
    const Clock::time_point t2 = Clock::now();
    if (received != static_cast<size_t>(a.layers) || off != dest.size()) {
      fmt::print(stderr, "received {} layers / {} bytes, expected {} / {}\n", received, off, a.layers, dest.size());
      std::exit(1);
    }
    (*decode)->ack(room);
    while ((*prefill)->poll(room).state != pd::RoomState::kSuccess) sig.wait_change(seen);
    (*prefill)->close_room(room);
    if (it == 0) continue;
    transfer.push_back(std::chrono::duration<double>(t1 - t0).count());
    scatter.push_back(std::chrono::duration<double>(t2 - t0).count());
  }
  (*decode)->set_listener(nullptr);
  (*prefill)->set_listener(nullptr);
  return {median(transfer), median(scatter), *std::min_element(transfer.begin(), transfer.end())};
}

}  // namespace

int main(int argc, char** argv) {
  Args a;
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string k = argv[i];
    const int v = std::atoi(argv[i + 1]);
    if (k == "--iterations") a.iterations = std::max(1, v);
    else if (k == "--tokens") a.tokens = v;
    else if (k == "--layers") a.layers = v;
    else if (k == "--kv-heads") a.kv_heads = v;
    else if (k == "--head-dim") a.head_dim = v;
    else {
      fmt::print(stderr, "unknown flag {}\n", k);
      return 2;
    }
  }
  const size_t row = static_cast<size_t>(a.kv_heads) * a.head_dim * 2;  // bf16
  const size_t total = 2ull * a.layers * a.tokens * row;
  std::vector<std::shared_ptr<pd::KvStaging>> layers;
  std::mt19937 rng(1);
  for (int l = 0; l < a.layers; ++l) {
    auto s = std::make_shared<pd::KvStaging>();
    s->first_token_index = 0;
    s->num_tokens = a.tokens;
    s->layer_begin = l;
    s->layer_end = l + 1;
    s->row_bytes = row;
    s->bytes.resize(2 * s->block_bytes());
    for (size_t i = 0; i < s->bytes.size(); i += 64) s->bytes[i] = static_cast<uint8_t>(rng());
    layers.push_back(std::move(s));
  }
  std::vector<uint8_t> dest(total, 1);

  // memcpy of the same bytes (same per-layer pieces into one destination), best and median.
  std::vector<double> mc;
  for (int it = 0; it < a.iterations + 1; ++it) {
    const Clock::time_point t0 = Clock::now();
    size_t off = 0;
    for (const auto& l : layers) {
      std::memcpy(dest.data() + off, l->bytes.data(), l->bytes.size());
      off += l->bytes.size();
    }
    if (it > 0) mc.push_back(std::chrono::duration<double>(Clock::now() - t0).count());
  }
  const double memcpy_s = median(mc);
  const double gb = static_cast<double>(total) / 1e9;

  fmt::print("KV: {} layers x {} kv heads x {} dim bf16, {} tokens = {:.1f} MiB (K+V), {} per-layer chunks, "
             "{} iterations (median)\n\n",
             a.layers, a.kv_heads, a.head_dim, a.tokens, static_cast<double>(total) / (1 << 20), a.layers,
             a.iterations);
  fmt::print("| path | latency ms | GB/s | vs memcpy |\n|---|---:|---:|---:|\n");
  fmt::print("| memcpy (same bytes, one thread) | {:.1f} | {:.2f} | 1.00 |\n", memcpy_s * 1e3, gb / memcpy_s);
  const std::string ipc = fmt::format("ipc:///tmp/tandem-bench-kv-{}", getpid());
  for (const auto& [name, bind] : {std::pair<std::string, std::string>{"zmq tcp loopback", "tcp://127.0.0.1:0"},
                                   {"zmq ipc", ipc}}) {
    const Result r = run(bind, a, layers, dest);
    fmt::print("| {} transfer | {:.1f} | {:.2f} | {:.2f} |\n", name, r.transfer_s * 1e3, gb / r.transfer_s,
               memcpy_s / r.transfer_s);
    fmt::print("| {} transfer + scatter | {:.1f} | {:.2f} | {:.2f} |\n", name, r.scatter_s * 1e3,
               gb / r.scatter_s, memcpy_s / r.scatter_s);
  }
  unlink(ipc.substr(6).c_str());
  return 0;
}
