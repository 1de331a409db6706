// Where a model binary's command runs and how its randomness is seeded: the --device and --threads flags
// every command has, and the random streams a training run derives from its --seed.
#pragma once

#include <cstdint>

#include "models/common/flags.h"
#include "tensor/device.h"

namespace trifecta {

// Declares --device (cpu, cuda, auto) and --threads. Both describe this invocation, not the run, so a resumed
// run takes them from its own command line, never from the checkpoint.
void add_runtime_flags(Flags& flags);
// The device --device names; asking for cuda where there is none is an Error saying why.
Device select_device(const Flags& flags);
// Sets the CPU thread count from --threads (0 keeps every core).
void apply_threads(const Flags& flags);

// A training run's random streams, one Philox key each, all derived from --seed so that one number
// reproduces the run: the data order (data/loader.h), the initial weights, the training noise
// (reparameterization samples, dropout; saved in every checkpoint so a resumed run draws what the
// uninterrupted one would) and the evaluation noise (a fresh generator for every evaluation, so evaluating
// never shifts the training stream). bench/reference/vae_torch.py derives the same numbers.
struct Seeds {
  explicit Seeds(uint64_t seed);
  uint64_t data, init, noise, eval;
};

}  // namespace trifecta
