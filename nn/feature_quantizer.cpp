// FeatureQuantizer: the lookup, the straight-through output, the commitment loss and the EMA dictionary.
#include "nn/feature_quantizer.h"

#include <cmath>

#include "nn/init.h"

namespace trifecta::nn {

namespace {

const char* const kName = "FeatureQuantizer";

void check_options(int64_t channels, const FeatureQuantizerOptions& o) {
  TRIFECTA_CHECK(channels > 0, kName, "channels must be positive, got ", channels);
  TRIFECTA_CHECK(o.entries > 0, kName, "entries (K) must be positive, got ", o.entries);
  // decay = 1 would leave cluster_size at zero forever, and the smoothing's n = 0 would divide by zero.
  TRIFECTA_CHECK(o.decay >= 0 && o.decay < 1, kName, "decay must lie in [0, 1), got ", o.decay);
  TRIFECTA_CHECK(o.commitment >= 0, kName, "commitment (beta) must be non-negative, got ", o.commitment);
  TRIFECTA_CHECK(o.eps > 0, kName, "eps must be positive, got ", o.eps);
}

}  // namespace

FeatureQuantizer::FeatureQuantizer(int64_t channels, FeatureQuantizerOptions options, Generator* init)
    : Module(kName), channels_(channels), options_(options) {
  check_options(channels, options);
  dictionary_ = register_buffer("dictionary", empty({options.entries, channels}));
  init::normal_(dictionary_, 0.0, 1.0, init);
  cluster_size_ = register_buffer("cluster_size", zeros({options.entries}));
  embed_sum_ = register_buffer("embed_sum", dictionary_.clone());
}

FeatureQuantizer::Output FeatureQuantizer::forward(const Tensor& h) {
  TRIFECTA_CHECK(h.defined(), kName, "undefined input");
  TRIFECTA_CHECK(h.ndim() == 4 || h.ndim() == 2, kName, "needs features [N, C, H, W] or [N, C], got ", h.str());
  TRIFECTA_CHECK(is_floating(h.dtype()), kName, "needs floating features, got ", dtype_name(h.dtype()));
  TRIFECTA_CHECK(h.numel() > 0, kName, "needs at least one feature vector, got ", h.str());
  TRIFECTA_CHECK(h.size(1) == channels_, kName, "was built for ", channels_, " channels, got features ", h.str());
  TRIFECTA_CHECK(h.dtype() == dictionary_.dtype() && h.device() == dictionary_.device(), kName, "features in ",
                 dtype_name(h.dtype()), " on ", h.device().str(), " but the dictionary in ",
                 dtype_name(dictionary_.dtype()), " on ", dictionary_.device().str(), " (move the module with to())");

  // One row per feature vector: channels last.
  const Tensor flat = (h.ndim() == 4 ? h.detach().permute({0, 2, 3, 1}) : h.detach()).reshape({-1, channels_});
  const Tensor indices = nearest_code(flat, dictionary_);
  Tensor q = index_select(dictionary_, 0, indices);  // a copy: the update below leaves it as it was
  if (h.ndim() == 4) q = q.reshape({h.size(0), h.size(2), h.size(3), channels_}).permute({0, 3, 1, 2});

  Output out;
  // q has no history, so the loss's gradient is 2 beta (h - q) / numel, to h alone.
  out.commitment_loss = mul(mean(square(sub(h, q))), options_.commitment);
  // Straight through: h - sg(h) is exactly 0, so the values are q's bits, while the gradient passes to h
  // unchanged (the paper's h + sg(q - h), which rounds q - h and back).
  out.features = options_.feed_forward ? add(q, sub(h, h.detach())) : h;

  if (is_training()) update_dictionary(flat, indices);
  return out;
}

void FeatureQuantizer::update_dictionary(const Tensor& flat, const Tensor& indices) {
  NoGradGuard no_grad;
  const double decay = options_.decay;
  const int64_t entries = options_.entries;
  const Tensor counts = index_add(zeros({entries}, dictionary_.options()), 0, indices,
                                  ones({indices.numel()}, dictionary_.options()));
  const Tensor sums = index_add(zeros({entries, channels_}, dictionary_.options()), 0, indices, flat);
  copy_(cluster_size_, add(mul(cluster_size_, decay), mul(counts, 1 - decay)));
  copy_(embed_sum_, add(mul(embed_sum_, decay), mul(sums, 1 - decay)));
  const Tensor n = sum(cluster_size_);
  const Tensor smoothed = mul(div(add(cluster_size_, options_.eps), add(n, entries * options_.eps)), n);
  copy_(dictionary_, div(embed_sum_, smoothed.unsqueeze(1)));
  last_counts_ = counts;
}

FeatureQuantizer::Usage FeatureQuantizer::usage() const {
  if (!last_counts_.defined()) return {0.0, options_.entries};
  const std::vector<double> counts = last_counts_.to(kCPU).to_vector<double>();
  double total = 0;
  for (double c : counts) total += c;
  Usage usage{0.0, 0};
  double entropy = 0;
  for (double c : counts) {
    if (c == 0) {
      ++usage.dead_entries;
      continue;
    }
    const double p = c / total;
    entropy -= p * std::log(p);
  }
  usage.perplexity = total > 0 ? std::exp(entropy) : 0.0;
  return usage;
}

}  // namespace trifecta::nn
