// Per-kernel benchmark of trifecta: for each case of bench/kernel_cases.json, on the CPU and (when present)
// the GPU, prints one JSON line with the median time, the bytes a perfect kernel must move and the
// floating-point operations it must do. bench/run_kernels.py runs this and PyTorch's twin side by side.
//
//   ./build/bench/kernels_bench bench/kernel_cases.json [cpu|cuda|all]
#include <cstdio>
#include <fstream>
#include <functional>
#include <iostream>
#include <map>
#include <sstream>

#include "autograd/ops.h"
#include "bench/timer.h"
#include "kernels/common/parallel.h"
#include "tensor/json.h"

using namespace trifecta;

namespace {

struct Work {
  std::function<void()> run;
  double bytes;  // compulsory traffic: each input read once, each output written once
  double flops;
};

using Builder = std::function<Work(const Shape&, Device)>;

double floats(const Shape& s) { return static_cast<double>(s.numel()); }

const std::map<std::string, Builder>& builders() {
  static const std::map<std::string, Builder> table = {
      {"copy_dense", [](const Shape& s, Device d) {
         Tensor x = randn(s, d), y = empty(s, d);
         return Work{[=] { copy_(y, x); }, 8 * floats(s), 0};
       }},
      {"copy_transpose", [](const Shape& s, Device d) {
         Tensor x = randn(s, d);
         return Work{[=] { x.t().contiguous(); }, 8 * floats(s), 0};
       }},
      {"add", [](const Shape& s, Device d) {
         Tensor a = randn(s, d), b = randn(s, d);
         return Work{[=] { add(a, b); }, 12 * floats(s), floats(s)};
       }},
      {"mul_scalar", [](const Shape& s, Device d) {
         Tensor a = randn(s, d);
         return Work{[=] { mul(a, 1.5); }, 8 * floats(s), floats(s)};
       }},
      {"exp", [](const Shape& s, Device d) {
         Tensor a = randn(s, d);
         return Work{[=] { exp(a); }, 8 * floats(s), floats(s)};
       }},
      {"gelu", [](const Shape& s, Device d) {
         Tensor a = randn(s, d);
         return Work{[=] { gelu(a); }, 8 * floats(s), floats(s)};
       }},
      {"relu", [](const Shape& s, Device d) {
         Tensor a = randn(s, d);
         return Work{[=] { relu(a); }, 8 * floats(s), floats(s)};
       }},
      {"relu_backward", [](const Shape& s, Device d) {
         Tensor a = randn(s, d).requires_grad_();
         Tensor g = randn(s, d);
         Tensor y = relu(a);
         // Backward of relu alone: reads y and g, writes the input gradient.
         return Work{[=] {
                       a.zero_grad();
                       y.backward(g, /*retain_graph=*/true);
                     },
                     12 * floats(s), floats(s)};
       }},
      {"sum_all", [](const Shape& s, Device d) {
         Tensor a = randn(s, d);
         return Work{[=] { sum(a); }, 4 * floats(s), floats(s)};
       }},
      {"sum_rows", [](const Shape& s, Device d) {
         Tensor a = randn(s, d);
         return Work{[=] { sum(a, {-1}); }, 4 * floats(s), floats(s)};
       }},
      {"sum_columns", [](const Shape& s, Device d) {
         Tensor a = randn(s, d);
         return Work{[=] { sum(a, {0}); }, 4 * floats(s), floats(s)};
       }},
      {"logsumexp_rows", [](const Shape& s, Device d) {
         Tensor a = randn(s, d);
         return Work{[=] { logsumexp(a, {-1}); }, 4 * floats(s), 3 * floats(s)};
       }},
  };
  return table;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) {
    std::cerr << "usage: kernels_bench CASES.json [cpu|cuda|all]\n";
    return 2;
  }
  try {
    std::ifstream in(argv[1]);
    if (!in) throw Error(std::string("kernels_bench: cannot open ") + argv[1]);
    std::stringstream text;
    text << in.rdbuf();
    const Json cases = Json::parse(text.str(), argv[1]);
    const std::string which = argc > 2 ? argv[2] : "all";
    std::vector<Device> devices;
    if (which == "cpu" || which == "all") devices.push_back(kCPU);
    if ((which == "cuda" || which == "all") && cuda_available()) devices.push_back(kCUDA);
    if (which == "cuda" && !cuda_available()) throw Error("kernels_bench: no CUDA device present");
    NoGradGuard no_grad_for_forward_ops;
    for (const Json& c : cases.at("cases", "cases").as_array("cases")) {
      const std::string op = c.at("op", "case").as_string("op");
      if (!builders().count(op)) throw Error("kernels_bench: unknown op '" + op + "' in " + argv[1]);
      for (const Json& shape_json : c.at("shapes", "case").as_array("shapes")) {
        Shape shape;
        for (const Json& d : shape_json.as_array("shape")) shape.push_back(d.as_int("shape"));
        for (Device device : devices) {
          // relu_backward builds a graph, so it must record one.
          set_grad_enabled(op == "relu_backward");
          const Work work = builders().at(op)(shape, device);
          const bench::Timing t = bench::time_it(work.run, device);
          std::printf("{\"op\":\"%s\",\"shape\":\"%s\",\"device\":\"%s\",\"ms\":%.6f,\"bytes\":%.0f,\"flops\":%.0f,\"threads\":%d}\n",
                      op.c_str(), shape.str().c_str(), device.is_cpu() ? "cpu" : "cuda", t.median_ms, work.bytes,
                      work.flops, get_num_threads());
          std::fflush(stdout);
        }
      }
    }
  } catch (const std::exception& e) {
    std::cerr << e.what() << "\n";
    return 1;
  }
  return 0;
}
