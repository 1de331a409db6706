// In-place writes: a destination whose elements share memory (an expanded view, an overlapping as_strided
// layout) is refused with an Error naming the op, since threads writing one slot from several elements race
// (add_) or count twice; a refused write leaves the storage version unchanged; the overlap test itself
// (tensor/overlap.h) on the layouts views produce.
#include <gtest/gtest.h>

#include <functional>
#include <string>

#include "autograd/ops.h"
#include "optim/functional.h"
#include "tensor/overlap.h"
#include "tests/harness/expect_error.h"

namespace trifecta::testing {
namespace {

uint64_t version_of(const Tensor& t) { return t.storage()->version(); }

// Expects write(t) to throw an Error starting with "op:" that mentions parts, and to leave t's version as it was.
void expect_refused(const Tensor& t, const std::function<void()>& write, std::string_view op,
                    std::initializer_list<std::string_view> parts) {
  const uint64_t before = version_of(t);
  const std::string message = error_message(write);
  EXPECT_EQ(message.rfind(std::string(op) + ":", 0), 0u) << "expected the message to start with '" << op << ":': "
                                                          << message;
  for (const std::string_view part : parts)
    EXPECT_NE(message.find(part), std::string::npos) << "expected '" << part << "' in: " << message;
  EXPECT_EQ(version_of(t), before) << op << " bumped the version of a tensor it refused to write";
}

TEST(InPlace, EveryInPlaceOpRefusesAnExpandedDestination) {
  const Tensor base = zeros({1, 3});
  const Tensor expanded = base.expand({4, 3});  // four rows, one row of memory
  const Tensor other = ones({4, 3});
  const char* why = "share memory";
  expect_refused(base, [&] { add_(expanded, other); }, "add_", {why, "[4, 3]"});
  expect_refused(base, [&] { sub_(expanded, other); }, "sub_", {why});
  expect_refused(base, [&] { mul_(expanded, other); }, "mul_", {why});
  expect_refused(base, [&] { mul_(expanded, 2.0); }, "mul_", {why});
  expect_refused(base, [&] { copy_(expanded, other); }, "copy_", {why});
  expect_refused(base, [&] { fill_(expanded, 1.0); }, "fill_", {why});
  expect_refused(base, [&] { zero_(expanded); }, "zero_", {why});
  expect_refused(base, [&] { uniform_(expanded, 0.0, 1.0); }, "uniform_", {why});
  expect_refused(base, [&] { normal_(expanded, 0.0, 1.0); }, "normal_", {why});
  expect_refused(base, [&] { masked_fill_(expanded, ones({4, 3}, DType::Bool), 1.0); }, "masked_fill_", {why});
  // Nothing was written: add_ into the expanded view would have added four rows into one.
  EXPECT_EQ(base.to_vector<float>(), std::vector<float>(3, 0.0f));
}

TEST(InPlace, AnOverlappingStridedLayoutIsRefusedToo) {
  const Tensor storage = zeros({6});
  // Rows start one element apart but are three long: elements (0, 1) and (1, 0) are the same slot.
  const Tensor overlapping = as_strided(storage, {3, 3}, {1, 1}, 0);
  expect_refused(storage, [&] { add_(overlapping, ones({3, 3})); }, "add_", {"share memory"});
  expect_refused(storage, [&] { copy_(overlapping, ones({3, 3})); }, "copy_", {"share memory"});
}

TEST(InPlace, LayoutsOfDistinctElementsAreStillWritable) {
  // Transposed, strided and sliced views of a dense tensor name every slot at most once.
  Tensor x = arange(0.0, 12.0, 1.0, DType::Float32).reshape({3, 4});
  add_(x.t(), ones({4, 3}));
  add_(x.slice(1, 0, 4, 2), ones({3, 2}));
  mul_(x.select(0, 1), 2.0);
  EXPECT_EQ(x.to_vector<float>(), (std::vector<float>{2, 2, 4, 4, 12, 12, 16, 16, 10, 10, 12, 12}));
  // A size-1 dim may have any stride (here 0) and still name each slot once.
  Tensor row = zeros({1, 4});
  add_(row.expand({1, 4}), ones({1, 4}));
  EXPECT_EQ(row.to_vector<float>(), std::vector<float>(4, 1.0f));
}

TEST(InPlace, ARefusedWriteOfAnyKindLeavesTheVersionUnchanged) {
  const Tensor x = zeros({2, 3});
  const Tensor xi = zeros({2, 3}, DType::Int64);
  const Tensor flags = zeros({2, 3}, DType::Bool);
  expect_refused(x, [&] { add_(x, ones({4})); }, "add_", {"cannot be broadcast"});
  expect_refused(x, [&] { add_(x, ones({3, 2, 3})); }, "add_", {"does not broadcast"});
  expect_refused(x, [&] { add_(x, Tensor()); }, "add_", {"undefined"});
  expect_refused(xi, [&] { mul_(xi, 0.5); }, "mul_", {"float32", "int64"});
  expect_refused(xi, [&] { add_(xi, ones({2, 3})); }, "add_", {"float32", "int64"});
  expect_refused(flags, [&] { add_(flags, flags); }, "add_", {"bool"});
  expect_refused(x, [&] { copy_(x, Tensor()); }, "copy_", {"undefined"});
  expect_refused(x, [&] { uniform_(x, 1.0, 0.0); }, "uniform_", {"must not exceed"});
  expect_refused(x, [&] { normal_(x, 0.0, -1.0); }, "normal_", {"non-negative"});
  expect_refused(xi, [&] { uniform_(xi, 0.0, 1.0); }, "uniform_", {"int64"});
  expect_refused(xi, [&] { fill_(xi, std::nan("")); }, "fill_", {"int64"});
  expect_refused(x, [&] { masked_fill_(x, ones({2, 3}), 1.0); }, "masked_fill_", {"bool"});
  const Tensor leaf = zeros({3}).requires_grad_();
  expect_refused(leaf, [&] { mul_(leaf, 2.0); }, "mul_", {"requires grad"});
}

TEST(InPlace, AnAcceptedWriteBumpsTheVersion) {
  const Tensor x = zeros({2, 3});
  uint64_t version = version_of(x);
  for (const auto& write : std::vector<std::function<void()>>{
           [&] { add_(x, ones({3})); }, [&] { mul_(x, 2.0); }, [&] { fill_(x, 1.0); }, [&] { copy_(x, ones({2, 3})); },
           [&] { masked_fill_(x, ones({3}, DType::Bool), 0.0); }}) {
    write();
    EXPECT_GT(version_of(x), version);
    version = version_of(x);
  }
}

TEST(InPlace, TheOptimizerAndTheInPlaceOpsShareOneOverlapCheck) {
  const Tensor param = zeros({1}).expand({4});
  const std::string optimizer = error_message([&] { optim::sgd_step_(param, ones({4}), Tensor(), {.lr = 0.1}); });
  const std::string elementwise = error_message([&] { add_(param, ones({4})); });
  // Both name their op, then give the one wording of tensor/overlap.h.
  EXPECT_EQ(optimizer.rfind("sgd_step:", 0), 0u) << optimizer;
  EXPECT_EQ(elementwise.rfind("add_:", 0), 0u) << elementwise;
  const std::string wording = "has elements that share memory (an expanded view?)";
  EXPECT_NE(optimizer.find(wording), std::string::npos) << optimizer;
  EXPECT_NE(elementwise.find(wording), std::string::npos) << elementwise;
}

TEST(Overlap, SelfOverlapOfViewLayouts) {
  const Tensor x = zeros({4, 5, 6});
  EXPECT_FALSE(overlaps_itself(x));
  EXPECT_FALSE(overlaps_itself(x.permute({2, 0, 1})));
  EXPECT_FALSE(overlaps_itself(x.slice(2, 1, 6, 2)));
  EXPECT_FALSE(overlaps_itself(x.select(1, 3)));
  EXPECT_FALSE(overlaps_itself(zeros({})));
  EXPECT_FALSE(overlaps_itself(zeros({0, 3}).expand({0, 3})));   // no elements, nothing to share
  EXPECT_FALSE(overlaps_itself(zeros({1, 6}).expand({1, 6})));   // a stride-0 dim of size 1 is harmless
  EXPECT_TRUE(overlaps_itself(zeros({1, 6}).expand({2, 6})));
  EXPECT_TRUE(overlaps_itself(zeros({6}).unsqueeze(1).expand({6, 3})));
  EXPECT_TRUE(overlaps_itself(as_strided(zeros({8}), {2, 4}, {2, 1}, 0)));  // rows 2 apart, 4 long
  EXPECT_FALSE(overlaps_itself(as_strided(zeros({8}), {2, 4}, {4, 1}, 0)));
}

TEST(Overlap, SharedMemoryBetweenTwoViews) {
  const Tensor x = zeros({10});
  EXPECT_TRUE(share_memory(x, x));
  EXPECT_TRUE(share_memory(x.slice(0, 0, 6), x.slice(0, 5, 10)));
  EXPECT_FALSE(share_memory(x.slice(0, 0, 5), x.slice(0, 5, 10)));
  EXPECT_FALSE(share_memory(x, zeros({10})));
  EXPECT_FALSE(share_memory(x.slice(0, 0, 0), x));  // empty
}

}  // namespace
}  // namespace trifecta::testing
