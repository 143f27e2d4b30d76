// guarded_main.hpp - the tools' main() around their real work.
//
// Nothing may escape main (clang-tidy bugprone-exception-escape): an
// unexpected exception, in practice an allocation failure, is reported on
// stderr and ends the tool with its failure status instead of an abort.
// Header-only and std-only, so onionmx-lookup still uses nothing but the
// public API.
#pragma once

#include <cstdio>
#include <exception>

namespace onionmx::tools {

template <class Run>
int guarded_main(const char* tool, int failure_status, Run&& run) noexcept {
  try {
    return run();
  } catch (const std::exception& e) {
    std::fprintf(stderr, "%s: internal error: %s\n", tool, e.what());
  } catch (...) {
    std::fprintf(stderr, "%s: internal error\n", tool);
  }
  return failure_status;
}

}  // namespace onionmx::tools
