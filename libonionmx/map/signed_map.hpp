// signed_map.hpp - load a static map signed with minisign, with rollback
// and expiry protection.
//
// MAP is accepted only if MAP.minisig (minisign(1) format, prehashed "ED"
// or legacy "Ed") verifies under one of the trusted public keys (chosen by
// key id), the map's "expires" lies in the future, its "serial" is not
// lower than the last serial accepted from the same key, and every entry is
// valid (static_map.hpp).  The last accepted serial per key is kept in
// STATE_DIR/map-serial-<KEYID> (decimal + LF), replaced atomically (temp
// file, fsync, rename, fsync of the directory) after a map is accepted.
// STATE_DIR/map-valid-keys caches the onion keys of the last accepted map
// (they passed the ~50 us prime-order check); the next load skips that
// check for them, every other check still runs.  The cache has the trust of
// the rollback state: whoever can write STATE_DIR can already roll maps back.
// allow_unsigned (for local, hand-kept maps): a missing MAP.minisig is a
// warning, not an error; a present but bad signature is still refused.
// Time is injected (`now`) so tests can move it.  docs/map-format.md.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/result.hpp"
#include "crypto/minisign.hpp"
#include "map/static_map.hpp"

namespace onionmx::map {

inline constexpr std::size_t kMaxMapBytes = std::size_t{1} << 30;

struct LoadOptions {
  std::vector<crypto::MinisignPublicKey> trusted_keys;
  std::string state_dir;  // empty: no rollback protection (a warning)
  std::int64_t now = 0;   // Unix seconds
  bool allow_unsigned = false;
  ParseOptions parse;
};

struct LoadedMap {
  StaticMap map;
  std::optional<crypto::KeyId> signer;  // nullopt for an accepted unsigned map
  std::string trusted_comment;
  std::vector<std::string> warnings;  // for the caller to log
};

// The pure part: map bytes and signature text (nullopt = no signature file)
// in, verdict out.  last_serial: the last serial accepted from the signer
// (looked up by key id), nullopt if none.
struct Rollback {
  virtual ~Rollback() = default;
  virtual base::Result<std::optional<std::uint64_t>> last_serial(const crypto::KeyId& id) = 0;
};
[[nodiscard]] base::Result<LoadedMap> verify_map(std::string_view map_bytes,
                                                 std::optional<std::string_view> signature,
                                                 const LoadOptions& options, Rollback* rollback);

// Reads `path` and `path + ".minisig"`, verifies, and records the serial.
// Errors: Io (unreadable file or state), BadSig (missing/bad signature,
// untrusted key, rollback), BadData (expired, invalid entries, too large).
[[nodiscard]] base::Result<LoadedMap> load_signed_map(const std::string& path,
                                                      const LoadOptions& options);

// The rollback state file primitives (exposed for tests and the tool).
[[nodiscard]] base::Result<std::optional<std::uint64_t>> read_serial_state(
    const std::string& state_dir, const crypto::KeyId& id);
[[nodiscard]] base::Result<void> write_serial_state(const std::string& state_dir,
                                                    const crypto::KeyId& id, std::uint64_t serial);

// Reads a whole file of at most max_bytes (sized by fstat, no zero-filled
// over-allocation).
[[nodiscard]] base::Result<std::string> read_whole_file(const std::string& path,
                                                        std::size_t max_bytes);

}  // namespace onionmx::map
