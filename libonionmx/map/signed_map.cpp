#include "map/signed_map.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <istream>
#include <streambuf>

#include "base/base32.hpp"
#include "base/file.hpp"

namespace onionmx::map {
namespace {

using base::fail;
using base::Status;

using OnionKey = std::array<std::uint8_t, 32>;
constexpr std::string_view kValidKeysFile = "map-valid-keys";
constexpr std::string_view kValidKeysMagic = "onionmx map-valid-keys v1\n";

std::string errno_text() { return std::strerror(errno); }

struct Fd {
  int fd = -1;
  ~Fd() {
    if (fd >= 0) ::close(fd);
  }
};

// Opens a regular file of at most max_bytes for reading; its size in *size.
base::Result<void> open_regular(Fd& f, const std::string& path, std::size_t max_bytes,
                                std::size_t* size) {
  f.fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (f.fd < 0) return fail(Status::Io, "cannot open " + path + ": " + errno_text());
  struct stat st{};
  if (::fstat(f.fd, &st) != 0) return fail(Status::Io, "cannot stat " + path + ": " + errno_text());
  if (!S_ISREG(st.st_mode)) return fail(Status::Io, path + ": not a regular file");
  if (static_cast<std::uint64_t>(st.st_size) > max_bytes)
    return fail(Status::BadData, path + ": larger than " + std::to_string(max_bytes) + " bytes");
  *size = static_cast<std::size_t>(st.st_size);
  return {};
}

class FileRollback : public Rollback {
 public:
  explicit FileRollback(std::string dir) : dir_(std::move(dir)) {}
  base::Result<std::optional<std::uint64_t>> last_serial(const crypto::KeyId& id) override {
    return read_serial_state(dir_, id);
  }

 private:
  std::string dir_;
};

std::string state_path(const std::string& dir, const crypto::KeyId& id) {
  return dir + "/map-serial-" + crypto::key_id_hex(id);
}

}  // namespace

base::Result<std::string> read_whole_file(const std::string& path, std::size_t max_bytes) {
  Fd f;
  std::size_t size = 0;
  ONIONMX_TRY(open_regular(f, path, max_bytes, &size));
  std::string data(size, '\0');
  std::size_t got = 0;
  while (got < data.size()) {
    ssize_t n = ::read(f.fd, data.data() + got, data.size() - got);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return fail(Status::Io, "cannot read " + path + ": " + errno_text());
    if (n == 0) break;  // shrank while reading
    got += static_cast<std::size_t>(n);
  }
  data.resize(got);
  return data;
}

base::Result<std::optional<std::uint64_t>> read_serial_state(const std::string& dir,
                                                             const crypto::KeyId& id) {
  const std::string path = state_path(dir, id);
  if (::access(path.c_str(), F_OK) != 0) {
    if (errno == ENOENT) return std::optional<std::uint64_t>{};
    return fail(Status::Io, "cannot access " + path + ": " + errno_text());
  }
  auto text = read_whole_file(path, 64);
  if (!text) return fail(text.error());
  std::string_view s = *text;
  if (!s.empty() && s.back() == '\n') s.remove_suffix(1);
  if (s.empty() || s.size() > 20)
    return fail(Status::Io, path + ": corrupt rollback state (expected a decimal serial)");
  std::uint64_t v = 0;
  for (char c : s) {
    if (c < '0' || c > '9')
      return fail(Status::Io, path + ": corrupt rollback state (expected a decimal serial)");
    const std::uint64_t d = static_cast<std::uint64_t>(c - '0');
    if (v > (UINT64_MAX - d) / 10) return fail(Status::Io, path + ": corrupt rollback state");
    v = v * 10 + d;
  }
  return std::optional<std::uint64_t>{v};
}

namespace {

base::Result<void> write_state_file(const std::string& dir, const std::string& name,
                                    std::string_view data) {
  return base::write_file_atomic(dir + "/" + name, data);
}

}  // namespace

base::Result<void> write_serial_state(const std::string& dir, const crypto::KeyId& id,
                                      std::uint64_t serial) {
  return write_state_file(dir, "map-serial-" + crypto::key_id_hex(id),
                          std::to_string(serial) + "\n");
}

namespace {

std::vector<OnionKey> onion_keys(const StaticMap& m) {
  std::vector<OnionKey> keys;
  for (const auto& list : m.route_lists())
    for (const auto& r : list) {
      // "[label.]*<56>.onion": the key is the first 32 bytes of the label.
      const std::string_view name(r.onion);
      if (name.size() < 62) continue;
      auto raw = base32::decode(name.substr(name.size() - 62, 56));
      if (!raw || raw->size() != 35) continue;
      OnionKey k{};
      std::memcpy(k.data(), raw->data(), 32);
      keys.push_back(k);
    }
  std::sort(keys.begin(), keys.end());
  keys.erase(std::unique(keys.begin(), keys.end()), keys.end());
  return keys;
}

base::Result<std::vector<OnionKey>> read_valid_keys(const std::string& dir) {
  const std::string path = dir + "/" + std::string(kValidKeysFile);
  std::vector<OnionKey> keys;
  if (::access(path.c_str(), F_OK) != 0) {
    if (errno == ENOENT) return keys;
    return fail(Status::Io, "cannot access " + path + ": " + errno_text());
  }
  auto data = read_whole_file(path, kValidKeysMagic.size() + (std::size_t{32} << 22));
  if (!data) return fail(data.error());
  std::string_view d = *data;
  if (!d.starts_with(kValidKeysMagic) || (d.size() - kValidKeysMagic.size()) % 32 != 0)
    return keys;  // unreadable cache: validate everything again, then rewrite it
  d.remove_prefix(kValidKeysMagic.size());
  keys.resize(d.size() / 32);
  for (std::size_t i = 0; i < keys.size(); ++i) std::memcpy(keys[i].data(), d.data() + 32 * i, 32);
  if (!std::is_sorted(keys.begin(), keys.end())) std::sort(keys.begin(), keys.end());
  return keys;
}

base::Result<void> write_valid_keys(const std::string& dir, const std::vector<OnionKey>& keys) {
  std::string data(kValidKeysMagic);
  data.reserve(data.size() + keys.size() * 32);
  for (const auto& k : keys) data.append(reinterpret_cast<const char*>(k.data()), 32);
  return write_state_file(dir, std::string(kValidKeysFile), data);
}

}  // namespace

namespace {

base::Result<crypto::MinisignSignature> parse_signature(std::string_view text) {
  auto parsed = crypto::parse_minisign_signature(text);
  if (!parsed) return fail(Status::BadSig, "bad signature file: " + parsed.error().detail);
  return std::move(*parsed);
}

base::Result<const crypto::MinisignPublicKey*> trusted_key(const crypto::MinisignSignature& sig,
                                                           const LoadOptions& options) {
  for (const auto& k : options.trusted_keys)
    if (k.key_id == sig.key_id) return &k;
  std::string trusted;
  for (const auto& k : options.trusted_keys)
    trusted += (trusted.empty() ? "" : ", ") + crypto::key_id_hex(k.key_id);
  return fail(Status::BadSig, "map signed by untrusted key " + crypto::key_id_hex(sig.key_id) +
                                  " (trusted: " + (trusted.empty() ? "none" : trusted) + ")");
}

// Expiry and rollback, once the signature and every entry passed.
base::Result<void> check_freshness(LoadedMap& out, const LoadOptions& options, Rollback* rollback) {
  if (auto exp = out.map.expires(); exp && options.now >= *exp)
    return fail(Status::BadData, "map expired at " + format_rfc3339(*exp) + " (serial " +
                                     std::to_string(out.map.serial()) + ")");
  if (out.signer) {
    if (rollback) {
      auto last = rollback->last_serial(*out.signer);
      if (!last) return fail(last.error());
      if (*last && out.map.serial() < **last)
        return fail(Status::BadSig, "rollback refused: serial " + std::to_string(out.map.serial()) +
                                        " is lower than serial " + std::to_string(**last) +
                                        " already accepted from key " +
                                        crypto::key_id_hex(*out.signer));
    } else {
      out.warnings.push_back("no state directory: rollback protection disabled");
    }
  }
  return {};
}

// Reads a file through BLAKE2b-512 (the "ED" prehash) in 1 MiB blocks, so
// a large map is parsed while it is hashed and never held in memory whole.
class HashingFileBuf : public std::streambuf {
 public:
  HashingFileBuf(int fd, crypto::Prehash& hash) : fd_(fd), hash_(hash), buf_(1 << 20) {}
  bool failed() const { return failed_; }
  // Hashes whatever the parser did not read (it stops at the first error).
  void drain() {
    while (underflow() != traits_type::eof()) setg(buf_.data(), egptr(), egptr());
  }

 protected:
  int_type underflow() override {
    if (gptr() < egptr()) return traits_type::to_int_type(*gptr());
    if (failed_ || eof_) return traits_type::eof();
    ssize_t n = -1;
    do {
      n = ::read(fd_, buf_.data(), buf_.size());
    } while (n < 0 && errno == EINTR);
    if (n <= 0) {
      failed_ = n < 0;
      eof_ = true;
      return traits_type::eof();
    }
    total_ += static_cast<std::size_t>(n);
    if (total_ > kMaxMapBytes) {  // grew after fstat
      failed_ = true;
      return traits_type::eof();
    }
    hash_.update(
        std::span(reinterpret_cast<const std::uint8_t*>(buf_.data()), static_cast<std::size_t>(n)));
    setg(buf_.data(), buf_.data(), buf_.data() + n);
    return traits_type::to_int_type(*gptr());
  }

 private:
  int fd_;
  crypto::Prehash& hash_;
  std::vector<char> buf_;
  std::size_t total_ = 0;
  bool failed_ = false;
  bool eof_ = false;
};

}  // namespace

base::Result<LoadedMap> verify_map(std::string_view map_bytes,
                                   std::optional<std::string_view> signature,
                                   const LoadOptions& options, Rollback* rollback) {
  LoadedMap out;
  if (!signature) {
    if (!options.allow_unsigned)
      return fail(Status::BadSig,
                  "missing signature file (MAP.minisig) and unsigned maps are "
                  "not allowed");
    out.warnings.push_back("map is not signed (allowed for local maps only)");
  } else {
    auto sig = parse_signature(*signature);
    if (!sig) return fail(sig.error());
    auto key = trusted_key(*sig, options);
    if (!key) return fail(key.error());
    auto ok = crypto::verify_minisign(
        **key, *sig,
        std::span(reinterpret_cast<const std::uint8_t*>(map_bytes.data()), map_bytes.size()));
    if (!ok) return fail(ok.error());
    out.signer = (*key)->key_id;
    out.trusted_comment = sig->trusted_comment;
  }
  auto parsed = parse_map(map_bytes, options.parse);
  if (!parsed) return fail(Status::BadData, "invalid map: " + parsed.error().detail);
  out.map = std::move(*parsed);
  ONIONMX_TRY(check_freshness(out, options, rollback));
  return out;
}

namespace {

// The "ED" path of load_signed_map: parse while hashing, then verify the
// hash; the map is used only if the signature matches the bytes parsed.
base::Result<LoadedMap> load_prehashed(const std::string& path,
                                       const crypto::MinisignSignature& sig,
                                       const crypto::MinisignPublicKey& key,
                                       const LoadOptions& options, Rollback* rollback) {
  Fd f;
  std::size_t size = 0;
  ONIONMX_TRY(open_regular(f, path, kMaxMapBytes, &size));
  crypto::Prehash hash;
  HashingFileBuf buf(f.fd, hash);
  base::Result<StaticMap> parsed = fail(Status::Internal, "not parsed");
  {
    std::istream in(&buf);
    parsed = parse_map_stream(in, size, options.parse);
  }
  buf.drain();
  if (buf.failed()) return fail(Status::Io, "cannot read " + path + ": " + errno_text());
  ONIONMX_TRY(crypto::verify_minisign_prehashed(key, sig, hash.final()));
  if (!parsed) return fail(Status::BadData, "invalid map: " + parsed.error().detail);
  LoadedMap out;
  out.map = std::move(*parsed);
  out.signer = key.key_id;
  out.trusted_comment = sig.trusted_comment;
  ONIONMX_TRY(check_freshness(out, options, rollback));
  return out;
}

}  // namespace

base::Result<LoadedMap> load_signed_map(const std::string& path, const LoadOptions& options) {
  const std::string sig_path = path + ".minisig";
  std::optional<std::string> sig_text;
  if (::access(sig_path.c_str(), F_OK) == 0) {
    auto s = read_whole_file(sig_path, 8192);
    if (!s) return fail(Status::BadSig, "bad signature file: " + s.error().detail);
    sig_text = std::move(*s);
  } else if (errno != ENOENT) {
    return fail(Status::Io, "cannot access " + sig_path + ": " + errno_text());
  } else if (!options.allow_unsigned) {
    return fail(Status::BadSig, "missing signature file " + sig_path);
  }
  std::optional<FileRollback> rb;
  std::vector<OnionKey> known;
  LoadOptions opts = options;
  if (!options.state_dir.empty()) {
    rb.emplace(options.state_dir);
    auto k = read_valid_keys(options.state_dir);
    if (!k) return fail(k.error());
    known = std::move(*k);
    opts.parse.known_valid_keys = &known;
  }
  base::Result<LoadedMap> loaded = fail(Status::Internal, "not loaded");
  std::optional<crypto::MinisignSignature> sig;
  if (sig_text) {
    auto parsed = parse_signature(*sig_text);
    if (!parsed) return fail(parsed.error());
    sig = std::move(*parsed);
  }
  if (sig && sig->algorithm == crypto::SignatureAlgorithm::Prehashed) {
    auto key = trusted_key(*sig, options);
    if (!key) return fail(key.error());
    loaded = load_prehashed(path, *sig, **key, opts, rb ? &*rb : nullptr);
  } else {
    // Legacy signatures cover the raw bytes: the whole file is needed.
    auto bytes = read_whole_file(path, kMaxMapBytes);
    if (!bytes) return fail(bytes.error());
    loaded =
        verify_map(*bytes, sig_text ? std::optional<std::string_view>(*sig_text) : std::nullopt,
                   opts, rb ? &*rb : nullptr);
  }
  if (!loaded) return loaded;
  if (loaded->signer && rb) {
    auto last = read_serial_state(options.state_dir, *loaded->signer);
    if (!last) return fail(last.error());
    if (!*last || **last != loaded->map.serial())
      ONIONMX_TRY(write_serial_state(options.state_dir, *loaded->signer, loaded->map.serial()));
  }
  if (!options.state_dir.empty()) {
    // Remember this map's keys as validated, so the next load (usually the
    // same onions) skips their prime-order checks.
    auto keys = onion_keys(loaded->map);
    if (keys != known) ONIONMX_TRY(write_valid_keys(options.state_dir, keys));
  }
  return loaded;
}

}  // namespace onionmx::map
