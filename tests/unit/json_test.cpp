// The JSON layer (tensor/json.h): strict parsing of what files hand us, exact 64-bit integers, typed access
// whose errors name the caller, and writing that refuses what JSON cannot hold.
#include <gtest/gtest.h>

#include <cmath>
#include <limits>

#include "tensor/json.h"
#include "tests/harness/expect_error.h"

namespace trifecta {
namespace {

using testing::expect_op_error;

TEST(Json, ParsesAndWritesWhatItReads) {
  const std::string text = R"({"a":[1,2.5,-3e2,true,false,null],"b":{"c":"x\"\\\n\u00e9\ud83d\ude00"}})";
  const Json j = json::parse(text, "test");
  EXPECT_EQ(json::as_number(json::as_array(json::at(j, "a", "t"), "t")[2], "t"), -300.0);
  EXPECT_EQ(json::as_string(json::at(json::at(j, "b", "t"), "c", "t"), "t"), "x\"\\\n\xc3\xa9\xf0\x9f\x98\x80");
  EXPECT_EQ(json::dump(json::parse(json::dump(j, "t"), "again"), "t"), json::dump(j, "t"));
}

TEST(Json, RejectsMalformedInputNamingTheSource) {
  for (const char* bad : {"", "{", "[1,]", "{\"a\" 1}", "tru", "\"unterminated", "1 2", "{\"a\":1,}", "[\"\\x\"]",
                          "// comment\n1", "NaN", "Infinity", "'single'", "[\"\\ud800\"]"})
    expect_op_error([&] { json::parse(bad, "config.json"); }, "config.json", "invalid JSON");
}

// Each of these was accepted by the hand-written parser this layer replaced.
TEST(Json, RejectsNumbersOutsideTheGrammar) {
  for (const char* bad : {"+1", "01", "-01", "1.", ".5", "-.5", "1e", "1e+", "0x10", "[1.]", "{\"a\":+2}"})
    expect_op_error([&] { json::parse(bad, "numbers.json"); }, "numbers.json", "invalid JSON", "line 1, column");
}

TEST(Json, RejectsNumbersThatOverflowADouble) {
  for (const char* bad : {"1e400", "-1e400", "[0, 2e308]"})
    expect_op_error([&] { json::parse(bad, "big.json"); }, "big.json", "invalid JSON at byte", "overflow");
  EXPECT_EQ(json::as_number(json::parse("1e-400", "t"), "t"), 0.0) << "underflow to zero is exact enough";
}

TEST(Json, RejectsDuplicateKeysAtAnyDepth) {
  expect_op_error([] { json::parse(R"({"a":1,"a":2})", "dup.json"); }, "dup.json", "duplicate key \"a\"",
                  "at byte 10");  // just after the second "a"
  expect_op_error([] { json::parse(R"({"x":{"k":[],"k":{}}})", "dup.json"); }, "dup.json", "duplicate key \"k\"");
  // The same key in sibling objects is no duplicate.
  EXPECT_NO_THROW(json::parse(R"([{"k":1},{"k":2}])", "t"));
  EXPECT_NO_THROW(json::parse(R"({"a":{"a":{"a":1}}})", "t"));
}

TEST(Json, RejectsInvalidUtf8) {
  // A stray continuation byte, a truncated sequence, an overlong '/', an encoded surrogate, and 0xFF.
  for (const char* bad : {"\"\x80\"", "\"\xc3\"", "\"\xc0\xaf\"", "\"\xed\xa0\x80\"", "{\"\xff\":1}"})
    expect_op_error([&] { json::parse(bad, "utf8.json"); }, "utf8.json", "invalid JSON", "UTF-8");
  EXPECT_EQ(json::as_string(json::parse("\"\xc3\xa9\"", "t"), "t"), "\xc3\xa9");
}

TEST(Json, RejectsDeepNesting) {
  const std::string deep = std::string(100, '[') + std::string(100, ']');
  expect_op_error([&] { json::parse(deep, "deep.json"); }, "deep.json", "nested deeper than 64");
  const std::string fine = std::string(60, '[') + std::string(60, ']');
  EXPECT_NO_THROW(json::parse(fine, "t"));
}

TEST(Json, KeepsIntegersExactToSixtyFourBits) {
  EXPECT_EQ(json::as_uint(json::parse("18446744073709551615", "t"), "t"), std::numeric_limits<uint64_t>::max());
  EXPECT_EQ(json::as_int(json::parse("9007199254740993", "t"), "t"), int64_t{9007199254740993});  // 2^53 + 1
  EXPECT_EQ(json::as_int(json::parse("-9223372036854775808", "t"), "t"), std::numeric_limits<int64_t>::min());
  EXPECT_EQ(json::dump(json::parse("[18446744073709551615,-9223372036854775808]", "t"), "t"),
            "[18446744073709551615,-9223372036854775808]");
  // Beyond 64 bits an integer literal becomes a double, which the integer accessors refuse.
  expect_op_error([] { json::as_uint(json::parse("18446744073709551616", "t"), "offset"); }, "offset",
                  "expected a non-negative integer");
  expect_op_error([] { json::as_int(json::parse("9223372036854775808", "t"), "dim"); }, "dim", "does not fit");
  expect_op_error([] { json::as_uint(json::parse("-1", "t"), "offset"); }, "offset", "non-negative");
}

TEST(Json, TypedAccessNamesTheCaller) {
  const Json j = json::parse(R"({"a":1,"s":"x","f":1.5,"t":true})", "t");
  expect_op_error([&] { json::at(j, "b", "cfg"); }, "cfg", "missing key 'b'");
  expect_op_error([&] { json::at(json::at(j, "a", "t"), "b", "cfg"); }, "cfg", "expected an object");
  expect_op_error([&] { json::as_int(json::at(j, "f", "t"), "cfg"); }, "cfg", "expected an integer", "1.5");
  expect_op_error([&] { json::as_int(json::at(j, "s", "t"), "cfg"); }, "cfg", "expected an integer", "string");
  expect_op_error([&] { json::as_string(json::at(j, "a", "t"), "cfg"); }, "cfg", "expected a string");
  expect_op_error([&] { json::as_bool(json::at(j, "a", "t"), "cfg"); }, "cfg", "expected a boolean");
  expect_op_error([&] { json::as_array(j, "cfg"); }, "cfg", "expected an array");
  expect_op_error([&] { json::as_number(json::at(j, "t", "t"), "cfg"); }, "cfg", "expected a number");
  EXPECT_EQ(json::as_number(json::at(j, "a", "t"), "t"), 1.0);
  EXPECT_TRUE(json::as_bool(json::at(j, "t", "t"), "t"));
}

TEST(Json, WritingANonFiniteNumberIsAnError) {
  for (const double bad : {std::nan(""), std::numeric_limits<double>::infinity(), -HUGE_VAL})
    expect_op_error([&] { json::dump(Json{{"loss", {1.0, bad}}}, "metrics.jsonl"); }, "metrics.jsonl",
                    "non-finite");
  expect_op_error([] { json::dump(Json("\xff"), "header"); }, "header", "UTF-8");
  EXPECT_EQ(json::dump(Json{{"b", 2}, {"a", 0.5}}, "t"), R"({"a":0.5,"b":2})") << "compact, keys sorted";
}

}  // namespace
}  // namespace trifecta
