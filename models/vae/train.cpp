// The VAE on the training skeleton (models/common/trainer.h): its flags, its step (the negative ELBO with a
// KL weight from --kl-schedule), its evaluation and image writers, and the commands that read a checkpoint.
//
// Determinism: the initial weights come from Seeds::init, the data order is a function of (seed, epoch)
// (data/loader.h), and the reparameterization noise comes from Seeds::noise, whose state every checkpoint
// saves, so a resumed run takes exactly the steps the uninterrupted one would.
#include "models/vae/train.h"

#include <filesystem>

#include "data/fashion_mnist.h"
#include "data/image_grid.h"
#include "data/loader.h"
#include "data/npy.h"
#include "models/common/checkpoint.h"
#include "models/common/dataset_flags.h"
#include "models/common/runtime.h"
#include "models/common/trainer.h"
#include "optim/adam.h"
#include "optim/kl_schedule.h"
#include "tensor/safetensors.h"

namespace trifecta::vae {

namespace {

using OnResume = Flags::OnResume;

constexpr uint64_t kSampleSeed = 20261121;  // the same latent points in every samples.png
constexpr int64_t kSamples = 64, kReconstructions = 32, kSampleBatch = 500;
const char* const kSamplesFile = "samples.png";
const char* const kReconstructionsFile = "reconstructions.png";

// The flags of the commands that read a checkpoint: --out, --device, --threads.
void add_checkpoint_flags(Flags& flags) {
  flags.add_string("out", "runs/vae", "the run's folder, holding checkpoint.safetensors", OnResume::Invocation);
  add_runtime_flags(flags);
}

void add_train_flags(Flags& flags) {
  Trainer::add_flags(flags, {.out = "runs/vae", .steps = 6000, .checkpoint_every = 500, .log_every = 20,
                             .eval_every = 1000});
  add_runtime_flags(flags);
  flags.add_string("architecture", "conv", "conv or mlp", OnResume::Keep);
  flags.add_string("likelihood", "bernoulli", "bernoulli (logits) or gaussian (learned scalar gamma)", OnResume::Keep);
  flags.add_int("latent", 16, "latent dimensions", OnResume::Keep);
  flags.add_int("hidden", 256, "width of the fully connected layers", OnResume::Keep);
  flags.add_int("batch-size", 128, "images per step", OnResume::Keep);
  flags.add_double("lr", 1e-3, "Adam learning rate");
  flags.add_string("kl-schedule", "constant:1", "KL weight: constant:B, monotonic:N or cyclical:T=..,M=4,R=0.5");
  add_test_data_flags(flags);
  flags.add_int("train-limit", -1, "use only the first N training images (-1: all)", OnResume::Keep);
}

std::string checkpoint_path(const Flags& flags) {
  return (std::filesystem::path(flags.get_string("out")) / RunFolder::kCheckpoint).string();
}

VaeConfig config_from(const Flags& flags) {
  return VaeConfig::from_flags(flags.get_string("architecture"), flags.get_string("likelihood"),
                               flags.get_int("latent"), flags.get_int("hidden"));
}

// The model of the checkpoint in --out, on --device, with the architecture the checkpoint's run recorded.
std::unique_ptr<Vae> load_model(const Flags& flags) {
  const std::string path = checkpoint_path(flags);
  TRIFECTA_CHECK(std::filesystem::exists(path), flags.command(), "no checkpoint at ", path,
                 " (train first, or pass --out)");
  const Checkpoint checkpoint = load_checkpoint(path);
  Flags recorded("vae train");
  add_train_flags(recorded);
  recorded.resume_from(checkpoint.config, path);
  const VaeConfig model_config = config_from(recorded);
  require_model_kind(checkpoint, path, model_config.kind());
  auto model = std::make_unique<Vae>(model_config);
  model->load_state_dict(checkpoint.model);
  model->to(select_device(flags));
  model->eval();
  return model;
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
  sample.add_int("count", kSamples, "how many images to draw");
  sample.add_string("format", "png", "png (an 8-wide grid), safetensors (tensor \"images\") or npy: [count, 1, 28, 28] "
                                     "float32 in [0, 1], for the image-quality metrics (data/image_set.h)");
  Flags& reconstruct = cli.add_command("reconstruct", "write reconstructions.png: test images above their reconstructions");
  add_checkpoint_flags(reconstruct);
  add_data_dir_flag(reconstruct);
  return cli;
}

Tensor draw_samples(Vae& model, int64_t count, uint64_t seed) {
  NoGradGuard no_grad;
  Generator generator(seed);
  const Device device = model.parameters().front().device();
  const Tensor z = randn({count, model.config().latent}, DType::Float32, &generator).to(device);
  // Decoded a batch at a time, so 10,000 samples need no more memory than an evaluation batch.
  std::vector<Tensor> images;
  for (int64_t start = 0; start < count; start += kSampleBatch) {
    const Tensor batch = z.narrow(0, start, std::min(kSampleBatch, count - start));
    images.push_back(model.mean_image(model.decode(batch)).to(kCPU));
  }
  return concat(images, 0);
}

void write_samples(Vae& model, const std::string& path, int64_t count, uint64_t seed) {
  save_image_grid(path, draw_samples(model, count, seed), 8);
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
  const Device device = select_device(flags);
  const VaeConfig config = config_from(flags);
  const optim::KlSchedule kl_schedule = optim::KlSchedule::parse(flags.get_string("kl-schedule"));
  const Seeds seeds(static_cast<uint64_t>(flags.get_int("seed")));
  const int64_t batch_size = flags.get_int("batch-size");
  const double lr = flags.get_double("lr");
  TRIFECTA_CHECK(lr > 0, "vae train --lr", "must be positive, got ", lr);

  const auto [train_set, test_set] = load_training_data(flags, batch_size);
  DataLoader loader(train_set.images, train_set.labels,
                    {.batch_size = batch_size, .shuffle = true, .seed = seeds.data, .drop_last = true, .device = device});

  Generator init(seeds.init), noise(seeds.noise);
  Vae model(config, &init);
  model.to(device);
  model.train();
  optim::Adam optimizer(model.named_parameters(), {.lr = lr});
  Trainer trainer(folder, flags, {config.kind(), &model, {{"", &optimizer}}, &noise},
                  {.batches_per_epoch = loader.batches_per_epoch(), .unit = "images", .shown = {"loss", "kl"}});
  // A restored optimizer brings the learning rate it was saved with; this run's --lr (the checkpoint's
  // unless given now) is the one to train with.
  optimizer.set_lr(lr);

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
    const double beta = kl_schedule.beta(trainer.position().step);
    const ElboTerms terms = negative_elbo_terms(model, batch.images, &noise);
    const Tensor kl = mean(terms.kl);
    const Tensor loss = add(mean(terms.reconstruction), mul(kl, beta));
    optimizer.zero_grad();
    loss.backward();
    optimizer.step();
    const double loss_value = loss.item<double>(), kl_value = kl.item<double>();
    StepReport report{batch.images.size(0),
                      {{"loss", loss_value}, {"reconstruction", loss_value - beta * kl_value}, {"kl", kl_value}, {"beta", beta}}};
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
  std::unique_ptr<Vae> model = load_model(flags);
  const FashionMnist test = load_split(flags, FashionMnistSplit::Test, flags.get_int("test-limit"));
  return evaluate(*model, test, Seeds(static_cast<uint64_t>(flags.get_int("seed"))).eval, k);
}

void sample_from_checkpoint(const Flags& flags) {
  apply_threads(flags);
  const int64_t count = flags.get_int("count");
  const std::string format = flags.get_string("format");
  TRIFECTA_CHECK(count >= 1 && count <= 1000000, "vae sample --count", "expects 1 to 1000000 images, got ", count);
  TRIFECTA_CHECK(format == "png" || format == "safetensors" || format == "npy", "vae sample --format",
                 "expects png, safetensors or npy, got '", format, "'");
  std::unique_ptr<Vae> model = load_model(flags);
  const std::string path = (std::filesystem::path(flags.get_string("out")) / ("samples." + format)).string();
  const Tensor images = draw_samples(*model, count, kSampleSeed);
  if (format == "png") {
    save_image_grid(path, images, 8);
  } else if (format == "safetensors") {
    save_safetensors(path, {{"images", images}}, {{"model_kind", model->config().kind()}, {"seed", std::to_string(kSampleSeed)}});
  } else {
    write_npy(path, images);
  }
  std::printf("wrote %lld samples to %s\n", static_cast<long long>(count), path.c_str());
}

void reconstruct_from_checkpoint(const Flags& flags) {
  apply_threads(flags);
  std::unique_ptr<Vae> model = load_model(flags);
  const std::string path = (std::filesystem::path(flags.get_string("out")) / kReconstructionsFile).string();
  const FashionMnist test = load_split(flags, FashionMnistSplit::Test, kReconstructions);
  write_reconstructions(*model, test.images, path);
  std::printf("wrote %s\n", path.c_str());
}

}  // namespace trifecta::vae
