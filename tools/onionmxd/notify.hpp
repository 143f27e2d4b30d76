// notify.hpp - the sd_notify(3) datagram protocol, without libsystemd.
//
// Under systemd (Type=notify) $NOTIFY_SOCKET names a unix datagram socket
// ("@name" an abstract one); each state ("READY=1", "RELOADING=1",
// "STOPPING=1", "STATUS=...") is one datagram.  Without the variable
// nothing is sent.
#pragma once

#include <string>

namespace onionmxd {

// False only when $NOTIFY_SOCKET is set and the datagram could not be sent.
bool notify(const std::string& state);

}  // namespace onionmxd
