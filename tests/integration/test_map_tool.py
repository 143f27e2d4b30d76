#!/usr/bin/env python3
"""onionmx-map against the real minisign(1) and postmap(1).

Interop both ways (maps signed by `minisign -S`, prehashed and legacy `-l`,
verify in onionmx; maps and keys made by onionmx-map verify with
`minisign -V`; an encrypted `minisign -G` key signs with onionmx-map and an
encrypted onionmx-map key signs with minisign), refusals (tampered byte,
swapped trusted comment, wrong key, rollback, expiry, unsigned, truncated,
garbage), the importers on tests/data/map, and `export --postfix` output
loaded by the real postmap (private config directory, `postmap -c`; no
Postfix service runs).  Environment: ONIONMX_MAP = path of the tool.
Exit 77 (skipped) when minisign is not installed.
"""
import json
import os
import shutil
import subprocess
import sys
import tempfile

TOOL = os.environ.get("ONIONMX_MAP", "onionmx-map")
DATA = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "data", "map")
PASSWORD = "integration-test-password"
V1 = "aoqqpp7tzyil4hlq3umoos6atft6jvrqtosq2xy53sdgiesvgg4bqead.onion"
V2 = "efjprum3peosirjsilqv6lvlns3476t3njpngaexsyhangeb3mjo7sad.onion"

checks = 0
failures = []


def run(args, stdin=None, env_extra=None, cwd=None):
    env = dict(os.environ)
    env.pop("ONIONMX_MAP_PASSWORD", None)
    if env_extra:
        env.update(env_extra)
    p = subprocess.run(args, input=stdin, capture_output=True, text=True, env=env, cwd=cwd,
                       timeout=120, start_new_session=True)  # no controlling tty: stdin passwords
    return p.returncode, p.stdout, p.stderr


def check(name, cond, detail=""):
    global checks
    checks += 1
    if cond:
        print(f"ok   {name}")
    else:
        print(f"FAIL {name}: {detail}")
        failures.append(name)


def map_json(serial, entries, expires=None):
    exp = f', "expires": "{expires}"' if expires else ""
    body = ", ".join(f'"{k}": ["{v}"]' for k, v in entries.items())
    return f'{{"format": "onionmx-map", "version": 1, "serial": {serial}{exp}, "entries": {{{body}}}}}\n'


def write(path, text, mode="w"):
    with open(path, mode) as f:
        f.write(text)


def main():
    if shutil.which("minisign") is None:
        print("minisign not installed: skipped")
        return 77
    d = tempfile.mkdtemp(prefix="onionmx-map-it.")
    try:
        return scenarios(d)
    finally:
        shutil.rmtree(d, ignore_errors=True)


def scenarios(d):
    j = lambda *p: os.path.join(d, *p)
    write(j("map.json"), map_json(10, {"example.org": V1, ".example.net": V2},
                                  "2099-01-01T00:00:00Z"))

    # --- minisign keys and signatures, verified by onionmx-map ---
    rc, _, err = run(["minisign", "-G", "-W", "-p", j("ms.pub"), "-s", j("ms.key")])
    check("minisign -G -W", rc == 0, err)
    rc, _, err = run(["minisign", "-S", "-s", j("ms.key"), "-m", j("map.json"), "-t", "serial=10"])
    check("minisign -S (prehashed)", rc == 0, err)
    rc, out, err = run([TOOL, "verify", "-p", j("ms.pub"), j("map.json")])
    check("onionmx-map verifies minisign prehashed", rc == 0 and "serial=10" in out, out + err)
    rc, _, err = run(["minisign", "-S", "-l", "-s", j("ms.key"), "-m", j("map.json")])
    check("minisign -S -l (legacy)", rc == 0, err)
    rc, out, err = run([TOOL, "verify", "-p", j("ms.pub"), j("map.json")])
    check("onionmx-map verifies minisign legacy", rc == 0, out + err)

    # --- onionmx-map keys and signatures, verified by minisign ---
    rc, out, err = run([TOOL, "keygen", "-W", "-p", j("om.pub"), "-s", j("om.key")])
    check("onionmx-map keygen -W", rc == 0, err)
    rc, out, err = run([TOOL, "keygen", "-W", "-p", j("om.pub"), "-s", j("om.key")])
    check("keygen refuses to overwrite", rc != 0 and "exists" in err, err)
    rc, out, err = run([TOOL, "sign", "-s", j("om.key"), j("map.json")])
    check("onionmx-map sign", rc == 0, err)
    rc, out, err = run(["minisign", "-V", "-p", j("om.pub"), "-m", j("map.json")])
    check("minisign -V accepts onionmx-map signature", rc == 0 and "verified" in out, out + err)
    rc, out, err = run(["minisign", "-V", "-H", "-p", j("om.pub"), "-m", j("map.json")])
    check("onionmx-map signs prehashed (minisign -V -H)", rc == 0, out + err)
    rc, _, err = run([TOOL, "sign", "-l", "-s", j("om.key"), j("map.json")])
    rc2, out, err2 = run(["minisign", "-V", "-p", j("om.pub"), "-m", j("map.json")])
    check("onionmx-map sign -l verifies with minisign", rc == 0 and rc2 == 0, err + out + err2)
    rc, _, err = run(["minisign", "-S", "-s", j("om.key"), "-m", j("map.json")])
    check("minisign -S with an onionmx-map -W key", rc == 0, err)
    rc, out, err = run([TOOL, "verify", "-p", j("om.pub"), j("map.json")])
    check("... and onionmx-map verifies it", rc == 0, out + err)

    # --- encrypted keys, both directions (scrypt, minisign's limits: slow) ---
    rc, _, err = run(["minisign", "-G", "-p", j("mse.pub"), "-s", j("mse.key")],
                     stdin=f"{PASSWORD}\n{PASSWORD}\n")
    check("minisign -G (encrypted, password on stdin)", rc == 0, err)
    rc, out, err = run([TOOL, "sign", "-s", j("mse.key"), j("map.json")],
                       env_extra={"ONIONMX_MAP_PASSWORD": PASSWORD})
    check("onionmx-map sign with an encrypted minisign key", rc == 0, out + err)
    rc, out, err = run(["minisign", "-V", "-p", j("mse.pub"), "-m", j("map.json")])
    check("... minisign -V accepts it", rc == 0, out + err)
    rc, out, err = run([TOOL, "sign", "-s", j("mse.key"), j("map.json")],
                       env_extra={"ONIONMX_MAP_PASSWORD": "wrong"})
    check("wrong password refused", rc == 1 and "wrong password" in err, out + err)
    rc, out, err = run([TOOL, "keygen", "-p", j("ome.pub"), "-s", j("ome.key")],
                       env_extra={"ONIONMX_MAP_PASSWORD": PASSWORD})
    check("onionmx-map keygen (encrypted)", rc == 0, err)
    rc, _, err = run(["minisign", "-S", "-s", j("ome.key"), "-m", j("map.json")],
                     stdin=f"{PASSWORD}\n")
    check("minisign -S with an encrypted onionmx-map key", rc == 0, err)
    rc, out, err = run([TOOL, "verify", "-p", j("ome.pub"), j("map.json")])
    check("... onionmx-map verifies it", rc == 0, out + err)

    # --- refusals ---
    run([TOOL, "sign", "-s", j("om.key"), "-t", "serial 10", j("map.json")])
    good = open(j("map.json"), "rb").read()
    sig = open(j("map.json.minisig")).read()
    write(j("map.json"), good[:20] + bytes([good[20] ^ 1]) + good[21:], "wb")
    rc, out, err = run([TOOL, "verify", "-p", j("om.pub"), j("map.json")])
    check("tampered byte refused", rc == 1 and "verification failed" in err, out + err)
    rc, out, err = run(["minisign", "-V", "-p", j("om.pub"), "-m", j("map.json")])
    check("... minisign agrees", rc != 0, out)
    write(j("map.json"), good, "wb")
    lines = sig.split("\n")
    write(j("map.json.minisig"), "\n".join(lines[:2] + ["trusted comment: serial 99"] + lines[3:]))
    rc, out, err = run([TOOL, "verify", "-p", j("om.pub"), j("map.json")])
    check("swapped trusted comment refused", rc == 1 and "trusted comment" in err, out + err)
    write(j("map.json.minisig"), sig)
    rc, out, err = run([TOOL, "verify", "-p", j("ms.pub"), j("map.json")])
    check("wrong key refused", rc == 1 and "untrusted key" in err, out + err)
    write(j("map.json.minisig"), sig[: len(sig) // 2])
    rc, out, err = run([TOOL, "verify", "-p", j("om.pub"), j("map.json")])
    check("truncated signature refused", rc == 1 and "bad signature file" in err, err)
    os.remove(j("map.json.minisig"))
    rc, out, err = run([TOOL, "verify", "-p", j("om.pub"), j("map.json")])
    check("unsigned map refused", rc == 1 and "missing signature" in err, err)
    rc, out, err = run([TOOL, "verify", "--allow-unsigned", "-p", j("om.pub"), j("map.json")])
    check("unsigned map allowed with a warning", rc == 0 and "not signed" in err, out + err)

    state = j("state")
    os.mkdir(state)
    def publish(serial, expires="2099-01-01T00:00:00Z", text=None):
        write(j("m.json"), text if text is not None else map_json(serial, {"a.example": V1}, expires))
        return run([TOOL, "sign", "-s", j("om.key"), j("m.json")])
    publish(5)
    rc, out, err = run([TOOL, "verify", "--state-dir", state, "-p", j("om.pub"), j("m.json")])
    check("serial 5 accepted and recorded", rc == 0 and any(
        f.startswith("map-serial-") for f in os.listdir(state)), out + err)
    publish(4)
    rc, out, err = run([TOOL, "verify", "--state-dir", state, "-p", j("om.pub"), j("m.json")])
    check("rollback to serial 4 refused", rc == 1 and "rollback refused" in err, out + err)
    publish(6, expires="2001-01-01T00:00:00Z")
    rc, out, err = run([TOOL, "verify", "--state-dir", state, "-p", j("om.pub"), j("m.json")])
    check("expired map refused", rc == 1 and "expired" in err, out + err)
    rc, _, err = publish(7, text=map_json(7, {"a.example": "expyuzz4wqqyqhjn.onion"}))
    check("sign refuses a map with a v2 onion", rc == 1 and "v2" in err, err)
    write(j("t.json"), good[: len(good) // 2], "wb")
    rc, out, err = run([TOOL, "lint", j("t.json")])
    check("truncated map refused", rc == 1 and "JSON" in err, out + err)
    write(j("g.json"), b"\x00\xffgarbage", "wb")
    rc, out, err = run([TOOL, "lint", j("g.json")])
    check("garbage map refused", rc == 1, out + err)

    # --- importers ---
    rc, out, err = run([TOOL, "import", "--onionmx-yaml", os.path.join(DATA, "onionmx-map.yml"),
                        "-o", j("y.json"), "--serial", "3"])
    check("YAML import", rc == 0 and "imported 6 entries" in out and "dropped 6 (3 v2" in out,
          out + err)
    check("YAML import reports lines", "line 11" in err and "v2 unsupported" in err
          and "bad checksum" in err and "bad key" in err and "bad domain" in err, err)
    rc, out, err = run([TOOL, "show", j("y.json"), "example.org", "tor-made.example", "oldmail.example"])
    check("imported YAML answers lookups", rc == 1 and "cpsfhe2k" in out
          and "oldmail.example\tnot found" in out, out + err)
    rc, out, err = run([TOOL, "import", "--postfix", os.path.join(DATA, "transport"),
                        "-o", j("p.json"), "--serial", "4", "--expires", "2099-01-01T00:00:00Z"])
    check("Postfix import", rc == 0 and "imported 5 entries" in out and "dropped 6 (1 v2" in out,
          out + err)
    rc, out, err = run([TOOL, "lint", j("p.json")])
    check("imported map lints clean", rc == 0 and "5 entries" in out, out + err)

    # --- exports ---
    rc, out, err = run([TOOL, "export", "--opensmtpd", j("p.json"), d])
    relays = open(j("smtpd-relays")).read() if rc == 0 else ""
    domains = open(j("smtpd-domains")).read() if rc == 0 else ""
    check("OpenSMTPD export", rc == 0 and f"mail.example.com\tsmtp+notls://{V2}:2525" in relays
          and "example.org\n" in domains and ".example.org" not in domains
          and "subdomain entry skipped" in err, relays + domains + err)
    rc, out, err = run([TOOL, "export", "--postfix", j("p.json")])
    check("Postfix export", rc == 0 and f".example.org\tsmtptor:[{V1}]" in out, out + err)
    postmap = shutil.which("postmap") or ("/usr/sbin/postmap" if os.path.exists("/usr/sbin/postmap") else None)
    if postmap is None:
        print("postmap not installed: Postfix checks skipped")
    else:
        write(j("transport"), out)
        os.mkdir(j("pfconf"))
        write(j("pfconf", "main.cf"), "")
        rc, _, err = run([postmap, "-c", j("pfconf"), "hash:" + j("transport")])
        check("postmap accepts the export", rc == 0 and os.path.exists(j("transport.db")), err)
        rc, out, err = run([postmap, "-c", j("pfconf"), "-q", "mail.example.com", "hash:" + j("transport")])
        check("postmap -q exact key", rc == 0 and out.strip() == f"smtptor:[{V2}]:2525", out + err)
        rc, out, err = run([postmap, "-c", j("pfconf"), "-q", ".example.org", "hash:" + j("transport")])
        check("postmap -q .domain key", rc == 0 and out.strip() == f"smtptor:[{V1}]", out + err)
        rc, out, err = run([postmap, "-c", j("pfconf"), "-q", "nowhere.example", "hash:" + j("transport")])
        check("postmap -q unknown key", rc == 1 and out == "", out + err)

    lookup_uses_the_map(d)
    print(f"{checks - len(failures)}/{checks} checks passed")
    return 1 if failures else 0


def lookup_uses_the_map(d):
    """onionmx-lookup --map: a map signed by the real minisign pins its
    domains (source "map", serial in --explain); a tampered one is refused
    before any lookup (exit 3)."""
    lookup = os.environ.get("ONIONMX_LOOKUP")
    if not lookup:
        print("ONIONMX_LOOKUP not set: lookup checks skipped")
        return
    j = lambda *p: os.path.join(d, "lk", *p)
    os.mkdir(j())
    write(j("map.json"), map_json(5, {"example.org": V1, ".example.net": V2}, "2099-01-01T00:00:00Z"))
    rc, _, err = run(["minisign", "-G", "-W", "-p", j("k.pub"), "-s", j("k.key")])
    rc2, _, err2 = run(["minisign", "-S", "-s", j("k.key"), "-m", j("map.json")])
    check("minisign signs the lookup map", rc == 0 and rc2 == 0, err + err2)
    args = [lookup, "--map", j("map.json"), "--trusted-key", j("k.pub"), "--state-dir", j("state"),
            "--server", "127.0.0.1:9", "--format", "json", "--explain"]
    rc, out, err = run(args + ["user@example.org", "user@mx.example.net"])
    answers = [json.loads(line) for line in out.splitlines() if line.startswith("{")]
    check("lookup --map answers pinned domains from the map",
          rc == 0 and len(answers) == 2 and all(a["source"] == "map" for a in answers)
          and answers[0]["routes"][0]["onion"] == V1 and answers[1]["routes"][0]["onion"] == V2
          and any("serial 5" in e for e in answers[0]["explain"]), out + err)
    check("lookup --map creates the state directory", os.path.isdir(j("state")), d)
    write(j("map.json"), " ", mode="a")
    rc, out, err = run(args + ["user@example.org"])
    check("lookup --map refuses a tampered map before any lookup",
          rc == 3 and out == "" and "map.json" in err, f"rc={rc} {out} {err}")


if __name__ == "__main__":
    sys.exit(main())
