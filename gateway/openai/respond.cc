#include "gateway/openai/respond.h"

#include <chrono>

#include <boost/json.hpp>
#include <fmt/format.h>

#include "common/random_id.h"

namespace tandem::gateway::openai {
namespace json = boost::json;

namespace {

json::array bytes_of(const std::string& s) {
  json::array a;
  for (unsigned char c : s) a.emplace_back(static_cast<int64_t>(c));
  return a;
}

json::object top_json(const TopLogprob& t) {
  return {{"token", t.token}, {"logprob", t.logprob}, {"bytes", bytes_of(t.token)}};
}

json::value chat_logprobs_json(const std::optional<std::vector<TokenLogprob>>& lp) {
  if (!lp) return nullptr;
  json::array content;
  for (const TokenLogprob& t : *lp) {
    json::array top;
    for (const TopLogprob& x : t.top_logprobs) top.push_back(top_json(x));
    content.push_back(json::object{{"token", t.token},
                                   {"logprob", t.logprob},
                                   {"bytes", bytes_of(t.token)},
                                   {"top_logprobs", std::move(top)}});
  }
  return json::object{{"content", std::move(content)}};
}

json::value opt_string(const std::optional<std::string>& s) {
  if (!s) return nullptr;
  return json::string(*s);
}

json::object header(const ResponseMeta& meta, std::string_view object) {
  return {{"id", meta.id}, {"object", object}, {"created", meta.created}, {"model", meta.model}};
}

json::value completion_logprobs_json(const std::optional<CompletionLogprobs>& lp) {
  if (!lp) return nullptr;
  json::array tops;
  for (const auto& alternatives : lp->top_logprobs) {
    json::object o;
    for (const TopLogprob& t : alternatives) o[t.token] = t.logprob;
    tops.push_back(std::move(o));
  }
  json::array tokens, logprobs, offsets;
  for (const auto& t : lp->tokens) tokens.emplace_back(t);
  for (double d : lp->token_logprobs) logprobs.emplace_back(d);
  for (int64_t o : lp->text_offset) offsets.emplace_back(o);
  return json::object{{"tokens", std::move(tokens)},
                      {"token_logprobs", std::move(logprobs)},
                      {"top_logprobs", std::move(tops)},
                      {"text_offset", std::move(offsets)}};
}

json::array completion_choices_json(const std::vector<CompletionChoice>& choices) {
  json::array out;
  for (const CompletionChoice& c : choices) {
    out.push_back(json::object{{"index", c.index},
                               {"text", c.text},
                               {"logprobs", completion_logprobs_json(c.logprobs)},
                               {"finish_reason", opt_string(c.finish_reason)}});
  }
  return out;
}

}  // namespace

std::string make_chat_completion_id() { return "chatcmpl-" + random_hex_id(); }
std::string make_completion_id() { return "cmpl-" + random_hex_id(); }
int64_t unix_seconds_now() {
  return std::chrono::duration_cast<std::chrono::seconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

static json::object usage_json(const Usage& u) {
  json::object o{{"prompt_tokens", u.prompt_tokens},
                 {"completion_tokens", u.completion_tokens},
                 {"total_tokens", u.prompt_tokens + u.completion_tokens}};
  if (u.cached_tokens) {
    o["prompt_tokens_details"] = json::object{{"cached_tokens", *u.cached_tokens}};
  }
  return o;
}

std::string chat_completion_json(const ResponseMeta& meta, const std::vector<ChatChoice>& choices,
                                 const Usage& usage) {
  json::object root = header(meta, "chat.completion");
  json::array out;
  for (const ChatChoice& c : choices) {
    json::object msg{{"role", "assistant"}};
    if (c.content.empty() && !c.tool_calls.empty()) {
      msg["content"] = nullptr;
    } else {
      msg["content"] = c.content;
    }
    if (c.reasoning_content) msg["reasoning_content"] = *c.reasoning_content;
    if (!c.tool_calls.empty()) {
      json::array calls;
      for (const ToolCall& t : c.tool_calls) {
        calls.push_back(json::object{
            {"id", t.id},
            {"type", "function"},
            {"function", json::object{{"name", t.name}, {"arguments", t.arguments}}}});
      }
      msg["tool_calls"] = std::move(calls);
    }
    json::object choice{{"index", c.index},
                        {"message", std::move(msg)},
                        {"logprobs", chat_logprobs_json(c.logprobs)},
                        {"finish_reason", c.finish_reason}};
    if (c.matched_stop) choice["matched_stop"] = *c.matched_stop;
    out.push_back(std::move(choice));
  }
  root["choices"] = std::move(out);
  root["usage"] = usage_json(usage);
  return json::serialize(root);
}

std::string chat_chunk_json(const ResponseMeta& meta, const std::vector<ChatChunkChoice>& choices,
                            const std::optional<Usage>& usage) {
  json::object root = header(meta, "chat.completion.chunk");
  json::array out;
  for (const ChatChunkChoice& c : choices) {
    json::object delta;
    if (c.role) delta["role"] = *c.role;
    if (c.content) delta["content"] = *c.content;
    if (c.reasoning_content) delta["reasoning_content"] = *c.reasoning_content;
    if (!c.tool_calls.empty()) {
      json::array calls;
      for (const ToolCallDelta& t : c.tool_calls) {
        json::object call{{"index", t.index}};
        if (!t.id.empty()) {
          call["id"] = t.id;
          call["type"] = "function";
        }
        json::object fn;
        if (!t.name.empty()) fn["name"] = t.name;
        fn["arguments"] = t.arguments;
        call["function"] = std::move(fn);
        calls.push_back(std::move(call));
      }
      delta["tool_calls"] = std::move(calls);
    }
    out.push_back(json::object{{"index", c.index},
                               {"delta", std::move(delta)},
                               {"logprobs", chat_logprobs_json(c.logprobs)},
                               {"finish_reason", opt_string(c.finish_reason)}});
  }
  root["choices"] = std::move(out);
  if (usage) root["usage"] = usage_json(*usage);
  return json::serialize(root);
}

std::string text_completion_json(const ResponseMeta& meta,
                                 const std::vector<CompletionChoice>& choices, const Usage& usage) {
  json::object root = header(meta, "text_completion");
  root["choices"] = completion_choices_json(choices);
  root["usage"] = usage_json(usage);
  return json::serialize(root);
}

std::string completion_chunk_json(const ResponseMeta& meta,
                                  const std::vector<CompletionChoice>& choices,
                                  const std::optional<Usage>& usage) {
  json::object root = header(meta, "text_completion");
  root["choices"] = completion_choices_json(choices);
  if (usage) root["usage"] = usage_json(*usage);
  return json::serialize(root);
}

std::string models_list_json(const std::vector<ModelCard>& models) {
  json::array data;
  for (const ModelCard& m : models) {
    json::object o{{"id", m.id},
                   {"object", "model"},
                   {"created", m.created},
                   {"owned_by", m.owned_by},
                   {"root", m.id}};
    if (m.max_model_len) o["max_model_len"] = *m.max_model_len;
    data.push_back(std::move(o));
  }
  return json::serialize(json::object{{"object", "list"}, {"data", std::move(data)}});
}

}  // namespace tandem::gateway::openai
