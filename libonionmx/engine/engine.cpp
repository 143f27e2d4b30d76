#include "engine/engine.hpp"

#include <sys/stat.h>

#include <algorithm>
#include <cerrno>

#include "cache/cache_file.hpp"
#include "engine/sources.hpp"
#include "resolver/resolver.hpp"

namespace onionmx::engine {

struct Engine::Generation {
  config::Config config;
  std::shared_ptr<cache::Cache> cache;
  std::shared_ptr<const proto::AnswerStyle> style;
  std::unique_ptr<resolver::Resolver> resolver;
  MapInfo map;
};

namespace {

bool missing(const std::string& path) {
  struct stat st{};
  return ::stat(path.c_str(), &st) != 0 && errno == ENOENT;
}

base::Result<void> apply(const Overrides& ov, config::Config& cfg) {
  dns::DnsConfig& dns = cfg.dns;
  if (ov.map_path) cfg.map.path = *ov.map_path;
  if (ov.trusted_keys) cfg.map.trusted_keys = *ov.trusted_keys;
  if (ov.state_dir) cfg.map.state_dir = *ov.state_dir;
  if (ov.cache_file) cfg.cache.file = *ov.cache_file;
  if (ov.cache_size) cfg.cache.size = *ov.cache_size;
  if (ov.no_policy) cfg.trust.policy = false;
  if (ov.no_downgrade_guard) cfg.trust.downgrade_guard = false;
  // A relative cache file lives in the state directory (docs/cache.md).
  if (!cfg.cache.file.empty() && cfg.cache.file.front() != '/')
    cfg.cache.file = cfg.map.state_dir + "/" + cfg.cache.file;
  if (ov.servers) {
    dns.servers.clear();
    for (const auto& s : *ov.servers) {
      auto ok = config::check_server(s);
      if (!ok) return base::fail(ok.error());
      dns.servers.push_back(std::move(*ok));
    }
  }
  if (ov.tcp) dns.tcp = *ov.tcp;
  if (ov.dnssec) dns.dnssec = *ov.dnssec;
  if (ov.timeout) {
    if (*ov.timeout < dns::kMinTimeout || *ov.timeout > dns::kMaxTimeout)
      return base::fail(base::Status::Inval,
                        "timeout must be between " + std::to_string(dns::kMinTimeout.count()) +
                            " and " + std::to_string(dns::kMaxTimeout.count()) + " ms");
    dns.timeout = *ov.timeout;
  }
  return {};
}

}  // namespace

base::Result<config::Config> load(const ConfigInput& input, const Overrides& ov) {
  base::Result<config::Config> cfg = config::Config{};
  if (input.text)
    cfg = config::parse_config(*input.text, "<config_text>", source_names());
  else if (!input.path.empty() && !(input.optional && missing(input.path)))
    cfg = config::load_config(input.path, source_names());
  if (!cfg) return cfg;
  ONIONMX_TRY(apply(ov, *cfg));
  return cfg;
}

Engine::Engine(event::Loop& loop, ConfigInput input, Overrides ov, base::LogSink log,
               const base::Clock& clock)
    : loop_(loop),
      input_(std::move(input)),
      overrides_(std::move(ov)),
      log_(std::move(log)),
      clock_(clock) {}

base::Result<std::unique_ptr<Engine>> Engine::create(event::Loop& loop, ConfigInput input,
                                                     Overrides ov, base::LogSink log,
                                                     const base::Clock& clock) {
  std::unique_ptr<Engine> self(
      new Engine(loop, std::move(input), std::move(ov), std::move(log), clock));
  auto gen = self->build();
  if (!gen) return base::fail(gen.error());
  self->adopt_cache((*gen)->cache, (*gen)->config);
  self->current_ = std::move(*gen);
  self->generation_ = 1;
  self->reaper_ = std::make_unique<event::Timer>(loop, [s = self.get()] { s->reap(); });
  return self;
}

Engine::~Engine() {
  // Resolvers answer their pending lookups as they go; the newest last.
  retired_.clear();
  current_.reset();
  if (cache_ && cache_->dirty() && !cache_->settings().file.empty()) {
    auto ok = save_cache();
    if (!ok && log_) log_(base::LogLevel::Warning, "cache not saved: " + ok.error().detail);
  }
}

// The cache a configuration gets: the running one while cache.file stays
// the same (its limits change when the generation is adopted), else a new
// one loaded from the file.  A file that cannot be used is ignored with a
// warning: the cache is an optimisation, never a reason not to start.
base::Result<std::shared_ptr<cache::Cache>> Engine::cache_for(const config::Config& cfg) const {
  if (!cfg.cache.enabled()) return std::shared_ptr<cache::Cache>();
  if (cache_ && cache_->settings().file == cfg.cache.file) return cache_;
  auto c = std::make_shared<cache::Cache>(cfg.cache);
  if (!cfg.cache.file.empty()) {
    auto n = cache::load(cfg.cache.file, *c, clock_);
    if (!n) {
      c->clear();
      c->mark_saved();
      if (log_)
        log_(base::LogLevel::Warning, "cache file ignored, starting empty: " + n.error().detail);
    } else if (log_) {
      log_(base::LogLevel::Info,
           cfg.cache.file + ": " + std::to_string(*n) + " cache entries loaded");
    }
  }
  return c;
}

void Engine::adopt_cache(std::shared_ptr<cache::Cache> c, const config::Config& cfg) {
  if (c && c == cache_) {
    c->set_settings(cfg.cache);
    return;
  }
  if (cache_ && cache_->dirty() && !cache_->settings().file.empty()) {
    auto ok = save_cache();
    if (!ok && log_) log_(base::LogLevel::Warning, "cache not saved: " + ok.error().detail);
  }
  cache_ = std::move(c);
}

base::Result<void> Engine::save_cache() {
  if (!cache_ || cache_->settings().file.empty())
    return base::fail(base::Status::Inval, "no cache file configured");
  return cache::save(cache_->settings().file, *cache_, clock_);
}

base::Result<std::unique_ptr<Engine::Generation>> Engine::build() const {
  auto cfg = load(input_, overrides_);
  if (!cfg) return base::fail(cfg.error());
  auto gen = std::make_unique<Generation>();
  gen->config = std::move(*cfg);
  gen->style = std::make_shared<const proto::AnswerStyle>(gen->config.answer);
  auto cache = cache_for(gen->config);
  if (!cache) return base::fail(cache.error());
  gen->cache = std::move(*cache);
  SharedParts shared;
  // The DNS client counts into the engine, whose counters outlive it.
  shared.dns_stats = &dns_stats_;
  auto sources = build_sources(SourceContext{loop_, gen->config, log_, clock_, gen->cache, shared});
  if (!sources) return base::fail(sources.error());
  gen->map = shared.map;
  gen->resolver = std::make_unique<resolver::Resolver>(std::move(*sources),
                                                       gen->config.resolver.on_dns_failure, log_);
  return gen;
}

base::Result<void> Engine::reload() {
  auto gen = build();
  if (!gen) {
    if (log_)
      log_(base::LogLevel::Error,
           "reload failed, keeping the running configuration: " + gen.error().detail);
    return base::fail(gen.error());
  }
  adopt_cache((*gen)->cache, (*gen)->config);
  retired_.push_back(std::move(current_));
  current_ = std::move(*gen);
  ++generation_;
  if (log_)
    log_(base::LogLevel::Info,
         "configuration reloaded (generation " + std::to_string(generation_) + ")");
  // An idle old generation goes at once (from the loop, not from here: the
  // caller may be inside one of its callbacks).
  reaper_->arm(std::chrono::microseconds(0));
  return {};
}

void Engine::resolve(std::string_view key, bool explain, Callback done) {
  Generation* gen = current_.get();
  gen->resolver->resolve(key, explain, [this, gen, done = std::move(done)](record::Answer a) {
    done(std::move(a), gen->style);
    if (gen != current_.get()) reaper_->arm(std::chrono::microseconds(0));
  });
}

void Engine::reap() {
  std::erase_if(retired_,
                [](const std::unique_ptr<Generation>& g) { return g->resolver->pending() == 0; });
}

std::size_t Engine::pending() const noexcept {
  std::size_t n = current_->resolver->pending();
  for (const auto& g : retired_) n += g->resolver->pending();
  return n;
}

const config::Config& Engine::config() const noexcept { return current_->config; }

const MapInfo& Engine::map_info() const noexcept { return current_->map; }

}  // namespace onionmx::engine
