// Learning-rate and KL-weight schedules: values at known points, their text forms and the errors of bad
// strings. (StepLR and CosineAnnealingLR are also checked against PyTorch in optim_golden_test.cpp.)
#include <gtest/gtest.h>

#include <cmath>
#include <numbers>

#include "optim/kl_schedule.h"
#include "optim/lr_schedule.h"
#include "autograd/ops.h"
#include "optim/sgd.h"

namespace trifecta::optim {
namespace {

#define EXPECT_ERROR_WITH(statement, fragment)                                                  \
  do {                                                                                          \
    try {                                                                                       \
      statement;                                                                                \
      ADD_FAILURE() << "expected an Error containing \"" << (fragment) << "\"";                 \
    } catch (const Error& e) {                                                                  \
      EXPECT_NE(std::string(e.what()).find(fragment), std::string::npos) << e.what();           \
    }                                                                                           \
  } while (0)

// ---- KL weight ----

TEST(KlSchedule, ConstantAndMonotonic) {
  const KlSchedule constant = KlSchedule::parse("constant:0.25");
  EXPECT_EQ(constant.beta(0), 0.25);
  EXPECT_EQ(constant.beta(123456), 0.25);
  const KlSchedule ramp = KlSchedule::parse("monotonic:5000");
  EXPECT_EQ(ramp.beta(0), 0.0);
  EXPECT_EQ(ramp.beta(1), 1.0 / 5000);
  EXPECT_EQ(ramp.beta(2500), 0.5);
  EXPECT_EQ(ramp.beta(4999), 4999.0 / 5000);
  EXPECT_EQ(ramp.beta(5000), 1.0);
  EXPECT_EQ(ramp.beta(99999), 1.0);
}

TEST(KlSchedule, CyclicalFollowsFuEtAl) {
  // T = 10000, M = 4: cycles of 2500 steps, rising over the first 1250 of each.
  const KlSchedule s = KlSchedule::parse("cyclical:T=10000,M=4,R=0.5");
  for (int64_t cycle = 0; cycle < 4; ++cycle) {
    const int64_t start = cycle * 2500;
    SCOPED_TRACE(cycle);
    EXPECT_EQ(s.beta(start), 0.0);             // each cycle starts again from 0
    EXPECT_EQ(s.beta(start + 625), 0.5);       // mid-ramp
    EXPECT_EQ(s.beta(start + 1249), 1249.0 / 1250);
    EXPECT_EQ(s.beta(start + 1250), 1.0);      // end of the ramp
    EXPECT_EQ(s.beta(start + 2499), 1.0);      // the rest of the cycle holds 1
  }
  EXPECT_EQ(s.beta(10000), 1.0);  // after T
  EXPECT_EQ(s.beta(20001), 1.0);
  // Defaults M = 4 and R = 0.5 (the paper's), and a bare value stands for T.
  const KlSchedule defaults = KlSchedule::parse("cyclical:10000");
  EXPECT_EQ(defaults.cycles, 4);
  EXPECT_EQ(defaults.ratio, 0.5);
  EXPECT_EQ(defaults.beta(3125), 0.5);
  // A period that is not a whole number of steps: T = 10, M = 4 gives cycles of 2.5 steps.
  EXPECT_EQ(cyclical_kl_weight(5, 10, 4, 0.5), 0.0);
  EXPECT_EQ(cyclical_kl_weight(6, 10, 4, 0.5), 0.8);
}

TEST(KlSchedule, OneCycleIsTheMonotonicRamp) {
  for (int64_t step : {0, 1, 500, 2999, 3000, 3001, 9999, 10000, 20000})
    EXPECT_EQ(cyclical_kl_weight(step, 10000, 1, 0.3), monotonic_kl_weight(step, 3000)) << step;
}

TEST(KlSchedule, TextFormsReadBack) {
  for (const char* text : {"constant:1", "constant:0.001", "monotonic:5000", "cyclical:T=10000,M=4,R=0.5",
                           "cyclical:T=7,M=3,R=1"}) {
    EXPECT_EQ(KlSchedule::parse(text).str(), text);
  }
}

TEST(KlSchedule, BadStringsAreClearErrors) {
  EXPECT_ERROR_WITH(KlSchedule::parse("linear:100"), "--kl-schedule: unknown KL schedule 'linear' in 'linear:100'");
  EXPECT_ERROR_WITH(KlSchedule::parse("monotonic"), "'monotonic' does not set N");
  EXPECT_ERROR_WITH(KlSchedule::parse("monotonic:"), "nothing follows ':'");
  EXPECT_ERROR_WITH(KlSchedule::parse("monotonic:abc"), "'abc' is not a number");
  EXPECT_ERROR_WITH(KlSchedule::parse("monotonic:10.5"), "N must be a whole number of steps");
  EXPECT_ERROR_WITH(KlSchedule::parse("monotonic:0"), "the ramp needs at least 1 step");
  EXPECT_ERROR_WITH(KlSchedule::parse("constant:-1"), "the constant weight must be non-negative");
  EXPECT_ERROR_WITH(KlSchedule::parse("constant:inf"), "'inf' is not a number");
  EXPECT_ERROR_WITH(KlSchedule::parse("cyclical:M=4"), "does not set T");
  EXPECT_ERROR_WITH(KlSchedule::parse("cyclical:T=100,K=3"), "unknown setting 'K'");
  EXPECT_ERROR_WITH(KlSchedule::parse("cyclical:T=100,T=200"), "T is given twice");
  EXPECT_ERROR_WITH(KlSchedule::parse("cyclical:T=100,R=1.5"), "R must lie in (0, 1]");
  EXPECT_ERROR_WITH(KlSchedule::parse("cyclical:T=100,M=0"), "needs 1 <= M <= T");
  EXPECT_ERROR_WITH(KlSchedule::parse("cyclical:T=100,"), "'' in 'cyclical:T=100,' needs a name");
  EXPECT_ERROR_WITH(KlSchedule::parse("cyclical:100,4"), "needs a name");
  EXPECT_ERROR_WITH(monotonic_kl_weight(-1, 10), "the step must be non-negative");
}

// ---- learning rate ----

TEST(LrSchedule, ValuesAtKnownPoints) {
  EXPECT_EQ(LrSchedule::parse("constant").lr(1000, 0.1), 0.1);

  const LrSchedule step = LrSchedule::parse("step:step_size=3,gamma=0.5");
  EXPECT_EQ(step.lr(2, 0.1), 0.1);
  EXPECT_EQ(step.lr(3, 0.1), 0.05);
  EXPECT_EQ(step.lr(7, 0.1), 0.025);

  const LrSchedule cosine = LrSchedule::parse("cosine:T_max=100,eta_min=0.001,warmup=10");
  EXPECT_DOUBLE_EQ(cosine.lr(0, 0.1), 0.01);    // warm-up: (0 + 1) / 10
  EXPECT_DOUBLE_EQ(cosine.lr(9, 0.1), 0.1);     // end of warm-up
  EXPECT_DOUBLE_EQ(cosine.lr(10, 0.1), 0.1);    // start of the decay
  EXPECT_DOUBLE_EQ(cosine.lr(55, 0.1), 0.0505); // halfway: the mean of base and eta_min
  EXPECT_DOUBLE_EQ(cosine.lr(100, 0.1), 0.001);
  EXPECT_DOUBLE_EQ(cosine.lr(500, 0.1), 0.001); // held after T_max
  EXPECT_DOUBLE_EQ(cosine_lr(1.0, 25, 100), (1 + std::cos(std::numbers::pi / 4)) / 2);

  const LrSchedule warmup = LrSchedule::parse("warmup:4");
  EXPECT_EQ(warmup.lr(0, 1.0), 0.25);
  EXPECT_EQ(warmup.lr(3, 1.0), 1.0);
  EXPECT_EQ(warmup.lr(40, 1.0), 1.0);

  // Vaswani et al.: d^-0.5 * min(s^-0.5, s * W^-1.5); the peak, d^-0.5 * W^-0.5, is at s = W.
  const LrSchedule noam = LrSchedule::parse("inverse_sqrt:d_model=512,warmup=4000");
  EXPECT_DOUBLE_EQ(noam.lr(0, 1.0), 1.0 / std::sqrt(512.0) / std::pow(4000.0, 1.5));
  EXPECT_DOUBLE_EQ(noam.lr(3999, 1.0), 1.0 / std::sqrt(512.0 * 4000.0));
  EXPECT_DOUBLE_EQ(noam.lr(15999, 2.0), 2.0 / std::sqrt(512.0 * 16000.0));
}

TEST(LrSchedule, AppliesToEveryGroupFromItsInitialRate) {
  Tensor a = zeros({1}).requires_grad_(), b = zeros({1}).requires_grad_();
  SGD sgd(std::vector<ParamGroupOptions>{{unnamed({a}), 0.1, {}}, {unnamed({b}), 1.0, {}}});
  const LrSchedule s = LrSchedule::parse("step:step_size=2,gamma=0.1");
  s.apply(sgd, 2);
  s.apply(sgd, 2);  // a function of the step, not of the current lr: applying twice changes nothing
  EXPECT_DOUBLE_EQ(sgd.param_groups()[0].lr, 0.01);
  EXPECT_DOUBLE_EQ(sgd.param_groups()[1].lr, 0.1);
}

TEST(LrSchedule, TextFormsReadBack) {
  for (const char* text : {"constant", "step:step_size=1000,gamma=0.5", "cosine:T_max=10000,eta_min=1e-05,warmup=500",
                           "warmup:500", "inverse_sqrt:d_model=512,warmup=4000"}) {
    EXPECT_EQ(LrSchedule::parse(text).str(), text);
  }
  EXPECT_EQ(LrSchedule::parse("step:1000,gamma=0.5").str(), "step:step_size=1000,gamma=0.5");  // a bare first value
}

TEST(LrSchedule, BadStringsAreClearErrors) {
  EXPECT_ERROR_WITH(LrSchedule::parse("exponential:0.9"), "--lr-schedule: unknown learning-rate schedule 'exponential'");
  EXPECT_ERROR_WITH(LrSchedule::parse("constant:3"), "'3' in 'constant:3' needs a name");
  EXPECT_ERROR_WITH(LrSchedule::parse("cosine:T_max=100,warmup=100"), "T_max (100) must exceed the warm-up steps (100)");
  EXPECT_ERROR_WITH(LrSchedule::parse("step:0"), "step_size must be at least 1");
  EXPECT_ERROR_WITH(LrSchedule::parse("step:10,gamma=0"), "gamma must be positive");
  EXPECT_ERROR_WITH(LrSchedule::parse("inverse_sqrt:d_model=512"), "does not set warmup");
  EXPECT_ERROR_WITH(LrSchedule::parse("warmup:1e30"), "must be a whole number of steps");
}

}  // namespace
}  // namespace trifecta::optim
