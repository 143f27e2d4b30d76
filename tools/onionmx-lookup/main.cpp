// onionmx-lookup - ask onionmx where mail for a recipient goes.
//
// Uses only the public C++ API (onionmx.hpp).  Keys from the command line or
// from stdin ("-", one per line) are resolved concurrently and answered in
// input order, each as soon as every earlier one is answered.  Exit status
// (fixed interface): 0 every key found, 1 any not found, 2 any temporary
// failure, 3 any permanent failure or a usage error.
#include <cstdio>
#include <iostream>
#include <optional>
#include <string>
#include <vector>

#include <CLI/CLI.hpp>

#include <onionmx/onionmx.hpp>

namespace {

constexpr int kExitFound = 0;
constexpr int kExitNotFound = 1;
constexpr int kExitTemp = 2;
constexpr int kExitPermOrUsage = 3;

// The demo: answers that need no network (local domains and onion
// recipients), so a newcomer sees every kind of verdict at once.
constexpr const char* kDemoConfig = R"toml(
[resolver]
order = ["local", "onion-address"]
local_domains = ["example.org", ".example.org"]
)toml";

const std::vector<std::string> kDemoKeys = {
    "postmaster@aoqqpp7tzyil4hlq3umoos6atft6jvrqtosq2xy53sdgiesvgg4bqead.onion",
    "Alice@SMTP.25NJQAMCWEFLPVKL73J4SZAHHIHOC4XT3KTCGJNPAINGR5YHKENL5SID.ONION.",
    "bob@boqqpp7tzyil4hlq3umoos6atft6jvrqtosq2xy53sdgiesvgg4bqead.onion",
    "carol@expyuzz4wqqyqhjn.onion",
    "dave@aeaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaahmjqd.onion",
    "erin@aoqqpp7tzyil4hlq3umoos6atft6jvrqtosq2xy53sdgiesvgg4bqea.onion",
    "frank@lists.example.org",
    "*",
    "grace@[192.0.2.1]",
};

int severity(onionmx::Outcome o) {
  switch (o) {
    case onionmx::Outcome::Found: return kExitFound;
    case onionmx::Outcome::NotFound: return kExitNotFound;
    case onionmx::Outcome::Temp: return kExitTemp;
    case onionmx::Outcome::Perm: return kExitPermOrUsage;
  }
  return kExitTemp;
}

// Exit status is the worst verdict: perm > temp > not found > found.
int combine(int a, int b) { return std::max(a, b); }

void print(const onionmx::Lookup& r, onionmx::Format fmt, bool explain) {
  const std::string line = r.formatted(fmt);
  std::fputs(line.c_str(), stdout);
  std::fputc('\n', stdout);
  // JSON carries the decision path in its `explain` field.
  if (explain && fmt != onionmx::Format::Json)
    for (const auto& e : r.explain) std::printf("  # %s\n", e.c_str());
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"Look up the Tor onion service that receives mail for a recipient or domain.",
               "onionmx-lookup"};
  std::string format = "text";
  std::string config;
  std::vector<std::string> servers;
  bool tcp = false;
  std::string dnssec;
  double timeout = 0;
  bool explain = false;
  bool demo = false;
  bool version = false;
  std::vector<std::string> keys;

  app.add_option("--format", format, "Answer format")
      ->check(CLI::IsMember({"text", "json", "postfix", "opensmtpd"}));
  app.add_option("--config", config, "Configuration file (default /etc/onionmx/onionmx.toml if it exists)");
  app.add_option("--server", servers, "DNS server IP[:PORT], repeatable (default: config, else resolv.conf)")
      ->allow_extra_args(false);  // one value per --server, so keys after it stay keys
  app.add_flag("--tcp", tcp, "Query DNS over TCP only");
  app.add_option("--dnssec", dnssec, "DNSSEC policy")->check(CLI::IsMember({"off", "prefer", "require"}));
  app.add_option("--timeout", timeout, "Time budget of one lookup in seconds")->check(CLI::Range(0.1, 60.0));
  app.add_flag("--explain", explain, "Show the decision path of every answer");
  app.add_flag("--demo", demo, "Answer a built-in set of example keys (no network, no config)");
  app.add_flag("--version", version, "Print the version and exit");
  app.add_option("keys", keys, "Recipient addresses or domains; - reads them from stdin, one per line");

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    int rc = app.exit(e);
    return rc == 0 ? 0 : kExitPermOrUsage;
  }
  if (version) {
    std::printf("onionmx-lookup %s (library %s)\n", ONIONMX_VERSION_STRING, onionmx_version());
    return 0;
  }

  onionmx::Options opts;
  if (demo) {
    if (!keys.empty() || !config.empty() || !servers.empty()) {
      std::fprintf(stderr, "onionmx-lookup: --demo takes no keys, --config or --server\n");
      return kExitPermOrUsage;
    }
    opts.config_text = kDemoConfig;
    keys = kDemoKeys;
  } else if (keys.empty()) {
    std::fprintf(stderr, "onionmx-lookup: no keys given (try --help, or --demo)\n");
    return kExitPermOrUsage;
  }
  if (!demo) {
    opts.config_path = config.empty() ? "/etc/onionmx/onionmx.toml" : config;
    opts.config_optional = config.empty();
  }
  if (!servers.empty()) {
    std::string csv;
    for (const auto& s : servers) csv += (csv.empty() ? "" : ",") + s;
    opts.servers = csv;
  }
  if (tcp) opts.tcp = true;
  if (dnssec == "off") opts.dnssec = onionmx::Dnssec::Off;
  if (dnssec == "prefer") opts.dnssec = onionmx::Dnssec::Prefer;
  if (dnssec == "require") opts.dnssec = onionmx::Dnssec::Require;
  if (timeout > 0) opts.timeout_ms = static_cast<unsigned>(timeout * 1000.0 + 0.5);
  opts.explain = explain;
  opts.log = [](int level, const std::string& msg) {
    static const char* names[] = {"debug", "info", "warning", "error"};
    if (level >= ONIONMX_LOG_WARNING)
      std::fprintf(stderr, "onionmx-lookup: %s: %s\n", names[level & 3], msg.c_str());
  };

  onionmx::Format fmt = onionmx::Format::Text;
  if (format == "json") fmt = onionmx::Format::Json;
  if (format == "postfix") fmt = onionmx::Format::Postfix;
  if (format == "opensmtpd") fmt = onionmx::Format::OpenSmtpd;

  // Expand "-" into the keys read from stdin, in place.
  std::vector<std::string> all;
  for (const auto& k : keys) {
    if (k != "-") {
      all.push_back(k);
      continue;
    }
    std::string line;
    while (std::getline(std::cin, line)) {
      if (!line.empty() && line.back() == '\r') line.pop_back();
      if (line.empty()) continue;
      all.push_back(line);
    }
  }

  if (all.empty()) {
    std::fprintf(stderr, "onionmx-lookup: no keys on standard input\n");
    return kExitPermOrUsage;
  }

  std::optional<onionmx::Context> ctx;
  try {
    ctx.emplace(opts);
  } catch (const onionmx::Error& e) {
    std::fprintf(stderr, "onionmx-lookup: %s\n", e.what());
    return kExitPermOrUsage;
  }

  std::vector<std::optional<onionmx::Lookup>> results(all.size());
  std::size_t printed = 0;
  int exit_code = kExitFound;
  auto flush_ready = [&] {
    while (printed < results.size() && results[printed]) {
      print(*results[printed], fmt, explain);
      exit_code = combine(exit_code, severity(results[printed]->outcome));
      results[printed].reset();
      ++printed;
    }
    std::fflush(stdout);
  };
  for (std::size_t i = 0; i < all.size(); ++i) {
    int rc = ctx->lookup_async(all[i], [&, i](onionmx::Lookup r) {
      results[i] = std::move(r);
      flush_ready();
    });
    if (rc != ONIONMX_OK) {
      onionmx::Lookup failed;
      failed.key = all[i];
      failed.status = rc;
      failed.outcome = onionmx_status_is_temporary(rc) ? onionmx::Outcome::Temp : onionmx::Outcome::Perm;
      failed.reason = onionmx_ctx_last_error(ctx->native());
      results[i] = std::move(failed);
    }
  }
  ctx->run();
  flush_ready();
  if (printed != results.size()) {
    std::fprintf(stderr, "onionmx-lookup: %zu lookups did not complete\n", results.size() - printed);
    return kExitTemp;
  }
  return demo ? 0 : exit_code;
}
