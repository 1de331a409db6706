// Each op's kernel signature, as the third column of kernels/ops.def names it: the specializations of
// kernel_signature (kernels/registry.h) against which TRIFECTA_REGISTER_KERNEL checks every kernel it
// registers, at compile time. Include this in every file that registers a kernel; it pulls in each family's
// header, where the signature types are declared.
#pragma once

#include "kernels/conv/conv.h"
#include "kernels/copy/copy.h"
#include "kernels/dropout/dropout.h"
#include "kernels/elementwise/binary_ops.h"
#include "kernels/elementwise/unary_ops.h"
#include "kernels/fill/fill.h"
#include "kernels/index/index_ops.h"
#include "kernels/loss/cross_entropy_ops.h"
#include "kernels/matmul/matmul.h"
#include "kernels/norm/batch_norm_ops.h"
#include "kernels/norm/layer_norm_ops.h"
#include "kernels/optim/gsgd_ops.h"
#include "kernels/optim/optim_ops.h"
#include "kernels/pool/pool.h"
#include "kernels/quantize/quantize_ops.h"
#include "kernels/reduce/reduce_ops.h"
#include "kernels/registry.h"
#include "kernels/softmax/softmax_ops.h"
#include "kernels/topk/topk_ops.h"

namespace trifecta {

// The signature of a Composite op, which has no kernels: no function type equals it, so registering a
// kernel for one fails to compile.
struct NoKernel {};

#define TRIFECTA_OP(name, kind, signature) \
  template <>                              \
  struct kernel_signature<OpId::name> {    \
    using type = signature;                \
  };
#include "kernels/ops.def"
#undef TRIFECTA_OP

}  // namespace trifecta
