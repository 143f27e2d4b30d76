#!/usr/bin/python3
"""Cache batch benchmark: onionmx-lookup over N domains uncached, cold and cached.

    /usr/bin/python3 tests/bench/cache_batch.py [PATH/TO/onionmx-lookup]
                     [--domains 10000] [--onions 100] [--repeat 1000] [--json]

The CLI path comes from argv or $ONIONMX_LOOKUP (default
build/tools/onionmx-lookup/onionmx-lookup). A zone cache.test with N domains
d<i>.cache.test, one valid SRV each (onions from dnsharness.random_onions),
is served by Knot on a free loopback port (tests/integration/dnsharness.py).
In one run, with the N keys on stdin and --format json:
  (i)   --no-cache                    uncached baseline
  (ii)  --cache-file F, F absent      cold: every key asks DNS, F is written
  (iii) --cache-file F again          every key from the cache: Knot must
        count 0 queries and every answer must say "source":"cache"
reporting wall time, keys/s, the ratios (ii)/(i) and (iii)/(i) of wall
time, F's size and its load time (one cached key with F minus one key
with --no-cache, best of 5; and --cache-dump alone), and whether a run
that only hit the cache rewrote F. Then one key repeated --repeat times in one
run, queries counted at Knot: with the default in-memory cache and with
--no-cache. Every answer must be found with the onion the zone says.
Prints a JSON object and a table. Exit 0 ok, 1 failure, 77 tools missing.
"""

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, os.path.join(REPO, "tests", "integration"))
import dnsharness as dh  # noqa: E402

ORIGIN = "cache.test"


def run_batch(cmd, keys, expect, problems, label, want_source=None):
    """Runs cmd with keys on stdin; checks every answer; returns (wall, sources)."""
    t0 = time.monotonic()
    cli = subprocess.run(cmd, input="".join(k + "\n" for k in keys), capture_output=True,
                         text=True, timeout=900)
    wall = time.monotonic() - t0
    if cli.returncode != 0:
        problems.append(f"{label}: exit code {cli.returncode}: {cli.stderr[-500:]}")
    lines = [ln for ln in cli.stdout.splitlines() if ln.strip()]
    if len(lines) != len(keys):
        problems.append(f"{label}: {len(lines)} output lines for {len(keys)} keys")
    sources = {}
    for key, line in zip(keys, lines):
        try:
            o = json.loads(line)
        except ValueError:
            problems.append(f"{label}: not JSON: {line[:200]!r}")
            continue
        src = o.get("source")
        sources[src] = sources.get(src, 0) + 1
        onion = (o.get("routes") or [{}])[0].get("onion", "").rstrip(".")
        domain = key.split("@", 1)[1]
        if o.get("key") != key:
            problems.append(f"{label}: order: expected key {key}, got {o.get('key')}")
        elif o.get("status") != "found" or onion != expect[domain]:
            problems.append(f"{label}: {key}: status {o.get('status')} onion {onion} "
                            f"reason {o.get('reason')!r}")
        elif want_source and src != want_source:
            problems.append(f"{label}: {key}: source {src!r}, expected {want_source!r}")
    return wall, sources


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("lookup", nargs="?", default=os.environ.get("ONIONMX_LOOKUP") or os.path.join(
        REPO, "build", "tools", "onionmx-lookup", "onionmx-lookup"))
    ap.add_argument("--domains", type=int, default=10000)
    ap.add_argument("--onions", type=int, default=100,
                    help="distinct onions (pure-Python Ed25519: about 10 ms each)")
    ap.add_argument("--repeat", type=int, default=1000)
    ap.add_argument("--json", action="store_true", help="print only the JSON object")
    args = ap.parse_args()

    missing = dh.require_binaries(("knotd", "knotc"))
    if missing:
        print(f"SKIP: missing {', '.join(missing)}", file=sys.stderr)
        return 77
    if not os.access(args.lookup, os.X_OK):
        print(f"onionmx-lookup not found at {args.lookup}", file=sys.stderr)
        return 1
    dh.install_signal_cleanup()

    workdir = tempfile.mkdtemp(prefix="onionmx-cache-bench-")
    knot = None
    try:
        onions = dh.random_onions(args.onions, tag="cache-bench")
        zone = dh.Zone(ORIGIN)
        expect = {}
        for i in range(args.domains):
            target = onions[i % len(onions)]
            zone.add_srv(f"{dh.SRV_PREFIX}d{i}", 0, 0, 25, target + ".", ttl=3600)
            expect[f"d{i}.{ORIGIN}"] = target
        knot = dh.KnotServer(workdir, {ORIGIN: zone.text()},
                             serials={ORIGIN: zone.serial}).start()
        port = knot.port
        base = [args.lookup, "--server", f"127.0.0.1:{port}", "--format", "json"]
        keys = [f"user@{d}" for d in expect]
        cache_file = os.path.join(workdir, "state", "cache.json")
        problems = []
        runs = {}

        def counted(label, cmd, batch, want_source=None):
            q0 = knot.query_counts()["query"]
            wall, sources = run_batch(cmd, batch, expect, problems, label, want_source)
            queries = knot.query_counts()["query"] - q0
            runs[label] = {"command": " ".join(cmd), "keys": len(batch), "wall_s": round(wall, 3),
                           "keys_per_s": round(len(batch) / wall, 1) if wall > 0 else None,
                           "queries_at_server": queries, "sources": sources}
            return runs[label]

        uncached = counted("uncached", base + ["--no-cache", "-"], keys)
        if os.path.exists(cache_file):
            os.unlink(cache_file)
        cold = counted("cold", base + ["--cache-file", cache_file, "-"], keys)
        file_bytes = os.path.getsize(cache_file) if os.path.exists(cache_file) else None
        if file_bytes is None:
            problems.append("cold: the cache file was not written")
        cached = counted("cached", base + ["--cache-file", cache_file, "-"], keys,
                         want_source="cache")
        if cached["queries_at_server"] != 0:
            problems.append(f"cached: {cached['queries_at_server']} queries reached Knot "
                            "(expected 0)")

        # Load time: one cached key with the file minus one key without any
        # cache (process start, config, c-ares), best of 5 each.
        def best_of(cmd, n=5):
            best = None
            for _ in range(n):
                t0 = time.monotonic()
                subprocess.run(cmd, input=keys[0] + "\n", capture_output=True, text=True,
                               timeout=120, check=False)
                w = time.monotonic() - t0
                best = w if best is None else min(best, w)
            return best
        st0 = os.stat(cache_file)
        one_file = best_of(base + ["--cache-file", cache_file, "-"])
        st1 = os.stat(cache_file)
        one_none = best_of(base + ["--no-cache", "-"])
        # Is the file rewritten by a run that changed nothing (a cached hit)?
        rewritten = (st0.st_ino, st0.st_mtime_ns) != (st1.st_ino, st1.st_mtime_ns)
        # Reading alone: --cache-dump loads the file and prints it, no DNS.
        t0 = time.monotonic()
        dump = subprocess.run([args.lookup, "--cache-file", cache_file, "--cache-dump"],
                              capture_output=True, text=True, timeout=120, check=False)
        dump_s = time.monotonic() - t0
        dump_lines = len(dump.stdout.splitlines())
        if dump_lines != args.domains:
            problems.append(f"--cache-dump printed {dump_lines} lines for {args.domains} entries")

        same = [keys[0]] * args.repeat
        rep_cache = counted("repeat_cache", base + ["-"], same)
        rep_none = counted("repeat_no_cache", base + ["--no-cache", "-"], same)
        if rep_cache["queries_at_server"] != 1:
            problems.append(f"repeat with the cache: {rep_cache['queries_at_server']} queries "
                            "(expected 1)")

        def ratio(a, b):
            return round(runs[a]["wall_s"] / runs[b]["wall_s"], 4) if runs[b]["wall_s"] else None
        result = {
            "domains": args.domains, "knot_port": port, "cpus": os.cpu_count(),
            "runs": runs,
            "wall_ratio_cold_to_uncached": ratio("cold", "uncached"),
            "wall_ratio_cached_to_uncached": ratio("cached", "uncached"),
            "cache_file_bytes": file_bytes,
            "one_key_with_file_s": round(one_file, 4),
            "one_key_no_cache_s": round(one_none, 4),
            "load_estimate_s": round(one_file - one_none, 4),
            "file_rewritten_by_a_hit_only_run": rewritten,
            "cache_dump_s": round(dump_s, 4),
            "ok": not problems,
        }
        print(json.dumps(result))
        if not args.json:
            print(f"\n{'run':<16} {'keys':>6} {'wall s':>8} {'keys/s':>10} {'vs (i)':>7} "
                  f"{'queries':>8}  sources")
            for label, name in (("uncached", "(i) --no-cache"), ("cold", "(ii) cold file"),
                                ("cached", "(iii) cached"),
                                ("repeat_cache", "same key, cache"),
                                ("repeat_no_cache", "same key, none")):
                r = runs[label]
                vs = (f"{r['wall_s'] / uncached['wall_s']:.3f}"
                      if label in ("cold", "cached", "uncached") else "")
                print(f"{name:<16} {r['keys']:>6} {r['wall_s']:>8.3f} {r['keys_per_s']:>10.0f} "
                      f"{vs:>7} {r['queries_at_server']:>8}  {r['sources']}")
            print(f"cache file: {file_bytes} bytes ({file_bytes / args.domains:.0f} B/entry); "
                  f"one key with it {one_file * 1000:.1f} ms, without a cache "
                  f"{one_none * 1000:.1f} ms: load about {(one_file - one_none) * 1000:.1f} ms"
                  if file_bytes else "cache file: missing")
            print(f"--cache-dump of it (load + print, no DNS): {dump_s * 1000:.1f} ms; a run "
                  f"with only hits {'rewrote' if rewritten else 'did not rewrite'} the file")
        for p in problems[:20]:
            print("PROBLEM:", p, file=sys.stderr)
        if len(problems) > 20:
            print(f"... {len(problems) - 20} more problems", file=sys.stderr)
        return 0 if not problems else 1
    finally:
        if knot:
            knot.stop()
        shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
