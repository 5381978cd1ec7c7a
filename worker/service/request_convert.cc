#include "worker/service/request_convert.h"

#include <algorithm>
#include <charconv>
#include <limits>

namespace tandem::service {

namespace {

Status reject_unsupported(const pb::GenerateRequest& req, std::string_view role) {
  const pb::SamplingParams& sp = req.sampling_params();
  if (sp.constraint_case() != pb::SamplingParams::CONSTRAINT_NOT_SET) {
    const char* kind = sp.has_regex() ? "regex" : sp.has_json_schema() ? "json_schema"
                                              : sp.has_ebnf_grammar() ? "ebnf_grammar"
                                                                      : "structural_tag";
    return invalid_argument("request '{}': constrained decoding ({}) is not available: this worker has no grammar "
                            "backend; send the request without a constraint",
                            req.request_id(), kind);
  }
  if (req.has_mm_inputs()) {
    return invalid_argument("request '{}': multimodal inputs are not supported by this worker (text-only model)",
                            req.request_id());
  }
  if (req.input_embeds_size() > 0) {
    return invalid_argument("request '{}': input_embeds is not supported; send tokenized.input_ids",
                            req.request_id());
  }
  if (!req.lora_id().empty()) {
    return invalid_argument("request '{}': LoRA adapter '{}' is not loaded (this worker serves no adapters)",
                            req.request_id(), req.lora_id());
  }
  if (!req.custom_logit_processor().empty()) {
    return invalid_argument("request '{}': custom logit processors are not supported", req.request_id());
  }
  if (req.return_hidden_states()) {
    return invalid_argument("request '{}': return_hidden_states is not supported", req.request_id());
  }
  const bool has_pd = req.has_disaggregated_params() && !req.disaggregated_params().bootstrap_host().empty();
  if (role != "mixed" && !has_pd) {
    return invalid_argument("request '{}': this worker runs as {}; send requests through a PD gateway that "
                            "pairs a prefill and a decode worker and sets disaggregated_params (bootstrap "
                            "host, port and room)",
                            req.request_id(), role);
  }
  if (role == "mixed" && has_pd) {
    return invalid_argument("request '{}': disaggregated_params given, but this worker runs in mixed mode; send "
                            "it to a prefill/decode worker pair or drop the bootstrap fields",
                            req.request_id());
  }
  return Status::Ok();
}

StatusOr<int32_t> parse_token_key(const std::string& key, const std::string& request_id) {
  int32_t id = -1;
  const char* end = key.data() + key.size();
  auto [ptr, ec] = std::from_chars(key.data(), end, id);
  if (ec != std::errc() || ptr != end || key.empty()) {
    return invalid_argument("request '{}': logit_bias key '{}' is not a token id (decimal integer expected)",
                            request_id, key);
  }
  return id;
}

void fill_logprobs(const EngineEvent& ev, size_t from, int32_t top_logprobs, pb::OutputLogProbs* out) {
  for (size_t i = from; i < ev.logprobs.size(); ++i) {
    const sampling::SampleResult& r = ev.logprobs[i];
    out->add_token_logprobs(r.logprob);
    out->add_token_ids(static_cast<uint32_t>(r.token));
    if (top_logprobs > 0) {
      pb::TopLogProbs* top = out->add_top_logprobs();
      for (const sampling::TokenLogprob& t : r.top_logprobs) {
        top->add_values(t.logprob);
        top->add_token_ids(static_cast<uint32_t>(t.token));
      }
    }
  }
}

}  // namespace

StatusOr<GenerateInput> to_generate_input(const pb::GenerateRequest& req, const ConvertLimits& limits) {
  if (req.request_id().empty()) {
    return invalid_argument("request_id is empty; every Generate needs a unique request id");
  }
  RETURN_IF_ERROR(reject_unsupported(req, limits.role));
  if (!req.has_tokenized() || req.tokenized().input_ids_size() == 0) {
    return invalid_argument("request '{}': tokenized.input_ids is empty; this worker takes token ids, not text",
                            req.request_id());
  }

  GenerateInput in;
  in.id = req.request_id();
  in.prompt.reserve(req.tokenized().input_ids_size());
  for (uint32_t t : req.tokenized().input_ids()) {
    // Ids above INT32_MAX become negative and fail the engine's vocabulary check with their value.
    in.prompt.push_back(static_cast<int32_t>(t));
  }

  const pb::SamplingParams& sp = req.sampling_params();
  sampling::SamplingParams& p = in.params;
  // Upstream's convention: the wire value is the value (SGLang's servicer passes it straight
  // through; SMG's client always fills it, 1.0 / 1.0 / -1 / 1.0 when the user set nothing). A
  // proto zero that is invalid or means "off" anyway is read as the default, so a sender that left
  // the field out gets defaults; temperature 0 stays 0 (greedy), as upstream.
  p.temperature = sp.temperature();
  p.top_p = sp.top_p() == 0.0f ? kDefaultTopP : sp.top_p();
  p.top_k = sp.top_k() == 0 ? kDefaultTopK : sp.top_k();
  p.min_p = sp.min_p();
  p.frequency_penalty = sp.frequency_penalty();
  p.presence_penalty = sp.presence_penalty();
  p.repetition_penalty = sp.repetition_penalty() == 0.0f ? kDefaultRepetitionPenalty : sp.repetition_penalty();

  const int64_t prompt_len = static_cast<int64_t>(in.prompt.size());
  if (sp.has_max_new_tokens()) {
    const uint32_t m = sp.max_new_tokens();
    p.max_new_tokens = m > static_cast<uint32_t>(std::numeric_limits<int32_t>::max())
                           ? std::numeric_limits<int32_t>::max()
                           : static_cast<int32_t>(m);
  } else {
    // SGLang: no max_new_tokens means "until the context is full". At least 1, so a prompt that
    // fills the context gets the engine's context-limit error rather than a silent empty output.
    p.max_new_tokens = static_cast<int32_t>(std::max<int64_t>(1, limits.max_context_len - prompt_len));
  }
  p.min_new_tokens = static_cast<int32_t>(std::min<uint32_t>(sp.min_new_tokens(), 1u << 30));
  p.ignore_eos = sp.ignore_eos();
  for (uint32_t t : sp.stop_token_ids()) p.stop_token_ids.push_back(static_cast<int32_t>(t));
  for (const auto& [key, value] : sp.logit_bias()) {
    ASSIGN_OR_RETURN(int32_t id, parse_token_key(key, req.request_id()));
    p.logit_bias.emplace_back(id, value);
  }
  // The map iterates in hash order; sorted pairs keep the sampler's input deterministic.
  std::sort(p.logit_bias.begin(), p.logit_bias.end());

  // The protocol has no seed field: SGLang's sampling_seed travels in custom_params.
  for (const char* key : {"sampling_seed", "seed"}) {
    const auto& fields = sp.custom_params().fields();
    if (auto it = fields.find(key); it != fields.end() && it->second.has_number_value()) {
      p.seed = static_cast<uint64_t>(static_cast<int64_t>(it->second.number_value()));
      break;
    }
  }

  // SGLang reports top logprobs only together with return_logprob.
  p.return_logprob = req.return_logprob();
  p.top_logprobs = req.return_logprob() ? req.top_logprobs_num() : 0;

  in.n = sp.n() == 0 ? 1 : static_cast<int32_t>(std::min<uint32_t>(sp.n(), 1u << 20));
  if (limits.role != "mixed") {
    const pb::DisaggregatedParams& d = req.disaggregated_params();
    in.pd = PdParams{d.bootstrap_host(), d.bootstrap_port(), d.bootstrap_room()};
  }
  return in;
}

std::string_view finish_reason_wire(FinishReason reason) {
  switch (reason) {
    case FinishReason::kStop:
      return "stop";
    case FinishReason::kLength:
      return "length";
    case FinishReason::kNone:
    case FinishReason::kAbort:
    case FinishReason::kWaitingTimeout:
    case FinishReason::kRunningTimeout:
      break;
  }
  return "abort";
}

void fill_chunk(const EngineEvent& ev, size_t from, const ChunkCounts& counts, int32_t top_logprobs,
                pb::GenerateStreamChunk* chunk) {
  for (size_t i = from; i < ev.tokens.size(); ++i) chunk->add_token_ids(static_cast<uint32_t>(ev.tokens[i]));
  chunk->set_prompt_tokens(static_cast<uint32_t>(counts.prompt_tokens));
  chunk->set_completion_tokens(static_cast<uint32_t>(counts.completion_tokens));
  chunk->set_cached_tokens(static_cast<uint32_t>(counts.cached_tokens));
  chunk->set_index(static_cast<uint32_t>(ev.index));
  if (!ev.logprobs.empty()) fill_logprobs(ev, from, top_logprobs, chunk->mutable_output_logprobs());
}

void fill_complete(const EngineEvent& ev, bool return_logprob, int32_t top_logprobs,
                   pb::GenerateComplete* complete) {
  for (int32_t t : ev.tokens) complete->add_output_ids(static_cast<uint32_t>(t));
  complete->set_finish_reason(std::string(finish_reason_wire(ev.finish)));
  complete->set_prompt_tokens(static_cast<uint32_t>(ev.prompt_tokens));
  complete->set_completion_tokens(static_cast<uint32_t>(ev.completion_tokens));
  complete->set_cached_tokens(static_cast<uint32_t>(ev.cached_tokens));
  complete->set_index(static_cast<uint32_t>(ev.index));
  if (ev.matched_stop_token) complete->set_matched_token_id(static_cast<uint32_t>(*ev.matched_stop_token));
  if (return_logprob && !ev.logprobs.empty()) {
    fill_logprobs(ev, 0, top_logprobs, complete->mutable_output_logprobs());
  }
}

}  // namespace tandem::service
