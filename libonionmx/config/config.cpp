#include "config/config.hpp"

#include <arpa/inet.h>
#include <toml++/toml.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <set>
#include <sstream>

#include "address/domain.hpp"
#include "base/file.hpp"
#include "base/strings.hpp"

namespace onionmx::config {
namespace {

constexpr std::size_t kMaxConfigSize = 1 << 20;

std::string seconds_text(double v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%g", v);
  return buf;
}

class Reader {
 public:
  explicit Reader(const std::string& origin) : origin_(origin) {}

  base::Error error(const toml::node* node, const std::string& key, const std::string& what) const {
    std::string where = origin_;
    if (node && node->source().begin.line > 0)
      where += ":" + std::to_string(node->source().begin.line);
    return base::Error{base::Status::Inval, where + ": " + key + ": " + what};
  }

  // Unknown keys are errors: a misspelt key must not silently keep a default.
  base::Result<void> only_keys(const toml::table& t, const std::string& section,
                               std::initializer_list<const char*> known) const {
    for (const auto& [k, v] : t) {
      std::string key(k.str());
      if (std::none_of(known.begin(), known.end(), [&](const char* n) { return key == n; }))
        return base::fail(
            error(&v, section.empty() ? key : std::string(section).append(".").append(key),
                  section.empty() ? "unknown section" : "unknown key"));
    }
    return {};
  }

  base::Result<void> get_string(const toml::table& t, const std::string& sec, const char* key,
                                std::string& out) const {
    const toml::node* n = t.get(key);
    if (!n) return {};
    if (!n->is_string()) return base::fail(error(n, sec + "." + key, "expected a string"));
    out = *n->value<std::string>();
    return {};
  }

  base::Result<void> get_bool(const toml::table& t, const std::string& sec, const char* key,
                              bool& out) const {
    const toml::node* n = t.get(key);
    if (!n) return {};
    if (!n->is_boolean()) return base::fail(error(n, sec + "." + key, "expected true or false"));
    out = *n->value<bool>();
    return {};
  }

  base::Result<void> get_int(const toml::table& t, const std::string& sec, const char* key,
                             std::int64_t lo, std::int64_t hi, std::int64_t& out) const {
    const toml::node* n = t.get(key);
    if (!n) return {};
    if (!n->is_integer()) return base::fail(error(n, sec + "." + key, "expected an integer"));
    std::int64_t v = *n->value<std::int64_t>();
    if (v < lo || v > hi)
      return base::fail(
          error(n, sec + "." + key,
                "must be between " + std::to_string(lo) + " and " + std::to_string(hi)));
    out = v;
    return {};
  }

  base::Result<void> get_seconds(const toml::table& t, const std::string& sec, const char* key,
                                 double lo, double hi, double& out) const {
    const toml::node* n = t.get(key);
    if (!n) return {};
    double v = 0;
    if (n->is_integer())
      v = static_cast<double>(*n->value<std::int64_t>());
    else if (n->is_floating_point())
      v = *n->value<double>();
    else
      return base::fail(error(n, sec + "." + key, "expected a number of seconds"));
    if (!(v >= lo && v <= hi))
      return base::fail(
          error(n, sec + "." + key,
                "must be between " + seconds_text(lo) + " and " + seconds_text(hi) + " seconds"));
    out = v;
    return {};
  }

  base::Result<void> get_strings(const toml::table& t, const std::string& sec, const char* key,
                                 std::vector<std::string>& out) const {
    const toml::node* n = t.get(key);
    if (!n) return {};
    const toml::array* arr = n->as_array();
    if (!arr) return base::fail(error(n, sec + "." + key, "expected an array of strings"));
    std::vector<std::string> v;
    for (const auto& e : *arr) {
      if (!e.is_string())
        return base::fail(error(&e, sec + "." + key, "expected an array of strings"));
      v.push_back(*e.value<std::string>());
    }
    out = std::move(v);
    return {};
  }

  template <class E>
  base::Result<void> get_enum(const toml::table& t, const std::string& sec, const char* key,
                              std::initializer_list<std::pair<const char*, E>> choices,
                              E& out) const {
    const toml::node* n = t.get(key);
    if (!n) return {};
    std::string allowed;
    for (auto& c : choices) allowed += (allowed.empty() ? "" : ", ") + std::string(c.first);
    if (!n->is_string())
      return base::fail(error(n, sec + "." + key, "expected one of: " + allowed));
    std::string v = *n->value<std::string>();
    for (auto& c : choices)
      if (v == c.first) {
        out = c.second;
        return {};
      }
    return base::fail(
        error(n, sec + "." + key, "\"" + base::printable(v) + "\" is not one of: " + allowed));
  }

 private:
  const std::string& origin_;
};

// Local domains may be written in any case, with one leading dot (every
// subdomain) and one trailing dot.
bool valid_domain_entry(std::string_view d) {
  if (!d.empty() && d.front() == '.') d.remove_prefix(1);
  if (!d.empty() && d.back() == '.') d.remove_suffix(1);
  return !d.empty() && address::domain_syntax_problem(base::ascii_lowercase(d)).empty();
}

bool valid_srv_prefix(std::string_view p) {
  if (p.empty() || p.size() > 100 || p.front() == '.' || p.back() == '.') return false;
  return valid_domain_entry(p);
}

bool valid_transport(std::string_view t) {
  if (t.empty() || t.size() > 64) return false;
  return std::all_of(t.begin(), t.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' ||
           c == '_' || c == '.';
  });
}

template <class List>
std::string joined(const List& names) {
  std::string out;
  for (std::string_view n : names) out += (out.empty() ? "" : ", ") + std::string(n);
  return out;
}

base::Result<void> parse_resolver(const Reader& rd, const toml::table& t, SourceNames sources,
                                  resolver::Settings& s) {
  const std::string sec = "resolver";
  ONIONMX_TRY(rd.only_keys(t, sec, {"order", "local_domains", "on_dns_failure"}));
  ONIONMX_TRY(rd.get_strings(t, sec, "order", s.order));
  if (t.get("order") && s.order.empty())
    return base::fail(rd.error(t.get("order"), "resolver.order", "must list at least one source"));
  std::set<std::string> seen;
  for (const auto& name : s.order) {
    if (std::find(sources.begin(), sources.end(), name) == sources.end())
      return base::fail(rd.error(
          t.get("order"), "resolver.order",
          "unknown source \"" + base::printable(name) + "\" (known: " + joined(sources) + ")"));
    if (!seen.insert(name).second)
      return base::fail(
          rd.error(t.get("order"), "resolver.order", "source \"" + name + "\" listed twice"));
  }
  ONIONMX_TRY(rd.get_strings(t, sec, "local_domains", s.local_domains));
  for (const auto& d : s.local_domains)
    if (!valid_domain_entry(d))
      return base::fail(rd.error(t.get("local_domains"), "resolver.local_domains",
                                 "\"" + base::printable(d) + "\" is not a domain"));
  return rd.get_enum<resolver::FailurePolicy>(
      t, sec, "on_dns_failure",
      {{"defer", resolver::FailurePolicy::Defer}, {"clearnet", resolver::FailurePolicy::Clearnet}},
      s.on_dns_failure);
}

template <class T>
base::Result<void> get_count(const Reader& rd, const toml::table& t, const std::string& sec,
                             const char* key, std::int64_t lo, std::int64_t hi, T& out) {
  auto v = static_cast<std::int64_t>(out);
  ONIONMX_TRY(rd.get_int(t, sec, key, lo, hi, v));
  out = static_cast<T>(v);
  return {};
}

base::Result<void> parse_dns(const Reader& rd, const toml::table& t, dns::DnsConfig& d) {
  const std::string sec = "dns";
  ONIONMX_TRY(rd.only_keys(t, sec,
                           {"servers", "srv_prefix", "timeout", "tries", "tcp", "dnssec", "max_ttl",
                            "max_negative_ttl", "max_in_flight"}));
  std::vector<std::string> servers;
  ONIONMX_TRY(rd.get_strings(t, sec, "servers", servers));
  d.servers.clear();
  for (const auto& s : servers) {
    auto ok = check_server(s);
    if (!ok) return base::fail(rd.error(t.get("servers"), "dns.servers", ok.error().detail));
    d.servers.push_back(*ok);
  }
  ONIONMX_TRY(rd.get_string(t, sec, "srv_prefix", d.srv_prefix));
  if (!valid_srv_prefix(d.srv_prefix))
    return base::fail(
        rd.error(t.get("srv_prefix"), "dns.srv_prefix",
                 "\"" + base::printable(d.srv_prefix) + "\" is not a DNS name prefix"));
  double timeout = static_cast<double>(d.timeout.count()) / 1000.0;
  ONIONMX_TRY(rd.get_seconds(t, sec, "timeout", dns::kMinTimeout.count() / 1000.0,
                             dns::kMaxTimeout.count() / 1000.0, timeout));
  d.timeout = std::chrono::milliseconds(std::llround(timeout * 1000.0));
  ONIONMX_TRY(get_count(rd, t, sec, "tries", 1, 10, d.tries));
  ONIONMX_TRY(rd.get_bool(t, sec, "tcp", d.tcp));
  ONIONMX_TRY(rd.get_enum<dns::Dnssec>(t, sec, "dnssec",
                                       {{"off", dns::Dnssec::Off},
                                        {"prefer", dns::Dnssec::Prefer},
                                        {"require", dns::Dnssec::Require}},
                                       d.dnssec));
  ONIONMX_TRY(get_count(rd, t, sec, "max_ttl", 0, 604800, d.max_ttl));
  ONIONMX_TRY(get_count(rd, t, sec, "max_negative_ttl", 0, 86400, d.max_negative_ttl));
  return get_count(rd, t, sec, "max_in_flight", 1, 65536, d.max_in_flight);
}

base::Result<void> parse_map(const Reader& rd, const toml::table& t, MapSettings& m) {
  const std::string sec = "map";
  ONIONMX_TRY(rd.only_keys(t, sec, {"path", "trusted_keys", "state_dir", "allow_unsigned"}));
  ONIONMX_TRY(rd.get_string(t, sec, "path", m.path));
  ONIONMX_TRY(rd.get_strings(t, sec, "trusted_keys", m.trusted_keys));
  ONIONMX_TRY(rd.get_string(t, sec, "state_dir", m.state_dir));
  ONIONMX_TRY(rd.get_bool(t, sec, "allow_unsigned", m.allow_unsigned));
  if (!m.path.empty() && m.trusted_keys.empty() && !m.allow_unsigned)
    return base::fail(rd.error(t.get("path"), "map.path",
                               "a map needs map.trusted_keys (or allow_unsigned = true)"));
  return {};
}

base::Result<void> parse_cache(const Reader& rd, const toml::table& t, cache::Settings& c) {
  const std::string sec = "cache";
  ONIONMX_TRY(rd.only_keys(t, sec,
                           {"size", "file", "min_ttl", "max_ttl", "min_negative_ttl",
                            "max_negative_ttl", "stale_max", "stale_ttl", "stale_recheck",
                            "prefetch", "prefetch_percent", "prefetch_rate", "save_interval"}));
  ONIONMX_TRY(get_count(rd, t, sec, "size", 0, 100000000, c.size));
  ONIONMX_TRY(rd.get_string(t, sec, "file", c.file));
  constexpr std::int64_t kWeek = 604800;  // RFC 8767 §4's cap on any TTL
  ONIONMX_TRY(get_count(rd, t, sec, "min_ttl", 0, kWeek, c.min_ttl));
  ONIONMX_TRY(get_count(rd, t, sec, "max_ttl", 0, kWeek, c.max_ttl));
  ONIONMX_TRY(get_count(rd, t, sec, "min_negative_ttl", 0, 86400, c.min_negative_ttl));
  ONIONMX_TRY(get_count(rd, t, sec, "max_negative_ttl", 0, 86400, c.max_negative_ttl));
  if (c.min_ttl > c.max_ttl)
    return base::fail(rd.error(t.get("min_ttl"), "cache.min_ttl", "must not exceed cache.max_ttl"));
  if (c.min_negative_ttl > c.max_negative_ttl)
    return base::fail(rd.error(t.get("min_negative_ttl"), "cache.min_negative_ttl",
                               "must not exceed cache.max_negative_ttl"));
  ONIONMX_TRY(get_count(rd, t, sec, "stale_max", 0, std::int64_t{30} * 86400, c.stale_max));
  ONIONMX_TRY(get_count(rd, t, sec, "stale_ttl", 1, 3600, c.stale_ttl));
  ONIONMX_TRY(get_count(rd, t, sec, "stale_recheck", 0, 3600, c.stale_recheck));
  ONIONMX_TRY(rd.get_bool(t, sec, "prefetch", c.prefetch));
  ONIONMX_TRY(get_count(rd, t, sec, "prefetch_percent", 1, 50, c.prefetch_percent));
  ONIONMX_TRY(get_count(rd, t, sec, "prefetch_rate", 0, 10000, c.prefetch_rate));
  return get_count(rd, t, sec, "save_interval", 1, 86400, c.save_interval);
}

base::Result<void> parse_trust(const Reader& rd, const toml::table& t, record::TrustSettings& tr) {
  const std::string sec = "trust";
  ONIONMX_TRY(rd.only_keys(t, sec, {"policy", "downgrade_guard", "queries"}));
  ONIONMX_TRY(rd.get_bool(t, sec, "policy", tr.policy));
  std::string queries = tr.parallel ? "parallel" : "after-srv";
  ONIONMX_TRY(rd.get_string(t, sec, "queries", queries));
  if (queries != "parallel" && queries != "after-srv")
    return base::fail(
        rd.error(t.get("queries"), "trust.queries",
                 "\"" + base::printable(queries) + "\" is not one of: parallel, after-srv"));
  tr.parallel = queries == "parallel";
  return rd.get_bool(t, sec, "downgrade_guard", tr.downgrade_guard);
}

base::Result<void> parse_answer(const Reader& rd, const toml::table& t, Config& cfg) {
  const std::string sec = "answer";
  auto& a = cfg.answer;
  ONIONMX_TRY(
      rd.only_keys(t, sec, {"transport", "multi_nexthop", "opensmtpd_scheme", "onion_port"}));
  ONIONMX_TRY(rd.get_string(t, sec, "transport", a.transport));
  if (!valid_transport(a.transport))
    return base::fail(rd.error(
        t.get("transport"), "answer.transport",
        "\"" + base::printable(a.transport) + "\" is not a Postfix master.cf service name"));
  ONIONMX_TRY(rd.get_bool(t, sec, "multi_nexthop", a.multi_nexthop));
  ONIONMX_TRY(rd.get_string(t, sec, "opensmtpd_scheme", a.opensmtpd_scheme));
  const auto& schemes = proto::kOpenSmtpdSchemes;
  if (std::find(schemes.begin(), schemes.end(), a.opensmtpd_scheme) == schemes.end())
    return base::fail(rd.error(
        t.get("opensmtpd_scheme"), "answer.opensmtpd_scheme",
        "\"" + base::printable(a.opensmtpd_scheme) + "\" is not one of: " + joined(schemes)));
  return get_count(rd, t, sec, "onion_port", 1, 65535, cfg.resolver.onion_port);
}

}  // namespace

base::Result<std::string> check_server(std::string_view s) {
  auto bad = [&](const std::string& why) {
    return base::fail(base::Status::Inval,
                      "invalid DNS server \"" + base::printable(s) + "\": " + why);
  };
  std::string host;
  std::string port;
  bool v6 = false;
  if (!s.empty() && s.front() == '[') {
    auto close = s.find(']');
    if (close == std::string_view::npos) return bad("missing ']'");
    host = std::string(s.substr(1, close - 1));
    auto rest = s.substr(close + 1);
    if (!rest.empty()) {
      if (rest.front() != ':') return bad("expected ':' after ']'");
      port = std::string(rest.substr(1));
    }
    v6 = true;
  } else if (std::count(s.begin(), s.end(), ':') > 1) {
    host = std::string(s);  // bare IPv6, no port
    v6 = true;
  } else if (auto colon = s.find(':'); colon != std::string_view::npos) {
    host = std::string(s.substr(0, colon));
    port = std::string(s.substr(colon + 1));
  } else {
    host = std::string(s);
  }
  unsigned char buf[16];
  if (inet_pton(v6 ? AF_INET6 : AF_INET, host.c_str(), buf) != 1)
    return bad(v6 ? "not an IPv6 address" : "not an IPv4 address (names are not accepted)");
  if (!port.empty()) {
    if (port.size() > 5 ||
        !std::all_of(port.begin(), port.end(), [](char c) { return c >= '0' && c <= '9'; }))
      return bad("bad port");
    long p = std::stol(port);
    if (p < 1 || p > 65535) return bad("port out of range");
  } else if (s.back() == ':') {
    return bad("empty port");
  }
  // c-ares 1.18 takes "[v6]:port" but not "[v6]" alone: spell the default.
  if (v6) return "[" + host + "]:" + (port.empty() ? std::string("53") : port);
  return host + (port.empty() ? "" : ":" + port);
}

base::Result<Config> parse_config(std::string_view text, const std::string& origin,
                                  SourceNames sources) {
  toml::table root;
  try {
    root = toml::parse(text, origin);
  } catch (const toml::parse_error& e) {
    std::ostringstream msg;
    msg << origin << ":" << e.source().begin.line << ":" << e.source().begin.column << ": "
        << e.description();
    return base::fail(base::Status::Inval, msg.str());
  }

  Reader rd(origin);
  Config cfg;
  cfg.resolver.order.assign(sources.begin(), sources.end());  // the registry's order
  ONIONMX_TRY(rd.only_keys(
      root, "",
      {"resolver", "dns", "map", "cache", "answer", "trust", "onionmxd", "onionmx-table"}));
  static_assert(kToolSections.size() == 2 && kToolSections[1] == "onionmx-table");
  auto section = [&](const char* name) -> base::Result<const toml::table*> {
    const toml::node* n = root.get(name);
    if (!n) return static_cast<const toml::table*>(nullptr);
    if (!n->is_table()) return base::fail(rd.error(n, name, "expected a [section]"));
    return n->as_table();
  };
  // A tool's section is the tool's to check (onionmxd validates [onionmxd]
  // strictly); here it only has to be a table.
  for (std::string_view tool : kToolSections) {
    auto t = section(std::string(tool).c_str());
    if (!t) return base::fail(t.error());
  }
  auto res = section("resolver");
  if (!res) return base::fail(res.error());
  if (*res) ONIONMX_TRY(parse_resolver(rd, **res, sources, cfg.resolver));
  auto dnss = section("dns");
  if (!dnss) return base::fail(dnss.error());
  if (*dnss) ONIONMX_TRY(parse_dns(rd, **dnss, cfg.dns));
  auto maps = section("map");
  if (!maps) return base::fail(maps.error());
  if (*maps) ONIONMX_TRY(parse_map(rd, **maps, cfg.map));
  auto caches = section("cache");
  if (!caches) return base::fail(caches.error());
  if (*caches) ONIONMX_TRY(parse_cache(rd, **caches, cfg.cache));
  auto ans = section("answer");
  if (!ans) return base::fail(ans.error());
  if (*ans) ONIONMX_TRY(parse_answer(rd, **ans, cfg));
  auto trust = section("trust");
  if (!trust) return base::fail(trust.error());
  if (*trust) ONIONMX_TRY(parse_trust(rd, **trust, cfg.trust));
  return cfg;
}

base::Result<Config> load_config(const std::string& path, SourceNames sources) {
  auto text = base::read_file(path, kMaxConfigSize, "1 MiB");
  if (!text) {
    // An oversized file is a configuration error like any other.
    if (text.error().code == base::Status::BadData)
      return base::fail(base::Status::Inval, text.error().detail);
    return base::fail(text.error());
  }
  return parse_config(*text, path, sources);
}

}  // namespace onionmx::config
