#!/usr/bin/python3
"""Ask a socketmap server (onionmxd) the way Postfix does, and print the replies.

    socketmap-query.py [--name onionmx] [--wait S] inet:HOST:PORT|unix:PATH KEY...

Postfix's socketmap client (socketmap_table(5)) sends one request at a time on
a connection, the netstring "<len>:<name> <key>," (netstrings, D. J. Bernstein,
https://cr.yp.to/proto/netstrings.txt), and waits for one netstring reply:
"OK <value>", "NOTFOUND ", "TEMP <reason>", "TIMEOUT <reason>" or
"PERM <reason>".  This client does the same on one connection and prints
"KEY<TAB>REPLY" per key.  --wait retries the first connection for S seconds
(a daemon that is still starting).  Exit status: 0 every key answered, 1 a
protocol or connection error.  Standard library only.
"""

import argparse
import socket
import sys
import time

MAX_REPLY = 100000  # Postfix's socketmap_max_reply_size default (socketmap_table(5))


def connect(target, wait):
    kind, _, addr = target.partition(":")
    if kind == "inet":
        host, _, port = addr.rpartition(":")
        family, where = socket.AF_INET6 if ":" in host else socket.AF_INET, (host.strip("[]"),
                                                                            int(port))
    elif kind == "unix":
        family, where = socket.AF_UNIX, addr
    else:
        raise ValueError(f"{target}: expected inet:HOST:PORT or unix:PATH")
    end = time.monotonic() + wait
    while True:
        s = socket.socket(family, socket.SOCK_STREAM)
        s.settimeout(10)
        try:
            s.connect(where)
            return s
        except OSError:
            s.close()
            if time.monotonic() >= end:
                raise
            time.sleep(0.05)


def read_netstring(s, buf):
    """One netstring payload from s (buf: bytes already read); returns (payload, rest)."""
    while b":" not in buf:
        if len(buf) > 10:
            raise ValueError(f"bad netstring length {buf[:12]!r}")
        chunk = s.recv(4096)
        if not chunk:
            raise EOFError("connection closed by the server")
        buf += chunk
    head, rest = buf.split(b":", 1)
    if not head.isdigit() or int(head) > MAX_REPLY:
        raise ValueError(f"bad netstring length {head!r}")
    need = int(head) + 1
    while len(rest) < need:
        chunk = s.recv(65536)
        if not chunk:
            raise EOFError("connection closed inside a reply")
        rest += chunk
    if rest[need - 1:need] != b",":
        raise ValueError("netstring without its trailing comma")
    return rest[:need - 1], rest[need:]


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--name", default="onionmx", help="socketmap name (default onionmx)")
    ap.add_argument("--wait", type=float, default=0, help="retry connecting for S seconds")
    ap.add_argument("target", help="inet:HOST:PORT or unix:PATH")
    ap.add_argument("keys", nargs="+", metavar="KEY")
    a = ap.parse_args()
    try:
        s = connect(a.target, a.wait)
        buf = b""
        with s:
            for key in a.keys:
                req = f"{a.name} {key}".encode()
                s.sendall(b"%d:%s," % (len(req), req))
                reply, buf = read_netstring(s, buf)
                print(f"{key}\t{reply.decode('ascii', 'backslashreplace')}", flush=True)
    except (OSError, ValueError, EOFError) as e:
        print(f"socketmap-query: {a.target}: {e}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
