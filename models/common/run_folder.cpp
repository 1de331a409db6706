// The run folder's lock, clean-up and clobbering rules, and the recorded flags of a resumed run.
#include "models/common/run_folder.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/file.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>

#include "tensor/error.h"
#include "tensor/safetensors.h"

namespace trifecta {

namespace fs = std::filesystem;

namespace {

// The writer's pid when name is "<file>.tmp.<pid>", the temporary of write_file_atomically; else 0.
pid_t temporary_writer(const std::string& name) {
  const size_t mark = name.rfind(".tmp.");
  if (mark == std::string::npos || mark == 0) return 0;
  const std::string digits = name.substr(mark + 5);
  if (digits.empty() || digits.size() > 9 || digits.find_first_not_of("0123456789") != std::string::npos) return 0;
  return static_cast<pid_t>(std::stol(digits));
}

// kill(pid, 0) delivers nothing; it only asks whether the process exists (EPERM: it does, as another user's).
bool process_alive(pid_t pid) { return ::kill(pid, 0) == 0 || errno == EPERM; }

}  // namespace

RunFolder::RunFolder(Flags& flags, const std::vector<std::string>& model_outputs) : path_(flags.get_string("out")) {
  const std::string& command = flags.command();
  const bool resume = flags.get_bool("resume"), overwrite = flags.get_bool("overwrite");
  TRIFECTA_CHECK(!(resume && overwrite), command, "--resume continues the run in ", path_,
                 " and --overwrite deletes it: give one of them");
  TRIFECTA_CHECK(!path_.empty(), command + " --out", "must name a folder");
  std::error_code error;
  fs::create_directories(path_, error);
  TRIFECTA_CHECK(!error && fs::is_directory(path_), command + " --out", "cannot create the folder ", path_, ": ",
                 error ? error.message() : "a file of that name exists");
  lock(command);
  remove_stale_temporaries();

  std::vector<std::string> run_files = {kCheckpoint, kInitialWeights, kMetrics, kPlot};
  run_files.insert(run_files.end(), model_outputs.begin(), model_outputs.end());
  if (resume) {
    const std::string checkpoint = checkpoint_path();
    TRIFECTA_CHECK(fs::exists(checkpoint), command + " --resume", "no checkpoint at ", checkpoint);
    const TensorFile file = load_safetensors(checkpoint);
    const auto config = file.metadata.find("config");
    TRIFECTA_CHECK(config != file.metadata.end(), checkpoint, "not a trifecta checkpoint: no config");
    flags.resume_from(json::parse(config->second, checkpoint + " (config)"), checkpoint);
    resuming_ = true;
    return;
  }
  for (const std::string& name : {std::string(kCheckpoint), std::string(kMetrics), std::string(kInitialWeights)})
    TRIFECTA_CHECK(overwrite || !fs::exists(file(name)), command, path_, " already holds a run (", name,
                   "): pass --resume to continue it or --overwrite to replace it");
  for (const std::string& name : run_files) {
    fs::remove(file(name), error);
    TRIFECTA_CHECK(!error, command + " --overwrite", "cannot delete ", file(name), ": ", error.message());
  }
}

RunFolder::Lock::~Lock() {
  if (fd >= 0) ::close(fd);
}

std::string RunFolder::checkpoint_in(const std::string& folder) {
  return (fs::path(folder) / kCheckpoint).string();
}

std::string RunFolder::file(const std::string& name) const { return (fs::path(path_) / name).string(); }

void RunFolder::lock(const std::string& command) {
  const std::string path = file(kLock);
  lock_.fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
  TRIFECTA_CHECK(lock_.fd >= 0, command, "cannot open the lock ", path, ": ", std::strerror(errno));
  if (::flock(lock_.fd, LOCK_EX | LOCK_NB) != 0) {
    const int reason = errno;
    std::ifstream in(path);
    std::string holder;
    std::getline(in, holder);
    TRIFECTA_CHECK(reason != EWOULDBLOCK, command, "another training run (pid ", holder.empty() ? "unknown" : holder,
                   ") is using ", path_, ": wait for it to finish or train into another --out");
    TRIFECTA_FAIL(command, "cannot lock ", path, ": ", std::strerror(reason));
  }
  // For the message a second run prints; the lock itself is the flock, not this text.
  const std::string pid = std::to_string(::getpid()) + "\n";
  TRIFECTA_CHECK(::ftruncate(lock_.fd, 0) == 0 && ::pwrite(lock_.fd, pid.data(), pid.size(), 0) ==
                                                     static_cast<ssize_t>(pid.size()),
                 command, "cannot write ", path, ": ", std::strerror(errno));
}

void RunFolder::remove_stale_temporaries() {
  for (const fs::directory_entry& entry : fs::directory_iterator(path_)) {
    const pid_t writer = temporary_writer(entry.path().filename().string());
    if (writer == 0 || (writer != ::getpid() && process_alive(writer))) continue;
    std::error_code error;
    fs::remove(entry.path(), error);
    if (!error) std::fprintf(stderr, "removed %s, left by a write that was killed\n", entry.path().c_str());
  }
}

}  // namespace trifecta
