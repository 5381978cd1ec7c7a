#include "gateway/text/template/predicates.h"

#include <algorithm>

#include "gateway/text/template/call_args.h"
#include "gateway/text/template/filters.h"
#include "gateway/text/template/operators.h"
#include "gateway/text/template/py_string.h"

namespace tandem::text::jinja {
namespace {

constexpr std::string_view kTests[] = {
    "defined", "undefined", "none",   "boolean", "false",      "true",    "integer",  "float",
    "number",  "string",    "mapping", "iterable", "sequence", "callable", "sameas",  "escaped",
    "in",      "lower",     "upper",  "odd",     "even",       "divisibleby", "filter", "test",
    "==",      "eq",        "equalto", "!=",     "ne",         ">",       "gt",       "greaterthan",
    ">=",      "ge",        "<",      "lt",      "lessthan",   "<=",      "le"};

StatusOr<Value> one_arg(std::string_view name, const CallArgs& args) {
  ASSIGN_OR_RETURN(auto a, bind_args(name, args, {{"other", true}}));
  return a[0];
}

// Python `is`: singletons and small ints compare by value, containers by identity.
bool same_object(const Value& a, const Value& b) {
  if (a.kind() != b.kind()) return false;
  switch (a.kind()) {
    case Value::Kind::kNone:
    case Value::Kind::kUndefined:
      return true;
    case Value::Kind::kBool:
      return a.as_bool() == b.as_bool();
    case Value::Kind::kInt:
      return a.as_int() == b.as_int() && a.as_int() >= -5 && a.as_int() <= 256;
    case Value::Kind::kString:
      return a.as_string() == b.as_string();
    case Value::Kind::kList:
      return !a.as_list().empty() && &a.as_list() == &b.as_list();
    case Value::Kind::kDict:
      return &a.as_dict() == &b.as_dict();
    case Value::Kind::kNamespace:
      return &a.as_namespace() == &b.as_namespace();
    case Value::Kind::kFunction:
      return &a.as_function() == &b.as_function();
    default:
      return false;
  }
}

StatusOr<Value> modulo(const Value& v, const Value& divisor) {
  return binary_op(BinaryOp::kMod, v, divisor, RenderLimits{});
}

}  // namespace

bool is_known_test(std::string_view name) {
  return std::find(std::begin(kTests), std::end(kTests), name) != std::end(kTests);
}

StatusOr<bool> apply_test(std::string_view name, const Value& v, const CallArgs& args) {
  if (name == "defined") return !v.is_undefined();
  if (name == "undefined") return v.is_undefined();
  if (name == "none") return v.is_none();
  if (name == "boolean") return v.is_bool();
  if (name == "false") return v.is_bool() && !v.as_bool();
  if (name == "true") return v.is_bool() && v.as_bool();
  if (name == "integer") return v.is_int();
  if (name == "float") return v.is_float();
  if (name == "number") return v.is_numeric();
  if (name == "string") return v.is_string();
  if (name == "mapping") return v.is_dict();
  // Undefined is iterable and a sequence in Jinja (it defines __iter__, __len__, __getitem__).
  if (name == "iterable") return v.is_string() || v.is_list() || v.is_dict() || v.is_undefined();
  if (name == "sequence") {  // needs len() and subscripting
    bool indexable_list = v.is_list_or_tuple() || (v.is_list() && v.seq_kind() == Value::SeqKind::kRange);
    return v.is_string() || indexable_list || v.is_dict() || v.is_undefined();
  }
  if (name == "callable") return v.is_function() || v.is_undefined();
  if (name == "escaped") return false;  // no Markup strings in this engine
  if (name == "lower" || name == "upper") {
    std::string s = v.str();
    return name == "lower" ? py_islower(s) : py_isupper(s);
  }
  if (name == "odd" || name == "even") {
    ASSIGN_OR_RETURN(Value m, modulo(v, Value::integer(2)));
    return values_equal(m, Value::integer(name == "odd" ? 1 : 0));
  }
  if (name == "divisibleby") {
    ASSIGN_OR_RETURN(Value d, one_arg(name, args));
    ASSIGN_OR_RETURN(Value m, modulo(v, d));
    return values_equal(m, Value::integer(0));
  }
  if (name == "filter" || name == "test") {
    if (!v.is_string()) return false;
    return name == "filter" ? is_known_filter(v.as_string()) : is_known_test(v.as_string());
  }
  ASSIGN_OR_RETURN(Value other, one_arg(name, args));
  if (name == "sameas") return same_object(v, other);
  if (name == "in") return contains(other, v);
  CompareOp op;
  if (name == "==" || name == "eq" || name == "equalto") op = CompareOp::kEq;
  else if (name == "!=" || name == "ne") op = CompareOp::kNe;
  else if (name == ">" || name == "gt" || name == "greaterthan") op = CompareOp::kGt;
  else if (name == ">=" || name == "ge") op = CompareOp::kGe;
  else if (name == "<" || name == "lt" || name == "lessthan") op = CompareOp::kLt;
  else if (name == "<=" || name == "le") op = CompareOp::kLe;
  else return invalid_argument("no test named '{}'", name);
  return compare_op(op, v, other);
}

}  // namespace tandem::text::jinja
