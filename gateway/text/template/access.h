// Python object protocol as Jinja's ImmutableSandboxedEnvironment exposes it to templates:
// iteration, len(), attribute and item access, slicing, and the methods of str, dict and list.
//
// Access rules follow the sandbox: `x.name` prefers a real attribute (so `d.items` is the dict
// method even if the dict has an "items" key) and falls back to the item; `x[key]` prefers the
// item and falls back to the attribute; a missing one is an Undefined that prints as "" and
// fails when used. Mutating methods (list.append, dict.update, ...) and dunder attributes are
// "unsafe": an Undefined whose use reports the sandbox violation.
// Thread-safe: pure functions.
#pragma once

#include <string>
#include <string_view>

#include "common/status.h"
#include "gateway/text/template/limits.h"
#include "gateway/text/template/py_string.h"
#include "gateway/text/template/value.h"

namespace tandem::text::jinja {

// Python iter(): list items, dict keys, string code points; Undefined iterates as empty.
StatusOr<ValueList> py_iter(const Value& v);
// Python len(): code points for strings; Undefined has length 0.
StatusOr<int64_t> py_len(const Value& v);

StatusOr<Value> get_attr(const Value& obj, const std::string& name);
StatusOr<Value> get_item(const Value& obj, const Value& key);
StatusOr<Value> get_slice(const Value& obj, const SliceSpec& spec);
// Jinja's attribute paths in filters (map(attribute='a.b'), selectattr('0')): dotted parts,
// integer parts index sequences.
StatusOr<Value> get_attr_path(const Value& obj, const Value& path);

// obj.name(args) for the methods templates use on str, dict, list and tuple. Also the body of
// bound methods returned by get_attr.
StatusOr<Value> call_method(const Value& obj, std::string_view name, const CallArgs& args,
                            const RenderLimits& limits);
// Whether `name` is a (safe or unsafe) attribute of obj's Python type.
bool has_attribute(const Value& obj, std::string_view name);

}  // namespace tandem::text::jinja
