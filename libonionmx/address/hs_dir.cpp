#include "address/hs_dir.hpp"

#include <cstring>
#include <fstream>
#include <iterator>
#include <vector>

#include "base/strings.hpp"

namespace onionmx::address {
namespace {

constexpr std::size_t kMaxRead = 4096;  // both files are < 100 bytes

Result<std::string> slurp(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return fail(Status::Io, "cannot open " + path + ": " + std::strerror(errno));
  std::string data;
  data.resize(kMaxRead + 1);
  in.read(data.data(), static_cast<std::streamsize>(data.size()));
  data.resize(static_cast<std::size_t>(in.gcount()));
  if (in.bad()) return fail(Status::Io, "cannot read " + path);
  if (data.size() > kMaxRead) return fail(Status::BadData, path + ": file too large");
  return data;
}

}  // namespace

Result<OnionName> read_hs_dir(const std::string& dir) {
  static constexpr char kHeader[32] = "== ed25519v1-public: type0 ==";
  const std::string key_path = dir + "/hs_ed25519_public_key";
  const std::string host_path = dir + "/hostname";

  auto key = slurp(key_path);
  if (!key) return tl::unexpected(key.error());
  if (key->size() != 64)
    return fail(Status::BadData, key_path + ": " + std::to_string(key->size()) +
                                     " bytes, expected 64 (32-byte header + 32-byte key)");
  if (std::memcmp(key->data(), kHeader, sizeof kHeader) != 0)
    return fail(Status::BadData, key_path + ": header is not \"== ed25519v1-public: type0 ==\"");
  std::array<std::uint8_t, 32> pk{};
  std::memcpy(pk.data(), key->data() + 32, 32);
  const std::string derived = encode_onion(pk);

  auto host = slurp(host_path);
  if (!host) return tl::unexpected(host.error());
  std::string_view hostname = *host;
  if (!hostname.empty() && hostname.back() == '\n') hostname.remove_suffix(1);
  auto parsed = parse_onion(hostname);
  if (!parsed)
    return fail(Status::BadData, host_path + ": " + parsed.error().detail);
  if (parsed->full != parsed->address)
    return fail(Status::BadData, host_path + ": hostname has subdomain labels");
  if (parsed->address != derived)
    return fail(Status::BadData, host_path + " (" + parsed->address +
                                     ") does not match the public key, which gives " + derived);
  return std::move(*parsed);
}

}  // namespace onionmx::address
