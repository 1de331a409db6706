// The table of optimizers behind --optimizer (models/classify/optimizer_choice.h).
#include "models/classify/optimizer_choice.h"

#include <cmath>
#include <functional>
#include <vector>

#include "optim/adam.h"
#include "optim/gsgd.h"
#include "optim/sgd.h"

namespace trifecta::classify {

namespace {

using OnResume = Flags::OnResume;

// What every entry reads from the flags, checked once.
struct Settings {
  double lr, momentum, weight_decay;
  std::string where;  // "classify train --", to name a flag in an error
};

struct OptimizerChoice {
  std::string name, help;
  std::function<std::unique_ptr<optim::Optimizer>(Classifier& model, const Settings& s)> make;
};

// The one place an optimizer is added.
const std::vector<OptimizerChoice>& choices() {
  static const std::vector<OptimizerChoice> table = {
      {"sgd", "SGD with heavy-ball momentum (--momentum) and L2 weight decay",
       [](Classifier& model, const Settings& s) {
         return std::make_unique<optim::SGD>(model.named_parameters(),
                                             optim::SgdOptions{.lr = s.lr, .momentum = s.momentum,
                                                               .weight_decay = s.weight_decay});
       }},
      {"adam", "Adam with L2 weight decay",
       [](Classifier& model, const Settings& s) {
         return std::make_unique<optim::Adam>(model.named_parameters(),
                                              optim::AdamOptions{.lr = s.lr, .weight_decay = s.weight_decay});
       }},
      {"adamw", "AdamW: Adam with decoupled weight decay",
       [](Classifier& model, const Settings& s) {
         return std::make_unique<optim::AdamW>(model.named_parameters(),
                                               optim::AdamOptions{.lr = s.lr, .weight_decay = s.weight_decay});
       }},
      {"amsgrad", "Adam with AMSGrad's running maximum of the second moment",
       [](Classifier& model, const Settings& s) {
         return std::make_unique<optim::Adam>(
             model.named_parameters(), optim::AdamOptions{.lr = s.lr, .weight_decay = s.weight_decay, .amsgrad = true});
       }},
      {"gsgd", "g-SGD: SGD on the basis-path values of the ReLU mlp, equal hidden widths, no weight decay",
       [](Classifier& model, const Settings& s) {
         TRIFECTA_CHECK(s.weight_decay == 0, s.where + "weight-decay", "g-SGD has no weight decay (its step is SGD "
                        "in the space of basis-path values, optim/gsgd.h), got ", s.weight_decay);
         const ClassifierConfig& config = model.config();
         TRIFECTA_CHECK(config.architecture != Architecture::Mlp || config.hidden1 == config.hidden2,
                        s.where + "hidden2", "g-SGD needs equal hidden widths (its skeleton pairs the hidden units of "
                        "consecutive layers one to one), got --hidden1 ", config.hidden1, " and --hidden2 ",
                        config.hidden2);
         return std::make_unique<optim::GSGD>(model.relu_chain(), optim::GsgdOptions{.lr = s.lr});
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

std::unique_ptr<optim::Optimizer> make_optimizer(const Flags& flags, Classifier& model) {
  const std::string where = flags.command() + " --";
  const Settings s{flags.get_double("lr"), flags.get_double("momentum"), flags.get_double("weight-decay"), where};
  TRIFECTA_CHECK(s.lr > 0, where + "lr", "must be positive, got ", s.lr);
  TRIFECTA_CHECK(s.momentum >= 0 && s.momentum < 1, where + "momentum", "expects a value in [0, 1), got ", s.momentum);
  TRIFECTA_CHECK(s.weight_decay >= 0, where + "weight-decay", "must not be negative, got ", s.weight_decay);
  const std::string name = flags.get_string("optimizer");
  for (const OptimizerChoice& c : choices())
    if (c.name == name) return c.make(model, s);
  TRIFECTA_FAIL(where + "optimizer", "expects one of ", optimizer_names(), ", got '", name, "'");
}

}  // namespace trifecta::classify
