// The spec registry and input generation.
#include "tests/harness/op_spec.h"

#include <algorithm>
#include <cmath>
#include <limits>

namespace trifecta::testing {

std::vector<OpSpec>& op_specs() {
  static std::vector<OpSpec> specs;
  return specs;
}

std::vector<DType> case_dtypes(const OpSpec& spec, const OpCase& c) {
  if (c.only_dtypes.empty()) return spec.dtypes;
  std::vector<DType> kept;
  for (DType dtype : spec.dtypes)
    if (std::find(c.only_dtypes.begin(), c.only_dtypes.end(), dtype) != c.only_dtypes.end()) kept.push_back(dtype);
  return kept;
}

Shape base_shape(const InputSpec& spec) {
  Shape shape = spec.shape;
  switch (spec.layout) {
    case Layout::Contiguous: break;
    case Layout::Transposed:
      TRIFECTA_CHECK(shape.size() >= 2, "op spec", "Transposed layout needs rank >= 2, got ", shape.str());
      std::swap(shape[shape.size() - 1], shape[shape.size() - 2]);
      break;
    case Layout::Strided:
      TRIFECTA_CHECK(shape.size() >= 1, "op spec", "Strided layout needs rank >= 1");
      shape[shape.size() - 1] *= 2;
      break;
    case Layout::Expanded:
      for (int d = 0; d < shape.size(); ++d) {
        if (shape[d] > 1) {
          shape[d] = 1;
          break;
        }
      }
      break;
  }
  return shape;
}

Tensor apply_layout(const Tensor& base, const InputSpec& spec) {
  switch (spec.layout) {
    case Layout::Contiguous: return base;
    case Layout::Transposed: return base.transpose(-1, -2);
    case Layout::Strided: return base.slice(-1, 0, base.size(-1), 2);
    case Layout::Expanded: return base.expand(spec.shape);
  }
  return base;
}

bool takes_gradient(const InputSpec& spec) {
  return spec.differentiable && spec.domain != Domain::Index && spec.domain != Domain::Bool &&
         spec.domain != Domain::Nonfinite && spec.domain != Domain::Extreme;
}

CaseInputs make_inputs(const OpCase& c, DType dtype, Device device, uint64_t seed, bool requires_grad) {
  Generator generator(seed);
  CaseInputs out;
  for (const InputSpec& spec : c.inputs) {
    const Shape shape = base_shape(spec);
    Tensor host;
    switch (spec.domain) {
      case Domain::Normal: host = randn(shape, DType::Float64, &generator); break;
      case Domain::Wide: host = normal(shape, 0.0, 3.0, DType::Float64, &generator); break;
      case Domain::Positive: host = uniform(shape, 0.5, 2.5, DType::Float64, &generator); break;
      case Domain::Unit: host = uniform(shape, 0.05, 0.95, DType::Float64, &generator); break;
      case Domain::Index:
        host = uniform(shape, 0.0, static_cast<double>(spec.index_bound), DType::Float64, &generator).to(DType::Int64);
        break;
      case Domain::Bool: host = lt(rand(shape, DType::Float64, &generator), 0.5); break;
      case Domain::SmallInt:
        host = sub(uniform(shape, 0.0, 5.0, DType::Float64, &generator).to(DType::Int64).to(DType::Float64), 2.0);
        break;
      case Domain::Nonfinite:
      case Domain::Extreme: {
        std::vector<double> values = randn(shape, DType::Float64, &generator).to_vector<double>();
        if (spec.domain == Domain::Extreme)
          for (size_t i = 0; i < values.size(); ++i) values[i] *= std::pow(10.0, 3.0 * static_cast<double>(i % 8));
        const double specials[] = {std::numeric_limits<double>::quiet_NaN(), std::numeric_limits<double>::infinity(),
                                   -std::numeric_limits<double>::infinity()};
        for (size_t i = 3; i < values.size(); i += 5) values[i] = specials[(i / 5) % 3];
        host = from_vector(values, shape, {DType::Float64});
        break;
      }
    }
    const bool floating = spec.domain != Domain::Index && spec.domain != Domain::Bool;
    if (spec.offset != 0.0) host = add(host, spec.offset);
    Tensor base = host.to(floating ? dtype : host.dtype()).to(device);
    if (requires_grad && takes_gradient(spec)) base.requires_grad_();
    out.views.push_back(apply_layout(base, spec));
    out.bases.push_back(base);
  }
  return out;
}

}  // namespace trifecta::testing
