// Engine: the thread-safe API (validation, the inbox) and the engine thread's life cycle. The work
// of each step is in engine_step.cc.
#include <algorithm>

#include "common/check.h"
#include "worker/service/engine_impl.h"

namespace tandem::service {

std::string_view engine_role_name(EngineRole role) {
  switch (role) {
    case EngineRole::kMixed: return "mixed";
    case EngineRole::kPrefill: return "prefill";
    case EngineRole::kDecode: return "decode";
  }
  return "unknown";
}

StatusOr<std::unique_ptr<Engine>> Engine::create(model::LlamaModel& model, runtime::KvCache& kv,
                                                 EngineConfig config) {
  if (config.max_n < 1) return invalid_argument("max_n must be >= 1, got {}", config.max_n);
  if (config.role == EngineRole::kPrefill && config.prefill_transport == nullptr) {
    return invalid_argument("a prefill engine needs a prefill KV transport (the bootstrap endpoint)");
  }
  if (config.role == EngineRole::kDecode && config.decode_transport == nullptr) {
    return invalid_argument("a decode engine needs a decode KV transport");
  }
  config.scheduler.eos_token_ids = config.eos_token_ids;
  // Positions past the model's trained context are not supported: clamp the context limit.
  int32_t& ctx = config.scheduler.limits.max_context_len;
  const int32_t model_ctx = model.config().max_position_embeddings;
  if (model_ctx > 0) ctx = ctx == 0 ? model_ctx : std::min(ctx, model_ctx);
  ASSIGN_OR_RETURN(std::unique_ptr<scheduler::Scheduler> sched,
                   scheduler::Scheduler::create(kv.allocator(), config.scheduler));
  auto impl = std::make_unique<Impl>(model, kv, std::move(config), std::move(sched));
  return std::unique_ptr<Engine>(new Engine(std::move(impl)));
}

Engine::Impl::Impl(model::LlamaModel& model_in, runtime::KvCache& kv_in, EngineConfig config_in,
                   std::unique_ptr<scheduler::Scheduler> sched_in)
    : model(model_in),
      kv(kv_in),
      config(std::move(config_in)),
      sched(std::move(sched_in)),
      runner(model_in, kv_in),
      vocab(model_in.config().vocab_size),
      context_limit(sched->config().limits.max_context_len) {
  if (config.cache_events) sched->cache().set_event_sink(config.cache_events);
  if (config.before_forward) runner.set_before_forward(config.before_forward);
  load.total_tokens = sched->load().total_tokens;
  load.free_tokens = kv.allocator().num_free();
  load.max_running_requests = config.scheduler.limits.max_running_requests;
  const model::ModelConfig& mc = model.config();
  pd_layout = pd::layout_of(kv, mc.num_kv_heads, mc.head_dim, config.scheduler.page_size, model.shard().size);
  kv_io = config.kv_rows ? nullptr : pd::local_kv_row_io(kv);
}

Engine::Engine(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

Engine::~Engine() { stop(); }

void Engine::start() {
  {
    std::lock_guard<std::mutex> lock(impl_->mu);
    CHECK(!impl_->started, "Engine::start called twice");
    impl_->started = true;
  }
  // Transport progress wakes the engine thread (the listener runs on a transport thread and takes
  // mu, so it is installed without holding mu).
  auto listener = [impl = impl_.get()] {
    {
      std::lock_guard<std::mutex> l(impl->mu);
      impl->pd_dirty = true;
    }
    impl->wake.notify_all();
  };
  if (impl_->config.role == EngineRole::kPrefill) impl_->config.prefill_transport->set_listener(listener);
  if (impl_->config.role == EngineRole::kDecode) impl_->config.decode_transport->set_listener(listener);
  impl_->thread = std::thread([impl = impl_.get()] { impl->loop(); });
}

void Engine::stop() {
  {
    std::lock_guard<std::mutex> lock(impl_->mu);
    if (impl_->stopping) return;
    impl_->stopping = true;
    impl_->inbox.push_back(AbortCommand{"", "aborted: the worker is shutting down"});
  }
  impl_->wake.notify_all();
  if (impl_->thread.joinable()) impl_->thread.join();
  // The listener points at us; the transports may outlive the engine.
  if (impl_->config.role == EngineRole::kPrefill) impl_->config.prefill_transport->set_listener(nullptr);
  if (impl_->config.role == EngineRole::kDecode) impl_->config.decode_transport->set_listener(nullptr);
}

Status Engine::submit(GenerateInput input, EventSink sink) {
  const Impl& m = *impl_;
  if (input.id.empty()) return invalid_argument("request id must not be empty");
  if (input.prompt.empty()) {
    return invalid_argument("request {}: empty prompt; send at least one token", input.id);
  }
  for (size_t i = 0; i < input.prompt.size(); ++i) {
    const int32_t t = input.prompt[i];
    if (t < 0 || t >= m.vocab) {
      return invalid_argument("request {}: prompt token {} at position {} is outside the vocabulary "
                              "[0, {})", input.id, t, i, m.vocab);
    }
  }
  RETURN_IF_ERROR(input.params.validate(m.vocab).with_context(fmt::format("request {}", input.id)));
  if (input.n < 1 || input.n > m.config.max_n) {
    return invalid_argument("request {}: n must be in [1, {}], got {}", input.id, m.config.max_n,
                            input.n);
  }
  if (m.config.role != EngineRole::kMixed && !input.pd) {
    return invalid_argument("request {}: this worker runs as {}; send requests through a PD gateway "
                            "(one that pairs a prefill and a decode worker and sets "
                            "disaggregated_params), or start the worker with --role mixed",
                            input.id, engine_role_name(m.config.role));
  }
  if (m.config.role == EngineRole::kMixed && input.pd) {
    return invalid_argument("request {}: disaggregated parameters given, but this worker runs in mixed "
                            "mode; send it to a prefill/decode pair or drop the bootstrap fields",
                            input.id);
  }
  if (input.pd && input.n != 1) {
    return invalid_argument("request {}: n = {} is not supported in disaggregated mode (n must be 1)",
                            input.id, input.n);
  }
  if (input.pd && (input.pd->bootstrap_room < 0 || input.pd->bootstrap_host.empty() ||
                   input.pd->bootstrap_port <= 0 || input.pd->bootstrap_port > 65535)) {
    return invalid_argument("request {}: bad disaggregated parameters (host '{}', port {}, room {}); the "
                            "gateway must send the prefill worker's bootstrap host, port and a room >= 0",
                            input.id, input.pd->bootstrap_host, input.pd->bootstrap_port,
                            input.pd->bootstrap_room);
  }
  if (input.params.max_new_tokens < 1) {
    return invalid_argument("request {}: max_new_tokens must be >= 1, got {}", input.id,
                            input.params.max_new_tokens);
  }
  const int64_t need = static_cast<int64_t>(input.prompt.size()) + input.params.max_new_tokens;
  if (need > m.context_limit) {
    return invalid_argument("request {}: prompt ({} tokens) + max_new_tokens ({}) = {} exceeds the "
                            "context limit of {} tokens; shorten the prompt or lower max_new_tokens",
                            input.id, input.prompt.size(), input.params.max_new_tokens, need,
                            m.context_limit);
  }
  if (!input.waiting_timeout) input.waiting_timeout = m.config.waiting_timeout;
  if (!input.running_timeout) input.running_timeout = m.config.running_timeout;
  {
    std::lock_guard<std::mutex> lock(impl_->mu);
    if (impl_->stopping) return make_status(StatusCode::kUnavailable, "the engine is shutting down");
    if (!impl_->live_ids.insert(input.id).second) {
      return make_status(StatusCode::kAlreadyExists, "request id '{}' is already in use", input.id);
    }
    impl_->inbox.push_back(AddCommand{std::move(input), std::move(sink), Clock::now()});
  }
  impl_->wake.notify_all();
  return Status::Ok();
}

bool Engine::abort(const std::string& id, std::string reason) {
  {
    std::lock_guard<std::mutex> lock(impl_->mu);
    if (id.empty() || !impl_->live_ids.count(id)) return false;
    impl_->inbox.push_back(AbortCommand{id, std::move(reason)});
  }
  impl_->wake.notify_all();
  return true;
}

int32_t Engine::abort_all(std::string reason) {
  int32_t n = 0;
  {
    std::lock_guard<std::mutex> lock(impl_->mu);
    n = static_cast<int32_t>(impl_->live_ids.size());
    impl_->inbox.push_back(AbortCommand{"", std::move(reason)});
  }
  impl_->wake.notify_all();
  return n;
}

bool Engine::flush_cache() {
  std::future<bool> done;
  {
    std::lock_guard<std::mutex> lock(impl_->mu);
    if (impl_->stopping || !impl_->started) return false;
    FlushCommand cmd;
    done = cmd.done.get_future();
    impl_->inbox.push_back(std::move(cmd));
  }
  impl_->wake.notify_all();
  return done.get();
}

EngineLoad Engine::load() const {
  std::lock_guard<std::mutex> lock(impl_->mu);
  EngineLoad l = impl_->load;
  for (const Command& c : impl_->inbox) l.waiting += std::holds_alternative<AddCommand>(c) ? 1 : 0;
  return l;
}

int32_t Engine::vocab_size() const { return impl_->vocab; }
int32_t Engine::max_context_len() const { return impl_->context_limit; }

int32_t Engine::live_requests() const {
  std::lock_guard<std::mutex> lock(impl_->mu);
  return static_cast<int32_t>(impl_->live_ids.size());
}

}  // namespace tandem::service
