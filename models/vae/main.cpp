// The vae binary: train, sample from, reconstruct with, and evaluate VAEs on Fashion-MNIST.
//
//   vae train [--device cpu|cuda] [--steps N] [--out runs/vae] ...   (vae train --help lists every flag)
//   vae sample --out runs/vae        samples.png from the checkpoint
//   vae reconstruct --out runs/vae   reconstructions.png of test images
//   vae eval --out runs/vae [--iwae-k 100]   test negative ELBO and importance-weighted NLL
#include <cstdio>
#include <cstring>
#include <iostream>

#include "models/vae/train.h"

namespace {

constexpr const char* kUsage =
    "vae <train|sample|reconstruct|eval> [flags]\n"
    "  train        train a VAE (resumable with --resume), leaving checkpoint, metrics and images in --out\n"
    "  sample       write samples.png from the checkpoint in --out\n"
    "  reconstruct  write reconstructions.png of test images\n"
    "  eval         print the test negative ELBO and the importance-weighted NLL";

}  // namespace

int main(int argc, char** argv) {
  using namespace trifecta;
  if (argc < 2 || std::strcmp(argv[1], "--help") == 0 || std::strcmp(argv[1], "-h") == 0) {
    Flags flags("vae", kUsage);
    vae::add_flags(flags);
    std::cout << flags.help();
    return argc < 2 ? 2 : 0;
  }
  const std::string command = argv[1];
  try {
    Flags flags("vae " + command, kUsage);
    vae::add_flags(flags);
    if (command != "train" && command != "sample" && command != "reconstruct" && command != "eval")
      throw Error("vae: unknown command '" + command + "' (expected train, sample, reconstruct or eval)");
    if (!flags.parse(argc, argv, 2)) return 0;
    if (command == "train") {
      vae::train(flags);
    } else if (command == "sample") {
      vae::sample_from_checkpoint(flags);
    } else if (command == "reconstruct") {
      vae::reconstruct_from_checkpoint(flags);
    } else {
      const vae::Evaluation e = vae::evaluate_checkpoint(flags);
      std::printf("test images          %lld\n", static_cast<long long>(e.images));
      std::printf("negative ELBO        %.3f nats (reconstruction %.3f + KL %.3f)\n", e.negative_elbo, e.reconstruction, e.kl);
      std::printf("IWAE NLL (k=%lld)    %.3f nats\n", static_cast<long long>(flags.get_int("iwae-k")), e.iwae_nll);
    }
  } catch (const std::exception& e) {
    std::fprintf(stderr, "error: %s\n", e.what());
    return 1;
  }
  return 0;
}
