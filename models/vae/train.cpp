// The VAE training loop, evaluation and image writers.
//
// Determinism: the model is initialized from a generator seeded by --seed, the data order is a function of
// (seed, epoch) (data/loader.h), and the reparameterization noise comes from a second generator whose state
// is saved in every checkpoint, so a resumed run takes exactly the steps the uninterrupted one would.
#include "models/vae/train.h"

#include <chrono>
#include <cmath>
#include <filesystem>
#include <optional>

#include "data/fashion_mnist.h"
#include "data/image_grid.h"
#include "data/loader.h"
#include "kernels/common/parallel.h"
#include "models/common/checkpoint.h"
#include "models/common/metrics.h"
#include "models/common/progress.h"
#include "optim/adam.h"
#include "optim/kl_schedule.h"

namespace trifecta::vae {

namespace {

// Seeds of the run's generators derive from --seed (distinct streams: Philox keys differ).
uint64_t init_seed(uint64_t seed) { return seed; }
uint64_t noise_seed(uint64_t seed) { return seed ^ 0x9E3779B97F4A7C15ull; }
uint64_t eval_seed(uint64_t seed) { return seed ^ 0xD1B54A32D192ED03ull; }
constexpr uint64_t kSampleSeed = 20261121;  // the same latent points in every samples.png

constexpr const char* kDataDirHelp = "Fashion-MNIST directory (empty: $TRIFECTA_FASHION_MNIST, else the Debian package's)";

// Where and how a command runs: --out, --device, --threads.
void add_checkpoint_flags(Flags& flags) {
  flags.add_string("out", "runs/vae", "the run's folder (checkpoint, metrics.jsonl, samples.png, reconstructions.png)");
  flags.add_string("device", "auto", "cpu, cuda, or auto (cuda when a GPU is visible)");
  flags.add_int("threads", 0, "CPU threads (0: all cores)");
}

void add_test_data_flags(Flags& flags) {
  flags.add_string("data-dir", "", kDataDirHelp);
  flags.add_int("test-limit", -1, "use only the first N test images (-1: all)");
}

void add_train_flags(Flags& flags) {
  add_checkpoint_flags(flags);
  flags.add_string("architecture", "conv", "conv or mlp");
  flags.add_string("likelihood", "bernoulli", "bernoulli (logits) or gaussian (learned scalar gamma)");
  flags.add_int("latent", 16, "latent dimensions");
  flags.add_int("hidden", 256, "width of the fully connected layers");
  flags.add_int("steps", 6000, "optimizer steps (ignored when --epochs is set; 6000: about 5 minutes on 2 CPU cores)");
  flags.add_int("epochs", 0, "epochs over the training set (0: use --steps)");
  flags.add_int("batch-size", 128, "images per step");
  flags.add_double("lr", 1e-3, "Adam learning rate");
  flags.add_int("seed", 0, "seed for initialization, data order and noise");
  flags.add_string("kl-schedule", "constant:1", "KL weight: constant:B, monotonic:N or cyclical:T=..,M=4,R=0.5");
  flags.add_int("checkpoint-every", 500, "steps between checkpoints (0: only at the end)");
  flags.add_bool("resume", false, "continue from the checkpoint in --out");
  add_test_data_flags(flags);
  flags.add_int("train-limit", -1, "use only the first N training images (-1: all)");
  flags.add_int("log-every", 20, "steps between metrics.jsonl lines");
}

std::string checkpoint_path(const Flags& flags) {
  return (std::filesystem::path(flags.get_string("out")) / "checkpoint.safetensors").string();
}

Device parse_device(const Flags& flags) {
  const std::string name = flags.get_string("device");
  if (name == "auto") return cuda_available() ? kCUDA : kCPU;
  const Device device = Device::parse(name);
  if (device.is_cuda())
    TRIFECTA_CHECK(cuda_available(), "vae --device",
                   cuda_compiled() ? "cuda was asked for but no CUDA device is visible"
                                   : "cuda was asked for but this build has no CUDA backend");
  return device;
}

void apply_threads(const Flags& flags) {
  const int64_t threads = flags.get_int("threads");
  TRIFECTA_CHECK(threads >= 0 && threads <= 1024, "vae --threads", "expects 0 (all cores) to 1024, got ", threads);
  if (threads > 0) set_num_threads(static_cast<int>(threads));
}

VaeConfig config_from(const Flags& flags) {
  return VaeConfig::from_flags(flags.get_string("architecture"), flags.get_string("likelihood"),
                               flags.get_int("latent"), flags.get_int("hidden"));
}

FashionMnist load_split(const Flags& flags, FashionMnistSplit split) {
  const int64_t limit = flags.get_int(split == FashionMnistSplit::Train ? "train-limit" : "test-limit");
  return load_fashion_mnist(split, {.directory = flags.get_string("data-dir"), .limit = limit});
}

// The model of the checkpoint in --out, on --device, with the architecture the checkpoint's run recorded.
std::unique_ptr<Vae> load_model(const Flags& flags) {
  const std::string path = checkpoint_path(flags);
  TRIFECTA_CHECK(std::filesystem::exists(path), "vae", "no checkpoint at ", path, " (train first, or pass --out)");
  const TensorFile file = load_safetensors(path);
  const auto config = file.metadata.find("config");
  TRIFECTA_CHECK(config != file.metadata.end(), path, "not a trifecta checkpoint: no config");
  Flags recorded("vae train");
  add_train_flags(recorded);
  recorded.fill_from(json::parse(config->second, path + " (config)"), path);
  const VaeConfig model_config = config_from(recorded);
  const Checkpoint checkpoint = load_checkpoint(path, model_config.kind());
  auto model = std::make_unique<Vae>(model_config);
  model->load_state_dict(checkpoint.model);
  model->to(parse_device(flags));
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
  add_checkpoint_flags(cli.add_command("sample", "write samples.png, decoded draws from the prior, from the checkpoint in --out"));
  Flags& reconstruct = cli.add_command("reconstruct", "write reconstructions.png: test images above their reconstructions");
  add_checkpoint_flags(reconstruct);
  reconstruct.add_string("data-dir", "", kDataDirHelp);
  return cli;
}

void write_samples(Vae& model, const std::string& path, int64_t count, uint64_t seed) {
  NoGradGuard no_grad;
  Generator generator(seed);
  const Device device = model.parameters().front().device();
  const Tensor z = randn({count, model.config().latent}, DType::Float32, &generator).to(device);
  save_image_grid(path, model.mean_image(model.decode(z)), 8);
}

void write_reconstructions(Vae& model, const Tensor& images, const std::string& path) {
  NoGradGuard no_grad;
  const Tensor x = first_images(images, 32).to(model.parameters().front().device());
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
  Generator noise(eval_seed(seed));
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
  const std::string out = flags.get_string("out");
  std::filesystem::create_directories(out);
  const std::string path = checkpoint_path(flags);
  const bool resume = flags.get_bool("resume");
  std::optional<Checkpoint> checkpoint;
  if (resume) {
    TRIFECTA_CHECK(std::filesystem::exists(path), "vae --resume", "no checkpoint at ", path);
    const TensorFile header = load_safetensors(path);
    const auto config = header.metadata.find("config");
    TRIFECTA_CHECK(config != header.metadata.end(), path, "not a trifecta checkpoint: no config");
    flags.fill_from(json::parse(config->second, path + " (config)"), path);  // flags given now still win
    checkpoint = load_checkpoint(path, config_from(flags).kind());
  }
  apply_threads(flags);
  const Device device = parse_device(flags);
  const VaeConfig config = config_from(flags);
  const optim::KlSchedule kl_schedule = optim::KlSchedule::parse(flags.get_string("kl-schedule"));
  const uint64_t seed = static_cast<uint64_t>(flags.get_int("seed"));
  const int64_t batch_size = flags.get_int("batch-size"), log_every = flags.get_int("log-every");
  const int64_t checkpoint_every = flags.get_int("checkpoint-every");
  TRIFECTA_CHECK(batch_size > 0, "vae --batch-size", "must be positive, got ", batch_size);
  TRIFECTA_CHECK(log_every > 0, "vae --log-every", "must be positive, got ", log_every);
  TRIFECTA_CHECK(checkpoint_every >= 0, "vae --checkpoint-every", "must be >= 0, got ", checkpoint_every);
  TRIFECTA_CHECK(flags.get_double("lr") > 0, "vae --lr", "must be positive");

  const FashionMnist train_set = load_split(flags, FashionMnistSplit::Train);
  TRIFECTA_CHECK(train_set.images.size(0) >= batch_size, "vae --batch-size", batch_size, " exceeds the ",
                 train_set.images.size(0), " training images");
  DataLoader loader(train_set.images, train_set.labels,
                    {.batch_size = batch_size, .shuffle = true, .seed = seed, .drop_last = true, .device = device});
  const int64_t epochs = flags.get_int("epochs");
  const int64_t total_steps = epochs > 0 ? epochs * loader.batches_per_epoch() : flags.get_int("steps");
  TRIFECTA_CHECK(total_steps > 0, "vae --steps", "must be positive, got ", total_steps);

  Generator init(init_seed(seed)), noise(noise_seed(seed));
  Vae model(config, &init);
  model.to(device);
  model.train();
  optim::Adam optimizer(model.named_parameters(), {.lr = flags.get_double("lr")});
  TrainingPosition position;
  // The initial weights, so a twin implementation (bench/reference/vae_torch.py) can start where this run did.
  if (!checkpoint) save_safetensors((std::filesystem::path(out) / "init.safetensors").string(), model.state_dict());
  if (checkpoint) {
    model.load_state_dict(checkpoint->model);
    optimizer.load_state_dict(checkpoint->optimizer);
    position = checkpoint->position;
    noise.set_state(position.rng);
    std::fprintf(stderr, "resuming %s at step %lld\n", path.c_str(), static_cast<long long>(position.step));
  }

  const auto save = [&] {
    position.rng = noise.state();
    save_checkpoint(path, {config.kind(), model.state_dict(), optimizer.state_dict(), position, flags.to_json()});
  };
  MetricsLog metrics((std::filesystem::path(out) / "metrics.jsonl").string(), checkpoint ? position.step : -1);
  ProgressBar progress(position.step, total_steps);
  const auto start = std::chrono::steady_clock::now();
  double last_loss = NAN, last_kl = NAN;
  int64_t images_since_log = 0;
  auto log_start = start;
  while (position.step < total_steps) {
    for (const Batch& batch : loader.epoch(position.epoch, position.batch)) {
      const double beta = kl_schedule.beta(position.step);
      const ElboTerms terms = negative_elbo_terms(model, batch.images, &noise);
      const Tensor kl = mean(terms.kl);
      const Tensor loss = add(mean(terms.reconstruction), mul(kl, beta));
      optimizer.zero_grad();
      loss.backward();
      optimizer.step();
      ++position.step;
      position.batch = batch.index + 1;
      images_since_log += batch.images.size(0);
      const bool last = position.step == total_steps;
      if (position.step % log_every == 0 || last) {
        last_loss = loss.item<double>();
        last_kl = kl.item<double>();
        const auto now = std::chrono::steady_clock::now();
        const double seconds = std::chrono::duration<double>(now - log_start).count();
        Json line{{"step", position.step},
                  {"epoch", position.epoch},
                  {"loss", last_loss},
                  {"reconstruction", last_loss - beta * last_kl},
                  {"kl", last_kl},
                  {"beta", beta},
                  {"images_per_second", seconds > 0 ? images_since_log / seconds : 0.0},
                  {"elapsed_seconds", std::chrono::duration<double>(now - start).count()}};
        if (model.gamma().defined()) line["gamma"] = model.gamma().item<double>();
        metrics.write(line);
        images_since_log = 0;
        log_start = now;
      }
      progress.update(position.step, batch.images.size(0), {{"loss", last_loss}, {"kl", last_kl}});
      if ((checkpoint_every > 0 && position.step % checkpoint_every == 0) || last) save();
      if (last) break;
    }
    if (position.step < total_steps) {  // the epoch ran out: the next one starts at its first batch
      ++position.epoch;
      position.batch = 0;
    }
  }
  progress.finish();

  model.eval();
  const FashionMnist test_set = load_split(flags, FashionMnistSplit::Test);
  const Evaluation result = evaluate(model, test_set, seed, 0);
  write_samples(model, (std::filesystem::path(out) / "samples.png").string(), 64, kSampleSeed);
  write_reconstructions(model, test_set.images, (std::filesystem::path(out) / "reconstructions.png").string());
  metrics.write(Json{{"step", position.step},
                     {"test_negative_elbo", result.negative_elbo},
                     {"test_reconstruction", result.reconstruction},
                     {"test_kl", result.kl},
                     {"test_images", result.images}});
  std::fprintf(stderr, "test negative ELBO %.3f nats (reconstruction %.3f + KL %.3f) over %lld images\n",
               result.negative_elbo, result.reconstruction, result.kl, static_cast<long long>(result.images));
  return result.negative_elbo;
}

Evaluation evaluate_checkpoint(const Flags& flags) {
  apply_threads(flags);
  std::unique_ptr<Vae> model = load_model(flags);
  return evaluate(*model, load_split(flags, FashionMnistSplit::Test), static_cast<uint64_t>(flags.get_int("seed")),
                  flags.get_int("iwae-k"));
}

void sample_from_checkpoint(const Flags& flags) {
  apply_threads(flags);
  std::unique_ptr<Vae> model = load_model(flags);
  const std::string path = (std::filesystem::path(flags.get_string("out")) / "samples.png").string();
  write_samples(*model, path, 64, kSampleSeed);
  std::printf("wrote %s\n", path.c_str());
}

void reconstruct_from_checkpoint(const Flags& flags) {
  apply_threads(flags);
  std::unique_ptr<Vae> model = load_model(flags);
  const std::string path = (std::filesystem::path(flags.get_string("out")) / "reconstructions.png").string();
  const FashionMnist test = load_fashion_mnist(FashionMnistSplit::Test, {.directory = flags.get_string("data-dir"), .limit = 32});
  write_reconstructions(*model, test.images, path);
  std::printf("wrote %s\n", path.c_str());
}

}  // namespace trifecta::vae
