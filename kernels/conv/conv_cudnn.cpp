// cuDNN convolutions through its legacy (v7-style) API, deprecated in cuDNN 9 in favour of the graph API but
// still shipped, and far shorter for three fixed operations: describe x, w, y and the convolution, ask cuDNN's
// heuristics for algorithms, take the fastest deterministic one, and run it with a workspace from the
// caching allocator. Algorithm choices are cached per geometry, so the heuristics run once per shape.
#include "kernels/conv/conv_cudnn.h"

#include <cudnn.h>

#include <array>
#include <climits>
#include <cstdlib>
#include <cstring>
#include <map>
#include <vector>

#include "tensor/cuda_utils.h"

#define TRIFECTA_CUDNN_CHECK(expr, op)                                                                            \
  do {                                                                                                            \
    const cudnnStatus_t trifecta_cudnn_status = (expr);                                                           \
    if (trifecta_cudnn_status != CUDNN_STATUS_SUCCESS) [[unlikely]]                                               \
      TRIFECTA_FAIL(op, "cuDNN error ", cudnnGetErrorString(trifecta_cudnn_status), " at " __FILE__ ":", __LINE__); \
  } while (0)

namespace trifecta::cudnn {
namespace {

// Workspaces larger than this are not worth an algorithm's speed-up.
constexpr size_t kMaxWorkspaceBytes = size_t{1} << 30;

// One handle for the process, bound to trifecta's stream at each use; never destroyed (a static destructor
// could run after the CUDA runtime has shut down).
cudnnHandle_t handle(const char* op) {
  static const cudnnHandle_t h = [op] {
    cudnnHandle_t created = nullptr;
    const cudnnStatus_t status = cudnnCreate(&created);
    TRIFECTA_CHECK(status == CUDNN_STATUS_SUCCESS, op, "cannot start cuDNN (", cudnnGetErrorString(status),
                   "); set TRIFECTA_CUDNN=0 to use trifecta's own convolution kernels");
    return created;
  }();
  TRIFECTA_CUDNN_CHECK(cudnnSetStream(h, gpu::stream()), op);
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
  explicit Owned(const char* op) { TRIFECTA_CUDNN_CHECK(Create(&d_), op); }
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

  Descriptors(const ConvGeometry& g, DType dtype, const char* op) : x(op), y(op), w(op), conv(op) {
    const cudnnDataType_t type = data_type(dtype);
    const auto i = [](int64_t v) { return static_cast<int>(v); };
    TRIFECTA_CUDNN_CHECK(cudnnSetTensor4dDescriptor(x.get(), CUDNN_TENSOR_NCHW, type, i(g.batch), i(g.in_channels),
                                                    i(g.in_h), i(g.in_w)),
                         op);
    TRIFECTA_CUDNN_CHECK(cudnnSetTensor4dDescriptor(y.get(), CUDNN_TENSOR_NCHW, type, i(g.batch), i(g.out_channels),
                                                    i(g.out_h), i(g.out_w)),
                         op);
    TRIFECTA_CUDNN_CHECK(cudnnSetFilter4dDescriptor(w.get(), type, CUDNN_TENSOR_NCHW, i(g.out_channels),
                                                    i(g.in_channels), i(g.kernel_h), i(g.kernel_w)),
                         op);
    TRIFECTA_CUDNN_CHECK(cudnnSetConvolution2dDescriptor(conv.get(), i(g.pad_h), i(g.pad_w), i(g.stride_h),
                                                         i(g.stride_w), i(g.dilation_h), i(g.dilation_w),
                                                         CUDNN_CROSS_CORRELATION, type),
                         op);
    TRIFECTA_CUDNN_CHECK(cudnnSetConvolutionMathType(conv.get(), CUDNN_FMA_MATH), op);
  }
};

// An algorithm (of one of cuDNN's three enums, stored as int) and the workspace it needs; valid = false
// when no deterministic algorithm fits.
struct Choice {
  bool valid = false;
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
Choice pick(const std::vector<Perf>& results, int returned) {
  for (int k = 0; k < returned; ++k) {
    const Perf& r = results[static_cast<size_t>(k)];
    if (r.status == CUDNN_STATUS_SUCCESS && r.determinism == CUDNN_DETERMINISTIC && r.memory <= kMaxWorkspaceBytes)
      return {true, static_cast<int>(r.algo), r.memory};
  }
  return {};
}

// Looks the choice up in cache, or asks query() (which returns a Choice) and remembers the answer.
template <class Query>
Choice cached_choice(std::map<GeometryKey, Choice>& cache, const ConvGeometry& g, DType dtype, Query&& query) {
  const GeometryKey key = key_of(g, dtype);
  const auto found = cache.find(key);
  if (found != cache.end()) return found->second;
  const Choice choice = query();
  cache.emplace(key, choice);
  return choice;
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

}  // namespace

bool conv2d_forward(const ConvGeometry& g, const Tensor& x, const Tensor& weight, const Tensor& bias, const Tensor& y) {
  constexpr const char* op = "conv2d";
  if (!takes(g, x.dtype())) return false;
  const cudnnHandle_t h = handle(op);
  const Descriptors d(g, x.dtype(), op);
  static std::map<GeometryKey, Choice> cache;
  const Choice choice = cached_choice(cache, g, x.dtype(), [&] {
    int count = 0, returned = 0;
    TRIFECTA_CUDNN_CHECK(cudnnGetConvolutionForwardAlgorithmMaxCount(h, &count), op);
    std::vector<cudnnConvolutionFwdAlgoPerf_t> results(static_cast<size_t>(count));
    TRIFECTA_CUDNN_CHECK(cudnnGetConvolutionForwardAlgorithm_v7(h, d.x.get(), d.w.get(), d.conv.get(), d.y.get(), count, &returned, results.data()), op);
    return pick(results, returned);
  });
  if (!choice.valid) return false;
  const Tensor space = workspace(choice.workspace_bytes, x.device());
  const Scalars s(x.dtype());
  TRIFECTA_CUDNN_CHECK(cudnnConvolutionForward(h, s.one(), d.x.get(), x.raw_data(), d.w.get(), weight.raw_data(), d.conv.get(),
                                               static_cast<cudnnConvolutionFwdAlgo_t>(choice.algorithm), space.raw_data(),
                                               choice.workspace_bytes, s.zero(), d.y.get(), y.raw_data()),
                       op);
  if (bias.defined()) {
    const TensorDescriptor b(op);
    TRIFECTA_CUDNN_CHECK(
        cudnnSetTensor4dDescriptor(b.get(), CUDNN_TENSOR_NCHW, data_type(x.dtype()), 1, static_cast<int>(g.out_channels), 1, 1),
        op);
    TRIFECTA_CUDNN_CHECK(cudnnAddTensor(h, s.one(), b.get(), bias.raw_data(), s.one(), d.y.get(), y.raw_data()), op);
  }
  return true;
}

bool conv2d_backward_input(const ConvGeometry& g, const Tensor& grad_y, const Tensor& weight, const Tensor& grad_x) {
  constexpr const char* op = "conv2d_backward_input";
  if (!takes(g, grad_y.dtype())) return false;
  const cudnnHandle_t h = handle(op);
  const Descriptors d(g, grad_y.dtype(), op);
  static std::map<GeometryKey, Choice> cache;
  const Choice choice = cached_choice(cache, g, grad_y.dtype(), [&] {
    int count = 0, returned = 0;
    TRIFECTA_CUDNN_CHECK(cudnnGetConvolutionBackwardDataAlgorithmMaxCount(h, &count), op);
    std::vector<cudnnConvolutionBwdDataAlgoPerf_t> results(static_cast<size_t>(count));
    TRIFECTA_CUDNN_CHECK(
        cudnnGetConvolutionBackwardDataAlgorithm_v7(h, d.w.get(), d.y.get(), d.conv.get(), d.x.get(), count, &returned, results.data()), op);
    return pick(results, returned);
  });
  if (!choice.valid) return false;
  const Tensor space = workspace(choice.workspace_bytes, grad_y.device());
  const Scalars s(grad_y.dtype());
  TRIFECTA_CUDNN_CHECK(cudnnConvolutionBackwardData(h, s.one(), d.w.get(), weight.raw_data(), d.y.get(), grad_y.raw_data(), d.conv.get(),
                                                    static_cast<cudnnConvolutionBwdDataAlgo_t>(choice.algorithm),
                                                    space.raw_data(), choice.workspace_bytes, s.zero(), d.x.get(),
                                                    grad_x.raw_data()),
                       op);
  return true;
}

bool conv2d_backward_weight(const ConvGeometry& g, const Tensor& x, const Tensor& grad_y, const Tensor& grad_weight) {
  constexpr const char* op = "conv2d_backward_weight";
  if (!takes(g, x.dtype())) return false;
  const cudnnHandle_t h = handle(op);
  const Descriptors d(g, x.dtype(), op);
  static std::map<GeometryKey, Choice> cache;
  const Choice choice = cached_choice(cache, g, x.dtype(), [&] {
    int count = 0, returned = 0;
    TRIFECTA_CUDNN_CHECK(cudnnGetConvolutionBackwardFilterAlgorithmMaxCount(h, &count), op);
    std::vector<cudnnConvolutionBwdFilterAlgoPerf_t> results(static_cast<size_t>(count));
    TRIFECTA_CUDNN_CHECK(
        cudnnGetConvolutionBackwardFilterAlgorithm_v7(h, d.x.get(), d.y.get(), d.conv.get(), d.w.get(), count, &returned, results.data()), op);
    return pick(results, returned);
  });
  if (!choice.valid) return false;
  const Tensor space = workspace(choice.workspace_bytes, x.device());
  const Scalars s(x.dtype());
  TRIFECTA_CUDNN_CHECK(cudnnConvolutionBackwardFilter(h, s.one(), d.x.get(), x.raw_data(), d.y.get(), grad_y.raw_data(), d.conv.get(),
                                                      static_cast<cudnnConvolutionBwdFilterAlgo_t>(choice.algorithm),
                                                      space.raw_data(), choice.workspace_bytes, s.zero(), d.w.get(),
                                                      grad_weight.raw_data()),
                       op);
  return true;
}

}  // namespace trifecta::cudnn
