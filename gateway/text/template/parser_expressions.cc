// Expression half of the parser. Precedence climbing mirrors jinja2/parser.py so expressions
// like `messages|length - 1`, `not x is defined` and `-2 ** 2` mean what they mean in Jinja.
#include <fmt/format.h>

#include "gateway/text/template/parser.h"

namespace tandem::text::jinja {
namespace {

template <typename F>
struct ScopeExit {
  F fn;
  ~ScopeExit() { fn(); }
};
template <typename F>
ScopeExit(F) -> ScopeExit<F>;

ExprPtr binary(BinaryOp op, ExprPtr l, ExprPtr r) {
  SourcePos pos = l->pos;
  return std::make_unique<BinaryExpr>(pos, op, std::move(l), std::move(r));
}

}  // namespace

StatusOr<ExprPtr> Parser::parse_tuple(bool with_condexpr, bool explicit_parens,
                                      std::string_view extra_end_name) {
  SourcePos pos = cur().pos;
  std::vector<ExprPtr> items;
  bool is_tuple = false;
  auto at_end = [&] {
    const Token& t = cur();
    if (t.type == TokenType::kVariableEnd || t.type == TokenType::kBlockEnd || t.type == TokenType::kEof) return true;
    if (t.type == TokenType::kOperator && t.text == ")") return true;
    return !extra_end_name.empty() && t.type == TokenType::kName && t.text == extra_end_name;
  };
  while (true) {
    if (!items.empty()) RETURN_IF_ERROR(expect_op(","));
    if (at_end()) break;
    ASSIGN_OR_RETURN(ExprPtr item, parse_expression(with_condexpr));
    items.push_back(std::move(item));
    if (!at_op(",")) break;
    is_tuple = true;
  }
  if (!is_tuple) {
    if (!items.empty()) return std::move(items[0]);
    if (!explicit_parens) return error_here("expected an expression, got " + describe(cur()));
  }
  auto tuple = std::make_unique<ListExpr>(pos, /*tuple=*/true);
  tuple->items = std::move(items);
  return ExprPtr(std::move(tuple));
}

StatusOr<ExprPtr> Parser::parse_expression(bool with_condexpr) {
  RETURN_IF_ERROR(enter());
  ScopeExit guard{[this] { leave(); }};
  return with_condexpr ? parse_condexpr() : parse_or();
}

StatusOr<ExprPtr> Parser::parse_condexpr() {
  ASSIGN_OR_RETURN(ExprPtr expr, parse_or());
  while (at_name("if")) {
    SourcePos pos = cur().pos;
    advance();
    ASSIGN_OR_RETURN(ExprPtr test, parse_or());
    ExprPtr otherwise;
    if (at_name("else")) {
      advance();
      RETURN_IF_ERROR(enter());
      ScopeExit guard{[this] { leave(); }};
      ASSIGN_OR_RETURN(otherwise, parse_condexpr());
    }
    expr = std::make_unique<ConditionExpr>(pos, std::move(test), std::move(expr), std::move(otherwise));
  }
  return expr;
}

StatusOr<ExprPtr> Parser::parse_or() {
  ASSIGN_OR_RETURN(ExprPtr left, parse_and());
  while (at_name("or")) {
    SourcePos pos = cur().pos;
    advance();
    ASSIGN_OR_RETURN(ExprPtr right, parse_and());
    left = std::make_unique<LogicalExpr>(ExprKind::kOr, pos, std::move(left), std::move(right));
  }
  return left;
}

StatusOr<ExprPtr> Parser::parse_and() {
  ASSIGN_OR_RETURN(ExprPtr left, parse_not());
  while (at_name("and")) {
    SourcePos pos = cur().pos;
    advance();
    ASSIGN_OR_RETURN(ExprPtr right, parse_not());
    left = std::make_unique<LogicalExpr>(ExprKind::kAnd, pos, std::move(left), std::move(right));
  }
  return left;
}

StatusOr<ExprPtr> Parser::parse_not() {
  if (!at_name("not")) return parse_compare();
  SourcePos pos = cur().pos;
  advance();
  RETURN_IF_ERROR(enter());
  ScopeExit guard{[this] { leave(); }};
  ASSIGN_OR_RETURN(ExprPtr operand, parse_not());
  return ExprPtr(std::make_unique<LogicalExpr>(ExprKind::kNot, pos, std::move(operand), nullptr));
}

StatusOr<ExprPtr> Parser::parse_compare() {
  ASSIGN_OR_RETURN(ExprPtr first, parse_math1());
  std::unique_ptr<CompareExpr> cmp;
  while (true) {
    CompareOp op;
    const Token& t = cur();
    if (t.type == TokenType::kOperator && t.text == "==") op = CompareOp::kEq;
    else if (t.type == TokenType::kOperator && t.text == "!=") op = CompareOp::kNe;
    else if (t.type == TokenType::kOperator && t.text == "<") op = CompareOp::kLt;
    else if (t.type == TokenType::kOperator && t.text == "<=") op = CompareOp::kLe;
    else if (t.type == TokenType::kOperator && t.text == ">") op = CompareOp::kGt;
    else if (t.type == TokenType::kOperator && t.text == ">=") op = CompareOp::kGe;
    else if (at_name("in")) op = CompareOp::kIn;
    else if (at_name("not") && peek().type == TokenType::kName && peek().text == "in") op = CompareOp::kNotIn;
    else break;
    advance();
    if (op == CompareOp::kNotIn) advance();
    if (!cmp) {
      SourcePos pos = first->pos;
      cmp = std::make_unique<CompareExpr>(pos, std::move(first));
    }
    ASSIGN_OR_RETURN(ExprPtr operand, parse_math1());
    cmp->rest.emplace_back(op, std::move(operand));
  }
  if (cmp) return ExprPtr(std::move(cmp));
  return first;
}

StatusOr<ExprPtr> Parser::parse_math1() {
  ASSIGN_OR_RETURN(ExprPtr left, parse_concat());
  while (at_op("+") || at_op("-")) {
    BinaryOp op = cur().text == "+" ? BinaryOp::kAdd : BinaryOp::kSub;
    advance();
    ASSIGN_OR_RETURN(ExprPtr right, parse_concat());
    left = binary(op, std::move(left), std::move(right));
  }
  return left;
}

StatusOr<ExprPtr> Parser::parse_concat() {
  ASSIGN_OR_RETURN(ExprPtr left, parse_math2());
  while (at_op("~")) {
    advance();
    ASSIGN_OR_RETURN(ExprPtr right, parse_math2());
    left = binary(BinaryOp::kConcat, std::move(left), std::move(right));
  }
  return left;
}

StatusOr<ExprPtr> Parser::parse_math2() {
  ASSIGN_OR_RETURN(ExprPtr left, parse_pow());
  while (at_op("*") || at_op("/") || at_op("//") || at_op("%")) {
    const std::string& t = cur().text;
    BinaryOp op = t == "*" ? BinaryOp::kMul : t == "/" ? BinaryOp::kDiv : t == "//" ? BinaryOp::kFloorDiv : BinaryOp::kMod;
    advance();
    ASSIGN_OR_RETURN(ExprPtr right, parse_pow());
    left = binary(op, std::move(left), std::move(right));
  }
  return left;
}

StatusOr<ExprPtr> Parser::parse_pow() {
  ASSIGN_OR_RETURN(ExprPtr left, parse_unary(true));
  while (at_op("**")) {
    advance();
    ASSIGN_OR_RETURN(ExprPtr right, parse_unary(true));
    left = binary(BinaryOp::kPow, std::move(left), std::move(right));
  }
  return left;
}

StatusOr<ExprPtr> Parser::parse_unary(bool with_filter) {
  RETURN_IF_ERROR(enter());
  ScopeExit guard{[this] { leave(); }};
  ExprPtr node;
  if (at_op("-") || at_op("+")) {
    SourcePos pos = cur().pos;
    char op = cur().text[0];
    advance();
    ASSIGN_OR_RETURN(ExprPtr operand, parse_unary(false));
    node = std::make_unique<UnaryExpr>(pos, op, std::move(operand));
  } else {
    ASSIGN_OR_RETURN(node, parse_primary());
  }
  ASSIGN_OR_RETURN(node, parse_postfix(std::move(node)));
  if (with_filter) {
    ASSIGN_OR_RETURN(node, parse_filter_expr(std::move(node)));
  }
  return node;
}

StatusOr<ExprPtr> Parser::parse_primary() {
  const Token& t = cur();
  SourcePos pos = t.pos;
  switch (t.type) {
    case TokenType::kName: {
      std::string name = t.text;
      advance();
      if (name == "true" || name == "True") return ExprPtr(std::make_unique<LiteralExpr>(pos, Value::boolean(true)));
      if (name == "false" || name == "False") return ExprPtr(std::make_unique<LiteralExpr>(pos, Value::boolean(false)));
      if (name == "none" || name == "None") return ExprPtr(std::make_unique<LiteralExpr>(pos, Value::none()));
      return ExprPtr(std::make_unique<NameExpr>(pos, std::move(name)));
    }
    case TokenType::kString: {
      std::string s;
      while (cur().type == TokenType::kString) {  // adjacent literals concatenate
        s += cur().text;
        advance();
      }
      return ExprPtr(std::make_unique<LiteralExpr>(pos, Value::string(std::move(s))));
    }
    case TokenType::kInteger: {
      int64_t v = t.int_value;
      advance();
      return ExprPtr(std::make_unique<LiteralExpr>(pos, Value::integer(v)));
    }
    case TokenType::kFloat: {
      double v = t.float_value;
      advance();
      return ExprPtr(std::make_unique<LiteralExpr>(pos, Value::number(v)));
    }
    case TokenType::kOperator:
      if (t.text == "(") {
        advance();
        ASSIGN_OR_RETURN(ExprPtr inner, parse_tuple(/*with_condexpr=*/true, /*explicit_parens=*/true));
        RETURN_IF_ERROR(expect_op(")"));
        return inner;
      }
      if (t.text == "[") return parse_list();
      if (t.text == "{") return parse_dict();
      break;
    default:
      break;
  }
  return error_here("unexpected " + describe(t));
}

StatusOr<ExprPtr> Parser::parse_list() {
  auto list = std::make_unique<ListExpr>(cur().pos, /*tuple=*/false);
  advance();  // '['
  while (!at_op("]")) {
    if (!list->items.empty()) RETURN_IF_ERROR(expect_op(","));
    if (at_op("]")) break;
    ASSIGN_OR_RETURN(ExprPtr item, parse_expression());
    list->items.push_back(std::move(item));
  }
  advance();  // ']'
  return ExprPtr(std::move(list));
}

StatusOr<ExprPtr> Parser::parse_dict() {
  auto dict = std::make_unique<DictExpr>(cur().pos);
  advance();  // '{'
  while (!at_op("}")) {
    if (!dict->items.empty()) RETURN_IF_ERROR(expect_op(","));
    if (at_op("}")) break;
    ASSIGN_OR_RETURN(ExprPtr key, parse_expression());
    RETURN_IF_ERROR(expect_op(":"));
    ASSIGN_OR_RETURN(ExprPtr value, parse_expression());
    dict->items.emplace_back(std::move(key), std::move(value));
  }
  advance();  // '}'
  return ExprPtr(std::move(dict));
}

StatusOr<ExprPtr> Parser::parse_postfix(ExprPtr node) {
  while (true) {
    if (at_op(".") || at_op("[")) {
      ASSIGN_OR_RETURN(node, parse_subscript(std::move(node)));
    } else if (at_op("(")) {
      ASSIGN_OR_RETURN(node, parse_call(std::move(node)));
    } else {
      return node;
    }
  }
}

StatusOr<ExprPtr> Parser::parse_filter_expr(ExprPtr node) {
  while (true) {
    if (at_op("|")) {
      ASSIGN_OR_RETURN(node, parse_filter_chain(std::move(node), false));
    } else if (at_name("is")) {
      ASSIGN_OR_RETURN(node, parse_test(std::move(node)));
    } else if (at_op("(")) {
      ASSIGN_OR_RETURN(node, parse_call(std::move(node)));
    } else {
      return node;
    }
  }
}

StatusOr<ExprPtr> Parser::parse_subscript(ExprPtr node) {
  SourcePos pos = cur().pos;
  if (at_op(".")) {
    advance();
    const Token& t = cur();
    if (t.type == TokenType::kName) {
      std::string attr = t.text;
      advance();
      return ExprPtr(std::make_unique<GetAttrExpr>(pos, std::move(node), std::move(attr)));
    }
    if (t.type == TokenType::kInteger) {
      auto index = std::make_unique<LiteralExpr>(t.pos, Value::integer(t.int_value));
      advance();
      return ExprPtr(std::make_unique<GetItemExpr>(pos, std::move(node), std::move(index)));
    }
    return error_here("expected an attribute name or number after '.', got " + describe(t));
  }
  advance();  // '['
  // Forms: [e], [a:b], [a:b:c], with any part omitted.
  ExprPtr parts[3];
  int colons = 0;
  while (!at_op("]")) {
    if (at_op(":")) {
      if (++colons > 2) return error_here("too many ':' in subscript");
      advance();
      continue;
    }
    if (at_op(",")) return error_here("tuple subscripts are not supported");
    if (parts[colons]) return error_here("expected ':' or ']', got " + describe(cur()));
    ASSIGN_OR_RETURN(parts[colons], parse_expression());
  }
  advance();  // ']'
  if (colons == 0) {
    if (!parts[0]) return syntax_error(pos, "empty subscript '[]'");
    return ExprPtr(std::make_unique<GetItemExpr>(pos, std::move(node), std::move(parts[0])));
  }
  auto slice = std::make_unique<SliceExpr>(pos, std::move(node));
  slice->start = std::move(parts[0]);
  slice->stop = std::move(parts[1]);
  slice->step = std::move(parts[2]);
  return ExprPtr(std::move(slice));
}

StatusOr<ExprPtr> Parser::parse_call(ExprPtr node) {
  SourcePos pos = node->pos;  // errors point at the function, not at the parenthesis
  auto call = std::make_unique<CallExpr>(pos, std::move(node));
  RETURN_IF_ERROR(parse_call_args(&call->args));
  return ExprPtr(std::move(call));
}

Status Parser::parse_call_args(CallArgExprs* args) {
  RETURN_IF_ERROR(expect_op("("));
  bool first = true;
  while (!at_op(")")) {
    if (!first) {
      RETURN_IF_ERROR(expect_op(","));
      if (at_op(")")) break;
    }
    first = false;
    if (at_op("*") || at_op("**")) return error_here("*args and **kwargs in calls are not supported");
    if (cur().type == TokenType::kName && peek().type == TokenType::kOperator && peek().text == "=") {
      std::string key = cur().text;
      advance();
      advance();
      ASSIGN_OR_RETURN(ExprPtr value, parse_expression());
      args->keyword.emplace_back(std::move(key), std::move(value));
    } else {
      if (!args->keyword.empty()) return error_here("positional argument follows keyword argument");
      ASSIGN_OR_RETURN(ExprPtr value, parse_expression());
      args->positional.push_back(std::move(value));
    }
  }
  advance();  // ')'
  return Status::Ok();
}

StatusOr<std::unique_ptr<FilterExpr>> Parser::parse_one_filter(ExprPtr input) {
  SourcePos pos = cur().pos;
  ASSIGN_OR_RETURN(std::string name, expect_name());
  while (at_op(".")) {
    advance();
    ASSIGN_OR_RETURN(std::string part, expect_name());
    name += "." + part;
  }
  auto filter = std::make_unique<FilterExpr>(pos, std::move(input), std::move(name));
  if (at_op("(")) RETURN_IF_ERROR(parse_call_args(&filter->args));
  return filter;
}

StatusOr<ExprPtr> Parser::parse_filter_chain(ExprPtr input, bool start_inline) {
  while (at_op("|") || start_inline) {
    if (!start_inline) advance();
    start_inline = false;
    ASSIGN_OR_RETURN(auto filter, parse_one_filter(std::move(input)));
    input = std::move(filter);
  }
  return input;
}

StatusOr<ExprPtr> Parser::parse_test(ExprPtr node) {
  SourcePos pos = cur().pos;
  advance();  // 'is'
  bool negated = false;
  if (at_name("not")) {
    negated = true;
    advance();
  }
  ASSIGN_OR_RETURN(std::string name, expect_name());
  while (at_op(".")) {
    advance();
    ASSIGN_OR_RETURN(std::string part, expect_name());
    name += "." + part;
  }
  auto test = std::make_unique<TestExpr>(pos, std::move(node), std::move(name), negated);
  const Token& t = cur();
  bool arg_start = t.type == TokenType::kName || t.type == TokenType::kString ||
                   t.type == TokenType::kInteger || t.type == TokenType::kFloat ||
                   (t.type == TokenType::kOperator && (t.text == "[" || t.text == "{"));
  if (at_op("(")) {
    RETURN_IF_ERROR(parse_call_args(&test->args));
  } else if (arg_start && !at_name("else") && !at_name("or") && !at_name("and")) {
    // `x is divisibleby 3`, `x is sameas false`: one argument without parentheses.
    if (at_name("is")) return error_here("tests cannot be chained with 'is'");
    ASSIGN_OR_RETURN(ExprPtr arg, parse_primary());
    ASSIGN_OR_RETURN(arg, parse_postfix(std::move(arg)));
    test->args.positional.push_back(std::move(arg));
  }
  return ExprPtr(std::move(test));
}

}  // namespace tandem::text::jinja
