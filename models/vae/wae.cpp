// WAE-MMD and WAE-GAN training on the VAE networks.
#include "models/vae/wae.h"

#include <optional>

#include "data/loader.h"
#include "models/common/dataset_flags.h"
#include "models/common/runtime.h"
#include "models/common/trainer.h"
#include "nn/loss.h"
#include "nn/mmd.h"
#include "optim/adam.h"
#include "optim/lr_schedule.h"

namespace trifecta::vae {

namespace {

constexpr int64_t kEvalBatch = 500;

// -log sigmoid(logits) (target 1) or -log(1 - sigmoid(logits)) (target 0), averaged over the batch.
Tensor discriminator_loss(const Tensor& logits, double target) {
  return nn::binary_cross_entropy_with_logits(logits, full_like(logits, target));
}

}  // namespace

Tensor wae_reconstruction_cost(const Tensor& images, const Tensor& mean_images) {
  return mul(mean(sum(square(sub(images, mean_images)), {1, 2, 3})), kWaeCostScale);
}

WaeEvaluation evaluate_wae(Vae& model, const FashionMnist& test, uint64_t seed) {
  NoGradGuard no_grad;
  model.eval();
  const Device device = model.parameters().front().device();
  Generator noise(seed);
  DataLoader loader(test.images, test.labels, {.batch_size = kEvalBatch, .shuffle = false, .device = device});
  double reconstruction = 0, mmd = 0;
  int64_t batches = 0;
  for (const Batch& batch : loader.epoch(0)) {
    const Tensor z = model.encode(batch.images).mu;
    const int64_t n = batch.images.size(0);
    reconstruction += wae_reconstruction_cost(batch.images, model.mean_image(model.decode(z))).item<double>() * n;
    if (n < 2) continue;  // a last batch of one image has no MMD estimate
    mmd += nn::mmd_inverse_multiquadratic(z, randn(z.shape(), z.options(), &noise)).item<double>();
    ++batches;
  }
  return {reconstruction / static_cast<double>(test.images.size(0)), batches ? mmd / batches : 0.0,
          test.images.size(0)};
}

double train_wae(Flags& flags, const RunFolder& folder, const VaeConfig& config) {
  const Device device = select_device(flags);
  const optim::LrSchedule lr_schedule = optim::LrSchedule::parse(flags.get_string("lr-schedule"));
  const Seeds seeds(static_cast<uint64_t>(flags.get_int("seed")));
  const int64_t batch_size = flags.get_int("batch-size");
  const double lr = flags.get_double("lr"), disc_lr = flags.get_double("disc-lr"), lambda = flags.get_double("wae-lambda");
  const double beta1 = flags.get_double("adam-beta1");
  TRIFECTA_CHECK(lr > 0 && disc_lr > 0, "vae train --lr/--disc-lr", "must be positive, got ", lr, " and ", disc_lr);
  TRIFECTA_CHECK(lambda >= 0, "vae train --wae-lambda", "must be non-negative, got ", lambda);
  TRIFECTA_CHECK(batch_size >= 2, "vae train --objective wae-*", "the MMD and the discriminator need --batch-size >= 2, got ",
                 batch_size);
  const bool adversarial = config.objective == Objective::WaeGan;

  const auto [train_set, test_set] = load_training_data(flags, batch_size);
  const DataLoader loader = training_loader(train_set.images, train_set.labels, batch_size, seeds.data, device);
  Generator init(seeds.init), noise(seeds.noise);
  Vae model(config, &init);
  model.to(device);
  model.train();
  optim::Adam optimizer(model.autoencoder_parameters(), {.lr = lr, .beta1 = beta1});
  std::optional<optim::Adam> disc_optimizer;
  std::vector<std::pair<std::string, optim::Optimizer*>> optimizers = {{"autoencoder", &optimizer}};
  if (adversarial) {
    disc_optimizer.emplace(model.discriminator_parameters(), optim::AdamOptions{.lr = disc_lr, .beta1 = beta1});
    optimizers.emplace_back("discriminator", &*disc_optimizer);
  }
  Trainer trainer(folder, flags, {config.kind(), &model, optimizers, &noise},
                  {.batches_per_epoch = loader.batches_per_epoch(), .unit = "images",
                   .shown = {"loss", adversarial ? "adversarial" : "mmd"}});

  WaeEvaluation result{};
  trainer.evaluate_with([&] {
    result = evaluate_wae(model, test_set, seeds.eval);
    write_samples(model, folder.file(kSamplesFile), kSamples, kSampleSeed);
    return Json{{"test_reconstruction", result.reconstruction}, {"test_mmd", result.mmd}, {"test_images", result.images}};
  });
  trainer.run(loader, [&](const Batch& batch) {
    const int64_t step = trainer.position().step;
    const Tensor z = model.encode(batch.images).mu;  // the deterministic encoder
    const Tensor prior = randn(z.shape(), z.options(), &noise);
    const Tensor reconstruction = wae_reconstruction_cost(batch.images, model.mean_image(model.decode(z)));
    const Tensor penalty = adversarial ? discriminator_loss(model.discriminate(z), 1.0)
                                       : nn::mmd_inverse_multiquadratic(z, prior);
    const Tensor loss = add(reconstruction, mul(penalty, lambda));
    optimizer.set_lr(lr_schedule.lr(step, lr));
    optimizer.zero_grad();
    loss.backward();
    optimizer.step();
    StepReport report{batch.images.size(0),
                      {{"loss", loss.item<double>()},
                       {"reconstruction", reconstruction.item<double>()},
                       {adversarial ? "adversarial" : "mmd", penalty.item<double>()}}};
    if (adversarial) {
      // Then the adversary, on the same prior draws and the codes as encoded before the autoencoder's update
      // (detached: its loss trains only the discriminator).
      const Tensor disc_loss = mul(add(discriminator_loss(model.discriminate(prior), 1.0),
                                       discriminator_loss(model.discriminate(z.detach()), 0.0)),
                                   lambda);
      disc_optimizer->set_lr(lr_schedule.lr(step, disc_lr));
      disc_optimizer->zero_grad();
      disc_loss.backward();
      disc_optimizer->step();
      report.values.emplace_back("discriminator", disc_loss.item<double>());
    }
    return report;
  });
  std::fprintf(stderr, "test reconstruction cost %.3f, MMD %.5f over %lld images\n", result.reconstruction, result.mmd,
               static_cast<long long>(result.images));
  return result.reconstruction;
}

}  // namespace trifecta::vae
