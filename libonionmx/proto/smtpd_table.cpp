#include "proto/smtpd_table.hpp"

#include <utility>

#include "base/strings.hpp"
#include "proto/answer_format.hpp"

namespace onionmx::proto {
namespace {

// Longest found value sent: relay URLs are short (to.c), and smtpd reads
// the line with getline(3), so this only stops a runaway value.
constexpr std::size_t kMaxValue = 4096;

// Splits at '|' into at most `max` fields; the last keeps any further '|'.
std::vector<std::string_view> split_fields(std::string_view line, std::size_t max) {
  std::vector<std::string_view> out;
  while (out.size() + 1 < max) {
    const auto bar = line.find('|');
    if (bar == std::string_view::npos) break;
    out.push_back(line.substr(0, bar));
    line.remove_prefix(bar + 1);
  }
  out.push_back(line);
  return out;
}

// An op or service name: what table_service_name() and the request types
// of table_proc.c produce.
bool is_word(std::string_view s) noexcept {
  if (s.empty() || s.size() > 32) return false;
  for (const char c : s)
    if (!((c >= 'a' && c <= 'z') || c == '-')) return false;
  return true;
}

// Echoed byte for byte, so only bytes that cannot change the reply's
// framing: printable ASCII without '|'.
bool is_id(std::string_view s) noexcept {
  if (s.empty() || s.size() > kSmtpdTableMaxId) return false;
  for (const char c : s)
    if (c <= 0x20 || c >= 0x7f || c == '|') return false;
  return true;
}

// One field of a reply: safe_reason() and no '|' (it would start a field).
std::string reason_field(const std::string& reason) {
  std::string out = safe_reason(reason);
  for (char& c : out)
    if (c == '|') c = '/';
  return out;
}

SmtpdTableRequest bad(std::string why) {
  SmtpdTableRequest r;
  r.error = std::move(why);
  return r;
}

}  // namespace

SmtpdTableDecoder::SmtpdTableDecoder(std::size_t max_line) noexcept : max_line_(max_line) {}

std::optional<DecodeError> SmtpdTableDecoder::feed(std::string_view chunk,
                                                   std::vector<SmtpdTableLine>& out) {
  while (!chunk.empty()) {
    const auto lf = chunk.find('\n');
    const std::string_view part = chunk.substr(0, lf);
    const bool over = dropping_ || line_.size() + part.size() > max_line_;
    if (over) {
      line_.append(part.substr(0, max_line_ - line_.size()));  // the start, for the id
      dropping_ = true;
    } else {
      line_.append(part);
    }
    if (lf == std::string_view::npos) break;
    SmtpdTableLine done{std::move(line_), dropping_};
    // smtpd ends lines with LF only and refuses keys with CR (mta-protocols
    // verified with 7.8): a trailing CR is a hand-typed CRLF.
    if (!done.truncated && !done.text.empty() && done.text.back() == '\r') done.text.pop_back();
    out.push_back(std::move(done));
    line_.clear();
    dropping_ = false;
    chunk.remove_prefix(lf + 1);
  }
  return std::nullopt;
}

std::optional<SmtpdTableConfig> parse_smtpd_table_config(std::string_view line) {
  const auto f = split_fields(line, 3);
  if (f.size() < 2 || f[0] != "config" || f[1].empty()) return std::nullopt;
  return SmtpdTableConfig{std::string(f[1]), f.size() == 3 ? std::string(f[2]) : std::string()};
}

SmtpdTableRequest parse_smtpd_table_request(std::string_view line, bool truncated) {
  const auto f = split_fields(line, 8);
  if (f[0] != "table") return bad("not a table request: " + base::printable(line, 60));
  if (f.size() < 6) return bad("too few fields");
  if (!is_word(f[4])) return bad("bad request type " + base::printable(f[4], 40));
  SmtpdTableRequest r;
  r.op = f[4];
  r.table = f[3];
  const bool update = r.op == "update";
  const bool keyed = r.op == "check" || r.op == "lookup";
  // update: "…|update|<id>"; the others: "…|<op>|<service>|<id>[|<key>]".
  const std::size_t id_at = update || f.size() == 6 ? 5 : 6;
  std::string_view id = f[id_at];
  // A cut line's last field may be cut short: not an id to echo.
  if (truncated && id_at + 1 == f.size()) id = {};
  if (is_id(id)) r.id = id;
  if (!update && f.size() > 6) r.service = f[5];

  if (r.id.empty())
    r.error = "no valid request id";
  else if (truncated)
    r.error = "request line too long";
  else if (f[1] != kSmtpdTableProtocol)
    r.error = "unsupported protocol version " + base::printable(f[1], 20);
  else if (!update && !keyed && r.op != "fetch")
    r.error = "unknown request type " + r.op;
  else if (!update && !is_word(r.service))
    r.error = "bad service name";
  else if (keyed && f.size() < 8)
    r.error = "missing key";
  else if (!keyed && f.size() > id_at + 1)
    r.error = "unexpected field after the id";
  if (keyed && f.size() == 8) r.key = f[7];
  return r;
}

std::string encode_smtpd_table_register(std::string_view service) {
  return "register|" + std::string(service) + "\n";
}

std::string encode_smtpd_table_reply(std::string_view op, std::string_view id, const Reply& r) {
  std::string head = std::string(op) + "-result|" + std::string(id) + "|";
  switch (r.outcome) {
    case base::Outcome::Found:
      if (op == "check") return head + "found\n";
      // table_proc.c: "found|" with an empty value stops smtpd.
      if (auto p = value_problem(r.text, kMaxValue))
        return head + "error|" + reason_field("internal error: invalid reply value (" + *p + ")") +
               "\n";
      return head + "found|" + r.text + "\n";
    case base::Outcome::NotFound:
      return head + "not-found\n";
    case base::Outcome::Temp:
    case base::Outcome::Perm:
      return head + "error|" + reason_field(r.text) + "\n";
  }
  return head + "error|internal error\n";
}

std::string encode_smtpd_table_update(std::string_view id,
                                      const std::optional<std::string>& error) {
  std::string line = "update-result|" + std::string(id) + "|";
  return line + (error ? "error|" + reason_field(*error) : std::string("ok")) + "\n";
}

std::string encode_smtpd_table_request(std::string_view table, std::string_view op,
                                       std::string_view service, std::string_view id,
                                       const std::optional<std::string>& key) {
  std::string line = "table|" + std::string(kSmtpdTableProtocol) + "|0.000000|" +
                     std::string(table) + "|" + std::string(op);
  if (!service.empty()) line += "|" + std::string(service);
  line += "|" + std::string(id);
  if (key) line += "|" + *key;
  return line + "\n";
}

}  // namespace onionmx::proto
