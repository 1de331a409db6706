// Typed flag values: parsing to canonical text, typed access, and the JSON form a checkpoint records.
#include "models/common/flags.h"

#include <charconv>
#include <cmath>
#include <system_error>

#include "tensor/error.h"

namespace trifecta {

namespace {

// The shortest text that reads back as the same double (std::to_chars round-trips exactly).
std::string shortest_text(double value) {
  char buffer[64];
  const auto result = std::to_chars(buffer, buffer + sizeof buffer, value);
  return std::string(buffer, result.ptr);
}

}  // namespace

Flags::Flags(std::string command) : command_(std::move(command)) {}

void Flags::add(const std::string& name, Kind kind, const std::string& fallback, const std::string& help,
                OnResume on_resume) {
  TRIFECTA_CHECK(!has(name), command_, "flag --", name, " declared twice");
  flags_.push_back({name, kind, fallback, help, on_resume});
}

void Flags::add_string(const std::string& name, const std::string& fallback, const std::string& help, OnResume on_resume) {
  add(name, Kind::String, fallback, help, on_resume);
}
void Flags::add_int(const std::string& name, int64_t fallback, const std::string& help, OnResume on_resume) {
  add(name, Kind::Int, std::to_string(fallback), help, on_resume);
}
void Flags::add_double(const std::string& name, double fallback, const std::string& help, OnResume on_resume) {
  add(name, Kind::Double, shortest_text(fallback), help, on_resume);
}
void Flags::add_bool(const std::string& name, bool fallback, const std::string& help, OnResume on_resume) {
  add(name, Kind::Bool, fallback ? "true" : "false", help, on_resume);
}

std::string Flags::canonical(const Flag& flag, const std::string& text) const {
  const std::string where = command_ + " --" + flag.name;
  const char* begin = text.data();
  const char* end = text.data() + text.size();
  switch (flag.kind) {
    case Kind::String: return text;
    case Kind::Int: {
      int64_t value = 0;
      const auto [stop, error] = std::from_chars(begin, end, value);
      TRIFECTA_CHECK(!text.empty() && error == std::errc() && stop == end, where,
                     "expects an integer (within 64 bits), got '", text, "'");
      return std::to_string(value);
    }
    case Kind::Double: {
      double value = 0;
      const auto [stop, error] = std::from_chars(begin, end, value);
      TRIFECTA_CHECK(!text.empty() && error == std::errc() && stop == end && std::isfinite(value), where,
                     "expects a finite number, got '", text, "'");
      return shortest_text(value);
    }
    case Kind::Bool:
      TRIFECTA_CHECK(text == "true" || text == "false", where, "expects true or false, got '", text, "'");
      return text;
  }
  TRIFECTA_FAIL(where, "unknown flag kind");
}

Flags::Flag& Flags::find(const std::string& name) {
  for (Flag& f : flags_)
    if (f.name == name) return f;
  TRIFECTA_FAIL(command_, "has no flag --", name);
}

const Flags::Flag& Flags::find(const std::string& name, Kind kind) const {
  for (const Flag& f : flags_)
    if (f.name == name) {
      TRIFECTA_CHECK(f.kind == kind, command_, "flag --", name, " read as the wrong type");
      return f;
    }
  TRIFECTA_FAIL(command_, "has no flag --", name);
}

void Flags::set(const std::string& name, const std::string& text) {
  Flag& flag = find(name);
  flag.value = canonical(flag, text);
  flag.set = true;
}

std::string Flags::get_string(const std::string& name) const { return find(name, Kind::String).value; }
int64_t Flags::get_int(const std::string& name) const { return std::stoll(find(name, Kind::Int).value); }
double Flags::get_double(const std::string& name) const {
  const std::string& text = find(name, Kind::Double).value;
  double value = 0;
  std::from_chars(text.data(), text.data() + text.size(), value);
  return value;
}
bool Flags::get_bool(const std::string& name) const { return find(name, Kind::Bool).value == "true"; }

bool Flags::was_set(const std::string& name) const {
  for (const Flag& f : flags_)
    if (f.name == name) return f.set;
  return false;
}

bool Flags::has(const std::string& name) const {
  for (const Flag& f : flags_)
    if (f.name == name) return true;
  return false;
}

Json Flags::to_json() const {
  Json values = Json::object();
  for (const Flag& f : flags_) {
    switch (f.kind) {
      case Kind::String: values[f.name] = f.value; break;
      case Kind::Int: values[f.name] = get_int(f.name); break;
      case Kind::Double: values[f.name] = get_double(f.name); break;
      case Kind::Bool: values[f.name] = get_bool(f.name); break;
    }
  }
  return values;
}

void Flags::resume_from(const Json& recorded, const std::string& source) {
  for (const auto& [name, value] : json::as_object(recorded, source + " (recorded flags)")) {
    if (!has(name)) continue;
    Flag& flag = find(name);
    if (flag.on_resume == OnResume::Invocation) continue;
    const std::string where = source + ": recorded flag '" + name + "'";
    // Older checkpoints recorded every value as a string; numbers and booleans are read back as their text.
    std::string text;
    if (value.is_string()) text = value.get<std::string>();
    else if (value.is_boolean()) text = value.get<bool>() ? "true" : "false";
    else if (value.is_number_integer()) text = std::to_string(json::as_int(value, where));
    else if (value.is_number()) text = shortest_text(json::as_number(value, where));
    else TRIFECTA_FAIL(where, "is neither a string, a number nor a boolean");
    const std::string recorded_value = [&] {
      try {
        return canonical(flag, text);
      } catch (const Error& e) {
        TRIFECTA_FAIL(where, e.what());
      }
    }();
    if (!flag.set) {
      flag.value = recorded_value;
    } else if (flag.on_resume == OnResume::Keep) {
      TRIFECTA_CHECK(flag.value == recorded_value, command_ + " --" + name, "the run in ", source, " was trained with ",
                     recorded_value, ", not ", flag.value, "; a resumed run keeps it (train a new run to change it)");
    }
  }
}

}  // namespace trifecta
