// Gradient clipping over a list of parameters (those without a gradient are skipped), on any device.
//
// Clipping by norm treats all gradients as one vector g and rescales it by a factor h(||g||_2). Zhang et al.,
// "Why gradient clipping accelerates training: a theoretical justification for adaptivity" (ICLR 2020),
// analyse two forms, which agree when ||g|| is far below or far above the threshold c:
//
//   ClipForm::Clamp    h = min(1, c / ||g||): leave g alone unless its norm exceeds c, then scale it to norm c.
//                      PyTorch's clip_grad_norm_, which computes c / (||g|| + 1e-6) so a zero gradient is safe.
//   ClipForm::Smooth   h = c / (||g|| + c): always scales, smoothly, with the norm after clipping below c.
//
// The norm is accumulated in float64 whatever the gradients' dtype: each tensor's sum of squares with the
// reduction kernels, the sums added per device, then combined on the host.
#pragma once

#include <vector>

#include "tensor/tensor.h"

namespace trifecta::optim {

enum class ClipForm { Clamp, Smooth };

// The L2 norm of all gradients together (0 when none has one).
double grad_norm(const std::vector<Tensor>& params);

// Scales the gradients in place so that their joint norm is at most max_norm (> 0); returns the norm before
// clipping. A non-finite norm is returned without touching the gradients: the caller sees it (and usually
// skips the step) instead of finding every gradient turned into NaN.
double clip_grad_norm_(const std::vector<Tensor>& params, double max_norm, ClipForm form = ClipForm::Clamp);

// Clamps every gradient element to [-clip_value, clip_value] (clip_value >= 0), as PyTorch's clip_grad_value_.
void clip_grad_value_(const std::vector<Tensor>& params, double clip_value);

}  // namespace trifecta::optim
