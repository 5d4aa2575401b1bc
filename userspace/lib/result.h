// Result<T>: a value or an error (errno-style code + a message for the user).
// Functions return Result<T> instead of using output parameters.
#pragma once

#include <cerrno>
#include <string>
#include <utility>
#include <variant>

namespace qbd {

struct Error {
	int code = EINVAL;    // positive errno value
	std::string message;  // says which value broke which rule
};

template <class T>
class [[nodiscard]] Result {
public:
	Result(T value) : v_(std::move(value)) {}
	Result(Error err) : v_(std::move(err)) {}

	bool ok() const { return v_.index() == 0; }
	explicit operator bool() const { return ok(); }
	T &value() & { return std::get<0>(v_); }
	const T &value() const & { return std::get<0>(v_); }
	T &&value() && { return std::get<0>(std::move(v_)); }
	T *operator->() { return &value(); }
	const T *operator->() const { return &value(); }
	T &operator*() & { return value(); }
	const T &operator*() const & { return value(); }
	const Error &error() const { return std::get<1>(v_); }

private:
	std::variant<T, Error> v_;
};

struct Ok {};
using Status = Result<Ok>;
inline Status ok_status() { return Ok{}; }
inline Error make_error(int code, std::string msg) { return Error{code, std::move(msg)}; }

}  // namespace qbd
