// Run as `mpirun -np 2 tandem_nccl_group_test` on a machine with 2+ GPUs (CTest does; without enough
// GPUs every rank skips). The host checks of collective_checks.h run unchanged against the NCCL
// group through DeviceStaged, which copies each host buffer to the device, runs the collective on
// device memory and copies the result back. Then a captured all-reduce is replayed with new values.
#include <gtest/gtest.h>

#include <cstdlib>
#include <vector>

#include "kernels/backend.h"
#include "kernels/cuda/cuda_backend.h"
#include "tests/unit/dist/collective_checks.h"
#include "worker/runtime/nccl_group.h"

namespace tandem::runtime {
namespace {

MpiSession* session = nullptr;

// A ProcessGroup on host pointers that forwards to a device group through backend memory. Only for
// tests: it makes the shared host checks exercise the device collectives.
class DeviceStaged final : public ProcessGroup {
 public:
  DeviceStaged(ProcessGroup& dev, kernels::Backend& be) : dev_(dev), be_(be) {}
  int rank() const override { return dev_.rank(); }
  int size() const override { return dev_.size(); }
  std::string_view name() const override { return dev_.name(); }

  void all_reduce_sum(float* data, int64_t n) override {
    kernels::BackendBuffer d = in(data, n);
    dev_.all_reduce_sum(d.as<float>(), n);
    out(data, d, n);
  }
  void all_gather(const float* in_host, int64_t n, float* out_host) override {
    kernels::BackendBuffer d = in(in_host, n), all(be_, bytes(n * size()));
    dev_.all_gather(d.as<float>(), n, all.as<float>());
    out(out_host, all, n * size());
  }
  void all_to_all_v(const float* send, std::span<const int64_t> send_counts, float* recv,
                    std::span<const int64_t> recv_counts) override {
    int64_t ns = 0, nr = 0;
    for (int64_t c : send_counts) ns += c;
    for (int64_t c : recv_counts) nr += c;
    kernels::BackendBuffer s = in(send, ns), r(be_, bytes(nr));
    dev_.all_to_all_v(s.as<float>(), send_counts, r.as<float>(), recv_counts);
    out(recv, r, nr);
  }
  void broadcast(float* data, int64_t n, int root) override {
    kernels::BackendBuffer d = in(data, n);
    dev_.broadcast(d.as<float>(), n, root);
    out(data, d, n);
  }
  void exchange_counts(std::span<const int64_t> send, std::span<int64_t> recv) override {
    dev_.exchange_counts(send, recv);
  }
  void barrier() override { dev_.barrier(); }

 private:
  static size_t bytes(int64_t n) { return static_cast<size_t>(n) * sizeof(float); }
  kernels::BackendBuffer in(const float* host, int64_t n) {
    kernels::BackendBuffer d(be_, bytes(n));
    be_.copy_to_backend(d.get(), host, bytes(n));
    return d;
  }
  void out(float* host, const kernels::BackendBuffer& d, int64_t n) { be_.copy_to_host(host, d.get(), bytes(n)); }

  ProcessGroup& dev_;
  kernels::Backend& be_;
};

// Same answer on every rank (each sees the same GPUs), so all ranks skip together.
bool enough_gpus() { return kernels::cuda_device_count() >= session->size(); }

std::unique_ptr<kernels::Backend> backend_for_rank() {
  auto be = kernels::make_cuda_backend(local_rank_from_env());
  CHECK(be.ok(), "{}", be.status().to_string());
  return std::move(*be);
}

TEST(NcclGroup, CollectivesOnDeviceBuffersAgreeWithTheirDefinitions) {
  if (!enough_gpus()) GTEST_SKIP() << "needs " << session->size() << " GPUs, found " << kernels::cuda_device_count();
  auto be = backend_for_rank();
  auto group = make_process_group(*session, *be, "");
  ASSERT_TRUE(group.ok()) << group.status().to_string();
  EXPECT_EQ((*group)->name(), "nccl");
  EXPECT_EQ((*group)->rank(), session->rank());
  DeviceStaged staged(**group, *be);
  testing::check_collectives(staged);
  // Sizes a decode step and a prefill all-reduce: 4096 x batch 64 and 4096 x 512 floats.
  for (int64_t n : {int64_t{4096 * 64}, int64_t{4096 * 512}}) {
    std::vector<float> v(n);
    for (int64_t i = 0; i < n; ++i) v[i] = static_cast<float>((i % 97) + session->rank());
    staged.all_reduce_sum(v.data(), n);
    const int N = session->size();
    for (int64_t i = 0; i < n; i += 4099) ASSERT_EQ(v[i], static_cast<float>(N * (i % 97) + N * (N - 1) / 2)) << i;
  }
}

TEST(NcclGroup, CapturedAllReduceReplaysWithNewValues) {
  if (!enough_gpus()) GTEST_SKIP() << "needs " << session->size() << " GPUs";
  auto be = backend_for_rank();
  ASSERT_TRUE(be->supports_capture());
  auto group = make_process_group(*session, *be, "");
  ASSERT_TRUE(group.ok()) << group.status().to_string();
  const int64_t n = 4096 * 8;
  const int N = session->size(), R = session->rank();
  kernels::BackendBuffer buf(*be, n * sizeof(float));
  std::vector<float> host(n);
  auto fill = [&](float base) {
    for (int64_t i = 0; i < n; ++i) host[i] = base + static_cast<float>(R * 3 + (i % 11));
    be->copy_to_backend(buf.get(), host.data(), n * sizeof(float));
  };
  fill(0.0f);
  (*group)->all_reduce_sum(buf.as<float>(), n);  // warm-up outside the capture (NCCL sets up lazily)
  be->synchronize();
  be->capture_begin();
  (*group)->all_reduce_sum(buf.as<float>(), n);
  const int id = be->capture_end();
  for (float base : {1.0f, -5.0f}) {
    fill(base);
    ASSERT_TRUE(be->replay(id));
    be->copy_to_host(host.data(), buf.get(), n * sizeof(float));
    for (int64_t i = 0; i < n; ++i) {
      const float want = N * base + 3.0f * N * (N - 1) / 2 + N * static_cast<float>(i % 11);
      ASSERT_EQ(host[i], want) << "element " << i << " base " << base;
    }
  }
  be->drop_captures();
  (*group)->barrier();
}

// --dist-init-addr: rank 0's NCCL bootstrap root listens at the given address (NCCL_COMM_ID), and
// the variable is gone again afterwards.
TEST(NcclGroup, InitAddressIsWhereRankZeroBootstraps) {
  if (!enough_gpus()) GTEST_SKIP() << "needs " << session->size() << " GPUs";
  ASSERT_EQ(std::getenv("NCCL_COMM_ID"), nullptr) << "the test wants NCCL_COMM_ID unset";
  auto be = backend_for_rank();
  auto group = make_process_group(*session, *be, "127.0.0.1:29533");
  ASSERT_TRUE(group.ok()) << group.status().to_string();
  EXPECT_EQ(std::getenv("NCCL_COMM_ID"), nullptr);
  DeviceStaged staged(**group, *be);
  std::vector<float> v(3, static_cast<float>(session->rank() + 1));
  staged.all_reduce_sum(v.data(), 3);
  const int N = session->size();
  for (float x : v) EXPECT_EQ(x, static_cast<float>(N * (N + 1) / 2));
}

TEST(NcclGroup, FactoryGivesTheMpiGroupForAHostBackend) {
  auto cpu = kernels::make_cpu_backend(1);
  auto group = make_process_group(*session, *cpu, "");
  ASSERT_TRUE(group.ok()) << group.status().to_string();
  EXPECT_EQ((*group)->name(), "mpi");
  auto bad = make_process_group(*session, *cpu, "no-port");
  EXPECT_EQ(bad.status().code(), StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace tandem::runtime

int main(int argc, char** argv) {
  ::testing::InitGoogleTest(&argc, argv);
  auto s = tandem::runtime::MpiSession::start();
  if (!s.ok()) {
    fprintf(stderr, "%s\n", s.status().to_string().c_str());
    return 1;
  }
  tandem::runtime::session = s->get();
  const int rc = RUN_ALL_TESTS();
  s->reset();
  return rc;
}
