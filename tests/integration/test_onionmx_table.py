#!/usr/bin/python3
"""onionmx-table driven over a pipe as OpenSMTPD >= 7.6 drives it.

Scripted smtpd-side transcripts (smtpd-tables(7) bytes as OpenSMTPD 7.8.0p1
sends them, docs/onionmx-table.md) against the real binary ($ONIONMX_TABLE),
with a real Knot (dnsharness) serving zone mx.test, where found.mx.test
publishes `_onion-mx._tcp SRV 0 0 2525 <V1>`:
  * the handshake, byte for byte; check/lookup/fetch/update; ids echoed;
  * unknown services, bad lines, huge keys, keys with '|', pipelined requests;
  * lookups slower than the next request (a DNS server that never answers):
    replies stay in request order, failures are `error`, never `not-found`;
  * a closed DNS port: error; `update` reloads the configuration file (the
    path smtpd passes), a broken one answers error and keeps the old one;
  * EOF: pending lookups are answered, then a clean exit 0;
  * --daemon: the same answers from a real onionmxd ($ONIONMX_D, its
    `opensmtpd` socketmap profile) on the same Knot, over inet and unix;
    failures, a stopped daemon (and its restart on the same port), an idle
    close, a slow or garbage-speaking socketmap server: always `error`.
stdout must carry protocol lines only: every test checks all of it.
Exit 77 (skipped) when knotd is missing.
"""

import fcntl
import os
import re
import select
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import dnsharness as dh  # noqa: E402

TABLE = os.environ.get("ONIONMX_TABLE", "")
DAEMON = os.environ.get("ONIONMX_D", "")
V1, V2 = dh.V1, dh.V2
FOUND = "found.mx.test"  # SRV port 2525
FOUND_URL = f"smtp+notls://{V1}:2525"
HANDSHAKE = (b"config|smtpd-version|7.8.0-portable\nconfig|protocol|0.1\n"
             b"config|tablename|onionpy\nconfig|ready\n")
REGISTERED = b"register|domain\nregister|relayhost\nregister|ready\n"
PROTOCOL_LINE = re.compile(rb"^(register\|(domain|relayhost|ready)|"
                           rb"(check|lookup|fetch|update|[a-z-]+)-result\|[!-{}~]+\|"
                           rb"(found|found\|[^\n]+|not-found|ok|error\|[^|\n]+))$")
KNOT = None
WORK = None


def req(op, ident, key=None, service=None, table="onionpy", version="0.1"):
    """One request line as table_proc.c writes it."""
    line = f"table|{version}|1795313167.420892|{table}|{op}"
    if service is not None:
        line += f"|{service}"
    line += f"|{ident}"
    if key is not None:
        line += f"|{key}"
    return (line + "\n").encode()


class Table:
    """onionmx-table with pipes on stdin/stdout, stderr to a log file."""

    def __init__(self, name, args, handshake=True):
        self.log_path = os.path.join(WORK, name + ".log")
        self.log_file = open(self.log_path, "wb")
        self.proc = subprocess.Popen([TABLE] + args, stdin=subprocess.PIPE,
                                     stdout=subprocess.PIPE, stderr=self.log_file, cwd=WORK)
        self.buf = b""
        self.seen = b""  # everything read from stdout
        if handshake:
            self.send(HANDSHAKE)
            got = self.read_lines(3)
            assert got == REGISTERED.decode().splitlines(), got

    def send(self, data):
        self.proc.stdin.write(data)
        self.proc.stdin.flush()

    def read_line(self, timeout=10.0):
        end = time.monotonic() + timeout
        while b"\n" not in self.buf:
            left = end - time.monotonic()
            if left <= 0:
                raise TimeoutError(f"no reply line; stderr: {self.log()[-2000:]}")
            r, _, _ = select.select([self.proc.stdout], [], [], left)
            if r:
                chunk = os.read(self.proc.stdout.fileno(), 65536)
                if not chunk:
                    raise EOFError(f"stdout closed; stderr: {self.log()[-2000:]}")
                self.buf += chunk
                self.seen += chunk
        line, self.buf = self.buf.split(b"\n", 1)
        return line.decode()

    def read_lines(self, n, timeout=10.0):
        return [self.read_line(timeout) for _ in range(n)]

    def ask(self, line, timeout=10.0):
        self.send(line)
        return self.read_line(timeout)

    def nothing_pending(self, wait=0.3):
        """No unread byte on stdout after `wait` seconds."""
        r, _, _ = select.select([self.proc.stdout], [], [], wait)
        return not r and not self.buf

    def log(self):
        with open(self.log_path, encoding="utf-8", errors="replace") as f:
            return f.read()

    def close(self, timeout=15.0):
        """EOF on stdin; returns the exit status and the rest of stdout."""
        self.proc.stdin.close()
        rest = self.proc.stdout.read()
        self.seen += rest
        rc = self.proc.wait(timeout=timeout)
        self.log_file.close()
        return rc, self.buf + rest

    def kill(self):
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()
        for f in (self.proc.stdin, self.proc.stdout):
            if not f.closed:
                f.close()
        if not self.log_file.closed:
            self.log_file.close()


def setUpModule():
    global KNOT, WORK
    if not TABLE:
        raise unittest.SkipTest("ONIONMX_TABLE not set")
    if not shutil.which("knotd") and not os.path.exists("/usr/sbin/knotd"):
        print("knotd missing: skipped", file=sys.stderr)
        sys.exit(77)
    WORK = tempfile.mkdtemp(prefix="onionmx-table-")
    z = dh.Zone("mx.test")
    z.add_srv(dh.SRV_PREFIX + "found", 0, 0, 2525, V1 + ".")
    z.add_srv(dh.SRV_PREFIX + "other", 0, 0, 25, V2 + ".")
    KNOT = dh.KnotServer(WORK, {"mx.test": z.text()}, serials={"mx.test": z.serial}).start()


def tearDownModule():
    if KNOT:
        KNOT.stop()
    if WORK:
        shutil.rmtree(WORK, ignore_errors=True)


class Base(unittest.TestCase):
    def start(self, name, args, handshake=True):
        t = Table(name, args, handshake)
        self.addCleanup(t.kill)
        return t

    def assert_protocol_only(self, t):
        """Every byte the table wrote is a whole protocol line."""
        out = t.seen
        self.assertTrue(out == b"" or out.endswith(b"\n"), out[-200:])
        for line in out.split(b"\n")[:-1]:
            self.assertRegex(line, PROTOCOL_LINE)


class Conversation(Base):
    """One table on Knot, as smtpd talks to it."""

    def setUp(self):
        self.t = self.start(self.id().rsplit(".", 1)[-1],
                            ["--server", f"127.0.0.1:{KNOT.port}", "--no-tcp", "--no-cache",
                             "--log-level", "debug"])

    def tearDown(self):
        if self.t.proc.poll() is None:
            rc, rest = self.t.close()
            self.assertEqual((rc, rest), (0, b""))
        self.assert_protocol_only(self.t)

    def test_check_and_lookup_use_the_srv_port(self):
        t = self.t
        self.assertEqual(t.ask(req("check", "0649c485", FOUND, "domain")),
                         "check-result|0649c485|found")
        self.assertEqual(t.ask(req("lookup", "b2a61d06", FOUND, "relayhost")),
                         f"lookup-result|b2a61d06|found|{FOUND_URL}")
        self.assertEqual(t.ask(req("lookup", "00000001", "other.mx.test", "relayhost")),
                         f"lookup-result|00000001|found|smtp+notls://{V2}:25")
        self.assertIn('check key="found.mx.test" reply="check-result|0649c485|found" source=dns',
                      t.log())

    def test_not_found_domains_and_onion_domains(self):
        t = self.t
        self.assertEqual(t.ask(req("check", "8ff1b8be", "nothere.mx.test", "domain")),
                         "check-result|8ff1b8be|not-found")
        self.assertEqual(t.ask(req("lookup", "8ff1b8bf", "nothere.mx.test", "relayhost")),
                         "lookup-result|8ff1b8bf|not-found")
        self.assertEqual(t.ask(req("check", "1", V2, "domain")), "check-result|1|found")
        self.assertEqual(t.ask(req("lookup", "2", V2, "relayhost")),
                         f"lookup-result|2|found|smtp+notls://{V2}:25")

    def test_fetch_update_and_unknown_services(self):
        t = self.t
        self.assertEqual(t.ask(req("fetch", "0000beef", service="relayhost")),
                         "fetch-result|0000beef|not-found")
        self.assertEqual(t.ask(req("fetch", "0000bef0", service="source")),
                         "fetch-result|0000bef0|not-found")
        self.assertEqual(t.ask(req("update", "0000abcd")), "update-result|0000abcd|ok")
        for op, service in [("check", "relayhost"), ("lookup", "domain"), ("check", "mailaddr"),
                            ("lookup", "credentials"), ("check", "nosuchservice")]:
            got = t.ask(req(op, "cafe0001", FOUND, service))
            self.assertTrue(got.startswith(f"{op}-result|cafe0001|error|{op} {service} is not"),
                            got)
        # Still serving after all of it.
        self.assertEqual(t.ask(req("check", "cafe0002", FOUND, "domain")),
                         "check-result|cafe0002|found")

    def test_ids_echoed_exactly(self):
        t = self.t
        for ident in ["00000000", "ffffffff", "0649c485", "4294967295", "A-b_c.D~!", "x" * 64]:
            self.assertEqual(t.ask(req("check", ident, FOUND, "domain")),
                             f"check-result|{ident}|found")
            self.assertEqual(t.ask(req("update", ident)), f"update-result|{ident}|ok")

    def test_bad_lines_get_errors_or_nothing_and_never_end_it(self):
        t = self.t
        # Answerable (the op and id are there): an error echoing the id.
        self.assertEqual(t.ask(req("check", "e1", FOUND, "domain", version="0.2")),
                         "check-result|e1|error|unsupported protocol version 0.2")
        self.assertEqual(t.ask(req("check", "e2", None, "domain")),
                         "check-result|e2|error|missing key")
        self.assertEqual(t.ask(req("fetch", "e3", "extra", "relayhost")),
                         "fetch-result|e3|error|unexpected field after the id")
        self.assertEqual(t.ask(req("frobnicate", "e4", FOUND, "domain")),
                         "frobnicate-result|e4|error|unknown request type frobnicate")
        # Unanswerable (no id to echo): no line at all, a log line instead.
        for bad in [b"garbage\n", b"\n", b"\r\n", b"table\n", b"table|0.1|1.2|t|check\n",
                    b"table|0.1|1.2|t|check|domain||k\n", b"config|ready\n",
                    b"register|domain\n", b"\x00\xff\xfe|||\n", b"table|0.1|1.2|t|update|a b\n"]:
            t.send(bad)
            self.assertTrue(t.nothing_pending(0.2), bad)
        self.assertIn("unanswerable line", t.log())
        self.assertIn("config line after the handshake", t.log())
        self.assertEqual(t.ask(req("check", "e5", FOUND, "domain")), "check-result|e5|found")
        self.assertIsNone(t.proc.poll())

    def test_keys_with_bars_crlf_and_huge_keys(self):
        t = self.t
        self.assertEqual(t.ask(req("check", "k1", "a|b|found.mx.test", "domain")),
                         "check-result|k1|not-found")
        self.assertEqual(t.ask(req("lookup", "k2", "found.mx.test|", "relayhost")),
                         "lookup-result|k2|not-found")
        # A hand-typed CRLF line: the CR is not part of the key.
        self.assertEqual(t.ask(req("check", "k3", FOUND, "domain")[:-1] + b"\r\n"),
                         "check-result|k3|found")
        # Longer than smtpd's 1024-byte key buffer: no domain, not-found.
        self.assertEqual(t.ask(req("check", "k4", "a" * 5000 + ".mx.test", "domain")),
                         "check-result|k4|not-found")
        # Longer than --max-line (64 KiB): an error for that id, and the
        # stream goes on at the next line.
        t.send(req("check", "k5", "b" * 300000, "domain") + req("check", "k6", FOUND, "domain"))
        self.assertEqual(t.read_lines(2),
                         ["check-result|k5|error|request line too long",
                          "check-result|k6|found"])

    def test_pipelined_requests_answered_in_order(self):
        t = self.t
        batch = b"".join(
            req("check", f"{i:08x}", [FOUND, "nothere.mx.test", V2][i % 3], "domain")
            for i in range(60))
        # Byte by byte for the first request, then the rest at once.
        for b in batch[:40]:
            t.send(bytes([b]))
        t.send(batch[40:])
        got = t.read_lines(60)
        want = [f"check-result|{i:08x}|" + ["found", "not-found", "found"][i % 3]
                for i in range(60)]
        self.assertEqual(got, want)


class Handshake(Base):
    def test_exact_registration_bytes_and_nothing_before_ready(self):
        t = self.start("handshake", ["--server", f"127.0.0.1:{KNOT.port}"], handshake=False)
        t.send(b"config|smtpd-version|7.8.0-portable\nconfig|protocol|0.1\n")
        t.send(b"config|tablename|onionpy\n")
        self.assertTrue(t.nothing_pending(0.5))  # nothing before config|ready
        t.send(b"config|ready\n")
        got = b""
        while got.count(b"\n") < 3:
            got += (t.read_line() + "\n").encode()
        self.assertEqual(got, REGISTERED)
        self.assertTrue(t.nothing_pending(0.2))
        self.assertIn("table onionpy: ready", t.log())
        rc, rest = t.close()
        self.assertEqual((rc, rest), (0, b""))

    def test_eof_during_the_handshake_is_a_clean_exit(self):
        t = self.start("eof-early", ["--server", f"127.0.0.1:{KNOT.port}"], handshake=False)
        t.send(b"config|smtpd-version|7.8.0-portable\nconfig|proto")
        rc, rest = t.close()
        self.assertEqual((rc, rest), (0, b""))
        self.assertIn("stopped: end of input", t.log())

    def test_stderr_null_or_closed_keeps_stdout_clean(self):
        # As under a daemonized smtpd: the log goes to syslog, never stdout.
        script = HANDSHAKE + req("check", "n1", V1, "domain") + b"garbage\n" + req("update", "n2")
        want = REGISTERED + b"check-result|n1|found\nupdate-result|n2|ok\n"
        for how in ("null", "closed"):
            kw = ({"stderr": subprocess.DEVNULL} if how == "null" else
                  {"preexec_fn": lambda: os.close(2)})
            p = subprocess.run([TABLE, "--no-cache", "--log-level", "debug"], input=script,
                               stdout=subprocess.PIPE, timeout=30, **kw)
            self.assertEqual((p.returncode, p.stdout), (0, want), how)

    def test_stdin_and_stdout_get_their_blocking_mode_back(self):
        # A terminal's open file is the shell's too: O_NONBLOCK must not stay.
        r, w = os.pipe()
        out_r, out_w = os.pipe()
        try:
            p = subprocess.Popen([TABLE, "--no-cache"], stdin=r, stdout=out_w,
                                 stderr=subprocess.DEVNULL)
            os.write(w, b"config|ready\n")
            os.close(w)
            w = None
            self.assertEqual(p.wait(timeout=30), 0)
            self.assertEqual(os.read(out_r, 4096), REGISTERED)
            for fd in (r, out_w):
                self.assertFalse(fcntl.fcntl(fd, fcntl.F_GETFL) & os.O_NONBLOCK)
        finally:
            for fd in (r, w, out_r, out_w):
                if fd is not None:
                    os.close(fd)

    def test_bad_configuration_exits_at_start(self):
        bad = os.path.join(WORK, "bad.toml")
        with open(bad, "w") as f:
            f.write('[answer]\nopensmtpd_scheme = "smtp+foo"\n')
        p = subprocess.run([TABLE, bad], input=HANDSHAKE, capture_output=True, timeout=30)
        self.assertEqual(p.returncode, 1)
        self.assertEqual(p.stdout, b"")  # smtpd sees EOF during the handshake, never garbage
        self.assertIn(b"opensmtpd_scheme", p.stderr)
        p = subprocess.run([TABLE, "--config", bad, bad], capture_output=True, timeout=30)
        self.assertEqual((p.returncode, p.stdout), (2, b""))
        p = subprocess.run([TABLE, "--help"], capture_output=True, timeout=30)
        self.assertEqual((p.returncode, p.stdout), (0, b""))
        self.assertIn(b"--server", p.stderr)


class SlowAndFailingDns(Base):
    def test_slow_lookup_answered_before_a_later_fast_one(self):
        hole = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)  # never answers
        hole.bind(("127.0.0.1", 0))
        self.addCleanup(hole.close)
        t = self.start("slow", ["--server", f"127.0.0.1:{hole.getsockname()[1]}", "--no-tcp",
                                "--timeout", "2"])
        start = time.monotonic()
        t.send(req("check", "51000001", "slow.mx.test", "domain") +
               req("lookup", "51000002", V2, "relayhost") +
               req("lookup", "51000003", "slow2.mx.test", "relayhost") +
               req("update", "51000004"))
        first = t.read_line(timeout=15)
        took = time.monotonic() - start
        self.assertTrue(first.startswith("check-result|51000001|error|"), first)
        self.assertGreater(took, 1.5)  # it waited for the DNS budget ...
        self.assertLess(took, 10)
        self.assertEqual(t.read_lines(3, timeout=15)[0],
                         f"lookup-result|51000002|found|smtp+notls://{V2}:25")
        # ... and the fast onion answer had been ready long before (the log).
        log = t.log()
        self.assertLess(log.index("51000002|found"), log.index("51000001|error"))
        rc, rest = t.close()
        self.assertEqual((rc, rest), (0, b""))
        self.assert_protocol_only(t)

    def test_eof_with_a_pending_lookup_answers_it_then_exits(self):
        hole = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        hole.bind(("127.0.0.1", 0))
        self.addCleanup(hole.close)
        t = self.start("eof-pending", ["--server", f"127.0.0.1:{hole.getsockname()[1]}",
                                       "--no-tcp", "--timeout", "1"])
        t.send(req("check", "e0f00001", "pending.mx.test", "domain"))
        rc, rest = t.close()
        self.assertEqual(rc, 0)
        self.assertTrue(rest.startswith(b"check-result|e0f00001|error|"), rest)
        self.assert_protocol_only(t)

    def test_closed_port_is_an_error_never_not_found(self):
        port = dh.free_port()  # nothing listens there
        t = self.start("closed", ["--server", f"127.0.0.1:{port}", "--no-tcp", "--no-cache",
                                  "--timeout", "2"])
        for op, service in [("check", "domain"), ("lookup", "relayhost")]:
            got = t.ask(req(op, "c1", "closed.mx.test", service), timeout=15)
            self.assertTrue(got.startswith(f"{op}-result|c1|error|"), got)
        # Onion domains need no DNS.
        self.assertEqual(t.ask(req("check", "c2", V1, "domain")), "check-result|c2|found")
        rc, _ = t.close()
        self.assertEqual(rc, 0)
        self.assert_protocol_only(t)


class Update(Base):
    def test_update_reloads_the_configuration_file_smtpd_passes(self):
        conf = os.path.join(WORK, "update.toml")

        def write(scheme, broken=False):
            with open(conf + ".new", "w") as f:
                f.write(f'[dns]\nservers = ["127.0.0.1:{KNOT.port}"]\ntcp = false\n'
                        f'[answer]\nopensmtpd_scheme = "{scheme}"\n' +
                        ("[nonsense\n" if broken else ""))
            os.replace(conf + ".new", conf)

        write("smtp")
        # As smtpd runs it: only the path, no flags.
        t = self.start("update", [conf])
        self.assertEqual(t.ask(req("lookup", "u1", FOUND, "relayhost")),
                         f"lookup-result|u1|found|smtp://{V1}:2525")
        write("smtp+tls")
        self.assertEqual(t.ask(req("update", "u2")), "update-result|u2|ok")
        self.assertEqual(t.ask(req("lookup", "u3", FOUND, "relayhost")),
                         f"lookup-result|u3|found|smtp+tls://{V1}:2525")
        write("lmtp", broken=True)
        got = t.ask(req("update", "u4"))
        self.assertTrue(got.startswith("update-result|u4|error|"), got)
        self.assertNotIn("|", got[len("update-result|u4|error|"):])
        self.assertEqual(t.ask(req("lookup", "u5", FOUND, "relayhost")),
                         f"lookup-result|u5|found|smtp+tls://{V1}:2525")
        rc, rest = t.close()
        self.assertEqual((rc, rest), (0, b""))
        self.assert_protocol_only(t)

    @unittest.skipIf(shutil.which("minisign") is None, "minisign not installed")
    def test_update_reloads_the_signed_map(self):
        d = os.path.join(WORK, "map")
        os.mkdir(d)
        m = os.path.join(d, "map.json")

        def publish(serial, entries, sign=True):
            body = ", ".join(f'"{k}": ["{v}"]' for k, v in entries.items())
            with open(m, "w") as f:
                f.write(f'{{"format": "onionmx-map", "version": 1, "serial": {serial}, '
                        f'"expires": "2099-01-01T00:00:00Z", "entries": {{{body}}}}}\n')
            if sign:
                subprocess.run(["minisign", "-S", "-s", os.path.join(d, "k.key"), "-m", m],
                               check=True, capture_output=True, timeout=60)

        subprocess.run(["minisign", "-G", "-W", "-p", os.path.join(d, "k.pub"), "-s",
                        os.path.join(d, "k.key")], check=True, capture_output=True, timeout=60)
        publish(5, {"pinned.mx.test": V2})
        t = self.start("map", ["--map", m, "--trusted-key", os.path.join(d, "k.pub"),
                               "--state-dir", os.path.join(d, "state"), "--no-cache",
                               "--server", f"127.0.0.1:{KNOT.port}", "--no-tcp"])
        self.assertEqual(t.ask(req("lookup", "m1", "pinned.mx.test", "relayhost")),
                         f"lookup-result|m1|found|smtp+notls://{V2}:25")
        self.assertEqual(t.ask(req("check", "m2", "pinned2.mx.test", "domain")),
                         "check-result|m2|not-found")
        publish(6, {"pinned2.mx.test": V1})
        self.assertEqual(t.ask(req("update", "m3")), "update-result|m3|ok")
        self.assertEqual(t.ask(req("check", "m4", "pinned2.mx.test", "domain")),
                         "check-result|m4|found")
        self.assertEqual(t.ask(req("check", "m5", "pinned.mx.test", "domain")),
                         "check-result|m5|not-found")
        # A tampered map is refused; the loaded one keeps answering.
        publish(7, {"pinned3.mx.test": V1}, sign=False)
        got = t.ask(req("update", "m6"))
        self.assertTrue(got.startswith("update-result|m6|error|"), got)
        self.assertEqual(t.ask(req("check", "m7", "pinned2.mx.test", "domain")),
                         "check-result|m7|found")
        rc, rest = t.close()
        self.assertEqual((rc, rest), (0, b""))
        self.assert_protocol_only(t)


class Onionmxd:
    """A real onionmxd with a socketmap listener on `port` and a unix socket."""

    def __init__(self, name, port=None, extra=()):
        self.name = name
        self.port = port or dh.free_port()
        self.sock = os.path.join(WORK, name + ".sock")
        self.log_path = os.path.join(WORK, name + ".onionmxd.log")
        argv = [DAEMON, "--socketmap", f"inet:127.0.0.1:{self.port}", "--socketmap",
                "unix:" + self.sock, "--server", f"127.0.0.1:{KNOT.port}", "--no-tcp",
                "--no-cache", "--state-dir", os.path.join(WORK, "state-" + name),
                "--log-level", "debug"] + list(extra)
        self.proc = dh.ManagedProcess(argv, WORK, self.log_path)
        dh.wait_until(self._ready, 20, f"onionmxd {name}", proc=self.proc)

    def _ready(self):
        socket.create_connection(("127.0.0.1", self.port), timeout=1).close()
        return os.path.exists(self.sock)

    def stop(self):
        self.proc.stop()


def netstring(payload):
    return b"%d:%s," % (len(payload), payload)


class FakeSocketmap:
    """A socketmap server on 127.0.0.1 that answers every request with
    `self.reply` (raw bytes; None: close the connection instead; "never":
    stay silent).  Records the request payloads it read."""

    def __init__(self, reply):
        self.reply = reply
        self.drop = 0  # this many next requests: close instead of answering
        self.requests = []
        self.srv = socket.socket()
        self.srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.srv.bind(("127.0.0.1", 0))
        self.srv.listen(8)
        self.port = self.srv.getsockname()[1]
        threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self):
        while True:
            try:
                conn, _ = self.srv.accept()
            except OSError:
                return
            threading.Thread(target=self._conn, args=(conn,), daemon=True).start()

    def _conn(self, conn):
        buf = b""
        with conn:
            while True:
                while not re.match(rb"^(\d+):", buf) or \
                        len(buf) < buf.index(b":") + int(buf.split(b":", 1)[0]) + 2:
                    chunk = conn.recv(4096)
                    if not chunk:
                        return
                    buf += chunk
                n, rest = buf.split(b":", 1)
                self.requests.append(rest[:int(n)].decode())
                buf = rest[int(n) + 1:]
                reply = self.reply
                if self.drop > 0:
                    self.drop -= 1
                    reply = None
                if reply is None:
                    return
                if reply == "never":
                    time.sleep(30)
                    return
                conn.sendall(reply)  # one send: a double reply arrives in one read

    def close(self):
        self.srv.close()


@unittest.skipUnless(DAEMON, "ONIONMX_D not set")
class AskingOnionmxd(Base):
    """onionmx-table --daemon against a real onionmxd on the same Knot."""

    @classmethod
    def setUpClass(cls):
        cls.d = Onionmxd("ask")

    @classmethod
    def tearDownClass(cls):
        cls.d.stop()

    def table(self, name, where, extra=(), timeout="3"):
        return self.start(name, ["--daemon", where, "--no-cache", "--timeout", timeout,
                                 "--log-level", "debug"] + list(extra))

    def finish(self, t):
        rc, rest = t.close()
        self.assertEqual((rc, rest), (0, b""))
        self.assert_protocol_only(t)

    def test_found_not_found_and_failed_over_inet_and_unix(self):
        wheres = [f"inet:127.0.0.1:{self.d.port}", "unix:" + self.d.sock]
        # A host name connects to its first address (onionmxd listens on IPv4 only).
        first = socket.getaddrinfo("localhost", self.d.port, 0, socket.SOCK_STREAM)[0]
        if first[0] == socket.AF_INET:
            wheres.append(f"inet:localhost:{self.d.port}")
        for n, where in enumerate(wheres):
            with self.subTest(where=where):
                t = self.table(f"ask-{n}", where)
                self.assertEqual(t.ask(req("check", "0649c485", FOUND, "domain")),
                                 "check-result|0649c485|found")
                self.assertEqual(t.ask(req("lookup", "b2a61d06", FOUND, "relayhost")),
                                 f"lookup-result|b2a61d06|found|{FOUND_URL}")
                self.assertEqual(t.ask(req("lookup", "3", "other.mx.test", "relayhost")),
                                 f"lookup-result|3|found|smtp+notls://{V2}:25")
                self.assertEqual(t.ask(req("check", "8ff1b8be", "nothere.mx.test", "domain")),
                                 "check-result|8ff1b8be|not-found")
                self.assertEqual(t.ask(req("lookup", "5", "nothere.mx.test", "relayhost")),
                                 "lookup-result|5|not-found")
                # A broken onion recipient: onionmxd says PERM; a zone Knot does
                # not serve: TEMP.  Both are errors, never not-found.
                for i, key in enumerate(["abcdef.onion", "x.unserved.test"]):
                    for op, service in [("check", "domain"), ("lookup", "relayhost")]:
                        got = t.ask(req(op, f"e{i}", key, service))
                        self.assertTrue(got.startswith(f"{op}-result|e{i}|error|onionmxd: "), got)
                # fetch and update are answered by the table itself.
                self.assertEqual(t.ask(req("fetch", "f1", service="relayhost")),
                                 "fetch-result|f1|not-found")
                self.assertEqual(t.ask(req("update", "u1")), "update-result|u1|ok")
                self.assertIn("source=onionmxd", t.log())
                self.finish(t)

    def test_pipelined_requests_keep_their_order(self):
        t = self.table("ask-pipe", f"inet:127.0.0.1:{self.d.port}")
        keys = [FOUND, "nothere.mx.test", "abcdef.onion", "other.mx.test"] * 5
        t.send(b"".join(req("check", f"{i:08x}", k, "domain") for i, k in enumerate(keys)))
        got = t.read_lines(len(keys))
        want = {FOUND: "found", "nothere.mx.test": "not-found", "other.mx.test": "found"}
        for i, (k, line) in enumerate(zip(keys, got)):
            prefix = f"check-result|{i:08x}|"
            self.assertTrue(line.startswith(prefix + want.get(k, "error|")), (k, line))
            if k in want:
                self.assertEqual(line, prefix + want[k])
        self.finish(t)

    def test_idle_close_by_onionmxd_is_retried(self):
        d = Onionmxd("idle", extra=["--idle-timeout", "1"])
        self.addCleanup(d.stop)
        t = self.table("ask-idle", f"inet:127.0.0.1:{d.port}")
        self.assertEqual(t.ask(req("check", "1", FOUND, "domain")), "check-result|1|found")
        time.sleep(2)  # onionmxd closes the idle connection meanwhile
        self.assertEqual(t.ask(req("check", "2", FOUND, "domain")), "check-result|2|found")
        self.finish(t)

    def test_a_closed_connection_is_retried_once_per_request(self):
        good = netstring(b"OK smtp+notls://" + V1.encode() + b":2525")
        fake = FakeSocketmap(good)
        self.addCleanup(fake.close)
        t = self.table("ask-retry", f"inet:127.0.0.1:{fake.port}")
        fake.drop = 1  # the first attempt is closed unanswered: the retry answers
        self.assertEqual(t.ask(req("lookup", "1", FOUND, "relayhost")),
                         f"lookup-result|1|found|{FOUND_URL}")
        self.assertEqual(len(fake.requests), 2)
        fake.drop = 2  # both attempts closed: an error, no third try
        got = t.ask(req("lookup", "2", FOUND, "relayhost"))
        self.assertTrue(got.startswith("lookup-result|2|error|onionmxd at inet:"), got)
        self.assertIn("closed the connection", got)
        self.assertEqual(len(fake.requests), 4)
        self.assertEqual(t.ask(req("check", "3", FOUND, "domain")), "check-result|3|found")
        self.finish(t)

    def test_the_configuration_file_smtpd_passes_names_the_daemon(self):
        conf = os.path.join(WORK, "daemon.toml")
        # The library ignores [onionmx-table]; its [dns] points nowhere, so a
        # found answer can only have come from onionmxd.
        with open(conf, "w") as f:
            f.write(f'[dns]\nservers = ["127.0.0.1:{dh.free_port()}"]\ntcp = false\n'
                    f'[cache]\nsize = 0\n'
                    f'[onionmx-table]\ndaemon = "unix:{self.d.sock}"\ndaemon_map = "opensmtpd"\n')
        t = self.start("ask-conf", [conf])  # as smtpd runs it: only the path
        self.assertEqual(t.ask(req("lookup", "1", FOUND, "relayhost")),
                         f"lookup-result|1|found|{FOUND_URL}")
        self.assertIn(f"asking onionmxd at unix:{self.d.sock}, map opensmtpd", t.log())
        self.finish(t)
        for body, why in [('daemon = "tcp:x"', "onionmx-table.daemon"),
                          ('daemon_map = "a b"', "onionmx-table.daemon_map"),
                          ('deamon = "unix:/x"', "onionmx-table.deamon: unknown key")]:
            with open(conf, "w") as f:
                f.write("[onionmx-table]\n" + body + "\n")
            p = subprocess.run([TABLE, conf], input=HANDSHAKE, capture_output=True, timeout=10)
            self.assertEqual((p.returncode, p.stdout), (1, b""), p.stderr)
            self.assertIn(f"{conf}:2: {why}", p.stderr.decode())

    def test_stopped_onionmxd_is_an_error_and_a_restart_recovers(self):
        d = Onionmxd("restart")
        t = self.table("ask-restart", f"inet:127.0.0.1:{d.port}")
        self.assertEqual(t.ask(req("lookup", "1", FOUND, "relayhost")),
                         f"lookup-result|1|found|{FOUND_URL}")
        d.stop()
        for op, service in [("check", "domain"), ("lookup", "relayhost")]:
            got = t.ask(req(op, "2", FOUND, service))
            self.assertTrue(got.startswith(f"{op}-result|2|error|"), got)
            self.assertIn("onionmxd", got)
        d = Onionmxd("restart", port=d.port)
        self.addCleanup(d.stop)
        self.assertEqual(t.ask(req("lookup", "3", FOUND, "relayhost")),
                         f"lookup-result|3|found|{FOUND_URL}")
        self.finish(t)

    def test_a_silent_server_hits_the_deadline(self):
        fake = FakeSocketmap("never")
        self.addCleanup(fake.close)
        t = self.table("ask-silent", f"inet:127.0.0.1:{fake.port}", timeout="1")
        start = time.monotonic()
        got = t.ask(req("check", "1", FOUND, "domain"))
        took = time.monotonic() - start
        self.assertTrue(got.startswith("check-result|1|error|onionmxd did not answer"), got)
        self.assertGreater(took, 0.9)
        self.assertLess(took, 5)
        self.finish(t)

    def test_garbage_replies_are_errors_and_the_next_request_recovers(self):
        good = netstring(b"OK smtp+notls://" + V1.encode() + b":2525")
        garbage = [b"5:HELLO,", b"garbage", b"3:OK ,", b"6:OK a\tb,", b"7:MAYBE x,",
                   b"8:NOTFOUND", netstring(b"NOTFOUND ") + netstring(b"NOTFOUND "),
                   b"999999999:OK ,", b"10:OK a,", None]
        fake = FakeSocketmap(good)
        self.addCleanup(fake.close)
        t = self.table("ask-garbage", f"inet:127.0.0.1:{fake.port}",
                       ["--daemon-map", "mymap"], timeout="1")
        for i, g in enumerate(garbage):
            fake.reply = g
            got = t.ask(req("lookup", f"g{i}", FOUND, "relayhost"))
            self.assertTrue(got.startswith(f"lookup-result|g{i}|error|"), (g, got))
            fake.reply = good
            self.assertEqual(t.ask(req("lookup", f"k{i}", FOUND, "relayhost")),
                             f"lookup-result|k{i}|found|{FOUND_URL}")
        self.assertEqual(fake.requests[0], f"mymap {FOUND}")
        self.assertEqual(set(fake.requests), {f"mymap {FOUND}"})
        self.finish(t)

    def test_nothing_listening_and_bad_flags(self):
        t = self.table("ask-none", f"unix:{WORK}/nobody.sock")
        got = t.ask(req("check", "1", FOUND, "domain"))
        self.assertTrue(got.startswith("check-result|1|error|cannot connect to onionmxd at unix:"), got)
        self.finish(t)
        for bad in [["--daemon", "tcp:1.2.3.4:5"], ["--daemon", "unix:relative.sock"],
                    ["--daemon", f"inet:127.0.0.1:{self.d.port}", "--daemon-map", "a b"]]:
            p = subprocess.run([TABLE] + bad, input=b"", capture_output=True, timeout=10)
            self.assertEqual((p.returncode, p.stdout), (2, b""), (bad, p.stderr))


if __name__ == "__main__":
    dh.install_signal_cleanup()
    unittest.main(verbosity=2)
