// Training, evaluation, prediction and feature extraction for the classify binary (models/classify/main.cpp).
// Kept apart from the CLI so tests can drive a run directly.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "models/classify/classifier.h"
#include "models/common/command_line.h"

namespace trifecta::classify {

// The classify commands (train, eval, predict, features, export, and fid from fid_command.h), each with its
// own flags.
CommandLine command_line();

struct Evaluation {
  double accuracy;  // fraction of images classified correctly
  double loss;      // mean cross-entropy, nats
  int64_t images;
};

// train: trains from scratch or (--resume) from <out>/checkpoint.safetensors, writing metrics.jsonl and
// checkpoints to --out, and returns the final test evaluation.
Evaluation train(const Flags& flags);

// The model of a checkpoint file (a training checkpoint or an exported one), built from the configuration
// its run recorded, in eval mode on the CPU. Another model's checkpoint is an Error naming the file.
std::unique_ptr<Classifier> load_classifier(const std::string& path);

// Test accuracy and loss of model on images [N, 1, 28, 28] in [0, 1] with int64 labels [N], in eval mode.
Evaluation evaluate(Classifier& model, const Tensor& images, const Tensor& labels);

// Features [N, F] and class probabilities [N, 10] (float32, on the CPU) of images [N, 1, 28, 28] in [0, 1],
// in eval mode, batch_size images at a time.
struct FeaturesAndProbabilities {
  Tensor features, probabilities;
};
FeaturesAndProbabilities features_and_probabilities(Classifier& model, const Tensor& images, int64_t batch_size = 500);

// The commands that read a model (its checkpoint in --out, --checkpoint, or with --feature-net the versioned
// FID-F network): eval prints the test evaluation, predict prints one class per image of --input, features
// writes the penultimate features of --input to --output, export writes the model alone (no optimizer
// state) to --to.
Evaluation evaluate_checkpoint(const Flags& flags);
void predict(const Flags& flags);
void write_features(const Flags& flags);
void export_model(const Flags& flags);

}  // namespace trifecta::classify
