#!/usr/bin/env bash
# The test command: on a fresh Debian machine installs what is missing, configures (CUDA backend when nvcc
# is present, warnings as errors), builds and runs every test. CUDA tests skip, saying so, without a GPU.
#   bash scripts/test.sh
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh build -DTRIFECTA_WERROR=ON
cd build
ctest --output-on-failure -j"$(nproc)"
