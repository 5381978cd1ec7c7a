// ShareGPT JSON reading (make_sharegpt_prompts is in dataset.cc).
#include <boost/json.hpp>

#include "bench/serving/dataset.h"

namespace tandem::bench {
namespace {

namespace json = boost::json;

constexpr const char* kShape =
    "expected a JSON list of {\"conversations\": [{\"from\": \"human\", \"value\": \"...\"}, "
    "{\"from\": \"gpt\", \"value\": \"...\"}, ...]}";

bool is_human(std::string_view from) { return from == "human" || from == "user"; }
bool is_gpt(std::string_view from) { return from == "gpt" || from == "assistant" || from == "chatgpt"; }

}  // namespace

StatusOr<std::vector<ShareGptPair>> parse_sharegpt(std::string_view text, const std::string& source) {
  boost::system::error_code ec;
  json::value root = json::parse(text, ec);
  if (ec) {
    return invalid_argument("ShareGPT file {} is not valid JSON ({}); {}", source, ec.message(), kShape);
  }
  if (!root.is_array()) {
    return invalid_argument("ShareGPT file {}: the top level is a JSON {}, {}", source,
                            root.is_object() ? "object" : "scalar", kShape);
  }
  std::vector<ShareGptPair> out;
  const json::array& entries = root.get_array();
  for (size_t i = 0; i < entries.size(); ++i) {
    const json::object* entry = entries[i].if_object();
    const json::value* conv = entry ? entry->if_contains("conversations") : nullptr;
    if (conv == nullptr || !conv->is_array()) {
      return invalid_argument("ShareGPT file {}: entry {} has no \"conversations\" list; {}", source, i,
                              kShape);
    }
    const json::array& turns = conv->get_array();
    std::optional<size_t> human;
    for (size_t t = 0; t < turns.size(); ++t) {
      const json::object* turn = turns[t].if_object();
      const json::value* from = turn ? turn->if_contains("from") : nullptr;
      const json::value* value = turn ? turn->if_contains("value") : nullptr;
      if (from == nullptr || !from->is_string() || value == nullptr || !value->is_string()) {
        return invalid_argument("ShareGPT file {}: entry {} turn {} needs string fields \"from\" and "
                                "\"value\"; {}", source, i, t, kShape);
      }
      const std::string_view who = from->get_string();
      if (!human && is_human(who)) {
        human = t;
      } else if (human && is_gpt(who)) {
        out.push_back({std::string(turns[*human].at("value").get_string()),
                       std::string(value->get_string())});
        break;
      }
    }
  }
  return out;
}

}  // namespace tandem::bench
