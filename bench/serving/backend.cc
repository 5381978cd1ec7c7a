#include "bench/serving/backend.h"

#include "bench/serving/backends.h"

namespace tandem::bench {

StatusOr<BackendKind> parse_backend_kind(std::string_view name) {
  if (name == "openai-chat") return BackendKind::kOpenAiChat;
  if (name == "openai-completions" || name == "openai") return BackendKind::kOpenAiCompletions;
  if (name == "sglang-generate" || name == "sglang") return BackendKind::kSglangGenerate;
  if (name == "grpc") return BackendKind::kGrpc;
  return invalid_argument("unknown --backend '{}': use openai-chat, openai-completions, sglang-generate "
                          "or grpc", name);
}

std::string_view backend_kind_name(BackendKind kind) {
  switch (kind) {
    case BackendKind::kOpenAiChat: return "openai-chat";
    case BackendKind::kOpenAiCompletions: return "openai-completions";
    case BackendKind::kSglangGenerate: return "sglang-generate";
    case BackendKind::kGrpc: return "grpc";
  }
  return "?";
}

void ChunkTimer::content(BenchClock::time_point t) {
  if (!seen_) {
    record_.ttft_s = seconds_since(start_, t);
    seen_ = true;
  } else {
    record_.itl_s.push_back(seconds_since(last_, t));
  }
  last_ = t;
}

void ChunkTimer::done(BenchClock::time_point t) {
  record_.e2e_s = seconds_since(start_, t);
  if (!seen_) record_.ttft_s = record_.e2e_s;  // non-streaming, or nothing streamed
}

StatusOr<BackendFactory> make_backend_factory(const BackendOptions& options) {
  if (options.kind == BackendKind::kGrpc) {
    if (options.worker.empty()) return invalid_argument("--backend grpc needs --worker host:port");
    return make_grpc_backend_factory(options);
  }
  if (options.host.empty()) return invalid_argument("--backend {} needs --base-url http://host:port",
                                                    backend_kind_name(options.kind));
  return make_http_backend_factory(options);
}

}  // namespace tandem::bench
