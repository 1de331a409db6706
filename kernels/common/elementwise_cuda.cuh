// The CUDA elementwise loop, the twin of elementwise_cpu.h: out[i] = f(in0[i], in1[i], ...) with the same
// functor (a __host__ __device__ struct), so both devices compute the same function.
//
// Two kernels:
//  - contiguous: every operand contiguous or a broadcast scalar. Each thread moves V elements per operand
//    with one aligned vector load/store (16 bytes for float32), the layout that reaches the memory
//    bandwidth ceiling; a grid-stride loop keeps the grid at a few blocks per SM whatever n is.
//  - strided: any strides (after the plan has merged what it can), decoding each index into per-operand
//    offsets. Slower (integer division per dim), used for transposes and odd broadcasts.
#pragma once

#include <cuda/std/tuple>

#include <utility>

#include "kernels/common/elementwise_plan.h"
#include "tensor/cuda_utils.h"
#include "tensor/half.h"

namespace trifecta {

namespace detail {

template <class T, int V>
struct alignas(sizeof(T) * V) AlignedVec {
  T v[V];
};

template <int N>
struct OffsetCalculator {
  int ndim;
  int64_t sizes[kMaxDims];
  int64_t strides[N][kMaxDims];

  __device__ void offsets(int64_t linear, int64_t (&off)[N]) const {
#pragma unroll
    for (int k = 0; k < N; ++k) off[k] = 0;
#pragma unroll
    for (int d = kMaxDims - 1; d >= 0; --d) {
      if (d >= ndim) continue;
      const int64_t i = linear % sizes[d];
      linear /= sizes[d];
#pragma unroll
      for (int k = 0; k < N; ++k) off[k] += i * strides[k][d];
    }
  }
};

template <int V, class T>
__device__ AlignedVec<compute_t<T>, V> load_vec(const T* p, int64_t vec_index, bool scalar) {
  AlignedVec<compute_t<T>, V> r;
  if (scalar) {
    const compute_t<T> s = convert<compute_t<T>>(p[0]);
#pragma unroll
    for (int j = 0; j < V; ++j) r.v[j] = s;
  } else {
    const AlignedVec<T, V> raw = reinterpret_cast<const AlignedVec<T, V>*>(p)[vec_index];
#pragma unroll
    for (int j = 0; j < V; ++j) r.v[j] = convert<compute_t<T>>(raw.v[j]);
  }
  return r;
}

// Template packs come last and are deduced: nvcc requires that of variadic kernels.
template <int V, class Out, class F, size_t... K, class... In>
__device__ void contiguous_vec_step(int64_t vec_index, const F& f, unsigned scalar_mask, Out* out,
                                    const cuda::std::tuple<const In*...>& in, std::index_sequence<K...>) {
  const cuda::std::tuple<AlignedVec<compute_t<In>, V>...> x{
      load_vec<V>(cuda::std::get<K>(in), vec_index, (scalar_mask >> K) & 1u)...};
  AlignedVec<Out, V> o;
#pragma unroll
  for (int j = 0; j < V; ++j) o.v[j] = convert<Out>(f(cuda::std::get<K>(x).v[j]...));
  reinterpret_cast<AlignedVec<Out, V>*>(out)[vec_index] = o;
}

template <class Out, class F, size_t... K, class... In>
__device__ void contiguous_scalar_step(int64_t i, const F& f, unsigned scalar_mask, Out* out,
                                       const cuda::std::tuple<const In*...>& in, std::index_sequence<K...>) {
  out[i] = convert<Out>(f(convert<compute_t<In>>(cuda::std::get<K>(in)[((scalar_mask >> K) & 1u) ? 0 : i])...));
}

template <int V, class Out, class F, class... In>
__global__ void elementwise_contiguous_kernel(int64_t n, F f, unsigned scalar_mask, Out* out,
                                              cuda::std::tuple<const In*...> in) {
  const int64_t stride = static_cast<int64_t>(gridDim.x) * blockDim.x;
  const int64_t first = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x;
  const int64_t vectors = n / V;
  for (int64_t v = first; v < vectors; v += stride)
    contiguous_vec_step<V, Out>(v, f, scalar_mask, out, in, std::index_sequence_for<In...>{});
  for (int64_t i = vectors * V + first; i < n; i += stride)
    contiguous_scalar_step<Out>(i, f, scalar_mask, out, in, std::index_sequence_for<In...>{});
}

template <class Out, class F, size_t... K, class... In>
__device__ void strided_step(int64_t i, const F& f, const OffsetCalculator<1 + sizeof...(In)>& calc, Out* out,
                             const cuda::std::tuple<const In*...>& in, std::index_sequence<K...>) {
  int64_t off[1 + sizeof...(In)];
  calc.offsets(i, off);
  out[off[0]] = convert<Out>(f(convert<compute_t<In>>(cuda::std::get<K>(in)[off[K + 1]])...));
}

template <class Out, class F, class... In>
__global__ void elementwise_strided_kernel(int64_t n, F f, OffsetCalculator<1 + sizeof...(In)> calc, Out* out,
                                           cuda::std::tuple<const In*...> in) {
  const int64_t stride = static_cast<int64_t>(gridDim.x) * blockDim.x;
  for (int64_t i = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x; i < n; i += stride)
    strided_step<Out>(i, f, calc, out, in, std::index_sequence_for<In...>{});
}

template <class Out, class G>
__global__ void generate_kernel(int64_t n, G g, Out* out) {
  const int64_t stride = static_cast<int64_t>(gridDim.x) * blockDim.x;
  for (int64_t i = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x; i < n; i += stride)
    out[i] = convert<Out>(g(i));
}

inline bool aligned_to(const void* p, size_t bytes) { return reinterpret_cast<uintptr_t>(p) % bytes == 0; }

}  // namespace detail

// cuda_elementwise<Out, In...>(op, out, f, in...): every input must already have out's shape (expand first).
template <class Out, class... In, class F, class... Tensors>
void cuda_elementwise(const char* op, const Tensor& out, const F& f, const Tensors&... inputs) {
  static_assert(sizeof...(In) == sizeof...(Tensors), "one input type per input tensor");
  constexpr int N = 1 + sizeof...(In);
  constexpr int kBlock = 256;
  const ElementwisePlan<N> plan = make_elementwise_plan<N>({&out, &inputs...});
  if (plan.numel == 0) return;
  Out* const out_ptr = static_cast<Out*>(out.raw_data());
  const cuda::std::tuple<const In*...> in_ptrs{static_cast<const In*>(inputs.raw_data())...};
  const void* in_raw[N] = {static_cast<const void*>(inputs.raw_data())..., nullptr};
  const size_t in_sizes[N] = {sizeof(In)..., 0};

  bool contiguous = plan.ndim <= 1 && (plan.ndim == 0 || plan.strides[0][0] == 1);
  unsigned scalar_mask = 0;
  for (int k = 1; k < N && contiguous; ++k) {
    const int64_t s = plan.ndim == 0 ? 0 : plan.strides[k][0];
    if (s == 0) scalar_mask |= 1u << (k - 1);
    contiguous = s == 0 || s == 1;
  }
  if (contiguous) {
    constexpr int V = 4;
    bool aligned = detail::aligned_to(out_ptr, sizeof(Out) * V);
    for (int k = 0; k + 1 < N; ++k)
      if (!((scalar_mask >> k) & 1u)) aligned = aligned && detail::aligned_to(in_raw[k], in_sizes[k] * V);
    if (aligned) {
      detail::elementwise_contiguous_kernel<V, Out, F, In...><<<gpu::grid_size(plan.numel / V + 1, kBlock), kBlock, 0, gpu::stream()>>>(
          plan.numel, f, scalar_mask, out_ptr, in_ptrs);
    } else {
      detail::elementwise_contiguous_kernel<1, Out, F, In...><<<gpu::grid_size(plan.numel, kBlock), kBlock, 0, gpu::stream()>>>(
          plan.numel, f, scalar_mask, out_ptr, in_ptrs);
    }
  } else {
    detail::OffsetCalculator<N> calc{};
    calc.ndim = plan.ndim;
    for (int d = 0; d < plan.ndim; ++d) {
      calc.sizes[d] = plan.sizes[d];
      for (int k = 0; k < N; ++k) calc.strides[k][d] = plan.strides[k][d];
    }
    detail::elementwise_strided_kernel<Out, F, In...><<<gpu::grid_size(plan.numel, kBlock), kBlock, 0, gpu::stream()>>>(
        plan.numel, f, calc, out_ptr, in_ptrs);
  }
  TRIFECTA_CUDA_LAUNCH_CHECK(op);
}

}  // namespace trifecta

namespace trifecta {

struct CudaElementwise {
  static constexpr DeviceType kDevice = DeviceType::CUDA;
  template <class Out, class... In, class F, class... Tensors>
  static void run(const char* op, const Tensor& out, const F& f, const Tensors&... inputs) {
    cuda_elementwise<Out, In...>(op, out, f, inputs...);
  }
  // out[i] = g(i) over a contiguous out, i the logical element index (random fills, arange).
  template <class Out, class G>
  static void generate(const char* op, const Tensor& out, const G& g) {
    const int64_t n = out.numel();
    if (n == 0) return;
    constexpr int kBlock = 256;
    detail::generate_kernel<Out><<<gpu::grid_size(n, kBlock), kBlock, 0, gpu::stream()>>>(
        n, g, static_cast<Out*>(out.raw_data()));
    TRIFECTA_CUDA_LAUNCH_CHECK(op);
  }
};

}  // namespace trifecta
