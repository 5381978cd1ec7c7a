#include "bench/serving/http_format.h"

#include <boost/json.hpp>

namespace tandem::bench {

namespace json = boost::json;

namespace {

json::array id_array(const std::vector<int32_t>& ids) {
  json::array a;
  a.reserve(ids.size());
  for (int32_t id : ids) a.emplace_back(id);
  return a;
}

const json::object* first_choice(const json::object& o) {
  const json::value* choices = o.if_contains("choices");
  if (choices == nullptr || !choices->is_array() || choices->get_array().empty()) return nullptr;
  return choices->get_array()[0].if_object();
}

int64_t int_field(const json::object& o, std::string_view key) {
  const json::value* v = o.if_contains(key);
  if (v == nullptr) return -1;
  if (v->is_int64()) return v->get_int64();
  if (v->is_uint64()) return static_cast<int64_t>(v->get_uint64());
  return -1;
}

}  // namespace

std::string request_path(BackendKind kind) {
  switch (kind) {
    case BackendKind::kOpenAiChat: return "/v1/chat/completions";
    case BackendKind::kOpenAiCompletions: return "/v1/completions";
    default: return "/generate";
  }
}

std::string request_body(BackendKind kind, const BenchPrompt& prompt, const std::string& model, bool stream,
                         bool text_prompt) {
  json::object b;
  if (kind == BackendKind::kSglangGenerate) {
    if (text_prompt) {
      b["text"] = prompt.text;
    } else {
      b["input_ids"] = id_array(prompt.ids);
    }
    b["sampling_params"] = json::object{{"temperature", 0.0},
                                        {"max_new_tokens", prompt.output_len},
                                        {"ignore_eos", true}};
    b["stream"] = stream;
    return json::serialize(b);
  }
  b["model"] = model;
  if (kind == BackendKind::kOpenAiChat) {
    b["messages"] = json::array{json::object{{"role", "user"}, {"content", prompt.text}}};
  } else if (text_prompt) {
    b["prompt"] = prompt.text;
  } else {
    b["prompt"] = id_array(prompt.ids);
  }
  b["temperature"] = 0.0;
  b["max_tokens"] = prompt.output_len;
  b["ignore_eos"] = true;
  b["stream"] = stream;
  if (stream) b["stream_options"] = json::object{{"include_usage", true}};
  return json::serialize(b);
}

bool ResponseState::on_event(std::string_view data) {
  if (data == "[DONE]") {
    done_ = true;
    return false;
  }
  return take(data, true);
}

void ResponseState::on_body(std::string_view body) { take(body, false); }

bool ResponseState::take(std::string_view json_text, bool streamed) {
  boost::system::error_code ec;
  json::value v = json::parse(json_text, ec);
  if (ec || !v.is_object()) {
    error_ = "unparseable response " + std::string(streamed ? "event" : "body") + ": " +
             std::string(json_text.substr(0, 300));
    return false;
  }
  const json::object& o = v.get_object();
  if (const json::value* e = o.if_contains("error")) {
    error_ = json::serialize(*e);
    return false;
  }
  if (const json::value* u = o.if_contains("usage"); u && u->is_object()) {
    prompt_tokens_ = std::max(prompt_tokens_, int_field(u->get_object(), "prompt_tokens"));
    completion_tokens_ = std::max(completion_tokens_, int_field(u->get_object(), "completion_tokens"));
  }
  if (kind_ == BackendKind::kSglangGenerate) {
    bool grew = false;
    if (const json::value* m = o.if_contains("meta_info"); m && m->is_object()) {
      prompt_tokens_ = std::max(prompt_tokens_, int_field(m->get_object(), "prompt_tokens"));
      const int64_t c = int_field(m->get_object(), "completion_tokens");
      grew = c > completion_tokens_ && c > 0;
      completion_tokens_ = std::max(completion_tokens_, c);
    }
    if (const json::value* t = o.if_contains("text"); t && t->is_string()) {
      const std::string_view s = t->get_string();
      // SGLang streams the text so far; an incremental server would send only the new part.
      if (s.size() >= text_.size() && s.substr(0, text_.size()) == text_) {
        text_ = std::string(s);
      } else {
        text_.append(s);
      }
    }
    return grew;
  }
  const json::object* choice = first_choice(o);
  if (choice == nullptr) return false;  // e.g. the final usage-only chunk
  std::string_view piece;
  if (kind_ == BackendKind::kOpenAiChat) {
    const json::value* holder = choice->if_contains(streamed ? "delta" : "message");
    if (holder && holder->is_object()) {
      if (const json::value* c = holder->get_object().if_contains("content"); c && c->is_string()) {
        piece = c->get_string();
      }
    }
  } else if (const json::value* t = choice->if_contains("text"); t && t->is_string()) {
    piece = t->get_string();
  }
  text_.append(piece);
  return !piece.empty();
}

}  // namespace tandem::bench
