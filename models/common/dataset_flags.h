// The Fashion-MNIST flags the model binaries share (--data-dir, --test-limit) and the split they name.
#pragma once

#include <cstdint>

#include "data/fashion_mnist.h"
#include "models/common/flags.h"

namespace trifecta {

// Declares --data-dir: this invocation's, never taken from a checkpoint.
void add_data_dir_flag(Flags& flags);
// Declares --data-dir and --test-limit.
void add_test_data_flags(Flags& flags);
// A train command's: --data-dir, --test-limit and --train-limit (kept on --resume), which load_training_data reads.
void add_training_data_flags(Flags& flags);
// The first `limit` images of a split (-1: all) from --data-dir, else $TRIFECTA_FASHION_MNIST, else the
// Debian package's directory.
FashionMnist load_split(const Flags& flags, FashionMnistSplit split, int64_t limit);

struct TrainingData {
  FashionMnist train, test;
};
// A training run's two splits (--train-limit, --test-limit); a batch_size that is not positive or exceeds the
// training images is an Error naming the command's --batch-size.
TrainingData load_training_data(const Flags& flags, int64_t batch_size);

}  // namespace trifecta
