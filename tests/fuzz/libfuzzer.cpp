// libFuzzer's entry points for the loaders of tests/fuzz/targets.h: TRIFECTA_FUZZ_TARGET names the one to
// fuzz. Built only with -DTRIFECTA_FUZZ=ON and clang; scripts/fuzz.sh builds it and runs every target from its
// seeds. An input that makes a loader throw anything but trifecta::Error, crash, or trip a sanitizer is a
// finding (libFuzzer saves it as crash-<hash>).
#include <cstdio>
#include <cstdlib>

#include "tests/fuzz/targets.h"

namespace {
const trifecta::fuzz::FuzzTarget* target = nullptr;
std::string path;
}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  const char* name = std::getenv("TRIFECTA_FUZZ_TARGET");
  for (const auto& t : trifecta::fuzz::fuzz_targets())
    if (name && t.name == name) target = &t;
  if (!target) {
    std::fprintf(stderr, "set TRIFECTA_FUZZ_TARGET to one of:");
    for (const auto& t : trifecta::fuzz::fuzz_targets()) std::fprintf(stderr, " %s", t.name.c_str());
    std::fprintf(stderr, "\n");
    std::exit(2);
  }
  path = trifecta::fuzz::input_path(target->name);
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  trifecta::fuzz::write_input(path, reinterpret_cast<const char*>(data), size);
  try {
    target->load(path);
  } catch (const trifecta::Error&) {
    // the clean way to refuse an input
  }
  return 0;
}
