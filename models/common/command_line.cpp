// CLI11 does the parsing (--name value, --name=value, switches, per-command --help); every value is bound to
// text and checked by Flags::set, so a malformed value gets the same message whether it came from argv or
// from a checkpoint. Arguments CLI11 cannot place are collected (allow_extras) and reported here, so the
// message can name the flag and, when another command has it, that command.
#include "models/common/command_line.h"

#include <CLI/CLI.hpp>

#include <cstdio>
#include <iostream>
#include <map>
#include <sstream>

#include "tensor/error.h"

namespace trifecta {

CommandLine::CommandLine(std::string program, std::string description)
    : program_(std::move(program)), description_(std::move(description)) {}

Flags& CommandLine::add_command(const std::string& name, const std::string& description) {
  TRIFECTA_CHECK(find(name) == nullptr, program_, "command '", name, "' declared twice");
  commands_.push_back({name, description, Flags(program_ + " " + name)});
  return commands_.back().flags;
}

const CommandLine::Command* CommandLine::find(const std::string& name) const {
  for (const Command& c : commands_)
    if (c.name == name) return &c;
  return nullptr;
}

std::string CommandLine::command_names() const {
  std::string names;
  for (size_t i = 0; i < commands_.size(); ++i)
    names += (i == 0 ? "" : i + 1 == commands_.size() ? " or " : ", ") + commands_[i].name;
  return names;
}

std::string CommandLine::help() const {
  std::ostringstream out;
  out << description_ << "\nUsage: " << program_ << " COMMAND [FLAGS]\n\nCommands:\n";
  for (const Command& c : commands_) {
    std::string name = "  " + c.name;
    name.resize(std::max<size_t>(name.size() + 1, 16), ' ');
    out << name << c.description << "\n";
  }
  out << "\n" << program_ << " COMMAND --help lists the flags of COMMAND.\n";
  return out.str();
}

std::optional<CommandLine::Parsed> CommandLine::parse(const std::vector<std::string>& args) const {
  TRIFECTA_CHECK(!args.empty(), program_, "expects a command: ", command_names(), " (see ", program_, " --help)");
  if (args[0] == "--help" || args[0] == "-h") {
    std::cout << help();
    return std::nullopt;
  }
  const Command* command = find(args[0]);
  TRIFECTA_CHECK(command != nullptr, program_, "unknown command '", args[0], "' (expected ", command_names(), ")");
  Flags flags = command->flags;
  const std::string name = flags.command();

  CLI::App app(command->description, name);
  app.allow_extras();  // reported below, by name
  // Each flag's text (or switch state); std::map nodes stay put, so CLI11 may keep references to them.
  std::map<std::string, std::string> texts;
  std::map<std::string, bool> switches;
  for (const Flags::Flag& f : flags.all()) {
    const std::string option = "--" + f.name;
    if (f.kind == Flags::Kind::Bool) {
      app.add_flag(option, switches[f.name], f.help + (f.value == "true" ? " (default: true)" : ""));
      continue;
    }
    const char* type = f.kind == Flags::Kind::Int ? "INT" : f.kind == Flags::Kind::Double ? "NUMBER" : "TEXT";
    const std::string help = f.help + (f.on_resume == Flags::OnResume::Keep ? " (fixed for a run: --resume keeps it)" : "");
    app.add_option(option, texts[f.name], help)->type_name(type)->default_str(f.value.empty() ? "\"\"" : f.value);
  }
  std::vector<std::string> reversed(args.rbegin(), args.rend() - 1);  // CLI11 takes them last first
  try {
    app.parse(reversed);
  } catch (const CLI::CallForHelp&) {
    std::cout << app.help();
    return std::nullopt;
  } catch (const CLI::ParseError& e) {
    TRIFECTA_FAIL(name, e.what(), " (see ", name, " --help)");
  }

  const std::vector<std::string> extras = app.remaining();
  if (!extras.empty()) {
    const std::string& arg = extras.front();
    TRIFECTA_CHECK(arg.rfind('-', 0) == 0, name, "unexpected argument '", arg,
                   "' (flags look like --name value; see ", name, " --help)");
    const std::string flag = arg.substr(0, arg.find('='));
    const size_t name_start = flag.find_first_not_of('-');
    const std::string bare = name_start == std::string::npos ? "" : flag.substr(name_start);
    for (const Command& other : commands_)
      TRIFECTA_CHECK(bare.empty() || !other.flags.has(bare), name, flag, " is not a flag of ", command->name, " (it is one of ",
                     program_, " ", other.name, "'s; see ", name, " --help)");
    TRIFECTA_FAIL(name, "unknown flag ", flag, " (see ", name, " --help)");
  }
  for (const Flags::Flag& f : flags.all()) {
    if (app.get_option("--" + f.name)->count() == 0) continue;
    flags.set(f.name, f.kind == Flags::Kind::Bool ? (switches[f.name] ? "true" : "false") : texts[f.name]);
  }
  return Parsed{command->name, std::move(flags)};
}

int run_main(const CommandLine& cli, int argc, char** argv, const std::function<void(const CommandLine::Parsed&)>& run) {
  if (argc < 2) {
    std::cerr << cli.help();
    return 2;
  }
  try {
    const std::optional<CommandLine::Parsed> parsed = cli.parse({argv + 1, argv + argc});
    if (parsed) run(*parsed);  // nothing parsed: --help, already printed
  } catch (const std::exception& e) {
    std::fprintf(stderr, "error: %s\n", e.what());
    return 1;
  }
  return 0;
}

}  // namespace trifecta
