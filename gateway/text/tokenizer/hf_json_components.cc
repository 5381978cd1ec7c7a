// tokenizer.json pipeline components -> TokenizerSpec steps. Each parser accepts exactly the
// component types Tandem implements and names the others in an UNIMPLEMENTED error, so an
// unsupported tokenizer fails at load instead of tokenizing differently from HF.
#include <utility>

#include "gateway/text/tokenizer/hf_json_parse.h"
#include "gateway/text/tokenizer/regex.h"

namespace tandem::text::hfjson {

std::string_view kind_name(const json::value& v) {
  switch (v.kind()) {
    case json::kind::null: return "null";
    case json::kind::bool_: return "a boolean";
    case json::kind::int64:
    case json::kind::uint64: return "an integer";
    case json::kind::double_: return "a number";
    case json::kind::string: return "a string";
    case json::kind::array: return "an array";
    case json::kind::object: return "an object";
  }
  return "?";
}

Status type_error(const Where& w, std::string_view want, const json::value& got) {
  return invalid_argument("{}: {} must be {}, got {}", *w.source, w.path.empty() ? "the document" : w.path, want,
                          kind_name(got));
}

StatusOr<const json::object*> object_at(const json::value& v, const Where& w) {
  if (!v.is_object()) return type_error(w, "an object", v);
  return &v.get_object();
}

StatusOr<const json::array*> array_at(const json::value& v, const Where& w) {
  if (!v.is_array()) return type_error(w, "an array", v);
  return &v.get_array();
}

StatusOr<std::string> string_at(const json::value& v, const Where& w) {
  if (!v.is_string()) return type_error(w, "a string", v);
  return std::string(v.get_string());
}

StatusOr<int64_t> int_at(const json::value& v, const Where& w) {
  if (v.is_int64()) return v.get_int64();
  if (v.is_uint64() && v.get_uint64() <= static_cast<uint64_t>(INT64_MAX)) return static_cast<int64_t>(v.get_uint64());
  return type_error(w, "an integer", v);
}

const json::value* field(const json::object& o, std::string_view key) {
  const json::value* v = o.if_contains(key);
  return v == nullptr || v->is_null() ? nullptr : v;
}

StatusOr<bool> bool_field(const json::object& o, std::string_view key, bool dflt, const Where& w) {
  const json::value* v = field(o, key);
  if (v == nullptr) return dflt;
  if (!v->is_bool()) return type_error(w.at(key), "a boolean", *v);
  return v->get_bool();
}

StatusOr<std::optional<std::string>> string_field(const json::object& o, std::string_view key, const Where& w) {
  const json::value* v = field(o, key);
  if (v == nullptr) return std::optional<std::string>();
  ASSIGN_OR_RETURN(std::string s, string_at(*v, w.at(key)));
  return std::optional<std::string>(std::move(s));
}

StatusOr<std::string> required_string(const json::object& o, std::string_view key, const Where& w) {
  const json::value* v = field(o, key);
  if (v == nullptr) return invalid_argument("{}: {} is missing", *w.source, w.at(key).path);
  return string_at(*v, w.at(key));
}

StatusOr<std::string> pattern_at(const json::value& v, const Where& w, bool as_regex) {
  ASSIGN_OR_RETURN(const json::object* o, object_at(v, w));
  if (const json::value* s = field(*o, "String")) {
    ASSIGN_OR_RETURN(std::string lit, string_at(*s, w.at("String")));
    return as_regex ? regex_escape(lit) : lit;
  }
  if (const json::value* r = field(*o, "Regex")) {
    if (!as_regex) return unimplemented("{}: {}: a Regex pattern is only supported in Split", *w.source, w.path);
    return string_at(*r, w.at("Regex"));
  }
  return invalid_argument("{}: {} must be {{\"String\": ...}} or {{\"Regex\": ...}}", *w.source, w.path);
}

namespace {

StatusOr<std::string> type_of(const json::object& o, const Where& w) { return required_string(o, "type", w); }

StatusOr<PrependScheme> prepend_scheme(const json::object& o, const Where& w) {
  ASSIGN_OR_RETURN(std::optional<std::string> scheme, string_field(o, "prepend_scheme", w));
  if (!scheme) {  // files from before prepend_scheme: add_prefix_space, default true
    ASSIGN_OR_RETURN(bool add, bool_field(o, "add_prefix_space", true, w));
    return add ? PrependScheme::kAlways : PrependScheme::kNever;
  }
  if (*scheme == "always") return PrependScheme::kAlways;
  if (*scheme == "first") return PrependScheme::kFirst;
  if (*scheme == "never") return PrependScheme::kNever;
  return invalid_argument("{}: {}.prepend_scheme '{}' is not one of always, first, never", *w.source, w.path, *scheme);
}

StatusOr<std::string> replacement_of(const json::object& o, const Where& w) {
  ASSIGN_OR_RETURN(std::optional<std::string> r, string_field(o, "replacement", w));
  return r.value_or("\u2581");
}

}  // namespace

Status parse_normalizer(const json::value& v, const Where& w, std::vector<NormalizerStep>* out) {
  ASSIGN_OR_RETURN(const json::object* o, object_at(v, w));
  ASSIGN_OR_RETURN(std::string type, type_of(*o, w));
  if (type == "Sequence") {
    const json::value* list = field(*o, "normalizers");
    if (list == nullptr) return invalid_argument("{}: {}.normalizers is missing", *w.source, w.path);
    ASSIGN_OR_RETURN(const json::array* arr, array_at(*list, w.at("normalizers")));
    for (size_t i = 0; i < arr->size(); ++i) RETURN_IF_ERROR(parse_normalizer((*arr)[i], w.at("normalizers").index(i), out));
    return Status::Ok();
  }
  if (type == "NFC") {
    out->push_back(NormalizerStep::nfc());
    return Status::Ok();
  }
  if (type == "Prepend") {
    ASSIGN_OR_RETURN(std::string p, required_string(*o, "prepend", w));
    out->push_back(NormalizerStep::prepend(std::move(p)));
    return Status::Ok();
  }
  if (type == "Replace") {
    const json::value* pat = field(*o, "pattern");
    if (pat == nullptr) return invalid_argument("{}: {}.pattern is missing", *w.source, w.path);
    ASSIGN_OR_RETURN(std::string p, pattern_at(*pat, w.at("pattern"), false));
    ASSIGN_OR_RETURN(std::string c, required_string(*o, "content", w));
    out->push_back(NormalizerStep::replace(std::move(p), std::move(c)));
    return Status::Ok();
  }
  return unimplemented("{}: {}: normalizer type '{}' is not supported (supported: Sequence, NFC, Prepend, Replace)",
                       *w.source, w.path, type);
}

Status parse_pre_tokenizer(const json::value& v, const Where& w, std::vector<PreTokenizerStep>* out) {
  ASSIGN_OR_RETURN(const json::object* o, object_at(v, w));
  ASSIGN_OR_RETURN(std::string type, type_of(*o, w));
  if (type == "Sequence") {
    const json::value* list = field(*o, "pretokenizers");
    if (list == nullptr) return invalid_argument("{}: {}.pretokenizers is missing", *w.source, w.path);
    ASSIGN_OR_RETURN(const json::array* arr, array_at(*list, w.at("pretokenizers")));
    for (size_t i = 0; i < arr->size(); ++i) {
      RETURN_IF_ERROR(parse_pre_tokenizer((*arr)[i], w.at("pretokenizers").index(i), out));
    }
    return Status::Ok();
  }
  PreTokenizerStep s;
  if (type == "Split") {
    const json::value* pat = field(*o, "pattern");
    if (pat == nullptr) return invalid_argument("{}: {}.pattern is missing", *w.source, w.path);
    ASSIGN_OR_RETURN(s.regex, pattern_at(*pat, w.at("pattern"), true));
    ASSIGN_OR_RETURN(std::string behavior, required_string(*o, "behavior", w));
    if (behavior == "Removed") {
      s.behavior = SplitBehavior::kRemoved;
    } else if (behavior == "Isolated") {
      s.behavior = SplitBehavior::kIsolated;
    } else if (behavior == "MergedWithPrevious") {
      s.behavior = SplitBehavior::kMergedWithPrevious;
    } else if (behavior == "MergedWithNext") {
      s.behavior = SplitBehavior::kMergedWithNext;
    } else if (behavior == "Contiguous") {
      s.behavior = SplitBehavior::kContiguous;
    } else {
      return invalid_argument("{}: {}.behavior '{}' is not one of Removed, Isolated, MergedWithPrevious, "
                              "MergedWithNext, Contiguous", *w.source, w.path, behavior);
    }
    ASSIGN_OR_RETURN(s.invert, bool_field(*o, "invert", false, w));
  } else if (type == "Digits") {
    ASSIGN_OR_RETURN(bool individual, bool_field(*o, "individual_digits", false, w));
    s.regex = individual ? R"(\p{N})" : R"(\p{N}+)";  // Rust's char::is_numeric is \p{N}
  } else if (type == "ByteLevel") {
    s.kind = PreTokenizerStep::Kind::kByteLevel;
    ASSIGN_OR_RETURN(s.add_prefix_space, bool_field(*o, "add_prefix_space", true, w));
    ASSIGN_OR_RETURN(s.use_regex, bool_field(*o, "use_regex", true, w));
  } else if (type == "Metaspace") {
    s.kind = PreTokenizerStep::Kind::kMetaspace;
    ASSIGN_OR_RETURN(s.replacement, replacement_of(*o, w));
    ASSIGN_OR_RETURN(s.prepend_scheme, prepend_scheme(*o, w));
    ASSIGN_OR_RETURN(s.split, bool_field(*o, "split", true, w));
  } else {
    return unimplemented("{}: {}: pre-tokenizer type '{}' is not supported (supported: Sequence, Split, Digits, "
                         "ByteLevel, Metaspace)", *w.source, w.path, type);
  }
  out->push_back(std::move(s));
  return Status::Ok();
}

Status parse_decoder(const json::value& v, const Where& w, std::vector<DecoderStep>* out) {
  ASSIGN_OR_RETURN(const json::object* o, object_at(v, w));
  ASSIGN_OR_RETURN(std::string type, type_of(*o, w));
  if (type == "Sequence") {
    const json::value* list = field(*o, "decoders");
    if (list == nullptr) return invalid_argument("{}: {}.decoders is missing", *w.source, w.path);
    ASSIGN_OR_RETURN(const json::array* arr, array_at(*list, w.at("decoders")));
    for (size_t i = 0; i < arr->size(); ++i) RETURN_IF_ERROR(parse_decoder((*arr)[i], w.at("decoders").index(i), out));
    return Status::Ok();
  }
  DecoderStep s;
  if (type == "ByteLevel") {
    s.kind = DecoderStep::Kind::kByteLevel;
  } else if (type == "ByteFallback") {
    s.kind = DecoderStep::Kind::kByteFallback;
  } else if (type == "Fuse") {
    s.kind = DecoderStep::Kind::kFuse;
  } else if (type == "Replace") {
    s.kind = DecoderStep::Kind::kReplace;
    const json::value* pat = field(*o, "pattern");
    if (pat == nullptr) return invalid_argument("{}: {}.pattern is missing", *w.source, w.path);
    ASSIGN_OR_RETURN(s.pattern, pattern_at(*pat, w.at("pattern"), false));
    ASSIGN_OR_RETURN(s.content, required_string(*o, "content", w));
  } else if (type == "Strip") {
    s.kind = DecoderStep::Kind::kStrip;
    ASSIGN_OR_RETURN(s.content, required_string(*o, "content", w));
    for (auto [key, dst] : {std::pair{"start", &s.start}, std::pair{"stop", &s.stop}}) {
      const json::value* n = field(*o, key);
      if (n == nullptr) continue;
      ASSIGN_OR_RETURN(int64_t k, int_at(*n, w.at(key)));
      if (k < 0) return invalid_argument("{}: {}.{} is negative ({})", *w.source, w.path, key, k);
      *dst = static_cast<size_t>(k);
    }
  } else if (type == "Metaspace") {
    s.kind = DecoderStep::Kind::kMetaspace;
    ASSIGN_OR_RETURN(s.replacement, replacement_of(*o, w));
    ASSIGN_OR_RETURN(s.prepend_scheme, prepend_scheme(*o, w));
  } else {
    return unimplemented("{}: {}: decoder type '{}' is not supported (supported: Sequence, ByteLevel, ByteFallback, "
                         "Fuse, Replace, Strip, Metaspace)", *w.source, w.path, type);
  }
  out->push_back(std::move(s));
  return Status::Ok();
}

namespace {

Status parse_template(const json::object& o, const Where& w, PostProcessor* out) {
  const json::value* single = field(o, "single");
  if (single == nullptr) return invalid_argument("{}: {}.single is missing", *w.source, w.path);
  ASSIGN_OR_RETURN(const json::array* items, array_at(*single, w.at("single")));
  const json::object* specials = nullptr;
  if (const json::value* st = field(o, "special_tokens")) {
    ASSIGN_OR_RETURN(specials, object_at(*st, w.at("special_tokens")));
  }
  bool seen_sequence = false;
  for (size_t i = 0; i < items->size(); ++i) {
    const Where wi = w.at("single").index(i);
    ASSIGN_OR_RETURN(const json::object* item, object_at((*items)[i], wi));
    if (field(*item, "Sequence") != nullptr) {
      seen_sequence = true;
      continue;
    }
    const json::value* sp = field(*item, "SpecialToken");
    if (sp == nullptr) return invalid_argument("{}: {} is neither a Sequence nor a SpecialToken", *w.source, wi.path);
    ASSIGN_OR_RETURN(const json::object* spo, object_at(*sp, wi.at("SpecialToken")));
    ASSIGN_OR_RETURN(std::string name, required_string(*spo, "id", wi.at("SpecialToken")));
    const json::value* def = specials != nullptr ? field(*specials, name) : nullptr;
    if (def == nullptr) {
      return invalid_argument("{}: {} uses special token '{}' that {}.special_tokens does not define", *w.source,
                              wi.path, name, w.path);
    }
    const Where wd = w.at("special_tokens").at(name);
    ASSIGN_OR_RETURN(const json::object* defo, object_at(*def, wd));
    const json::value* ids = field(*defo, "ids");
    if (ids == nullptr) return invalid_argument("{}: {}.ids is missing", *w.source, wd.path);
    ASSIGN_OR_RETURN(const json::array* id_arr, array_at(*ids, wd.at("ids")));
    for (size_t k = 0; k < id_arr->size(); ++k) {
      ASSIGN_OR_RETURN(int64_t id, int_at((*id_arr)[k], wd.at("ids").index(k)));
      (seen_sequence ? out->suffix : out->prefix).push_back(static_cast<int32_t>(id));
    }
  }
  if (!seen_sequence) return invalid_argument("{}: {}.single has no Sequence item", *w.source, w.path);
  return Status::Ok();
}

// Bert/Roberta: {"cls": ["<s>", 0], "sep": ["</s>", 2]} -> cls $A sep.
Status parse_cls_sep(const json::object& o, const Where& w, PostProcessor* out) {
  for (auto [key, dst] : {std::pair{"cls", &out->prefix}, std::pair{"sep", &out->suffix}}) {
    const json::value* v = field(o, key);
    if (v == nullptr) return invalid_argument("{}: {}.{} is missing", *w.source, w.path, key);
    ASSIGN_OR_RETURN(const json::array* pair, array_at(*v, w.at(key)));
    if (pair->size() != 2) return invalid_argument("{}: {}.{} must be [token, id]", *w.source, w.path, key);
    ASSIGN_OR_RETURN(int64_t id, int_at((*pair)[1], w.at(key).index(1)));
    dst->push_back(static_cast<int32_t>(id));
  }
  return Status::Ok();
}

}  // namespace

Status parse_post_processor(const json::value& v, const Where& w, PostProcessor* out) {
  ASSIGN_OR_RETURN(const json::object* o, object_at(v, w));
  ASSIGN_OR_RETURN(std::string type, type_of(*o, w));
  if (type == "Sequence") {
    const json::value* list = field(*o, "processors");
    if (list == nullptr) return invalid_argument("{}: {}.processors is missing", *w.source, w.path);
    ASSIGN_OR_RETURN(const json::array* arr, array_at(*list, w.at("processors")));
    for (size_t i = 0; i < arr->size(); ++i) {
      RETURN_IF_ERROR(parse_post_processor((*arr)[i], w.at("processors").index(i), out));
    }
    return Status::Ok();
  }
  if (type == "ByteLevel") return Status::Ok();  // only adjusts offsets, never ids
  if (type == "TemplateProcessing") return parse_template(*o, w, out);
  if (type == "RobertaProcessing" || type == "BertProcessing") return parse_cls_sep(*o, w, out);
  return unimplemented("{}: {}: post-processor type '{}' is not supported (supported: Sequence, ByteLevel, "
                       "TemplateProcessing, RobertaProcessing, BertProcessing)", *w.source, w.path, type);
}

}  // namespace tandem::text::hfjson
