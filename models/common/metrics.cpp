// JSON-lines metrics with truncation on resume.
#include "models/common/metrics.h"

#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>

#include "tensor/error.h"
#include "tensor/safetensors.h"

namespace trifecta {

MetricsLog::MetricsLog(const std::string& path, int64_t resume_step) : path_(path) {
  if (resume_step >= 0) {
    std::ifstream in(path);
    std::ostringstream kept;
    std::string line;
    int number = 0;
    while (std::getline(in, line)) {
      ++number;
      if (line.empty()) continue;
      Json entry;
      try {
        entry = json::parse(line, path + " line " + std::to_string(number));
      } catch (const Error&) {
        break;  // a line cut short by the kill that ended the previous run: it and anything after go
      }
      if (entry.is_object() && entry.contains("step") && json::as_int(json::at(entry, "step", path), path) > resume_step) break;
      kept << line << '\n';
    }
    write_file_atomically(path, kept.str());
  }
  file_ = std::fopen(path.c_str(), resume_step >= 0 ? "a" : "w");
  TRIFECTA_CHECK(file_ != nullptr, path, "cannot open for writing: ", std::strerror(errno));
}

MetricsLog::~MetricsLog() {
  if (file_) std::fclose(file_);
}

void MetricsLog::write(const Json& line) {
  const std::string text = json::dump(line, path_) + "\n";
  TRIFECTA_CHECK(std::fwrite(text.data(), 1, text.size(), file_) == text.size() && std::fflush(file_) == 0, path_,
                 "write failed: ", std::strerror(errno));
}

}  // namespace trifecta
