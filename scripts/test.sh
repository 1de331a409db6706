#!/usr/bin/env bash
# The test command: on a fresh Debian machine installs what is missing, configures (CUDA backend when nvcc
# is present, warnings as errors), builds and runs every test. CUDA tests skip, saying so, without a GPU.
#   bash scripts/test.sh
# CUDA code is compiled whenever nvcc is there, GPU or not, so that CI catches CUDA build breaks: for the GPU
# present, or for one architecture (sm_90) where there is none. Its own build folder (build-test), so the
# main job's build (build/) is not reconfigured back and forth.
set -euo pipefail
cd "$(dirname "$0")/.."
cuda_architectures=90-real
nvidia-smi -L > /dev/null 2>&1 && cuda_architectures=native
bash scripts/setup.sh build-test -DTRIFECTA_WERROR=ON -DCMAKE_CUDA_ARCHITECTURES="$cuda_architectures"
cd build-test
ctest --output-on-failure -j"$(nproc)"
