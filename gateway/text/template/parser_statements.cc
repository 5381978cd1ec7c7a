// Statement half of the parser: template structure, tags and their bodies.
#include <algorithm>

#include <fmt/format.h>

#include "gateway/text/template/parser.h"

namespace tandem::text::jinja {
namespace {

std::string join_tags(const std::vector<std::string_view>& tags) {
  std::string out;
  for (size_t i = 0; i < tags.size(); ++i) {
    if (i) out += i + 1 == tags.size() ? " or " : ", ";
    out += fmt::format("'{{% {} %}}'", tags[i]);
  }
  return out;
}

}  // namespace

StatusOr<TemplateAst> parse_template(std::vector<Token> tokens) {
  return Parser(std::move(tokens)).parse();
}

StatusOr<TemplateAst> Parser::parse() {
  TemplateAst ast;
  RETURN_IF_ERROR(parse_body(&ast.body, {}));
  RETURN_IF_ERROR(check_names(ast));
  return ast;
}

const Token& Parser::peek(size_t k) const {
  return tokens_[std::min(pos_ + k, tokens_.size() - 1)];
}

bool Parser::at_op(std::string_view op) const {
  return cur().type == TokenType::kOperator && cur().text == op;
}

bool Parser::at_name(std::string_view name) const {
  return cur().type == TokenType::kName && cur().text == name;
}

std::string Parser::describe(const Token& t) const {
  switch (t.type) {
    case TokenType::kEof: return "end of template";
    case TokenType::kText: return "template text";
    case TokenType::kVariableBegin: return "'{{'";
    case TokenType::kVariableEnd: return "'}}'";
    case TokenType::kBlockBegin: return "'{%'";
    case TokenType::kBlockEnd: return "'%}'";
    case TokenType::kString: return "string literal";
    default: return "'" + t.text + "'";
  }
}

Status Parser::error_here(std::string message) const { return syntax_error(cur().pos, std::move(message)); }

Status Parser::expect_op(std::string_view op) {
  if (!at_op(op)) return error_here(fmt::format("expected '{}', got {}", op, describe(cur())));
  advance();
  return Status::Ok();
}

Status Parser::expect(TokenType type, std::string_view what) {
  if (cur().type != type) return error_here(fmt::format("expected {}, got {}", what, describe(cur())));
  advance();
  return Status::Ok();
}

StatusOr<std::string> Parser::expect_name() {
  if (cur().type != TokenType::kName) return error_here("expected a name, got " + describe(cur()));
  std::string name = cur().text;
  advance();
  return name;
}

Status Parser::enter() {
  if (++depth_ > kMaxNesting) {
    --depth_;
    return error_here(fmt::format("template nests deeper than {} levels", kMaxNesting));
  }
  return Status::Ok();
}

Status Parser::parse_body(Body* out, const std::vector<std::string_view>& end_tags) {
  RETURN_IF_ERROR(enter());
  while (true) {
    const Token& t = cur();
    if (t.type == TokenType::kEof) {
      leave();
      if (end_tags.empty()) return Status::Ok();
      const OpenBlock& open = open_blocks_.back();
      return syntax_error(t.pos, fmt::format("unexpected end of template: '{{% {} %}}' opened at line {}, "
                                             "column {} needs {}",
                                             open.tag, open.pos.line, open.pos.column,
                                             join_tags(open.end_tags)));
    }
    if (t.type == TokenType::kText) {
      out->push_back(std::make_unique<TextNode>(t.pos, t.text));
      advance();
    } else if (t.type == TokenType::kVariableBegin) {
      SourcePos pos = t.pos;
      advance();
      ASSIGN_OR_RETURN(ExprPtr expr, parse_tuple(/*with_condexpr=*/true, false));
      RETURN_IF_ERROR(expect(TokenType::kVariableEnd, "'}}'"));
      out->push_back(std::make_unique<OutputNode>(pos, std::move(expr)));
    } else if (t.type == TokenType::kBlockBegin) {
      advance();
      if (cur().type == TokenType::kName &&
          std::find(end_tags.begin(), end_tags.end(), cur().text) != end_tags.end()) {
        leave();
        return Status::Ok();
      }
      RETURN_IF_ERROR(parse_statement(out));
      RETURN_IF_ERROR(expect(TokenType::kBlockEnd, "'%}'"));
    } else {
      return error_here("unexpected " + describe(t));
    }
  }
}

Status Parser::parse_block_body(Body* out, std::string tag, SourcePos pos,
                                std::vector<std::string_view> end_tags) {
  RETURN_IF_ERROR(expect(TokenType::kBlockEnd, "'%}'"));
  open_blocks_.push_back(OpenBlock{std::move(tag), pos, end_tags});
  Status st = parse_body(out, end_tags);
  open_blocks_.pop_back();
  return st;
}

Status Parser::unknown_tag_error(const Token& name) const {
  if (!open_blocks_.empty()) {
    const OpenBlock& open = open_blocks_.back();
    if (name.text.rfind("end", 0) == 0 || name.text == "else" || name.text == "elif") {
      return syntax_error(name.pos, fmt::format("unexpected '{{% {} %}}': the innermost open block is "
                                                "'{{% {} %}}' (line {}, column {}), which needs {}",
                                                name.text, open.tag, open.pos.line, open.pos.column,
                                                join_tags(open.end_tags)));
    }
  }
  static constexpr std::string_view kUnsupported[] = {"block", "extends", "include", "import",
                                                      "from", "call", "autoescape", "do"};
  for (std::string_view u : kUnsupported) {
    if (name.text == u) {
      return syntax_error(name.pos, fmt::format("tag '{}' is not supported in chat templates", u));
    }
  }
  return syntax_error(name.pos, fmt::format("unknown tag '{}'", name.text));
}

Status Parser::parse_statement(Body* out) {
  if (cur().type != TokenType::kName) return error_here("expected a tag name, got " + describe(cur()));
  RETURN_IF_ERROR(enter());
  Token name = cur();
  SourcePos pos = name.pos;
  advance();
  Status st;
  const std::string& tag = name.text;
  if (tag == "if") {
    st = parse_if(out, pos);
  } else if (tag == "for") {
    st = parse_for(out, pos);
  } else if (tag == "set") {
    st = parse_set(out, pos);
  } else if (tag == "macro") {
    st = parse_macro(out, pos);
  } else if (tag == "filter") {
    st = parse_filter_block(out, pos);
  } else if (tag == "with") {
    st = parse_with(out, pos);
  } else if (tag == "print") {
    st = parse_print(out, pos);
  } else if (tag == "break" || tag == "continue") {
    if (loop_depth_ == 0) {
      st = syntax_error(pos, fmt::format("'{{% {} %}}' outside of a for loop", tag));
    } else {
      out->push_back(std::make_unique<Node>(tag == "break" ? NodeKind::kBreak : NodeKind::kContinue, pos));
    }
  } else if (tag == "generation") {
    auto node = std::make_unique<ScopeNode>(pos);
    st = parse_block_body(&node->body, "generation", pos, {"endgeneration"});
    if (st.ok()) advance();
    out->push_back(std::move(node));
  } else {
    st = unknown_tag_error(name);
  }
  leave();
  return st;
}

Status Parser::parse_if(Body* out, SourcePos pos) {
  auto node = std::make_unique<IfNode>(pos);
  while (true) {
    ASSIGN_OR_RETURN(ExprPtr test, parse_tuple(/*with_condexpr=*/false, false));
    Body body;
    RETURN_IF_ERROR(parse_block_body(&body, "if", pos, {"elif", "else", "endif"}));
    node->branches.emplace_back(std::move(test), std::move(body));
    std::string next = cur().text;
    advance();
    if (next == "elif") continue;
    if (next == "else") {
      RETURN_IF_ERROR(parse_block_body(&node->else_body, "else", pos, {"endif"}));
      advance();
    }
    break;
  }
  out->push_back(std::move(node));
  return Status::Ok();
}

Status Parser::parse_for(Body* out, SourcePos pos) {
  auto node = std::make_unique<ForNode>(pos);
  ASSIGN_OR_RETURN(node->target, parse_assign_target(/*allow_tuple=*/true, false));
  if (!at_name("in")) return error_here("expected 'in' in for loop, got " + describe(cur()));
  advance();
  ASSIGN_OR_RETURN(node->iter, parse_tuple(/*with_condexpr=*/false, false, "recursive"));
  if (at_name("if")) {
    advance();
    ASSIGN_OR_RETURN(node->filter, parse_expression());
  }
  if (at_name("recursive")) return error_here("recursive for loops are not supported");
  ++loop_depth_;
  Status st = parse_block_body(&node->body, "for", pos, {"endfor", "else"});
  --loop_depth_;
  RETURN_IF_ERROR(st);
  bool has_else = cur().text == "else";
  advance();
  if (has_else) {
    RETURN_IF_ERROR(parse_block_body(&node->else_body, "else", pos, {"endfor"}));
    advance();
  }
  out->push_back(std::move(node));
  return Status::Ok();
}

StatusOr<AssignTarget> Parser::parse_assign_target(bool allow_tuple, bool allow_namespace) {
  AssignTarget target;
  target.pos = cur().pos;
  if (allow_namespace && cur().type == TokenType::kName && peek().type == TokenType::kOperator &&
      peek().text == ".") {
    target.kind = AssignTarget::Kind::kNamespaceAttr;
    ASSIGN_OR_RETURN(target.name, expect_name());
    advance();  // '.'
    ASSIGN_OR_RETURN(target.attr, expect_name());
    return target;
  }
  bool parens = allow_tuple && at_op("(");
  if (parens) advance();
  std::vector<std::string> names;
  bool saw_comma = false;
  while (true) {
    if (cur().type != TokenType::kName) return error_here("can't assign to " + describe(cur()));
    static constexpr std::string_view kConstants[] = {"true", "false", "none", "True", "False", "None"};
    for (std::string_view k : kConstants) {
      if (cur().text == k) return error_here("can't assign to constant '" + cur().text + "'");
    }
    names.push_back(cur().text);
    advance();
    if (!allow_tuple || !at_op(",")) break;
    saw_comma = true;
    advance();
    if (parens && at_op(")")) break;
    if (!parens && cur().type != TokenType::kName) break;  // trailing comma: `for a, in x`
  }
  if (parens) RETURN_IF_ERROR(expect_op(")"));
  if (saw_comma || parens) {
    target.kind = AssignTarget::Kind::kTuple;
    target.names = std::move(names);
  } else {
    target.name = std::move(names[0]);
  }
  return target;
}

Status Parser::parse_set(Body* out, SourcePos pos) {
  ASSIGN_OR_RETURN(AssignTarget target, parse_assign_target(/*allow_tuple=*/true, /*allow_namespace=*/true));
  if (at_op("=")) {
    advance();
    auto node = std::make_unique<SetNode>(pos);
    node->target = std::move(target);
    ASSIGN_OR_RETURN(node->value, parse_tuple(/*with_condexpr=*/true, false));
    out->push_back(std::move(node));
    return Status::Ok();
  }
  auto node = std::make_unique<SetBlockNode>(pos);
  node->target = std::move(target);
  while (at_op("|")) {
    advance();
    ASSIGN_OR_RETURN(auto filter, parse_one_filter(nullptr));
    node->filters.push_back(std::move(filter));
  }
  RETURN_IF_ERROR(parse_block_body(&node->body, "set", pos, {"endset"}));
  advance();
  out->push_back(std::move(node));
  return Status::Ok();
}

Status Parser::parse_macro(Body* out, SourcePos pos) {
  auto node = std::make_unique<MacroNode>(pos);
  ASSIGN_OR_RETURN(node->name, expect_name());
  RETURN_IF_ERROR(expect_op("("));
  bool seen_default = false;
  while (!at_op(")")) {
    if (!node->params.empty()) RETURN_IF_ERROR(expect_op(","));
    if (at_op(")")) break;
    ASSIGN_OR_RETURN(std::string param, expect_name());
    ExprPtr def;
    if (at_op("=")) {
      advance();
      ASSIGN_OR_RETURN(def, parse_expression());
      seen_default = true;
    } else if (seen_default) {
      return error_here(fmt::format("macro '{}': parameter '{}' without a default follows one with a default",
                                    node->name, param));
    }
    node->params.push_back(std::move(param));
    node->defaults.push_back(std::move(def));
  }
  advance();  // ')'
  int saved_loop_depth = loop_depth_;
  loop_depth_ = 0;  // a macro body is not inside the caller's loop
  Status st = parse_block_body(&node->body, "macro", pos, {"endmacro"});
  loop_depth_ = saved_loop_depth;
  RETURN_IF_ERROR(st);
  advance();
  out->push_back(std::move(node));
  return Status::Ok();
}

Status Parser::parse_filter_block(Body* out, SourcePos pos) {
  auto node = std::make_unique<FilterBlockNode>(pos);
  while (true) {
    ASSIGN_OR_RETURN(auto filter, parse_one_filter(nullptr));
    node->filters.push_back(std::move(filter));
    if (!at_op("|")) break;
    advance();
  }
  RETURN_IF_ERROR(parse_block_body(&node->body, "filter", pos, {"endfilter"}));
  advance();
  out->push_back(std::move(node));
  return Status::Ok();
}

Status Parser::parse_with(Body* out, SourcePos pos) {
  auto node = std::make_unique<WithNode>(pos);
  while (cur().type != TokenType::kBlockEnd) {
    if (!node->assignments.empty()) RETURN_IF_ERROR(expect_op(","));
    ASSIGN_OR_RETURN(AssignTarget target, parse_assign_target(/*allow_tuple=*/false, false));
    RETURN_IF_ERROR(expect_op("="));
    ASSIGN_OR_RETURN(ExprPtr value, parse_expression());
    node->assignments.emplace_back(std::move(target), std::move(value));
  }
  RETURN_IF_ERROR(parse_block_body(&node->body, "with", pos, {"endwith"}));
  advance();
  out->push_back(std::move(node));
  return Status::Ok();
}

Status Parser::parse_print(Body* out, SourcePos pos) {
  bool first = true;
  while (cur().type != TokenType::kBlockEnd) {
    if (!first) RETURN_IF_ERROR(expect_op(","));
    first = false;
    ASSIGN_OR_RETURN(ExprPtr expr, parse_expression());
    out->push_back(std::make_unique<OutputNode>(pos, std::move(expr)));
  }
  return Status::Ok();
}

}  // namespace tandem::text::jinja
