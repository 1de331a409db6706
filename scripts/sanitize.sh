#!/usr/bin/env bash
# The CPU test suite under AddressSanitizer + UndefinedBehaviorSanitizer (CPU-only build, so the
# sanitizers see all of the code that runs).
#   bash scripts/sanitize.sh
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh build-sanitize -DTRIFECTA_CUDA=OFF -DTRIFECTA_SANITIZE=ON -DTRIFECTA_WERROR=ON \
  -DCMAKE_BUILD_TYPE=RelWithDebInfo
cd build-sanitize
# OpenMP's runtime keeps thread-local blocks alive at exit; they are not leaks of ours.
ASAN_OPTIONS=detect_leaks=0 UBSAN_OPTIONS=print_stacktrace=1 ctest --output-on-failure -j"$(nproc)"
