// All-reduce timing through our ProcessGroup, under mpirun (every rank runs this binary):
// - on GPUs (one per rank, `cuda:<local rank>`): the NCCL group vs raw ncclAllReduce on a second
//   communicator of the same ranks (NCCL's own number, same stream, same sizes, same run), plus
//   the group's all-reduce replayed from a CUDA graph (what a captured decode step pays). Sizes:
//   a decode step's hidden state (4096 floats × batch 1..128) and a 4096-token prefill (4096²).
// - on the CPU (or with --cpu): the MPI group for the default model's decode sizes (576 × batch).
// Reports latency per all-reduce (median of 5 rounds) and bus bandwidth = algbw × 2(n−1)/n.
// Usage: mpirun -np N tandem_collective_bench [--cpu]. Rank 0 prints the table last.
#define OMPI_SKIP_MPICXX 1
#include <mpi.h>

#include <algorithm>
#include <chrono>
#include <cstring>
#include <string>
#include <vector>

#include <fmt/format.h>

#include "kernels/backend.h"
#include "worker/runtime/nccl_group.h"

#ifdef TANDEM_WITH_NCCL
#include <cuda_runtime.h>
#include <nccl.h>

#include "kernels/cuda/cuda_backend.h"
#include "kernels/cuda/cuda_check.h"
#endif

namespace tandem {
namespace {

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v[v.size() / 2];
}

struct Row {
  std::string what;
  int64_t floats;
  double us;  // per all-reduce
};

void print_table(const std::vector<Row>& rows, int n, const std::string& title) {
  fmt::print("\n=== {} ({} ranks) ===\n", title, n);
  fmt::print("{:<34} {:>10} {:>10} {:>12} {:>12}\n", "all-reduce", "floats", "us", "algbw GB/s", "busbw GB/s");
  for (const Row& r : rows) {
    const double alg = r.floats * 4.0 / (r.us * 1e-6) / 1e9;
    fmt::print("{:<34} {:>10} {:>10.1f} {:>12.2f} {:>12.2f}\n", r.what, r.floats, r.us, alg, alg * 2.0 * (n - 1) / n);
  }
}

int run_cpu(runtime::MpiSession& mpi) {
  auto cpu = kernels::make_cpu_backend(1);
  auto group = runtime::make_process_group(mpi, *cpu, "");
  CHECK(group.ok(), "{}", group.status().to_string());
  std::vector<Row> rows;
  for (int batch : {1, 8, 32, 64, 128}) {
    const int64_t n = 576LL * batch;
    std::vector<float> v(n, 1.0f);
    const int iters = 200;
    std::vector<double> rounds;
    for (int round = 0; round < 6; ++round) {
      (*group)->barrier();
      const auto t0 = std::chrono::steady_clock::now();
      for (int i = 0; i < iters; ++i) (*group)->all_reduce_sum(v.data(), n);
      const double us = std::chrono::duration<double, std::micro>(std::chrono::steady_clock::now() - t0).count();
      if (round > 0) rounds.push_back(us / iters);
    }
    rows.push_back({fmt::format("mpi group, 576 x batch {}", batch), n, median(rounds)});
  }
  if (mpi.rank() == 0) print_table(rows, mpi.size(), "MPI group all-reduce (host buffers)");
  return 0;
}

#ifdef TANDEM_WITH_NCCL
int run_gpu(runtime::MpiSession& mpi) {
  auto be_or = kernels::make_cuda_backend(runtime::local_rank_from_env());
  CHECK(be_or.ok(), "{}", be_or.status().to_string());
  kernels::Backend& be = **be_or;
  auto group_or = runtime::make_process_group(mpi, be, "");
  CHECK(group_or.ok(), "{}", group_or.status().to_string());
  runtime::ProcessGroup& group = **group_or;
  cudaStream_t stream = static_cast<cudaStream_t>(be.native_stream());
  // The raw communicator: same ranks, same GPU, same stream.
  ncclUniqueId id;
  if (mpi.rank() == 0) CHECK(ncclGetUniqueId(&id) == ncclSuccess, "ncclGetUniqueId");
  MPI_Bcast(&id, sizeof(id), MPI_BYTE, 0, MPI_COMM_WORLD);
  ncclComm_t raw = nullptr;
  CHECK(ncclCommInitRank(&raw, mpi.size(), id, mpi.rank()) == ncclSuccess, "ncclCommInitRank");

  std::vector<int64_t> sizes;
  for (int batch : {1, 8, 32, 64, 128}) sizes.push_back(4096LL * batch);
  sizes.push_back(4096LL * 4096);
  kernels::BackendBuffer buf(be, sizes.back() * sizeof(float));
  CUDA_OK(cudaMemsetAsync(buf.get(), 0, sizes.back() * sizeof(float), stream));
  float* d = buf.as<float>();
  cudaEvent_t e0, e1;
  CUDA_OK(cudaEventCreate(&e0));
  CUDA_OK(cudaEventCreate(&e1));
  // Microseconds per op for `iters` back-to-back ops, median over rounds (ranks aligned first).
  auto time_it = [&](int iters, auto&& op) {
    std::vector<double> rounds;
    for (int round = 0; round < 6; ++round) {
      group.barrier();
      CUDA_OK(cudaEventRecord(e0, stream));
      for (int i = 0; i < iters; ++i) op();
      CUDA_OK(cudaEventRecord(e1, stream));
      CUDA_OK(cudaEventSynchronize(e1));
      float ms = 0;
      CUDA_OK(cudaEventElapsedTime(&ms, e0, e1));
      if (round > 0) rounds.push_back(ms * 1e3 / iters);
    }
    return median(rounds);
  };
  std::vector<Row> rows;
  for (int64_t n : sizes) {
    const int iters = n >= 4096LL * 4096 ? 20 : 200;
    const std::string tag = n == 4096LL * 4096 ? "prefill 4096x4096" : fmt::format("decode 4096 x {}", n / 4096);
    rows.push_back({"group  " + tag, n, time_it(iters, [&] { group.all_reduce_sum(d, n); })});
    rows.push_back({"raw    " + tag, n, time_it(iters, [&] {
                      CHECK(ncclAllReduce(d, d, n, ncclFloat32, ncclSum, raw, stream) == ncclSuccess, "ncclAllReduce");
                    })});
    // Ten all-reduces captured once, replayed: launch cost leaves the per-op number.
    if (n < 4096LL * 4096) {
      be.capture_begin();
      for (int i = 0; i < 10; ++i) group.all_reduce_sum(d, n);
      const int gid = be.capture_end();
      rows.push_back({"graph  " + tag, n, time_it(iters / 10, [&] { CHECK(be.replay(gid), "stale capture"); }) / 10});
      be.drop_captures();
    }
  }
  group.barrier();
  ncclCommDestroy(raw);
  if (mpi.rank() == 0) print_table(rows, mpi.size(), fmt::format("NCCL all-reduce on {}", be.name()));
  return 0;
}
#endif

int run(int argc, char** argv) {
  const bool cpu = argc > 1 && std::strcmp(argv[1], "--cpu") == 0;
  auto mpi = runtime::MpiSession::start();
  if (!mpi.ok()) {
    fmt::print(stderr, "{}\n", mpi.status().to_string());
    return 1;
  }
#ifdef TANDEM_WITH_NCCL
  if (!cpu && kernels::cuda_device_count() >= (*mpi)->size()) return run_gpu(**mpi);
#endif
  return run_cpu(**mpi);
}

}  // namespace
}  // namespace tandem

int main(int argc, char** argv) { return tandem::run(argc, argv); }
