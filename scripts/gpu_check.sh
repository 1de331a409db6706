#!/usr/bin/env bash
# The GPU check (docs/gpu.md): one command that proves the CUDA backend on a GPU machine, in about 8 minutes
# on 16 cores and one H100/H200. Needs .gpu/, made beforehand on a machine with Debian's archive by
# scripts/gpu_prepare.sh, since the GPU image lacks GoogleTest, OpenBLAS and the rest and reaches no registry.
#
#   prefix       unpacks .gpu/debs into a private prefix (dpkg -x; nothing is written to /usr)
#   configure    CMake + ninja, CUDA on, for sm_90 only, finding the unpacked packages through CMAKE_PREFIX_PATH
#   build        everything, -j$(nproc)
#   op-tests     the op harness, one process per op family (kernels/ops.def), so that a device fault in one
#                family cannot take the others down with it
#   unit-tests   every other test under CTest, beside the op tests
#   bench-*      the kernel, SGEMM and VAE benchmarks against PyTorch on the GPU
#   test-setup   safetensors for the tests' Python if it lacks it; the dataset where the tests look for it
#   memcheck     compute-sanitizer's memcheck over the CUDA-vs-CPU cases of the kernels with the most
#                intricate indexing (row engine, norms, convolution, pooling, indexing, top-k)
#
# Every test runs with TRIFECTA_REQUIRE_GPU=1: a CUDA test that would skip for want of a GPU fails instead.
# Each stage has its own time limit, cut further to what is left of the whole budget, so a hang costs one
# stage. Everything lands in one folder, $OUT when run through the device tool (else ./gpu-check-out):
# report.md (which stages passed, the failing tests, the figures), logs.tar.gz (every log), and the
# benchmark figures as bench/results files (<date>-cuda-<commit>.{md,json}, <date>-cuda-vae-<commit>.{md,json}).
#
#   bash scripts/gpu_check.sh                # the whole check
#   bash scripts/gpu_check.sh --build-only   # prefix, configure and build (checks the preparation on any machine)
# Environment: GPU_CHECK_BUDGET_S (seconds for everything, default 450), GPU_CHECK_ARCH (default 90-real),
# GPU_CHECK_CMAKE_ARGS (more configure arguments), GPU_CHECK_PYTHON (a Python with PyTorch; default python3).
set -uo pipefail
cd "$(dirname "$0")/.."
root=$PWD

mode=full
[ "${1:-}" = "--build-only" ] && mode="build-only"
out=${OUT:-$root/gpu-check-out}
budget=${GPU_CHECK_BUDGET_S:-450}
arch=${GPU_CHECK_ARCH:-90-real}
python=${GPU_CHECK_PYTHON:-$(command -v python3)}
jobs=$(nproc)
build=$root/build-gpu
prefix=$build/prefix          # the unpacked packages
logs=$build/gpu-check-logs
status_dir=$logs/status
date_tag=$(date +%F)
source_tag=$(cat .gpu/source 2>/dev/null || git rev-parse --short HEAD 2>/dev/null || echo unknown)
start=$(date +%s)
deadline=$((start + budget))

mkdir -p "$out" "$status_dir"
rm -f "$status_dir"/* "$logs"/*.log

# The CUDA tools may live outside PATH (the toolkit's usual install).
for tools in /usr/local/cuda/bin /usr/local/cuda/compute-sanitizer; do
  [ -d "$tools" ] && PATH=$PATH:$tools
done
export PATH
# The environment of every test and benchmark.
export TRIFECTA_REQUIRE_GPU=1
export TRIFECTA_FASHION_MNIST=$prefix/usr/share/datasets/fashion-mnist
export OMP_NUM_THREADS=2  # several test processes share the cores
export PYTHONPATH=$build/python${PYTHONPATH:+:$PYTHONPATH}
export CTEST_OUTPUT_ON_FAILURE=1

# run_stage NAME LIMIT_S FUNCTION: runs FUNCTION with its output in logs/NAME.log, for at most LIMIT_S seconds
# or what is left of the budget, and records how it ended in status/NAME.
run_stage() {
  local name=$1 limit=$2 fn=$3
  local left=$((deadline - $(date +%s) - 20))  # 20 s kept for the report
  if [ "$left" -lt 15 ]; then
    echo "not run (out of time)|0" > "$status_dir/$name"
    echo "gpu_check: $name: not run, out of time"
    return 1
  fi
  [ "$limit" -gt "$left" ] && limit=$left
  local t0 rc took verdict
  t0=$(date +%s)
  echo "gpu_check: $name (at most ${limit}s)"
  timeout --kill-after=10 "$limit" bash -c "$fn" > "$logs/$name.log" 2>&1
  rc=$?
  took=$(($(date +%s) - t0))
  case $rc in
    0) verdict=passed ;;
    124 | 137) verdict="TIMED OUT after ${limit}s" ;;
    *) verdict="FAILED (exit $rc)" ;;
  esac
  echo "$verdict|$took" > "$status_dir/$name"
  echo "gpu_check: $name: $verdict (${took}s)"
  return $rc
}

# ---- the stages (each a function run in its own bash under a timeout) ------------------------------------

stage_prefix() {
  set -e
  ls .gpu/debs/*.deb > /dev/null || { echo "no .gpu/debs: run scripts/gpu_prepare.sh first, and carry .gpu"; exit 1; }
  rm -rf "$prefix"
  mkdir -p "$prefix"
  for deb in .gpu/debs/*.deb; do
    if command -v dpkg > /dev/null; then
      dpkg -x "$deb" "$prefix"
    else  # a .deb is an ar archive whose data.tar.* holds the files
      member=$(ar t "$deb" | grep '^data\.tar')
      ar p "$deb" "$member" > "$prefix/$member"
      tar -xf "$prefix/$member" -C "$prefix"
      rm "$prefix/$member"
    fi
    echo "unpacked $(basename "$deb")"
  done
  # Debian's development links can be absolute (libz.so -> /lib/.../libz.so.1.2.13): point them into the prefix.
  find "$prefix" -type l | while read -r link; do
    target=$(readlink "$link")
    if [ "${target#/}" != "$target" ] && [ -e "$prefix$target" ]; then ln -sfn "$prefix$target" "$link"; fi
  done
  # The run-time libraries OpenBLAS needs, only where the image lacks them (beside nothing else of the prefix,
  # so the image's own zlib and the rest stay first for every other program).
  mkdir -p "$prefix/runtime"
  for lib in libgfortran.so.5 libquadmath.so.0; do
    if ! ldconfig -p | grep -q "$lib "; then
      ln -sfn "$prefix/usr/lib/x86_64-linux-gnu/$lib" "$prefix/runtime/$lib"
      echo "the image lacks $lib: using the unpacked one"
    fi
  done
}

# What only the tests need: safetensors for their Python, unless it has it, and the dataset at its default
# place, which some tests read (a link to the unpacked copy: the one thing written outside the checkout).
stage_test_setup() {
  set -e
  if ! "$python" -c "import safetensors.torch" 2> /dev/null; then
    "$python" -m pip install --quiet --no-index --no-deps --target "$build/python" .gpu/wheels/*.whl
    echo "installed $(ls .gpu/wheels) into $build/python"
  fi
  if [ ! -e /usr/share/datasets/fashion-mnist ]; then
    mkdir -p /usr/share/datasets
    ln -s "$TRIFECTA_FASHION_MNIST" /usr/share/datasets/fashion-mnist
    echo "linked /usr/share/datasets/fashion-mnist to the unpacked dataset"
  fi
  nvidia-smi
}

stage_configure() {
  set -e
  # shellcheck disable=SC2086  # GPU_CHECK_CMAKE_ARGS is a list of arguments
  cmake -S . -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=Release -DTRIFECTA_CUDA=ON \
    -DCMAKE_CUDA_COMPILER="$(command -v nvcc)" -DCMAKE_CUDA_ARCHITECTURES="$arch" \
    -DCMAKE_PREFIX_PATH="$prefix/usr" -DTRIFECTA_TORCH_PYTHON="$python" ${GPU_CHECK_CMAKE_ARGS:-}
  # Where each dependency was found: the unpacked prefix, not the system.
  echo "---- found:"
  local misplaced=0 entry value
  for entry in GTest_DIR TRIFECTA_OPENBLAS TRIFECTA_CBLAS_INCLUDE ZLIB_INCLUDE_DIR ZLIB_LIBRARY_RELEASE \
               nlohmann_json_DIR CLI11_DIR; do
    value=$(sed -n "s/^$entry:[A-Z]*=//p" "$build/CMakeCache.txt")
    [ -n "$value" ] || continue
    echo "$entry = $value"
    case $value in "$prefix"/*) ;; *) echo "  ^ not from $prefix"; misplaced=1 ;; esac
  done
  exit $misplaced
}

stage_build() {
  set -e
  cmake --build "$build" -j"$jobs"
  # The headers the compiler actually read: GoogleTest's, cblas.h and zlib.h must come from the prefix too.
  echo "---- headers read:"
  ninja -C "$build" -t deps | grep -E "/(gtest/gtest\.h|cblas\.h|zlib\.h)$" | sort -u | tee "$logs/headers.txt"
  if grep -v "^ *$prefix/" "$logs/headers.txt"; then
    echo "  ^ read from outside $prefix"
    exit 1
  fi
}

# The op harness's tests, grouped by op family: the blank-line-separated blocks of kernels/ops.def. A test
# belongs to the op whose name is the longest prefix of its case name; tests of no op (coverage, harness)
# form the group "harness". One op_tests process per group, several at once.
stage_op_tests() {
  set -e
  local groups=$logs/op-groups
  rm -rf "$groups"
  mkdir -p "$groups"
  "$build/tests/op_tests" --gtest_list_tests > "$groups/list.txt"
  "$python" - "$groups" kernels/ops.def "$groups/list.txt" << 'PY'
import re, sys
groups_dir, ops_def, listing = sys.argv[1:4]
family_of, family, families = {}, None, {}
for line in open(ops_def):
    m = re.match(r"TRIFECTA_OP\((\w+),", line)
    if m:
        family = family or m.group(1)
        family_of[m.group(1)] = family
    elif not line.strip():
        family = None
tests, suite = [], None
for line in open(listing):
    if not line.startswith(" "):
        suite = line.split("#")[0].strip()
    else:
        tests.append(suite + line.split("#")[0].strip())
for test in tests:
    case = test.rsplit("/", 1)[-1] if test.count("/") >= 2 else ""
    ops = [op for op in family_of if case.startswith(op + "_")]
    name = family_of[max(ops, key=len)] if ops else "harness"
    families.setdefault(name, []).append(test)
for name, members in families.items():
    with open(f"{groups_dir}/{name}.filter", "w") as f:
        f.write(":".join(members))
print(f"{len(tests)} tests in {len(families)} groups")
PY
  local failed=0
  # shellcheck disable=SC2016  # expanded by the inner shell
  find "$groups" -name '*.filter' -print0 | xargs -0 -P "$((jobs / 2 > 1 ? jobs / 2 : 1))" -I{} bash -c '
    filter=$1; name=$(basename "$filter" .filter)
    if GTEST_FILTER=$(cat "$filter") "$2/tests/op_tests" > "${filter%.filter}.log" 2>&1; then
      echo "group $name: passed"
    else
      echo "group $name: FAILED (exit $?)"; exit 1
    fi' _ {} "$build" || failed=1
  for log in "$groups"/*.log; do
    grep -E "^\[  FAILED  \] [^0-9]|^\[  SKIPPED \]|C\+\+ exception|CUDA error" "$log" | sed "s|^|$(basename "$log" .log): |" || true
  done
  exit $failed
}

# The image-metric references compare with scipy (bench/reference/fid_torch.py), which the GPU image may lack
# and the device tool cannot carry (its wheel alone is about 37 MB): without it those four CPU-only tests are
# left out, saying so (CI runs them on every commit).
stage_unit_tests() {
  local exclude='^op_tests$'
  if ! "$python" -c "import scipy" 2> /dev/null; then
    exclude='^(op_tests|fid_reference_generate|image_metrics_reference_test|fid_twin_torch|classify_fid_twin_test)$'
    echo "no scipy for $python: the image-metric reference tests (CPU only) are not run here"
  fi
  ctest --test-dir "$build" -E "$exclude" -j "$((jobs / 2 > 1 ? jobs / 2 : 1))" --timeout 240
}

stage_bench_kernels() {
  set -e
  local name=$date_tag-cuda-$source_tag
  "$python" bench/run_kernels.py --build "$build" --device cuda --python "$python" --json "$out/$name.json" |
    tee "$logs/bench-kernels.txt"
  results_md "CUDA kernel benchmark" "python3 bench/run_kernels.py --build build-gpu --device cuda --json $name.json" \
    "$logs/bench-kernels.txt" > "$out/$name.md"
}

stage_bench_vae() {
  set -e
  local name=$date_tag-cuda-vae-$source_tag
  "$python" bench/vae_bench.py --build "$build" --device cuda --python "$python" --steps 300 --json "$out/$name.json" |
    tee "$logs/bench-vae.txt"
  results_md "VAE training on the GPU" "python3 bench/vae_bench.py --build build-gpu --device cuda --steps 300 --json $name.json" \
    "$logs/bench-vae.txt" > "$out/$name.md"
}

stage_bench_sgemm() {
  "$build/bench/sgemm_bench"
}

stage_memcheck() {
  set -e
  local filter="" family
  for family in softmax layer_norm conv2d index_select; do  # families by their first op in kernels/ops.def
    [ -f "$logs/op-groups/$family.filter" ] || continue
    filter+=$(tr ':' '\n' < "$logs/op-groups/$family.filter" | grep '^Ops/CudaVsCpu\.' | paste -sd: -):
  done
  [ -n "$filter" ] || { echo "no op groups: the op-tests stage did not list them"; exit 1; }
  compute-sanitizer --tool memcheck --error-exitcode 1 --print-limit 20 \
    "$build/tests/op_tests" --gtest_filter="${filter%:}"
  compute-sanitizer --tool memcheck --error-exitcode 1 --print-limit 20 "$build/tests/sgemm_teaching_test"
}

# A bench/results file: title, date, machine, source, the command, and its output.
results_md() {
  local title=$1 command=$2 output=$3
  printf '# %s, %s, source %s\n\nWritten by scripts/gpu_check.sh (docs/gpu.md).\n\n    %s\n\n' \
    "$title" "$date_tag" "$source_tag" "$command"
  printf '## Machine\n\n'
  machine_lines
  printf '\n## Results\n\n```\n'
  cat "$output"
  printf '```\n'
}

machine_lines() {
  echo "- GPU: $(nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader 2>/dev/null || echo none)"
  echo "- CPU: $(nproc) cores, $(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -1)"
  echo "- nvcc: $(nvcc --version 2>/dev/null | sed -n 's/.*release //p' | head -1), g++ $(g++ -dumpfullversion 2>/dev/null)"
  echo "- PyTorch: $("$python" -c 'import torch; print(torch.__version__, "CUDA", torch.version.cuda)' 2>/dev/null || echo none)"
}

export -f stage_prefix stage_test_setup stage_configure stage_build stage_op_tests stage_unit_tests stage_bench_kernels \
  stage_bench_vae stage_bench_sgemm stage_memcheck results_md machine_lines
export root out arch python jobs build prefix logs date_tag source_tag
export LD_LIBRARY_PATH=$prefix/runtime${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}

# ---- the check ------------------------------------------------------------------------------------------

run_stage prefix 60 stage_prefix &&
  run_stage configure 90 stage_configure &&
  run_stage build 300 stage_build
built=$?
stages=(prefix configure build)
if [ "$mode" = full ] && [ $built -eq 0 ]; then
  run_stage test-setup 30 stage_test_setup
  # The op tests and the other tests share the GPU and the cores; the benchmarks then run alone.
  run_stage op-tests 180 stage_op_tests &
  run_stage unit-tests 180 stage_unit_tests &
  wait
  run_stage bench-kernels 90 stage_bench_kernels
  run_stage bench-sgemm 30 stage_bench_sgemm
  run_stage bench-vae 90 stage_bench_vae
  run_stage memcheck 90 stage_memcheck
  stages+=(test-setup op-tests unit-tests bench-kernels bench-sgemm bench-vae memcheck)
fi

# ---- the report -----------------------------------------------------------------------------------------
{
  printf '# GPU check, %s, source %s\n\n' "$date_tag" "$source_tag"
  machine_lines
  printf -- '- mode: %s, CUDA architectures %s, budget %ss, took %ss\n\n' "$mode" "$arch" "$budget" "$(($(date +%s) - start))"
  printf '| stage | result | seconds |\n| --- | --- | --- |\n'
  for stage in "${stages[@]}"; do
    IFS='|' read -r verdict took < "$status_dir/$stage" 2> /dev/null || { verdict="not run"; took=0; }
    printf '| %s | %s | %s |\n' "$stage" "$verdict" "$took"
  done
  for stage in "${stages[@]}"; do
    [ -f "$logs/$stage.log" ] || continue
    grep -q '^passed' "$status_dir/$stage" 2> /dev/null && continue
    printf '\n## %s: the end of its log\n\n```\n' "$stage"
    tail -n 40 "$logs/$stage.log"
    printf '```\n'
  done
  if [ -f "$logs/op-tests.log" ]; then
    printf '\n## Op test groups\n\n```\n'
    grep -E "^group |tests in [0-9]+ groups|: \[  FAILED|: \[  SKIPPED|: C\+\+ exception|: CUDA error" "$logs/op-tests.log" | head -200
    printf '```\n'
  fi
  if [ -f "$logs/unit-tests.log" ]; then
    printf '\n## Unit tests\n\n```\n'
    grep -E "tests passed|\*\*\*Failed|\*\*\*Timeout|\*\*\*Exception|Not Run|Disabled" "$logs/unit-tests.log" | head -100
    printf '```\n'
  fi
  printf '\n## Fallbacks and warnings the logs mention\n\n```\n'
  cat "$logs"/*.log "$logs"/op-groups/*.log 2> /dev/null | grep -E "^trifecta: " | sort | uniq -c | head -20
  printf '```\n'
  for figures in bench-kernels bench-vae; do
    [ -f "$logs/$figures.txt" ] || continue
    printf '\n## %s (summary; full table in the results file)\n\n```\n' "$figures"
    grep -E "^summary|ratio|^VAE" "$logs/$figures.txt"
    printf '```\n'
  done
} > "$out/report.md"
tar -czf "$out/logs.tar.gz" -C "$build" gpu-check-logs
cat "$out/report.md"

for stage in "${stages[@]}"; do
  grep -q '^passed' "$status_dir/$stage" 2> /dev/null || exit 1
done
