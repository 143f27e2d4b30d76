// metrics_http.hpp - the --metrics endpoint: GET /metrics over HTTP/1.x,
// served by libevent's evhttp on the daemon's own event_base.
//
// evhttp reads and writes without blocking, so a slow or stalled scraper
// costs the loop nothing; the page is built from counters in memory, never
// by waiting for a lookup.  Anything but GET /metrics is a 404.
#pragma once

#include <event2/event.h>
#include <event2/http.h>

#include <functional>
#include <string>

namespace onionmxd {

class MetricsHttp {
 public:
  using Page = std::function<std::string()>;
  MetricsHttp(event_base* base, Page page);
  ~MetricsHttp();
  MetricsHttp(const MetricsHttp&) = delete;
  MetricsHttp& operator=(const MetricsHttp&) = delete;

  // Binds `spec` (inet:HOST:PORT, libonionmx/proto/listen_spec); an empty
  // string on success, else why not.
  std::string listen(const std::string& spec);
  // The endpoint as bound (the real port for port 0), for the log.
  const std::string& shown() const { return shown_; }

  void on_request(evhttp_request* req);

 private:
  evhttp* http_;
  Page page_;
  std::string shown_;
};

}  // namespace onionmxd
