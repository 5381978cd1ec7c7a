// Hugging Face tokenizer.json (+ tokenizer_config.json) -> TokenizerSpec -> Tokenizer.
#include <filesystem>
#include <fstream>
#include <sstream>
#include <utility>

#include <spdlog/spdlog.h>

#include "gateway/text/tokenizer/hf_json_parse.h"
#include "gateway/text/tokenizer/tokenizer.h"
#include "gateway/text/tokenizer/tokenizer_spec.h"

namespace tandem::text {
namespace {

using namespace hfjson;  // NOLINT: the internal helpers of this loader

// Parses with a byte offset in the error, turned into line:column.
StatusOr<json::value> parse_document(std::string_view text, const std::string& source) {
  json::stream_parser p;
  boost::system::error_code ec;
  const size_t used = p.write(text.data(), text.size(), ec);
  if (!ec) p.finish(ec);
  if (ec) {
    const size_t at = std::min(used, text.size());
    size_t line = 1, col = 1;
    for (size_t i = 0; i < at; ++i) {
      if (text[i] == '\n') {
        ++line;
        col = 1;
      } else {
        ++col;
      }
    }
    return invalid_argument("{}: not valid JSON at line {}, column {}: {}", source, line, col, ec.message());
  }
  return p.release();
}

Status parse_model(const json::value& v, const Where& w, BpeSpec* m) {
  ASSIGN_OR_RETURN(const json::object* o, object_at(v, w));
  ASSIGN_OR_RETURN(std::optional<std::string> type, string_field(*o, "type", w));
  if (type && *type != "BPE") {
    return unimplemented("{}: model.type '{}' is not supported (Tandem implements BPE tokenizers only)", *w.source,
                         *type);
  }
  const json::value* vocab = field(*o, "vocab");
  if (vocab == nullptr) return invalid_argument("{}: model.vocab is missing", *w.source);
  ASSIGN_OR_RETURN(const json::object* vo, object_at(*vocab, w.at("vocab")));
  m->vocab.reserve(vo->size());
  for (const auto& kv : *vo) {
    ASSIGN_OR_RETURN(int64_t id, int_at(kv.value(), w.at("vocab").at(kv.key())));
    if (id < 0 || id > INT32_MAX) {
      return invalid_argument("{}: model.vocab['{}'] = {} is not a valid token id", *w.source,
                              std::string_view(kv.key()), id);
    }
    m->vocab.emplace_back(std::string(kv.key()), static_cast<int32_t>(id));
  }
  if (const json::value* merges = field(*o, "merges")) {
    ASSIGN_OR_RETURN(const json::array* arr, array_at(*merges, w.at("merges")));
    m->merges.reserve(arr->size());
    for (size_t i = 0; i < arr->size(); ++i) {
      const json::value& e = (*arr)[i];
      const Where wi = w.at("merges").index(i);
      if (e.is_string()) {  // "left right" (older files)
        const std::string_view s = e.get_string();
        const size_t sp = s.find(' ');
        if (sp == std::string_view::npos || s.find(' ', sp + 1) != std::string_view::npos) {
          return invalid_argument("{}: {} = '{}' must be two tokens separated by one space", *w.source, wi.path, s);
        }
        m->merges.emplace_back(std::string(s.substr(0, sp)), std::string(s.substr(sp + 1)));
      } else if (e.is_array() && e.get_array().size() == 2 && e.get_array()[0].is_string() &&
                 e.get_array()[1].is_string()) {
        m->merges.emplace_back(std::string(e.get_array()[0].get_string()), std::string(e.get_array()[1].get_string()));
      } else {
        return type_error(wi, "\"left right\" or [\"left\", \"right\"]", e);
      }
    }
  }
  ASSIGN_OR_RETURN(m->unk_token, string_field(*o, "unk_token", w));
  ASSIGN_OR_RETURN(m->byte_fallback, bool_field(*o, "byte_fallback", false, w));
  ASSIGN_OR_RETURN(m->fuse_unk, bool_field(*o, "fuse_unk", false, w));
  ASSIGN_OR_RETURN(m->ignore_merges, bool_field(*o, "ignore_merges", false, w));
  for (const char* key : {"continuing_subword_prefix", "end_of_word_suffix"}) {
    ASSIGN_OR_RETURN(std::optional<std::string> s, string_field(*o, key, w));
    if (s && !s->empty()) return unimplemented("{}: model.{} '{}' is not supported", *w.source, key, *s);
  }
  if (const json::value* d = field(*o, "dropout"); d != nullptr && d->is_number() && d->to_number<double>() > 0) {
    spdlog::warn("{}: model.dropout is ignored (BPE dropout is for training; serving encodes deterministically)",
                 *w.source);
  }
  m->strict_merges = true;
  return Status::Ok();
}

Status parse_added_tokens(const json::value& v, const Where& w, std::vector<AddedTokenSpec>* out) {
  ASSIGN_OR_RETURN(const json::array* arr, array_at(v, w));
  for (size_t i = 0; i < arr->size(); ++i) {
    const Where wi = w.index(i);
    ASSIGN_OR_RETURN(const json::object* o, object_at((*arr)[i], wi));
    AddedTokenSpec a;
    const json::value* id = field(*o, "id");
    if (id == nullptr) return invalid_argument("{}: {}.id is missing", *w.source, wi.path);
    ASSIGN_OR_RETURN(int64_t id_value, int_at(*id, wi.at("id")));
    if (id_value < 0 || id_value > INT32_MAX) {
      return invalid_argument("{}: {}.id = {} is not a valid token id", *w.source, wi.path, id_value);
    }
    a.id = static_cast<int32_t>(id_value);
    ASSIGN_OR_RETURN(a.content, required_string(*o, "content", wi));
    ASSIGN_OR_RETURN(a.special, bool_field(*o, "special", false, wi));
    ASSIGN_OR_RETURN(a.single_word, bool_field(*o, "single_word", false, wi));
    ASSIGN_OR_RETURN(a.lstrip, bool_field(*o, "lstrip", false, wi));
    ASSIGN_OR_RETURN(a.rstrip, bool_field(*o, "rstrip", false, wi));
    ASSIGN_OR_RETURN(a.normalized, bool_field(*o, "normalized", !a.special, wi));
    out->push_back(std::move(a));
  }
  return Status::Ok();
}

// tokenizer_config.json's special token: "<s>" or {"content": "<s>", ...} (a serialized AddedToken).
StatusOr<std::optional<std::string>> config_token(const json::object& o, std::string_view key, const Where& w) {
  const json::value* v = field(o, key);
  if (v == nullptr) return std::optional<std::string>();
  if (v->is_object()) return string_field(v->get_object(), "content", w.at(key));
  return string_field(o, key, w);
}

std::optional<int32_t> lookup(const TokenizerSpec& spec, const std::string& token) {
  for (const AddedTokenSpec& a : spec.added_tokens) {
    if (a.content == token) return a.id;
  }
  for (const auto& [t, id] : spec.model.vocab) {
    if (t == token) return id;
  }
  return std::nullopt;
}

Status apply_config(const json::value& v, const Where& w, TokenizerSpec* spec) {
  ASSIGN_OR_RETURN(const json::object* o, object_at(v, w));
  ASSIGN_OR_RETURN(std::optional<std::string> bos, config_token(*o, "bos_token", w));
  ASSIGN_OR_RETURN(std::optional<std::string> eos, config_token(*o, "eos_token", w));
  for (auto [name, tok, id_out, str_out] : {std::tuple{"bos_token", &bos, &spec->bos_id, &spec->bos_token},
                                            std::tuple{"eos_token", &eos, &spec->eos_id, &spec->eos_token}}) {
    if (!*tok) continue;
    *id_out = lookup(*spec, **tok);
    if (!*id_out) {
      return invalid_argument("{}: {} '{}' is not in the vocabulary or added tokens", *w.source, name, **tok);
    }
    *str_out = **tok;
  }
  // add_bos_token / add_eos_token, when given, decide over the post-processor (transformers
  // rebuilds its template from them the same way).
  if (const json::value* ab = field(*o, "add_bos_token")) {
    if (!ab->is_bool()) return type_error(w.at("add_bos_token"), "a boolean", *ab);
    const bool has = !spec->prefix_ids.empty() && spec->bos_id && spec->prefix_ids.front() == *spec->bos_id;
    if (ab->get_bool() && !has) {
      if (!spec->bos_id) return invalid_argument("{}: add_bos_token is true but bos_token is not set", *w.source);
      spec->prefix_ids.insert(spec->prefix_ids.begin(), *spec->bos_id);
    } else if (!ab->get_bool() && has) {
      spec->prefix_ids.erase(spec->prefix_ids.begin());
    }
  }
  if (const json::value* ae = field(*o, "add_eos_token")) {
    if (!ae->is_bool()) return type_error(w.at("add_eos_token"), "a boolean", *ae);
    const bool has = !spec->suffix_ids.empty() && spec->eos_id && spec->suffix_ids.back() == *spec->eos_id;
    if (ae->get_bool() && !has) {
      if (!spec->eos_id) return invalid_argument("{}: add_eos_token is true but eos_token is not set", *w.source);
      spec->suffix_ids.push_back(*spec->eos_id);
    } else if (!ae->get_bool() && has) {
      spec->suffix_ids.pop_back();
    }
  }
  return Status::Ok();
}

// chat_template: a string, or a list of {"name", "template"} of which "default" is used.
StatusOr<std::optional<std::string>> config_chat_template(const json::value& v, const Where& w) {
  ASSIGN_OR_RETURN(const json::object* o, object_at(v, w));
  const json::value* t = field(*o, "chat_template");
  if (t == nullptr) return std::optional<std::string>();
  if (t->is_string()) return std::optional<std::string>(std::string(t->get_string()));
  ASSIGN_OR_RETURN(const json::array* arr, array_at(*t, w.at("chat_template")));
  for (size_t i = 0; i < arr->size(); ++i) {
    const Where wi = w.at("chat_template").index(i);
    ASSIGN_OR_RETURN(const json::object* entry, object_at((*arr)[i], wi));
    ASSIGN_OR_RETURN(std::string name, required_string(*entry, "name", wi));
    if (name == "default") {
      ASSIGN_OR_RETURN(std::string tmpl, required_string(*entry, "template", wi));
      return std::optional<std::string>(std::move(tmpl));
    }
  }
  spdlog::warn("{}: chat_template lists {} named templates but none is 'default'; using none", *w.source, arr->size());
  return std::optional<std::string>();
}

StatusOr<std::string> read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return not_found("cannot open '{}'", path);
  std::ostringstream ss;
  ss << in.rdbuf();
  if (in.bad()) return data_loss("error reading '{}'", path);
  return ss.str();
}

StatusOr<TokenizerSpec> spec_from_hf_json(std::string_view tokenizer_json, std::string_view config_json,
                                          const std::string& source, const std::string& config_source) {
  ASSIGN_OR_RETURN(json::value doc, parse_document(tokenizer_json, source));
  const Where root{&source, ""};
  ASSIGN_OR_RETURN(const json::object* top, object_at(doc, root));
  TokenizerSpec spec;
  spec.source = source;
  const json::value* model = field(*top, "model");
  if (model == nullptr) return invalid_argument("{}: 'model' is missing; is this a tokenizer.json?", source);
  RETURN_IF_ERROR(parse_model(*model, root.at("model"), &spec.model));
  if (const json::value* v = field(*top, "added_tokens")) {
    RETURN_IF_ERROR(parse_added_tokens(*v, root.at("added_tokens"), &spec.added_tokens));
  }
  if (const json::value* v = field(*top, "normalizer")) {
    RETURN_IF_ERROR(parse_normalizer(*v, root.at("normalizer"), &spec.normalizer));
  }
  if (const json::value* v = field(*top, "pre_tokenizer")) {
    RETURN_IF_ERROR(parse_pre_tokenizer(*v, root.at("pre_tokenizer"), &spec.pre_tokenizer));
  }
  if (const json::value* v = field(*top, "decoder")) RETURN_IF_ERROR(parse_decoder(*v, root.at("decoder"), &spec.decoder));
  if (const json::value* v = field(*top, "post_processor")) {
    PostProcessor pp;
    RETURN_IF_ERROR(parse_post_processor(*v, root.at("post_processor"), &pp));
    spec.prefix_ids = std::move(pp.prefix);
    spec.suffix_ids = std::move(pp.suffix);
  }
  for (const char* key : {"truncation", "padding"}) {
    if (field(*top, key) != nullptr) spdlog::info("{}: '{}' is ignored (the server never truncates or pads)", source, key);
  }

  if (!config_json.empty()) {
    ASSIGN_OR_RETURN(json::value cfg, parse_document(config_json, config_source));
    const Where croot{&config_source, ""};
    RETURN_IF_ERROR(apply_config(cfg, croot, &spec));
    ASSIGN_OR_RETURN(spec.chat_template, config_chat_template(cfg, croot));
  }
  // Without a config, the post-processor's leading token is the best guess at BOS.
  if (!spec.bos_id && spec.prefix_ids.size() == 1) {
    spec.bos_id = spec.prefix_ids.front();
    for (const AddedTokenSpec& a : spec.added_tokens) {
      if (a.id == *spec.bos_id) spec.bos_token = a.content;
    }
  }
  return spec;
}

}  // namespace

StatusOr<std::unique_ptr<Tokenizer>> load_tokenizer_from_hf_json(std::string_view tokenizer_json,
                                                                 std::string_view config_json,
                                                                 const std::string& source) {
  ASSIGN_OR_RETURN(TokenizerSpec spec, spec_from_hf_json(tokenizer_json, config_json, source,
                                                         source + " (tokenizer_config.json)"));
  return build_tokenizer(std::move(spec));
}

StatusOr<std::optional<std::string>> read_hf_chat_template(const std::string& dir) {
  // Newer transformers save the template next to the config as chat_template.jinja.
  const std::string jinja = dir + "/chat_template.jinja";
  if (std::filesystem::exists(jinja)) {
    ASSIGN_OR_RETURN(std::string t, read_file(jinja));
    return std::optional<std::string>(std::move(t));
  }
  const std::string cfg_path = dir + "/tokenizer_config.json";
  if (!std::filesystem::exists(cfg_path)) return std::optional<std::string>();
  ASSIGN_OR_RETURN(std::string cfg, read_file(cfg_path));
  ASSIGN_OR_RETURN(json::value doc, parse_document(cfg, cfg_path));
  return config_chat_template(doc, Where{&cfg_path, ""});
}

StatusOr<std::unique_ptr<Tokenizer>> load_tokenizer_from_hf_dir(const std::string& dir) {
  const std::string tok_path = dir + "/tokenizer.json";
  if (!std::filesystem::exists(tok_path)) {
    return not_found("no tokenizer.json in '{}' (Tandem reads Hugging Face fast-tokenizer files)", dir);
  }
  ASSIGN_OR_RETURN(std::string tok, read_file(tok_path));
  std::string cfg;
  const std::string cfg_path = dir + "/tokenizer_config.json";
  if (std::filesystem::exists(cfg_path)) {
    ASSIGN_OR_RETURN(cfg, read_file(cfg_path));
  }
  ASSIGN_OR_RETURN(TokenizerSpec spec, spec_from_hf_json(tok, cfg, tok_path, cfg_path));
  ASSIGN_OR_RETURN(std::optional<std::string> tmpl, read_hf_chat_template(dir));
  if (tmpl) spec.chat_template = std::move(tmpl);
  return build_tokenizer(std::move(spec));
}

}  // namespace tandem::text
