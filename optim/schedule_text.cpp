// Parsing of schedule strings (format in schedule_text.h).
#include "optim/schedule_text.h"

#include <charconv>
#include <cmath>
#include <cstdlib>
#include <sstream>

#include "tensor/error.h"

namespace trifecta::optim {
namespace {

std::string key_list(const std::vector<ScheduleKey>& keys) {
  std::string list;
  for (const ScheduleKey& key : keys) list += (list.empty() ? "" : ", ") + key.name;
  return list.empty() ? "none" : list;
}

double parse_number(const std::string& value, const ScheduleKey& key, const std::string& text, const char* what) {
  const char* begin = value.c_str();
  char* end = nullptr;
  const double number = std::strtod(begin, &end);
  TRIFECTA_CHECK(!value.empty() && end == begin + value.size() && std::isfinite(number), what, "'", value,
                 "' is not a number (", key.name, " in '", text, "')");
  // Whole numbers up to 2^53 are exact in a double and fit an int64.
  TRIFECTA_CHECK(!key.integer || (number == std::floor(number) && std::fabs(number) <= 9007199254740992.0), what,
                 key.name, " must be a whole number of steps, got ", value, " in '", text, "'");
  return number;
}

}  // namespace

ScheduleText split_schedule_text(const std::string& text) {
  const size_t colon = text.find(':');
  if (colon == std::string::npos) return {text, ""};
  return {text.substr(0, colon), text.substr(colon + 1)};
}

std::map<std::string, double> parse_schedule_arguments(const std::string& text, const ScheduleText& parts,
                                                       const std::vector<ScheduleKey>& keys, const char* what) {
  std::map<std::string, double> values;
  const size_t colon = text.find(':');
  TRIFECTA_CHECK(colon == std::string::npos || !parts.arguments.empty(), what, "nothing follows ':' in '", text, "'");
  std::vector<std::string> items;
  if (!parts.arguments.empty()) {
    std::stringstream stream(parts.arguments);
    std::string item;
    while (std::getline(stream, item, ',')) items.push_back(item);
    if (parts.arguments.back() == ',') items.push_back("");
  }
  for (size_t i = 0; i < items.size(); ++i) {
    const std::string& item = items[i];
    const size_t equals = item.find('=');
    if (equals == std::string::npos) {
      TRIFECTA_CHECK(i == 0 && !keys.empty(), what, "'", item, "' in '", text,
                     "' needs a name (key=value; ", parts.kind, " takes ", key_list(keys), ")");
      values[keys.front().name] = parse_number(item, keys.front(), text, what);
      continue;
    }
    const std::string name = item.substr(0, equals), value = item.substr(equals + 1);
    const ScheduleKey* key = nullptr;
    for (const ScheduleKey& candidate : keys)
      if (candidate.name == name) key = &candidate;
    TRIFECTA_CHECK(key != nullptr, what, "unknown setting '", name, "' in '", text, "' (", parts.kind, " takes ",
                   key_list(keys), ")");
    TRIFECTA_CHECK(!values.count(name), what, name, " is given twice in '", text, "'");
    values[name] = parse_number(value, *key, text, what);
  }
  for (const ScheduleKey& key : keys) {
    if (values.count(key.name)) continue;
    TRIFECTA_CHECK(!key.required, what, "'", text, "' does not set ", key.name, " (", parts.kind, " takes ",
                   key_list(keys), ")");
    values[key.name] = key.default_value;
  }
  return values;
}

std::string format_schedule_number(double value) {
  char buffer[32];
  const auto result = std::to_chars(buffer, buffer + sizeof(buffer), value);  // the shortest exact form
  return std::string(buffer, result.ptr);
}

}  // namespace trifecta::optim
