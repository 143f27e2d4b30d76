// activation.hpp - listening sockets passed by systemd (socket activation).
//
// A socket unit (examples/systemd/onionmxd.socket) binds the endpoints and
// starts onionmxd with them as descriptors 3, 4, ... ($LISTEN_FDS,
// $LISTEN_PID, $LISTEN_FDNAMES; sd_listen_fds(3)).  Each socket's
// FileDescriptorName= says what it serves:
//   socketmap   Postfix socketmap_table(5)
//   tcp-table   Postfix tcp_table(5)
// Any other name, or a socket that is not a listening stream socket, stops
// the start: guessing would answer one protocol on the other's port.
// libsystemd is optional at build time (meson -Dsystemd); without it a set
// $LISTEN_FDS is an error rather than silently ignored sockets.
#pragma once

#include <string>
#include <vector>

#include "server.hpp"

namespace onionmxd {

struct ActivatedSocket {
  int fd = -1;
  Protocol proto = Protocol::Socketmap;
};

struct Activation {
  std::vector<ActivatedSocket> sockets;  // empty: not socket-activated
  std::string error;                     // set: the passed sockets cannot be used
};

// Takes the passed sockets and unsets $LISTEN_* (children never see them).
Activation activated_sockets();

// The protocol a FileDescriptorName= selects; false for any other name.
bool protocol_of_fd_name(const std::string& name, Protocol& out);

}  // namespace onionmxd
