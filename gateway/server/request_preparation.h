// Request preparation: a parsed OpenAI / native request → what the gateway sends to a worker
// (prompt token ids and sampling knobs with presence kept) plus how to post-process the output.
// Chat requests go through the model's chat template; prompt length is checked against the
// model's context. Pure functions of their inputs; any thread (run on the io thread today:
// tokenizing a long prompt takes milliseconds).
#pragma once

#include <string>
#include <vector>

#include "gateway/openai/api_result.h"
#include "gateway/openai/chat_request.h"
#include "gateway/openai/completion_request.h"
#include "gateway/openai/generate_request.h"
#include "gateway/server/model_context.h"
#include "gateway/server/response_processing.h"
#include "sglang_scheduler.pb.h"

namespace tandem::gateway::server {

enum class ApiKind { kChat, kCompletion, kGenerate };

// One prompt of a request: its token ids and its text (completions echo / native responses).
struct PromptInput {
  std::vector<int32_t> ids;
  std::string text;
};

struct PreparedRequest {
  ApiKind kind = ApiKind::kChat;
  std::string model;                 // name echoed in responses
  // At least one. Only completions carry several ("prompt": [...]): each is its own worker
  // request with n samples, and choice index = prompt_index * n + sample_index (prompt-major,
  // as OpenAI and SGLang number them).
  std::vector<PromptInput> prompts;
  bool echo = false;                 // completions: the prompt is prepended to the text
  int n = 1;
  bool stream = false;
  bool include_usage = false;
  bool logprobs = false;
  int top_logprobs = 0;
  ChoiceOptions choice;              // stop strings, parsers
  // The worker request for every prompt: request_id and tokenized input are filled at dispatch
  // (worker_request_for).
  sglang::grpc::scheduler::GenerateRequest worker_request;
  std::string rid;                   // client-chosen id (/generate rid), may be empty

  int num_choices() const { return static_cast<int>(prompts.size()) * n; }
  int64_t prompt_tokens() const;  // summed over the prompts (usage)
  const PromptInput& prompt_of_choice(int choice_index) const { return prompts[choice_index / n]; }
};

// The request to send for prompts[prompt_index], with `request_id`.
sglang::grpc::scheduler::GenerateRequest worker_request_for(const PreparedRequest& p, size_t prompt_index,
                                                            const std::string& request_id);

openai::ApiResult<PreparedRequest> prepare_chat(const openai::ChatCompletionRequest& req,
                                                const ModelContext& model, int64_t max_prompt);
openai::ApiResult<PreparedRequest> prepare_completion(const openai::CompletionRequest& req,
                                                      const ModelContext& model, int64_t max_prompt);
openai::ApiResult<PreparedRequest> prepare_generate(const openai::GenerateRequest& req,
                                                    const ModelContext& model, int64_t max_prompt);

}  // namespace tandem::gateway::server
