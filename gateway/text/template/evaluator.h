// Stage 3 of the template interpreter: walks the syntax tree with a context and writes output.
//
// Scoping follows Jinja2: `if` blocks share their enclosing scope; each for-loop iteration and
// each `with` block gets a fresh scope whose assignments vanish when it ends (which is why
// templates use namespace() to carry state out of loops); a macro body sees its parameters,
// then the template's top-level variables, never its caller's locals.
//
// Errors carry the line and column of the innermost expression or statement that failed. Work,
// nesting depth and output size are metered against RenderLimits (limits.h).
//
// Thread model: an Evaluator renders once, on one thread. The tree it walks is shared and
// read-only.
#pragma once

#include <ctime>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "common/status.h"
#include "gateway/text/template/ast.h"
#include "gateway/text/template/limits.h"
#include "gateway/text/template/value.h"

namespace tandem::text::jinja {

struct RenderOptions {
  RenderLimits limits;
  std::tm now{};  // what strftime_now() formats
};

class Evaluator {
 public:
  explicit Evaluator(const RenderOptions& options);
  Evaluator(const Evaluator&) = delete;
  Evaluator& operator=(const Evaluator&) = delete;

  // Renders `ast` with `context` as the top-level variables.
  StatusOr<std::string> render(const TemplateAst& ast, const Dict& context);

 private:
  enum class Flow { kNormal, kBreak, kContinue };
  struct Frame {
    std::vector<std::pair<std::string, Value>> vars;
    bool macro_root = false;  // name lookup continues at the template's top-level frame
  };
  class DepthGuard;

  // ---- statements (evaluator.cc)
  Status exec_body(const Body& body, Flow* flow);
  Status exec(const Node& node, Flow* flow);
  Status exec_for(const ForNode& node, Flow* flow);
  Status exec_set(const SetNode& node);
  Status exec_set_block(const SetBlockNode& node);
  Status exec_with(const WithNode& node, Flow* flow);
  Status exec_filter_block(const FilterBlockNode& node);
  void define_macro(const MacroNode& node);
  StatusOr<Value> call_macro(const MacroNode& node, const CallArgs& args);
  StatusOr<std::string> render_to_string(const Body& body);
  Status assign(const AssignTarget& target, const Value& value);
  Status emit(std::string_view text);

  // ---- expressions (evaluator_expressions.cc)
  StatusOr<Value> eval(const Expr& e);
  StatusOr<Value> eval_node(const Expr& e);
  StatusOr<Value> eval_slice(const SliceExpr& e);
  StatusOr<Value> eval_call(const CallExpr& e);
  StatusOr<Value> eval_filter(const FilterExpr& e, const Value* input);
  StatusOr<Value> eval_compare(const CompareExpr& e);
  StatusOr<CallArgs> eval_args(const CallArgExprs& args);

  // ---- scope
  const Value* lookup(std::string_view name) const;
  void set_var(const std::string& name, Value value);

  // ---- accounting and errors
  Status charge(int64_t units);
  Status charge_for(const Value& v);
  // Records `pos` as the error's location unless an inner node already did.
  Status locate(Status st, SourcePos pos);

  RenderOptions options_;
  std::vector<Frame> frames_;
  Dict globals_;
  std::string* out_ = nullptr;
  int64_t work_ = 0;
  int depth_ = 0;
  SourcePos error_pos_;
  bool raised_ = false;
  // Every mutable object the render created (namespaces, loop objects). Templates can make them
  // reference each other ({% set ns.me = [ns] %}); emptying them when the render ends breaks
  // such cycles, which shared ownership alone would leak.
  std::vector<Value> namespaces_;
};

}  // namespace tandem::text::jinja
