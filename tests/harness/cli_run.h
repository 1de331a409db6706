// Running a model binary as a user does, for the CLI tests: the path comes from an environment variable CTest
// sets (TRIFECTA_VAE_BIN, TRIFECTA_CLASSIFY_BIN), the arguments go through the shell, and stdout and stderr
// come back together with the exit status.
#pragma once

#include <gtest/gtest.h>
#include <sys/wait.h>

#include <array>
#include <cstdio>
#include <cstdlib>
#include <string>

namespace trifecta::testing {

struct CliRun {
  int exit_code;       // -1 when the process did not exit normally
  std::string output;  // stdout and stderr together
};

// The binary named by environment variable env_var; a test failure (and "false") when it is unset.
inline std::string binary_from(const char* env_var) {
  const char* binary = std::getenv(env_var);
  EXPECT_NE(binary, nullptr) << env_var << " is not set; run through ctest";
  return binary ? binary : "false";
}

inline CliRun run_binary(const std::string& binary, const std::string& args) {
  const std::string command = binary + " " + args + " 2>&1";
  std::FILE* pipe = ::popen(command.c_str(), "r");
  EXPECT_NE(pipe, nullptr);
  if (!pipe) return {-1, ""};
  std::string output;
  std::array<char, 4096> buffer;
  while (size_t n = std::fread(buffer.data(), 1, buffer.size(), pipe)) output.append(buffer.data(), n);
  const int status = ::pclose(pipe);
  return {WIFEXITED(status) ? WEXITSTATUS(status) : -1, output};
}

}  // namespace trifecta::testing
