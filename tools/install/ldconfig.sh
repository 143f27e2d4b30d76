#!/bin/sh
# Meson install script: after `meson install` as root into the live system
# (no DESTDIR), refresh the dynamic loader cache so that the tools find
# libonionmx.so.0 in a libdir listed in /etc/ld.so.conf (e.g. /usr/local).
# Anything else (a DESTDIR staging install, a non-root install) is left to
# whoever installs the staged files: skipped silently.
# Argument: the installed libdir.
set -eu
libdir=${1:-}
[ -z "${DESTDIR:-}" ] || exit 0
[ "$(id -u)" -eq 0 ] || exit 0

say() {
  [ -z "${MESON_INSTALL_QUIET:-}" ] || return 0
  # Meson 1.0 captures an install script's output and drops it when the
  # script succeeds (newer Meson prints it): in an interactive session, write
  # to the terminal instead.
  if [ ! -t 1 ] && (true >/dev/tty) 2>/dev/null; then
    echo "$*" >/dev/tty
  else
    echo "$*"
  fi
}

ldconfig=$(PATH="$PATH:/usr/sbin:/sbin" command -v ldconfig) || {
  say "onionmx: ldconfig not found: run it before using the installed tools"
  exit 0
}
"$ldconfig"
say "onionmx: ran $ldconfig (refreshed the loader cache; libonionmx is in $libdir)"
