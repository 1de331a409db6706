// CPU copy kernel: memcpy (split across threads) when both sides are dense and of one dtype, a tiled loop
// for transpose-like copies, else the converting strided loop.
//
// Transpose-like: the destination's innermost dim is read from the source with a large stride, while
// another dim is (nearly) contiguous in the source, as in x.t().contiguous() or NCHW -> NHWC. Element by
// element, each read would touch a new cache line of the source and use 4 of its 64 bytes; by the time
// the loop comes back for the rest of the line it has been evicted (with a power-of-two stride all those
// lines even fall into one cache set). The tiled loop copies 8 x 8 tiles instead, reading 8 contiguous
// source elements per line and writing 8 contiguous destination elements, in registers when it can.
#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <type_traits>

#include "kernels/common/elementwise_cpu.h"
#include "kernels/copy/copy_impl.h"
#include "kernels/kernel_signatures.h"
#include "kernels/registry.h"

namespace trifecta {
namespace {

// Bytes per thread below which a dense copy stays on one thread (about 30 us of copying).
constexpr int64_t kMemcpyGrain = 1 << 20;

// Tiles of kTile x kTile elements, in blocks of kBlock x kBlock per task (64 x 64 float32: 16 KiB read, 16
// KiB written, all in L1).
constexpr int64_t kTile = 8;
constexpr int64_t kBlock = 64;

// The two dims a tiled copy walks: `inner` (the destination's innermost) and `across` (the source's most
// contiguous other dim), in the plan of (dst, src).
struct TilePlan {
  int inner = -1, across = -1;
};

TilePlan transpose_dims(const ElementwisePlan<2>& plan) {
  TilePlan t;
  if (plan.ndim < 2) return t;
  const int inner = plan.ndim - 1;
  const int64_t src_inner = std::abs(plan.strides[1][inner]);
  if (src_inner < 2 * kTile) return t;  // (nearly) contiguous or broadcast: the plain loop is right
  int across = -1;
  for (int d = 0; d < inner; ++d) {
    const int64_t s = std::abs(plan.strides[1][d]);
    if (s != 0 && s < src_inner && (across < 0 || s < std::abs(plan.strides[1][across]))) across = d;
  }
  if (across < 0) return t;
  t.inner = inner;
  t.across = across;
  return t;
}

// Elements of n bytes move as bit patterns: an unsigned integer type of that size, and a vector of 8.
template <size_t n> struct bits_of;
template <> struct bits_of<1> { using type = uint8_t; typedef uint8_t vector8 __attribute__((vector_size(8))); };
template <> struct bits_of<2> { using type = uint16_t; typedef uint16_t vector8 __attribute__((vector_size(16))); };
template <> struct bits_of<4> { using type = uint32_t; typedef uint32_t vector8 __attribute__((vector_size(32))); };
template <> struct bits_of<8> { using type = uint64_t; typedef uint64_t vector8 __attribute__((vector_size(64))); };

// d[r * dst_row + c] = s[c * src_col + r] for r, c < 8, elements of E contiguous along r in s and along c
// in d. Eight vector loads, then three rounds of pairwise interleaves (the butterfly network of an 8 x 8
// transpose: round k swaps 2^k-element blocks between vectors 2^k apart), then eight vector stores.
template <class E>
inline void transpose8x8(const E* s, int64_t src_col, E* d, int64_t dst_row) {
  using V = typename bits_of<sizeof(E)>::vector8;
  V a[8], b[8];
  for (int k = 0; k < 8; ++k) std::memcpy(&a[k], s + k * src_col, sizeof(V));
  for (int k = 0; k < 8; k += 2) {
    b[k] = __builtin_shufflevector(a[k], a[k + 1], 0, 8, 1, 9, 4, 12, 5, 13);
    b[k + 1] = __builtin_shufflevector(a[k], a[k + 1], 2, 10, 3, 11, 6, 14, 7, 15);
  }
  for (int k = 0; k < 8; k += 4) {
    a[k] = __builtin_shufflevector(b[k], b[k + 2], 0, 1, 8, 9, 4, 5, 12, 13);
    a[k + 1] = __builtin_shufflevector(b[k], b[k + 2], 2, 3, 10, 11, 6, 7, 14, 15);
    a[k + 2] = __builtin_shufflevector(b[k + 1], b[k + 3], 0, 1, 8, 9, 4, 5, 12, 13);
    a[k + 3] = __builtin_shufflevector(b[k + 1], b[k + 3], 2, 3, 10, 11, 6, 7, 14, 15);
  }
  for (int k = 0; k < 4; ++k) {
    b[k] = __builtin_shufflevector(a[k], a[k + 4], 0, 1, 2, 3, 8, 9, 10, 11);
    b[k + 4] = __builtin_shufflevector(a[k], a[k + 4], 4, 5, 6, 7, 12, 13, 14, 15);
  }
  for (int k = 0; k < 8; ++k) std::memcpy(d + k * dst_row, &b[k], sizeof(V));
}

template <class Out, class In>
void copy_tiled(const ElementwisePlan<2>& plan, const TilePlan& t, Out* dst, const In* src) {
  // The conversion chain of the elementwise copy (In -> its compute type -> Out's -> Out), so both paths
  // round identically.
  const auto convert_one = [](In x) { return convert<Out>(convert<compute_t<Out>>(convert<compute_t<In>>(x))); };
  const int64_t rows = plan.sizes[t.across], cols = plan.sizes[t.inner];
  const int64_t dst_row = plan.strides[0][t.across], dst_col = plan.strides[0][t.inner];
  const int64_t src_row = plan.strides[1][t.across], src_col = plan.strides[1][t.inner];
  // Same-type copies with both tile sides contiguous go through registers; the rest through a buffer.
  constexpr bool kSameType = std::is_same_v<Out, In>;
  const bool in_registers = kSameType && src_row == 1 && dst_col == 1;
  const int64_t row_blocks = (rows + kBlock - 1) / kBlock;
  const int64_t batch = plan.numel / (rows * cols);
  const int64_t grain = std::max<int64_t>(1, kElementwiseGrain / (kBlock * cols));
  // One task: kBlock rows of one batch entry, all columns, block by block.
  parallel_for(0, batch * row_blocks, grain, [&](int64_t begin, int64_t end) {
    Out buffer[kTile][kTile];
    for (int64_t task = begin; task < end; ++task) {
      int64_t b = task / row_blocks, dst_offset = 0, src_offset = 0;
      for (int d = plan.ndim - 1; d >= 0; --d) {  // offsets of batch entry b over the other dims
        if (d == t.inner || d == t.across) continue;
        const int64_t i = b % plan.sizes[d];
        b /= plan.sizes[d];
        dst_offset += i * plan.strides[0][d];
        src_offset += i * plan.strides[1][d];
      }
      const int64_t block_r0 = task % row_blocks * kBlock, block_r1 = std::min(rows, block_r0 + kBlock);
      for (int64_t block_c0 = 0; block_c0 < cols; block_c0 += kBlock) {
        const int64_t block_c1 = std::min(cols, block_c0 + kBlock);
        for (int64_t r0 = block_r0; r0 < block_r1; r0 += kTile) {
          for (int64_t c0 = block_c0; c0 < block_c1; c0 += kTile) {
            const In* s = src + src_offset + r0 * src_row + c0 * src_col;
            Out* d = dst + dst_offset + r0 * dst_row + c0 * dst_col;
            const int64_t height = std::min(kTile, block_r1 - r0), width = std::min(kTile, block_c1 - c0);
            if constexpr (kSameType) {
              if (in_registers && height == kTile && width == kTile) {
                using E = typename bits_of<sizeof(In)>::type;
                transpose8x8(reinterpret_cast<const E*>(s), src_col, reinterpret_cast<E*>(d), dst_row);
                continue;
              }
            }
            for (int64_t c = 0; c < width; ++c)
              for (int64_t r = 0; r < height; ++r) buffer[r][c] = convert_one(s[c * src_col + r * src_row]);
            for (int64_t r = 0; r < height; ++r)
              for (int64_t c = 0; c < width; ++c) d[r * dst_row + c * dst_col] = buffer[r][c];
          }
        }
      }
    }
  });
}

void copy_cpu(const Tensor& dst, const Tensor& src) {
  if (dst.dtype() == src.dtype() && dst.is_contiguous() && src.is_contiguous()) {
    // One core's memcpy does not saturate memory bandwidth: large copies are split across threads.
    char* const to = static_cast<char*>(dst.raw_data());
    const char* const from = static_cast<const char*>(src.raw_data());
    parallel_for(0, dst.numel() * static_cast<int64_t>(itemsize(dst.dtype())), kMemcpyGrain,
                 [&](int64_t begin, int64_t end) { std::memcpy(to + begin, from + begin, end - begin); });
    return;
  }
  const ElementwisePlan<2> plan = make_elementwise_plan<2>({&dst, &src});
  const TilePlan tiles = transpose_dims(plan);
  if (plan.numel == 0 || tiles.inner < 0) {
    copy_kernel<CpuElementwise>(dst, src);
    return;
  }
  dispatch_dtype<DTypeSet::All>(dst.dtype(), "copy", [&](auto out_tag) {
    using Out = typename decltype(out_tag)::type;
    dispatch_dtype<DTypeSet::All>(src.dtype(), "copy", [&](auto in_tag) {
      using In = typename decltype(in_tag)::type;
      copy_tiled(plan, tiles, static_cast<Out*>(dst.raw_data()), static_cast<const In*>(src.raw_data()));
    });
  });
}

}  // namespace

TRIFECTA_REGISTER_KERNEL(copy, CPU, &copy_cpu);

}  // namespace trifecta
