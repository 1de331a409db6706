// The shared Fashion-MNIST flags (models/common/dataset_flags.h).
#include "models/common/dataset_flags.h"

#include <string>

namespace trifecta {

void add_data_dir_flag(Flags& flags) {
  flags.add_string("data-dir", "", "Fashion-MNIST directory (empty: $TRIFECTA_FASHION_MNIST, else the Debian package's)",
                   Flags::OnResume::Invocation);
}

void add_test_data_flags(Flags& flags) {
  add_data_dir_flag(flags);
  flags.add_int("test-limit", -1, "use only the first N test images (-1: all)");
}

void add_training_data_flags(Flags& flags) {
  add_test_data_flags(flags);
  flags.add_int("train-limit", -1, "use only the first N training images (-1: all)", Flags::OnResume::Keep);
}

FashionMnist load_split(const Flags& flags, FashionMnistSplit split, int64_t limit) {
  return load_fashion_mnist(split, {.directory = flags.get_string("data-dir"), .limit = limit});
}

TrainingData load_training_data(const Flags& flags, int64_t batch_size) {
  const std::string where = flags.command() + " --batch-size";
  TRIFECTA_CHECK(batch_size > 0, where, "must be positive, got ", batch_size);
  TrainingData data{load_split(flags, FashionMnistSplit::Train, flags.get_int("train-limit")),
                    load_split(flags, FashionMnistSplit::Test, flags.get_int("test-limit"))};
  TRIFECTA_CHECK(data.train.images.size(0) >= batch_size, where, batch_size, " exceeds the ",
                 data.train.images.size(0), " training images");
  return data;
}

}  // namespace trifecta
