// Reductions as reducers: a state, how one element enters it (step), how two partial states merge
// (combine, associative, so work can be split across threads and blocks in any tree), and how the final
// state becomes the output (finalize). Every partial state of one output starts from init(first), first
// being the output's first element (only var uses it). Both devices run these same functors; only the
// split differs.
//
//   sum, mean               running sum (integers and bools sum to int64, as in PyTorch)
//   amax, amin              running max/min; NaN wins, as in PyTorch
//   argmax, argmin          (value, index); NaN beats every number, ties go to the smaller index
//   logsumexp               (m, s) with s = sum exp(x - m): the online form of Milakov & Gimelshein,
//                           "Online normalizer calculation for softmax" (2018), so one pass suffices
//   var                     sums of x - K and (x - K)^2 about the output's first element K (ShiftedMoments)
//   count_nonfinite         number of NaN/Inf elements (the anomaly-mode check)
#pragma once

#include <cstdint>
#include <limits>

#include "kernels/common/math.h"
#include "tensor/dtype.h"
#include "tensor/tensor.h"

namespace trifecta {

enum class ReduceOp : uint8_t { Sum, Mean, Amax, Amin, Argmax, Argmin, LogSumExp, Var, CountNonfinite };

// Accumulation type: float for 16-bit floats and float32, double for float64, int64 for integers and bools.
template <class T> struct acc_type { using type = compute_t<T>; };
template <> struct acc_type<int32_t> { using type = int64_t; };
template <> struct acc_type<bool> { using type = int64_t; };
template <class T> using acc_t = typename acc_type<T>::type;

template <class A>
TRIFECTA_HD inline A lowest_value() {
  if constexpr (std::is_floating_point_v<A>) return -std::numeric_limits<A>::infinity();
  else return std::numeric_limits<A>::lowest();
}
template <class A>
TRIFECTA_HD inline A highest_value() {
  if constexpr (std::is_floating_point_v<A>) return std::numeric_limits<A>::infinity();
  else return std::numeric_limits<A>::max();
}

template <class T>
struct SumReducer {
  using A = acc_t<T>;
  using State = A;
  using Out = std::conditional_t<std::is_integral_v<T>, int64_t, T>;  // int32 and bool sums are int64
  TRIFECTA_HD static State init(A) { return A(0); }
  TRIFECTA_HD static State step(State s, A x, int64_t) { return math::wrapping_add(s, x); }  // int64 wraps
  TRIFECTA_HD static State combine(State a, State b) { return math::wrapping_add(a, b); }
  TRIFECTA_HD static A finalize(State s, int64_t, double) { return s; }
};

template <class T>
struct MeanReducer : SumReducer<T> {
  using A = acc_t<T>;
  TRIFECTA_HD static A finalize(A s, int64_t n, double) { return s / static_cast<A>(n); }
};

template <class T, bool kMax>
struct ExtremumReducer {
  using A = acc_t<T>;
  using State = A;
  using Out = T;
  TRIFECTA_HD static State init(A) { return kMax ? lowest_value<A>() : highest_value<A>(); }
  TRIFECTA_HD static State step(State s, A x, int64_t) { return kMax ? math::nan_max(s, x) : math::nan_min(s, x); }
  TRIFECTA_HD static State combine(State a, State b) { return step(a, b, 0); }
  TRIFECTA_HD static A finalize(State s, int64_t, double) { return s; }
};

template <class A>
struct ArgState {
  A value;
  int64_t index;  // -1: no element seen yet
};

template <class T, bool kMax>
struct ArgReducer {
  using A = acc_t<T>;
  using State = ArgState<A>;
  using Out = int64_t;
  // Does candidate beat incumbent? NaN beats everything; among equals the smaller index wins.
  TRIFECTA_HD static bool better(A cand, int64_t cand_index, A inc, int64_t inc_index) {
    if (inc_index < 0) return true;
    if (cand_index < 0) return false;
    const bool cand_nan = is_nan(cand), inc_nan = is_nan(inc);
    if (cand_nan || inc_nan) return cand_nan && (!inc_nan || cand_index < inc_index);
    if (cand == inc) return cand_index < inc_index;
    return kMax ? cand > inc : cand < inc;
  }
  TRIFECTA_HD static bool is_nan(A v) {
    if constexpr (std::is_floating_point_v<A>) return math::isnan(v);
    else return false;
  }
  TRIFECTA_HD static State init(A) { return {A(0), -1}; }
  TRIFECTA_HD static State step(State s, A x, int64_t index) { return better(x, index, s.value, s.index) ? State{x, index} : s; }
  TRIFECTA_HD static State combine(State a, State b) { return better(b.value, b.index, a.value, a.index) ? b : a; }
  TRIFECTA_HD static int64_t finalize(State s, int64_t, double) { return s.index; }
};

template <class A>
struct LseState {
  A max;  // running maximum
  A sum;  // sum of exp(x - max) so far
};

template <class T>
struct LogSumExpReducer {
  using A = acc_t<T>;
  using State = LseState<A>;
  using Out = T;
  TRIFECTA_HD static State init(A) { return {lowest_value<A>(), A(0)}; }
  TRIFECTA_HD static State step(State s, A x, int64_t) { return combine(s, State{x, A(1)}); }
  TRIFECTA_HD static State combine(State a, State b) {
    if (math::isnan(a.max) || math::isnan(b.max)) return {a.max + b.max, A(1)};
    if (b.max > a.max) {
      const State t = a;
      a = b;
      b = t;
    }
    // Now a.max >= b.max. An empty side (max = -inf) or equal maxima need no rescaling (and exp(inf - inf)
    // would be NaN).
    if (b.max == lowest_value<A>()) return a;
    if (b.max == a.max) return {a.max, a.sum + b.sum};
    return {a.max, a.sum + b.sum * math::exp(b.max - a.max)};
  }
  TRIFECTA_HD static A finalize(State s, int64_t, double) {
    return s.max == lowest_value<A>() || s.max == highest_value<A>() ? s.max : s.max + math::log(s.sum);
  }
};

// Moments of a group of values about a shift K, one of the values: the sums of d = x - K and of d^2. All
// partial sums of a group use the same K (the group's first element), so they merge by adding, in any
// order, on any device, and the sums vectorize. From them
//   mean = K + sum / n,   M2 = sum of (x - mean)^2 = sum_sq - sum^2 / n.
// The textbook E[x^2] - E[x]^2 (K = 0) cancels catastrophically when the mean is large against the spread:
// the relative rounding error of M2 grows like eps * (1 + (mean - K)^2 / var) (Chan, Golub & LeVeque,
// "Algorithms for computing the sample variance", 1983), 1e8 eps for float32 data at 1e4 +- 1. With K one
// of the values, (mean - K)^2 / var is that value's squared z-score: about 1, and n at the very worst (a
// lone far outlier as the first element). And x - K is exact when x and K agree to within a factor of 2
// (Sterbenz), which data clustered around a large value do. Welford's running mean, the other cure for the
// cancellation, rounds the mean to the accumulation type at every step and carries that rounding into each
// x - mean: about ulp(mean) / spread relative error, 1e-3 for float32 at 1e4 +- 1.
template <class A>
struct MomentSums {
  A sum;     // of x - K
  A sum_sq;  // of (x - K)^2
};

template <class A>
TRIFECTA_HD inline MomentSums<A> add_deviation(MomentSums<A> s, A d) {
  s.sum += d;
  s.sum_sq += d * d;
  return s;
}

template <class A>
TRIFECTA_HD inline MomentSums<A> merge_sums(MomentSums<A> a, const MomentSums<A>& b) {
  return {a.sum + b.sum, a.sum_sq + b.sum_sq};
}

// The mean of n values as K + offset (keeping the offset apart keeps x - mean exact as (x - K) - offset),
// and M2. Rounding can leave M2 a hair below zero when the values are all equal; NaN passes through.
template <class A>
struct CentredMoments {
  A offset;  // mean - K
  A m2;
};

template <class A>
TRIFECTA_HD inline CentredMoments<A> centre(const MomentSums<A>& s, int64_t n) {
  const A offset = s.sum / static_cast<A>(n);
  const A m2 = s.sum_sq - s.sum * offset;
  return {offset, m2 < A(0) ? A(0) : m2};
}

// The CPU's fold of a contiguous run p[0..n) into s (host only): kLanes independent sums of each kind, so
// the loop vectorizes, and each lane sees only n / kLanes of the terms.
template <class A, class T>
MomentSums<A> moments_of_run(const T* p, int64_t n, A shift, MomentSums<A> s) {
  constexpr int kLanes = 128 / sizeof(A);  // two cache lines of each kind: 32 floats
  A sum[kLanes] = {}, sum_sq[kLanes] = {};
  int64_t i = 0;
  for (; i + kLanes <= n; i += kLanes)
    for (int j = 0; j < kLanes; ++j) {
      const A d = convert<A>(p[i + j]) - shift;
      sum[j] += d;
      sum_sq[j] += d * d;
    }
  for (; i < n; ++i) s = add_deviation(s, convert<A>(p[i]) - shift);
  for (int width = kLanes / 2; width >= 1; width /= 2)
    for (int j = 0; j < width; ++j) sum[j] += sum[j + width], sum_sq[j] += sum_sq[j + width];
  return {s.sum + sum[0], s.sum_sq + sum_sq[0]};
}

// var's state: the shift travels with the sums.
template <class A>
struct ShiftedMoments {
  A shift;
  MomentSums<A> sums;
};

// S is the type the sums accumulate in: acc_t<T> on the GPU, double on the CPU (kernels/reduce/reduce_cpu.cpp).
template <class T, class S = acc_t<T>>
struct VarReducer {
  using A = S;
  using State = ShiftedMoments<A>;
  using Out = T;
  TRIFECTA_HD static State init(A first) { return {first, {A(0), A(0)}}; }
  TRIFECTA_HD static State step(State s, A x, int64_t) { return {s.shift, add_deviation(s.sums, x - s.shift)}; }
  TRIFECTA_HD static State combine(State a, State b) { return {a.shift, merge_sums(a.sums, b.sums)}; }
  // param is the correction: 1 for the unbiased estimate (divide by n - 1), 0 for the population variance.
  // As in PyTorch, n <= correction divides by 0 (inf, or NaN when M2 is 0 too).
  TRIFECTA_HD static A finalize(State s, int64_t n, double correction) {
    const A dof = static_cast<A>(n) - static_cast<A>(correction);
    return centre(s.sums, n).m2 / (dof > A(0) ? dof : A(0));
  }
};

template <class T>
struct CountNonfiniteReducer {
  using A = compute_t<T>;
  using State = int64_t;
  using Out = int64_t;
  TRIFECTA_HD static State init(A) { return 0; }
  TRIFECTA_HD static State step(State s, A x, int64_t) { return s + (math::isfinite(x) ? 0 : 1); }
  TRIFECTA_HD static State combine(State a, State b) { return a + b; }
  TRIFECTA_HD static int64_t finalize(State s, int64_t, double) { return s; }
};

// The state each partial fold of one output starts from: base points at the output's first element, and
// n counts its elements (none: nothing may be read).
template <class R, class T>
TRIFECTA_HD inline typename R::State start_state(const T* base, int64_t n) {
  using A = typename R::A;
  return R::init(n > 0 ? convert<A>(*base) : A(0));
}

// Calls f(reducer_tag) for op on element type T, checking that the dtype suits the op.
template <class T, class F>
void visit_reducer(ReduceOp op, F&& f) {
  constexpr bool floating = !std::is_integral_v<T>;
  switch (op) {
    case ReduceOp::Sum: return f(type_tag<SumReducer<T>>{});
    case ReduceOp::Amax: return f(type_tag<ExtremumReducer<T, true>>{});
    case ReduceOp::Amin: return f(type_tag<ExtremumReducer<T, false>>{});
    case ReduceOp::Argmax: return f(type_tag<ArgReducer<T, true>>{});
    case ReduceOp::Argmin: return f(type_tag<ArgReducer<T, false>>{});
    default: break;
  }
  if constexpr (floating) {
    switch (op) {
      case ReduceOp::Mean: return f(type_tag<MeanReducer<T>>{});
      case ReduceOp::LogSumExp: return f(type_tag<LogSumExpReducer<T>>{});
      case ReduceOp::Var: return f(type_tag<VarReducer<T>>{});
      case ReduceOp::CountNonfinite: return f(type_tag<CountNonfiniteReducer<T>>{});
      default: break;
    }
  }
  TRIFECTA_FAIL("reduce", "this reduction needs a floating dtype");
}

// out has x's shape with every reduced dim set to 1 (keepdim form) and is contiguous; a dim is reduced
// when out has size 1 there. out's dtype is the reducer's Out (int64 for sums of integers and bools and for
// the arg reductions, x's dtype otherwise). param: the correction for var, unused otherwise.
using ReduceKernel = void(ReduceOp op, const Tensor& x, const Tensor& out, double param);

}  // namespace trifecta
