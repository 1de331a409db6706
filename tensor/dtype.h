// Element types and the one switch that turns a runtime DType into a C++ type for a kernel template.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>

#include "tensor/error.h"
#include "tensor/half.h"

namespace trifecta {

enum class DType : uint8_t { Float32, Float64, Int32, Int64, Bool, BFloat16, Float16 };
constexpr int kNumDTypes = 7;

size_t itemsize(DType dtype);
const char* dtype_name(DType dtype);
bool is_floating(DType dtype);  // float32/64, bfloat16, float16
bool is_integral(DType dtype);  // int32/64 (bool is neither)

template <class T> struct type_tag { using type = T; };

template <class T> constexpr DType dtype_of();
template <> constexpr DType dtype_of<float>() { return DType::Float32; }
template <> constexpr DType dtype_of<double>() { return DType::Float64; }
template <> constexpr DType dtype_of<int32_t>() { return DType::Int32; }
template <> constexpr DType dtype_of<int64_t>() { return DType::Int64; }
template <> constexpr DType dtype_of<bool>() { return DType::Bool; }
template <> constexpr DType dtype_of<bfloat16>() { return DType::BFloat16; }
template <> constexpr DType dtype_of<float16>() { return DType::Float16; }

// Which dtypes a kernel accepts. A dtype outside the set is a clear error naming the op.
enum class DTypeSet : uint8_t { Floating, Numeric, All };

[[noreturn]] void fail_dtype(DType dtype, DTypeSet accepted, const char* op);

// dispatch_dtype<DTypeSet::Floating>(dtype, "op", [&](auto tag) { using T = typename decltype(tag)::type; })
// calls the lambda with the C++ type for dtype, or throws naming the op. The set is a template argument so
// that only the accepted types are instantiated (exp<int> never has to compile).
template <DTypeSet Set, class F>
decltype(auto) dispatch_dtype(DType dtype, const char* op, F&& f) {
  switch (dtype) {
    case DType::Float32: return f(type_tag<float>{});
    case DType::Float64: return f(type_tag<double>{});
    case DType::BFloat16: return f(type_tag<bfloat16>{});
    case DType::Float16: return f(type_tag<float16>{});
    default: break;
  }
  if constexpr (Set != DTypeSet::Floating) {
    if (dtype == DType::Int32) return f(type_tag<int32_t>{});
    if (dtype == DType::Int64) return f(type_tag<int64_t>{});
  }
  if constexpr (Set == DTypeSet::All) {
    if (dtype == DType::Bool) return f(type_tag<bool>{});
  }
  fail_dtype(dtype, Set, op);
}

}  // namespace trifecta
