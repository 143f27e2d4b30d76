// log.hpp - the library never writes to stderr or syslog itself: it hands
// messages to a sink the embedding program installs (C API: log callback).
#pragma once

#include <functional>
#include <string_view>

namespace onionmx::base {

enum class LogLevel { Debug = 0, Info = 1, Warning = 2, Error = 3 };

using LogSink = std::function<void(LogLevel, std::string_view)>;

}  // namespace onionmx::base
