// source.hpp - a source of onion routes, one link of the resolver's chain.
//
// The resolver asks its sources in the configured order.  A source either
// decides (found, not found, or an error) or passes to the next one; either
// way it may add explain lines.  Sources may answer at once (local domains,
// onion recipients) or later from the event loop (DNS).  The callback runs
// exactly once.  A source's name (resolver.order, the JSON `source` field)
// is its class's kName, registered once in engine/sources.cpp.
#pragma once

#include <functional>
#include <string>
#include <string_view>

#include "record/route.hpp"

namespace onionmx::source {

struct Query {
  std::string key;     // as the MTA sent it
  std::string domain;  // lower case, syntactically valid
  bool explain = false;
};

struct Step {
  bool decided = false;
  record::Answer answer;  // meaningful when decided; explain lines always
};

using StepCallback = std::function<void(Step)>;

class Source {
 public:
  virtual ~Source() = default;
  virtual void lookup(const Query& q, StepCallback done) = 0;
  // Called on every source of a chain before any is destroyed: a source
  // drops what it shares with others (the cached DNS lookup), so pending
  // fetches answer while every source still exists.
  virtual void shutdown() noexcept {}
};

}  // namespace onionmx::source
