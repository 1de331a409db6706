// The second stage of the Two-Stage VAE as a training run, and loading a run with both stages.
#include "models/vae/two_stage.h"

#include <filesystem>

#include "models/common/sha256.h"
#include "models/common/dataset_flags.h"
#include "models/common/runtime.h"
#include "models/common/trainer.h"
#include "optim/adam.h"
#include "optim/kl_schedule.h"
#include "optim/lr_schedule.h"

namespace trifecta::vae {

namespace {

using OnResume = Flags::OnResume;
constexpr int64_t kEncodeBatch = 500;

// The stage-1 VAE in the run folder `from`, checked to be a first stage and, when expected_sha256 is not
// empty, to be the checkpoint with that SHA-256. who names the caller in errors; sha256 (if not null)
// receives the checkpoint's digest.
std::unique_ptr<Vae> load_first_stage(const std::string& from, const std::string& expected_sha256, Device device,
                                      const std::string& who, std::string* sha256 = nullptr) {
  const std::string path = RunFolder::checkpoint_in(from);
  TRIFECTA_CHECK(std::filesystem::exists(path), who, "no checkpoint at ", path,
                 " (--from must be the folder of a trained stage-1 VAE run)");
  const Checkpoint checkpoint = load_checkpoint(path);
  TRIFECTA_CHECK(checkpoint.model_kind != SecondStageVae::kKind, who, path,
                 " is a stage-2 run; --from must be the folder of a stage-1 VAE run");
  TRIFECTA_CHECK(checkpoint.model_kind.rfind("vae-", 0) == 0, who, path, " holds a '", checkpoint.model_kind,
                 "' checkpoint, not a VAE's; --from must be the folder of a stage-1 VAE run");
  const std::string digest = sha256_hex_of_file(path);
  TRIFECTA_CHECK(expected_sha256.empty() || digest == expected_sha256, who, "the stage-1 checkpoint ", path,
                 " has changed since the second stage was trained on it (SHA-256 ", digest, ", recorded ",
                 expected_sha256, "): the second stage models the codes of the encoder it saw; train it again");
  if (sha256) *sha256 = digest;
  return load_vae(checkpoint, path, device);
}

// Every image's posterior under the frozen first stage (eval mode: batch norm on its running statistics),
// as rows [mu, logvar], [N, 2k] on the CPU. The second stage resamples z = mu + sigma * eps from it at every
// step, as the authors' code encodes the training set once and draws fresh noise each epoch.
Tensor posterior_table(Vae& first, const Tensor& images) {
  NoGradGuard no_grad;
  const Device device = first.parameters().front().device();
  std::vector<Tensor> rows;
  for (int64_t start = 0; start < images.size(0); start += kEncodeBatch) {
    const Tensor batch = images.narrow(0, start, std::min(kEncodeBatch, images.size(0) - start)).to(device);
    const GaussianVae::Posterior q = first.encode(batch);
    rows.push_back(concat({q.mu, q.logvar}, 1).to(kCPU));
  }
  return concat(rows, 0);
}

// z = mu + sigma * eps for rows of a posterior table.
Tensor sample_codes(const Tensor& table, int64_t latent, Generator* noise) {
  return reparameterize({table.narrow(1, 0, latent), table.narrow(1, latent, latent)}, noise);
}

Evaluation evaluate_codes(SecondStageVae& second, const Tensor& table, uint64_t seed, int64_t k) {
  NoGradGuard no_grad;
  second.eval();
  const Device device = second.parameters().front().device();
  Generator noise(seed);
  double reconstruction = 0, kl = 0, nll = 0;
  for (int64_t start = 0; start < table.size(0); start += kEncodeBatch) {
    const Tensor rows = table.narrow(0, start, std::min(kEncodeBatch, table.size(0) - start)).to(device);
    const Tensor z = sample_codes(rows, second.latent(), &noise);
    const ElboTerms terms = negative_elbo_terms(second, z, &noise);
    reconstruction += sum(terms.reconstruction).item<double>();
    kl += sum(terms.kl).item<double>();
    if (k > 0) nll -= sum(importance_weighted_log_likelihood(second, z, k, &noise)).item<double>();
  }
  const double n = static_cast<double>(table.size(0));
  return {(reconstruction + kl) / n, nll / n, reconstruction / n, kl / n, table.size(0), "codes"};
}

}  // namespace

void add_second_stage_flags(Flags& flags) {
  flags.add_int("stage", 1, "1: a VAE of images; 2: the Two-Stage VAE's second stage, a VAE of the latent codes of "
                            "the stage-1 run in --from", OnResume::Keep);
  flags.add_string("from", "", "with --stage 2: the stage-1 run folder (its checkpoint.safetensors)", OnResume::Keep);
  flags.add_string("from-sha256", "", "with --stage 2: the SHA-256 the stage-1 checkpoint must have (recorded from "
                                      "--from when the run starts)", OnResume::Keep);
  flags.add_int("stage2-hidden", 1024, "with --stage 2: width of its fully connected layers", OnResume::Keep);
}

int64_t check_stage_flags(const Flags& flags) {
  const int64_t stage = flags.get_int("stage");
  TRIFECTA_CHECK(stage == 1 || stage == 2, "vae train --stage", "expects 1 or 2, got ", stage);
  TRIFECTA_CHECK(stage == 1 || !flags.get_string("from").empty(), "vae train --stage 2",
                 "needs --from, the folder of a trained stage-1 VAE run");
  TRIFECTA_CHECK(stage == 2 || flags.get_string("from").empty(), "vae train --from",
                 "is only for --stage 2 (the second stage trains on the --from run's latent codes)");
  TRIFECTA_CHECK(stage == 2 || flags.get_string("from-sha256").empty(), "vae train --from-sha256",
                 "is only for --stage 2");
  const int64_t hidden = flags.get_int("stage2-hidden");
  TRIFECTA_CHECK(hidden > 0 && hidden <= 65536, "vae train --stage2-hidden", "expects 1..65536, got ", hidden);
  return stage;
}

double train_second_stage(Flags& flags, const RunFolder& folder) {
  const Device device = select_device(flags);
  std::string digest;
  std::unique_ptr<Vae> first = load_first_stage(flags.get_string("from"), flags.get_string("from-sha256"), device,
                                                "vae train --stage 2 --from", &digest);
  // Recorded in every checkpoint: the stage-1 run as an absolute path (so that sample and eval find it from
  // any working directory) and its checkpoint's digest.
  if (!folder.resuming()) flags.set("from", std::filesystem::absolute(flags.get_string("from")).lexically_normal().string());
  if (flags.get_string("from-sha256").empty()) flags.set("from-sha256", digest);
  const optim::KlSchedule kl_schedule = optim::KlSchedule::parse(flags.get_string("kl-schedule"));
  const optim::LrSchedule lr_schedule = optim::LrSchedule::parse(flags.get_string("lr-schedule"));
  const Seeds seeds(static_cast<uint64_t>(flags.get_int("seed")));
  const int64_t batch_size = flags.get_int("batch-size"), latent = first->latent();
  const double lr = flags.get_double("lr");
  TRIFECTA_CHECK(lr > 0, "vae train --lr", "must be positive, got ", lr);

  const auto [train_set, test_set] = load_training_data(flags, batch_size);
  const Tensor train_codes = posterior_table(*first, train_set.images);
  const Tensor test_codes = posterior_table(*first, test_set.images);
  const DataLoader loader = training_loader(train_codes, train_set.labels, batch_size, seeds.data, device);

  Generator init(seeds.init), noise(seeds.noise);
  SecondStageVae model(latent, flags.get_int("stage2-hidden"), &init);
  model.to(device);
  model.train();
  optim::Adam optimizer(model.named_parameters(), {.lr = lr});
  Trainer trainer(folder, flags, {SecondStageVae::kKind, &model, {{"", &optimizer}}, &noise},
                  {.batches_per_epoch = loader.batches_per_epoch(), .unit = "codes", .shown = {"loss", "kl"}});

  Evaluation result{};
  trainer.evaluate_with([&] {
    result = evaluate_codes(model, test_codes, seeds.eval, 0);
    write_samples(*first, folder.file(kSamplesFile), kSamples, kSampleSeed, &model);
    return Json{{"test_negative_elbo", result.negative_elbo},
                {"test_reconstruction", result.reconstruction},
                {"test_kl", result.kl},
                {"test_codes", result.images}};
  });
  trainer.run(loader, [&](const Batch& batch) {
    const int64_t step = trainer.position().step;
    const Tensor z = sample_codes(batch.images, latent, &noise);
    StepReport report = elbo_step(model, z, kl_schedule.beta(step), lr_schedule.lr(step, lr), optimizer, &noise);
    report.values.emplace_back("gamma_z", model.gamma().item<double>());
    return report;
  });
  std::fprintf(stderr, "stage 2: test negative ELBO %.3f nats per code (reconstruction %.3f + KL %.3f) over %lld codes\n",
               result.negative_elbo, result.reconstruction, result.kl, static_cast<long long>(result.images));
  return result.negative_elbo;
}

TwoStage load_two_stage(const Checkpoint& checkpoint, const std::string& path, Device device) {
  Flags recorded("vae train");
  add_train_flags(recorded);
  recorded.resume_from(checkpoint.config, path);
  TwoStage model;
  model.first = load_first_stage(recorded.get_string("from"), recorded.get_string("from-sha256"), device,
                                 "vae: the stage-2 run " + path + " depends on --from " + recorded.get_string("from"));
  model.second = std::make_unique<SecondStageVae>(model.first->latent(), recorded.get_int("stage2-hidden"));
  model.second->load_state_dict(checkpoint.model);
  model.second->to(device);
  model.second->eval();
  return model;
}

Evaluation evaluate_second_stage(Vae& first, SecondStageVae& second, const Tensor& images, uint64_t seed, int64_t k) {
  return evaluate_codes(second, posterior_table(first, images), seed, k);
}

}  // namespace trifecta::vae
