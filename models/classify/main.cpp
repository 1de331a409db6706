// The classify binary: train image classifiers on Fashion-MNIST, evaluate them, classify images and write
// their features (the FID-F feature network is one of these models; models/classify/feature_net.h).
//
//   classify train [--architecture cnn|mlp] [--optimizer sgd|adam|adamw|amsgrad] [--out runs/classify] ...
//   classify eval --out runs/classify          test accuracy and cross-entropy
//   classify predict --input images.idx|x.png  one class per image
//   classify features --feature-net --input images.idx --output features.safetensors
//   classify export --out runs/classify --to model.safetensors   the model without optimizer state
//   classify fid --reference test --samples runs/vae/samples.safetensors   FID-F, KID-F, label entropies
#include <cstdio>

#include "models/classify/fid_command.h"
#include "models/classify/train.h"

int main(int argc, char** argv) {
  using namespace trifecta;
  return run_main(classify::command_line(), argc, argv, [](const CommandLine::Parsed& parsed) {
    const Flags& flags = parsed.flags;
    if (parsed.command == "train") {
      classify::train(flags);
    } else if (parsed.command == "predict") {
      classify::predict(flags);
    } else if (parsed.command == "features") {
      classify::write_features(flags);
    } else if (parsed.command == "export") {
      classify::export_model(flags);
    } else if (parsed.command == "fid") {
      classify::run_fid(flags);
    } else {
      const classify::Evaluation e = classify::evaluate_checkpoint(flags);
      std::printf("test images          %lld\n", static_cast<long long>(e.images));
      std::printf("test accuracy        %.4f\n", e.accuracy);
      std::printf("test cross-entropy   %.4f nats\n", e.loss);
    }
  });
}
