#!/usr/bin/python3
"""onionmxd against real Postfix clients and a real Knot, plus protocol abuse.

Starts knotd (dnsharness) with zone mx.test (found.mx.test publishes
`_onion-mx._tcp SRV 0 0 25 <V1>`), then onionmxd ($ONIONMX_D) on free
127.0.0.1 ports and a unix socket in a temp dir:
  * Postfix's own `postmap -q` over socketmap (inet and unix) and tcp_table:
    found, not-found, onion-recipient, `*`, a failing lookup, a wrong map name;
  * raw sockets: garbage, oversized and negative netstring lengths close only
    that connection; frames one byte at a time; pipelined requests answered in
    order; clients vanishing mid-lookup; the per-request deadline; the
    connection limit and the idle timeout;
  * SIGHUP with a broken configuration or a tampered signed map keeps the old
    state, a good one is used;
  * SIGTERM exits 0 promptly, removes the unix socket and saves the cache.
Exit 77 (skipped) when knotd or postmap is missing.
"""

import os
import resource
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import dnsharness as dh  # noqa: E402

DAEMON = os.environ.get("ONIONMX_D", "")
POSTMAP = shutil.which("postmap") or ("/usr/sbin/postmap" if os.path.exists("/usr/sbin/postmap")
                                      else None)
V1 = dh.V1
FOUND = "User+ext@Found.MX.test"
FOUND_VALUE = f"smtptor:[{V1}]:25"
NOTFOUND = "u@nothere.mx.test"
ONION_RCPT = f"r@{dh.V2}"
KNOT = None
WORK = None


def j(*parts):
    return os.path.join(WORK, *parts)


class Daemon:
    """One onionmxd with a socketmap and a tcp_table inet port and a unix socket."""

    def __init__(self, name, extra, wrap=()):
        self.name = name
        self.sm_port, self.tcp_port = dh.free_port(), dh.free_port()
        self.sock = j(name + ".sock")
        self.log_path = j(name + ".log")
        argv = list(wrap) + [DAEMON, "--socketmap", f"inet:127.0.0.1:{self.sm_port}",
                "--tcp-table", f"inet:127.0.0.1:{self.tcp_port}",
                "--socketmap", "unix:" + self.sock, "--state-dir", j("state-" + name),
                "--log-level", "debug"] + extra
        self.proc = dh.ManagedProcess(argv, WORK, self.log_path)
        dh.wait_until(self._ready, 20, f"onionmxd {name}", proc=self.proc)

    def _ready(self):
        for port in (self.sm_port, self.tcp_port):
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
        return os.path.exists(self.sock)

    def log(self):
        with open(self.log_path, encoding="utf-8", errors="replace") as f:
            return f.read()

    def stop(self):
        self.proc.stop()


def netstring(payload):
    if isinstance(payload, str):
        payload = payload.encode()
    return b"%d:%s," % (len(payload), payload)


def connect(port, timeout=5.0):
    s = socket.create_connection(("127.0.0.1", port), timeout=timeout)
    s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    return s


def read_netstrings(s, count):
    """`count` netstring payloads from s, as str."""
    buf, out = b"", []
    while len(out) < count:
        while b":" not in buf:
            chunk = s.recv(65536)
            if not chunk:
                raise EOFError(f"closed after {out!r}, buffer {buf!r}")
            buf += chunk
        n, rest = buf.split(b":", 1)
        need = int(n) + 1
        while len(rest) < need:
            chunk = s.recv(65536)
            if not chunk:
                raise EOFError(f"closed in a reply, buffer {buf!r}")
            rest += chunk
        assert rest[need - 1:need] == b",", rest
        out.append(rest[:need - 1].decode())
        buf = rest[need:]
    return out


def ask(port, key, name="onionmx"):
    with connect(port) as s:
        s.sendall(netstring(f"{name} {key}"))
        return read_netstrings(s, 1)[0]


def closed_by_peer(s, wait=5.0):
    """True when the daemon closes s (EOF or reset) within `wait` seconds."""
    s.settimeout(wait)
    try:
        while True:
            data = s.recv(4096)
            if not data:
                return True
    except ConnectionResetError:
        return True
    except socket.timeout:
        return False


def cpu_seconds(pid):
    """User plus system CPU time of process pid (Linux /proc)."""
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def setUpModule():
    global KNOT, WORK
    if not DAEMON:
        raise unittest.SkipTest("ONIONMX_D not set")
    WORK = tempfile.mkdtemp(prefix="onionmxd-")
    os.mkdir(j("pf"))
    with open(j("pf", "main.cf"), "w") as f:
        f.write("")  # postmap -c: a private, empty Postfix configuration
    z = dh.Zone("mx.test")
    z.add_srv(dh.SRV_PREFIX + "found", 0, 0, 25, V1 + ".")
    KNOT = dh.KnotServer(WORK, {"mx.test": z.text()}, serials={"mx.test": z.serial}).start()


def tearDownModule():
    if KNOT:
        KNOT.stop()
    if WORK:
        shutil.rmtree(WORK, ignore_errors=True)


def postmap(key, table):
    p = subprocess.run([POSTMAP, "-c", j("pf"), "-q", key, table], capture_output=True, text=True,
                       timeout=60, cwd=WORK)
    return p.returncode, p.stdout, p.stderr


class WithDaemon(unittest.TestCase):
    """One daemon on Knot for the whole class."""

    @classmethod
    def setUpClass(cls):
        cls.d = Daemon(cls.__name__, ["--server", f"127.0.0.1:{KNOT.port}", "--no-tcp"])

    @classmethod
    def tearDownClass(cls):
        cls.d.stop()

    def tables(self):
        d = self.d
        return [f"socketmap:inet:127.0.0.1:{d.sm_port}:onionmx", f"tcp:127.0.0.1:{d.tcp_port}",
                f"socketmap:unix:{d.sock}:onionmx"]


class PostmapQueries(WithDaemon):
    def test_found(self):
        for t in self.tables():
            self.assertEqual(postmap(FOUND, t)[:2], (0, FOUND_VALUE + "\n"), t)

    def test_not_found(self):
        for t in self.tables():
            rc, out, err = postmap(NOTFOUND, t)
            self.assertEqual((rc, out, err), (1, "", ""), t)

    def test_onion_recipient(self):
        for t in self.tables():
            self.assertEqual(postmap(ONION_RCPT, t)[:2], (0, f"smtptor:[{dh.V2}]:25\n"), t)

    def test_wildcard_is_not_found(self):
        for t in self.tables():
            self.assertEqual(postmap("*", t), (1, "", ""), t)

    def test_key_without_domain_is_not_found(self):
        for t in self.tables():
            self.assertEqual(postmap("grace@[192.0.2.1]", t), (1, "", ""), t)

    def test_unknown_map_name_is_perm(self):
        rc, out, err = postmap(FOUND, f"socketmap:inet:127.0.0.1:{self.d.sm_port}:other")
        self.assertEqual((rc, out), (1, ""))
        self.assertIn("permanent error: unknown map name", err)

    def test_info_line_per_lookup(self):
        postmap(FOUND, self.tables()[0])
        lines = [ln for ln in self.d.log().splitlines()
                 if "info: socketmap key=\"User+ext@Found.MX.test\"" in ln]
        self.assertTrue(lines, self.d.log())
        self.assertIn(f'answer="OK {FOUND_VALUE}"', lines[-1])
        self.assertRegex(lines[-1], r"source=(dns|cache) latency_ms=[0-9.]+$")


class ProtocolAbuse(WithDaemon):
    def assert_still_answers(self, s):
        s.sendall(netstring(f"onionmx {FOUND}"))
        self.assertEqual(read_netstrings(s, 1), [f"OK {FOUND_VALUE}"])

    def test_bad_frames_close_only_their_connection(self):
        good = connect(self.d.sm_port)
        for bad in [b"hello world", b"99999999999:", b"70000:onionmx ", b"-1:x,", b" 4:ab c,",
                    b"4:abcd;", b"0:,", b"01:x,"]:
            with connect(self.d.sm_port) as s:
                s.sendall(bad)
                self.assertTrue(closed_by_peer(s), bad)
            self.assert_still_answers(good)
        good.close()

    def test_tcp_table_bad_lines(self):
        with connect(self.d.tcp_port) as s:
            s.sendall(b"put x y\nget %zz\nget " + FOUND.encode() + b"\n")
            got = b""
            while got.count(b"\n") < 3:
                got += s.recv(4096)
            lines = got.decode().splitlines()
            self.assertTrue(lines[0].startswith("400 "), lines)
            self.assertTrue(lines[1].startswith("400 "), lines)
            self.assertEqual(lines[2], "200 " + FOUND_VALUE)
        with connect(self.d.tcp_port) as s:
            s.sendall(b"get " + b"a" * 70000)  # no LF within the limit
            self.assertTrue(closed_by_peer(s))

    def test_one_byte_at_a_time(self):
        with connect(self.d.sm_port) as s:
            for b in netstring(f"onionmx {FOUND}"):
                s.sendall(bytes([b]))
                time.sleep(0.002)
            self.assertEqual(read_netstrings(s, 1), [f"OK {FOUND_VALUE}"])
        with connect(self.d.tcp_port) as s:
            for b in b"get " + ONION_RCPT.encode() + b"\n":
                s.sendall(bytes([b]))
            self.assertEqual(s.recv(4096), f"200 smtptor:[{dh.V2}]:25\n".encode())

    def test_pipelined_in_order(self):
        keys = [FOUND, NOTFOUND, "*", ONION_RCPT, "x@nothere2.mx.test", FOUND]
        want = [f"OK {FOUND_VALUE}", "NOTFOUND ", "NOTFOUND ", f"OK smtptor:[{dh.V2}]:25",
                "NOTFOUND ", f"OK {FOUND_VALUE}"]
        with connect(self.d.sm_port) as s:
            s.sendall(b"".join(netstring(f"onionmx {k}") for k in keys))
            self.assertEqual(read_netstrings(s, len(keys)), want)

    def test_many_idle_connections(self):
        soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
        if soft < 2100:
            resource.setrlimit(resource.RLIMIT_NOFILE, (min(hard, 4096), hard))
        idle = []
        try:
            for i in range(990):  # under the default --max-connections 1000
                idle.append(connect(self.d.sm_port if i % 2 else self.d.tcp_port))
            for t in self.tables():
                self.assertEqual(postmap(FOUND, t)[:2], (0, FOUND_VALUE + "\n"), t)
            # The idle ones are still served too.
            idle[1].sendall(netstring(f"onionmx {ONION_RCPT}"))
            self.assertEqual(read_netstrings(idle[1], 1), [f"OK smtptor:[{dh.V2}]:25"])
        finally:
            for s in idle:
                s.close()

    def test_client_that_never_reads(self):
        # 200000 pipelined requests (15 MB), replies never read: the daemon stops
        # reading from it (backpressure) and keeps serving everyone else.
        greedy = connect(self.d.sm_port)
        greedy.setblocking(False)
        req = netstring(f"onionmx {ONION_RCPT}") * 200000
        sent, progress = 0, time.monotonic()
        while sent < len(req) and time.monotonic() - progress < 1.0:  # stalled for 1 s: stop
            try:
                sent += greedy.send(req[sent:sent + 65536])
                progress = time.monotonic()
            except BlockingIOError:
                time.sleep(0.01)
        self.assertLess(sent, len(req), "the daemon read everything: no backpressure")
        with open(f"/proc/{self.d.proc.pid}/maps") as f:
            sanitized = "libasan" in f.read()  # shadow memory and quarantine: RSS means nothing
        with open(f"/proc/{self.d.proc.pid}/status") as f:
            rss_kb = int(next(ln for ln in f if ln.startswith("VmRSS:")).split()[1])
        if not sanitized:
            self.assertLess(rss_kb, 64 * 1024)
        self.assertEqual(ask(self.d.sm_port, FOUND), f"OK {FOUND_VALUE}")
        # Reading the replies lets it go on, in order.
        greedy.setblocking(True)
        greedy.settimeout(10)
        want = f"OK smtptor:[{dh.V2}]:25"
        self.assertEqual(read_netstrings(greedy, 100), [want] * 100)
        greedy.close()

    def test_half_close_tcp_table_still_answered(self):
        # Exim's ${readsocket}: request, shutdown(SHUT_WR), read until EOF.
        with connect(self.d.tcp_port) as s:
            s.sendall(b"get " + FOUND.encode() + b"\n")
            s.shutdown(socket.SHUT_WR)
            got = b""
            while True:
                chunk = s.recv(4096)
                if not chunk:
                    break
                got += chunk
            self.assertEqual(got, f"200 {FOUND_VALUE}\n".encode())


class SlowDns(unittest.TestCase):
    """A DNS server that never answers: the per-request deadline, clients
    that vanish mid-lookup, the connection limit and the idle timeout."""

    @classmethod
    def setUpClass(cls):
        cls.hole = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)  # never read
        cls.hole.bind(("127.0.0.1", 0))
        port = cls.hole.getsockname()[1]
        cls.d = Daemon("slow", ["--server", f"127.0.0.1:{port}", "--timeout", "3",
                                "--request-timeout", "1", "--max-connections", "8",
                                "--idle-timeout", "2"])

    @classmethod
    def tearDownClass(cls):
        cls.d.stop()
        cls.hole.close()

    def test_deadline_answers_temp(self):
        for t in [f"socketmap:inet:127.0.0.1:{self.d.sm_port}:onionmx",
                  f"tcp:127.0.0.1:{self.d.tcp_port}"]:
            start = time.monotonic()
            # A domain of its own each time: a lookup of a domain whose query is
            # still in flight (its first asker timed out) shares that query's end.
            rc, out, err = postmap(f"a@slow-{t[:3]}.mx.test", t)
            self.assertEqual((rc, out), (1, ""), t)
            self.assertIn("query error", err)
            self.assertLess(time.monotonic() - start, 15, t)
        start = time.monotonic()
        self.assertEqual(ask(self.d.sm_port, "b@slow-b.mx.test"), "TEMP lookup timed out")
        self.assertLess(time.monotonic() - start, 2.5)

    def test_client_vanishing_mid_lookup(self):
        for i in range(3):
            with connect(self.d.sm_port) as s:
                s.sendall(netstring(f"onionmx c@vanish{i}.mx.test"))
        # The daemon still answers others, and at once where no DNS is needed.
        start = time.monotonic()
        self.assertEqual(ask(self.d.sm_port, ONION_RCPT), f"OK smtptor:[{dh.V2}]:25")
        self.assertEqual(ask(self.d.sm_port, "*"), "NOTFOUND ")
        self.assertLess(time.monotonic() - start, 1.0)
        time.sleep(1.5)  # past the deadlines the vanished clients would have had
        self.assertTrue(self.d.proc.running())
        self.assertEqual(ask(self.d.sm_port, ONION_RCPT), f"OK smtptor:[{dh.V2}]:25")

    def test_connection_limit_and_idle_timeout(self):
        time.sleep(0.3)  # earlier tests' connections are gone
        held = [connect(self.d.sm_port) for _ in range(8)]
        try:
            extra = connect(self.d.sm_port)
            self.assertTrue(closed_by_peer(extra, 2.0), "ninth connection not refused")
            extra.close()
            held[0].sendall(netstring(f"onionmx {ONION_RCPT}"))
            self.assertEqual(read_netstrings(held[0], 1), [f"OK smtptor:[{dh.V2}]:25"])
            # Idle for more than --idle-timeout 2: closed by the daemon.
            self.assertTrue(closed_by_peer(held[1], 4.0), "idle connection kept open")
        finally:
            for s in held:
                s.close()
        time.sleep(0.2)
        self.assertEqual(ask(self.d.sm_port, "*"), "NOTFOUND ")
        self.assertIn("connection refused", self.d.log())


class DnsStoppedMidRun(unittest.TestCase):
    def test_answers_stay_correct_when_the_dns_server_stops(self):
        z = dh.Zone("mx.test")
        z.add_srv(dh.SRV_PREFIX + "found", 0, 0, 25, V1 + ".")
        os.makedirs(j("knot2"), exist_ok=True)
        knot = dh.KnotServer(j("knot2"), {"mx.test": z.text()}, name="knot2",
                             serials={"mx.test": z.serial}).start()
        d = Daemon("dnsstop", ["--server", f"127.0.0.1:{knot.port}", "--timeout", "1"])
        try:
            self.assertEqual(ask(d.sm_port, FOUND), f"OK {FOUND_VALUE}")
            self.assertEqual(ask(d.sm_port, NOTFOUND), "NOTFOUND ")
            knot.stop()
            # Cached answers still serve; a new domain is TEMP, never NOTFOUND.
            self.assertEqual(ask(d.sm_port, FOUND), f"OK {FOUND_VALUE}")
            self.assertTrue(ask(d.sm_port, "n@uncached.mx.test").startswith("TEMP "))
            with connect(d.tcp_port) as s:
                s.sendall(b"get n2@uncached.mx.test\n")
                self.assertTrue(s.recv(4096).startswith(b"400 "))
            self.assertEqual(ask(d.sm_port, ONION_RCPT), f"OK smtptor:[{dh.V2}]:25")
            self.assertEqual(ask(d.sm_port, "*"), "NOTFOUND ")
            self.assertTrue(d.proc.running())
        finally:
            d.stop()
            knot.stop()


class Signals(unittest.TestCase):
    def test_sighup_broken_config_keeps_old_then_good_config_applies(self):
        conf = j("hup.toml")
        with open(conf, "w") as f:
            f.write(f'[dns]\nservers = ["127.0.0.1:{KNOT.port}"]\ntcp = false\n')
        d = Daemon("hup", ["--config", conf, "--no-cache"])
        try:
            self.assertEqual(ask(d.sm_port, FOUND), f"OK {FOUND_VALUE}")
            with open(conf, "w") as f:
                f.write("[dns\nservers = nonsense\n")
            os.kill(d.proc.pid, signal.SIGHUP)
            dh.wait_until(lambda: "reload failed" in d.log(), 10, "reload failure logged")
            self.assertEqual(ask(d.sm_port, FOUND), f"OK {FOUND_VALUE}")
            self.assertTrue(d.proc.running())
            # A good file is used: found.mx.test becomes a local domain.
            with open(conf, "w") as f:
                f.write(f'[resolver]\nlocal_domains = ["found.mx.test"]\n'
                        f'[dns]\nservers = ["127.0.0.1:{KNOT.port}"]\n')
            os.kill(d.proc.pid, signal.SIGHUP)
            dh.wait_until(lambda: "reloaded (generation 2)" in d.log(), 10, "reload logged")
            self.assertEqual(ask(d.sm_port, FOUND), "NOTFOUND ")
        finally:
            d.stop()

    def test_sighup_tampered_map_keeps_the_old_map(self):
        # The signed demo map (examples/demo); a copy is tampered with after
        # the start: the reload must fail on the signature and the map that
        # was verified keeps answering; the good file then reloads again.
        demo = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "examples",
                            "demo")
        mdir = j("hupmap")
        os.mkdir(mdir)
        for name in ("map.json", "map.json.minisig"):
            shutil.copy(os.path.join(demo, name), mdir)
        with open(os.path.join(mdir, "map.json"), encoding="utf-8") as f:
            good = f.read()
        pinned = "aoqqpp7tzyil4hlq3umoos6atft6jvrqtosq2xy53sdgiesvgg4bqead.onion"
        other = "efjprum3peosirjsilqv6lvlns3476t3njpngaexsyhangeb3mjo7sad.onion"
        self.assertIn(pinned, good)
        d = Daemon("hupmap", ["--config", os.path.join(demo, "onionmx.toml"), "--map",
                              os.path.join(mdir, "map.json"), "--trusted-key",
                              os.path.join(demo, "demo.pub"), "--no-cache"])
        try:
            self.assertEqual(ask(d.sm_port, "u@example.org"), f"OK smtptor:[{pinned}]:25")
            # The same length, one route swapped: only the signature can tell.
            with open(os.path.join(mdir, "map.json"), "w", encoding="utf-8") as f:
                f.write(good.replace(pinned, other, 1))
            os.kill(d.proc.pid, signal.SIGHUP)
            dh.wait_until(lambda: "reload failed" in d.log(), 10, "reload failure logged")
            self.assertRegex(d.log(), r"reload failed.*(signature|verif)")
            self.assertEqual(ask(d.sm_port, "u@example.org"), f"OK smtptor:[{pinned}]:25")
            self.assertTrue(d.proc.running())
            with open(os.path.join(mdir, "map.json"), "w", encoding="utf-8") as f:
                f.write(good)
            os.kill(d.proc.pid, signal.SIGHUP)
            dh.wait_until(lambda: "reloaded (generation 2)" in d.log(), 10, "reload logged")
            self.assertEqual(ask(d.sm_port, "u@example.org"), f"OK smtptor:[{pinned}]:25")
        finally:
            d.stop()

    def test_sigterm_exits_zero_promptly_and_saves_cache(self):
        cache = j("term-cache.json")
        d = Daemon("term", ["--server", f"127.0.0.1:{KNOT.port}", "--cache-file", cache])
        idle = connect(d.sm_port)  # an open connection must not delay the exit
        self.assertEqual(ask(d.sm_port, FOUND), f"OK {FOUND_VALUE}")
        start = time.monotonic()
        os.kill(d.proc.pid, signal.SIGTERM)
        rc = d.proc.proc.wait(timeout=10)
        self.assertEqual(rc, 0, d.log())
        self.assertLess(time.monotonic() - start, 3)
        self.assertFalse(os.path.exists(d.sock), "unix socket left behind")
        self.assertTrue(os.path.exists(cache), "cache not saved at exit")
        with open(cache, encoding="utf-8") as f:
            self.assertIn("found.mx.test", f.read())
        idle.close()
        d.stop()

    def test_a_low_descriptor_limit_caps_connections_instead_of_running_out(self):
        # Soft and hard limit 40: the daemon serves at most 20 connections
        # (a reserve stays for DNS sockets and files), refuses the rest at
        # accept, never reaches EMFILE, and answers again once clients go.
        if not shutil.which("prlimit"):
            self.skipTest("prlimit missing")
        d = Daemon("fds", ["--server", f"127.0.0.1:{KNOT.port}"], wrap=["prlimit", "--nofile=40:40"])
        conns = []
        try:
            self.assertIn("serving at most 20 connections", d.log())
            for _ in range(60):
                conns.append(connect(d.sm_port))
            dh.wait_until(lambda: "connection refused" in d.log(), 10, "refusals logged")
            before = cpu_seconds(d.proc.pid)
            time.sleep(1)
            self.assertTrue(d.proc.running())
            self.assertLess(cpu_seconds(d.proc.pid) - before, 0.5, "spinning on accept")
            self.assertNotIn("accept failed", d.log(), "descriptors ran out")
            for s in conns:
                s.close()
            conns = []

            def answers():
                try:
                    return ask(d.sm_port, "*") == "NOTFOUND "
                except (EOFError, OSError):
                    return False
            dh.wait_until(answers, 10, "answers again")
            self.assertEqual(ask(d.sm_port, FOUND), f"OK {FOUND_VALUE}")
            self.assertNotIn("accept failed", d.log(), "descriptors ran out")
        finally:
            for s in conns:
                s.close()
            d.stop()

    def test_user_group_socket_owner_and_syslog(self):
        if os.geteuid() != 0:
            self.skipTest("needs root")
        os.chmod(WORK, 0o755)  # nobody must reach the socket's directory
        d = Daemon("drop", ["--server", f"127.0.0.1:{KNOT.port}", "--user", "nobody",
                            "--group", "nogroup", "--socket-owner", "nobody",
                            "--socket-group", "nogroup", "--socket-mode", "0660", "--syslog"])
        try:
            st = os.stat(d.sock)
            self.assertEqual((st.st_uid, st.st_gid, st.st_mode & 0o7777), (65534, 65534, 0o660))
            with open(f"/proc/{d.proc.pid}/status") as f:
                status = f.read()
            self.assertRegex(status, r"\nUid:\s+65534\s+65534\s+65534\s+65534\n")
            self.assertRegex(status, r"\nGid:\s+65534\s+65534\s+65534\s+65534\n")
            self.assertEqual(ask(d.sm_port, FOUND), f"OK {FOUND_VALUE}")
            self.assertNotIn("key=", d.log())  # the lines went to syslog
        finally:
            d.stop()

    def test_stale_unix_socket_replaced_after_kill(self):
        d = Daemon("stale", ["--server", f"127.0.0.1:{KNOT.port}"])
        d.proc.kill()  # SIGKILL: the socket file stays behind
        self.assertTrue(os.path.exists(d.sock))
        d2 = Daemon("stale", ["--server", f"127.0.0.1:{KNOT.port}"])
        try:
            with socket.socket(socket.AF_UNIX) as s:
                s.connect(d2.sock)
                s.sendall(netstring("onionmx *"))
                self.assertEqual(read_netstrings(s, 1), ["NOTFOUND "])
        finally:
            d2.stop()

    def test_sd_notify_ready_reloading_stopping(self):
        path = j("sd-notify.dgram")
        with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as ns:
            ns.bind(path)
            ns.settimeout(10)
            os.environ["NOTIFY_SOCKET"] = path
            try:
                d = Daemon("notify", ["--server", f"127.0.0.1:{KNOT.port}"])
            finally:
                del os.environ["NOTIFY_SOCKET"]
            try:
                self.assertEqual(ns.recv(4096), b"READY=1\nSTATUS=serving")
                os.kill(d.proc.pid, signal.SIGHUP)
                self.assertEqual(ns.recv(4096), b"RELOADING=1")
                self.assertEqual(ns.recv(4096), b"READY=1")
                os.kill(d.proc.pid, signal.SIGTERM)
                self.assertEqual(ns.recv(4096), b"STOPPING=1")
                self.assertEqual(d.proc.proc.wait(timeout=10), 0)
            finally:
                d.stop()

    def test_bad_listen_spec_and_busy_port_fail_at_start(self):
        for argv in [["--socketmap", "inet:127.0.0.1"], ["--socketmap", "unix:relative/path"], [],
                     ["--socketmap", "inet:127.0.0.1:0", "--user", "no-such-user-x"],
                     ["--socketmap", "inet:127.0.0.1:0", "--socket-mode", "0999"]]:
            p = subprocess.run([DAEMON] + argv, capture_output=True, text=True, timeout=30)
            self.assertNotEqual(p.returncode, 0, argv)
        with socket.socket() as busy:
            busy.bind(("127.0.0.1", 0))
            busy.listen()
            port = busy.getsockname()[1]
            p = subprocess.run([DAEMON, "--socketmap", f"inet:127.0.0.1:{port}"],
                               capture_output=True, text=True, timeout=30)
            self.assertEqual(p.returncode, 1, p.stderr)
            self.assertIn("cannot start", p.stderr)
        # A unix path held by a datagram socket or a plain file is not taken over.
        with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as dg:
            dg.bind(j("held.dgram"))
            with open(j("plain.file"), "w") as f:
                f.write("x")
            for path in (j("held.dgram"), j("plain.file")):
                p = subprocess.run([DAEMON, "--socketmap", "unix:" + path], capture_output=True,
                                   text=True, timeout=30)
                self.assertEqual(p.returncode, 1, p.stderr)
                self.assertTrue(os.path.exists(path), path)


if __name__ == "__main__":
    if not shutil.which("knotd") and not os.path.exists("/usr/sbin/knotd"):
        print("knotd not installed: skipped")
        sys.exit(77)
    if POSTMAP is None:
        print("postmap not installed: skipped")
        sys.exit(77)
    dh.install_signal_cleanup()
    unittest.main(verbosity=2)
