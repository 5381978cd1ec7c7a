// Stage 2 output: the syntax tree of a template. Expressions (Expr) compute Values; statements
// (Node) write output. Every node records where it starts in the source, so run-time errors can
// point at line and column. Nodes own their children; a tree is immutable once parsed and may be
// rendered by many threads at once.
#pragma once

#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "gateway/text/template/source_pos.h"
#include "gateway/text/template/value.h"

namespace tandem::text::jinja {

// ---------------------------------------------------------------- expressions

enum class ExprKind {
  kLiteral,
  kName,
  kList,  // list or tuple display
  kDict,
  kGetAttr,    // x.name
  kGetItem,    // x[i]
  kSlice,      // x[a:b:c]
  kCall,       // f(args)
  kFilter,     // x | f(args)
  kTest,       // x is [not] t(args)
  kUnary,      // -x, +x
  kBinary,     // + - * / // % ** ~
  kCompare,    // chained == != < <= > >= in, not in
  kAnd,
  kOr,
  kNot,
  kCondition,  // a if test else b
};

struct Expr {
  Expr(ExprKind k, SourcePos p) : kind(k), pos(p) {}
  virtual ~Expr() = default;
  ExprKind kind;
  SourcePos pos;
};
using ExprPtr = std::unique_ptr<Expr>;

struct CallArgExprs {
  std::vector<ExprPtr> positional;
  std::vector<std::pair<std::string, ExprPtr>> keyword;
};

struct LiteralExpr : Expr {
  LiteralExpr(SourcePos p, Value v) : Expr(ExprKind::kLiteral, p), value(std::move(v)) {}
  Value value;
};

struct NameExpr : Expr {
  NameExpr(SourcePos p, std::string n) : Expr(ExprKind::kName, p), name(std::move(n)) {}
  std::string name;
};

struct ListExpr : Expr {
  ListExpr(SourcePos p, bool t) : Expr(ExprKind::kList, p), tuple(t) {}
  std::vector<ExprPtr> items;
  bool tuple;
};

struct DictExpr : Expr {
  explicit DictExpr(SourcePos p) : Expr(ExprKind::kDict, p) {}
  std::vector<std::pair<ExprPtr, ExprPtr>> items;
};

struct GetAttrExpr : Expr {
  GetAttrExpr(SourcePos p, ExprPtr o, std::string a)
      : Expr(ExprKind::kGetAttr, p), object(std::move(o)), attr(std::move(a)) {}
  ExprPtr object;
  std::string attr;
};

struct GetItemExpr : Expr {
  GetItemExpr(SourcePos p, ExprPtr o, ExprPtr i)
      : Expr(ExprKind::kGetItem, p), object(std::move(o)), index(std::move(i)) {}
  ExprPtr object;
  ExprPtr index;
};

struct SliceExpr : Expr {
  SliceExpr(SourcePos p, ExprPtr o) : Expr(ExprKind::kSlice, p), object(std::move(o)) {}
  ExprPtr object;
  ExprPtr start, stop, step;  // each may be null
};

struct CallExpr : Expr {
  CallExpr(SourcePos p, ExprPtr c) : Expr(ExprKind::kCall, p), callee(std::move(c)) {}
  ExprPtr callee;
  CallArgExprs args;
};

// Also used by filter blocks and `{% set x | f %}`, where `input` is null and the filter applies
// to the rendered body.
struct FilterExpr : Expr {
  FilterExpr(SourcePos p, ExprPtr in, std::string n)
      : Expr(ExprKind::kFilter, p), input(std::move(in)), name(std::move(n)) {}
  ExprPtr input;
  std::string name;
  CallArgExprs args;
};

struct TestExpr : Expr {
  TestExpr(SourcePos p, ExprPtr in, std::string n, bool neg)
      : Expr(ExprKind::kTest, p), input(std::move(in)), name(std::move(n)), negated(neg) {}
  ExprPtr input;
  std::string name;
  CallArgExprs args;
  bool negated;
};

struct UnaryExpr : Expr {
  UnaryExpr(SourcePos p, char o, ExprPtr e) : Expr(ExprKind::kUnary, p), op(o), operand(std::move(e)) {}
  char op;  // '-' or '+'
  ExprPtr operand;
};

enum class BinaryOp { kAdd, kSub, kMul, kDiv, kFloorDiv, kMod, kPow, kConcat };

struct BinaryExpr : Expr {
  BinaryExpr(SourcePos p, BinaryOp o, ExprPtr l, ExprPtr r)
      : Expr(ExprKind::kBinary, p), op(o), left(std::move(l)), right(std::move(r)) {}
  BinaryOp op;
  ExprPtr left, right;
};

enum class CompareOp { kEq, kNe, kLt, kLe, kGt, kGe, kIn, kNotIn };

// Python chained comparison: a < b < c means (a < b) and (b < c).
struct CompareExpr : Expr {
  CompareExpr(SourcePos p, ExprPtr f) : Expr(ExprKind::kCompare, p), first(std::move(f)) {}
  ExprPtr first;
  std::vector<std::pair<CompareOp, ExprPtr>> rest;
};

// kAnd, kOr (both operands) and kNot (left only).
struct LogicalExpr : Expr {
  LogicalExpr(ExprKind k, SourcePos p, ExprPtr l, ExprPtr r)
      : Expr(k, p), left(std::move(l)), right(std::move(r)) {}
  ExprPtr left, right;
};

struct ConditionExpr : Expr {
  ConditionExpr(SourcePos p, ExprPtr t, ExprPtr yes, ExprPtr no)
      : Expr(ExprKind::kCondition, p), test(std::move(t)), if_true(std::move(yes)), if_false(std::move(no)) {}
  ExprPtr test, if_true;
  ExprPtr if_false;  // null: Undefined when the test fails
};

// ---------------------------------------------------------------- statements

enum class NodeKind {
  kText,
  kOutput,
  kIf,
  kFor,
  kSet,
  kSetBlock,
  kMacro,
  kFilterBlock,
  kWith,
  kBreak,
  kContinue,
  kScope,  // a body with no semantics of its own ({% generation %})
};

struct Node {
  Node(NodeKind k, SourcePos p) : kind(k), pos(p) {}
  virtual ~Node() = default;
  NodeKind kind;
  SourcePos pos;
};
using NodePtr = std::unique_ptr<Node>;
using Body = std::vector<NodePtr>;

// Where `set`, `for` and `with` store values: `x`, `ns.attr`, or a tuple of names `a, b`.
struct AssignTarget {
  enum class Kind { kName, kNamespaceAttr, kTuple };
  Kind kind = Kind::kName;
  std::string name;                // kName, or the namespace variable for kNamespaceAttr
  std::string attr;                // kNamespaceAttr
  std::vector<std::string> names;  // kTuple
  SourcePos pos;
};

struct TextNode : Node {
  TextNode(SourcePos p, std::string t) : Node(NodeKind::kText, p), text(std::move(t)) {}
  std::string text;
};

struct OutputNode : Node {
  OutputNode(SourcePos p, ExprPtr e) : Node(NodeKind::kOutput, p), expr(std::move(e)) {}
  ExprPtr expr;
};

struct IfNode : Node {
  explicit IfNode(SourcePos p) : Node(NodeKind::kIf, p) {}
  std::vector<std::pair<ExprPtr, Body>> branches;  // if, elif...
  Body else_body;
};

struct ForNode : Node {
  explicit ForNode(SourcePos p) : Node(NodeKind::kFor, p) {}
  AssignTarget target;
  ExprPtr iter;
  ExprPtr filter;  // `for x in xs if cond`; may be null
  Body body;
  Body else_body;
};

struct SetNode : Node {
  explicit SetNode(SourcePos p) : Node(NodeKind::kSet, p) {}
  AssignTarget target;
  ExprPtr value;
};

struct SetBlockNode : Node {
  explicit SetBlockNode(SourcePos p) : Node(NodeKind::kSetBlock, p) {}
  AssignTarget target;
  std::vector<std::unique_ptr<FilterExpr>> filters;  // applied to the rendered body, in order
  Body body;
};

struct MacroNode : Node {
  explicit MacroNode(SourcePos p) : Node(NodeKind::kMacro, p) {}
  std::string name;
  std::vector<std::string> params;
  std::vector<ExprPtr> defaults;  // parallel to params; null where there is no default
  Body body;
};

struct FilterBlockNode : Node {
  explicit FilterBlockNode(SourcePos p) : Node(NodeKind::kFilterBlock, p) {}
  std::vector<std::unique_ptr<FilterExpr>> filters;
  Body body;
};

struct WithNode : Node {
  explicit WithNode(SourcePos p) : Node(NodeKind::kWith, p) {}
  std::vector<std::pair<AssignTarget, ExprPtr>> assignments;
  Body body;
};

struct ScopeNode : Node {
  explicit ScopeNode(SourcePos p) : Node(NodeKind::kScope, p) {}
  Body body;
};

struct TemplateAst {
  Body body;
};

}  // namespace tandem::text::jinja
