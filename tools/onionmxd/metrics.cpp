// metrics.cpp - see metrics.hpp.
#include "metrics.hpp"

#include <algorithm>
#include <charconv>
#include <cmath>

#include "server.hpp"

namespace onionmxd {

using Outcome = onionmx::base::Outcome;

namespace {

std::size_t index(Protocol p) { return p == Protocol::Socketmap ? 0 : 1; }
constexpr std::array<Protocol, 2> kProtocolList = {Protocol::Socketmap, Protocol::TcpTable};
constexpr std::array<std::string_view, 3> kErrorNames = {"malformed", "oversized", "invalid"};

// Text exposition format 0.0.4: label values escape \, " and newline; HELP
// text escapes \ and newline.
std::string escaped(std::string_view s, bool quote) {
  std::string out;
  out.reserve(s.size());
  for (char c : s) {
    if (c == '\\')
      out += "\\\\";
    else if (c == '\n')
      out += "\\n";
    else if (c == '"' && quote)
      out += "\\\"";
    else
      out += c;
  }
  return out;
}

// Shortest text that reads back as the same double; Prometheus spells
// infinities +Inf/-Inf and NaN as NaN.
std::string number(double v, std::chars_format f = std::chars_format::general) {
  if (std::isnan(v)) return "NaN";
  if (std::isinf(v)) return v > 0 ? "+Inf" : "-Inf";
  char buf[400];  // fixed notation of the largest double fits
  auto [end, ec] = std::to_chars(buf, buf + sizeof buf, v, f);
  return ec == std::errc() ? std::string(buf, end) : "NaN";
}

class Page {
 public:
  void family(std::string_view name, std::string_view type, std::string_view help) {
    out_ += "# HELP ";
    out_ += name;
    out_ += ' ';
    out_ += escaped(help, false);
    out_ += "\n# TYPE ";
    out_ += name;
    out_ += ' ';
    out_ += type;
    out_ += '\n';
  }
  // labels: already rendered `a="x",b="y"`, or empty.
  void sample(std::string_view name, std::string_view labels, const std::string& value) {
    out_ += name;
    if (!labels.empty()) {
      out_ += '{';
      out_ += labels;
      out_ += '}';
    }
    out_ += ' ';
    out_ += value;
    out_ += '\n';
  }
  void sample(std::string_view name, std::string_view labels, std::uint64_t v) {
    sample(name, labels, std::to_string(v));
  }
  std::string take() { return std::move(out_); }

 private:
  std::string out_;
};

std::string label(std::string_view k, std::string_view v) {
  return std::string(k) + "=\"" + escaped(v, true) + "\"";
}

}  // namespace

Metrics::Metrics() : started_(std::time(nullptr)) {}

void Metrics::lookup(Protocol p, Outcome o, std::string_view source, double seconds) {
  auto& bySource = lookups_[index(p)][static_cast<std::size_t>(o)];
  auto it = bySource.find(source);
  if (it == bySource.end()) it = bySource.emplace(std::string(source), 0).first;
  ++it->second;
  Histogram& h = latency_[index(p)];
  const auto b = std::lower_bound(kBuckets.begin(), kBuckets.end(), seconds);
  if (b != kBuckets.end()) ++h.buckets[static_cast<std::size_t>(b - kBuckets.begin())];
  ++h.count;
  h.sum += seconds;
}

void Metrics::protocol_error(Protocol p, ProtocolError e) {
  ++protocol_errors_[index(p)][static_cast<std::size_t>(e)];
}

void Metrics::deadline(Protocol p) { ++deadlines_[index(p)]; }

std::string Metrics::render(std::size_t open_connections,
                            const std::vector<onionmx::Stat>& stats) const {
  Page page;
  page.family("onionmx_lookups_total", "counter",
              "Requests answered, by protocol, status (found, notfound, temp, perm) and the "
              "source that decided them");
  for (Protocol p : kProtocolList)
    for (std::size_t o = 0; o < kOutcomes; ++o)
      for (const auto& [source, n] : lookups_[index(p)][o])
        page.sample("onionmx_lookups_total",
                    label("protocol", protocol_name(p)) + "," +
                        label("status", onionmx::base::outcome_name(static_cast<Outcome>(o))) +
                        "," + label("source", source),
                    n);

  page.family("onionmx_lookup_duration_seconds", "histogram",
              "Time from a request's start to its answer");
  for (Protocol p : kProtocolList) {
    const Histogram& h = latency_[index(p)];
    const std::string proto = label("protocol", protocol_name(p));
    std::uint64_t cumulative = 0;
    for (std::size_t i = 0; i < kBuckets.size(); ++i) {
      cumulative += h.buckets[i];
      page.sample("onionmx_lookup_duration_seconds_bucket",
                  proto + "," + label("le", number(kBuckets[i], std::chars_format::fixed)),
                  cumulative);
    }
    page.sample("onionmx_lookup_duration_seconds_bucket", proto + ",le=\"+Inf\"", h.count);
    page.sample("onionmx_lookup_duration_seconds_sum", proto, number(h.sum));
    page.sample("onionmx_lookup_duration_seconds_count", proto, h.count);
  }

  page.family("onionmx_request_timeouts_total", "counter",
              "Requests answered TEMP because no answer came within --request-timeout");
  for (Protocol p : kProtocolList)
    page.sample("onionmx_request_timeouts_total", label("protocol", protocol_name(p)),
                deadlines_[index(p)]);

  page.family("onionmx_protocol_errors_total", "counter",
              "Requests that broke the protocol: malformed or oversized frames close their "
              "connection; invalid tcp_table lines are answered 400");
  for (Protocol p : kProtocolList)
    for (std::size_t e = 0; e < kErrorNames.size(); ++e)
      page.sample("onionmx_protocol_errors_total",
                  label("protocol", protocol_name(p)) + "," + label("kind", kErrorNames[e]),
                  protocol_errors_[index(p)][e]);

  page.family("onionmx_connections", "gauge", "MTA connections open now");
  page.sample("onionmx_connections", "", static_cast<std::uint64_t>(open_connections));
  page.family("onionmx_connections_accepted_total", "counter", "MTA connections accepted");
  page.sample("onionmx_connections_accepted_total", "", accepted_);
  page.family("onionmx_connections_refused_total", "counter",
              "MTA connections closed at accept because --max-connections were open");
  page.sample("onionmx_connections_refused_total", "", refused_);
  page.family("onionmx_connections_closed_idle_total", "counter",
              "MTA connections closed after --idle-timeout without a request");
  page.sample("onionmx_connections_closed_idle_total", "", closed_idle_);

  page.family("onionmx_reloads_total", "counter",
              "SIGHUP reloads, by result (a failed one keeps the running configuration)");
  page.sample("onionmx_reloads_total", "result=\"ok\"", reloads_ok_);
  page.sample("onionmx_reloads_total", "result=\"failed\"", reloads_failed_);

  page.family("onionmx_process_start_time_seconds", "gauge",
              "Start time of the process since the Unix epoch, in seconds");
  page.sample("onionmx_process_start_time_seconds", "", static_cast<std::uint64_t>(started_));

  page.family("onionmx_build_info", "gauge", "Versions of onionmxd and of the library it runs on");
  page.sample("onionmx_build_info",
              label("version", ONIONMX_VERSION_STRING) + "," + label("library", onionmx_version()),
              std::uint64_t{1});

  // The library's, as it names them (stable; docs/c-api.md).
  for (const auto& s : stats) {
    page.family(s.name, s.kind == onionmx::StatKind::Counter ? "counter" : "gauge", s.help);
    page.sample(s.name, "", number(s.value));
  }
  return page.take();
}

}  // namespace onionmxd
