// Collectives between the ranks of one tensor/expert-parallel worker. The model and the engine talk
// to these interfaces only; mpi.h and nccl.h stay inside their implementations
// (mpi_group.*, nccl_group.*; thread_group.* is the in-process test double).
//
// Two channels, because they carry different things:
//  - ProcessGroup: float32 data collectives on buffers in the memory of the backend it serves (host
//    for MPI, device for NCCL). On a device they are ordered with the backend's kernels (NCCL runs on
//    the CUDA backend's stream), so they may sit inside a captured step.
//  - ControlChannel: host byte messages, rank 0 → the others (each step's plan, KV row commands).
//    Always MPI in a real job, also when the data collectives are NCCL.
//
// Every rank must make the same calls in the same order with the same sizes (sizes that differ by
// rank go through exchange_counts first). A rank that dies takes the job down (mpirun ends the
// others); nothing here times out.
//
// Thread model: one thread per rank makes all calls (the engine thread on rank 0, the follower loop
// on the others).
#pragma once

#include <algorithm>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"

namespace tandem::runtime {

class ProcessGroup {
 public:
  virtual ~ProcessGroup() = default;
  virtual int rank() const = 0;
  virtual int size() const = 0;
  virtual std::string_view name() const = 0;  // "mpi", "nccl", "threads"

  // data[0..n) = the sum over ranks, on every rank.
  virtual void all_reduce_sum(float* data, int64_t n) = 0;
  // out[r * n .. (r + 1) * n) = rank r's in[0..n), on every rank. `in` may not alias `out`.
  virtual void all_gather(const float* in, int64_t n, float* out) = 0;
  // Sends send_counts[r] floats to rank r (blocks contiguous in rank order, r = 0..size-1) and
  // receives recv_counts[r] floats from rank r into recv (same layout). recv_counts must be what the
  // peers send (exchange_counts gives them).
  virtual void all_to_all_v(const float* send, std::span<const int64_t> send_counts, float* recv,
                            std::span<const int64_t> recv_counts) = 0;
  // data[0..n) = root's data[0..n), on every rank.
  virtual void broadcast(float* data, int64_t n, int root) = 0;
  // Host memory: recv[r] = what rank r passed as send[my rank]. Both spans hold size() entries.
  virtual void exchange_counts(std::span<const int64_t> send, std::span<int64_t> recv) = 0;
  virtual void barrier() = 0;
};

class ControlChannel {
 public:
  virtual ~ControlChannel() = default;
  virtual int rank() const = 0;
  virtual int size() const = 0;
  // Root sends `bytes`; the other ranks receive them into `bytes` (resized). Ranks waiting for the
  // next message do not spin a core while rank 0 is idle.
  virtual void broadcast(std::string& bytes, int root) = 0;
  // Every rank passes `mine`; root gets all of them in rank order in `all` (others: untouched).
  virtual void gather(const std::string& mine, std::vector<std::string>* all, int root) = 0;
};

// A contiguous share of `total` items for `rank` of `size` (the first total % size ranks get one
// more): begin and count. Used for heads, vocab rows, experts and token slices alike.
struct Share {
  int64_t begin = 0;
  int64_t count = 0;
  int64_t end() const { return begin + count; }
};
inline Share share_of(int64_t total, int rank, int size) {
  const int64_t base = total / size, extra = total % size;
  const int64_t begin = rank * base + std::min<int64_t>(rank, extra);
  return {begin, base + (rank < extra ? 1 : 0)};
}

// "HOST:PORT" (IPv4, a hostname or [IPv6]); empty means "use the default". Any other shape, or a
// port outside 1..65535, is an InvalidArgument naming the flag's value and the expected form.
struct InitAddress {
  std::string host;
  int port = 0;
};
StatusOr<InitAddress> parse_init_address(std::string_view text);

}  // namespace tandem::runtime
