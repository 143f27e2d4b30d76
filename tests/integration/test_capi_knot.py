#!/usr/bin/python3
"""The C ABI's event-loop integration against a real Knot on loopback.

Starts knotd (dnsharness) with zone capi.test: h0..h999 each publish
`_onion-mx._tcp.hN.capi.test SRV 0 0 25 <onion>`.  Then
  * runs test_capi's CApiKnot tests ($ONIONMX_TEST_CAPI): 1000 concurrent
    lookups driven by a poll(2) loop (watch + onionmx_ctx_process) and by a
    caller's libevent base, with no blocking call into the library;
  * runs examples/poll_loop.c and examples/libevent_loop.c
    ($ONIONMX_EXAMPLE_POLL, $ONIONMX_EXAMPLE_LIBEVENT) on found, not-found,
    onion-recipient and invalid keys and checks every answer line.
Exit 77 (skipped) only when knotd is missing.
"""

import os
import shutil
import subprocess
import sys
import tempfile
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import dnsharness as dh  # noqa: E402

COUNT = 1000
ONION = dh.V2
KNOT = None
WORK = None


def setUpModule():
    global KNOT, WORK
    WORK = tempfile.mkdtemp(prefix="onionmx-capi-")
    z = dh.Zone("capi.test")
    for i in range(COUNT):
        z.add_srv(f"{dh.SRV_PREFIX}h{i}", 0, 0, 25, ONION + ".")
    z.add_srv(dh.SRV_PREFIX + "dot", 0, 0, 0, ".")
    KNOT = dh.KnotServer(WORK, {"capi.test": z.text()}, serials={"capi.test": z.serial}).start()


def tearDownModule():
    if KNOT:
        KNOT.stop()
    if WORK:
        shutil.rmtree(WORK, ignore_errors=True)


def server():
    return f"127.0.0.1:{KNOT.port}"


class CApiAgainstKnot(unittest.TestCase):
    def test_gtest_knot_cases(self):
        env = dict(os.environ, ONIONMX_TEST_DNS=server(), ONIONMX_TEST_ONION=ONION)
        p = subprocess.run([os.environ["ONIONMX_TEST_CAPI"], "--gtest_filter=CApiKnot.*"],
                           env=env, capture_output=True, text=True, timeout=300)
        self.assertEqual(p.returncode, 0, p.stdout[-4000:] + p.stderr[-2000:])
        # No test may skip here: every case that ran passed.
        ran = p.stdout.count("[ RUN      ] CApiKnot.")
        self.assertGreaterEqual(ran, 5, p.stdout)
        self.assertIn(f"[  PASSED  ] {ran} tests", p.stdout, "a test skipped:\n" + p.stdout)


class ExamplesAgainstKnot(unittest.TestCase):
    KEYS = {
        "a@h1.capi.test": f"OK smtptor:[{ONION}]:25",
        "h999.capi.test": f"OK smtptor:[{ONION}]:25",
        "b@nothere.capi.test": "NOTFOUND ",
        "c@dot.capi.test": "NOTFOUND ",
        f"d@{dh.V1}": f"OK smtptor:[{dh.V1}]:25",
        "e@boqqpp7tzyil4hlq3umoos6atft6jvrqtosq2xy53sdgiesvgg4bqead.onion": "PERM ",
    }

    def run_example(self, var):
        exe = os.environ[var]
        p = subprocess.run([exe, "-s", server()] + list(self.KEYS), capture_output=True,
                           text=True, timeout=60)
        self.assertEqual(p.returncode, 0, p.stdout + p.stderr)
        got = dict(line.split("\t", 1) for line in p.stdout.splitlines())
        self.assertEqual(set(got), set(self.KEYS), p.stdout)
        for key, want in self.KEYS.items():
            if want.endswith(" ") and want != "NOTFOUND ":
                self.assertTrue(got[key].startswith(want), f"{key}: {got[key]!r}")
            else:
                self.assertEqual(got[key], want, key)

    def test_poll_loop_example(self):
        self.run_example("ONIONMX_EXAMPLE_POLL")

    def test_libevent_example(self):
        self.run_example("ONIONMX_EXAMPLE_LIBEVENT")


if __name__ == "__main__":
    if not shutil.which("knotd"):
        print("knotd not installed: skipped")
        sys.exit(77)
    dh.install_signal_cleanup()
    unittest.main(verbosity=2)
