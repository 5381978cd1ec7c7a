// The mixture-of-experts row ops on CUDA against the host defaults (kernels/backend.h):
// add_rows_weighted and fill_zero.
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

}  // namespace
}  // namespace tandem::kernels::testing
