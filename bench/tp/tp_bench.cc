// Tensor-parallel cost on CPU: the decode step of one model at TP = the MPI world size, and the
// latency of the all-reduce a decode step makes (dim floats per token: two per layer). Run it once
// plain or under `mpirun -np 1` for TP=1 and under `mpirun -np N` for TP=N; every rank runs the
// same steps (greedy over the all-gathered logits, so the ranks agree without a control channel)
// and rank 0 prints one JSON line per batch size and per all-reduce size.
// Usage: mpirun -np 2 tandem_bench_tp [--model PATH] [--threads 1] [--batch 1,8] [--steps 32]
//                                     [--prompt-len 16] [--repeats 3] [--allreduce-iters 2000]
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <string>
#include <vector>

#include <CLI/CLI.hpp>
#include <fmt/format.h>

#include "bench/common/decode_steps.h"
#include "cli/model_paths.h"
#include "kernels/backend.h"
#include "worker/model/model_loader.h"
#include "worker/runtime/mpi_group.h"

using namespace tandem;

namespace {

using Clock = std::chrono::steady_clock;

double seconds_since(Clock::time_point t0) {
  return std::chrono::duration<double>(Clock::now() - t0).count();
}

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v[v.size() / 2];
}

// Median over `repeats` runs of the mean milliseconds of `steps` decode steps at batch size bs.
double decode_ms_per_step(model::LlamaModel& m, int bs, int prompt_len, int steps, int repeats) {
  std::vector<double> runs;
  for (int rep = 0; rep < repeats; ++rep) {
    runs.push_back(bench::time_decode_steps(m, bs, prompt_len, steps, DType::kF32));
  }
  return median(runs);
}

// Median microseconds of one all_reduce_sum of n floats (a barrier first so ranks start together).
double all_reduce_us(runtime::ProcessGroup& g, int64_t n, int iters) {
  std::vector<float> buf(n, 1.0f);
  std::vector<double> us;
  for (int i = 0; i < 20; ++i) g.all_reduce_sum(buf.data(), n);  // warm-up
  g.barrier();
  for (int i = 0; i < iters; ++i) {
    const auto t0 = Clock::now();
    g.all_reduce_sum(buf.data(), n);
    us.push_back(1e6 * seconds_since(t0));
  }
  return median(us);
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"Tensor-parallel decode step and all-reduce latency (CPU, MPI)"};
  std::string model_path = cli::default_model_path();
  int threads = 1, steps = 32, prompt_len = 16, repeats = 3, ar_iters = 2000;
  std::vector<int> batches = {1, 8};
  app.add_option("--model", model_path);
  app.add_option("--threads", threads, "CPU threads per rank");
  app.add_option("--batch", batches)->delimiter(',');
  app.add_option("--steps", steps);
  app.add_option("--prompt-len", prompt_len);
  app.add_option("--repeats", repeats);
  app.add_option("--allreduce-iters", ar_iters);
  CLI11_PARSE(app, argc, argv);

  auto session = runtime::MpiSession::start();
  if (!session.ok()) {
    fmt::print(stderr, "{}\n", session.status().to_string());
    return 1;
  }
  std::unique_ptr<runtime::ProcessGroup> group = (*session)->host_group();
  const int rank = group->rank(), tp = group->size();

  auto backend = kernels::make_cpu_backend(threads);
  auto loaded = model::load_model(model_path, *backend, tp > 1 ? group.get() : nullptr);
  if (!loaded.ok()) {
    fmt::print(stderr, "rank {}: {}\n", rank, loaded.status().to_string());
    (*session)->abort(1);
  }
  model::LlamaModel& m = *loaded->model;
  const int dim = m.config().hidden_size;

  for (int bs : batches) {
    group->barrier();
    const double ms = decode_ms_per_step(m, bs, prompt_len, steps, repeats);
    if (rank == 0) {
      fmt::print("{{\"bench\": \"decode_step\", \"tp\": {}, \"threads_per_rank\": {}, \"batch\": {}, "
                 "\"steps\": {}, \"ms_per_step_median\": {:.3f}, \"tok_per_s\": {:.1f}}}\n",
                 tp, threads, bs, steps, ms, 1e3 * bs / ms);
      std::fflush(stdout);
    }
  }
  if (tp > 1) {
    for (int bs : batches) {
      const int64_t n = static_cast<int64_t>(dim) * bs;
      const double us = all_reduce_us(*group, n, ar_iters);
      if (rank == 0) {
        fmt::print("{{\"bench\": \"all_reduce\", \"tp\": {}, \"floats\": {}, \"batch\": {}, "
                   "\"us_median\": {:.2f}, \"per_decode_step_ms\": {:.3f}}}\n",
                   tp, n, bs, us, 2e-3 * m.config().num_layers * us);
        std::fflush(stdout);
      }
    }
  }
  return 0;
}
