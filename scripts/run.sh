#!/usr/bin/env bash
# The main job: on a fresh Debian machine installs what is missing, builds, and runs trifecta's kernel
# benchmark side by side with PyTorch (on the GPU too when one is present), printing ratios.
#   bash scripts/run.sh
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh build
python3 bench/run_kernels.py --build build --device all --json build/kernels_bench.json
