#include "proto/answer_format.hpp"

#include <nlohmann/json.hpp>

#include "base/status.hpp"

namespace onionmx::proto {
namespace {
constexpr std::size_t kMaxReason = 200;
}

std::string safe_reason(const std::string& reason) {
  std::string out;
  out.reserve(std::min(reason.size(), kMaxReason));
  for (unsigned char c : reason) {
    if (out.size() >= kMaxReason) break;
    out += (c < 0x20 || c == 0x7f) ? ' ' : static_cast<char>(c);
  }
  if (out.empty()) out = "unspecified";
  return out;
}

std::string postfix_nexthop(const record::Answer& a, const AnswerStyle& style) {
  if (a.status != Status::Ok || a.routes.empty()) return {};
  auto hop = [](const record::Route& r) {
    return "[" + r.onion + "]:" + std::to_string(r.port);
  };
  std::string out = style.transport + ":" + hop(a.routes.front());
  if (style.multi_nexthop) {
    for (std::size_t i = 1; i < a.routes.size(); ++i) {
      if (a.routes[i].priority != a.routes.front().priority) break;
      out += ", " + hop(a.routes[i]);
    }
  }
  return out;
}

std::string format_postfix(const record::Answer& a, const AnswerStyle& style) {
  switch (outcome_of(a.status)) {
    case Outcome::Found: return "OK " + postfix_nexthop(a, style);
    case Outcome::NotFound: return "NOTFOUND ";
    case Outcome::Temp: return "TEMP " + safe_reason(a.reason);
    case Outcome::Perm: return "PERM " + safe_reason(a.reason);
  }
  return "TEMP internal error";
}

std::string format_opensmtpd(const record::Answer& a, const AnswerStyle& style) {
  switch (outcome_of(a.status)) {
    case Outcome::Found: {
      const auto& r = a.routes.front();
      return style.opensmtpd_scheme + "://" + r.onion + ":" + std::to_string(r.port);
    }
    case Outcome::NotFound: return "not-found";
    case Outcome::Temp:
    case Outcome::Perm: {
      std::string msg = safe_reason(a.reason);
      for (char& c : msg)
        if (c == '|') c = '/';
      return "error|" + msg;
    }
  }
  return "error|internal error";
}

std::string format_json(const record::Answer& a) {
  nlohmann::ordered_json j;
  j["key"] = a.key;
  j["domain"] = a.domain;
  j["status"] = std::string(outcome_name(outcome_of(a.status)));
  auto routes = nlohmann::ordered_json::array();
  for (const auto& r : a.routes) {
    nlohmann::ordered_json o;
    o["onion"] = r.onion;
    o["port"] = r.port;
    o["priority"] = r.priority;
    o["weight"] = r.weight;
    routes.push_back(std::move(o));
  }
  j["routes"] = std::move(routes);
  j["source"] = record::source_name(a.source);
  j["reason"] = a.reason;
  j["ttl"] = a.ttl;
  j["authenticated"] = a.authenticated;
  if (!a.explain.empty()) j["explain"] = a.explain;
  // Keys are raw bytes from the MTA and may not be UTF-8: replace, never throw.
  return j.dump(-1, ' ', false, nlohmann::ordered_json::error_handler_t::replace);
}

std::string format_text(const record::Answer& a, const AnswerStyle& style) {
  std::string out = a.key + ": " + std::string(outcome_name(outcome_of(a.status)));
  if (a.status == Status::Ok) out += " " + postfix_nexthop(a, style);
  out += " (source " + std::string(record::source_name(a.source));
  if (a.status == Status::Ok || a.status == Status::NotFound) out += ", ttl " + std::to_string(a.ttl);
  if (a.authenticated) out += ", DNSSEC authenticated";
  out += "): " + safe_reason(a.reason);
  return out;
}

}  // namespace onionmx::proto
