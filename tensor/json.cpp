// JSON parsing (recursive descent, strict: no trailing commas, no comments) and compact writing.
#include "tensor/json.h"

#include <cmath>
#include <cstdio>

#include "tensor/error.h"

namespace trifecta {

namespace {

const char* type_name(const Json& j) {
  if (j.is_null()) return "null";
  if (j.is_bool()) return "a boolean";
  if (j.is_number()) return "a number";
  if (j.is_string()) return "a string";
  if (j.is_array()) return "an array";
  return "an object";
}

class Parser {
 public:
  Parser(const std::string& text, const std::string& what) : text_(text), what_(what) {}

  Json parse_document() {
    Json value = parse_value(0);
    skip_space();
    if (pos_ != text_.size()) fail("unexpected characters after the JSON value");
    return value;
  }

 private:
  [[noreturn]] void fail(const std::string& message) const {
    TRIFECTA_FAIL(what_, "invalid JSON at byte ", pos_, ": ", message);
  }
  void skip_space() {
    while (pos_ < text_.size() && (text_[pos_] == ' ' || text_[pos_] == '\n' || text_[pos_] == '\r' || text_[pos_] == '\t'))
      ++pos_;
  }
  char peek() {
    skip_space();
    if (pos_ >= text_.size()) fail("unexpected end of input");
    return text_[pos_];
  }
  void expect(char c) {
    if (peek() != c) fail(std::string("expected '") + c + "'");
    ++pos_;
  }
  bool consume_literal(const char* literal) {
    const size_t n = std::char_traits<char>::length(literal);
    if (text_.compare(pos_, n, literal) != 0) return false;
    pos_ += n;
    return true;
  }

  Json parse_value(int depth) {
    if (depth > 64) fail("nesting deeper than 64 levels");
    const char c = peek();
    if (c == '{') return parse_object(depth);
    if (c == '[') return parse_array(depth);
    if (c == '"') return Json(parse_string());
    if (consume_literal("true")) return Json(true);
    if (consume_literal("false")) return Json(false);
    if (consume_literal("null")) return Json();
    return Json(parse_number());
  }

  Json parse_object(int depth) {
    expect('{');
    Json::Object object;
    if (peek() == '}') {
      ++pos_;
      return Json(std::move(object));
    }
    while (true) {
      if (peek() != '"') fail("expected a string key");
      std::string key = parse_string();
      expect(':');
      object[key] = parse_value(depth + 1);
      if (peek() == ',') {
        ++pos_;
        continue;
      }
      expect('}');
      return Json(std::move(object));
    }
  }

  Json parse_array(int depth) {
    expect('[');
    Json::Array array;
    if (peek() == ']') {
      ++pos_;
      return Json(std::move(array));
    }
    while (true) {
      array.push_back(parse_value(depth + 1));
      if (peek() == ',') {
        ++pos_;
        continue;
      }
      expect(']');
      return Json(std::move(array));
    }
  }

  std::string parse_string() {
    expect('"');
    std::string out;
    while (true) {
      if (pos_ >= text_.size()) fail("unterminated string");
      const char c = text_[pos_++];
      if (c == '"') return out;
      if (static_cast<unsigned char>(c) < 0x20) fail("control character in string");
      if (c != '\\') {
        out += c;
        continue;
      }
      if (pos_ >= text_.size()) fail("unterminated escape");
      const char e = text_[pos_++];
      switch (e) {
        case '"': out += '"'; break;
        case '\\': out += '\\'; break;
        case '/': out += '/'; break;
        case 'b': out += '\b'; break;
        case 'f': out += '\f'; break;
        case 'n': out += '\n'; break;
        case 'r': out += '\r'; break;
        case 't': out += '\t'; break;
        case 'u': append_utf8(out, parse_hex4()); break;
        default: fail(std::string("bad escape \\") + e);
      }
    }
  }

  unsigned parse_hex4() {
    if (pos_ + 4 > text_.size()) fail("truncated \\u escape");
    unsigned code = 0;
    for (int i = 0; i < 4; ++i) {
      const char h = text_[pos_++];
      code <<= 4;
      if (h >= '0' && h <= '9') code |= static_cast<unsigned>(h - '0');
      else if (h >= 'a' && h <= 'f') code |= static_cast<unsigned>(h - 'a' + 10);
      else if (h >= 'A' && h <= 'F') code |= static_cast<unsigned>(h - 'A' + 10);
      else fail("bad hex digit in \\u escape");
    }
    return code;
  }

  void append_utf8(std::string& o, unsigned code) {
    if (code >= 0xD800 && code <= 0xDBFF) {  // a surrogate pair encodes one code point above U+FFFF
      if (!consume_literal("\\u")) fail("unpaired surrogate");
      const unsigned low = parse_hex4();
      if (low < 0xDC00 || low > 0xDFFF) fail("unpaired surrogate");
      code = 0x10000 + ((code - 0xD800) << 10) + (low - 0xDC00);
    }
    if (code < 0x80) {
      o += static_cast<char>(code);
    } else if (code < 0x800) {
      o += static_cast<char>(0xC0 | (code >> 6));
      o += static_cast<char>(0x80 | (code & 0x3F));
    } else if (code < 0x10000) {
      o += static_cast<char>(0xE0 | (code >> 12));
      o += static_cast<char>(0x80 | ((code >> 6) & 0x3F));
      o += static_cast<char>(0x80 | (code & 0x3F));
    } else {
      o += static_cast<char>(0xF0 | (code >> 18));
      o += static_cast<char>(0x80 | ((code >> 12) & 0x3F));
      o += static_cast<char>(0x80 | ((code >> 6) & 0x3F));
      o += static_cast<char>(0x80 | (code & 0x3F));
    }
  }

  double parse_number() {
    const size_t start = pos_;
    if (pos_ < text_.size() && text_[pos_] == '-') ++pos_;
    while (pos_ < text_.size() && ((text_[pos_] >= '0' && text_[pos_] <= '9') || text_[pos_] == '.' ||
                                   text_[pos_] == 'e' || text_[pos_] == 'E' || text_[pos_] == '+' || text_[pos_] == '-'))
      ++pos_;
    if (pos_ == start) fail("expected a value");
    const std::string token = text_.substr(start, pos_ - start);
    char* end = nullptr;
    const double value = std::strtod(token.c_str(), &end);
    if (end != token.c_str() + token.size()) fail("bad number '" + token + "'");
    return value;
  }

  const std::string& text_;
  const std::string& what_;
  size_t pos_ = 0;
};

void write_string(std::string& out, const std::string& s) {
  out += '"';
  for (const char c : s) {
    switch (c) {
      case '"': out += "\\\""; break;
      case '\\': out += "\\\\"; break;
      case '\n': out += "\\n"; break;
      case '\r': out += "\\r"; break;
      case '\t': out += "\\t"; break;
      default:
        if (static_cast<unsigned char>(c) < 0x20) {
          char buffer[8];
          std::snprintf(buffer, sizeof buffer, "\\u%04x", static_cast<unsigned>(c));
          out += buffer;
        } else {
          out += c;
        }
    }
  }
  out += '"';
}

void write(std::string& out, const Json& j) {
  if (j.is_null()) out += "null";
  else if (j.is_bool()) out += j.as_bool("json") ? "true" : "false";
  else if (j.is_number()) {
    const double v = j.as_number("json");
    TRIFECTA_CHECK(std::isfinite(v), "json", "cannot write a non-finite number");
    char buffer[32];
    if (v == std::floor(v) && std::fabs(v) < 9007199254740992.0) std::snprintf(buffer, sizeof buffer, "%.0f", v);
    else std::snprintf(buffer, sizeof buffer, "%.17g", v);
    out += buffer;
  } else if (j.is_string()) write_string(out, j.as_string("json"));
  else if (j.is_array()) {
    out += '[';
    bool first = true;
    for (const Json& item : j.as_array("json")) {
      if (!first) out += ',';
      first = false;
      write(out, item);
    }
    out += ']';
  } else {
    out += '{';
    bool first = true;
    for (const auto& [key, item] : j.as_object("json")) {
      if (!first) out += ',';
      first = false;
      write_string(out, key);
      out += ':';
      write(out, item);
    }
    out += '}';
  }
}

}  // namespace

bool Json::as_bool(const char* what) const {
  TRIFECTA_CHECK(is_bool(), what, "expected a boolean, found ", type_name(*this));
  return std::get<bool>(value_);
}
double Json::as_number(const char* what) const {
  TRIFECTA_CHECK(is_number(), what, "expected a number, found ", type_name(*this));
  return std::get<double>(value_);
}
int64_t Json::as_int(const char* what) const {
  const double v = as_number(what);
  TRIFECTA_CHECK(v == std::floor(v) && std::fabs(v) <= 9007199254740992.0, what, "expected an integer, found ", v);
  return static_cast<int64_t>(v);
}
const std::string& Json::as_string(const char* what) const {
  TRIFECTA_CHECK(is_string(), what, "expected a string, found ", type_name(*this));
  return std::get<std::string>(value_);
}
const Json::Array& Json::as_array(const char* what) const {
  TRIFECTA_CHECK(is_array(), what, "expected an array, found ", type_name(*this));
  return *std::get<std::shared_ptr<Array>>(value_);
}
const Json::Object& Json::as_object(const char* what) const {
  TRIFECTA_CHECK(is_object(), what, "expected an object, found ", type_name(*this));
  return *std::get<std::shared_ptr<Object>>(value_);
}
const Json& Json::at(const std::string& key, const char* what) const {
  const Object& object = as_object(what);
  const auto it = object.find(key);
  TRIFECTA_CHECK(it != object.end(), what, "missing key '", key, "'");
  return it->second;
}
bool Json::contains(const std::string& key) const { return is_object() && as_object("json").count(key) > 0; }

std::string Json::dump() const {
  std::string out;
  write(out, *this);
  return out;
}

Json Json::parse(const std::string& text, const std::string& what) { return Parser(text, what).parse_document(); }

}  // namespace trifecta
