#include "worker/runtime/mpi_group.h"

// The C API only (Open MPI's deprecated C++ bindings need their own library).
#define OMPI_SKIP_MPICXX 1
#define MPICH_SKIP_MPICXX 1
#include <mpi.h>

#include <chrono>
#include <climits>
#include <cstdlib>
#include <thread>

#include "common/check.h"

namespace tandem::runtime {

namespace {

void mpi_check(int rc, const char* what) {
  if (rc == MPI_SUCCESS) return;
  char text[MPI_MAX_ERROR_STRING];
  int len = 0;
  MPI_Error_string(rc, text, &len);
  CHECK(false, "{} failed: {}", what, std::string_view(text, static_cast<size_t>(len)));
}

int as_int(int64_t n, const char* what) {
  CHECK(n >= 0 && n <= INT_MAX, "{}: {} elements do not fit one MPI call", what, n);
  return static_cast<int>(n);
}

MPI_Comm dup_world() {
  MPI_Comm c;
  mpi_check(MPI_Comm_dup(MPI_COMM_WORLD, &c), "MPI_Comm_dup");
  return c;
}

// Waits for a nonblocking request without holding a core: MPI progresses only inside its calls, so
// poll, spinning briefly (back-to-back steps arrive within microseconds) and then sleeping longer
// and longer (an idle worker's followers cost ~nothing).
void wait_politely(MPI_Request* req) {
  using namespace std::chrono;
  const auto spin_until = steady_clock::now() + microseconds(200);
  auto nap = microseconds(20);
  while (true) {
    int done = 0;
    mpi_check(MPI_Test(req, &done, MPI_STATUS_IGNORE), "MPI_Test");
    if (done) return;
    if (steady_clock::now() < spin_until) continue;
    std::this_thread::sleep_for(nap);
    nap = std::min<microseconds>(nap * 2, milliseconds(1));
  }
}

class MpiControlChannel final : public ControlChannel {
 public:
  MpiControlChannel(int rank, int size) : comm_(dup_world()), rank_(rank), size_(size) {}
  ~MpiControlChannel() override { MPI_Comm_free(&comm_); }
  int rank() const override { return rank_; }
  int size() const override { return size_; }

  void broadcast(std::string& bytes, int root) override {
    int64_t n = rank_ == root ? static_cast<int64_t>(bytes.size()) : 0;
    MPI_Request req;
    mpi_check(MPI_Ibcast(&n, 1, MPI_INT64_T, root, comm_, &req), "MPI_Ibcast");
    wait_politely(&req);
    if (rank_ != root) bytes.resize(static_cast<size_t>(n));
    if (n > 0) mpi_check(MPI_Bcast(bytes.data(), as_int(n, "control broadcast"), MPI_BYTE, root, comm_), "MPI_Bcast");
  }

  void gather(const std::string& mine, std::vector<std::string>* all, int root) override {
    int n = as_int(static_cast<int64_t>(mine.size()), "control gather");
    std::vector<int> sizes(rank_ == root ? size_ : 0);
    mpi_check(MPI_Gather(&n, 1, MPI_INT, sizes.data(), 1, MPI_INT, root, comm_), "MPI_Gather");
    std::vector<int> offsets(sizes.size());
    std::string joined;
    if (rank_ == root) {
      int64_t total = 0;
      for (int r = 0; r < size_; ++r) {
        offsets[r] = as_int(total, "control gather");
        total += sizes[r];
      }
      joined.resize(static_cast<size_t>(total));
    }
    mpi_check(MPI_Gatherv(mine.data(), n, MPI_BYTE, joined.data(), sizes.data(), offsets.data(), MPI_BYTE, root,
                          comm_),
              "MPI_Gatherv");
    if (rank_ != root) return;
    all->assign(size_, std::string());
    for (int r = 0; r < size_; ++r) (*all)[r] = joined.substr(offsets[r], sizes[r]);
  }

 private:
  MPI_Comm comm_;
  int rank_, size_;
};

class MpiProcessGroup final : public ProcessGroup {
 public:
  MpiProcessGroup(int rank, int size) : comm_(dup_world()), rank_(rank), size_(size) {}
  ~MpiProcessGroup() override { MPI_Comm_free(&comm_); }
  int rank() const override { return rank_; }
  int size() const override { return size_; }
  std::string_view name() const override { return "mpi"; }

  void all_reduce_sum(float* data, int64_t n) override {
    mpi_check(MPI_Allreduce(MPI_IN_PLACE, data, as_int(n, "all_reduce"), MPI_FLOAT, MPI_SUM, comm_),
              "MPI_Allreduce");
  }
  void all_gather(const float* in, int64_t n, float* out) override {
    const int c = as_int(n, "all_gather");
    mpi_check(MPI_Allgather(in, c, MPI_FLOAT, out, c, MPI_FLOAT, comm_), "MPI_Allgather");
  }
  void all_to_all_v(const float* send, std::span<const int64_t> send_counts, float* recv,
                    std::span<const int64_t> recv_counts) override {
    CHECK(static_cast<int>(send_counts.size()) == size_ && static_cast<int>(recv_counts.size()) == size_,
          "all_to_all_v wants {} counts each way, got {} and {}", size_, send_counts.size(), recv_counts.size());
    std::vector<int> sc(size_), sd(size_), rc(size_), rd(size_);
    int64_t so = 0, ro = 0;
    for (int r = 0; r < size_; ++r) {
      sc[r] = as_int(send_counts[r], "all_to_all_v");
      rc[r] = as_int(recv_counts[r], "all_to_all_v");
      sd[r] = as_int(so, "all_to_all_v");
      rd[r] = as_int(ro, "all_to_all_v");
      so += sc[r];
      ro += rc[r];
    }
    mpi_check(MPI_Alltoallv(send, sc.data(), sd.data(), MPI_FLOAT, recv, rc.data(), rd.data(), MPI_FLOAT, comm_),
              "MPI_Alltoallv");
  }
  void broadcast(float* data, int64_t n, int root) override {
    mpi_check(MPI_Bcast(data, as_int(n, "broadcast"), MPI_FLOAT, root, comm_), "MPI_Bcast");
  }
  void exchange_counts(std::span<const int64_t> send, std::span<int64_t> recv) override {
    CHECK(static_cast<int>(send.size()) == size_ && static_cast<int>(recv.size()) == size_,
          "exchange_counts wants {} counts each way, got {} and {}", size_, send.size(), recv.size());
    mpi_check(MPI_Alltoall(send.data(), 1, MPI_INT64_T, recv.data(), 1, MPI_INT64_T, comm_), "MPI_Alltoall");
  }
  void barrier() override { mpi_check(MPI_Barrier(comm_), "MPI_Barrier"); }

 private:
  MPI_Comm comm_;
  int rank_, size_;
};

}  // namespace

bool launched_by_mpi() {
  for (const char* v : {"OMPI_COMM_WORLD_SIZE", "PMI_SIZE", "PMIX_RANK", "MPI_LOCALNRANKS"}) {
    if (std::getenv(v)) return true;
  }
  return false;
}

StatusOr<std::unique_ptr<MpiSession>> MpiSession::start() {
  int initialized = 0;
  MPI_Initialized(&initialized);
  if (initialized) return failed_precondition_error("MPI is already initialised in this process");
  int provided = 0;
  if (MPI_Init_thread(nullptr, nullptr, MPI_THREAD_SERIALIZED, &provided) != MPI_SUCCESS) {
    return make_status(StatusCode::kUnavailable, "MPI_Init_thread failed; start multi-rank workers with mpirun -np N");
  }
  if (provided < MPI_THREAD_SERIALIZED) {
    MPI_Finalize();
    return failed_precondition_error("this MPI library offers thread level {}, Tandem needs MPI_THREAD_SERIALIZED",
                                     provided);
  }
  // Errors come back as codes (mpi_check turns them into CHECK failures with MPI's text).
  MPI_Comm_set_errhandler(MPI_COMM_WORLD, MPI_ERRORS_RETURN);
  int rank = 0, size = 1;
  MPI_Comm_rank(MPI_COMM_WORLD, &rank);
  MPI_Comm_size(MPI_COMM_WORLD, &size);
  return std::unique_ptr<MpiSession>(new MpiSession(rank, size));
}

MpiSession::~MpiSession() { MPI_Finalize(); }

void MpiSession::abort(int code) {
  MPI_Abort(MPI_COMM_WORLD, code);
  std::_Exit(code);
}

std::unique_ptr<ControlChannel> MpiSession::control_channel() {
  return std::make_unique<MpiControlChannel>(rank_, size_);
}

std::unique_ptr<ProcessGroup> MpiSession::host_group() { return std::make_unique<MpiProcessGroup>(rank_, size_); }

}  // namespace tandem::runtime
