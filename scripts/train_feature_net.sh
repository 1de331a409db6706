#!/usr/bin/env bash
# The recipe of the FID-F feature network (models/classify/feature_net.h), version fashion_cnn_v1: trains
# the `cnn` classifier on Fashion-MNIST with a fixed seed on the CPU with 2 threads (so the same machine and
# build reproduce it), writes the model alone to data/feature_net/fashion_cnn_v1.safetensors and prints its
# SHA-256 beside the one recorded in models/classify/feature_net.cpp. 7 minutes on 2 quiet CPU cores (an AMD
# EPYC VM; docs/results/classify.md), where a rerun wrote the committed file bit for bit.
#   bash scripts/train_feature_net.sh            # builds ./build (CPU only) first
#   TRIFECTA_BUILD=build-cpu bash scripts/train_feature_net.sh   # use an existing build folder
# The committed weights are the ones this command wrote; a run elsewhere (another CPU, BLAS or compiler) may
# differ in the last bits and then reports a different hash: FID-F figures always use the committed file.
set -euo pipefail
cd "$(dirname "$0")/.."
build="${TRIFECTA_BUILD:-build}"
if [ -z "${TRIFECTA_BUILD:-}" ]; then bash scripts/setup.sh build -DBUILD_TESTING=OFF -DTRIFECTA_CUDA=OFF; fi
run=runs/feature_net
weights=data/feature_net/fashion_cnn_v1.safetensors
steps=5600  # 12 epochs of 468 batches of 128
"$build/bin/classify" train --out "$run" --overwrite --device cpu --threads 2 --seed 1 \
  --architecture cnn --dropout 0.3 --batch-size 128 --optimizer adam --lr 2e-3 \
  --lr-schedule "cosine:T_max=$steps" --steps "$steps" --eval-every 1400 --checkpoint-every 1400 --log-every 50
"$build/bin/classify" export --out "$run" --to "$weights"
"$build/bin/classify" eval --checkpoint "$weights" --device cpu --threads 2
hash=$(sha256sum "$weights" | cut -d' ' -f1)
echo "SHA-256 of $weights: $hash"
if grep -q "$hash" models/classify/feature_net.cpp; then
  echo "matches the hash recorded for fashion_cnn_v1 in models/classify/feature_net.cpp"
else
  echo "differs from the hash recorded in models/classify/feature_net.cpp: these are not the committed weights"
fi
