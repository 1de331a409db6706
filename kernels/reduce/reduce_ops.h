// Reductions as reducers: a state, how one element enters it (step), how two partial states merge
// (combine, associative, so work can be split across threads and blocks in any tree), and how the final
// state becomes the output (finalize). Both devices run these same functors; only the split differs.
//
//   sum, mean               running sum
//   amax, amin              running max/min; NaN wins, as in PyTorch
//   argmax, argmin          (value, index); ties go to the smaller index
//   logsumexp               (m, s) with s = sum exp(x - m): the online form of Milakov & Gimelshein,
//                           "Online normalizer calculation for softmax" (2018), so one pass suffices
//   var                     Welford's (n, mean, M2), merged with Chan et al.'s pairwise update (1979)
//   count_nonfinite         number of NaN/Inf elements (the anomaly-mode check)
#pragma once

#include <cstdint>
#include <limits>

#include "kernels/common/math.h"
#include "tensor/dtype.h"
#include "tensor/tensor.h"

namespace trifecta {

enum class ReduceOp : uint8_t { Sum, Mean, Amax, Amin, Argmax, Argmin, LogSumExp, Var, CountNonfinite };

// Accumulation type: float for 16-bit floats and float32, double for float64, int64 for integers.
template <class T> struct acc_type { using type = compute_t<T>; };
template <> struct acc_type<int32_t> { using type = int64_t; };
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
  using Out = T;
  TRIFECTA_HD static State init() { return A(0); }
  TRIFECTA_HD static State step(State s, A x, int64_t) { return math::wrapping_add(s, x); }  // integers wrap
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
  TRIFECTA_HD static State init() { return kMax ? lowest_value<A>() : highest_value<A>(); }
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
  TRIFECTA_HD static State init() { return {A(0), -1}; }
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
  TRIFECTA_HD static State init() { return {lowest_value<A>(), A(0)}; }
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

template <class A>
struct WelfordState {
  int64_t count;
  A mean;
  A m2;  // sum of squared deviations from the mean
};

template <class T>
struct VarReducer {
  using A = acc_t<T>;
  using State = WelfordState<A>;
  using Out = T;
  TRIFECTA_HD static State init() { return {0, A(0), A(0)}; }
  TRIFECTA_HD static State step(State s, A x, int64_t) {
    s.count += 1;
    const A delta = x - s.mean;
    s.mean += delta / static_cast<A>(s.count);
    s.m2 += delta * (x - s.mean);
    return s;
  }
  TRIFECTA_HD static State combine(State a, State b) {
    if (a.count == 0) return b;
    if (b.count == 0) return a;
    const int64_t n = a.count + b.count;
    const A delta = b.mean - a.mean;
    const A nb_over_n = static_cast<A>(b.count) / static_cast<A>(n);
    return {n, a.mean + delta * nb_over_n, a.m2 + b.m2 + delta * delta * static_cast<A>(a.count) * nb_over_n};
  }
  // param is the correction: 1 for the unbiased estimate (divide by n - 1), 0 for the population variance.
  TRIFECTA_HD static A finalize(State s, int64_t, double correction) {
    return s.m2 / (static_cast<A>(s.count) - static_cast<A>(correction));
  }
};

template <class T>
struct CountNonfiniteReducer {
  using A = compute_t<T>;
  using State = int64_t;
  using Out = int64_t;
  TRIFECTA_HD static State init() { return 0; }
  TRIFECTA_HD static State step(State s, A x, int64_t) { return s + (math::isfinite(x) ? 0 : 1); }
  TRIFECTA_HD static State combine(State a, State b) { return a + b; }
  TRIFECTA_HD static int64_t finalize(State s, int64_t, double) { return s; }
};

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
// when out has size 1 there. param: the correction for var, unused otherwise.
using ReduceKernel = void(ReduceOp op, const Tensor& x, const Tensor& out, double param);

}  // namespace trifecta
