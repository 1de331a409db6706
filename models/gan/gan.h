// SN-GAN for 28x28 grayscale images (Miyato, Kataoka, Koyama & Yoshida, "Spectral Normalization for
// Generative Adversarial Networks", ICLR 2018): the paper's "standard CNN" generator and discriminator
// (its table 3), shrunk from 32x32 CIFAR-10 to 28x28 Fashion-MNIST by starting the generator at 7x7 and
// down-sampling twice in the discriminator.
//
//   Generator      z ~ N(0, I) [latent] -> Linear -> [g, 7, 7] -> BN -> ReLU
//                  -> ConvTranspose 4x4/2 -> [g/2, 14, 14] -> BN -> ReLU
//                  -> ConvTranspose 4x4/2 -> [g/4, 28, 28] -> BN -> ReLU -> Conv 3x3 -> [1, 28, 28] -> sigmoid
//   Discriminator  x in [0, 1] -> 2x - 1, then blocks of spectrally normalized convolutions, leaky ReLU 0.1:
//                  block 0: Conv 3x3 (d) , Conv 4x4/2 (d)   -> [d, 14, 14]
//                  block 1: Conv 3x3 (2d), Conv 4x4/2 (2d)  -> [2d, 7, 7]
//                  block 2: Conv 3x3 (4d)                   -> [4d, 7, 7]
//                  head:    Linear (spectrally normalized) -> one score per image
//
// The generator ends in a sigmoid, so its images are in [0, 1] like the data (data/fashion_mnist.h) and
// the FID-F network's input; sigmoid(2a) = (tanh(a) + 1) / 2, so this is the paper's tanh output mapped to
// [0, 1]. The discriminator maps its input to [-1, 1], the range the paper's data are in.
//
// The discriminator is an ordered list of blocks with a per-block hook, through which FQ-GAN (Zhao et al.,
// "Feature Quantization Improves GAN Training", ICML 2020) inserts a feature quantizer (nn/feature_quantizer.h)
// after chosen blocks: in the paper's feed-forward form the next block sees the quantized features; in the
// authors' released code's auxiliary form it sees the features unchanged and only the commitment loss acts.
//
// Parameter names follow PyTorch (generator.0.weight, discriminator.blocks.0.0.weight_orig, ...), so
// bench/reference/gan_torch.py loads init.safetensors into the same networks built from torch.nn.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "nn/feature_quantizer.h"
#include "nn/module.h"
#include "nn/sequential.h"
#include "tensor/random.h"

namespace trifecta::gan {

struct GanConfig {
  int64_t latent = 128;      // dimensions of z
  int64_t g_channels = 256;  // the generator's channels at 7x7 (halved by each up-sampling)
  int64_t d_channels = 64;   // the discriminator's channels in block 0 (doubled by each block)
  bool ema = false;          // keep an exponential moving average of the generator's weights
  std::vector<int64_t> fq_blocks;  // FQ-GAN: the discriminator blocks followed by a quantizer (empty: SN-GAN)
  nn::FeatureQuantizerOptions fq;  // their options; feed_forward false is the auxiliary form

  // What checkpoints record to refuse another model: sngan, fqgan-feed-forward or fqgan-auxiliary.
  std::string kind() const;
  // Checks the values, naming the flag (--latent, --g-channels, --d-channels, --fq-blocks, ...).
  void validate() const;
};

// The generator: z [N, latent] -> images [N, 1, 28, 28] in [0, 1].
class ImageGenerator : public nn::Sequential {
 public:
  ImageGenerator(const GanConfig& config, Generator* init);
};

class Discriminator : public nn::Module {
 public:
  static constexpr int64_t kBlocks = 3;
  Discriminator(const GanConfig& config, Generator* init);

  // Called with (block index, the block's output) after each block; returns the features the next block
  // (or the head) sees.
  using BlockHook = std::function<Tensor(int64_t, const Tensor&)>;
  // images [N, 1, 28, 28] in [0, 1] -> scores [N, 1].
  Tensor forward(const Tensor& images, const BlockHook& after_block = {});
  // The channels block i outputs (what a quantizer after it works on).
  int64_t block_channels(int64_t block) const;

 private:
  int64_t channels_;
  std::shared_ptr<nn::Sequential> blocks_;  // each entry one block, itself a Sequential
  std::shared_ptr<nn::UnaryModule> head_;
};

// The generator, the discriminator and, with config.ema, the moving average of the generator's weights:
// the one module a checkpoint holds.
class Gan : public nn::Module {
 public:
  // PyTorch's default initialization of every layer, drawn from init in the order generator,
  // discriminator; the average starts as a copy of the generator.
  Gan(const GanConfig& config, Generator* init);

  ImageGenerator& generator() { return *generator_; }
  Discriminator& discriminator() { return *discriminator_; }
  // The network samples come from: the moving average when kept, else the generator.
  ImageGenerator& sampler() { return generator_ema_ ? *generator_ema_ : *generator_; }
  const GanConfig& config() const { return config_; }

  // The discriminator's scores [N, 1] on images and, with quantizers, the sum of their commitment losses
  // (undefined without). In training mode the quantizers' dictionaries follow the features they see.
  struct Judgement {
    Tensor scores, commitment_loss;
  };
  Judgement discriminate(const Tensor& images);
  // Each quantizer's block and its dictionary usage over its last training forward.
  std::vector<std::pair<int64_t, nn::FeatureQuantizer::Usage>> quantizer_usage() const;

  // Polyak averaging of the generator's weights (as in Yazici et al., "The Unusual Effectiveness of Averaging
  // in GAN Training", ICLR 2019): ema <- decay * ema + (1 - decay) * weights; batch norm's running
  // statistics, which are not trained, are copied as they are.
  void update_ema(double decay);

 private:
  GanConfig config_;
  std::shared_ptr<ImageGenerator> generator_, generator_ema_;
  std::shared_ptr<Discriminator> discriminator_;
  std::vector<std::pair<int64_t, std::shared_ptr<nn::FeatureQuantizer>>> quantizers_;  // by block
};

// count images G(z), z ~ N(0, I) from a generator seeded with seed, decoded by the sampler in eval mode (batch
// norm on its running statistics): float32 [count, 1, 28, 28] in [0, 1] on the CPU.
Tensor draw_samples(Gan& model, int64_t count, uint64_t seed);

}  // namespace trifecta::gan
