#!/usr/bin/python3
"""onionmxd's [onionmxd] configuration section, socketmap profiles and
systemd socket activation, against a real Knot and Postfix's `postmap`.

  * listeners, limits and profiles from the configuration file; flags
    override the file; errors name file, line and key (exit 1);
  * profiles: `onionmx` (Postfix next hop), `opensmtpd` (relay URL), configured
    ones (transport, scheme), an unknown name answered PERM (never NOTFOUND)
    with a warning in the log;
  * SIGHUP with a broken [onionmxd] section keeps the old state answering; a
    good one changes profiles, and a changed listener list is logged as
    needing a restart while the old listener keeps serving;
  * socket activation through systemd's own `systemd-socket-activate`, which
    passes named descriptors (FileDescriptorName socketmap / tcp-table);
  * `systemd-analyze verify` on examples/systemd/ (when systemd-analyze runs).
Exit 77 (skipped) when knotd or postmap is missing.
"""

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import dnsharness as dh  # noqa: E402
import test_onionmxd as base  # noqa: E402
from test_onionmxd import ask, connect, netstring, postmap, read_netstrings  # noqa: E402

DAEMON = base.DAEMON
SOURCE_ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
ACTIVATE = shutil.which("systemd-socket-activate")
V1, V2 = dh.V1, dh.V2
FOUND = "User+ext@Found.MX.test"
NOTFOUND = "u@nothere.mx.test"
KNOT = None
WORK = None


def j(*parts):
    return os.path.join(WORK, *parts)


def write(path, text):
    with open(path, "w", encoding="utf-8") as f:
        f.write(text)


def tcp_get(port, key):
    with connect(port) as s:
        s.sendall(b"get " + key.encode() + b"\n")
        got = b""
        while not got.endswith(b"\n"):
            chunk = s.recv(4096)
            if not chunk:
                break
            got += chunk
        return got.decode()


class Proc:
    """onionmxd (or a wrapper around it) writing its log to a file."""

    def __init__(self, name, argv, ready):
        self.log_path = j(name + ".log")
        self.proc = dh.ManagedProcess(argv, WORK, self.log_path)
        dh.wait_until(ready, 20, f"onionmxd {name}", proc=self.proc)

    def log(self):
        with open(self.log_path, encoding="utf-8", errors="replace") as f:
            return f.read()

    def stop(self):
        self.proc.stop()


def read(path):
    with open(path, encoding="utf-8", errors="replace") as f:
        return f.read()


def poke(port):
    """Connects to port and closes at once; True if it was accepted."""
    socket.create_connection(("127.0.0.1", port), timeout=1).close()
    return True


def answers_on(port):
    def ready():
        socket.create_connection(("127.0.0.1", port), timeout=1).close()
        return True
    return ready


def setUpModule():
    # test_onionmxd's: a temp dir, a private Postfix configuration for
    # postmap -c, Knot serving mx.test (found.mx.test has an onion SRV).
    global KNOT, WORK
    base.setUpModule()
    KNOT, WORK = base.KNOT, base.WORK


def tearDownModule():
    base.tearDownModule()


def dns_section():
    return f'[dns]\nservers = ["127.0.0.1:{KNOT.port}"]\n[map]\nstate_dir = "{j("state")}"\n'


class FromConfigFile(unittest.TestCase):
    """Listeners, log level and profiles from [onionmxd]; a flag overrides the file."""

    @classmethod
    def setUpClass(cls):
        cls.sm, cls.tcp = dh.free_port(), dh.free_port()
        cls.sock = j("file.sock")
        cls.conf = j("file.toml")
        write(cls.conf, dns_section() + f"""
[onionmxd]
socketmap = ["inet:127.0.0.1:{cls.sm}", "unix:{cls.sock}"]
tcp_table = ["inet:127.0.0.1:{cls.tcp}"]
socket_mode = "0600"
log_level = "error"
max_connections = 50

[onionmxd.profiles.relay]
format = "opensmtpd"
scheme = "smtps"

[onionmxd.profiles.tor2]
format = "postfix"
transport = "smtptor2"
""")
        # --log-level on the command line wins over log_level = "error".
        cls.d = Proc("file", [DAEMON, "--config", cls.conf, "--log-level", "info"],
                     answers_on(cls.sm))

    @classmethod
    def tearDownClass(cls):
        cls.d.stop()

    def sm_table(self, name):
        return f"socketmap:inet:127.0.0.1:{self.sm}:{name}"

    def test_listeners_from_the_file(self):
        self.assertEqual(postmap(FOUND, self.sm_table("onionmx"))[:2], (0, f"smtptor:[{V1}]:25\n"))
        self.assertEqual(postmap(FOUND, f"socketmap:unix:{self.sock}:onionmx")[:2],
                         (0, f"smtptor:[{V1}]:25\n"))
        self.assertEqual(postmap(FOUND, f"tcp:127.0.0.1:{self.tcp}")[:2], (0, f"smtptor:[{V1}]:25\n"))
        self.assertEqual(os.stat(self.sock).st_mode & 0o7777, 0o600)

    def test_flag_overrides_file(self):
        postmap(FOUND, self.sm_table("onionmx"))
        self.assertIn('info: socketmap key="User+ext@Found.MX.test"', self.d.log())

    def test_builtin_opensmtpd_profile(self):
        self.assertEqual(postmap(FOUND, self.sm_table("opensmtpd"))[:2],
                         (0, f"smtp+notls://{V1}:25\n"))
        self.assertEqual(ask(self.sm, f"r@{V2}", name="opensmtpd"), f"OK smtp+notls://{V2}:25")
        self.assertEqual(ask(self.sm, NOTFOUND, name="opensmtpd"), "NOTFOUND ")
        self.assertEqual(ask(self.sm, "*", name="opensmtpd"), "NOTFOUND ")

    def test_configured_profiles(self):
        self.assertEqual(postmap(FOUND, self.sm_table("relay"))[:2], (0, f"smtps://{V1}:25\n"))
        self.assertEqual(postmap(FOUND, self.sm_table("tor2"))[:2], (0, f"smtptor2:[{V1}]:25\n"))
        self.assertEqual(postmap(NOTFOUND, self.sm_table("tor2")), (1, "", ""))
        # The profiles share one connection, as Postfix processes do.
        with connect(self.sm) as s:
            s.sendall(netstring(f"relay {FOUND}") + netstring(f"onionmx {FOUND}") +
                      netstring(f"tor2 r@{V2}"))
            self.assertEqual(read_netstrings(s, 3), [f"OK smtps://{V1}:25", f"OK smtptor:[{V1}]:25",
                                                     f"OK smtptor2:[{V2}]:25"])

    def test_unknown_name_is_perm_and_logged(self):
        rc, out, err = postmap(FOUND, self.sm_table("nosuchprofile"))
        self.assertEqual((rc, out), (1, ""))
        self.assertIn("permanent error: unknown map name", err)
        self.assertEqual(ask(self.sm, "*", name="nosuchprofile"),
                         'PERM unknown map name: onionmxd has no profile "nosuchprofile"')
        log = self.d.log()
        self.assertIn('warning: socketmap name "nosuchprofile" names no profile', log)
        self.assertEqual(log.count('"nosuchprofile" names no profile'), 1, "warned once per name")


class ConfigErrors(unittest.TestCase):
    """A bad [onionmxd] section stops the start with FILE:LINE: KEY: why."""

    def refused(self, section):
        conf = j("bad.toml")
        write(conf, f"[dns]\ntries = 2\n{section}")
        p = subprocess.run([DAEMON, "--config", conf, "--socketmap", "inet:127.0.0.1:0"],
                           capture_output=True, text=True, timeout=30)
        self.assertEqual(p.returncode, 1, p.stderr)
        return p.stderr

    def test_messages(self):
        cases = [
            ("[onionmxd]\nmax_conections = 10\n", "bad.toml:4: onionmxd.max_conections: unknown key"),
            ("[onionmxd]\nmax_connections = 0\n",
             "bad.toml:4: onionmxd.max_connections: must be between 1 and 1000000"),
            ("[onionmxd]\nsocketmap = \"inet:127.0.0.1:1\"\n",
             "bad.toml:4: onionmxd.socketmap: expected an array of strings"),
            ("[onionmxd]\n\nsocketmap = [\"inet:127.0.0.1\"]\n", "bad.toml:5: onionmxd.socketmap: "),
            ("[onionmxd]\nsocket_mode = 0o660\n", "bad.toml:4: onionmxd.socket_mode: expected a string"),
            ("[onionmxd]\nrequest_timeout = 91\n",
             "bad.toml:4: onionmxd.request_timeout: must be between 0.1 and 90 seconds"),
            ("[onionmxd]\nlog_level = \"loud\"\n",
             "onionmxd.log_level: \"loud\" is not one of: debug, info, warning, error"),
            ("[onionmxd.profiles.x]\nformat = \"exim\"\n",
             "bad.toml:4: onionmxd.profiles.x.format: \"exim\" is not one of: postfix, opensmtpd"),
            ("[onionmxd.profiles.x]\nformat = \"opensmtpd\"\ntransport = \"smtptor\"\n",
             "bad.toml:5: onionmxd.profiles.x.transport: only for format = \"postfix\""),
            ("[onionmxd.profiles.x]\nscheme = \"gopher\"\n",
             "onionmxd.profiles.x.scheme: only for format = \"opensmtpd\""),
            ("[onionmxd.profiles.\"a b\"]\nformat = \"postfix\"\n", "not a socketmap name"),
        ]
        for section, want in cases:
            self.assertIn(want, self.refused(section), section)

    def test_flag_replaces_the_file_listener_list(self):
        from_file, from_flag = dh.free_port(), dh.free_port()
        conf = j("flagwins.toml")
        write(conf, dns_section() + f'[onionmxd]\nsocketmap = ["inet:127.0.0.1:{from_file}"]\n')
        d = Proc("flagwins", [DAEMON, "--config", conf, "--socketmap", f"inet:127.0.0.1:{from_flag}"],
                 answers_on(from_flag))
        try:
            self.assertEqual(ask(from_flag, FOUND), f"OK smtptor:[{V1}]:25")
            with self.assertRaises(OSError):
                socket.create_connection(("127.0.0.1", from_file), timeout=1).close()
        finally:
            d.stop()

    def test_example_file_is_accepted(self):
        # examples/onionmx.toml documents [onionmxd]: the daemon and the
        # library both take it as it is.
        port = dh.free_port()
        d = Proc("example", [DAEMON, "--config", os.path.join(SOURCE_ROOT, "examples", "onionmx.toml"),
                             "--socketmap", f"inet:127.0.0.1:{port}", "--state-dir", j("state"),
                             "--server", f"127.0.0.1:{KNOT.port}"], answers_on(port))
        try:
            self.assertEqual(ask(port, FOUND), f"OK smtptor:[{V1}]:25")
            self.assertEqual(ask(port, "u@example.org"), "NOTFOUND ")  # its local_domains
        finally:
            d.stop()

    def test_library_still_refuses_its_own_unknown_sections(self):
        self.assertIn("onionmxdd: unknown section", self.refused("[onionmxdd]\nx = 1\n"))


class Reload(unittest.TestCase):
    def test_sighup_broken_section_keeps_old_state_then_new_profiles_apply(self):
        sm, extra = dh.free_port(), dh.free_port()
        conf = j("hup.toml")
        good = dns_section() + f'[onionmxd]\nsocketmap = ["inet:127.0.0.1:{sm}"]\n' \
            '[onionmxd.profiles.relay]\nformat = "opensmtpd"\n'
        write(conf, good)
        d = Proc("hup", [DAEMON, "--config", conf], answers_on(sm))
        try:
            self.assertEqual(ask(sm, FOUND, name="relay"), f"OK smtp+notls://{V1}:25")
            # A broken [onionmxd] section (the library's sections are fine):
            # nothing changes, not even the library's part.
            write(conf, good.replace('[dns]\n', '[resolver]\nlocal_domains = ["found.mx.test"]\n[dns]\n')
                  + "max_connections = \"many\"\n")
            os.kill(d.proc.pid, signal.SIGHUP)
            dh.wait_until(lambda: "reload failed" in d.log(), 10, "reload failure logged")
            self.assertIn("onionmxd.profiles.relay.max_connections: unknown key", d.log())
            self.assertEqual(ask(sm, FOUND, name="relay"), f"OK smtp+notls://{V1}:25")
            self.assertEqual(ask(sm, FOUND), f"OK smtptor:[{V1}]:25")
            self.assertTrue(d.proc.running())
            # A good one: relay now answers smtps URLs, a new profile appears,
            # and the listener list cannot change (logged, old one serves).
            write(conf, dns_section() +
                  f'[onionmxd]\nsocketmap = ["inet:127.0.0.1:{sm}", "inet:127.0.0.1:{extra}"]\n'
                  '[onionmxd.profiles.relay]\nformat = "opensmtpd"\nscheme = "smtps"\n'
                  '[onionmxd.profiles.other]\nformat = "postfix"\ntransport = "relay"\n')
            os.kill(d.proc.pid, signal.SIGHUP)
            dh.wait_until(lambda: "reloaded (generation 2" in d.log(), 10, "reload logged")
            self.assertIn("SIGHUP: listeners cannot change without a restart", d.log())
            self.assertEqual(ask(sm, FOUND, name="relay"), f"OK smtps://{V1}:25")
            self.assertEqual(ask(sm, FOUND, name="other"), f"OK relay:[{V1}]:25")
            with self.assertRaises(OSError):
                socket.create_connection(("127.0.0.1", extra), timeout=1).close()
        finally:
            d.stop()


@unittest.skipUnless(ACTIVATE, "systemd-socket-activate missing (package systemd)")
class SocketActivation(unittest.TestCase):
    def activated(self, name, fdnames, listens, extra=()):
        argv = [ACTIVATE]
        for spec in listens:
            argv += ["-l", spec]
        argv += ["--fdname=" + ":".join(fdnames), DAEMON,
                 "--server", f"127.0.0.1:{KNOT.port}", "--state-dir", j("state")] + list(extra)
        return argv

    def test_named_descriptors_select_the_protocol(self):
        sm, tcp, filesm = dh.free_port(), dh.free_port(), dh.free_port()
        sock = j("activated.sock")
        conf = j("activated.toml")
        # Under activation the file's listeners are not bound: the socket unit's replace them.
        write(conf, f'[onionmxd]\nsocketmap = ["inet:127.0.0.1:{filesm}"]\n')
        argv = self.activated("act", ["socketmap", "tcp-table", "socketmap"],
                              [f"127.0.0.1:{sm}", f"127.0.0.1:{tcp}", sock],
                              ["--config", conf])
        # systemd-socket-activate starts its command on the first connection.
        d = Proc("activated", argv, lambda: poke(sm) and "ready (onionmxd" in read(j("activated.log")))
        try:
            self.assertEqual(postmap(FOUND, f"socketmap:inet:127.0.0.1:{sm}:onionmx")[:2],
                             (0, f"smtptor:[{V1}]:25\n"))
            self.assertEqual(postmap(FOUND, f"tcp:127.0.0.1:{tcp}")[:2], (0, f"smtptor:[{V1}]:25\n"))
            self.assertEqual(postmap(FOUND, f"socketmap:unix:{sock}:opensmtpd")[:2],
                             (0, f"smtp+notls://{V1}:25\n"))
            self.assertEqual(tcp_get(tcp, NOTFOUND), "500 not%20found\n")  # tcp_table(5) encodes the text
            log = d.log()
            self.assertIn(f"listening: socketmap on inet:127.0.0.1:{sm} (socket activation)", log)
            self.assertIn(f"listening: tcp_table on inet:127.0.0.1:{tcp} (socket activation)", log)
            self.assertIn(f"listening: socketmap on unix:{sock} (socket activation)", log)
            with self.assertRaises(OSError):
                socket.create_connection(("127.0.0.1", filesm), timeout=1).close()
            d.proc.stop()
            self.assertEqual(d.proc.proc.returncode, 0)
            self.assertTrue(os.path.exists(sock), "systemd's socket file must stay")
        finally:
            d.stop()

    def test_unknown_descriptor_name_stops_the_start(self):
        port = dh.free_port()
        p = subprocess.Popen(self.activated("bad", ["smtp"], [f"127.0.0.1:{port}"]),
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        try:
            dh.wait_until(lambda: poke(port), 10, "systemd-socket-activate listening")
            _, err = p.communicate(timeout=30)
        finally:
            if p.poll() is None:
                p.kill()
                p.wait()
        self.assertEqual(p.returncode, 1, err)
        self.assertIn("FileDescriptorName=smtp; onionmxd needs socketmap or tcp-table", err)


class SystemdUnits(unittest.TestCase):
    def test_examples_verify_clean(self):
        analyze = shutil.which("systemd-analyze")
        if not analyze:
            self.skipTest("systemd-analyze missing")
        units = j("units")
        os.makedirs(units, exist_ok=True)
        for name in ("onionmxd.service", "onionmxd.socket"):
            with open(os.path.join(SOURCE_ROOT, "examples", "systemd", name), encoding="utf-8") as f:
                text = f.read()
            # The binary under test stands in for the installed /usr/sbin/onionmxd.
            write(os.path.join(units, name), text.replace("/usr/sbin/onionmxd", DAEMON))
        # Documentation=man:onionmxd(8) must resolve: the page from the source tree.
        os.makedirs(j("man", "man8"), exist_ok=True)
        shutil.copy(os.path.join(SOURCE_ROOT, "docs", "man", "onionmxd.8"), j("man", "man8"))
        p = subprocess.run([analyze, "verify", os.path.join(units, "onionmxd.socket"),
                            os.path.join(units, "onionmxd.service")],
                           capture_output=True, text=True, timeout=60,
                           env=dict(os.environ, MANPATH=j("man")))
        self.assertEqual((p.returncode, p.stderr.strip()), (0, ""), p.stdout)


if __name__ == "__main__":
    if not shutil.which("knotd") and not os.path.exists("/usr/sbin/knotd"):
        print("knotd not installed: skipped")
        sys.exit(77)
    if base.POSTMAP is None:
        print("postmap not installed: skipped")
        sys.exit(77)
    dh.install_signal_cleanup()
    unittest.main(verbosity=2)
