#include "gateway/server/output_format.h"

#include <boost/json.hpp>

namespace tandem::gateway::server {

namespace {

openai::GenerateResult native_result(const ResponseContext& ctx, const ChoiceState& c,
                                     bool final) {
  openai::GenerateResult r;
  r.text = c.text();
  r.output_ids = c.output_ids();
  r.id = ctx.meta.id;
  r.prompt_tokens = ctx.request->prompt_tokens();
  r.completion_tokens = c.completion_tokens();
  r.cached_tokens = ctx.cached_tokens;
  r.e2e_latency = ctx.e2e_seconds;
  if (final) {
    openai::FinishReason f;
    f.type = c.finish_reason() == "tool_calls" ? "stop" : c.finish_reason();
    if (c.matched_stop()) f.matched_text = *c.matched_stop();
    if (f.type == "length") f.length = c.completion_tokens();
    r.finish_reason = f;
  }
  if (ctx.request->logprobs) {
    std::vector<std::pair<double, int32_t>> lps;
    std::vector<std::vector<std::pair<double, int32_t>>> tops;
    const auto& ids = c.output_ids();
    for (size_t i = 0; i < c.logprobs().size() && i < ids.size(); ++i) {
      lps.emplace_back(c.logprobs()[i].logprob, ids[i]);
    }
    r.output_token_logprobs = std::move(lps);
  }
  return r;
}

std::optional<openai::CompletionLogprobs> legacy_logprobs(const std::vector<openai::TokenLogprob>& lps,
                                                          bool want) {
  if (!want) return std::nullopt;
  openai::CompletionLogprobs out;
  int64_t offset = 0;
  for (const openai::TokenLogprob& lp : lps) {
    out.tokens.push_back(lp.token);
    out.token_logprobs.push_back(lp.logprob);
    out.top_logprobs.push_back(lp.top_logprobs);
    out.text_offset.push_back(offset);
    offset += static_cast<int64_t>(lp.token.size());
  }
  return out;
}

}  // namespace

openai::Usage usage_of(const ResponseContext& ctx,
                       const std::vector<std::unique_ptr<ChoiceState>>& choices) {
  openai::Usage u;
  u.prompt_tokens = ctx.request->prompt_tokens();  // once per prompt, not per sample (OpenAI)
  for (const auto& c : choices) u.completion_tokens += c->completion_tokens();
  u.cached_tokens = ctx.cached_tokens;
  return u;
}

std::optional<std::string> stream_open(const ResponseContext& ctx, int index) {
  if (ctx.request->kind == ApiKind::kCompletion && ctx.request->echo) {
    openai::CompletionChoice c;
    c.index = index;
    c.text = ctx.request->prompt_of_choice(index).text;
    return openai::completion_chunk_json(ctx.meta, {c});
  }
  if (ctx.request->kind != ApiKind::kChat) return std::nullopt;
  openai::ChatChunkChoice c;
  c.index = index;
  c.role = "assistant";
  c.content = "";
  return openai::chat_chunk_json(ctx.meta, {c});
}

std::optional<std::string> stream_delta(const ResponseContext& ctx, const ChoiceState& choice,
                                        const ChoiceDelta& d) {
  const bool has_text = !d.content.empty() || !d.reasoning.empty() || !d.tool_calls.empty();
  const bool has_lp = ctx.request->logprobs && !d.logprobs.empty();
  if (!has_text && !has_lp) return std::nullopt;
  switch (ctx.request->kind) {
    case ApiKind::kChat: {
      openai::ChatChunkChoice c;
      c.index = choice.index();
      if (!d.content.empty()) c.content = d.content;
      if (!d.reasoning.empty()) c.reasoning_content = d.reasoning;
      c.tool_calls = d.tool_calls;
      if (has_lp) c.logprobs = d.logprobs;
      return openai::chat_chunk_json(ctx.meta, {c});
    }
    case ApiKind::kCompletion: {
      openai::CompletionChoice c;
      c.index = choice.index();
      c.text = d.content;
      c.logprobs = legacy_logprobs(d.logprobs, has_lp);
      return openai::completion_chunk_json(ctx.meta, {c});
    }
    case ApiKind::kGenerate:
      return openai::generate_response_json(native_result(ctx, choice, false));
  }
  return std::nullopt;
}

std::string stream_close(const ResponseContext& ctx, const ChoiceState& choice) {
  switch (ctx.request->kind) {
    case ApiKind::kChat: {
      openai::ChatChunkChoice c;
      c.index = choice.index();
      c.finish_reason = choice.finish_reason();
      return openai::chat_chunk_json(ctx.meta, {c});
    }
    case ApiKind::kCompletion: {
      openai::CompletionChoice c;
      c.index = choice.index();
      c.finish_reason = choice.finish_reason();
      return openai::completion_chunk_json(ctx.meta, {c});
    }
    case ApiKind::kGenerate:
      return openai::generate_response_json(native_result(ctx, choice, true));
  }
  return {};
}

std::optional<std::string> stream_usage(const ResponseContext& ctx,
                                        const std::vector<std::unique_ptr<ChoiceState>>& choices) {
  if (!ctx.request->include_usage) return std::nullopt;
  const openai::Usage u = usage_of(ctx, choices);
  if (ctx.request->kind == ApiKind::kChat) return openai::chat_chunk_json(ctx.meta, {}, u);
  if (ctx.request->kind == ApiKind::kCompletion) return openai::completion_chunk_json(ctx.meta, {}, u);
  return std::nullopt;
}

std::string full_response(const ResponseContext& ctx,
                          const std::vector<std::unique_ptr<ChoiceState>>& choices) {
  const openai::Usage usage = usage_of(ctx, choices);
  switch (ctx.request->kind) {
    case ApiKind::kChat: {
      std::vector<openai::ChatChoice> out;
      for (const auto& c : choices) {
        openai::ChatChoice ch;
        ch.index = c->index();
        ch.content = c->content();
        if (ctx.request->choice.parse_reasoning && !c->reasoning().empty()) {
          ch.reasoning_content = c->reasoning();
        }
        ch.tool_calls = c->tool_calls();
        ch.finish_reason = c->finish_reason();
        if (ctx.request->logprobs) ch.logprobs = c->logprobs();
        ch.matched_stop = c->matched_stop();
        out.push_back(std::move(ch));
      }
      return openai::chat_completion_json(ctx.meta, out, usage);
    }
    case ApiKind::kCompletion: {
      std::vector<openai::CompletionChoice> out;
      for (const auto& c : choices) {
        openai::CompletionChoice ch;
        ch.index = c->index();
        ch.text = ctx.request->echo ? ctx.request->prompt_of_choice(c->index()).text + c->content() : c->content();
        ch.finish_reason = c->finish_reason();
        ch.logprobs = legacy_logprobs(c->logprobs(), ctx.request->logprobs);
        out.push_back(std::move(ch));
      }
      return openai::text_completion_json(ctx.meta, out, usage);
    }
    case ApiKind::kGenerate: {
      if (choices.size() == 1) return openai::generate_response_json(native_result(ctx, *choices[0], true));
      boost::json::array arr;
      for (const auto& c : choices) {
        arr.push_back(boost::json::parse(openai::generate_response_json(native_result(ctx, *c, true))));
      }
      return boost::json::serialize(arr);
    }
  }
  return {};
}

}  // namespace tandem::gateway::server
