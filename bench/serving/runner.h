// Drives the load: sends every prompt once, open loop (Poisson arrivals at --request-rate; inf:
// all at once) and/or closed loop (at most --max-concurrency in flight; a request that arrives
// while all slots are busy waits for one, as SGLang's semaphore does), and collects the records.
//
// Threads: `client_threads` io_contexts, one thread each, every one with its own Backend (and so
// its own HTTP connection pool); requests are spread over them round-robin. Hundreds of
// concurrent streams are coroutines, not threads. The arrival schedule and the progress bar run
// on the first io_context.
//
// Thread model: run_benchmark() blocks the calling thread until every request has finished.
#pragma once

#include <cstdint>
#include <limits>
#include <vector>

#include "bench/serving/backend.h"

namespace tandem::bench {

struct RunOptions {
  double request_rate = std::numeric_limits<double>::infinity();  // req/s
  int64_t max_concurrency = 0;                                     // 0: unlimited
  uint64_t seed = 1;
  int client_threads = 1;
  bool progress = false;  // draw a progress bar on stderr
};

struct RunResult {
  std::vector<RequestRecord> records;  // records[i] belongs to prompts[i]
  double duration_s = 0;
};

RunResult run_benchmark(const std::vector<BenchPrompt>& prompts, const BackendFactory& factory,
                        const RunOptions& options);

}  // namespace tandem::bench
