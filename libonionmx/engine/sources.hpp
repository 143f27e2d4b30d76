// sources.hpp - the registry of sources: name -> factory.
//
// A source is added to onionmx by one entry here (engine/sources.cpp); its
// name, spelled once as its class's kName, is what resolver.order, the
// configuration's error messages and the JSON `source` field use.  The
// registry's order is the default chain (resolver.order unset).
#pragma once

#include <memory>
#include <span>
#include <string_view>
#include <vector>

#include "base/clock.hpp"
#include "base/log.hpp"
#include "base/result.hpp"
#include "config/config.hpp"
#include "event/loop.hpp"
#include "source/source.hpp"

namespace onionmx::engine {

// What a factory may use; everything outlives the source it builds.
struct SourceContext {
  event::Loop& loop;
  const config::Config& config;
  const base::LogSink& log;
  const base::Clock& clock;
};

using SourceFactory = base::Result<std::unique_ptr<source::Source>> (*)(const SourceContext&);

struct SourceEntry {
  std::string_view name;
  SourceFactory make;
};

std::span<const SourceEntry> source_registry() noexcept;
std::span<const std::string_view> source_names() noexcept;

// The chain config.resolver.order names (the registry's order if unset).
[[nodiscard]] base::Result<std::vector<std::unique_ptr<source::Source>>> build_sources(
    const SourceContext& ctx);

}  // namespace onionmx::engine
