// Expression half of the evaluator.
#include <fmt/format.h>

#include "gateway/text/template/access.h"
#include "gateway/text/template/evaluator.h"
#include "gateway/text/template/filters.h"
#include "gateway/text/template/operators.h"
#include "gateway/text/template/predicates.h"

namespace tandem::text::jinja {

StatusOr<Value> Evaluator::eval(const Expr& e) {
  ++depth_;
  StatusOr<Value> result = depth_ > options_.limits.max_depth
                               ? StatusOr<Value>(resource_exhausted(
                                     "template nesting (macro recursion?) deeper than {} levels", options_.limits.max_depth))
                               : eval_node(e);
  --depth_;
  if (!result.ok()) return locate(result.status(), e.pos);
  return result;
}

StatusOr<CallArgs> Evaluator::eval_args(const CallArgExprs& args) {
  CallArgs out;
  out.positional.reserve(args.positional.size());
  for (const ExprPtr& a : args.positional) {
    ASSIGN_OR_RETURN(Value v, eval(*a));
    out.positional.push_back(std::move(v));
  }
  for (const auto& [key, expr] : args.keyword) {
    ASSIGN_OR_RETURN(Value v, eval(*expr));
    out.keyword.emplace_back(key, std::move(v));
  }
  return out;
}

StatusOr<Value> Evaluator::eval_node(const Expr& e) {
  RETURN_IF_ERROR(charge(1));
  switch (e.kind) {
    case ExprKind::kLiteral:
      return static_cast<const LiteralExpr&>(e).value;
    case ExprKind::kName: {
      const auto& n = static_cast<const NameExpr&>(e);
      if (const Value* v = lookup(n.name)) return *v;
      return Value::undefined(fmt::format("'{}' is undefined", n.name));
    }
    case ExprKind::kList: {
      const auto& n = static_cast<const ListExpr&>(e);
      ValueList items;
      items.reserve(n.items.size());
      for (const ExprPtr& item : n.items) {
        ASSIGN_OR_RETURN(Value v, eval(*item));
        items.push_back(std::move(v));
      }
      return n.tuple ? Value::tuple(std::move(items)) : Value::list(std::move(items));
    }
    case ExprKind::kDict: {
      const auto& n = static_cast<const DictExpr&>(e);
      Dict d;
      for (const auto& [key_expr, value_expr] : n.items) {
        ASSIGN_OR_RETURN(Value key, eval(*key_expr));
        if (!is_hashable(key)) {
          return locate(invalid_argument("unhashable type: '{}'", key.type_name()), key_expr->pos);
        }
        ASSIGN_OR_RETURN(Value value, eval(*value_expr));
        d.set(std::move(key), std::move(value));
      }
      return Value::dict(std::move(d));
    }
    case ExprKind::kGetAttr: {
      const auto& n = static_cast<const GetAttrExpr&>(e);
      ASSIGN_OR_RETURN(Value obj, eval(*n.object));
      return get_attr(obj, n.attr);
    }
    case ExprKind::kGetItem: {
      const auto& n = static_cast<const GetItemExpr&>(e);
      ASSIGN_OR_RETURN(Value obj, eval(*n.object));
      ASSIGN_OR_RETURN(Value key, eval(*n.index));
      return get_item(obj, key);
    }
    case ExprKind::kSlice:
      return eval_slice(static_cast<const SliceExpr&>(e));
    case ExprKind::kCall:
      return eval_call(static_cast<const CallExpr&>(e));
    case ExprKind::kFilter:
      return eval_filter(static_cast<const FilterExpr&>(e), nullptr);
    case ExprKind::kTest: {
      const auto& n = static_cast<const TestExpr&>(e);
      ASSIGN_OR_RETURN(Value input, eval(*n.input));
      ASSIGN_OR_RETURN(CallArgs args, eval_args(n.args));
      ASSIGN_OR_RETURN(bool passed, apply_test(n.name, input, args));
      return Value::boolean(passed != n.negated);
    }
    case ExprKind::kUnary: {
      const auto& n = static_cast<const UnaryExpr&>(e);
      ASSIGN_OR_RETURN(Value v, eval(*n.operand));
      return unary_op(n.op, v);
    }
    case ExprKind::kBinary: {
      const auto& n = static_cast<const BinaryExpr&>(e);
      ASSIGN_OR_RETURN(Value left, eval(*n.left));
      ASSIGN_OR_RETURN(Value right, eval(*n.right));
      ASSIGN_OR_RETURN(Value result, binary_op(n.op, left, right, options_.limits));
      RETURN_IF_ERROR(charge_for(result));
      return result;
    }
    case ExprKind::kCompare:
      return eval_compare(static_cast<const CompareExpr&>(e));
    case ExprKind::kAnd:
    case ExprKind::kOr: {
      const auto& n = static_cast<const LogicalExpr&>(e);
      ASSIGN_OR_RETURN(Value left, eval(*n.left));
      // Python semantics: the deciding operand itself, not a bool.
      if (left.truthy() == (e.kind == ExprKind::kOr)) return left;
      return eval(*n.right);
    }
    case ExprKind::kNot: {
      ASSIGN_OR_RETURN(Value v, eval(*static_cast<const LogicalExpr&>(e).left));
      return Value::boolean(!v.truthy());
    }
    case ExprKind::kCondition: {
      const auto& n = static_cast<const ConditionExpr&>(e);
      ASSIGN_OR_RETURN(Value test, eval(*n.test));
      if (test.truthy()) return eval(*n.if_true);
      if (n.if_false) return eval(*n.if_false);
      return Value::undefined(fmt::format("the inline if-expression on line {} evaluated to false and no else "
                                          "section was defined.", e.pos.line));
    }
  }
  return internal_error("unhandled expression kind {}", static_cast<int>(e.kind));
}

StatusOr<Value> Evaluator::eval_slice(const SliceExpr& e) {
  ASSIGN_OR_RETURN(Value obj, eval(*e.object));
  SliceSpec spec;
  const ExprPtr* parts[3] = {&e.start, &e.stop, &e.step};
  std::optional<int64_t>* fields[3] = {&spec.start, &spec.stop, &spec.step};
  for (int i = 0; i < 3; ++i) {
    if (!*parts[i]) continue;
    ASSIGN_OR_RETURN(Value v, eval(**parts[i]));
    if (v.is_none()) continue;
    if (!v.is_int() && !v.is_bool()) {
      // Python raises TypeError, which the sandbox's subscript turns into Undefined.
      return Value::undefined("slice indices must be integers or None");
    }
    *fields[i] = v.as_int();
  }
  ASSIGN_OR_RETURN(Value result, get_slice(obj, spec));
  RETURN_IF_ERROR(charge_for(result));
  return result;
}

StatusOr<Value> Evaluator::eval_call(const CallExpr& e) {
  // Fast path for `obj.method(args)` on str / dict / list: no bound-method object.
  if (e.callee->kind == ExprKind::kGetAttr) {
    const auto& attr = static_cast<const GetAttrExpr&>(*e.callee);
    ASSIGN_OR_RETURN(Value obj, eval(*attr.object));
    if ((obj.is_string() || obj.is_dict() || obj.is_list()) && has_attribute(obj, attr.attr)) {
      ASSIGN_OR_RETURN(CallArgs args, eval_args(e.args));
      ASSIGN_OR_RETURN(Value result, call_method(obj, attr.attr, args, options_.limits));
      RETURN_IF_ERROR(charge_for(result));
      return result;
    }
    auto callee = get_attr(obj, attr.attr);
    if (!callee.ok()) return locate(callee.status(), attr.pos);
    ASSIGN_OR_RETURN(CallArgs args, eval_args(e.args));
    if (callee->is_undefined()) return undefined_error(*callee);
    if (!callee->is_function()) return invalid_argument("'{}' object is not callable", callee->type_name());
    return callee->as_function().call(args);
  }
  ASSIGN_OR_RETURN(Value callee, eval(*e.callee));
  ASSIGN_OR_RETURN(CallArgs args, eval_args(e.args));
  if (callee.is_undefined()) return undefined_error(callee);
  if (!callee.is_function()) return invalid_argument("'{}' object is not callable", callee.type_name());
  ASSIGN_OR_RETURN(Value result, callee.as_function().call(args));
  RETURN_IF_ERROR(charge_for(result));
  return result;
}

StatusOr<Value> Evaluator::eval_filter(const FilterExpr& e, const Value* input) {
  Value in;
  if (e.input) {
    ASSIGN_OR_RETURN(in, eval(*e.input));
  } else if (input) {
    in = *input;
  }
  ASSIGN_OR_RETURN(CallArgs args, eval_args(e.args));
  auto result = apply_filter(e.name, in, args, options_.limits);
  if (!result.ok()) return locate(result.status(), e.pos);
  RETURN_IF_ERROR(locate(charge_for(*result), e.pos));
  return result;
}

StatusOr<Value> Evaluator::eval_compare(const CompareExpr& e) {
  ASSIGN_OR_RETURN(Value left, eval(*e.first));
  for (const auto& [op, expr] : e.rest) {
    ASSIGN_OR_RETURN(Value right, eval(*expr));
    ASSIGN_OR_RETURN(bool holds, compare_op(op, left, right));
    if (!holds) return Value::boolean(false);
    left = std::move(right);
  }
  return Value::boolean(true);
}

}  // namespace tandem::text::jinja
