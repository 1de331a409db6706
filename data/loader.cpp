// DataLoader: the background thread that assembles batches, and how they reach the device.
#include "data/loader.h"

#include <algorithm>
#include <cstring>
#include <exception>
#include <numeric>
#include <thread>
#include <utility>
#include <vector>

#include "data/bounded_queue.h"
#include "data/epoch_order.h"
#include "tensor/backend.h"

namespace trifecta {

namespace {

constexpr int kMaxPrefetch = 8;

Shape with_rows(const Shape& shape, int64_t rows) {
  Shape result = shape;
  result[0] = rows;
  return result;
}

size_t row_bytes(const Tensor& t) {
  size_t bytes = itemsize(t.dtype());
  for (int d = 1; d < t.ndim(); ++d) bytes *= static_cast<size_t>(t.size(d));
  return bytes;
}

// Copies rows order[0], order[1], ... of a contiguous source to consecutive rows at destination. One
// memcpy per row, on this thread only: the gather overlaps the consumer's work already, and an OpenMP team
// of its own would compete with the consumer's kernels for the same cores.
void gather_rows(void* destination, const Tensor& source, const int64_t* order, int64_t rows) {
  const size_t bytes = row_bytes(source);
  const char* from = static_cast<const char*>(source.raw_data());
  char* to = static_cast<char*>(destination);
  for (int64_t i = 0; i < rows; ++i)
    std::memcpy(to + static_cast<size_t>(i) * bytes, from + static_cast<size_t>(order[i]) * bytes, bytes);
}

// A page-locked buffer for one batch and the event behind the last copy out of it.
struct StagingSlot {
  Tensor images, labels;  // batch_size rows each
  cuda_backend::StreamEvent copied;
};

// What the worker hands over: a batch, or the error that ended the epoch early.
struct Produced {
  Batch batch;
  std::exception_ptr error;
};

}  // namespace

struct EpochBatches::Worker {
  Worker(const DataLoader& loader, const Tensor& source_images, const Tensor& source_labels, int64_t epoch_number,
         int64_t first)
      : images(source_images),
        labels(source_labels),
        options(loader.options()),
        epoch(epoch_number),
        first_batch(first),
        end_batch(loader.batches_per_epoch()),
        // Batches in the queue are already on their way to the device; one slot more is the one being filled.
        slots(options.device.is_cuda() ? options.prefetch + 1 : 0),
        queue(static_cast<size_t>(options.prefetch)) {
    thread = std::thread([this] { run(); });
  }

  ~Worker() {
    queue.close();  // unblocks a worker waiting to push
    thread.join();
    // The staging buffers go back to the pinned-memory cache, which may hand them out at once: no copy may
    // still be reading them. A failure here was reported by the copy that caused it; destructors must not throw.
    for (StagingSlot& slot : slots) {
      try {
        slot.copied.wait();
      } catch (const Error&) {
      }
    }
  }

  void run() {
    std::exception_ptr error;
    try {
      if (options.shuffle) {
        order = shuffled_order(images.size(0), options.seed, epoch);
      } else {
        order.resize(static_cast<size_t>(images.size(0)));
        std::iota(order.begin(), order.end(), int64_t{0});
      }
      for (int64_t index = first_batch; index < end_batch; ++index)
        if (!queue.push(Produced{assemble(index), nullptr})) return;  // the consumer stopped early
    } catch (...) {
      error = std::current_exception();
    }
    // Handed over after the catch block has ended, so this thread holds no reference to the exception
    // object once the consumer has it.
    if (error) queue.push(Produced{Batch{}, std::move(error)});
    queue.close();
  }

  Batch assemble(int64_t index) {
    const int64_t start = index * options.batch_size;
    const int64_t rows = std::min(options.batch_size, images.size(0) - start);
    const int64_t* rows_order = order.data() + start;
    Batch batch;
    batch.epoch = epoch;
    batch.index = index;
    if (options.device.is_cpu()) {
      batch.images = empty(with_rows(images.shape(), rows), images.dtype());
      batch.labels = empty(with_rows(labels.shape(), rows), labels.dtype());
      gather_rows(batch.images.raw_data(), images, rows_order, rows);
      gather_rows(batch.labels.raw_data(), labels, rows_order, rows);
      if (options.transform) options.transform(batch);
      return batch;
    }
    StagingSlot& slot = slots[static_cast<size_t>((index - first_batch) % static_cast<int64_t>(slots.size()))];
    slot.copied.wait();
    if (!slot.images.defined()) {
      const int64_t capacity = std::min(options.batch_size, images.size(0));
      slot.images = empty_pinned(with_rows(images.shape(), capacity), images.dtype());
      slot.labels = empty_pinned(with_rows(labels.shape(), capacity), labels.dtype());
    }
    batch.images = slot.images.narrow(0, 0, rows);
    batch.labels = slot.labels.narrow(0, 0, rows);
    gather_rows(batch.images.raw_data(), images, rows_order, rows);
    gather_rows(batch.labels.raw_data(), labels, rows_order, rows);
    if (options.transform) options.transform(batch);
    batch.images = upload(batch.images, slot);
    batch.labels = upload(batch.labels, slot);
    slot.copied.record();
    return batch;
  }

  // The slot's own page-locked buffers are queued on the stream without waiting: the slot's event guards
  // them. Anything else, a transform's new tensor say, takes the ordinary synchronous copy, since nothing
  // would keep its memory from being freed and reused while an asynchronous copy still read it.
  Tensor upload(const Tensor& host, const StagingSlot& slot) const {
    const bool staged = host.storage() == slot.images.storage() || host.storage() == slot.labels.storage();
    if (!staged || !host.storage()->pinned() || !host.is_contiguous()) return host.to(options.device);
    Tensor device = empty(host.shape(), {host.dtype(), options.device});
    cuda_backend::copy_to_device_async(device.raw_data(), options.device, host.raw_data(),
                                       static_cast<size_t>(host.numel()) * itemsize(host.dtype()));
    return device;
  }

  const Tensor images, labels;
  const DataLoaderOptions options;
  const int64_t epoch, first_batch, end_batch;
  std::vector<int64_t> order;
  std::vector<StagingSlot> slots;
  BoundedQueue<Produced> queue;
  std::thread thread;
};

DataLoader::DataLoader(Tensor images, Tensor labels, DataLoaderOptions options) : options_(std::move(options)) {
  TRIFECTA_CHECK(images.defined() && labels.defined(), "DataLoader", "images and labels must be defined tensors");
  TRIFECTA_CHECK(images.device().is_cpu() && labels.device().is_cpu(), "DataLoader",
                 "images and labels must be CPU tensors, got ", images.str(), " and ", labels.str());
  TRIFECTA_CHECK(images.ndim() >= 1 && labels.ndim() >= 1 && images.size(0) == labels.size(0), "DataLoader",
                 "images ", images.shape().str(), " and labels ", labels.shape().str(),
                 " must have the same first dimension (one row per example)");
  TRIFECTA_CHECK(options_.batch_size > 0, "DataLoader", "batch_size must be positive, got ", options_.batch_size);
  TRIFECTA_CHECK(options_.prefetch >= 1 && options_.prefetch <= kMaxPrefetch, "DataLoader", "prefetch must be 1 to ",
                 kMaxPrefetch, ", got ", options_.prefetch);
  TRIFECTA_CHECK(options_.device.is_cpu() || cuda_available(), "DataLoader", "batches for ", options_.device.str(),
                 " need a CUDA device, and none is available");
  images_ = images.detach().contiguous();
  labels_ = labels.detach().contiguous();
}

int64_t DataLoader::batches_per_epoch() const {
  const int64_t n = num_examples(), size = options_.batch_size;
  return options_.drop_last ? n / size : (n + size - 1) / size;
}

EpochBatches DataLoader::epoch(int64_t epoch, int64_t first_batch) const {
  TRIFECTA_CHECK(epoch >= 0, "DataLoader::epoch", "epoch must be non-negative, got ", epoch);
  TRIFECTA_CHECK(first_batch >= 0 && first_batch <= batches_per_epoch(), "DataLoader::epoch", "first batch ",
                 first_batch, " is outside the ", batches_per_epoch(), " batches of an epoch");
  return EpochBatches(std::make_unique<EpochBatches::Worker>(*this, images_, labels_, epoch, first_batch));
}

EpochBatches::EpochBatches(std::unique_ptr<Worker> worker) : worker_(std::move(worker)) {}
EpochBatches::EpochBatches(EpochBatches&&) noexcept = default;
EpochBatches& EpochBatches::operator=(EpochBatches&&) noexcept = default;
EpochBatches::~EpochBatches() = default;

std::optional<Batch> EpochBatches::next() {
  TRIFECTA_CHECK(worker_, "EpochBatches::next", "this epoch's batches were moved elsewhere");
  std::optional<Produced> produced = worker_->queue.pop();
  if (!produced) return std::nullopt;
  if (produced->error) std::rethrow_exception(produced->error);
  return std::move(produced->batch);
}

}  // namespace trifecta
