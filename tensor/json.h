// A small JSON value with a strict parser and a writer: enough for safetensors headers, checkpoint configs
// and metrics lines. Numbers are doubles (exact for integers below 2^53, which covers byte offsets).
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <variant>
#include <vector>

namespace trifecta {

class Json {
 public:
  using Array = std::vector<Json>;
  using Object = std::map<std::string, Json>;

  Json() = default;  // null
  Json(std::nullptr_t) {}
  Json(bool b) : value_(b) {}
  Json(double d) : value_(d) {}
  Json(int v) : value_(static_cast<double>(v)) {}
  Json(int64_t v) : value_(static_cast<double>(v)) {}
  Json(uint64_t v) : value_(static_cast<double>(v)) {}
  Json(const char* s) : value_(std::string(s)) {}
  Json(std::string s) : value_(std::move(s)) {}
  Json(Array a) : value_(std::make_shared<Array>(std::move(a))) {}
  Json(Object o) : value_(std::make_shared<Object>(std::move(o))) {}

  bool is_null() const { return value_.index() == 0; }
  bool is_bool() const { return value_.index() == 1; }
  bool is_number() const { return value_.index() == 2; }
  bool is_string() const { return value_.index() == 3; }
  bool is_array() const { return value_.index() == 4; }
  bool is_object() const { return value_.index() == 5; }

  // Typed access; `what` names the caller for the error when the type is wrong.
  bool as_bool(const char* what) const;
  double as_number(const char* what) const;
  int64_t as_int(const char* what) const;  // a number that is an exact integer
  const std::string& as_string(const char* what) const;
  const Array& as_array(const char* what) const;
  const Object& as_object(const char* what) const;
  // Member of an object, or an error naming what and the key.
  const Json& at(const std::string& key, const char* what) const;
  bool contains(const std::string& key) const;

  std::string dump() const;  // compact, keys sorted
  // Parses text; errors name `what` (a file name, say) and the byte position.
  static Json parse(const std::string& text, const std::string& what);

 private:
  std::variant<std::monostate, bool, double, std::string, std::shared_ptr<Array>, std::shared_ptr<Object>> value_;
};

}  // namespace trifecta
