// Strict JSON parsing and checked writing on top of nlohmann::json. nlohmann already rejects malformed text
// and overflowing numbers; what it lets through (duplicate keys: it keeps the last) is caught by its parser
// callback, which sees every key as it is read.
#include "tensor/json.h"

#include <cmath>
#include <iterator>
#include <set>
#include <vector>

#include "tensor/error.h"

namespace trifecta::json {

namespace {

// Deeper documents are refused: nothing we read nests beyond a few levels, and dump() and the walkers below
// recurse, so a hostile "[[[[..." must not reach them.
constexpr int kMaxDepth = 64;

// A const char* that records how far the parser has read, so errors found by the callback (which is not
// told the position) can say where they are.
class TrackedChars {
 public:
  using iterator_category = std::input_iterator_tag;
  using value_type = char;
  using difference_type = std::ptrdiff_t;
  using pointer = const char*;
  using reference = const char&;

  TrackedChars(const char* at, const char** reached) : at_(at), reached_(reached) {}
  reference operator*() const { return *at_; }
  TrackedChars& operator++() {
    *reached_ = ++at_;
    return *this;
  }
  TrackedChars operator++(int) {
    TrackedChars before = *this;
    ++*this;
    return before;
  }
  bool operator==(const TrackedChars& other) const { return at_ == other.at_; }

 private:
  const char* at_;
  const char** reached_;
};

// nlohmann's messages start with an id such as "[json.exception.parse_error.101] "; the rest reads well.
std::string without_id(const char* message) {
  const std::string text = message;
  const size_t end = text.find("] ");
  return text[0] == '[' && end != std::string::npos ? text.substr(end + 2) : text;
}

std::string describe(const Json& value) {
  if (value.is_number() || value.is_boolean()) return std::string(value.type_name()) + " " + value.dump();
  return value.type_name();
}

void check_finite(const Json& value, std::string_view what) {
  if (value.is_number_float())
    TRIFECTA_CHECK(std::isfinite(value.get<double>()), what, "cannot write the non-finite number ",
                   value.get<double>(), " as JSON");
  if (value.is_structured())
    for (const Json& item : value) check_finite(item, what);
}

}  // namespace

Json parse(std::string_view text, std::string_view what) {
  const char* reached = text.data();
  auto position = [&] { return "at byte " + std::to_string(reached - text.data()); };
  std::vector<std::set<std::string>> keys_of_open_objects;
  const Json::parser_callback_t strict = [&](int depth, Json::parse_event_t event, Json& parsed) {
    switch (event) {
      case Json::parse_event_t::object_start:
      case Json::parse_event_t::array_start:
        TRIFECTA_CHECK(depth < kMaxDepth, what, "invalid JSON ", position(), ": nested deeper than ", kMaxDepth,
                       " levels");
        if (event == Json::parse_event_t::object_start) keys_of_open_objects.emplace_back();
        break;
      case Json::parse_event_t::key:
        TRIFECTA_CHECK(keys_of_open_objects.back().insert(parsed.get<std::string>()).second, what, "invalid JSON ",
                       position(), ": duplicate key ", parsed.dump());
        break;
      case Json::parse_event_t::object_end:
        keys_of_open_objects.pop_back();
        break;
      default:
        break;
    }
    return true;
  };
  try {
    return Json::parse(TrackedChars(text.data(), &reached), TrackedChars(text.data() + text.size(), &reached),
                       strict);
  } catch (const Json::parse_error& e) {
    TRIFECTA_FAIL(what, "invalid JSON: ", without_id(e.what()));
  } catch (const Json::exception& e) {  // out_of_range.406: a number beyond a double's range, such as 1e400
    TRIFECTA_FAIL(what, "invalid JSON ", position(), ": ", without_id(e.what()));
  }
}

std::string dump(const Json& value, std::string_view what) {
  check_finite(value, what);
  try {
    return value.dump();
  } catch (const Json::exception& e) {  // type_error.316: a string that is not valid UTF-8
    TRIFECTA_FAIL(what, "cannot write JSON: ", without_id(e.what()));
  }
}

const Json& at(const Json& object, const std::string& key, std::string_view what) {
  const Json::object_t& members = as_object(object, what);
  const auto it = members.find(key);
  TRIFECTA_CHECK(it != members.end(), what, "missing key '", key, "'");
  return it->second;
}

bool as_bool(const Json& value, std::string_view what) {
  TRIFECTA_CHECK(value.is_boolean(), what, "expected a boolean, found ", describe(value));
  return value.get<bool>();
}

double as_number(const Json& value, std::string_view what) {
  TRIFECTA_CHECK(value.is_number(), what, "expected a number, found ", describe(value));
  return value.get<double>();
}

int64_t as_int(const Json& value, std::string_view what) {
  TRIFECTA_CHECK(value.is_number_integer(), what, "expected an integer, found ", describe(value));
  if (value.is_number_unsigned())
    TRIFECTA_CHECK(value.get<uint64_t>() <= static_cast<uint64_t>(INT64_MAX), what, "integer ", value.dump(),
                   " does not fit in int64");
  return value.get<int64_t>();
}

uint64_t as_uint(const Json& value, std::string_view what) {
  TRIFECTA_CHECK(value.is_number_integer(), what, "expected a non-negative integer, found ", describe(value));
  if (!value.is_number_unsigned())
    TRIFECTA_CHECK(value.get<int64_t>() >= 0, what, "expected a non-negative integer, found ", value.dump());
  return value.get<uint64_t>();
}

const std::string& as_string(const Json& value, std::string_view what) {
  TRIFECTA_CHECK(value.is_string(), what, "expected a string, found ", describe(value));
  return value.get_ref<const std::string&>();
}

const Json::array_t& as_array(const Json& value, std::string_view what) {
  TRIFECTA_CHECK(value.is_array(), what, "expected an array, found ", describe(value));
  return value.get_ref<const Json::array_t&>();
}

const Json::object_t& as_object(const Json& value, std::string_view what) {
  TRIFECTA_CHECK(value.is_object(), what, "expected an object, found ", describe(value));
  return value.get_ref<const Json::object_t&>();
}

}  // namespace trifecta::json
