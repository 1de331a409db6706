#!/usr/bin/env bash
# The main job: on a fresh Debian machine installs what is missing, builds, and trains the convolutional VAE
# on Fashion-MNIST (about 5 minutes on 2 CPU cores; on the GPU when one is present), leaving samples.png,
# reconstructions.png, metrics.jsonl, its plot metrics.png and the checkpoint in runs/vae. Extra arguments go
# to `vae train`; a second run replaces the first (--overwrite) unless they say --resume.
#   bash scripts/run.sh [--steps N] [--device cpu|cuda] [--resume] ...
# Only what the job needs is built: no tests, and CUDA code only for a GPU this machine has (its own
# architecture); compiling CUDA for absent GPUs was most of a first build on 2 cores. TRIFECTA_CUDA=ON
# builds the CUDA backend anyway, for the default architectures.
set -euo pipefail
cd "$(dirname "$0")/.."
if nvidia-smi -L > /dev/null 2>&1; then
  cuda_args=(-DTRIFECTA_CUDA=AUTO -DCMAKE_CUDA_ARCHITECTURES=native)
elif [ "${TRIFECTA_CUDA:-}" = ON ]; then
  cuda_args=(-DTRIFECTA_CUDA=ON)
else
  cuda_args=(-DTRIFECTA_CUDA=OFF)
fi
bash scripts/setup.sh build -DBUILD_TESTING=OFF "${cuda_args[@]}"
case " $* " in
  *" --resume "*) ./build/bin/vae train --out runs/vae "$@" ;;
  *) ./build/bin/vae train --out runs/vae --overwrite "$@" ;;
esac
/usr/bin/python3 scripts/plot.py runs/vae/metrics.jsonl
echo "samples: runs/vae/samples.png  reconstructions: runs/vae/reconstructions.png  metrics: runs/vae/metrics.jsonl (plot: runs/vae/metrics.png)"
