// metrics_http.cpp - see metrics_http.hpp.
#include "metrics_http.hpp"

#include <event2/buffer.h>
#include <event2/keyvalq_struct.h>
#include <netdb.h>
#include <sys/socket.h>

#include <cerrno>
#include <cstring>

#include "proto/listen_spec.hpp"

namespace onionmxd {

namespace {

// A scrape is one small request; slow or oversized ones are dropped.
constexpr int kTimeoutS = 10;
constexpr ev_ssize_t kMaxHeaders = 8192;

void request_cb(evhttp_request* req, void* arg) { static_cast<MetricsHttp*>(arg)->on_request(req); }

std::string bound_text(evutil_socket_t fd) {
  sockaddr_storage ss{};
  socklen_t len = sizeof ss;
  if (getsockname(fd, reinterpret_cast<sockaddr*>(&ss), &len) != 0) return "?";
  char host[NI_MAXHOST] = "";
  char serv[NI_MAXSERV] = "";
  if (getnameinfo(reinterpret_cast<sockaddr*>(&ss), len, host, sizeof host, serv, sizeof serv,
                  NI_NUMERICHOST | NI_NUMERICSERV) != 0)
    return "?";
  if (ss.ss_family == AF_INET6) return std::string("inet:[") + host + "]:" + serv;
  return std::string("inet:") + host + ":" + serv;
}

}  // namespace

MetricsHttp::MetricsHttp(event_base* base, Page page)
    : http_(evhttp_new(base)), page_(std::move(page)) {
  if (!http_) return;
  evhttp_set_gencb(http_, request_cb, this);
  evhttp_set_timeout(http_, kTimeoutS);
  evhttp_set_max_headers_size(http_, kMaxHeaders);
  evhttp_set_max_body_size(http_, 0);
}

MetricsHttp::~MetricsHttp() {
  if (http_) evhttp_free(http_);
}

std::string MetricsHttp::listen(const std::string& text) {
  namespace proto = onionmx::proto;
  auto spec = proto::parse_listen_spec(text);
  if (!spec) return "--metrics: " + spec.error().detail;
  if (spec->kind != proto::ListenSpec::Kind::Inet)
    return "--metrics: only inet:HOST:PORT is served, not " + text;
  if (!http_) return "--metrics: cannot create the HTTP server";
  evhttp_bound_socket* bound =
      evhttp_bind_socket_with_handle(http_, spec->host.c_str(), spec->port);
  if (!bound) return "cannot listen on " + proto::to_string(*spec) + ": " + std::strerror(errno);
  shown_ = bound_text(evhttp_bound_socket_get_fd(bound));
  return {};
}

void MetricsHttp::on_request(evhttp_request* req) {
  const evhttp_uri* uri = evhttp_request_get_evhttp_uri(req);
  const char* path = uri ? evhttp_uri_get_path(uri) : nullptr;
  if (evhttp_request_get_command(req) != EVHTTP_REQ_GET || !path ||
      std::strcmp(path, "/metrics") != 0) {
    evhttp_send_error(req, HTTP_NOTFOUND, "Not Found");
    return;
  }
  evbuffer* body = evbuffer_new();
  if (!body) {
    evhttp_send_error(req, HTTP_SERVUNAVAIL, "Out of memory");
    return;
  }
  try {
    const std::string text = page_();
    evbuffer_add(body, text.data(), text.size());
  } catch (...) {  // out of memory building the page: this scrape fails, not the daemon
    evbuffer_free(body);
    evhttp_send_error(req, HTTP_INTERNAL, "Internal Server Error");
    return;
  }
  evkeyvalq* headers = evhttp_request_get_output_headers(req);
  // The content type of the text exposition format, version 0.0.4.
  evhttp_add_header(headers, "Content-Type", "text/plain; version=0.0.4; charset=utf-8");
  evhttp_send_reply(req, HTTP_OK, "OK", body);
  evbuffer_free(body);
}

}  // namespace onionmxd
