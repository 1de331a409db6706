// The loaders of untrusted bytes, as fuzz targets: each takes the path of a file holding the bytes and
// either loads something self-consistent or throws trifecta::Error. Anything else (another exception, a
// crash, a sanitizer report) is a bug. Two drivers run them: tests/unit/fuzz_loaders_test.cpp (seeds plus
// deterministic mutations, in CTest) and tests/fuzz/libfuzzer.cpp (coverage-guided, scripts/fuzz.sh).
//
// Adding a loader: one line in fuzz_targets() below and a folder of seeds, tests/fuzz/corpus/<name>/ (valid
// inputs; tests/fuzz/make_seeds.py writes them).
#pragma once

#include <filesystem>
#include <fstream>
#include <stdexcept>
#include <string>
#include <unistd.h>
#include <vector>

#include "data/idx.h"
#include "data/npy.h"
#include "data/png.h"
#include "models/common/checkpoint.h"
#include "nn/linear.h"
#include "optim/adam.h"
#include "tensor/json.h"
#include "tensor/safetensors.h"

namespace trifecta::fuzz {

// A loader returned something inconsistent: a bug, unlike the trifecta::Error a bad input should give.
struct Inconsistent : std::logic_error {
  using std::logic_error::logic_error;
};

inline void require(bool ok, const std::string& what) {
  if (!ok) throw Inconsistent(what);
}

// A loaded tensor is a dense CPU tensor whose storage holds every byte its shape claims. The bytes are read
// here, so AddressSanitizer reports any that lie outside the allocation.
inline void check_tensor(const std::string& name, const Tensor& t) {
  require(t.defined() && t.device().is_cpu() && t.is_contiguous() && t.offset() == 0, name + ": not a dense CPU tensor");
  const size_t bytes = dense_nbytes(t.shape(), t.dtype(), name);
  require(t.storage()->nbytes() >= bytes, name + ": storage smaller than its shape");
  const auto* p = static_cast<const unsigned char*>(t.raw_data());
  unsigned checksum = 0;
  for (size_t i = 0; i < bytes; ++i) checksum += p[i];
  asm volatile("" : : "r"(checksum));  // keeps the reads
}

inline void load_safetensors_file(const std::string& path) {
  const TensorFile file = load_safetensors(path);
  for (const auto& [name, t] : file.tensors) check_tensor(name, t);
}

// A checkpoint as `vae train --resume` uses one: the file, then the model's and the optimizer's state loaded
// into a (small) model and its Adam, whose checks see whatever the file claims. What loads must train on:
// a step may not fail on hyperparameters or counts the load let through (a NaN beta, a beta of 2, a step
// count about to overflow).
inline void load_checkpoint_file(const std::string& path) {
  const Checkpoint c = load_checkpoint(path, "fuzz-linear");
  for (const auto& [name, t] : c.model) check_tensor(name, t);
  for (const auto& [name, t] : c.optimizer) check_tensor(name, t);
  require(c.position.step >= 0 && c.position.epoch >= 0 && c.position.batch >= 0, "negative position");
  nn::Linear model(3, 2);
  optim::Adam adam(model.named_parameters());
  model.load_state_dict(c.model);
  adam.load_state_dict(c.optimizer);
  for (const Tensor& p : model.parameters()) p.set_grad(ones_like(p));
  try {
    adam.step();
  } catch (const Error& e) {
    throw Inconsistent(std::string("the loaded optimizer cannot step: ") + e.what());
  }
}

// IDX: the items read match the header, with and without a limit.
inline void load_idx_file(const std::string& path, int rank, const std::string& item_name) {
  for (const int64_t limit : {int64_t{1}, int64_t{-1}}) {
    const IdxBytes idx = read_idx_bytes(path, rank, item_name, limit);
    require(static_cast<int>(idx.dims.size()) == rank && idx.items <= idx.dims[0], "idx: dims or item count");
    size_t item_bytes = 1;
    for (int d = 1; d < rank; ++d) item_bytes *= static_cast<size_t>(idx.dims[d]);
    require(idx.data.size() == static_cast<size_t>(idx.items) * item_bytes, "idx: data size disagrees with the header");
  }
}

// JSON: what parses, writes, and parses back to the same value.
inline void load_json_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  const std::string text((std::istreambuf_iterator<char>(in)), {});
  const Json value = json::parse(text, path);
  require(json::parse(json::dump(value, path), path) == value, "json: the written text reads back differently");
}

// .npy: the data holds exactly the bytes the dtype and shape claim, and becomes a tensor of that shape.
inline void load_npy_file(const std::string& path) {
  const NpyArray array = read_npy(path);
  size_t bytes = npy_element_size(array.dtype);
  for (const int64_t d : array.shape) bytes *= static_cast<size_t>(d);  // read_npy checked the product
  require(array.data.size() == bytes, "npy: data size disagrees with the header");
  const Tensor t = npy_to_tensor(array);
  require(t.shape() == Shape(array.shape), "npy: tensor shape differs from the header's");
  check_tensor("npy", t);
}

// PNG: the pixels are exactly height rows of width * channels bytes, of a color type the decoder knows.
inline void load_png_file(const std::string& path) {
  const DecodedPng png = read_png(path);
  require(png.width > 0 && png.height > 0 && png.channels >= 1 && png.channels <= 4, "png: bad size or channels");
  require(png.pixels.size() == static_cast<size_t>(png.width * png.height * png.channels),
          "png: pixel count disagrees with the header");
}

struct FuzzTarget {
  std::string name;  // also the seed folder, tests/fuzz/corpus/<name>/
  void (*load)(const std::string& path);
};

inline const std::vector<FuzzTarget>& fuzz_targets() {
  static const std::vector<FuzzTarget> targets = {
      {"safetensors", load_safetensors_file},
      {"checkpoint", load_checkpoint_file},
      {"idx_images", [](const std::string& path) { load_idx_file(path, 3, "images"); }},
      {"idx_labels", [](const std::string& path) { load_idx_file(path, 1, "labels"); }},
      {"json", load_json_file},
      {"npy", load_npy_file},
      {"png", load_png_file},
  };
  return targets;
}

// Where a driver writes the input bytes before loading them: one file per process and target.
inline std::string input_path(const std::string& target) {
  return (std::filesystem::temp_directory_path() /
          ("trifecta_fuzz_" + std::to_string(::getpid()) + "_" + target))
      .string();
}

inline void write_input(const std::string& path, const char* bytes, size_t size) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(bytes, static_cast<std::streamsize>(size));
}

}  // namespace trifecta::fuzz
