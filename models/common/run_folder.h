// A training run's folder (--out): the checkpoint, init.safetensors, metrics.jsonl and the model's images or
// translations. Opening it for training enforces the rules that keep a run's files whole:
//
//   - One training process at a time: a lock (flock on <out>/train.lock, which the kernel releases when
//     its holder exits or is killed, so a crashed run never leaves it stuck) makes a second run on the same
//     folder refuse, naming the process that holds it.
//   - No silent clobbering: a folder that holds a run is refused unless --resume (continue it) or
//     --overwrite (delete its files first) says what to do with it.
//   - No debris: temporary files that a killed atomic write left behind (<file>.tmp.<pid>, see
//     write_file_atomically in tensor/safetensors.h) are removed when their writer is gone.
//   - With --resume, the checkpoint's recorded flags come back (Flags::resume_from): a flag that defines the
//     run (Flags::OnResume::Keep) given with another value is an Error, one that may change (Adjust) takes
//     the value given now and is recorded at the next checkpoint.
#pragma once

#include <string>
#include <vector>

#include "models/common/flags.h"

namespace trifecta {

class RunFolder {
 public:
  // flags: the train command's, declared by Trainer::add_flags (--out, --resume, --overwrite, --steps,
  // --epochs). model_outputs: the files besides the skeleton's own that the model writes into the folder
  // (samples.png, ...), deleted with the run by --overwrite.
  RunFolder(Flags& flags, const std::vector<std::string>& model_outputs);
  RunFolder(const RunFolder&) = delete;
  RunFolder& operator=(const RunFolder&) = delete;

  const std::string& path() const { return path_; }
  std::string file(const std::string& name) const;  // <out>/<name>
  std::string checkpoint_path() const { return file(kCheckpoint); }
  // The checkpoint of the run in folder, for commands that read a run without taking its lock.
  static std::string checkpoint_in(const std::string& folder);
  bool resuming() const { return resuming_; }

  static constexpr const char* kCheckpoint = "checkpoint.safetensors";
  static constexpr const char* kInitialWeights = "init.safetensors";
  static constexpr const char* kMetrics = "metrics.jsonl";
  static constexpr const char* kPlot = "metrics.png";
  static constexpr const char* kLock = "train.lock";

 private:
  // The open lock file; closing it releases the flock. A member, so that it is also closed when the
  // constructor throws after taking it (a refused --resume must not keep the folder locked).
  struct Lock {
    int fd = -1;
    ~Lock();
  };
  void lock(const std::string& command);
  void remove_stale_temporaries();

  std::string path_;
  Lock lock_;
  bool resuming_ = false;
};

}  // namespace trifecta
