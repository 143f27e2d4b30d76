#!/usr/bin/python3
"""Debian's OpenSMTPD and Exim, run from their unpacked packages.

postfix, opensmtpd and exim4-daemon-light conflict as packages (all provide
mail-transport-agent), so .ci/setup unpacks opensmtpd, exim4-base and
exim4-daemon-light with `dpkg -x` into MTA_ROOT (default below; override
with $ONIONMX_MTA_ROOT) instead of installing them.  This module finds the
binaries there, creates the system users the packages' postinst would, and
runs a program in a private mount namespace (unshare(1)) where chosen
paths are bind-mounted over fixed ones such as /var/spool and /run, which
smtpd and smtpctl have compiled in.

Also a minimal SMTP sink that records the recipients it accepts, and a
SOCKS5 stub (RFC 1928, no authentication, CONNECT only) standing in for
Tor's SocksPort: it records each CONNECT target and carries the
connection to a fixed local port.
Standard library only.
"""

import os
import pwd
import shutil
import socket
import struct
import subprocess
import threading

MTA_ROOT = os.environ.get("ONIONMX_MTA_ROOT", "/var/cache/onionmx-ci/mta/root")


def binary(rel):
    """MTA_ROOT/rel if it is there and executable, else None."""
    path = os.path.join(MTA_ROOT, rel)
    return path if os.access(path, os.X_OK) else None


def missing_prerequisite(*rels):
    """Why the MTA tests cannot run here, or None."""
    for rel in rels:
        if binary(rel) is None:
            return f"{os.path.join(MTA_ROOT, rel)} missing (run .ci/setup)"
    if os.geteuid() != 0:
        return "needs root (system users, mount namespaces)"
    for tool in ("unshare", "nsenter", "useradd", "groupadd"):
        if shutil.which(tool) is None:
            return f"{tool} missing"
    probe = subprocess.run(["unshare", "-m", "true"], capture_output=True)
    if probe.returncode != 0:
        return "no mount namespaces here: " + probe.stderr.decode(errors="replace").strip()
    return None


def ensure_user(name, home, group=None, make_home=True):
    """A system user as the Debian postinst creates it (adduser --system).
    make_home: its home must exist (smtpd chroots into it)."""
    group = group or name
    if subprocess.run(["getent", "group", group], capture_output=True).returncode != 0:
        subprocess.run(["groupadd", "-r", group], check=True)
    try:
        pw = pwd.getpwnam(name)
        home = pw.pw_dir
    except KeyError:
        subprocess.run(["useradd", "-r", "-M", "-d", home, "-s", "/usr/sbin/nologin",
                        "-g", group, name], check=True)
    if make_home:
        os.makedirs(home, mode=0o755, exist_ok=True)


def in_namespace(binds, argv):
    """argv run in a new mount namespace after `mount --bind SRC DST` for
    each (SRC, DST): the mounts are private to that process tree."""
    n = len(binds)
    script = "set -e\n" + "".join(f'mount --bind "${{{i + 1}}}" "${{{i + 1 + n}}}"\n'
                                   for i in range(n))
    script += f'shift {2 * n}\nexec "$@"\n'
    args = [s for s, _ in binds] + [d for _, d in binds]
    return ["unshare", "-m", "--propagation", "private", "sh", "-c", script, "sh"] + args + argv


class SmtpSink:
    """Accepts every message on 127.0.0.1:port and records
    (mail_from, [rcpt, ...]) per message.  Just enough RFC 5321."""

    def __init__(self):
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(16)
        self.port = self.sock.getsockname()[1]
        self.messages = []
        self.lock = threading.Lock()
        threading.Thread(target=self._serve, daemon=True).start()

    def recipients(self):
        with self.lock:
            return [r for _, rcpts in self.messages for r in rcpts]

    def _serve(self):
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            threading.Thread(target=self._session, args=(conn,), daemon=True).start()

    def _session(self, conn):
        f = conn.makefile("rwb")

        def say(line):
            f.write(line.encode() + b"\r\n")
            f.flush()

        try:
            say("220 sink ESMTP")
            sender, rcpts = None, []
            for raw in f:
                line = raw.decode(errors="replace").rstrip("\r\n")
                verb = line[:4].upper()
                if verb in ("EHLO", "HELO"):
                    say("250 sink")
                elif verb == "MAIL":
                    sender, rcpts = line[10:].strip("<> "), []
                    say("250 ok")
                elif verb == "RCPT":
                    rcpts.append(line[8:].strip("<> ").split(">")[0])
                    say("250 ok")
                elif verb == "DATA":
                    say("354 go")
                    for body in f:
                        if body in (b".\r\n", b".\n"):
                            break
                    with self.lock:
                        self.messages.append((sender, rcpts))
                    say("250 queued")
                elif verb == "QUIT":
                    say("221 bye")
                    break
                else:
                    say("250 ok")
        except OSError:
            pass
        finally:
            conn.close()

    def close(self):
        self.sock.close()


class Socks5Stub:
    """RFC 1928 CONNECT without authentication.  Records (host, port) of
    every CONNECT (host: dotted IPv4, a name for ATYP 3, hex for IPv6) and
    relays the stream to 127.0.0.1:forward_port, as Tor would to the onion."""

    def __init__(self, forward_port):
        self.forward_port = forward_port
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(16)
        self.port = self.sock.getsockname()[1]
        self.connects = []
        threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self):
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            threading.Thread(target=self._session, args=(conn,), daemon=True).start()

    @staticmethod
    def _read(conn, n):
        data = b""
        while len(data) < n:
            chunk = conn.recv(n - len(data))
            if not chunk:
                raise ConnectionError("SOCKS client closed")
            data += chunk
        return data

    def _session(self, conn):
        try:
            ver, nmethods = self._read(conn, 2)
            methods = self._read(conn, nmethods)
            if ver != 5 or 0 not in methods:
                conn.sendall(b"\x05\xff")
                return
            conn.sendall(b"\x05\x00")
            _, cmd, _, atyp = self._read(conn, 4)
            if atyp == 1:
                host = socket.inet_ntoa(self._read(conn, 4))
            elif atyp == 3:
                host = self._read(conn, self._read(conn, 1)[0]).decode(errors="replace")
            else:
                host = self._read(conn, 16).hex()
            port = struct.unpack(">H", self._read(conn, 2))[0]
            self.connects.append((host, port))
            if cmd != 1:
                conn.sendall(b"\x05\x07\x00\x01" + bytes(6))  # command not supported
                return
            upstream = socket.create_connection(("127.0.0.1", self.forward_port), timeout=10)
            conn.sendall(b"\x05\x00\x00\x01" + socket.inet_aton("127.0.0.1") +
                         struct.pack(">H", self.forward_port))
            back = threading.Thread(target=self._pipe, args=(upstream, conn), daemon=True)
            back.start()
            self._pipe(conn, upstream)
            back.join(10)
            upstream.close()
        except OSError:
            pass
        finally:
            conn.close()

    @staticmethod
    def _pipe(src, dst):
        try:
            while True:
                data = src.recv(65536)
                if not data:
                    break
                dst.sendall(data)
        except OSError:
            pass
        finally:
            try:
                dst.shutdown(socket.SHUT_WR)
            except OSError:
                pass

    def close(self):
        self.sock.close()
