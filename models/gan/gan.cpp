// The SN-GAN networks, the generator's moving average and sampling.
#include "models/gan/gan.h"

#include <algorithm>
#include <vector>

#include "nn/activation.h"
#include "nn/conv.h"
#include "nn/flatten.h"
#include "nn/linear.h"
#include "nn/norm.h"
#include "nn/spectral_norm.h"

namespace trifecta::gan {

namespace {

constexpr int64_t kSide = 28, kBaseSide = 7, kSampleBatch = 500;
// The leaky ReLU slope of the paper's discriminators (its table 3).
constexpr double kLeakySlope = 0.1;

}  // namespace

std::string GanConfig::kind() const {
  if (fq_blocks.empty()) return "sngan";
  return fq.feed_forward ? "fqgan-feed-forward" : "fqgan-auxiliary";
}

void GanConfig::validate() const {
  TRIFECTA_CHECK(latent >= 1 && latent <= 4096, "gan --latent", "expects 1..4096, got ", latent);
  TRIFECTA_CHECK(g_channels >= 4 && g_channels <= 4096 && g_channels % 4 == 0, "gan --g-channels",
                 "expects a multiple of 4 in 4..4096 (it is halved twice), got ", g_channels);
  TRIFECTA_CHECK(d_channels >= 1 && d_channels <= 1024, "gan --d-channels", "expects 1..1024, got ", d_channels);
  for (size_t i = 0; i < fq_blocks.size(); ++i) {
    TRIFECTA_CHECK(fq_blocks[i] >= 0 && fq_blocks[i] < Discriminator::kBlocks, "gan --fq-blocks",
                   "names discriminator blocks 0..", Discriminator::kBlocks - 1, ", got ", fq_blocks[i]);
    TRIFECTA_CHECK(i == 0 || fq_blocks[i] > fq_blocks[i - 1], "gan --fq-blocks", "expects increasing block numbers");
  }
  if (fq_blocks.empty()) return;
  TRIFECTA_CHECK(fq.entries >= 1 && fq.entries <= 65536, "gan --fq-entries", "expects 1..65536, got ", fq.entries);
  TRIFECTA_CHECK(fq.decay >= 0 && fq.decay < 1, "gan --fq-decay", "expects a value in [0, 1), got ", fq.decay);
  TRIFECTA_CHECK(fq.commitment >= 0, "gan --fq-commitment", "must not be negative, got ", fq.commitment);
}

ImageGenerator::ImageGenerator(const GanConfig& config, Generator* init) {
  using namespace nn;
  const int64_t g = config.g_channels;
  push_back(std::make_shared<Linear>(config.latent, g * kBaseSide * kBaseSide, true, init));
  push_back(std::make_shared<Unflatten>(1, std::vector<int64_t>{g, kBaseSide, kBaseSide}));
  push_back(std::make_shared<BatchNorm2d>(g));
  push_back(std::make_shared<ReLU>());
  push_back(std::make_shared<ConvTranspose2d>(g, g / 2, 4, ConvTranspose2dOptions{.stride = 2, .padding = 1}, init));
  push_back(std::make_shared<BatchNorm2d>(g / 2));
  push_back(std::make_shared<ReLU>());
  push_back(std::make_shared<ConvTranspose2d>(g / 2, g / 4, 4, ConvTranspose2dOptions{.stride = 2, .padding = 1}, init));
  push_back(std::make_shared<BatchNorm2d>(g / 4));
  push_back(std::make_shared<ReLU>());
  push_back(std::make_shared<Conv2d>(g / 4, 1, 3, Conv2dOptions{.padding = 1}, init));
  push_back(std::make_shared<Sigmoid>());
}

Discriminator::Discriminator(const GanConfig& config, Generator* init)
    : nn::Module("Discriminator"), channels_(config.d_channels) {
  using namespace nn;
  const auto conv = [init](int64_t in, int64_t out, int64_t kernel, int64_t stride) {
    // Padding 1 keeps a 3x3 convolution's size and halves it with a 4x4 one of stride 2.
    const Conv2dOptions options{.stride = stride, .padding = 1};
    return spectral_norm(std::make_shared<Conv2d>(in, out, kernel, options, init), {}, init);
  };
  const int64_t d = channels_;
  blocks_ = register_module("blocks", std::make_shared<Sequential>());
  const auto block0 = blocks_->push_back(std::make_shared<Sequential>());
  block0->push_back(conv(1, d, 3, 1));
  block0->push_back(std::make_shared<LeakyReLU>(kLeakySlope));
  block0->push_back(conv(d, d, 4, 2));
  block0->push_back(std::make_shared<LeakyReLU>(kLeakySlope));
  const auto block1 = blocks_->push_back(std::make_shared<Sequential>());
  block1->push_back(conv(d, 2 * d, 3, 1));
  block1->push_back(std::make_shared<LeakyReLU>(kLeakySlope));
  block1->push_back(conv(2 * d, 2 * d, 4, 2));
  block1->push_back(std::make_shared<LeakyReLU>(kLeakySlope));
  const auto block2 = blocks_->push_back(std::make_shared<Sequential>());
  block2->push_back(conv(2 * d, 4 * d, 3, 1));
  block2->push_back(std::make_shared<LeakyReLU>(kLeakySlope));
  head_ = register_module("head", spectral_norm(std::make_shared<Linear>(4 * d * kBaseSide * kBaseSide, 1, true, init),
                                                {}, init));
}

int64_t Discriminator::block_channels(int64_t block) const {
  TRIFECTA_CHECK(block >= 0 && block < kBlocks, "gan discriminator", "has blocks 0..", kBlocks - 1, ", not ", block);
  return channels_ << std::min<int64_t>(block, 2);
}

Tensor Discriminator::forward(const Tensor& images, const BlockHook& after_block) {
  TRIFECTA_CHECK(images.ndim() == 4 && images.size(1) == 1 && images.size(2) == kSide && images.size(3) == kSide,
                 "gan discriminator", "expects images of shape [N, 1, 28, 28], got ", images.str());
  Tensor h = sub(mul(images, 2.0), 1.0);
  for (int64_t i = 0; i < kBlocks; ++i) {
    h = (*blocks_)[static_cast<size_t>(i)].forward(h);
    if (after_block) h = after_block(i, h);
  }
  return head_->forward(h.flatten(1, -1));
}

Gan::Gan(const GanConfig& config, Generator* init) : nn::Module("Gan"), config_(config) {
  config.validate();
  generator_ = register_module("generator", std::make_shared<ImageGenerator>(config, init));
  discriminator_ = register_module("discriminator", std::make_shared<Discriminator>(config, init));
  if (!config.fq_blocks.empty()) {
    // A plain container, so the state dict reads quantizers.<block>.dictionary as a PyTorch ModuleDict's.
    const auto container = register_module("quantizers", std::make_shared<nn::Module>("ModuleDict"));
    for (int64_t block : config.fq_blocks)
      quantizers_.emplace_back(block, container->register_module(std::to_string(block), std::make_shared<nn::FeatureQuantizer>(
                                          discriminator_->block_channels(block), config.fq, init)));
  }
  if (config.ema) {
    // Its own throwaway draws: the average is overwritten by the generator's weights at once, and building it
    // must not shift the init stream or the default generator.
    Generator unused(0);
    generator_ema_ = register_module("generator_ema", std::make_shared<ImageGenerator>(config, &unused));
    generator_ema_->load_state_dict(generator_->state_dict());
  }
}

Gan::Judgement Gan::discriminate(const Tensor& images) {
  if (quantizers_.empty()) return {discriminator_->forward(images), Tensor()};
  Tensor commitment;
  const Tensor scores = discriminator_->forward(images, [&](int64_t block, const Tensor& h) {
    for (const auto& [quantized_block, quantizer] : quantizers_) {
      if (quantized_block != block) continue;
      nn::FeatureQuantizer::Output out = quantizer->forward(h);
      commitment = commitment.defined() ? add(commitment, out.commitment_loss) : out.commitment_loss;
      return out.features;
    }
    return h;
  });
  return {scores, commitment};
}

std::vector<std::pair<int64_t, nn::FeatureQuantizer::Usage>> Gan::quantizer_usage() const {
  std::vector<std::pair<int64_t, nn::FeatureQuantizer::Usage>> usage;
  for (const auto& [block, quantizer] : quantizers_) usage.emplace_back(block, quantizer->usage());
  return usage;
}

void Gan::update_ema(double decay) {
  TRIFECTA_CHECK(generator_ema_ != nullptr, "gan", "update_ema without a moving average (--ema-decay 0)");
  TRIFECTA_CHECK(decay >= 0 && decay < 1, "gan --ema-decay", "expects a value in [0, 1), got ", decay);
  NoGradGuard no_grad;
  const NamedTensors weights = generator_->named_parameters(), average = generator_ema_->named_parameters();
  for (size_t i = 0; i < weights.size(); ++i)
    copy_(average[i].second, add(mul(average[i].second, decay), mul(weights[i].second, 1.0 - decay)));
  const NamedTensors buffers = generator_->named_buffers(), average_buffers = generator_ema_->named_buffers();
  for (size_t i = 0; i < buffers.size(); ++i) copy_(average_buffers[i].second, buffers[i].second);
}

Tensor draw_samples(Gan& model, int64_t count, uint64_t seed) {
  NoGradGuard no_grad;
  ImageGenerator& sampler = model.sampler();
  const bool was_training = sampler.is_training();
  sampler.eval();
  Generator noise(seed);
  const Device device = sampler.parameters().front().device();
  const Tensor z = randn({count, model.config().latent}, DType::Float32, &noise).to(device);
  // A batch at a time, so 10,000 samples need no more memory than an evaluation batch.
  std::vector<Tensor> images;
  for (int64_t start = 0; start < count; start += kSampleBatch)
    images.push_back(sampler.forward(z.narrow(0, start, std::min(kSampleBatch, count - start))).to(kCPU));
  sampler.train(was_training);
  return concat(images, 0);
}

}  // namespace trifecta::gan
