// Flag parsing and validation.
#include "models/common/flags.h"

#include <cerrno>
#include <cmath>
#include <cstdlib>
#include <iostream>
#include <sstream>

#include "tensor/error.h"

namespace trifecta {

Flags::Flags(std::string program, std::string usage) : program_(std::move(program)), usage_(std::move(usage)) {}

void Flags::add_string(const std::string& name, const std::string& fallback, const std::string& help) {
  flags_[name] = {Kind::String, fallback, help};
  order_.push_back(name);
}
void Flags::add_int(const std::string& name, int64_t fallback, const std::string& help) {
  flags_[name] = {Kind::Int, std::to_string(fallback), help};
  order_.push_back(name);
}
void Flags::add_double(const std::string& name, double fallback, const std::string& help) {
  std::ostringstream text;
  text << fallback;
  flags_[name] = {Kind::Double, text.str(), help};
  order_.push_back(name);
}
void Flags::add_bool(const std::string& name, bool fallback, const std::string& help) {
  flags_[name] = {Kind::Bool, fallback ? "true" : "false", help};
  order_.push_back(name);
}

void Flags::assign(const std::string& name, Flag& flag, const std::string& value) {
  const std::string where = program_ + " --" + name;
  switch (flag.kind) {
    case Kind::String: break;
    case Kind::Int: {
      char* end = nullptr;
      errno = 0;
      std::strtoll(value.c_str(), &end, 10);
      TRIFECTA_CHECK(!value.empty() && *end == '\0' && errno == 0, where, "expects an integer, got '", value, "'");
      break;
    }
    case Kind::Double: {
      char* end = nullptr;
      const double v = std::strtod(value.c_str(), &end);
      TRIFECTA_CHECK(!value.empty() && *end == '\0' && std::isfinite(v), where, "expects a number, got '", value, "'");
      break;
    }
    case Kind::Bool:
      TRIFECTA_CHECK(value == "true" || value == "false", where, "expects true or false, got '", value, "'");
      break;
  }
  flag.value = value;
  flag.set = true;
}

bool Flags::parse(int argc, char** argv, int first) {
  for (int i = first; i < argc; ++i) {
    std::string arg = argv[i];
    if (arg == "--help" || arg == "-h") {
      std::cout << help();
      return false;
    }
    TRIFECTA_CHECK(arg.rfind("--", 0) == 0 && arg.size() > 2, program_, "unexpected argument '", arg,
                   "' (flags look like --name value; see --help)");
    arg = arg.substr(2);
    std::string name = arg, value;
    bool has_value = false;
    if (const size_t eq = arg.find('='); eq != std::string::npos) {
      name = arg.substr(0, eq);
      value = arg.substr(eq + 1);
      has_value = true;
    }
    auto it = flags_.find(name);
    TRIFECTA_CHECK(it != flags_.end(), program_, "unknown flag --", name, " (see --help)");
    if (!has_value) {
      if (it->second.kind == Kind::Bool) {
        value = "true";
      } else {
        TRIFECTA_CHECK(i + 1 < argc, program_, "flag --", name, " needs a value");
        value = argv[++i];
      }
    }
    assign(name, it->second, value);
  }
  return true;
}

const Flags::Flag& Flags::find(const std::string& name, Kind kind) const {
  const auto it = flags_.find(name);
  TRIFECTA_CHECK(it != flags_.end() && it->second.kind == kind, program_, "no flag --", name, " of that type");
  return it->second;
}

std::string Flags::get_string(const std::string& name) const { return find(name, Kind::String).value; }
int64_t Flags::get_int(const std::string& name) const { return std::strtoll(find(name, Kind::Int).value.c_str(), nullptr, 10); }
double Flags::get_double(const std::string& name) const { return std::strtod(find(name, Kind::Double).value.c_str(), nullptr); }
bool Flags::get_bool(const std::string& name) const { return find(name, Kind::Bool).value == "true"; }
bool Flags::was_set(const std::string& name) const {
  const auto it = flags_.find(name);
  return it != flags_.end() && it->second.set;
}

std::string Flags::help() const {
  std::ostringstream out;
  out << "usage: " << usage_ << "\n\nflags:\n";
  for (const std::string& name : order_) {
    const Flag& f = flags_.at(name);
    std::string left = "  --" + name + (f.kind == Kind::Bool ? "" : " VALUE");
    if (left.size() < 28) left.resize(28, ' ');
    out << left << ' ' << f.help << " (default: " << (f.value.empty() ? "\"\"" : f.value) << ")\n";
  }
  return out.str();
}

Json Flags::to_json() const {
  Json values = Json::object();
  for (const auto& [name, f] : flags_) values[name] = f.value;
  return values;
}

void Flags::fill_from(const Json& saved, const std::string& source) {
  for (const auto& [name, value] : json::as_object(saved, source)) {
    auto it = flags_.find(name);
    if (it == flags_.end() || it->second.set) continue;  // flags given now win; unknown old flags are ignored
    assign(name, it->second, json::as_string(value, source));
    it->second.set = false;
  }
}

}  // namespace trifecta
