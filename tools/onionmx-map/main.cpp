// onionmx-map - make, sign, verify, convert and inspect onionmx static maps.
//
// Fixed interface (docs/onionmx-map.md, onionmx-map(1)):
//   keygen -p PUB -s SEC [-W]        minisign key pair (scrypt-encrypted unless -W)
//   sign -s SEC MAP                  writes MAP.minisig (prehashed "ED")
//   verify -p PUB MAP                signature, expiry and every entry
//   import --postfix FILE -o MAP     Postfix transport file -> map
//   import --onionmx-yaml FILE -o MAP  onionmx YAML map -> map
//   export --postfix MAP             transport file for postmap(1) on stdout
//   export --opensmtpd MAP DIR       DIR/smtpd-domains and DIR/smtpd-relays
//   lint MAP                         every problem of an (unsigned) map
//   show MAP [DOMAIN...]             summary and entries, or lookups
// Exit status: 0 success, 1 verification or validation failure, 2 usage or
// I/O error.  Passwords come from ONIONMX_MAP_PASSWORD or the terminal
// (echo off), never from the command line.
#include <fcntl.h>
#include <sys/stat.h>
#include <termios.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <cstdio>
#include <cstring>
#include <ctime>
#include <filesystem>
#include <iostream>
#include <optional>
#include <string>
#include <vector>

#include "common/guarded_main.hpp"
#include "convert.hpp"
#include "crypto/minisign.hpp"
#include "map/signed_map.hpp"
#include "map/static_map.hpp"

namespace {

using namespace onionmx;

constexpr int kExitOk = 0;
constexpr int kExitInvalid = 1;
constexpr int kExitUsage = 2;

int report(const base::Error& e, int code) {
  std::fprintf(stderr, "onionmx-map: %s\n", e.detail.c_str());
  return code;
}

int fatal(const std::string& msg) {
  std::fprintf(stderr, "onionmx-map: %s\n", msg.c_str());
  return kExitUsage;
}

std::optional<std::string> read_text(const std::string& path, std::size_t max, int& rc) {
  auto r = map::read_whole_file(path, max);
  if (!r) {
    rc = report(r.error(), kExitUsage);
    return std::nullopt;
  }
  return std::move(*r);
}

// Writes via a temporary file and rename, so readers never see half a file.
bool write_file(const std::string& path, std::string_view data, mode_t mode) {
  const std::string tmp = path + ".tmp";
  int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);
  if (fd < 0) {
    std::perror(tmp.c_str());
    return false;
  }
  bool ok = true;
  std::size_t done = 0;
  while (ok && done < data.size()) {
    ssize_t n = ::write(fd, data.data() + done, data.size() - done);
    if (n <= 0)
      ok = false;
    else
      done += static_cast<std::size_t>(n);
  }
  ok = ok && ::fsync(fd) == 0;
  ok = (::close(fd) == 0) && ok;
  if (!ok || ::rename(tmp.c_str(), path.c_str()) != 0) {
    std::perror(path.c_str());
    ::unlink(tmp.c_str());
    return false;
  }
  return true;
}

std::optional<std::string> read_password(const char* prompt, bool confirm) {
  if (const char* env = std::getenv("ONIONMX_MAP_PASSWORD")) return std::string(env);
  int fd = ::open("/dev/tty", O_RDWR | O_CLOEXEC);
  if (fd < 0) {
    std::fprintf(stderr, "onionmx-map: no terminal for the password; set ONIONMX_MAP_PASSWORD\n");
    return std::nullopt;
  }
  auto ask = [fd](const char* p) -> std::optional<std::string> {
    (void)!::write(fd, p, std::strlen(p));
    termios old{};
    const bool tty = ::tcgetattr(fd, &old) == 0;
    if (tty) {
      termios quiet = old;
      quiet.c_lflag &= static_cast<tcflag_t>(~ECHO);
      ::tcsetattr(fd, TCSAFLUSH, &quiet);
    }
    std::string pw;
    char c;
    while (::read(fd, &c, 1) == 1 && c != '\n') pw.push_back(c);
    if (tty) ::tcsetattr(fd, TCSAFLUSH, &old);
    (void)!::write(fd, "\n", 1);
    return pw;
  };
  auto pw = ask(prompt);
  if (pw && confirm) {
    auto again = ask("Password (one more time): ");
    if (!again || *again != *pw) {
      std::fprintf(stderr, "onionmx-map: passwords don't match\n");
      crypto::wipe(*pw);
      pw.reset();
    }
    if (again) crypto::wipe(*again);
  }
  ::close(fd);
  return pw;
}

std::int64_t now() { return static_cast<std::int64_t>(std::time(nullptr)); }

std::optional<map::StaticMap> parse_map_file(const std::string& path, int& rc) {
  auto text = read_text(path, map::kMaxMapBytes, rc);
  if (!text) return std::nullopt;
  auto m = map::parse_map(*text, map::ParseOptions{0, 1000});
  if (!m) {
    rc = report(base::Error{m.error().code, path + ": " + m.error().detail}, kExitInvalid);
    return std::nullopt;
  }
  return std::move(*m);
}

void print_routes(std::string_view key, const std::vector<record::Route>& routes) {
  std::string line(key);
  line += "\t";
  for (std::size_t i = 0; i < routes.size(); ++i) {
    if (i) line += " ";
    line += routes[i].onion + ":" + std::to_string(routes[i].port);
    if (routes[i].priority) line += "/" + std::to_string(routes[i].priority);
  }
  std::puts(line.c_str());
}

}  // namespace

namespace {
int run(int argc, char** argv) {
  CLI::App app{"Make, sign, verify, convert and inspect onionmx static maps.", "onionmx-map"};
  app.require_subcommand(1);

  std::string pub_path, sec_path, map_path, out_path, dir_path, postfix_in, yaml_in;
  std::string trusted_comment, transport = "smtptor", state_dir, expires_text;
  bool unencrypted = false, force = false, legacy = false, allow_unsigned = false;
  std::uint64_t serial = 0;
  bool export_postfix = false, export_smtpd = false;
  std::vector<std::string> domains;

  auto* keygen = app.add_subcommand("keygen", "Create a minisign key pair for signing maps");
  keygen->add_option("-p,--public-key", pub_path, "Public key file to write")->required();
  keygen->add_option("-s,--secret-key", sec_path, "Secret key file to write")->required();
  keygen->add_flag("-W,--unencrypted", unencrypted,
                   "Store the secret key unencrypted (as minisign -W)");
  keygen->add_flag("-f,--force", force, "Overwrite existing key files");

  auto* sign = app.add_subcommand("sign", "Sign a map, writing MAP.minisig");
  sign->add_option("-s,--secret-key", sec_path, "minisign secret key")->required();
  sign->add_option("MAP", map_path, "Map file")->required();
  sign->add_option("-t,--trusted-comment", trusted_comment, "Trusted comment (signed)");
  sign->add_flag("-l,--legacy", legacy, "Legacy non-prehashed signature (minisign -l)");

  auto* verify = app.add_subcommand("verify", "Verify a signed map and every entry");
  verify->add_option("-p,--public-key", pub_path, "Trusted minisign public key")->required();
  verify->add_option("MAP", map_path, "Map file (MAP.minisig next to it)")->required();
  verify->add_option("--state-dir", state_dir, "Check and record the serial (rollback state)");
  verify->add_flag("--allow-unsigned", allow_unsigned, "Accept a map without MAP.minisig");

  auto* imp = app.add_subcommand("import", "Convert a Postfix transport file or YAML map");
  auto* imp_pf = imp->add_option("--postfix", postfix_in, "Postfix transport(5) file");
  auto* imp_y = imp->add_option("--onionmx-yaml", yaml_in, "onionmx YAML map (onion: [domains])");
  imp_pf->excludes(imp_y);
  imp->add_option("-o,--output", out_path, "Map file to write")->required();
  imp->add_option("--serial", serial, "Serial (default: the current Unix time)");
  imp->add_option("--expires", expires_text, "Expiry, RFC 3339 (e.g. 2027-01-01T00:00:00Z)");

  auto* exp = app.add_subcommand("export", "Write MTA tables from a map");
  exp->add_flag("--postfix", export_postfix, "Postfix transport file on stdout (or -o)");
  exp->add_flag("--opensmtpd", export_smtpd, "OpenSMTPD file tables into DIR");
  exp->add_option("MAP", map_path, "Map file")->required();
  exp->add_option("DIR", dir_path, "Directory for smtpd-domains and smtpd-relays");
  exp->add_option("-o,--output", out_path, "Output file (--postfix)");
  exp->add_option("--transport", transport, "Postfix transport name (default smtptor)");

  auto* lint = app.add_subcommand("lint", "Check a map and list every problem");
  lint->add_option("MAP", map_path, "Map file")->required();

  auto* show = app.add_subcommand("show", "Print a map's summary and entries, or look up domains");
  show->add_option("MAP", map_path, "Map file")->required();
  show->add_option("DOMAIN", domains, "Domains to look up");

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    const int rc = app.exit(e);
    return rc == 0 ? 0 : kExitUsage;
  }

  int rc = kExitOk;
  try {
    if (*keygen) {
      if (!force && (std::filesystem::exists(pub_path) || std::filesystem::exists(sec_path)))
        return fatal("key file exists (use --force to overwrite)");
      auto key = crypto::minisign_generate_key();
      std::optional<std::string> pw;
      if (!unencrypted) {
        pw = read_password("Password: ", true);
        if (!pw) return kExitUsage;
      }
      auto sec = crypto::format_minisign_secret_key(
          key, pw ? std::optional<std::string_view>(*pw) : std::nullopt);
      if (pw) crypto::wipe(*pw);
      if (!sec) return report(sec.error(), kExitUsage);
      const bool written = write_file(sec_path, *sec, 0600);
      crypto::wipe(*sec);
      if (!written) return kExitUsage;
      if (!write_file(pub_path, crypto::format_minisign_public_key(key.public_key()), 0644))
        return kExitUsage;
      std::printf("key id %s\npublic key: %s\nsecret key: %s\n",
                  crypto::key_id_hex(key.key_id).c_str(), pub_path.c_str(), sec_path.c_str());
      return kExitOk;
    }

    if (*sign) {
      auto sec_text = read_text(sec_path, 4096, rc);
      if (!sec_text) return rc;
      auto encrypted = crypto::minisign_secret_key_is_encrypted(*sec_text);
      if (!encrypted) return report(encrypted.error(), kExitUsage);
      std::optional<std::string> pw;
      if (*encrypted) {
        pw = read_password("Password: ", false);
        if (!pw) return kExitUsage;
      }
      auto key = crypto::parse_minisign_secret_key(
          *sec_text, pw ? std::optional<std::string_view>(*pw) : std::nullopt);
      if (pw) crypto::wipe(*pw);
      crypto::wipe(*sec_text);
      if (!key) return report(key.error(), kExitInvalid);
      auto text = read_text(map_path, map::kMaxMapBytes, rc);
      if (!text) return rc;
      // Never sign a map that would be refused.
      auto m = map::parse_map(*text);
      if (!m)
        return report(base::Error{m.error().code, map_path + ": " + m.error().detail},
                      kExitInvalid);
      if (trusted_comment.empty())
        trusted_comment = "timestamp:" + std::to_string(now()) +
                          "\tfile:" + std::filesystem::path(map_path).filename().string() +
                          (legacy ? "" : "\thashed") + "\tserial:" + std::to_string(m->serial());
      auto sig = crypto::minisign_sign(
          *key, std::span(reinterpret_cast<const std::uint8_t*>(text->data()), text->size()),
          trusted_comment, "signature from onionmx-map secret key",
          legacy ? crypto::SignatureAlgorithm::Legacy : crypto::SignatureAlgorithm::Prehashed);
      if (!sig) return report(sig.error(), kExitUsage);
      if (!write_file(map_path + ".minisig", *sig, 0644)) return kExitUsage;
      std::printf("signed %s (serial %llu, %zu entries) with key %s\n", map_path.c_str(),
                  static_cast<unsigned long long>(m->serial()), m->size(),
                  crypto::key_id_hex(key->key_id).c_str());
      return kExitOk;
    }

    if (*verify) {
      auto pub_text = read_text(pub_path, 4096, rc);
      if (!pub_text) return rc;
      auto pub = crypto::parse_minisign_public_key(*pub_text);
      if (!pub) return report(pub.error(), kExitUsage);
      map::LoadOptions opt;
      opt.trusted_keys.push_back(*pub);
      opt.state_dir = state_dir;
      opt.now = now();
      opt.allow_unsigned = allow_unsigned;
      auto loaded = map::load_signed_map(map_path, opt);
      if (!loaded) return report(loaded.error(), kExitInvalid);
      for (const auto& w : loaded->warnings)
        if (w.find("rollback protection") == std::string::npos || !state_dir.empty())
          std::fprintf(stderr, "onionmx-map: warning: %s\n", w.c_str());
      if (loaded->signer)
        std::printf("Signature and comment signature verified\nTrusted comment: %s\n",
                    loaded->trusted_comment.c_str());
      std::printf("map serial %llu, %zu entries, %zu onions%s\n",
                  static_cast<unsigned long long>(loaded->map.serial()), loaded->map.size(),
                  loaded->map.distinct_onions(),
                  loaded->map.expires()
                      ? (", expires " + map::format_rfc3339(*loaded->map.expires())).c_str()
                      : "");
      return kExitOk;
    }

    if (*imp) {
      if (postfix_in.empty() == yaml_in.empty())
        return fatal("import: give exactly one of --postfix FILE or --onionmx-yaml FILE");
      std::optional<std::int64_t> expires;
      if (!expires_text.empty()) {
        expires = map::parse_rfc3339(expires_text);
        if (!expires) return fatal("--expires: not an RFC 3339 date-time: " + expires_text);
      }
      const std::string& in = postfix_in.empty() ? yaml_in : postfix_in;
      auto text = read_text(in, 256u << 20, rc);
      if (!text) return rc;
      mapconv::Import result;
      if (!postfix_in.empty()) {
        result = mapconv::import_postfix(*text);
      } else {
        auto y = mapconv::import_onionmx_yaml(*text);
        if (!y)
          return report(base::Error{y.error().code, in + ": " + y.error().detail}, kExitInvalid);
        result = std::move(*y);
      }
      for (const auto& d : result.dropped)
        std::fprintf(stderr, "%s: dropped %s\n", in.c_str(), d.c_str());
      const std::string json = map::format_map(serial ? serial : static_cast<std::uint64_t>(now()),
                                               expires, result.entries);
      // The output must itself be a valid map.
      auto check = map::parse_map(json);
      if (!check) return report(check.error(), kExitInvalid);
      if (!write_file(out_path, json, 0644)) return kExitUsage;
      std::printf("imported %zu entries into %s; dropped %zu (%zu v2 onions, %zu other)\n",
                  result.entries.size(), out_path.c_str(), result.dropped.size(), result.v2,
                  result.dropped.size() - result.v2);
      return kExitOk;
    }

    if (*exp) {
      if (export_postfix == export_smtpd)
        return fatal("export: give exactly one of --postfix or --opensmtpd");
      auto m = parse_map_file(map_path, rc);
      if (!m) return rc;
      std::vector<std::string> warnings;
      if (export_postfix) {
        auto out = mapconv::export_postfix(*m, transport, warnings);
        if (out_path.empty())
          std::fputs(out.c_str(), stdout);
        else if (!write_file(out_path, out, 0644))
          return kExitUsage;
      } else {
        if (dir_path.empty()) return fatal("export --opensmtpd: DIR is required");
        auto t = mapconv::export_opensmtpd(*m, warnings);
        if (!write_file(dir_path + "/smtpd-domains", t.domains, 0644) ||
            !write_file(dir_path + "/smtpd-relays", t.relays, 0644))
          return kExitUsage;
      }
      for (const auto& w : warnings) std::fprintf(stderr, "onionmx-map: warning: %s\n", w.c_str());
      return kExitOk;
    }

    if (*lint) {
      auto text = read_text(map_path, map::kMaxMapBytes, rc);
      if (!text) return rc;
      auto m = map::parse_map(*text, map::ParseOptions{0, 1000});
      if (!m) {
        // One problem per line.
        std::string d = m.error().detail;
        std::size_t pos = 0;
        while ((pos = d.find("; ", pos)) != std::string::npos) d.replace(pos, 2, "\n"), ++pos;
        std::fprintf(stderr, "%s\n", d.c_str());
        return kExitInvalid;
      }
      int status = kExitOk;
      if (!m->expires()) {
        std::printf("%s: warning: no \"expires\" (a stale copy stays valid forever)\n",
                    map_path.c_str());
      } else if (*m->expires() <= now()) {
        std::printf("%s: expired at %s\n", map_path.c_str(),
                    map::format_rfc3339(*m->expires()).c_str());
        status = kExitInvalid;
      }
      std::printf("%s: ok, serial %llu, %zu entries, %zu onions\n", map_path.c_str(),
                  static_cast<unsigned long long>(m->serial()), m->size(), m->distinct_onions());
      return status;
    }

    if (*show) {
      auto m = parse_map_file(map_path, rc);
      if (!m) return rc;
      if (!domains.empty()) {
        int status = kExitOk;
        for (const auto& d : domains) {
          if (const auto* routes = m->lookup(d))
            print_routes(d, *routes);
          else {
            std::printf("%s\tnot found\n", d.c_str());
            status = kExitInvalid;
          }
        }
        return status;
      }
      std::printf("# serial %llu\n# expires %s\n# %zu entries, %zu onions\n",
                  static_cast<unsigned long long>(m->serial()),
                  m->expires() ? map::format_rfc3339(*m->expires()).c_str() : "never", m->size(),
                  m->distinct_onions());
      m->for_each(print_routes);
      return kExitOk;
    }
  } catch (const std::exception& e) {
    return fatal(std::string("internal error: ") + e.what());
  }
  return kExitUsage;
}
}  // namespace

int main(int argc, char** argv) {
  return onionmx::tools::guarded_main("onionmx-map", 2, [&] { return run(argc, argv); });
}
