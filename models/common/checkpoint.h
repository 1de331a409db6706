// Training checkpoints: one safetensors file holding the model ("model.<name>"), the optimizer state
// ("optimizer.<name>") and, in the metadata, the step, the data position, the random generator state, the
// model kind and the run's configuration. PyTorch reads it with safetensors.torch.load_file. Written
// atomically, so a run killed mid-save keeps its previous checkpoint intact; resuming restores every piece
// of state, so N steps straight and N/2 + resume + N/2 end bit-identical.
#pragma once

#include <string>

#include "tensor/json.h"
#include "tensor/random.h"
#include "tensor/safetensors.h"

namespace trifecta {

struct TrainingPosition {
  int64_t step = 0;   // optimizer steps taken
  int64_t epoch = 0;  // data position: the next batch is batch `batch` of epoch `epoch`
  int64_t batch = 0;
  GeneratorState rng;  // the default generator (sampling noise, dropout)
};

struct Checkpoint {
  std::string model_kind;  // e.g. "vae-conv-bernoulli": loading into another model is an error
  NamedTensors model;
  NamedTensors optimizer;
  TrainingPosition position;
  Json config;  // the flags of the run that wrote it
};

void save_checkpoint(const std::string& path, const Checkpoint& checkpoint);
// Loads and validates; a corrupt file is an Error naming the file. The first form reads a checkpoint of any
// model kind, for callers that learn the model from its recorded config; they check the kind themselves.
Checkpoint load_checkpoint(const std::string& path);
// One written by another model kind is an Error naming the file and both kinds.
void require_model_kind(const Checkpoint& checkpoint, const std::string& path, const std::string& expected_model_kind);
Checkpoint load_checkpoint(const std::string& path, const std::string& expected_model_kind);

}  // namespace trifecta
