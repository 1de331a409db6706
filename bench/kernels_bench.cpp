// Per-kernel benchmark of trifecta: for each case of bench/kernel_cases.json, on the CPU and (when present)
// the GPU, prints one JSON line with the median time, the bytes a perfect kernel must move and the
// floating-point operations it must do. bench/run_kernels.py runs this and PyTorch's twin
// (bench/reference/torch_kernels.py, the same case names and the same byte and flop formulas) side by side.
//
//   ./build/bench/kernels_bench bench/kernel_cases.json [cpu|cuda|all]
#include <cstdio>
#include <fstream>
#include <functional>
#include <iostream>
#include <map>
#include <random>
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
  double flops;  // for memory-bound kernels a nominal count per element, documented with each formula
};

// A case's arguments (bench/kernel_cases.json says what each op's numbers mean).
using Args = std::vector<int64_t>;
using Builder = std::function<Work(const Args&, Device)>;

double product(const Args& a) {
  double p = 1;
  for (int64_t v : a) p *= static_cast<double>(v);
  return p;
}

// Uniform int64 indices in [0, high), drawn on the host with a fixed seed (PyTorch's twin draws the same
// distribution with randint).
Tensor random_indices(int64_t high, const Shape& s, Device d) {
  std::mt19937_64 engine(0);
  std::uniform_int_distribution<int64_t> pick(0, high - 1);
  std::vector<int64_t> values(s.numel());
  for (int64_t& v : values) v = pick(engine);
  return from_vector(values, s, {DType::Int64}).to(d);
}

// Times the backward pass alone: the graph from leaves to y is built once and replayed with retain_graph,
// each run starting from fresh gradients.
Work backward_of(const Tensor& y, const std::vector<Tensor>& leaves, double bytes, double flops) {
  const Tensor g = randn_like(y);
  return Work{[=] {
                for (const Tensor& leaf : leaves) leaf.zero_grad();
                y.backward(g, /*retain_graph=*/true);
              },
              bytes, flops};
}

// Sizes of a convolution case [N, C, H, W, O, k, stride, padding] (conv_transpose2d: C in, O out channels).
struct ConvCase {
  int64_t n, c, h, w, o, k, stride, pad, oh, ow;
  double input() const { return static_cast<double>(n * c * h * w); }
  double weight() const { return static_cast<double>(o * c * k * k); }
  double output() const { return static_cast<double>(n * o * oh * ow); }
};
ConvCase conv_case(const Args& a, bool transposed) {
  ConvCase cc{a.at(0), a.at(1), a.at(2), a.at(3), a.at(4), a.at(5), a.at(6), a.at(7), 0, 0};
  cc.oh = transposed ? (cc.h - 1) * cc.stride - 2 * cc.pad + cc.k : (cc.h + 2 * cc.pad - cc.k) / cc.stride + 1;
  cc.ow = transposed ? (cc.w - 1) * cc.stride - 2 * cc.pad + cc.k : (cc.w + 2 * cc.pad - cc.k) / cc.stride + 1;
  return cc;
}

// Multiply-adds of a convolution: every output pixel of conv2d (every input pixel of conv_transpose2d)
// meets C*k*k weights for each of O channels; each backward product (input and weight) costs as much.
double conv_flops(const ConvCase& cc, bool transposed) {
  return 2.0 * cc.weight() * static_cast<double>(cc.n) * static_cast<double>(transposed ? cc.h * cc.w : cc.oh * cc.ow);
}

Work conv_work(const Args& a, Device d, bool transposed, bool backward) {
  const ConvCase cc = conv_case(a, transposed);
  Tensor x = randn({cc.n, cc.c, cc.h, cc.w}, d);
  Tensor w = randn(transposed ? Shape{cc.c, cc.o, cc.k, cc.k} : Shape{cc.o, cc.c, cc.k, cc.k}, d);
  Tensor b = randn({cc.o}, d);
  const double flops = conv_flops(cc, transposed);
  const auto forward = [=] {
    return transposed ? conv_transpose2d(x, w, b, cc.stride, cc.pad) : conv2d(x, w, b, cc.stride, cc.pad);
  };
  if (!backward) return Work{forward, 4 * (cc.input() + cc.weight() + cc.o + cc.output()), flops};
  x.requires_grad_();
  w.requires_grad_();
  b.requires_grad_();
  // Reads x, w and the output gradient; writes the gradients of x, w and b.
  return backward_of(forward(), {x, w, b}, 4 * (2 * cc.input() + 2 * cc.weight() + cc.o + cc.output()), 2 * flops);
}

Work pool_work(const Args& a, Device d, bool average) {
  const int64_t n = a.at(0), c = a.at(1), h = a.at(2), w = a.at(3), k = a.at(4), stride = a.at(5);
  const double out = static_cast<double>(n * c * ((h - k) / stride + 1) * ((w - k) / stride + 1));
  const Tensor x = randn({n, c, h, w}, d);
  const auto run = [=] { average ? avg_pool2d(x, k, stride) : max_pool2d(x, k, stride); };
  return Work{run, 4 * (static_cast<double>(n * c * h * w) + out), out * static_cast<double>(k * k)};
}

const std::map<std::string, Builder>& builders() {
  static const std::map<std::string, Builder> table = {
      {"copy_dense", [](const Args& a, Device d) {
         Tensor x = randn(Shape(a), d), y = empty(Shape(a), d);
         return Work{[=] { copy_(y, x); }, 8 * product(a), 0};
       }},
      {"copy_transpose", [](const Args& a, Device d) {
         Tensor x = randn(Shape(a), d);
         return Work{[=] { x.t().contiguous(); }, 8 * product(a), 0};
       }},
      {"add", [](const Args& a, Device d) {
         Tensor x = randn(Shape(a), d), y = randn(Shape(a), d);
         return Work{[=] { add(x, y); }, 12 * product(a), product(a)};
       }},
      {"add_bf16", [](const Args& a, Device d) {
         Tensor x = randn(Shape(a), d).to(DType::BFloat16), y = randn(Shape(a), d).to(DType::BFloat16);
         return Work{[=] { add(x, y); }, 6 * product(a), product(a)};
       }},
      {"mul_scalar", [](const Args& a, Device d) {
         Tensor x = randn(Shape(a), d);
         return Work{[=] { mul(x, 1.5); }, 8 * product(a), product(a)};
       }},
      {"exp", [](const Args& a, Device d) {
         Tensor x = randn(Shape(a), d);
         return Work{[=] { exp(x); }, 8 * product(a), product(a)};
       }},
      {"gelu", [](const Args& a, Device d) {
         Tensor x = randn(Shape(a), d);
         return Work{[=] { gelu(x); }, 8 * product(a), product(a)};
       }},
      {"relu", [](const Args& a, Device d) {
         Tensor x = randn(Shape(a), d);
         return Work{[=] { relu(x); }, 8 * product(a), product(a)};
       }},
      {"relu_backward", [](const Args& a, Device d) {
         // Reads the input (or output) and the output gradient, writes the input gradient.
         Tensor x = randn(Shape(a), d).requires_grad_();
         return backward_of(relu(x), {x}, 12 * product(a), product(a));
       }},
      {"dropout", [](const Args& a, Device d) {
         // The mask is generated, not loaded: reads x, writes the output.
         Tensor x = randn(Shape(a), d);
         return Work{[=] { dropout(x, 0.5); }, 8 * product(a), product(a)};
       }},
      {"sum_all", [](const Args& a, Device d) {
         Tensor x = randn(Shape(a), d);
         return Work{[=] { sum(x); }, 4 * product(a), product(a)};
       }},
      {"sum_rows", [](const Args& a, Device d) {
         Tensor x = randn(Shape(a), d);
         return Work{[=] { sum(x, {-1}); }, 4 * product(a), product(a)};
       }},
      {"sum_columns", [](const Args& a, Device d) {
         Tensor x = randn(Shape(a), d);
         return Work{[=] { sum(x, {0}); }, 4 * product(a), product(a)};
       }},
      // Variance: the shifted sums x - K and (x - K)^2, 3 per element.
      {"var_rows", [](const Args& a, Device d) {
         Tensor x = randn(Shape(a), d);
         return Work{[=] { var(x, {-1}); }, 4 * product(a), 3 * product(a)};
       }},
      {"var_columns", [](const Args& a, Device d) {
         Tensor x = randn(Shape(a), d);
         return Work{[=] { var(x, {0}); }, 4 * product(a), 3 * product(a)};
       }},
      {"logsumexp_rows", [](const Args& a, Device d) {
         Tensor x = randn(Shape(a), d);
         return Work{[=] { logsumexp(x, {-1}); }, 4 * product(a), 3 * product(a)};
       }},
      // Softmax: max, subtract, exp, sum and scale (log_softmax: subtract the log instead): 4 per element.
      {"softmax", [](const Args& a, Device d) {
         Tensor x = randn(Shape(a), d);
         return Work{[=] { softmax(x, -1); }, 8 * product(a), 4 * product(a)};
       }},
      {"log_softmax", [](const Args& a, Device d) {
         Tensor x = randn(Shape(a), d);
         return Work{[=] { log_softmax(x, -1); }, 8 * product(a), 4 * product(a)};
       }},
      {"softmax_backward", [](const Args& a, Device d) {
         // dx = y * (g - sum(g * y)): reads y and g, writes dx.
         Tensor x = randn(Shape(a), d).requires_grad_();
         return backward_of(softmax(x, -1), {x}, 12 * product(a), 4 * product(a));
       }},
      // Layer norm: mean, variance, normalize and the affine map, 7 per element.
      {"layer_norm", [](const Args& a, Device d) {
         const int64_t cols = a.at(1);
         Tensor x = randn(Shape(a), d), w = randn({cols}, d), b = randn({cols}, d);
         return Work{[=] { layer_norm(x, {cols}, w, b); }, 4 * (2 * product(a) + 2 * cols), 7 * product(a)};
       }},
      {"layer_norm_backward", [](const Args& a, Device d) {
         // Reads x, g, the weight and the per-row mean and inverse deviation; writes dx, dweight, dbias.
         const int64_t rows = a.at(0), cols = a.at(1);
         Tensor x = randn(Shape(a), d).requires_grad_();
         Tensor w = randn({cols}, d).requires_grad_(), b = randn({cols}, d).requires_grad_();
         return backward_of(layer_norm(x, {cols}, w, b), {x, w, b}, 4 * (3 * product(a) + 3 * cols + 2 * rows),
                            8 * product(a));
       }},
      {"batch_norm_train", [](const Args& a, Device d) {
         // Reads x, weight, bias and the running statistics; writes y and the running statistics.
         const int64_t channels = a.at(1);
         Tensor x = randn(Shape(a), d), w = randn({channels}, d), b = randn({channels}, d);
         Tensor mean = zeros({channels}, d), var = ones({channels}, d);
         return Work{[=] { batch_norm(x, mean, var, w, b, /*training=*/true); }, 4 * (2 * product(a) + 6 * channels),
                     7 * product(a)};
       }},
      {"batch_norm_train_backward", [](const Args& a, Device d) {
         // Reads x, g, the weight and the per-channel statistics; writes dx, dweight, dbias.
         const int64_t channels = a.at(1);
         Tensor x = randn(Shape(a), d).requires_grad_();
         Tensor w = randn({channels}, d).requires_grad_(), b = randn({channels}, d).requires_grad_();
         Tensor mean = zeros({channels}, d), var = ones({channels}, d);
         return backward_of(batch_norm(x, mean, var, w, b, /*training=*/true), {x, w, b},
                            4 * (3 * product(a) + 5 * channels), 8 * product(a));
       }},
      {"cross_entropy", [](const Args& a, Device d) {
         // Forward and backward: reads the logits and int64 targets, writes the logits' gradient; the
         // softmax, its log and the one-hot difference are 6 per element.
         const int64_t n = a.at(0), classes = a.at(1);
         Tensor logits = randn(Shape(a), d).requires_grad_();
         Tensor targets = random_indices(classes, {n}, d);
         return Work{[=] {
                       logits.zero_grad();
                       cross_entropy(logits, targets).backward();
                     },
                     8 * product(a) + 8 * n, 6 * product(a)};
       }},
      {"max_pool2d", [](const Args& a, Device d) { return pool_work(a, d, /*average=*/false); }},
      {"avg_pool2d", [](const Args& a, Device d) { return pool_work(a, d, /*average=*/true); }},
      {"matmul", [](const Args& a, Device d) {
         const size_t r = a.size();
         const int64_t batch = r == 4 ? a[0] : 1, m = a.at(r - 3), k = a.at(r - 2), n = a.at(r - 1);
         const Shape lhs = r == 4 ? Shape{batch, m, k} : Shape{m, k};
         const Shape rhs = r == 4 ? Shape{batch, k, n} : Shape{k, n};
         Tensor x = randn(lhs, d), y = randn(rhs, d);
         return Work{[=] { matmul(x, y); }, 4.0 * batch * (m * k + k * n + m * n), 2.0 * batch * m * n * k};
       }},
      {"matmul_bf16", [](const Args& a, Device d) {
         const int64_t m = a.at(0), k = a.at(1), n = a.at(2);
         Tensor x = randn({m, k}, d).to(DType::BFloat16), y = randn({k, n}, d).to(DType::BFloat16);
         return Work{[=] { matmul(x, y); }, 2.0 * (m * k + k * n + m * n), 2.0 * m * n * k};
       }},
      {"conv2d", [](const Args& a, Device d) { return conv_work(a, d, false, false); }},
      {"conv2d_backward", [](const Args& a, Device d) { return conv_work(a, d, false, true); }},
      {"conv_transpose2d", [](const Args& a, Device d) { return conv_work(a, d, true, false); }},
      {"conv_transpose2d_backward", [](const Args& a, Device d) { return conv_work(a, d, true, true); }},
      {"embedding", [](const Args& a, Device d) {
         // Reads the picked rows and the indices, writes them out.
         const int64_t rows = a.at(0), dim = a.at(1), tokens = a.at(2);
         Tensor table = randn({rows, dim}, d), ids = random_indices(rows, {tokens}, d);
         return Work{[=] { embedding(table, ids); }, 8.0 * tokens * dim + 8.0 * tokens, 0};
       }},
      {"embedding_backward", [](const Args& a, Device d) {
         // Reads the output gradient and the indices, writes the (dense) table gradient; one add per element.
         const int64_t rows = a.at(0), dim = a.at(1), tokens = a.at(2);
         Tensor table = randn({rows, dim}, d).requires_grad_(), ids = random_indices(rows, {tokens}, d);
         return backward_of(embedding(table, ids), {table}, 4.0 * tokens * dim + 8.0 * tokens + 4.0 * rows * dim,
                            static_cast<double>(tokens * dim));
       }},
      {"gather", [](const Args& a, Device d) {
         // Reads the index and the picked elements, writes them out.
         const int64_t rows = a.at(0), cols = a.at(1), picked = a.at(2);
         Tensor x = randn({rows, cols}, d), index = random_indices(cols, {rows, picked}, d);
         return Work{[=] { gather(x, 1, index); }, 16.0 * rows * picked, 0};
       }},
      {"index_select", [](const Args& a, Device d) {
         const int64_t rows = a.at(0), cols = a.at(1), picked = a.at(2);
         Tensor x = randn({rows, cols}, d), index = random_indices(rows, {picked}, d);
         return Work{[=] { index_select(x, 0, index); }, 8.0 * picked * cols + 8.0 * picked, 0};
       }},
      {"topk", [](const Args& a, Device d) {
         // Reads x, writes k values and int64 indices per row; one comparison per element.
         const int64_t rows = a.at(0), cols = a.at(1), k = a.at(2);
         Tensor x = randn({rows, cols}, d);
         return Work{[=] { topk(x, k, -1); }, 4.0 * rows * cols + 12.0 * rows * k, static_cast<double>(rows * cols)};
       }},
      {"nearest_code", [](const Args& a, Device d) {
         // FQ-GAN's lookup (64 images of 14x14 or 7x7 features): reads features and codebook, writes int64
         // indices; 2 M K C flops, the products h·e that both sides' distances rest on.
         const int64_t rows = a.at(0), channels = a.at(1), entries = a.at(2);
         Tensor features = randn({rows, channels}, d), codebook = randn({entries, channels}, d);
         return Work{[=] { nearest_code(features, codebook); }, 4.0 * (rows + entries) * channels + 8.0 * rows,
                     2.0 * rows * entries * channels};
       }},
  };
  return table;
}

std::string args_text(const Args& a) {
  std::string text = "[";
  for (size_t i = 0; i < a.size(); ++i) text += (i ? ", " : "") + std::to_string(a[i]);
  return text + "]";
}

// The argument tuples of a case on a device: "cpu_shapes" or "cuda_shapes" when given, else "shapes".
std::vector<Args> case_args(const Json& c, Device device) {
  const std::string own = device.is_cpu() ? "cpu_shapes" : "cuda_shapes";
  const Json& list = json::at(c, c.contains(own) ? own : "shapes", "kernels_bench case");
  std::vector<Args> all;
  for (const Json& tuple : json::as_array(list, "kernels_bench shapes")) {
    Args a;
    for (const Json& v : json::as_array(tuple, "kernels_bench shape")) a.push_back(json::as_int(v, "kernels_bench shape"));
    all.push_back(a);
  }
  return all;
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
    const Json cases = json::parse(text.str(), argv[1]);
    const std::string which = argc > 2 ? argv[2] : "all";
    std::vector<Device> devices;
    if (which == "cpu" || which == "all") devices.push_back(kCPU);
    if ((which == "cuda" || which == "all") && cuda_available()) devices.push_back(kCUDA);
    if (which == "cuda" && !cuda_available()) throw Error("kernels_bench: no CUDA device present");
    for (const Json& c : json::as_array(json::at(cases, "cases", argv[1]), argv[1])) {
      const std::string op = json::as_string(json::at(c, "op", "kernels_bench case"), "kernels_bench case");
      if (!builders().count(op)) throw Error("kernels_bench: unknown op '" + op + "' in " + argv[1]);
      // Forward-only cases run without recording a graph, as inference would.
      set_grad_enabled(c.contains("autograd") && json::as_bool(json::at(c, "autograd", "kernels_bench case"), "kernels_bench case"));
      for (Device device : devices) {
        for (const Args& a : case_args(c, device)) {
          const Work work = builders().at(op)(a, device);
          const bench::Timing t = bench::time_it(work.run, device);
          std::printf("{\"op\":\"%s\",\"shape\":\"%s\",\"device\":\"%s\",\"ms\":%.6f,\"min_ms\":%.6f,\"bytes\":%.0f,"
                      "\"flops\":%.0f,\"threads\":%d}\n",
                      op.c_str(), args_text(a).c_str(), device.is_cpu() ? "cpu" : "cuda", t.median_ms, t.min_ms,
                      work.bytes, work.flops, get_num_threads());
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
