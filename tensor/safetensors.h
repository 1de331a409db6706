// Reading and writing safetensors files (https://huggingface.co/docs/safetensors), the format PyTorch's
// ecosystem reads with safetensors.torch.load_file: 8 bytes of little-endian header length, a JSON header
// mapping each name to {dtype, shape, data_offsets}, then the raw little-endian data. Writes are atomic: the
// file appears complete or not at all (temporary file, fsync, rename), so a killed process never leaves a
// half-written checkpoint.
#pragma once

#include <map>
#include <string>
#include <utility>
#include <vector>

#include "tensor/tensor.h"

namespace trifecta {

using NamedTensors = std::vector<std::pair<std::string, Tensor>>;

struct TensorFile {
  std::string path;
  NamedTensors tensors;  // in the order their data appears in the file
  std::map<std::string, std::string> metadata;

  bool has(const std::string& name) const;
  // The named tensor; an error naming the file and the tensor when it is missing.
  const Tensor& get(const std::string& name) const;
};

// Tensors may live on any device and have any strides; they are written dense, on the host.
void save_safetensors(const std::string& path, const NamedTensors& tensors,
                      const std::map<std::string, std::string>& metadata = {});
// Loads every tensor to the CPU. A missing, truncated or malformed file is an Error naming the path and
// what is wrong with it.
TensorFile load_safetensors(const std::string& path);

// Replaces path with bytes atomically (write to a temporary beside it, fsync, rename, fsync the directory).
void write_file_atomically(const std::string& path, const std::string& bytes);

}  // namespace trifecta
