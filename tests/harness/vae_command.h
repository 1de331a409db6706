// Driving the vae commands in-process, for the VAE tests: a command's flags parsed as the binary parses
// them (always on the CPU, where the tests' thresholds and bit-identical resumes were established), and a
// fresh temporary folder per test run.
#pragma once

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "models/vae/train.h"

namespace trifecta::testing {

// The flags of `vae COMMAND --device cpu args...`.
inline Flags parse_vae_command(const std::string& command, const std::vector<std::string>& args) {
  std::vector<std::string> all = {command, "--device", "cpu"};
  all.insert(all.end(), args.begin(), args.end());
  std::optional<CommandLine::Parsed> parsed = vae::command_line().parse(all);
  EXPECT_TRUE(parsed.has_value());
  return parsed ? parsed->flags : Flags("none");
}

// <tmp>/<prefix>_<pid>_<name>, removed if it exists (not created: a run folder may be made by the run).
inline std::filesystem::path fresh_temp_path(const std::string& prefix, const std::string& name) {
  const std::filesystem::path path =
      std::filesystem::temp_directory_path() / (prefix + "_" + std::to_string(::getpid()) + "_" + name);
  std::filesystem::remove_all(path);
  return path;
}

}  // namespace trifecta::testing
