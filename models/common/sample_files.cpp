// The sample command's flags and files.
#include "models/common/sample_files.h"

#include <cstdio>
#include <filesystem>

#include "data/image_grid.h"
#include "data/npy.h"
#include "tensor/error.h"
#include "tensor/safetensors.h"

namespace trifecta {

void add_sample_file_flags(Flags& flags, int64_t default_count) {
  flags.add_int("count", default_count, "how many images to draw");
  flags.add_string("format", "png", "png (an 8-wide grid), safetensors (tensor \"images\") or npy: [count, 1, 28, 28] "
                                    "float32 in [0, 1], for classify fid (data/image_set.h)");
}

int64_t checked_sample_count(const Flags& flags) {
  const int64_t count = flags.get_int("count");
  const std::string format = flags.get_string("format");
  TRIFECTA_CHECK(count >= 1 && count <= 1000000, flags.command() + " --count", "expects 1 to 1000000 images, got ",
                 count);
  TRIFECTA_CHECK(format == "png" || format == "safetensors" || format == "npy", flags.command() + " --format",
                 "expects png, safetensors or npy, got '", format, "'");
  return count;
}

void write_sample_file(const Flags& flags, const Tensor& images, const std::string& model_kind, uint64_t seed) {
  const std::string format = flags.get_string("format");
  const std::string path = (std::filesystem::path(flags.get_string("out")) / ("samples." + format)).string();
  if (format == "png") {
    save_image_grid(path, images, 8);
  } else if (format == "safetensors") {
    save_safetensors(path, {{"images", images}}, {{"model_kind", model_kind}, {"seed", std::to_string(seed)}});
  } else {
    write_npy(path, images);
  }
  std::printf("wrote %lld samples to %s\n", static_cast<long long>(images.size(0)), path.c_str());
}

}  // namespace trifecta
