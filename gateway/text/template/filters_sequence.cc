#include "gateway/text/template/filters_sequence.h"

#include <algorithm>

#include "gateway/text/template/access.h"
#include "gateway/text/template/call_args.h"
#include "gateway/text/template/filters.h"
#include "gateway/text/template/operators.h"
#include "gateway/text/template/predicates.h"
#include "gateway/text/template/py_string.h"

namespace tandem::text::jinja::sequence_filters {
namespace {

// Jinja lower-cases strings for case-insensitive sort/unique/min/max keys.
Value fold_case(const Value& v, bool case_sensitive) {
  if (!case_sensitive && v.is_string()) return Value::string(py_lower(v.as_string()));
  return v;
}

StatusOr<Value> key_of(const Value& item, const Value& attribute, bool case_sensitive) {
  Value key = item;
  if (given(attribute) && !attribute.is_none()) {
    ASSIGN_OR_RETURN(key, get_attr_path(item, attribute));
  }
  return fold_case(key, case_sensitive);
}

// Stable sort by precomputed keys; the first comparison error wins.
StatusOr<ValueList> sorted_by_keys(ValueList items, std::vector<Value> keys, bool reverse) {
  std::vector<size_t> order_idx(items.size());
  for (size_t i = 0; i < order_idx.size(); ++i) order_idx[i] = i;
  Status error;
  std::stable_sort(order_idx.begin(), order_idx.end(), [&](size_t a, size_t b) {
    if (!error.ok()) return false;
    auto c = order(keys[a], keys[b]);
    if (!c.ok()) {
      error = c.status();
      return false;
    }
    return reverse ? *c > 0 : *c < 0;
  });
  RETURN_IF_ERROR(error);
  ValueList out;
  out.reserve(items.size());
  for (size_t i : order_idx) out.push_back(std::move(items[i]));
  return out;
}

StatusOr<Value> select_or_reject(const Value& input, const CallArgs& args, bool by_attribute, bool keep) {
  if (!input.truthy()) return Value::sequence({}, Value::SeqKind::kGenerator);
  size_t offset = by_attribute ? 1 : 0;
  if (by_attribute && args.positional.empty()) {
    return invalid_argument("selectattr/rejectattr: missing parameter for attribute name");
  }
  CallArgs test_args;
  std::string test_name;
  if (args.positional.size() > offset) {
    const Value& name = args.positional[offset];
    if (!name.is_string()) return invalid_argument("select: test name must be a string, got {}", name.type_name());
    test_name = name.as_string();
    if (!is_known_test(test_name)) return invalid_argument("no test named '{}'", test_name);
    test_args.positional.assign(args.positional.begin() + static_cast<long>(offset) + 1, args.positional.end());
    test_args.keyword = args.keyword;
  }
  ASSIGN_OR_RETURN(ValueList items, py_iter(input));
  ValueList out;
  for (const Value& item : items) {
    Value subject = item;
    if (by_attribute) {
      ASSIGN_OR_RETURN(subject, get_attr_path(item, args.positional[0]));
    }
    bool pass = subject.truthy();
    if (!test_name.empty()) {
      ASSIGN_OR_RETURN(pass, apply_test(test_name, subject, test_args));
    }
    if (pass == keep) out.push_back(item);
  }
  return Value::sequence(std::move(out), Value::SeqKind::kGenerator);
}

StatusOr<Value> min_or_max(const Value& input, const CallArgs& args, bool want_max) {
  ASSIGN_OR_RETURN(auto a, bind_args(want_max ? "max" : "min", args, {{"case_sensitive"}, {"attribute"}}));
  ASSIGN_OR_RETURN(ValueList items, py_iter(input));
  if (items.empty()) return Value::undefined("No aggregated item, sequence was empty.");
  bool cs = a[0].truthy();
  size_t best = 0;
  ASSIGN_OR_RETURN(Value best_key, key_of(items[0], a[1], cs));
  for (size_t i = 1; i < items.size(); ++i) {
    ASSIGN_OR_RETURN(Value k, key_of(items[i], a[1], cs));
    ASSIGN_OR_RETURN(int c, order(k, best_key));
    if (want_max ? c > 0 : c < 0) {
      best = i;
      best_key = k;
    }
  }
  return items[best];
}

}  // namespace

StatusOr<Value> first(const Value& input, const CallArgs& args, const RenderLimits&) {
  ASSIGN_OR_RETURN(auto a, bind_args("first", args, {}));
  ASSIGN_OR_RETURN(ValueList items, py_iter(input));
  if (items.empty()) return Value::undefined("No first item, sequence was empty.");
  return items.front();
}

StatusOr<Value> last(const Value& input, const CallArgs& args, const RenderLimits&) {
  ASSIGN_OR_RETURN(auto a, bind_args("last", args, {}));
  if (!input.is_sized()) return invalid_argument("'{}' object is not reversible", input.type_name());
  ASSIGN_OR_RETURN(ValueList items, py_iter(input));
  if (items.empty()) return Value::undefined("No last item, sequence was empty.");
  return items.back();
}

StatusOr<Value> length(const Value& input, const CallArgs& args, const RenderLimits&) {
  ASSIGN_OR_RETURN(auto a, bind_args("length", args, {}));
  ASSIGN_OR_RETURN(int64_t n, py_len(input));
  return Value::integer(n);
}

StatusOr<Value> list(const Value& input, const CallArgs& args, const RenderLimits&) {
  ASSIGN_OR_RETURN(auto a, bind_args("list", args, {}));
  ASSIGN_OR_RETURN(ValueList items, py_iter(input));
  return Value::list(std::move(items));
}

StatusOr<Value> items(const Value& input, const CallArgs& args, const RenderLimits&) {
  ASSIGN_OR_RETURN(auto a, bind_args("items", args, {}));
  if (input.is_undefined()) return Value::sequence({}, Value::SeqKind::kGenerator);
  if (!input.is_dict()) return invalid_argument("Can only get item pairs from a mapping.");
  ValueList out;
  for (const auto& [k, v] : input.as_dict().entries()) out.push_back(Value::tuple({k, v}));
  return Value::sequence(std::move(out), Value::SeqKind::kGenerator);
}

StatusOr<Value> join(const Value& input, const CallArgs& args, const RenderLimits& limits) {
  ASSIGN_OR_RETURN(auto a, bind_args("join", args, {{"d"}, {"attribute"}}));
  std::string sep = given(a[0]) ? a[0].str() : "";
  ASSIGN_OR_RETURN(ValueList items, py_iter(input));
  std::string out;
  for (size_t i = 0; i < items.size(); ++i) {
    Value item = items[i];
    if (given(a[1]) && !a[1].is_none()) {
      ASSIGN_OR_RETURN(item, get_attr_path(item, a[1]));
    }
    if (i) out += sep;
    item.append_str(&out);
    if (out.size() > limits.max_output_bytes) return resource_exhausted("join: result exceeds the template limit of {} bytes", limits.max_output_bytes);
  }
  return Value::string(std::move(out));
}

StatusOr<Value> map(const Value& input, const CallArgs& args, const RenderLimits& limits) {
  if (!input.truthy()) return Value::sequence({}, Value::SeqKind::kGenerator);
  ASSIGN_OR_RETURN(ValueList items, py_iter(input));
  ValueList out;
  out.reserve(items.size());
  if (args.positional.empty()) {
    ASSIGN_OR_RETURN(auto a, bind_args("map", args, {{"attribute", true}, {"default"}}));
    for (const Value& item : items) {
      ASSIGN_OR_RETURN(Value v, get_attr_path(item, a[0]));
      if (v.is_undefined() && given(a[1]) && !a[1].is_none()) v = a[1];
      out.push_back(std::move(v));
    }
    return Value::sequence(std::move(out), Value::SeqKind::kGenerator);
  }
  if (!args.positional[0].is_string()) return invalid_argument("map: filter name must be a string");
  const std::string& name = args.positional[0].as_string();
  if (!is_known_filter(name)) return invalid_argument("no filter named '{}'", name);
  CallArgs rest;
  rest.positional.assign(args.positional.begin() + 1, args.positional.end());
  rest.keyword = args.keyword;
  for (const Value& item : items) {
    ASSIGN_OR_RETURN(Value v, apply_filter(name, item, rest, limits));
    out.push_back(std::move(v));
  }
  return Value::sequence(std::move(out), Value::SeqKind::kGenerator);
}

StatusOr<Value> select(const Value& input, const CallArgs& args, const RenderLimits&) {
  return select_or_reject(input, args, false, true);
}
StatusOr<Value> reject(const Value& input, const CallArgs& args, const RenderLimits&) {
  return select_or_reject(input, args, false, false);
}
StatusOr<Value> selectattr(const Value& input, const CallArgs& args, const RenderLimits&) {
  return select_or_reject(input, args, true, true);
}
StatusOr<Value> rejectattr(const Value& input, const CallArgs& args, const RenderLimits&) {
  return select_or_reject(input, args, true, false);
}

StatusOr<Value> sort(const Value& input, const CallArgs& args, const RenderLimits&) {
  ASSIGN_OR_RETURN(auto a, bind_args("sort", args, {{"reverse"}, {"case_sensitive"}, {"attribute"}}));
  ASSIGN_OR_RETURN(ValueList items, py_iter(input));
  std::vector<Value> keys;
  for (const Value& item : items) {
    ASSIGN_OR_RETURN(Value k, key_of(item, a[2], a[1].truthy()));
    keys.push_back(std::move(k));
  }
  ASSIGN_OR_RETURN(ValueList out, sorted_by_keys(std::move(items), std::move(keys), a[0].truthy()));
  return Value::list(std::move(out));
}

StatusOr<Value> unique(const Value& input, const CallArgs& args, const RenderLimits&) {
  ASSIGN_OR_RETURN(auto a, bind_args("unique", args, {{"case_sensitive"}, {"attribute"}}));
  ASSIGN_OR_RETURN(ValueList items, py_iter(input));
  ValueList out;
  std::vector<Value> seen;
  for (const Value& item : items) {
    ASSIGN_OR_RETURN(Value k, key_of(item, a[1], a[0].truthy()));
    bool dup = std::any_of(seen.begin(), seen.end(), [&](const Value& s) { return values_equal(s, k); });
    if (dup) continue;
    seen.push_back(std::move(k));
    out.push_back(item);
  }
  return Value::sequence(std::move(out), Value::SeqKind::kGenerator);
}

StatusOr<Value> min(const Value& input, const CallArgs& args, const RenderLimits&) {
  return min_or_max(input, args, false);
}
StatusOr<Value> max(const Value& input, const CallArgs& args, const RenderLimits&) {
  return min_or_max(input, args, true);
}

StatusOr<Value> sum(const Value& input, const CallArgs& args, const RenderLimits& limits) {
  ASSIGN_OR_RETURN(auto a, bind_args("sum", args, {{"attribute"}, {"start"}}));
  Value total = given(a[1]) ? a[1] : Value::integer(0);
  ASSIGN_OR_RETURN(ValueList items, py_iter(input));
  for (const Value& item : items) {
    Value v = item;
    if (given(a[0]) && !a[0].is_none()) {
      ASSIGN_OR_RETURN(v, get_attr_path(item, a[0]));
    }
    ASSIGN_OR_RETURN(total, binary_op(BinaryOp::kAdd, total, v, limits));
  }
  return total;
}

StatusOr<Value> reverse(const Value& input, const CallArgs& args, const RenderLimits&) {
  ASSIGN_OR_RETURN(auto a, bind_args("reverse", args, {}));
  if (input.is_string()) return Value::string(*py_slice(input.as_string(), SliceSpec{std::nullopt, std::nullopt, -1}));
  ASSIGN_OR_RETURN(ValueList items, py_iter(input));
  std::reverse(items.begin(), items.end());
  // reversed() works on sized sequences; generators fall back to a reversed list, as in Jinja.
  if (!input.is_sized()) return Value::list(std::move(items));
  return Value::sequence(std::move(items), Value::SeqKind::kReverseIterator);
}

StatusOr<Value> dictsort(const Value& input, const CallArgs& args, const RenderLimits&) {
  ASSIGN_OR_RETURN(auto a, bind_args("dictsort", args, {{"case_sensitive"}, {"by"}, {"reverse"}}));
  if (!input.is_dict()) return invalid_argument("dictsort: expected a mapping, got {}", input.type_name());
  bool by_value = given(a[1]) && a[1].is_string() && a[1].as_string() == "value";
  if (given(a[1]) && !(a[1].is_string() && (a[1].as_string() == "key" || a[1].as_string() == "value"))) {
    return invalid_argument("You can only sort by either \"key\" or \"value\"");
  }
  ValueList pairs;
  std::vector<Value> keys;
  for (const auto& [k, v] : input.as_dict().entries()) {
    pairs.push_back(Value::tuple({k, v}));
    keys.push_back(fold_case(by_value ? v : k, a[0].truthy()));
  }
  ASSIGN_OR_RETURN(ValueList out, sorted_by_keys(std::move(pairs), std::move(keys), a[2].truthy()));
  return Value::list(std::move(out));
}

}  // namespace tandem::text::jinja::sequence_filters
