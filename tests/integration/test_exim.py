#!/usr/bin/python3
"""examples/exim/exim.conf with Debian's real Exim 4.96 against onionmxd.

Knot (dnsharness) serves zone mx.test, where onion.mx.test publishes
`_onion-mx._tcp SRV 0 0 2525 <V1>` and plain.mx.test nothing; names outside
mx.test get REFUSED from Knot, so their lookup fails (temp).  onionmxd
($ONIONMX_D) answers on a tcp_table port.  The unpacked exim4 (mtaharness)
routes addresses with `exim -C examples/exim/exim.conf -bt`, the macros
pointing it at the daemon and, for clearnet mail, at a smarthost
(CLEARNET_SMARTHOST) since the test has no Internet DNS:
  * an onion domain goes to router onionmx, transport tor_smtp, host V1
    port 2525;
  * a plain domain goes to the clearnet router;
  * a domain whose lookup fails, the daemon stopped, the daemon hung
    (SIGSTOP) or a daemon answering garbage: deferred, never clearnet;
  * a real delivery (exim -odf): mail for the onion domain leaves through
    the tor_smtp transport's SOCKS5 proxy (a stub standing in for Tor's
    SocksPort, mtaharness.Socks5Stub) to the onion's address and port, mail
    for the plain domain goes straight to the clearnet smarthost.

manualroute resolves the onion name before the transport runs; on a real
host Tor's DNSPort (AutomapHostsOnResolve) answers with a virtual address.
Here exim runs in its own mount namespace with a private /etc/hosts that
maps V1 to 127.0.0.2, standing in for that plumbing.  Exim looks up its
compiled-in user Debian-exim, created here if missing.  Exit 77 (skipped)
when knotd, the unpacked exim4, root or mount namespaces are missing.
"""

import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import dnsharness as dh  # noqa: E402
import mtaharness as mh  # noqa: E402

DAEMON = os.environ.get("ONIONMX_D", "")
EXAMPLE = os.path.abspath(os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..",
                                       "examples", "exim", "exim.conf"))
EXIM = mh.binary("usr/sbin/exim4")
V1 = dh.V1
SMARTHOST_PORT = 2999  # only routed to, never connected (exim -bt)
KNOT = None
WORK = None


def j(*parts):
    return os.path.join(WORK, *parts)


def exim(args, table_port, smarthost_port=SMARTHOST_PORT, socks_port=9050, stdin=None):
    """exim with the example config and the test's macros; (rc, stdout + stderr)."""
    argv = mh.in_namespace([(j("hosts"), "/etc/hosts")],
                           [EXIM, "-C", EXAMPLE,
                            f"-DONIONMX_TABLE=inet:127.0.0.1:{table_port}",
                            f"-DSPOOL={j('spool')}", f"-DEXIM_PATH={EXIM}",
                            f"-DCLEARNET_SMARTHOST=127.0.0.1::{smarthost_port}",
                            f"-DTOR_SOCKS=127.0.0.1 port={socks_port}"] + args)
    p = subprocess.run(argv, capture_output=True, text=True, timeout=60, cwd=WORK, input=stdin)
    return p.returncode, p.stdout + p.stderr


def exim_bt(address, table_port):
    return exim(["-bt", address], table_port)


def setUpModule():
    global KNOT, WORK
    WORK = tempfile.mkdtemp(prefix="onionmx-exim-")
    os.chmod(WORK, 0o755)
    mh.ensure_user("Debian-exim", "/var/spool/exim4", make_home=False)  # exim's compiled-in user
    os.makedirs(j("spool", "log"))
    os.chmod(j("spool"), 0o777)
    os.chmod(j("spool", "log"), 0o777)
    with open("/etc/hosts") as src, open(j("hosts"), "w") as dst:
        dst.write(src.read() + f"\n127.0.0.2 {V1}\n")
    z = dh.Zone("mx.test")
    z.add_srv(dh.SRV_PREFIX + "onion", 0, 0, 2525, V1 + ".")
    KNOT = dh.KnotServer(WORK, {"mx.test": z.text()}, serials={"mx.test": z.serial}).start()


def tearDownModule():
    if KNOT:
        KNOT.stop()
    if WORK:
        shutil.rmtree(WORK, ignore_errors=True)


class Daemon:
    """onionmxd with one tcp_table port on Knot."""

    def __init__(self, name):
        self.port = dh.free_port()
        argv = [DAEMON, "--tcp-table", f"inet:127.0.0.1:{self.port}", "--server",
                f"127.0.0.1:{KNOT.port}", "--no-tcp", "--timeout", "2",
                "--state-dir", j("state-" + name), "--log-level", "debug"]
        self.proc = dh.ManagedProcess(argv, WORK, j(name + ".log"))
        dh.wait_until(lambda: socket.create_connection(("127.0.0.1", self.port), 1).close()
                      or True, 20, "onionmxd", proc=self.proc)

    def stop(self):
        self.proc.stop()


class Routing(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.d = Daemon("routing")

    @classmethod
    def tearDownClass(cls):
        cls.d.stop()

    def test_onion_domain(self):
        rc, out = exim_bt("User@Onion.MX.test", self.d.port)
        self.assertEqual(rc, 0, out)
        self.assertIn("router = onionmx, transport = tor_smtp", out)
        self.assertIn(f"host {V1} [127.0.0.2] port=2525", out)

    def test_onion_recipient(self):
        # A user@<onion> address: onionmxd answers it without DNS.
        rc, out = exim_bt(f"u@{V1}", self.d.port)
        self.assertEqual(rc, 0, out)
        self.assertIn("router = onionmx, transport = tor_smtp", out)
        self.assertIn(f"host {V1} [127.0.0.2] port=25", out)

    def test_plain_domain_goes_to_clearnet(self):
        rc, out = exim_bt("u@plain.mx.test", self.d.port)
        self.assertEqual(rc, 0, out)
        self.assertIn("router = clearnet, transport = remote_smtp", out)
        self.assertIn(f"host 127.0.0.1 [127.0.0.1] port={SMARTHOST_PORT}", out)
        self.assertNotIn("tor_smtp", out)

    def test_failed_lookup_defers(self):
        rc, out = exim_bt("u@elsewhere.test", self.d.port)  # Knot: REFUSED
        self.assertEqual(rc, 1, out)
        self.assertIn("u@elsewhere.test cannot be resolved at this time: "
                      "onionmx lookup failed: 400 ", out)
        self.assertNotIn("router = ", out)


class Delivery(unittest.TestCase):
    def test_onion_mail_goes_through_socks(self):
        d = Daemon("delivery")
        tor_sink, clear_sink = mh.SmtpSink(), mh.SmtpSink()
        socks = mh.Socks5Stub(tor_sink.port)
        try:
            for rcpt in ("u@onion.mx.test", "v@plain.mx.test"):
                rc, out = exim(["-odf", "-f", "s@src.test", rcpt], d.port, clear_sink.port,
                               socks.port, stdin="Subject: t\n\nhi\n")
                self.assertEqual(rc, 0, out)
        finally:
            d.stop()
            socks.close()
            tor_sink.close()
            clear_sink.close()
        # Tor's automapped address of the onion (here from /etc/hosts), SRV port.
        self.assertEqual(socks.connects, [("127.0.0.2", 2525)])
        self.assertEqual(tor_sink.recipients(), ["u@onion.mx.test"])
        self.assertEqual(clear_sink.recipients(), ["v@plain.mx.test"])
        with open(j("spool", "log", "mainlog")) as f:
            log = f.read()
        self.assertIn(f"=> u@onion.mx.test R=onionmx T=tor_smtp H={V1} [127.0.0.2] C=", log)
        self.assertIn("=> v@plain.mx.test R=clearnet T=remote_smtp H=127.0.0.1", log)


class Outage(unittest.TestCase):
    def test_daemon_stopped_defers(self):
        d = Daemon("stopped")
        port = d.port
        self.assertEqual(exim_bt("u@onion.mx.test", port)[0], 0)
        d.stop()
        rc, out = exim_bt("u@plain.mx.test", port)
        self.assertEqual(rc, 1, out)
        self.assertIn("cannot be resolved at this time", out)
        self.assertIn("Connection refused", out)
        self.assertNotIn("router = ", out)

    def test_daemon_hung_defers(self):
        d = Daemon("hung")
        try:
            os.kill(d.proc.pid, signal.SIGSTOP)
            rc, out = exim_bt("u@plain.mx.test", d.port)
            self.assertEqual(rc, 1, out)
            self.assertIn("cannot be resolved at this time", out)
            self.assertIn("timed out", out)
        finally:
            os.kill(d.proc.pid, signal.SIGCONT)
            d.stop()

    def test_garbage_answer_defers(self):
        # Not onionmxd: a server answering a found-looking value that is
        # not an onion route.  The router must defer, not route it.
        srv = socket.socket()
        srv.bind(("127.0.0.1", 0))
        srv.listen(4)

        def serve():
            for _ in range(2):
                try:
                    c, _ = srv.accept()
                except OSError:
                    return
                c.recv(4096)
                c.sendall(b"200 smtptor:[mx.example.net]:25\n")
                c.close()
        threading.Thread(target=serve, daemon=True).start()
        try:
            rc, out = exim_bt("u@plain.mx.test", srv.getsockname()[1])
        finally:
            srv.close()
        self.assertEqual(rc, 1, out)
        self.assertIn("onionmx lookup failed: 200 smtptor:[mx.example.net]:25", out)


if __name__ == "__main__":
    if not DAEMON:
        print("ONIONMX_D not set: skipped")
        sys.exit(77)
    if not shutil.which("knotd") and not os.path.exists("/usr/sbin/knotd"):
        print("knotd not installed: skipped")
        sys.exit(77)
    why = mh.missing_prerequisite("usr/sbin/exim4")
    if why:
        print(f"{why}: skipped")
        sys.exit(77)
    dh.install_signal_cleanup()
    unittest.main(verbosity=2)
