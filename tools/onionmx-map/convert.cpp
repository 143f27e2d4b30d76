#include "convert.hpp"

#include <yaml-cpp/yaml.h>

#include <unordered_map>

#include "address/domain.hpp"
#include "address/onion_address.hpp"
#include "base/strings.hpp"

namespace onionmx::mapconv {
namespace {

using base::fail;
using base::Status;

std::string at(std::size_t line) { return "line " + std::to_string(line) + ": "; }

// "" if the key ("domain" or ".domain") is acceptable, else why not.
std::string key_problem(std::string_view key) {
  std::string_view d = key;
  if (!d.empty() && d.front() == '.') d.remove_prefix(1);
  if (d.empty()) return "empty domain";
  if (auto why = address::domain_syntax_problem(d); !why.empty()) return "bad domain: " + why;
  if (address::is_onion_name(d)) return "an onion name is not a mail domain to route";
  return "";
}

std::string normalize_domain(std::string_view s) {
  std::string d = base::ascii_lowercase(base::trim(s));
  if (!d.empty() && d.back() == '.') d.pop_back();
  return d;
}

// Accumulates entries in first-seen order, merging routes of repeated keys.
class Collector {
 public:
  explicit Collector(Import& out) : out_(out) {}
  void add(const std::string& key, const record::Route& r, bool merge) {
    auto [it, inserted] = index_.try_emplace(key, out_.entries.size());
    if (inserted) {
      out_.entries.push_back(map::Entry{key, {r}});
      return;
    }
    auto& routes = out_.entries[it->second].routes;
    for (const auto& x : routes)
      if (x.onion == r.onion && x.port == r.port) return;
    if (merge) routes.push_back(r);
  }
  bool has(const std::string& key) const { return index_.count(key) != 0; }

 private:
  Import& out_;
  std::unordered_map<std::string, std::size_t> index_;
};

void drop(Import& out, std::size_t line, std::string what, const address::OnionProblem& p) {
  if (p.kind == address::OnionError::V2Unsupported) ++out.v2;
  out.dropped.push_back(at(line) + std::move(what) + ": " +
                        std::string(address::onion_error_name(p.kind)) + " (" + p.detail + ")");
}

}  // namespace

Import import_postfix(std::string_view text) {
  Import out;
  Collector col(out);
  // Join continuation lines (transport(5): a line that starts with
  // whitespace continues the previous logical line).
  struct Logical {
    std::size_t line;
    std::string text;
  };
  std::vector<Logical> logical;
  std::size_t lineno = 0;
  while (!text.empty()) {
    auto nl = text.find('\n');
    std::string_view line = text.substr(0, nl);
    text.remove_prefix(nl == std::string_view::npos ? text.size() : nl + 1);
    ++lineno;
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    std::string_view t = base::trim(line);
    if (t.empty() || t.front() == '#') continue;
    if ((line.front() == ' ' || line.front() == '\t') && !logical.empty()) {
      logical.back().text += ' ';
      logical.back().text += t;
      continue;
    }
    logical.push_back(Logical{lineno, std::string(t)});
  }
  for (const auto& l : logical) {
    std::string_view s = l.text;
    auto sp = s.find_first_of(" \t");
    if (sp == std::string_view::npos) {
      out.dropped.push_back(at(l.line) + "no value after the key \"" + base::printable(s) + "\"");
      continue;
    }
    const std::string key = normalize_domain(s.substr(0, sp));
    std::string_view value = base::trim(s.substr(sp));
    if (auto why = key_problem(key); !why.empty()) {
      out.dropped.push_back(at(l.line) + "key \"" + base::printable(key) + "\": " + why);
      continue;
    }
    // transport:nexthop; nexthop [host]:port, host:port or host.
    auto colon = value.find(':');
    if (colon == std::string_view::npos) {
      out.dropped.push_back(at(l.line) + "\"" + key + "\": value \"" + base::printable(value) +
                            "\" is not transport:nexthop");
      continue;
    }
    std::string_view hop = value.substr(colon + 1);
    std::string host;
    std::uint16_t port = 25;
    bool port_ok = true;
    std::string_view port_text;
    if (!hop.empty() && hop.front() == '[') {
      auto close = hop.find(']');
      if (close == std::string_view::npos) {
        out.dropped.push_back(at(l.line) + "\"" + key + "\": unbalanced '['");
        continue;
      }
      host = std::string(hop.substr(1, close - 1));
      std::string_view rest = hop.substr(close + 1);
      if (!rest.empty()) {
        if (rest.front() != ':') port_ok = false;
        port_text = rest.substr(1);
      }
    } else {
      auto c = hop.find(':');
      host = std::string(hop.substr(0, c));
      if (c != std::string_view::npos) port_text = hop.substr(c + 1);
    }
    if (!port_text.empty() || !port_ok) {
      unsigned v = 0;
      port_ok = port_ok && !port_text.empty() && port_text.size() <= 5;
      for (char c : port_text) {
        if (c < '0' || c > '9') port_ok = false;
        v = v * 10 + static_cast<unsigned>(c - '0');
      }
      if (!port_ok || v < 1 || v > 65535) {
        out.dropped.push_back(at(l.line) + "\"" + key + "\": bad port in \"" +
                              base::printable(value) + "\"");
        continue;
      }
      port = static_cast<std::uint16_t>(v);
    }
    if (host.empty() || !address::is_onion_name(host)) {
      out.dropped.push_back(at(l.line) + "\"" + key + "\": next hop \"" + base::printable(value) +
                            "\" is not an onion service");
      continue;
    }
    auto onion = address::parse_onion(host);
    if (!onion) {
      drop(out, l.line, "\"" + key + "\": onion \"" + base::printable(host) + "\"", onion.error());
      continue;
    }
    if (col.has(key)) {
      out.dropped.push_back(at(l.line) + "duplicate key \"" + key +
                            "\" (Postfix uses the first entry)");
      continue;
    }
    record::Route r;
    r.onion = onion->full;
    r.port = port;
    col.add(key, r, false);
  }
  return out;
}

base::Result<Import> import_onionmx_yaml(std::string_view text) {
  YAML::Node root;
  try {
    root = YAML::Load(std::string(text));
  } catch (const YAML::Exception& e) {
    return fail(Status::BadData, std::string("not valid YAML: ") + e.what());
  }
  Import out;
  if (root.IsNull()) return out;
  if (!root.IsMap())
    return fail(Status::BadData, "the YAML map must be a mapping onion: [domains]");
  Collector col(out);
  try {
    for (auto it = root.begin(); it != root.end(); ++it) {
      // Copies: yaml-cpp's iterator hands out a temporary pair, so a
      // reference to it->second dangles (found by the fuzz target).
      const YAML::Node key = it->first;
      const YAML::Node domains = it->second;
      const std::size_t line = static_cast<std::size_t>(key.Mark().line) + 1;
      if (!key.IsScalar()) {
        out.dropped.push_back(at(line) + "key is not a string");
        continue;
      }
      std::string name = normalize_domain(key.Scalar());
      if (!address::is_onion_name(name)) name += ".onion";  // "<56>" without the suffix
      auto onion = address::parse_onion(name);
      if (!onion) {
        drop(out, line, "onion \"" + base::printable(name) + "\"", onion.error());
        continue;
      }
      if (domains.IsNull()) continue;  // an onion without domains: nothing to route
      std::vector<YAML::Node> list;
      if (domains.IsScalar()) {
        list.push_back(domains);
      } else if (domains.IsSequence()) {
        for (const auto& d : domains) list.push_back(d);
      } else {
        out.dropped.push_back(at(line) + "onion \"" + name + "\": domains are not a list");
        continue;
      }
      for (const auto& d : list) {
        const std::size_t dline = static_cast<std::size_t>(d.Mark().line) + 1;
        if (!d.IsScalar()) {
          out.dropped.push_back(at(dline) + "domain is not a string");
          continue;
        }
        const std::string key = normalize_domain(d.Scalar());
        if (auto why = key_problem(key); !why.empty()) {
          out.dropped.push_back(at(dline) + "domain \"" + base::printable(key) + "\": " + why);
          continue;
        }
        record::Route r;
        r.onion = onion->full;
        col.add(key, r, true);
      }
    }
  } catch (const YAML::Exception& e) {
    return fail(Status::BadData, std::string("unexpected YAML structure: ") + e.what());
  }
  return out;
}

std::string export_postfix(const map::StaticMap& m, std::string_view transport,
                           std::vector<std::string>& warnings) {
  std::string out = "# Postfix transport(5) table generated by onionmx-map from map serial " +
                    std::to_string(m.serial()) + "\n# postmap hash:<this file>\n";
  m.for_each([&](std::string_view key, const std::vector<record::Route>& routes) {
    const auto& r = routes.front();
    if (routes.size() > 1)
      warnings.push_back(std::string(key) + ": Postfix takes one next hop; using " + r.onion +
                         ", " + std::to_string(routes.size() - 1) + " more route(s) left out");
    out.append(key).append("\t").append(transport).append(":[").append(r.onion).append("]");
    if (r.port != 25) out.append(":").append(std::to_string(r.port));
    out.push_back('\n');
  });
  return out;
}

SmtpdTables export_opensmtpd(const map::StaticMap& m, std::vector<std::string>& warnings) {
  SmtpdTables t;
  const std::string head =
      "# generated by onionmx-map from map serial " + std::to_string(m.serial()) + "\n";
  t.domains = head;
  t.relays = head;
  m.for_each([&](std::string_view key, const std::vector<record::Route>& routes) {
    if (!key.empty() && key.front() == '.') {
      warnings.push_back(std::string(key) +
                         ": OpenSMTPD relay tables take exact keys only; subdomain entry skipped");
      return;
    }
    const auto& r = routes.front();
    if (routes.size() > 1)
      warnings.push_back(std::string(key) + ": one relay per domain; using " + r.onion);
    t.domains.append(key).push_back('\n');
    t.relays.append(key)
        .append("\tsmtp+notls://")
        .append(r.onion)
        .append(":")
        .append(std::to_string(r.port));
    t.relays.push_back('\n');
  });
  return t;
}

}  // namespace onionmx::mapconv
