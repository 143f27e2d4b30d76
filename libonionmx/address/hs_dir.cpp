#include "address/hs_dir.hpp"

#include <cstring>

#include "base/file.hpp"
#include "base/strings.hpp"

namespace onionmx::address {
namespace {

constexpr std::size_t kMaxRead = 4096;  // both files are < 100 bytes

base::Result<std::string> slurp(const std::string& path) {
  return base::read_file(path, kMaxRead, "4096 bytes");
}

}  // namespace

base::Result<OnionName> parse_hs_files(std::string_view key, std::string_view hostname,
                                       const std::string& key_name, const std::string& host_name) {
  static constexpr char kHeader[32] = "== ed25519v1-public: type0 ==";
  if (key.size() != 64)
    return base::fail(base::Status::BadData,
                      key_name + ": " + std::to_string(key.size()) +
                          " bytes, expected 64 (32-byte header + 32-byte key)");
  if (std::memcmp(key.data(), kHeader, sizeof kHeader) != 0)
    return base::fail(base::Status::BadData,
                      key_name + ": header is not \"== ed25519v1-public: type0 ==\"");
  std::array<std::uint8_t, 32> pk{};
  std::memcpy(pk.data(), key.data() + 32, 32);
  const std::string derived = encode_onion(pk);

  if (!hostname.empty() && hostname.back() == '\n') hostname.remove_suffix(1);
  auto parsed = parse_onion(hostname);
  if (!parsed) return base::fail(base::Status::BadData, host_name + ": " + parsed.error().detail);
  if (parsed->full != parsed->address)
    return base::fail(base::Status::BadData, host_name + ": hostname has subdomain labels");
  if (parsed->address != derived)
    return base::fail(base::Status::BadData, host_name + " (" + parsed->address +
                                                 ") does not match the public key, which gives " +
                                                 derived);
  return std::move(*parsed);
}

base::Result<OnionName> read_hs_dir(const std::string& dir) {
  const std::string key_path = dir + "/hs_ed25519_public_key";
  const std::string host_path = dir + "/hostname";
  auto key = slurp(key_path);
  if (!key) return base::fail(key.error());
  auto host = slurp(host_path);
  if (!host) return base::fail(host.error());
  return parse_hs_files(*key, *host, key_path, host_path);
}

}  // namespace onionmx::address
