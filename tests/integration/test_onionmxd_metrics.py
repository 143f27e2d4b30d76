#!/usr/bin/python3
"""onionmxd --metrics: the Prometheus page, read by the real Prometheus parser.

Reuses test_onionmxd.py's Knot zone (mx.test, found.mx.test has an onion SRV)
and its Daemon and socket helpers.  One daemon on Knot answers a known mix of
requests over socketmap and tcp_table (found from DNS and from the cache, not
found, onion recipient, a temporary failure, a wrong map name, an invalid
tcp_table line, malformed and oversized frames); /metrics, parsed with
prometheus_client.parser.text_string_to_metric_families, must count exactly
those.  A second daemon whose DNS server never answers shows the page served
while a lookup is pending, the request deadline, DNS timeouts, refused and
idle connections, and SIGHUP reloads.  Every metric on the page must be listed in docs/onionmxd.md.
Exit 77 (skipped) when knotd or prometheus_client is missing.
"""

import os
import shutil
import signal
import socket
import sys
import time
import unittest
import urllib.error
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import dnsharness as dh  # noqa: E402
import test_onionmxd as od  # noqa: E402

try:
    from prometheus_client.parser import text_string_to_metric_families
except ImportError:
    # Debian's python3-prometheus-client, when python3 is not Debian's own.
    sys.path.append("/usr/lib/python3/dist-packages")
    try:
        from prometheus_client.parser import text_string_to_metric_families
    except ImportError:
        text_string_to_metric_families = None

DOCS = os.path.join(HERE, "..", "..", "docs", "onionmxd.md")
TEMP_KEY = "t@not-our-zone.test"  # Knot refuses it: a temporary failure


def setUpModule():
    if text_string_to_metric_families is None:
        raise unittest.SkipTest("python3-prometheus-client is not installed")
    od.setUpModule()


def tearDownModule():
    od.tearDownModule()


def get(port, path="/metrics", method="GET"):
    """(status, content type, body) of one HTTP request."""
    req = urllib.request.Request(f"http://127.0.0.1:{port}{path}", method=method)
    try:
        with urllib.request.urlopen(req, timeout=5) as r:
            return r.status, r.headers.get("Content-Type"), r.read().decode()
    except urllib.error.HTTPError as e:
        return e.code, e.headers.get("Content-Type"), e.read().decode()


class Page:
    """A scrape, parsed: families by name and sample values by (name, labels)."""

    def __init__(self, port):
        status, ctype, text = get(port)
        assert status == 200, (status, text)
        assert ctype.startswith("text/plain; version=0.0.4"), ctype
        self.text = text
        self.families = {f.name: f for f in text_string_to_metric_families(text)}
        self.samples = {}
        for f in self.families.values():
            for s in f.samples:
                self.samples[(s.name, frozenset(s.labels.items()))] = s.value

    def value(self, name, **labels):
        return self.samples.get((name, frozenset(labels.items())), 0.0)

    def lookups(self, **labels):
        """Sum of onionmx_lookups_total over samples matching `labels`."""
        return sum(v for (n, ls), v in self.samples.items()
                   if n == "onionmx_lookups_total" and set(labels.items()) <= ls)


def delta(before, after, name, **labels):
    return after.value(name, **labels) - before.value(name, **labels)


class MetricsDaemon:
    def __init__(self, name, extra):
        self.port = dh.free_port()
        self.d = od.Daemon(name, extra + ["--metrics", f"inet:127.0.0.1:{self.port}"])
        dh.wait_until(lambda: get(self.port)[0] == 200, 10, "metrics page", proc=self.d.proc)


class Counts(unittest.TestCase):
    """Requests of known outcome against Knot; the page counts exactly them."""

    @classmethod
    def setUpClass(cls):
        cls.m = MetricsDaemon("metrics", ["--server", f"127.0.0.1:{od.KNOT.port}", "--no-tcp"])
        cls.d = cls.m.d

    @classmethod
    def tearDownClass(cls):
        cls.d.stop()

    def test_counts_match_the_requests(self):
        port = self.m.port
        before = Page(port)
        sm = [(od.FOUND, f"OK {od.FOUND_VALUE}"),       # dns: a cache miss
              (od.FOUND, f"OK {od.FOUND_VALUE}"),       # cache hit
              (od.NOTFOUND, "NOTFOUND "),               # dns: NXDOMAIN, cached negative
              (od.ONION_RCPT, f"OK smtptor:[{dh.V2}]:25"),
              (TEMP_KEY, None)]                         # dns: REFUSED
        for key, want in sm:
            got = od.ask(self.d.sm_port, key)
            if want is None:
                self.assertTrue(got.startswith("TEMP "), got)
            else:
                self.assertEqual(got, want, key)
        self.assertTrue(od.ask(self.d.sm_port, od.FOUND, name="other").startswith("PERM "))
        with od.connect(self.d.tcp_port) as s:
            s.sendall(b"get " + od.FOUND.encode() + b"\nget " + od.NOTFOUND.encode() +
                      b"\nput x y\n")
            got = b""
            while got.count(b"\n") < 3:
                got += s.recv(4096)
            lines = got.decode().splitlines()
            self.assertEqual(lines[0], "200 " + od.FOUND_VALUE)
            self.assertTrue(lines[1].startswith("500 "), lines)
            self.assertTrue(lines[2].startswith("400 "), lines)
        for bad in (b"hello world", b"99999999999:"):
            with od.connect(self.d.sm_port) as s:
                s.sendall(bad)
                self.assertTrue(od.closed_by_peer(s), bad)
        with od.connect(self.d.tcp_port) as s:
            s.sendall(b"get " + b"a" * 70000)  # no LF within the limit
            self.assertTrue(od.closed_by_peer(s))
        opened = 1 + len(sm) + 1 + 2 + 1  # the tcp connection, asks, bad frames
        after = Page(port)

        def lk(**labels):
            return after.lookups(**labels) - before.lookups(**labels)

        sm_, tcp = {"protocol": "socketmap"}, {"protocol": "tcp_table"}
        self.assertEqual(lk(**sm_, status="found", source="dns"), 1)
        self.assertEqual(lk(**sm_, status="found", source="cache"), 1)
        self.assertEqual(lk(**sm_, status="found", source="onion-address"), 1)
        self.assertEqual(lk(**sm_, status="notfound"), 1)
        self.assertEqual(lk(**sm_, status="temp"), 1)
        self.assertEqual(lk(**sm_, status="perm", source="config"), 1)
        self.assertEqual(lk(**sm_), 6)
        self.assertEqual(lk(**tcp, status="found", source="cache"), 1)
        self.assertEqual(lk(**tcp, status="notfound", source="cache"), 1)
        self.assertEqual(lk(**tcp, status="temp", source="protocol"), 1)
        self.assertEqual(lk(**tcp), 3)

        # The histogram: cumulative buckets, +Inf = count = requests answered.
        for proto, n in (("socketmap", 6), ("tcp_table", 3)):
            h = "onionmx_lookup_duration_seconds"
            self.assertEqual(delta(before, after, h + "_count", protocol=proto), n)
            self.assertEqual(delta(before, after, h + "_bucket", protocol=proto, le="+Inf"), n)
            self.assertGreater(delta(before, after, h + "_sum", protocol=proto), 0)
            buckets = sorted((float(dict(ls)["le"]), v) for (name, ls), v in after.samples.items()
                             if name == h + "_bucket" and dict(ls)["protocol"] == proto)
            self.assertEqual(buckets[0][0], 0.0001)
            self.assertEqual(buckets[-2][0], 10.0)
            self.assertEqual([v for _, v in buckets], sorted(v for _, v in buckets))

        errors = "onionmx_protocol_errors_total"
        self.assertEqual(delta(before, after, errors, protocol="socketmap", kind="malformed"), 1)
        self.assertEqual(delta(before, after, errors, protocol="socketmap", kind="oversized"), 1)
        self.assertEqual(delta(before, after, errors, protocol="tcp_table", kind="oversized"), 1)
        self.assertEqual(delta(before, after, errors, protocol="tcp_table", kind="invalid"), 1)
        self.assertEqual(delta(before, after, errors, protocol="tcp_table", kind="malformed"), 0)

        self.assertEqual(delta(before, after, "onionmx_connections_accepted_total"), opened)
        self.assertEqual(delta(before, after, "onionmx_connections_refused_total"), 0)
        # Library counters: 3 lookups went to DNS (found, nothere, the refused
        # one), 3 came from the cache (FOUND twice, the cached NXDOMAIN).
        self.assertEqual(delta(before, after, "onionmx_dns_queries_total"), 3)
        self.assertEqual(delta(before, after, "onionmx_dns_failures_total"), 1)
        self.assertEqual(delta(before, after, "onionmx_dns_timeouts_total"), 0)
        self.assertEqual(delta(before, after, "onionmx_cache_hits_total"), 3)
        self.assertEqual(delta(before, after, "onionmx_cache_misses_total"), 3)
        self.assertEqual(after.value("onionmx_cache_entries"), 2)
        self.assertEqual(after.value("onionmx_config_generation"), 1)
        self.assertEqual(after.value("onionmx_map_loaded"), 0)
        start = after.value("onionmx_process_start_time_seconds")
        self.assertLessEqual(start, time.time())
        self.assertGreater(start, time.time() - 600)

    def test_types_and_help_of_every_family(self):
        page = Page(self.m.port)
        for name, f in page.families.items():
            self.assertTrue(name.startswith("onionmx_"), name)
            self.assertTrue(f.documentation, name)
            self.assertIn(f.type, ("counter", "gauge", "histogram"), name)
            if f.type == "counter":
                # The parser strips _total from a counter family's name.
                self.assertIn(f"# TYPE {name}_total counter\n", page.text)
        self.assertEqual(page.families["onionmx_lookup_duration_seconds"].type, "histogram")
        self.assertEqual(page.families["onionmx_connections"].type, "gauge")
        self.assertEqual(page.families["onionmx_cache_entries"].type, "gauge")

    def test_every_metric_is_documented(self):
        with open(DOCS, encoding="utf-8") as f:
            docs = f.read()
        page = Page(self.m.port)
        for line in page.text.splitlines():
            if line.startswith("# TYPE "):
                name = line.split()[2]
                self.assertIn(f"`{name}`", docs, f"{name} is not in docs/onionmxd.md")

    def test_other_paths_and_methods_are_404(self):
        for path, method in (("/", "GET"), ("/metric", "GET"), ("/metrics/x", "GET"),
                             ("/metrics", "POST"), ("/metrics", "DELETE")):
            self.assertEqual(get(self.m.port, path, method)[0], 404, (path, method))
        self.assertEqual(get(self.m.port, "/metrics?x=1")[0], 200)
        # A client that connects and sends nothing costs the loop nothing.
        with socket.create_connection(("127.0.0.1", self.m.port), timeout=5):
            self.assertEqual(od.ask(self.d.sm_port, od.ONION_RCPT), f"OK smtptor:[{dh.V2}]:25")
            self.assertEqual(get(self.m.port)[0], 200)


class Pending(unittest.TestCase):
    """A DNS server that never answers: lookups stay pending."""

    @classmethod
    def setUpClass(cls):
        cls.hole = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)  # never read
        cls.hole.bind(("127.0.0.1", 0))
        cls.m = MetricsDaemon("metrics-slow", [
            "--server", f"127.0.0.1:{cls.hole.getsockname()[1]}", "--timeout", "1.5",
            "--request-timeout", "3"])
        cls.d = cls.m.d

    @classmethod
    def tearDownClass(cls):
        cls.d.stop()
        cls.hole.close()

    def test_page_served_while_a_lookup_is_pending(self):
        before = Page(self.m.port)
        with od.connect(self.d.sm_port) as s:
            s.sendall(od.netstring("onionmx p@pending.mx.test"))
            time.sleep(0.2)
            t0 = time.monotonic()
            during = Page(self.m.port)
            self.assertLess(time.monotonic() - t0, 1.0)
            self.assertGreaterEqual(during.value("onionmx_connections"), 1)
            self.assertEqual(during.lookups(), before.lookups())  # still unanswered
            self.assertEqual(delta(before, during, "onionmx_dns_queries_total"), 1)
            s.settimeout(10)
            got = od.read_netstrings(s, 1)[0]
            self.assertTrue(got.startswith("TEMP DNS timeout"), got)
        after = Page(self.m.port)
        self.assertEqual(after.lookups(status="temp", source="dns") -
                         before.lookups(status="temp", source="dns"), 1)
        self.assertEqual(delta(before, after, "onionmx_dns_failures_total"), 1)
        self.assertEqual(delta(before, after, "onionmx_dns_timeouts_total"), 1)

    def test_request_deadline(self):
        # --timeout 1.5 answers first here; a deadline needs the slower of
        # the two to be DNS, so this daemon gets its own short deadline.
        m = MetricsDaemon("metrics-deadline", [
            "--server", f"127.0.0.1:{self.hole.getsockname()[1]}", "--timeout", "5",
            "--request-timeout", "0.5"])
        try:
            before = Page(m.port)
            self.assertEqual(od.ask(m.d.sm_port, "q@deadline.mx.test"), "TEMP lookup timed out")
            after = Page(m.port)
            self.assertEqual(delta(before, after, "onionmx_request_timeouts_total",
                                   protocol="socketmap"), 1)
            self.assertEqual(after.lookups(status="temp", source="deadline") -
                             before.lookups(status="temp", source="deadline"), 1)
        finally:
            m.d.stop()

    def test_refused_and_idle_connections(self):
        m = MetricsDaemon("metrics-limits", [
            "--server", f"127.0.0.1:{self.hole.getsockname()[1]}", "--max-connections", "2",
            "--idle-timeout", "1"])
        try:
            # The readiness probes' connections are gone first.
            dh.wait_until(lambda: Page(m.port).value("onionmx_connections") == 0, 10,
                          "probe connections closed", proc=m.d.proc)
            before = Page(m.port)
            held = [od.connect(m.d.sm_port) for _ in range(2)]
            dh.wait_until(lambda: Page(m.port).value("onionmx_connections") == 2, 5,
                          "two connections open", proc=m.d.proc)
            with od.connect(m.d.sm_port) as third:
                self.assertTrue(od.closed_by_peer(third))
            for s in held:
                self.assertTrue(od.closed_by_peer(s, wait=5))  # the idle timeout
                s.close()
            after = Page(m.port)
            self.assertEqual(delta(before, after, "onionmx_connections_accepted_total"), 2)
            self.assertEqual(delta(before, after, "onionmx_connections_refused_total"), 1)
            self.assertEqual(delta(before, after, "onionmx_connections_closed_idle_total"), 2)
            self.assertEqual(after.value("onionmx_connections"), 0)
        finally:
            m.d.stop()

    def test_reloads_are_counted(self):
        before = Page(self.m.port)
        os.kill(self.d.proc.pid, signal.SIGHUP)
        dh.wait_until(lambda: delta(before, Page(self.m.port), "onionmx_reloads_total",
                                    result="ok") == 1, 10, "reload counted", proc=self.d.proc)
        after = Page(self.m.port)
        self.assertEqual(after.value("onionmx_config_generation") -
                         before.value("onionmx_config_generation"), 1)
        self.assertEqual(delta(before, after, "onionmx_reloads_total", result="failed"), 0)


if __name__ == "__main__":
    if not shutil.which("knotd") and not os.path.exists("/usr/sbin/knotd"):
        print("knotd not installed: skipped")
        sys.exit(77)
    if text_string_to_metric_families is None:
        print("python3-prometheus-client not installed: skipped")
        sys.exit(77)
    dh.install_signal_cleanup()
    unittest.main(verbosity=2)
