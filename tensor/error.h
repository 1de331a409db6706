// Errors: every failure in trifecta is a trifecta::Error whose message names the op (or file) and what was
// wrong. Nothing aborts; callers can catch and report. TRIFECTA_CHECK builds the message lazily, so a
// passing check costs one branch.
#pragma once

#include <sstream>
#include <stdexcept>
#include <string>

namespace trifecta {

class Error : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

namespace detail {
template <class... Parts>
std::string concat(const Parts&... parts) {
  std::ostringstream out;
  (out << ... << parts);
  return out.str();
}
}  // namespace detail

}  // namespace trifecta

// TRIFECTA_CHECK(cond, "op", parts...): throws Error("op: parts...") when cond is false.
#define TRIFECTA_CHECK(cond, op, ...)                                                  \
  do {                                                                                 \
    if (!(cond)) [[unlikely]]                                                          \
      throw ::trifecta::Error(::trifecta::detail::concat(op, ": ", __VA_ARGS__));      \
  } while (0)

#define TRIFECTA_FAIL(op, ...) throw ::trifecta::Error(::trifecta::detail::concat(op, ": ", __VA_ARGS__))
