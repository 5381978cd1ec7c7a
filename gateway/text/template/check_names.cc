// Compile-time validation of filter and test names, mirroring where jinja2's code generator
// checks them: in "soft" frames (the body and test of an `if`, the parts of a conditional
// expression) the check is deferred to run time; a for/macro/with/filter/set block body starts a
// fresh frame where the check applies again.
#include <fmt/format.h>

#include "gateway/text/template/filters.h"
#include "gateway/text/template/parser.h"
#include "gateway/text/template/predicates.h"

namespace tandem::text::jinja {
namespace {

Status check_body(const Body& body, bool soft);

Status check_expr(const Expr* e, bool soft);

Status check_args(const CallArgExprs& args, bool soft) {
  for (const ExprPtr& a : args.positional) RETURN_IF_ERROR(check_expr(a.get(), soft));
  for (const auto& [unused, a] : args.keyword) RETURN_IF_ERROR(check_expr(a.get(), soft));
  return Status::Ok();
}

Status check_filter(const FilterExpr& f, bool soft) {
  if (!soft && !is_known_filter(f.name)) return syntax_error(f.pos, fmt::format("no filter named '{}'", f.name));
  RETURN_IF_ERROR(check_expr(f.input.get(), soft));
  return check_args(f.args, soft);
}

Status check_expr(const Expr* e, bool soft) {
  if (!e) return Status::Ok();
  switch (e->kind) {
    case ExprKind::kLiteral:
    case ExprKind::kName:
      return Status::Ok();
    case ExprKind::kList:
      for (const ExprPtr& item : static_cast<const ListExpr*>(e)->items) RETURN_IF_ERROR(check_expr(item.get(), soft));
      return Status::Ok();
    case ExprKind::kDict:
      for (const auto& [k, v] : static_cast<const DictExpr*>(e)->items) {
        RETURN_IF_ERROR(check_expr(k.get(), soft));
        RETURN_IF_ERROR(check_expr(v.get(), soft));
      }
      return Status::Ok();
    case ExprKind::kGetAttr:
      return check_expr(static_cast<const GetAttrExpr*>(e)->object.get(), soft);
    case ExprKind::kGetItem: {
      const auto* n = static_cast<const GetItemExpr*>(e);
      RETURN_IF_ERROR(check_expr(n->object.get(), soft));
      return check_expr(n->index.get(), soft);
    }
    case ExprKind::kSlice: {
      const auto* n = static_cast<const SliceExpr*>(e);
      for (const Expr* part : {n->object.get(), n->start.get(), n->stop.get(), n->step.get()}) {
        RETURN_IF_ERROR(check_expr(part, soft));
      }
      return Status::Ok();
    }
    case ExprKind::kCall: {
      const auto* n = static_cast<const CallExpr*>(e);
      RETURN_IF_ERROR(check_expr(n->callee.get(), soft));
      return check_args(n->args, soft);
    }
    case ExprKind::kFilter:
      return check_filter(*static_cast<const FilterExpr*>(e), soft);
    case ExprKind::kTest: {
      const auto* n = static_cast<const TestExpr*>(e);
      if (!soft && !is_known_test(n->name)) return syntax_error(n->pos, fmt::format("no test named '{}'", n->name));
      RETURN_IF_ERROR(check_expr(n->input.get(), soft));
      return check_args(n->args, soft);
    }
    case ExprKind::kUnary:
      return check_expr(static_cast<const UnaryExpr*>(e)->operand.get(), soft);
    case ExprKind::kBinary: {
      const auto* n = static_cast<const BinaryExpr*>(e);
      RETURN_IF_ERROR(check_expr(n->left.get(), soft));
      return check_expr(n->right.get(), soft);
    }
    case ExprKind::kCompare: {
      const auto* n = static_cast<const CompareExpr*>(e);
      RETURN_IF_ERROR(check_expr(n->first.get(), soft));
      for (const auto& [unused, operand] : n->rest) RETURN_IF_ERROR(check_expr(operand.get(), soft));
      return Status::Ok();
    }
    case ExprKind::kAnd:
    case ExprKind::kOr:
    case ExprKind::kNot: {
      const auto* n = static_cast<const LogicalExpr*>(e);
      RETURN_IF_ERROR(check_expr(n->left.get(), soft));
      return check_expr(n->right.get(), soft);
    }
    case ExprKind::kCondition: {
      const auto* n = static_cast<const ConditionExpr*>(e);
      for (const Expr* part : {n->test.get(), n->if_true.get(), n->if_false.get()}) {
        RETURN_IF_ERROR(check_expr(part, /*soft=*/true));
      }
      return Status::Ok();
    }
  }
  return Status::Ok();
}

Status check_filters(const std::vector<std::unique_ptr<FilterExpr>>& filters, bool soft) {
  for (const auto& f : filters) RETURN_IF_ERROR(check_filter(*f, soft));
  return Status::Ok();
}

Status check_node(const Node& node, bool soft) {
  switch (node.kind) {
    case NodeKind::kText:
    case NodeKind::kBreak:
    case NodeKind::kContinue:
      return Status::Ok();
    case NodeKind::kOutput:
      return check_expr(static_cast<const OutputNode&>(node).expr.get(), soft);
    case NodeKind::kIf: {
      const auto& n = static_cast<const IfNode&>(node);
      for (const auto& [test, body] : n.branches) {
        RETURN_IF_ERROR(check_expr(test.get(), true));
        RETURN_IF_ERROR(check_body(body, true));
      }
      return check_body(n.else_body, true);
    }
    case NodeKind::kFor: {
      const auto& n = static_cast<const ForNode&>(node);
      RETURN_IF_ERROR(check_expr(n.iter.get(), soft));
      RETURN_IF_ERROR(check_expr(n.filter.get(), false));
      RETURN_IF_ERROR(check_body(n.body, false));
      return check_body(n.else_body, soft);
    }
    case NodeKind::kSet:
      return check_expr(static_cast<const SetNode&>(node).value.get(), soft);
    case NodeKind::kSetBlock: {
      const auto& n = static_cast<const SetBlockNode&>(node);
      RETURN_IF_ERROR(check_filters(n.filters, false));
      return check_body(n.body, false);
    }
    case NodeKind::kMacro: {
      const auto& n = static_cast<const MacroNode&>(node);
      for (const ExprPtr& d : n.defaults) RETURN_IF_ERROR(check_expr(d.get(), false));
      return check_body(n.body, false);
    }
    case NodeKind::kFilterBlock: {
      const auto& n = static_cast<const FilterBlockNode&>(node);
      RETURN_IF_ERROR(check_filters(n.filters, false));
      return check_body(n.body, false);
    }
    case NodeKind::kWith: {
      const auto& n = static_cast<const WithNode&>(node);
      for (const auto& [unused, value] : n.assignments) RETURN_IF_ERROR(check_expr(value.get(), soft));
      return check_body(n.body, false);
    }
    case NodeKind::kScope:
      return check_body(static_cast<const ScopeNode&>(node).body, false);
  }
  return Status::Ok();
}

Status check_body(const Body& body, bool soft) {
  for (const NodePtr& node : body) RETURN_IF_ERROR(check_node(*node, soft));
  return Status::Ok();
}

}  // namespace

Status check_names(const TemplateAst& ast) { return check_body(ast.body, false); }

}  // namespace tandem::text::jinja
