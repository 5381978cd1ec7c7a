#include "gateway/server/model_context.h"

#include <algorithm>

#include "gateway/client/worker_client.h"
#include "sglang_scheduler.pb.h"
#include "worker/model/loader/gguf_file.h"

namespace tandem::gateway::server {

namespace {

bool ends_with(const std::string& s, std::string_view suffix) {
  return s.size() >= suffix.size() && s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

const client::ArchiveFile* find_file(const client::TokenizerFiles& files, std::string_view name) {
  for (const client::ArchiveFile& f : files.files) {
    // "dir/name" matches too; checked without building "/" + name (GCC 12 warns falsely there).
    const bool in_dir = f.name.size() > name.size() && ends_with(f.name, name) &&
                        f.name[f.name.size() - name.size() - 1] == '/';
    if (f.name == name || in_dir) return &f;
  }
  return nullptr;
}

// The tool-call format a model family writes, from its chat template.
std::string guess_tool_parser(const std::optional<std::string>& tmpl) {
  if (!tmpl) return "hermes";
  if (tmpl->find("<function=") != std::string::npos) return "qwen3_coder";
  if (tmpl->find("<|python_tag|>") != std::string::npos ||
      tmpl->find("<|start_header_id|>") != std::string::npos) {
    return "llama3";
  }
  return "hermes";
}

}  // namespace

StatusOr<std::shared_ptr<const ModelContext>> fetch_model_context(
    client::WorkerClient& worker, const std::string& tool_call_parser,
    const std::string& reasoning_parser) {
  auto info_future = worker.get_model_info();
  auto files_future = worker.get_tokenizer();
  ASSIGN_OR_RETURN(sglang::grpc::scheduler::GetModelInfoResponse info, info_future.get());
  ASSIGN_OR_RETURN(client::TokenizerFiles files, files_future.get());

  auto ctx = std::make_shared<ModelContext>();
  ctx->served_model_name = info.served_model_name();
  ctx->max_context_len = info.max_context_length();
  ctx->vocab_size = info.vocab_size();
  ctx->eos_token_ids.assign(info.eos_token_ids().begin(), info.eos_token_ids().end());

  const client::ArchiveFile* gguf = nullptr;
  for (const client::ArchiveFile& f : files.files) {
    if (ends_with(f.name, ".gguf")) gguf = &f;
  }
  if (gguf != nullptr) {
    ASSIGN_OR_RETURN(std::unique_ptr<model::GgufFile> file,
                     model::GgufFile::open_from_memory(gguf->data.data(), gguf->data.size(),
                                                       gguf->name));
    ASSIGN_OR_RETURN(ctx->tokenizer, text::load_tokenizer_from_gguf(*file));
  } else if (const client::ArchiveFile* tj = find_file(files, "tokenizer.json")) {
    const client::ArchiveFile* cfg = find_file(files, "tokenizer_config.json");
    ASSIGN_OR_RETURN(ctx->tokenizer,
                     text::load_tokenizer_from_hf_json(tj->data, cfg ? cfg->data : "",
                                                       "worker tokenizer bundle"));
  } else {
    return invalid_argument("the worker's tokenizer bundle has neither a .gguf nor tokenizer.json "
                            "({} files)", files.files.size());
  }
  std::optional<std::string> tmpl = ctx->tokenizer->chat_template();
  if (const client::ArchiveFile* j = find_file(files, "chat_template.jinja")) tmpl = j->data;
  if (tmpl) {
    ASSIGN_OR_RETURN(text::ChatTemplate t, text::ChatTemplate::compile(*tmpl));
    ctx->chat_template = std::move(t);
    if (tmpl->find("<think>") != std::string::npos) ctx->reasoning_parser = "qwen3";
  }
  ctx->tool_parser = tool_call_parser.empty() ? guess_tool_parser(tmpl) : tool_call_parser;
  if (!reasoning_parser.empty()) ctx->reasoning_parser = reasoning_parser == "none" ? "" : reasoning_parser;
  ctx->template_renders_tools = tmpl && tmpl->find("tools") != std::string::npos;
  if (ctx->eos_token_ids.empty() && ctx->tokenizer->eos_id()) {
    ctx->eos_token_ids.push_back(*ctx->tokenizer->eos_id());
  }
  if (ctx->served_model_name.empty()) ctx->served_model_name = "default";
  return std::shared_ptr<const ModelContext>(std::move(ctx));
}

}  // namespace tandem::gateway::server
