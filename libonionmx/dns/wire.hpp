// wire.hpp - small bounds-checked DNS wire helpers shared by the UPDATE
// writer/dumper and TSIG (RFC 1035 §4.1, RFC 8945 §4.2).
//
// Header-only, pure.  WireReader reads big-endian integers and names
// (compression pointers must point strictly backwards, at most 64 hops);
// every read is checked against the message length.  The put* helpers append
// big-endian integers to a byte vector.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <utility>
#include <vector>

#include "base/result.hpp"
#include "base/strings.hpp"

namespace onionmx::dns::wire {

inline void put16(std::vector<std::uint8_t>& v, std::uint16_t x) {
  v.push_back(static_cast<std::uint8_t>(x >> 8));
  v.push_back(static_cast<std::uint8_t>(x & 0xff));
}
inline void put32(std::vector<std::uint8_t>& v, std::uint32_t x) {
  put16(v, static_cast<std::uint16_t>(x >> 16));
  put16(v, static_cast<std::uint16_t>(x & 0xffff));
}
// 48-bit unsigned (TSIG time signed, RFC 8945 §4.2); the top 16 bits of x
// are dropped.
inline void put48(std::vector<std::uint8_t>& v, std::uint64_t x) {
  put16(v, static_cast<std::uint16_t>((x >> 32) & 0xffff));
  put32(v, static_cast<std::uint32_t>(x & 0xffffffffu));
}

class WireReader {
 public:
  explicit WireReader(std::span<const std::uint8_t> wire, std::size_t pos = 0)
      : wire_(wire), pos_(pos) {}

  std::size_t pos() const { return pos_; }
  std::span<const std::uint8_t> wire() const { return wire_; }
  bool has(std::size_t n) const { return pos_ <= wire_.size() && wire_.size() - pos_ >= n; }
  bool at_end() const { return pos_ == wire_.size(); }

  base::Result<std::uint64_t> uint(std::size_t bytes, const char* what) {
    if (!has(bytes)) return base::fail(base::Status::BadData, std::string("truncated ") + what);
    std::uint64_t v = 0;
    for (std::size_t i = 0; i < bytes; ++i) v = (v << 8) | wire_[pos_ + i];
    pos_ += bytes;
    return v;
  }
  base::Result<std::uint16_t> u16(const char* what) {
    auto v = uint(2, what);
    if (!v) return base::fail(v.error());
    return static_cast<std::uint16_t>(*v);
  }
  base::Result<std::uint32_t> u32(const char* what) {
    auto v = uint(4, what);
    if (!v) return base::fail(v.error());
    return static_cast<std::uint32_t>(*v);
  }
  base::Result<std::span<const std::uint8_t>> bytes(std::size_t n, const char* what) {
    if (!has(n)) return base::fail(base::Status::BadData, std::string("truncated ") + what);
    auto s = wire_.subspan(pos_, n);
    pos_ += n;
    return s;
  }

  // Name at the cursor in presentation form, lower case, no trailing dot
  // ("" for the root); the cursor moves past its first encoding.
  base::Result<std::string> name(const char* what) {
    std::string out;
    std::size_t cursor = pos_, end = 0, wire_len = 0;
    bool jumped = false;
    int hops = 0;
    for (;;) {
      if (cursor >= wire_.size())
        return base::fail(base::Status::BadData,
                          std::string(what) + ": name runs past the message");
      const std::uint8_t len = wire_[cursor];
      if ((len & 0xc0) == 0xc0) {
        if (cursor + 1 >= wire_.size())
          return base::fail(base::Status::BadData, std::string(what) + ": truncated pointer");
        const std::size_t target = (static_cast<std::size_t>(len & 0x3f) << 8) | wire_[cursor + 1];
        if (target >= cursor || ++hops > 64)
          return base::fail(base::Status::BadData, std::string(what) + ": bad compression pointer");
        if (!jumped) end = cursor + 2;
        jumped = true;
        cursor = target;
        continue;
      }
      if ((len & 0xc0) != 0)
        return base::fail(base::Status::BadData, std::string(what) + ": unsupported label type");
      if (len == 0) {
        if (!jumped) end = cursor + 1;
        break;
      }
      if (cursor + 1 + len > wire_.size())
        return base::fail(base::Status::BadData,
                          std::string(what) + ": label runs past the message");
      wire_len += len + 1;
      if (wire_len + 1 > 255)
        return base::fail(base::Status::BadData,
                          std::string(what) + ": name longer than 255 bytes");
      if (!out.empty()) out += '.';
      for (std::size_t i = 0; i < len; ++i)
        out += base::ascii_lower(static_cast<char>(wire_[cursor + 1 + i]));
      cursor += 1 + len;
    }
    pos_ = end;
    return out;
  }

 private:
  std::span<const std::uint8_t> wire_;
  std::size_t pos_ = 0;
};

}  // namespace onionmx::dns::wire
