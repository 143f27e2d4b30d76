#!/usr/bin/python3
"""DNS benchmark: Knot's raw SRV throughput (dnsperf) vs onionmx-lookup.

    /usr/bin/python3 tests/bench/dns_bench.py [PATH/TO/onionmx-lookup]
                     [--domains 10000] [--seconds 10] [--clients 1]
                     [--outstanding 500] [--json] [--lookup-arg=ARG ...]
                     [--compare-trust]

The CLI path comes from argv or $ONIONMX_LOOKUP (default
build/tools/onionmx-lookup/onionmx-lookup). A zone bench.test with N distinct
domains d<i>.bench.test, one valid SRV each, is served by Knot on a free
loopback port (tests/integration/dnsharness.py).
  (1) dnsperf -s 127.0.0.1 -p PORT -d queryfile -l S -c C -q Q -> server QPS
  (2) onionmx-lookup --server 127.0.0.1:PORT --format json - with the N keys
      on stdin -> wall time, lookups/s; every key must come back found with
      the onion the zone says.
  (3) with --compare-trust: (2) twice more, in the same run, with the policy
      record and downgrade guard off (--no-policy --no-downgrade-guard, the
      baseline), on (the default; docs/route-trust.md) and on with
      [trust] queries = "after-srv", counting Knot's queries per lookup, on
      the N domains plus N that have no onion (NXDOMAIN); every 5th domain
      publishes a v=ONIONMX1 policy.
Prints a JSON object and a human line. Exit 0 ok, 1 failure, 77 tools missing.
"""

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, os.path.join(REPO, "tests", "integration"))
import dnsharness as dh  # noqa: E402

TARGETS = [dh.V1, dh.V2, dh.V3, dh.T1, dh.T2]


def parse_dnsperf(text):
    def num(label):
        m = re.search(rf"{label}:\s+([0-9.]+)", text)
        return float(m.group(1)) if m else None
    return {
        "queries_sent": num("Queries sent"),
        "queries_completed": num("Queries completed"),
        "queries_lost": num("Queries lost"),
        "qps": num("Queries per second"),
        "avg_latency_s": num("Average Latency \\(s\\)"),
    }


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("lookup", nargs="?", default=os.environ.get("ONIONMX_LOOKUP") or os.path.join(
        REPO, "build", "tools", "onionmx-lookup", "onionmx-lookup"))
    ap.add_argument("--domains", type=int, default=10000)
    ap.add_argument("--seconds", type=int, default=10)
    ap.add_argument("--clients", type=int, default=1)
    ap.add_argument("--outstanding", type=int, default=500)
    ap.add_argument("--json", action="store_true", help="print only the JSON object")
    ap.add_argument("--compare-trust", action="store_true",
                    help="also time lookups with route trust off (baseline) and on")
    ap.add_argument("--lookup-arg", action="append", default=[], metavar="ARG",
                    help="extra argument for onionmx-lookup (repeatable), e.g. "
                         "--lookup-arg=--config --lookup-arg=FILE")
    args = ap.parse_args()

    missing = dh.require_binaries(("knotd", "knotc", "dnsperf"))
    if missing:
        print(f"SKIP: missing {', '.join(missing)}", file=sys.stderr)
        return 77
    if not os.access(args.lookup, os.X_OK):
        print(f"onionmx-lookup not found at {args.lookup}", file=sys.stderr)
        return 1
    dh.install_signal_cleanup()

    workdir = tempfile.mkdtemp(prefix="onionmx-bench-")
    knot = None
    try:
        zone = dh.Zone("bench.test")
        expect = {}
        for i in range(args.domains):
            target = TARGETS[i % len(TARGETS)]
            zone.add_srv(f"{dh.SRV_PREFIX}d{i}", 0, 0, 25, target + ".")
            if args.compare_trust and i % 5 == 0:
                zone.add(f"{dh.SRV_PREFIX}d{i}", "TXT", '"v=ONIONMX1; mode=testing; max_age=86400"')
            expect[f"d{i}.bench.test"] = target
        knot = dh.KnotServer(workdir, {"bench.test": zone.text()},
                             serials={"bench.test": zone.serial}).start()
        port = knot.port

        qfile = os.path.join(workdir, "queries.txt")
        with open(qfile, "w") as f:
            for i in range(args.domains):
                f.write(f"{dh.SRV_PREFIX}d{i}.bench.test SRV\n")
        perf_cmd = ["dnsperf", "-s", "127.0.0.1", "-p", str(port), "-d", qfile,
                    "-l", str(args.seconds), "-c", str(args.clients), "-q", str(args.outstanding)]
        perf = subprocess.run(perf_cmd, capture_output=True, text=True,
                              timeout=args.seconds + 60)
        if perf.returncode != 0:
            print(f"dnsperf failed (rc {perf.returncode}):\n{perf.stdout}{perf.stderr}",
                  file=sys.stderr)
            return 1
        dp = parse_dnsperf(perf.stdout)
        if not dp["qps"]:
            print(f"cannot parse dnsperf output:\n{perf.stdout}", file=sys.stderr)
            return 1

        keys = list(expect)
        cli_cmd = [args.lookup, "--server", f"127.0.0.1:{port}", "--format", "json"]
        cli_cmd += args.lookup_arg + ["-"]
        t0 = time.monotonic()
        cli = subprocess.run(cli_cmd, input="".join(k + "\n" for k in keys),
                             capture_output=True, text=True, timeout=600)
        wall = time.monotonic() - t0
        problems = []
        lines = [ln for ln in cli.stdout.splitlines() if ln.strip()]
        if len(lines) != len(keys):
            problems.append(f"{len(lines)} output lines for {len(keys)} keys")
        found = 0
        statuses = {}
        for key, line in zip(keys, lines):
            try:
                o = json.loads(line)
            except ValueError:
                problems.append(f"not JSON: {line[:200]!r}")
                continue
            statuses[o.get("status")] = statuses.get(o.get("status"), 0) + 1
            onion = (o.get("routes") or [{}])[0].get("onion", "").rstrip(".")
            if o.get("key") != key:
                problems.append(f"order: expected key {key}, got {o.get('key')}")
            elif o.get("status") != "found" or onion != expect[key]:
                problems.append(f"{key}: status {o.get('status')} onion {onion} "
                                f"reason {o.get('reason')!r}")
            else:
                found += 1
        if cli.returncode != 0:
            problems.append(f"onionmx-lookup exit code {cli.returncode}: {cli.stderr[-500:]}")

        trust = None
        if args.compare_trust:
            trust = {}
            after = os.path.join(workdir, "after-srv.toml")
            with open(after, "w") as f:
                f.write('[trust]\nqueries = "after-srv"\n')
            # Half the keys have no onion (NXDOMAIN), as most mail domains.
            mixed = [k for pair in zip(keys, (f"absent{i}.bench.test" for i in range(len(keys))))
                     for k in pair]
            for label, extra in (("off", ["--no-policy", "--no-downgrade-guard"]), ("on", []),
                                 ("after_srv", ["--config", after])):
                cmd = [args.lookup, "--server", f"127.0.0.1:{port}", "--format", "json",
                       "--no-cache"] + extra + args.lookup_arg + ["-"]
                q0 = knot.query_counts()["query"]
                t1 = time.monotonic()
                run = subprocess.run(cmd, input="".join(k + "\n" for k in mixed),
                                     capture_output=True, text=True, timeout=600)
                w = time.monotonic() - t1
                q = knot.query_counts()["query"] - q0
                got = sum(1 for ln in run.stdout.splitlines() if '"status":"found"' in ln)
                nf = sum(1 for ln in run.stdout.splitlines() if '"status":"notfound"' in ln)
                if (got, nf) != (len(keys), len(keys)):
                    problems.append(f"trust {label}: {got} found, {nf} not found of {len(mixed)}")
                trust[label] = {"wall_s": round(w, 3), "lookups_per_s": round(len(mixed) / w, 1),
                                "queries_per_lookup": round(q / len(mixed), 3)}
            for label in ("on", "after_srv"):
                trust[label + "_to_off_throughput"] = round(
                    trust[label]["lookups_per_s"] / trust["off"]["lookups_per_s"], 3)

        lps = len(keys) / wall if wall > 0 else 0.0
        result = {
            "domains": args.domains,
            "knot_port": port,
            "dnsperf": dict(dp, command=" ".join(perf_cmd)),
            "onionmx_lookup": {"command": " ".join(cli_cmd), "keys": len(keys), "found": found,
                               "wall_s": round(wall, 3),
                               "lookups_per_s": round(lps, 1), "statuses": statuses,
                               "exit_code": cli.returncode},
            "ratio_lookup_to_server": round(lps / dp["qps"], 4) if dp["qps"] else None,
            "trust": trust,
            "cpus": os.cpu_count(),
            "ok": not problems,
        }
        print(json.dumps(result))
        if not args.json:
            print(f"Knot (dnsperf, {args.seconds}s, -c {args.clients} -q {args.outstanding}): "
                  f"{dp['qps']:.0f} qps, {dp['queries_lost']:.0f} lost | onionmx-lookup: "
                  f"{found}/{len(keys)} found ({statuses}) in {wall:.2f}s = {lps:.0f} lookups/s | "
                  f"ratio {result['ratio_lookup_to_server']:.3f}")
        if trust and not args.json:
            print(f"route trust off: {trust['off']['lookups_per_s']:.0f} lookups/s, "
                  f"{trust['off']['queries_per_lookup']} queries/lookup | on: "
                  f"{trust['on']['lookups_per_s']:.0f} lookups/s, "
                  f"{trust['on']['queries_per_lookup']} queries/lookup | on/off "
                  f"{trust['on_to_off_throughput']:.3f} | after-srv: "
                  f"{trust['after_srv']['lookups_per_s']:.0f} lookups/s, "
                  f"{trust['after_srv']['queries_per_lookup']} queries/lookup, /off "
                  f"{trust['after_srv_to_off_throughput']:.3f}")
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
