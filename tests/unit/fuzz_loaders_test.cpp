// The fuzz targets of tests/fuzz/targets.h, replayed in CTest: every committed seed loads, and thousands of
// deterministic mutations of the seeds (truncations, bit flips, lying lengths, huge and negative numbers,
// broken JSON, splices of two seeds) each load something self-consistent or throw trifecta::Error. Under
// scripts/sanitize.sh, AddressSanitizer and UBSan watch every input. scripts/fuzz.sh runs the same targets
// under libFuzzer, for longer and guided by coverage.
#include <gtest/gtest.h>

#include <algorithm>
#include <array>
#include <cctype>
#include <cstdio>
#include <cstring>
#include <random>
#include <set>
#include <typeinfo>

#include "tests/fuzz/targets.h"

namespace trifecta::fuzz {
namespace {

namespace fs = std::filesystem;

constexpr int kMutantsPerTarget = 2500;
const fs::path kCorpus = "tests/fuzz/corpus";  // unit tests run from the source root

std::string read_file(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string((std::istreambuf_iterator<char>(in)), {});
}

std::vector<std::string> seeds_of(const std::string& target) {
  std::vector<fs::path> paths;
  for (const auto& entry : fs::directory_iterator(kCorpus / target)) paths.push_back(entry.path());
  std::sort(paths.begin(), paths.end());  // directory order is not deterministic
  std::vector<std::string> seeds;
  for (const fs::path& p : paths) seeds.push_back(read_file(p));
  return seeds;
}

// Mutations aimed at the formats: besides blind byte damage, the lies a hostile file would tell (a header
// length, an IDX dimension, a .npy header length, a shape or offset) and the JSON a hand-edited header might hold.
class Mutator {
  // Bytes a parser gives meaning to; words an IDX header might hold; awkward numbers for JSON; dtype names
  // (the seven trifecta reads come first).
  static constexpr std::array<char, 12> kSpecialBytes = {0, '\xff', '\x7f', '\x80', '"', '{', '[', ',', ':', '\\', '-', 'e'};
  static constexpr std::array<uint64_t, 10> kIdxWords = {0,        1,        28,         0x801,      0x803,
                                                         1u << 16, 1u << 24, 0x7fffffff, 0x80000000, 0xffffffff};
  static constexpr std::array<const char*, 14> kNumbers = {
      "0",         "-1",    "1",   "4294967296", "9223372036854775807", "9223372036854775808", "18446744073709551615",
      "18446744073709551616", "2305843009213693952", "100000001", "1e400", "1.5", "-0", "00"};
  static constexpr std::array<const char*, 10> kDtypes = {"\"F32\"", "\"F64\"", "\"I32\"", "\"I64\"", "\"BOOL\"",
                                                          "\"BF16\"", "\"F16\"", "\"U8\"", "\"F8_E4M3\"", "\"\""};
  static constexpr size_t kKnownDtypes = 7;

 public:
  explicit Mutator(uint64_t seed) : rng_(seed) {}

  std::string mutate(std::string bytes, const std::vector<std::string>& seeds) {
    for (size_t rounds = 1 + below(3); rounds > 0; --rounds) bytes = mutate_once(std::move(bytes), seeds);
    return bytes;
  }

 private:
  size_t below(size_t n) { return n == 0 ? 0 : static_cast<size_t>(rng_() % n); }
  template <class T, size_t N>
  const T& pick(const std::array<T, N>& choices) { return choices[below(N)]; }

  std::string mutate_once(std::string b, const std::vector<std::string>& seeds) {
    switch (below(10)) {
      case 0:  // cut short
        b.resize(below(b.size() + 1));
        break;
      case 1:  // flip a few bits
        for (size_t flips = 1 + below(4); flips > 0 && !b.empty(); --flips) b[below(b.size())] ^= char(1 << below(8));
        break;
      case 2:  // a byte that means something to a parser
        if (!b.empty()) b[below(b.size())] = pick(kSpecialBytes);
        break;
      case 3: {  // delete, duplicate or insert a run of bytes
        const size_t at = below(b.size() + 1), length = 1 + below(16);
        const size_t kind = below(3);
        if (kind == 0) b.erase(at, length);
        else if (kind == 1) b.insert(at, b.substr(at, length));
        else b.insert(at, std::string(length, char(below(256))));
        break;
      }
      case 4:  // a lying little-endian length at the start (the safetensors header length)
        write_number(b, 0, 8, false, lie(b.size()));
        break;
      case 5:  // a lying big-endian u32 in the first 16 bytes (the IDX magic number and dims)
        write_number(b, 4 * below(4), 4, true, pick(kIdxWords));
        break;
      case 6:  // a number in JSON text (a shape, an offset, a metadata integer) replaced by an awkward one
        replace_number(b);
        break;
      case 7:  // another dtype name
        replace_dtype(b);
        break;
      case 8: {  // the start of this input and the end of another seed
        const std::string& other = seeds[below(seeds.size())];
        b = b.substr(0, below(b.size() + 1)) + other.substr(below(other.size() + 1));
        break;
      }
      case 9:  // a lying little-endian u16 at byte 8 (the .npy header length)
        write_number(b, 8, 2, false, pick(std::array<uint64_t, 6>{0, 1, 63, 118, b.size(), 0xffff}));
        break;
    }
    return b;
  }

  uint64_t lie(size_t size) {
    return pick(std::array<uint64_t, 12>{0, 1, 7, size - 9, size - 8, size - 7, size, 100'000'000, 100'000'001,
                                         uint64_t{1} << 32, uint64_t{1} << 63, ~uint64_t{0}});
  }

  static void write_number(std::string& b, size_t at, size_t width, bool big_endian, uint64_t value) {
    if (b.size() < at + width) b.resize(at + width, '\0');
    for (size_t i = 0; i < width; ++i) {
      const size_t shift = 8 * (big_endian ? width - 1 - i : i);
      b[at + i] = static_cast<char>((value >> shift) & 0xFF);
    }
  }

  void replace_number(std::string& b) {
    std::vector<std::pair<size_t, size_t>> numbers;  // [begin, end) of each run of digits
    for (size_t i = 0; i < b.size();) {
      if (!std::isdigit(static_cast<unsigned char>(b[i]))) {
        ++i;
        continue;
      }
      size_t end = i;
      while (end < b.size() && std::isdigit(static_cast<unsigned char>(b[end]))) ++end;
      numbers.emplace_back(i, end);
      i = end;
    }
    if (numbers.empty()) return;
    const auto [begin, end] = numbers[below(numbers.size())];
    b.replace(begin, end - begin, pick(kNumbers));
  }

  void replace_dtype(std::string& b) {
    std::vector<std::pair<size_t, size_t>> names;  // [at, length) of each dtype name trifecta reads
    for (size_t k = 0; k < kKnownDtypes; ++k)
      for (size_t at = b.find(kDtypes[k]); at != std::string::npos; at = b.find(kDtypes[k], at + 1))
        names.emplace_back(at, std::strlen(kDtypes[k]));
    if (names.empty()) return;
    const auto [at, length] = names[below(names.size())];
    b.replace(at, length, pick(kDtypes));
  }

  std::mt19937_64 rng_;  // its output sequence is fixed by the standard: the same mutants everywhere
};

TEST(FuzzLoaders, EveryTargetHasSeedsAndEverySeedFolderATarget) {
  std::set<std::string> targets, folders;
  for (const FuzzTarget& t : fuzz_targets()) targets.insert(t.name);
  for (const auto& entry : fs::directory_iterator(kCorpus)) folders.insert(entry.path().filename().string());
  EXPECT_EQ(targets, folders);
  for (const std::string& t : targets) EXPECT_FALSE(seeds_of(t).empty()) << t;
}

// Seeds are valid inputs, so the mutants start from files that reach deep into each loader.
TEST(FuzzLoaders, EveryCommittedSeedLoads) {
  for (const FuzzTarget& target : fuzz_targets()) {
    const std::string path = input_path(target.name);
    for (const std::string& seed : seeds_of(target.name)) {
      write_input(path, seed.data(), seed.size());
      EXPECT_NO_THROW(target.load(path)) << target.name << " seed of " << seed.size() << " bytes";
    }
    fs::remove(path);
  }
}

TEST(FuzzLoaders, MutantsLoadConsistentlyOrFailWithAClearError) {
  int64_t total = 0;
  for (size_t t = 0; t < fuzz_targets().size(); ++t) {
    const FuzzTarget& target = fuzz_targets()[t];
    const std::vector<std::string> seeds = seeds_of(target.name);
    const std::string path = input_path(target.name);
    Mutator mutator(t + 1);
    int loaded = 0, rejected = 0;
    for (int i = 0; i < kMutantsPerTarget; ++i) {
      const std::string input = mutator.mutate(seeds[static_cast<size_t>(i) % seeds.size()], seeds);
      write_input(path, input.data(), input.size());
      try {
        target.load(path);
        ++loaded;
      } catch (const Error&) {
        ++rejected;
      } catch (const std::exception& e) {
        const std::string kept = path + ".failure" + std::to_string(i);
        write_input(kept, input.data(), input.size());
        ADD_FAILURE() << target.name << " mutant " << i << " threw " << typeid(e).name() << ": " << e.what()
                      << " (input kept in " << kept << ")";
      }
    }
    fs::remove(path);
    std::printf("%-12s %d inputs: %d loaded, %d rejected with trifecta::Error\n", target.name.c_str(),
                kMutantsPerTarget, loaded, rejected);
    EXPECT_GT(rejected, 0) << target.name << ": the mutants never reach an error path";
    total += kMutantsPerTarget;
  }
  std::printf("%lld mutated inputs, no crash\n", static_cast<long long>(total));
}

}  // namespace
}  // namespace trifecta::fuzz
