// resolver.hpp - key -> answer: the chain of sources and the failure policy.
//
// A key is turned into a domain first (address/mail_key): "*", "[ip]" and
// keys with no usable domain are "not found" without any lookup.  Then the
// sources are asked in the configured order until one decides.  The
// failure policy applies to DNS failures only (record::Failure::Dns):
// `defer` (default) answers a temporary failure; `clearnet` must be chosen
// explicitly, answers "not found" (normal routing) and logs a warning on
// every use.  No other path turns an error into "not found"
// (docs/status-model.md).  The sources are built by the engine
// (engine/sources.cpp); the resolver only runs them.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "base/log.hpp"
#include "record/route.hpp"
#include "source/source.hpp"

namespace onionmx::resolver {

enum class FailurePolicy { Defer, Clearnet };

// What the configuration says about the chain (config/, onionmx.toml(5)).
struct Settings {
  std::vector<std::string> order;  // empty: every source, in registry order
  std::vector<std::string> local_domains;
  FailurePolicy on_dns_failure = FailurePolicy::Defer;
  std::uint16_t onion_port = 25;  // port for user@<onion> recipients
};

class Resolver {
 public:
  using Callback = std::function<void(record::Answer)>;

  Resolver(std::vector<std::unique_ptr<source::Source>> sources, FailurePolicy policy,
           base::LogSink log);
  // Pending lookups complete with a temporary failure (never the clearnet
  // policy: shutting down is not a DNS failure).
  ~Resolver();
  Resolver(const Resolver&) = delete;
  Resolver& operator=(const Resolver&) = delete;

  // `done` runs exactly once: at once for answers that need no network,
  // else from the event loop.
  void resolve(std::string_view key, bool explain, Callback done);

  // Lookups that have not completed yet (all sources).
  std::size_t pending() const noexcept { return pending_; }

 private:
  struct State;
  void next(const std::shared_ptr<State>& st);
  void decide(const std::shared_ptr<State>& st, record::Answer a);
  void complete(const std::shared_ptr<State>& st, record::Answer a);

  // Declared before sources_ so they outlive the sources' final callbacks.
  FailurePolicy policy_;
  base::LogSink log_;
  std::size_t pending_ = 0;
  bool shutting_down_ = false;
  std::vector<std::unique_ptr<source::Source>> sources_;
};

}  // namespace onionmx::resolver
