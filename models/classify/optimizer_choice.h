// The optimizers `classify train` offers (--optimizer), in one table: adding an optimizer is one entry in
// optimizer_choice.cpp (its name, what it is, and how it is built from the flags), plus any flags of its own
// in add_optimizer_flags.
#pragma once

#include <memory>
#include <string>

#include "models/classify/classifier.h"
#include "models/common/flags.h"
#include "optim/optimizer.h"

namespace trifecta::classify {

// Declares --optimizer, --lr, --momentum and --weight-decay.
void add_optimizer_flags(Flags& flags);

// The optimizer --optimizer names, over model's parameters, configured from the flags; an unknown name or
// a bad setting is an Error naming the flag.
std::unique_ptr<optim::Optimizer> make_optimizer(const Flags& flags, Classifier& model);

// "sgd, adam, adamw, amsgrad, gsgd": the names make_optimizer accepts, for help texts and errors.
std::string optimizer_names();

}  // namespace trifecta::classify
