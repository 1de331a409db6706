// Names and sizes of the element types.
#include "tensor/dtype.h"

namespace trifecta {

size_t itemsize(DType dtype) {
  switch (dtype) {
    case DType::Float32: return 4;
    case DType::Float64: return 8;
    case DType::Int32: return 4;
    case DType::Int64: return 8;
    case DType::Bool: return 1;
    case DType::BFloat16: return 2;
    case DType::Float16: return 2;
  }
  TRIFECTA_FAIL("itemsize", "unknown dtype ", static_cast<int>(dtype));
}

const char* dtype_name(DType dtype) {
  switch (dtype) {
    case DType::Float32: return "float32";
    case DType::Float64: return "float64";
    case DType::Int32: return "int32";
    case DType::Int64: return "int64";
    case DType::Bool: return "bool";
    case DType::BFloat16: return "bfloat16";
    case DType::Float16: return "float16";
  }
  return "unknown";
}

bool is_floating(DType dtype) {
  return dtype == DType::Float32 || dtype == DType::Float64 || dtype == DType::BFloat16 || dtype == DType::Float16;
}

bool is_integral(DType dtype) { return dtype == DType::Int32 || dtype == DType::Int64; }

}  // namespace trifecta

namespace trifecta {

void fail_dtype(DType dtype, DTypeSet accepted, const char* op) {
  const char* set = accepted == DTypeSet::Floating ? "floating types" : accepted == DTypeSet::Numeric ? "numeric types" : "all types";
  TRIFECTA_FAIL(op, "dtype ", dtype_name(dtype), " is not supported (accepted: ", set, ")");
}

}  // namespace trifecta
