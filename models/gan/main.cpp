// The gan binary: train SN-GAN on Fashion-MNIST, sample from it, and score its samples by FID-F / KID-F.
//
//   gan train [--device cpu|cuda] [--steps N] [--out runs/gan] ...   (gan train --help lists its flags)
//   gan sample --out runs/gan        samples.png from the checkpoint
//   gan sample --out runs/gan --count 10000 --format safetensors   samples for classify fid
//   gan eval --out runs/gan [--count 10000]   FID-F and KID-F against the test images
#include <cstdio>

#include "models/gan/train.h"

int main(int argc, char** argv) {
  using namespace trifecta;
  return run_main(gan::command_line(), argc, argv, [](const CommandLine::Parsed& parsed) {
    const Flags& flags = parsed.flags;
    if (parsed.command == "train") {
      gan::train(flags);
    } else if (parsed.command == "sample") {
      gan::sample_from_checkpoint(flags);
    } else {
      const gan::SampleScores scores = gan::evaluate_checkpoint(flags);
      if (flags.get_bool("json")) {
        std::printf("%s\n", json::dump(scores.to_json(), "gan eval").c_str());
        return;
      }
      const image_metrics::ImageQuality& q = scores.quality;
      std::printf("samples              %lld\n", static_cast<long long>(q.sample_images));
      std::printf("test images          %lld\n", static_cast<long long>(q.reference_images));
      std::printf("FID-F                %.4f\n", q.fid);
      std::printf("KID-F                %.6f +- %.6f (%lld subsets of %lld)\n", q.kid.mean, q.kid.std,
                  static_cast<long long>(scores.kid.subsets), static_cast<long long>(scores.kid.subset_size));
      std::printf("IS-F                 %.4f\n", q.labels.inception_score);
    }
  });
}
