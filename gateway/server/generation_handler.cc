#include "gateway/server/generation_handler.h"

#include <chrono>
#include <random>
#include <set>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "gateway/client/worker_client.h"
#include "gateway/routing/retry.h"
#include "gateway/server/gateway_app.h"
#include "gateway/server/generation_call.h"
#include "gateway/server/output_format.h"

namespace tandem::gateway::server {

namespace asio = boost::asio;
namespace spb = ::sglang::grpc::scheduler;
using Clock = std::chrono::steady_clock;

namespace {

const char* endpoint_name(ApiKind kind) {
  switch (kind) {
    case ApiKind::kChat: return "chat";
    case ApiKind::kCompletion: return "completions";
    case ApiKind::kGenerate: return "generate";
  }
  return "?";
}

double seconds_since(Clock::time_point t0) {
  return std::chrono::duration<double>(Clock::now() - t0).count();
}

openai::ApiResult<PreparedRequest> prepare(ApiKind kind, const std::string& body,
                                           const ModelContext& model, int64_t max_prompt) {
  switch (kind) {
    case ApiKind::kChat: {
      auto r = openai::parse_chat_request(body);
      if (!r.ok()) return r.error();
      return prepare_chat(r.value(), model, max_prompt);
    }
    case ApiKind::kCompletion: {
      auto r = openai::parse_completion_request(body);
      if (!r.ok()) return r.error();
      return prepare_completion(r.value(), model, max_prompt);
    }
    case ApiKind::kGenerate: {
      auto r = openai::parse_generate_request(body);
      if (!r.ok()) return r.error();
      return prepare_generate(r.value(), model, max_prompt);
    }
  }
  return openai::internal_error("unknown endpoint");
}

// A worker's gRPC failure as the client should see it.
openai::ApiError error_from_worker(const Status& st) {
  switch (st.code()) {
    case StatusCode::kInvalidArgument: return openai::invalid_value_error("", st.message());
    case StatusCode::kDeadlineExceeded: return openai::timeout_error("the request timed out: " + st.message());
    case StatusCode::kResourceExhausted: return openai::rate_limited_error(st.message());
    default: return openai::worker_error("worker failed: " + st.to_string());
  }
}

std::vector<TokenLogprobIn> logprobs_of(const spb::OutputLogProbs& lp) {
  std::vector<TokenLogprobIn> out;
  for (int i = 0; i < lp.token_logprobs_size(); ++i) {
    TokenLogprobIn t;
    t.logprob = lp.token_logprobs(i);
    t.token = i < lp.token_ids_size() ? static_cast<int32_t>(lp.token_ids(i)) : 0;
    if (i < lp.top_logprobs_size()) {
      const spb::TopLogProbs& top = lp.top_logprobs(i);
      for (int k = 0; k < top.values_size() && k < top.token_ids_size(); ++k) {
        t.top.emplace_back(static_cast<int32_t>(top.token_ids(k)), top.values(k));
      }
    }
    out.push_back(std::move(t));
  }
  return out;
}

// Admission: at most max_concurrent_requests run; up to max_queued_requests wait (polling the
// counter is simple and cheap at these rates); beyond that, or after queue_timeout, 429.
asio::awaitable<bool> admit(GatewayApp& app) {
  const GatewayConfig& c = app.config();
  if (app.running().fetch_add(1) < c.max_concurrent_requests) co_return true;
  app.running().fetch_sub(1);
  if (app.waiting().fetch_add(1) >= c.max_queued_requests) {
    app.waiting().fetch_sub(1);
    co_return false;
  }
  app.metrics().queued.inc();
  asio::steady_timer timer(co_await asio::this_coro::executor);
  const auto give_up = Clock::now() + c.queue_timeout;
  bool ok = false;
  while (Clock::now() < give_up) {
    if (app.running().fetch_add(1) < c.max_concurrent_requests) {
      ok = true;
      break;
    }
    app.running().fetch_sub(1);
    timer.expires_after(std::chrono::milliseconds(5));
    co_await timer.async_wait(asio::as_tuple(asio::use_awaitable));
  }
  app.waiting().fetch_sub(1);
  app.metrics().queued.dec();
  co_return ok;
}

struct RunningGuard {
  GatewayApp& app;
  ~RunningGuard() {
    app.running().fetch_sub(1);
    app.metrics().in_flight.dec();
  }
};

}  // namespace

asio::awaitable<void> handle_generation(GatewayApp& app, http::HttpRequest& req,
                                        http::ResponseWriter& w, ApiKind kind) {
  const Clock::time_point t0 = Clock::now();
  GatewayMetrics& m = app.metrics();
  auto finish = [&](int code) {
    m.requests.with_labels({endpoint_name(kind), std::to_string(code)}).inc();
  };
  std::shared_ptr<const ModelContext> model = app.pool().model();
  if (model == nullptr) {
    openai::ApiError e = openai::no_available_workers_error(
        "no worker has answered yet, so the model is not loaded; retry shortly");
    finish(e.http_status);
    co_await w.send_error(e);
    co_return;
  }
  auto prepared = prepare(kind, req.body, *model, app.config().max_prompt_tokens);
  if (!prepared.ok()) {
    finish(prepared.error().http_status);
    co_await w.send_error(prepared.error());
    co_return;
  }
  PreparedRequest& p = prepared.value();
  if (!co_await admit(app)) {
    finish(429);
    co_await w.send_error(openai::rate_limited_error(
        "too many requests in flight and the queue is full; retry later"));
    co_return;
  }
  m.in_flight.inc();
  RunningGuard guard{app};

  ResponseContext ctx;
  ctx.request = &p;
  ctx.meta.id = kind == ApiKind::kChat ? openai::make_chat_completion_id()
                                       : (p.rid.empty() ? openai::make_completion_id() : p.rid);
  ctx.meta.created = openai::unix_seconds_now();
  ctx.meta.model = p.model;
  const int num_choices = p.num_choices();
  std::vector<std::unique_ptr<ChoiceState>> choices;
  for (int i = 0; i < num_choices; ++i) {
    auto c = ChoiceState::create(model, p.choice, i);
    if (!c.ok()) {
      finish(400);
      co_await w.send_error(openai::invalid_value_error("", c.status().message()));
      co_return;
    }
    choices.push_back(std::move(c).value());
  }
  p.worker_request.mutable_sampling_params()->set_n(static_cast<uint32_t>(p.n));
  p.worker_request.set_stream(true);  // always: stop strings and disconnects can end it early

  auto strand = co_await asio::this_coro::executor;
  const std::string& session = req.header("x-session-id");
  const std::string& user = session.empty() ? req.header("x-user-id") : session;

  // One worker call per prompt, all in flight at once; their events arrive on one queue, tagged
  // with the call's tag. A retried prompt gets a new call and tag, so a stale call's late events
  // are recognised and dropped.
  struct PromptRun {
    std::unique_ptr<GenerationCall> call;
    std::string worker_id;
    std::optional<WorkerPool::Pick> pick;  // holds the worker's in-flight ticket while the call runs
    std::set<std::string> tried;
    int attempt = 0;
    bool streamed_any = false;  // a token of this prompt reached the client (no retry after that)
    bool done = false;
    int64_t cached_tokens = 0;
  };
  const size_t num_prompts = p.prompts.size();
  std::vector<PromptRun> runs(num_prompts);
  CallEvents events(strand);
  int next_tag = 0;
  std::vector<size_t> prompt_of_tag;  // tag -> prompt index

  std::mt19937_64 rng{std::random_device{}()};
  bool sse_started = false;
  std::optional<Clock::time_point> last_token;
  bool any_token = false;
  // The disconnect callback may outlive this coroutine (the connection keeps it): it reaches the
  // calls only through `live`, which is cleared when the handler ends.
  struct Live {
    bool client_gone = false;
    std::vector<GenerationCall*> calls;
    void cancel_all() {
      for (GenerationCall* c : calls) {
        if (c) c->cancel();  // the worker aborts and frees the request's KV
      }
    }
  };
  auto live = std::make_shared<Live>();
  live->calls.assign(num_prompts, nullptr);
  struct Clear {
    std::shared_ptr<Live> live;
    ~Clear() { live->calls.assign(live->calls.size(), nullptr); }
  } clear{live};
  w.on_disconnect([live] {
    live->client_gone = true;
    live->cancel_all();
  });
  const bool& client_gone = live->client_gone;

  auto open_stream = [&]() -> asio::awaitable<void> {
    if (sse_started) co_return;
    sse_started = true;
    if (!co_await w.start_sse()) co_return;
    for (int i = 0; i < num_choices; ++i) {
      if (auto open = stream_open(ctx, i)) co_await w.send_event(*open);
    }
  };
  auto send = [&](const std::string& payload) -> asio::awaitable<void> {
    co_await open_stream();
    co_await w.send_event(payload);
  };
  auto request_id = [&](size_t k, int attempt) {
    std::string id = num_prompts == 1 ? ctx.meta.id : fmt::format("{}-{}", ctx.meta.id, k);
    return attempt == 0 ? id : fmt::format("{}-retry{}", id, attempt);
  };
  // Starts prompt k's next attempt; false when no worker is left to try.
  auto dispatch = [&](size_t k) -> bool {
    PromptRun& run = runs[k];
    routing::RouteRequest route;
    route.tokens = p.prompts[k].ids;
    if (!user.empty()) route.routing_key = std::string_view(user);
    live->calls[k] = nullptr;
    run.call.reset();  // the previous attempt's call, before its ticket goes
    run.pick = app.pool().pick(route, run.tried);
    if (!run.pick) return false;
    run.tried.insert(run.pick->id);
    if (run.pick->prefill) run.tried.insert(run.pick->prefill->id);  // PD: retry on another pair
    run.worker_id = run.pick->id;
    m.count_dispatch(*run.pick);
    const int tag = next_tag++;
    prompt_of_tag.push_back(k);
    run.call = std::make_unique<GenerationCall>(events, tag);
    run.call->start(*run.pick, worker_request_for(p, k, request_id(k, run.attempt)),
                    app.config().request_timeout);
    live->calls[k] = run.call.get();
    if (client_gone) run.call->cancel();  // the client left while this request waited or backed off
    return true;
  };
  auto total_cached = [&] {
    int64_t total = 0;
    for (const PromptRun& r : runs) total += r.cached_tokens;
    return total;
  };
  auto prompt_done = [&](size_t k) {
    for (int j = 0; j < p.n; ++j) {
      const ChoiceState& c = *choices[k * p.n + j];
      if (!c.finished() && !c.stopped_by_string()) return false;
    }
    return true;
  };

  std::optional<openai::ApiError> error;
  size_t pending = num_prompts;
  for (size_t k = 0; k < num_prompts && !error; ++k) {
    // Never retried (ACCEPTANCE 18).
    if (!dispatch(k)) error = openai::no_available_workers_error("no healthy worker is available");
  }
  while (pending > 0 && !error && !client_gone) {
    TaggedEvent tagged = co_await events.next();
    const size_t k = prompt_of_tag.at(static_cast<size_t>(tagged.tag));
    PromptRun& run = runs[k];
    if (run.done || run.call == nullptr || run.call->tag() != tagged.tag) continue;  // a stale call
    if (auto* st = std::get_if<Status>(&tagged.event)) {
      // The call ended without finishing every choice of its prompt.
      Status final_status = *st;
      const bool retryable = routing::is_retryable_status(final_status.code());
      app.pool().record_result(*run.pick, !retryable, run.call->prefill_failed());
      if (run.call->prefill_failed()) m.pd_prefill_failures.with_labels({run.pick->prefill->id}).inc();
      if (final_status.ok()) final_status = make_status(StatusCode::kInternal, "the worker ended the stream early");
      if (!run.streamed_any && retryable &&
          routing::should_retry(app.config().retry, run.attempt + 1, retryable, run.streamed_any)) {
        m.retries.inc();
        spdlog::warn("[{}] worker {} failed before the first token ({}); retrying", req.request_id, run.worker_id,
                     final_status.to_string());
        ++run.attempt;
        asio::steady_timer timer(strand);
        timer.expires_after(routing::backoff(app.config().retry, run.attempt, rng));
        co_await timer.async_wait(asio::as_tuple(asio::use_awaitable));
        if (client_gone) break;
        if (!dispatch(k)) error = openai::no_available_workers_error("no healthy worker is available");
        continue;
      }
      error = error_from_worker(final_status);
      break;
    }
    const spb::GenerateResponse& msg = std::get<spb::GenerateResponse>(tagged.event);
    if (msg.has_chunk()) {
      const spb::GenerateStreamChunk& ch = msg.chunk();
      const int sample = static_cast<int>(ch.index());
      if (sample < 0 || sample >= p.n || ch.token_ids_size() == 0) continue;
      if (!any_token) m.ttft.observe(seconds_since(t0));
      if (last_token) m.itl.observe(std::chrono::duration<double>(Clock::now() - *last_token).count());
      last_token = Clock::now();
      any_token = true;
      run.streamed_any = true;
      run.cached_tokens = std::max<int64_t>(run.cached_tokens, ch.cached_tokens());
      ctx.cached_tokens = total_cached();
      ChoiceState& c = *choices[k * p.n + sample];
      const bool was_finished = c.finished() || c.stopped_by_string();
      std::vector<int32_t> ids(ch.token_ids().begin(), ch.token_ids().end());
      ChoiceDelta d = c.on_tokens(ids, logprobs_of(ch.output_logprobs()));
      if (was_finished) continue;
      if (p.stream) {
        if (auto payload = stream_delta(ctx, c, d)) co_await send(*payload);
        if (d.stopped) co_await send(stream_close(ctx, c));
      }
    } else if (msg.has_complete()) {
      const spb::GenerateComplete& done = msg.complete();
      const int sample = static_cast<int>(done.index());
      if (sample < 0 || sample >= p.n) continue;
      run.streamed_any = true;
      run.cached_tokens = std::max<int64_t>(run.cached_tokens, done.cached_tokens());
      ctx.cached_tokens = total_cached();
      ChoiceState& c = *choices[k * p.n + sample];
      const bool by_string = c.stopped_by_string();
      ChoiceDelta d = c.on_finish(done.finish_reason());
      if (p.stream && !by_string) {
        if (auto payload = stream_delta(ctx, c, d)) co_await send(*payload);
        co_await send(stream_close(ctx, c));
      }
    }
    if (prompt_done(k)) {
      run.call->cancel();  // stop strings may have ended it before the worker did: abort the rest
      app.pool().record_result(*run.pick, true);
      run.done = true;
      --pending;
    }
  }
  if (error || client_gone) live->cancel_all();  // the other prompts' calls are not wanted any more

  ctx.e2e_seconds = seconds_since(t0);
  m.e2e.observe(ctx.e2e_seconds);
  m.prompt_tokens.inc(static_cast<double>(p.prompt_tokens()));
  for (const auto& c : choices) m.completion_tokens.inc(static_cast<double>(c->completion_tokens()));
  if (client_gone) {
    finish(499);
    co_return;
  }
  if (error) {
    finish(error->http_status);
    if (!sse_started) {
      co_await w.send_error(*error);
    } else {
      co_await w.send_event(error->to_json());  // a failure mid-stream ends with an error event
      co_await w.send_event("[DONE]");
    }
    co_return;
  }
  finish(200);
  if (!p.stream) {
    co_await w.send_json(200, full_response(ctx, choices));
    co_return;
  }
  co_await open_stream();  // when not a single token was produced
  if (auto usage = stream_usage(ctx, choices)) co_await w.send_event(*usage);
  co_await w.send_event("[DONE]");
}

}  // namespace tandem::gateway::server
