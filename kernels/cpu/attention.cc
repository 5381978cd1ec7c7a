// Attention driver. Work items are (sequence, kv head, block of query rows), each item's rows
// being every head of the kv group for those query rows so K/V rows are loaded once per group.
// The items of all kv heads for one (sequence, query block) form a unit that one thread runs
// together (the decode kernel walks the context once for all heads, whose K / V rows share
// cache lines). When units are fewer than the threads can use (decode of few sequences), each
// unit's context is also split into pieces whose partial (max, sum, output) are merged
// afterwards: the flash-decoding split. Units go to threads dynamically, largest first,
// because causal prefill blocks differ a lot in cost.
#include <algorithm>
#include <atomic>
#include <cmath>
#include <vector>

#include "common/check.h"
#include "kernels/cpu/drivers.h"

namespace tandem::kernels::cpu {

namespace {

constexpr int kTargetRows = 48;         // rows (query rows x group heads) per item
constexpr int kMinSplitContext = 256;   // never split a context into pieces shorter than this

struct Piece {
  AttentionItem item;
  int64_t cost;
  int64_t partial_index;  // -1: writes the output directly
};

struct Unit {
  size_t begin, end;  // pieces[begin, end): the kv heads of one (sequence, query block, split)
  int64_t cost;
};

struct SplitGroup {
  int64_t first_partial;
  int pieces;
  int rows;
  int64_t q_row;  // global first query row
  int q_count;
  int kv_head;
};

// Partials are laid out with a fixed stride of max_rows rows per piece.
void merge_group(const SplitGroup& g, const AttentionBatch& b, int max_rows, const float* pm, const float* pl,
                 const float* po, float* out) {
  const int hd = b.head_dim;
  const int group = b.n_heads / b.n_kv_heads;
  const int64_t q_dim = static_cast<int64_t>(b.n_heads) * hd;
  const int64_t stride = static_cast<int64_t>(max_rows) * hd;
  for (int r = 0; r < g.rows; ++r) {
    float m = -INFINITY;
    for (int p = 0; p < g.pieces; ++p) m = std::max(m, pm[(g.first_partial + p) * max_rows + r]);
    float l = 0.0f;
    float* dst = out + (g.q_row + r / group) * q_dim + static_cast<int64_t>(g.kv_head * group + r % group) * hd;
    for (int d = 0; d < hd; ++d) dst[d] = 0.0f;
    for (int p = 0; p < g.pieces; ++p) {
      const int64_t i = g.first_partial + p;
      const float mp = pm[i * max_rows + r];
      if (mp == -INFINITY) continue;  // this piece saw no context for the row
      const float w = std::exp(mp - m);
      l += w * pl[i * max_rows + r];
      const float* o = po + i * stride + static_cast<int64_t>(r) * hd;
      for (int d = 0; d < hd; ++d) dst[d] += w * o[d];
    }
    const float inv = l > 0.0f ? 1.0f / l : 0.0f;
    for (int d = 0; d < hd; ++d) dst[d] *= inv;
  }
}

}  // namespace

void attention(CpuContext& ctx, DType cache_type, const float* q, const void* k_cache, const void* v_cache,
               const AttentionBatch& b, float* out) {
  CHECK(cache_type == DType::kF32 || cache_type == DType::kF16 || cache_type == DType::kBF16,
        "attention: KV cache type {} is not F32, F16 or BF16", dtype_name(cache_type));
  CHECK(b.n_heads > 0 && b.n_kv_heads > 0 && b.n_heads % b.n_kv_heads == 0,
        "attention: n_heads {} must be a positive multiple of n_kv_heads {}", b.n_heads, b.n_kv_heads);
  CHECK(b.head_dim > 0, "attention: head_dim {}", b.head_dim);
  const int group = b.n_heads / b.n_kv_heads;
  const int q_block = std::max(1, kTargetRows / group);
  const int threads = ctx.pool.size();

  std::vector<Piece> pieces;
  std::vector<SplitGroup> groups;
  int64_t base_items = 0;  // units before splitting contexts
  for (int s = 0; s < b.num_seqs; ++s) {
    const int q_len = b.q_offsets[s + 1] - b.q_offsets[s];
    CHECK(q_len >= 0 && q_len <= b.ctx_lens[s], "attention: sequence {} has {} new rows but a context of {}", s, q_len,
          b.ctx_lens[s]);
    base_items += (q_len + q_block - 1) / q_block;
  }
  const int64_t want_items = 4LL * threads;

  int64_t partial_count = 0;
  int max_rows = 0;
  // Pieces of one (sequence, query block, context split) for all kv heads form one unit of
  // work, run back to back by one thread: the heads share every cache line of a slot's K / V
  // rows, so the first head pulls the lines into L2 for the others instead of each head
  // fetching a strided third of each row from DRAM.
  std::vector<Unit> units;
  for (int s = 0; s < b.num_seqs; ++s) {
    const int q_len = b.q_offsets[s + 1] - b.q_offsets[s];
    const int ctx_len = b.ctx_lens[s];
    for (int q0 = 0; q0 < q_len; q0 += q_block) {
      const int q1 = std::min(q_len, q0 + q_block);
      const int rows = (q1 - q0) * group;
      max_rows = std::max(max_rows, rows);
      const int visible = ctx_len - q_len + q1;  // causal end of the block's last row
      int splits = 1;
      if (base_items < want_items && visible >= 2 * kMinSplitContext) {
        splits = static_cast<int>(std::min<int64_t>((want_items + base_items - 1) / base_items, visible / kMinSplitContext));
      }
      const int64_t first_partial = partial_count;
      if (splits > 1) {
        for (int kvh = 0; kvh < b.n_kv_heads; ++kvh) {
          groups.push_back({first_partial + static_cast<int64_t>(kvh) * splits, splits, rows, b.q_offsets[s] + q0, q1 - q0, kvh});
        }
        partial_count += static_cast<int64_t>(splits) * b.n_kv_heads;
      }
      for (int p = 0; p < splits; ++p) {
        AttentionItem it{};
        it.q = q;
        it.cache_type = cache_type;
        it.k_cache = k_cache;
        it.v_cache = v_cache;
        it.slots = b.slots + b.slot_offsets[s];
        it.q_row0 = b.q_offsets[s];
        it.q_begin = q0;
        it.q_end = q1;
        it.first_pos = ctx_len - q_len;
        it.group = group;
        it.n_heads = b.n_heads;
        it.n_kv_heads = b.n_kv_heads;
        it.head_dim = b.head_dim;
        it.scale = b.scale;
        it.out = out;
        it.ctx_begin = splits == 1 ? 0 : static_cast<int>(static_cast<int64_t>(visible) * p / splits);
        it.ctx_end = splits == 1 ? ctx_len : static_cast<int>(static_cast<int64_t>(visible) * (p + 1) / splits);
        const int64_t cost = static_cast<int64_t>(rows) * (std::min(it.ctx_end, visible) - it.ctx_begin);
        units.push_back({pieces.size(), pieces.size() + static_cast<size_t>(b.n_kv_heads), cost * b.n_kv_heads});
        for (int kvh = 0; kvh < b.n_kv_heads; ++kvh) {
          it.kv_head = kvh;
          pieces.push_back({it, cost, splits == 1 ? -1 : first_partial + static_cast<int64_t>(kvh) * splits + p});
        }
      }
    }
  }
  if (pieces.empty()) return;

  // Partial results: [partial][rows] max and sum, [partial][rows * head_dim] outputs.
  const int64_t pstride = static_cast<int64_t>(max_rows) * b.head_dim;
  float* pbuf = reinterpret_cast<float*>(ctx.partials.ensure(partial_count * (2LL * max_rows + pstride) * 4 + 64));
  float* pm = pbuf;
  float* pl = pm + partial_count * max_rows;
  float* po = pl + partial_count * max_rows;
  for (Piece& p : pieces) {
    if (p.partial_index < 0) continue;
    p.item.partial_m = pm + p.partial_index * max_rows;
    p.item.partial_l = pl + p.partial_index * max_rows;
    p.item.partial_o = po + p.partial_index * pstride;
  }
  std::sort(units.begin(), units.end(), [](const Unit& x, const Unit& y) { return x.cost > y.cost; });

  ctx.reserve_thread_scratch(ctx.table.attention_scratch_floats(max_rows, b.head_dim) * 4);
  // A unit's pieces sit contiguously; the kernel gets them as one array of items.
  std::vector<AttentionItem> items(pieces.size());
  for (size_t i = 0; i < pieces.size(); ++i) items[i] = pieces[i].item;
  auto run_unit = [&](const Unit& u, float* scratch) {
    ctx.table.attention(items.data() + u.begin, static_cast<int>(u.end - u.begin), scratch);
  };
  if (units.size() == 1 || threads == 1) {
    for (const Unit& u : units) run_unit(u, reinterpret_cast<float*>(ctx.thread_scratch(0)));
  } else {
    std::atomic<size_t> next{0};
    ctx.pool.parallel_for(threads, [&](int64_t, int64_t, int t) {
      auto* scratch = reinterpret_cast<float*>(ctx.thread_scratch(t));
      for (size_t i = next.fetch_add(1); i < units.size(); i = next.fetch_add(1)) run_unit(units[i], scratch);
    });
  }
  for (const SplitGroup& g : groups) merge_group(g, b, max_rows, pm, pl, po, out);
}

}  // namespace tandem::kernels::cpu
