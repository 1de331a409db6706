// The flags of one command of a model binary ("vae train", "vae eval"): typed values with defaults and help
// text. models/common/command_line.h parses them from argv with CLI11; training records them in its
// checkpoint (to_json) and a resumed run, or a command reading the checkpoint, takes them back
// (resume_from). Values are kept as canonical text ("0.001", "16", "true"), so a value read from the command
// line and one read from a checkpoint compare equal exactly when they mean the same number.
#pragma once

#include <string>
#include <vector>

#include "tensor/json.h"

namespace trifecta {

class Flags {
 public:
  enum class Kind { String, Int, Double, Bool };
  // What a value given together with --resume does to the value the checkpoint recorded.
  enum class OnResume {
    Adjust,      // replaces it from the resumed step on, and is recorded (--lr, --steps, --kl-schedule)
    Keep,        // must equal it: the flag is part of what the checkpoint is (the architecture, the data order)
    Invocation,  // describes this invocation, not the run (--out, --device, --threads): never taken from it
  };
  struct Flag {
    std::string name;  // without the leading "--"
    Kind kind;
    std::string value;  // canonical text
    std::string help;
    OnResume on_resume = OnResume::Adjust;
    bool set = false;  // given on the command line (not defaulted, not taken from a checkpoint)
  };

  // command ("vae train") names the flags in errors.
  explicit Flags(std::string command);

  void add_string(const std::string& name, const std::string& fallback, const std::string& help,
                  OnResume on_resume = OnResume::Adjust);
  void add_int(const std::string& name, int64_t fallback, const std::string& help, OnResume on_resume = OnResume::Adjust);
  void add_double(const std::string& name, double fallback, const std::string& help,
                  OnResume on_resume = OnResume::Adjust);
  void add_bool(const std::string& name, bool fallback, const std::string& help, OnResume on_resume = OnResume::Adjust);

  std::string get_string(const std::string& name) const;
  int64_t get_int(const std::string& name) const;
  double get_double(const std::string& name) const;
  bool get_bool(const std::string& name) const;
  bool was_set(const std::string& name) const;
  bool has(const std::string& name) const;

  // Gives the flag a value as if typed on the command line; text that does not parse as the flag's type (an
  // integer out of range, a non-finite number) is an Error naming the command and the flag.
  void set(const std::string& name, const std::string& text);

  const std::string& command() const { return command_; }
  const std::vector<Flag>& all() const { return flags_; }

  // Every flag's value, typed (numbers as numbers), for recording a run's configuration.
  Json to_json() const;
  // Takes the values a run recorded (to_json) as each flag's OnResume says: a Keep flag given now with
  // another value is an Error naming the flag and both values; Adjust and Keep flags not given now take the
  // recorded value; Invocation flags keep this invocation's. Names this command does not have (another
  // command's, an older binary's) are skipped. source (the checkpoint's path) names the record in errors.
  void resume_from(const Json& recorded, const std::string& source);

 private:
  Flag& find(const std::string& name);
  const Flag& find(const std::string& name, Kind kind) const;
  void add(const std::string& name, Kind kind, const std::string& fallback, const std::string& help, OnResume on_resume);
  std::string canonical(const Flag& flag, const std::string& text) const;

  std::string command_;
  std::vector<Flag> flags_;  // in declaration order, which --help keeps
};

}  // namespace trifecta
