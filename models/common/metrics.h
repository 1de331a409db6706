// metrics.jsonl: one JSON object per line, flushed as written, so a killed run keeps every line it
// reported. A resumed run first drops the lines a killed run wrote past its last checkpoint (their steps
// will be run, and logged, again), so the file never holds a step twice.
#pragma once

#include <cstdio>
#include <string>

#include "tensor/json.h"

namespace trifecta {

class MetricsLog {
 public:
  // resume_step < 0 starts a new file; otherwise keeps the lines whose "step" is at most resume_step.
  MetricsLog(const std::string& path, int64_t resume_step);
  ~MetricsLog();
  MetricsLog(const MetricsLog&) = delete;
  MetricsLog& operator=(const MetricsLog&) = delete;

  void write(const Json& line);

 private:
  std::string path_;
  std::FILE* file_ = nullptr;
};

}  // namespace trifecta
