#!/usr/bin/env bash
# Coverage-guided fuzzing of the loaders of untrusted bytes (tests/fuzz/targets.h) with libFuzzer, under
# AddressSanitizer and UBSan. libFuzzer needs clang, so this builds the library with clang in its own folder,
# build-fuzz (the usual builds use g++; fuzz_loaders_test replays seeds and mutations in every build).
#   bash scripts/fuzz.sh [seconds per target (default 120)] [target ...]   (default: every tests/fuzz/corpus/*)
# Each target starts from its seeds in tests/fuzz/corpus/<target>/ and grows build-fuzz/corpus/<target>/.
# A finding (a crash, a sanitizer report, an exception other than trifecta::Error) is saved in
# build-fuzz/findings/<target>/ and makes the script exit non-zero; replay one with
#   TRIFECTA_FUZZ_TARGET=<target> build-fuzz/tests/fuzz_loaders <file>
set -euo pipefail
cd "$(dirname "$0")/.."

for p in clang-14 libclang-rt-14-dev libomp-14-dev; do
  dpkg -s "$p" >/dev/null 2>&1 || { echo "fuzz: needs $p (apt-get install clang-14 libclang-rt-14-dev libomp-14-dev)"; exit 2; }
done

seconds="${1:-120}"
shift || true
targets=("$@")
if [ ${#targets[@]} -eq 0 ]; then
  for dir in tests/fuzz/corpus/*/; do targets+=("$(basename "$dir")"); done
fi

CC=clang-14 CXX=clang++-14 cmake -S . -B build-fuzz -DTRIFECTA_CUDA=OFF -DTRIFECTA_SANITIZE=ON -DTRIFECTA_FUZZ=ON \
  -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build build-fuzz -j"$(nproc)" --target fuzz_loaders

failed=()
for target in "${targets[@]}"; do
  mkdir -p "build-fuzz/corpus/$target" "build-fuzz/findings/$target"
  echo "fuzz: $target for ${seconds}s"
  # OpenMP's runtime keeps thread-local blocks alive at exit; they are not leaks of ours (as in sanitize.sh).
  if ! TRIFECTA_FUZZ_TARGET="$target" ASAN_OPTIONS=detect_leaks=0 UBSAN_OPTIONS=print_stacktrace=1 \
      build-fuzz/tests/fuzz_loaders "build-fuzz/corpus/$target" "tests/fuzz/corpus/$target" \
      -max_total_time="$seconds" -timeout=10 -artifact_prefix="build-fuzz/findings/$target/" -print_final_stats=1; then
    failed+=("$target")
  fi
done
if [ ${#failed[@]} -gt 0 ]; then
  echo "fuzz: findings for ${failed[*]} (see build-fuzz/findings/)"
  exit 1
fi
echo "fuzz: no findings"
