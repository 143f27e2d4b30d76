#!/usr/bin/python3
"""Route trust (docs/route-trust.md) against real servers on loopback: the
v=ONIONMX1 policy record and its pins, and the MTA-STS / DANE downgrade
guard, through onionmx-lookup with a cache file per test (pins persist
between invocations, as they do between an MTA's lookups).

Servers (dnsharness.py): an authoritative Knot with an unsigned zone and
DNSSEC-signed zones, a validating unbound with their trust anchors, and,
for the tests whose records change between steps, a Knot (and unbound) of
their own with 1 s TTLs.  What DNS says at each step is checked on the
wire (dnsharness.dns_query), independently of the program under test.

By hand:
    ONIONMX_LOOKUP=build/tools/onionmx-lookup/onionmx-lookup \\
        /usr/bin/python3 tests/integration/test_route_trust.py -v
Exit 77 (meson: skipped) only when knotd/unbound/bind9-utils are missing.
"""

import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
import unittest
from itertools import count

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import dnsharness as dh  # noqa: E402

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
LOOKUP = os.environ.get("ONIONMX_LOOKUP") or os.path.join(
    REPO, "build", "tools", "onionmx-lookup", "onionmx-lookup")

P = dh.SRV_PREFIX
APEX_SRV = P.rstrip(".")  # the SRV owner of a zone's apex domain, relative
EXIT_FOUND, EXIT_NOTFOUND, EXIT_TEMP = 0, 1, 2
HIJACK = "possible hijack"
ORIGIN = "trust.test"          # unsigned, served by Knot directly
STS_SIGNED = "sts-signed.test"  # signed: MTA-STS and an SRV
DANE = "dane.test"             # signed: MX + TLSA (DANE) and an SRV
STS_BOGUS = "stsbogus.test"    # signed, the _mta-sts TXT's RRSIG corrupted
AGE = 3600                     # max_age of the static enforce policy
STEP_TTL = 1                   # TTL of every record in the changing zones
# A TLSA rdata (RFC 6698 §2.1: DANE-EE, SPKI, SHA-256); only presence counts.
TLSA = "3 1 1 " + "ab" * 32


def policy_text(mode, max_age=AGE):
    return f"v=ONIONMX1; mode={mode}; max_age={max_age}"


def static_zone():
    """trust.test: one domain per case, each with an SRV to V1."""
    # Negative TTL = SRV TTL: the guard's NODATA answers do not shorten
    # the cached entry, so "as before" can compare TTLs too.
    z = dh.Zone(ORIGIN, default_ttl=300, neg_ttl=300)
    txts = {"enforce": policy_text("enforce"), "testing": policy_text("testing"),
            "none": policy_text("none"),
            # docs/policy-record.md, Examples: invalid, `max_age missing`
            "malformed": "v=ONIONMX1; mode=enforce",
            # not a policy record (docs/policy-record.md, Selection)
            "spf": "v=spf1 -all",
            "notxt": None, "plain": None, "sts": None, "tlsainsecure": None}
    for label, txt in txts.items():
        z.add_srv(P + label, 0, 5, 25, dh.V1 + ".")
        if txt:
            dh.add_rr(z, P + label, "TXT", dh.txt_rdata(txt))
    dh.add_rr(z, "_mta-sts.sts", "TXT", dh.txt_rdata("v=STSv1; id=1"))
    # MX and TLSA in an unsigned zone: DANE does not apply to an insecure
    # MX RRset (RFC 7672 §2.2.1), so the guard must not fire.
    dh.add_rr(z, "tlsainsecure", "MX", "10 mx.tlsainsecure")
    dh.add_rr(z, "mx.tlsainsecure", "A", "127.0.0.1")
    dh.add_rr(z, "_25._tcp.mx.tlsainsecure", "TLSA", TLSA)
    return z


def sts_zone(origin):
    z = dh.Zone(origin, default_ttl=300, neg_ttl=60)
    z.add_srv(APEX_SRV, 0, 5, 25, dh.V1 + ".")
    dh.add_rr(z, "_mta-sts", "TXT", dh.txt_rdata("v=STSv1; id=1"))
    return z


def dane_zone():
    z = dh.Zone(DANE, default_ttl=300, neg_ttl=60)
    z.add_srv(APEX_SRV, 0, 5, 25, dh.V1 + ".")
    dh.add_rr(z, "@", "MX", "10 mx")
    dh.add_rr(z, "mx", "A", "127.0.0.1")
    dh.add_rr(z, "_25._tcp.mx", "TLSA", TLSA)
    # A secure MX without TLSA records: no DANE (RFC 7672 §2.2).
    z.add_srv(P + "notlsa", 0, 5, 25, dh.V1 + ".")
    dh.add_rr(z, "notlsa", "MX", "10 mx2")
    dh.add_rr(z, "mx2", "A", "127.0.0.1")
    return z


def step_zone(origin, serial, target=dh.V1, policy=None, srv=True):
    """A zone whose apex domain changes between steps; every TTL 1 s.
    target: one onion or a list of them."""
    z = dh.Zone(origin, serial=serial, default_ttl=STEP_TTL, neg_ttl=STEP_TTL)
    for t in ([target] if isinstance(target, str) else target) if srv else []:
        z.add_srv(APEX_SRV, 0, 5, 25, t + ".", ttl=STEP_TTL)
    if policy:
        dh.add_rr(z, APEX_SRV, "TXT", dh.txt_rdata(policy), ttl=STEP_TTL)
    return z


CONFIGS = count()
WORK = None
KNOT = None
UNBOUND = None


def setUpModule():
    global WORK, KNOT, UNBOUND
    dh.install_signal_cleanup()
    WORK = tempfile.mkdtemp(prefix="onionmx-trust-")
    zones = {ORIGIN: static_zone(), STS_SIGNED: sts_zone(STS_SIGNED), DANE: dane_zone(),
             STS_BOGUS: sts_zone(STS_BOGUS)}
    texts = {ORIGIN: zones[ORIGIN].text()}
    anchors = []
    for origin in (STS_SIGNED, DANE, STS_BOGUS):
        text, anchor = dh.sign_zone(WORK, zones[origin])
        if origin == STS_BOGUS:
            text = dh.corrupt_rrsig(text, f"_mta-sts.{STS_BOGUS}.", "TXT")
        texts[origin] = text
        anchors.append(anchor)
    serials = {o: z.serial for o, z in zones.items()}
    KNOT = dh.KnotServer(WORK, texts, serials=serials).start()
    UNBOUND = dh.UnboundServer(WORK, KNOT.port, stubs=list(zones), anchors=anchors,
                               insecure=[ORIGIN], serials=serials).start()


def tearDownModule():
    for srv in (UNBOUND, KNOT):
        if srv:
            srv.stop()
    if WORK and os.environ.get("ONIONMX_KEEP_TMP") != "1":
        shutil.rmtree(WORK, ignore_errors=True)


def onions(o):
    return {r["onion"] for r in o["routes"]}


def wire_srv_targets(port, domain):
    """(rcode, {targets}, AD) of the SRV set as the server gives it now."""
    r = dh.dns_query(port, P + domain, dh.TYPE_SRV, do=True, timeout=5)
    return r.rcode, {x[3][3] for x in r.records(dh.TYPE_SRV)}, r.ad


class TrustCase(unittest.TestCase):
    maxDiff = None

    def setUp(self):
        self.dir = tempfile.mkdtemp(prefix="case-", dir=WORK)
        self.cache = os.path.join(self.dir, "cache.json")

    # -- running onionmx-lookup ------------------------------------------

    def config(self, port, cache_extra="", extra=""):
        """TTLs unclamped (min_ttl 0) so a step sees the next step's data
        after 1 s; no prefetch, no stale recheck: every step asks DNS."""
        path = os.path.join(self.dir, f"onionmx-{next(CONFIGS)}.toml")
        with open(path, "w") as f:
            f.write(f"""[dns]
servers = ["127.0.0.1:{port}"]
timeout = 5.0
tries = 1
[cache]
min_ttl = 0
min_negative_ttl = 0
stale_recheck = 0
prefetch = false
{cache_extra}
{extra}
""")
        return path

    def run_cli(self, args):
        argv = [LOOKUP] + list(args)
        if not (os.path.isfile(LOOKUP) and os.access(LOOKUP, os.X_OK)):
            raise AssertionError(f"onionmx-lookup not found at {LOOKUP} (set ONIONMX_LOOKUP)")
        p = subprocess.run(argv, capture_output=True, text=True, timeout=120,
                           env=dict(os.environ, LC_ALL="C"))
        p.argv = argv
        return p

    def lookup(self, key, cfg, *extra, explain=True):
        args = ["--config", cfg, "--cache-file", self.cache, "--format", "json"]
        args += (["--explain"] if explain else []) + list(extra) + [key]
        p = self.run_cli(args)
        ctx = f"$ {' '.join(p.argv)}\nrc={p.returncode}\nstdout:\n{p.stdout}\nstderr:\n{p.stderr}"
        lines = p.stdout.splitlines()
        self.assertEqual(len(lines), 1, ctx)
        o = json.loads(lines[0])
        self.check_schema(o, ctx)
        return o, p, ctx

    def check_schema(self, o, ctx):
        for field in ("status", "routes", "source", "reason", "authenticated"):
            self.assertIn(field, o, ctx)
        if o["status"] == "found":
            self.assertTrue(o["routes"], ctx)
        else:
            self.assertEqual(o["routes"], [], ctx)
        # docs/route-trust.md: the member only for a policy record or a live
        # pin; other answers keep their former members.
        if "policy" not in o:
            o["policy"] = None
            return
        pol = o["policy"]
        self.assertIsInstance(pol, dict, ctx)
        for field, typ in (("mode", str), ("max_age", int), ("pinned", bool),
                           ("pin_expires", int), ("authenticated", bool)):
            self.assertIn(field, pol, ctx)
            self.assertIsInstance(pol[field], typ, f"policy.{field}: {ctx}")
        self.assertIn(pol["mode"], {"enforce", "testing", "none", "invalid"}, ctx)
        self.assertEqual("error" in pol, pol["mode"] == "invalid", ctx)
        if not pol["pinned"]:
            self.assertEqual(pol["pin_expires"], 0, ctx)

    def explain_has(self, o, prefix, ctx):
        self.assertTrue(any(e.startswith(prefix) for e in o.get("explain", [])),
                        f"no explain line beginning {prefix!r}: {ctx}")

    def dump(self, cfg):
        p = self.run_cli(["--config", cfg, "--cache-file", self.cache, "--cache-dump"])
        self.assertEqual(p.returncode, 0, p.stderr)
        return [json.loads(ln) for ln in p.stdout.splitlines()]

    def pins(self, cfg):
        """{domain: set of pinned onions} from --cache-dump."""
        out = {}
        for obj in self.dump(cfg):
            pin = pin_of(obj)
            if pin is not None:
                out[obj["domain"]] = pin
        return out

    def forget(self):
        """A cold cache for the next step (this test's file only)."""
        if os.path.exists(self.cache):
            os.unlink(self.cache)

    # -- assertions on answers -------------------------------------------

    def assert_pinned(self, o, ctx, max_age, t0, t1, onion=dh.V1):
        pol = o["policy"]
        self.assertIsNotNone(pol, ctx)
        self.assertEqual((pol["mode"], pol["max_age"], pol["pinned"]),
                         ("enforce", max_age, True), ctx)
        # pinned when the answer arrived: between the two clock readings
        self.assertGreaterEqual(pol["pin_expires"], int(t0) + max_age - 1, ctx)
        self.assertLessEqual(pol["pin_expires"], int(t1) + max_age + 1, ctx)
        self.assertEqual(onions(o), {onion}, ctx)

    def assert_pin_held(self, o, p, ctx, pinned, shown):
        """The pinned routes answered in place of what DNS said."""
        self.assertEqual((o["status"], o["source"], p.returncode), ("found", "pin", EXIT_FOUND),
                         ctx)
        self.assertEqual(onions(o), {pinned}, ctx)
        self.assertTrue(o["policy"] and o["policy"]["pinned"], ctx)
        warnings = [ln for ln in p.stderr.splitlines() if HIJACK in ln]
        self.assertTrue(warnings, f"no '{HIJACK}' warning: {ctx}")
        self.assertIn(pinned, warnings[0], ctx)
        if shown:
            self.assertIn(shown, warnings[0], ctx)


def pin_of(obj):
    """The pinned onions of a --cache-dump line, or None for an entry line
    (docs/cache.md: a pin line has "pin": true)."""
    if obj.get("pin") is not True:
        return None
    return {r["target"] for r in obj["records"]}


# --------------------------------------------------------------------------

class HarnessSelfTest(unittest.TestCase):
    """The servers say what the cases below assume (checked on the wire)."""

    def test_knot_serves_the_policy_records(self):
        r = dh.dns_query(KNOT.port, P + "enforce." + ORIGIN, dh.TYPE_TXT)
        self.assertEqual((r.rcode, len(r.records(dh.TYPE_TXT))), (0, 1))
        self.assertIn(policy_text("enforce").encode(), r.raw)
        r = dh.dns_query(KNOT.port, P + "notxt." + ORIGIN, dh.TYPE_TXT)
        self.assertEqual((r.rcode, r.records(dh.TYPE_TXT)), (0, []))
        r = dh.dns_query(KNOT.port, "_mta-sts.sts." + ORIGIN, dh.TYPE_TXT)
        self.assertIn(b"v=STSv1; id=1", r.raw)

    def test_unbound_validates_the_guard_data(self):
        port = UNBOUND.port
        for name, rtype in ((P + STS_SIGNED, dh.TYPE_SRV), ("_mta-sts." + STS_SIGNED, dh.TYPE_TXT),
                            (DANE, dh.TYPE_MX), ("_25._tcp.mx." + DANE, dh.TYPE_TLSA),
                            ("notlsa." + DANE, dh.TYPE_MX), (P + STS_BOGUS, dh.TYPE_SRV)):
            r = dh.dns_query(port, name, rtype, do=True, timeout=5)
            self.assertEqual((r.rcode, r.ad), (dh.RCODE_NOERROR, True), f"{name} {rtype}")
            self.assertTrue(r.answer, f"{name} {rtype}")
        r = dh.dns_query(port, "_mta-sts." + STS_BOGUS, dh.TYPE_TXT, do=True, timeout=5)
        self.assertEqual(r.rcode, dh.RCODE_SERVFAIL, "the corrupted RRSIG must be bogus")
        r = dh.dns_query(port, "tlsainsecure." + ORIGIN, dh.TYPE_MX, do=True, timeout=5)
        self.assertEqual((r.rcode, r.ad), (dh.RCODE_NOERROR, False))
        self.assertTrue(r.answer)


class PolicyRecord(TrustCase):
    """Policy (1)-(5) and --no-policy, against the unsigned Knot zone."""

    def test_enforce_is_pinned_for_max_age(self):
        cfg = self.config(KNOT.port)
        key = "user@enforce." + ORIGIN
        t0 = time.time()
        o, p, ctx = self.lookup(key, cfg)
        t1 = time.time()
        self.assertEqual((o["status"], o["source"], p.returncode), ("found", "dns", EXIT_FOUND),
                         ctx)
        self.assert_pinned(o, ctx, AGE, t0, t1)
        self.assertFalse(o["policy"]["authenticated"], ctx)
        self.explain_has(o, "policy:", ctx)
        expires = o["policy"]["pin_expires"]
        # The pin is in the cache file: the next process sees it.
        self.assertEqual(self.pins(cfg), {"enforce." + ORIGIN: {dh.V1}})
        o, p, ctx = self.lookup(key, cfg)
        self.assertEqual((o["status"], o["source"]), ("found", "cache"), ctx)
        self.assertEqual((o["policy"]["mode"], o["policy"]["pinned"]), ("enforce", True), ctx)
        self.assertGreaterEqual(o["policy"]["pin_expires"], expires, ctx)
        # --cache-purge drops the entry and the pin (docs/route-trust.md).
        p = self.run_cli(["--config", cfg, "--cache-file", self.cache,
                          "--cache-purge", "enforce." + ORIGIN])
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertEqual((self.dump(cfg), self.pins(cfg)), ([], {}))

    def assert_unpinned(self, label, mode):
        cfg = self.config(KNOT.port)
        o, p, ctx = self.lookup(f"user@{label}.{ORIGIN}", cfg)
        self.assertEqual((o["status"], o["source"], p.returncode), ("found", "dns", EXIT_FOUND),
                         ctx)
        self.assertEqual(onions(o), {dh.V1}, ctx)
        pol = o["policy"]
        self.assertIsNotNone(pol, ctx)
        self.assertEqual((pol["mode"], pol["max_age"], pol["pinned"], pol["pin_expires"]),
                         (mode, AGE, False, 0), ctx)
        self.explain_has(o, "policy:", ctx)
        self.assertEqual(self.pins(cfg), {})
        return o, p, ctx

    def test_testing_is_not_pinned(self):
        self.assert_unpinned("testing", "testing")

    def test_none_is_not_pinned(self):
        self.assert_unpinned("none", "none")

    def test_malformed_record_counts_as_no_policy(self):
        cfg = self.config(KNOT.port)
        o, p, ctx = self.lookup("user@malformed." + ORIGIN, cfg)
        self.assertEqual((o["status"], o["source"], p.returncode), ("found", "dns", EXIT_FOUND),
                         ctx)
        self.assertEqual(onions(o), {dh.V1}, ctx)
        pol = o["policy"]
        self.assertIsNotNone(pol, ctx)
        self.assertEqual((pol["mode"], pol["pinned"]), ("invalid", False), ctx)
        self.assertIn("max_age missing", pol["error"], ctx)  # docs/policy-record.md
        self.assertIn("warning", p.stderr, f"an invalid policy is warned about: {ctx}")
        self.assertEqual(self.pins(cfg), {})

    def test_no_policy_record_behaves_as_before(self):
        # "Before": the same lookup with both mechanisms off.
        cfg = self.config(KNOT.port)
        for label in ("notxt", "spf"):
            key = f"user@{label}.{ORIGIN}"
            o, p, ctx = self.lookup(key, cfg, explain=False)
            self.assertIsNone(o["policy"], ctx)
            self.assertEqual((o["status"], o["source"], p.returncode),
                             ("found", "dns", EXIT_FOUND), ctx)
            self.forget()
            old, p_old, ctx_old = self.lookup(key, cfg, "--no-policy", "--no-downgrade-guard",
                                              explain=False)
            self.forget()
            # The same bytes: no member added, none changed (Knot's TTLs
            # are fixed, so even ttl must match).
            self.assertEqual((p.returncode, p.stdout, p.stderr),
                             (p_old.returncode, p_old.stdout, p_old.stderr), f"{ctx}\n{ctx_old}")

    def test_no_policy_flag_reads_no_record_and_pins_nothing(self):
        cfg = self.config(KNOT.port)
        o, p, ctx = self.lookup("user@enforce." + ORIGIN, cfg, "--no-policy")
        self.assertEqual((o["status"], o["source"]), ("found", "dns"), ctx)
        self.assertIsNone(o["policy"], ctx)
        self.assertEqual(self.pins(cfg), {})
        # The same from the configuration file.
        self.forget()
        cfg_off = self.config(KNOT.port, extra="[trust]\npolicy = false\n")
        o, p, ctx = self.lookup("user@enforce." + ORIGIN, cfg_off)
        self.assertIsNone(o["policy"], ctx)
        self.assertEqual(self.pins(cfg), {})


class Pins(TrustCase):
    """Policy (6)-(9): a domain pinned under enforce, then its records
    change on a server of the test's own (1 s TTLs)."""

    def own_knot(self, zone, text=None):
        knot = dh.KnotServer(self.dir, {zone.origin: text or zone.text()}, name="knot-own",
                             serials={zone.origin: zone.serial}).start()
        self.addCleanup(knot.stop)
        return knot

    def pin_first(self, origin, cfg, max_age=AGE):
        t0 = time.time()
        o, p, ctx = self.lookup(origin, cfg)
        t1 = time.time()
        t_fetch = time.monotonic()
        self.assertEqual((o["status"], o["source"]), ("found", "dns"), ctx)
        self.assert_pinned(o, ctx, max_age, t0, t1)
        self.assertEqual(self.pins(cfg), {origin: {dh.V1}}, "the pin is in the cache file")
        return t_fetch

    @staticmethod
    def after_ttl(t_fetch):
        """Until the cached entry (every TTL 1 s, min_ttl 0) has expired."""
        time.sleep(max(0.0, t_fetch + STEP_TTL + 0.3 - time.monotonic()))

    def test_changed_route_without_dnssec_keeps_the_pin(self):
        origin = "hijack.test"
        knot = self.own_knot(step_zone(origin, 100, dh.V1, policy_text("enforce")))
        cfg = self.config(knot.port)
        t_fetch = self.pin_first(origin, cfg)
        dh.knot_replace_zone(knot, origin, step_zone(origin, 101, dh.V2,
                                                     policy_text("enforce")).text(), 101)
        self.assertEqual(wire_srv_targets(knot.port, origin)[1], {dh.V2})
        self.after_ttl(t_fetch)
        o, p, ctx = self.lookup(origin, cfg)
        self.assert_pin_held(o, p, ctx, pinned=dh.V1, shown=dh.V2)
        self.assertFalse(o["authenticated"], ctx)
        self.explain_has(o, "policy:", ctx)
        self.assertEqual(self.pins(cfg), {origin: {dh.V1}}, "the pin is not replaced")

    def test_removed_srv_without_dnssec_keeps_the_pin(self):
        origin = "vanish.test"
        knot = self.own_knot(step_zone(origin, 200, dh.V1, policy_text("enforce")))
        cfg = self.config(knot.port)
        t_fetch = self.pin_first(origin, cfg)
        # NODATA: the SRV is gone, the policy record stays.
        dh.knot_replace_zone(knot, origin, step_zone(origin, 201, policy=policy_text("enforce"),
                                                     srv=False).text(), 201)
        self.assertEqual(wire_srv_targets(knot.port, origin)[:2], (dh.RCODE_NOERROR, set()))
        self.after_ttl(t_fetch)
        o, p, ctx = self.lookup(origin, cfg)
        t_fetch = time.monotonic()
        self.assert_pin_held(o, p, ctx, pinned=dh.V1, shown=None)
        # NXDOMAIN: nothing left at the name.
        dh.knot_replace_zone(knot, origin, step_zone(origin, 202, srv=False).text(), 202)
        self.assertEqual(wire_srv_targets(knot.port, origin)[0], dh.RCODE_NXDOMAIN)
        self.after_ttl(t_fetch)
        o, p, ctx = self.lookup(origin, cfg)
        self.assert_pin_held(o, p, ctx, pinned=dh.V1, shown=None)
        self.assertEqual(self.pins(cfg), {origin: {dh.V1}})

    def test_policy_withdrawn_without_dnssec_keeps_the_pin(self):
        # mode=none, unauthenticated: the pin stays until it expires (as
        # RFC 8461 §5.1); the changed SRV is still refused.
        origin = "withdraw.test"
        knot = self.own_knot(step_zone(origin, 300, dh.V1, policy_text("enforce")))
        cfg = self.config(knot.port)
        t_fetch = self.pin_first(origin, cfg)
        dh.knot_replace_zone(knot, origin, step_zone(origin, 301, dh.V2,
                                                     policy_text("none")).text(), 301)
        self.after_ttl(t_fetch)
        o, p, ctx = self.lookup(origin, cfg)
        self.assert_pin_held(o, p, ctx, pinned=dh.V1, shown=dh.V2)
        self.assertEqual(self.pins(cfg), {origin: {dh.V1}})

    def test_invalid_record_leaves_the_pin_alone(self):
        origin = "garbled.test"
        knot = self.own_knot(step_zone(origin, 350, dh.V1, policy_text("enforce")))
        cfg = self.config(knot.port)
        t_fetch = self.pin_first(origin, cfg)
        dh.knot_replace_zone(knot, origin, step_zone(origin, 351, dh.V2,
                                                     "v=ONIONMX1; mode=enforce").text(), 351)
        self.after_ttl(t_fetch)
        o, p, ctx = self.lookup(origin, cfg)
        self.assert_pin_held(o, p, ctx, pinned=dh.V1, shown=dh.V2)
        self.assertEqual(self.pins(cfg), {origin: {dh.V1}})

    def test_pinned_route_passes_the_guard(self):
        # The domain starts publishing MTA-STS after it was pinned: its
        # unsigned SRV still names only pinned onions, so it is authenticated.
        origin = "later-sts.test"
        knot = self.own_knot(step_zone(origin, 370, dh.V1, policy_text("enforce")))
        cfg = self.config(knot.port)
        t_fetch = self.pin_first(origin, cfg)
        z = step_zone(origin, 371, dh.V1, policy_text("enforce"))
        dh.add_rr(z, "_mta-sts", "TXT", dh.txt_rdata("v=STSv1; id=1"), ttl=STEP_TTL)
        dh.knot_replace_zone(knot, origin, z.text(), 371)
        self.after_ttl(t_fetch)
        o, p, ctx = self.lookup(origin, cfg)
        self.assertEqual((o["status"], o["source"], onions(o)), ("found", "dns", {dh.V1}), ctx)
        self.assertNotIn("downgrade guard", p.stderr, ctx)
        self.explain_has(o, "guard:", ctx)
        # Without the pin (--no-policy) the same answer is refused.
        o, p, ctx = self.lookup(origin, cfg, "--no-policy")
        self.assertEqual((o["status"], o["source"]), ("notfound", "guard"), ctx)

    def test_expired_pin_lets_the_changed_route_in(self):
        origin = "expiry.test"
        max_age = 2
        knot = self.own_knot(step_zone(origin, 400, dh.V1, policy_text("enforce", max_age)))
        cfg = self.config(knot.port)
        t_fetch = self.pin_first(origin, cfg, max_age)
        dh.knot_replace_zone(knot, origin, step_zone(origin, 401, dh.V2,
                                                     policy_text("enforce", max_age)).text(), 401)
        # Wall-clock expiry (whole seconds): one more second of margin.
        time.sleep(max(0.0, t_fetch + max_age + 1.2 - time.monotonic()))
        t0 = time.time()
        o, p, ctx = self.lookup(origin, cfg)
        t1 = time.time()
        self.assertEqual((o["status"], o["source"]), ("found", "dns"), ctx)
        self.assertNotIn(HIJACK, p.stderr, ctx)
        self.assert_pinned(o, ctx, max_age, t0, t1, onion=dh.V2)

    def own_signed(self, zone):
        """A Knot serving `zone` signed, and a validating unbound for it."""
        text, anchor = dh.sign_zone(self.dir, zone)
        knot = self.own_knot(zone, text)
        unbound = dh.UnboundServer(self.dir, knot.port, stubs=[zone.origin], anchors=[anchor],
                                   insecure=[], serials={zone.origin: zone.serial},
                                   name="unbound-own").start()
        self.addCleanup(unbound.stop)
        return knot, unbound

    def test_changed_route_with_dnssec_is_accepted_and_repinned(self):
        origin = "repin.test"
        knot, unbound = self.own_signed(step_zone(origin, 500, dh.V1, policy_text("enforce")))
        cfg = self.config(unbound.port)
        t0 = time.time()
        o, p, ctx = self.lookup(origin, cfg, "--dnssec", "prefer")
        t1 = time.time()
        t_fetch = time.monotonic()
        self.assertEqual((o["status"], o["source"], o["authenticated"]), ("found", "dns", True),
                         ctx)
        self.assert_pinned(o, ctx, AGE, t0, t1)
        self.assertTrue(o["policy"]["authenticated"], ctx)
        zone2 = step_zone(origin, 501, dh.V2, policy_text("enforce"))
        dh.knot_replace_zone(knot, origin, dh.resign_zone(self.dir, zone2), 501)
        # unbound has let its 1 s copy go and validates the new set.
        dh.wait_until(lambda: wire_srv_targets(unbound.port, origin)[1:] == ({dh.V2}, True),
                      10, "unbound sees the re-signed SRV")
        self.after_ttl(t_fetch)
        t0 = time.time()
        o, p, ctx = self.lookup(origin, cfg, "--dnssec", "prefer")
        t1 = time.time()
        self.assertEqual((o["status"], o["source"], o["authenticated"]), ("found", "dns", True),
                         ctx)
        self.assertNotIn(HIJACK, p.stderr, ctx)
        self.assert_pinned(o, ctx, AGE, t0, t1, onion=dh.V2)
        self.assertEqual(self.pins(cfg), {origin: {dh.V2}})

    def test_policy_withdrawn_with_dnssec_removes_the_pin(self):
        origin = "unpin.test"
        knot, unbound = self.own_signed(step_zone(origin, 700, dh.V1, policy_text("enforce")))
        cfg = self.config(unbound.port)
        o, p, ctx = self.lookup(origin, cfg, "--dnssec", "prefer")
        t_fetch = time.monotonic()
        self.assertTrue(o["policy"] and o["policy"]["pinned"], ctx)
        self.assertEqual(self.pins(cfg), {origin: {dh.V1}})
        zone2 = step_zone(origin, 701, dh.V2, policy_text("none"))
        dh.knot_replace_zone(knot, origin, dh.resign_zone(self.dir, zone2), 701)
        dh.wait_until(lambda: wire_srv_targets(unbound.port, origin)[1:] == ({dh.V2}, True),
                      10, "unbound sees the re-signed zone")
        self.after_ttl(t_fetch)
        o, p, ctx = self.lookup(origin, cfg, "--dnssec", "prefer")
        self.assertEqual((o["status"], o["source"], o["authenticated"]), ("found", "dns", True),
                         ctx)
        self.assertEqual(onions(o), {dh.V2}, ctx)
        pol = o["policy"]
        self.assertEqual((pol["mode"], pol["pinned"], pol["pin_expires"], pol["authenticated"]),
                         ("none", False, 0, True), ctx)
        self.assertEqual(self.pins(cfg), {})

    def test_fewer_pinned_onions_are_accepted(self):
        # Routes that drop pinned onions without adding any: accepted.
        origin = "subset.test"
        knot = self.own_knot(step_zone(origin, 800, [dh.V1, dh.V2], policy_text("enforce")))
        cfg = self.config(knot.port)
        o, p, ctx = self.lookup(origin, cfg)
        t_fetch = time.monotonic()
        self.assertEqual((onions(o), o["policy"]["pinned"]), ({dh.V1, dh.V2}, True), ctx)
        self.assertEqual(self.pins(cfg), {origin: {dh.V1, dh.V2}})
        dh.knot_replace_zone(knot, origin, step_zone(origin, 801, dh.V2,
                                                     policy_text("enforce")).text(), 801)
        self.after_ttl(t_fetch)
        o, p, ctx = self.lookup(origin, cfg)
        self.assertEqual((o["status"], o["source"], onions(o)), ("found", "dns", {dh.V2}), ctx)
        self.assertNotIn(HIJACK, p.stderr, ctx)
        self.assertTrue(o["policy"]["pinned"], ctx)
        self.assertEqual(self.pins(cfg), {origin: {dh.V2}}, "pinned again, with what is left")

    def test_dns_failure_under_a_pin_is_temp_even_with_clearnet(self):
        origin = "down.test"
        knot = self.own_knot(step_zone(origin, 600, dh.V1, policy_text("enforce")))
        # One cache slot: the next domain evicts the pinned domain's entry,
        # so only the pin (not a cached route, docs/cache.md) can know it.
        cfg = self.config(knot.port, cache_extra="size = 1\nstale_max = 0",
                          extra='[resolver]\non_dns_failure = "clearnet"\n')
        self.pin_first(origin, cfg)
        o, _, ctx = self.lookup("nx." + origin, cfg)
        self.assertEqual(o["status"], "notfound", ctx)
        self.assertEqual(self.pins(cfg), {origin: {dh.V1}})
        self.assertNotIn(origin, {d["domain"] for d in self.dump(cfg) if pin_of(d) is None},
                         "the pinned domain's entry was evicted")
        knot.kill()
        o, p, ctx = self.lookup(origin, cfg)
        self.assertEqual((o["status"], p.returncode, o["ttl"]), ("temp", EXIT_TEMP, 0), ctx)
        self.assertTrue(o["policy"] and o["policy"]["pinned"], ctx)
        # A domain without a pin, same failure: the clearnet policy.
        o, p, ctx = self.lookup("never." + origin, cfg)
        self.assertEqual((o["status"], o["source"], p.returncode),
                         ("notfound", "policy", EXIT_NOTFOUND), ctx)


class DowngradeGuard(TrustCase):
    """Guard (10)-(15)."""

    def assert_refused(self, key, cfg, *extra, names):
        o, p, ctx = self.lookup(key, cfg, *extra)
        self.assertEqual((o["status"], o["source"], p.returncode),
                         ("notfound", "guard", EXIT_NOTFOUND), ctx)
        self.assertIn(names, o["reason"], ctx)
        self.assertIn("downgrade guard", p.stderr, ctx)
        self.assertIn(names, p.stderr, ctx)
        self.explain_has(o, "guard:", ctx)
        return o, p, ctx

    def assert_found(self, key, cfg, *extra, authenticated=False):
        o, p, ctx = self.lookup(key, cfg, *extra)
        self.assertEqual((o["status"], o["source"], p.returncode), ("found", "dns", EXIT_FOUND),
                         ctx)
        self.assertEqual(onions(o), {dh.V1}, ctx)
        self.assertEqual(o["authenticated"], authenticated, ctx)
        return o, p, ctx

    def test_mta_sts_with_unsigned_srv_is_refused(self):
        cfg = self.config(KNOT.port)
        o, _, ctx = self.assert_refused("user@sts." + ORIGIN, cfg, names="MTA-STS")
        self.assertIsNone(o["policy"], ctx)
        # The guard's facts are cached with the SRV set: refused again.
        q0 = KNOT.query_counts()["query"]
        o, p, ctx = self.lookup("user@sts." + ORIGIN, cfg)
        self.assertEqual((o["status"], o["source"], p.returncode),
                         ("notfound", "guard", EXIT_NOTFOUND), ctx)
        self.assertIn("MTA-STS", o["reason"], ctx)
        self.assertEqual(KNOT.query_counts()["query"], q0, f"answered from the cache: {ctx}")

    def test_mta_sts_with_signed_srv_is_found(self):
        cfg = self.config(UNBOUND.port)
        o, _, ctx = self.assert_found("user@" + STS_SIGNED, cfg, "--dnssec", "prefer",
                                      authenticated=True)
        self.explain_has(o, "guard:", ctx)
        # The same signed zone with DNSSEC off: no SRV counts as authenticated.
        self.forget()
        self.assert_refused("user@" + STS_SIGNED, cfg, "--dnssec", "off", names="MTA-STS")

    def test_neither_is_found_as_before(self):
        cfg = self.config(KNOT.port)
        o, p, ctx = self.assert_found("user@plain." + ORIGIN, cfg)
        self.assertIsNone(o["policy"], ctx)
        self.forget()
        old, p_old, ctx_old = self.lookup("user@plain." + ORIGIN, cfg, "--no-downgrade-guard")
        for field in ("status", "source", "reason", "ttl", "routes", "authenticated"):
            self.assertEqual(o[field], old[field], f"{field}\n{ctx}\n{ctx_old}")
        # Through the validating resolver too (the domain is insecure).
        self.forget()
        self.assert_found("user@plain." + ORIGIN, self.config(UNBOUND.port), "--dnssec", "prefer")

    def test_dane(self):
        cfg = self.config(UNBOUND.port)
        # The SRV is not authenticated with DNSSEC off; the guard still reads
        # the resolver's AD bit for MX and TLSA (docs/route-trust.md).
        self.assert_refused("user@" + DANE, cfg, "--dnssec", "off", names="DANE")
        self.forget()
        self.assert_found("user@" + DANE, cfg, "--dnssec", "prefer", authenticated=True)
        self.forget()
        # A secure MX without TLSA, and TLSA under an insecure MX: no DANE.
        self.assert_found("user@notlsa." + DANE, cfg, "--dnssec", "off")
        self.assert_found("user@tlsainsecure." + ORIGIN, cfg, "--dnssec", "off")

    def test_failed_guard_query_is_temp(self):
        cfg = self.config(UNBOUND.port)
        key = "user@" + STS_BOGUS
        o, p, ctx = self.lookup(key, cfg, "--dnssec", "off")
        self.assertEqual((o["status"], p.returncode), ("temp", EXIT_TEMP), ctx)
        self.explain_has(o, "guard:", ctx)
        # A DNS failure: the failure policy applies.
        clear = self.config(UNBOUND.port, extra='[resolver]\non_dns_failure = "clearnet"\n')
        o, p, ctx = self.lookup(key, clear, "--dnssec", "off")
        self.assertEqual((o["status"], o["source"]), ("notfound", "policy"), ctx)
        # An authenticated route does not depend on the guard's answers.
        self.assert_found(key, cfg, "--dnssec", "prefer", authenticated=True)

    def test_failed_guard_query_answer_has_ttl_0(self):
        # docs/dns-discovery.md, TTLs: temp and perm answers carry TTL 0,
        # so no consumer of the answer caches a failure.
        o, p, ctx = self.lookup("user@" + STS_BOGUS, self.config(UNBOUND.port), "--dnssec", "off")
        self.assertEqual((o["status"], o["ttl"]), ("temp", 0), ctx)

    def test_no_downgrade_guard_lets_the_route_through(self):
        key = "user@sts." + ORIGIN
        self.assert_found(key, self.config(KNOT.port), "--no-downgrade-guard")
        self.forget()
        self.assert_found(key, self.config(KNOT.port, extra="[trust]\ndowngrade_guard = false\n"))


def load_tests(loader, _standard_tests, _pattern):
    """Harness self-checks first: when they fail, the rest is not evidence."""
    suite = unittest.TestSuite()
    for cls in (HarnessSelfTest, PolicyRecord, Pins, DowngradeGuard):
        suite.addTests(loader.loadTestsFromTestCase(cls))
    return suite


if __name__ == "__main__":
    missing = dh.require_binaries()
    if missing:
        print(f"SKIP: missing DNS server tools: {', '.join(missing)} "
              f"(install knot, unbound, bind9-utils; see .ci/setup)", file=sys.stderr)
        sys.exit(77)
    prog = unittest.main(exit=False, verbosity=2)
    sys.exit(0 if prog.result.wasSuccessful() else 1)
