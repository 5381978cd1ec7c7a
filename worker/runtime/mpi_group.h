// The MPI side of a multi-rank worker: process-wide MPI start/stop, the ControlChannel (always MPI)
// and a ProcessGroup for host buffers (CPU backends; Open MPI uses shared memory between ranks of
// one host and TCP between hosts by itself).
//
// Thread model: MpiSession is made and destroyed on the main thread; the groups it makes are then
// used by one thread per rank (MPI_THREAD_SERIALIZED: that thread may be the engine thread).
#pragma once

#include <memory>

#include "common/status.h"
#include "worker/runtime/process_group.h"

namespace tandem::runtime {

// True when this process was started by mpirun/mpiexec (Open MPI or a PMI launcher sets these).
bool launched_by_mpi();

class MpiSession {
 public:
  // Initialises MPI (once per process). Fails with a clear message when MPI cannot start.
  static StatusOr<std::unique_ptr<MpiSession>> start();
  ~MpiSession();  // MPI_Finalize
  MpiSession(const MpiSession&) = delete;
  MpiSession& operator=(const MpiSession&) = delete;

  int rank() const { return rank_; }
  int size() const { return size_; }
  // Ends every rank of the job (a rank that cannot go on must not leave the others waiting).
  [[noreturn]] void abort(int code);

  // Each over its own duplicate of MPI_COMM_WORLD, so their messages never mix.
  std::unique_ptr<ControlChannel> control_channel();
  std::unique_ptr<ProcessGroup> host_group();

 private:
  MpiSession(int rank, int size) : rank_(rank), size_(size) {}
  int rank_;
  int size_;
};

}  // namespace tandem::runtime
