// The vae binary: train, sample from, reconstruct with, and evaluate VAEs (and the Two-Stage VAE, and
// Wasserstein auto-encoders) on Fashion-MNIST.
//
//   vae train [--device cpu|cuda] [--steps N] [--out runs/vae] ...   (vae train --help lists its flags)
//   vae sample --out runs/vae        samples.png from the checkpoint
//   vae sample --out runs/vae --count 10000 --format safetensors   samples for the image-quality metrics
//   vae reconstruct --out runs/vae   reconstructions.png of test images
//   vae eval --out runs/vae [--iwae-k 100]   test negative ELBO and importance-weighted NLL
//   vae train --stage 2 --from runs/stage1 --out runs/stage2   the Two-Stage VAE's second stage
//   vae train --objective wae-mmd|wae-gan ...                   a Wasserstein auto-encoder
#include <cstdio>

#include "models/vae/train.h"

int main(int argc, char** argv) {
  using namespace trifecta;
  return run_main(vae::command_line(), argc, argv, [](const CommandLine::Parsed& parsed) {
    const Flags& flags = parsed.flags;
    if (parsed.command == "train") {
      vae::train(flags);
    } else if (parsed.command == "sample") {
      vae::sample_from_checkpoint(flags);
    } else if (parsed.command == "reconstruct") {
      vae::reconstruct_from_checkpoint(flags);
    } else {
      const vae::Evaluation e = vae::evaluate_checkpoint(flags);
      std::printf("test %-15s %lld\n", e.unit, static_cast<long long>(e.images));
      std::printf("negative ELBO        %.3f nats (reconstruction %.3f + KL %.3f)\n", e.negative_elbo, e.reconstruction, e.kl);
      std::printf("IWAE NLL (k=%lld)    %.3f nats\n", static_cast<long long>(flags.get_int("iwae-k")), e.iwae_nll);
    }
  });
}
