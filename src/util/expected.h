#pragma once
// Expected<T>: the error-or-value return used at every module boundary.
// Exceptions are reserved for the edges (CLI parsing, HTTP).
#include <cassert>
#include <string>
#include <utility>
#include <variant>

#include <fmt/format.h>

namespace ig {

// What kind of failure, for edges that map errors to protocol codes (HTTP
// status, exit codes). Most errors are Invalid input or Internal.
enum class ErrorCode {
    Invalid,      // the caller's input is wrong (HTTP 400)
    NotFound,     // 404
    Unsupported,  // valid but not supported (400, naming the construct)
    QueueFull,    // overloaded, retry later (429/503)
    Unavailable,  // shutting down / not ready (503)
    Cancelled,    // the request was cancelled
    Io,           // file system or network failure
    Internal,     // a bug or broken invariant (500)
};

struct Error {
    std::string message;
    ErrorCode code = ErrorCode::Invalid;
};

template <class... Args>
Error make_error(fmt::format_string<Args...> f, Args&&... args) {
    return Error{fmt::format(f, std::forward<Args>(args)...)};
}

template <class... Args>
Error make_error(ErrorCode code, fmt::format_string<Args...> f, Args&&... args) {
    return Error{fmt::format(f, std::forward<Args>(args)...), code};
}

template <class T>
class [[nodiscard]] Expected {
  public:
    Expected(T value) : v_(std::in_place_index<0>, std::move(value)) {}
    Expected(Error e) : v_(std::in_place_index<1>, std::move(e)) {}

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
    T* operator->() { return &value(); }
    const T* operator->() const { return &value(); }
    T& operator*() & { return value(); }
    const T& operator*() const& { return value(); }

    const Error& error() const {
        assert(!ok());
        return std::get<1>(v_);
    }

  private:
    std::variant<T, Error> v_;
};

template <>
class [[nodiscard]] Expected<void> {
  public:
    Expected() = default;
    Expected(Error e) : err_(std::move(e)), ok_(false) {}

    bool ok() const { return ok_; }
    explicit operator bool() const { return ok_; }
    const Error& error() const {
        assert(!ok_);
        return err_;
    }

  private:
    Error err_;
    bool ok_ = true;
};

using Status = Expected<void>;

}  // namespace ig

// Propagate an error from an Expected-returning expression.
#define IG_TRY(expr)                                             \
    do {                                                         \
        auto ig_try_result_ = (expr);                            \
        if (!ig_try_result_.ok()) return ig_try_result_.error(); \
    } while (0)

// Assign the value of an Expected-returning expression, or propagate its error.
#define IG_ASSIGN_OR_RETURN(dst, expr)                                 \
    do {                                                               \
        auto ig_assign_result_ = (expr);                               \
        if (!ig_assign_result_.ok()) return ig_assign_result_.error(); \
        dst = std::move(ig_assign_result_).value();                    \
    } while (0)
