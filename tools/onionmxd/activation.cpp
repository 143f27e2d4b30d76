// activation.cpp - see activation.hpp.
#include "activation.hpp"

#include <sys/socket.h>

#include <cstdlib>
#include <cstring>

#ifdef ONIONMXD_HAVE_SYSTEMD
#include <systemd/sd-daemon.h>
#endif

namespace onionmxd {

bool protocol_of_fd_name(const std::string& name, Protocol& out) {
  if (name == "socketmap") {
    out = Protocol::Socketmap;
    return true;
  }
  if (name == "tcp-table") {
    out = Protocol::TcpTable;
    return true;
  }
  return false;
}

#ifdef ONIONMXD_HAVE_SYSTEMD

Activation activated_sockets() {
  Activation a;
  char** names = nullptr;
  const int n = sd_listen_fds_with_names(1, &names);
  if (n < 0) {
    a.error = std::string("socket activation: ") + std::strerror(-n);
    return a;
  }
  for (int i = 0; i < n; ++i) {
    const int fd = SD_LISTEN_FDS_START + i;
    const std::string name = names && names[i] ? names[i] : "";
    ActivatedSocket s{fd, Protocol::Socketmap};
    if (a.error.empty() && !protocol_of_fd_name(name, s.proto))
      a.error = "socket activation: descriptor " + std::to_string(fd) +
                " has FileDescriptorName=" + (name.empty() ? "(none)" : name) +
                "; onionmxd needs socketmap or tcp-table";
    else if (a.error.empty() && sd_is_socket(fd, AF_UNSPEC, SOCK_STREAM, 1) <= 0)
      a.error = "socket activation: descriptor " + std::to_string(fd) + " (" + name +
                ") is not a listening stream socket";
    a.sockets.push_back(s);
  }
  if (names) {
    for (int i = 0; i < n; ++i) std::free(names[i]);
    std::free(static_cast<void*>(names));
  }
  return a;
}

#else

Activation activated_sockets() {
  Activation a;
  if (const char* fds = std::getenv("LISTEN_FDS"); fds && *fds)
    a.error =
        "socket activation: $LISTEN_FDS is set, but this onionmxd was built without "
        "libsystemd (meson -Dsystemd=enabled)";
  return a;
}

#endif

}  // namespace onionmxd
