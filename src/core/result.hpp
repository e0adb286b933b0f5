// Expected failures as values: a small Result<T> with a typed error code that
// maps onto HTTP problem statuses at the API edge.
#pragma once

#include <cassert>
#include <cstdint>
#include <string>
#include <utility>
#include <variant>

namespace rh {

enum class Errc {
  invalid_argument,  // bad input: 400/422
  not_found,         // 404
  conflict,          // 409 (unique key, state clash)
  precondition,      // 412/409: state does not allow it
  payment_required,  // 402: the balance does not cover it
  unauthorized,      // 401
  forbidden,         // 403
  too_many,          // 429
  unavailable,       // 503: a dependency is down, try later
  timeout,           // 504
  internal,          // 500: a bug or an unexpected failure
};

const char* errc_name(Errc c);

struct Error {
  Errc code = Errc::internal;
  std::string message;
  std::string field;   // the input field at fault, when there is one ("branding.primary_color")
  std::string reason;  // a machine-readable problem code overriding the default ("totp_required")
  std::int64_t retry_after_s = 0;  // too_many/unavailable: when to try again

  Error() = default;
  Error(Errc c, std::string m) : code(c), message(std::move(m)) {}
  Error(Errc c, std::string f, std::string m)
      : code(c), message(std::move(m)), field(std::move(f)) {}
};

template <class T>
class [[nodiscard]] Result {
 public:
  Result(T v) : v_(std::in_place_index<0>, std::move(v)) {}      // NOLINT implicit
  Result(Error e) : v_(std::in_place_index<1>, std::move(e)) {}  // NOLINT implicit

  bool ok() const { return v_.index() == 0; }
  explicit operator bool() const { return ok(); }

  T& value() & {
    assert(ok());
    return std::get<0>(v_);
  }
  const T& value() const& {
    assert(ok());
    return std::get<0>(v_);
  }
  T&& value() && {
    assert(ok());
    return std::get<0>(std::move(v_));
  }
  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }

  const Error& error() const {
    assert(!ok());
    return std::get<1>(v_);
  }
  Error&& take_error() {
    assert(!ok());
    return std::get<1>(std::move(v_));
  }

 private:
  std::variant<T, Error> v_;
};

template <>
class [[nodiscard]] Result<void> {
 public:
  Result() = default;
  Result(Error e) : err_(std::move(e)), ok_(false) {}  // NOLINT implicit
  bool ok() const { return ok_; }
  explicit operator bool() const { return ok_; }
  const Error& error() const {
    assert(!ok_);
    return err_;
  }
  Error&& take_error() {
    assert(!ok_);
    return std::move(err_);
  }

 private:
  Error err_;
  bool ok_ = true;
};

using Status = Result<void>;

inline Error make_error(Errc c, std::string m) {
  return Error(c, std::move(m));
}

// An error with a specific problem code: make_reason(Errc::forbidden,
// "totp_required", "enrol TOTP first").
inline Error make_reason(Errc c, std::string reason, std::string m) {
  Error e(c, std::move(m));
  e.reason = std::move(reason);
  return e;
}

}  // namespace rh

#define RH_CONCAT_INNER(a, b) a##b
#define RH_CONCAT(a, b) RH_CONCAT_INNER(a, b)

// Propagates an error from an expression returning Result<...>.
#define RH_TRY(expr) RH_TRY_IMPL(expr, RH_CONCAT(rh_try_, __COUNTER__))
#define RH_TRY_IMPL(expr, name)               \
  do {                                        \
    auto&& name = (expr);                     \
    if (!name.ok()) return name.take_error(); \
  } while (0)

// RH_ASSIGN(T var, expr): declares var from a Result's value, or returns its error.
#define RH_ASSIGN(lhs, expr) RH_ASSIGN_IMPL(lhs, expr, RH_CONCAT(rh_assign_, __COUNTER__))
#define RH_ASSIGN_IMPL(lhs, expr, name)     \
  auto name = (expr);                       \
  if (!name.ok()) return name.take_error(); \
  lhs = std::move(name).value()
