// onionmx-publish - publish, and check, the DNS records that route mail for
// a domain to a Tor onion service (docs/onionmx-publish.md).
//
//   records  prints zone-file lines: the SRV `_onion-mx._tcp.<domain>` and
//            the policy TXT at the same name (docs/policy-record.md);
//   update   replaces exactly those records (other TXT records at the name
//            are kept) with an RFC 2136 UPDATE signed with TSIG (RFC 8945),
//            and verifies the signed answer;
//   check    looks the SRV up through the public library API and compares
//            it with the local onion service.
// The command lines and exit codes are a fixed interface (documented in
// docs/onionmx-publish.md and the man page).  Message building and TSIG are
// pure library code (dns/update, dns/tsig); the network exchange is
// transport.cpp, local to this tool.
#include <CLI/CLI.hpp>
#include <cmath>
#include <cstdio>
#include <ctime>
#include <onionmx/onionmx.hpp>
#include <optional>
#include <string>
#include <vector>

#include "address/domain.hpp"
#include "address/hs_dir.hpp"
#include "address/onion_address.hpp"
#include "base/file.hpp"
#include "base/strings.hpp"
#include "common/guarded_main.hpp"
#include "crypto/crypto.hpp"
#include "dns/message.hpp"
#include "dns/tsig_key.hpp"
#include "dns/update.hpp"
#include "record/policy.hpp"
#include "transport.hpp"

namespace {

namespace dns = onionmx::dns;
namespace address = onionmx::address;
namespace base = onionmx::base;
namespace record = onionmx::record;
namespace tools = onionmx::tools;

// Exit codes (fixed interface, docs/onionmx-publish.md).
constexpr int kExitOk = 0;
constexpr int kExitMismatch = 1;  // check: missing or different record
constexpr int kExitUsage = 2;     // bad option or input (domain, onion, hs-dir, key)
constexpr int kExitNoAnswer = 3;  // timeout, refused connection; check: temporary DNS failure
constexpr int kExitRefused = 4;
constexpr int kExitNotAuth = 5;
constexpr int kExitNotZone = 6;
constexpr int kExitBadSig = 7;
constexpr int kExitBadKey = 8;
constexpr int kExitBadTime = 9;
constexpr int kExitPrereq = 10;
constexpr int kExitServerError = 11;
constexpr int kExitUnverified = 12;

int exit_code(dns::UpdateVerdict v) {
  switch (v) {
    case dns::UpdateVerdict::Success:
      return kExitOk;
    case dns::UpdateVerdict::Refused:
      return kExitRefused;
    case dns::UpdateVerdict::NotAuth:
      return kExitNotAuth;
    case dns::UpdateVerdict::NotZone:
      return kExitNotZone;
    case dns::UpdateVerdict::BadSig:
      return kExitBadSig;
    case dns::UpdateVerdict::BadKey:
      return kExitBadKey;
    case dns::UpdateVerdict::BadTime:
      return kExitBadTime;
    case dns::UpdateVerdict::PrereqFailed:
      return kExitPrereq;
    case dns::UpdateVerdict::ServerError:
      return kExitServerError;
    case dns::UpdateVerdict::Unverified:
      return kExitUnverified;
  }
  return kExitServerError;
}

void error(const std::string& msg) { std::fprintf(stderr, "onionmx-publish: %s\n", msg.c_str()); }

struct Common {
  std::string hs_dir;
  std::string onion;
  std::vector<std::string> domains;
  unsigned port = 25;
};

struct RecordOptions {
  unsigned priority = 0;
  unsigned weight = 0;
  std::uint32_t ttl = 300;
  std::string mode = "testing";
  std::uint32_t max_age = 604800;
  bool no_policy = false;
};

struct UpdateOptions {
  std::string server;
  std::string tsig;
  std::string tsig_file;
  std::string zone;
  double timeout = 5.0;
  bool tcp = false;
  bool dry_run = false;
};

struct CheckOptions {
  std::string server;
  double timeout = 5.0;
  bool tcp = false;
};

// The local onion service: --onion (fully validated) or --hs-dir (hostname
// and public key cross-checked).
std::optional<std::string> local_onion(const Common& c) {
  if (c.hs_dir.empty() == c.onion.empty()) {
    error("give exactly one of --hs-dir DIR or --onion ADDRESS");
    return std::nullopt;
  }
  if (!c.hs_dir.empty()) {
    auto r = address::read_hs_dir(c.hs_dir);
    if (!r) {
      error("--hs-dir: " + r.error().detail);
      return std::nullopt;
    }
    return r->address;
  }
  auto r = address::parse_onion(c.onion);
  if (!r) {
    error("--onion " + base::printable(c.onion) + ": " + r.error().detail);
    return std::nullopt;
  }
  return r->full;
}

std::optional<std::vector<std::string>> checked_domains(const std::vector<std::string>& in) {
  std::vector<std::string> out;
  for (const auto& d : in) {
    std::string n = dns::normalize_name(d);
    if (address::is_onion_name(n)) {
      error("domain " + base::printable(d) + ": an onion name needs no DNS record");
      return std::nullopt;
    }
    if (auto p = address::domain_syntax_problem(n); !p.empty()) {
      error("domain " + base::printable(d) + ": " + p);
      return std::nullopt;
    }
    out.push_back(std::move(n));
  }
  return out;
}

std::optional<std::string> policy_text(const RecordOptions& r) {
  if (r.no_policy) return std::string();
  record::Policy p;
  if (!record::policy_mode_from_name(r.mode, p.mode)) {
    error("--mode must be enforce, testing or none");
    return std::nullopt;
  }
  p.max_age = r.max_age;
  return record::format_policy(p);
}

dns::PublishRecords publish_records(const std::string& domain, const std::string& onion,
                                    const Common& c, const RecordOptions& r,
                                    const std::string& policy) {
  dns::PublishRecords p;
  p.domain = domain;
  p.onion = onion;
  p.priority = static_cast<std::uint16_t>(r.priority);
  p.weight = static_cast<std::uint16_t>(r.weight);
  p.port = static_cast<std::uint16_t>(c.port);
  p.ttl = r.ttl;
  p.policy = policy;
  return p;
}

int run_records(const Common& c, const RecordOptions& r) {
  auto onion = local_onion(c);
  auto domains = checked_domains(c.domains);
  auto policy = policy_text(r);
  if (!onion || !domains || !policy) return kExitUsage;
  for (const auto& d : *domains)
    for (const auto& line : dns::publish_zone_lines(publish_records(d, *onion, c, r, *policy)))
      std::printf("%s\n", line.c_str());
  return kExitOk;
}

std::uint16_t random_id() {
  std::uint16_t id = 0;
  onionmx::crypto::random_bytes(std::span(reinterpret_cast<std::uint8_t*>(&id), sizeof id));
  return id;
}

// A plain TXT query to the primary (RD off, no EDNS).  It needs no TSIG:
// the update's prerequisite re-checks the answer on the server.  An answer
// that is not authoritative (a zone the server does not serve) counts as
// no TXT records; the update then meets the server's own verdict.
base::Result<std::vector<std::vector<std::uint8_t>>> current_txt_rrset(
    const tools::ServerAddress& server, const std::string& owner, const UpdateOptions& u) {
  const std::uint16_t id = random_id();
  dns::QueryOptions q;
  q.recursion_desired = false;
  q.edns = false;
  auto query = dns::build_query(id, owner, dns::kTypeTxt, q);
  if (!query) return base::fail(query.error());
  auto answer = tools::exchange(server, *query, {u.timeout, u.tcp});
  if (!answer)
    return base::fail(base::Status::Temp,
                      "NO ANSWER: " + answer.error().detail + " (query for the TXT records)");
  auto txt = dns::read_txt_rrset(*answer, id, owner);
  if (!txt) return std::vector<std::vector<std::uint8_t>>{};
  return txt;
}

std::string hex_lines(const std::vector<std::uint8_t>& w) {
  std::string out;
  char buf[3];
  for (std::size_t i = 0; i < w.size(); ++i) {
    std::snprintf(buf, sizeof buf, "%02x", w[i]);
    out += buf;
    if (i % 32 == 31 || i + 1 == w.size()) out += '\n';
  }
  return out;
}

int run_update(const Common& c, const RecordOptions& r, const UpdateOptions& u) {
  auto onion = local_onion(c);
  auto domains = checked_domains(c.domains);
  auto policy = policy_text(r);
  if (!onion || !domains || !policy) return kExitUsage;

  std::optional<tools::ServerAddress> server;
  if (!u.server.empty()) {
    auto s = tools::parse_server(u.server);
    if (!s) {
      error(s.error().detail);
      return kExitUsage;
    }
    server = *s;
  } else if (!u.dry_run) {
    error("update needs --server IP[:PORT] (or --dry-run)");
    return kExitUsage;
  }

  if (u.tsig.empty() == u.tsig_file.empty()) {
    error("give exactly one of --tsig [ALGORITHM:]NAME:SECRET or --tsig-file FILE");
    return kExitUsage;
  }
  base::Result<dns::TsigKey> key = base::fail(base::Status::Internal, "");
  if (!u.tsig.empty()) {
    key = dns::parse_tsig_key_arg(u.tsig);
  } else {
    auto text = base::read_file(u.tsig_file, std::size_t{64} * 1024, "64 KiB");
    key = text ? dns::parse_tsig_key_file(*text, u.tsig_file) : base::fail(text.error());
  }
  if (!key) {
    error(key.error().detail);
    return kExitUsage;
  }

  std::string zone_opt;
  if (!u.zone.empty()) {
    zone_opt = dns::normalize_name(u.zone);
    if (auto p = address::domain_syntax_problem(zone_opt); !p.empty()) {
      error("--zone " + base::printable(u.zone) + ": " + p);
      return kExitUsage;
    }
  }

  int rc = kExitOk;
  for (const auto& domain : *domains) {
    const std::string zone = zone_opt.empty() ? domain : zone_opt;
    const auto records = publish_records(domain, *onion, c, r, *policy);
    // The TXT records now at the name, so that only the policy record is
    // replaced (dns/update.hpp); a dry run sends nothing and assumes none.
    std::vector<std::vector<std::uint8_t>> current_txt;
    if (!u.dry_run) {
      auto txt = current_txt_rrset(*server, dns::onionmx_owner(domain), u);
      if (!txt) {
        error(domain + ": " + txt.error().detail);
        if (rc == kExitOk)
          rc = txt.error().code == base::Status::Temp ? kExitNoAnswer : kExitServerError;
        continue;
      }
      current_txt = std::move(*txt);
    }
    const std::uint16_t id = random_id();
    auto msg = dns::publish_update(id, zone, records, current_txt);
    if (!msg) {
      error(domain + ": " + msg.error().detail);
      return kExitUsage;
    }
    auto wire = dns::build_update(*msg);
    if (!wire) {
      error(domain + ": " + wire.error().detail);
      return kExitUsage;
    }
    // The TSIG time (RFC 8945 §5.2.3); the tests skew it with faketime(1).
    const std::time_t t = std::time(nullptr);
    const std::uint64_t now = t > 0 ? static_cast<std::uint64_t>(t) : 0;
    auto signed_msg = dns::tsig_sign(*wire, *key, now);
    if (!signed_msg) {
      error(domain + ": " + signed_msg.error().detail);
      return kExitUsage;
    }
    if (u.dry_run) {
      auto dump = dns::dump_update(signed_msg->wire);
      std::printf(
          ";; dry run, not sent: %s (zone %s%s%s), %zu bytes; assumes no TXT record at the name "
          "(an update reads them first)\n",
          domain.c_str(), zone.c_str(), server ? ", server " : "",
          server ? server->text().c_str() : "", signed_msg->wire.size());
      std::printf("%s%s\n", hex_lines(signed_msg->wire).c_str(), dump ? dump->c_str() : "");
      continue;
    }
    auto answer = tools::exchange(*server, signed_msg->wire, {u.timeout, u.tcp});
    if (!answer) {
      error(domain + ": NO ANSWER: " + answer.error().detail);
      if (rc == kExitOk) rc = kExitNoAnswer;
      continue;
    }
    auto resp = dns::read_update_response(*answer, id, *key, signed_msg->mac, now);
    if (!resp) {
      error(domain + ": UNVERIFIED: bad answer from " + server->text() + ": " +
            resp.error().detail);
      if (rc == kExitOk) rc = kExitUnverified;
      continue;
    }
    if (resp->verdict == dns::UpdateVerdict::Success) {
      std::printf("NOERROR %s -> %s:%u (zone %s, server %s)\n", domain.c_str(), onion->c_str(),
                  c.port, zone.c_str(), server->text().c_str());
    } else {
      // The detail starts with the rcode; name the verdict first when it
      // is a TSIG error (BADSIG, ...) rather than the rcode itself.
      const std::string verdict(dns::update_verdict_name(resp->verdict));
      const bool named = resp->detail.starts_with(verdict);
      std::string msg = domain + ": ";
      if (!named) msg.append(verdict).append(": ");
      msg.append(resp->detail).append(" (zone ").append(zone).append(", server ");
      error(msg.append(server->text()).append(")"));
      if (rc == kExitOk) rc = exit_code(resp->verdict);
    }
  }
  std::fflush(stdout);
  return rc;
}

int run_check(const Common& c, const CheckOptions& o) {
  auto onion = local_onion(c);
  auto domains = checked_domains(c.domains);
  if (!onion || !domains) return kExitUsage;
  auto server = tools::parse_server(o.server);
  if (!server) {
    error(server.error().detail);
    return kExitUsage;
  }
  onionmx::Options opts;
  // Only the DNS source: the check is about what DNS publishes.
  opts.config_text = "[resolver]\norder = [\"dns\"]\n";
  opts.servers = server->text();
  opts.tcp = o.tcp;
  opts.dnssec = onionmx::Dnssec::Off;
  // What DNS publishes, not what a sender would decide: the downgrade
  // guard (docs/route-trust.md) hides an unsigned SRV record of a domain
  // with MTA-STS, and the policy record is not compared (no query for it).
  opts.no_policy = true;
  opts.no_downgrade_guard = true;
  opts.timeout_ms = static_cast<unsigned>(std::lround(o.timeout * 1000.0));
  std::optional<onionmx::Context> ctx;
  try {
    ctx.emplace(opts);
  } catch (const onionmx::Error& e) {
    error(e.what());
    return kExitUsage;
  }
  const std::string want = address::parse_onion(*onion)->full;
  const std::string want_text = want + ":" + std::to_string(c.port);
  int rc = kExitOk;
  for (const auto& d : *domains) {
    const onionmx::Lookup r = ctx->lookup(d);
    switch (r.outcome) {
      case onionmx::Outcome::Found: {
        bool match = false;
        std::string seen;
        for (const auto& route : r.routes) {
          if (route.onion == want && route.port == c.port) match = true;
          seen += (seen.empty() ? "" : ",") + route.onion + ":" + std::to_string(route.port);
        }
        if (match) {
          std::printf("OK %s -> %s\n", d.c_str(), want_text.c_str());
        } else {
          std::printf("MISMATCH %s -> %s (expected %s)\n", d.c_str(), seen.c_str(),
                      want_text.c_str());
          if (rc == kExitOk) rc = kExitMismatch;
        }
        break;
      }
      case onionmx::Outcome::NotFound:
        std::printf("MISSING %s (expected %s): %s\n", d.c_str(), want_text.c_str(),
                    r.reason.c_str());
        if (rc == kExitOk) rc = kExitMismatch;
        break;
      case onionmx::Outcome::Temp:
        std::printf("TEMP %s: %s\n", d.c_str(), r.reason.c_str());
        if (rc == kExitOk) rc = kExitNoAnswer;
        break;
      case onionmx::Outcome::Perm:
        std::printf("ERROR %s: %s\n", d.c_str(), r.reason.c_str());
        if (rc == kExitOk) rc = kExitMismatch;
        break;
    }
    std::fflush(stdout);
  }
  return rc;
}

void add_source(CLI::App* app, Common& c) {
  auto* hs =
      app->add_option("--hs-dir", c.hs_dir, "Tor HiddenServiceDir of the local onion service");
  auto* on = app->add_option("--onion", c.onion, "Onion address of the service (<56>.onion)");
  hs->excludes(on);
  app->add_option("--port", c.port, "SMTP port of the onion service")
      ->check(CLI::Range(1u, 65535u));
  app->add_option("domains", c.domains, "Mail domains")->required();
}

void add_record_options(CLI::App* app, RecordOptions& r) {
  app->add_option("--priority", r.priority, "SRV priority")->check(CLI::Range(0u, 65535u));
  app->add_option("--weight", r.weight, "SRV weight")->check(CLI::Range(0u, 65535u));
  app->add_option("--ttl", r.ttl, "TTL of both records (seconds)")
      ->check(CLI::Range(0u, 2147483647u));
  app->add_option("--mode", r.mode, "Policy mode")
      ->check(CLI::IsMember({"enforce", "testing", "none"}));
  app->add_option("--max-age", r.max_age, "Policy max_age (seconds)")
      ->check(CLI::Range(0u, record::kPolicyMaxAgeLimit));
  app->add_flag("--no-policy", r.no_policy, "Publish no policy TXT record");
}

}  // namespace

namespace {
int run(int argc, char** argv) {
  CLI::App app{
      "Publish and check the DNS records that route mail for a domain to a Tor onion service.",
      "onionmx-publish"};
  app.require_subcommand(1);
  Common common;
  RecordOptions rec;
  UpdateOptions upd;
  CheckOptions chk;

  auto* records = app.add_subcommand("records", "Print the zone-file lines for each domain");
  add_source(records, common);
  add_record_options(records, rec);

  auto* update =
      app.add_subcommand("update", "Replace the records with a TSIG-signed RFC 2136 UPDATE");
  add_source(update, common);
  add_record_options(update, rec);
  update->add_option("--server", upd.server, "Primary server IP[:PORT]");
  auto* tsig = update->add_option("--tsig", upd.tsig, "TSIG key as [ALGORITHM:]NAME:SECRET");
  auto* tsig_file = update->add_option("--tsig-file", upd.tsig_file, "BIND key file (tsig-keygen)");
  tsig->excludes(tsig_file);
  update->add_option("--zone", upd.zone, "Zone to update (default: each domain itself)");
  update->add_option("--timeout", upd.timeout, "Seconds to wait for the answer")
      ->check(CLI::Range(0.1, 120.0));
  update->add_flag("--tcp", upd.tcp, "Use TCP only");
  update->add_flag("--dry-run", upd.dry_run,
                   "Print the signed message (hex and dump), do not send");

  auto* check = app.add_subcommand("check", "Check that DNS publishes the local onion service");
  add_source(check, common);
  check->add_option("--server", chk.server, "DNS server IP[:PORT]")->required();
  check->add_option("--timeout", chk.timeout, "Seconds per lookup")->check(CLI::Range(0.1, 60.0));
  check->add_flag("--tcp", chk.tcp, "Query over TCP only");

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    const int rc = app.exit(e);
    return rc == 0 ? kExitOk : kExitUsage;
  }
  if (records->parsed()) return run_records(common, rec);
  if (update->parsed()) return run_update(common, rec, upd);
  return run_check(common, chk);
}
}  // namespace

int main(int argc, char** argv) {
  return onionmx::tools::guarded_main("onionmx-publish", 2, [&] { return run(argc, argv); });
}
