// Python operator semantics for template expressions: arithmetic, `~`, comparisons, `in`.
// Errors carry Python's wording ("unsupported operand type(s) for +: 'int' and 'str'") and no
// position; the evaluator adds the position of the expression. Thread-safe: pure functions.
#pragma once

#include "common/status.h"
#include "gateway/text/template/ast.h"
#include "gateway/text/template/limits.h"
#include "gateway/text/template/value.h"

namespace tandem::text::jinja {

// The error Jinja raises when a template does something with an Undefined that needs a value
// (arithmetic, attribute access, calling it): "'foo' is undefined".
Status undefined_error(const Value& undefined);

StatusOr<Value> binary_op(BinaryOp op, const Value& a, const Value& b, const RenderLimits& limits);
// markupsafe.escape: & < > " ' as HTML entities.
std::string html_escape(std::string_view s);
StatusOr<Value> unary_op(char op, const Value& v);
StatusOr<bool> compare_op(CompareOp op, const Value& a, const Value& b);
// Python `item in container`.
StatusOr<bool> contains(const Value& container, const Value& item);
// Python ordering (`a < b`), for comparisons, sort, min and max: -1, 0 or 1.
StatusOr<int> order(const Value& a, const Value& b);

}  // namespace tandem::text::jinja
