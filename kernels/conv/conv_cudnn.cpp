// cuDNN convolutions through its legacy (v7-style) API, deprecated in cuDNN 9 in favour of the graph API but
// still shipped, and far shorter for three fixed operations: describe x, w, y and the convolution, ask cuDNN's
// heuristics for algorithms, take the fastest deterministic one, and run it with a workspace from the
// caching allocator. Algorithm choices are cached per geometry, so the heuristics run once per shape.
//
// cuDNN is an accelerator, never a requirement: when it cannot start, or refuses a convolution (no algorithm
// for a dtype or geometry, a call that fails), the hand-written kernels take that convolution and every later
// one of the same geometry, and the first such refusal of the process prints one line to stderr.
#include "kernels/conv/conv_cudnn.h"

#include <cudnn.h>

#include <array>
#include <atomic>
#include <climits>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <map>
#include <string>
#include <vector>

#include "tensor/cuda_utils.h"

namespace trifecta::cudnn {
namespace {

// cuDNN did not take a convolution (a call failed, or no algorithm fits): the hand-written kernels run it.
struct Refusal {
  std::string what;
};

#define TRIFECTA_CUDNN_TRY(expr, call)                                                                      \
  do {                                                                                                      \
    const cudnnStatus_t trifecta_cudnn_status = (expr);                                                     \
    if (trifecta_cudnn_status != CUDNN_STATUS_SUCCESS) [[unlikely]]                                         \
      throw Refusal{std::string(call) + " returned " + cudnnGetErrorString(trifecta_cudnn_status)};          \
  } while (0)

// Workspaces larger than this are not worth an algorithm's speed-up.
constexpr size_t kMaxWorkspaceBytes = size_t{1} << 30;

// One handle for the process, bound to trifecta's stream at each use; never destroyed (a static destructor
// could run after the CUDA runtime has shut down). Creating it is tried once.
cudnnHandle_t handle() {
  static cudnnHandle_t h = nullptr;
  static const cudnnStatus_t created = cudnnCreate(&h);
  TRIFECTA_CUDNN_TRY(created, "cudnnCreate");
  TRIFECTA_CUDNN_TRY(cudnnSetStream(h, gpu::stream()), "cudnnSetStream");
  return h;
}

bool switched_off() {
  const char* setting = std::getenv("TRIFECTA_CUDNN");
  return setting != nullptr && std::strcmp(setting, "0") == 0;
}

// cuDNN's 4-d descriptors take int sizes, and it derives the output size from the input size.
bool describable(const ConvGeometry& g) {
  const int64_t sizes[] = {g.batch * g.in_channels * g.in_pixels(), g.batch * g.out_channels * g.out_pixels(),
                           g.out_channels * g.patch_size()};
  for (int64_t s : sizes)
    if (s > INT_MAX) return false;
  return g.out_h == (g.in_h + 2 * g.pad_h - g.dilation_h * (g.kernel_h - 1) - 1) / g.stride_h + 1 &&
         g.out_w == (g.in_w + 2 * g.pad_w - g.dilation_w * (g.kernel_w - 1) - 1) / g.stride_w + 1;
}

bool takes(const ConvGeometry& g, DType dtype) {
  return !switched_off() && describable(g) && (dtype == DType::Float32 || dtype == DType::Float64);
}

// Owns one cuDNN descriptor (created at construction, destroyed at scope exit, even when a later call throws).
template <class D, cudnnStatus_t (*Create)(D*), cudnnStatus_t (*Destroy)(D)>
class Owned {
 public:
  Owned() { TRIFECTA_CUDNN_TRY(Create(&d_), "creating a descriptor"); }
  ~Owned() { Destroy(d_); }  // cannot fail for a descriptor Create made
  Owned(const Owned&) = delete;
  Owned& operator=(const Owned&) = delete;
  D get() const { return d_; }

 private:
  D d_ = nullptr;
};
using TensorDescriptor = Owned<cudnnTensorDescriptor_t, cudnnCreateTensorDescriptor, cudnnDestroyTensorDescriptor>;
using FilterDescriptor = Owned<cudnnFilterDescriptor_t, cudnnCreateFilterDescriptor, cudnnDestroyFilterDescriptor>;
using ConvolutionDescriptor =
    Owned<cudnnConvolutionDescriptor_t, cudnnCreateConvolutionDescriptor, cudnnDestroyConvolutionDescriptor>;

cudnnDataType_t data_type(DType dtype) { return dtype == DType::Float64 ? CUDNN_DATA_DOUBLE : CUDNN_DATA_FLOAT; }

// x, w, y and the convolution of one geometry.
struct Descriptors {
  TensorDescriptor x, y;
  FilterDescriptor w;
  ConvolutionDescriptor conv;

  Descriptors(const ConvGeometry& g, DType dtype) {
    const cudnnDataType_t type = data_type(dtype);
    const auto i = [](int64_t v) { return static_cast<int>(v); };
    TRIFECTA_CUDNN_TRY(cudnnSetTensor4dDescriptor(x.get(), CUDNN_TENSOR_NCHW, type, i(g.batch), i(g.in_channels),
                                                  i(g.in_h), i(g.in_w)),
                       "cudnnSetTensor4dDescriptor");
    TRIFECTA_CUDNN_TRY(cudnnSetTensor4dDescriptor(y.get(), CUDNN_TENSOR_NCHW, type, i(g.batch), i(g.out_channels),
                                                  i(g.out_h), i(g.out_w)),
                       "cudnnSetTensor4dDescriptor");
    TRIFECTA_CUDNN_TRY(cudnnSetFilter4dDescriptor(w.get(), type, CUDNN_TENSOR_NCHW, i(g.out_channels),
                                                  i(g.in_channels), i(g.kernel_h), i(g.kernel_w)),
                       "cudnnSetFilter4dDescriptor");
    TRIFECTA_CUDNN_TRY(cudnnSetConvolution2dDescriptor(conv.get(), i(g.pad_h), i(g.pad_w), i(g.stride_h),
                                                       i(g.stride_w), i(g.dilation_h), i(g.dilation_w),
                                                       CUDNN_CROSS_CORRELATION, type),
                       "cudnnSetConvolution2dDescriptor");
    TRIFECTA_CUDNN_TRY(cudnnSetConvolutionMathType(conv.get(), CUDNN_FMA_MATH), "cudnnSetConvolutionMathType");
  }
};

// What one geometry gets: an algorithm (of one of cuDNN's three enums, stored as int) and the workspace it
// needs, or a refusal, after which the hand-written kernels take that geometry for good.
struct Plan {
  bool refused = false;
  int algorithm = 0;
  size_t workspace_bytes = 0;
};

using GeometryKey = std::array<int64_t, 16>;
GeometryKey key_of(const ConvGeometry& g, DType dtype) {
  return {g.batch,    g.in_channels, g.in_h,  g.in_w,  g.out_channels, g.kernel_h,     g.kernel_w,   g.out_h,
          g.out_w,    g.stride_h,    g.stride_w, g.pad_h, g.pad_w,     g.dilation_h,   g.dilation_w, static_cast<int64_t>(dtype)};
}

// The first (fastest by cuDNN's estimate) deterministic algorithm whose workspace is acceptable.
template <class Perf>
Plan pick(const std::vector<Perf>& results, int returned) {
  for (int k = 0; k < returned; ++k) {
    const Perf& r = results[static_cast<size_t>(k)];
    if (r.status == CUDNN_STATUS_SUCCESS && r.determinism == CUDNN_DETERMINISTIC && r.memory <= kMaxWorkspaceBytes)
      return {false, static_cast<int>(r.algo), r.memory};
  }
  throw Refusal{"offers no deterministic algorithm with a workspace under 1 GiB"};
}

// Scaling factors are float for float tensors and double for double tensors.
struct Scalars {
  float f0 = 0.0f, f1 = 1.0f;
  double d0 = 0.0, d1 = 1.0;
  bool is_double;
  explicit Scalars(DType dtype) : is_double(dtype == DType::Float64) {}
  const void* zero() const { return is_double ? static_cast<const void*>(&d0) : static_cast<const void*>(&f0); }
  const void* one() const { return is_double ? static_cast<const void*>(&d1) : static_cast<const void*>(&f1); }
};

Tensor workspace(size_t bytes, Device device) {
  return empty({static_cast<int64_t>(std::max<size_t>(bytes, 8) + 7) / 8}, {DType::Int64, device});
}

// One line for the first refusal of the process: enough to know the fallback happened, without a line per call.
void report_refusal(const char* op, DType dtype, const Refusal& refusal) {
  static std::atomic<bool> reported{false};
  if (reported.exchange(true)) return;
  std::fprintf(stderr,
               "trifecta: %s in %s: cuDNN %s; trifecta's own CUDA kernels run this convolution and any other "
               "that cuDNN does not take\n",
               op, dtype_name(dtype), refusal.what.c_str());
}

// Runs one convolution through cuDNN: the geometry's plan (made by choose(handle, descriptors) the first time),
// then run(handle, descriptors, plan). False, with nothing done that the hand-written kernels do not redo,
// when cuDNN should not or will not take it.
template <class Choose, class Run>
bool through_cudnn(const char* op, std::map<GeometryKey, Plan>& plans, const ConvGeometry& g, DType dtype,
                   Choose&& choose, Run&& run) {
  if (!takes(g, dtype)) return false;
  const GeometryKey key = key_of(g, dtype);
  auto plan = plans.find(key);
  if (plan != plans.end() && plan->second.refused) return false;
  try {
    const cudnnHandle_t h = handle();
    const Descriptors d(g, dtype);
    if (plan == plans.end()) plan = plans.emplace(key, choose(h, d)).first;
    run(h, d, plan->second);
    return true;
  } catch (const Refusal& refusal) {
    plans[key].refused = true;
    report_refusal(op, dtype, refusal);
    return false;
  }
}

}  // namespace

bool conv2d_forward(const ConvGeometry& g, const Tensor& x, const Tensor& weight, const Tensor& bias, const Tensor& y) {
  static std::map<GeometryKey, Plan> plans;
  const auto choose = [](cudnnHandle_t h, const Descriptors& d) {
    int count = 0, returned = 0;
    TRIFECTA_CUDNN_TRY(cudnnGetConvolutionForwardAlgorithmMaxCount(h, &count), "cudnnGetConvolutionForwardAlgorithmMaxCount");
    std::vector<cudnnConvolutionFwdAlgoPerf_t> results(static_cast<size_t>(count));
    TRIFECTA_CUDNN_TRY(cudnnGetConvolutionForwardAlgorithm_v7(h, d.x.get(), d.w.get(), d.conv.get(), d.y.get(), count,
                                                              &returned, results.data()),
                       "cudnnGetConvolutionForwardAlgorithm_v7");
    return pick(results, returned);
  };
  const auto run = [&](cudnnHandle_t h, const Descriptors& d, const Plan& plan) {
    const Tensor space = workspace(plan.workspace_bytes, x.device());
    const Scalars s(x.dtype());
    TRIFECTA_CUDNN_TRY(cudnnConvolutionForward(h, s.one(), d.x.get(), x.raw_data(), d.w.get(), weight.raw_data(),
                                               d.conv.get(), static_cast<cudnnConvolutionFwdAlgo_t>(plan.algorithm),
                                               space.raw_data(), plan.workspace_bytes, s.zero(), d.y.get(), y.raw_data()),
                       "cudnnConvolutionForward");
    if (bias.defined()) {
      const TensorDescriptor b;
      TRIFECTA_CUDNN_TRY(cudnnSetTensor4dDescriptor(b.get(), CUDNN_TENSOR_NCHW, data_type(x.dtype()), 1,
                                                    static_cast<int>(g.out_channels), 1, 1),
                         "cudnnSetTensor4dDescriptor");
      TRIFECTA_CUDNN_TRY(cudnnAddTensor(h, s.one(), b.get(), bias.raw_data(), s.one(), d.y.get(), y.raw_data()),
                         "cudnnAddTensor");
    }
  };
  return through_cudnn("conv2d", plans, g, x.dtype(), choose, run);
}

bool conv2d_backward_input(const ConvGeometry& g, const Tensor& grad_y, const Tensor& weight, const Tensor& grad_x) {
  static std::map<GeometryKey, Plan> plans;
  const auto choose = [](cudnnHandle_t h, const Descriptors& d) {
    int count = 0, returned = 0;
    TRIFECTA_CUDNN_TRY(cudnnGetConvolutionBackwardDataAlgorithmMaxCount(h, &count),
                       "cudnnGetConvolutionBackwardDataAlgorithmMaxCount");
    std::vector<cudnnConvolutionBwdDataAlgoPerf_t> results(static_cast<size_t>(count));
    TRIFECTA_CUDNN_TRY(cudnnGetConvolutionBackwardDataAlgorithm_v7(h, d.w.get(), d.y.get(), d.conv.get(), d.x.get(),
                                                                   count, &returned, results.data()),
                       "cudnnGetConvolutionBackwardDataAlgorithm_v7");
    return pick(results, returned);
  };
  const auto run = [&](cudnnHandle_t h, const Descriptors& d, const Plan& plan) {
    const Tensor space = workspace(plan.workspace_bytes, grad_y.device());
    const Scalars s(grad_y.dtype());
    TRIFECTA_CUDNN_TRY(cudnnConvolutionBackwardData(h, s.one(), d.w.get(), weight.raw_data(), d.y.get(),
                                                    grad_y.raw_data(), d.conv.get(),
                                                    static_cast<cudnnConvolutionBwdDataAlgo_t>(plan.algorithm),
                                                    space.raw_data(), plan.workspace_bytes, s.zero(), d.x.get(),
                                                    grad_x.raw_data()),
                       "cudnnConvolutionBackwardData");
  };
  return through_cudnn("conv2d_backward_input", plans, g, grad_y.dtype(), choose, run);
}

bool conv2d_backward_weight(const ConvGeometry& g, const Tensor& x, const Tensor& grad_y, const Tensor& grad_weight) {
  static std::map<GeometryKey, Plan> plans;
  const auto choose = [](cudnnHandle_t h, const Descriptors& d) {
    int count = 0, returned = 0;
    TRIFECTA_CUDNN_TRY(cudnnGetConvolutionBackwardFilterAlgorithmMaxCount(h, &count),
                       "cudnnGetConvolutionBackwardFilterAlgorithmMaxCount");
    std::vector<cudnnConvolutionBwdFilterAlgoPerf_t> results(static_cast<size_t>(count));
    TRIFECTA_CUDNN_TRY(cudnnGetConvolutionBackwardFilterAlgorithm_v7(h, d.x.get(), d.y.get(), d.conv.get(), d.w.get(),
                                                                     count, &returned, results.data()),
                       "cudnnGetConvolutionBackwardFilterAlgorithm_v7");
    return pick(results, returned);
  };
  const auto run = [&](cudnnHandle_t h, const Descriptors& d, const Plan& plan) {
    const Tensor space = workspace(plan.workspace_bytes, x.device());
    const Scalars s(x.dtype());
    TRIFECTA_CUDNN_TRY(cudnnConvolutionBackwardFilter(h, s.one(), d.x.get(), x.raw_data(), d.y.get(), grad_y.raw_data(),
                                                      d.conv.get(),
                                                      static_cast<cudnnConvolutionBwdFilterAlgo_t>(plan.algorithm),
                                                      space.raw_data(), plan.workspace_bytes, s.zero(), d.w.get(),
                                                      grad_weight.raw_data()),
                       "cudnnConvolutionBackwardFilter");
  };
  return through_cudnn("conv2d_backward_weight", plans, g, x.dtype(), choose, run);
}

}  // namespace trifecta::cudnn
