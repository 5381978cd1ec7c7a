// The device path of KV row transfers, run on the host: Backend::gather_slots / scatter_slots
// (the CPU defaults) against plain loops, and gather_rows / scatter_rows / local_kv_row_io on a
// KvCache that lives in a "device" backend whose memory happens to be host memory, so the
// stager's slot upload, packing, pinned staging and layer offsets are checked without a GPU.
#include <gtest/gtest.h>

#include <cstring>
#include <random>
#include <vector>

#include "kernels/backend.h"
#include "kv_rows_test_util.h"
#include "worker/pd/kv_rows.h"

namespace tandem::pd {
namespace {

// A Backend that reports is_device() but keeps the base class's host memory and memcpy copies;
// counts the pinned allocations so the tests see the staging being reused.
class HostMemoryDevice final : public kernels::Backend {
 public:
  const char* name() const override { return "host-memory-device"; }
  bool is_device() const override { return true; }
  void* alloc_host_pinned(size_t bytes) override {
    ++pinned_allocs;
    return Backend::alloc_host_pinned(bytes);
  }
  int pinned_allocs = 0;

  void matmul(const float*, int64_t, const TensorView&, const float*, float*) override { unused(); }
  void embed(const TensorView&, const int32_t*, int64_t, float*) override { unused(); }
  void rms_norm(const float*, const float*, int64_t, int64_t, float, float*) override { unused(); }
  void add_rms_norm(float*, const float*, const float*, int64_t, int64_t, float, float*) override { unused(); }
  void rope(float*, const int32_t*, int64_t, int, const kernels::RopeConfig&) override { unused(); }
  void silu_mul(const float*, int64_t, int64_t, float*) override { unused(); }
  void add(float*, const float*, int64_t) override { unused(); }
  void store_kv(float*, float*, const float*, const float*, const int32_t*, int64_t, int64_t) override { unused(); }
  void attention(const float*, const float*, const float*, const kernels::AttentionBatch&, float*) override {
    unused();
  }

 private:
  static void unused() { CHECK(false, "not used by KV row transfers"); }
};

using testing::as_rows;
using testing::fill_random;

// Row `slot` of layer l's K (kv_k) or V array.
const uint8_t* row(runtime::KvCache& kv, int l, bool k, int32_t slot) {
  return static_cast<const uint8_t*>(k ? kv.k(l) : kv.v(l)) + static_cast<size_t>(slot) * row_bytes(kv.dtype(), kv.kv_dim());
}

TEST(BackendSlotCopy, CpuGatherAndScatterMatchPlainLoops) {
  auto be = kernels::make_cpu_backend(1);
  std::mt19937 rng(7);
  for (size_t rb : {size_t{1}, size_t{13}, size_t{16}, size_t{768}}) {
    const int32_t num_slots = 50;
    std::vector<uint8_t> cache(num_slots * rb);
    for (auto& b : cache) b = static_cast<uint8_t>(rng());
    const std::vector<int32_t> slots = {49, 0, 7, 8, 30, 2};
    std::vector<uint8_t> packed(slots.size() * rb, 0xee);
    be->gather_slots(cache.data(), rb, slots.data(), static_cast<int64_t>(slots.size()), packed.data());
    for (size_t i = 0; i < slots.size(); ++i) {
      for (size_t b = 0; b < rb; ++b) ASSERT_EQ(packed[i * rb + b], cache[slots[i] * rb + b]) << rb << " " << i;
    }
    std::vector<uint8_t> src(slots.size() * rb);
    for (auto& b : src) b = static_cast<uint8_t>(rng());
    std::vector<uint8_t> expect = cache;
    for (size_t i = 0; i < slots.size(); ++i) std::memcpy(expect.data() + slots[i] * rb, src.data() + i * rb, rb);
    be->scatter_slots(cache.data(), rb, slots.data(), static_cast<int64_t>(slots.size()), src.data());
    EXPECT_EQ(cache, expect) << "row bytes " << rb;
  }
}

class PdDeviceRows : public ::testing::TestWithParam<DType> {};

TEST_P(PdDeviceRows, DeviceGatherFeedsHostScatterAndBack) {
  HostMemoryDevice dev;
  runtime::KvCache on_dev(3, 64, 12, GetParam(), &dev);
  ASSERT_TRUE(on_dev.on_device());
  ASSERT_EQ(on_dev.backend(), &dev);
  runtime::KvCache host(3, 40, 12, GetParam());
  fill_random(on_dev, 3);
  const std::vector<int32_t> src_slots = {9, 3, 40, 41, 7};
  auto staged = gather_rows(on_dev, src_slots, 2);
  // The free function's stager ends with the call: the rows must be in the staging's own bytes.
  ASSERT_EQ(staged->external, nullptr);
  ASSERT_EQ(staged->bytes.size(), 2 * 3 * src_slots.size() * row_bytes(GetParam(), 12));
  const std::vector<int32_t> dst_slots = {30, 31, 0, 5, 17, 18, 19, 2};
  ASSERT_TRUE(scatter_rows(host, as_rows(*staged), dst_slots).ok());
  const size_t rb = row_bytes(GetParam(), 12);
  for (int l = 0; l < 3; ++l) {
    for (size_t i = 0; i < src_slots.size(); ++i) {
      for (bool k : {true, false}) {
        EXPECT_EQ(0, std::memcmp(row(on_dev, l, k, src_slots[i]), row(host, l, k, dst_slots[2 + i]), rb)) << l;
      }
    }
  }
  // And back into other device slots: rows of tokens 2..6 land in slots[2..6] only.
  runtime::KvCache dev2(3, 64, 12, GetParam(), &dev);
  fill_random(dev2, 4);
  std::vector<uint8_t> before(static_cast<uint8_t*>(dev2.k(0)), static_cast<uint8_t*>(dev2.k(0)) + 64 * rb);
  const std::vector<int32_t> dev_slots = {60, 61, 10, 11, 12, 13, 14, 63};
  auto back = gather_rows(host, std::vector<int32_t>(dst_slots.begin() + 2, dst_slots.begin() + 7), 2);
  ASSERT_TRUE(scatter_rows(dev2, as_rows(*back), dev_slots).ok());
  for (int l = 0; l < 3; ++l) {
    for (size_t i = 0; i < src_slots.size(); ++i) {
      for (bool k : {true, false}) {
        EXPECT_EQ(0, std::memcmp(row(on_dev, l, k, src_slots[i]), row(dev2, l, k, dev_slots[2 + i]), rb)) << l;
      }
    }
  }
  for (int32_t untouched : {60, 61, 63, 0, 15}) {
    EXPECT_EQ(0, std::memcmp(before.data() + untouched * rb, row(dev2, 0, true, untouched), rb)) << untouched;
  }
}

TEST_P(PdDeviceRows, RowIoKeepsItsStagingAndRefusesBadRows) {
  HostMemoryDevice dev;
  runtime::KvCache src(2, 32, 8, GetParam(), &dev);
  runtime::KvCache dst(2, 32, 8, GetParam(), &dev);
  fill_random(src, 5);
  auto src_io = local_kv_row_io(src);
  auto dst_io = local_kv_row_io(dst);
  const size_t rb = row_bytes(GetParam(), 8);
  // Two chunks of one request (tokens 0..3 then 4..9): the second is larger, so staging grows once.
  const std::vector<int32_t> src_slots = {1, 2, 3, 4, 20, 21, 22, 23, 24, 25};
  const std::vector<int32_t> dst_slots = {31, 30, 29, 28, 0, 1, 2, 3, 4, 5};
  for (auto [first, n] : {std::pair{0, 4}, std::pair{4, 6}}) {
    auto staged = src_io->gather(std::span(src_slots).subspan(first, n), first);
    ASSERT_TRUE(dst_io->scatter(as_rows(*staged), dst_slots).ok());
  }
  for (int l = 0; l < 2; ++l) {
    for (size_t i = 0; i < src_slots.size(); ++i) {
      for (bool k : {true, false}) {
        EXPECT_EQ(0, std::memcmp(row(src, l, k, src_slots[i]), row(dst, l, k, dst_slots[i]), rb)) << l << " " << i;
      }
    }
  }
  // Released stagings return their pinned blocks: a smaller chunk reuses one, zero-copy.
  const int allocs = dev.pinned_allocs;
  auto again = src_io->gather(std::span(src_slots).subspan(0, 3), 0);
  EXPECT_EQ(dev.pinned_allocs, allocs);
  EXPECT_NE(again->external, nullptr);
  EXPECT_TRUE(again->bytes.empty());
  EXPECT_EQ(again->size(), 2 * 2 * 3 * rb);
  // While `again` holds its block, the next chunk of the same size needs another one.
  auto held = src_io->gather(std::span(src_slots).subspan(0, 3), 0);
  EXPECT_NE(held->data(), again->data());
  EXPECT_EQ(0, std::memcmp(held->data(), again->data(), again->size()));
  const std::vector<int32_t> too_few = {0, 1};
  EXPECT_EQ(dst_io->scatter(as_rows(*again), too_few).code(), StatusCode::kOutOfRange);
}

INSTANTIATE_TEST_SUITE_P(Dtypes, PdDeviceRows, ::testing::Values(DType::kF32, DType::kF16, DType::kBF16));

}  // namespace
}  // namespace tandem::pd
