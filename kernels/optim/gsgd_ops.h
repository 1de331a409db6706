// g-SGD's two kernels (Meng et al., "G-SGD: Optimizing ReLU Neural Networks in its Positively Scale-Invariant
// Space", ICLR 2019), which optim/gsgd.h calls per layer: the column sums of W * dL/dW its inverse chain rule
// needs, and the fused update of the weight once it has computed the per-unit factors below from the whole
// chain. The element math is __host__ __device__ functions shared by the CPU and CUDA loops, so both devices
// compute the same function.
//
// Weight W [out, in] of layer l in a chain of equal hidden width h. The skeleton weights (the paper's
// skeleton method) sit at
//   First  layer (input -> hidden):  (j, j mod in)   for hidden unit j = row
//   Hidden layer (hidden -> hidden): (j, j)          for hidden unit j
//   Last   layer (hidden -> output): (j mod out, j)  for hidden unit j = column
// so that the skeleton weights form h disjoint input-to-output paths, one through each hidden unit of every
// layer. Every other weight is non-skeleton and names one basis path: itself plus skeleton weights below its
// source and above its target. With D(a) the product of the skeleton weights from the input up to unit a,
// and U(i) the product from unit i up to the output, that path's value is v = D(a) W[i,a] U(i), and the
// inverse chain rule gives dL/dv = dL/dW / (D(a) U(i)). An SGD step on v, allocated back to W with every
// other basis path held fixed and unit a's skeleton path rescaled by R(a) (see optim/gsgd.h), is
//
//   non-skeleton:  W[i,a] <- (W[i,a] - lr * G[i,a] * row_scale[i] * column_scale[a]) * column_factor[a]
//   skeleton:      W[j*]  <- W[j*] * skeleton_factor[j]
//
// with row_scale = 1 / U^2, column_scale = 1 / D^2, column_factor = 1 / R (the skeleton path below the
// weight moved by R) and skeleton_factor = R where the layer absorbs its skeleton path's step. An undefined
// factor tensor stands for all ones (the first layer has no D, the last no U).
#pragma once

#include <cstdint>

#include "kernels/common/math.h"
#include "tensor/dtype.h"
#include "tensor/tensor.h"

namespace trifecta {

enum class GsgdSkeleton : int { First, Hidden, Last };

struct GsgdLayerStepArgs {
  double lr = 0.0;
  GsgdSkeleton skeleton = GsgdSkeleton::Hidden;
};

// Whether (row, column) of a [rows, columns] weight is a skeleton weight, and the hidden unit whose skeleton
// path it lies on.
TRIFECTA_HD inline bool gsgd_skeleton_unit(GsgdSkeleton layout, int64_t row, int64_t column, int64_t rows,
                                           int64_t columns, int64_t& unit) {
  switch (layout) {
    case GsgdSkeleton::First: unit = row; return column == row % columns;
    case GsgdSkeleton::Hidden: unit = row; return column == row;
    case GsgdSkeleton::Last: unit = column; return row == column % rows;
  }
  return false;
}

// One weight's update (formula above); a null factor pointer reads as 1.
template <class C, class T>
TRIFECTA_HD inline C gsgd_weight_update(GsgdSkeleton layout, C neg_lr, C w, C g, int64_t row, int64_t column,
                                        int64_t rows, int64_t columns, const T* row_scale, const T* column_scale,
                                        const T* column_factor, const T* skeleton_factor) {
  int64_t unit = 0;
  if (gsgd_skeleton_unit(layout, row, column, rows, columns, unit))
    return skeleton_factor ? w * convert<C>(skeleton_factor[unit]) : w;
  C step = neg_lr * g;
  if (row_scale) step = step * convert<C>(row_scale[row]);
  if (column_scale) step = step * convert<C>(column_scale[column]);
  C updated = w + step;
  if (column_factor) updated = updated * convert<C>(column_factor[column]);
  return updated;
}

// The column sums of weight * grad, out[a] = sum_i W[i,a] dL/dW[i,a]: for every unit a of the layer below, what
// the weights leaving it contribute to the inverse chain rule of its skeleton path (optim/gsgd.h), summed in
// row order on both devices, in one pass without a product temporary.
template <class C, class T>
TRIFECTA_HD inline C gsgd_outgoing_sum(const T* w, const T* g, int64_t rows, int64_t w_row, int64_t g_row) {
  C sum = C(0);
  for (int64_t i = 0; i < rows; ++i) sum = sum + convert<C>(w[i * w_row]) * convert<C>(g[i * g_row]);
  return sum;
}

// Kernel signatures. weight and grad are [rows, columns] of one floating dtype and device, any strides (weight
// written in place, not overlapping grad); row_scale [rows], column_scale and column_factor [columns],
// skeleton_factor [h] are contiguous, of the weight's dtype and device, or undefined (all ones). The front
// end (optim/functional.h, gsgd_layer_step_) checks all of this.
using GsgdLayerStepKernel = void(const GsgdLayerStepArgs& args, const Tensor& weight, const Tensor& grad,
                                 const Tensor& row_scale, const Tensor& column_scale, const Tensor& column_factor,
                                 const Tensor& skeleton_factor);
// out [columns] is contiguous, of the weight's dtype and device.
using GsgdOutgoingSumsKernel = void(const Tensor& weight, const Tensor& grad, const Tensor& out);

}  // namespace trifecta
