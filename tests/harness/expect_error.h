// Checking the errors the framework throws: every bad input must raise a trifecta::Error whose message names
// the op (or file) and what was wrong. One set of helpers for every test that checks such a message.
#pragma once

#include <gtest/gtest.h>

#include <functional>
#include <initializer_list>
#include <string>
#include <string_view>
#include <typeinfo>

#include "tensor/error.h"

namespace trifecta::testing {

// The message of the trifecta::Error that f throws; the test fails if f throws anything else, or nothing.
inline std::string error_message(const std::function<void()>& f) {
  try {
    f();
  } catch (const Error& e) {
    return e.what();
  } catch (const std::exception& e) {
    ADD_FAILURE() << "threw a " << typeid(e).name() << " instead of trifecta::Error: " << e.what();
    return "";
  }
  ADD_FAILURE() << "did not throw";
  return "";
}

// Expects f to throw a trifecta::Error whose message contains every one of parts.
inline void expect_error(const std::function<void()>& f, std::initializer_list<std::string_view> parts) {
  const std::string message = error_message(f);
  for (const std::string_view part : parts)
    EXPECT_NE(message.find(part), std::string::npos) << "expected '" << part << "' in the message: " << message;
}
template <class... Parts>
void expect_error(const std::function<void()>& f, const Parts&... parts) {
  expect_error(f, {std::string_view(parts)...});
}

// As expect_error, and the message starts with "op:", naming the op that rejected the input.
template <class... Parts>
void expect_op_error(const std::function<void()>& f, std::string_view op, const Parts&... parts) {
  const std::string message = error_message(f);
  EXPECT_EQ(message.rfind(std::string(op) + ":", 0), 0u) << "expected the message to start with '" << op
                                                          << ":': " << message;
  for (const std::string_view part : {std::string_view(parts)...})
    EXPECT_NE(message.find(part), std::string::npos) << "expected '" << part << "' in the message: " << message;
}

}  // namespace trifecta::testing

// EXPECT_ERROR_CONTAINS(statement, "part", ...): statement throws a trifecta::Error mentioning every part.
#define EXPECT_ERROR_CONTAINS(statement, ...) \
  ::trifecta::testing::expect_error([&] { (void)(statement); }, {__VA_ARGS__})
