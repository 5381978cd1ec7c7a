#include "gateway/openai/field_reader.h"

#include <cmath>

#include <boost/json.hpp>
#include <fmt/format.h>

namespace tandem::gateway::openai {
namespace json = boost::json;

std::optional<int64_t> json_to_int(const json::value& v) {
  if (v.is_int64()) return v.get_int64();
  if (v.is_uint64()) {
    if (v.get_uint64() > static_cast<uint64_t>(INT64_MAX)) return std::nullopt;
    return static_cast<int64_t>(v.get_uint64());
  }
  if (v.is_double()) {
    double d = v.get_double();
    if (std::isfinite(d) && std::floor(d) == d && std::fabs(d) < 9.0e18) {
      return static_cast<int64_t>(d);
    }
  }
  return std::nullopt;
}

std::optional<double> json_to_double(const json::value& v) {
  if (v.is_int64()) return static_cast<double>(v.get_int64());
  if (v.is_uint64()) return static_cast<double>(v.get_uint64());
  if (v.is_double()) return v.get_double();
  return std::nullopt;
}

const json::value* FieldReader::find(std::string_view key) const {
  const json::value* v = obj_.if_contains(key);
  if (v == nullptr || v->is_null()) return nullptr;
  return v;
}

std::optional<bool> FieldReader::get_bool(std::string_view key) {
  const json::value* v = ok() ? find(key) : nullptr;
  if (v == nullptr) return std::nullopt;
  if (!v->is_bool()) {
    fail(invalid_type_error(param(key), "a boolean"));
    return std::nullopt;
  }
  return v->get_bool();
}

std::optional<std::string> FieldReader::get_string(std::string_view key) {
  const json::value* v = ok() ? find(key) : nullptr;
  if (v == nullptr) return std::nullopt;
  if (!v->is_string()) {
    fail(invalid_type_error(param(key), "a string"));
    return std::nullopt;
  }
  return std::string(v->get_string());
}

std::optional<std::string> FieldReader::require_string(std::string_view key) {
  if (!ok()) return std::nullopt;
  if (find(key) == nullptr) {
    fail(missing_field_error(param(key)));
    return std::nullopt;
  }
  return get_string(key);
}

std::optional<int64_t> FieldReader::get_int(std::string_view key, int64_t min, int64_t max) {
  const json::value* v = ok() ? find(key) : nullptr;
  if (v == nullptr) return std::nullopt;
  std::optional<int64_t> i = json_to_int(*v);
  if (!i) {
    fail(invalid_type_error(param(key), "an integer"));
    return std::nullopt;
  }
  if (*i < min || *i > max) {
    fail(invalid_value_error(param(key),
                             fmt::format("must be between {} and {}, got {}", min, max, *i)));
    return std::nullopt;
  }
  return i;
}

std::optional<double> FieldReader::get_number(std::string_view key, double min, double max,
                                              bool min_exclusive) {
  const json::value* v = ok() ? find(key) : nullptr;
  if (v == nullptr) return std::nullopt;
  std::optional<double> d = json_to_double(*v);
  if (!d) {
    fail(invalid_type_error(param(key), "a number"));
    return std::nullopt;
  }
  bool below = min_exclusive ? *d <= min : *d < min;
  if (below || *d > max || std::isnan(*d)) {
    fail(invalid_value_error(param(key), fmt::format("must be in {}{}, {}], got {}",
                                                     min_exclusive ? "(" : "[", min, max, *d)));
    return std::nullopt;
  }
  return d;
}

const json::object* FieldReader::get_object(std::string_view key) {
  const json::value* v = ok() ? find(key) : nullptr;
  if (v == nullptr) return nullptr;
  if (!v->is_object()) {
    fail(invalid_type_error(param(key), "an object"));
    return nullptr;
  }
  return &v->get_object();
}

const json::array* FieldReader::get_array(std::string_view key) {
  const json::value* v = ok() ? find(key) : nullptr;
  if (v == nullptr) return nullptr;
  if (!v->is_array()) {
    fail(invalid_type_error(param(key), "an array"));
    return nullptr;
  }
  return &v->get_array();
}

}  // namespace tandem::gateway::openai
