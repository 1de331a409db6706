// Training, evaluation and image output for the VAE binary (models/vae/main.cpp). Kept apart from the CLI
// so tests can drive a run directly.
#pragma once

#include <string>

#include "data/fashion_mnist.h"
#include "models/common/command_line.h"
#include "models/vae/vae.h"

namespace trifecta::vae {

// The vae commands (train, eval, sample, reconstruct), each with its own flags; train's defaults give the
// README's main job.
CommandLine command_line();

// train: trains from scratch or (--resume) from <out>/checkpoint.safetensors, writing metrics.jsonl,
// checkpoints, samples.png and reconstructions.png to --out, and returns the final test negative ELBO.
double train(const Flags& flags);

struct Evaluation {
  double negative_elbo;  // nats per image, averaged over the test images
  double iwae_nll;       // -log p(x) by importance weighting with k samples, nats per image
  double reconstruction, kl;
  int64_t images;
};
// The test negative ELBO of model on test (and, for k > 0, the importance-weighted NLL), with the noise
// drawn from a generator seeded with seed (Seeds::eval of the run's --seed). eval: loads the checkpoint in
// --out and evaluates it on the test set.
Evaluation evaluate(Vae& model, const FashionMnist& test, uint64_t seed, int64_t k);
Evaluation evaluate_checkpoint(const Flags& flags);

// count images decoded from prior draws z ~ N(0, I) of a generator seeded with seed: the means the decoder
// gives, float32 [count, 1, 28, 28] in [0, 1] on the CPU.
Tensor draw_samples(Vae& model, int64_t count, uint64_t seed);
// sample / reconstruct: load the checkpoint and write <out>/samples.{png,safetensors,npy} (--count, --format)
// or <out>/reconstructions.png.
void write_samples(Vae& model, const std::string& path, int64_t count, uint64_t seed);
void write_reconstructions(Vae& model, const Tensor& images, const std::string& path);
void sample_from_checkpoint(const Flags& flags);
void reconstruct_from_checkpoint(const Flags& flags);

}  // namespace trifecta::vae
