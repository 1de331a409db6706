// SN-GAN on the training skeleton (models/common/trainer.h): its flags, its step (n_dis discriminator
// updates, then one generator update, on the hinge losses), its evaluation (FID-F and KID-F of samples
// against the test images, and a sample grid) and the commands that read a checkpoint.
//
// Determinism: the initial weights come from Seeds::init, the data order is a function of (seed, epoch)
// (data/loader.h), and every z comes from Seeds::noise, whose state every checkpoint saves, so a resumed
// run takes exactly the steps the uninterrupted one would. Within a step the draws are, in order: z for
// each discriminator update's fakes, then z for the generator update (bench/reference/gan_torch.py draws
// the same).
#include "models/gan/train.h"

#include <cstdio>
#include <filesystem>
#include <sstream>

#include "data/image_grid.h"
#include "data/loader.h"
#include "models/common/checkpoint.h"
#include "models/common/dataset_flags.h"
#include "models/common/runtime.h"
#include "models/common/sample_files.h"
#include "models/common/trainer.h"
#include "models/gan/fid_scorer.h"
#include "nn/loss.h"
#include "optim/adam.h"
#include "tensor/safetensors.h"
#include "tensor/storage.h"

namespace trifecta::gan {

namespace {

using OnResume = Flags::OnResume;

constexpr uint64_t kSampleSeed = 20261201;  // the same z in every samples.png and every FID-F sample set
constexpr int64_t kGridImages = 64;
const char* const kSamplesFile = "samples.png";

void add_checkpoint_flags(Flags& flags) {
  flags.add_string("out", "runs/gan", "the run's folder, holding checkpoint.safetensors", OnResume::Invocation);
  add_runtime_flags(flags);
}

void add_train_flags(Flags& flags) {
  Trainer::add_flags(flags, {.out = "runs/gan", .steps = 3000, .checkpoint_every = 500, .log_every = 20,
                             .eval_every = 1000});
  add_runtime_flags(flags);
  flags.add_int("latent", 128, "dimensions of z ~ N(0, I)", OnResume::Keep);
  flags.add_int("g-channels", 256, "the generator's channels at 7x7 (halved at 14x14 and 28x28)", OnResume::Keep);
  flags.add_int("d-channels", 64, "the discriminator's channels in its first block (doubled by each block)",
                OnResume::Keep);
  flags.add_int("batch-size", 64, "images per discriminator update (and fakes per generator update)", OnResume::Keep);
  flags.add_int("n-dis", 1, "discriminator updates per generator update, each on its own batch", OnResume::Keep);
  flags.add_double("lr", 2e-4, "Adam learning rate of both networks");
  flags.add_string("betas", "0,0.9", "Adam's beta1,beta2 for both networks (the paper also uses 0.5,0.999)",
                   OnResume::Keep);
  flags.add_string("lr-decay", "none", "none, or linear: the learning rate falls linearly to 0 at the last step");
  flags.add_double("ema-decay", 0.0, "keep a moving average of the generator's weights with this decay (e.g. 0.999) "
                                     "and sample from it; 0: none", OnResume::Keep);
  flags.add_string("fq-blocks", "", "FQ-GAN: comma-separated discriminator blocks (0..2) each followed by a feature "
                                   "quantizer, e.g. 1,2; empty: plain SN-GAN", OnResume::Keep);
  flags.add_int("fq-entries", 256, "FQ-GAN: dictionary entries K per quantizer", OnResume::Keep);
  flags.add_double("fq-decay", 0.8, "FQ-GAN: EMA decay of the dictionaries", OnResume::Keep);
  flags.add_double("fq-commitment", 1.0, "FQ-GAN: weight beta of the commitment loss", OnResume::Keep);
  flags.add_string("fq-form", "feed-forward", "FQ-GAN: feed-forward (the paper: later blocks see the quantized "
                                              "features) or auxiliary (the released code: they see the features "
                                              "unchanged, and the commitment loss is added to G's loss too)",
                   OnResume::Keep);
  flags.add_int("fid-samples", 2000, "samples scored by FID-F and KID-F at each evaluation");
  flags.add_int("kid-subsets", 10, "KID-F subsets at each evaluation");
  add_training_data_flags(flags);
}

struct Betas {
  double beta1, beta2;
};

Betas parse_betas(const std::string& text) {
  std::istringstream in(text);
  Betas b{};
  char comma = 0;
  std::string rest;
  const bool read = static_cast<bool>(in >> b.beta1 >> comma >> b.beta2) && comma == ',' && !(in >> rest);
  TRIFECTA_CHECK(read, "gan train --betas", "expects beta1,beta2 (e.g. 0,0.9), got '", text, "'");
  TRIFECTA_CHECK(b.beta1 >= 0 && b.beta1 < 1 && b.beta2 >= 0 && b.beta2 < 1, "gan train --betas",
                 "expects both in [0, 1), got '", text, "'");
  return b;
}

std::vector<int64_t> parse_blocks(const std::string& text) {
  std::vector<int64_t> blocks;
  std::istringstream in(text);
  for (std::string item; std::getline(in, item, ',');) {
    size_t used = 0;
    int64_t block = -1;
    try {
      block = std::stoll(item, &used);
    } catch (const std::exception&) {
      used = 0;
    }
    TRIFECTA_CHECK(used > 0 && used == item.size(), "gan train --fq-blocks",
                   "expects comma-separated block numbers such as 1,2, got '", text, "'");
    blocks.push_back(block);
  }
  return blocks;
}

GanConfig config_from(const Flags& flags) {
  const std::string form = flags.get_string("fq-form");
  TRIFECTA_CHECK(form == "feed-forward" || form == "auxiliary", "gan train --fq-form",
                 "expects feed-forward or auxiliary, got '", form, "'");
  GanConfig c{.latent = flags.get_int("latent"),
              .g_channels = flags.get_int("g-channels"),
              .d_channels = flags.get_int("d-channels"),
              .ema = flags.get_double("ema-decay") > 0,
              .fq_blocks = parse_blocks(flags.get_string("fq-blocks")),
              .fq = {.entries = flags.get_int("fq-entries"), .decay = flags.get_double("fq-decay"),
                     .commitment = flags.get_double("fq-commitment"), .feed_forward = form == "feed-forward"}};
  c.validate();
  return c;
}

std::string checkpoint_path(const Flags& flags) {
  return RunFolder::checkpoint_in(flags.get_string("out"));
}

// The run's evaluation: FID-F and KID-F of samples drawn with kSampleSeed, and their first images as a grid.
Json evaluate(Gan& model, const FidScorer& scorer, int64_t samples, int64_t kid_subsets, const std::string& grid) {
  const Tensor images = draw_samples(model, samples, kSampleSeed);
  save_image_grid(grid, images.narrow(0, 0, std::min(kGridImages, samples)), 8);
  const image_metrics::ImageQuality q = scorer.score(images, kid_subsets).quality;
  return Json{{"fid_f", q.fid}, {"kid_f", q.kid.mean}, {"kid_f_std", q.kid.std}, {"fid_samples", q.sample_images},
              {"fid_reference_images", q.reference_images}};
}

}  // namespace

CommandLine command_line() {
  CommandLine cli("gan", "SN-GAN on Fashion-MNIST: train one, then sample from it or score its samples by FID-F.");
  add_train_flags(cli.add_command("train", "train an SN-GAN (resumable with --resume), leaving checkpoint, metrics "
                                           "and samples.png in --out"));
  Flags& sample = cli.add_command("sample", "write generated images, from the checkpoint in --out, to "
                                            "<out>/samples.png (an image grid), samples.safetensors or samples.npy");
  add_checkpoint_flags(sample);
  add_sample_file_flags(sample, kGridImages);
  Flags& eval = cli.add_command("eval", "print FID-F and KID-F of samples of the checkpoint in --out against the test images");
  add_checkpoint_flags(eval);
  add_test_data_flags(eval);
  eval.add_int("count", 10000, "samples to score");
  eval.add_int("kid-subsets", 100, "KID-F: random subset pairs to average over");
  eval.add_int("kid-subset-size", 1000, "KID-F: images per subset (at most the smaller set's size)");
  eval.add_string("weights", "", "score this state dict of the run instead of the checkpoint's (e.g. <out>/init.safetensors)");
  eval.add_bool("json", false, "print one JSON line instead of text");
  return cli;
}

double train(const Flags& given) {
  Flags flags = given;
  const RunFolder folder(flags, {kSamplesFile});  // may take flags from the checkpoint
  apply_threads(flags);
  const Device device = select_device(flags);
  const GanConfig config = config_from(flags);
  const Seeds seeds(static_cast<uint64_t>(flags.get_int("seed")));
  const int64_t batch_size = flags.get_int("batch-size"), n_dis = flags.get_int("n-dis");
  const double lr = flags.get_double("lr"), ema_decay = flags.get_double("ema-decay");
  const std::string lr_decay = flags.get_string("lr-decay");
  const int64_t fid_samples = flags.get_int("fid-samples"), kid_subsets = flags.get_int("kid-subsets");
  TRIFECTA_CHECK(lr > 0, "gan train --lr", "must be positive, got ", lr);
  TRIFECTA_CHECK(n_dis >= 1 && n_dis <= 100, "gan train --n-dis", "expects 1..100, got ", n_dis);
  TRIFECTA_CHECK(lr_decay == "none" || lr_decay == "linear", "gan train --lr-decay", "expects none or linear, got '",
                 lr_decay, "'");
  TRIFECTA_CHECK(ema_decay >= 0 && ema_decay < 1, "gan train --ema-decay", "expects 0 (off) or a decay in (0, 1), got ",
                 ema_decay);
  TRIFECTA_CHECK(fid_samples >= 2 && fid_samples <= 1000000, "gan train --fid-samples", "expects 2..1000000, got ",
                 fid_samples);
  TRIFECTA_CHECK(kid_subsets >= 1, "gan train --kid-subsets", "must be at least 1, got ", kid_subsets);
  const Betas betas = parse_betas(flags.get_string("betas"));

  // Each step consumes n_dis batches: one per discriminator update.
  const auto [train_set, test_set] = load_training_data(flags, batch_size * n_dis);
  DataLoader loader(train_set.images, train_set.labels,
                    {.batch_size = batch_size * n_dis, .shuffle = true, .seed = seeds.data, .drop_last = true,
                     .device = device});
  const FidScorer scorer(test_set.images, device);

  Generator init(seeds.init), noise(seeds.noise);
  Gan model(config, &init);
  model.to(device);
  model.train();
  const optim::AdamOptions adam{.lr = lr, .beta1 = betas.beta1, .beta2 = betas.beta2};
  optim::Adam g_optimizer(model.generator().named_parameters(), adam);
  optim::Adam d_optimizer(model.discriminator().named_parameters(), adam);
  Trainer trainer(folder, flags, {config.kind(), &model, {{"generator", &g_optimizer}, {"discriminator", &d_optimizer}}, &noise},
                  {.batches_per_epoch = loader.batches_per_epoch(), .unit = "images", .shown = {"loss_d", "loss_g"}});

  double fid = 0;
  trainer.evaluate_with([&] {
    Json result = evaluate(model, scorer, fid_samples, kid_subsets, folder.file(kSamplesFile));
    fid = result.at("fid_f").get<double>();
    return result;
  });
  ImageGenerator& g = model.generator();
  trainer.run(loader, [&](const Batch& batch) {
    // A restored optimizer brings the learning rate it was saved with; this run's --lr (the checkpoint's
    // unless given now) and schedule decide the one to train with.
    const double progress = static_cast<double>(trainer.position().step) / static_cast<double>(trainer.total_steps());
    const double step_lr = lr_decay == "linear" ? lr * (1.0 - progress) : lr;
    // The step's own memory: the high-water mark of live tensor bytes above what lived before it (the data,
    // the weights, the optimizer state), which bench/gan_bench.py reports.
    reset_peak_memory(device);
    const size_t live_before = memory_stats(device).allocated_bytes;
    g_optimizer.set_lr(step_lr);
    d_optimizer.set_lr(step_lr);

    double loss_d = 0, d_real = 0, d_fake = 0, commitment_d = 0;
    std::vector<std::pair<int64_t, nn::FeatureQuantizer::Usage>> usage;
    for (int64_t k = 0; k < n_dis; ++k) {
      const Tensor real = batch.images.narrow(0, k * batch_size, batch_size);
      Tensor fake;
      {
        NoGradGuard no_grad;
        fake = g.forward(randn({batch_size, config.latent}, DType::Float32, &noise).to(device));
      }
      // Real and fake images in one pass: one power iteration per discriminator update, and larger GEMMs.
      const Gan::Judgement judged = model.discriminate(concat({real, fake}, 0));
      const Tensor real_scores = judged.scores.narrow(0, 0, batch_size);
      const Tensor fake_scores = judged.scores.narrow(0, batch_size, batch_size);
      const Tensor hinge = nn::hinge_discriminator_loss(real_scores, fake_scores);
      // FQ-GAN: the commitment loss of real and fake features joins the discriminator's loss.
      const Tensor loss = judged.commitment_loss.defined() ? add(hinge, judged.commitment_loss) : hinge;
      d_optimizer.zero_grad();
      loss.backward();
      d_optimizer.step();
      loss_d = hinge.item<double>();
      d_real = mean(real_scores).item<double>();
      d_fake = mean(fake_scores).item<double>();
      if (judged.commitment_loss.defined()) commitment_d = judged.commitment_loss.item<double>();
      usage = model.quantizer_usage();
    }
    const Tensor z = randn({batch_size, config.latent}, DType::Float32, &noise).to(device);
    const Gan::Judgement judged = model.discriminate(g.forward(z));
    const Tensor hinge_g = nn::hinge_generator_loss(judged.scores);
    // The released FQ-GAN code adds the commitment loss to the generator's loss as well; with the features
    // not fed forward, that is what lets the quantizers shape the generator (feature matching).
    const bool auxiliary = judged.commitment_loss.defined() && !config.fq.feed_forward;
    const Tensor loss_g = auxiliary ? add(hinge_g, judged.commitment_loss) : hinge_g;
    g_optimizer.zero_grad();
    loss_g.backward();
    g_optimizer.step();
    if (config.ema) model.update_ema(ema_decay);
    StepReport report{batch_size * n_dis,
                      {{"loss_d", loss_d}, {"loss_g", hinge_g.item<double>()}, {"d_real", d_real}, {"d_fake", d_fake},
                       {"lr", step_lr},
                       {"step_peak_tensor_bytes", static_cast<double>(memory_stats(device).peak_allocated_bytes - live_before)}}};
    if (judged.commitment_loss.defined()) {
      report.values.emplace_back("commitment_d", commitment_d);
      report.values.emplace_back("commitment_g", judged.commitment_loss.item<double>());
    }
    // Dictionary usage over the last discriminator update's real and fake features.
    for (const auto& [block, u] : usage) {
      report.values.emplace_back("fq" + std::to_string(block) + "_perplexity", u.perplexity);
      report.values.emplace_back("fq" + std::to_string(block) + "_dead_entries", static_cast<double>(u.dead_entries));
    }
    return report;
  });
  std::fprintf(stderr, "FID-F %.3f (%lld samples against %lld test images)\n", fid, static_cast<long long>(fid_samples),
               static_cast<long long>(scorer.reference_images()));
  return fid;
}

std::unique_ptr<Gan> load_model(const Flags& flags, const std::string& weights) {
  const std::string path = checkpoint_path(flags);
  TRIFECTA_CHECK(std::filesystem::exists(path), flags.command(), "no checkpoint at ", path,
                 " (train first, or pass --out)");
  const Checkpoint checkpoint = load_checkpoint(path);
  Flags recorded("gan train");
  add_train_flags(recorded);
  recorded.resume_from(checkpoint.config, path);
  const GanConfig config = config_from(recorded);
  require_model_kind(checkpoint, path, config.kind());
  auto model = std::make_unique<Gan>(config, nullptr);
  if (weights.empty()) {
    model->load_state_dict(checkpoint.model);
  } else {
    TRIFECTA_CHECK(std::filesystem::exists(weights), flags.command() + " --weights", "no file at ", weights);
    model->load_state_dict(load_safetensors(weights).tensors);
  }
  model->to(select_device(flags));
  model->eval();
  return model;
}

SampleScores evaluate_checkpoint(const Flags& flags) {
  apply_threads(flags);
  const int64_t count = flags.get_int("count");
  TRIFECTA_CHECK(count >= 2 && count <= 1000000, "gan eval --count", "expects 2 to 1000000 images, got ", count);
  std::unique_ptr<Gan> model = load_model(flags, flags.get_string("weights"));
  const FidScorer scorer(load_split(flags, FashionMnistSplit::Test, flags.get_int("test-limit")).images,
                         select_device(flags));
  return scorer.score(draw_samples(*model, count, kSampleSeed), flags.get_int("kid-subsets"),
                      flags.get_int("kid-subset-size"));
}

void sample_from_checkpoint(const Flags& flags) {
  apply_threads(flags);
  const int64_t count = checked_sample_count(flags);
  std::unique_ptr<Gan> model = load_model(flags);
  write_sample_file(flags, draw_samples(*model, count, kSampleSeed), model->config().kind(), kSampleSeed);
}

}  // namespace trifecta::gan
