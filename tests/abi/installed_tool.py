#!/usr/bin/env python3
"""README's "Using it" sequence under a custom prefix: configure a fresh
build directory with --prefix <temp dir>, `meson install` it (no DESTDIR),
then run the installed onionmx-lookup --demo with a clean environment (no
LD_LIBRARY_PATH): the tool must find the installed libonionmx.so.0 by
itself (rpath to a libdir outside the loader's default search path).  The
installed sbin/onionmxd --version must run the same way, its man page in man8."""
import glob
import os
import subprocess
import sys
import tempfile

V1 = "aoqqpp7tzyil4hlq3umoos6atft6jvrqtosq2xy53sdgiesvgg4bqead.onion"


def run(cmd, **kw):
    print("+", " ".join(cmd), flush=True)
    return subprocess.run(cmd, check=True, **kw)


def main():
    source_root = sys.argv[1]
    with tempfile.TemporaryDirectory(prefix="onionmx-prefix-") as tmp:
        build, prefix = os.path.join(tmp, "build"), os.path.join(tmp, "prefix")
        env = {k: v for k, v in os.environ.items()
               if k not in ("DESTDIR", "LD_LIBRARY_PATH", "MESON_BUILD_ROOT", "MESON_SOURCE_ROOT")}
        # Only the library and the tools: plain buildtype keeps this short.
        run(["meson", "setup", build, source_root, "--prefix", prefix, "--buildtype", "plain",
             "-Dtests=disabled", "-Dexamples=false", "-Dbenchmarks=disabled"],
            env=env, stdout=subprocess.DEVNULL)
        run(["meson", "compile", "-C", build], env=env, stdout=subprocess.DEVNULL)
        run(["meson", "install", "-C", build, "--no-rebuild"], env=env, stdout=subprocess.DEVNULL)

        tool = os.path.join(prefix, "bin", "onionmx-lookup")
        libs = glob.glob(os.path.join(prefix, "lib*", "**", "libonionmx.so.0"), recursive=True)
        if not os.access(tool, os.X_OK) or len(libs) != 1:
            print("not installed: tool", tool, "library", libs)
            return 1
        clean_env = {"PATH": "/usr/bin:/bin", "LC_ALL": "C"}
        ldd = subprocess.run(["ldd", tool], env=clean_env, capture_output=True, text=True).stdout
        if os.path.realpath(libs[0]) not in [os.path.realpath(w) for w in ldd.split()]:
            print("the installed tool does not load the installed library:\n" + ldd)
            return 1
        out = subprocess.run([tool, "--demo"], env=clean_env, capture_output=True, text=True,
                             timeout=60)
        print(out.stdout, out.stderr, sep="")
        want = f"postmaster@{V1}: found smtptor:[{V1}]:25"
        if out.returncode != 0 or want not in out.stdout:
            print(f"expected rc 0 and a line starting {want!r}")
            return 1
        # onionmxd: installed to sbin, with its man page, loading the same library.
        daemon = os.path.join(prefix, "sbin", "onionmxd")
        man8 = glob.glob(os.path.join(prefix, "**", "man8", "onionmxd.8"), recursive=True)
        out = subprocess.run([daemon, "--version"], env=clean_env, capture_output=True, text=True,
                             timeout=60) if os.access(daemon, os.X_OK) else None
        if out is None or out.returncode != 0 or not out.stdout.startswith("onionmxd ") or not man8:
            print("onionmxd not installed or not runnable:", daemon, man8, out)
            return 1
        print("installed tool under a custom prefix: ok")
    return 0


if __name__ == "__main__":
    sys.exit(main())
