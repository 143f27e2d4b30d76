// map_source.hpp - the "map" source: domains pinned to onions by a signed
// static map (map/signed_map.hpp, docs/map-format.md).  A pinned domain is
// answered from the map and never looked up in DNS; other domains pass.
//
// The map is loaded (signature, trusted keys, rollback, expiry, entries)
// by the engine when it builds a generation, so a bad map fails the whole
// load or reload and the running generation keeps its map.  A map that
// expires while loaded stops answering (its domains pass to the next
// source) and says so once in the log: pins past their date are not
// trusted, and a reload with a fresh map restores them.
#pragma once

#include <memory>
#include <string_view>

#include "base/clock.hpp"
#include "base/log.hpp"
#include "map/static_map.hpp"
#include "source/source.hpp"

namespace onionmx::source {

class MapSource final : public Source {
 public:
  static constexpr std::string_view kName = "map";
  // `map` may be null: no map configured, every domain passes.
  MapSource(std::shared_ptr<const map::StaticMap> map, const base::Clock& clock, base::LogSink log);
  void lookup(const Query& q, StepCallback done) override;

 private:
  bool expired();
  std::shared_ptr<const map::StaticMap> map_;
  const base::Clock& clock_;
  base::LogSink log_;
  bool expiry_logged_ = false;
};

}  // namespace onionmx::source
