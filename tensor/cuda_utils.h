// CUDA helpers shared by every CUDA translation unit: error checking that names the op, and the one stream
// all of trifecta's work runs on (one stream keeps the caching allocator's reuse safe without events).
// The namespace is gpu, not cuda, so that libcu++'s ::cuda::std stays easy to name inside trifecta.
#pragma once

#include <cuda_runtime.h>

#include "tensor/error.h"

// Every CUDA runtime call is wrapped; a failure becomes an Error naming the op and the CUDA error.
#define TRIFECTA_CUDA_CHECK(expr, op)                                                                   \
  do {                                                                                                  \
    const cudaError_t trifecta_cuda_status = (expr);                                                    \
    if (trifecta_cuda_status != cudaSuccess) [[unlikely]]                                               \
      TRIFECTA_FAIL(op, "CUDA error ", cudaGetErrorName(trifecta_cuda_status), " (",                    \
                    cudaGetErrorString(trifecta_cuda_status), ") at " __FILE__ ":", __LINE__);          \
  } while (0)

// After every kernel launch: catches bad launch configurations at once (faults inside a kernel surface at
// the next synchronizing call, which is checked too).
#define TRIFECTA_CUDA_LAUNCH_CHECK(op) TRIFECTA_CUDA_CHECK(cudaGetLastError(), op)

namespace trifecta::gpu {

cudaStream_t stream();

// Blocks for a grid-stride loop over n elements with the given block size: enough to fill the device
// several times over, but never more than needed.
int grid_size(int64_t n, int block);

}  // namespace trifecta::gpu
