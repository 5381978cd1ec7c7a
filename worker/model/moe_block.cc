// The mixture-of-experts MLP of LlamaModel. Routing runs on the host: the router logits ([T, E]
// floats) come back from the backend → softmax over all experts → the top experts_per_token (ties
// to the lower index) → weights, renormalised over the chosen ones when norm_topk_prob. Every rank
// routes every token the same way (same inputs, same code), so routing needs no communication and
// the load counts are exact on every rank. Everything else stays in the backend's memory (host or
// device): row lists go up once per layer, rows are gathered per expert, the experts run as
// ordinary linears, and add_rows_weighted adds their outputs into the token rows. The host round
// trip per layer keeps MoE steps out of CUDA graphs (LlamaModel::forward does not capture them).
//
// Experts tensor parallel: each rank runs every expert on its slice of the expert's rows; the
// partial sums are all-reduced with the rest. Expert parallel: rank r dispatches its share of the
// tokens (share_of(T)) to the ranks owning their experts — rows [expert id, x] through
// exchange_counts + all_to_all_v — those ranks run their experts and send the outputs back in the
// same order, and r adds them up with the routing weights; one all-reduce of the [T, hidden] output
// (zero outside each rank's tokens, plus the shared expert's partial sums) makes it whole everywhere.
#include <algorithm>
#include <cmath>
#include <cstring>
#include <numeric>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "common/check.h"
#include "worker/model/llama_model.h"

namespace tandem::model {

struct LlamaModel::MoeScratch {
  // Host.
  std::vector<float> router_h;          // [T, E]
  std::vector<int32_t> top;             // [T, k] expert ids
  std::vector<float> weight;            // [T, k]
  std::vector<int32_t> idx_h;           // row lists of one upload
  std::vector<float> val_h;             // their weights (or expert ids)
  // Backend memory.
  kernels::BackendBuffer router, idx, val, xs, ys, gate_up, act, send, recv, ids, rows_x, reply, back, shared, gate;
};

LlamaModel::~LlamaModel() = default;

std::vector<std::vector<int64_t>> LlamaModel::expert_load() const {
  std::vector<std::vector<int64_t>> out(config_.num_layers);
  if (!expert_counts_) return out;
  for (int l = 0; l < config_.num_layers; ++l) {
    out[l].resize(config_.num_experts);
    for (int e = 0; e < config_.num_experts; ++e) {
      out[l][e] = expert_counts_[static_cast<size_t>(l) * config_.num_experts + e].load(std::memory_order_relaxed);
    }
  }
  return out;
}

std::string LlamaModel::expert_load_report() const {
  std::string out;
  const auto load = expert_load();
  for (int l = 0; l < config_.num_layers; ++l) {
    if (!config_.is_moe_layer(l)) continue;
    const auto& c = load[l];
    const int64_t total = std::accumulate(c.begin(), c.end(), int64_t{0});
    const auto [lo, hi] = std::minmax_element(c.begin(), c.end());
    const double mean = static_cast<double>(total) / c.size();
    out += fmt::format("expert load layer {}: {} routed, expert {} busiest ({}), expert {} idlest ({}), "
                       "max/mean {:.2f}, per expert [{}]\n",
                       l, total, hi - c.begin(), *hi, lo - c.begin(), *lo, mean > 0 ? *hi / mean : 0.0,
                       fmt::join(c, ", "));
  }
  return out;
}

void LlamaModel::mlp_rows(const BLinear& gate_up, const BLinear& down, const float* x, int64_t n, float* y) {
  const int64_t ff = gate_up.out_features / 2;
  MoeScratch& s = *moe_;
  grow(s.gate_up, static_cast<size_t>(n * 2 * ff) * sizeof(float));
  grow(s.act, static_cast<size_t>(n * ff) * sizeof(float));
  linear(x, n, gate_up, s.gate_up.as<float>());
  be_.silu_mul(s.gate_up.as<float>(), n, ff, s.act.as<float>());
  linear(s.act.as<float>(), n, down, y);
}

// Copies s.idx_h and s.val_h into backend memory (s.idx, s.val).
void LlamaModel::moe_upload_lists() {
  MoeScratch& s = *moe_;
  grow(s.idx, std::max<size_t>(s.idx_h.size(), 1) * sizeof(int32_t));
  grow(s.val, std::max<size_t>(s.val_h.size(), 1) * sizeof(float));
  be_.copy_to_backend(s.idx.get(), s.idx_h.data(), s.idx_h.size() * sizeof(int32_t));
  be_.copy_to_backend(s.val.get(), s.val_h.data(), s.val_h.size() * sizeof(float));
}

// Runs local expert `local` on rows [begin, end) of the uploaded list (row indices into src) and
// adds weight × output into the same rows of dst.
void LlamaModel::moe_run_expert(const BLayer::Moe& m, int local, const float* src, int64_t begin, int64_t end,
                                float* dst) {
  const int64_t n = end - begin, H = config_.hidden_size;
  if (n <= 0) return;
  MoeScratch& s = *moe_;
  grow(s.xs, static_cast<size_t>(n * H) * sizeof(float));
  grow(s.ys, static_cast<size_t>(n * H) * sizeof(float));
  const int32_t* rows = s.idx.as<int32_t>() + begin;
  be_.gather_rows(src, H, rows, n, s.xs.as<float>());
  mlp_rows(m.experts[local].first, m.experts[local].second, s.xs.as<float>(), n, s.ys.as<float>());
  be_.add_rows_weighted(s.ys.as<float>(), H, rows, s.val.as<float>() + begin, n, dst);
}

void LlamaModel::moe_mlp(int layer, const BLayer::Moe& m, const float* x, int64_t T, float* out) {
  const ModelConfig& c = config_;
  const int64_t H = c.hidden_size, E = c.num_experts, K = c.experts_per_token;
  const size_t f = sizeof(float);
  if (!moe_) moe_ = std::make_shared<MoeScratch>();
  MoeScratch& s = *moe_;

  // Route every token.
  grow(s.router, static_cast<size_t>(T * E) * f);
  linear(x, T, m.router, s.router.as<float>());
  s.router_h.resize(static_cast<size_t>(T * E));
  be_.copy_to_host(s.router_h.data(), s.router.get(), static_cast<size_t>(T * E) * f);
  s.top.resize(static_cast<size_t>(T * K));
  s.weight.resize(static_cast<size_t>(T * K));
  std::vector<int32_t> order(E);
  for (int64_t t = 0; t < T; ++t) {
    const float* z = s.router_h.data() + t * E;
    const float mx = *std::max_element(z, z + E);
    double total = 0;
    for (int64_t e = 0; e < E; ++e) total += std::exp(static_cast<double>(z[e] - mx));
    std::iota(order.begin(), order.end(), 0);
    std::partial_sort(order.begin(), order.begin() + K, order.end(),
                      [&](int32_t a, int32_t b) { return z[a] > z[b] || (z[a] == z[b] && a < b); });
    double chosen = 0;
    for (int64_t j = 0; j < K; ++j) {
      const double p = std::exp(static_cast<double>(z[order[j]] - mx)) / total;
      s.top[t * K + j] = order[j];
      s.weight[t * K + j] = static_cast<float>(p);
      chosen += p;
      expert_counts_[static_cast<size_t>(layer) * E + order[j]].fetch_add(1, std::memory_order_relaxed);
    }
    if (c.norm_topk_prob) {
      for (int64_t j = 0; j < K; ++j) s.weight[t * K + j] = static_cast<float>(s.weight[t * K + j] / chosen);
    }
  }

  be_.fill_zero(out, static_cast<size_t>(T * H) * f);
  if (!sh_.ep || !pg_) {
    // Every expert here (whole, or this rank's rows of each): one list of (token, weight) per
    // expert, all uploaded at once. A token picks an expert at most once, so rows are distinct.
    s.idx_h.clear(), s.val_h.clear();
    std::vector<int64_t> begin(sh_.num_experts + 1, 0);
    for (int local = 0; local < sh_.num_experts; ++local) {
      const int32_t e = sh_.expert_begin + local;
      begin[local] = static_cast<int64_t>(s.idx_h.size());
      for (int64_t t = 0; t < T; ++t) {
        for (int64_t j = 0; j < K; ++j) {
          if (s.top[t * K + j] == e) s.idx_h.push_back(static_cast<int32_t>(t)), s.val_h.push_back(s.weight[t * K + j]);
        }
      }
    }
    begin[sh_.num_experts] = static_cast<int64_t>(s.idx_h.size());
    moe_upload_lists();
    for (int local = 0; local < sh_.num_experts; ++local) {
      moe_run_expert(m, local, x, begin[local], begin[local + 1], out);
    }
  } else {
    moe_expert_parallel(m, x, T, out);
  }

  // Shared expert (split like a dense MLP), gated per token by sigmoid(x · w).
  if (!m.shared_gate_up.parts.empty()) {
    grow(s.shared, static_cast<size_t>(T * H) * f);
    grow(s.gate, static_cast<size_t>(T) * f);
    mlp_rows(m.shared_gate_up, m.shared_down, x, T, s.shared.as<float>());
    linear(x, T, m.shared_gate, s.gate.as<float>());
    std::vector<float> gate(static_cast<size_t>(T));
    be_.copy_to_host(gate.data(), s.gate.get(), static_cast<size_t>(T) * f);
    s.idx_h.resize(static_cast<size_t>(T));
    s.val_h.resize(static_cast<size_t>(T));
    for (int64_t t = 0; t < T; ++t) {
      s.idx_h[t] = static_cast<int32_t>(t);
      s.val_h[t] = 1.0f / (1.0f + std::exp(-gate[t]));
    }
    moe_upload_lists();
    be_.add_rows_weighted(s.shared.as<float>(), H, s.idx.as<int32_t>(), s.val.as<float>(), T, out);
  }
  if (pg_) pg_->all_reduce_sum(out, T * H);
}

// Expert parallel: dispatch this rank's tokens to the experts' owners, run what arrives, return the
// outputs and add them with the routing weights.
void LlamaModel::moe_expert_parallel(const BLayer::Moe& m, const float* x, int64_t T, float* out) {
  const ModelConfig& c = config_;
  const int64_t H = c.hidden_size, E = c.num_experts, K = c.experts_per_token;
  const size_t f = sizeof(float);
  MoeScratch& s = *moe_;
  const int P = sh_.size;
  const runtime::Share mine = runtime::share_of(T, sh_.rank, P);
  std::vector<int> owner(E);
  for (int r = 0; r < P; ++r) {
    const runtime::Share es = runtime::share_of(E, r, P);
    for (int64_t e = es.begin; e < es.end(); ++e) owner[e] = r;
  }
  // Pairs (token, slot j) grouped by destination rank, in a fixed order.
  std::vector<std::vector<std::pair<int32_t, int32_t>>> by_rank(P);
  for (int64_t t = mine.begin; t < mine.end(); ++t) {
    for (int64_t j = 0; j < K; ++j) by_rank[owner[s.top[t * K + j]]].emplace_back(static_cast<int32_t>(t), j);
  }
  // Dispatched rows [expert id, x row], built in backend memory: gather x by token, then lay the
  // ids and the rows side by side with strided copies.
  const int64_t W = H + 1;
  std::vector<int64_t> send_counts(P), recv_counts(P);
  s.idx_h.clear(), s.val_h.clear();
  for (int r = 0; r < P; ++r) {
    send_counts[r] = static_cast<int64_t>(by_rank[r].size()) * W;
    for (auto [t, j] : by_rank[r]) s.idx_h.push_back(t), s.val_h.push_back(static_cast<float>(s.top[t * K + j]));
  }
  const int64_t n_send = static_cast<int64_t>(s.idx_h.size());
  moe_upload_lists();
  grow(s.xs, static_cast<size_t>(std::max<int64_t>(n_send, 1) * H) * f);
  grow(s.send, static_cast<size_t>(std::max<int64_t>(n_send, 1) * W) * f);
  be_.gather_rows(x, H, s.idx.as<int32_t>(), n_send, s.xs.as<float>());
  be_.copy_2d(s.send.as<float>() + 1, W * f, s.xs.get(), H * f, H * f, n_send);
  be_.copy_2d(s.send.get(), W * f, s.val.get(), f, f, n_send);
  pg_->exchange_counts(send_counts, recv_counts);
  const int64_t received = std::accumulate(recv_counts.begin(), recv_counts.end(), int64_t{0});
  const int64_t n_in = received / W;
  grow(s.recv, static_cast<size_t>(std::max<int64_t>(received, 1)) * f);
  pg_->all_to_all_v(s.send.as<float>(), send_counts, s.recv.as<float>(), recv_counts);

  // Split the received rows into expert ids (to the host) and x rows; run each local expert on its
  // rows, writing the outputs in arrival order (weight 1 into a zeroed reply).
  grow(s.ids, static_cast<size_t>(std::max<int64_t>(n_in, 1)) * f);
  grow(s.rows_x, static_cast<size_t>(std::max<int64_t>(n_in, 1) * H) * f);
  grow(s.reply, static_cast<size_t>(std::max<int64_t>(n_in, 1) * H) * f);
  be_.copy_2d(s.ids.get(), f, s.recv.get(), W * f, f, n_in);
  be_.copy_2d(s.rows_x.get(), H * f, s.recv.as<float>() + 1, W * f, H * f, n_in);
  be_.fill_zero(s.reply.get(), static_cast<size_t>(n_in * H) * f);
  std::vector<float> ids(static_cast<size_t>(n_in));
  be_.copy_to_host(ids.data(), s.ids.get(), static_cast<size_t>(n_in) * f);
  s.idx_h.clear(), s.val_h.clear();
  std::vector<int64_t> begin(sh_.num_experts + 1, 0);
  for (int local = 0; local < sh_.num_experts; ++local) {
    const int32_t e = sh_.expert_begin + local;
    begin[local] = static_cast<int64_t>(s.idx_h.size());
    for (int64_t i = 0; i < n_in; ++i) {
      const auto id = static_cast<int32_t>(ids[i]);
      CHECK(id >= sh_.expert_begin && id < sh_.expert_begin + sh_.num_experts,
            "rank {} received a row for expert {}, which it does not hold", sh_.rank, id);
      if (id == e) s.idx_h.push_back(static_cast<int32_t>(i)), s.val_h.push_back(1.0f);
    }
  }
  begin[sh_.num_experts] = static_cast<int64_t>(s.idx_h.size());
  moe_upload_lists();
  for (int local = 0; local < sh_.num_experts; ++local) {
    moe_run_expert(m, local, s.rows_x.as<float>(), begin[local], begin[local + 1], s.reply.as<float>());
  }

  // Outputs go back the way the rows came, then into the token rows: one add per routing slot j
  // (a token's rows are distinct within one j).
  std::vector<int64_t> back_send(P), back_recv(P);
  for (int r = 0; r < P; ++r) {
    back_send[r] = recv_counts[r] / W * H;
    back_recv[r] = send_counts[r] / W * H;
  }
  grow(s.back, static_cast<size_t>(std::max<int64_t>(n_send, 1) * H) * f);
  pg_->all_to_all_v(s.reply.as<float>(), back_send, s.back.as<float>(), back_recv);
  s.idx_h.clear(), s.val_h.clear();
  std::vector<int32_t> at_h;
  std::vector<int64_t> begin_j(K + 1, 0);
  for (int64_t jj = 0; jj < K; ++jj) {
    begin_j[jj] = static_cast<int64_t>(s.idx_h.size());
    int32_t at = 0;
    for (int r = 0; r < P; ++r) {
      for (auto [t, j] : by_rank[r]) {
        if (j == jj) s.idx_h.push_back(t), s.val_h.push_back(s.weight[t * K + j]), at_h.push_back(at);
        ++at;
      }
    }
  }
  begin_j[K] = static_cast<int64_t>(s.idx_h.size());
  // The positions in `back` go after the token list in the same upload.
  const size_t n_pairs = s.idx_h.size();
  s.idx_h.insert(s.idx_h.end(), at_h.begin(), at_h.end());
  moe_upload_lists();
  const int32_t* tokens = s.idx.as<int32_t>();
  const int32_t* positions = tokens + n_pairs;
  for (int64_t jj = 0; jj < K; ++jj) {
    const int64_t n = begin_j[jj + 1] - begin_j[jj];
    if (n == 0) continue;
    grow(s.xs, static_cast<size_t>(n * H) * f);
    be_.gather_rows(s.back.as<float>(), H, positions + begin_j[jj], n, s.xs.as<float>());
    be_.add_rows_weighted(s.xs.as<float>(), H, tokens + begin_j[jj], s.val.as<float>() + begin_j[jj], n, out);
  }
}

}  // namespace tandem::model
