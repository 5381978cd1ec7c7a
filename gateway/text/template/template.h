// A compiled Jinja2-subset template: lexer (lexer.h) -> parser (parser.h) -> evaluator
// (evaluator.h), configured the way Hugging Face renders chat templates (sandboxed, trim_blocks,
// lstrip_blocks, HF's tojson / raise_exception / strftime_now). Not a general Jinja engine: no
// inheritance, includes, imports or call blocks, and no HTML autoescaping.
//
// Thread model: compile() on any thread; a Template is immutable and render() may be called from
// any number of threads at once. Copies share the compiled tree.
#pragma once

#include <memory>
#include <string_view>

#include "common/status.h"
#include "gateway/text/template/ast.h"
#include "gateway/text/template/evaluator.h"
#include "gateway/text/template/value.h"

namespace tandem::text::jinja {

class Template {
 public:
  // Syntax errors name line and column: "template syntax error at line 3, column 14: ...".
  static StatusOr<Template> compile(std::string_view source);

  // `context` holds the top-level variables. Errors name line and column of the failing node.
  StatusOr<std::string> render(const Dict& context, const RenderOptions& options) const;

 private:
  explicit Template(std::shared_ptr<const TemplateAst> ast) : ast_(std::move(ast)) {}
  std::shared_ptr<const TemplateAst> ast_;
};

}  // namespace tandem::text::jinja
