// Value: the dynamic type the template interpreter computes with, modelled on the Python objects
// Jinja2 sees when Hugging Face renders a chat template (None, bool, int, float, str, list, tuple,
// dict, jinja2 Namespace, callables, and Jinja's Undefined).
//
// Values are cheap to copy: strings, lists and dicts are immutable and shared (the sandbox HF
// uses forbids mutating them), so copying a message dict copies one pointer. The one mutable
// kind is Namespace, which templates change through `{% set ns.x = ... %}`; it is shared by
// reference like the Python object. Dicts keep insertion order (Python 3.7+ semantics).
//
// Thread model: a Value graph is built and used by one render on one thread. Immutable parts may
// be shared between threads; a Namespace never outlives the render that created it.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "common/status.h"

namespace tandem::text::jinja {

class Value;
using ValueList = std::vector<Value>;

// Insertion-ordered map with Python key semantics: keys are hashable Values (str, int, float,
// bool, None, tuple) and 1, 1.0 and True are the same key. Lookups scan linearly: chat-template
// dicts (messages, tool schemas) hold a handful of keys, where a scan beats hashing.
class Dict {
 public:
  using Entry = std::pair<Value, Value>;

  const Value* find(std::string_view key) const;  // string keys only
  const Value* find(const Value& key) const;
  // Inserts, or replaces the value in place (keeping the key's original position, as Python does).
  void set(std::string key, Value value);
  void set(Value key, Value value);
  bool erase(std::string_view key);
  size_t size() const { return entries_.size(); }
  bool empty() const { return entries_.empty(); }
  const std::vector<Entry>& entries() const { return entries_; }

 private:
  std::vector<Entry> entries_;
};

// Whether Python can use v as a dict key (lists, dicts and namespaces cannot).
bool is_hashable(const Value& v);

struct CallArgs {
  std::vector<Value> positional;
  std::vector<std::pair<std::string, Value>> keyword;
};

// Anything a template can call: globals, bound methods, macros, loop.cycle. Errors are returned
// without a template position; the caller adds the position of the call expression.
struct Function {
  std::string name;
  std::function<StatusOr<Value>(CallArgs&)> call;
};

// jinja2's Namespace: the only mutable object a template can build.
struct Namespace {
  Dict attrs;
};

class Value {
 public:
  enum class Kind : uint8_t {
    kUndefined,
    kNone,
    kBool,
    kInt,
    kFloat,
    kString,
    kList,  // any sequence of items: see SeqKind
    kDict,
    kNamespace,
    kFunction,
  };

  // What Python type a kList value stands for. Jinja's filters return generators and dict methods
  // return views; they iterate like lists but differ in truthiness (a generator is always true),
  // len() and subscripting (generators have neither), and cannot be serialised to JSON.
  enum class SeqKind : uint8_t {
    kList,
    kTuple,
    kGenerator,        // map/select/reject/selectattr/rejectattr/unique/items filters
    kReverseIterator,  // reverse filter on a list
    kDictKeys,
    kDictValues,
    kDictItems,
    kRange,
  };

  Value() = default;  // Undefined
  // An Undefined that remembers why it is undefined, for the error raised when a template uses it
  // in a way Jinja forbids (attribute access, arithmetic, calling): e.g. "'foo' is undefined".
  static Value undefined(std::string hint);
  static Value none();
  static Value boolean(bool b);
  static Value integer(int64_t i);
  static Value number(double f);
  static Value string(std::string s);
  // markupsafe.Markup: a str that `safe` / `escape` produced. The one place it differs from a
  // plain string without autoescaping is `+`, which HTML-escapes a plain-string operand.
  static Value markup(std::string s);
  static Value list(ValueList items);
  static Value tuple(ValueList items);
  static Value sequence(ValueList items, SeqKind kind);
  static Value dict(Dict d);
  static Value make_namespace(Dict attrs);
  static Value function(std::string name, std::function<StatusOr<Value>(CallArgs&)> fn);

  Kind kind() const { return kind_; }
  bool is_undefined() const { return kind_ == Kind::kUndefined; }
  bool is_none() const { return kind_ == Kind::kNone; }
  bool is_bool() const { return kind_ == Kind::kBool; }
  bool is_int() const { return kind_ == Kind::kInt; }
  bool is_float() const { return kind_ == Kind::kFloat; }
  // int, float or bool: what Python arithmetic accepts (bool is an int subclass).
  bool is_numeric() const { return is_int() || is_float() || is_bool(); }
  bool is_string() const { return kind_ == Kind::kString; }
  bool is_markup() const { return kind_ == Kind::kString && markup_; }
  bool is_list() const { return kind_ == Kind::kList; }
  SeqKind seq_kind() const { return seq_; }
  bool is_tuple() const { return kind_ == Kind::kList && seq_ == SeqKind::kTuple; }
  // A real list or tuple: indexable, sliceable, concatenable, serialisable.
  bool is_list_or_tuple() const {
    return kind_ == Kind::kList && (seq_ == SeqKind::kList || seq_ == SeqKind::kTuple);
  }
  // Has len() (everything but generators and iterators).
  bool is_sized() const {
    return kind_ != Kind::kList || (seq_ != SeqKind::kGenerator && seq_ != SeqKind::kReverseIterator);
  }
  bool is_dict() const { return kind_ == Kind::kDict; }
  bool is_namespace() const { return kind_ == Kind::kNamespace; }
  bool is_function() const { return kind_ == Kind::kFunction; }

  bool as_bool() const { return scalar_.b; }
  int64_t as_int() const { return kind_ == Kind::kBool ? (scalar_.b ? 1 : 0) : scalar_.i; }
  double as_double() const { return kind_ == Kind::kFloat ? scalar_.f : static_cast<double>(as_int()); }
  const std::string& as_string() const;
  const ValueList& as_list() const;
  const Dict& as_dict() const;
  Namespace& as_namespace() const;
  const Function& as_function() const;
  // Empty unless built with undefined(hint).
  std::string_view undefined_hint() const;

  // Python truthiness (Undefined is falsy).
  bool truthy() const;
  // Python str(value), which is what `{{ value }}` prints; Undefined prints nothing.
  std::string str() const;
  void append_str(std::string* out) const;
  // Python repr(value), used inside str() of lists and dicts.
  std::string repr() const;
  // The Python type name, for error messages ("str", "int", "NoneType", "dict", ...).
  std::string_view type_name() const;

 private:
  Kind kind_ = Kind::kUndefined;
  SeqKind seq_ = SeqKind::kList;
  bool markup_ = false;
  union {
    bool b;
    int64_t i;
    double f;
  } scalar_{};
  // String / undefined hint: std::string; list: ValueList; dict: Dict; namespace: Namespace;
  // function: Function. Type-erased so a Value stays 32 bytes.
  std::shared_ptr<const void> obj_;
};

// Python's repr() of a float ("1.0", "0.1", "1e+16", "inf", "nan").
std::string format_py_float(double f);

// Deep equality with Python semantics (1 == 1.0 == True; Undefined == Undefined).
bool values_equal(const Value& a, const Value& b);

}  // namespace tandem::text::jinja
