// Command-line flags for the model binaries: --name value or --name=value, typed, with defaults and help
// text. An unknown flag, a missing value or a value that does not parse is an Error naming the flag, so a
// typo never silently trains with a default.
#pragma once

#include <map>
#include <string>
#include <vector>

#include "tensor/json.h"

namespace trifecta {

class Flags {
 public:
  Flags(std::string program, std::string usage);

  void add_string(const std::string& name, const std::string& fallback, const std::string& help);
  void add_int(const std::string& name, int64_t fallback, const std::string& help);
  void add_double(const std::string& name, double fallback, const std::string& help);
  void add_bool(const std::string& name, bool fallback, const std::string& help);  // --name, --name=false

  // Parses argv[first..]; returns false when --help was given (help() was printed to stdout).
  bool parse(int argc, char** argv, int first = 1);

  std::string get_string(const std::string& name) const;
  int64_t get_int(const std::string& name) const;
  double get_double(const std::string& name) const;
  bool get_bool(const std::string& name) const;
  bool was_set(const std::string& name) const;  // given on the command line (not defaulted)

  std::string help() const;
  // Every flag's value, for saving the configuration beside a checkpoint.
  Json to_json() const;
  // Sets values from a saved configuration (flags given on the command line win).
  void fill_from(const Json& saved, const std::string& source);

 private:
  enum class Kind { String, Int, Double, Bool };
  struct Flag {
    Kind kind;
    std::string value;
    std::string help;
    bool set = false;
  };
  const Flag& find(const std::string& name, Kind kind) const;
  void assign(const std::string& name, Flag& flag, const std::string& value);

  std::string program_, usage_;
  std::map<std::string, Flag> flags_;
  std::vector<std::string> order_;
};

}  // namespace trifecta
