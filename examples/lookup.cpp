// lookup.cpp - the C++ API (onionmx.hpp): concurrent lookups, JSON answers.
//
//   c++ -std=c++20 lookup.cpp $(pkg-config --cflags --libs onionmx) -o lookup-cpp
//   ./lookup-cpp user@example.org other.example
#include <cstdio>
#include <onionmx/onionmx.hpp>
#include <vector>

int main(int argc, char** argv) {
  try {
    onionmx::Context ctx({.timeout_ms = 2000});
    std::vector<onionmx::Lookup> answers(static_cast<std::size_t>(argc > 1 ? argc - 1 : 0));
    for (int i = 1; i < argc; ++i) {
      int rc = ctx.lookup_async(argv[i], [&answers, i](onionmx::Lookup r) {
        answers[static_cast<std::size_t>(i - 1)] = std::move(r);
      });
      if (rc != ONIONMX_OK) return 2;
    }
    ctx.run();
    for (const auto& a : answers) std::puts(a.formatted(onionmx::Format::Json).c_str());
  } catch (const onionmx::Error& e) {
    std::fprintf(stderr, "onionmx: %s\n", e.what());
    return 2;
  }
  return 0;
}
