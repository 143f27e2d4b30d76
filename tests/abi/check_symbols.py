#!/usr/bin/env python3
"""The shared library exports exactly the symbols listed in onionmx.sym,
each under its version node, and nothing else (no C++ symbols leak)."""
import re
import subprocess
import sys


def main():
    lib, symfile = sys.argv[1], sys.argv[2]
    text = open(symfile).read()
    text = re.sub(r"/\*.*?\*/", "", text, flags=re.S)
    listed = {}
    for node, body in re.findall(r"(ONIONMX_[0-9.]+)\s*\{(.*?)\}", text, flags=re.S):
        globals_part = body.split("local:")[0].replace("global:", "")
        for name in re.findall(r"([A-Za-z_][A-Za-z0-9_]*)\s*;", globals_part):
            listed[name] = node
    out = subprocess.run(["nm", "-D", "--defined-only", lib], check=True,
                         capture_output=True, text=True).stdout
    exported = {}
    for line in out.splitlines():
        parts = line.split()
        if len(parts) < 3:
            continue
        name = parts[2]
        if parts[1] == "A":  # version node definitions
            continue
        base, _, version = name.partition("@@")
        exported[base] = version
    ok = True
    for name in sorted(set(exported) - set(listed)):
        print(f"exported but not in onionmx.sym: {name}")
        ok = False
    for name in sorted(set(listed) - set(exported)):
        print(f"listed in onionmx.sym but not exported: {name}")
        ok = False
    for name in sorted(set(listed) & set(exported)):
        if exported[name] != listed[name]:
            print(f"{name}: version {exported[name]!r}, onionmx.sym says {listed[name]!r}")
            ok = False
    if not listed:
        print("no symbols parsed from onionmx.sym")
        ok = False
    print(f"{len(exported)} exported, {len(listed)} listed: {'ok' if ok else 'MISMATCH'}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
