#include "worker/runtime/thread_group.h"

#include <cstring>
#include <string>
#include <thread>

#include "common/check.h"

namespace tandem::runtime {

// Each collective: publish pointers, wait for everyone, read the peers' buffers into a private
// result, wait until every rank has read, then write the result in place.
class ThreadProcessGroup final : public ProcessGroup {
 public:
  ThreadProcessGroup(ThreadGroupWorld& w, int rank) : w_(w), rank_(rank) {}
  int rank() const override { return rank_; }
  int size() const override { return w_.size_; }
  std::string_view name() const override { return "threads"; }

  void all_reduce_sum(float* data, int64_t n) override {
    publish(data, data, nullptr);
    std::vector<float> sum(static_cast<size_t>(n), 0.0f);
    // Rank order, the same on every rank, so every rank ends with bit-identical sums.
    for (int r = 0; r < w_.size_; ++r) {
      const float* p = static_cast<const float*>(w_.in_[r]);
      for (int64_t i = 0; i < n; ++i) sum[i] += p[i];
    }
    w_.sync_.arrive_and_wait();
    std::memcpy(data, sum.data(), n * sizeof(float));
    w_.sync_.arrive_and_wait();
  }
  void all_gather(const float* in, int64_t n, float* out) override {
    publish(in, out, nullptr);
    for (int r = 0; r < w_.size_; ++r) std::memcpy(out + r * n, w_.in_[r], n * sizeof(float));
    w_.sync_.arrive_and_wait();
  }
  void all_to_all_v(const float* send, std::span<const int64_t> send_counts, float* recv,
                    std::span<const int64_t> recv_counts) override {
    CHECK(static_cast<int>(send_counts.size()) == w_.size_ && static_cast<int>(recv_counts.size()) == w_.size_,
          "all_to_all_v wants {} counts each way", w_.size_);
    publish(send, recv, send_counts.data());
    int64_t at = 0;
    for (int r = 0; r < w_.size_; ++r) {
      // Rank r's block for me starts after its blocks for ranks < me.
      const int64_t* theirs = w_.counts_[r];
      int64_t off = 0;
      for (int q = 0; q < rank_; ++q) off += theirs[q];
      CHECK(theirs[rank_] == recv_counts[r], "rank {} sends {} floats to rank {}, which expects {}", r,
            theirs[rank_], rank_, recv_counts[r]);
      std::memcpy(recv + at, static_cast<const float*>(w_.in_[r]) + off, recv_counts[r] * sizeof(float));
      at += recv_counts[r];
    }
    w_.sync_.arrive_and_wait();
  }
  void broadcast(float* data, int64_t n, int root) override {
    publish(data, data, nullptr);
    if (rank_ != root) std::memcpy(data, w_.in_[root], n * sizeof(float));
    w_.sync_.arrive_and_wait();
  }
  void exchange_counts(std::span<const int64_t> send, std::span<int64_t> recv) override {
    publish(send.data(), recv.data(), send.data());
    for (int r = 0; r < w_.size_; ++r) recv[r] = w_.counts_[r][rank_];
    w_.sync_.arrive_and_wait();
  }
  void barrier() override { w_.sync_.arrive_and_wait(); }

 private:
  void publish(const void* in, void* out, const int64_t* counts) {
    w_.in_[rank_] = in;
    w_.out_[rank_] = out;
    w_.counts_[rank_] = counts;
    w_.sync_.arrive_and_wait();
  }
  ThreadGroupWorld& w_;
  int rank_;
};

class ThreadControlChannel final : public ControlChannel {
 public:
  ThreadControlChannel(ThreadGroupWorld& w, int rank) : w_(w), rank_(rank) {}
  int rank() const override { return rank_; }
  int size() const override { return w_.size_; }
  void broadcast(std::string& bytes, int root) override {
    w_.in_[rank_] = &bytes;
    w_.sync_.arrive_and_wait();
    if (rank_ != root) bytes = *static_cast<const std::string*>(w_.in_[root]);
    w_.sync_.arrive_and_wait();
  }
  void gather(const std::string& mine, std::vector<std::string>* all, int root) override {
    w_.in_[rank_] = &mine;
    w_.sync_.arrive_and_wait();
    if (rank_ == root) {
      all->clear();
      for (int r = 0; r < w_.size_; ++r) all->push_back(*static_cast<const std::string*>(w_.in_[r]));
    }
    w_.sync_.arrive_and_wait();
  }

 private:
  ThreadGroupWorld& w_;
  int rank_;
};

ThreadGroupWorld::ThreadGroupWorld(int size)
    : size_(size), sync_(size), in_(size), out_(size), counts_(size) {
  CHECK(size >= 1, "a group needs at least one rank, got {}", size);
  for (int r = 0; r < size; ++r) {
    groups_.push_back(std::make_unique<ThreadProcessGroup>(*this, r));
    channels_.push_back(std::make_unique<ThreadControlChannel>(*this, r));
  }
}

ThreadGroupWorld::~ThreadGroupWorld() = default;

ProcessGroup& ThreadGroupWorld::group(int rank) { return *groups_.at(rank); }
ControlChannel& ThreadGroupWorld::channel(int rank) { return *channels_.at(rank); }

void ThreadGroupWorld::run(const std::function<void(int rank)>& fn) {
  std::vector<std::thread> threads;
  for (int r = 0; r < size_; ++r) threads.emplace_back([&fn, r] { fn(r); });
  for (std::thread& t : threads) t.join();
}

}  // namespace tandem::runtime
