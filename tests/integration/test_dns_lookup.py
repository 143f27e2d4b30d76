#!/usr/bin/python3
"""onionmx-lookup against real DNS servers on loopback (see dnsharness.py).

The CLI comes from $ONIONMX_LOOKUP (meson sets it); by hand:
    ONIONMX_LOOKUP=build/tools/onionmx-lookup/onionmx-lookup \
        /usr/bin/python3 tests/integration/test_dns_lookup.py -v
Exit 77 (meson: skipped) only when knotd/unbound/bind9-utils are missing.
Expected answers are derived from the generated zones (dnsharness), never
from the program's own output.
"""

import json
import math
import os
import random
import re
import signal
import subprocess
import sys
import tempfile
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import dnsharness as dh  # noqa: E402

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
LOOKUP = os.environ.get("ONIONMX_LOOKUP") or os.path.join(
    REPO, "build", "tools", "onionmx-lookup", "onionmx-lookup")

STATUSES = {"found", "notfound", "temp", "perm"}
SOURCES = {"onion-address", "map", "cache", "dns", "local", "policy", "none"}
EXIT_FOUND, EXIT_NOTFOUND, EXIT_TEMP, EXIT_PERM = 0, 1, 2, 3
DEFAULT_TIMEOUT = "5"
P = dh.SRV_PREFIX

H = None  # the shared harness (Knot + unbound), started once per module


def setUpModule():
    global H
    H = dh.Harness().start()


def tearDownModule():
    if H:
        H.close()


class CliResult:
    def __init__(self, argv, proc, elapsed):
        self.argv, self.rc, self.elapsed = argv, proc.returncode, elapsed
        self.out, self.err = proc.stdout, proc.stderr

    def lines(self):
        return self.out.splitlines()

    def __str__(self):
        return (f"$ {' '.join(self.argv)}\nrc={self.rc} elapsed={self.elapsed:.2f}s\n"
                f"stdout:\n{self.out[:3000]}\nstderr:\n{self.err[:3000]}")


def run_cli(args, stdin=None, timeout=120):
    if not (os.path.isfile(LOOKUP) and os.access(LOOKUP, os.X_OK)):
        raise AssertionError(f"onionmx-lookup not found at {LOOKUP} (set ONIONMX_LOOKUP)")
    argv = [LOOKUP] + list(args)
    t0 = time.monotonic()
    proc = subprocess.run(argv, input=stdin, capture_output=True, text=True, timeout=timeout,
                          env=dict(os.environ, LC_ALL="C"))
    return CliResult(argv, proc, time.monotonic() - t0)


class LookupCase(unittest.TestCase):
    """Helpers shared by the CLI tests."""
    maxDiff = None

    def server(self):
        return f"127.0.0.1:{H.knot.port}"

    def lookup(self, *keys, server=None, extra=(), stdin_keys=None, timeout=DEFAULT_TIMEOUT,
               fmt="json"):
        args = ["--format", fmt, "--server", server or self.server(), "--timeout", timeout]
        args += list(extra)
        stdin = None
        if stdin_keys is not None:
            args.append("-")
            stdin = "".join(k + "\n" for k in stdin_keys)
        else:
            args += list(keys)
        return run_cli(args, stdin=stdin)

    def objects(self, res, count, explain=False):
        """Parse and schema-check the JSON lines of res."""
        lines = [ln for ln in res.lines() if ln.strip()]
        self.assertEqual(len(lines), count, f"expected {count} JSON lines\n{res}")
        objs = []
        for ln in lines:
            try:
                o = json.loads(ln)
            except ValueError as e:
                self.fail(f"not JSON: {ln!r} ({e})\n{res}")
            self.check_schema(o, res, explain)
            objs.append(o)
        return objs

    def check_schema(self, o, res, explain=False):
        ctx = f"{o}\n{res}"
        for field, typ in (("key", str), ("domain", str), ("status", str), ("routes", list),
                           ("source", str), ("reason", str), ("ttl", int),
                           ("authenticated", bool), ("stale", bool), ("age", int)):
            self.assertIn(field, o, ctx)
            self.assertIsInstance(o[field], typ, f"field {field}: {ctx}")
        self.assertIn(o["status"], STATUSES, ctx)
        self.assertIn(o["source"], SOURCES, ctx)
        self.assertNotIsInstance(o["ttl"], bool, ctx)
        self.assertGreaterEqual(o["ttl"], 0, ctx)
        for r in o["routes"]:
            for field in ("onion", "port", "priority", "weight"):
                self.assertIn(field, r, ctx)
            self.assertIsInstance(r["onion"], str, ctx)
            for field in ("port", "priority", "weight"):
                self.assertIsInstance(r[field], int, ctx)
                self.assertFalse(isinstance(r[field], bool), ctx)
        if o["status"] == "found":
            self.assertTrue(o["routes"], f"found without routes: {ctx}")
        else:
            self.assertEqual(o["routes"], [], f"routes on a non-found answer: {ctx}")
            self.assertTrue(o["reason"].strip(), f"{o['status']} without a reason: {ctx}")
        if explain:
            self.assertIn("explain", o, ctx)
            self.assertIsInstance(o["explain"], list, ctx)
            self.assertTrue(all(isinstance(x, str) for x in o["explain"]), ctx)

    @staticmethod
    def route_set(o):
        return {(r["onion"].rstrip(".").lower(), r["port"], r["priority"], r["weight"])
                for r in o["routes"]}

    def one(self, key, expect_rc=None, **kw):
        res = self.lookup(key, **kw)
        o = self.objects(res, 1, explain="--explain" in kw.get("extra", ()))[0]
        self.assertEqual(o["key"], key, res)
        if expect_rc is not None:
            self.assertEqual(res.rc, expect_rc, res)
        return o, res

    def assert_found(self, label, zone=None, **kw):
        zone = zone or H.zone
        key = f"{label}.{zone.origin}"
        o, res = self.one(key, expect_rc=EXIT_FOUND, **kw)
        self.assertEqual(o["status"], "found", res)
        self.assertEqual(o["source"], "dns", res)
        self.assertEqual(o["domain"].lower(), key, res)
        self.assertEqual(self.route_set(o), dh.expected_routes(zone, label), res)
        return o, res

    def assert_notfound(self, key, **kw):
        o, res = self.one(key, expect_rc=EXIT_NOTFOUND, **kw)
        self.assertEqual(o["status"], "notfound", res)
        return o, res

    def assert_temp(self, key, **kw):
        o, res = self.one(key, expect_rc=EXIT_TEMP, **kw)
        self.assertEqual(o["status"], "temp", res)
        return o, res


# --------------------------------------------------------------------------

class HarnessSelfTest(unittest.TestCase):
    """The harness itself: vectors, and the servers answer what the zones say.
    These do not use the CLI; they make the expectations below trustworthy."""

    def test_onion_rules_match_the_documented_vectors(self):
        seed = bytes.fromhex("9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60")
        self.assertEqual(dh.ed25519_public_key(seed).hex(), dh.VALID_VECTORS[dh.V3])
        for onion, pk in dh.VALID_VECTORS.items():
            self.assertEqual(dh.onion_from_pk(bytes.fromhex(pk)), onion)
            self.assertIsNone(dh.onion_verdict(onion), onion)
        for label, verdict in dh.INVALID_VECTORS.items():
            self.assertEqual(dh.onion_verdict(label + ".onion"), verdict, label)
        big = dh.random_onions(dh.BIG_COUNT)
        self.assertEqual(len(set(big)), dh.BIG_COUNT)
        self.assertTrue(all(dh.onion_verdict(o) is None for o in big))

    def test_knot_serves_the_scenarios(self):
        port = H.knot.port
        r = dh.dns_query(port, P + "mail1.onionmx.test", dh.TYPE_SRV)
        self.assertTrue(r.aa)
        self.assertEqual([x[3] for x in r.records(dh.TYPE_SRV)], [(0, 5, 25, dh.V1)])
        self.assertEqual(r.records(dh.TYPE_SRV)[0][2], 600)
        r = dh.dns_query(port, P + "outalias.onionmx.test", dh.TYPE_SRV)
        self.assertEqual(r.records(dh.TYPE_CNAME)[0][3], P + "mail1.other.test")
        self.assertEqual(r.records(dh.TYPE_SRV), [], "Knot must not chase out-of-zone CNAMEs")
        r = dh.dns_query(port, P + "nodata.onionmx.test", dh.TYPE_SRV)
        self.assertEqual((r.rcode, r.answer), (dh.RCODE_NOERROR, []))
        self.assertEqual(r.records(dh.TYPE_SOA, "authority")[0][2], 60)
        r = dh.dns_query(port, P + "nxdomain.onionmx.test", dh.TYPE_SRV)
        self.assertEqual(r.rcode, dh.RCODE_NXDOMAIN)
        self.assertEqual(r.records(dh.TYPE_SOA, "authority")[0][2], 60)
        r = dh.dns_query(port, P + "big.onionmx.test", dh.TYPE_SRV, edns=1232)
        self.assertTrue(r.tc, "big must be truncated over UDP with EDNS 1232")
        r = dh.dns_query(port, P + "big.onionmx.test", dh.TYPE_SRV, tcp=True)
        self.assertEqual({x[3][3] for x in r.records(dh.TYPE_SRV)},
                         set(dh.random_onions(dh.BIG_COUNT)))

    def test_unbound_validates(self):
        port = H.unbound.port
        r = dh.dns_query(port, P + "mail1.signed.test", dh.TYPE_SRV, do=True, timeout=5)
        self.assertEqual(r.rcode, dh.RCODE_NOERROR)
        self.assertTrue(r.ad, "AD expected for the signed zone")
        self.assertTrue(r.records(dh.TYPE_RRSIG))
        r = dh.dns_query(port, P + "mail1.unsigned.test", dh.TYPE_SRV, do=True, timeout=5)
        self.assertEqual(r.rcode, dh.RCODE_NOERROR)
        self.assertFalse(r.ad, "no AD for the unsigned zone")
        r = dh.dns_query(port, P + "mail1.bogus.test", dh.TYPE_SRV, do=True, timeout=5)
        self.assertEqual(r.rcode, dh.RCODE_SERVFAIL)
        # only the corrupted RRset is bogus
        r = dh.dns_query(port, P + "multi.bogus.test", dh.TYPE_SRV, do=True, timeout=5)
        self.assertEqual(r.rcode, dh.RCODE_NOERROR)
        self.assertTrue(r.ad)

    def test_query_counter_counts(self):
        before = H.knot.query_counts()
        dh.dns_query(H.knot.port, P + "mail1.onionmx.test", dh.TYPE_SRV)
        dh.dns_query(H.knot.port, P + "mail1.onionmx.test", dh.TYPE_SRV, tcp=True)
        after = H.knot.query_counts()
        self.assertEqual(after["query"] - before["query"], 2)
        self.assertEqual(after["udp"] - before["udp"], 1)
        self.assertEqual(after["tcp"] - before["tcp"], 1)


class DnsLookupTest(LookupCase):
    """Authoritative Knot, plain DNS."""

    def test_mail1_found(self):
        o, res = self.assert_found("mail1")
        self.assertEqual([r["port"] for r in o["routes"]], [25])
        self.assertGreater(o["ttl"], 0, res)
        self.assertLessEqual(o["ttl"], 600, res)
        self.assertFalse(o["authenticated"], "Knot direct: no validation, no AD")

    def test_user_at_domain_is_case_insensitive(self):
        key = "Alice.Smith@MAIL1.OnionMX.Test"
        o, res = self.one(key, expect_rc=EXIT_FOUND)
        self.assertEqual(o["status"], "found", res)
        self.assertEqual(o["domain"].lower(), "mail1.onionmx.test", res)
        self.assertEqual(self.route_set(o), dh.expected_routes(H.zone, "mail1"), res)

    def test_multi_priority_order_and_no_backup(self):
        o, res = self.assert_found("multi")
        prios = [r["priority"] for r in o["routes"]]
        self.assertEqual(prios[0], 10, res)
        self.assertEqual(prios, sorted(prios), res)
        self.assertNotIn("backup.example.net", res.out)

    def test_multi_weighted_first_route_statistics(self):
        """RFC 2782 weights (docs/test-vectors.md §3) over 2000 lookups in one stdin batch.
        The distribution is computed over the answers that came back found;
        that every answer must be found is test_large_stdin_batch_all_found."""
        n_keys = 2000
        key = "multi.onionmx.test"
        res = self.lookup(stdin_keys=[key] * n_keys, timeout="10")
        objs = self.objects(res, n_keys)
        self.assertEqual([o["key"] for o in objs], [key] * n_keys)
        found = [o for o in objs if o["status"] == "found"]
        self.assertTrue(all(o["status"] in ("found", "temp") for o in objs), res)
        self.assertGreaterEqual(len(found), 1000, f"too few answers for statistics\n{res}")
        n = len(found)
        expected_set = dh.expected_routes(H.zone, "multi")
        firsts = {}
        for o in found:
            self.assertEqual(self.route_set(o), expected_set)
            self.assertEqual(o["routes"][0]["priority"], 10)
            first = o["routes"][0]["onion"].rstrip(".").lower()
            firsts[first] = firsts.get(first, 0) + 1
        probs = dh.first_route_probabilities(H.zone.srv[P + "multi"])
        self.assertEqual(set(firsts) - set(probs), set(), firsts)
        chi2 = 0.0
        report = []
        for onion, p in probs.items():
            got = firsts.get(onion, 0)
            mean, sd = n * p, math.sqrt(n * p * (1 - p))
            report.append(f"{onion[:8]}: got {got}, expected {mean:.1f} ± {sd:.1f}")
            chi2 += (got - mean) ** 2 / mean
        msg = f"n={n}: " + "; ".join(report) + f"; chi2={chi2:.1f}"
        for onion, p in probs.items():
            got = firsts.get(onion, 0)
            mean, sd = n * p, math.sqrt(n * p * (1 - p))
            # 5 standard deviations (false alarm < 1e-6): catches a uniform
            # order (1/3 each), a fixed order, or weights ignored
            self.assertLess(abs(got - mean), 5 * sd + 1, msg)
        # df = 2; P(chi2 > 25) ~ 4e-6
        self.assertLess(chi2, 25, msg)
        # The weight-0 RR comes first with probability 1/(sum+1) = 1/81
        # (x = 0 drawn from [0, sum] inclusive). The classic slip, x from
        # [0, sum) or [1, sum], makes it never first, which the 5-sigma band
        # above cannot see (~19 expected, sd ~4). P(0 of n >= 1000 | 1/81) < 5e-6.
        zero_weight = [s[3].rstrip(".") for s in H.zone.srv[P + "multi"]
                       if s[1] == 0 and dh.onion_verdict(s[3]) is None]
        for onion in zero_weight:
            self.assertGreater(firsts.get(onion, 0), 0, f"weight-0 {onion} never first; {msg}")
        print(f"\n    weighted first route: {msg}", file=sys.stderr)

    def test_large_stdin_batch_all_found(self):
        """2000 keys (6 domains, mixed spellings) against a loopback
        authoritative server that answers ~90k qps: every one must be found."""
        names = ["mail1", "multi", "port2525", "alias", "subdom", "badtargets"]
        rng = random.Random(2000)
        keys = []
        for i in range(2000):
            label = rng.choice(names)
            keys.append(f"user{i}@{label}.onionmx.test" if i % 2 else f"{label}.onionmx.test")
        q0, drops0 = H.knot.query_counts(), dh.udp_rcvbuf_errors()
        res = self.lookup(stdin_keys=keys, timeout="10")
        q1, drops1 = H.knot.query_counts(), dh.udp_rcvbuf_errors()
        objs = self.objects(res, len(keys))
        self.assertEqual([o["key"] for o in objs], keys)
        bad = [(o["key"], o["status"], o["reason"]) for o in objs if o["status"] != "found"]
        self.assertEqual(len(bad), 0, (
            f"{len(bad)} of {len(keys)} not found, e.g. {bad[:5]}; Knot answered "
            f"{q1['query'] - q0['query']} queries meanwhile; kernel UDP RcvbufErrors "
            f"+{drops1 - drops0} (replies dropped at a full socket receive buffer)"))
        for key, o in zip(keys, objs):
            label = key.split("@")[-1].split(".")[0]
            self.assertEqual(self.route_set(o), dh.expected_routes(H.zone, label), key)
        self.assertEqual(res.rc, EXIT_FOUND, res)

    def test_port2525_json_postfix_opensmtpd(self):
        o, res = self.assert_found("port2525")
        self.assertEqual([r["port"] for r in o["routes"]], [2525], res)
        key = "port2525.onionmx.test"
        res = self.lookup(key, fmt="postfix")
        self.assertEqual(res.rc, EXIT_FOUND, res)
        self.assertEqual(res.lines(), [f"OK smtptor:[{dh.V2}]:2525"], res)
        res = self.lookup(key, fmt="opensmtpd")
        self.assertEqual(res.rc, EXIT_FOUND, res)
        self.assertEqual(res.lines(), [f"smtp+notls://{dh.V2}:2525"], res)
        res = self.lookup(key, fmt="text")
        self.assertEqual(res.rc, EXIT_FOUND, res)
        self.assertIn(dh.V2, res.out, res)
        self.assertIn("2525", res.out, res)

    def test_none_target_dot_is_notfound(self):
        o, res = self.assert_notfound("none.onionmx.test")
        self.assertLessEqual(o["ttl"], 300, res)
        res = self.lookup("none.onionmx.test", fmt="postfix")
        self.assertEqual(res.rc, EXIT_NOTFOUND, res)
        self.assertEqual(res.out, "NOTFOUND \n", res)

    def test_badtargets_keeps_only_the_valid_onion(self):
        o, res = self.assert_found("badtargets")
        self.assertEqual(self.route_set(o), {(dh.V2, 25, 10, 10)}, res)

    def test_badtargets_explain_names_each_dropped_target_and_reason(self):
        o, res = self.one("badtargets.onionmx.test", expect_rc=EXIT_FOUND, extra=["--explain"])
        self.assertEqual(self.route_set(o), {(dh.V2, 25, 10, 10)}, res)
        patterns = {"not an onion": r"onion", "v2 unsupported": r"v2|16",
                    "bad checksum": r"checksum", "bad key": r"key|point"}
        for target, verdict in dh.BADTARGETS:
            name = target.rstrip(".").lower()
            label = name[:-len(".onion")] if name.endswith(".onion") else name
            lines = [ln for ln in o["explain"] if label in ln.lower()]
            self.assertTrue(lines, f"no explain line names dropped target {name}\n{res}")
            self.assertTrue(any(re.search(patterns[verdict], ln, re.I) for ln in lines),
                            f"explain for {name} does not give its reason ({verdict}): {lines}")

    def test_allbad_is_notfound_with_reason(self):
        self.assertEqual(dh.expected_routes(H.zone, "allbad"), set())
        o, res = self.assert_notfound("allbad.onionmx.test")
        self.assertTrue(o["reason"].strip(), res)

    def test_in_zone_cname(self):
        o, res = self.assert_found("alias")
        # the answer lives no longer than the shortest TTL of the chain
        self.assertLessEqual(o["ttl"], H.zone.default_ttl, res)
        self.assertGreater(o["ttl"], 0, res)

    def test_out_of_zone_cname_is_requeried(self):
        before = H.knot.query_counts()
        o, res = self.one("outalias.onionmx.test", expect_rc=EXIT_FOUND)
        after = H.knot.query_counts()
        self.assertEqual(o["status"], "found", res)
        self.assertEqual(self.route_set(o), dh.expected_routes(H.other, "mail1"), res)
        self.assertLessEqual(o["ttl"], H.zone.default_ttl, "CNAME TTL 300 < SRV TTL 600")
        self.assertGreaterEqual(after["query"] - before["query"], 2,
                                "Knot answered only the CNAME: the client had to ask again")

    def test_nxdomain_and_nodata_are_notfound(self):
        for key in ("nxdomain.onionmx.test", "nodata.onionmx.test"):
            with self.subTest(key=key):
                o, res = self.assert_notfound(key)
                # negative TTL = min(SOA TTL, SOA MINIMUM) = 60 (RFC 2308)
                self.assertGreater(o["ttl"], 0, res)
                self.assertLessEqual(o["ttl"], 60, res)

    def test_big_rrset_truncated_then_tcp(self):
        before = H.knot.query_counts()
        o, res = self.assert_found("big")
        after = H.knot.query_counts()
        self.assertEqual(len(o["routes"]), dh.BIG_COUNT, res)
        self.assertGreaterEqual(after["udp"] - before["udp"], 1, "first try over UDP")
        self.assertGreaterEqual(after["tcp"] - before["tcp"], 1, "TC=1 must be retried over TCP")

    def test_tcp_flag(self):
        before = H.knot.query_counts()
        o, res = self.assert_found("big", extra=["--tcp"])
        self.assertEqual(len(o["routes"]), dh.BIG_COUNT, res)
        self.assert_found("mail1", extra=["--tcp"])
        after = H.knot.query_counts()
        self.assertEqual(after["udp"] - before["udp"], 0, "--tcp must not use UDP")
        self.assertGreaterEqual(after["tcp"] - before["tcp"], 2)

    def test_no_tcp_overrides_dns_tcp_true_in_the_config_file(self):
        with tempfile.TemporaryDirectory() as d:
            conf = os.path.join(d, "onionmx.toml")
            with open(conf, "w", encoding="utf-8") as f:
                f.write("[dns]\ntcp = true\n")
            before = H.knot.query_counts()
            self.assert_found("mail1", extra=["--config", conf])
            mid = H.knot.query_counts()
            self.assertEqual(mid["udp"] - before["udp"], 0, "control: the file says TCP only")
            self.assertGreaterEqual(mid["tcp"] - before["tcp"], 1)
            self.assert_found("mail1", extra=["--config", conf, "--no-tcp"])
            after = H.knot.query_counts()
            self.assertEqual(after["tcp"] - mid["tcp"], 0, "--no-tcp: mail1's answer fits UDP")
            self.assertGreaterEqual(after["udp"] - mid["udp"], 1)
            res = run_cli(["--server", self.server(), "--config", conf, "--tcp", "--no-tcp",
                           "mail1.onionmx.test"])
            self.assertEqual(res.rc, EXIT_PERM, res)

    def test_subdomain_target_kept(self):
        o, res = self.assert_found("subdom")
        self.assertEqual(o["routes"][0]["onion"].rstrip("."), "smtp." + dh.V1, res)

    def test_onion_recipient_sends_no_dns_query(self):
        before = H.knot.query_counts()
        o, res = self.one("someone@" + dh.V1, expect_rc=EXIT_FOUND)
        mid = H.knot.query_counts()
        self.assertEqual(o["status"], "found", res)
        self.assertEqual(o["source"], "onion-address", res)
        self.assertEqual(o["routes"][0]["onion"].rstrip("."), dh.V1, res)
        self.assertEqual(mid, before, "an .onion recipient must not reach DNS (RFC 7686)")
        # control: the counter does see the CLI's queries
        self.assert_found("mail1")
        self.assertGreater(H.knot.query_counts()["query"], mid["query"])

    def test_invalid_onion_recipient_is_perm_without_dns(self):
        for label, verdict in (("boqqpp7tzyil4hlq3umoos6atft6jvrqtosq2xy53sdgiesvgg4bqead",
                                "bad checksum"), ("expyuzz4wqqyqhjn", "v2 unsupported")):
            with self.subTest(verdict=verdict):
                self.assertEqual(dh.onion_verdict(label + ".onion"), verdict)
                before = H.knot.query_counts()
                o, res = self.one(f"bob@{label}.onion", expect_rc=EXIT_PERM)
                self.assertEqual(o["status"], "perm", res)
                self.assertEqual(o["source"], "onion-address", res)
                self.assertEqual(H.knot.query_counts(), before, "an .onion name must not reach DNS")
                res = self.lookup(f"bob@{label}.onion", fmt="postfix")
                self.assertRegex(res.out, r"^PERM \S.*\n$", res)

    def test_u_label_keys_are_looked_up_as_their_a_label(self):
        a_label = "xn--bcher-kva." + H.zone.origin
        for key in ("user@b\u00fccher." + H.zone.origin, "B\u00dcCHER." + H.zone.origin + "."):
            with self.subTest(key=key):
                o, res = self.one(key, expect_rc=EXIT_FOUND)
                self.assertEqual(o["status"], "found", res)
                self.assertEqual(o["domain"], a_label, res)
                self.assertEqual(self.route_set(o), dh.expected_routes(H.zone, "xn--bcher-kva"),
                                 res)
        before = H.knot.query_counts()
        o, res = self.one("user@\u2488x." + H.zone.origin, expect_rc=EXIT_NOTFOUND)
        self.assertEqual(o["source"], "none", res)
        self.assertIn("IDNA", o["reason"], res)
        self.assertEqual(H.knot.query_counts(), before, "an invalid IDN is not looked up")

    def test_stdin_line_with_a_nul_byte_is_refused_whole_without_dns(self):
        before = H.knot.query_counts()
        res = run_cli(["--format", "json", "--server", self.server(), "--timeout",
                       DEFAULT_TIMEOUT, "-"], stdin="a\0b.example\nmail1.onionmx.test\n")
        mid = H.knot.query_counts()
        o, control = self.objects(res, 2)
        self.assertEqual(o["key"], "a\0b.example", res)
        self.assertEqual(o["status"], "notfound", res)
        self.assertEqual(o["source"], "none", res)
        self.assertEqual(o["reason"], "no routable domain in key: key contains a NUL byte", res)
        self.assertEqual(control["status"], "found", res)
        # Only the control key reached the server: not "a", not "b.example"
        # (its SRV, policy TXT, _mta-sts TXT and MX queries: docs/route-trust.md).
        self.assertEqual(mid["query"] - before["query"], 4, res)
        self.assertEqual(res.rc, EXIT_NOTFOUND, res)

    def test_stdin_batch_keeps_input_order(self):
        cases = {  # key -> expected status
            "big.onionmx.test": "found",          # slow one (TCP retry) first
            "nxdomain.onionmx.test": "notfound",
            "mail1.onionmx.test": "found",
            "postmaster@" + dh.V2: "found",
            "Bob@PORT2525.onionmx.test": "found",
            "none.onionmx.test": "notfound",
            "alias.onionmx.test": "found",
            "outalias.onionmx.test": "found",
            "nodata.onionmx.test": "notfound",
            "badtargets.onionmx.test": "found",
            "allbad.onionmx.test": "notfound",
            "subdom.onionmx.test": "found",
        }
        keys = list(cases)
        rng = random.Random(7)
        keys += [rng.choice(list(cases)) for _ in range(60)]
        res = self.lookup(stdin_keys=keys)
        objs = self.objects(res, len(keys))
        self.assertEqual([o["key"] for o in objs], keys, res)
        self.assertEqual([o["status"] for o in objs], [cases[k] for k in keys], res)
        self.assertEqual(res.rc, EXIT_NOTFOUND, res)

    def test_server_option_takes_one_value(self):
        """--server IP[:PORT] is one value per occurrence: a key right after it
        is a key, not a second server."""
        for args in (["--format", "json", "--server", self.server(), "mail1.onionmx.test"],
                     ["--format", "json", "--server", self.server(), "--server", self.server(),
                      "mail1.onionmx.test", "port2525.onionmx.test"]):
            with self.subTest(args=args):
                res = run_cli(args)
                keys = [a for a in args[-2:] if a.endswith(".onionmx.test")]
                objs = self.objects(res, len(keys))
                self.assertEqual([o["key"] for o in objs], keys, res)
                self.assertEqual([o["status"] for o in objs], ["found"] * len(keys), res)
                self.assertEqual(res.rc, EXIT_FOUND, res)

    def test_usage_errors_exit_3(self):
        for args in (["--format", "xml", "mail1.onionmx.test"],
                     ["--dnssec", "sometimes", "mail1.onionmx.test"],
                     ["--no-such-option", "mail1.onionmx.test"]):
            with self.subTest(args=args):
                res = run_cli(["--server", self.server()] + args)
                self.assertEqual(res.rc, EXIT_PERM, res)


class DnssecLookupTest(LookupCase):
    """Through the validating unbound."""

    def server(self):
        return f"127.0.0.1:{H.unbound.port}"

    def test_signed_prefer_is_authenticated(self):
        o, res = self.assert_found("mail1", zone=H.signed, extra=["--dnssec", "prefer"])
        self.assertTrue(o["authenticated"], res)

    def test_signed_require_is_authenticated(self):
        o, res = self.assert_found("multi", zone=H.signed, extra=["--dnssec", "require"])
        self.assertTrue(o["authenticated"], res)

    def test_signed_cname_is_authenticated(self):
        o, res = self.assert_found("alias", zone=H.signed, extra=["--dnssec", "require"])
        self.assertTrue(o["authenticated"], res)

    def test_signed_off_is_not_authenticated(self):
        o, res = self.assert_found("mail1", zone=H.signed, extra=["--dnssec", "off"])
        self.assertFalse(o["authenticated"], res)

    def test_signed_nxdomain_require_is_notfound(self):
        self.assert_notfound("nxdomain.signed.test", extra=["--dnssec", "require"])

    def test_unsigned_prefer_found_unauthenticated(self):
        o, res = self.assert_found("mail1", zone=H.unsigned, extra=["--dnssec", "prefer"])
        self.assertFalse(o["authenticated"], res)

    def test_unsigned_require_with_srv_is_temp(self):
        self.assert_temp("mail1.unsigned.test", extra=["--dnssec", "require"])

    def test_unsigned_require_without_srv_is_notfound(self):
        self.assert_notfound("nosrv.unsigned.test", extra=["--dnssec", "require"])

    def test_bogus_is_temp(self):
        for mode in ("prefer", "require"):
            with self.subTest(mode=mode):
                o, res = self.assert_temp("mail1.bogus.test", extra=["--dnssec", mode])

    def test_exit_code_is_the_worst_verdict(self):
        keys = ["mail1.signed.test", "nosrv.unsigned.test", "mail1.bogus.test"]
        res = self.lookup(stdin_keys=keys, extra=["--dnssec", "prefer"])
        objs = self.objects(res, 3)
        self.assertEqual([o["status"] for o in objs], ["found", "notfound", "temp"], res)
        self.assertEqual(res.rc, EXIT_TEMP, res)
        res = self.lookup(stdin_keys=keys[:2], extra=["--dnssec", "prefer"])
        self.assertEqual(res.rc, EXIT_NOTFOUND, res)
        res = self.lookup(stdin_keys=keys + ["x@expyuzz4wqqyqhjn.onion"],
                          extra=["--dnssec", "prefer"])
        self.assertEqual([o["status"] for o in self.objects(res, 4)],
                         ["found", "notfound", "temp", "perm"], res)
        self.assertEqual(res.rc, EXIT_PERM, res)

    def test_authoritative_without_ad_prefer(self):
        o, res = self.assert_found("mail1", extra=["--dnssec", "prefer"],
                                   server=f"127.0.0.1:{H.knot.port}")
        self.assertFalse(o["authenticated"], res)


class FaultTest(LookupCase):
    """Servers that die, are absent, or never answer: temp, never notfound."""

    def test_server_killed_mid_run(self):
        z = dh.Zone("kill.test")
        z.add_srv(P + "mail1", 0, 5, 25, dh.V1 + ".", ttl=600)
        knot = dh.KnotServer(H.workdir, {"kill.test": z.text()}, name="knot-kill",
                             serials={"kill.test": z.serial}).start()
        try:
            server = f"127.0.0.1:{knot.port}"
            o, res = self.one("mail1.kill.test", expect_rc=EXIT_FOUND, server=server)
            self.assertEqual(o["status"], "found", res)
            knot.kill()
            timeout = 2
            res = self.lookup(stdin_keys=["mail1.kill.test", "other.kill.test"], server=server,
                              timeout=str(timeout))
            objs = self.objects(res, 2)
            self.assertEqual([o["status"] for o in objs], ["temp", "temp"], res)
            self.assertEqual(res.rc, EXIT_TEMP, res)
            self.assertLess(res.elapsed, timeout + 3, res)
        finally:
            knot.stop()

    def test_server_killed_with_queries_in_flight(self):
        """knotd is frozen (SIGSTOP) so the CLI's queries queue up in its socket,
        then killed (SIGKILL) while the CLI waits: every answer is temp."""
        z = dh.Zone("inflight.test")
        keys = []
        for i in range(20):
            z.add_srv(f"{P}d{i}", 0, 0, 25, dh.V1 + ".")
            keys.append(f"d{i}.inflight.test")
        knot = dh.KnotServer(H.workdir, {"inflight.test": z.text()}, name="knot-inflight",
                             serials={"inflight.test": z.serial}).start()
        cli = None
        try:
            os.kill(knot.proc.pid, signal.SIGSTOP)
            timeout = 3
            argv = [LOOKUP, "--server", f"127.0.0.1:{knot.port}", "--format", "json",
                    "--timeout", str(timeout)] + keys
            t0 = time.monotonic()
            cli = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                   stderr=subprocess.PIPE, text=True)
            dh.wait_until(lambda: dh.udp_rx_queued(knot.port) > 0, timeout,
                          "queries queued at the stopped knotd")
            knot.kill()
            out, err = cli.communicate(timeout=60)
            elapsed = time.monotonic() - t0
            res = CliResult(argv, subprocess.CompletedProcess(argv, cli.returncode, out, err),
                            elapsed)
            objs = self.objects(res, len(keys))
            self.assertEqual([o["key"] for o in objs], keys, res)
            self.assertEqual({o["status"] for o in objs}, {"temp"}, res)
            self.assertEqual(res.rc, EXIT_TEMP, res)
            self.assertLess(res.elapsed, timeout + 3, res)
        finally:
            if cli and cli.poll() is None:
                cli.kill()
                cli.wait()
            knot.stop()

    def test_port_with_nothing_listening(self):
        port = dh.free_port()
        o, res = self.assert_temp("mail1.onionmx.test", server=f"127.0.0.1:{port}", timeout="2")
        self.assertLess(res.elapsed, 2 + 3, res)

    def test_silent_udp_server_times_out(self):
        silent = dh.SilentUdp()
        try:
            o, res = self.assert_temp("mail1.onionmx.test", server=f"127.0.0.1:{silent.port}",
                                      timeout="1")
            self.assertLess(res.elapsed, 1 + 3, res)
            self.assertGreaterEqual(silent.drain(), 1, "the query should have reached the socket")
        finally:
            silent.close()

    def test_failover_to_second_server(self):
        silent = dh.SilentUdp()
        dead = dh.free_port()
        try:
            for first in (f"127.0.0.1:{dead}", f"127.0.0.1:{silent.port}"):
                with self.subTest(first=first):
                    res = run_cli(["--server", first, "--server", self.server(),
                                   "--format", "json", "--timeout", "3", "mail1.onionmx.test"])
                    o = self.objects(res, 1)[0]
                    self.assertEqual(o["status"], "found", res)
                    self.assertEqual(self.route_set(o), dh.expected_routes(H.zone, "mail1"))
                    self.assertEqual(res.rc, EXIT_FOUND, res)
                    self.assertLess(res.elapsed, 3 + 3, res)
        finally:
            silent.close()

    def test_truncated_reply_without_tcp_is_temp(self):
        """UDP says TC=1 with no records, TCP is refused: the answer is
        unknown, so temp; an empty truncated reply is not NODATA."""
        trunc = dh.TruncatingUdp()
        try:
            r = dh.dns_query(trunc.port, P + "mail1.onionmx.test", dh.TYPE_SRV)
            self.assertTrue(r.tc and r.rcode == 0 and not r.answer, "fixture sanity")
            o, res = self.assert_temp("mail1.onionmx.test", server=f"127.0.0.1:{trunc.port}",
                                      timeout="2")
            self.assertLess(res.elapsed, 2 + 3, res)
            self.assertGreaterEqual(trunc.queries, 2, "the CLI's query reached the fixture")
        finally:
            trunc.close()

    def test_postfix_temp_line(self):
        port = dh.free_port()
        res = self.lookup("mail1.onionmx.test", server=f"127.0.0.1:{port}", timeout="2",
                          fmt="postfix")
        self.assertEqual(res.rc, EXIT_TEMP, res)
        self.assertRegex(res.out, r"^TEMP \S.*\n$", res)


def load_tests(loader, _standard_tests, _pattern):
    """Harness self-checks first: when they fail, the rest is not evidence."""
    suite = unittest.TestSuite()
    for cls in (HarnessSelfTest, DnsLookupTest, DnssecLookupTest, FaultTest):
        suite.addTests(loader.loadTestsFromTestCase(cls))
    return suite


if __name__ == "__main__":
    missing = dh.require_binaries()
    if missing:
        print(f"SKIP: missing DNS server tools: {', '.join(missing)} "
              f"(install knot, unbound, bind9-utils; see .ci/setup)", file=sys.stderr)
        sys.exit(77)
    dh.install_signal_cleanup()
    prog = unittest.main(exit=False, verbosity=2)
    sys.exit(0 if prog.result.wasSuccessful() else 1)
