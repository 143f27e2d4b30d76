#!/usr/bin/python3
"""onionmx-publish against real BIND (named) and Knot (knotd) primaries.

Both servers run on free loopback ports from a private temp dir, started and
killed by PID through dnsharness.py; each serves pub.test, open to RFC 2136
updates signed with the test TSIG keys and to AXFR.  The tools come from
$ONIONMX_PUBLISH and $ONIONMX_LOOKUP (meson sets them); by hand:
    ONIONMX_PUBLISH=build/tools/onionmx-publish/onionmx-publish \\
    ONIONMX_LOOKUP=build/tools/onionmx-lookup/onionmx-lookup \\
        python3 tests/integration/test_publish.py -v
Exit 77 (meson: skipped) only when named, knotd or dig is missing.
Every expectation is checked against the servers' own view (dig AXFR,
onionmx-lookup), never against the publisher's say-so.
"""

import base64
import json
import os
import secrets
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
KEY = ("onionmx-key", "hmac-sha256", base64.b64encode(secrets.token_bytes(32)).decode())
KEY512 = ("sha512-key", "hmac-sha512", base64.b64encode(secrets.token_bytes(64)).decode())
# BIND only: may update _onion-mx._tcp.mail.pub.test SRV/TXT and nothing else.
NARROW = ("narrow-key", "hmac-sha256", base64.b64encode(secrets.token_bytes(32)).decode())
NARROW_GRANT = "name _onion-mx._tcp.mail.pub.test. SRV TXT"
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


def axfr(port):
    """The zone as dig sees it: sorted (owner, ttl, type, rdata) without SOA."""
    p = run(["dig", "+noall", "+answer", "+nocookie", "-p", str(port), "@127.0.0.1", ZONE, "AXFR"])
    if p.returncode != 0:
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


H = None


def setUpModule():
    missing = [b for b in ("named", "named-checkconf", "knotd", "dig") if dh.shutil.which(b) is None]
    if missing:
        print(f"skipped: missing {', '.join(missing)}", file=sys.stderr)
        sys.exit(77)
    for tool in (PUBLISH, LOOKUP):
        if not os.access(tool, os.X_OK):
            raise AssertionError(f"{tool} not built (set ONIONMX_PUBLISH / ONIONMX_LOOKUP)")
    dh.install_signal_cleanup()


class PublishTests:
    """Mixed into one TestCase per server kind; start_server() returns a
    started server with .port and .stop()."""

    maxDiff = None

    @classmethod
    def setUpClass(cls):
        import tempfile
        cls.workdir = tempfile.mkdtemp(prefix="onionmx-publish-")
        text, serial = zone_text()
        keys = {KEY[0]: (KEY[1], KEY[2]), KEY512[0]: (KEY512[1], KEY512[2])}
        cls.srv = cls.start_server(cls.workdir, {ZONE: text}, keys, {ZONE: serial})
        cls.server = f"127.0.0.1:{cls.srv.port}"
        cls.keyfile = os.path.join(cls.workdir, "sha512.key")
        with open(cls.keyfile, "w") as f:  # the layout tsig-keygen writes
            f.write(f'key "{KEY512[0]}" {{\n\talgorithm {KEY512[1]};\n\tsecret "{KEY512[2]}";\n}};\n')

    @classmethod
    def tearDownClass(cls):
        cls.srv.stop()
        if os.environ.get("ONIONMX_KEEP_TMP") != "1":
            dh.shutil.rmtree(cls.workdir, ignore_errors=True)

    # helpers ------------------------------------------------------------
    def publish(self, onion, *domains, key=None, extra=(), zone=ZONE):
        key = key or f"{KEY[0]}:{KEY[2]}"
        argv = [PUBLISH, "update", "--server", self.server, "--tsig", key, "--onion", onion,
                "--timeout", "5"] + (["--zone", zone] if zone else []) + list(extra) + list(domains)
        return run(argv)

    def lookup(self, key):
        p = run([LOOKUP, "--server", self.server, "--format", "json", "--timeout", "5", key])
        return p, json.loads(p.stdout.splitlines()[0]) if p.stdout.strip() else None

    def assertRc(self, p, rc):
        self.assertEqual(p.returncode, rc, f"\n$ {' '.join(p.args)}\nstdout:{p.stdout}\nstderr:{p.stderr}")

    # cases --------------------------------------------------------------
    def test_01_publish_lookup_axfr_matches_records(self):
        before = axfr(self.srv.port)
        p = self.publish(dh.V1, "mail.pub.test", extra=["--mode", "enforce", "--ttl", "600",
                                                         "--priority", "10", "--weight", "5"])
        self.assertRc(p, EXIT_OK)
        self.assertIn(f"NOERROR mail.pub.test -> {dh.V1}:25", p.stdout)
        lp, ans = self.lookup("user@mail.pub.test")
        self.assertEqual(lp.returncode, 0, lp.stdout + lp.stderr)
        self.assertEqual(ans["status"], "found")
        self.assertEqual([r["onion"] for r in ans["routes"]], [dh.V1])
        # dig AXFR == what `records` prints with the same options.
        rec = run([PUBLISH, "records", "--onion", dh.V1, "--mode", "enforce", "--ttl", "600",
                   "--priority", "10", "--weight", "5", "mail.pub.test"])
        self.assertRc(rec, EXIT_OK)
        after = axfr(self.srv.port)
        published = {r for r in after if r[0] == P + "mail.pub.test." and r[2] in ("SRV", "TXT")}
        self.assertEqual(published, zone_lines_to_rows(rec.stdout))
        self.assertEqual(after - published, before)

    def test_02_republish_replaces_and_keeps_unrelated(self):
        self.assertRc(self.publish(dh.V1, "mail.pub.test"), EXIT_OK)
        before = axfr(self.srv.port)
        self.assertRc(self.publish(dh.V2, "mail.pub.test"), EXIT_OK)
        after = axfr(self.srv.port)
        srv = [r for r in after if r[2] == "SRV"]
        self.assertEqual([r[3].split()[3] for r in srv], [dh.V2 + "."])
        txt = [r for r in after if r[0] == P + "mail.pub.test." and r[2] == "TXT"]
        self.assertEqual(len(txt), 1)
        untouched = lambda rows: {r for r in rows if not (r[0] == P + "mail.pub.test." and r[2] in ("SRV", "TXT"))}
        self.assertEqual(untouched(after), untouched(before))
        for owner, rtype, rdata in UNRELATED:
            name = ZONE + "." if owner == "@" else f"{owner}.{ZONE}."
            self.assertTrue(any(r[0] == name and r[2] == rtype for r in after), (owner, rtype))
        _, ans = self.lookup("someone@mail.pub.test")
        self.assertEqual([r["onion"] for r in ans["routes"]], [dh.V2])

    def test_03_check_ok_mismatch_missing(self):
        self.assertRc(self.publish(dh.V2, "mail.pub.test"), EXIT_OK)
        ok = run([PUBLISH, "check", "--server", self.server, "--onion", dh.V2, "mail.pub.test"])
        self.assertRc(ok, EXIT_OK)
        self.assertEqual(ok.stdout.strip(), f"OK mail.pub.test -> {dh.V2}:25")
        bad = run([PUBLISH, "check", "--server", self.server, "--onion", dh.V3, "mail.pub.test"])
        self.assertRc(bad, EXIT_MISMATCH)
        self.assertTrue(bad.stdout.startswith(f"MISMATCH mail.pub.test -> {dh.V2}:25"), bad.stdout)
        port = run([PUBLISH, "check", "--server", self.server, "--onion", dh.V2, "--port", "2525",
                    "mail.pub.test"])
        self.assertRc(port, EXIT_MISMATCH)
        missing = run([PUBLISH, "check", "--server", self.server, "--onion", dh.V2, "nomail.pub.test"])
        self.assertRc(missing, EXIT_MISMATCH)
        self.assertTrue(missing.stdout.startswith("MISSING nomail.pub.test"), missing.stdout)

    def test_04_zone_apex_domain_and_key_file_sha512(self):
        # Domain = zone (default --zone), signed with hmac-sha512 from a key file.
        p = run([PUBLISH, "update", "--server", self.server, "--tsig-file", self.keyfile,
                 "--onion", dh.V3, "pub.test"])
        self.assertRc(p, EXIT_OK)
        _, ans = self.lookup("pub.test")
        self.assertEqual([r["onion"] for r in ans["routes"]], [dh.V3])

    def test_05_tcp(self):
        self.assertRc(self.publish(dh.V1, "tcp.pub.test", extra=["--tcp"]), EXIT_OK)
        ok = run([PUBLISH, "check", "--server", self.server, "--tcp", "--onion", dh.V1, "tcp.pub.test"])
        self.assertRc(ok, EXIT_OK)

    def test_10_wrong_secret_is_badsig(self):
        before = axfr(self.srv.port)
        p = self.publish(dh.V3, "mail.pub.test", key=f"{KEY[0]}:{WRONG_SECRET}")
        self.assertRc(p, EXIT_BADSIG)
        self.assertIn("BADSIG", p.stderr)
        self.assertEqual(axfr(self.srv.port), before)

    def test_11_unknown_key_is_badkey(self):
        p = self.publish(dh.V3, "mail.pub.test", key=f"no-such-key:{KEY[2]}")
        self.assertRc(p, EXIT_BADKEY)
        self.assertIn("BADKEY", p.stderr)

    def test_12_skewed_clock_is_badtime(self):
        p = self.publish(dh.V3, "mail.pub.test", extra=["--time-offset", "3600"])
        self.assertRc(p, EXIT_BADTIME)
        self.assertIn("BADTIME", p.stderr)
        self.assertIn("server time", p.stderr)

    def test_13_zone_not_served(self):
        p = self.publish(dh.V3, "mail.elsewhere.test", zone="elsewhere.test")
        self.assertIn(p.returncode, (EXIT_NOTAUTH, EXIT_NOTZONE), p.stderr)
        self.assertRegex(p.stderr, "NOTAUTH|NOTZONE")

    def test_14_closed_port_and_silent_server(self):
        port = dh.free_port()
        p = run([PUBLISH, "update", "--server", f"127.0.0.1:{port}", "--tsig", f"{KEY[0]}:{KEY[2]}",
                 "--onion", dh.V1, "--timeout", "1", "x.pub.test"])
        self.assertRc(p, EXIT_NOANSWER)
        self.assertIn("NO ANSWER", p.stderr)
        silent = dh.SilentUdp()
        try:
            p = run([PUBLISH, "update", "--server", f"127.0.0.1:{silent.port}", "--tsig",
                     f"{KEY[0]}:{KEY[2]}", "--onion", dh.V1, "--timeout", "1.5", "x.pub.test"])
        finally:
            silent.close()
        self.assertRc(p, EXIT_NOANSWER)
        self.assertIn("timed out after 1.5 s", p.stderr)
        self.assertLess(p.elapsed, 5)

    def test_15_dry_run_sends_nothing(self):
        before = axfr(self.srv.port)
        p = self.publish(dh.V3, "mail.pub.test", extra=["--dry-run"])
        self.assertRc(p, EXIT_OK)
        self.assertIn(";; UPDATE SECTION:", p.stdout)
        self.assertIn(f"{P}mail.pub.test. 300 IN SRV 0 0 25 {dh.V3}.", p.stdout)
        self.assertIn("ANY TSIG hmac-sha256.", p.stdout)
        self.assertEqual(axfr(self.srv.port), before)

    def test_06_hs_dir(self):
        # tests/data/hs_v1 is tor's layout for V1 (hostname + public key file).
        hs = os.path.join(REPO, "tests", "data", "hs_v1")
        a = run([PUBLISH, "records", "--hs-dir", hs, "mail.pub.test"])
        b = run([PUBLISH, "records", "--onion", dh.V1, "mail.pub.test"])
        self.assertRc(a, EXIT_OK)
        self.assertEqual(a.stdout, b.stdout)
        p = run([PUBLISH, "update", "--server", self.server, "--tsig", f"{KEY[0]}:{KEY[2]}",
                 "--hs-dir", hs, "--zone", ZONE, "hs.pub.test"])
        self.assertRc(p, EXIT_OK)
        ok = run([PUBLISH, "check", "--server", self.server, "--hs-dir", hs, "hs.pub.test"])
        self.assertRc(ok, EXIT_OK)
        missing = run([PUBLISH, "records", "--hs-dir", os.path.join(self.workdir, "nope"), "x.test"])
        self.assertRc(missing, EXIT_USAGE)
        self.assertIn("--hs-dir", missing.stderr)

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


class BindPublish(PublishTests, unittest.TestCase):
    @staticmethod
    def start_server(workdir, zones, keys, serials):
        keys = dict(keys, **{NARROW[0]: (NARROW[1], NARROW[2])})
        return dh.BindServer(workdir, zones, keys, serials=serials,
                             grants={NARROW[0]: NARROW_GRANT}).start()

    def test_17_update_policy_refuses_other_names(self):
        # The narrow grant of docs/onionmx-publish.md: the SOA prerequisite
        # still passes, other owners are REFUSED.
        key = f"{NARROW[0]}:{NARROW[2]}"
        self.assertRc(self.publish(dh.V1, "mail.pub.test", key=key), EXIT_OK)
        p = self.publish(dh.V1, "pub.test", key=key)
        self.assertRc(p, EXIT_REFUSED)
        self.assertIn("REFUSED", p.stderr)


class KnotPublish(PublishTests, unittest.TestCase):
    @staticmethod
    def start_server(workdir, zones, keys, serials):
        return dh.KnotServer(workdir, zones, name="knot-publish", serials=serials,
                             tsig_keys=keys).start()


if __name__ == "__main__":
    unittest.main()
