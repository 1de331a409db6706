#!/usr/bin/env bash
# Installs what trifecta needs on a fresh Debian machine (only what is missing), then configures and builds.
#   bash scripts/setup.sh [build-dir] [extra cmake args...]
# The CUDA backend is built when nvcc is found (install the CUDA toolkit separately; Debian's apt does not
# carry the version we target). Everything else comes from Debian's archive.
set -euo pipefail
cd "$(dirname "$0")/.."

packages=(build-essential cmake libgtest-dev libopenblas-dev libopenblas0-openmp zlib1g-dev nlohmann-json3-dev
          libcli11-dev python3-torch python3-numpy python3-scipy python3-pip python3-matplotlib dataset-fashion-mnist)
missing=()
for p in "${packages[@]}"; do
  dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "setup: installing ${missing[*]}"
  sudo_cmd=""
  [ "$(id -u)" -ne 0 ] && sudo_cmd="sudo"
  $sudo_cmd apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo_cmd apt-get install -y -qq "${missing[@]}" >/dev/null
fi
# nvcc lives outside PATH in the usual toolkit install.
if ! command -v nvcc >/dev/null 2>&1 && [ -x /usr/local/cuda/bin/nvcc ]; then
  export PATH="/usr/local/cuda/bin:$PATH"
fi

build_dir="${1:-build}"
shift || true
# safetensors (PyPI; not in Debian) lets the tests open trifecta's checkpoints the way PyTorch users do. It
# goes into the build folder, beside nothing of the system's.
if ! PYTHONPATH="$build_dir/python" /usr/bin/python3 -c "import safetensors.torch" >/dev/null 2>&1; then
  /usr/bin/python3 -m pip install --quiet --disable-pip-version-check --root-user-action=ignore --no-deps --target "$build_dir/python" \
    "safetensors==0.4.5"
fi
cmake -S . -B "$build_dir" -DCMAKE_BUILD_TYPE=Release "$@" >/dev/null
cmake --build "$build_dir" -j"$(nproc)"
