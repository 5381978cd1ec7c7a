// Row plumbing ops on CUDA against the host defaults (kernels/backend.h): add_rows_weighted and
// fill_zero (mixture-of-experts), gather_slots / scatter_slots (the disaggregated KV transfer).
#include <algorithm>
#include <random>
#include <vector>

#include "cuda_test_util.h"

namespace tandem::kernels::testing {
namespace {

class CudaRowsTest : public CudaTest {};

TEST_F(CudaRowsTest, AddRowsWeightedMatchesTheHost) {
  std::mt19937 gen(7);
  std::normal_distribution<float> nd;
  for (int64_t dim : {int64_t{1}, int64_t{64}, int64_t{1000}, int64_t{4096}}) {
    const int64_t rows = 50, n = 23;
    std::vector<float> src(n * dim), dst(rows * dim), w(n);
    for (float& x : src) x = nd(gen);
    for (float& x : dst) x = nd(gen);
    for (float& x : w) x = nd(gen);
    std::vector<int32_t> ids(rows);
    for (int32_t i = 0; i < rows; ++i) ids[i] = i;
    std::shuffle(ids.begin(), ids.end(), gen);
    ids.resize(n);  // distinct destinations
    float* d_dst = upload(dst);
    be_->add_rows_weighted(upload(src), dim, upload(ids), upload(w), n, d_dst);
    auto host = make_cpu_backend(1);
    host->add_rows_weighted(src.data(), dim, ids.data(), w.data(), n, dst.data());
    EXPECT_LT(rel_error(download(d_dst, dst.size()), dst), 1e-6) << "dim " << dim;
  }
}

TEST_F(CudaRowsTest, FillZero) {
  float* d = upload(std::vector<float>(1001, 3.0f));
  be_->fill_zero(d + 1, 999 * sizeof(float));
  const auto h = download(d, 1001);
  EXPECT_EQ(h[0], 3.0f);
  EXPECT_EQ(h[1000], 3.0f);
  for (int i = 1; i < 1000; ++i) ASSERT_EQ(h[i], 0.0f) << i;
}

TEST_F(CudaRowsTest, GatherAndScatterSlotsMatchTheHost) {
  std::mt19937 gen(11);
  // 2048 = a bf16 row of 8 KV heads x 128 (16-byte words); 6 and 1000 take the byte path.
  for (size_t rb : {size_t{2048}, size_t{6}, size_t{1000}}) {
    const int64_t slots_total = 300, n = 77;
    std::vector<uint8_t> cache(slots_total * rb);
    for (uint8_t& b : cache) b = static_cast<uint8_t>(gen());
    std::vector<int32_t> slots(slots_total);
    for (int32_t i = 0; i < slots_total; ++i) slots[i] = i;
    std::shuffle(slots.begin(), slots.end(), gen);
    slots.resize(n);
    auto host = make_cpu_backend(1);
    std::vector<uint8_t> want(n * rb);
    host->gather_slots(cache.data(), rb, slots.data(), n, want.data());
    uint8_t* d_cache = upload(cache);
    const int32_t* d_slots = upload(slots);
    uint8_t* d_rows = upload(std::vector<uint8_t>(n * rb, 0));
    be_->gather_slots(d_cache, rb, d_slots, n, d_rows);
    EXPECT_EQ(download(d_rows, n * rb), want) << "gather, row bytes " << rb;
    // Scatter other bytes back into the same slots.
    std::vector<uint8_t> fresh(n * rb);
    for (uint8_t& b : fresh) b = static_cast<uint8_t>(gen());
    be_->scatter_slots(d_cache, rb, d_slots, n, upload(fresh));
    host->scatter_slots(cache.data(), rb, slots.data(), n, fresh.data());
    EXPECT_EQ(download(d_cache, cache.size()), cache) << "scatter, row bytes " << rb;
  }
}

}  // namespace
}  // namespace tandem::kernels::testing
