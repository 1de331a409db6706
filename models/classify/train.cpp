// The classifiers on the training skeleton (models/common/trainer.h): flags, the cross-entropy step, the
// test evaluation (accuracy and loss), and the commands that read a checkpoint (eval, predict, features,
// export).
//
// Determinism: the initial weights come from Seeds::init, the data order is a function of (seed, epoch)
// (data/loader.h), and the dropout masks come from Seeds::noise, whose state every checkpoint saves, so a
// resumed run takes exactly the steps the uninterrupted one would.
#include "models/classify/train.h"

#include <cstdio>
#include <filesystem>

#include "data/fashion_mnist.h"
#include "data/loader.h"
#include "models/classify/feature_net.h"
#include "models/classify/fid_command.h"
#include "models/classify/input_images.h"
#include "models/classify/optimizer_choice.h"
#include "models/common/checkpoint.h"
#include "models/common/dataset_flags.h"
#include "models/common/runtime.h"
#include "models/common/trainer.h"
#include "nn/loss.h"
#include "optim/lr_schedule.h"

namespace trifecta::classify {

namespace {

using OnResume = Flags::OnResume;

constexpr int64_t kEvalBatch = 500;

// Where the commands that read a model find it.
void add_model_flags(Flags& flags) {
  flags.add_string("out", "runs/classify", "the run's folder, holding checkpoint.safetensors", OnResume::Invocation);
  flags.add_string("checkpoint", "", "a checkpoint file to read instead of <out>/checkpoint.safetensors");
  flags.add_bool("feature-net", false,
                 std::string("use the versioned FID-F feature network (") + kFeatureNetVersion + ", hash-checked)");
  add_runtime_flags(flags);
}

void add_train_flags(Flags& flags) {
  Trainer::add_flags(flags, {.out = "runs/classify", .steps = 4000, .checkpoint_every = 500, .log_every = 20,
                             .eval_every = 1000});
  add_runtime_flags(flags);
  flags.add_string("architecture", "cnn", "cnn (conv, batch norm, dropout) or mlp (two hidden ReLU layers)",
                   OnResume::Keep);
  flags.add_int("hidden1", 256, "mlp: width of the first hidden layer", OnResume::Keep);
  flags.add_int("hidden2", 256, "mlp: width of the second hidden layer", OnResume::Keep);
  flags.add_double("dropout", 0.3, "cnn: dropout probability before the last layer", OnResume::Keep);
  flags.add_int("batch-size", 128, "images per step", OnResume::Keep);
  add_optimizer_flags(flags);
  flags.add_string("lr-schedule", "constant",
                   "learning rate against the step: constant, cosine:T_max=N[,eta_min=..,warmup=..], step:.., warmup:N");
  add_training_data_flags(flags);
}

ClassifierConfig config_from(const Flags& flags) {
  return ClassifierConfig::from_flags(flags.get_string("architecture"), flags.get_int("hidden1"),
                                      flags.get_int("hidden2"), flags.get_double("dropout"));
}

// The model a reading command names: the feature network, --checkpoint, or the checkpoint in --out.
std::shared_ptr<Classifier> load_model(const Flags& flags) {
  const Device device = select_device(flags);
  if (flags.get_bool("feature-net")) {
    TRIFECTA_CHECK(!flags.was_set("checkpoint"), flags.command(), "--feature-net and --checkpoint name two models; give one");
    std::shared_ptr<Classifier> model = FeatureNet(feature_net_path(), device).model();
    return model;
  }
  std::string path = flags.get_string("checkpoint");
  if (path.empty()) path = RunFolder::checkpoint_in(flags.get_string("out"));
  TRIFECTA_CHECK(std::filesystem::exists(path), flags.command(), "no checkpoint at ", path,
                 " (train first, or pass --out, --checkpoint or --feature-net)");
  std::shared_ptr<Classifier> model = load_classifier(path);
  model->to(device);
  return model;
}

Tensor required_input(const Flags& flags) {
  const std::string input = flags.get_string("input");
  TRIFECTA_CHECK(!input.empty(), flags.command() + " --input", "names no file; give an IDX file or a 28x28 PNG");
  return load_input_images(input);
}

}  // namespace

CommandLine command_line() {
  CommandLine cli("classify", "Image classifiers on Fashion-MNIST (an MLP and a small CNN, the FID-F feature "
                              "network): train one, evaluate it, classify images or extract their features.");
  add_train_flags(cli.add_command("train", "train a classifier (resumable with --resume), leaving checkpoint and metrics in --out"));
  Flags& eval = cli.add_command("eval", "print the test accuracy and cross-entropy of a model");
  add_model_flags(eval);
  add_test_data_flags(eval);
  Flags& predict = cli.add_command("predict", "print the class of each image of --input (IDX or 28x28 PNG)");
  add_model_flags(predict);
  predict.add_string("input", "", "an IDX file of 28x28 images (gzipped or not) or a 28x28 PNG");
  Flags& features = cli.add_command("features", "write the penultimate-layer features of --input's images to --output");
  add_model_flags(features);
  features.add_string("input", "", "an IDX file of 28x28 images (gzipped or not) or a 28x28 PNG");
  features.add_string("output", "", "the safetensors file to write: features [N, F], probabilities [N, 10]");
  Flags& export_flags = cli.add_command("export", "write the model of --out's checkpoint alone (no optimizer state) to --to");
  export_flags.add_string("out", "runs/classify", "the run's folder, holding checkpoint.safetensors");
  export_flags.add_string("to", "", "the file to write");
  add_fid_command(cli);
  return cli;
}

std::unique_ptr<Classifier> load_classifier(const std::string& path) {
  const Checkpoint checkpoint = load_checkpoint(path);
  Flags recorded("classify train");
  add_train_flags(recorded);
  recorded.resume_from(checkpoint.config, path);
  const ClassifierConfig config = config_from(recorded);
  require_model_kind(checkpoint, path, config.kind());
  auto model = std::make_unique<Classifier>(config);
  model->load_state_dict(checkpoint.model);
  model->eval();
  return model;
}

FeaturesAndProbabilities features_and_probabilities(Classifier& model, const Tensor& images, int64_t batch_size) {
  TRIFECTA_CHECK(batch_size > 0, "features_and_probabilities", "batch_size must be positive, got ", batch_size);
  NoGradGuard no_grad;
  model.eval();
  const Device device = model.parameters().front().device();
  std::vector<Tensor> features, probabilities;
  for (int64_t start = 0; start < images.size(0); start += batch_size) {
    const Tensor x = images.narrow(0, start, std::min(batch_size, images.size(0) - start)).to(DType::Float32).to(device);
    const Tensor f = model.features(x);
    features.push_back(f.to(kCPU));
    probabilities.push_back(softmax(model.logits_from_features(f), 1).to(kCPU));
  }
  return {concat(features, 0), concat(probabilities, 0)};
}

Evaluation evaluate(Classifier& model, const Tensor& images, const Tensor& labels) {
  NoGradGuard no_grad;
  model.eval();
  const Device device = model.parameters().front().device();
  DataLoader loader(images, labels, {.batch_size = kEvalBatch, .shuffle = false, .device = device});
  double loss = 0, correct = 0;
  for (const Batch& batch : loader.epoch(0)) {
    const Tensor logits = model.logits(batch.images);
    loss += nn::cross_entropy(logits, batch.labels, LossReduction::Sum).item<double>();
    correct += sum(eq(argmax(logits, 1), batch.labels)).item<double>();
  }
  const double n = static_cast<double>(images.size(0));
  return {correct / n, loss / n, images.size(0)};
}

Evaluation train(const Flags& given) {
  Flags flags = given;
  const RunFolder folder(flags, {});  // may take flags from the checkpoint
  apply_threads(flags);
  const Device device = select_device(flags);
  const ClassifierConfig config = config_from(flags);
  const optim::LrSchedule schedule = optim::LrSchedule::parse(flags.get_string("lr-schedule"));
  const Seeds seeds(static_cast<uint64_t>(flags.get_int("seed")));
  const int64_t batch_size = flags.get_int("batch-size");

  const auto [train_set, test_set] = load_training_data(flags, batch_size);
  DataLoader loader(train_set.images, train_set.labels,
                    {.batch_size = batch_size, .shuffle = true, .seed = seeds.data, .drop_last = true, .device = device});

  Generator init(seeds.init), noise(seeds.noise);
  Classifier model(config, &init, &noise);
  model.to(device);
  model.train();
  const std::unique_ptr<optim::Optimizer> optimizer = make_optimizer(flags, model);
  Trainer trainer(folder, flags, {config.kind(), &model, {{"", optimizer.get()}}, &noise},
                  {.batches_per_epoch = loader.batches_per_epoch(), .unit = "images", .shown = {"loss", "accuracy"}});
  // A restored optimizer brings the learning rates it was saved with; this run's --lr (the checkpoint's
  // unless given now) is the base the schedule scales.
  for (optim::ParamGroup& group : optimizer->param_groups()) group.initial_lr = flags.get_double("lr");

  Evaluation result{};
  trainer.evaluate_with([&] {
    result = evaluate(model, test_set.images, test_set.labels);
    return Json{{"test_accuracy", result.accuracy}, {"test_loss", result.loss}, {"test_images", result.images}};
  });
  trainer.run(loader, [&](const Batch& batch) {
    schedule.apply(*optimizer, trainer.position().step);
    const Tensor logits = model.logits(batch.images);
    const Tensor loss = nn::cross_entropy(logits, batch.labels);
    optimizer->zero_grad();
    loss.backward();
    optimizer->step();
    const double accuracy = mean(eq(argmax(logits, 1), batch.labels).to(DType::Float32)).item<double>();
    return StepReport{batch.images.size(0),
                      {{"loss", loss.item<double>()}, {"accuracy", accuracy}, {"lr", optimizer->lr()}}};
  });
  std::fprintf(stderr, "test accuracy %.4f, cross-entropy %.4f nats over %lld images\n", result.accuracy,
               result.loss, static_cast<long long>(result.images));
  return result;
}

Evaluation evaluate_checkpoint(const Flags& flags) {
  apply_threads(flags);
  const std::shared_ptr<Classifier> model = load_model(flags);
  const FashionMnist test = load_split(flags, FashionMnistSplit::Test, flags.get_int("test-limit"));
  return evaluate(*model, test.images, test.labels);
}

void predict(const Flags& flags) {
  apply_threads(flags);
  const std::shared_ptr<Classifier> model = load_model(flags);
  const Tensor images = required_input(flags);
  const Tensor probabilities = features_and_probabilities(*model, images).probabilities;
  const Tensor classes = argmax(probabilities, 1);
  const auto& names = fashion_mnist_class_names();
  std::printf("image\tclass\tname\tprobability\n");
  for (int64_t i = 0; i < images.size(0); ++i) {
    const int64_t c = classes.data<int64_t>()[i];
    std::printf("%lld\t%lld\t%s\t%.4f\n", static_cast<long long>(i), static_cast<long long>(c), names[c].c_str(),
                probabilities.data<float>()[i * kClasses + c]);
  }
}

void write_features(const Flags& flags) {
  apply_threads(flags);
  const std::string output = flags.get_string("output");
  TRIFECTA_CHECK(!output.empty(), flags.command() + " --output", "names no file to write the features to");
  const std::shared_ptr<Classifier> model = load_model(flags);
  const Tensor images = required_input(flags);
  const FeaturesAndProbabilities result = features_and_probabilities(*model, images);
  std::map<std::string, std::string> metadata = {{"model_kind", model->config().kind()},
                                                 {"input", flags.get_string("input")}};
  if (flags.get_bool("feature-net")) metadata["feature_net_version"] = kFeatureNetVersion;
  save_safetensors(output, {{"features", result.features}, {"probabilities", result.probabilities}}, metadata);
  std::printf("wrote %s: features [%lld, %lld]\n", output.c_str(), static_cast<long long>(result.features.size(0)),
              static_cast<long long>(result.features.size(1)));
}

void export_model(const Flags& flags) {
  const std::string to = flags.get_string("to");
  TRIFECTA_CHECK(!to.empty(), flags.command() + " --to", "names no file to write the model to");
  const std::string path = RunFolder::checkpoint_in(flags.get_string("out"));
  TRIFECTA_CHECK(std::filesystem::exists(path), flags.command(), "no checkpoint at ", path, " (train first, or pass --out)");
  Checkpoint checkpoint = load_checkpoint(path);
  load_classifier(path);  // refuses another model's checkpoint
  // The model, the position and the run's flags stay; the optimizer state and the training noise go.
  checkpoint.optimizer.clear();
  checkpoint.position.rng = GeneratorState{};
  save_checkpoint(to, checkpoint);
  std::printf("wrote %s\n", to.c_str());
}

}  // namespace trifecta::classify
