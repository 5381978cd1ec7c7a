#include "gateway/text/tool_parsers/tool_catalog.h"

#include <boost/json.hpp>

namespace tandem::text {
namespace {

std::string schema_type(const boost::json::value& property) {
  const boost::json::object* obj = property.if_object();
  if (obj == nullptr) return "";
  const boost::json::value* type = obj->if_contains("type");
  if (type == nullptr) return "";
  if (type->is_string()) return std::string(type->get_string());
  if (const boost::json::array* list = type->if_array()) {
    for (const boost::json::value& t : *list) {
      if (t.is_string() && t.get_string() != "null") return std::string(t.get_string());
    }
  }
  return "";
}

}  // namespace

StatusOr<ToolCatalog> ToolCatalog::create(const std::vector<ToolSpec>& tools) {
  ToolCatalog catalog;
  for (size_t i = 0; i < tools.size(); ++i) {
    const ToolSpec& tool = tools[i];
    if (tool.name.empty()) {
      return invalid_argument("tool {} of {} has an empty function name; every tool needs one", i,
                              tools.size());
    }
    ParamTypes& types = catalog.types_[tool.name];
    if (tool.parameters_json.empty()) continue;
    boost::system::error_code ec;
    boost::json::value schema = boost::json::parse(tool.parameters_json, ec);
    if (ec || !schema.is_object()) {
      return invalid_argument(
          "parameters of tool '{}' are not a JSON object ({}); pass the JSON-schema object text",
          tool.name, ec ? ec.message() : "another JSON type");
    }
    const boost::json::value* props = schema.get_object().if_contains("properties");
    if (props == nullptr || !props->is_object()) continue;
    for (const auto& [key, property] : props->get_object()) {
      types[std::string(key)] = schema_type(property);
    }
  }
  return catalog;
}

std::string_view ToolCatalog::param_type(std::string_view function, std::string_view param) const {
  auto fn = types_.find(function);
  if (fn == types_.end()) return "";
  auto it = fn->second.find(param);
  return it == fn->second.end() ? std::string_view() : std::string_view(it->second);
}

}  // namespace tandem::text
