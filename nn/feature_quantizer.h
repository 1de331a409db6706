// Feature quantization (Zhao et al., "Feature Quantization Improves GAN Training", ICML 2020): every feature
// vector h of a discriminator's map (the C-vector at each (n, y, x) of [N, C, H, W], or each row of [N, C])
// is replaced by its nearest entry q = e_k* of a dictionary of K entries (the paper's eq. 3, found by the
// nearest_code op), with the straight-through gradient dfeatures/dh = identity (eq. 4).
//
// The dictionary is not trained by gradient: it is an exponential moving average of the features assigned
// to each entry (the paper's section 3.2, after VQ-VAE's appendix), updated on every training forward:
//     cluster_size_k <- decay * cluster_size_k + (1 - decay) * n_k          n_k: rows assigned to k
//     embed_sum_k    <- decay * embed_sum_k    + (1 - decay) * sum_{i -> k} h_i
//     e_k            <- embed_sum_k / ((cluster_size_k + eps) / (n + K eps) * n),   n = sum_k cluster_size_k
// the Laplace smoothing keeping unused entries from dividing by zero. The commitment loss
//     beta * mean((sg(q) - h)^2)
// pulls features towards their entries; the caller adds it to the discriminator's loss.
//
// As in the authors' released code (YangNaruto/FQ-GAN): the dictionary starts N(0, 1), embed_sum starts as a
// copy of it and cluster_size at zero; a forward quantizes with the dictionary as it was before that
// forward's update. Their code also computes the quantized map without feeding it forward (the commitment
// term then acts as feature matching); feed_forward = false gives that form.
#pragma once

#include <cstdint>
#include <vector>

#include "nn/module.h"
#include "tensor/random.h"

namespace trifecta::nn {

struct FeatureQuantizerOptions {
  int64_t entries = 256;      // K
  double decay = 0.8;         // EMA decay of the dictionary
  double commitment = 1.0;    // beta
  double eps = 1e-5;          // Laplace smoothing
  bool feed_forward = true;   // false: the released code's auxiliary-only form (output = input, loss still computed)
};

class FeatureQuantizer : public Module {
 public:
  // Buffers, in state-dict order: dictionary [K, channels] drawn from N(0, 1) with init (the default
  // generator when null), cluster_size [K] zeros, embed_sum [K, channels] a copy of the dictionary.
  FeatureQuantizer(int64_t channels, FeatureQuantizerOptions options = {}, Generator* init = nullptr);

  struct Output {
    Tensor features;         // the input's shape: the quantized features, or the input itself without feed_forward
    Tensor commitment_loss;  // 0-dim, already times beta; its gradient reaches h only
  };
  // h [N, C, H, W] or [N, C] with C = channels, floating, of the dictionary's dtype and device. In training
  // mode it also updates the dictionary (without gradient).
  Output forward(const Tensor& h);

  // Over the assignments of the last training forward: perplexity exp(-sum_k p_k log p_k) of the histogram
  // p_k = n_k / M (K when every entry is used equally, 1 when one entry takes all), and the entries no
  // feature was assigned to. Before any training forward there are no assignments: perplexity 0, every
  // entry dead.
  struct Usage {
    double perplexity;
    int64_t dead_entries;
  };
  Usage usage() const;
  const FeatureQuantizerOptions& options() const { return options_; }

 private:
  void update_dictionary(const Tensor& flat, const Tensor& indices);

  int64_t channels_;
  FeatureQuantizerOptions options_;
  Tensor dictionary_, cluster_size_, embed_sum_;
  Tensor last_counts_;  // n_k of the last training forward, read (and copied to the host) only by usage()
};

}  // namespace trifecta::nn
