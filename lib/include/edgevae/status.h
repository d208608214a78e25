// Status and StatusOr: how every library call reports failure. The library never prints and never
// throws; a failed Status carries one line that names the file, offset or field, what was expected
// and what was found. The CLI turns it into one line on stderr and an exit code.
#ifndef EDGEVAE_STATUS_H_
#define EDGEVAE_STATUS_H_

#include <cassert>
#include <optional>
#include <string>
#include <utility>

namespace edgevae {

enum class StatusCode {
  kOk = 0,
  kInvalidArgument,  // a caller passed something out of range (a usage error)
  kDataError,        // bad input: a malformed, truncated or mismatched file or value
  kIoError,          // the operating system refused (open, read, write, rename)
  kUnsupported,      // well-formed but not supported here (newer version, shape not compiled in)
  kInternal,         // a dependency failed (XNNPACK, allocation)
};

class [[nodiscard]] Status {
 public:
  Status() = default;
  Status(StatusCode code, std::string message) : code_(code), message_(std::move(message)) {}

  static Status Ok() { return Status(); }
  bool ok() const { return code_ == StatusCode::kOk; }
  StatusCode code() const { return code_; }
  const std::string& message() const { return message_; }

 private:
  StatusCode code_ = StatusCode::kOk;
  std::string message_;
};

inline Status InvalidArgument(std::string m) { return {StatusCode::kInvalidArgument, std::move(m)}; }
inline Status DataError(std::string m) { return {StatusCode::kDataError, std::move(m)}; }
inline Status IoError(std::string m) { return {StatusCode::kIoError, std::move(m)}; }
inline Status Unsupported(std::string m) { return {StatusCode::kUnsupported, std::move(m)}; }
inline Status Internal(std::string m) { return {StatusCode::kInternal, std::move(m)}; }

// A value or the Status saying why there is none.
template <typename T>
class [[nodiscard]] StatusOr {
 public:
  StatusOr(Status status) : status_(std::move(status)) { assert(!status_.ok()); }  // NOLINT
  StatusOr(T value) : value_(std::move(value)) {}                                  // NOLINT

  bool ok() const { return status_.ok(); }
  const Status& status() const { return status_; }
  T& value() & { return *value_; }
  const T& value() const& { return *value_; }
  T&& value() && { return std::move(*value_); }
  T* operator->() { return &*value_; }
  const T* operator->() const { return &*value_; }
  T& operator*() & { return *value_; }

 private:
  Status status_;
  std::optional<T> value_;
};

#define EVAE_CONCAT_INNER_(a, b) a##b
#define EVAE_CONCAT_(a, b) EVAE_CONCAT_INNER_(a, b)

#define EVAE_RETURN_IF_ERROR(expr)                  \
  do {                                              \
    ::edgevae::Status evae_status_ = (expr);        \
    if (!evae_status_.ok()) return evae_status_;    \
  } while (0)

#define EVAE_ASSIGN_OR_RETURN_IMPL_(tmp, lhs, expr) \
  auto tmp = (expr);                                \
  if (!tmp.ok()) return tmp.status();               \
  lhs = std::move(tmp).value()

#define EVAE_ASSIGN_OR_RETURN(lhs, expr) \
  EVAE_ASSIGN_OR_RETURN_IMPL_(EVAE_CONCAT_(evae_statusor_, __LINE__), lhs, expr)

}  // namespace edgevae

#endif  // EDGEVAE_STATUS_H_
