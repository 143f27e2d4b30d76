// onionmx-lookup - ask onionmx where mail for a recipient goes.
//
// Uses only the public C++ API (onionmx.hpp).  Keys from the command line or
// from stdin ("-", one per line) are resolved concurrently and answered in
// input order, each as soon as every earlier one is answered.  Standard
// input is read as the window of unanswered keys has room (kWindow), so
// memory stays bounded whatever the input's size.  Exit status (fixed
// interface): 0 every key found, 1 any not found, 2 any temporary failure,
// 3 any permanent failure or a usage error.
#include <CLI/CLI.hpp>
#include <algorithm>
#include <cstdio>
#include <deque>
#include <iostream>
#include <onionmx/onionmx.hpp>
#include <optional>
#include <string>
#include <vector>

#include "common/guarded_main.hpp"
#include "common/source_flags.hpp"
#include "smtpd_export.hpp"

namespace {

constexpr int kExitFound = 0;
constexpr int kExitNotFound = 1;
constexpr int kExitTemp = 2;
constexpr int kExitPermOrUsage = 3;

// Keys read but not yet printed.  Large enough to keep the DNS client's
// in-flight limit busy, small enough that memory does not grow with input.
constexpr std::size_t kWindow = 4096;

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
    case onionmx::Outcome::Found:
      return kExitFound;
    case onionmx::Outcome::NotFound:
      return kExitNotFound;
    case onionmx::Outcome::Temp:
      return kExitTemp;
    case onionmx::Outcome::Perm:
      return kExitPermOrUsage;
  }
  return kExitTemp;
}

struct Args {
  std::string format = "text";
  onionmx::tools::SourceArgs src;
  bool explain = false;
  bool demo = false;
  bool version = false;
  bool cache_dump = false;
  std::vector<std::string> cache_purge;
  std::vector<std::string> keys;
  onionmx::smtpd::ExportArgs smtpd;
  std::string smtpd_tables;
};

void define(CLI::App& app, Args& a) {
  app.add_option("--format", a.format, "Answer format")
      ->check(CLI::IsMember({"text", "json", "postfix", "opensmtpd"}));
  onionmx::tools::define_source_flags(app, a.src);
  app.add_flag("--cache-dump", a.cache_dump,
               "Print the cache's entries as JSON lines (those of --cache-file or cache.file)");
  app.add_option("--cache-purge", a.cache_purge,
                 "Drop DOMAIN's entry from the cache file; one domain each, repeatable")
      ->option_text("DOMAIN")
      ->allow_extra_args(false);
  app.add_option(
         "--export-opensmtpd", a.smtpd.dir,
         "Write DIR/smtpd-domains and DIR/smtpd-relays (OpenSMTPD file tables) for the keys")
      ->option_text("DIR")
      ->allow_extra_args(false);
  app.add_option("--smtpctl", a.smtpd.smtpctl,
                 "After --export-opensmtpd, run PATH update table for both tables")
      ->option_text("PATH")
      ->allow_extra_args(false);
  app.add_option("--smtpd-tables", a.smtpd_tables,
                 "Table names for --smtpctl: LIST,MAP (default onion_domains,onion_relays)")
      ->option_text("LIST,MAP")
      ->allow_extra_args(false);
  app.add_flag("--explain", a.explain, "Show the decision path of every answer");
  app.add_flag("--demo", a.demo, "Answer a built-in set of example keys (no network, no config)");
  app.add_flag("--version", a.version, "Print the version and exit");
  app.add_option("keys", a.keys,
                 "Recipient addresses or domains; - reads them from stdin, one per line");
}

// Library options from the command line; an empty string when valid,
// else the usage error.
std::string options_from(Args& a, onionmx::Options& opts) {
  if (a.demo) {
    if (!a.keys.empty() || !a.src.config.empty() || !a.src.servers.empty() || !a.smtpd.dir.empty())
      return "--demo takes no keys, --config, --server or --export-opensmtpd";
    opts.config_text = kDemoConfig;
    a.keys = kDemoKeys;
  } else {
    const bool cache_job = a.cache_dump || !a.cache_purge.empty();
    if (cache_job && !a.keys.empty()) return "--cache-dump and --cache-purge take no keys";
    if (a.cache_dump && !a.cache_purge.empty())
      return "--cache-dump and --cache-purge go in separate runs";
    if (!cache_job && a.keys.empty()) return "no keys given (try --help, or --demo)";
    if (a.smtpd.dir.empty() && (!a.smtpd.smtpctl.empty()))
      return "--smtpctl needs --export-opensmtpd";
    if (!a.smtpd.dir.empty() && (cache_job || a.explain || a.format != "text"))
      return "--export-opensmtpd takes no --format, --explain or cache jobs";
    if (!a.smtpd_tables.empty()) {
      const auto comma = a.smtpd_tables.find(',');
      a.smtpd.tables = {a.smtpd_tables.substr(0, comma),
                        comma == std::string::npos ? "" : a.smtpd_tables.substr(comma + 1)};
      for (const auto& t : a.smtpd.tables)
        if (t.empty() || t.find_first_of(", \t") != std::string::npos)
          return "--smtpd-tables takes two table names: LIST,MAP";
    }
    onionmx::tools::apply_config_flag(a.src, opts);
  }
  if (std::string usage = onionmx::tools::apply_source_flags(a.src, opts); !usage.empty())
    return usage;
  opts.explain = a.explain;
  opts.log = [](int level, const std::string& msg) {
    static const char* names[] = {"debug", "info", "warning", "error"};
    if (level >= ONIONMX_LOG_WARNING)
      std::fprintf(stderr, "onionmx-lookup: %s: %s\n", names[level & 3], msg.c_str());
  };
  return {};
}

onionmx::Format format_of(const std::string& name) {
  if (name == "json") return onionmx::Format::Json;
  if (name == "postfix") return onionmx::Format::Postfix;
  if (name == "opensmtpd") return onionmx::Format::OpenSmtpd;
  return onionmx::Format::Text;
}

// The keys in order: the command line's, with "-" expanded into the lines
// of standard input, read only when asked for.
class KeySource {
 public:
  explicit KeySource(const std::vector<std::string>& args) : args_(args) {}
  std::optional<std::string> next() {
    for (;;) {
      if (reading_stdin_) {
        std::string line;
        if (std::getline(std::cin, line)) {
          if (!line.empty() && line.back() == '\r') line.pop_back();
          if (line.empty()) continue;
          ++from_stdin_;
          return line;
        }
        reading_stdin_ = false;
      }
      if (i_ >= args_.size()) return std::nullopt;
      const std::string& k = args_[i_++];
      if (k != "-") return k;
      reading_stdin_ = true;
      ++dashes_;
    }
  }
  // "-" was given and standard input had no key.
  bool stdin_empty() const { return dashes_ > 0 && from_stdin_ == 0; }

 private:
  const std::vector<std::string>& args_;
  std::size_t i_ = 0;
  bool reading_stdin_ = false;
  std::size_t dashes_ = 0;
  std::size_t from_stdin_ = 0;
};

// Answers in input order: slot i is printed once slots 0..i-1 were.
class OrderedPrinter {
 public:
  OrderedPrinter(onionmx::Format fmt, bool explain) : fmt_(fmt), explain_(explain) {}
  std::size_t open() {
    slots_.emplace_back();
    return first_ + slots_.size() - 1;
  }
  void fill(std::size_t index, onionmx::Lookup r) {
    slots_[index - first_] = std::move(r);
    flush();
  }
  std::size_t unanswered() const { return slots_.size(); }
  std::size_t printed() const { return first_; }
  int exit_code() const { return exit_code_; }

 private:
  void flush() {
    while (!slots_.empty() && slots_.front()) {
      const onionmx::Lookup& r = *slots_.front();
      std::fputs(r.formatted(fmt_).c_str(), stdout);
      std::fputc('\n', stdout);
      // JSON carries the decision path in its `explain` field.
      if (explain_ && fmt_ != onionmx::Format::Json)
        for (const auto& e : r.explain) std::printf("  # %s\n", e.c_str());
      // Exit status is the worst verdict: perm > temp > not found > found.
      exit_code_ = std::max(exit_code_, severity(r.outcome));
      slots_.pop_front();
      ++first_;
    }
  }
  onionmx::Format fmt_;
  bool explain_;
  std::deque<std::optional<onionmx::Lookup>> slots_;
  std::size_t first_ = 0;
  int exit_code_ = kExitFound;
};

// Resolves every key with at most kWindow unanswered; returns the exit code.
int resolve_all(onionmx::Context& ctx, KeySource& keys, OrderedPrinter& out) {
  while (auto key = keys.next()) {
    const std::size_t slot = out.open();
    int rc =
        ctx.lookup_async(*key, [&out, slot](onionmx::Lookup r) { out.fill(slot, std::move(r)); });
    if (rc != ONIONMX_OK) {
      onionmx::Lookup failed;
      failed.key = *key;
      failed.status = rc;
      failed.outcome =
          onionmx_status_is_temporary(rc) ? onionmx::Outcome::Temp : onionmx::Outcome::Perm;
      failed.reason = ctx.last_error();
      out.fill(slot, std::move(failed));
    }
    while (out.unanswered() >= kWindow && ctx.run_once() == ONIONMX_OK) {
    }
  }
  ctx.run();
  std::fflush(stdout);
  if (out.unanswered() != 0) {
    std::fprintf(stderr, "onionmx-lookup: %zu lookups did not complete\n", out.unanswered());
    return kExitTemp;
  }
  return out.exit_code();
}

// --cache-dump and --cache-purge: work on the cache file, look nothing up.
int cache_job(onionmx::Context& ctx, const Args& a) {
  if (a.cache_dump) {
    for (const auto& line : ctx.cache_dump()) std::printf("%s\n", line.c_str());
    return kExitFound;
  }
  int rc = kExitFound;
  for (const auto& d : a.cache_purge) {
    const int r = ctx.cache_purge(d);
    if (r == ONIONMX_ENOTFOUND) {
      std::fprintf(stderr, "onionmx-lookup: %s: not in the cache\n", d.c_str());
      rc = std::max(rc, kExitNotFound);
    } else if (r != ONIONMX_OK) {
      std::fprintf(stderr, "onionmx-lookup: %s: %s\n", d.c_str(), ctx.last_error().c_str());
      return kExitPermOrUsage;
    }
  }
  if (const int r = ctx.cache_save(); r != ONIONMX_OK) {
    std::fprintf(stderr, "onionmx-lookup: cache not saved: %s\n", ctx.last_error().c_str());
    return kExitPermOrUsage;
  }
  return rc;
}

}  // namespace

namespace {
int run(int argc, char** argv) {
  CLI::App app{"Look up the Tor onion service that receives mail for a recipient or domain.",
               "onionmx-lookup"};
  Args args;
  define(app, args);
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    int rc = app.exit(e);
    return rc == 0 ? 0 : kExitPermOrUsage;
  }
  if (args.version) {
    std::printf("onionmx-lookup %s (library %s)\n", ONIONMX_VERSION_STRING, onionmx_version());
    return 0;
  }
  onionmx::Options opts;
  if (std::string usage = options_from(args, opts); !usage.empty()) {
    std::fprintf(stderr, "onionmx-lookup: %s\n", usage.c_str());
    return kExitPermOrUsage;
  }
  std::optional<onionmx::Context> ctx;
  try {
    ctx.emplace(opts);
  } catch (const onionmx::Error& e) {
    std::fprintf(stderr, "onionmx-lookup: %s\n", e.what());
    return kExitPermOrUsage;
  }
  if (args.cache_dump || !args.cache_purge.empty()) return cache_job(*ctx, args);
  KeySource keys(args.keys);
  if (!args.smtpd.dir.empty()) {
    std::vector<std::string> domains;
    while (auto k = keys.next()) domains.push_back(std::move(*k));
    return onionmx::smtpd::export_tables(*ctx, domains, args.smtpd);
  }
  OrderedPrinter out(format_of(args.format), args.explain);
  const int rc = resolve_all(*ctx, keys, out);
  if (keys.stdin_empty() && out.printed() == 0) {
    std::fprintf(stderr, "onionmx-lookup: no keys on standard input\n");
    return kExitPermOrUsage;
  }
  return args.demo ? 0 : rc;
}
}  // namespace

int main(int argc, char** argv) {
  return onionmx::tools::guarded_main("onionmx-lookup", kExitPermOrUsage,
                                      [&] { return run(argc, argv); });
}
