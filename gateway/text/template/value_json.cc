#include "gateway/text/template/value_json.h"

#include <algorithm>
#include <cmath>
#include <exception>

#include <boost/json.hpp>
#include <fmt/format.h>

#include "gateway/text/template/operators.h"
#include "gateway/text/template/py_string.h"

namespace tandem::text::jinja {
namespace {

// Deep enough for any tool schema we have seen, shallow enough that converting cannot exhaust
// the stack.
constexpr unsigned kMaxJsonDepth = 200;

Value from_json(const boost::json::value& j) {
  switch (j.kind()) {
    case boost::json::kind::null:
      return Value::none();
    case boost::json::kind::bool_:
      return Value::boolean(j.get_bool());
    case boost::json::kind::int64:
      return Value::integer(j.get_int64());
    case boost::json::kind::uint64: {
      uint64_t u = j.get_uint64();
      // Python keeps big integers exact; past int64 we keep the magnitude as a float.
      if (u <= static_cast<uint64_t>(INT64_MAX)) return Value::integer(static_cast<int64_t>(u));
      return Value::number(static_cast<double>(u));
    }
    case boost::json::kind::double_:
      return Value::number(j.get_double());
    case boost::json::kind::string: {
      const boost::json::string& s = j.get_string();
      return Value::string(std::string(s.data(), s.size()));
    }
    case boost::json::kind::array: {
      ValueList items;
      items.reserve(j.get_array().size());
      for (const auto& item : j.get_array()) items.push_back(from_json(item));
      return Value::list(std::move(items));
    }
    case boost::json::kind::object: {
      Dict d;
      for (const auto& kv : j.get_object()) {
        d.set(std::string(kv.key().data(), kv.key().size()), from_json(kv.value()));
      }
      return Value::dict(std::move(d));
    }
  }
  return Value::none();
}

void append_json_string(std::string* out, std::string_view s, bool ensure_ascii) {
  out->push_back('"');
  auto append_u = [&](uint32_t unit) { out->append(fmt::format("\\u{:04x}", unit)); };
  bool ascii = is_ascii(s);
  if (ascii || !ensure_ascii) {
    for (char ch : s) {
      unsigned char c = static_cast<unsigned char>(ch);
      switch (c) {
        case '"': out->append("\\\""); break;
        case '\\': out->append("\\\\"); break;
        case '\n': out->append("\\n"); break;
        case '\r': out->append("\\r"); break;
        case '\t': out->append("\\t"); break;
        case '\b': out->append("\\b"); break;
        case '\f': out->append("\\f"); break;
        default:
          if (c < 0x20 || (ensure_ascii && c == 0x7F)) append_u(c);
          else out->push_back(ch);
      }
    }
    out->push_back('"');
    return;
  }
  for (char32_t cp : utf8_decode(s)) {
    switch (cp) {
      case '"': out->append("\\\""); continue;
      case '\\': out->append("\\\\"); continue;
      case '\n': out->append("\\n"); continue;
      case '\r': out->append("\\r"); continue;
      case '\t': out->append("\\t"); continue;
      case '\b': out->append("\\b"); continue;
      case '\f': out->append("\\f"); continue;
      default: break;
    }
    if (cp >= 0x20 && cp < 0x7F) {
      out->push_back(static_cast<char>(cp));
    } else if (cp < 0x10000) {
      append_u(cp);
    } else {
      uint32_t v = cp - 0x10000;
      append_u(0xD800 + (v >> 10));
      append_u(0xDC00 + (v & 0x3FF));
    }
  }
  out->push_back('"');
}

class JsonWriter {
 public:
  explicit JsonWriter(const JsonDumpOptions& o) : opts_(o) {
    item_sep_ = o.item_separator.value_or(o.indent ? "," : ", ");
    key_sep_ = o.key_separator.value_or(": ");
  }

  Status write(const Value& v, int level) {
    if (level > static_cast<int>(kMaxJsonDepth)) {
      return invalid_argument("tojson: value nested deeper than {} levels", kMaxJsonDepth);
    }
    switch (v.kind()) {
      case Value::Kind::kNone:
        out_.append("null");
        return Status::Ok();
      case Value::Kind::kBool:
        out_.append(v.as_bool() ? "true" : "false");
        return Status::Ok();
      case Value::Kind::kInt:
        out_.append(std::to_string(v.as_int()));
        return Status::Ok();
      case Value::Kind::kFloat: {
        double f = v.as_double();
        if (std::isnan(f)) out_.append("NaN");
        else if (std::isinf(f)) out_.append(f > 0 ? "Infinity" : "-Infinity");
        else out_.append(format_py_float(f));
        return Status::Ok();
      }
      case Value::Kind::kString:
        append_json_string(&out_, v.as_string(), opts_.ensure_ascii);
        return Status::Ok();
      case Value::Kind::kList:
        if (!v.is_list_or_tuple()) break;  // generators, dict views, ranges: not serialisable
        return write_list(v.as_list(), level);
      case Value::Kind::kDict:
        return write_dict(v.as_dict(), level);
      default:
        break;
    }
    return invalid_argument("Object of type {} is not JSON serializable", v.type_name());
  }

  std::string take() { return std::move(out_); }

 private:
  void newline(int level) {
    if (!opts_.indent) return;
    out_.push_back('\n');
    for (int i = 0; i < level; ++i) out_.append(*opts_.indent);
  }

  Status write_list(const ValueList& items, int level) {
    if (items.empty()) {
      out_.append("[]");
      return Status::Ok();
    }
    out_.push_back('[');
    for (size_t i = 0; i < items.size(); ++i) {
      if (i) out_.append(item_sep_);
      newline(level + 1);
      RETURN_IF_ERROR(write(items[i], level + 1));
    }
    newline(level);
    out_.push_back(']');
    return Status::Ok();
  }

  // json.dumps turns int, float, bool and None keys into their JSON spelling.
  static StatusOr<std::string> key_text(const Value& k) {
    if (k.is_string()) return k.as_string();
    if (k.is_bool()) return std::string(k.as_bool() ? "true" : "false");
    if (k.is_int()) return std::to_string(k.as_int());
    if (k.is_none()) return std::string("null");
    if (k.is_float()) {
      double f = k.as_double();
      if (std::isnan(f)) return std::string("NaN");
      if (std::isinf(f)) return std::string(f > 0 ? "Infinity" : "-Infinity");
      return format_py_float(f);
    }
    return invalid_argument("keys must be str, int, float, bool or None, not {}", k.type_name());
  }

  Status write_dict(const Dict& d, int level) {
    if (d.empty()) {
      out_.append("{}");
      return Status::Ok();
    }
    std::vector<const Dict::Entry*> entries;
    for (const auto& e : d.entries()) entries.push_back(&e);
    if (opts_.sort_keys) {
      Status error;
      std::stable_sort(entries.begin(), entries.end(), [&](auto* a, auto* b) {
        auto c = order(a->first, b->first);  // mixed key types fail, as in Python
        if (!c.ok() && error.ok()) error = c.status();
        return c.ok() && *c < 0;
      });
      RETURN_IF_ERROR(error);
    }
    out_.push_back('{');
    for (size_t i = 0; i < entries.size(); ++i) {
      if (i) out_.append(item_sep_);
      newline(level + 1);
      ASSIGN_OR_RETURN(std::string key, key_text(entries[i]->first));
      append_json_string(&out_, key, opts_.ensure_ascii);
      out_.append(key_sep_);
      RETURN_IF_ERROR(write(entries[i]->second, level + 1));
    }
    newline(level);
    out_.push_back('}');
    return Status::Ok();
  }

  const JsonDumpOptions& opts_;
  std::string item_sep_, key_sep_;
  std::string out_;
};

}  // namespace

StatusOr<Value> parse_json_value(std::string_view text, std::string_view what) {
  boost::json::parse_options options;
  options.max_depth = kMaxJsonDepth;
  boost::system::error_code ec;
  // The parsed tree only lives until it is converted: an arena makes parsing allocation-free.
  boost::json::monotonic_resource arena;
  boost::json::value parsed;
  try {
    parsed = boost::json::parse(boost::json::string_view(text.data(), text.size()), ec, &arena,
                                options);
  } catch (const std::exception& e) {
    return invalid_argument("{} is not valid JSON: {}", what, e.what());
  }
  if (ec) {
    return invalid_argument("{} is not valid JSON ({} bytes): {}", what, text.size(),
                            ec.message());
  }
  return from_json(parsed);
}

StatusOr<std::string> dump_json(const Value& value, const JsonDumpOptions& options) {
  JsonWriter writer(options);
  RETURN_IF_ERROR(writer.write(value, 0));
  return writer.take();
}

}  // namespace tandem::text::jinja
