// Statement half of the evaluator: output, control flow, scopes, macros.
#include "gateway/text/template/evaluator.h"

#include <fmt/format.h>

#include "gateway/text/template/access.h"
#include "gateway/text/template/filters.h"
#include "gateway/text/template/globals.h"

namespace tandem::text::jinja {

class Evaluator::DepthGuard {
 public:
  explicit DepthGuard(Evaluator* e) : e_(e) { ++e_->depth_; }
  ~DepthGuard() { --e_->depth_; }
  bool exceeded() const { return e_->depth_ > e_->options_.limits.max_depth; }

 private:
  Evaluator* e_;
};

Evaluator::Evaluator(const RenderOptions& options) : options_(options) {
  globals_ = builtin_globals(options_.limits, options_.now, &raised_, &namespaces_);
}

StatusOr<std::string> Evaluator::render(const TemplateAst& ast, const Dict& context) {
  frames_.clear();
  frames_.emplace_back();
  for (const auto& [k, v] : context.entries()) frames_[0].vars.emplace_back(k.str(), v);
  std::string out;
  out_ = &out;
  Flow flow = Flow::kNormal;
  Status st = exec_body(ast.body, &flow);
  out_ = nullptr;
  frames_.clear();
  for (Value& ns : namespaces_) ns.as_namespace().attrs = Dict();
  namespaces_.clear();
  if (st.ok()) return out;
  SourcePos pos = error_pos_;
  if (!pos.valid()) return Status(st.code(), "template error: " + st.message());
  if (raised_) {
    return Status(st.code(), fmt::format("{} (raised by the chat template at line {}, column {})", st.message(),
                                         pos.line, pos.column));
  }
  return Status(st.code(), fmt::format("template error at line {}, column {}: {}", pos.line, pos.column, st.message()));
}

Status Evaluator::locate(Status st, SourcePos pos) {
  if (!st.ok() && !error_pos_.valid()) error_pos_ = pos;
  return st;
}

Status Evaluator::charge(int64_t units) {
  work_ += units;
  if (work_ > options_.limits.max_work) {
    return resource_exhausted("template did more than {} units of work (a runaway loop?)", options_.limits.max_work);
  }
  return Status::Ok();
}

Status Evaluator::charge_for(const Value& v) {
  if (v.is_list()) return charge(static_cast<int64_t>(v.as_list().size()));
  if (v.is_string()) return charge(static_cast<int64_t>(v.as_string().size() / 64));
  return Status::Ok();
}

Status Evaluator::emit(std::string_view text) {
  if (out_->size() + text.size() > options_.limits.max_output_bytes) {
    return resource_exhausted("template output exceeds the limit of {} bytes", options_.limits.max_output_bytes);
  }
  out_->append(text);
  return Status::Ok();
}

const Value* Evaluator::lookup(std::string_view name) const {
  for (size_t i = frames_.size(); i-- > 0;) {
    for (const auto& [k, v] : frames_[i].vars) {
      if (k == name) return &v;
    }
    if (frames_[i].macro_root && i > 0) {
      for (const auto& [k, v] : frames_[0].vars) {
        if (k == name) return &v;
      }
      break;
    }
  }
  return globals_.find(name);
}

void Evaluator::set_var(const std::string& name, Value value) {
  auto& vars = frames_.back().vars;
  for (auto& [k, v] : vars) {
    if (k == name) {
      v = std::move(value);
      return;
    }
  }
  vars.emplace_back(name, std::move(value));
}

Status Evaluator::exec_body(const Body& body, Flow* flow) {
  for (const NodePtr& node : body) {
    RETURN_IF_ERROR(exec(*node, flow));
    if (*flow != Flow::kNormal) return Status::Ok();
  }
  return Status::Ok();
}

Status Evaluator::exec(const Node& node, Flow* flow) {
  DepthGuard guard(this);
  if (guard.exceeded()) {
    return locate(resource_exhausted("template nesting (macro recursion?) deeper than {} levels",
                                     options_.limits.max_depth), node.pos);
  }
  RETURN_IF_ERROR(locate(charge(1), node.pos));
  switch (node.kind) {
    case NodeKind::kText:
      return locate(emit(static_cast<const TextNode&>(node).text), node.pos);
    case NodeKind::kOutput: {
      ASSIGN_OR_RETURN(Value v, eval(*static_cast<const OutputNode&>(node).expr));
      if (v.is_string()) return locate(emit(v.as_string()), node.pos);
      return locate(emit(v.str()), node.pos);
    }
    case NodeKind::kIf: {
      const auto& n = static_cast<const IfNode&>(node);
      for (const auto& [test, body] : n.branches) {
        ASSIGN_OR_RETURN(Value t, eval(*test));
        if (t.truthy()) return exec_body(body, flow);
      }
      return exec_body(n.else_body, flow);
    }
    case NodeKind::kFor:
      return exec_for(static_cast<const ForNode&>(node), flow);
    case NodeKind::kSet:
      return exec_set(static_cast<const SetNode&>(node));
    case NodeKind::kSetBlock:
      return exec_set_block(static_cast<const SetBlockNode&>(node));
    case NodeKind::kMacro:
      define_macro(static_cast<const MacroNode&>(node));
      return Status::Ok();
    case NodeKind::kFilterBlock:
      return exec_filter_block(static_cast<const FilterBlockNode&>(node));
    case NodeKind::kWith:
      return exec_with(static_cast<const WithNode&>(node), flow);
    case NodeKind::kBreak:
      *flow = Flow::kBreak;
      return Status::Ok();
    case NodeKind::kContinue:
      *flow = Flow::kContinue;
      return Status::Ok();
    case NodeKind::kScope:
      return exec_body(static_cast<const ScopeNode&>(node).body, flow);
  }
  return Status::Ok();
}

namespace {

// jinja2's LoopContext: one mutable object per loop, updated in place each iteration (as in
// Jinja), so an iteration costs no allocation.
void update_loop_object(Namespace& loop, const ValueList& items, size_t i) {
  int64_t n = static_cast<int64_t>(items.size());
  int64_t idx = static_cast<int64_t>(i);
  Dict& d = loop.attrs;
  d.set("index", Value::integer(idx + 1));
  d.set("index0", Value::integer(idx));
  d.set("revindex", Value::integer(n - idx));
  d.set("revindex0", Value::integer(n - idx - 1));
  d.set("first", Value::boolean(i == 0));
  d.set("last", Value::boolean(idx == n - 1));
  d.set("previtem", i > 0 ? items[i - 1] : Value::undefined("there is no previous item"));
  d.set("nextitem", idx + 1 < n ? items[i + 1] : Value::undefined("there is no next item"));
}

}  // namespace

Status Evaluator::exec_for(const ForNode& node, Flow* flow) {
  ASSIGN_OR_RETURN(Value iterable, eval(*node.iter));
  auto listed = py_iter(iterable);
  if (!listed.ok()) return locate(listed.status(), node.iter->pos);
  ValueList items = std::move(listed).value();
  RETURN_IF_ERROR(locate(charge(static_cast<int64_t>(items.size())), node.pos));
  if (node.filter) {
    ValueList kept;
    frames_.emplace_back();
    for (Value& item : items) {
      frames_.back().vars.clear();
      Status st = assign(node.target, item);
      StatusOr<Value> keep = st.ok() ? eval(*node.filter) : StatusOr<Value>(st);
      if (!keep.ok()) {
        frames_.pop_back();
        return locate(keep.status(), node.pos);
      }
      if (keep->truthy()) kept.push_back(std::move(item));
    }
    frames_.pop_back();
    items = std::move(kept);
  }
  if (items.empty()) {
    frames_.emplace_back();
    Status st = exec_body(node.else_body, flow);
    frames_.pop_back();
    return st;
  }
  auto position = std::make_shared<int64_t>(0);
  Dict loop_attrs;
  loop_attrs.set("length", Value::integer(static_cast<int64_t>(items.size())));
  loop_attrs.set("depth", Value::integer(1));
  loop_attrs.set("depth0", Value::integer(0));
  loop_attrs.set("cycle", Value::function("loop.cycle", [position](CallArgs& a) -> StatusOr<Value> {
                   if (a.positional.empty()) return invalid_argument("no items for cycling given");
                   return a.positional[static_cast<size_t>(*position) % a.positional.size()];
                 }));
  Value loop = Value::make_namespace(std::move(loop_attrs));
  namespaces_.push_back(loop);
  frames_.emplace_back();
  Status st;
  for (size_t i = 0; i < items.size() && st.ok(); ++i) {
    *position = static_cast<int64_t>(i);
    update_loop_object(loop.as_namespace(), items, i);
    frames_.back().vars.clear();
    st = assign(node.target, items[i]);
    if (!st.ok()) {
      st = locate(st, node.target.pos);
      break;
    }
    set_var("loop", loop);
    Flow body_flow = Flow::kNormal;
    st = exec_body(node.body, &body_flow);
    if (body_flow == Flow::kBreak) break;
  }
  frames_.pop_back();
  return st;
}

Status Evaluator::assign(const AssignTarget& target, const Value& value) {
  switch (target.kind) {
    case AssignTarget::Kind::kName:
      set_var(target.name, value);
      return Status::Ok();
    case AssignTarget::Kind::kNamespaceAttr: {
      const Value* ns = lookup(target.name);
      if (!ns || !ns->is_namespace()) {
        return locate(invalid_argument("cannot assign attribute on non-namespace object '{}'", target.name), target.pos);
      }
      if (!target.attr.empty() && target.attr[0] == '_') {
        return locate(invalid_argument("Chat templates cannot store underscore-prefixed attributes on a namespace, "
                                       "but got '{}'. Please rename the attribute.", target.attr), target.pos);
      }
      ns->as_namespace().attrs.set(target.attr, value);
      return Status::Ok();
    }
    case AssignTarget::Kind::kTuple: {
      auto items = py_iter(value);
      if (!items.ok()) return locate(items.status(), target.pos);
      if (items->size() != target.names.size()) {
        return locate(invalid_argument("cannot unpack {} values into {} names", items->size(), target.names.size()),
                      target.pos);
      }
      for (size_t i = 0; i < target.names.size(); ++i) set_var(target.names[i], (*items)[i]);
      return Status::Ok();
    }
  }
  return Status::Ok();
}

Status Evaluator::exec_set(const SetNode& node) {
  ASSIGN_OR_RETURN(Value v, eval(*node.value));
  return assign(node.target, v);
}

StatusOr<std::string> Evaluator::render_to_string(const Body& body) {
  std::string buffer;
  std::string* saved = out_;
  out_ = &buffer;
  Flow flow = Flow::kNormal;
  Status st = exec_body(body, &flow);
  out_ = saved;
  RETURN_IF_ERROR(st);
  return buffer;
}

Status Evaluator::exec_set_block(const SetBlockNode& node) {
  ASSIGN_OR_RETURN(std::string text, render_to_string(node.body));
  Value v = Value::string(std::move(text));
  for (const auto& f : node.filters) {
    ASSIGN_OR_RETURN(v, eval_filter(*f, &v));
  }
  return assign(node.target, v);
}

Status Evaluator::exec_filter_block(const FilterBlockNode& node) {
  ASSIGN_OR_RETURN(std::string text, render_to_string(node.body));
  Value v = Value::string(std::move(text));
  for (const auto& f : node.filters) {
    ASSIGN_OR_RETURN(v, eval_filter(*f, &v));
  }
  return locate(emit(v.str()), node.pos);
}

Status Evaluator::exec_with(const WithNode& node, Flow* flow) {
  std::vector<Value> values;
  for (const auto& [target, expr] : node.assignments) {
    ASSIGN_OR_RETURN(Value v, eval(*expr));
    values.push_back(std::move(v));
  }
  frames_.emplace_back();
  Status st;
  for (size_t i = 0; i < values.size() && st.ok(); ++i) st = assign(node.assignments[i].first, values[i]);
  if (st.ok()) st = exec_body(node.body, flow);
  frames_.pop_back();
  return st;
}

void Evaluator::define_macro(const MacroNode& node) {
  const MacroNode* n = &node;
  set_var(node.name, Value::function(node.name, [this, n](CallArgs& args) { return call_macro(*n, args); }));
}

StatusOr<Value> Evaluator::call_macro(const MacroNode& node, const CallArgs& args) {
  if (args.positional.size() > node.params.size()) {
    return invalid_argument("macro '{}' takes not more than {} argument(s), got {}", node.name, node.params.size(),
                            args.positional.size());
  }
  for (const auto& [key, unused] : args.keyword) {
    bool known = false;
    for (const std::string& p : node.params) known = known || p == key;
    if (!known) return invalid_argument("macro '{}' takes no keyword argument '{}'", node.name, key);
  }
  frames_.emplace_back();
  frames_.back().macro_root = true;
  Status st;
  for (size_t i = 0; i < node.params.size() && st.ok(); ++i) {
    const std::string& param = node.params[i];
    Value v = Value::undefined(fmt::format("parameter '{}' was not provided", param));
    bool passed = false;
    if (i < args.positional.size()) {
      v = args.positional[i];
      passed = true;
    }
    for (const auto& [key, value] : args.keyword) {
      if (key == param) {
        v = value;
        passed = true;
      }
    }
    if (!passed && node.defaults[i]) {
      auto d = eval(*node.defaults[i]);  // in the macro's scope: may use earlier parameters
      if (!d.ok()) st = d.status();
      else v = std::move(d).value();
    }
    set_var(param, std::move(v));
  }
  StatusOr<std::string> text = st.ok() ? render_to_string(node.body) : StatusOr<std::string>(st);
  frames_.pop_back();
  RETURN_IF_ERROR(text.status());
  return Value::string(std::move(text).value());
}

}  // namespace tandem::text::jinja
