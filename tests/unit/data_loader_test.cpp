// DataLoader: the epoch order (a pure function of seed and epoch, a uniform permutation), batches that
// cover every example once, drop_last, resuming mid-epoch, the background thread's shutdown and error
// propagation, pinned host tensors, and the CUDA path (skipped without a GPU).
#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <functional>
#include <map>
#include <set>
#include <stdexcept>
#include <string>
#include <vector>

#include "autograd/ops.h"
#include "data/epoch_order.h"
#include "data/loader.h"
#include "tensor/backend.h"
#include "tests/harness/expect_error.h"

namespace trifecta {
namespace {

using testing::expect_error;

// n examples whose image row i is [i, i + 0.5] and whose label is i, so a batch reveals which rows it holds.
struct Toy {
  Tensor images, labels;
  explicit Toy(int64_t n) {
    std::vector<float> pixels;
    std::vector<int64_t> ids;
    for (int64_t i = 0; i < n; ++i) {
      pixels.push_back(static_cast<float>(i));
      pixels.push_back(static_cast<float>(i) + 0.5f);
      ids.push_back(i);
    }
    images = from_vector(pixels, {n, 2});
    labels = from_vector(ids, {n});
  }
};

// The example ids of each batch, checking that images and labels agree row by row.
std::vector<std::vector<int64_t>> collect(EpochBatches batches, int64_t epoch, int64_t first_batch = 0) {
  std::vector<std::vector<int64_t>> ids;
  int64_t expected_index = first_batch;
  for (const Batch& batch : batches) {
    EXPECT_EQ(batch.epoch, epoch);
    EXPECT_EQ(batch.index, expected_index++);
    const std::vector<int64_t> labels = batch.labels.to_vector<int64_t>();
    const std::vector<float> images = batch.images.to_vector<float>();
    EXPECT_EQ(batch.images.shape(), (Shape{static_cast<int64_t>(labels.size()), 2}));
    for (size_t r = 0; r < labels.size(); ++r) {
      EXPECT_EQ(images[2 * r], static_cast<float>(labels[r]));
      EXPECT_EQ(images[2 * r + 1], static_cast<float>(labels[r]) + 0.5f);
    }
    ids.push_back(labels);
  }
  return ids;
}

std::vector<int64_t> flatten(const std::vector<std::vector<int64_t>>& batches) {
  std::vector<int64_t> all;
  for (const auto& b : batches) all.insert(all.end(), b.begin(), b.end());
  return all;
}

TEST(EpochOrder, IsAPureFunctionOfSeedAndEpoch) {
  const std::vector<int64_t> order = shuffled_order(1000, 42, 3);
  EXPECT_EQ(order, shuffled_order(1000, 42, 3));
  EXPECT_NE(order, shuffled_order(1000, 42, 4));
  EXPECT_NE(order, shuffled_order(1000, 43, 3));
  std::vector<int64_t> sorted = order;
  std::sort(sorted.begin(), sorted.end());
  for (int64_t i = 0; i < 1000; ++i) ASSERT_EQ(sorted[static_cast<size_t>(i)], i);
  EXPECT_TRUE(shuffled_order(0, 1, 0).empty());
  EXPECT_EQ(shuffled_order(1, 1, 0), (std::vector<int64_t>{0}));
}

TEST(EpochOrder, PermutationsAreUniform) {
  // 6 permutations of 3 elements over 6000 epochs: each expected 1000 times, standard deviation ~29. A
  // biased shuffle (the classic bug: j drawn from [0, n) instead of [0, i]) is off by hundreds.
  std::map<std::vector<int64_t>, int> counts;
  for (int64_t epoch = 0; epoch < 6000; ++epoch) ++counts[shuffled_order(3, 7, epoch)];
  ASSERT_EQ(counts.size(), 6u);
  for (const auto& [permutation, count] : counts) {
    EXPECT_GT(count, 850);
    EXPECT_LT(count, 1150);
  }
}

TEST(DataLoader, EveryExampleOncePerEpochAndDeterministic) {
  const Toy toy(103);
  const DataLoader loader(toy.images, toy.labels, {.batch_size = 10, .seed = 5});
  EXPECT_EQ(loader.num_examples(), 103);
  EXPECT_EQ(loader.batches_per_epoch(), 11);
  const auto epoch0 = collect(loader.epoch(0), 0);
  ASSERT_EQ(epoch0.size(), 11u);
  EXPECT_EQ(epoch0.back().size(), 3u);  // the short last batch is kept without drop_last
  std::vector<int64_t> seen = flatten(epoch0);
  EXPECT_EQ(seen, shuffled_order(103, 5, 0));
  std::sort(seen.begin(), seen.end());
  for (int64_t i = 0; i < 103; ++i) ASSERT_EQ(seen[static_cast<size_t>(i)], i);

  // Same seed: same batches, from a second loader too. Another epoch or seed: another order.
  EXPECT_EQ(collect(loader.epoch(0), 0), epoch0);
  EXPECT_EQ(collect(DataLoader(toy.images, toy.labels, {.batch_size = 10, .seed = 5}).epoch(0), 0), epoch0);
  EXPECT_NE(collect(loader.epoch(1), 1), epoch0);
  EXPECT_NE(collect(DataLoader(toy.images, toy.labels, {.batch_size = 10, .seed = 6}).epoch(0), 0), epoch0);
}

TEST(DataLoader, UnshuffledIsStoredOrder) {
  const Toy toy(7);
  const DataLoader loader(toy.images, toy.labels, {.batch_size = 3, .shuffle = false});
  EXPECT_EQ(collect(loader.epoch(4), 4), (std::vector<std::vector<int64_t>>{{0, 1, 2}, {3, 4, 5}, {6}}));
}

TEST(DataLoader, DropLast) {
  const Toy toy(10);
  const DataLoader loader(toy.images, toy.labels, {.batch_size = 3, .seed = 1, .drop_last = true});
  EXPECT_EQ(loader.batches_per_epoch(), 3);
  const auto batches = collect(loader.epoch(0), 0);
  ASSERT_EQ(batches.size(), 3u);
  for (const auto& b : batches) EXPECT_EQ(b.size(), 3u);
  const std::vector<int64_t> order = shuffled_order(10, 1, 0);
  EXPECT_EQ(flatten(batches), std::vector<int64_t>(order.begin(), order.begin() + 9));
  // Fewer examples than one batch: no batch at all.
  EXPECT_EQ(DataLoader(toy.images, toy.labels, {.batch_size = 11, .drop_last = true}).batches_per_epoch(), 0);
  EXPECT_TRUE(collect(DataLoader(toy.images, toy.labels, {.batch_size = 11, .drop_last = true}).epoch(0), 0).empty());
  // A batch size beyond the data is one batch of everything (and allocates only that much).
  const auto whole = collect(DataLoader(toy.images, toy.labels, {.batch_size = int64_t{1} << 40}).epoch(0), 0);
  ASSERT_EQ(whole.size(), 1u);
  EXPECT_EQ(whole[0].size(), 10u);
}

TEST(DataLoader, ResumingMidEpochSeesTheUninterruptedBatches) {
  const Toy toy(50);
  const DataLoader loader(toy.images, toy.labels, {.batch_size = 8, .seed = 9, .drop_last = true, .prefetch = 3});
  std::vector<std::vector<int64_t>> uninterrupted;
  for (int64_t epoch = 0; epoch < 3; ++epoch)
    for (const auto& b : collect(loader.epoch(epoch), epoch)) uninterrupted.push_back(b);

  // Stop after batch 2 of epoch 1 (as a killed run would), then resume from a fresh loader at (1, 3).
  std::vector<std::vector<int64_t>> interrupted;
  for (int64_t epoch = 0; epoch < 2; ++epoch) {
    EpochBatches batches = loader.epoch(epoch);
    while (std::optional<Batch> batch = batches.next()) {
      interrupted.push_back(batch->labels.to_vector<int64_t>());
      if (epoch == 1 && batch->index == 2) break;
    }
  }
  const DataLoader resumed(toy.images, toy.labels, {.batch_size = 8, .seed = 9, .drop_last = true, .prefetch = 3});
  for (int64_t epoch = 1; epoch < 3; ++epoch)
    for (const auto& b : collect(resumed.epoch(epoch, epoch == 1 ? 3 : 0), epoch, epoch == 1 ? 3 : 0))
      interrupted.push_back(b);
  EXPECT_EQ(interrupted, uninterrupted);
  // Resuming exactly at the end of an epoch yields nothing more from it.
  EXPECT_FALSE(loader.epoch(0, loader.batches_per_epoch()).next().has_value());
}

TEST(DataLoader, NonContiguousInputsAndOtherLabelShapes) {
  const Tensor images = from_vector(std::vector<float>{0, 1, 2, 10, 11, 12}, {2, 3}).t();  // rows [0,10] [1,11] [2,12]
  const Tensor targets = from_vector(std::vector<float>{5, 6, 7, 8, 9, 10}, {3, 2});
  const DataLoader loader(images, targets, {.batch_size = 2, .shuffle = false});
  EpochBatches batches = loader.epoch(0);
  const Batch first = *batches.next();
  EXPECT_EQ(first.images.to_vector<float>(), (std::vector<float>{0, 10, 1, 11}));
  EXPECT_EQ(first.labels.shape(), (Shape{2, 2}));
  EXPECT_EQ(first.labels.to_vector<float>(), (std::vector<float>{5, 6, 7, 8}));
  const Batch second = *batches.next();
  EXPECT_EQ(second.images.to_vector<float>(), (std::vector<float>{2, 12}));
  EXPECT_FALSE(batches.next().has_value());
  EXPECT_FALSE(batches.next().has_value());  // stays finished
}

TEST(DataLoader, StoppingEarlyShutsTheWorkerDown) {
  const Toy toy(1000);
  std::atomic<int> assembled{0};
  DataLoaderOptions options{.batch_size = 4, .seed = 2, .prefetch = 2};
  options.transform = [&](Batch&) { ++assembled; };
  const DataLoader loader(toy.images, toy.labels, options);
  {
    EpochBatches batches = loader.epoch(0);
    ASSERT_TRUE(batches.next().has_value());
  }  // destroyed with 249 batches not taken: must join promptly, not hang or crash
  // One taken, at most `prefetch` queued and one being assembled when the queue closed.
  EXPECT_LE(assembled.load(), 1 + 2 + 1);
  // Destroying before taking anything, and moving a live stream, are fine too.
  { EpochBatches untouched = loader.epoch(1); }
  EpochBatches moved = loader.epoch(2);
  EpochBatches target = std::move(moved);
  EXPECT_EQ(target.next()->index, 0);
  expect_error([&] { moved.next(); }, "moved");
}

TEST(DataLoader, WorkerErrorsReachTheConsumer) {
  const Toy toy(20);
  DataLoaderOptions options{.batch_size = 4, .shuffle = false};
  options.transform = [](Batch& batch) {
    if (batch.index == 2) TRIFECTA_FAIL("augment", "cannot augment batch ", batch.index);
    batch.images = mul(batch.images, 2.0);  // replacing the tensors is allowed
  };
  const DataLoader loader(toy.images, toy.labels, options);
  EpochBatches batches = loader.epoch(0);
  EXPECT_EQ(batches.next()->images.to_vector<float>()[2], 2.0f);  // row 1 = [1, 1.5], doubled
  EXPECT_TRUE(batches.next().has_value());
  expect_error([&] { batches.next(); }, "augment: cannot augment batch 2");
  EXPECT_FALSE(batches.next().has_value());  // the epoch ended with the error

  // Exceptions of any type come through unchanged.
  options.transform = [](Batch&) { throw std::out_of_range("custom"); };
  EXPECT_THROW(DataLoader(toy.images, toy.labels, options).epoch(0).next(), std::out_of_range);
}

TEST(DataLoader, RejectsBadArguments) {
  const Toy toy(6);
  expect_error([&] { DataLoader(toy.images, arange(5), {}); }, "same first dimension");
  expect_error([&] { DataLoader(toy.images, toy.labels, {.batch_size = 0}); }, "batch_size must be positive");
  expect_error([&] { DataLoader(toy.images, toy.labels, {.prefetch = 0}); }, "prefetch must be 1 to 8");
  expect_error([&] { DataLoader(Tensor(), toy.labels, {}); }, "must be defined");
  const DataLoader loader(toy.images, toy.labels, {.batch_size = 4});
  expect_error([&] { loader.epoch(0, 3); }, "first batch 3 is outside the 2 batches");
  expect_error([&] { loader.epoch(-1); }, "epoch must be non-negative");
  if (!cuda_available())
    expect_error([&] { DataLoader(toy.images, toy.labels, {.device = kCUDA}); }, "need a CUDA device");
}

TEST(PinnedMemory, EmptyPinnedIsAUsableHostTensor) {
  const Tensor pinned = empty_pinned({3, 4}, DType::Float64);
  EXPECT_EQ(pinned.device(), kCPU);
  EXPECT_EQ(pinned.shape(), (Shape{3, 4}));
  EXPECT_EQ(pinned.dtype(), DType::Float64);
  EXPECT_EQ(pinned.storage()->pinned(), cuda_available());  // page-locked only where a GPU can use it
  EXPECT_FALSE(empty({2}).storage()->pinned());
  double* p = pinned.data<double>();
  for (int i = 0; i < 12; ++i) p[i] = i;
  EXPECT_EQ(add(pinned, 1.0).to_vector<double>()[11], 12.0);
  expect_error([&] { empty_pinned({-1}); }, "negative dimension");
}

TEST(PinnedMemory, AsynchronousCopyToTheDevice) {
  if (!cuda_available()) GTEST_SKIP() << "no CUDA device present";
  const Tensor host = empty_pinned({1 << 20});
  float* p = host.data<float>();
  for (int i = 0; i < (1 << 20); ++i) p[i] = static_cast<float>(i % 977);
  const Tensor device = empty({1 << 20}, kCUDA);
  cuda_backend::copy_to_device_async(device.raw_data(), kCUDA, host.raw_data(), host.numel() * sizeof(float));
  cuda_backend::StreamEvent copied;
  copied.record();
  copied.wait();
  for (int i = 0; i < (1 << 20); ++i) p[i] = -1;  // after the event, the source is free to change
  const std::vector<float> back = device.to_vector<float>();
  for (int i = 0; i < (1 << 20); i += 4099) ASSERT_EQ(back[static_cast<size_t>(i)], static_cast<float>(i % 977));
}

TEST(DataLoaderCuda, DeviceBatchesEqualHostBatches) {
  if (!cuda_available()) GTEST_SKIP() << "no CUDA device present";
  const Toy toy(1001);
  const DataLoader host(toy.images, toy.labels, {.batch_size = 32, .seed = 3});
  const DataLoader device(toy.images, toy.labels, {.batch_size = 32, .seed = 3, .device = kCUDA, .prefetch = 2});
  for (int64_t epoch = 0; epoch < 3; ++epoch) {
    EpochBatches on_host = host.epoch(epoch), on_device = device.epoch(epoch);
    int64_t count = 0;
    while (std::optional<Batch> h = on_host.next()) {
      std::optional<Batch> d = on_device.next();
      ASSERT_TRUE(d.has_value());
      EXPECT_EQ(d->images.device(), kCUDA);
      EXPECT_EQ(d->labels.device(), kCUDA);
      // Consume on the device as a training step would, so copies and kernels interleave on the stream.
      EXPECT_EQ(mul(d->images, 1.0).to_vector<float>(), h->images.to_vector<float>());
      EXPECT_EQ(d->labels.to_vector<int64_t>(), h->labels.to_vector<int64_t>());
      ++count;
    }
    EXPECT_FALSE(on_device.next().has_value());
    EXPECT_EQ(count, 32);
  }
  // A transform's replacement (pageable) tensors take the synchronous path; early stops stay clean.
  DataLoaderOptions options{.batch_size = 16, .shuffle = false, .device = kCUDA};
  options.transform = [](Batch& batch) { batch.images = mul(batch.images, 2.0); };
  EpochBatches batches = DataLoader(toy.images, toy.labels, options).epoch(0, 2);
  const Batch b = *batches.next();
  EXPECT_EQ(b.images.device(), kCUDA);
  EXPECT_EQ(b.images.to_vector<float>()[0], 64.0f);  // example 32, doubled
  // Staging buffers hold at most the whole data set, however large the batch size.
  EpochBatches whole = DataLoader(toy.images, toy.labels, {.batch_size = int64_t{1} << 40, .device = kCUDA}).epoch(0);
  EXPECT_EQ(whole.next()->labels.size(0), 1001);
  EXPECT_FALSE(whole.next().has_value());
}

}  // namespace
}  // namespace trifecta
