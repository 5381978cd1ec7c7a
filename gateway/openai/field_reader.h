// FieldReader: typed reads of one JSON object's fields with OpenAI-style errors. The first error
// wins and later reads become no-ops returning nothing, so a parser reads every field in a row and
// checks ok() once. JSON null counts as absent (clients send null for "unset"). `prefix` makes
// error params name nested fields ("stream_options.include_usage", "messages[2].role").
//
// Threads: one thread per reader (it holds state); the object must outlive it.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include <boost/json/fwd.hpp>
#include <boost/json/object.hpp>

#include "gateway/openai/errors.h"

namespace tandem::gateway::openai {

class FieldReader {
 public:
  explicit FieldReader(const boost::json::object& obj, std::string prefix = "")
      : obj_(obj), prefix_(std::move(prefix)) {}

  // The field's value, or nullptr when it is missing or null.
  const boost::json::value* find(std::string_view key) const;
  bool has(std::string_view key) const { return find(key) != nullptr; }

  std::optional<bool> get_bool(std::string_view key);
  std::optional<std::string> get_string(std::string_view key);
  // Integers; a float with an integral value (2.0) is accepted, 2.5 is invalid_type.
  std::optional<int64_t> get_int(std::string_view key, int64_t min, int64_t max);
  // Numbers in [min, max], or (min, max] when min_exclusive.
  std::optional<double> get_number(std::string_view key, double min, double max,
                                   bool min_exclusive = false);
  const boost::json::object* get_object(std::string_view key);
  const boost::json::array* get_array(std::string_view key);
  // Like get_string but missing/null is a missing_field error.
  std::optional<std::string> require_string(std::string_view key);

  std::string param(std::string_view key) const { return prefix_ + std::string(key); }
  void fail(ApiError e) {
    if (!error_) error_ = std::move(e);
  }
  bool ok() const { return !error_.has_value(); }
  const std::optional<ApiError>& error() const { return error_; }

 private:
  const boost::json::object& obj_;
  std::string prefix_;
  std::optional<ApiError> error_;
};

// JSON value as int64 when it is an integer (or an integral float); nullopt otherwise.
std::optional<int64_t> json_to_int(const boost::json::value& v);
// A number's value (int or float); nullopt for non-numbers.
std::optional<double> json_to_double(const boost::json::value& v);

}  // namespace tandem::gateway::openai
