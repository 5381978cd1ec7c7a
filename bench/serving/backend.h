// Backend: how one benchmark request reaches the server under test, and the record it leaves.
//
// One Backend object per client I/O thread (so HTTP connection pools need no locks); send() runs
// as a coroutine on that thread's io_context and times every content chunk as it arrives.
// Backends: openai-chat (/v1/chat/completions, prompt text), openai-completions (/v1/completions,
// token ids), sglang-generate (/generate, token ids), grpc (GenerateRequest with token ids straight
// to a worker's SglangScheduler service — no gateway in the path).
//
// Thread model: a Backend is used only from the io_context thread it was made for.
#pragma once

#include <boost/asio/awaitable.hpp>
#include <boost/asio/io_context.hpp>
#include <chrono>
#include <functional>
#include <memory>
#include <string>

#include "bench/serving/dataset.h"
#include "bench/serving/metrics.h"
#include "common/status.h"

namespace tandem::bench {

using BenchClock = std::chrono::steady_clock;

enum class BackendKind { kOpenAiChat, kOpenAiCompletions, kSglangGenerate, kGrpc };
StatusOr<BackendKind> parse_backend_kind(std::string_view name);
std::string_view backend_kind_name(BackendKind kind);

struct BackendOptions {
  BackendKind kind = BackendKind::kOpenAiCompletions;
  std::string host;  // HTTP backends: from --base-url
  std::string port;
  std::string path_prefix;  // the --base-url path, "" or e.g. "/proxy"
  std::string worker;       // grpc: "host:port"
  std::string model;        // sent in HTTP bodies
  bool stream = true;
  bool text_prompt = false;  // completions / generate: send text, not token ids
  // A request still unfinished after this long fails with a timeout error (never a hang).
  double request_timeout_s = 600;
};

class Backend {
 public:
  virtual ~Backend() = default;
  // Sends one request for prompt; never throws. Times in the record are relative to `origin`.
  virtual boost::asio::awaitable<RequestRecord> send(const BenchPrompt& prompt, uint64_t request_index,
                                                     BenchClock::time_point origin) = 0;
};

// Makes the Backend for one I/O thread.
using BackendFactory = std::function<std::unique_ptr<Backend>(boost::asio::io_context&)>;

// Checks the options (e.g. grpc needs a worker address) and returns a factory.
StatusOr<BackendFactory> make_backend_factory(const BackendOptions& options);

// Seconds since origin.
inline double seconds_since(BenchClock::time_point origin, BenchClock::time_point t) {
  return std::chrono::duration<double>(t - origin).count();
}

// Shared by every backend: marks content chunks and the end of a request.
class ChunkTimer {
 public:
  ChunkTimer(RequestRecord& record, BenchClock::time_point origin, BenchClock::time_point start)
      : record_(record), origin_(origin), start_(start), last_(start) {
    record_.start_s = seconds_since(origin, start);
  }
  void content(BenchClock::time_point t);  // a chunk that carried output
  void done(BenchClock::time_point t);     // the response is complete (sets e2e; ttft = e2e if no chunk)
  bool any_content() const { return seen_; }

 private:
  RequestRecord& record_;
  BenchClock::time_point origin_, start_, last_;
  bool seen_ = false;
};

}  // namespace tandem::bench
