#include "gateway/server/request_preparation.h"

#include <algorithm>

#include <boost/json.hpp>

namespace tandem::gateway::server {

namespace spb = ::sglang::grpc::scheduler;
using openai::ApiError;
using openai::ApiResult;

namespace {

// Sampling knobs with presence: only what the client sent goes on the wire; the worker applies
// the OpenAI defaults for the rest.
std::optional<ApiError> fill_sampling(const openai::SamplingFields& f, const ModelContext& model,
                                      int64_t prompt_len, PreparedRequest& out) {
  spb::SamplingParams& p = *out.worker_request.mutable_sampling_params();
  // The wire fields are plain proto3 scalars (temperature 0 = greedy, as upstream), so every knob
  // is sent explicitly with the OpenAI default when the client left it out, as SMG does.
  p.set_temperature(static_cast<float>(f.temperature.value_or(1.0)));
  p.set_top_p(static_cast<float>(f.top_p.value_or(1.0)));
  p.set_top_k(static_cast<int32_t>(f.top_k.value_or(-1)));
  p.set_min_p(static_cast<float>(f.min_p.value_or(0.0)));
  p.set_frequency_penalty(static_cast<float>(f.frequency_penalty.value_or(0.0)));
  p.set_presence_penalty(static_cast<float>(f.presence_penalty.value_or(0.0)));
  p.set_repetition_penalty(static_cast<float>(f.repetition_penalty.value_or(1.0)));
  const int64_t limit = model.max_context_len;
  if (limit > 0 && prompt_len >= limit) {
    return openai::context_length_error(prompt_len, f.max_tokens.value_or(0), limit);
  }
  if (f.max_tokens) {
    if (limit > 0 && prompt_len + *f.max_tokens > limit) {
      return openai::context_length_error(prompt_len, *f.max_tokens, limit);
    }
    p.set_max_new_tokens(static_cast<uint32_t>(*f.max_tokens));
  }
  if (f.min_tokens) p.set_min_new_tokens(static_cast<uint32_t>(*f.min_tokens));
  for (int64_t id : f.stop_token_ids) {
    if (id < 0 || (model.vocab_size > 0 && id >= model.vocab_size)) {
      return openai::invalid_value_error("stop_token_ids",
                                         fmt::format("token id {} is outside the vocabulary", id));
    }
    p.add_stop_token_ids(static_cast<uint32_t>(id));
  }
  for (const auto& [id, bias] : f.logit_bias) {
    if (id < 0 || (model.vocab_size > 0 && id >= model.vocab_size)) {
      return openai::invalid_value_error("logit_bias",
                                         fmt::format("token id {} is outside the vocabulary", id));
    }
    (*p.mutable_logit_bias())[std::to_string(id)] = static_cast<float>(bias);
  }
  p.set_ignore_eos(f.ignore_eos);
  p.set_skip_special_tokens(f.skip_special_tokens);
  p.set_n(static_cast<uint32_t>(f.n));
  out.n = f.n;
  out.choice.stop = f.stop;
  out.choice.skip_special_tokens = f.skip_special_tokens;
  if (f.seed) {
    // Seeds travel as SGLang's sampling_seed custom param (the protocol has no seed field).
    (*p.mutable_custom_params()->mutable_fields())["sampling_seed"].set_number_value(
        static_cast<double>(*f.seed));
  }
  return std::nullopt;
}

std::optional<ApiError> check_model(const std::string& asked, const ModelContext& model) {
  if (!asked.empty() && asked != model.served_model_name && asked != "default") {
    return openai::model_not_found_error(asked);
  }
  return std::nullopt;
}

// Checks one prompt's ids and appends it; `param` names it in errors ("prompt", "prompt[3]").
std::optional<ApiError> add_prompt(std::vector<int32_t> ids, std::string text, const ModelContext& model,
                                   int64_t max_prompt, const std::string& param, PreparedRequest& out) {
  if (ids.empty()) return openai::invalid_value_error(param, "the prompt is empty");
  for (int32_t id : ids) {
    if (id < 0 || (model.vocab_size > 0 && id >= model.vocab_size)) {
      return openai::invalid_value_error(param, fmt::format("token id {} is outside the vocabulary", id));
    }
  }
  if (max_prompt > 0 && static_cast<int64_t>(ids.size()) > max_prompt) {
    return openai::context_length_error(static_cast<long long>(ids.size()), 0, max_prompt);
  }
  out.prompts.push_back(PromptInput{std::move(ids), std::move(text)});
  return std::nullopt;
}

// For templates that ignore `tools`: the tools and the call format the hermes parser reads, as
// text for the system message. Without it the tools would be dropped silently and the model
// could never call them.
std::string tools_instructions(const boost::json::array& tools) {
  std::string s =
      "You can call functions to answer. The available functions, one JSON signature per line:\n";
  for (const auto& t : tools) s += boost::json::serialize(t.as_object().at("function")) + "\n";
  s += "To call one, reply with only this block, with arguments matching its parameters:\n"
       "<tool_call>\n{\"name\": \"FUNCTION_NAME\", \"arguments\": {ARGUMENTS}}\n</tool_call>";
  return s;
}

// The conversation with the tools described in the (first) system message.
boost::json::array with_tools_in_system(const boost::json::array& messages,
                                        const boost::json::array& tools) {
  boost::json::array out = messages;
  const std::string text = tools_instructions(tools);
  if (!out.empty() && out[0].is_object()) {
    boost::json::object& first = out[0].as_object();
    const boost::json::value* role = first.if_contains("role");
    const boost::json::value* content = first.if_contains("content");
    if (role && role->is_string() && role->as_string() == "system" &&
        (content == nullptr || content->is_null() || content->is_string())) {
      std::string merged = content && content->is_string() ? std::string(content->as_string()) : "";
      first["content"] = merged.empty() ? text : merged + "\n\n" + text;
      return out;
    }
  }
  out.insert(out.begin(), boost::json::object{{"role", "system"}, {"content", text}});
  return out;
}

void set_logprobs(bool want, int top, PreparedRequest& out) {
  out.logprobs = want;
  out.top_logprobs = want ? top : 0;
  out.choice.top_logprobs = out.top_logprobs;
  out.worker_request.set_return_logprob(want);
  out.worker_request.set_top_logprobs_num(out.top_logprobs);
}

}  // namespace

int64_t PreparedRequest::prompt_tokens() const {
  int64_t total = 0;
  for (const PromptInput& p : prompts) total += static_cast<int64_t>(p.ids.size());
  return total;
}

spb::GenerateRequest worker_request_for(const PreparedRequest& p, size_t prompt_index, const std::string& request_id) {
  spb::GenerateRequest r = p.worker_request;
  r.set_request_id(request_id);
  const PromptInput& in = p.prompts.at(prompt_index);
  spb::TokenizedInput* t = r.mutable_tokenized();
  t->clear_input_ids();
  for (int32_t id : in.ids) t->add_input_ids(static_cast<uint32_t>(id));
  t->set_original_text(in.text);
  return r;
}

ApiResult<PreparedRequest> prepare_chat(const openai::ChatCompletionRequest& req,
                                        const ModelContext& model, int64_t max_prompt) {
  if (auto e = check_model(req.model, model)) return *e;
  if (req.response_format.needs_grammar()) {
    return openai::unsupported_parameter_error(
        "response_format", "json_object / json_schema need constrained decoding, and this server "
                           "has no grammar backend; use response_format type \"text\"");
  }
  if (!model.chat_template) {
    return openai::invalid_value_error("messages", "the model has no chat template; use "
                                                   "/v1/completions with a raw prompt");
  }
  PreparedRequest out;
  out.kind = ApiKind::kChat;
  out.model = model.served_model_name;
  out.stream = req.stream;
  out.include_usage = req.include_usage;

  text::ChatTemplateInputs in;
  in.messages_json = boost::json::serialize(req.messages);
  const bool use_tools =
      !req.tools.empty() &&
      !(req.tool_choice && req.tool_choice->mode == openai::ToolChoice::Mode::kNone);
  if (use_tools) {
    boost::json::array tools;
    for (const openai::Tool& t : req.tools) {
      boost::json::object fn{{"name", t.function.name}, {"description", t.function.description}};
      if (!t.function.parameters.is_null()) fn["parameters"] = t.function.parameters;
      tools.push_back(boost::json::object{{"type", "function"}, {"function", fn}});
      out.choice.tools.push_back(
          {t.function.name,
           t.function.parameters.is_null() ? "" : boost::json::serialize(t.function.parameters)});
    }
    if (model.template_renders_tools) {
      in.tools_json = boost::json::serialize(tools);
    } else {
      in.messages_json = boost::json::serialize(with_tools_in_system(req.messages, tools));
    }
    out.choice.parse_tools = true;
    out.choice.tool_parser = model.tool_parser;
  }
  in.add_generation_prompt = req.continue_final_message ? false : req.add_generation_prompt;
  in.continue_final_message = req.continue_final_message;
  in.bos_token = model.tokenizer->bos_token();
  in.eos_token = model.tokenizer->eos_token();
  if (!req.chat_template_kwargs.empty()) {
    in.extra_context_json = boost::json::serialize(req.chat_template_kwargs);
  }
  StatusOr<std::string> prompt = model.chat_template->render(in);
  if (!prompt.ok()) {
    return openai::invalid_value_error("messages", "the chat template rejected the conversation: " +
                                                       prompt.status().message());
  }
  // The template writes BOS itself when the model wants one; a duplicate BOS is dropped only when
  // it is the model's BOS id (ACCEPTANCE 23).
  std::vector<int32_t> ids = model.tokenizer->encode(*prompt, /*add_special_tokens=*/false);
  if (auto e = add_prompt(std::move(ids), *prompt, model, max_prompt, "messages", out)) return *e;
  if (auto e = fill_sampling(req.sampling, model, out.prompt_tokens(), out)) {
    return *e;
  }
  set_logprobs(req.logprobs, req.top_logprobs, out);
  out.choice.parse_reasoning = req.separate_reasoning && !model.reasoning_parser.empty();
  out.choice.reasoning_parser = model.reasoning_parser.empty() ? "qwen3" : model.reasoning_parser;
  return out;
}

ApiResult<PreparedRequest> prepare_completion(const openai::CompletionRequest& req,
                                              const ModelContext& model, int64_t max_prompt) {
  if (auto e = check_model(req.model, model)) return *e;
  PreparedRequest out;
  out.kind = ApiKind::kCompletion;
  out.model = model.served_model_name;
  out.echo = req.echo;
  out.stream = req.stream;
  out.include_usage = req.include_usage;
  const bool batch = req.prompts.size() > 1;
  for (size_t i = 0; i < req.prompts.size(); ++i) {
    const openai::Prompt& p = req.prompts[i];
    std::vector<int32_t> ids = p.is_tokens ? p.token_ids : model.tokenizer->encode(p.text, /*add_special_tokens=*/true);
    std::string text = p.is_tokens ? model.tokenizer->decode(p.token_ids, false) : p.text;
    const std::string param = batch ? fmt::format("prompt[{}]", i) : "prompt";
    if (auto e = add_prompt(std::move(ids), std::move(text), model, max_prompt, param, out)) return *e;
  }
  // Length limits hold per prompt: each is its own sequence on the worker.
  int64_t longest = 0;
  for (const PromptInput& p : out.prompts) longest = std::max<int64_t>(longest, static_cast<int64_t>(p.ids.size()));
  if (auto e = fill_sampling(req.sampling, model, longest, out)) {
    return *e;
  }
  set_logprobs(req.logprobs.has_value(), req.logprobs.value_or(0), out);
  return out;
}

ApiResult<PreparedRequest> prepare_generate(const openai::GenerateRequest& req,
                                            const ModelContext& model, int64_t max_prompt) {
  PreparedRequest out;
  out.kind = ApiKind::kGenerate;
  out.model = model.served_model_name;
  out.stream = req.stream;
  out.rid = req.rid;
  std::vector<int32_t> ids;
  std::string text;
  if (req.input_ids) {
    ids = *req.input_ids;
    text = model.tokenizer->decode(ids, false);
  } else {
    text = req.text.value_or("");
    ids = model.tokenizer->encode(text, /*add_special_tokens=*/true);
  }
  if (auto e = add_prompt(std::move(ids), std::move(text), model, max_prompt, "prompt", out)) return *e;
  if (auto e = fill_sampling(req.sampling, model, out.prompt_tokens(), out)) {
    return *e;
  }
  set_logprobs(req.return_logprob, req.top_logprobs_num, out);
  return out;
}

}  // namespace tandem::gateway::server
