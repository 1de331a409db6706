// The shared Fashion-MNIST flags (models/common/dataset_flags.h).
#include "models/common/dataset_flags.h"

namespace trifecta {

void add_data_dir_flag(Flags& flags) {
  flags.add_string("data-dir", "", "Fashion-MNIST directory (empty: $TRIFECTA_FASHION_MNIST, else the Debian package's)",
                   Flags::OnResume::Invocation);
}

void add_test_data_flags(Flags& flags) {
  add_data_dir_flag(flags);
  flags.add_int("test-limit", -1, "use only the first N test images (-1: all)");
}

FashionMnist load_split(const Flags& flags, FashionMnistSplit split, int64_t limit) {
  return load_fashion_mnist(split, {.directory = flags.get_string("data-dir"), .limit = limit});
}

}  // namespace trifecta
