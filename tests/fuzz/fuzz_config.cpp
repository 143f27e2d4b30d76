// fuzz_config.cpp - parse_config on arbitrary text (config/config.hpp).
//
// Contract: parsing never throws and never crashes, whatever the bytes
// (toml++ errors are caught inside).  Invariants checked on every input:
// a refusal is Inval and names the origin first; an accepted configuration
// holds only values the parser promises (ranges, known sources without
// duplicates, servers in check_server's normal form).
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <set>
#include <string>
#include <string_view>

#include "config/config.hpp"
#include "engine/sources.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using onionmx::base::Status;
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  const auto c = onionmx::config::parse_config(text, "<fuzz>", onionmx::engine::source_names());
  if (!c) {
    if (c.error().code != onionmx::base::Status::Inval) std::abort();
    if (c.error().detail.rfind("<fuzz>:", 0) != 0) std::abort();
    return 0;
  }
  const auto& r = c->resolver;
  const auto names = onionmx::engine::source_names();
  if (r.order.empty() || r.order.size() > names.size()) std::abort();
  std::set<std::string> seen;
  for (const auto& s : r.order) {
    if (std::find(names.begin(), names.end(), s) == names.end()) std::abort();
    if (!seen.insert(s).second) std::abort();
  }
  if (r.onion_port == 0) std::abort();
  const auto& d = c->dns;
  if (d.tries < 1 || d.tries > 10) std::abort();
  if (d.timeout < onionmx::dns::kMinTimeout || d.timeout > onionmx::dns::kMaxTimeout) std::abort();
  if (d.max_ttl > 604800 || d.max_negative_ttl > 86400) std::abort();
  if (d.max_in_flight < 1 || d.max_in_flight > 65536) std::abort();
  if (d.srv_prefix.empty() || d.srv_prefix.size() > 100) std::abort();
  for (const auto& s : d.servers) {
    const auto again = onionmx::config::check_server(s);
    if (!again || *again != s) std::abort();  // stored in normal form
  }
  const auto& a = c->answer;
  if (a.transport.empty() || a.transport.size() > 64) std::abort();
  for (char ch : a.transport)
    if (ch == ':' || ch == ' ' || ch == '[' || static_cast<unsigned char>(ch) < 0x21) std::abort();
  return 0;
}
