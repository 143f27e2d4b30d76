#!/usr/bin/python3
"""bench-smoke: mtaload against mtaecho, so the benchmark tools cannot rot.

Starts mtaecho ($MTAECHO) on free 127.0.0.1 ports and a unix socket, then
runs mtaload ($MTALOAD) for about a second per case, over socketmap and
tcp_table, and checks the JSON it reports: every request has exactly one
reply (requests == replies, no errors), every reply has the kind mtaecho was
told to send (OK/NOTFOUND/TEMP/PERM, 200/500/400), a request count is met
exactly, the percentiles are ordered, and a server that is not there makes
mtaload fail.
"""

import json
import os
import shutil
import subprocess
import sys
import tempfile
import unittest

MTALOAD = os.environ.get("MTALOAD", "")
MTAECHO = os.environ.get("MTAECHO", "")
# mtaecho --status -> (socketmap status word, tcp_table code), socketmap_table(5), tcp_table(5)
KINDS = {"found": ("OK", "200"), "notfound": ("NOTFOUND", "500"), "temp": ("TEMP", "400"),
         "perm": ("PERM", "400")}


class Echo:
    def __init__(self, workdir, status):
        self.sock = os.path.join(workdir, f"{status}.sock")
        self.proc = subprocess.Popen(
            [MTAECHO, "--socketmap", "inet:127.0.0.1:0", "--tcp-table", "inet:127.0.0.1:0",
             "--socketmap", "unix:" + self.sock, "--status", status, "--value", "v" + status],
            stdout=subprocess.PIPE, text=True)
        # "socketmap PORT|PATH" / "tcp_table PORT" lines, once listening
        got = {}
        for _ in range(3):
            kind, where = self.proc.stdout.readline().split()
            got[(kind, where.startswith("/"))] = where
        self.sm = f"inet:127.0.0.1:{got[('socketmap', False)]}"
        self.tcp = f"inet:127.0.0.1:{got[('tcp_table', False)]}"
        self.unix = "unix:" + got[("socketmap", True)]

    def stop(self):
        self.proc.terminate()
        self.proc.wait(10)
        self.proc.stdout.close()


def mtaload(*args):
    p = subprocess.run([MTALOAD, "--json", *args], capture_output=True, text=True, timeout=60)
    return p.returncode, (json.loads(p.stdout) if p.stdout.strip() else None), p.stderr


class Smoke(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        if not (MTALOAD and MTAECHO):
            raise unittest.SkipTest("MTALOAD/MTAECHO not set")
        cls.work = tempfile.mkdtemp(prefix="mtaload-smoke-")
        cls.echo = {s: Echo(cls.work, s) for s in KINDS}

    @classmethod
    def tearDownClass(cls):
        for e in cls.echo.values():
            e.stop()
        shutil.rmtree(cls.work, ignore_errors=True)

    def consistent(self, r, kind, connections):
        self.assertEqual(r["connections"], connections)
        self.assertGreater(r["requests"], 0)
        self.assertEqual(r["replies"], r["requests"], r)
        self.assertEqual(r["errors"], 0, r)
        self.assertEqual(r["kinds"], {kind: r["replies"]}, r)
        lat = r["latency_us"]
        self.assertTrue(0 < lat["p50"] <= lat["p90"] <= lat["p99"] <= lat["max"], lat)
        self.assertGreater(r["rps"], 0)
        # rps is replies over the elapsed time the tool measured
        self.assertAlmostEqual(r["rps"] * r["elapsed_s"], r["replies"],
                               delta=max(2.0, r["replies"] * 0.01))

    def test_duration_both_protocols(self):
        e = self.echo["found"]
        for proto, where, kind in (("--socketmap", e.sm, "OK"), ("--tcp-table", e.tcp, "200"),
                                   ("--socketmap", e.unix, "OK")):
            rc, r, err = mtaload(proto, where, "-c", "4", "-d", "0.5",
                                 "--pattern", "u{i}@d{i}.example", "--range", "100")
            self.assertEqual(rc, 0, err)
            self.consistent(r, kind, 4)
            self.assertGreaterEqual(r["elapsed_s"], 0.5)

    def test_every_kind(self):
        for status, (sm_kind, tcp_kind) in KINDS.items():
            e = self.echo[status]
            for proto, where, kind in (("--socketmap", e.sm, sm_kind),
                                       ("--tcp-table", e.tcp, tcp_kind)):
                rc, r, err = mtaload(proto, where, "-c", "2", "-n", "300", "--pattern", "k@x.example")
                self.assertEqual(rc, 0, err)
                self.consistent(r, kind, 2)
                self.assertEqual(r["requests"], 300)

    def test_keys_file(self):
        keys = os.path.join(self.work, "keys.txt")
        with open(keys, "w") as f:
            f.write("a@one.example\nb@two.example\n\nc@three.example\n")
        rc, r, err = mtaload("--tcp-table", self.echo["found"].tcp, "-c", "3", "-n", "7",
                             "--keys", keys)
        self.assertEqual(rc, 0, err)
        self.consistent(r, "200", 3)
        self.assertEqual(r["requests"], 7)

    def test_server_absent_fails(self):
        probe = Echo(self.work, "found")
        where = probe.sm
        probe.stop()
        rc, r, err = mtaload("--socketmap", where, "-c", "2", "-n", "10", "--pattern", "k@x.example")
        self.assertEqual(rc, 1, err)
        self.assertEqual(r["replies"], 0)
        self.assertEqual(sum(r["connect_errors"].values()), 2, r)

    def test_usage_error(self):
        rc, _, _ = mtaload("--socketmap", "inet:127.0.0.1:1")  # no keys
        self.assertEqual(rc, 2)


if __name__ == "__main__":
    unittest.main(verbosity=2)
