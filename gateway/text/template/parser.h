// Stage 2 of the template interpreter: tokens -> syntax tree (ast.h).
//
// Recursive descent with Jinja2's grammar and operator precedence (lowest first):
//   a if b else c  <  or  <  and  <  not  <  comparisons (== != < <= > >= in, not in)
//   <  + -  <  ~  <  * / // %  <  **  <  unary - +  <  primary with .attr [i] (call) | filter, is test
// Statements: if/elif/else, for (tuple targets, `if` filter, else), set (`ns.x = ...`, block set),
// macro, filter blocks, with, print, break/continue (Jinja's loopcontrols, which HF enables),
// generation (HF's assistant-mask extension; rendered as its body), raw (handled by the lexer).
// Unknown filters and tests are rejected afterwards by check_names(), with Jinja's rules.
// Nesting is capped so a hostile template cannot exhaust the stack while parsing.
//
// Thread model: a Parser is used once, by one thread.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"
#include "gateway/text/template/ast.h"
#include "gateway/text/template/lexer.h"

namespace tandem::text::jinja {

StatusOr<TemplateAst> parse_template(std::vector<Token> tokens);

// Jinja's compile-time check of filter and test names: an unknown name is a syntax error unless
// it sits inside an `if` (or `a if b else c`) in the same scope, where Jinja defers the error to
// the moment the branch runs (templates use this to guard optional filters). Run by parse().
Status check_names(const TemplateAst& ast);

class Parser {
 public:
  explicit Parser(std::vector<Token> tokens) : tokens_(std::move(tokens)) {}
  StatusOr<TemplateAst> parse();

  // Deep enough for any real template (they nest a few levels), small enough to bound the stack.
  static constexpr int kMaxNesting = 128;

 private:
  struct OpenBlock {
    std::string tag;
    SourcePos pos;
    std::vector<std::string_view> end_tags;
  };

  // ---- statements (parser_statements.cc)
  // Parses nodes until EOF (end_tags empty) or a `{%` followed by one of end_tags, which is left
  // as the current token.
  Status parse_body(Body* out, const std::vector<std::string_view>& end_tags);
  // After a statement's header: expects `%}`, parses the body up to one of end_tags.
  Status parse_block_body(Body* out, std::string tag, SourcePos pos,
                          std::vector<std::string_view> end_tags);
  Status parse_statement(Body* out);
  Status parse_if(Body* out, SourcePos pos);
  Status parse_for(Body* out, SourcePos pos);
  Status parse_set(Body* out, SourcePos pos);
  Status parse_macro(Body* out, SourcePos pos);
  Status parse_filter_block(Body* out, SourcePos pos);
  Status parse_with(Body* out, SourcePos pos);
  Status parse_print(Body* out, SourcePos pos);
  StatusOr<AssignTarget> parse_assign_target(bool allow_tuple, bool allow_namespace);
  Status unknown_tag_error(const Token& name) const;

  // ---- expressions (parser_expressions.cc)
  StatusOr<ExprPtr> parse_tuple(bool with_condexpr, bool explicit_parens,
                                std::string_view extra_end_name = {});
  StatusOr<ExprPtr> parse_expression(bool with_condexpr = true);
  StatusOr<ExprPtr> parse_condexpr();
  StatusOr<ExprPtr> parse_or();
  StatusOr<ExprPtr> parse_and();
  StatusOr<ExprPtr> parse_not();
  StatusOr<ExprPtr> parse_compare();
  StatusOr<ExprPtr> parse_math1();
  StatusOr<ExprPtr> parse_concat();
  StatusOr<ExprPtr> parse_math2();
  StatusOr<ExprPtr> parse_pow();
  StatusOr<ExprPtr> parse_unary(bool with_filter);
  StatusOr<ExprPtr> parse_primary();
  StatusOr<ExprPtr> parse_list();
  StatusOr<ExprPtr> parse_dict();
  StatusOr<ExprPtr> parse_postfix(ExprPtr node);
  StatusOr<ExprPtr> parse_filter_expr(ExprPtr node);
  StatusOr<ExprPtr> parse_subscript(ExprPtr node);
  StatusOr<ExprPtr> parse_call(ExprPtr node);
  Status parse_call_args(CallArgExprs* args);
  // `| name(args) | name2 ...`; with start_inline the first `|` is already consumed (filter
  // blocks). input may be null.
  StatusOr<std::unique_ptr<FilterExpr>> parse_one_filter(ExprPtr input);
  StatusOr<ExprPtr> parse_filter_chain(ExprPtr input, bool start_inline);
  StatusOr<ExprPtr> parse_test(ExprPtr node);

  // ---- tokens
  const Token& cur() const { return tokens_[pos_]; }
  const Token& peek(size_t k = 1) const;
  void advance() {
    if (pos_ + 1 < tokens_.size()) ++pos_;
  }
  bool at_op(std::string_view op) const;
  bool at_name(std::string_view name) const;
  Status expect_op(std::string_view op);
  Status expect(TokenType type, std::string_view what);
  StatusOr<std::string> expect_name();
  Status error_here(std::string message) const;
  std::string describe(const Token& t) const;

  // Depth accounting shared by statement and expression recursion.
  Status enter();
  void leave() { --depth_; }

  std::vector<Token> tokens_;
  size_t pos_ = 0;
  int depth_ = 0;
  int loop_depth_ = 0;
  std::vector<OpenBlock> open_blocks_;
};

}  // namespace tandem::text::jinja
