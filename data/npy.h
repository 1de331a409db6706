// NumPy's .npy array files (NEP 1, "A Simple File Format for NumPy Arrays"): the magic bytes "\x93NUMPY", a
// format version (1.0: 2-byte header length; 2.0 and 3.0: 4-byte), then a header that is a Python dict
// literal such as {'descr': '<f4', 'fortran_order': False, 'shape': (10, 1, 28, 28), }, padded with spaces
// to a multiple of 64 bytes and ended by '\n', then the raw elements.
//
// The reader is strict, since the files come from anywhere: it takes only the dtypes trifecta's image sets
// use (little-endian float32 '<f4', float64 '<f8', bytes '|u1'), only C order, and only a body of exactly the
// size the header declares. Anything else is an Error naming the file and what is wrong with it.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "tensor/tensor.h"

namespace trifecta {

enum class NpyDType { Float32, Float64, UInt8 };

struct NpyArray {
  NpyDType dtype = NpyDType::Float32;
  std::vector<int64_t> shape;     // () for a 0-d array
  std::vector<unsigned char> data;  // numel * element size bytes, little-endian, C order
};

// "<f4", "<f8" or "|u1", as a header writes the dtype.
const char* npy_descr(NpyDType dtype);
size_t npy_element_size(NpyDType dtype);

NpyArray read_npy(const std::string& path);
// The array as a float64 CPU tensor of its shape (bytes keep their values 0 to 255).
Tensor npy_to_tensor(const NpyArray& array);
// Writes a float32 or float64 tensor (any device, any strides) as a version 1.0 .npy file, atomically.
void write_npy(const std::string& path, const Tensor& tensor);

}  // namespace trifecta
