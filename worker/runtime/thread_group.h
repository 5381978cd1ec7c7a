// Test double: the ranks of a "multi-rank worker" as threads of one process, sharing host memory.
// Lets sharded model code be unit-tested (TP=2 logits == TP=1) without mpirun. Not for serving.
//
// Usage: ThreadGroupWorld world(n); run n threads, thread r uses world.group(r) and
// world.channel(r). Every collective is a rendezvous of all n threads (like the real ones).
#pragma once

#include <barrier>
#include <functional>
#include <memory>
#include <vector>

#include "worker/runtime/process_group.h"

namespace tandem::runtime {

class ThreadGroupWorld {
 public:
  explicit ThreadGroupWorld(int size);
  ~ThreadGroupWorld();
  int size() const { return size_; }
  ProcessGroup& group(int rank);
  ControlChannel& channel(int rank);

  // Runs fn(rank) on `size` threads and joins them.
  void run(const std::function<void(int rank)>& fn);

 private:
  friend class ThreadProcessGroup;
  friend class ThreadControlChannel;
  int size_;
  std::barrier<> sync_;
  // Per-rank pointers published for the current collective.
  std::vector<const void*> in_;
  std::vector<void*> out_;
  std::vector<const int64_t*> counts_;
  std::vector<std::unique_ptr<ProcessGroup>> groups_;
  std::vector<std::unique_ptr<ControlChannel>> channels_;
};

}  // namespace tandem::runtime
