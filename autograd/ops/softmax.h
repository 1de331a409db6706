// Softmax and log_softmax along one dim (numerically stable: the row maximum is subtracted first).
#pragma once

#include "tensor/tensor.h"

namespace trifecta {

// e^x / sum(e^x) along dim; every slice along dim sums to 1.
Tensor softmax(const Tensor& x, int64_t dim);
// log(softmax(x, dim)), computed as x - logsumexp(x) so that it never takes the log of an underflowed 0.
Tensor log_softmax(const Tensor& x, int64_t dim);

}  // namespace trifecta
