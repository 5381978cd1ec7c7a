// The grpc backend: token ids straight to a worker's SglangScheduler.Generate, no gateway in the
// path — the "directly against the worker" side of the gateway-overhead benchmark. Chunks are
// timed on the gRPC thread that delivers them; the finished record is posted back to the
// requesting coroutine's I/O thread.
#include <boost/asio/async_result.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <fmt/format.h>

#include "bench/serving/backends.h"
#include "gateway/client/worker_client.h"
#include "sglang_scheduler.pb.h"

namespace tandem::bench {

namespace asio = boost::asio;
namespace spb = ::sglang::grpc::scheduler;
using gateway::client::WorkerClient;

namespace {

spb::GenerateRequest make_request(const BenchPrompt& prompt, uint64_t index) {
  spb::GenerateRequest req;
  // Unique per process run: the worker rejects a request id that is still in flight.
  req.set_request_id(fmt::format("bench-{}-{}", static_cast<const void*>(&prompt), index));
  for (int32_t id : prompt.ids) req.mutable_tokenized()->add_input_ids(static_cast<uint32_t>(id));
  spb::SamplingParams& p = *req.mutable_sampling_params();
  // Every knob explicit (proto3 zeros are not the defaults), greedy, exact length.
  p.set_temperature(0.0f);
  p.set_top_p(1.0f);
  p.set_top_k(-1);
  p.set_min_p(0.0f);
  p.set_repetition_penalty(1.0f);
  p.set_max_new_tokens(static_cast<uint32_t>(prompt.output_len));
  p.set_ignore_eos(true);
  p.set_skip_special_tokens(true);
  p.set_n(1);
  req.set_stream(true);
  return req;
}

// Filled on gRPC threads (messages of one call arrive one at a time, in order), read once on_done
// has run.
struct CallState {
  RequestRecord record;
  std::unique_ptr<ChunkTimer> timer;
  int64_t prompt_tokens = -1;
  int64_t completion_tokens = 0;
};

class GrpcBackend final : public Backend {
 public:
  GrpcBackend(std::shared_ptr<WorkerClient> client, double timeout_s)
      : client_(std::move(client)),
        deadline_(static_cast<int64_t>(timeout_s * 1000)) {}

  asio::awaitable<RequestRecord> send(const BenchPrompt& prompt, uint64_t request_index,
                                      BenchClock::time_point origin) override {
    auto executor = co_await asio::this_coro::executor;
    spb::GenerateRequest req = make_request(prompt, request_index);
    RequestRecord record = co_await asio::async_initiate<const asio::use_awaitable_t<>&, void(RequestRecord)>(
        [&](auto handler) {
          auto state = std::make_shared<CallState>();
          state->timer = std::make_unique<ChunkTimer>(state->record, origin, BenchClock::now());
          auto shared_handler = std::make_shared<decltype(handler)>(std::move(handler));
          auto on_message = [state](spb::GenerateResponse&& m) {
            const auto now = BenchClock::now();
            if (m.has_chunk()) {
              if (m.chunk().token_ids_size() > 0) state->timer->content(now);
              state->prompt_tokens = m.chunk().prompt_tokens();
              state->completion_tokens = m.chunk().completion_tokens();
            } else if (m.has_complete()) {
              // Non-streamed tokens arrive only here; count them as one chunk.
              if (!state->timer->any_content() && m.complete().output_ids_size() > 0) state->timer->content(now);
              state->prompt_tokens = m.complete().prompt_tokens();
              state->completion_tokens = m.complete().completion_tokens();
            }
          };
          auto on_done = [state, shared_handler, executor, input_len = prompt.input_len](Status st) {
            state->timer->done(BenchClock::now());
            RequestRecord& r = state->record;
            r.success = st.ok();
            if (!st.ok()) r.error = st.to_string();
            r.input_tokens = state->prompt_tokens > 0 ? state->prompt_tokens : input_len;
            r.output_tokens = state->completion_tokens;
            asio::post(executor, [shared_handler, state]() mutable {
              (*shared_handler)(std::move(state->record));
            });
          };
          client_->generate(req, std::move(on_message), std::move(on_done), deadline_);
        },
        asio::use_awaitable);
    co_return record;
  }

 private:
  std::shared_ptr<WorkerClient> client_;
  WorkerClient::Millis deadline_;
};

}  // namespace

BackendFactory make_grpc_backend_factory(const BackendOptions& options) {
  // One channel for the whole run: gRPC multiplexes the calls over HTTP/2.
  auto client = std::shared_ptr<WorkerClient>(WorkerClient::connect(options.worker));
  return [client, timeout = options.request_timeout_s](asio::io_context&) -> std::unique_ptr<Backend> {
    return std::make_unique<GrpcBackend>(client, timeout);
  };
}

}  // namespace tandem::bench
