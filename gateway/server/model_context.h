// ModelContext: what the gateway needs to turn text into token ids and back for the model its
// workers serve — tokenizer, chat template, end ids, context limit, the served name. Built once
// from a worker (GetModelInfo + GetTokenizer), so the gateway needs no local model files.
//
// Threads: immutable after construction; shared (shared_ptr<const>) by every request.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "common/status.h"
#include "gateway/text/template/chat_template.h"
#include "gateway/text/tokenizer/tokenizer.h"

namespace tandem::gateway::client {
class WorkerClient;
}

namespace tandem::gateway::server {

struct ModelContext {
  std::string served_model_name;
  int32_t max_context_len = 0;
  int32_t vocab_size = 0;
  std::vector<int32_t> eos_token_ids;
  std::unique_ptr<text::Tokenizer> tokenizer;
  std::optional<text::ChatTemplate> chat_template;
  std::string tool_parser = "hermes";      // format of tool calls this model writes
  // False when the chat template never reads `tools` (SmolLM2's, for one): the gateway then
  // describes the tools itself in a system message, in the tool_parser's format.
  bool template_renders_tools = true;
  std::string reasoning_parser;           // "" = the model does not think in <think> blocks
};

// Asks the worker for its model info and tokenizer files. Blocking (start-up / background thread).
// tool_call_parser / reasoning_parser override what the chat template suggests ("" = keep;
// reasoning "none" = off).
StatusOr<std::shared_ptr<const ModelContext>> fetch_model_context(
    client::WorkerClient& worker, const std::string& tool_call_parser = "",
    const std::string& reasoning_parser = "");

}  // namespace tandem::gateway::server
