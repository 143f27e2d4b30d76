#!/usr/bin/python3
"""onionmx-publish against real BIND (named) and Knot (knotd) primaries.

Both servers run on free loopback ports from a private temp dir, started and
killed by PID through dnsharness.py; each serves pub.test, open to RFC 2136
updates signed with the test TSIG keys and to AXFR.  The tools come from
$ONIONMX_PUBLISH and $ONIONMX_LOOKUP (meson sets them); by hand:
    ONIONMX_PUBLISH=build/tools/onionmx-publish/onionmx-publish \\
    ONIONMX_LOOKUP=build/tools/onionmx-lookup/onionmx-lookup \\
        python3 tests/integration/test_publish.py -v
Exit 77 (meson: skipped) only when named, knotd, dig or tsig-keygen is
missing; the BADTIME cases need faketime(1) (libfaketime) and are skipped
without it.  Every expectation is checked against the servers' own view
(dig AXFR signed with the test key, onionmx-lookup), never against the
publisher's say-so.  Keys and key files come from BIND's own tsig-keygen.
"""

import base64
import json
import os
import re
import secrets
import socket
import struct
import subprocess
import sys
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import dnsharness as dh  # noqa: E402

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
PUBLISH = os.environ.get("ONIONMX_PUBLISH") or os.path.join(
    REPO, "build", "tools", "onionmx-publish", "onionmx-publish")
LOOKUP = os.environ.get("ONIONMX_LOOKUP") or os.path.join(
    REPO, "build", "tools", "onionmx-lookup", "onionmx-lookup")

# Exit codes of onionmx-publish (docs/onionmx-publish.md).
EXIT_OK, EXIT_MISMATCH, EXIT_USAGE, EXIT_NOANSWER = 0, 1, 2, 3
EXIT_REFUSED, EXIT_NOTAUTH, EXIT_NOTZONE = 4, 5, 6
EXIT_BADSIG, EXIT_BADKEY, EXIT_BADTIME = 7, 8, 9

ZONE = "pub.test"
# Every algorithm onionmx signs with (dns/tsig.hpp); one tsig-keygen key
# file each, named file-<algorithm>.  KEY is the hmac-sha256 one: it signs
# the ordinary updates and the AXFRs (the servers allow no other transfer).
ALGORITHMS = ("hmac-sha1", "hmac-sha224", "hmac-sha256", "hmac-sha384", "hmac-sha512")
KEY = None         # (name, algorithm, secret), set by setUpModule
KEY_FILES = {}     # algorithm -> (path, (name, algorithm, secret))
KEYDIR = None
# May update _onion-mx._tcp.mail.pub.test SRV/TXT and nothing else.
NARROW = ("narrow-key", "hmac-sha256", base64.b64encode(secrets.token_bytes(32)).decode())
NARROW_GRANT = "name _onion-mx._tcp.mail.pub.test. SRV TXT"
# Knot's equivalent (Knot >= 3.1 ACL options).
KNOT_NARROW_ACL = """update-type: [SRV, TXT]
update-owner: name
update-owner-match: equal
update-owner-name: [_onion-mx._tcp.mail.pub.test.]"""
WRONG_SECRET = base64.b64encode(secrets.token_bytes(32)).decode()
P = dh.SRV_PREFIX

# Records the publisher must never touch (including other types at the
# publishing owner name itself).
UNRELATED = [
    ("www", "A", "192.0.2.1"),
    ("@", "MX", "10 mx.pub.test."),
    ("@", "TXT", '"v=spf1 -all"'),
    (P + "mail", "HINFO", '"pc" "linux"'),  # BIND check-names refuses A here
    (P + "other", "TXT", '"keep me"'),
    ("_mta-sts.sts", "TXT", '"v=STSv1; id=1"'),  # MTA-STS for sts.pub.test
]


def zone_text():
    z = dh.Zone(ZONE)
    for owner, rtype, rdata in UNRELATED:
        z.add(owner, rtype, rdata)
    return z.text(), z.serial


def run(argv, timeout=60):
    t0 = time.monotonic()
    p = subprocess.run(argv, capture_output=True, text=True, timeout=timeout,
                       env=dict(os.environ, LC_ALL="C"))
    p.elapsed = time.monotonic() - t0
    return p


def dig_axfr(port, key):
    argv = ["dig", "+noall", "+answer", "+nocookie", "-p", str(port), "@127.0.0.1", ZONE, "AXFR"]
    if key:
        argv[1:1] = ["-y", f"{key[1]}:{key[0]}:{key[2]}"]
    return run(argv)


def axfr(port):
    """The zone as the server holds it, by an AXFR signed with KEY (dig
    checks the answer's TSIG): a set of (owner, ttl, type, rdata), no SOA."""
    p = dig_axfr(port, KEY)
    if p.returncode != 0 or "SOA" not in p.stdout or "failed" in p.stdout.lower():
        raise AssertionError(f"dig AXFR failed: {p.stdout}{p.stderr}")
    rows = set()
    for line in p.stdout.splitlines():
        if not line.strip() or line.startswith(";"):
            continue
        parts = line.split(None, 4)
        owner, ttl, cls, rtype, rdata = parts[0].lower(), parts[1], parts[2], parts[3], parts[4]
        if rtype == "SOA":
            continue
        rows.add((owner, int(ttl), rtype, " ".join(rdata.split())))
    return rows


def zone_lines_to_rows(text):
    rows = set()
    for line in text.splitlines():
        owner, ttl, cls, rtype, rdata = line.split(None, 4)
        assert cls == "IN"
        rows.add((owner.lower(), int(ttl), rtype, " ".join(rdata.split())))
    return rows


def tsig_keygen(alg, name, path):
    """A key file written by BIND's tsig-keygen, and the key it holds."""
    p = run(["tsig-keygen", "-a", alg, name])
    if p.returncode != 0:
        raise AssertionError(f"tsig-keygen -a {alg}: {p.stderr}")
    m = re.search(r'key "([^"]+)" \{\s*algorithm ([\w-]+);\s*secret "([^"]+)";\s*\};', p.stdout)
    if not m or m.group(1) != name or m.group(2) != alg:
        raise AssertionError(f"unexpected tsig-keygen output: {p.stdout}")
    with open(path, "w") as f:
        f.write(p.stdout)
    return m.group(1), m.group(2), m.group(3)


def faketime_argv(offset_s):
    """faketime(1) shifting the clock of the command by offset_s seconds
    (libfaketime preloaded: time() and clock_gettime() are both moved).
    Under ASan the preloaded libfaketime comes before the ASan runtime,
    which ASan refuses unless told not to check the link order."""
    asan = os.environ.get("ASAN_OPTIONS", "")
    asan = (asan + ":" if asan else "") + "verify_asan_link_order=0"
    return ["env", "ASAN_OPTIONS=" + asan, "faketime", "-f", f"{offset_s:+d}s"]


def hs_dir(path, hostname, pk):
    """A HiddenServiceDir in tor's layout (tests/data/hs_v1/README.md): the
    hostname, the tagged public key, a secret key file (never read by
    onionmx-publish) and the authorized_clients directory tor creates."""
    os.makedirs(os.path.join(path, "authorized_clients"), exist_ok=True)
    os.chmod(path, 0o700)
    with open(os.path.join(path, "hostname"), "w") as f:
        f.write(hostname + "\n")
    with open(os.path.join(path, "hs_ed25519_public_key"), "wb") as f:
        f.write(b"== ed25519v1-public: type0 ==\0\0\0" + pk)
    with open(os.path.join(path, "hs_ed25519_secret_key"), "wb") as f:
        f.write(b"== ed25519v1-secret: type0 ==\0\0\0" + secrets.token_bytes(64))
    return path


def setUpModule():
    global KEY, KEYDIR
    missing = [b for b in ("named", "named-checkconf", "knotd", "dig", "tsig-keygen")
               if dh.shutil.which(b) is None]
    if missing:
        print(f"skipped: missing {', '.join(missing)}", file=sys.stderr)
        sys.exit(77)
    for tool in (PUBLISH, LOOKUP):
        if not os.access(tool, os.X_OK):
            raise AssertionError(f"{tool} not built (set ONIONMX_PUBLISH / ONIONMX_LOOKUP)")
    dh.install_signal_cleanup()
    import tempfile
    KEYDIR = tempfile.mkdtemp(prefix="onionmx-publish-keys-")
    KEY = tsig_keygen("hmac-sha256", "onionmx-key", os.path.join(KEYDIR, "onionmx.key"))
    for alg in ALGORITHMS:
        path = os.path.join(KEYDIR, f"{alg}.key")
        KEY_FILES[alg] = (path, tsig_keygen(alg, f"file-{alg}", path))


def tearDownModule():
    if KEYDIR and os.environ.get("ONIONMX_KEEP_TMP") != "1":
        dh.shutil.rmtree(KEYDIR, ignore_errors=True)


class SilentPort:
    """UDP and TCP on one loopback port: datagrams are received and never
    answered, TCP connections are accepted by the kernel (listen backlog)
    and never answered.  Counts what arrived."""

    def __init__(self):
        for _ in range(50):
            self.udp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
            self.udp.bind(("127.0.0.1", 0))
            self.port = self.udp.getsockname()[1]
            self.tcp = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            try:
                self.tcp.bind(("127.0.0.1", self.port))
                break
            except OSError:
                self.udp.close()
                self.tcp.close()
        self.tcp.listen(8)
        self.udp.setblocking(False)
        self.tcp.setblocking(False)

    def arrivals(self):
        """(datagrams, TCP connections) received so far."""
        dgrams = conns = 0
        while True:
            try:
                self.udp.recv(65535)
                dgrams += 1
            except BlockingIOError:
                break
        while True:
            try:
                c, _ = self.tcp.accept()
                c.close()
                conns += 1
            except BlockingIOError:
                break
        return dgrams, conns

    def close(self):
        self.udp.close()
        self.tcp.close()


def dry_run_messages(stdout):
    """The signed messages a --dry-run printed: the hex lines after each
    ';; dry run' header, up to the first line that is not hex."""
    msgs, cur = [], None
    for line in stdout.splitlines():
        if line.startswith(";; dry run"):
            cur = []
            msgs.append(cur)
        elif cur is not None and re.fullmatch(r"[0-9a-f]+", line):
            cur.append(line)
        else:
            cur = None
    return [bytes.fromhex("".join(m)) for m in msgs]


def send_udp(port, wire, timeout=5.0):
    """Sends one DNS message and returns the RCODE of the answer."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.settimeout(timeout)
        s.connect(("127.0.0.1", port))
        s.send(wire)
        while True:
            data = s.recv(65535)
            if data[:2] == wire[:2]:
                return struct.unpack("!H", data[2:4])[0] & 15


class PublishTests:
    """Mixed into one TestCase per server kind; start_server() returns a
    started server with .port and .stop().  NOT_SERVED is what that server
    answers for a zone it does not serve: (exit code, the message up to the
    zone)."""

    maxDiff = None

    @classmethod
    def setUpClass(cls):
        import tempfile
        cls.workdir = tempfile.mkdtemp(prefix="onionmx-publish-")
        text, serial = zone_text()
        keys = {KEY[0]: (KEY[1], KEY[2])}
        for _, (name, alg, secret) in KEY_FILES.values():
            keys[name] = (alg, secret)
        cls.srv = cls.start_server(cls.workdir, {ZONE: text}, keys, {ZONE: serial})
        cls.server = f"127.0.0.1:{cls.srv.port}"

    @classmethod
    def tearDownClass(cls):
        cls.srv.stop()
        if os.environ.get("ONIONMX_KEEP_TMP") != "1":
            dh.shutil.rmtree(cls.workdir, ignore_errors=True)

    # helpers ------------------------------------------------------------
    def publish(self, onion, *domains, key=None, extra=(), zone=ZONE, wrap=()):
        key = key or f"{KEY[0]}:{KEY[2]}"
        argv = [PUBLISH, "update", "--server", self.server, "--tsig", key, "--onion", onion,
                "--timeout", "5"] + (["--zone", zone] if zone else []) + list(extra) + list(domains)
        return run(list(wrap) + argv)

    def lookup(self, key):
        p = run([LOOKUP, "--server", self.server, "--format", "json", "--timeout", "5", key])
        return p, json.loads(p.stdout.splitlines()[0]) if p.stdout.strip() else None

    def routes(self, key):
        p, ans = self.lookup(key)
        self.assertEqual(p.returncode, 0, p.stdout + p.stderr)
        self.assertEqual(ans["status"], "found", ans)
        return [(r["onion"], r["port"]) for r in ans["routes"]]

    def published(self, rows, domain):
        return {r for r in rows if r[0] == P + domain + "." and r[2] in ("SRV", "TXT")}

    def records(self, onion_args, *domains, extra=()):
        p = run([PUBLISH, "records"] + list(onion_args) + list(extra) + list(domains))
        self.assertRc(p, EXIT_OK)
        return zone_lines_to_rows(p.stdout)

    def check(self, *args):
        return run([PUBLISH, "check", "--server", self.server, "--timeout", "5"] + list(args))

    def nsupdate(self, key, *commands):
        """BIND's nsupdate, to do what onionmx-publish never does."""
        script = f"server 127.0.0.1 {self.srv.port}\nzone {ZONE}\n" + "".join(
            c + "\n" for c in commands) + "send\n"
        p = subprocess.run(["nsupdate", "-y", f"{key[1]}:{key[0]}:{key[2]}"], input=script,
                           capture_output=True, text=True, timeout=30)
        return p

    def assertNarrowKeyTypes(self):
        # The narrow key may not add another type even at its own name.
        # (Control: the same script shape with the wide key works.)
        wide = self.nsupdate(KEY, 'update add ctl.pub.test. 300 HINFO "x" "y"',
                             "send", "update delete ctl.pub.test. HINFO")
        self.assertEqual(wide.returncode, 0, wide.stdout + wide.stderr)
        before = axfr(self.srv.port)
        p = self.nsupdate(NARROW, f'update add {P}mail.pub.test. 300 HINFO "x" "y"')
        self.assertNotEqual(p.returncode, 0, p.stdout + p.stderr)
        self.assertRegex(p.stdout + p.stderr, "REFUSED|NOTAUTH")
        self.assertEqual(axfr(self.srv.port), before)

    def assertRc(self, p, rc):
        self.assertEqual(p.returncode, rc, f"\n$ {' '.join(p.args)}\nstdout:{p.stdout}\nstderr:{p.stderr}")

    def assertOneLine(self, p, stream="stdout"):
        text = getattr(p, stream)
        self.assertEqual(len(text.splitlines()), 1, f"{stream}: {text!r}")
        self.assertTrue(text.endswith("\n"), text)
        return text.rstrip("\n")

    def need_faketime(self):
        if dh.shutil.which("faketime") is None:
            self.skipTest("faketime(1) not installed (Debian package faketime)")

    # cases --------------------------------------------------------------
    def test_00_axfr_needs_the_key(self):
        # The zone is only readable with the TSIG key, so every AXFR
        # comparison below really is the signed view of the server.
        p = dig_axfr(self.srv.port, None)
        self.assertNotIn("\tSOA\t", p.stdout)
        self.assertIn("Transfer failed", p.stdout + p.stderr)
        rows = axfr(self.srv.port)
        for owner, rtype, _ in UNRELATED:
            name = ZONE + "." if owner == "@" else f"{owner}.{ZONE}."
            self.assertTrue(any(r[0] == name and r[2] == rtype for r in rows), (owner, rtype, rows))

    def test_01_publish_lookup_axfr_matches_records(self):
        before = axfr(self.srv.port)
        opts = ["--mode", "enforce", "--ttl", "600", "--priority", "10", "--weight", "5",
                "--max-age", "86400", "--port", "2525"]
        p = self.publish(dh.V1, "mail.pub.test", extra=opts)
        self.assertRc(p, EXIT_OK)
        self.assertEqual(self.assertOneLine(p),
                         f"NOERROR mail.pub.test -> {dh.V1}:2525 (zone pub.test, server {self.server})")
        self.assertEqual(p.stderr, "")
        self.assertEqual(self.routes("user@mail.pub.test"), [(dh.V1, 2525)])
        # dig AXFR == what `records` prints with the same options (SRV and
        # TXT, TTLs, rdata), and nothing else in the zone changed.
        after = axfr(self.srv.port)
        want = self.records(["--onion", dh.V1], "mail.pub.test", extra=opts)
        self.assertEqual(len(want), 2)
        self.assertEqual(self.published(after, "mail.pub.test"), want)
        self.assertEqual(after - want, before)

    def test_02_republish_replaces_and_keeps_unrelated(self):
        self.assertRc(self.publish(dh.V1, "mail.pub.test", extra=["--ttl", "900"]), EXIT_OK)
        before = axfr(self.srv.port)
        self.assertRc(self.publish(dh.V2, "mail.pub.test"), EXIT_OK)
        after = axfr(self.srv.port)
        # Exactly what `records` prints for the new onion: the old SRV and
        # TXT (other TTL) are gone, not merged.
        self.assertEqual(self.published(after, "mail.pub.test"),
                         self.records(["--onion", dh.V2], "mail.pub.test"))
        rest = lambda rows: rows - self.published(rows, "mail.pub.test")
        self.assertEqual(rest(after), rest(before))
        for owner, rtype, rdata in UNRELATED:
            name = ZONE + "." if owner == "@" else f"{owner}.{ZONE}."
            self.assertTrue(any(r[0] == name and r[2] == rtype for r in after), (owner, rtype))
        self.assertEqual(self.routes("someone@mail.pub.test"), [(dh.V2, 25)])

    def test_03_check_ok_mismatch_missing_temp(self):
        self.assertRc(self.publish(dh.V2, "mail.pub.test"), EXIT_OK)
        ok = self.check("--onion", dh.V2, "mail.pub.test")
        self.assertRc(ok, EXIT_OK)
        self.assertEqual(self.assertOneLine(ok), f"OK mail.pub.test -> {dh.V2}:25")
        bad = self.check("--onion", dh.V3, "mail.pub.test")
        self.assertRc(bad, EXIT_MISMATCH)
        self.assertEqual(self.assertOneLine(bad),
                         f"MISMATCH mail.pub.test -> {dh.V2}:25 (expected {dh.V3}:25)")
        port = self.check("--onion", dh.V2, "--port", "2525", "mail.pub.test")
        self.assertRc(port, EXIT_MISMATCH)
        self.assertTrue(self.assertOneLine(port).startswith("MISMATCH mail.pub.test"), port.stdout)
        missing = self.check("--onion", dh.V2, "nomail.pub.test")
        self.assertRc(missing, EXIT_MISMATCH)
        self.assertTrue(self.assertOneLine(missing).startswith(
            f"MISSING nomail.pub.test (expected {dh.V2}:25): "), missing.stdout)
        # A server that never answers: TEMP and exit 3, within the budget.
        silent = SilentPort()
        try:
            temp = run([PUBLISH, "check", "--server", f"127.0.0.1:{silent.port}", "--timeout",
                        "1", "--onion", dh.V2, "mail.pub.test"])
        finally:
            silent.close()
        self.assertRc(temp, EXIT_NOANSWER)
        self.assertTrue(self.assertOneLine(temp).startswith("TEMP mail.pub.test: "), temp.stdout)
        self.assertLess(temp.elapsed, 5)
        # Several domains: one line each, in order; the status is that of
        # the first failure (docs/onionmx-publish.md, Exit status).
        many = self.check("--onion", dh.V2, "mail.pub.test", "nomail.pub.test", "pub.test")
        self.assertRc(many, EXIT_MISMATCH)
        lines = many.stdout.splitlines()
        self.assertEqual(len(lines), 3, many.stdout)
        self.assertEqual([line.split()[:2] for line in lines],
                         [["OK", "mail.pub.test"], ["MISSING", "nomail.pub.test"],
                          [lines[2].split()[0], "pub.test"]])

    def test_03b_check_sees_what_is_published(self):
        # sts.pub.test has MTA-STS and an unsigned SRV: senders drop its
        # route (the downgrade guard, docs/route-trust.md), but the record
        # is published right, and check says so.
        self.assertRc(self.publish(dh.V1, "sts.pub.test"), EXIT_OK)
        p, ans = self.lookup("sts.pub.test")
        self.assertNotEqual(ans["status"], "found", p.stdout + p.stderr)
        ok = self.check("--onion", dh.V1, "sts.pub.test")
        self.assertRc(ok, EXIT_OK)
        self.assertEqual(self.assertOneLine(ok), f"OK sts.pub.test -> {dh.V1}:25")

    def test_04_key_files_of_every_algorithm(self):
        # tsig-keygen's own files; the server must verify each algorithm's
        # MAC and onionmx-publish the server's signed answer.
        for alg, (path, (name, _, secret)) in KEY_FILES.items():
            with self.subTest(alg=alg):
                domain = f"{alg}.pub.test"
                p = run([PUBLISH, "update", "--server", self.server, "--tsig-file", path,
                         "--zone", ZONE, "--onion", dh.V3, domain])
                self.assertRc(p, EXIT_OK)
                self.assertEqual(self.routes(domain), [(dh.V3, 25)])
        # The same keys as ALGORITHM:NAME:SECRET; the domain is the zone.
        name, alg, secret = KEY_FILES["hmac-sha512"][1]
        p = self.publish(dh.V3, "pub.test", key=f"{alg}:{name}:{secret}", zone=None)
        self.assertRc(p, EXIT_OK)
        self.assertEqual(self.routes("pub.test"), [(dh.V3, 25)])
        # hmac-md5 (tsig-keygen still writes it) is refused before sending.
        md5 = os.path.join(self.workdir, "md5.key")
        tsig_keygen("hmac-md5", "md5-key", md5)
        p = run([PUBLISH, "update", "--server", self.server, "--tsig-file", md5, "--onion", dh.V1,
                 "pub.test"])
        self.assertRc(p, EXIT_USAGE)
        self.assertIn("hmac-md5", p.stderr)

    def test_05_tcp(self):
        self.assertRc(self.publish(dh.V1, "tcp.pub.test", extra=["--tcp"]), EXIT_OK)
        ok = self.check("--tcp", "--onion", dh.V1, "tcp.pub.test")
        self.assertRc(ok, EXIT_OK)

    def test_06_hs_dir(self):
        # tests/data/hs_v1 is tor's layout for V1 (hostname + public key file).
        hs = os.path.join(REPO, "tests", "data", "hs_v1")
        a = run([PUBLISH, "records", "--hs-dir", hs, "mail.pub.test"])
        b = run([PUBLISH, "records", "--onion", dh.V1, "mail.pub.test"])
        self.assertRc(a, EXIT_OK)
        self.assertEqual(a.stdout, b.stdout)
        # A full directory as tor leaves it, for V2: published, found, checked.
        v2 = hs_dir(os.path.join(self.workdir, "hs-v2"), dh.V2,
                    bytes.fromhex(dh.VALID_VECTORS[dh.V2]))
        p = run([PUBLISH, "update", "--server", self.server, "--tsig", f"{KEY[0]}:{KEY[2]}",
                 "--hs-dir", v2, "--zone", ZONE, "hs.pub.test"])
        self.assertRc(p, EXIT_OK)
        self.assertEqual(self.routes("hs.pub.test"), [(dh.V2, 25)])
        self.assertRc(self.check("--hs-dir", v2, "hs.pub.test"), EXIT_OK)
        self.assertRc(self.check("--hs-dir", hs, "hs.pub.test"), EXIT_MISMATCH)
        # hostname of V2 beside the key of V1: refused by every command,
        # naming both addresses, and nothing is sent.
        bad = hs_dir(os.path.join(self.workdir, "hs-mixed"), dh.V2,
                     bytes.fromhex(dh.VALID_VECTORS[dh.V1]))
        before = axfr(self.srv.port)
        for cmd in (["records"],
                    ["update", "--server", self.server, "--tsig", f"{KEY[0]}:{KEY[2]}", "--zone", ZONE],
                    ["check", "--server", self.server]):
            with self.subTest(cmd=cmd[0]):
                p = run([PUBLISH] + cmd + ["--hs-dir", bad, "hs.pub.test"])
                self.assertRc(p, EXIT_USAGE)
                self.assertEqual(p.stdout, "")
                err = self.assertOneLine(p, "stderr")
                self.assertIn("--hs-dir", err)
                self.assertIn(dh.V1, err)
                self.assertIn(dh.V2, err)
        self.assertEqual(axfr(self.srv.port), before)
        os.unlink(os.path.join(bad, "hs_ed25519_public_key"))
        p = run([PUBLISH, "records", "--hs-dir", bad, "x.test"])
        self.assertRc(p, EXIT_USAGE)
        self.assertIn("hs_ed25519_public_key", p.stderr)
        missing = run([PUBLISH, "records", "--hs-dir", os.path.join(self.workdir, "nope"), "x.test"])
        self.assertRc(missing, EXIT_USAGE)
        self.assertIn("--hs-dir", missing.stderr)

    def test_07_other_txt_at_the_name_is_kept(self):
        # _onion-mx._tcp.other.pub.test holds TXT "keep me" (UNRELATED).
        # Publishing there replaces only the v=ONIONMX1 record
        # (docs/policy-record.md: other TXT records at the name are allowed).
        keep = (P + "other.pub.test.", "TXT", '"keep me"')
        name = P + "other.pub.test."
        txts = lambda rows: sorted(r[3] for r in rows if r[0] == name and r[2] == "TXT")
        for onion, extra, policy in (
                (dh.V1, [], '"v=ONIONMX1; mode=testing; max_age=604800"'),
                (dh.V2, ["--mode", "enforce", "--max-age", "60"],
                 '"v=ONIONMX1; mode=enforce; max_age=60"'),
                (dh.V2, ["--no-policy"], None)):
            with self.subTest(extra=extra):
                before = axfr(self.srv.port)
                p = self.publish(onion, "other.pub.test", extra=extra)
                self.assertRc(p, EXIT_OK)
                after = axfr(self.srv.port)
                self.assertEqual(txts(after), sorted(['"keep me"'] + ([policy] if policy else [])))
                self.assertEqual(self.routes("other.pub.test"), [(onion, 25)])
                rest = lambda rows: {r for r in rows if r[0] != name}
                self.assertEqual(rest(after), rest(before))
        self.assertTrue(any((r[0], r[2], r[3]) == keep for r in axfr(self.srv.port)))
        # The prerequisite guards the TXT set: a message built on a stale
        # view (a dry run assumes no TXT record) is refused with YXRRSET
        # and changes nothing.
        before = axfr(self.srv.port)
        dry = self.publish(dh.V3, "other.pub.test", extra=["--dry-run"])
        self.assertRc(dry, EXIT_OK)
        self.assertIn(f"{name} 0 NONE TXT", dry.stdout)
        self.assertEqual(send_udp(self.srv.port, dry_run_messages(dry.stdout)[0]), 7)  # YXRRSET
        self.assertEqual(axfr(self.srv.port), before)

    # Error answers: each its own exit code and its own message; the zone
    # is unchanged after each.
    def test_10_wrong_secret_is_badsig(self):
        before = axfr(self.srv.port)
        p = self.publish(dh.V3, "mail.pub.test", key=f"{KEY[0]}:{WRONG_SECRET}")
        self.assertRc(p, EXIT_BADSIG)
        self.assertEqual(p.stdout, "")
        err = self.assertOneLine(p, "stderr")
        self.assertRegex(err, r"^onionmx-publish: mail\.pub\.test: BADSIG: .*"
                              r"the server knows key onionmx-key with another secret")
        self.assertEqual(axfr(self.srv.port), before)

    def test_11_unknown_key_is_badkey(self):
        before = axfr(self.srv.port)
        p = self.publish(dh.V3, "mail.pub.test", key=f"no-such-key:{KEY[2]}")
        self.assertRc(p, EXIT_BADKEY)
        err = self.assertOneLine(p, "stderr")
        self.assertRegex(err, r"^onionmx-publish: mail\.pub\.test: BADKEY: .*"
                              r"the server does not know key no-such-key with algorithm hmac-sha256")
        # A known key name with another algorithm is another key (RFC 8945
        # §5.2.2: name and algorithm must both match): BADKEY as well.
        p = self.publish(dh.V3, "mail.pub.test", key=f"hmac-sha512:{KEY[0]}:{KEY[2]}")
        self.assertRc(p, EXIT_BADKEY)
        self.assertIn("with algorithm hmac-sha512", p.stderr)
        self.assertEqual(axfr(self.srv.port), before)

    def test_12_skewed_clock_is_badtime(self):
        # The whole process runs with its clock an hour off (libfaketime),
        # ahead and behind.  The server signs its BADTIME answer with the
        # request's time and puts its own in Other Data (RFC 8945 §5.2.3):
        # the answer verifies (no "response TSIG ..." note) and the server
        # time shown is the real one.
        self.need_faketime()
        self.assertRc(self.publish(dh.V2, "mail.pub.test"), EXIT_OK)
        before = axfr(self.srv.port)
        for offset in (3600, -3600):
            with self.subTest(offset=offset):
                p = self.publish(dh.V3, "mail.pub.test", wrap=faketime_argv(offset))
                real = int(time.time())
                self.assertRc(p, EXIT_BADTIME)
                err = self.assertOneLine(p, "stderr")
                m = re.search(r"^onionmx-publish: mail\.pub\.test: BADTIME: .*signing time (\d+) "
                              r"is outside the server's fudge \(server time (\d+)\); check the clock "
                              r"\(zone pub\.test, server ", err)
                self.assertTrue(m, err)
                self.assertLess(abs(int(m.group(1)) - (real + offset)), 30, err)
                self.assertLess(abs(int(m.group(2)) - real), 30, err)
        # 200 s off is within the 300 s fudge (RFC 8945 §5.2.3): accepted.
        p = self.publish(dh.V3, "mail.pub.test", wrap=faketime_argv(200))
        self.assertRc(p, EXIT_OK)
        self.assertRc(self.publish(dh.V2, "mail.pub.test"), EXIT_OK)
        self.assertEqual(axfr(self.srv.port), before)

    def test_13_zone_not_served(self):
        before = axfr(self.srv.port)
        rc, words = self.NOT_SERVED
        p = self.publish(dh.V3, "mail.elsewhere.test", zone="elsewhere.test")
        self.assertRc(p, rc)
        self.assertEqual(self.assertOneLine(p, "stderr"),
                         f"onionmx-publish: mail.elsewhere.test: {words} "
                         f"(zone elsewhere.test, server {self.server})")
        self.assertEqual(axfr(self.srv.port), before)

    def test_14_closed_port_and_silent_server(self):
        port = dh.free_port()
        for extra in ([], ["--tcp"]):
            with self.subTest(closed=extra):
                p = run([PUBLISH, "update", "--server", f"127.0.0.1:{port}", "--tsig",
                         f"{KEY[0]}:{KEY[2]}", "--onion", dh.V1, "--timeout", "1"] + extra +
                        ["x.pub.test"])
                self.assertRc(p, EXIT_NOANSWER)
                self.assertRegex(self.assertOneLine(p, "stderr"),
                                 r"x\.pub\.test: NO ANSWER: .*Connection refused")
        silent = SilentPort()
        try:
            for extra in ([], ["--tcp"]):
                with self.subTest(silent=extra):
                    p = run([PUBLISH, "update", "--server", f"127.0.0.1:{silent.port}", "--tsig",
                             f"{KEY[0]}:{KEY[2]}", "--onion", dh.V1, "--timeout", "1.5"] + extra +
                            ["x.pub.test"])
                    self.assertRc(p, EXIT_NOANSWER)
                    self.assertIn(f"x.pub.test: NO ANSWER: timed out after 1.5 s waiting for "
                                  f"127.0.0.1:{silent.port}", self.assertOneLine(p, "stderr"))
                    self.assertGreater(p.elapsed, 1.4)
                    self.assertLess(p.elapsed, 5)
            self.assertGreaterEqual(silent.arrivals()[0], 1)
        finally:
            silent.close()

    def test_15_dry_run_sends_nothing(self):
        before = axfr(self.srv.port)
        silent = SilentPort()
        try:
            p = run([PUBLISH, "update", "--server", f"127.0.0.1:{silent.port}", "--tsig",
                     f"{KEY[0]}:{KEY[2]}", "--onion", dh.V3, "--zone", ZONE, "--dry-run",
                     "dry.pub.test"])
            time.sleep(0.2)
            self.assertEqual(silent.arrivals(), (0, 0))
        finally:
            silent.close()
        self.assertRc(p, EXIT_OK)
        self.assertIn(";; UPDATE SECTION:", p.stdout)
        self.assertIn(f"{P}dry.pub.test. 300 IN SRV 0 0 25 {dh.V3}.", p.stdout)
        self.assertIn("ANY TSIG hmac-sha256.", p.stdout)
        self.assertNotRegex(p.stdout, r"(?m)^NOERROR ")
        # Without --server too.
        q = run([PUBLISH, "update", "--tsig", f"{KEY[0]}:{KEY[2]}", "--onion", dh.V3,
                 "--zone", ZONE, "--dry-run", "dry.pub.test"])
        self.assertRc(q, EXIT_OK)
        self.assertEqual(axfr(self.srv.port), before)
        # The printed message is the real signed UPDATE: sent by hand, the
        # server verifies its TSIG and applies exactly what `records` prints.
        msgs = dry_run_messages(p.stdout)
        self.assertEqual(len(msgs), 1, p.stdout)
        self.assertEqual(send_udp(self.srv.port, msgs[0]), 0)
        after = axfr(self.srv.port)
        self.assertEqual(self.published(after, "dry.pub.test"),
                         self.records(["--onion", dh.V3], "dry.pub.test"))
        self.assertEqual(after - self.published(after, "dry.pub.test"), before)

    def test_16_bad_inputs_are_usage_errors(self):
        bad_onion = "boqqpp7tzyil4hlq3umoos6atft6jvrqtosq2xy53sdgiesvgg4bqead.onion"
        cases = [
            (bad_onion, "mail.pub.test", ZONE, "checksum"),
            (dh.V1, "bad..domain", None, "empty label"),
            (dh.V1, "mail.pub.test", "other.test", "not inside zone other.test"),
            (dh.V1, "x.onion", None, "onion name needs no DNS record"),
        ]
        for onion, domain, zone, why in cases:
            p = self.publish(onion, domain, zone=zone)
            self.assertRc(p, EXIT_USAGE)
            self.assertIn(why, p.stderr)
        p = self.publish(dh.V1, "mail.pub.test", key="onionmx-key:not-base64")
        self.assertRc(p, EXIT_USAGE)

    def test_17_narrow_key_refuses_other_names_and_types(self):
        # The narrow grant (BIND) and ACL (Knot, update-type and
        # update-owner) of docs/onionmx-publish.md: the SOA prerequisite
        # still passes, other owners and other types are refused.
        key = f"{NARROW[0]}:{NARROW[2]}"
        self.assertRc(self.publish(dh.V1, "mail.pub.test", key=key), EXIT_OK)
        before = axfr(self.srv.port)
        p = self.publish(dh.V1, "pub.test", key=key)
        rc, words = self.NARROW_DENIED
        self.assertRc(p, rc)
        self.assertTrue(self.assertOneLine(p, "stderr").startswith(
            f"onionmx-publish: pub.test: {words}"), p.stderr)
        self.assertEqual(axfr(self.srv.port), before)
        self.assertNarrowKeyTypes()

    def test_18_errors_are_distinct(self):
        # The failures of issue 11 side by side: pairwise different exit
        # codes and different words in front of the message.
        silent = SilentPort()
        try:
            cases = {
                "badsig": self.publish(dh.V3, "mail.pub.test", key=f"{KEY[0]}:{WRONG_SECRET}"),
                "badkey": self.publish(dh.V3, "mail.pub.test", key=f"no-such-key:{KEY[2]}"),
                "not-served": self.publish(dh.V3, "mail.elsewhere.test", zone="elsewhere.test"),
                "timeout": run([PUBLISH, "update", "--server", f"127.0.0.1:{silent.port}",
                                "--tsig", f"{KEY[0]}:{KEY[2]}", "--onion", dh.V1, "--timeout",
                                "1", "x.pub.test"]),
            }
        finally:
            silent.close()
        if dh.shutil.which("faketime"):
            cases["badtime"] = self.publish(dh.V3, "mail.pub.test", wrap=faketime_argv(3600))
        codes = {k: p.returncode for k, p in cases.items()}
        words = {k: p.stderr.split(": ")[2] for k, p in cases.items()}
        self.assertEqual(len(set(codes.values())), len(cases), codes)
        self.assertEqual(len(set(words.values())), len(cases), words)
        self.assertNotIn(EXIT_OK, codes.values())

    def test_19_several_domains_all_tried(self):
        # Without --zone each domain is its own zone: pub.test is one,
        # elsewhere.test is not served.  The first is applied, the second
        # fails, the exit status is the failure's.
        before = axfr(self.srv.port)
        p = self.publish(dh.V1, "elsewhere.test", "pub.test", zone=None)
        self.assertRc(p, self.NOT_SERVED[0])
        self.assertEqual(self.assertOneLine(p),
                         f"NOERROR pub.test -> {dh.V1}:25 (zone pub.test, server {self.server})")
        self.assertIn("elsewhere.test: ", self.assertOneLine(p, "stderr"))
        after = axfr(self.srv.port)
        self.assertEqual(self.published(after, "pub.test"),
                         self.records(["--onion", dh.V1], "pub.test"))
        self.assertEqual(after - self.published(after, "pub.test"),
                         before - self.published(before, "pub.test"))


NOT_AUTH = "NOTAUTH: the server is not authoritative for the zone"


class BindPublish(PublishTests, unittest.TestCase):
    # named 9.18 answers NOTAUTH, signed with the request's key.
    NOT_SERVED = (EXIT_NOTAUTH, NOT_AUTH)
    # update-policy "grant narrow-key name ... SRV TXT": REFUSED.
    NARROW_DENIED = (EXIT_REFUSED, "REFUSED: the server refused the update")

    @staticmethod
    def start_server(workdir, zones, keys, serials):
        keys = dict(keys, **{NARROW[0]: (NARROW[1], NARROW[2])})
        return dh.BindServer(workdir, zones, keys, serials=serials,
                             grants={NARROW[0]: NARROW_GRANT}, transfer_key=KEY[0]).start()


class KnotPublish(PublishTests, unittest.TestCase):
    # knotd 3.2 answers NOTAUTH unsigned (the key is checked per zone).
    NOT_SERVED = (EXIT_NOTAUTH, NOT_AUTH + "; response TSIG unsigned")
    # An update its ACL forbids: NOTAUTH with TSIG error BADKEY.
    NARROW_DENIED = (EXIT_BADKEY, "BADKEY: NOTAUTH (TSIG error BADKEY)")

    @staticmethod
    def start_server(workdir, zones, keys, serials):
        keys = dict(keys, **{NARROW[0]: (NARROW[1], NARROW[2])})
        return dh.KnotServer(workdir, zones, name="knot-publish", serials=serials,
                             tsig_keys=keys, transfer_key=KEY[0],
                             update_acls={NARROW[0]: KNOT_NARROW_ACL}).start()


if __name__ == "__main__":
    unittest.main()
