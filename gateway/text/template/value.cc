#include "gateway/text/template/value.h"

#include <charconv>
#include <cmath>
#include <cstdlib>

#include "gateway/text/template/py_string.h"

namespace tandem::text::jinja {

const Value* Dict::find(std::string_view key) const {
  for (const auto& [k, v] : entries_) {
    if (k.is_string() && k.as_string() == key) return &v;
  }
  return nullptr;
}

const Value* Dict::find(const Value& key) const {
  if (key.is_string()) return find(std::string_view(key.as_string()));
  for (const auto& [k, v] : entries_) {
    if (values_equal(k, key)) return &v;
  }
  return nullptr;
}

void Dict::set(std::string key, Value value) {
  for (auto& [k, v] : entries_) {
    if (k.is_string() && k.as_string() == key) {
      v = std::move(value);
      return;
    }
  }
  entries_.emplace_back(Value::string(std::move(key)), std::move(value));
}

void Dict::set(Value key, Value value) {
  if (key.is_string()) return set(key.as_string(), std::move(value));
  for (auto& [k, v] : entries_) {
    if (values_equal(k, key)) {
      v = std::move(value);
      return;
    }
  }
  entries_.emplace_back(std::move(key), std::move(value));
}

bool Dict::erase(std::string_view key) {
  for (auto it = entries_.begin(); it != entries_.end(); ++it) {
    if (it->first.is_string() && it->first.as_string() == key) {
      entries_.erase(it);
      return true;
    }
  }
  return false;
}

bool is_hashable(const Value& v) {
  if (v.is_string() || v.is_numeric() || v.is_none()) return true;
  if (v.is_tuple()) {
    for (const Value& item : v.as_list()) {
      if (!is_hashable(item)) return false;
    }
    return true;
  }
  return false;
}

Value Value::undefined(std::string hint) {
  Value v;
  v.obj_ = std::make_shared<const std::string>(std::move(hint));
  return v;
}

Value Value::none() {
  Value v;
  v.kind_ = Kind::kNone;
  return v;
}

Value Value::boolean(bool b) {
  Value v;
  v.kind_ = Kind::kBool;
  v.scalar_.b = b;
  return v;
}

Value Value::integer(int64_t i) {
  Value v;
  v.kind_ = Kind::kInt;
  v.scalar_.i = i;
  return v;
}

Value Value::number(double f) {
  Value v;
  v.kind_ = Kind::kFloat;
  v.scalar_.f = f;
  return v;
}

Value Value::string(std::string s) {
  Value v;
  v.kind_ = Kind::kString;
  v.obj_ = std::make_shared<const std::string>(std::move(s));
  return v;
}

Value Value::markup(std::string s) {
  Value v = string(std::move(s));
  v.markup_ = true;
  return v;
}

Value Value::list(ValueList items) {
  Value v;
  v.kind_ = Kind::kList;
  v.obj_ = std::make_shared<const ValueList>(std::move(items));
  return v;
}

Value Value::tuple(ValueList items) { return sequence(std::move(items), SeqKind::kTuple); }

Value Value::sequence(ValueList items, SeqKind kind) {
  Value v = list(std::move(items));
  v.seq_ = kind;
  return v;
}

Value Value::dict(Dict d) {
  Value v;
  v.kind_ = Kind::kDict;
  v.obj_ = std::make_shared<const Dict>(std::move(d));
  return v;
}

Value Value::make_namespace(Dict attrs) {
  Value v;
  v.kind_ = Kind::kNamespace;
  v.obj_ = std::make_shared<Namespace>(Namespace{std::move(attrs)});
  return v;
}

Value Value::function(std::string name, std::function<StatusOr<Value>(CallArgs&)> fn) {
  Value v;
  v.kind_ = Kind::kFunction;
  v.obj_ = std::make_shared<const Function>(Function{std::move(name), std::move(fn)});
  return v;
}

const std::string& Value::as_string() const {
  return *static_cast<const std::string*>(obj_.get());
}
const ValueList& Value::as_list() const { return *static_cast<const ValueList*>(obj_.get()); }
const Dict& Value::as_dict() const { return *static_cast<const Dict*>(obj_.get()); }
Namespace& Value::as_namespace() const {
  // The one mutable kind: created non-const in make_namespace().
  return *static_cast<Namespace*>(const_cast<void*>(obj_.get()));
}
const Function& Value::as_function() const { return *static_cast<const Function*>(obj_.get()); }

std::string_view Value::undefined_hint() const {
  if (kind_ != Kind::kUndefined || !obj_) return {};
  return *static_cast<const std::string*>(obj_.get());
}

bool Value::truthy() const {
  switch (kind_) {
    case Kind::kUndefined:
    case Kind::kNone:
      return false;
    case Kind::kBool:
      return scalar_.b;
    case Kind::kInt:
      return scalar_.i != 0;
    case Kind::kFloat:
      return scalar_.f != 0.0;
    case Kind::kString:
      return !as_string().empty();
    case Kind::kList:
      return !is_sized() || !as_list().empty();  // generator objects are always true
    case Kind::kDict:
      return !as_dict().empty();
    case Kind::kNamespace:
    case Kind::kFunction:
      return true;
  }
  return false;
}

void Value::append_str(std::string* out) const {
  switch (kind_) {
    case Kind::kUndefined:
      return;
    case Kind::kNone:
      out->append("None");
      return;
    case Kind::kBool:
      out->append(scalar_.b ? "True" : "False");
      return;
    case Kind::kInt:
      out->append(std::to_string(scalar_.i));
      return;
    case Kind::kFloat:
      out->append(format_py_float(scalar_.f));
      return;
    case Kind::kString:
      out->append(as_string());
      return;
    default:
      out->append(repr());
  }
}

std::string Value::str() const {
  std::string out;
  append_str(&out);
  return out;
}

namespace {

// Namespaces can be made to contain themselves ({% set ns.me = [ns] %}), so printing is
// depth-limited the way Python prints a recursive container as "...".
constexpr int kMaxReprDepth = 64;

std::string repr_at(const Value& v, int depth);

std::string repr_items(const ValueList& items, int depth, char open, char close) {
  std::string out(1, open);
  for (size_t i = 0; i < items.size(); ++i) {
    if (i) out += ", ";
    out += repr_at(items[i], depth + 1);
  }
  out += close;
  return out;
}

std::string repr_container(const Value& v, int depth) {
  if (depth > kMaxReprDepth) return "...";
  if (v.is_list()) {
    const ValueList& items = v.as_list();
    switch (v.seq_kind()) {
      case Value::SeqKind::kTuple:
        if (items.size() == 1) return "(" + repr_at(items[0], depth + 1) + ",)";
        return repr_items(items, depth, '(', ')');
      case Value::SeqKind::kGenerator:
        return "<generator object>";
      case Value::SeqKind::kReverseIterator:
        return "<list_reverseiterator object>";
      case Value::SeqKind::kDictKeys:
        return "dict_keys(" + repr_items(items, depth, '[', ']') + ")";
      case Value::SeqKind::kDictValues:
        return "dict_values(" + repr_items(items, depth, '[', ']') + ")";
      case Value::SeqKind::kDictItems:
        return "dict_items(" + repr_items(items, depth, '[', ']') + ")";
      case Value::SeqKind::kRange: {
        // Rebuilt from the items: exact unless the stop was not on the step grid.
        int64_t start = items.empty() ? 0 : items.front().as_int();
        int64_t step = items.size() > 1 ? items[1].as_int() - start : 1;
        int64_t stop = items.empty() ? 0 : items.back().as_int() + step;
        if (step == 1) return "range(" + std::to_string(start) + ", " + std::to_string(stop) + ")";
        return "range(" + std::to_string(start) + ", " + std::to_string(stop) + ", " + std::to_string(step) + ")";
      }
      case Value::SeqKind::kList:
        break;
    }
    return repr_items(items, depth, '[', ']');
  }
  const Dict& d = v.is_dict() ? v.as_dict() : v.as_namespace().attrs;
  std::string out = v.is_dict() ? "{" : "<Namespace {";
  bool first = true;
  for (const auto& [k, item] : d.entries()) {
    if (!first) out += ", ";
    first = false;
    out += repr_at(k, depth + 1);
    out += ": ";
    out += repr_at(item, depth + 1);
  }
  out += v.is_dict() ? "}" : "}>";
  return out;
}

std::string repr_at(const Value& v, int depth) {
  switch (v.kind()) {
    case Value::Kind::kUndefined:
      return "Undefined";
    case Value::Kind::kString:
      return v.is_markup() ? "Markup(" + py_repr(v.as_string()) + ")" : py_repr(v.as_string());
    case Value::Kind::kList:
    case Value::Kind::kDict:
    case Value::Kind::kNamespace:
      return repr_container(v, depth);
    case Value::Kind::kFunction:
      return "<function " + v.as_function().name + ">";
    default:
      return v.str();
  }
}

}  // namespace

std::string Value::repr() const { return repr_at(*this, 0); }

std::string_view Value::type_name() const {
  switch (kind_) {
    case Kind::kUndefined:
      return "Undefined";
    case Kind::kNone:
      return "NoneType";
    case Kind::kBool:
      return "bool";
    case Kind::kInt:
      return "int";
    case Kind::kFloat:
      return "float";
    case Kind::kString:
      return "str";
    case Kind::kList:
      switch (seq_) {
        case SeqKind::kList: return "list";
        case SeqKind::kTuple: return "tuple";
        case SeqKind::kGenerator: return "generator";
        case SeqKind::kReverseIterator: return "list_reverseiterator";
        case SeqKind::kDictKeys: return "dict_keys";
        case SeqKind::kDictValues: return "dict_values";
        case SeqKind::kDictItems: return "dict_items";
        case SeqKind::kRange: return "range";
      }
      return "list";
    case Kind::kDict:
      return "dict";
    case Kind::kNamespace:
      return "Namespace";
    case Kind::kFunction:
      return "function";
  }
  return "object";
}

std::string format_py_float(double f) {
  if (std::isnan(f)) return "nan";
  if (std::isinf(f)) return f > 0 ? "inf" : "-inf";
  if (f == 0.0) return std::signbit(f) ? "-0.0" : "0.0";
  // Shortest round-trip digits, then laid out the way Python's float.__repr__ does: positional
  // for decimal exponents in [-4, 16), scientific with a two-digit exponent otherwise.
  char buf[64];
  auto res = std::to_chars(buf, buf + sizeof(buf), f, std::chars_format::scientific);
  std::string_view sci(buf, static_cast<size_t>(res.ptr - buf));
  bool negative = sci.front() == '-';
  size_t e_pos = sci.find('e');
  std::string digits;
  for (size_t k = negative ? 1 : 0; k < e_pos; ++k) {
    if (sci[k] != '.') digits.push_back(sci[k]);
  }
  int exp = std::atoi(std::string(sci.substr(e_pos + 1)).c_str());
  std::string out = negative ? "-" : "";
  if (exp < -4 || exp >= 16) {
    out += digits[0];
    if (digits.size() > 1) {
      out += '.';
      out += digits.substr(1);
    }
    out += exp < 0 ? "e-" : "e+";
    int abs_exp = std::abs(exp);
    if (abs_exp < 10) out += '0';
    out += std::to_string(abs_exp);
  } else if (exp < 0) {
    out += "0.";
    out.append(static_cast<size_t>(-exp - 1), '0');
    out += digits;
  } else {
    size_t int_digits = static_cast<size_t>(exp) + 1;
    if (digits.size() <= int_digits) {
      out += digits;
      out.append(int_digits - digits.size(), '0');
      out += ".0";
    } else {
      out += digits.substr(0, int_digits);
      out += '.';
      out += digits.substr(int_digits);
    }
  }
  return out;
}

bool values_equal(const Value& a, const Value& b) {
  if (a.is_numeric() && b.is_numeric()) {
    if (a.is_float() || b.is_float()) return a.as_double() == b.as_double();
    return a.as_int() == b.as_int();
  }
  if (a.kind() != b.kind()) return false;
  switch (a.kind()) {
    case Value::Kind::kUndefined:
    case Value::Kind::kNone:
      return true;
    case Value::Kind::kString:
      return a.as_string() == b.as_string();
    case Value::Kind::kList: {
      if (a.seq_kind() != b.seq_kind()) return false;
      if (!a.is_sized()) return &a.as_list() == &b.as_list();  // iterators compare by identity
      const ValueList& x = a.as_list();
      const ValueList& y = b.as_list();
      if (x.size() != y.size()) return false;
      for (size_t i = 0; i < x.size(); ++i) {
        if (!values_equal(x[i], y[i])) return false;
      }
      return true;
    }
    case Value::Kind::kDict: {
      const Dict& x = a.as_dict();
      const Dict& y = b.as_dict();
      if (x.size() != y.size()) return false;
      for (const auto& [k, v] : x.entries()) {
        const Value* other = y.find(k);  // Dict::find(const Value&)
        if (!other || !values_equal(v, *other)) return false;
      }
      return true;
    }
    case Value::Kind::kNamespace:
      return &a.as_namespace() == &b.as_namespace();
    case Value::Kind::kFunction:
      return &a.as_function() == &b.as_function();
    default:
      return false;
  }
}

}  // namespace tandem::text::jinja
