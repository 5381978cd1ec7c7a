// gather_rows / scatter_rows: rows copied out of some slots of one cache land in other slots of
// another cache bit for bit, per dtype; rows that do not fit are refused without writing.
#include <gtest/gtest.h>

#include <cstring>
#include <random>

#include "kv_rows_test_util.h"
#include "worker/pd/kv_rows.h"

namespace tandem::pd {
namespace {

using testing::as_rows;
using testing::fill_random;

class PdKvRows : public ::testing::TestWithParam<DType> {};

TEST_P(PdKvRows, GatherThenScatterCopiesRowsExactly) {
  runtime::KvCache src(3, 64, 12, GetParam());
  runtime::KvCache dst(3, 40, 12, GetParam());
  fill_random(src, 1);
  const std::vector<int32_t> src_slots = {9, 3, 40, 41, 7};  // tokens 2..6 of a request
  auto staged = gather_rows(src, src_slots, 2);
  // The decode request's slots: token i at dst_slots[i] (a different order, another page size).
  const std::vector<int32_t> dst_slots = {30, 31, 0, 5, 17, 18, 19, 2};
  ASSERT_TRUE(scatter_rows(dst, as_rows(*staged), dst_slots).ok());
  const size_t rb = row_bytes(GetParam(), 12);
  for (int l = 0; l < 3; ++l) {
    for (size_t i = 0; i < src_slots.size(); ++i) {
      const size_t s = src_slots[i] * rb;
      const size_t d = dst_slots[2 + i] * rb;
      EXPECT_EQ(0, std::memcmp(static_cast<uint8_t*>(src.k(l)) + s, static_cast<uint8_t*>(dst.k(l)) + d, rb));
      EXPECT_EQ(0, std::memcmp(static_cast<uint8_t*>(src.v(l)) + s, static_cast<uint8_t*>(dst.v(l)) + d, rb));
    }
  }
}

TEST_P(PdKvRows, RowsOutsideTheReservationAreRefused) {
  runtime::KvCache src(2, 16, 4, GetParam());
  runtime::KvCache dst(2, 16, 4, GetParam());
  fill_random(src, 2);
  auto staged = gather_rows(src, std::vector<int32_t>{1, 2, 3}, 2);
  const std::vector<int32_t> too_few = {0, 1, 2, 3};  // tokens 2..4 need 5 slots
  Status st = scatter_rows(dst, as_rows(*staged), too_few);
  EXPECT_EQ(st.code(), StatusCode::kOutOfRange);
  runtime::KvCache one_layer(1, 16, 4, GetParam());
  EXPECT_FALSE(scatter_rows(one_layer, as_rows(*staged), std::vector<int32_t>(8, 0)).ok());
}

INSTANTIATE_TEST_SUITE_P(Dtypes, PdKvRows, ::testing::Values(DType::kF32, DType::kF16, DType::kBF16));

}  // namespace
}  // namespace tandem::pd
