#include "dns/message.hpp"

#include <cstdio>

#include "base/strings.hpp"

namespace onionmx::dns {
namespace {

constexpr std::size_t kHeaderSize = 12;
constexpr std::size_t kMaxWireName = 255;
constexpr int kMaxPointerHops = 64;

class Reader {
 public:
  explicit Reader(std::span<const std::uint8_t> wire) : wire_(wire) {}

  std::size_t pos() const { return pos_; }
  bool has(std::size_t n) const { return pos_ <= wire_.size() && wire_.size() - pos_ >= n; }

  base::Result<std::uint16_t> u16(const char* what) {
    if (!has(2)) return base::fail(base::Status::BadData, std::string("truncated ") + what);
    std::uint16_t v = static_cast<std::uint16_t>((wire_[pos_] << 8) | wire_[pos_ + 1]);
    pos_ += 2;
    return v;
  }
  base::Result<std::uint32_t> u32(const char* what) {
    if (!has(4)) return base::fail(base::Status::BadData, std::string("truncated ") + what);
    std::uint32_t v = (std::uint32_t{wire_[pos_]} << 24) | (std::uint32_t{wire_[pos_ + 1]} << 16) |
                      (std::uint32_t{wire_[pos_ + 2]} << 8) | std::uint32_t{wire_[pos_ + 3]};
    pos_ += 4;
    return v;
  }

  // Reads a possibly compressed name at the cursor; the cursor moves past
  // the name's first encoding only.
  base::Result<std::string> name() {
    auto r = name_at(pos_);
    if (!r) return base::fail(r.error());
    pos_ = r->second;
    return std::move(r->first);
  }

  // Name at `at`; returns the name and the offset just past it (not past
  // any pointer target).
  base::Result<std::pair<std::string, std::size_t>> name_at(std::size_t at) const {
    std::string out;
    out.reserve(64);  // SRV owner names and onion targets fit: one allocation
    std::size_t wire_len = 0;
    std::size_t cursor = at;
    std::size_t end = 0;
    bool jumped = false;
    int hops = 0;
    for (;;) {
      if (cursor >= wire_.size())
        return base::fail(base::Status::BadData, "name runs past the message");
      const std::uint8_t len = wire_[cursor];
      if ((len & 0xc0) == 0xc0) {
        if (cursor + 1 >= wire_.size())
          return base::fail(base::Status::BadData, "truncated compression pointer");
        const std::size_t target = (static_cast<std::size_t>(len & 0x3f) << 8) | wire_[cursor + 1];
        // Pointers must point strictly backwards; a label followed by a
        // pointer back to itself can still loop: kMaxPointerHops ends that.
        if (target >= cursor)
          return base::fail(base::Status::BadData, "forward or looping compression pointer");
        if (++hops > kMaxPointerHops)
          return base::fail(base::Status::BadData, "too many compression pointers");
        if (!jumped) end = cursor + 2;
        jumped = true;
        cursor = target;
        continue;
      }
      if ((len & 0xc0) != 0) return base::fail(base::Status::BadData, "unsupported label type");
      if (len == 0) {
        if (!jumped) end = cursor + 1;
        break;
      }
      if (cursor + 1 + len > wire_.size())
        return base::fail(base::Status::BadData, "label runs past the message");
      wire_len += len + 1;
      if (wire_len + 1 > kMaxWireName)
        return base::fail(base::Status::BadData, "name longer than 255 bytes");
      if (!out.empty()) out += '.';
      out.reserve(out.size() + len);
      for (std::size_t i = 0; i < len; ++i) {
        const std::uint8_t c = wire_[cursor + 1 + i];
        if (c == '.' || c == '\\' || c <= 0x20 || c >= 0x7f) {
          char buf[5];
          std::snprintf(buf, sizeof buf, "\\%03u", c);
          out += buf;
        } else {
          out += base::ascii_lower(static_cast<char>(c));
        }
      }
      cursor += 1 + len;
    }
    return std::make_pair(std::move(out), end);
  }

  base::Result<std::size_t> skip(std::size_t n, const char* what) {
    if (!has(n)) return base::fail(base::Status::BadData, std::string("truncated ") + what);
    std::size_t at = pos_;
    pos_ += n;
    return at;
  }

  std::span<const std::uint8_t> wire() const { return wire_; }

 private:
  std::span<const std::uint8_t> wire_;
  std::size_t pos_ = 0;
};

base::Result<ResourceRecord> read_rr(Reader& rd) {
  ResourceRecord rr;
  auto name = rd.name();
  if (!name) return base::fail(name.error());
  rr.name = std::move(*name);
  auto type = rd.u16("RR type");
  if (!type) return base::fail(type.error());
  auto cls = rd.u16("RR class");
  if (!cls) return base::fail(cls.error());
  auto ttl = rd.u32("RR TTL");
  if (!ttl) return base::fail(ttl.error());
  auto rdlen = rd.u16("RDLENGTH");
  if (!rdlen) return base::fail(rdlen.error());
  rr.type = *type;
  rr.rrclass = *cls;
  rr.ttl = *ttl;
  const std::size_t start = rd.pos();
  auto at = rd.skip(*rdlen, "RDATA");
  if (!at) return base::fail(at.error());
  const std::size_t end = start + *rdlen;

  // RDATA names may be compressed and point anywhere before them; their
  // first encoding must still end inside RDLENGTH.
  auto name_in_rdata = [&](std::size_t off) -> base::Result<std::string> {
    auto n = rd.name_at(off);
    if (!n) return base::fail(n.error());
    if (n->second != end)
      return base::fail(base::Status::BadData, "RDATA length does not match its content");
    return std::move(n->first);
  };

  if (rr.type == kTypeSrv && rr.rrclass == kClassIn) {
    if (*rdlen < 7) return base::fail(base::Status::BadData, "SRV RDATA too short");
    auto w = rd.wire();
    record::SrvRecord srv;
    srv.priority = static_cast<std::uint16_t>((w[start] << 8) | w[start + 1]);
    srv.weight = static_cast<std::uint16_t>((w[start + 2] << 8) | w[start + 3]);
    srv.port = static_cast<std::uint16_t>((w[start + 4] << 8) | w[start + 5]);
    auto target = name_in_rdata(start + 6);
    if (!target) return base::fail(target.error());
    srv.target = std::move(*target);
    rr.srv = std::move(srv);
  } else if (rr.type == kTypeCname && rr.rrclass == kClassIn) {
    auto target = name_in_rdata(start);
    if (!target) return base::fail(target.error());
    rr.cname = std::move(*target);
  } else if (rr.type == kTypeTxt && rr.rrclass == kClassIn) {
    // One or more <character-string>s, each a length byte and that many
    // bytes; they must fill RDLENGTH exactly.
    auto w = rd.wire();
    std::string text;
    std::size_t off = start;
    if (off == end) return base::fail(base::Status::BadData, "TXT RDATA empty");
    while (off < end) {
      const std::size_t len = w[off];
      if (off + 1 + len > end)
        return base::fail(base::Status::BadData, "TXT character-string runs past RDATA");
      text.append(reinterpret_cast<const char*>(w.data() + off + 1), len);
      off += 1 + len;
    }
    rr.txt = std::move(text);
  } else if (rr.type == kTypeMx && rr.rrclass == kClassIn) {
    if (*rdlen < 3) return base::fail(base::Status::BadData, "MX RDATA too short");
    auto w = rd.wire();
    rr.mx_preference = static_cast<std::uint16_t>((w[start] << 8) | w[start + 1]);
    auto exchange = name_in_rdata(start + 2);
    if (!exchange) return base::fail(exchange.error());
    rr.mx = std::move(*exchange);
  } else if (rr.type == kTypeSoa && rr.rrclass == kClassIn) {
    auto mname = rd.name_at(start);
    if (!mname) return base::fail(mname.error());
    auto rname = rd.name_at(mname->second);
    if (!rname) return base::fail(rname.error());
    if (rname->second + 20 != end)
      return base::fail(base::Status::BadData, "SOA RDATA length does not match");
    auto w = rd.wire();
    const std::size_t m = end - 4;
    rr.soa = SoaData{(std::uint32_t{w[m]} << 24) | (std::uint32_t{w[m + 1]} << 16) |
                     (std::uint32_t{w[m + 2]} << 8) | std::uint32_t{w[m + 3]}};
  }
  return rr;
}

}  // namespace

base::Result<std::vector<std::uint8_t>> encode_name(std::string_view name) {
  std::vector<std::uint8_t> out;
  if (!name.empty() && name.back() == '.') name.remove_suffix(1);
  if (name.empty()) return base::fail(base::Status::Inval, "empty name");
  std::size_t start = 0;
  while (start <= name.size()) {
    std::size_t end = name.find('.', start);
    if (end == std::string_view::npos) end = name.size();
    const std::size_t len = end - start;
    if (len == 0)
      return base::fail(base::Status::Inval, "empty label in \"" + base::printable(name) + "\"");
    if (len > 63) return base::fail(base::Status::Inval, "label longer than 63 bytes");
    out.push_back(static_cast<std::uint8_t>(len));
    out.insert(out.end(), name.begin() + static_cast<std::ptrdiff_t>(start),
               name.begin() + static_cast<std::ptrdiff_t>(end));
    start = end + 1;
  }
  out.push_back(0);
  if (out.size() > kMaxWireName)
    return base::fail(base::Status::Inval, "name longer than 255 bytes");
  return out;
}

namespace {

void put16(std::vector<std::uint8_t>& v, std::uint16_t x) {
  v.push_back(static_cast<std::uint8_t>(x >> 8));
  v.push_back(static_cast<std::uint8_t>(x & 0xff));
}

}  // namespace

std::string normalize_name(std::string_view name) {
  if (!name.empty() && name.back() == '.') name.remove_suffix(1);
  return base::ascii_lowercase(name);
}

base::Result<std::vector<std::uint8_t>> build_query(std::uint16_t id, std::string_view name,
                                                    std::uint16_t qtype, const QueryOptions& opts) {
  auto qname = encode_name(name);
  if (!qname) return base::fail(qname.error());
  std::vector<std::uint8_t> q;
  q.reserve(kHeaderSize + qname->size() + 4 + 11);
  put16(q, id);
  q.push_back(opts.recursion_desired ? 0x01 : 0x00);
  q.push_back(opts.authentic_data ? 0x20 : 0x00);
  put16(q, 1);                  // QDCOUNT
  put16(q, 0);                  // ANCOUNT
  put16(q, 0);                  // NSCOUNT
  put16(q, opts.edns ? 1 : 0);  // ARCOUNT
  q.insert(q.end(), qname->begin(), qname->end());
  put16(q, qtype);
  put16(q, kClassIn);
  if (opts.edns) {
    q.push_back(0);  // root owner
    put16(q, kTypeOpt);
    put16(q, opts.udp_payload_size);            // CLASS = requestor's UDP payload size
    q.push_back(0);                             // extended RCODE
    q.push_back(0);                             // EDNS version 0
    q.push_back(opts.dnssec_ok ? 0x80 : 0x00);  // DO
    q.push_back(0);
    put16(q, 0);  // RDLENGTH
  }
  return q;
}

base::Result<Message> parse_message(std::span<const std::uint8_t> wire) {
  Reader rd(wire);
  if (wire.size() < kHeaderSize)
    return base::fail(base::Status::BadData, "message shorter than the 12-byte header");
  Message m;
  m.id = *rd.u16("ID");
  const std::uint16_t flags = *rd.u16("flags");
  m.qr = flags & 0x8000;
  m.opcode = static_cast<std::uint8_t>((flags >> 11) & 0xf);
  m.aa = flags & 0x0400;
  m.tc = flags & 0x0200;
  m.rd = flags & 0x0100;
  m.ra = flags & 0x0080;
  m.ad = flags & 0x0020;
  m.cd = flags & 0x0010;
  m.rcode = static_cast<std::uint8_t>(flags & 0xf);
  m.qdcount = *rd.u16("QDCOUNT");
  const std::uint16_t an = *rd.u16("ANCOUNT");
  const std::uint16_t ns = *rd.u16("NSCOUNT");
  const std::uint16_t ar = *rd.u16("ARCOUNT");

  for (std::uint16_t i = 0; i < m.qdcount; ++i) {
    auto qn = rd.name();
    if (!qn) return base::fail(qn.error());
    auto qt = rd.u16("QTYPE");
    if (!qt) return base::fail(qt.error());
    auto qc = rd.u16("QCLASS");
    if (!qc) return base::fail(qc.error());
    if (i == 0) {
      m.qname = std::move(*qn);
      m.qtype = *qt;
      m.qclass = *qc;
    }
  }
  struct Section {
    std::uint16_t count;
    std::vector<ResourceRecord>* out;
  };
  for (Section s :
       {Section{an, &m.answers}, Section{ns, &m.authority}, Section{ar, &m.additional}}) {
    // Each RR takes at least 11 bytes: refuse impossible counts up front
    // instead of reserving for them.
    if (!rd.has(std::size_t{s.count} * 11))
      return base::fail(base::Status::BadData, "record counts exceed the message length");
    s.out->reserve(s.count);
    for (std::uint16_t i = 0; i < s.count; ++i) {
      auto rr = read_rr(rd);
      if (!rr) return base::fail(rr.error());
      s.out->push_back(std::move(*rr));
    }
  }
  if (rd.pos() != wire.size())
    return base::fail(base::Status::BadData, "trailing bytes after the last record");
  return m;
}

}  // namespace onionmx::dns
