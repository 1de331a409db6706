#!/usr/bin/env bash
# The half of the GPU check that runs on the CPU machine, before a GPU is lent (docs/gpu.md): downloads into
# .gpu/ (ignored by git, carried to the GPU machine beside the checkout) what the bare GPU image lacks and
# cannot fetch, since it reaches no package registry:
#   .gpu/debs/    Debian packages, unpacked there by scripts/gpu_check.sh into a private prefix (never /)
#   .gpu/wheels/  the safetensors wheel, installed there only if its Python lacks safetensors
#   .gpu/source   the commit being checked (the GPU machine gets the files without git), for the results' names
# then checks that what travels stays under the device tool's 64 MiB.
#   bash scripts/gpu_prepare.sh
set -euo pipefail
cd "$(dirname "$0")/.."

# The GPU image has nvcc, cuBLAS, cuDNN, CMake, ninja, g++ and Python with PyTorch and numpy. The rest:
packages=(
  libgtest-dev                             # GoogleTest (static libraries, headers, CMake config)
  libopenblas0-openmp libopenblas-openmp-dev  # OpenBLAS's OpenMP build and its cblas.h
  libgfortran5 libquadmath0                # what that OpenBLAS links, should the image lack a Fortran runtime
  zlib1g-dev zlib1g                        # zlib's header and the library its libz.so link points at
  nlohmann-json3-dev libcli11-dev          # header-only JSON and command-line libraries
  dataset-fashion-mnist                    # the training data (tests and the VAE benchmark read it)
)
safetensors_wheel="safetensors==0.4.5"  # the version scripts/setup.sh installs for the tests
limit_mib=64

dest=.gpu
rm -rf "$dest"
mkdir -p "$dest/debs" "$dest/wheels"
(cd "$dest/debs" && apt-get download "${packages[@]}")
git describe --always --dirty --abbrev=7 > "$dest/source"
# Any CPython 3 on manylinux x86-64: safetensors ships one abi3 wheel for all of them.
python3 -m pip download --quiet --no-deps --only-binary=:all: --python-version 3.12 --implementation cp \
  --platform manylinux_2_17_x86_64 --platform manylinux2014_x86_64 -d "$dest/wheels" "$safetensors_wheel"

# What the device tool sends: tracked files, untracked files git does not ignore, and the carried .gpu/.
tree_bytes=$( (git ls-files -z --cached --others --exclude-standard | xargs -0 stat -c %s 2>/dev/null || true) |
              awk '{s += $1} END {print s + 0}')
prepared_bytes=$(du -sb "$dest" | cut -f1)
total_mib=$(( (tree_bytes + prepared_bytes) / 1048576 ))
echo "gpu_prepare: $(find "$dest/debs" -name '*.deb' | wc -l) packages and $(find "$dest/wheels" -name '*.whl' | wc -l) wheel in $dest" \
     "($(( prepared_bytes / 1048576 )) MiB); with the working tree $total_mib MiB of the $limit_mib MiB a run may carry"
if [ "$total_mib" -ge "$limit_mib" ]; then
  echo "gpu_prepare: too large to travel; leave something out" >&2
  exit 1
fi
