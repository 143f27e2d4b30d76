// standalone_main.cpp - replay fuzz corpora without libFuzzer.
//
// Like c-ares test/ares-fuzz.c and libgit2 fuzzers/standalone_driver.c: each
// argument is a file or a directory; every regular file of a directory (not
// recursive, in name order) is handed once to LLVMFuzzerTestOneInput in an
// exactly-sized heap buffer, so ASan sees any over-read.  Each input's name
// goes to stderr before it runs, so a crash names its reproducer.  Exit
// status 1 if a path is missing or nothing ran.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <memory>
#include <string>
#include <system_error>
#include <vector>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size);

namespace {

namespace fs = std::filesystem;

bool run_file(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    std::fprintf(stderr, "cannot open %s\n", path.c_str());
    return false;
  }
  const std::vector<char> content{std::istreambuf_iterator<char>(in),
                                  std::istreambuf_iterator<char>()};
  if (in.bad()) {
    std::fprintf(stderr, "cannot read %s\n", path.c_str());
    return false;
  }
  std::fprintf(stderr, "%s (%zu bytes)\n", path.c_str(), content.size());
  auto buf = std::make_unique<std::uint8_t[]>(content.size());
  std::copy(content.begin(), content.end(), buf.get());
  LLVMFuzzerTestOneInput(buf.get(), content.size());
  return true;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) {
    std::fprintf(stderr, "usage: %s CORPUS_DIR_OR_FILE...\n", argv[0]);
    return 2;
  }
  std::size_t ran = 0;
  bool ok = true;
  for (int i = 1; i < argc; ++i) {
    const fs::path arg(argv[i]);
    std::error_code ec;
    if (fs::is_directory(arg, ec)) {
      std::vector<fs::path> files;
      for (const auto& entry : fs::directory_iterator(arg, ec))
        if (entry.is_regular_file()) files.push_back(entry.path());
      if (ec) {
        std::fprintf(stderr, "cannot list %s: %s\n", arg.c_str(), ec.message().c_str());
        ok = false;
        continue;
      }
      std::sort(files.begin(), files.end());
      for (const auto& f : files) {
        if (run_file(f))
          ++ran;
        else
          ok = false;
      }
    } else if (fs::is_regular_file(arg, ec)) {
      if (run_file(arg))
        ++ran;
      else
        ok = false;
    } else {
      std::fprintf(stderr, "no such file or directory: %s\n", arg.c_str());
      ok = false;
    }
  }
  std::printf("%zu inputs ran\n", ran);
  return ok && ran > 0 ? 0 : 1;
}
