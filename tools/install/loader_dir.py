#!/usr/bin/env python3
"""Print "yes" if DIR is a directory the dynamic loader searches by default
(glibc's built-in system search path, or a directory listed in
/etc/ld.so.conf and the files it includes), else "no".

Meson uses it at configure time: the installed tools get an rpath to the
install libdir only when the loader would not find libonionmx there on its
own (a custom --prefix).  Directories are compared after resolving symlinks
(merged /usr: /lib -> usr/lib)."""
import glob
import os
import subprocess
import sys

FALLBACK = ["/lib", "/usr/lib", "/lib64", "/usr/lib64"]


def builtin_dirs():
    """glibc's system search path, as `ld.so --help` reports it."""
    dirs = list(FALLBACK)
    for loader in sorted(glob.glob("/lib64/ld-linux*.so*") + glob.glob("/lib/*/ld-linux*.so*")
                         + glob.glob("/lib/ld-linux*.so*")):
        try:
            out = subprocess.run([loader, "--help"], capture_output=True, text=True,
                                 timeout=10).stdout
        except (OSError, subprocess.SubprocessError):
            continue
        dirs += [line.split()[0] for line in out.splitlines()
                 if line.strip().endswith("(system search path)")]
    return dirs


def conf_dirs(path, seen):
    """Directories of an ld.so.conf file, following `include` lines."""
    if path in seen or not os.path.isfile(path):
        return []
    seen.add(path)
    dirs = []
    with open(path, encoding="utf-8", errors="replace") as f:
        for line in f:
            line = line.split("#", 1)[0].strip()
            if not line:
                continue
            if line.startswith("include") and line[7:8].isspace():
                for pattern in line[8:].split():
                    if not os.path.isabs(pattern):
                        pattern = os.path.join(os.path.dirname(path), pattern)
                    for inc in sorted(glob.glob(pattern)):
                        dirs += conf_dirs(inc, seen)
            elif line.startswith("hwcap"):
                continue
            else:
                dirs += [d for d in line.replace(",", " ").replace(":", " ").split()
                         if os.path.isabs(d)]
    return dirs


def main():
    want = os.path.realpath(sys.argv[1])
    known = builtin_dirs() + conf_dirs("/etc/ld.so.conf", set())
    print("yes" if any(os.path.realpath(d) == want for d in known) else "no")


if __name__ == "__main__":
    main()
