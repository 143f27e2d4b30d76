// engine.hpp - configuration + overrides -> sources -> resolver, and the
// atomic reload.  Every front end stands on it: the C API (and through it
// onionmx-lookup and the MTA glue), later onionmxd and onionmx-table.
//
// A generation is one loaded configuration with the sources and resolver
// built from it.  reload() builds a new generation aside and swaps it in
// only if everything loaded; a failed reload returns why and leaves the
// current generation answering.  Lookups already running finish on the
// generation that started them, which is freed once they have all
// answered (from the loop, never inside one of its own callbacks).
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/clock.hpp"
#include "base/log.hpp"
#include "base/result.hpp"
#include "config/config.hpp"
#include "dns/dns_stats.hpp"
#include "event/loop.hpp"
#include "proto/answer_format.hpp"
#include "record/route.hpp"

namespace onionmx::resolver {
class Resolver;
}
namespace onionmx::cache {
class Cache;
}

namespace onionmx::engine {

struct MapInfo;

// Where the configuration comes from.
struct ConfigInput {
  std::optional<std::string> text;  // TOML text, used instead of `path`
  std::string path;                 // empty: built-in defaults
  bool optional = false;            // a `path` that does not exist gives the defaults
};

// Command-line and API overrides, applied over the file on every load.
struct Overrides {
  std::optional<std::vector<std::string>> servers;  // checked with config::check_server
  std::optional<bool> tcp;
  std::optional<dns::Dnssec> dnssec;
  std::optional<std::chrono::milliseconds> timeout;  // dns::kMinTimeout..kMaxTimeout
  std::optional<std::string> map_path;
  std::optional<std::vector<std::string>> trusted_keys;
  std::optional<std::string> state_dir;
  std::optional<std::string> cache_file;  // "" for memory only
  std::optional<std::size_t> cache_size;  // 0 turns the cache off
  bool no_policy = false;                 // [trust] policy = false
  bool no_downgrade_guard = false;        // [trust] downgrade_guard = false
};

// Loads `input` and applies `ov`: the configuration a generation uses.
[[nodiscard]] base::Result<config::Config> load(const ConfigInput& input, const Overrides& ov);

class Engine {
 public:
  // The answer and the answer style of the generation that produced it.
  using Callback =
      std::function<void(record::Answer, const std::shared_ptr<const proto::AnswerStyle>&)>;

  [[nodiscard]] static base::Result<std::unique_ptr<Engine>> create(
      event::Loop& loop, ConfigInput input, Overrides ov, base::LogSink log,
      const base::Clock& clock = base::SystemClock::instance());
  // Pending lookups complete with a temporary failure; a changed cache is
  // saved to its file.
  ~Engine();
  Engine(const Engine&) = delete;
  Engine& operator=(const Engine&) = delete;

  // Re-reads the configuration (same input and overrides); atomic.
  [[nodiscard]] base::Result<void> reload();

  // `done` runs exactly once: at once for answers that need no network,
  // else from the event loop.
  void resolve(std::string_view key, bool explain, Callback done);

  // Lookups not yet answered, over every generation.
  std::size_t pending() const noexcept;
  const config::Config& config() const noexcept;
  // 1 for the first configuration, +1 per successful reload.
  std::uint64_t generation() const noexcept { return generation_; }

  // The cache (docs/cache.md); null when turned off.  It outlives
  // generations: a reload keeps it unless cache.file changes.
  cache::Cache* cache() noexcept { return cache_.get(); }
  // Saves the cache to cache.file now (Inval without a file).
  [[nodiscard]] base::Result<void> save_cache();

  // For onionmx_stats() (engine/stats.hpp): DNS counters over every
  // generation, and the map of the current one.
  const dns::DnsStats& dns_stats() const noexcept { return dns_stats_; }
  const MapInfo& map_info() const noexcept;
  const cache::Cache* cache() const noexcept { return cache_.get(); }

 private:
  struct Generation;
  Engine(event::Loop& loop, ConfigInput input, Overrides ov, base::LogSink log,
         const base::Clock& clock);
  [[nodiscard]] base::Result<std::unique_ptr<Generation>> build() const;
  void reap();

  event::Loop& loop_;
  ConfigInput input_;
  Overrides overrides_;
  base::LogSink log_;
  const base::Clock& clock_;
  [[nodiscard]] base::Result<std::shared_ptr<cache::Cache>> cache_for(
      const config::Config& cfg) const;
  void adopt_cache(std::shared_ptr<cache::Cache> c, const config::Config& cfg);

  std::shared_ptr<cache::Cache> cache_;
  std::unique_ptr<Generation> current_;
  std::vector<std::unique_ptr<Generation>> retired_;
  std::unique_ptr<event::Timer> reaper_;
  std::uint64_t generation_ = 0;
  // mutable: build() is const, and hands the clients it builds a pointer.
  mutable dns::DnsStats dns_stats_;
};

}  // namespace onionmx::engine
