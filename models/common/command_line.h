// The command line of a model binary: `PROGRAM COMMAND [--flag value ...]`, parsed with CLI11. Each command
// declares its own flags (models/common/flags.h) and accepts only those: a flag it does not have is an Error
// naming the flag (and the command it belongs to, when it is another's), so `vae sample --lr 5` cannot be
// silently ignored. `PROGRAM --help` lists the commands; `PROGRAM COMMAND --help` lists that command's flags
// with their defaults.
//
//   CommandLine cli("vae", "variational auto-encoders on Fashion-MNIST");
//   Flags& train = cli.add_command("train", "train a VAE");
//   train.add_int("steps", 6000, "optimizer steps");
//   if (const auto parsed = cli.parse({argv + 1, argv + argc})) run(parsed->command, parsed->flags);
#pragma once

#include <deque>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "models/common/flags.h"

namespace trifecta {

class CommandLine {
 public:
  CommandLine(std::string program, std::string description);

  // Declares a command; declare its flags on the returned object (valid as long as this CommandLine).
  Flags& add_command(const std::string& name, const std::string& description);

  struct Parsed {
    std::string command;
    Flags flags;  // the command's flags, with the values given
  };
  // Parses the arguments after the program name. Returns nothing when help was asked for (it is printed
  // to stdout); any bad input (no or an unknown command, an unknown or another command's flag, a missing
  // or malformed value, a stray argument) is an Error saying which.
  std::optional<Parsed> parse(const std::vector<std::string>& args) const;

  // The program's usage: its commands and how to list a command's flags.
  std::string help() const;

 private:
  struct Command {
    std::string name, description;
    Flags flags;
  };
  const Command* find(const std::string& name) const;
  std::string command_names() const;

  std::string program_, description_;
  std::deque<Command> commands_;  // a deque: add_command's references stay valid as commands are added
};

// The whole main() of a model binary: without arguments prints the usage and returns 2; with --help prints
// it and returns 0; else runs the parsed command, and returns 1 after printing "error: <message>" to stderr
// when parsing or the command throws.
int run_main(const CommandLine& cli, int argc, char** argv, const std::function<void(const CommandLine::Parsed&)>& run);

}  // namespace trifecta
