#!/usr/bin/python3
"""onionmx-lookup --export-opensmtpd against Debian's real OpenSMTPD 6.8.

Knot (dnsharness) serves zone mx.test: a.mx.test and b.mx.test publish
`_onion-mx._tcp SRV` records for V1 and V2, plain.mx.test has none.
onionmx-lookup ($ONIONMX_LOOKUP) writes the file tables into a temp dir, and
smtpd 6.8 from the unpacked Debian package (mtaharness) runs
examples/opensmtpd/smtpd.conf with only its paths, its listen port and the
clearnet next hop (an SMTP sink) changed:
  * `smtpd -n` accepts the generated configuration;
  * a message for a.mx.test is routed to smtp+notls://V1:25 and, without
    Tor plumbing, deferred (TempFail, still queued), never bounced;
    plain.mx.test and b.mx.test (not exported yet) reach the sink;
  * a second export with --smtpctl (`smtpctl update table`) makes b.mx.test
    go to V2 without restarting smtpd;
  * an export while DNS is down keeps the routed domains (exit 2), and
    smtpd, reloaded, still routes them to their onions.

smtpd and smtpctl have /var/spool/smtpd and /var/run/smtpd.sock compiled in
and no option to move them, so smtpd runs in its own mount namespace with
private directories bind-mounted over /var/spool and /run; smtpctl enters
that namespace (nsenter).  smtpd drops privileges to the users `opensmtpd`
and `opensmtpq` and chroots into their home: created here if missing, as
the package's postinst would.  Exit 77 (skipped) when knotd, the unpacked
smtpd, root or mount namespaces are missing.
"""

import os
import re
import shutil
import smtplib
import socket
import subprocess
import sys
import tempfile
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import dnsharness as dh  # noqa: E402
import mtaharness as mh  # noqa: E402

LOOKUP = os.environ.get("ONIONMX_LOOKUP", "")
EXAMPLE = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "examples",
                       "opensmtpd", "smtpd.conf")
SMTPD = mh.binary("usr/sbin/smtpd")
SMTPCTL = mh.binary("usr/sbin/smtpctl")
V1, V2 = dh.V1, dh.V2
HOME = "/var/lib/opensmtpd/empty"  # the Debian package's home of both users
KNOT = None
WORK = None


def j(*parts):
    return os.path.join(WORK, *parts)


def export(domains, extra=(), server=None, out_dir=None):
    """onionmx-lookup --export-opensmtpd WORK/tables; (rc, stderr)."""
    server = server or f"127.0.0.1:{KNOT.port}"
    p = subprocess.run([LOOKUP, "--server", server, "--no-cache", "--timeout", "2",
                        "--state-dir", j("state"), "--export-opensmtpd", out_dir or j("tables"),
                        *extra, "-"], input="\n".join(domains) + "\n", capture_output=True,
                       text=True, timeout=60)
    return p.returncode, p.stderr


def read(path):
    with open(path) as f:
        return f.read()


def entries(path):
    return [line for line in read(path).splitlines() if not line.startswith("#")]


def config_text(listen_port, sink_port):
    """The example with the test's paths and ports, nothing else changed."""
    text = read(EXAMPLE)
    text = text.replace("/etc/onionmx/", j("tables") + "/")
    text = text.replace("listen on lo port 25", f"listen on 127.0.0.1 port {listen_port}")
    text = text.replace('action "outbound" relay\n',
                        f'action "outbound" relay host smtp://127.0.0.1:{sink_port}\n')
    assert text.count(j("tables")) == 2 and str(sink_port) in text, text
    return text


def setUpModule():
    global KNOT, WORK
    WORK = tempfile.mkdtemp(prefix="onionmx-smtpd-")
    os.chmod(WORK, 0o755)  # smtpd's lookup process rereads the tables as user opensmtpd
    os.makedirs(j("tables"), mode=0o755)
    z = dh.Zone("mx.test")
    z.add_srv(dh.SRV_PREFIX + "a", 0, 0, 25, V1 + ".")
    z.add_srv(dh.SRV_PREFIX + "b", 0, 0, 2525, V2 + ".")
    KNOT = dh.KnotServer(WORK, {"mx.test": z.text()}, serials={"mx.test": z.serial}).start()


def tearDownModule():
    if KNOT:
        KNOT.stop()
    if WORK:
        shutil.rmtree(WORK, ignore_errors=True)


class Export(unittest.TestCase):
    """The files alone, without smtpd."""

    def setUp(self):
        for name in ("smtpd-domains", "smtpd-relays"):
            if os.path.exists(j("tables", name)):
                os.unlink(j("tables", name))

    def test_found_domains_only_exact_keys(self):
        rc, err = export(["A.MX.test", "u@b.mx.test.", "plain.mx.test", "*"])
        self.assertEqual(rc, 0, err)
        self.assertEqual(entries(j("tables", "smtpd-domains")), ["a.mx.test", "b.mx.test"])
        self.assertEqual(entries(j("tables", "smtpd-relays")),
                         [f"a.mx.test\tsmtp+notls://{V1}:25",
                          f"b.mx.test\tsmtp+notls://{V2}:2525"])
        self.assertEqual(os.stat(j("tables", "smtpd-relays")).st_mode & 0o777, 0o644)
        self.assertEqual(sorted(os.listdir(j("tables"))), ["smtpd-domains", "smtpd-relays"])

    def test_failed_lookup_keeps_previous_entry(self):
        self.assertEqual(export(["a.mx.test"])[0], 0)
        # A UDP port nobody reads: every lookup times out (temp).
        hole = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        hole.bind(("127.0.0.1", 0))
        try:
            rc, err = export(["a.mx.test", "new.mx.test"],
                             server=f"127.0.0.1:{hole.getsockname()[1]}")
        finally:
            hole.close()
        self.assertEqual(rc, 2, err)
        self.assertIn(f"a.mx.test: previous entry kept: smtp+notls://{V1}:25", err)
        self.assertIn("new.mx.test: not routed before, still not routed", err)
        self.assertEqual(entries(j("tables", "smtpd-domains")), ["a.mx.test"])
        self.assertEqual(entries(j("tables", "smtpd-relays")), [f"a.mx.test\tsmtp+notls://{V1}:25"])

    def test_not_found_removes_domain(self):
        self.assertEqual(export(["a.mx.test", "b.mx.test"])[0], 0)
        self.assertEqual(export(["a.mx.test", "plain.mx.test"])[0], 0)
        self.assertEqual(entries(j("tables", "smtpd-domains")), ["a.mx.test"])

    def test_unwritable_directory_writes_nothing(self):
        rc, err = export(["a.mx.test"], out_dir=j("no", "such", "dir"))
        self.assertEqual(rc, 3, err)
        self.assertIn("No such file or directory", err)

    def test_smtpctl_failure_is_reported(self):
        rc, err = export(["a.mx.test"], extra=["--smtpctl", "/bin/false"])
        self.assertEqual(rc, 2, err)
        self.assertIn("update table onion_relays: failed", err)
        self.assertEqual(entries(j("tables", "smtpd-domains")), ["a.mx.test"])


class RealSmtpd(unittest.TestCase):
    """One private smtpd for the whole class."""

    @classmethod
    def setUpClass(cls):
        mh.ensure_user("opensmtpd", HOME)
        mh.ensure_user("opensmtpq", HOME)
        for d in ("spool", "run"):
            os.makedirs(j(d), exist_ok=True)
        cls.sink = mh.SmtpSink()
        rc, err = export(["a.mx.test", "plain.mx.test"])
        assert rc == 0, err
        cls.port = dh.free_port()
        with open(j("smtpd.conf"), "w") as f:
            f.write(config_text(cls.port, cls.sink.port))
        # smtpctl refuses to run unless setgid opensmtpq (Debian installs it
        # 2755 root:opensmtpq through dpkg-statoverride; dpkg -x does not).
        shutil.copy(SMTPCTL, j("smtpctl"))
        shutil.chown(j("smtpctl"), "root", "opensmtpq")
        os.chmod(j("smtpctl"), 0o2755)
        argv = mh.in_namespace([(j("spool"), "/var/spool"), (j("run"), "/run")],
                               [SMTPD, "-d", "-T", "lookup", "-f", j("smtpd.conf")])
        cls.log_path = j("smtpd.log")
        cls.smtpd = dh.ManagedProcess(argv, WORK, cls.log_path)
        dh.wait_until(lambda: socket.create_connection(("127.0.0.1", cls.port), 1).close()
                      or True, 30, "smtpd listening", proc=cls.smtpd)
        # smtpctl inside smtpd's mount namespace, where its control socket is.
        with open(j("smtpctl-ns"), "w") as f:
            f.write(f'#!/bin/sh\nexec nsenter -t {cls.smtpd.pid} -m {j("smtpctl")} "$@"\n')
        os.chmod(j("smtpctl-ns"), 0o755)

    @classmethod
    def tearDownClass(cls):
        cls.smtpd.stop()
        cls.sink.close()

    def log(self):
        return read(self.log_path)

    def send(self, rcpt):
        with smtplib.SMTP("127.0.0.1", self.port, timeout=30) as s:
            self.assertEqual(s.sendmail("sender@src.test", [rcpt], "Subject: t\r\n\r\nhi\r\n"), {})

    def wait_delivery_line(self, rcpt):
        """smtpd's `mta delivery` log line for rcpt."""
        pat = re.compile(r".*mta delivery .*to=<" + re.escape(rcpt) + r">.*")

        def found():
            return pat.search(self.log())
        dh.wait_until(found, 60, f"delivery attempt for {rcpt}", proc=self.smtpd)
        return pat.search(self.log()).group(0)

    def assert_onion_relay(self, rcpt, onion, port):
        line = self.wait_delivery_line(rcpt)
        # Without Tor plumbing the onion name does not resolve: deferred.
        self.assertIn(f'relay="{onion}"', line)
        self.assertIn('result="TempFail"', line)
        self.assertIn(f"relay:{onion},port={port},smtp+notls", self.log())
        self.assertNotIn(rcpt, self.sink.recipients())
        q = subprocess.run([j("smtpctl-ns"), "show", "queue"], capture_output=True, text=True,
                           timeout=30)
        self.assertEqual(q.returncode, 0, q.stderr)
        self.assertIn(rcpt, q.stdout)  # still queued: not bounced

    def wait_sink(self, rcpt):
        dh.wait_until(lambda: rcpt in self.sink.recipients(), 60, f"{rcpt} at the sink",
                      proc=self.smtpd)

    def test_1_config_check(self):
        p = subprocess.run([SMTPD, "-n", "-f", j("smtpd.conf")], capture_output=True, text=True,
                           timeout=30)
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertIn("configuration OK", p.stdout + p.stderr)

    def test_2_onion_domain_goes_to_relay_url(self):
        self.send("u1@A.MX.test")
        self.assertIn('lookup "A.MX.test" as RELAYHOST in table static:onion_relays -> '
                      f'"smtp+notls://{V1}:25"', self.log())
        self.assert_onion_relay("u1@A.MX.test", V1, 25)

    def test_3_other_domains_not_routed_to_tor(self):
        self.send("u2@plain.mx.test")
        self.send("u3@b.mx.test")  # an onion domain, but not exported yet
        self.wait_sink("u2@plain.mx.test")
        self.wait_sink("u3@b.mx.test")
        self.assertNotIn(V2, self.log())

    def test_4_update_table_changes_routing_without_restart(self):
        pid = self.smtpd.pid
        # New files alone change nothing: smtpd reads static tables at start.
        self.assertEqual(export(["a.mx.test", "b.mx.test", "plain.mx.test"])[0], 0)
        self.send("u4a@b.mx.test")
        self.wait_sink("u4a@b.mx.test")
        rc, err = export(["a.mx.test", "b.mx.test", "plain.mx.test"],
                         extra=["--smtpctl", j("smtpctl-ns")])
        self.assertEqual(rc, 0, err)
        self.send("u4@b.mx.test")
        self.assert_onion_relay("u4@b.mx.test", V2, 2525)
        self.assertTrue(self.smtpd.running())
        self.assertEqual(self.smtpd.pid, pid)
        self.assertEqual(self.log().count("OpenSMTPD 6.8"), 1)  # started once

    def test_5_failed_export_keeps_onion_routing(self):
        hole = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)  # DNS that never answers
        hole.bind(("127.0.0.1", 0))
        try:
            rc, err = export(["a.mx.test", "b.mx.test"], extra=["--smtpctl", j("smtpctl-ns")],
                             server=f"127.0.0.1:{hole.getsockname()[1]}")
        finally:
            hole.close()
        self.assertEqual(rc, 2, err)
        self.assertIn("b.mx.test: previous entry kept", err)
        self.assertNotIn("update table", err)  # smtpctl succeeded
        self.send("u5@b.mx.test")
        self.assert_onion_relay("u5@b.mx.test", V2, 2525)


if __name__ == "__main__":
    if not LOOKUP:
        print("ONIONMX_LOOKUP not set: skipped")
        sys.exit(77)
    if not shutil.which("knotd") and not os.path.exists("/usr/sbin/knotd"):
        print("knotd not installed: skipped")
        sys.exit(77)
    why = mh.missing_prerequisite("usr/sbin/smtpd", "usr/sbin/smtpctl")
    if why:
        print(f"{why}: skipped")
        sys.exit(77)
    dh.install_signal_cleanup()
    unittest.main(verbosity=2)
