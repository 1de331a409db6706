// DataLoader: mini-batches of (images, labels) rows in a seeded order that is a pure function of (seed,
// epoch), so a run can resume at any (epoch, batch) and see exactly the batches the uninterrupted run saw.
// A background thread assembles the next few batches while the caller trains on the current one.
//
// For a CUDA device each batch is gathered into page-locked host memory and copied to the device
// asynchronously on gpu::stream(), so the copy overlaps host work and is ordered before every kernel the
// caller queues afterwards. A page-locked buffer is refilled only after the event recorded behind its last
// copy has passed.
//
//   DataLoader loader(data.images, data.labels, {.batch_size = 128, .seed = 1, .device = kCUDA});
//   for (int64_t epoch = start_epoch; epoch < epochs; ++epoch)
//     for (const Batch& batch : loader.epoch(epoch, epoch == start_epoch ? start_batch : 0)) ...
#pragma once

#include <cstdint>
#include <functional>
#include <iterator>
#include <memory>
#include <optional>

#include "tensor/tensor.h"

namespace trifecta {

struct Batch {
  Tensor images;  // [B, ...]: rows of the loader's images
  Tensor labels;  // [B, ...]: the matching rows of its labels
  int64_t epoch = 0;
  int64_t index = 0;  // the batch's position in its epoch
};

struct DataLoaderOptions {
  int64_t batch_size = 64;
  bool shuffle = true;      // false: examples in stored order
  uint64_t seed = 0;        // with the epoch, decides the order
  bool drop_last = false;   // drop a final batch smaller than batch_size
  Device device = kCPU;     // where batches are delivered
  int prefetch = 2;         // batches prepared ahead of the consumer, 1 to 8
  // Runs on the background thread on each batch while it is still on the host (augmentation, say). It may
  // change values in place or put new tensors in the batch; new ones go to the device with a synchronous
  // copy. An exception it throws comes out of the consumer's next().
  std::function<void(Batch&)> transform = nullptr;
};

class EpochBatches;

class DataLoader {
 public:
  // images and labels are CPU tensors with the same first dimension (copied to contiguous if they are not).
  DataLoader(Tensor images, Tensor labels, DataLoaderOptions options = {});

  int64_t num_examples() const { return images_.size(0); }
  int64_t batches_per_epoch() const;
  const DataLoaderOptions& options() const { return options_; }

  // The batches of `epoch` from batch first_batch on, prepared by a thread that starts now and stops when
  // the returned object is destroyed, whether or not every batch was taken.
  EpochBatches epoch(int64_t epoch, int64_t first_batch = 0) const;

 private:
  Tensor images_, labels_;
  DataLoaderOptions options_;
};

// One epoch's stream of batches. next() blocks until the next batch is ready and rethrows any error the
// background thread met; it returns nothing after the last batch. Also a range for a range-for loop.
class EpochBatches {
 public:
  EpochBatches(EpochBatches&&) noexcept;
  EpochBatches& operator=(EpochBatches&&) noexcept;
  ~EpochBatches();

  std::optional<Batch> next();

  class Iterator {
   public:
    using value_type = Batch;
    using difference_type = std::ptrdiff_t;
    const Batch& operator*() const { return *current_; }
    const Batch* operator->() const { return &*current_; }
    Iterator& operator++() {
      current_ = batches_->next();
      return *this;
    }
    void operator++(int) { ++*this; }
    bool operator==(std::default_sentinel_t) const { return !current_; }

   private:
    friend class EpochBatches;
    explicit Iterator(EpochBatches* batches) : batches_(batches), current_(batches->next()) {}
    EpochBatches* batches_;
    std::optional<Batch> current_;
  };
  Iterator begin() { return Iterator(this); }
  std::default_sentinel_t end() const { return {}; }

 private:
  friend class DataLoader;
  struct Worker;
  explicit EpochBatches(std::unique_ptr<Worker> worker);
  std::unique_ptr<Worker> worker_;
};

}  // namespace trifecta
