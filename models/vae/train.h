// Training, evaluation and image output for the VAE binary (models/vae/main.cpp). Kept apart from the CLI
// so tests can drive a run directly.
#pragma once

#include <string>

#include "data/fashion_mnist.h"
#include "data/loader.h"
#include "models/common/checkpoint.h"
#include "models/common/command_line.h"
#include "models/common/trainer.h"
#include "models/vae/second_stage.h"
#include "models/vae/vae.h"

namespace trifecta::vae {

inline constexpr uint64_t kSampleSeed = 20261121;  // the same latent points in every samples.png
inline constexpr int64_t kSamples = 64;            // in samples.png
inline constexpr const char* kSamplesFile = "samples.png";

// The vae commands (train, eval, sample, reconstruct), each with its own flags; train's defaults give the
// README's main job.
CommandLine command_line();

// The train command's flags (also read back from a checkpoint's recorded configuration).
void add_train_flags(Flags& flags);

// The VAE of a checkpoint (read from path) of a first-stage run, with the architecture it recorded, on
// device, in eval mode; a checkpoint of another kind is an Error naming path and both kinds.
std::unique_ptr<Vae> load_vae(const Checkpoint& checkpoint, const std::string& path, Device device);

// The batches of a training run: rows (images, or a second stage's codes) in the seeded order of
// data/loader.h, whole batches only, on device.
DataLoader training_loader(const Tensor& rows, const Tensor& labels, int64_t batch_size, uint64_t seed, Device device);

// One optimizer step on the negative ELBO of the batch x, its KL weighted by beta, at learning rate lr (this
// run's --lr under --lr-schedule, not the one a restored optimizer was saved with); returns its report.
StepReport elbo_step(GaussianVae& model, const Tensor& x, double beta, double lr, optim::Optimizer& optimizer,
                     Generator* noise);

// train: trains from scratch or (--resume) from <out>/checkpoint.safetensors, writing metrics.jsonl,
// checkpoints, samples.png and reconstructions.png to --out, and returns the final test negative ELBO (a
// second stage: of the test codes; a WAE: its test reconstruction cost).
double train(const Flags& flags);

struct Evaluation {
  double negative_elbo;  // nats per image, averaged over the test images
  double iwae_nll;       // -log p(x) by importance weighting with k samples, nats per image
  double reconstruction, kl;
  int64_t images;
  const char* unit = "images";  // what was evaluated: test images, or (a second stage) their latent codes
};
// The test negative ELBO of model on test (and, for k > 0, the importance-weighted NLL), with the noise
// drawn from a generator seeded with seed (Seeds::eval of the run's --seed). eval: loads the checkpoint in
// --out and evaluates it on the test set.
Evaluation evaluate(Vae& model, const FashionMnist& test, uint64_t seed, int64_t k);
Evaluation evaluate_checkpoint(const Flags& flags);

// count images decoded from prior draws z ~ N(0, I) of a generator seeded with seed: the means the decoder
// gives, float32 [count, 1, 28, 28] in [0, 1] on the CPU. With a second stage, the draws are its u ~ N(0, I)
// and z = its decoder's mean.
Tensor draw_samples(Vae& model, int64_t count, uint64_t seed, SecondStageVae* second_stage = nullptr);
// sample / reconstruct: load the checkpoint and write <out>/samples.{png,safetensors,npy} (--count, --format)
// or <out>/reconstructions.png.
void write_samples(Vae& model, const std::string& path, int64_t count, uint64_t seed,
                   SecondStageVae* second_stage = nullptr);
void write_reconstructions(Vae& model, const Tensor& images, const std::string& path);
void sample_from_checkpoint(const Flags& flags);
void reconstruct_from_checkpoint(const Flags& flags);

}  // namespace trifecta::vae
