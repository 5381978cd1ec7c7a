// Paged attention of the CPU backend vs the reference: decode and prefill, ragged batches, GQA
// ratios 1/3/4, head dims with and without vector tails, long contexts that take the split
// (flash-decoding) path, slots scattered over the cache.
#include <fmt/format.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <numeric>
#include <random>
#include <vector>

#include "kernels/cpu/cpu_backend.h"
#include "kernels/reference/ops.h"
#include "tests/kernels/kernel_test_util.h"

namespace tandem::kernels {
namespace {

using testing::isas_under_test;

struct Seq {
  int q_len, ctx_len;
};

struct Problem {
  std::vector<int32_t> q_offsets, ctx_lens, slot_offsets, slots;
  std::vector<float> q, k_cache, v_cache;
  AttentionBatch batch;
};

Problem make_problem(std::mt19937& rng, const std::vector<Seq>& seqs, int n_heads, int n_kv_heads, int head_dim,
                     float q_scale) {
  Problem p;
  int total_q = 0, total_ctx = 0;
  p.q_offsets.push_back(0);
  p.slot_offsets.push_back(0);
  for (const Seq& s : seqs) {
    total_q += s.q_len;
    total_ctx += s.ctx_len;
    p.q_offsets.push_back(total_q);
    p.slot_offsets.push_back(total_ctx);
    p.ctx_lens.push_back(s.ctx_len);
  }
  const int num_slots = total_ctx + 37;
  std::vector<int32_t> perm(num_slots);
  std::iota(perm.begin(), perm.end(), 0);
  std::shuffle(perm.begin(), perm.end(), rng);
  p.slots.assign(perm.begin(), perm.begin() + total_ctx);
  const int64_t kv_dim = static_cast<int64_t>(n_kv_heads) * head_dim;
  p.q = testing::random_floats(rng, static_cast<size_t>(total_q) * n_heads * head_dim, -q_scale, q_scale);
  p.k_cache = testing::random_floats(rng, num_slots * kv_dim);
  p.v_cache = testing::random_floats(rng, num_slots * kv_dim);
  p.batch.num_seqs = static_cast<int>(seqs.size());
  p.batch.q_offsets = p.q_offsets.data();
  p.batch.ctx_lens = p.ctx_lens.data();
  p.batch.slot_offsets = p.slot_offsets.data();
  p.batch.slots = p.slots.data();
  p.batch.n_heads = n_heads;
  p.batch.n_kv_heads = n_kv_heads;
  p.batch.head_dim = head_dim;
  p.batch.scale = 1.0f / std::sqrt(static_cast<float>(head_dim));
  return p;
}

void check(CpuIsa isa, int threads, const std::vector<Seq>& seqs, int n_heads, int n_kv_heads, int head_dim,
           float q_scale, uint32_t seed) {
  std::string desc = fmt::format("{} threads={} heads={}/{} hd={} q_scale={} seqs:", cpu_isa_name(isa), threads,
                                 n_heads, n_kv_heads, head_dim, q_scale);
  for (const Seq& s : seqs) desc += fmt::format(" {}/{}", s.q_len, s.ctx_len);
  SCOPED_TRACE(desc);
  std::mt19937 rng(seed);
  Problem p = make_problem(rng, seqs, n_heads, n_kv_heads, head_dim, q_scale);
  const size_t out_size = p.q.size();
  std::vector<float> got(out_size, NAN), want(out_size, NAN);
  auto be = make_cpu_backend(threads, isa);
  be->attention(p.q.data(), p.k_cache.data(), p.v_cache.data(), p.batch, got.data());
  ref::attention(p.q.data(), p.k_cache.data(), p.v_cache.data(), p.batch, want.data());
  int bad = 0;
  for (size_t i = 0; i < out_size && bad < 5; ++i) {
    if (!(std::fabs(got[i] - want[i]) <= 2e-5 + 1e-4 * std::fabs(want[i]))) {
      ADD_FAILURE() << "at " << i << ": got " << got[i] << " want " << want[i];
      ++bad;
    }
  }
}

struct HeadConfig {
  int n_heads, n_kv_heads, head_dim;
};
const HeadConfig kHeads[] = {{4, 4, 64}, {9, 3, 64}, {8, 2, 80}, {4, 1, 128}, {4, 2, 128}};

TEST(AttentionTest, Decode) {
  uint32_t seed = 1;
  for (CpuIsa isa : isas_under_test()) {
    for (const HeadConfig& h : kHeads) {
      check(isa, 3, {{1, 1}}, h.n_heads, h.n_kv_heads, h.head_dim, 1.0f, ++seed);
      check(isa, 3, {{1, 2000}}, h.n_heads, h.n_kv_heads, h.head_dim, 1.0f, ++seed);  // split context
      check(isa, 2, {{1, 1}, {1, 17}, {1, 300}, {1, 1000}, {1, 64}}, h.n_heads, h.n_kv_heads, h.head_dim, 4.0f, ++seed);
    }
  }
}

TEST(AttentionTest, Prefill) {
  uint32_t seed = 100;
  for (CpuIsa isa : isas_under_test()) {
    for (const HeadConfig& h : kHeads) {
      check(isa, 3, {{100, 100}}, h.n_heads, h.n_kv_heads, h.head_dim, 1.0f, ++seed);
      check(isa, 3, {{1, 1}, {50, 50}, {130, 130}}, h.n_heads, h.n_kv_heads, h.head_dim, 4.0f, ++seed);
      check(isa, 1, {{33, 33}}, h.n_heads, h.n_kv_heads, h.head_dim, 1.0f, ++seed);
    }
  }
}

// New rows on top of a cached prefix (chunked prefill, prefix-cache hits) mixed with decodes.
TEST(AttentionTest, ChunkedPrefillAndMixedBatches) {
  uint32_t seed = 200;
  for (CpuIsa isa : isas_under_test()) {
    for (const HeadConfig& h : kHeads) {
      check(isa, 3, {{40, 300}}, h.n_heads, h.n_kv_heads, h.head_dim, 1.0f, ++seed);
      check(isa, 3, {{1, 700}, {20, 20}, {0, 5}, {7, 600}, {1, 3}}, h.n_heads, h.n_kv_heads, h.head_dim, 2.0f, ++seed);
      check(isa, 4, {{3, 1500}}, h.n_heads, h.n_kv_heads, h.head_dim, 1.0f, ++seed);  // split with several rows
    }
  }
}

// Half-precision caches: the CPU store rounds exactly like the reference (bit-identical caches),
// and attention over them matches the reference reading the same half values.
void check_half(CpuIsa isa, DType cache_type, const std::vector<Seq>& seqs, const HeadConfig& h, uint32_t seed) {
  SCOPED_TRACE(fmt::format("{} {} heads={}/{} hd={} seqs={}", cpu_isa_name(isa), dtype_name(cache_type), h.n_heads,
                           h.n_kv_heads, h.head_dim, seqs.size()));
  std::mt19937 rng(seed);
  Problem p = make_problem(rng, seqs, h.n_heads, h.n_kv_heads, h.head_dim, 2.0f);
  const int64_t kv_dim = static_cast<int64_t>(h.n_kv_heads) * h.head_dim;
  const int64_t num_slots = static_cast<int64_t>(p.k_cache.size()) / kv_dim;
  const int64_t tokens = static_cast<int64_t>(p.slots.size());
  // The cache rows come in through store_kv_half: the new k/v of every context token.
  std::vector<float> k_new(static_cast<size_t>(tokens * kv_dim)), v_new(k_new.size());
  for (int64_t t = 0; t < tokens; ++t) {
    for (int64_t i = 0; i < kv_dim; ++i) {
      k_new[t * kv_dim + i] = p.k_cache[p.slots[t] * kv_dim + i];
      v_new[t * kv_dim + i] = p.v_cache[p.slots[t] * kv_dim + i];
    }
  }
  std::vector<uint16_t> kc(static_cast<size_t>(num_slots * kv_dim), 0), vc(kc.size(), 0), kw = kc, vw = vc;
  auto be = make_cpu_backend(3, isa);
  be->store_kv_half(cache_type, kc.data(), vc.data(), k_new.data(), v_new.data(), p.slots.data(), tokens, kv_dim);
  ref::store_kv_half(cache_type, kw.data(), vw.data(), k_new.data(), v_new.data(), p.slots.data(), tokens, kv_dim);
  ASSERT_EQ(kc, kw);
  ASSERT_EQ(vc, vw);
  std::vector<float> got(p.q.size(), NAN), want(p.q.size(), NAN);
  be->attention_half(cache_type, p.q.data(), kc.data(), vc.data(), p.batch, got.data());
  ref::attention_half(cache_type, p.q.data(), kw.data(), vw.data(), p.batch, want.data());
  int bad = 0;
  for (size_t i = 0; i < got.size() && bad < 5; ++i) {
    if (!(std::fabs(got[i] - want[i]) <= 2e-5 + 1e-4 * std::fabs(want[i]))) {
      ADD_FAILURE() << "at " << i << ": got " << got[i] << " want " << want[i];
      ++bad;
    }
  }
}

TEST(AttentionTest, HalfPrecisionCaches) {
  uint32_t seed = 300;
  for (CpuIsa isa : isas_under_test()) {
    for (DType t : {DType::kF16, DType::kBF16}) {
      for (const HeadConfig& h : kHeads) {
        check_half(isa, t, {{1, 1500}}, h, ++seed);
        check_half(isa, t, {{1, 40}, {30, 30}, {5, 77}}, h, ++seed);
      }
    }
  }
}

TEST(AttentionTest, HalfStoreRoundsLikeTheScalarConversions) {
  // Ties, subnormals, overflow to inf, inf and NaN, in a row long enough for the vector path.
  std::vector<float> row = {1.0f + 1.0f / 2048, 1.0f + 3.0f / 2048, 65504.0f, 70000.0f, -1e-7f, 6e-8f, 3e-5f,
                            INFINITY, -INFINITY, NAN, 1.00390625f, 1.01171875f, -0.0f, 0.1f, 1e30f, -2.5f};
  for (int i = 0; i < 16; ++i) row.push_back(row[i] * -3.0f);
  const int32_t slot = 0;
  for (CpuIsa isa : isas_under_test()) {
    auto be = make_cpu_backend(1, isa);
    for (DType t : {DType::kF16, DType::kBF16}) {
      std::vector<uint16_t> kc(row.size()), vc(row.size());
      be->store_kv_half(t, kc.data(), vc.data(), row.data(), row.data(), &slot, 1, static_cast<int64_t>(row.size()));
      for (size_t i = 0; i < row.size(); ++i) {
        const uint16_t want = t == DType::kF16 ? fp32_to_fp16(row[i]) : fp32_to_bf16(row[i]);
        if (std::isnan(row[i])) {
          EXPECT_TRUE(std::isnan(t == DType::kF16 ? fp16_to_fp32(kc[i]) : bf16_to_fp32(kc[i])));
        } else {
          EXPECT_EQ(kc[i], want) << cpu_isa_name(isa) << " " << dtype_name(t) << " value " << row[i];
        }
      }
    }
  }
}

TEST(AttentionTest, ReferenceSingleTokenReturnsItsValue) {
  std::mt19937 rng(9);
  Problem p = make_problem(rng, {{1, 1}}, 2, 1, 8, 1.0f);
  std::vector<float> out(p.q.size());
  ref::attention(p.q.data(), p.k_cache.data(), p.v_cache.data(), p.batch, out.data());
  const float* v = p.v_cache.data() + static_cast<int64_t>(p.slots[0]) * 8;
  for (int h = 0; h < 2; ++h)
    for (int d = 0; d < 8; ++d) EXPECT_FLOAT_EQ(out[h * 8 + d], v[d]);
}

}  // namespace
}  // namespace tandem::kernels
