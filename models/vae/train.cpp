// The VAE on the training skeleton (models/common/trainer.h): its flags, its step (the negative ELBO with a
// KL weight from --kl-schedule), its evaluation and image writers, and the commands that read a checkpoint.
// `train` hands a second stage (--stage 2) to models/vae/two_stage.cpp and a Wasserstein auto-encoder
// (--objective wae-*) to models/vae/wae.cpp, which share the flags, loader and step defined here.
//
// Determinism: the initial weights come from Seeds::init, the data order is a function of (seed, epoch)
// (data/loader.h), and the reparameterization noise comes from Seeds::noise, whose state every checkpoint
// saves, so a resumed run takes exactly the steps the uninterrupted one would.
#include "models/vae/train.h"

#include <filesystem>

#include "data/fashion_mnist.h"
#include "data/image_grid.h"
#include "data/loader.h"
#include "models/common/checkpoint.h"
#include "models/common/dataset_flags.h"
#include "models/common/runtime.h"
#include "models/common/sample_files.h"
#include "models/common/trainer.h"
#include "models/vae/two_stage.h"
#include "models/vae/wae.h"
#include "optim/adam.h"
#include "optim/kl_schedule.h"
#include "optim/lr_schedule.h"

namespace trifecta::vae {

namespace {

using OnResume = Flags::OnResume;

constexpr int64_t kReconstructions = 32, kSampleBatch = 500;
const char* const kReconstructionsFile = "reconstructions.png";

// The flags of the commands that read a checkpoint: --out, --device, --threads.
void add_checkpoint_flags(Flags& flags) {
  flags.add_string("out", "runs/vae", "the run's folder, holding checkpoint.safetensors", OnResume::Invocation);
  add_runtime_flags(flags);
}

}  // namespace

void add_train_flags(Flags& flags) {
  Trainer::add_flags(flags, {.out = "runs/vae", .steps = 6000, .checkpoint_every = 500, .log_every = 20,
                             .eval_every = 1000});
  add_runtime_flags(flags);
  flags.add_string("architecture", "conv", "conv, infogan (the Two-Stage VAE's first stage: batch norm, FC 1024) or mlp",
                   OnResume::Keep);
  flags.add_string("likelihood", "bernoulli", "bernoulli (logits) or gaussian (learned scalar gamma)", OnResume::Keep);
  flags.add_int("latent", 16, "latent dimensions", OnResume::Keep);
  flags.add_int("hidden", 256, "width of the fully connected layers", OnResume::Keep);
  flags.add_int("batch-size", 128, "images per step", OnResume::Keep);
  flags.add_string("objective", "elbo", "elbo (a VAE), wae-mmd or wae-gan (a Wasserstein auto-encoder: cost "
                                       "0.05 ||x - y||^2 + --wae-lambda * MMD or adversarial penalty on z)", OnResume::Keep);
  flags.add_double("wae-lambda", 10.0, "WAE: weight of the penalty on the codes (the paper's MNIST setting: 10)");
  flags.add_double("disc-lr", 5e-4, "WAE-GAN: the latent discriminator's Adam learning rate");
  flags.add_double("lr", 1e-3, "Adam learning rate");
  flags.add_double("adam-beta1", 0.9, "Adam's beta1 (the WAE paper: 0.5)");
  flags.add_string("lr-schedule", "constant", "constant, or step:step_size=N,gamma=0.5 (the Two-Stage VAE's halving), "
                                              "cosine:..., warmup:N (optim/lr_schedule.h)");
  flags.add_string("kl-schedule", "constant:1", "KL weight: constant:B, monotonic:N or cyclical:T=..,M=4,R=0.5");
  add_training_data_flags(flags);
  add_second_stage_flags(flags);
}

namespace {

std::string checkpoint_path(const Flags& flags) {
  return RunFolder::checkpoint_in(flags.get_string("out"));
}

VaeConfig config_from(const Flags& flags) {
  return VaeConfig::from_flags(flags.get_string("architecture"), flags.get_string("likelihood"),
                               flags.get_int("latent"), flags.get_int("hidden"), flags.get_string("objective"));
}

}  // namespace

std::unique_ptr<Vae> load_vae(const Checkpoint& checkpoint, const std::string& path, Device device) {
  Flags recorded("vae train");
  add_train_flags(recorded);
  recorded.resume_from(checkpoint.config, path);
  const VaeConfig model_config = config_from(recorded);
  require_model_kind(checkpoint, path, model_config.kind());
  auto model = std::make_unique<Vae>(model_config);
  model->load_state_dict(checkpoint.model);
  model->to(device);
  model->eval();
  return model;
}

namespace {

// The model of the checkpoint in --out, on --device: a VAE with the architecture its run recorded, or a
// second stage with the first stage it was trained on.
TwoStage load_model(const Flags& flags) {
  const std::string path = checkpoint_path(flags);
  TRIFECTA_CHECK(std::filesystem::exists(path), flags.command(), "no checkpoint at ", path,
                 " (train first, or pass --out)");
  const Checkpoint checkpoint = load_checkpoint(path);
  if (checkpoint.model_kind == SecondStageVae::kKind) return load_two_stage(checkpoint, path, select_device(flags));
  return {load_vae(checkpoint, path, select_device(flags)), nullptr};
}

Tensor first_images(const Tensor& images, int64_t n) { return images.narrow(0, 0, std::min(n, images.size(0))); }

}  // namespace

CommandLine command_line() {
  CommandLine cli("vae", "Variational auto-encoders on Fashion-MNIST: train one, then evaluate it, sample from it or "
                         "reconstruct test images with it.");
  add_train_flags(cli.add_command("train", "train a VAE (resumable with --resume), leaving checkpoint, metrics and images in --out"));
  Flags& eval = cli.add_command("eval", "print the test negative ELBO and the importance-weighted NLL of the checkpoint in --out");
  add_checkpoint_flags(eval);
  add_test_data_flags(eval);
  eval.add_int("iwae-k", 100, "importance samples per image for the NLL estimate");
  eval.add_int("seed", 0, "seed of the evaluation's noise");
  Flags& sample = cli.add_command("sample", "write decoded draws from the prior, from the checkpoint in --out, to "
                                            "<out>/samples.png (an image grid), samples.safetensors or samples.npy");
  add_checkpoint_flags(sample);
  add_sample_file_flags(sample, kSamples);
  Flags& reconstruct = cli.add_command("reconstruct", "write reconstructions.png: test images above their reconstructions");
  add_checkpoint_flags(reconstruct);
  add_data_dir_flag(reconstruct);
  return cli;
}

DataLoader training_loader(const Tensor& rows, const Tensor& labels, int64_t batch_size, uint64_t seed, Device device) {
  return DataLoader(rows, labels, {.batch_size = batch_size, .shuffle = true, .seed = seed, .drop_last = true, .device = device});
}

StepReport elbo_step(GaussianVae& model, const Tensor& x, double beta, double lr, optim::Optimizer& optimizer,
                     Generator* noise) {
  const ElboTerms terms = negative_elbo_terms(model, x, noise);
  const Tensor kl = mean(terms.kl);
  const Tensor loss = add(mean(terms.reconstruction), mul(kl, beta));
  optimizer.set_lr(lr);
  optimizer.zero_grad();
  loss.backward();
  optimizer.step();
  const double loss_value = loss.item<double>(), kl_value = kl.item<double>();
  return {x.size(0),
          {{"loss", loss_value}, {"reconstruction", loss_value - beta * kl_value}, {"kl", kl_value}, {"beta", beta}}};
}

Tensor draw_samples(Vae& model, int64_t count, uint64_t seed, SecondStageVae* second_stage) {
  NoGradGuard no_grad;
  Generator generator(seed);
  const Device device = model.parameters().front().device();
  // The prior's draws: z itself, or the second stage's u, which its decoder maps to z (its mean; the paper's
  // optional gamma_z noise on top is left out).
  const Tensor prior = randn({count, model.config().latent}, DType::Float32, &generator).to(device);
  // Decoded a batch at a time, so 10,000 samples need no more memory than an evaluation batch.
  std::vector<Tensor> images;
  for (int64_t start = 0; start < count; start += kSampleBatch) {
    Tensor z = prior.narrow(0, start, std::min(kSampleBatch, count - start));
    if (second_stage) z = second_stage->decode(z);
    images.push_back(model.mean_image(model.decode(z)).to(kCPU));
  }
  return concat(images, 0);
}

void write_samples(Vae& model, const std::string& path, int64_t count, uint64_t seed, SecondStageVae* second_stage) {
  save_image_grid(path, draw_samples(model, count, seed, second_stage), 8);
}

void write_reconstructions(Vae& model, const Tensor& images, const std::string& path) {
  NoGradGuard no_grad;
  const Tensor x = first_images(images, kReconstructions).to(model.parameters().front().device());
  const Tensor recon = model.mean_image(model.decode(model.encode(x).mu));
  // Rows alternate: eight originals, then their eight reconstructions.
  std::vector<Tensor> rows;
  for (int64_t start = 0; start < x.size(0); start += 8) {
    const int64_t n = std::min<int64_t>(8, x.size(0) - start);
    rows.push_back(x.narrow(0, start, n));
    rows.push_back(recon.narrow(0, start, n));
  }
  save_image_grid(path, concat(rows, 0), 8);
}

Evaluation evaluate(Vae& model, const FashionMnist& test, uint64_t seed, int64_t k) {
  NoGradGuard no_grad;
  model.eval();
  const Device device = model.parameters().front().device();
  Generator noise(seed);
  DataLoader loader(test.images, test.labels, {.batch_size = 500, .shuffle = false, .device = device});
  double reconstruction = 0, kl = 0, nll = 0;
  for (const Batch& batch : loader.epoch(0)) {
    const ElboTerms terms = negative_elbo_terms(model, batch.images, &noise);
    reconstruction += sum(terms.reconstruction).item<double>();
    kl += sum(terms.kl).item<double>();
    if (k > 0) nll -= sum(importance_weighted_log_likelihood(model, batch.images, k, &noise)).item<double>();
  }
  const double n = static_cast<double>(test.images.size(0));
  return {(reconstruction + kl) / n, nll / n, reconstruction / n, kl / n, test.images.size(0)};
}

double train(const Flags& given) {
  Flags flags = given;
  const RunFolder folder(flags, {kSamplesFile, kReconstructionsFile});  // may take flags from the checkpoint
  apply_threads(flags);
  if (check_stage_flags(flags) == 2) {
    TRIFECTA_CHECK(flags.get_string("objective") == "elbo", "vae train --stage 2", "trains a VAE (--objective elbo)");
    return train_second_stage(flags, folder);
  }
  const VaeConfig config = config_from(flags);
  if (config.objective != Objective::Elbo) return train_wae(flags, folder, config);
  const Device device = select_device(flags);
  const optim::KlSchedule kl_schedule = optim::KlSchedule::parse(flags.get_string("kl-schedule"));
  const Seeds seeds(static_cast<uint64_t>(flags.get_int("seed")));
  const int64_t batch_size = flags.get_int("batch-size");
  const double lr = flags.get_double("lr");
  TRIFECTA_CHECK(lr > 0, "vae train --lr", "must be positive, got ", lr);
  const optim::LrSchedule lr_schedule = optim::LrSchedule::parse(flags.get_string("lr-schedule"));

  const auto [train_set, test_set] = load_training_data(flags, batch_size);
  const DataLoader loader = training_loader(train_set.images, train_set.labels, batch_size, seeds.data, device);
  Generator init(seeds.init), noise(seeds.noise);
  Vae model(config, &init);
  model.to(device);
  model.train();
  optim::Adam optimizer(model.named_parameters(), {.lr = lr, .beta1 = flags.get_double("adam-beta1")});
  Trainer trainer(folder, flags, {config.kind(), &model, {{"", &optimizer}}, &noise},
                  {.batches_per_epoch = loader.batches_per_epoch(), .unit = "images", .shown = {"loss", "kl"}});

  Evaluation result{};
  trainer.evaluate_with([&] {
    result = evaluate(model, test_set, seeds.eval, 0);
    write_samples(model, folder.file(kSamplesFile), kSamples, kSampleSeed);
    write_reconstructions(model, test_set.images, folder.file(kReconstructionsFile));
    return Json{{"test_negative_elbo", result.negative_elbo},
                {"test_reconstruction", result.reconstruction},
                {"test_kl", result.kl},
                {"test_images", result.images}};
  });
  trainer.run(loader, [&](const Batch& batch) {
    const int64_t step = trainer.position().step;
    StepReport report =
        elbo_step(model, batch.images, kl_schedule.beta(step), lr_schedule.lr(step, lr), optimizer, &noise);
    if (model.gamma().defined()) report.values.emplace_back("gamma", model.gamma().item<double>());
    return report;
  });
  std::fprintf(stderr, "test negative ELBO %.3f nats (reconstruction %.3f + KL %.3f) over %lld images\n",
               result.negative_elbo, result.reconstruction, result.kl, static_cast<long long>(result.images));
  return result.negative_elbo;
}

Evaluation evaluate_checkpoint(const Flags& flags) {
  apply_threads(flags);
  const int64_t k = flags.get_int("iwae-k");
  TRIFECTA_CHECK(k >= 1 && k <= 100000, "vae eval --iwae-k", "expects 1 to 100000 importance samples, got ", k);
  const TwoStage model = load_model(flags);
  TRIFECTA_CHECK(model.first->config().objective == Objective::Elbo, "vae eval", "a Wasserstein auto-encoder (",
                 model.kind(), ") has no likelihood to bound; score its samples instead (vae sample --format "
                 "safetensors, then classify fid)");
  const FashionMnist test = load_split(flags, FashionMnistSplit::Test, flags.get_int("test-limit"));
  const uint64_t seed = Seeds(static_cast<uint64_t>(flags.get_int("seed"))).eval;
  if (model.second) return evaluate_second_stage(*model.first, *model.second, test.images, seed, k);
  return evaluate(*model.first, test, seed, k);
}

void sample_from_checkpoint(const Flags& flags) {
  apply_threads(flags);
  const int64_t count = checked_sample_count(flags);
  const TwoStage model = load_model(flags);
  write_sample_file(flags, draw_samples(*model.first, count, kSampleSeed, model.second.get()), model.kind(),
                    kSampleSeed);
}

void reconstruct_from_checkpoint(const Flags& flags) {
  apply_threads(flags);
  // A second stage leaves reconstructions to its first stage.
  const TwoStage model = load_model(flags);
  const std::string path = (std::filesystem::path(flags.get_string("out")) / kReconstructionsFile).string();
  const FashionMnist test = load_split(flags, FashionMnistSplit::Test, kReconstructions);
  write_reconstructions(*model.first, test.images, path);
  std::printf("wrote %s\n", path.c_str());
}

}  // namespace trifecta::vae
