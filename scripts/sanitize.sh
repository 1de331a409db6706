#!/usr/bin/env bash
# The CPU test suite under AddressSanitizer + UndefinedBehaviorSanitizer + LeakSanitizer (CPU-only build, so
# the sanitizers see all of the code that runs). LeakSanitizer ignores only what scripts/lsan.supp lists.
#   bash scripts/sanitize.sh
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh build-sanitize -DTRIFECTA_CUDA=OFF -DTRIFECTA_SANITIZE=ON -DTRIFECTA_WERROR=ON \
  -DCMAKE_BUILD_TYPE=RelWithDebInfo
suppressions="$PWD/scripts/lsan.supp"
cd build-sanitize
ASAN_OPTIONS=detect_leaks=1 LSAN_OPTIONS="suppressions=$suppressions:print_suppressions=0" \
  UBSAN_OPTIONS=print_stacktrace=1 ctest --output-on-failure -j"$(nproc)"
