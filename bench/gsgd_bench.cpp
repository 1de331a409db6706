// g-SGD against SGD: the cost of one training step (forward, cross-entropy, backward, optimizer update) of a
// ReLU MLP 784-H-H-10 in float32, for a few widths H, with the optimizer update alone beside it. g-SGD's
// update (optim/gsgd.h) adds the skeleton products, the column sums of W * dL/dW above the first layer and
// per-row/column factors to SGD's single pass; the issue asks that a whole g-SGD step cost at most 1.5 times
// an SGD step. Both networks start from the same weights and take the same batch; the learning rates are 0,
// so that neither drifts while it is timed (every update still does all its work: the cost does not depend
// on the rate).
//
//   ./build/bench/gsgd_bench [--device cpu|cuda] [--batch 128] [--widths 128,256,512,1024] [--threads N]
//                            [--repeat 3]
// Prints one JSON line per width (bench/gsgd_bench.py runs PyTorch's SGD step on the same MLP beside it).
// --repeat alternates the two sides that many times and keeps each side's fastest median.
#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

#include "autograd/ops.h"
#include "bench/timer.h"
#include "kernels/common/parallel.h"
#include "nn/activation.h"
#include "nn/linear.h"
#include "nn/sequential.h"
#include "optim/gsgd.h"
#include "optim/sgd.h"

namespace {

using namespace trifecta;

struct Options {
  Device device;
  int64_t batch = 128;
  std::vector<int64_t> widths = {128, 256, 512, 1024};
  int threads = 0;
  int repeat = 3;
};

Options parse(int argc, char** argv) {
  Options o;
  for (int i = 1; i < argc; ++i) {
    const std::string flag = argv[i];
    TRIFECTA_CHECK(i + 1 < argc, "gsgd_bench", "flag ", flag, " needs a value");
    const std::string value = argv[++i];
    if (flag == "--device") o.device = Device::parse(value);
    else if (flag == "--batch") o.batch = std::stoll(value);
    else if (flag == "--threads") o.threads = std::stoi(value);
    else if (flag == "--repeat") o.repeat = std::stoi(value);
    else if (flag == "--widths") {
      o.widths.clear();
      std::stringstream list(value);
      for (std::string item; std::getline(list, item, ',');) o.widths.push_back(std::stoll(item));
    } else {
      TRIFECTA_FAIL("gsgd_bench", "unknown flag ", flag);
    }
  }
  return o;
}

struct Net {
  std::shared_ptr<nn::Sequential> net = std::make_shared<nn::Sequential>();
  std::vector<nn::Linear*> chain;
};

Net make_net(int64_t width, Device device) {
  Generator generator(7);
  Net n;
  n.chain.push_back(n.net->push_back(std::make_shared<nn::Linear>(784, width, true, &generator)).get());
  n.net->push_back(std::make_shared<nn::ReLU>());
  n.chain.push_back(n.net->push_back(std::make_shared<nn::Linear>(width, width, true, &generator)).get());
  n.net->push_back(std::make_shared<nn::ReLU>());
  n.chain.push_back(n.net->push_back(std::make_shared<nn::Linear>(width, 10, true, &generator)).get());
  n.net->to(device);
  return n;
}

void bench_width(const Options& o, int64_t width) {
  Generator generator(11);
  const Tensor x = randn({o.batch, 784}, {DType::Float32}, &generator).to(o.device);
  std::vector<int64_t> labels(static_cast<size_t>(o.batch));
  for (size_t i = 0; i < labels.size(); ++i) labels[i] = static_cast<int64_t>(i % 10);
  const Tensor y = from_vector(labels, Shape{o.batch}).to(o.device);

  Net sgd_net = make_net(width, o.device), gsgd_net = make_net(width, o.device);
  optim::SGD sgd(sgd_net.net->parameters(), {.lr = 0.0});
  optim::GSGD gsgd(gsgd_net.chain, {.lr = 0.0});
  const auto backward = [&](const Net& n) {
    n.net->zero_grad();
    cross_entropy(n.net->forward(x), y).backward();
  };
  const auto sgd_step = [&] {
    backward(sgd_net);
    sgd.step();
  };
  const auto gsgd_step = [&] {
    backward(gsgd_net);
    gsgd.step();
  };
  // The update alone, on the gradients of one backward (kept: step() does not consume them).
  double best[4] = {1e300, 1e300, 1e300, 1e300};
  for (int r = 0; r < o.repeat; ++r) {
    best[0] = std::min(best[0], bench::time_it(sgd_step, o.device).median_ms);
    best[1] = std::min(best[1], bench::time_it(gsgd_step, o.device).median_ms);
    backward(sgd_net);
    backward(gsgd_net);
    best[2] = std::min(best[2], bench::time_it([&] { sgd.step(); }, o.device).median_ms);
    best[3] = std::min(best[3], bench::time_it([&] { gsgd.step(); }, o.device).median_ms);
  }
  std::printf("{\"width\":%lld,\"batch\":%lld,\"device\":\"%s\",\"threads\":%d,\"sgd_step_ms\":%.4f,"
              "\"gsgd_step_ms\":%.4f,\"step_ratio\":%.3f,\"sgd_update_ms\":%.4f,\"gsgd_update_ms\":%.4f,"
              "\"update_ratio\":%.3f}\n",
              static_cast<long long>(width), static_cast<long long>(o.batch), o.device.str().c_str(),
              get_num_threads(), best[0], best[1], best[1] / best[0], best[2], best[3], best[3] / best[2]);
  std::fflush(stdout);
}

}  // namespace

int main(int argc, char** argv) {
  try {
    const Options o = parse(argc, argv);
    if (o.threads > 0) set_num_threads(o.threads);
    for (int64_t width : o.widths) bench_width(o, width);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "%s\n", e.what());
    return 1;
  }
  return 0;
}
