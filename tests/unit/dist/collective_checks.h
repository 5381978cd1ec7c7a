// Collective checks shared by the thread-group test (N threads) and the MPI test (N processes):
// every rank calls check_collectives(group) at once; values depend on rank so a wrong peer, order
// or count shows up.
#pragma once

#include <gtest/gtest.h>

#include <numeric>
#include <vector>

#include "worker/runtime/process_group.h"

namespace tandem::runtime::testing {

inline void check_collectives(ProcessGroup& g) {
  const int R = g.rank(), N = g.size();
  // all_reduce: element i of rank r is r * 1000 + i.
  std::vector<float> a(1001);
  for (size_t i = 0; i < a.size(); ++i) a[i] = static_cast<float>(R * 1000 + static_cast<int>(i));
  g.all_reduce_sum(a.data(), static_cast<int64_t>(a.size()));
  for (size_t i = 0; i < a.size(); ++i) {
    ASSERT_EQ(a[i], static_cast<float>(1000 * N * (N - 1) / 2 + N * static_cast<int>(i))) << "element " << i;
  }
  // all_gather: rank r contributes 7 values r*10 + j.
  std::vector<float> mine(7), all(7 * N, -1.0f);
  for (int j = 0; j < 7; ++j) mine[j] = static_cast<float>(R * 10 + j);
  g.all_gather(mine.data(), 7, all.data());
  for (int r = 0; r < N; ++r) {
    for (int j = 0; j < 7; ++j) ASSERT_EQ(all[r * 7 + j], static_cast<float>(r * 10 + j));
  }
  // exchange_counts + all_to_all_v: rank r sends (r + q + 1) floats of value 100 r + q to rank q.
  std::vector<int64_t> send_counts(N), recv_counts(N, -1);
  std::vector<float> send;
  for (int q = 0; q < N; ++q) {
    send_counts[q] = R + q + 1;
    send.insert(send.end(), R + q + 1, static_cast<float>(100 * R + q));
  }
  g.exchange_counts(send_counts, recv_counts);
  for (int r = 0; r < N; ++r) ASSERT_EQ(recv_counts[r], r + R + 1);
  std::vector<float> recv(std::accumulate(recv_counts.begin(), recv_counts.end(), int64_t{0}), -1.0f);
  g.all_to_all_v(send.data(), send_counts, recv.data(), recv_counts);
  size_t at = 0;
  for (int r = 0; r < N; ++r) {
    for (int64_t j = 0; j < recv_counts[r]; ++j) ASSERT_EQ(recv[at++], static_cast<float>(100 * r + R));
  }
  // broadcast from the last rank.
  std::vector<float> b(5, static_cast<float>(R));
  g.broadcast(b.data(), 5, N - 1);
  for (float x : b) ASSERT_EQ(x, static_cast<float>(N - 1));
  g.barrier();
}

inline void check_control(ControlChannel& c) {
  const int R = c.rank(), N = c.size();
  for (int round = 0; round < 3; ++round) {
    std::string msg = R == 0 ? std::string(static_cast<size_t>(round * 5000), 'x') + "plan" : "stale";
    c.broadcast(msg, 0);
    ASSERT_EQ(msg, std::string(static_cast<size_t>(round * 5000), 'x') + "plan");
  }
  std::vector<std::string> all;
  c.gather(std::string(static_cast<size_t>(R + 1), static_cast<char>('a' + R)), &all, 0);
  if (R == 0) {
    ASSERT_EQ(static_cast<int>(all.size()), N);
    for (int r = 0; r < N; ++r) ASSERT_EQ(all[r], std::string(static_cast<size_t>(r + 1), static_cast<char>('a' + r)));
  }
}

}  // namespace tandem::runtime::testing
