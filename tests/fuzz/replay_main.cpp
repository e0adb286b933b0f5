// Runs a fuzz target without libFuzzer: every file of its seed corpus, then a
// fixed number of deterministic mutations of them (byte flips, insertions,
// truncations, splices). Used by the dev and asan presets so that fuzz targets
// run in every test run; build with clang and -DRINGHOUSE_FUZZ=ON for
// coverage-guided fuzzing with libFuzzer.
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <random>
#include <sstream>
#include <string>
#include <vector>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size);

int main(int argc, char** argv) {
  if (argc < 2) {
    std::fprintf(stderr, "usage: %s CORPUS_DIR [ITERATIONS]\n", argv[0]);
    return 2;
  }
  std::vector<std::string> corpus;
  for (const auto& e : std::filesystem::directory_iterator(argv[1])) {
    std::ifstream in(e.path(), std::ios::binary);
    std::stringstream ss;
    ss << in.rdbuf();
    corpus.push_back(ss.str());
  }
  if (corpus.empty()) corpus.emplace_back();
  long iterations = argc > 2 ? std::stol(argv[2]) : 20000;
  auto run = [](const std::string& s) {
    LLVMFuzzerTestOneInput(reinterpret_cast<const std::uint8_t*>(s.data()), s.size());
  };
  for (const auto& s : corpus) run(s);
  std::mt19937_64 rng(0x52494e47);  // fixed seed: the same inputs every run
  for (long i = 0; i < iterations; ++i) {
    std::string s = corpus[rng() % corpus.size()];
    int edits = 1 + static_cast<int>(rng() % 8);
    for (int k = 0; k < edits; ++k) {
      switch (rng() % 5) {
        case 0:
          if (!s.empty()) s[rng() % s.size()] = static_cast<char>(rng());
          break;
        case 1:
          s.insert(s.begin() + static_cast<long>(s.empty() ? 0 : rng() % s.size()),
                   static_cast<char>(rng()));
          break;
        case 2:
          if (!s.empty()) s.resize(rng() % s.size());
          break;
        case 3: {
          const std::string& other = corpus[rng() % corpus.size()];
          if (!other.empty()) s += other.substr(rng() % other.size());
          break;
        }
        case 4:
          if (!s.empty())
            s.insert(rng() % s.size(), std::string(1 + rng() % 64, s[rng() % s.size()]));
          break;
      }
    }
    run(s);
  }
  std::printf("%zu corpus inputs and %ld mutations ran clean\n", corpus.size(), iterations);
  return 0;
}
