#include "gateway/text/template/operators.h"

#include <cmath>
#include <string>

#include <fmt/format.h>

namespace tandem::text::jinja {
namespace {

std::string_view op_symbol(BinaryOp op) {
  switch (op) {
    case BinaryOp::kAdd: return "+";
    case BinaryOp::kSub: return "-";
    case BinaryOp::kMul: return "*";
    case BinaryOp::kDiv: return "/";
    case BinaryOp::kFloorDiv: return "//";
    case BinaryOp::kMod: return "%";
    case BinaryOp::kPow: return "**";
    case BinaryOp::kConcat: return "~";
  }
  return "?";
}

Status unsupported(BinaryOp op, const Value& a, const Value& b) {
  return invalid_argument("unsupported operand type(s) for {}: '{}' and '{}'", op_symbol(op),
                          a.type_name(), b.type_name());
}

Status too_long(size_t bytes, const RenderLimits& limits) {
  return resource_exhausted("string of {} bytes exceeds the template limit of {} bytes", bytes,
                            limits.max_output_bytes);
}

StatusOr<Value> repeat(const Value& seq, int64_t n, const RenderLimits& limits) {
  if (n < 0) n = 0;
  if (seq.is_string()) {
    const std::string& s = seq.as_string();
    if (!s.empty() && static_cast<uint64_t>(n) > limits.max_output_bytes / s.size()) {
      return too_long(s.size() * static_cast<size_t>(std::min<int64_t>(n, 1 << 30)), limits);
    }
    std::string out;
    out.reserve(s.size() * static_cast<size_t>(n));
    for (int64_t i = 0; i < n; ++i) out += s;
    return seq.is_markup() ? Value::markup(std::move(out)) : Value::string(std::move(out));
  }
  const ValueList& items = seq.as_list();
  // Elements are 32 bytes; hold lists to the same budget as strings.
  if (!items.empty() && static_cast<uint64_t>(n) > limits.max_output_bytes / 32 / items.size()) {
    return resource_exhausted("list repetition to {} x {} items exceeds the template limit", n, items.size());
  }
  ValueList out;
  out.reserve(items.size() * static_cast<size_t>(n));
  for (int64_t i = 0; i < n; ++i) out.insert(out.end(), items.begin(), items.end());
  return Value::sequence(std::move(out), seq.seq_kind());
}

StatusOr<Value> int_pow(int64_t base, int64_t exp) {
  // Square-and-multiply; once exp has bits left the squared base is needed, so its overflow is
  // the result's overflow.
  int64_t result = 1;
  while (true) {
    if ((exp & 1) && __builtin_mul_overflow(result, base, &result)) break;
    exp >>= 1;
    if (exp == 0) return Value::integer(result);
    if (__builtin_mul_overflow(base, base, &base)) break;
  }
  return invalid_argument("integer overflow in '**' (result does not fit in 64 bits)");
}

StatusOr<Value> arithmetic(BinaryOp op, const Value& a, const Value& b) {
  bool floating = a.is_float() || b.is_float();
  if (!floating) {
    int64_t x = a.as_int(), y = b.as_int(), r = 0;
    switch (op) {
      case BinaryOp::kAdd:
        if (__builtin_add_overflow(x, y, &r)) break;
        return Value::integer(r);
      case BinaryOp::kSub:
        if (__builtin_sub_overflow(x, y, &r)) break;
        return Value::integer(r);
      case BinaryOp::kMul:
        if (__builtin_mul_overflow(x, y, &r)) break;
        return Value::integer(r);
      case BinaryOp::kDiv:
        if (y == 0) return invalid_argument("division by zero");
        return Value::number(static_cast<double>(x) / static_cast<double>(y));
      case BinaryOp::kFloorDiv: {
        if (y == 0) return invalid_argument("integer division or modulo by zero");
        if (x == INT64_MIN && y == -1) break;
        int64_t q = x / y;
        if ((x % y != 0) && ((x < 0) != (y < 0))) --q;
        return Value::integer(q);
      }
      case BinaryOp::kMod: {
        if (y == 0) return invalid_argument("integer modulo by zero");
        if (y == -1) return Value::integer(0);
        int64_t m = x % y;
        if (m != 0 && ((m < 0) != (y < 0))) m += y;
        return Value::integer(m);
      }
      case BinaryOp::kPow:
        if (y >= 0) return int_pow(x, y);
        if (x == 0) return invalid_argument("0.0 cannot be raised to a negative power");
        return Value::number(std::pow(static_cast<double>(x), static_cast<double>(y)));
      default:
        break;
    }
    return invalid_argument("integer overflow in '{}' (result does not fit in 64 bits)", op_symbol(op));
  }
  double x = a.as_double(), y = b.as_double();
  switch (op) {
    case BinaryOp::kAdd: return Value::number(x + y);
    case BinaryOp::kSub: return Value::number(x - y);
    case BinaryOp::kMul: return Value::number(x * y);
    case BinaryOp::kDiv:
      if (y == 0) return invalid_argument("float division by zero");
      return Value::number(x / y);
    case BinaryOp::kFloorDiv:
    case BinaryOp::kMod: {
      if (y == 0) return invalid_argument("float {} by zero", op == BinaryOp::kMod ? "modulo" : "floor division");
      double mod = std::fmod(x, y);
      double div = (x - mod) / y;
      if (mod != 0 && ((y < 0) != (mod < 0))) {
        mod += y;
        div -= 1.0;
      }
      if (op == BinaryOp::kMod) return Value::number(mod == 0 ? std::copysign(0.0, y) : mod);
      double floor_div = std::floor(div);
      if (div - floor_div > 0.5) floor_div += 1.0;
      return Value::number(div == 0 ? std::copysign(0.0, x / y) : floor_div);
    }
    case BinaryOp::kPow:
      if (x == 0 && y < 0) return invalid_argument("0.0 cannot be raised to a negative power");
      return Value::number(std::pow(x, y));
    default:
      return invalid_argument("bad float operator");
  }
}

}  // namespace

std::string html_escape(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (char c : s) {
    switch (c) {
      case '&': out += "&amp;"; break;
      case '<': out += "&lt;"; break;
      case '>': out += "&gt;"; break;
      case '"': out += "&#34;"; break;
      case '\'': out += "&#39;"; break;
      default: out.push_back(c);
    }
  }
  return out;
}

Status undefined_error(const Value& undefined) {
  std::string_view hint = undefined.undefined_hint();
  if (hint.empty()) return invalid_argument("a value the template uses is undefined");
  return invalid_argument("{}", hint);
}

StatusOr<Value> binary_op(BinaryOp op, const Value& a, const Value& b, const RenderLimits& limits) {
  if (op == BinaryOp::kConcat) {
    std::string out = a.str();
    b.append_str(&out);
    if (out.size() > limits.max_output_bytes) return too_long(out.size(), limits);
    return Value::string(std::move(out));
  }
  if (a.is_undefined()) return undefined_error(a);
  if (b.is_undefined()) return undefined_error(b);
  if (a.is_numeric() && b.is_numeric()) return arithmetic(op, a, b);
  if (op == BinaryOp::kAdd) {
    if (a.is_string() && b.is_string()) {
      if (a.is_markup() != b.is_markup()) {
        // Markup + str escapes the plain operand (markupsafe's __add__ / __radd__).
        std::string out = a.is_markup() ? a.as_string() + html_escape(b.as_string())
                                        : html_escape(a.as_string()) + b.as_string();
        if (out.size() > limits.max_output_bytes) return too_long(out.size(), limits);
        return Value::markup(std::move(out));
      }
      size_t n = a.as_string().size() + b.as_string().size();
      if (n > limits.max_output_bytes) return too_long(n, limits);
      std::string out;
      out.reserve(n);
      out += a.as_string();
      out += b.as_string();
      return a.is_markup() ? Value::markup(std::move(out)) : Value::string(std::move(out));
    }
    if (a.is_string()) {
      return invalid_argument("can only concatenate str (not \"{}\") to str", b.type_name());
    }
    if (a.is_list_or_tuple() && b.is_list_or_tuple() && a.seq_kind() == b.seq_kind()) {
      ValueList out = a.as_list();
      out.insert(out.end(), b.as_list().begin(), b.as_list().end());
      return Value::sequence(std::move(out), a.seq_kind());
    }
    if (a.is_list_or_tuple()) {
      return invalid_argument("can only concatenate {} (not \"{}\") to {}", a.type_name(), b.type_name(),
                              a.type_name());
    }
    return unsupported(op, a, b);
  }
  if (op == BinaryOp::kMul) {
    if ((a.is_string() || a.is_list_or_tuple()) && (b.is_int() || b.is_bool())) return repeat(a, b.as_int(), limits);
    if ((b.is_string() || b.is_list_or_tuple()) && (a.is_int() || a.is_bool())) return repeat(b, a.as_int(), limits);
    if (a.is_string() || b.is_string()) {
      return invalid_argument("can't multiply sequence by non-int of type '{}'",
                              a.is_string() ? b.type_name() : a.type_name());
    }
  }
  if (op == BinaryOp::kMod && a.is_string()) {
    return invalid_argument("printf-style string formatting ('%' on a string) is not supported; "
                            "use '~' or the format filter");
  }
  return unsupported(op, a, b);
}

StatusOr<Value> unary_op(char op, const Value& v) {
  if (v.is_undefined()) return undefined_error(v);
  if (v.is_float()) return Value::number(op == '-' ? -v.as_double() : v.as_double());
  if (v.is_int() || v.is_bool()) {
    int64_t i = v.as_int();
    if (op == '+') return Value::integer(i);
    if (i == INT64_MIN) return invalid_argument("integer overflow in unary '-'");
    return Value::integer(-i);
  }
  return invalid_argument("bad operand type for unary {}: '{}'", op, v.type_name());
}

StatusOr<int> order(const Value& a, const Value& b) {
  if (a.is_undefined()) return undefined_error(a);
  if (b.is_undefined()) return undefined_error(b);
  if (a.is_numeric() && b.is_numeric()) {
    if (a.is_float() || b.is_float()) {
      double x = a.as_double(), y = b.as_double();
      return x < y ? -1 : (x > y ? 1 : 0);
    }
    int64_t x = a.as_int(), y = b.as_int();
    return x < y ? -1 : (x > y ? 1 : 0);
  }
  if (a.is_string() && b.is_string()) {
    int c = a.as_string().compare(b.as_string());  // UTF-8 byte order == code point order
    return c < 0 ? -1 : (c > 0 ? 1 : 0);
  }
  if (a.is_list_or_tuple() && b.is_list_or_tuple() && a.seq_kind() == b.seq_kind()) {
    const ValueList& x = a.as_list();
    const ValueList& y = b.as_list();
    for (size_t i = 0; i < x.size() && i < y.size(); ++i) {
      if (values_equal(x[i], y[i])) continue;
      return order(x[i], y[i]);
    }
    return x.size() < y.size() ? -1 : (x.size() > y.size() ? 1 : 0);
  }
  return invalid_argument("'<' not supported between instances of '{}' and '{}'", a.type_name(),
                          b.type_name());
}

StatusOr<bool> contains(const Value& container, const Value& item) {
  switch (container.kind()) {
    case Value::Kind::kUndefined:
      return false;  // Jinja's Undefined iterates as empty
    case Value::Kind::kString:
      if (!item.is_string()) {
        return invalid_argument("'in <string>' requires string as left operand, not {}", item.type_name());
      }
      return container.as_string().find(item.as_string()) != std::string::npos;
    case Value::Kind::kList:
      for (const Value& v : container.as_list()) {
        if (values_equal(v, item)) return true;
      }
      return false;
    case Value::Kind::kDict:
      if (!is_hashable(item) && !item.is_undefined()) {
        return invalid_argument("unhashable type: '{}'", item.type_name());
      }
      return container.as_dict().find(item) != nullptr;
    default:
      return invalid_argument("argument of type '{}' is not iterable", container.type_name());
  }
}

StatusOr<bool> compare_op(CompareOp op, const Value& a, const Value& b) {
  switch (op) {
    case CompareOp::kEq: return values_equal(a, b);
    case CompareOp::kNe: return !values_equal(a, b);
    case CompareOp::kIn: return contains(b, a);
    case CompareOp::kNotIn: {
      ASSIGN_OR_RETURN(bool in, contains(b, a));
      return !in;
    }
    default:
      break;
  }
  ASSIGN_OR_RETURN(int c, order(a, b));
  switch (op) {
    case CompareOp::kLt: return c < 0;
    case CompareOp::kLe: return c <= 0;
    case CompareOp::kGt: return c > 0;
    case CompareOp::kGe: return c >= 0;
    default: return false;
  }
}

}  // namespace tandem::text::jinja
