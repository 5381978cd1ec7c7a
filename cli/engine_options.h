// The engine flags `tandem generate` and `tandem worker` share (model, device, threads, KV cache,
// scheduler limits), each also settable through a TANDEM_* environment variable. Start-up only.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "worker/service/engine.h"

namespace CLI {
class App;
}

namespace tandem::cli {

struct EngineOptions {
  std::string model;
  std::string device = "cpu";  // cpu | cuda | cuda:N
  int threads = 0;
  int32_t kv_slots = 0;         // 0: auto (kCpuKvSlots on the CPU; on a GPU what fits mem_fraction)
  double mem_fraction = 0.85;   // GPU: weights + KV cache at most this share of the device's memory
  // f32 | f16 | bf16 | auto (f32 on CPU: exact and what the CPU kernels are tuned for; bf16 on
  // CUDA: half the bytes, and the tensor-core prefill attention needs a 16-bit cache).
  std::string kv_dtype = "auto";
  int32_t max_running_requests = 0;  // 0: auto (64 on the CPU, 256 on a GPU)
  int32_t chunked_prefill_size = 2048;
  std::string schedule_policy = "fcfs";
  int32_t page_size = 1;
  bool disable_radix_cache = false;
  int32_t context_length = 0;  // 0: the model's
};

void add_engine_options(CLI::App& cmd, EngineOptions& o);
// --max-running-requests with 0 resolved for the device.
int32_t max_running_requests(const EngineOptions& o);
service::EngineConfig make_engine_config(const EngineOptions& o, std::vector<int32_t> eos_ids,
                                         uint64_t base_seed);

}  // namespace tandem::cli
