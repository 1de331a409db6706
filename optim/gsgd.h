// g-SGD (Meng, Zheng, Zhang, Chen, Ye, Ma, Yu, Liu, "G-SGD: Optimizing ReLU Neural Networks in its Positively
// Scale-Invariant Space", ICLR 2019, arXiv 1802.03713): SGD on the values of a ReLU MLP's basis paths instead
// of on its weights.
//
// Why. Multiplying hidden unit j's incoming weights by c > 0 and dividing its outgoing ones by c leaves a
// ReLU network's function unchanged (relu(c x) = c relu(x)), but moves an SGD step: SGD depends on which of
// the equivalent weight vectors it starts from. The value of a path (the product of the weights along it,
// input to output) is invariant, and the network's output is a sum over paths of value x input x activation
// pattern, so the paths' values describe the network. They are not independent: the paper shows that
// m - H basis paths (m weights, H hidden units) determine all the others, and runs SGD on those.
//
// The four steps of the paper's Algorithm 1, for a chain Linear, ReLU, Linear, ..., ReLU, Linear whose
// hidden layers all have width h (the paper's requirement; anything else is refused):
//  1. Skeleton method. Per hidden unit j, one skeleton weight per layer, forming h disjoint input-to-output
//     paths (kernels/optim/gsgd_ops.h gives the positions). The basis paths are these h skeleton paths and,
//     for every non-skeleton weight W[i,a], the path made of it, the skeleton weights from the input up to
//     its source a (product D(a)) and those from its target i up to the output (product U(i)): v = D W U.
//  2. Inverse chain rule. Every weight's gradient is a sum over the basis paths through it:
//     w dL/dw = sum_{p through w} v_p dL/dv_p. A non-skeleton weight lies on one basis path, so
//     dL/dv = dL/dW / (D(a) U(i)). The first layer's skeleton weight of unit j lies on the skeleton path s_j
//     and on every non-skeleton path leaving j above it, so
//       s_j dL/ds_j = w1_j dL/dw1_j - sum over layers l >= 2 of sum_{i non-skeleton} W^l[i,j] dL/dW^l[i,j].
//  3. SGD in that space: v <- v - lr dL/dv, for every basis path.
//  4. Weight allocation: choose weights with exactly those path values. The skeleton weights of layers 2..L
//     stay; the first layer's skeleton weight of unit j takes its skeleton path's ratio R_j = s_j' / s_j =
//     1 - lr (dL/ds_j) / s_j; a non-skeleton weight then takes what its path needs, so above the first layer
//     it is divided by R of its source unit, whose skeleton path below it moved by R. In weights:
//       W[i,a] <- (W[i,a] - lr dL/dW[i,a] / (D(a) U(i))^2) / R_a        (R_a = 1 in the first layer)
//  The cost is one pass over the weights plus the column sums of W * dL/dW in layers >= 2: of the order of
//  an SGD step, far below the back-propagation that made the gradient (bench/gsgd_bench.cpp measures it).
//
// Biases. The paper's analysis has no biases. Here a bias is the weight from a constant unit (value 1) that
// no rescaling touches: rescaling unit i by c multiplies its bias by c, as it does its other incoming
// weights, which is exactly what keeps the network function invariant. The bias is then a non-skeleton
// weight whose basis path starts at that constant unit: v = b_i U(i), dL/dv = dL/db_i / U(i), and it never
// lies on a skeleton path. An output bias is a path of its own (U = 1) and takes a plain SGD step.
//
// The map from weights to basis-path values is only invertible while every skeleton weight is nonzero: the
// constructor refuses a chain with a zero skeleton weight, and a step that drives a skeleton path to zero
// (R_j = 0) makes the weights above it infinite, which the trainer's divergence stop catches. Skeleton
// products are formed in the weights' dtype: float32 and float64 chains only.
//
// State: none beyond the base's step count and learning rate (the paper's g-SGD has no momentum); hyper
// .hidden_width and .chain_layers record the structure, so a state never loads into another chain.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "kernels/optim/gsgd_ops.h"
#include "nn/linear.h"
#include "nn/sequential.h"
#include "optim/optimizer.h"

namespace trifecta::optim {

struct GsgdOptions {
  double lr = 1e-2;
};

// Basis-path quantities of one layer, laid out like its parameters: weight[i,a] belongs to the path named by
// the non-skeleton weight W[i,a]; the first layer's skeleton entries hold unit j's skeleton path; the other
// skeleton entries hold 0 (no basis path is named by them); bias[i] belongs to the bias's path (undefined
// without a bias).
struct LayerPaths {
  Tensor weight;
  Tensor bias;
};

class GSGD : public Optimizer {
 public:
  // chain: the Linear layers of a ReLU MLP from input to output, with a ReLU (and nothing else) between
  // consecutive layers, which only the caller can see: relu_chain() checks it on a Sequential. Parameters
  // are named "<k>.weight" and "<k>.bias" by position k in the chain.
  GSGD(const std::vector<nn::Linear*>& chain, const GsgdOptions& options = {});

  // The Linear layers of net, checked to be [Flatten,] Linear, ReLU, Linear, ..., ReLU, Linear.
  static std::vector<nn::Linear*> relu_chain(const nn::Sequential& net);

  const GsgdOptions& options() const { return options_; }
  int64_t hidden_width() const { return hidden_width_; }
  size_t chain_layers() const { return layers_.size(); }

  // The basis-path values of the current weights, and the gradient with respect to them from the
  // current weight gradients (step 2 above; every parameter of the chain must have a gradient).
  std::vector<LayerPaths> basis_path_values() const;
  std::vector<LayerPaths> basis_path_gradient() const;

 protected:
  std::vector<std::string> state_names() const override { return {}; }
  std::vector<std::pair<std::string, double>> hyperparameters() const override;
  void check_compatible(const std::map<std::string, double>& saved) const override;
  void check_hyperparameters(const std::map<std::string, double>& saved, double lr, double weight_decay,
                             const std::string& who) const override;
  void restore_hyperparameters(const std::map<std::string, double>&) override {}
  void begin_step() override;
  void update(const Tensor& param, const Tensor& grad, const std::vector<Tensor>& state, int64_t step,
              const ParamGroup& group) override;

 private:
  struct Layer {
    Tensor weight, bias;
    GsgdSkeleton skeleton;
    // gather's dim and index: the skeleton weight's column in each row j (First, Hidden: int64 [h, 1], dim 1)
    // or its row in each column j (Last: [1, h], dim 0).
    int64_t gather_dim;
    Tensor skeleton_index;
  };
  // The per-unit products of skeleton weights of the current weights (and, with gradients, the skeleton
  // paths' gradient terms): what steps 2 to 4 are computed from.
  struct Skeleton {
    std::vector<Tensor> weights;  // weights[k] [h]: layer k's skeleton weight of each hidden unit
    std::vector<Tensor> down;  // down[k] [h]: D of the hidden units after layer k (k = 0 .. L-2)
    std::vector<Tensor> up;    // up[k] [h]: U of the same units
    Tensor path_values;        // s [h]
  };
  // The factors of the fused update of one layer (kernels/optim/gsgd_ops.h); undefined means all ones.
  struct Factors {
    Tensor row_scale, column_scale, column_factor, skeleton_factor;
  };

  Tensor skeleton_entries(size_t k, const Tensor& t) const;
  Skeleton skeleton_products() const;
  // s_j dL/ds_j (step 2) from the current gradients.
  Tensor skeleton_path_terms(const Skeleton& skeleton) const;
  void check_gradients(const char* who) const;

  GsgdOptions options_;
  std::vector<Layer> layers_;
  int64_t hidden_width_ = 0;
  std::vector<Factors> factors_;                               // this step's, from begin_step
  std::map<const TensorImpl*, std::pair<size_t, bool>> slot_;  // parameter -> (layer, is bias)
};

}  // namespace trifecta::optim
