// The device side of a multi-rank worker: a ProcessGroup whose collectives run through NCCL on the
// CUDA backend's stream (so they are ordered with the model's kernels and can be captured in a CUDA
// graph), plus the factory the worker uses so that it never names MPI or NCCL itself.
//
// Thread model: made on the thread that made the backend; then used by one thread per rank (the
// same rule as every ProcessGroup). Destroy the group before the backend and before the MpiSession.
#pragma once

#include <memory>
#include <string>
#include <string_view>

#include "common/status.h"
#include "kernels/backend.h"
#include "worker/runtime/mpi_group.h"
#include "worker/runtime/process_group.h"

namespace tandem::runtime {

// True when this build has the NCCL group (CUDA builds).
bool nccl_built();

// An NCCL communicator over all ranks of `mpi`'s job, on `backend`'s device and stream. Rank 0 makes
// the NCCL id and broadcasts it over MPI. A non-empty `init` makes rank 0's NCCL bootstrap root
// listen at that address (NCCL_COMM_ID semantics) instead of a free port on its default interface.
// exchange_counts and barrier go over MPI (host memory). Fails when the backend is not a CUDA
// device or when NCCL cannot start (the message carries NCCL's own words).
StatusOr<std::unique_ptr<ProcessGroup>> make_nccl_group(MpiSession& mpi, kernels::Backend& backend,
                                                        const InitAddress& init);

// The group a worker's shard needs: MPI for host backends, NCCL for device ones. `init_address` is
// the --dist-init-addr text ("" = default); a malformed one is an InvalidArgument.
StatusOr<std::unique_ptr<ProcessGroup>> make_process_group(MpiSession& mpi, kernels::Backend& backend,
                                                           std::string_view init_address);

// The launcher's node-local rank (OMPI_COMM_WORLD_LOCAL_RANK, MPI_LOCALRANKID, SLURM_LOCALID), 0 when
// not launched by one. Rank r of a node uses GPU r by default.
int local_rank_from_env();
// "cuda" → "cuda:<local rank>" under a launcher (one GPU per rank); any other device text unchanged.
std::string device_for_local_rank(std::string_view device);

}  // namespace tandem::runtime
