// The HTTP backends: one HttpClient (keep-alive pool) per I/O thread; SSE events are parsed and
// timed as their bytes arrive.
#include <fmt/format.h>

#include "bench/serving/backends.h"
#include "bench/serving/http_client.h"
#include "bench/serving/http_format.h"
#include "bench/serving/sse_parser.h"

namespace tandem::bench {

namespace asio = boost::asio;

namespace {

class HttpBackend final : public Backend {
 public:
  HttpBackend(asio::io_context& io, BackendOptions options)
      : options_(std::move(options)),
        client_(io, options_.host, options_.port, options_.request_timeout_s),
        path_(options_.path_prefix + request_path(options_.kind)) {}

  asio::awaitable<RequestRecord> send(const BenchPrompt& prompt, uint64_t /*request_index*/,
                                      BenchClock::time_point origin) override {
    RequestRecord record;
    std::string body = request_body(options_.kind, prompt, options_.model, options_.stream, options_.text_prompt);
    ResponseState state(options_.kind);
    SseParser sse;
    std::vector<std::string> events;
    std::string whole;
    ChunkTimer timer(record, origin, BenchClock::now());
    auto on_body = [&](std::string_view piece) {
      if (!options_.stream) {
        whole.append(piece);
        return;
      }
      const BenchClock::time_point now = BenchClock::now();
      events.clear();
      sse.feed(piece, &events);
      for (const std::string& e : events) {
        if (state.on_event(e)) timer.content(now);
      }
    };
    HttpReply reply = co_await client_.post(path_, std::move(body), on_body);
    if (reply.status.ok() && reply.http_status == 200) {
      if (options_.stream) {
        events.clear();
        sse.finish(&events);
        for (const std::string& e : events) {
          if (state.on_event(e)) timer.content(BenchClock::now());
        }
      } else {
        state.on_body(whole);
      }
    }
    timer.done(BenchClock::now());
    if (!reply.status.ok()) {
      record.error = reply.status.message();
    } else if (reply.http_status != 200) {
      record.error = fmt::format("HTTP {}: {}", reply.http_status, reply.error_body);
    } else if (!state.error().empty()) {
      record.error = state.error();
    } else {
      record.success = true;
    }
    record.input_tokens = state.prompt_tokens() >= 0 ? state.prompt_tokens() : prompt.input_len;
    // -1 when the server reported no count: the runner then counts the text with the tokenizer.
    record.output_tokens = state.completion_tokens();
    record.generated_text = state.text();
    co_return record;
  }

 private:
  BackendOptions options_;
  HttpClient client_;
  std::string path_;
};

}  // namespace

BackendFactory make_http_backend_factory(const BackendOptions& options) {
  return [options](asio::io_context& io) -> std::unique_ptr<Backend> {
    return std::make_unique<HttpBackend>(io, options);
  };
}

}  // namespace tandem::bench
