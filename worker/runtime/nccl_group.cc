#include "worker/runtime/nccl_group.h"

#include <cstdlib>
#include <cstring>
#include <optional>
#include <vector>

#include "common/check.h"

#ifdef TANDEM_WITH_NCCL
#include <cuda_runtime.h>
#include <nccl.h>
#endif

namespace tandem::runtime {

int local_rank_from_env() {
  for (const char* v : {"OMPI_COMM_WORLD_LOCAL_RANK", "MPI_LOCALRANKID", "SLURM_LOCALID"}) {
    if (const char* s = std::getenv(v)) return std::max(0, std::atoi(s));
  }
  return 0;
}

std::string device_for_local_rank(std::string_view device) {
  if (device != "cuda") return std::string(device);
  return "cuda:" + std::to_string(local_rank_from_env());
}

StatusOr<std::unique_ptr<ProcessGroup>> make_process_group(MpiSession& mpi, kernels::Backend& backend,
                                                           std::string_view init_address) {
  InitAddress init;
  if (!init_address.empty()) {
    ASSIGN_OR_RETURN(init, parse_init_address(init_address));
  }
  if (!backend.is_device()) return mpi.host_group();
  return make_nccl_group(mpi, backend, init);
}

#ifndef TANDEM_WITH_NCCL

bool nccl_built() { return false; }

StatusOr<std::unique_ptr<ProcessGroup>> make_nccl_group(MpiSession&, kernels::Backend& backend, const InitAddress&) {
  return unimplemented("backend {} computes on a device but this build has no NCCL (configure with the CUDA "
                       "toolkit, which brings NCCL, or use --device cpu)", backend.name());
}

#else

bool nccl_built() { return true; }

namespace {

std::string nccl_words(ncclResult_t rc, ncclComm_t comm) {
  const char* last = ncclGetLastError(comm);
  return fmt::format("{} ({})", ncclGetErrorString(rc), last && *last ? last : "no further detail");
}

// Collectives are hot-path calls with no Status in the interface: a failing one ends the rank
// (mpirun then ends the job), with NCCL's reason in the message.
#define NCCL_OK(call)                                                                          \
  do {                                                                                         \
    ncclResult_t rc_ = (call);                                                                 \
    CHECK(rc_ == ncclSuccess, "{} failed: {}; set NCCL_DEBUG=WARN for NCCL's log", #call,     \
          nccl_words(rc_, comm_));                                                             \
  } while (0)

class NcclProcessGroup final : public ProcessGroup {
 public:
  NcclProcessGroup(ncclComm_t comm, cudaStream_t stream, int device, std::unique_ptr<ProcessGroup> host, int rank,
                   int size)
      : comm_(comm), stream_(stream), device_(device), host_(std::move(host)), rank_(rank), size_(size) {}
  ~NcclProcessGroup() override {
    cudaSetDevice(device_);
    cudaStreamSynchronize(stream_);
    ncclCommDestroy(comm_);
  }
  int rank() const override { return rank_; }
  int size() const override { return size_; }
  std::string_view name() const override { return "nccl"; }

  void all_reduce_sum(float* data, int64_t n) override {
    if (n == 0) return;
    NCCL_OK(ncclAllReduce(data, data, static_cast<size_t>(n), ncclFloat32, ncclSum, comm_, stream_));
  }
  void all_gather(const float* in, int64_t n, float* out) override {
    if (n == 0) return;
    NCCL_OK(ncclAllGather(in, out, static_cast<size_t>(n), ncclFloat32, comm_, stream_));
  }
  void all_to_all_v(const float* send, std::span<const int64_t> send_counts, float* recv,
                    std::span<const int64_t> recv_counts) override {
    CHECK(static_cast<int>(send_counts.size()) == size_ && static_cast<int>(recv_counts.size()) == size_,
          "all_to_all_v wants {} counts each way, got {} and {}", size_, send_counts.size(), recv_counts.size());
    int64_t so = 0, ro = 0;
    // Point-to-point pairs inside one group call: NCCL matches them without ordering deadlocks.
    NCCL_OK(ncclGroupStart());
    for (int r = 0; r < size_; ++r) {
      CHECK(send_counts[r] >= 0 && recv_counts[r] >= 0, "all_to_all_v: negative count for rank {}", r);
      if (r == rank_) {
        CHECK(send_counts[r] == recv_counts[r], "all_to_all_v: rank {} sends itself {} floats but expects {}", r,
              send_counts[r], recv_counts[r]);
        if (send_counts[r] > 0) {
          cudaError_t e = cudaMemcpyAsync(recv + ro, send + so, send_counts[r] * sizeof(float),
                                          cudaMemcpyDeviceToDevice, stream_);
          CHECK(e == cudaSuccess, "all_to_all_v self copy: {}", cudaGetErrorString(e));
        }
      } else {
        if (send_counts[r] > 0) NCCL_OK(ncclSend(send + so, send_counts[r], ncclFloat32, r, comm_, stream_));
        if (recv_counts[r] > 0) NCCL_OK(ncclRecv(recv + ro, recv_counts[r], ncclFloat32, r, comm_, stream_));
      }
      so += send_counts[r];
      ro += recv_counts[r];
    }
    NCCL_OK(ncclGroupEnd());
  }
  void broadcast(float* data, int64_t n, int root) override {
    if (n == 0) return;
    NCCL_OK(ncclBroadcast(data, data, static_cast<size_t>(n), ncclFloat32, root, comm_, stream_));
  }
  void exchange_counts(std::span<const int64_t> send, std::span<int64_t> recv) override {
    host_->exchange_counts(send, recv);
  }
  // Every rank's queued device work is done when barrier returns, not only its host calls.
  void barrier() override {
    cudaError_t e = cudaStreamSynchronize(stream_);
    CHECK(e == cudaSuccess, "NCCL group barrier: the stream failed: {}", cudaGetErrorString(e));
    host_->barrier();
  }

 private:
  ncclComm_t comm_;
  cudaStream_t stream_;
  int device_;
  std::unique_ptr<ProcessGroup> host_;
  int rank_, size_;
};

#undef NCCL_OK

// Sets an environment variable for one scope and puts the old value back: NCCL_COMM_ID must hold
// only while this group bootstraps, not for a later group of the same process.
class ScopedEnv {
 public:
  ScopedEnv(const char* name, const std::string& value) : name_(name) {
    if (const char* old = std::getenv(name)) old_ = old;
    setenv(name, value.c_str(), 1);
  }
  ~ScopedEnv() {
    if (old_) setenv(name_, old_->c_str(), 1);
    else unsetenv(name_);
  }
  ScopedEnv(const ScopedEnv&) = delete;
  ScopedEnv& operator=(const ScopedEnv&) = delete;

 private:
  const char* name_;
  std::optional<std::string> old_;
};

}  // namespace

StatusOr<std::unique_ptr<ProcessGroup>> make_nccl_group(MpiSession& mpi, kernels::Backend& backend,
                                                        const InitAddress& init) {
  if (!backend.is_device() || backend.native_stream() == nullptr || backend.device_index() < 0) {
    return invalid_argument("the NCCL group needs a CUDA backend; backend {} is not one (use the MPI group)",
                            backend.name());
  }
  std::optional<ScopedEnv> comm_id;
  if (!init.host.empty()) {
    // NCCL reads NCCL_COMM_ID in ncclGetUniqueId / ncclCommInitRank: rank 0's bootstrap root then
    // listens there and the id carries that address. Brackets stay for IPv6.
    const bool v6 = init.host.find(':') != std::string::npos;
    comm_id.emplace("NCCL_COMM_ID", v6 ? fmt::format("[{}]:{}", init.host, init.port)
                                       : fmt::format("{}:{}", init.host, init.port));
  }
  const int device = backend.device_index();
  if (cudaError_t e = cudaSetDevice(device); e != cudaSuccess) {
    return failed_precondition_error("NCCL group: cudaSetDevice({}) failed: {}", device, cudaGetErrorString(e));
  }
  auto control = mpi.control_channel();
  std::string id_bytes;
  int id_ok = 1;
  if (mpi.rank() == 0) {
    ncclUniqueId id;
    ncclResult_t rc = ncclGetUniqueId(&id);
    if (rc == ncclSuccess) {
      id_bytes.assign(id.internal, sizeof(id.internal));
    } else {
      id_ok = 0;
      id_bytes = nccl_words(rc, nullptr);
    }
    id_bytes.insert(0, 1, static_cast<char>(id_ok));
  }
  // One broadcast carries either the id or rank 0's error, so no rank waits on a failed rank 0.
  control->broadcast(id_bytes, 0);
  if (id_bytes.empty() || id_bytes[0] != 1) {
    return make_status(StatusCode::kUnavailable, "NCCL group: rank 0 could not make an NCCL id: {}{}",
                       id_bytes.empty() ? std::string("nothing received") : id_bytes.substr(1),
                       init.host.empty() ? "" : fmt::format(" (is {}:{} a free port of rank 0's host?)", init.host,
                                                            init.port));
  }
  ncclUniqueId id;
  CHECK(id_bytes.size() == 1 + sizeof(id.internal), "NCCL id of {} bytes, expected {}", id_bytes.size() - 1,
        sizeof(id.internal));
  std::memcpy(id.internal, id_bytes.data() + 1, sizeof(id.internal));
  ncclComm_t comm = nullptr;
  if (ncclResult_t rc = ncclCommInitRank(&comm, mpi.size(), id, mpi.rank()); rc != ncclSuccess) {
    return make_status(StatusCode::kUnavailable, "NCCL group: ncclCommInitRank (rank {} of {}, GPU {}) failed: {}", mpi.rank(), mpi.size(),
                       device, nccl_words(rc, comm));
  }
  return std::unique_ptr<ProcessGroup>(new NcclProcessGroup(comm, static_cast<cudaStream_t>(backend.native_stream()),
                                                            device, mpi.host_group(), mpi.rank(), mpi.size()));
}

#endif  // TANDEM_WITH_NCCL

}  // namespace tandem::runtime
