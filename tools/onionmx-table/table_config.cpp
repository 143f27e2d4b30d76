// table_config.cpp - see table_config.hpp.
#include "table_config.hpp"

#include <sys/stat.h>
#include <toml++/toml.h>

#include <cerrno>

#include "base/file.hpp"
#include "base/strings.hpp"
#include "proto/listen_spec.hpp"

namespace onionmx_table {
namespace {

constexpr std::size_t kMaxFile = std::size_t{1} << 20;  // the library's limit (config.cpp)
constexpr std::string_view kSection = "onionmx-table";

std::string at(const std::string& origin, const toml::node& n) {
  const auto line = n.source().begin.line;
  return line > 0 ? origin + ":" + std::to_string(line) : origin;
}

}  // namespace

bool valid_map_name(std::string_view name) {
  if (name.empty() || name.size() > 64) return false;
  for (const char c : name) {
    const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                    c == '-' || c == '_' || c == '.';
    if (!ok) return false;
  }
  return true;
}

TableFile parse_table_section(std::string_view text, const std::string& origin) {
  TableFile f;
  toml::table root;
  try {
    root = toml::parse(text, origin);
  } catch (const toml::parse_error& e) {
    const auto& where = e.source().begin;
    f.error = origin + ":" + std::to_string(where.line) + ":" + std::to_string(where.column) +
              ": " + std::string(e.description());
    return f;
  }
  const toml::node* n = root.get(kSection);
  if (!n) return f;
  const toml::table* t = n->as_table();
  if (!t) {
    f.error = at(origin, *n) + ": onionmx-table: expected a [section]";
    return f;
  }
  for (const auto& [key, value] : *t) {
    const std::string name(key.str());
    auto refuse = [&](const std::string& why) {
      f.error = at(origin, value);
      f.error += ": onionmx-table." + name + ": ";
      f.error += why;
    };
    if (name != "daemon" && name != "daemon_map") {
      refuse("unknown key");
      return f;
    }
    const std::string* s = value.as_string() ? &value.as_string()->get() : nullptr;
    if (!s) {
      refuse("expected a string");
      return f;
    }
    if (name == "daemon_map") {
      if (!valid_map_name(*s)) {
        refuse("\"" + onionmx::base::printable(*s) + "\" is not a socketmap name (1-64 of " +
               "A-Z a-z 0-9 - _ .)");
        return f;
      }
      f.daemon_map = *s;
      continue;
    }
    auto spec = onionmx::proto::parse_listen_spec(*s);
    if (!spec) {
      refuse(spec.error().detail);
      return f;
    }
    f.daemon = onionmx::proto::to_string(*spec);
  }
  return f;
}

TableFile load_table_section(const std::string& path, bool optional) {
  struct stat st{};
  if (optional && ::stat(path.c_str(), &st) != 0 && errno == ENOENT) return {};
  auto text = onionmx::base::read_file(path, kMaxFile, "1 MiB");
  if (!text) {
    TableFile f;
    f.error = text.error().detail;
    return f;
  }
  return parse_table_section(*text, path);
}

}  // namespace onionmx_table
