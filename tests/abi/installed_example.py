#!/usr/bin/env python3
"""Install onionmx into a scratch DESTDIR, then build examples/lookup.c the
way a user would (cc + pkg-config onionmx) against the *installed* headers
and shared library only, and run it on an onion recipient."""
import glob
import os
import shutil
import subprocess
import sys
import tempfile

V1 = "aoqqpp7tzyil4hlq3umoos6atft6jvrqtosq2xy53sdgiesvgg4bqead.onion"


def main():
    build_root, example = sys.argv[1], sys.argv[2]
    cc = os.environ.get("CC", "cc").split()
    with tempfile.TemporaryDirectory(prefix="onionmx-install-") as dest:
        subprocess.run(["meson", "install", "-C", build_root, "--no-rebuild",
                        "--destdir", dest, "--quiet"], check=True,
                       stdout=subprocess.DEVNULL)
        pcs = glob.glob(os.path.join(dest, "**", "pkgconfig", "onionmx.pc"), recursive=True)
        if len(pcs) != 1:
            print("onionmx.pc not installed:", pcs)
            return 1
        env = dict(os.environ, PKG_CONFIG_PATH=os.path.dirname(pcs[0]),
                   PKG_CONFIG_SYSROOT_DIR=dest)
        flags = subprocess.run(["pkg-config", "--cflags", "--libs", "onionmx"], env=env,
                               check=True, capture_output=True, text=True).stdout.split()
        if not any(f.startswith("-I" + dest) for f in flags):
            print("pkg-config did not point into the install:", flags)
            return 1
        exe = os.path.join(dest, "lookup-example")
        subprocess.run(cc + ["-std=c99", "-Wall", "-Wextra", "-pedantic", "-Werror",
                             example, "-o", exe] + flags, check=True)
        libdirs = [f[2:] for f in flags if f.startswith("-L")]
        run_env = dict(os.environ, LD_LIBRARY_PATH=":".join(libdirs))
        # The binary must load the installed library, not the build tree's.
        ldd = subprocess.run(["ldd", exe], env=run_env, capture_output=True, text=True).stdout
        if dest not in ldd:
            print("example does not load the installed library:\n" + ldd)
            return 1
        out = subprocess.run([exe, "user@" + V1.upper()], env=run_env, capture_output=True,
                             text=True, timeout=30)
        print(out.stdout, out.stderr, sep="")
        want = f"OK smtptor:[{V1}]:25"
        if out.returncode != 0 or want not in out.stdout:
            print(f"expected {want!r}, rc 0")
            return 1
        for page in ("man1/onionmx-lookup.1", "man5/onionmx.toml.5"):
            if not glob.glob(os.path.join(dest, "**", page), recursive=True):
                print("man page not installed:", page)
                return 1
        print("installed example: ok")
    return 0


if __name__ == "__main__":
    sys.exit(main())
