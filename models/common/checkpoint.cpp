// Checkpoint files: prefixes separate model and optimizer tensors; scalars travel as metadata strings.
#include "models/common/checkpoint.h"

#include <charconv>
#include <system_error>

namespace trifecta {

namespace {
constexpr const char* kFormat = "trifecta-checkpoint-1";
const std::string kModelPrefix = "model.", kOptimizerPrefix = "optimizer.";

const std::string& metadata(const TensorFile& file, const std::string& key) {
  const auto it = file.metadata.find(key);
  TRIFECTA_CHECK(it != file.metadata.end(), file.path, "not a trifecta checkpoint: metadata '", key, "' is missing");
  return it->second;
}

// A metadata entry holding a whole number of type Int: all of it, and within Int's range.
template <class Int>
Int metadata_integer(const TensorFile& file, const std::string& key) {
  const std::string& text = metadata(file, key);
  Int value{};
  const auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), value);
  TRIFECTA_CHECK(error == std::errc() && end == text.data() + text.size() && !text.empty(), file.path, "metadata '",
                 key, "' is not an integer of the expected range: '", text, "'");
  return value;
}
}  // namespace

void save_checkpoint(const std::string& path, const Checkpoint& checkpoint) {
  NamedTensors tensors;
  for (const auto& [name, t] : checkpoint.model) tensors.emplace_back(kModelPrefix + name, t);
  for (const auto& [name, t] : checkpoint.optimizer) tensors.emplace_back(kOptimizerPrefix + name, t);
  const TrainingPosition& p = checkpoint.position;
  save_safetensors(path, tensors,
                   {{"format", kFormat},
                    {"model_kind", checkpoint.model_kind},
                    {"step", std::to_string(p.step)},
                    {"epoch", std::to_string(p.epoch)},
                    {"batch", std::to_string(p.batch)},
                    {"rng_seed", std::to_string(p.rng.seed)},
                    {"rng_offset", std::to_string(p.rng.offset)},
                    {"config", json::dump(checkpoint.config, path + " (config)")}});
}

Checkpoint load_checkpoint(const std::string& path) {
  const TensorFile file = load_safetensors(path);
  const auto format = file.metadata.find("format");
  TRIFECTA_CHECK(format != file.metadata.end() && format->second == kFormat, path,
                 "not a trifecta checkpoint (format '", format == file.metadata.end() ? "none" : format->second, "')");
  Checkpoint c;
  c.model_kind = metadata(file, "model_kind");
  c.position.step = metadata_integer<int64_t>(file, "step");
  c.position.epoch = metadata_integer<int64_t>(file, "epoch");
  c.position.batch = metadata_integer<int64_t>(file, "batch");
  TRIFECTA_CHECK(c.position.step >= 0 && c.position.epoch >= 0 && c.position.batch >= 0, path,
                 "negative training position: step ", c.position.step, ", epoch ", c.position.epoch, ", batch ",
                 c.position.batch);
  c.position.rng = {metadata_integer<uint64_t>(file, "rng_seed"), metadata_integer<uint64_t>(file, "rng_offset")};
  c.config = json::parse(metadata(file, "config"), path + " (config)");
  for (const auto& [name, t] : file.tensors) {
    if (name.rfind(kModelPrefix, 0) == 0) c.model.emplace_back(name.substr(kModelPrefix.size()), t);
    else if (name.rfind(kOptimizerPrefix, 0) == 0) c.optimizer.emplace_back(name.substr(kOptimizerPrefix.size()), t);
    else TRIFECTA_FAIL(path, "unexpected tensor '", name, "' in a checkpoint");
  }
  return c;
}

void require_model_kind(const Checkpoint& checkpoint, const std::string& path, const std::string& expected_model_kind) {
  TRIFECTA_CHECK(checkpoint.model_kind == expected_model_kind, path, "holds a '", checkpoint.model_kind,
                 "' model, not '", expected_model_kind, "'");
}

Checkpoint load_checkpoint(const std::string& path, const std::string& expected_model_kind) {
  Checkpoint checkpoint = load_checkpoint(path);
  require_model_kind(checkpoint, path, expected_model_kind);
  return checkpoint;
}

}  // namespace trifecta
