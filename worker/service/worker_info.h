// What a worker reports about itself in GetModelInfo / GetServerInfo and where GetTokenizer finds
// the tokenizer. Filled once at start-up (cli/worker_command.cc); a plain value afterwards.
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <string>
#include <vector>

namespace tandem::service {

struct WorkerInfo {
  std::string model_path;         // the GGUF file or HF directory given to --model
  std::string served_model_name;  // the name clients use (defaults to the file/dir stem)
  std::string tokenizer_path;     // GGUF file or HF directory holding the tokenizer
  std::string model_type;         // "llama", ...
  std::vector<std::string> architectures;  // HF style, e.g. "LlamaForCausalLM"
  int32_t max_context_len = 0;
  int32_t vocab_size = 0;
  std::vector<int32_t> eos_token_ids;
  int32_t bos_token_id = -1;
  int32_t pad_token_id = -1;
  int32_t max_total_num_tokens = 0;  // KV slots
  int32_t max_running_requests = 0;
  std::string role = "mixed";  // "mixed" | "prefill" | "decode"
  int32_t bootstrap_port = 0;  // prefill: the KV transfer bootstrap port
  std::string version = "tandem 0.1.0";
  // Flags the worker was started with, reported as GetServerInfo.server_args.
  std::map<std::string, std::string> server_args;
  std::chrono::system_clock::time_point start_time = std::chrono::system_clock::now();
};

}  // namespace tandem::service
