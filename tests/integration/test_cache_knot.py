#!/usr/bin/python3
"""The cache (docs/cache.md) against a real Knot on loopback.

Every expectation comes from the zone the test wrote and from Knot's own
query counters (mod-stats), never from onionmx's output alone:
  - TTL expiry and re-fetch; the negative TTL taken from the SOA;
  - a record changed on the server is seen after expiry, not before;
  - the server stopped: the stale route is served up to stale_max, then a
    temporary failure, never "not found" (even with on_dns_failure =
    "clearnet");
  - 1 000 concurrent lookups of one name send exactly one query;
  - persistence: round trip, dump, purge, kill -9 during a save, corrupt
    and truncated files.

By hand:
    ONIONMX_LOOKUP=build/tools/onionmx-lookup/onionmx-lookup \\
        /usr/bin/python3 tests/integration/test_cache_knot.py -v
Exit 77 (meson: skipped) only when knotd is missing.
"""

import hashlib
import json
import os
import shutil
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
ORIGIN = "cache.test"
BULK = "bulk.test"
P = dh.SRV_PREFIX
NEG_TTL = 3  # SOA MINIMUM: the RFC 2308 negative TTL of this zone
EXIT_FOUND, EXIT_NOTFOUND, EXIT_TEMP = 0, 1, 2

KNOT = None
WORK = None


def base_zone(serial, change_target):
    z = dh.Zone(ORIGIN, serial=serial, default_ttl=300, neg_ttl=NEG_TTL)
    z.add_srv(P + "short", 0, 0, 25, dh.V1 + ".", ttl=2)
    z.add_srv(P + "change", 0, 0, 25, change_target + ".", ttl=3)
    z.add_srv(P + "stale", 0, 0, 25, dh.V1 + ".", ttl=1)
    z.add_srv(P + "multi", 10, 60, 25, dh.V1 + ".")
    z.add_srv(P + "multi", 10, 20, 25, dh.V2 + ".")
    z.add_srv(P + "steady", 0, 0, 2525, dh.V3 + ".", ttl=3600)
    return z


def setUpModule():
    global KNOT, WORK
    if not shutil.which("knotd"):
        print("knotd missing", file=sys.stderr)
        sys.exit(77)
    dh.install_signal_cleanup()
    WORK = tempfile.mkdtemp(prefix="onionmx-cache-")
    z = base_zone(1000, dh.V1)
    # Many names, all NXDOMAIN for an hour: a large cache to save.
    bulk = dh.Zone(BULK, serial=7, neg_ttl=3600)
    KNOT = dh.KnotServer(WORK, {ORIGIN: z.text(), BULK: bulk.text()},
                         serials={ORIGIN: z.serial, BULK: 7}).start()


def tearDownModule():
    if KNOT:
        KNOT.stop()
    if WORK:
        shutil.rmtree(WORK, ignore_errors=True)


def queries(server=None):
    return (server or KNOT).query_counts()["query"]


# Queries one uncached lookup sends (docs/route-trust.md): the SRV, and in
# parallel the policy TXT, the _mta-sts TXT and the MX of the domain.
PER_LOOKUP = 4


class CacheCase(unittest.TestCase):
    maxDiff = None

    def setUp(self):
        self.dir = tempfile.mkdtemp(prefix="case-", dir=WORK)
        self.cache = os.path.join(self.dir, "cache.json")

    def config(self, port=None, extra=""):
        path = os.path.join(self.dir, "onionmx.toml")
        with open(path, "w") as f:
            f.write(f"""[dns]
servers = ["127.0.0.1:{port or KNOT.port}"]
timeout = 1.0
tries = 1
[cache]
min_ttl = 0
min_negative_ttl = 0
stale_recheck = 0
{extra}
""")
        return path

    def run_cli(self, args, stdin=None, timeout=120):
        argv = [LOOKUP] + list(args)
        proc = subprocess.run(argv, input=stdin, capture_output=True, text=True, timeout=timeout)
        proc.argv = argv
        return proc

    def lookup(self, key, config=None, extra=()):
        p = self.run_cli(["--config", config or self.config(), "--cache-file", self.cache,
                          "--format", "json", *extra, key])
        ctx = f"$ {' '.join(p.argv)}\nrc={p.returncode}\n{p.stdout}\n{p.stderr}"
        lines = p.stdout.splitlines()
        self.assertEqual(len(lines), 1, ctx)
        return json.loads(lines[0]), p, ctx

    def dump(self):
        p = self.run_cli(["--config", self.config(), "--cache-file", self.cache, "--cache-dump"])
        self.assertEqual(p.returncode, 0, p.stderr)
        return {o["domain"]: o for o in map(json.loads, p.stdout.splitlines())}


class Expiry(CacheCase):
    def test_ttl_expiry_and_refetch(self):
        key = f"user@short.{ORIGIN}"
        q0 = queries()
        o, _, ctx = self.lookup(key)
        self.assertEqual((o["status"], o["source"]), ("found", "dns"), ctx)
        self.assertEqual(o["routes"][0]["onion"], dh.V1, ctx)
        self.assertEqual(queries() - q0, PER_LOOKUP)
        o, _, ctx = self.lookup(key)
        self.assertEqual((o["status"], o["source"], o["stale"]), ("found", "cache", False), ctx)
        self.assertLessEqual(o["ttl"], 2, ctx)
        self.assertEqual(queries() - q0, PER_LOOKUP, "a cached answer sends no query")
        time.sleep(2.3)
        o, _, ctx = self.lookup(key)
        self.assertEqual((o["status"], o["source"]), ("found", "dns"), ctx)
        self.assertEqual(queries() - q0, 2 * PER_LOOKUP, "an expired entry is fetched again")

    def test_negative_ttl_comes_from_the_soa(self):
        key = f"user@absent.{ORIGIN}"
        q0 = queries()
        o, _, ctx = self.lookup(key)
        self.assertEqual((o["status"], o["source"], o["ttl"]), ("notfound", "dns", NEG_TTL), ctx)
        o, _, ctx = self.lookup(key, extra=["--explain"])
        self.assertEqual((o["status"], o["source"]), ("notfound", "cache"), ctx)
        self.assertLessEqual(o["ttl"], NEG_TTL, ctx)
        self.assertTrue(any("negative entry, age" in e for e in o["explain"]), ctx)
        self.assertEqual(queries() - q0, PER_LOOKUP)
        time.sleep(NEG_TTL + 0.3)
        o, _, ctx = self.lookup(key)
        self.assertEqual(o["source"], "dns", ctx)
        self.assertEqual(queries() - q0, 2 * PER_LOOKUP)

    def test_changed_record_is_seen_after_expiry_not_before(self):
        key = f"user@change.{ORIGIN}"
        o, _, ctx = self.lookup(key)
        self.assertEqual(o["routes"][0]["onion"], dh.V1, ctx)
        t_fetch = time.monotonic()
        # The server's record changes (new serial, zone reloaded).
        z = base_zone(1001, dh.V2)
        with open(os.path.join(KNOT.dir, ORIGIN + ".zone"), "w") as f:
            f.write(z.text())
        subprocess.run(["knotc", "-s", KNOT.sock, "zone-reload", ORIGIN], check=True,
                       capture_output=True, timeout=10)
        dh.wait_until(lambda: dh._soa_serial_is(KNOT.port, ORIGIN, 1001), 10, "zone reload")
        try:
            self.assertLess(time.monotonic() - t_fetch, 2.5, "the reload took too long to test")
            o, _, ctx = self.lookup(key)
            self.assertEqual((o["source"], o["routes"][0]["onion"]), ("cache", dh.V1), ctx)
            time.sleep(max(0, 3.2 - (time.monotonic() - t_fetch)))
            o, p, ctx = self.lookup(key)
            self.assertEqual((o["source"], o["routes"][0]["onion"]), ("dns", dh.V2), ctx)
            self.assertIn("onion route changed", p.stderr, ctx)
            self.assertIn(dh.V1, p.stderr, ctx)
            self.assertIn(dh.V2, p.stderr, ctx)
        finally:
            z = base_zone(1002, dh.V1)
            with open(os.path.join(KNOT.dir, ORIGIN + ".zone"), "w") as f:
                f.write(z.text())
            subprocess.run(["knotc", "-s", KNOT.sock, "zone-reload", ORIGIN],
                           capture_output=True, timeout=10)
            dh.wait_until(lambda: dh._soa_serial_is(KNOT.port, ORIGIN, 1002), 10, "zone reset")


class Coalescing(CacheCase):
    def test_a_thousand_concurrent_lookups_send_one_query(self):
        keys = "".join(f"user{i}@multi.{ORIGIN}\n" for i in range(1000))
        cfg = self.config()
        q0 = queries()
        p = self.run_cli(["--config", cfg, "--format", "json", "-"], stdin=keys)
        objs = [json.loads(ln) for ln in p.stdout.splitlines()]
        self.assertEqual(len(objs), 1000, p.stderr)
        self.assertTrue(all(o["status"] == "found" for o in objs))
        self.assertEqual(queries() - q0, PER_LOOKUP, "one query (of each kind) in flight per name")
        # The same batch without the cache: the counter does see every query.
        q1 = queries()
        p = self.run_cli(["--config", cfg, "--no-cache", "--format", "json", "-"], stdin=keys)
        self.assertEqual(len(p.stdout.splitlines()), 1000, p.stderr)
        self.assertEqual(queries() - q1, 1000 * PER_LOOKUP)


class ServerStopped(CacheCase):
    def test_stale_up_to_stale_max_then_temp_never_notfound(self):
        z = base_zone(2000, dh.V1)
        own = dh.KnotServer(self.dir, {ORIGIN: z.text()}, name="knot-stop",
                            serials={ORIGIN: z.serial}).start()
        try:
            # clearnet: the policy that would answer "not found" on a DNS
            # failure; a known onion route must override it.
            cfg = self.config(port=own.port, extra='stale_max = 3\nstale_ttl = 30\n'
                              '[resolver]\non_dns_failure = "clearnet"\n')
            key = f"user@stale.{ORIGIN}"
            o, _, ctx = self.lookup(key, config=cfg)
            self.assertEqual((o["status"], o["source"]), ("found", "dns"), ctx)
            t_fetch = time.monotonic()
        finally:
            own.stop()
        time.sleep(1.2)  # the TTL (1 s) has passed; the server is gone
        o, p, ctx = self.lookup(key, config=cfg)
        self.assertEqual((o["status"], o["source"], o["stale"]), ("found", "cache", True), ctx)
        self.assertEqual(o["ttl"], 30, ctx)
        self.assertEqual(o["routes"][0]["onion"], dh.V1, ctx)
        self.assertEqual(p.returncode, EXIT_FOUND, ctx)
        self.assertIn("serving the stale cached route", p.stderr, ctx)
        time.sleep(max(0, 1 + 3 + 0.5 - (time.monotonic() - t_fetch)))
        o, p, ctx = self.lookup(key, config=cfg)
        self.assertEqual(o["status"], "temp", ctx)
        self.assertEqual(p.returncode, EXIT_TEMP, ctx)
        self.assertIn("knows an onion route", o["reason"], ctx)
        # A domain never seen gets the configured policy (not found).
        o, _, ctx = self.lookup(f"user@steady.{ORIGIN}", config=cfg)
        self.assertEqual((o["status"], o["source"]), ("notfound", "policy"), ctx)


class Persistence(CacheCase):
    def test_round_trip_dump_and_purge(self):
        for label in ("steady", "multi", "absent2"):
            self.lookup(f"u@{label}.{ORIGIN}")
        entries = self.dump()
        self.assertEqual(set(entries), {f"steady.{ORIGIN}", f"multi.{ORIGIN}",
                                        f"absent2.{ORIGIN}"})
        steady = entries[f"steady.{ORIGIN}"]
        self.assertTrue(steady["positive"])
        self.assertEqual(steady["state"], "fresh")
        self.assertEqual(steady["ttl"], 3600)
        self.assertEqual(steady["records"], [{"priority": 0, "weight": 0, "port": 2525,
                                              "target": dh.V3}])
        self.assertFalse(entries[f"absent2.{ORIGIN}"]["positive"])
        p = self.run_cli(["--config", self.config(), "--cache-file", self.cache,
                          "--cache-purge", f"Multi.{ORIGIN}."])
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertNotIn(f"multi.{ORIGIN}", self.dump())
        p = self.run_cli(["--config", self.config(), "--cache-file", self.cache,
                          "--cache-purge", f"multi.{ORIGIN}"])
        self.assertEqual(p.returncode, EXIT_NOTFOUND, p.stderr)
        q0 = queries()
        o, _, ctx = self.lookup(f"u@steady.{ORIGIN}")
        self.assertEqual(o["source"], "cache", ctx)
        self.assertEqual(o["routes"][0]["port"], 2525, ctx)
        self.assertEqual(queries(), q0)

    def write_v2(self, entries, pins):
        """A version-2 cache file (docs/cache.md) with its SHA3-256 trailer."""
        line = lambda o: json.dumps(o, separators=(",", ":"), sort_keys=True) + "\n"  # noqa: E731
        body = line({"entries": len(entries), "format": "onionmx-cache", "pins": len(pins),
                     "saved": int(time.time()), "version": 2})
        body += "".join(map(line, entries)) + "".join(map(line, pins))
        with open(self.cache, "w") as f:
            f.write(body + line({"sha3-256": hashlib.sha3_256(body.encode()).hexdigest()}))

    def test_pins_are_dumped_purged_and_checked(self):
        now = int(time.time())
        recs = [{"priority": 0, "weight": 0, "port": 25, "target": dh.V1}]
        entry = {"authenticated": True, "domain": f"pinned.{ORIGIN}", "fetched": now,
                 "owner": f"_onion-mx._tcp.pinned.{ORIGIN}", "positive": True, "records": recs,
                 "ttl": 3600, "policy": {"state": "valid", "mode": "enforce", "max_age": 86400,
                                         "authenticated": True},
                 "guard": {"state": "checked", "mta_sts": True, "dane": False, "dane_host": ""}}
        pin = {"pin": True, "domain": f"pinned.{ORIGIN}", "expires": now + 3600,
               "max_age": 86400, "records": recs}
        old = dict(pin, domain=f"old.{ORIGIN}", expires=now - 1)
        self.write_v2([entry], [pin, old])
        p = self.run_cli(["--config", self.config(), "--cache-file", self.cache, "--cache-dump"])
        self.assertEqual(p.returncode, 0, p.stderr)
        lines = [json.loads(x) for x in p.stdout.splitlines()]
        self.assertEqual(len(lines), 2, p.stdout)  # the entry, the live pin
        self.assertEqual(lines[0]["policy"]["mode"], "enforce")
        self.assertTrue(lines[0]["guard"]["mta_sts"])
        self.assertNotIn("pin", lines[0])
        self.assertEqual((lines[1]["pin"], lines[1]["domain"]), (True, f"pinned.{ORIGIN}"))
        self.assertEqual(lines[1]["records"], recs)
        self.assertTrue(3500 < lines[1]["expires_in"] <= 3600, lines[1])
        # A purge removes the entry and the pin; a second finds nothing.
        p = self.run_cli(["--config", self.config(), "--cache-file", self.cache,
                          "--cache-purge", f"pinned.{ORIGIN}"])
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertEqual(self.dump(), {})
        p = self.run_cli(["--config", self.config(), "--cache-file", self.cache,
                          "--cache-purge", f"pinned.{ORIGIN}"])
        self.assertEqual(p.returncode, EXIT_NOTFOUND, p.stderr)
        # A pin the reader refuses (max_age above the policy limit) refuses the file.
        self.write_v2([], [dict(pin, max_age=31557601)])
        o, p, ctx = self.lookup(f"u@steady.{ORIGIN}")
        self.assertEqual((o["status"], o["source"]), ("found", "dns"), ctx)
        self.assertIn("cache file ignored", p.stderr, ctx)
        self.assertIn("max_age", p.stderr, ctx)

    def test_corrupt_and_truncated_files_are_ignored_then_replaced(self):
        self.lookup(f"u@steady.{ORIGIN}")
        with open(self.cache, "rb") as f:
            good = f.read()
        for name, bad in (("garbage", b"\x00\xffnot a cache\n"),
                          ("truncated", good[:len(good) // 2]),
                          ("bit flip", good.replace(b"2525", b"2524", 1))):
            with open(self.cache, "wb") as f:
                f.write(bad)
            o, p, ctx = self.lookup(f"u@steady.{ORIGIN}")
            self.assertEqual((o["status"], o["source"]), ("found", "dns"), f"{name}: {ctx}")
            self.assertIn("cache file ignored", p.stderr, f"{name}: {ctx}")
            self.assertEqual(o["routes"][0]["port"], 2525, ctx)
            # The next save replaced it with a good file.
            self.assertIn(f"steady.{ORIGIN}", self.dump(), name)

    def test_kill_during_save_leaves_the_previous_file(self):
        self.lookup(f"u@steady.{ORIGIN}")
        with open(self.cache, "rb") as f:
            previous = f.read()
        caught = 0
        count = 20000
        for _attempt in range(6):
            keys = "".join(f"u@n{i}.{BULK}\n" for i in range(count))
            proc = subprocess.Popen([LOOKUP, "--config", self.config(), "--cache-file",
                                     self.cache, "--format", "json", "-"],
                                    stdin=subprocess.PIPE, stdout=subprocess.DEVNULL,
                                    stderr=subprocess.DEVNULL)
            proc.stdin.write(keys.encode())
            proc.stdin.close()
            tmp = f"{self.cache}.tmp.{proc.pid}"
            while proc.poll() is None and not os.path.exists(tmp):
                pass
            if proc.poll() is None:
                os.kill(proc.pid, signal.SIGKILL)
            proc.wait()
            if proc.returncode == -signal.SIGKILL and os.path.exists(tmp):
                caught += 1
                with open(self.cache, "rb") as f:
                    self.assertEqual(f.read(), previous, "the old file is untouched")
                entries = self.dump()
                self.assertEqual(set(entries), {f"steady.{ORIGIN}"})
                os.unlink(tmp)
                break
            # The save finished before the kill: the new file must be whole.
            self.assertIn(f"n0.{BULK}", self.dump())
            with open(self.cache, "wb") as f:
                f.write(previous)
            count *= 2
        self.assertGreater(caught, 0, "never caught a save in progress")


if __name__ == "__main__":
    unittest.main()
