#include "worker/service/generate_call.h"

#include <algorithm>
#include <vector>

#include <spdlog/spdlog.h>

#include "worker/service/request_convert.h"

namespace tandem::service {

namespace {

// Trailing-metadata key carrying why a request ended with finish_reason "abort" (timeouts, client
// aborts, shutdown). The protocol has no field for it (upstream reports errors as gRPC statuses, but
// an aborted sample still ends with a normal GenerateComplete so the client gets its tokens).
constexpr char kAbortReasonKey[] = "tandem-abort-reason";

// Metadata values must be printable ASCII.
std::string printable(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (char c : s) out.push_back(c >= 0x20 && c < 0x7f ? c : '?');
  return out;
}

// Everything the sink needs. Touched only by the engine thread once submitted (sinks of one request
// run serially there), so it needs no lock of its own; the pump is thread-safe.
struct CallState {
  std::shared_ptr<WritePump<GenerateCall::Response>> pump;
  grpc::CallbackServerContext* context;  // valid until the pump finishes; used only in before_finish
  std::string id;
  bool stream = false;
  bool return_logprob = false;
  int32_t top_logprobs = 0;
  int32_t prompt_tokens = 0;
  int32_t n = 1;
  int32_t completed = 0;
  std::vector<size_t> sent;  // tokens already streamed, per index
  std::string abort_reasons;

  void on_event(EngineEvent&& ev) {
    if (ev.index < 0 || ev.index >= n) {
      spdlog::error("request '{}': engine event for index {} but n = {}; dropped", id, ev.index, n);
      return;
    }
    if (ev.terminal() && ev.status != StatusCode::kOk) {
      // The request failed as a whole (PD transfer): the status is the answer, no Complete.
      pump->close(grpc::Status(static_cast<grpc::StatusCode>(static_cast<int>(ev.status)), ev.error));
      return;
    }
    size_t& sent_here = sent[static_cast<size_t>(ev.index)];
    const size_t total = ev.terminal() ? ev.tokens.size() : sent_here + ev.tokens.size();
    if (stream && total > sent_here) {
      // Non-terminal events carry only this step's tokens; the terminal one carries the whole
      // output, of which only the unsent tail is new.
      const size_t from = ev.terminal() ? sent_here : 0;
      GenerateCall::Response r;
      r.set_request_id(id);
      ChunkCounts counts{prompt_tokens, static_cast<int32_t>(total), ev.terminal() ? ev.cached_tokens : 0};
      if (ev.terminal()) counts.prompt_tokens = ev.prompt_tokens;
      fill_chunk(ev, from, counts, return_logprob ? top_logprobs : 0, r.mutable_chunk());
      if (!return_logprob) r.mutable_chunk()->clear_output_logprobs();
      pump->push(std::move(r));
    }
    sent_here = total;
    if (!ev.terminal()) return;

    GenerateCall::Response r;
    r.set_request_id(id);
    fill_complete(ev, return_logprob, top_logprobs, r.mutable_complete());
    pump->push(std::move(r));
    if (finish_reason_wire(ev.finish) == "abort" && !ev.error.empty()) {
      if (!abort_reasons.empty()) abort_reasons += "; ";
      abort_reasons += n > 1 ? fmt::format("[{}] {}", ev.index, ev.error) : ev.error;
    }
    if (++completed == n) {
      std::function<void()> trailers;
      if (!abort_reasons.empty()) {
        trailers = [ctx = context, text = printable(abort_reasons)] { ctx->AddTrailingMetadata(kAbortReasonKey, text); };
      }
      pump->close(grpc::Status::OK, std::move(trailers));
    }
  }
};

}  // namespace

grpc::Status to_grpc_status(const Status& status) {
  return grpc::Status(static_cast<grpc::StatusCode>(static_cast<int>(status.code())), status.message());
}

GenerateCall::GenerateCall(grpc::CallbackServerContext* context,
                           const ::sglang::grpc::scheduler::GenerateRequest& request, EngineApi& engine,
                           std::string_view role)
    : engine_(engine), id_(request.request_id()), pump_(std::make_shared<WritePump<Response>>(this)) {
  StatusOr<GenerateInput> input = to_generate_input(request, ConvertLimits{engine.max_context_len(), role});
  if (!input.ok()) {
    pump_->close(to_grpc_status(input.status()));
    return;
  }
  auto state = std::make_shared<CallState>();
  state->pump = pump_;
  state->context = context;
  state->id = id_;
  // A prefill worker answers with one Complete (its one token goes to the decode worker, which
  // streams it), whatever the request's stream flag.
  state->stream = request.stream() && role != "prefill";
  state->return_logprob = input->params.return_logprob;
  state->top_logprobs = input->params.top_logprobs;
  state->prompt_tokens = static_cast<int32_t>(input->prompt.size());
  state->n = input->n;
  state->sent.assign(static_cast<size_t>(input->n), 0);

  Status st = engine_.submit(std::move(*input), [state](EngineEvent&& ev) { state->on_event(std::move(ev)); });
  if (!st.ok()) pump_->close(to_grpc_status(st));
}

void GenerateCall::OnWriteDone(bool ok) {
  // A failed write means the stream is gone (OnCancel normally follows; abort is idempotent).
  if (!ok) engine_.abort(id_, "aborted: the Generate stream broke");
  pump_->on_write_done(ok);
}

void GenerateCall::OnCancel() {
  // Abort first: the engine frees the request's slots; its terminal events then meet a finished
  // pump and are dropped. A request that already completed is not live, and abort is a no-op.
  if (!pump_->finished()) engine_.abort(id_, "aborted: the client cancelled the Generate stream");
  pump_->on_cancel();
}

}  // namespace tandem::service
