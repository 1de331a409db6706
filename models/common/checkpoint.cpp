// Checkpoint files: prefixes separate model and optimizer tensors; scalars travel as metadata strings.
#include "models/common/checkpoint.h"

namespace trifecta {

namespace {
constexpr const char* kFormat = "trifecta-checkpoint-1";
const std::string kModelPrefix = "model.", kOptimizerPrefix = "optimizer.";

int64_t metadata_int(const TensorFile& file, const std::string& key) {
  const auto it = file.metadata.find(key);
  TRIFECTA_CHECK(it != file.metadata.end(), file.path, "not a trifecta checkpoint: metadata '", key, "' is missing");
  try {
    size_t used = 0;
    const long long v = std::stoll(it->second, &used);
    TRIFECTA_CHECK(used == it->second.size(), file.path, "metadata '", key, "' is not an integer: '", it->second, "'");
    return v;
  } catch (const std::logic_error&) {
    TRIFECTA_FAIL(file.path, "metadata '", key, "' is not an integer: '", it->second, "'");
  }
}

uint64_t metadata_uint(const TensorFile& file, const std::string& key) {
  const auto it = file.metadata.find(key);
  TRIFECTA_CHECK(it != file.metadata.end(), file.path, "not a trifecta checkpoint: metadata '", key, "' is missing");
  try {
    size_t used = 0;
    const unsigned long long v = std::stoull(it->second, &used);
    TRIFECTA_CHECK(used == it->second.size(), file.path, "metadata '", key, "' is not an integer: '", it->second, "'");
    return v;
  } catch (const std::logic_error&) {
    TRIFECTA_FAIL(file.path, "metadata '", key, "' is not an integer: '", it->second, "'");
  }
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
                    {"config", checkpoint.config.dump()}});
}

Checkpoint load_checkpoint(const std::string& path, const std::string& expected_model_kind) {
  const TensorFile file = load_safetensors(path);
  const auto format = file.metadata.find("format");
  TRIFECTA_CHECK(format != file.metadata.end() && format->second == kFormat, path,
                 "not a trifecta checkpoint (format '", format == file.metadata.end() ? "none" : format->second, "')");
  Checkpoint c;
  c.model_kind = file.metadata.at("model_kind");
  TRIFECTA_CHECK(c.model_kind == expected_model_kind, path, "holds a '", c.model_kind, "' model, not '",
                 expected_model_kind, "'");
  c.position.step = metadata_int(file, "step");
  c.position.epoch = metadata_int(file, "epoch");
  c.position.batch = metadata_int(file, "batch");
  c.position.rng = {metadata_uint(file, "rng_seed"), metadata_uint(file, "rng_offset")};
  const auto config = file.metadata.find("config");
  TRIFECTA_CHECK(config != file.metadata.end(), path, "not a trifecta checkpoint: no config");
  c.config = Json::parse(config->second, path + " (config)");
  for (const auto& [name, t] : file.tensors) {
    if (name.rfind(kModelPrefix, 0) == 0) c.model.emplace_back(name.substr(kModelPrefix.size()), t);
    else if (name.rfind(kOptimizerPrefix, 0) == 0) c.optimizer.emplace_back(name.substr(kOptimizerPrefix.size()), t);
    else TRIFECTA_FAIL(path, "unexpected tensor '", name, "' in a checkpoint");
  }
  return c;
}

}  // namespace trifecta
