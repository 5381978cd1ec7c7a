// The mixture-of-experts MLP of LlamaModel. Routing runs on the host (CPU backend): router logits →
// softmax over all experts → the top experts_per_token (ties to the lower index) → weights,
// renormalised over the chosen ones when norm_topk_prob. Every rank routes every token the same way
// (same inputs, same code), so routing needs no communication and the load counts are exact on
// every rank.
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
  std::vector<float> router;                  // [T, E]
  std::vector<int32_t> top;                   // [T, k] expert ids
  std::vector<float> weight;                  // [T, k]
  std::vector<int32_t> rows;                  // gathered row indices
  std::vector<float> xs, ys, gate_up, act;    // per-expert batches
  std::vector<float> send, recv, back, reply;  // expert parallel exchange
  std::vector<float> shared;                  // [T, hidden]
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
  s.gate_up.resize(static_cast<size_t>(n * 2 * ff));
  s.act.resize(static_cast<size_t>(n * ff));
  linear(x, n, gate_up, s.gate_up.data());
  be_.silu_mul(s.gate_up.data(), n, ff, s.act.data());
  linear(s.act.data(), n, down, y);
}

void LlamaModel::moe_mlp(int layer, const BLayer::Moe& m, const float* x, int64_t T, float* out) {
  const ModelConfig& c = config_;
  const int64_t H = c.hidden_size, E = c.num_experts, K = c.experts_per_token;
  if (!moe_) moe_ = std::make_shared<MoeScratch>();
  MoeScratch& s = *moe_;

  // Route every token.
  s.router.resize(static_cast<size_t>(T * E));
  linear(x, T, m.router, s.router.data());
  s.top.resize(static_cast<size_t>(T * K));
  s.weight.resize(static_cast<size_t>(T * K));
  std::vector<int32_t> order(E);
  for (int64_t t = 0; t < T; ++t) {
    const float* z = s.router.data() + t * E;
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

  std::fill(out, out + T * H, 0.0f);
  // Runs local expert `local` on the rows of `src` listed in `rows` and hands each output row to
  // `emit(i, y)` (i indexes `rows`).
  auto run_expert = [&](int local, const float* src, const std::vector<int32_t>& rows, auto&& emit) {
    if (rows.empty()) return;
    const int64_t n = static_cast<int64_t>(rows.size());
    s.xs.resize(static_cast<size_t>(n * H));
    s.ys.resize(static_cast<size_t>(n * H));
    be_.gather_rows(src, H, rows.data(), n, s.xs.data());
    mlp_rows(m.experts[local].first, m.experts[local].second, s.xs.data(), n, s.ys.data());
    for (int64_t i = 0; i < n; ++i) emit(i, s.ys.data() + i * H);
  };

  if (!sh_.ep || !pg_) {
    // Every expert here (whole, or this rank's rows of each).
    for (int local = 0; local < sh_.num_experts; ++local) {
      const int32_t e = sh_.expert_begin + local;
      s.rows.clear();
      std::vector<float> w;
      for (int64_t t = 0; t < T; ++t) {
        for (int64_t j = 0; j < K; ++j) {
          if (s.top[t * K + j] == e) {
            s.rows.push_back(static_cast<int32_t>(t));
            w.push_back(s.weight[t * K + j]);
          }
        }
      }
      run_expert(local, x, s.rows, [&](int64_t i, const float* y) {
        float* o = out + static_cast<int64_t>(s.rows[i]) * H;
        for (int64_t d = 0; d < H; ++d) o[d] += w[i] * y[d];
      });
    }
  } else {
    // Expert parallel: dispatch this rank's tokens to the experts' owners, run what arrives, return.
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
    const int64_t W = H + 1;  // a dispatched row: [expert id, x]
    std::vector<int64_t> send_counts(P), recv_counts(P);
    s.send.clear();
    for (int r = 0; r < P; ++r) {
      send_counts[r] = static_cast<int64_t>(by_rank[r].size()) * W;
      for (auto [t, j] : by_rank[r]) {
        s.send.push_back(static_cast<float>(s.top[t * K + j]));
        s.send.insert(s.send.end(), x + t * H, x + (t + 1) * H);
      }
    }
    pg_->exchange_counts(send_counts, recv_counts);
    const int64_t received = std::accumulate(recv_counts.begin(), recv_counts.end(), int64_t{0});
    s.recv.resize(static_cast<size_t>(received));
    pg_->all_to_all_v(s.send.data(), send_counts, s.recv.data(), recv_counts);
    // Run each local expert on its received rows; outputs in arrival order.
    const int64_t n_in = received / W;
    s.reply.assign(static_cast<size_t>(n_in * H), 0.0f);
    std::vector<float> rows_x(static_cast<size_t>(n_in * H));
    for (int64_t i = 0; i < n_in; ++i) std::memcpy(&rows_x[i * H], &s.recv[i * W + 1], H * sizeof(float));
    for (int local = 0; local < sh_.num_experts; ++local) {
      const int32_t e = sh_.expert_begin + local;
      s.rows.clear();
      for (int64_t i = 0; i < n_in; ++i) {
        const int32_t id = static_cast<int32_t>(s.recv[i * W]);
        CHECK(id >= sh_.expert_begin && id < sh_.expert_begin + sh_.num_experts,
              "rank {} received a row for expert {}, which it does not hold", sh_.rank, id);
        if (id == e) s.rows.push_back(static_cast<int32_t>(i));
      }
      run_expert(local, rows_x.data(), s.rows, [&](int64_t i, const float* y) {
        std::memcpy(&s.reply[static_cast<int64_t>(s.rows[i]) * H], y, H * sizeof(float));
      });
    }
    // Outputs go back the way the rows came.
    std::vector<int64_t> back_send(P), back_recv(P);
    for (int r = 0; r < P; ++r) {
      back_send[r] = recv_counts[r] / W * H;
      back_recv[r] = send_counts[r] / W * H;
    }
    s.back.resize(static_cast<size_t>(std::accumulate(back_recv.begin(), back_recv.end(), int64_t{0})));
    pg_->all_to_all_v(s.reply.data(), back_send, s.back.data(), back_recv);
    int64_t at = 0;
    for (int r = 0; r < P; ++r) {
      for (auto [t, j] : by_rank[r]) {
        const float w = s.weight[t * K + j];
        const float* y = s.back.data() + at * H;
        float* o = out + static_cast<int64_t>(t) * H;
        for (int64_t d = 0; d < H; ++d) o[d] += w * y[d];
        ++at;
      }
    }
  }

  // Shared expert (split like a dense MLP), gated per token by sigmoid(x · w).
  if (!m.shared_gate_up.parts.empty()) {
    s.shared.resize(static_cast<size_t>(T * H));
    std::vector<float> gate(static_cast<size_t>(T));
    mlp_rows(m.shared_gate_up, m.shared_down, x, T, s.shared.data());
    linear(x, T, m.shared_gate, gate.data());
    for (int64_t t = 0; t < T; ++t) {
      const float g = 1.0f / (1.0f + std::exp(-gate[t]));
      for (int64_t d = 0; d < H; ++d) out[t * H + d] += g * s.shared[t * H + d];
    }
  }
  if (pg_) pg_->all_reduce_sum(out, T * H);
}

}  // namespace tandem::model
