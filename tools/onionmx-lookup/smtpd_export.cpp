// smtpd_export.cpp - see smtpd_export.hpp.
#include "smtpd_export.hpp"

#include <spawn.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <sstream>

#include "smtpd_tables.hpp"

extern char** environ;

namespace onionmx::smtpd {

namespace {

constexpr int kExitOk = 0;
constexpr int kExitPartial = 2;
constexpr int kExitNothingWritten = 3;

// A relay map larger than this is not one we wrote: refuse to guess.
constexpr std::streamsize kMaxPrevious = 64L << 20;

void say(const std::string& msg) { std::fprintf(stderr, "onionmx-lookup: %s\n", msg.c_str()); }

// The previous relay map, so a failed lookup can keep its entry.  A
// missing file is a first run; an unreadable one is an error, because
// without it failed domains would silently lose their route.
bool read_previous(const std::string& path, Relays& out) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    if (errno == ENOENT) return true;
    say(path + ": " + std::strerror(errno));
    return false;
  }
  std::ostringstream ss;
  ss << in.rdbuf();
  if (ss.tellp() > kMaxPrevious) {
    say(path + ": too large to be a relay table");
    return false;
  }
  out = parse_relays(ss.view());
  return true;
}

// Writes a unique temporary file in the target's directory, fsyncs it and
// renames it over `path` (rename(2) is atomic within a file system), so
// smtpd never reads half a table.
bool write_atomically(const std::string& path, const std::string& data) {
  std::string tmpl = path + ".XXXXXX";
  const int fd = ::mkstemp(tmpl.data());
  if (fd < 0) {
    say(tmpl + ": " + std::strerror(errno));
    return false;
  }
  bool ok = ::fchmod(fd, 0644) == 0;  // smtpd reads it as its own user
  for (std::size_t done = 0; ok && done < data.size();) {
    const ssize_t n = ::write(fd, data.data() + done, data.size() - done);
    if (n < 0 && errno == EINTR) continue;
    ok = n > 0;
    if (ok) done += static_cast<std::size_t>(n);
  }
  ok = ok && ::fsync(fd) == 0;
  ok = ::close(fd) == 0 && ok;
  ok = ok && ::rename(tmpl.c_str(), path.c_str()) == 0;
  if (!ok) {
    say(path + ": " + std::strerror(errno));
    ::unlink(tmpl.c_str());
  }
  return ok;
}

// `smtpctl update table NAME` (smtpctl(8)); true when it exited 0.
bool smtpctl_update(const std::string& smtpctl, const std::string& table) {
  std::vector<std::string> argv_s{smtpctl, "update", "table", table};
  std::vector<char*> argv;
  argv.reserve(argv_s.size() + 1);
  for (auto& s : argv_s) argv.push_back(s.data());
  argv.push_back(nullptr);
  pid_t pid = 0;
  if (const int rc = ::posix_spawn(&pid, smtpctl.c_str(), nullptr, nullptr, argv.data(), environ);
      rc != 0) {
    say(smtpctl + ": " + std::strerror(rc));
    return false;
  }
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  if (WIFEXITED(status) && WEXITSTATUS(status) == 0) return true;
  say(smtpctl + " update table " + table + ": failed (status " + std::to_string(status) + ")");
  return false;
}

Answer reduce(const onionmx::Lookup& r) {
  Answer a;
  a.key = r.key;
  a.domain = r.domain;
  a.reason = r.reason;
  switch (r.outcome) {
    case onionmx::Outcome::Found:
      a.kind = Answer::Kind::Found;
      // The configured answer.opensmtpd_scheme and the best route.
      a.relay = r.formatted(onionmx::Format::OpenSmtpd);
      break;
    case onionmx::Outcome::NotFound:
      a.kind = Answer::Kind::NotFound;
      break;
    case onionmx::Outcome::Temp:
    case onionmx::Outcome::Perm:
      a.kind = Answer::Kind::Failed;
      break;
  }
  return a;
}

std::vector<Answer> resolve(onionmx::Context& ctx, const std::vector<std::string>& keys) {
  std::vector<Answer> answers(keys.size());
  for (std::size_t i = 0; i < keys.size(); ++i) {
    answers[i].key = keys[i];
    answers[i].reason = "lookup did not complete";
    const int rc = ctx.lookup_async(
        keys[i], [&answers, i](const onionmx::Lookup& r) { answers[i] = reduce(r); });
    if (rc != ONIONMX_OK) answers[i].reason = ctx.last_error();
  }
  ctx.run();
  return answers;
}

}  // namespace

int export_tables(onionmx::Context& ctx, const std::vector<std::string>& keys,
                  const ExportArgs& a) {
  const std::string domains_path = a.dir + "/smtpd-domains";
  const std::string relays_path = a.dir + "/smtpd-relays";
  Relays previous;
  if (!read_previous(relays_path, previous)) return kExitNothingWritten;
  const Tables t = build(resolve(ctx, keys), previous);
  for (const auto& line : t.reports) say(line);
  // The relay map first: a domain listed before its relay exists would be
  // deferred for a moment ("Failed to retrieve smarthost").
  if (!write_atomically(relays_path, format_relays(t.relays)) ||
      !write_atomically(domains_path, format_domains(t.relays)))
    return kExitNothingWritten;
  std::fprintf(stderr, "onionmx-lookup: %zu onion domains written to %s\n", t.relays.size(),
               a.dir.c_str());
  bool reloaded = true;
  if (!a.smtpctl.empty()) {
    reloaded = smtpctl_update(a.smtpctl, a.tables[1]) && smtpctl_update(a.smtpctl, a.tables[0]);
  }
  return t.any_failed || !reloaded ? kExitPartial : kExitOk;
}

}  // namespace onionmx::smtpd
