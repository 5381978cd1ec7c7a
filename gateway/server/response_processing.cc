#include "gateway/server/response_processing.h"


#include <fmt/format.h>

#include "common/random_id.h"
#include "gateway/text/tool_parsers/tool_parser_factory.h"

namespace tandem::gateway::server {

namespace {

std::string make_call_id() { return "call_" + random_hex_id(1); }

}  // namespace

StatusOr<std::unique_ptr<ChoiceState>> ChoiceState::create(std::shared_ptr<const ModelContext> model,
                                                           ChoiceOptions options, int index) {
  auto s = std::unique_ptr<ChoiceState>(new ChoiceState(std::move(model), std::move(options), index));
  if (!s->options_.stop.empty()) {
    ASSIGN_OR_RETURN(text::StopMatcher m, text::StopMatcher::create(s->options_.stop));
    s->stop_.emplace(std::move(m));
  }
  if (s->options_.parse_reasoning) {
    ASSIGN_OR_RETURN(s->reasoning_parser_, text::make_reasoning_parser(s->options_.reasoning_parser));
  }
  if (s->options_.parse_tools) {
    ASSIGN_OR_RETURN(s->tool_parser_,
                     text::make_tool_parser(s->options_.tool_parser, s->options_.tools));
  }
  return s;
}

ChoiceState::ChoiceState(std::shared_ptr<const ModelContext> model, ChoiceOptions options, int index)
    : model_(std::move(model)), options_(std::move(options)), index_(index) {
  detok_ = std::make_unique<text::IncrementalDetokenizer>(*model_->tokenizer,
                                                          options_.skip_special_tokens);
}

openai::TokenLogprob ChoiceState::to_logprob(const TokenLogprobIn& in) const {
  openai::TokenLogprob out;
  const int32_t one[1] = {in.token};
  out.token = model_->tokenizer->decode(one, /*skip_special_tokens=*/false);
  out.logprob = in.logprob;
  for (const auto& [id, lp] : in.top) {
    const int32_t alt[1] = {id};
    out.top_logprobs.push_back({model_->tokenizer->decode(alt, false), lp});
  }
  return out;
}

ChoiceDelta ChoiceState::on_tokens(const std::vector<int32_t>& tokens,
                                   const std::vector<TokenLogprobIn>& logprobs) {
  ChoiceDelta out;
  if (stopped_ || finished_) return out;
  for (size_t i = 0; i < tokens.size() && !stopped_; ++i) {
    output_ids_.push_back(tokens[i]);
    ++completion_tokens_;
    if (i < logprobs.size()) {
      openai::TokenLogprob lp = to_logprob(logprobs[i]);
      out.logprobs.push_back(lp);
      all_logprobs_.push_back(std::move(lp));
    }
    feed_text(detok_->push(tokens[i]), out, /*end=*/false);
  }
  out.stopped = stopped_;
  return out;
}

ChoiceDelta ChoiceState::on_finish(const std::string& worker_finish_reason) {
  ChoiceDelta out;
  if (finished_) return out;
  if (!stopped_) {
    feed_text(detok_->finish(), out, /*end=*/true);
    if (!stopped_) finish_reason_ = worker_finish_reason.empty() ? "stop" : worker_finish_reason;
  }
  finished_ = true;
  if (!calls_.empty() && finish_reason_ == "stop") finish_reason_ = "tool_calls";
  out.stopped = stopped_;
  return out;
}

void ChoiceState::feed_text(std::string piece, ChoiceDelta& out, bool end) {
  if (stop_) {
    text::StopResult r = stop_->feed(piece);
    if (end && !r.stopped) {
      text::StopResult tail = stop_->finish();
      r.emit += tail.emit;
      if (tail.stopped) {
        r.stopped = true;
        r.matched = tail.matched;
      }
    }
    piece = std::move(r.emit);
    if (r.stopped) {
      stopped_ = true;
      finish_reason_ = "stop";
      matched_stop_ = r.matched;
      end = true;  // nothing else will come: flush the parsers below
    }
  }
  raw_text_ += piece;
  if (reasoning_parser_) {
    text::ReasoningDelta d = reasoning_parser_->feed(piece);
    if (end) {
      text::ReasoningDelta tail = reasoning_parser_->finish();
      d.reasoning += tail.reasoning;
      d.content += tail.content;
    }
    out.reasoning += d.reasoning;
    reasoning_ += d.reasoning;
    route_content(d.content, out, end);
  } else {
    route_content(piece, out, end);
  }
}

void ChoiceState::route_content(const std::string& text, ChoiceDelta& out, bool end) {
  if (!tool_parser_) {
    out.content += text;
    content_ += text;
    return;
  }
  auto apply = [&](const text::StreamDelta& d) {
    out.content += d.normal_text;
    content_ += d.normal_text;
    for (const text::ToolCallDelta& t : d.deltas) {
      openai::ToolCallDelta od;
      od.index = t.index;
      od.arguments = t.arguments_delta;
      if (t.name) {
        od.id = make_call_id();
        od.name = *t.name;
      }
      if (t.index >= static_cast<int>(calls_.size())) calls_.resize(t.index + 1);
      openai::ToolCall& call = calls_[t.index];
      if (!od.id.empty()) {
        call.id = od.id;
        call.name = od.name;
      }
      call.arguments += od.arguments;
      out.tool_calls.push_back(std::move(od));
    }
  };
  apply(tool_parser_->feed(text));
  if (end) apply(tool_parser_->finish());
}

}  // namespace tandem::gateway::server
