// JSON through nlohmann::json, parsed strictly and read with typed accessors whose errors name the caller.
// Used for safetensors headers, checkpoint configs, metrics lines and benchmark case lists: text that may
// come from a damaged or hostile file, so anything RFC 8259 does not allow is rejected rather than guessed
// at (no "+1", "01", ".5", comments or trailing commas, no invalid UTF-8), and so are two things it allows
// but no reader of ours can mean: duplicate keys (which one wins differs between parsers) and numbers that
// overflow a double (1e400). Integers keep all 64 bits (up to 2^64-1), never rounded through a double.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

namespace trifecta {

using Json = nlohmann::json;

namespace json {

// Parses a whole document; an Error names `what` (a file, say) and the position of the fault.
Json parse(std::string_view text, std::string_view what);
// Compact text with sorted keys; a NaN or infinite number, which JSON cannot represent, is an Error naming
// `what` (nlohmann would quietly write null).
std::string dump(const Json& value, std::string_view what);

// Typed access: an Error naming `what` when the value is of another kind.
const Json& at(const Json& object, const std::string& key, std::string_view what);  // missing key: Error
bool as_bool(const Json& value, std::string_view what);
double as_number(const Json& value, std::string_view what);  // any number
int64_t as_int(const Json& value, std::string_view what);    // an integer literal within int64
uint64_t as_uint(const Json& value, std::string_view what);  // a non-negative integer literal within uint64
const std::string& as_string(const Json& value, std::string_view what);
const Json::array_t& as_array(const Json& value, std::string_view what);
const Json::object_t& as_object(const Json& value, std::string_view what);

}  // namespace json
}  // namespace trifecta
