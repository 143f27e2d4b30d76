#!/usr/bin/python3
"""A real Postfix instance routing mail through onionmxd and a real Knot.

Starts, all on 127.0.0.1 and from one private temp directory:
  * knotd (dnsharness) with zone mx.test: onion.mx.test publishes
    `_onion-mx._tcp SRV 0 0 2525 <V1>`, plain.mx.test publishes nothing;
  * onionmxd ($ONIONMX_D, test_onionmxd.Daemon) on that Knot;
  * a private Postfix instance (`postfix -c DIR start`): its own main.cf,
    master.cf, queue and data directories, its log written by postlogd to a
    file (maillog_file), no smtpd at all (nothing listens, nothing on port 25),
    `transport_maps = socketmap:inet:127.0.0.1:PORT:onionmx`.  The `smtptor`
    and default (`clearnet`) transports are discard(8) services, so nothing
    leaves the machine and the log shows each next hop as the discard reason
    (transport(5), discard(8); docs/mta-setups.md).
Messages sent with `sendmail -C DIR` must be routed: onion.mx.test to
`smtptor` with next hop `[<V1>]:2525` (the SRV port), plain.mx.test not to
`smtptor`, user@<V2> straight to `[<V2>]:25`; a domain Knot refuses
(outside its zones: REFUSED, a temporary failure) and, with Knot stopped,
a domain not yet cached are deferred (4.3.0) and stay in the queue.

Also (no root needed): `postconf -c` reads examples/postfix/main.cf and
master.cf without a warning, and README command 1's demo (onionmxd on the
signed examples/demo map, asked by examples/postfix/socketmap-query.py and
postmap) answers what map.json says.

Postfix's master(8) must start as root: without root the instance test is
skipped.  Exit 77 (skipped) when knotd or Postfix is missing.
"""

import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import dnsharness as dh  # noqa: E402
import test_onionmxd as tod  # noqa: E402  (its Daemon: onionmxd on free ports)

EXAMPLES = os.path.join(HERE, "..", "..", "examples", "postfix")
SBIN = ("/usr/sbin", "/usr/bin", "/sbin")


def tool(name):
    found = shutil.which(name)
    if found:
        return found
    for d in SBIN:
        if os.path.exists(os.path.join(d, name)):
            return os.path.join(d, name)
    return None


POSTFIX, SENDMAIL, POSTQUEUE, POSTCONF = (tool(n) for n in
                                          ("postfix", "sendmail", "postqueue", "postconf"))
V1, V2 = dh.V1, dh.V2
SYSLOG_NAME = "postfix-onionmx-test"

ONION = "u1@onion.mx.test"
PLAIN = "u2@plain.mx.test"
ONION_RCPT = f"u3@{V2}"
REFUSED = "u4@elsewhere.test"        # outside Knot's zones: REFUSED
KNOT_DOWN = "u5@later.mx.test"       # asked only after Knot is stopped

# Every service the local submission path needs, none chrooted (the private
# queue is not a chroot jail), no smtpd.  smtptor and clearnet log under
# their own names (syslog_name), so the log says which transport was used.
MASTER_CF = """\
pickup    unix  n       -       n       60      1       pickup
cleanup   unix  n       -       n       -       0       cleanup
qmgr      unix  n       -       n       300     1       qmgr
rewrite   unix  -       -       n       -       -       trivial-rewrite
bounce    unix  -       -       n       -       0       bounce
defer     unix  -       -       n       -       0       bounce
trace     unix  -       -       n       -       0       bounce
verify    unix  -       -       n       -       1       verify
flush     unix  n       -       n       1000?   0       flush
proxymap  unix  -       -       n       -       -       proxymap
showq     unix  n       -       n       -       -       showq
error     unix  -       -       n       -       -       error
retry     unix  -       -       n       -       -       error
discard   unix  -       -       n       -       -       discard
anvil     unix  -       -       n       -       1       anvil
scache    unix  -       -       n       -       1       scache
postlog   unix-dgram n  -       n       -       1       postlogd
smtptor   unix  -       -       n       -       -       discard
  -o syslog_name={name}/smtptor
clearnet  unix  -       -       n       -       -       discard
  -o syslog_name={name}/clearnet
"""


def main_cf(work, port):
    return f"""\
compatibility_level = 3.6
queue_directory = {work}/queue
data_directory = {work}/data
# postlogd writes the log here; the prefix list allows this directory.
maillog_file = {work}/maillog
maillog_file_prefixes = {work}
syslog_name = {SYSLOG_NAME}
inet_interfaces = loopback-only
inet_protocols = ipv4
myhostname = pf.mx.test
mydomain = mx.test
myorigin = $myhostname
mydestination =
alias_maps =
alias_database =
local_recipient_maps =
# Whatever onionmxd does not route goes here: a discard service, so the
# log shows the next hop and nothing leaves the machine.
default_transport = clearnet
relay_transport = clearnet
transport_maps = socketmap:inet:127.0.0.1:{port}:onionmx
"""


def deliveries(log, rcpt):
    """(logger, status, reason) of every delivery attempt logged for rcpt;
    logger is `<service>/<program>` for smtptor and clearnet (their
    syslog_name), the program (e.g. `error`) otherwise."""
    pat = re.compile(re.escape(SYSLOG_NAME) + r"/([\w/-]+)\[\d+\]: [0-9A-F]+: to=<"
                     + re.escape(rcpt) + r">,.* status=(\w+) \((.*)\)$")
    return [m.groups() for m in map(pat.search, log.splitlines()) if m]


class PostfixInstance(unittest.TestCase):
    """One Postfix instance, one onionmxd, one Knot; all messages sent in setUpClass."""

    @classmethod
    def setUpClass(cls):
        if os.geteuid() != 0:
            raise unittest.SkipTest("Postfix's master(8) must start as root "
                                    "(run as root, as CI does)")
        missing = [n for n, p in (("postfix", POSTFIX), ("sendmail", SENDMAIL),
                                  ("postqueue", POSTQUEUE)) if not p]
        if missing:
            raise unittest.SkipTest(f"Postfix tools missing: {missing}")
        cls.t0 = time.monotonic()
        cls.work = tempfile.mkdtemp(prefix="onionmx-postfix-")
        os.chmod(cls.work, 0o755)  # postlogd and the daemons (user postfix) reach into it
        cls.knot = cls.daemon = None
        cls.pf_conf = os.path.join(cls.work, "pf")
        cls.started = False
        # Stopped also when meson's timeout signals the test (dnsharness
        # closes these from its signal handler and at exit).
        dh._LIVE_HARNESSES.append(cls)
        try:
            cls._start()
            cls._send_all()
        except BaseException:
            cls._cleanup()
            raise

    @classmethod
    def _start(cls):
        z = dh.Zone("mx.test")
        z.add_srv(dh.SRV_PREFIX + "onion", 0, 0, 2525, V1 + ".")
        z.add("plain", "A", "192.0.2.25")
        cls.knot = dh.KnotServer(cls.work, {"mx.test": z.text()},
                                 serials={"mx.test": z.serial}).start()
        tod.WORK = cls.work
        cls.daemon = tod.Daemon("onionmxd", ["--server", f"127.0.0.1:{cls.knot.port}", "--no-tcp",
                                             "--timeout", "1"])
        os.mkdir(cls.pf_conf)
        os.mkdir(os.path.join(cls.work, "queue"))
        os.mkdir(os.path.join(cls.work, "data"))
        shutil.chown(os.path.join(cls.work, "data"), "postfix")
        with open(os.path.join(cls.pf_conf, "main.cf"), "w") as f:
            f.write(main_cf(cls.work, cls.daemon.sm_port))
        with open(os.path.join(cls.pf_conf, "master.cf"), "w") as f:
            f.write(MASTER_CF.format(name=SYSLOG_NAME))
        t = time.monotonic()
        cls.started = True  # from here on, stop it whatever happens
        p = subprocess.run([POSTFIX, "-c", cls.pf_conf, "start"], capture_output=True, text=True,
                           timeout=120)
        cls.start_s = time.monotonic() - t
        if p.returncode != 0:
            raise RuntimeError(f"postfix start: rc {p.returncode}: {p.stderr}\n{cls.maillog()}")

    @classmethod
    def maillog(cls):
        try:
            with open(os.path.join(cls.work, "maillog"), encoding="utf-8", errors="replace") as f:
                return f.read()
        except FileNotFoundError:
            return ""

    @classmethod
    def sendmail(cls, rcpt):
        msg = f"From: s@pf.mx.test\nTo: {rcpt}\nSubject: onionmx routing test\n\nto {rcpt}\n"
        subprocess.run([SENDMAIL, "-C", cls.pf_conf, "-f", "s@pf.mx.test", rcpt], input=msg,
                       text=True, check=True, timeout=60)

    @classmethod
    def wait_logged(cls, rcpts):
        try:
            dh.wait_until(lambda: all(deliveries(cls.maillog(), r) for r in rcpts), 40,
                          f"Postfix log lines for {rcpts}")
        except TimeoutError as e:
            raise TimeoutError(f"{e}\n{cls.maillog()}\n{cls.daemon.log()}") from None

    @classmethod
    def _send_all(cls):
        t = time.monotonic()
        first = [ONION, PLAIN, ONION_RCPT, REFUSED]
        for r in first:
            cls.sendmail(r)
        cls.wait_logged(first)
        # The DNS server gone: a domain onionmxd has not cached must defer too.
        cls.knot.stop()
        cls.sendmail(KNOT_DOWN)
        cls.wait_logged([KNOT_DOWN])
        cls.route_s = time.monotonic() - t
        cls.log = cls.maillog()
        q = subprocess.run([POSTQUEUE, "-c", cls.pf_conf, "-p"], capture_output=True, text=True,
                           timeout=60)
        cls.queue = q.stdout

    @classmethod
    def tearDownClass(cls):
        cls._cleanup()
        total = time.monotonic() - cls.t0
        print(f"\npostfix start {cls.start_s:.1f}s, routing {cls.route_s:.1f}s, "
              f"whole test {total:.1f}s", file=sys.stderr)

    @classmethod
    def _stop_postfix(cls):
        """postfix stop, then wait for master(8) to exit; kill it (by its pid
        file) if it does not."""
        pidfile = os.path.join(cls.work, "queue", "pid", "master.pid")
        try:
            with open(pidfile) as f:
                master = int(f.read().split()[0])
        except (OSError, ValueError, IndexError):
            master = None
        subprocess.run([POSTFIX, "-c", cls.pf_conf, "stop"], capture_output=True, timeout=60)
        if master is None:
            return
        end = time.monotonic() + 20
        while time.monotonic() < end:
            try:
                os.kill(master, 0)
            except ProcessLookupError:
                return
            time.sleep(0.1)
        os.kill(master, 9)

    @classmethod
    def close(cls):
        cls._cleanup()

    @classmethod
    def _cleanup(cls):
        if cls in dh._LIVE_HARNESSES:
            dh._LIVE_HARNESSES.remove(cls)
        try:
            if cls.started:
                cls.started = False
                cls._stop_postfix()
        finally:
            for server in (cls.daemon, cls.knot):
                if server:
                    server.stop()
            cls.daemon = cls.knot = None
            shutil.rmtree(cls.work, ignore_errors=True)

    def test_onion_domain_goes_to_smtptor_with_the_srv_port(self):
        self.assertEqual(deliveries(self.log, ONION), [("smtptor/discard", "sent", f"[{V1}]:2525")],
                         self.log)

    def test_plain_domain_is_routed_normally(self):
        # NOTFOUND: Postfix's default transport with the domain as next hop.
        self.assertEqual(deliveries(self.log, PLAIN),
                         [("clearnet/discard", "sent", "plain.mx.test")], self.log)

    def test_onion_recipient_is_routed_directly(self):
        self.assertEqual(deliveries(self.log, ONION_RCPT),
                         [("smtptor/discard", "sent", f"[{V2}]:25")], self.log)

    def test_failed_lookups_are_deferred_not_sent(self):
        for rcpt in (REFUSED, KNOT_DOWN):
            got = deliveries(self.log, rcpt)
            self.assertTrue(got, self.log)
            for service, status, reason in got:
                self.assertEqual((service, status, reason),
                                 ("error", "deferred", "address resolver failure"), self.log)
            self.assertIn(rcpt, self.queue)  # still queued for a later retry
            self.assertRegex(self.log, r"to=<" + re.escape(rcpt) + r">,.* dsn=4\.3\.0, ")
        self.assertIn("transport_maps lookup failure", self.log)
        for rcpt in (ONION, PLAIN, ONION_RCPT):
            self.assertNotIn(rcpt, self.queue)

    def test_daemon_answered_each_key(self):
        dlog = self.daemon.log()
        for key, answer in ((ONION, f"OK smtptor:[{V1}]:2525"), (PLAIN, "NOTFOUND "),
                            (ONION_RCPT, f"OK smtptor:[{V2}]:25")):
            self.assertIn(f'socketmap key="{key}" answer="{answer}"', dlog)
        for key in (REFUSED, KNOT_DOWN):
            self.assertRegex(dlog, r'socketmap key="' + re.escape(key) + r'" answer="TEMP ')
        # trivial-rewrite asks `*` when it starts: NOTFOUND, or every message would defer.
        self.assertIn('socketmap key="*" answer="NOTFOUND "', dlog)

    def test_fast_enough(self):
        self.assertLess(self.route_s, 30, "routing five messages took too long")


class PostconfReadsExamples(unittest.TestCase):
    """examples/postfix/main.cf and master.cf parse without a warning."""

    def test_examples(self):
        if not POSTCONF:
            self.skipTest("postconf missing")
        with tempfile.TemporaryDirectory(prefix="onionmx-postconf-") as d:
            for name in ("main.cf", "master.cf"):
                shutil.copy(os.path.join(EXAMPLES, name), d)
            p = subprocess.run([POSTCONF, "-c", d, "-h", "transport_maps"], capture_output=True,
                               text=True, timeout=60)
            self.assertEqual((p.returncode, p.stderr), (0, ""))
            self.assertEqual(p.stdout, "socketmap:inet:127.0.0.1:17001:onionmx\n")
            p = subprocess.run([POSTCONF, "-c", d, "-M", "smtptor/unix"], capture_output=True,
                               text=True, timeout=60)
            self.assertEqual((p.returncode, p.stderr), (0, ""))
            fields = p.stdout.split()
            self.assertEqual(fields[:8], ["smtptor", "unix", "-", "-", "n", "-", "-", "smtp_tor"],
                             p.stdout)
            self.assertIn("smtp_dns_support_level=disabled", p.stdout)
            # -n and -P warn about unknown ("unused") parameters in main.cf
            # and in master.cf -o options.
            for flag in ("-n", "-P"):
                p = subprocess.run([POSTCONF, "-c", d, flag], capture_output=True, text=True,
                                   timeout=60)
                self.assertEqual((p.returncode, p.stderr), (0, ""), flag)


class DemoMapAnswers(unittest.TestCase):
    """README command 1's setup: onionmxd on examples/demo (signed map, demo
    key, no DNS) asked by examples/postfix/socketmap-query.py and by postmap.
    Expected answers come from map.json itself (best priority first)."""

    def test_demo(self):
        demo = os.path.join(HERE, "..", "..", "examples", "demo")
        with open(os.path.join(demo, "map.json"), encoding="utf-8") as f:
            entries = json.load(f)["entries"]

        def best(key):
            routes = [r if isinstance(r, dict) else {"onion": r} for r in entries[key]]
            r = min(routes, key=lambda r: r.get("priority", 0))  # min keeps file order on ties
            return f"OK smtptor:[{r['onion']}]:{r.get('port', 25)}"

        work = tempfile.mkdtemp(prefix="onionmx-demo-")
        tod.WORK = work
        d = None
        try:
            d = tod.Daemon("demo", ["--config", os.path.join(demo, "onionmx.toml"),
                                    "--map", os.path.join(demo, "map.json"),
                                    "--trusted-key", os.path.join(demo, "demo.pub"), "--no-cache"])
            expected = {"user@example.org": best("example.org"),
                        "User+tag@Mail.Example.NET": best(".example.net"),
                        f"postmaster@{dh.T1}": f"OK smtptor:[{dh.T1}]:25",
                        "user@example.com": "NOTFOUND ", "*": "NOTFOUND ",
                        "grace@[192.0.2.1]": "NOTFOUND "}
            p = subprocess.run([sys.executable, os.path.join(EXAMPLES, "socketmap-query.py"),
                                f"inet:127.0.0.1:{d.sm_port}"] + list(expected),
                               capture_output=True, text=True, timeout=60)
            self.assertEqual((p.returncode, p.stderr), (0, ""))
            got = dict(line.split("\t", 1) for line in p.stdout.splitlines())
            self.assertEqual(got, expected)
            self.assertIn("source=map", d.log())  # the signed map loaded and answered
            if tod.POSTMAP:
                os.mkdir(os.path.join(work, "pf"))
                open(os.path.join(work, "pf", "main.cf"), "w").close()
                q = subprocess.run([tod.POSTMAP, "-c", os.path.join(work, "pf"), "-q",
                                    "user@example.org",
                                    f"socketmap:inet:127.0.0.1:{d.sm_port}:onionmx"],
                                   capture_output=True, text=True, timeout=60)
                self.assertEqual(q.stdout, expected["user@example.org"][3:] + "\n")
        finally:
            if d:
                d.stop()
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    dh.install_signal_cleanup()
    missing = [b for b in ("knotd", "knotc") if not shutil.which(b)]
    if missing or not tod.DAEMON:
        print(f"skipped: missing {missing or 'ONIONMX_D'}")
        sys.exit(77)
    unittest.main(verbosity=2)
