// The table of optimizers behind --optimizer (models/classify/optimizer_choice.h).
#include "models/classify/optimizer_choice.h"

#include <cmath>
#include <functional>
#include <vector>

#include "optim/adam.h"
#include "optim/sgd.h"

namespace trifecta::classify {

namespace {

using OnResume = Flags::OnResume;

// What every entry reads from the flags, checked once.
struct Settings {
  double lr, momentum, weight_decay;
};

struct OptimizerChoice {
  std::string name, help;
  std::function<std::unique_ptr<optim::Optimizer>(const NamedTensors& params, const Settings& s)> make;
};

// The one place an optimizer is added.
const std::vector<OptimizerChoice>& choices() {
  static const std::vector<OptimizerChoice> table = {
      {"sgd", "SGD with heavy-ball momentum (--momentum) and L2 weight decay",
       [](const NamedTensors& params, const Settings& s) {
         return std::make_unique<optim::SGD>(params, optim::SgdOptions{.lr = s.lr, .momentum = s.momentum,
                                                                       .weight_decay = s.weight_decay});
       }},
      {"adam", "Adam with L2 weight decay",
       [](const NamedTensors& params, const Settings& s) {
         return std::make_unique<optim::Adam>(params, optim::AdamOptions{.lr = s.lr, .weight_decay = s.weight_decay});
       }},
      {"adamw", "AdamW: Adam with decoupled weight decay",
       [](const NamedTensors& params, const Settings& s) {
         return std::make_unique<optim::AdamW>(params, optim::AdamOptions{.lr = s.lr, .weight_decay = s.weight_decay});
       }},
      {"amsgrad", "Adam with AMSGrad's running maximum of the second moment",
       [](const NamedTensors& params, const Settings& s) {
         return std::make_unique<optim::Adam>(
             params, optim::AdamOptions{.lr = s.lr, .weight_decay = s.weight_decay, .amsgrad = true});
       }},
  };
  return table;
}

}  // namespace

std::string optimizer_names() {
  std::string names;
  for (const OptimizerChoice& c : choices()) names += (names.empty() ? "" : ", ") + c.name;
  return names;
}

void add_optimizer_flags(Flags& flags) {
  std::string help = "one of:";
  for (const OptimizerChoice& c : choices()) help += " " + c.name + " (" + c.help + ");";
  help.pop_back();
  flags.add_string("optimizer", "adam", help, OnResume::Keep);
  flags.add_double("lr", 1e-3, "learning rate (the peak of --lr-schedule)");
  flags.add_double("momentum", 0.9, "sgd's momentum", OnResume::Keep);
  flags.add_double("weight-decay", 0.0, "weight decay (L2 for sgd and adam, decoupled for adamw)", OnResume::Keep);
}

std::unique_ptr<optim::Optimizer> make_optimizer(const Flags& flags, nn::Module& model) {
  const std::string where = flags.command() + " --";
  const Settings s{flags.get_double("lr"), flags.get_double("momentum"), flags.get_double("weight-decay")};
  TRIFECTA_CHECK(s.lr > 0, where + "lr", "must be positive, got ", s.lr);
  TRIFECTA_CHECK(s.momentum >= 0 && s.momentum < 1, where + "momentum", "expects a value in [0, 1), got ", s.momentum);
  TRIFECTA_CHECK(s.weight_decay >= 0, where + "weight-decay", "must not be negative, got ", s.weight_decay);
  const std::string name = flags.get_string("optimizer");
  for (const OptimizerChoice& c : choices())
    if (c.name == name) return c.make(model.named_parameters(), s);
  TRIFECTA_FAIL(where + "optimizer", "expects one of ", optimizer_names(), ", got '", name, "'");
}

}  // namespace trifecta::classify
