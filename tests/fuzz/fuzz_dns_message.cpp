// fuzz_dns_message.cpp - hostile DNS answers through the whole pure path:
// parse_message, interpret_srv_answer (with the parsed qname, so the
// question matches whenever the header allows), check_targets and the
// per-lookup RFC 2782 order (record::order_routes); and interpret_rr_answer
// for the TXT, MX and TLSA queries of route trust (docs/route-trust.md),
// with the policy selection over the TXT records it yields.
//
// Invariants: failures are BadData; Records <=> records present; Failure
// and NoRecords carry a reason; routes exist only for kind Routes, and each
// is a valid onion name with a non-zero port; an RR answer to a type other
// than the question's is a Failure; MX exchanges come with one preference
// each, most preferred first.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <span>
#include <vector>

#include "address/onion_address.hpp"
#include "dns/message.hpp"
#include "dns/srv_answer.hpp"
#include "record/policy.hpp"

namespace {

using namespace onionmx::dns;

// Deterministic rnd(n) in [0, n], seeded from the input.
onionmx::record::UniformRng make_rnd(std::uint32_t seed) {
  return [state = seed](std::uint32_t n) mutable {
    state = state * 1664525u + 1013904223u;
    return n == UINT32_MAX ? state : state % (n + 1);
  };
}

void check_selection(TargetCheck sel, const onionmx::record::UniformRng& rnd) {
  const std::size_t valid = sel.records.size();
  const auto routes = onionmx::record::order_routes(std::move(sel.records), rnd);
  if (routes.size() != valid) std::abort();
  if (sel.kind == TargetCheck::Kind::Routes) {
    if (routes.empty()) std::abort();
    for (const auto& r : routes) {
      if (r.port == 0) std::abort();
      auto o = onionmx::address::parse_onion(r.onion);
      if (!o || o->full != r.onion) std::abort();
    }
  } else {
    if (!routes.empty()) std::abort();
    if (sel.reason.empty()) std::abort();
  }
}

// The TXT, MX and TLSA walk.  Cheap: a type that is not the question's
// fails at the question check.
void check_rr(const Message& m, std::uint16_t qtype) {
  const RrAnswer a = interpret_rr_answer(m, m.qname, qtype);
  if ((a.kind == RrAnswer::Kind::Records) != !a.data.empty()) std::abort();
  if ((a.kind == RrAnswer::Kind::Failure || a.kind == RrAnswer::Kind::NoRecords) &&
      a.reason.empty())
    std::abort();
  if (m.qtype != qtype && a.kind != RrAnswer::Kind::Failure) std::abort();
  if (a.kind == RrAnswer::Kind::Failure && !a.data.empty()) std::abort();
  if (qtype == kTypeMx) {
    if (a.mx_preference.size() != a.data.size()) std::abort();
    if (!std::is_sorted(a.mx_preference.begin(), a.mx_preference.end())) std::abort();
  } else if (!a.mx_preference.empty()) {
    std::abort();
  }
  if (qtype == kTypeTlsa)
    for (const auto& d : a.data)
      if (!d.empty()) std::abort();
  if (qtype == kTypeTxt && a.kind == RrAnswer::Kind::Records) {
    auto p = onionmx::record::select_policy(a.data);
    if (!p && p.error().code != onionmx::base::Status::NotFound &&
        p.error().code != onionmx::base::Status::BadData)
      std::abort();
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  auto m = parse_message(std::span<const std::uint8_t>(data, size));
  if (!m) {
    if (m.error().code != onionmx::base::Status::BadData || m.error().detail.empty()) std::abort();
    return 0;
  }
  std::uint32_t seed = static_cast<std::uint32_t>(size);
  for (std::size_t i = 0; i < size && i < 16; ++i) seed = seed * 31 + data[i];

  const SrvAnswer a = interpret_srv_answer(*m, m->qname);
  if ((a.kind == SrvAnswer::Kind::Records) != !a.records.empty()) std::abort();
  if ((a.kind == SrvAnswer::Kind::Failure || a.kind == SrvAnswer::Kind::NoRecords) &&
      a.reason.empty())
    std::abort();
  if (a.kind == SrvAnswer::Kind::Records) check_selection(check_targets(a.records), make_rnd(seed));

  // Every SRV record of every section, whatever the header said: reaches
  // the target validation even when the answer itself is rejected.
  std::vector<onionmx::record::SrvRecord> all;
  for (const auto* section : {&m->answers, &m->authority, &m->additional})
    for (const auto& rr : *section)
      if (rr.srv) all.push_back(*rr.srv);
  check_selection(check_targets(std::move(all)), make_rnd(seed ^ 0x9e3779b9u));

  for (std::uint16_t t : {kTypeTxt, kTypeMx, kTypeTlsa}) check_rr(*m, t);
  return 0;
}
