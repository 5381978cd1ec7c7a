#include "gateway/text/template/template.h"

#include "gateway/text/template/lexer.h"
#include "gateway/text/template/parser.h"

namespace tandem::text::jinja {

StatusOr<Template> Template::compile(std::string_view source) {
  std::string normalized = normalize_source(source);
  ASSIGN_OR_RETURN(std::vector<Token> tokens, tokenize(normalized));
  ASSIGN_OR_RETURN(TemplateAst ast, parse_template(std::move(tokens)));
  return Template(std::make_shared<const TemplateAst>(std::move(ast)));
}

StatusOr<std::string> Template::render(const Dict& context, const RenderOptions& options) const {
  Evaluator evaluator(options);
  return evaluator.render(*ast_, context);
}

}  // namespace tandem::text::jinja
