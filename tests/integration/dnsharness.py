#!/usr/bin/python3
"""Real DNS servers on loopback for onionmx integration tests.

Starts, from a private temporary directory and on free high ports of
127.0.0.1 only:
  * an authoritative Knot (knotd) serving generated zones:
      onionmx.test  the scenarios (mail1, multi, port2525, none, badtargets,
                    allbad, alias, outalias, nodata, big, subdom, ...)
      other.test    target zone of the out-of-zone CNAME
      signed.test   DNSSEC-signed copy (dnssec-keygen + dnssec-signzone)
      bogus.test    signed, then one RRSIG corrupted
      unsigned.test not signed
  * a validating unbound that reaches those zones through stub-zones, with
    trust anchors for signed.test and bogus.test.

Expectations (which routes a correct lookup returns) are derived here from
the zone data with an independent Python implementation of the onionmx
onion rules (docs/test-vectors.md §1.3) and of RFC 2782 weighted selection,
never from the program under test.

Use from unittest (Harness().start() / .close()) or by hand:
    python3 dnsharness.py serve     # prints ports as JSON, waits for Ctrl-C
Standard library only.
"""

import atexit
import base64
import hashlib
import json
import os
import random
import shutil
import signal
import socket
import struct
import subprocess
import sys
import tempfile
import time

# --------------------------------------------------------------------------
# Onion addresses (docs/test-vectors.md §1.4 / §1.5)

V1 = "aoqqpp7tzyil4hlq3umoos6atft6jvrqtosq2xy53sdgiesvgg4bqead.onion"
V2 = "efjprum3peosirjsilqv6lvlns3476t3njpngaexsyhangeb3mjo7sad.onion"
V3 = "25njqamcweflpvkl73j4szahhihoc4xt3ktcgjnpaingr5yhkenl5sid.onion"
T1 = "cpsfhe2kjyao5fpjym47wcdhqvdtlwp23fhga6va7uj7o5sscdkgohqd.onion"
T2 = "2z47pn4wdoxika42pylksl7gzmhaaunajt4omzf6mqhspx5kgqgue5qd.onion"
VALID_VECTORS = {
    V1: "03a107bff3ce10be1d70dd18e74bc09967e4d6309ba50d5f1ddc8664125531b8",
    V2: "2152f8d19b791d24453242e15f2eab6cb7cffa7b6a5ed30097960e069881db12",
    V3: "d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a",
    T1: "13e453934a4e00ee95e9c339fb0867854735d9fad94e607aa0fd13f7765210d4",
    T2: "d679f7b7961bae85039a7e16a92fe6cb0e0051a04cf8e664be640f27dfaa340d",
}
# label -> onionmx verdict (§1.5); upper case is omitted (policy-dependent).
INVALID_VECTORS = {
    "boqqpp7tzyil4hlq3umoos6atft6jvrqtosq2xy53sdgiesvgg4bqead": "bad checksum",
    "aoqqpp7tzyil4hlq3umoos6atft6jvrqtosq2xy53sdgiesvgg4bqeid": "bad checksum",
    "aoqqpp7tzyil4hlq3umoos6atft6jvrqtosq2xy53sdgiesvgg4lxuae": "bad version",
    "aoqqpp7tzyil4hlq3umoos6atft6jvrqtosq2xy53sdgiesvgg4bqeae": "bad version",
    "aoqqpp7tzyil4hlq3umoos6atft6jvrqtosq2xy53sdgiesvgg4bqea": "bad length",
    "aoqqpp7tzyil4hlq3umoos6atft6jvrqtosq2xy53sdgiesvgg4bqeada": "bad length",
    "aoqqpp7tzy1l4hlq3umoos6atft6jvrqtosq2xy53sdgiesvgg4bqead": "bad base32",
    "expyuzz4wqqyqhjn": "v2 unsupported",
    "aeaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaahmjqd": "bad key",
    "e3ujld6cwit3arod6se7f34y6dk57laf2pddgonrhabiq3kt7qc2ooid": "bad key",
    "wfkl2yqyrlrihxiyp7x6rqy7lytw5xyihngp6eoj2xh7qvwhirabj3id": "bad key",
    "aiaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaab3did": "bad key",
    "537777777777777777777777777777777777777777777777757vndid": "bad key",
    "aeaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaacabdzyd": "bad key",
}

# Ed25519 (RFC 8032 §6 reference arithmetic), enough to derive public keys
# from seeds and to check that a key is a canonical prime-order point.
_P = 2 ** 255 - 19
_L = 2 ** 252 + 27742317777372353535851937790883648493
_D = -121665 * pow(121666, _P - 2, _P) % _P
_SQRT_M1 = pow(2, (_P - 1) // 4, _P)
_IDENTITY = (0, 1, 1, 0)


def _add(a, b):
    x = (a[1] - a[0]) * (b[1] - b[0]) % _P
    y = (a[1] + a[0]) * (b[1] + b[0]) % _P
    c = 2 * a[3] * b[3] * _D % _P
    d = 2 * a[2] * b[2] % _P
    e, f, g, h = y - x, d - c, d + c, y + x
    return (e * f, g * h, f * g, e * h)


def _mul(s, pt):
    q = _IDENTITY
    while s > 0:
        if s & 1:
            q = _add(q, pt)
        pt = _add(pt, pt)
        s >>= 1
    return q


def _equal(a, b):
    return (a[0] * b[2] - b[0] * a[2]) % _P == 0 and (a[1] * b[2] - b[1] * a[2]) % _P == 0


def _recover_x(y, sign):
    if y >= _P:
        return None
    x2 = (y * y - 1) * pow(_D * y * y + 1, _P - 2, _P)
    if x2 % _P == 0:
        return None if sign else 0
    x = pow(x2, (_P + 3) // 8, _P)
    if (x * x - x2) % _P != 0:
        x = x * _SQRT_M1 % _P
    if (x * x - x2) % _P != 0:
        return None
    if (x & 1) != sign:
        x = _P - x
    return x


_GY = 4 * pow(5, _P - 2, _P) % _P
_GX = _recover_x(_GY, 0)
_G = (_GX, _GY, 1, _GX * _GY % _P)


def _compress(pt):
    zi = pow(pt[2], _P - 2, _P)
    x, y = pt[0] * zi % _P, pt[1] * zi % _P
    return (y | ((x & 1) << 255)).to_bytes(32, "little")


def _decompress(b):
    y = int.from_bytes(b, "little")
    sign = y >> 255
    y &= (1 << 255) - 1
    x = _recover_x(y, sign)
    if x is None:
        return None
    return (x, y, 1, x * y % _P)


def ed25519_public_key(seed):
    """RFC 8032 §5.1.5: public key of a 32-byte seed."""
    h = hashlib.sha512(seed).digest()
    a = int.from_bytes(h[:32], "little")
    a &= (1 << 254) - 8
    a |= 1 << 254
    return _compress(_mul(a, _G))


def ed25519_valid_point(pk):
    """Like libsodium crypto_core_ed25519_is_valid_point: canonical, on the
    curve, not of small order, in the prime-order subgroup."""
    pt = _decompress(pk)
    if pt is None or _compress(pt) != pk:
        return False
    if _equal(_mul(8, pt), _IDENTITY):
        return False
    return _equal(_mul(_L, pt), _IDENTITY)


def onion_from_pk(pk):
    chk = hashlib.sha3_256(b".onion checksum" + pk + b"\x03").digest()[:2]
    return base64.b32encode(pk + chk + b"\x03").decode().lower() + ".onion"


def onion_verdict(name):
    """onionmx rules (§1.3) on an SRV target; None when valid, else a reason
    keyword: 'not an onion', 'bad length', 'v2 unsupported', 'bad base32',
    'bad version', 'bad checksum', 'bad key'."""
    name = name.rstrip(".").lower()
    labels = name.split(".")
    if len(labels) < 2 or labels[-1] != "onion":
        return "not an onion"
    label = labels[-2]
    if any(not part for part in labels[:-1]):
        return "bad syntax"
    if len(label) == 16:
        return "v2 unsupported"
    if len(label) != 56:
        return "bad length"
    if any(c not in "abcdefghijklmnopqrstuvwxyz234567" for c in label):
        return "bad base32"
    raw = base64.b32decode(label.upper())
    if raw[34] != 3:
        return "bad version"
    pk = raw[:32]
    if hashlib.sha3_256(b".onion checksum" + pk + b"\x03").digest()[:2] != raw[32:34]:
        return "bad checksum"
    if not ed25519_valid_point(pk):
        return "bad key"
    return None


def random_onions(count, tag="big"):
    """Deterministic valid v3 addresses from seeds sha256(tag-i)."""
    return [onion_from_pk(ed25519_public_key(hashlib.sha256(f"{tag}-{i}".encode()).digest()))
            for i in range(count)]


def first_route_probabilities(srvs):
    """P(first route == onion) under RFC 2782 as in docs/test-vectors.md §3: lowest priority
    group among the valid onion targets; weight-0 RRs first (shuffled), x
    uniform in [0, sum] inclusive, first RR whose running sum >= x."""
    valid = [s for s in srvs if onion_verdict(s[3]) is None]
    if not valid:
        return {}
    prio = min(s[0] for s in valid)
    group = [s for s in valid if s[0] == prio]
    total = sum(s[1] for s in group)
    zeros = [s for s in group if s[1] == 0]
    probs = {}
    if total == 0:
        for s in group:
            probs[s[3].rstrip(".")] = probs.get(s[3].rstrip("."), 0) + 1 / len(group)
        return probs
    for s in group:
        p = (1 / (total + 1) / len(zeros)) if s[1] == 0 else s[1] / (total + 1)
        probs[s[3].rstrip(".")] = probs.get(s[3].rstrip("."), 0) + p
    return probs


# --------------------------------------------------------------------------
# A tiny DNS client (queries, readiness polling, sanity checks)

TYPE_A, TYPE_NS, TYPE_CNAME, TYPE_SOA, TYPE_TXT, TYPE_SRV, TYPE_RRSIG = 1, 2, 5, 6, 16, 33, 46
RCODE_NOERROR, RCODE_SERVFAIL, RCODE_NXDOMAIN, RCODE_REFUSED = 0, 2, 3, 5


def encode_name(name):
    out = b""
    for label in name.rstrip(".").split("."):
        if label:
            out += bytes([len(label)]) + label.encode()
    return out + b"\x00"


def build_query(name, qtype, qid=None, rd=True, edns=1232, do=False, ad=False):
    qid = random.randrange(65536) if qid is None else qid
    flags = (0x0100 if rd else 0) | (0x0020 if ad else 0)
    msg = struct.pack("!HHHHHH", qid, flags, 1, 0, 0, 1 if edns else 0)
    msg += encode_name(name) + struct.pack("!HH", qtype, 1)
    if edns:
        msg += b"\x00" + struct.pack("!HHIH", 41, edns, 0x8000 if do else 0, 0)
    return qid, msg


def _decode_name(msg, off):
    labels, jumped, end, hops = [], False, off, 0
    while True:
        n = msg[off]
        if n & 0xC0 == 0xC0:
            if not jumped:
                end = off + 2
            off = ((n & 0x3F) << 8) | msg[off + 1]
            jumped = True
            hops += 1
            if hops > 64:
                raise ValueError("compression loop")
            continue
        if n == 0:
            if not jumped:
                end = off + 1
            return ".".join(labels), end
        labels.append(msg[off + 1:off + 1 + n].decode("ascii", "replace"))
        off += 1 + n


class Reply:
    def __init__(self, msg):
        self.raw = msg
        (self.id, flags, qd, an, ns, ar) = struct.unpack("!HHHHHH", msg[:12])
        self.flags = flags
        self.rcode = flags & 15
        self.tc = bool(flags & 0x0200)
        self.aa = bool(flags & 0x0400)
        self.ad = bool(flags & 0x0020)
        off = 12
        for _ in range(qd):
            _, off = _decode_name(msg, off)
            off += 4
        self.answer, self.authority, self.additional = [], [], []
        for count, section in ((an, self.answer), (ns, self.authority), (ar, self.additional)):
            for _ in range(count):
                name, off = _decode_name(msg, off)
                rtype, rclass, ttl, rdlen = struct.unpack("!HHIH", msg[off:off + 10])
                off += 10
                rdata = msg[off:off + rdlen]
                parsed = None
                if rtype == TYPE_SRV:
                    prio, weight, port = struct.unpack("!HHH", rdata[:6])
                    parsed = (prio, weight, port, _decode_name(msg, off + 6)[0])
                elif rtype == TYPE_CNAME:
                    parsed = _decode_name(msg, off)[0]
                elif rtype == TYPE_SOA:
                    _, o = _decode_name(msg, off)
                    _, o = _decode_name(msg, o)
                    parsed = struct.unpack("!IIIII", msg[o:o + 20])  # serial .. minimum
                off += rdlen
                section.append((name.lower(), rtype, ttl, parsed))

    def records(self, rtype, section="answer"):
        return [r for r in getattr(self, section) if r[1] == rtype]


def dns_query(port, name, qtype, tcp=False, timeout=2.0, edns=1232, do=False, ad=False,
              rd=True, host="127.0.0.1"):
    """One query; returns a Reply, raises OSError/socket.timeout on failure."""
    qid, msg = build_query(name, qtype, rd=rd, edns=edns, do=do, ad=ad)
    deadline = time.monotonic() + timeout
    if tcp:
        with socket.create_connection((host, port), timeout=timeout) as s:
            s.sendall(struct.pack("!H", len(msg)) + msg)
            buf = b""
            while len(buf) < 2 or len(buf) < 2 + struct.unpack("!H", buf[:2])[0]:
                s.settimeout(max(0.01, deadline - time.monotonic()))
                chunk = s.recv(65535)
                if not chunk:
                    raise ConnectionError("TCP connection closed")
                buf += chunk
            return Reply(buf[2:2 + struct.unpack("!H", buf[:2])[0]])
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.connect((host, port))
        s.send(msg)
        while True:
            s.settimeout(max(0.01, deadline - time.monotonic()))
            data = s.recv(65535)
            if len(data) >= 12 and struct.unpack("!H", data[:2])[0] == qid:
                return Reply(data)


# --------------------------------------------------------------------------
# Ports and processes

def free_port():
    """A port free for both UDP and TCP on 127.0.0.1 right now."""
    for _ in range(100):
        u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        t = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        try:
            u.bind(("127.0.0.1", 0))
            port = u.getsockname()[1]
            if port < 1024:
                continue
            try:
                t.bind(("127.0.0.1", port))
            except OSError:
                continue
            return port
        finally:
            u.close()
            t.close()
    raise RuntimeError("no free port found")


_LIVE = {}  # pid -> ManagedProcess, killed at exit
_LIVE_HARNESSES = []  # closed (servers stopped, temp dir removed) at exit


def cleanup_all():
    for h in list(_LIVE_HARNESSES):
        h.close()
    for proc in list(_LIVE.values()):
        proc.stop()


atexit.register(cleanup_all)


def install_signal_cleanup():
    """SIGTERM/SIGHUP (meson's timeout, a closed terminal): stop every server
    we started and remove the temp dirs, then die by the same signal.
    (Raising SystemExit would not do: unittest records it as a test error and
    carries on.)"""
    def handler(signum, _frame):
        try:
            cleanup_all()
        finally:
            signal.signal(signum, signal.SIG_DFL)
            os.kill(os.getpid(), signum)
    for sig in (signal.SIGTERM, signal.SIGHUP):
        signal.signal(sig, handler)


def _die_with_parent():
    """In the child before exec: SIGKILL it when the harness process dies,
    even by SIGKILL (Linux PR_SET_PDEATHSIG)."""
    try:
        import ctypes
        ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGKILL, 0, 0, 0)  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        pass


class ManagedProcess:
    def __init__(self, argv, cwd, log_path):
        self.argv, self.log_path = argv, log_path
        self.log = open(log_path, "ab")
        self.proc = subprocess.Popen(argv, cwd=cwd, stdin=subprocess.DEVNULL, stdout=self.log,
                                     stderr=subprocess.STDOUT, start_new_session=True,
                                     preexec_fn=_die_with_parent)
        self.pid = self.proc.pid
        _LIVE[self.pid] = self

    def running(self):
        return self.proc.poll() is None

    def stop(self, sig=signal.SIGTERM, wait=5.0):
        """Signal this PID (only), wait, escalate to SIGKILL."""
        if self.proc.poll() is None:
            try:
                os.kill(self.pid, sig)
                self.proc.wait(timeout=wait)
            except subprocess.TimeoutExpired:
                os.kill(self.pid, signal.SIGKILL)
                self.proc.wait(timeout=wait)
            except ProcessLookupError:
                pass
        _LIVE.pop(self.pid, None)
        if not self.log.closed:
            self.log.close()

    def kill(self):
        self.stop(signal.SIGKILL)

    def log_tail(self, n=30):
        try:
            with open(self.log_path, "rb") as f:
                return b"\n".join(f.read().splitlines()[-n:]).decode("utf-8", "replace")
        except OSError:
            return ""


def wait_until(pred, deadline_s, what, proc=None, interval=0.05):
    end = time.monotonic() + deadline_s
    last = None
    while time.monotonic() < end:
        if proc is not None and not proc.running():
            raise RuntimeError(f"{what}: process exited early (rc {proc.proc.returncode})")
        try:
            if pred():
                return
        except (OSError, ValueError, struct.error) as e:
            last = e
        time.sleep(interval)
    raise TimeoutError(f"{what}: not ready within {deadline_s}s (last error: {last})")


def _soa_serial_is(port, zone, serial, timeout=0.5):
    r = dns_query(port, zone, TYPE_SOA, timeout=timeout)
    soas = r.records(TYPE_SOA)
    return r.rcode == 0 and soas and soas[0][3][0] == serial


# --------------------------------------------------------------------------
# Zones

class Zone:
    """A zone built from records; SRV data kept for expectations."""

    def __init__(self, origin, serial=None, default_ttl=300, neg_ttl=60):
        self.origin = origin.rstrip(".")
        # A random serial identifies *our* server when polling for readiness.
        self.serial = serial if serial is not None else random.randrange(1, 2 ** 31)
        self.default_ttl, self.neg_ttl = default_ttl, neg_ttl
        self.lines = [f"$ORIGIN {self.origin}.", f"$TTL {default_ttl}",
                      f"@ IN SOA ns1 hostmaster {self.serial} 3600 600 86400 {neg_ttl}",
                      "@ IN NS ns1", "ns1 IN A 127.0.0.1"]
        self.srv = {}      # owner (relative) -> list of (prio, weight, port, target)
        self.srv_ttl = {}
        self.cname = {}    # owner (relative) -> absolute target
        self.other = set()  # owners with only non-SRV data

    def add_srv(self, owner, prio, weight, port, target, ttl=None):
        self.srv.setdefault(owner, []).append((prio, weight, port, target))
        self.srv_ttl[owner] = ttl or self.default_ttl
        self.lines.append(f"{owner} {ttl or ''} IN SRV {prio} {weight} {port} {target}")

    def add_cname(self, owner, target):
        self.cname[owner] = target
        self.lines.append(f"{owner} IN CNAME {target}")

    def add(self, owner, rrtype, rdata):
        self.other.add(owner)
        self.lines.append(f"{owner} IN {rrtype} {rdata}")

    def text(self):
        return "\n".join(self.lines) + "\n"


SRV_PREFIX = "_onion-mx._tcp."
BIG_COUNT = 40
BADTARGETS = [  # (target, reason keyword of onion_verdict)
    ("mx.example.net.", "not an onion"),
    ("expyuzz4wqqyqhjn.onion.", "v2 unsupported"),
    ("boqqpp7tzyil4hlq3umoos6atft6jvrqtosq2xy53sdgiesvgg4bqead.onion.", "bad checksum"),
    ("aeaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaahmjqd.onion.", "bad key"),
]
ALLBAD = [
    "aoqqpp7tzyil4hlq3umoos6atft6jvrqtosq2xy53sdgiesvgg4bqeid.onion.",  # bad checksum
    "aoqqpp7tzyil4hlq3umoos6atft6jvrqtosq2xy53sdgiesvgg4lxuae.onion.",  # bad version
    "e3ujld6cwit3arod6se7f34y6dk57laf2pddgonrhabiq3kt7qc2ooid.onion.",  # order-8 key
    "aoqqpp7tzyil4hlq3umoos6atft6jvrqtosq2xy53sdgiesvgg4bqea.onion.",   # 55 chars
    "mail.example.org.",                                                 # not an onion
]


def scenario_zone(origin, outalias_target=None, with_big=True):
    """The onionmx.test scenarios (also used for the signed copies)."""
    z = Zone(origin)
    p = SRV_PREFIX
    z.add_srv(p + "mail1", 0, 5, 25, V1 + ".", ttl=600)
    z.add_srv(p + "multi", 10, 60, 25, V1 + ".")
    z.add_srv(p + "multi", 10, 20, 25, V2 + ".")
    z.add_srv(p + "multi", 10, 0, 25, V3 + ".")
    z.add_srv(p + "multi", 20, 0, 2525, "backup.example.net.")
    z.add_srv(p + "port2525", 0, 5, 2525, V2 + ".")
    z.add_srv(p + "none", 0, 0, 0, ".")
    for target, _ in BADTARGETS:
        z.add_srv(p + "badtargets", 10, 10, 25, target)
    z.add_srv(p + "badtargets", 10, 10, 25, V2 + ".")
    for target in ALLBAD:
        z.add_srv(p + "allbad", 0, 0, 25, target)
    z.add_cname(p + "alias", f"{p}mail1.{z.origin}.")
    if outalias_target:
        z.add_cname(p + "outalias", outalias_target)
    z.add(p + "nodata", "A", "127.0.0.1")
    z.add_srv(p + "subdom", 0, 0, 25, "smtp." + V1 + ".")
    z.add_srv(p + "xn--bcher-kva", 0, 5, 25, V2 + ".")  # bücher: U-label keys (IDNA)
    if with_big:
        for i, onion in enumerate(random_onions(BIG_COUNT)):
            z.add_srv(p + "big", 0, 1 + i % 7, 25, onion + ".")
    return z


def expected_routes(zone, label):
    """Routes a correct lookup of <label>.<origin> returns (unordered set of
    (onion, port, prio, weight)), following in-zone CNAMEs."""
    owner = SRV_PREFIX + label
    if owner in zone.cname:
        target = zone.cname[owner].rstrip(".")
        assert target.endswith("." + zone.origin), "only in-zone CNAMEs are resolved here"
        owner = target[:-len(zone.origin) - 1]
    srvs = zone.srv.get(owner, [])
    if len(srvs) == 1 and srvs[0][3] == ".":
        return set()
    return {(t.rstrip(".").lower(), port, prio, w) for prio, w, port, t in srvs
            if onion_verdict(t) is None}


# --------------------------------------------------------------------------
# DNSSEC signing (bind9-utils)

def sign_zone(workdir, zone, corrupt_owner=None):
    """Sign with one ECDSAP256SHA256 KSK signing everything (-z). Returns
    (signed zone text, DNSKEY trust anchor string). With corrupt_owner, the
    RRSIG covering SRV at that owner gets one signature bit flipped."""
    kdir = os.path.join(workdir, "keys-" + zone.origin)
    os.makedirs(kdir, exist_ok=True)
    src = os.path.join(kdir, zone.origin + ".zone")
    out = src + ".signed"
    with open(src, "w") as f:
        f.write(zone.text())
    subprocess.run(["dnssec-keygen", "-q", "-K", kdir, "-a", "ECDSAP256SHA256", "-f", "KSK",
                    "-n", "ZONE", zone.origin], check=True, capture_output=True, cwd=kdir)
    subprocess.run(["dnssec-signzone", "-S", "-K", kdir, "-z", "-O", "full", "-o", zone.origin,
                    "-f", out, src], check=True, capture_output=True, cwd=kdir)
    anchor = None
    for name in os.listdir(kdir):
        if name.startswith("K") and name.endswith(".key"):
            with open(os.path.join(kdir, name)) as f:
                for line in f:
                    if line.strip() and not line.startswith(";"):
                        anchor = " ".join(line.split())
    with open(out) as f:
        lines = f.read().splitlines()
    if corrupt_owner:
        fqdn = f"{corrupt_owner}.{zone.origin}."
        done = False
        for i, line in enumerate(lines):
            parts = line.split()
            if len(parts) > 5 and parts[0] == fqdn and parts[3] == "RRSIG" and parts[4] == "SRV":
                # fields: owner ttl IN RRSIG SRV alg labels ttl exp inc tag signer sig...
                sig = bytearray(base64.b64decode("".join(parts[13:])))
                sig[5] ^= 0x01
                parts = parts[:13] + [base64.b64encode(bytes(sig)).decode()]
                lines[i] = " ".join(parts)
                done = True
        if not done:
            raise RuntimeError(f"no RRSIG SRV at {fqdn} to corrupt")
    return "\n".join(lines) + "\n", anchor


# --------------------------------------------------------------------------
# Servers

class KnotServer:
    """knotd serving {origin: zone text} from workdir/<name>/ on a free port."""

    def __init__(self, workdir, zones, name="knot", serials=None, tsig_keys=None,
                 transfer_key=None, update_acls=None):
        self.dir = os.path.join(workdir, name)
        self.zones = zones              # origin -> text
        self.serials = serials or {}    # origin -> serial, for readiness
        # name -> (algorithm, base64 secret): keys allowed to UPDATE every
        # zone (RFC 2136); transfers are then open to 127.0.0.1 too, or,
        # with transfer_key (one of tsig_keys), only when signed with it.
        self.tsig_keys = tsig_keys or {}
        self.transfer_key = transfer_key
        # key -> its own update ACL's extra options (Knot reference manual,
        # acl section: update-type, update-owner, ...), instead of the
        # update-everything ACL of the other keys.
        self.update_acls = update_acls or {}
        self.port = None
        self.proc = None
        self.sock = os.path.join(self.dir, "knot.sock")
        self.conf = os.path.join(self.dir, "knot.conf")

    def _write(self):
        os.makedirs(os.path.join(self.dir, "db"), exist_ok=True)
        zone_cfg = []
        for origin, text in self.zones.items():
            with open(os.path.join(self.dir, origin + ".zone"), "w") as f:
                f.write(text)
            own = "".join(f", update-{k}" for k in self.update_acls)
            acl = f"    acl: [onionmx-update{own}, local-transfer]\n" if self.tsig_keys else ""
            zone_cfg.append(f"  - domain: {origin}\n    file: {origin}.zone\n{acl}")
        keys = acls = ""
        if self.tsig_keys:
            keys = "key:\n" + "".join(f"  - id: {k}\n    algorithm: {a}\n    secret: {sec}\n"
                                      for k, (a, sec) in self.tsig_keys.items())
            wide = [k for k in self.tsig_keys if k not in self.update_acls]
            acls = ("acl:\n  - id: onionmx-update\n"
                    f"    key: [{', '.join(wide)}]\n    action: update\n"
                    + "".join(f"  - id: update-{k}\n    key: {k}\n    action: update\n"
                              + "".join(f"    {line}\n" for line in extra.splitlines())
                              for k, extra in self.update_acls.items())
                    + "  - id: local-transfer\n    address: 127.0.0.1\n    action: transfer\n"
                    + (f"    key: {self.transfer_key}\n" if self.transfer_key else ""))
        # Dynamic updates need the journal (Knot reference manual, zone
        # option journal-content).
        journal = "changes" if self.tsig_keys else "none"
        with open(self.conf, "w") as f:
            f.write(f"""server:
    rundir: {self.dir}
    listen: 127.0.0.1@{self.port}
    udp-workers: 2
    tcp-workers: 2
    background-workers: 1
control:
    listen: {self.sock}
{keys}{acls}log:
  - target: {self.dir}/knot.log
    any: info
database:
    storage: {self.dir}/db
    journal-db-max-size: 64M
    kasp-db-max-size: 16M
    timer-db-max-size: 16M
    catalog-db-max-size: 16M
mod-stats:
  - id: counters
    request-protocol: on
    server-operation: on
    response-code: on
template:
  - id: default
    storage: {self.dir}
    zonefile-sync: -1
    zonefile-load: whole
    journal-content: {journal}
    global-module: mod-stats/counters
zone:
{''.join(zone_cfg)}""")

    def start(self, attempts=5, ready_s=20.0):
        last = None
        for _ in range(attempts):
            self.port = free_port()
            self._write()
            self.proc = ManagedProcess(["knotd", "-c", self.conf], self.dir,
                                       os.path.join(self.dir, "knotd.out"))
            try:
                for origin in self.zones:
                    serial = self.serials.get(origin)
                    if serial is None:
                        pred = (lambda o=origin: dns_query(self.port, o, TYPE_SOA, timeout=0.5).aa)
                    else:
                        pred = (lambda o=origin, s=serial: _soa_serial_is(self.port, o, s))
                    wait_until(pred, ready_s, f"knotd {origin}@{self.port}", self.proc)
                # TCP too
                wait_until(lambda: dns_query(self.port, next(iter(self.zones)), TYPE_SOA,
                                             tcp=True, timeout=0.5).aa,
                           ready_s, f"knotd TCP@{self.port}", self.proc)
                return self
            except (RuntimeError, TimeoutError) as e:
                last = f"{e}\n{self.proc.log_tail()}\n{self._log_tail()}"
                self.proc.stop()
        raise RuntimeError(f"knotd did not start: {last}")

    def _log_tail(self):
        try:
            with open(os.path.join(self.dir, "knot.log")) as f:
                return "".join(f.readlines()[-20:])
        except OSError:
            return ""

    def stop(self):
        if self.proc:
            self.proc.stop()

    def kill(self):
        if self.proc:
            self.proc.kill()

    def stats(self):
        """mod-stats counters, e.g. {'mod-stats.server-operation[query]': 12}."""
        out = subprocess.run(["knotc", "-s", self.sock, "stats"], capture_output=True, text=True,
                             timeout=10, check=True).stdout
        stats = {}
        for line in out.splitlines():
            if " = " in line:
                k, v = line.split(" = ", 1)
                try:
                    stats[k.strip()] = int(v)
                except ValueError:
                    pass
        return stats

    def query_counts(self):
        s = self.stats()
        return {
            "query": s.get("mod-stats.server-operation[query]", 0),
            "udp": s.get("mod-stats.request-protocol[udp4]", 0),
            "tcp": s.get("mod-stats.request-protocol[tcp4]", 0),
        }


class BindServer:
    """BIND 9 `named` as primary for {origin: zone text}, in the foreground
    (-g) from workdir/<name>/ on a free port of 127.0.0.1, each zone open to
    RFC 2136 updates signed with one of tsig_keys (name -> (algorithm,
    base64 secret)) and to AXFR from anywhere, or only when signed with
    transfer_key (BIND 9 ARM: update-policy, allow-transfer)."""

    def __init__(self, workdir, zones, tsig_keys, name="bind", serials=None, grants=None,
                 transfer_key=None):
        self.dir = os.path.join(workdir, name)
        self.zones, self.tsig_keys = zones, tsig_keys
        self.transfer_key = transfer_key
        # key -> update-policy rule after "grant <key>"; default "zonesub ANY".
        self.grants = grants or {}
        self.serials = serials or {}
        self.port = None
        self.proc = None
        self.conf = os.path.join(self.dir, "named.conf")

    def _write(self):
        os.makedirs(self.dir, exist_ok=True)
        keys = "".join(f'key "{k}" {{ algorithm {a}; secret "{sec}"; }};\n'
                       for k, (a, sec) in self.tsig_keys.items())
        grants = " ".join(f"grant {k} {self.grants.get(k, 'zonesub ANY')};" for k in self.tsig_keys)
        transfer = f"key {self.transfer_key};" if self.transfer_key else "any;"
        zones = ""
        for origin, text in self.zones.items():
            with open(os.path.join(self.dir, origin + ".db"), "w") as f:
                f.write(text)
            zones += (f'zone "{origin}" {{ type primary; file "{origin}.db"; '
                      f"update-policy {{ {grants} }}; allow-transfer {{ {transfer} }}; }};\n")
        with open(self.conf, "w") as f:
            f.write(f"""{keys}options {{
    directory "{self.dir}";
    pid-file "{self.dir}/named.pid";
    session-keyfile "{self.dir}/session.key";
    managed-keys-directory "{self.dir}";
    listen-on port {self.port} {{ 127.0.0.1; }};
    listen-on-v6 {{ none; }};
    recursion no;
    dnssec-validation no;
    notify no;
}};
controls {{ }};
{zones}""")

    def start(self, attempts=5, ready_s=20.0):
        last = None
        for _ in range(attempts):
            self.port = free_port()
            self._write()
            chk = subprocess.run(["named-checkconf", self.conf], capture_output=True, text=True)
            if chk.returncode != 0:
                raise RuntimeError(f"named-checkconf: {chk.stdout}{chk.stderr}")
            self.proc = ManagedProcess(["named", "-g", "-n", "1", "-c", self.conf], self.dir,
                                       os.path.join(self.dir, "named.out"))
            try:
                for origin in self.zones:
                    serial = self.serials.get(origin)
                    if serial is None:
                        pred = (lambda o=origin: dns_query(self.port, o, TYPE_SOA, timeout=0.5).aa)
                    else:
                        pred = (lambda o=origin, s=serial: _soa_serial_is(self.port, o, s))
                    wait_until(pred, ready_s, f"named {origin}@{self.port}", self.proc)
                return self
            except (RuntimeError, TimeoutError) as e:
                last = f"{e}\n{self.proc.log_tail()}"
                self.proc.stop()
        raise RuntimeError(f"named did not start: {last}")

    def stop(self):
        if self.proc:
            self.proc.stop()


class UnboundServer:
    """Validating unbound with stub-zones to a Knot port."""

    def __init__(self, workdir, knot_port, stubs, anchors, insecure, serials, name="unbound"):
        self.dir = os.path.join(workdir, name)
        self.knot_port, self.stubs, self.anchors = knot_port, stubs, anchors
        self.insecure, self.serials = insecure, serials
        self.port = None
        self.proc = None
        self.conf = os.path.join(self.dir, "unbound.conf")

    def _write(self):
        os.makedirs(self.dir, exist_ok=True)
        ta = "".join(f'    trust-anchor: "{a}"\n' for a in self.anchors)
        ins = "".join(f'    domain-insecure: "{d}"\n' for d in self.insecure)
        stubs = "".join(f'stub-zone:\n    name: "{z}"\n    stub-addr: 127.0.0.1@{self.knot_port}\n'
                        for z in self.stubs)
        with open(self.conf, "w") as f:
            f.write(f"""server:
    interface: 127.0.0.1
    port: {self.port}
    do-ip4: yes
    do-ip6: no
    do-udp: yes
    do-tcp: yes
    access-control: 127.0.0.0/8 allow
    do-not-query-localhost: no
    username: ""
    chroot: ""
    directory: "{self.dir}"
    pidfile: "{self.dir}/unbound.pid"
    logfile: "{self.dir}/unbound.log"
    use-syslog: no
    verbosity: 1
    val-log-level: 2
    num-threads: 1
    so-reuseport: no
    qname-minimisation: no
    module-config: "validator iterator"
    local-zone: "test." nodefault
{ta}{ins}remote-control:
    control-enable: no
{stubs}""")

    def start(self, attempts=5, ready_s=20.0):
        last = None
        for _ in range(attempts):
            self.port = free_port()
            self._write()
            chk = subprocess.run(["unbound-checkconf", self.conf], capture_output=True, text=True)
            if chk.returncode != 0:
                raise RuntimeError(f"unbound-checkconf: {chk.stdout}{chk.stderr}")
            self.proc = ManagedProcess(["unbound", "-d", "-c", self.conf], self.dir,
                                       os.path.join(self.dir, "unbound.out"))
            try:
                for origin, serial in self.serials.items():
                    wait_until(lambda o=origin, s=serial: _soa_serial_is(self.port, o, s),
                               ready_s, f"unbound {origin}@{self.port}", self.proc)
                return self
            except (RuntimeError, TimeoutError) as e:
                last = f"{e}\n{self.proc.log_tail()}"
                self.proc.stop()
        raise RuntimeError(f"unbound did not start: {last}")

    def stop(self):
        if self.proc:
            self.proc.stop()


def udp_rx_queued(port):
    """Bytes waiting in the receive queues of UDP sockets bound to port
    (Linux /proc/net/udp), e.g. queries sent to a stopped server."""
    total = 0
    with open("/proc/net/udp") as f:
        next(f)
        for line in f:
            parts = line.split()
            if int(parts[1].split(":")[1], 16) == port:
                total += int(parts[4].split(":")[1], 16)
    return total


def udp_rcvbuf_errors():
    """Kernel-wide UDP datagrams dropped because a receive buffer was full."""
    with open("/proc/net/snmp") as f:
        rows = [line.split() for line in f if line.startswith("Udp:")]
    return int(rows[1][rows[0].index("RcvbufErrors")])


class SilentUdp:
    """A UDP socket on 127.0.0.1 that receives and never answers."""

    def __init__(self):
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind(("127.0.0.1", 0))
        self.port = self.sock.getsockname()[1]
        self.sock.setblocking(False)

    def drain(self):
        """Number of datagrams received since the last call."""
        n = 0
        while True:
            try:
                self.sock.recv(65535)
                n += 1
            except BlockingIOError:
                return n

    def close(self):
        self.sock.close()


class TruncatingUdp:
    """Answers every UDP query with an empty NOERROR reply that has TC=1, and
    refuses TCP on the same port (bound, never listening): the full answer
    can never be had."""

    def __init__(self):
        import threading
        for _ in range(50):
            self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
            self.sock.bind(("127.0.0.1", 0))
            self.port = self.sock.getsockname()[1]
            self.tcp = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            try:
                self.tcp.bind(("127.0.0.1", self.port))
                break
            except OSError:
                self.sock.close()
                self.tcp.close()
        self.queries = 0
        self.sock.settimeout(0.1)
        self._stop = False
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self):
        while not self._stop:
            try:
                data, addr = self.sock.recvfrom(65535)
            except socket.timeout:
                continue
            except OSError:
                return
            if len(data) < 12:
                continue
            self.queries += 1
            qid, flags, qd = struct.unpack("!HHH", data[:6])
            off = 12
            try:
                _, off = _decode_name(data, off)
            except (IndexError, ValueError):
                continue
            question = data[12:off + 4]
            rflags = 0x8000 | (flags & 0x7900) | 0x0400 | 0x0200 | 0x0080  # QR opcode RD AA TC RA
            reply = struct.pack("!HHHHHH", qid, rflags, 1, 0, 0, 0) + question
            try:
                self.sock.sendto(reply, addr)
            except OSError:
                pass

    def close(self):
        self._stop = True
        self.thread.join(timeout=2)
        self.sock.close()
        self.tcp.close()


def require_binaries(names=("knotd", "knotc", "unbound", "unbound-checkconf", "dnssec-keygen",
                            "dnssec-signzone")):
    return [n for n in names if shutil.which(n) is None]


# --------------------------------------------------------------------------
# The full setup

class Harness:
    def __init__(self, keep=None):
        self.workdir = tempfile.mkdtemp(prefix="onionmx-dns-")
        self.keep = os.environ.get("ONIONMX_KEEP_TMP") == "1" if keep is None else keep
        self.knot = self.unbound = None
        _LIVE_HARNESSES.append(self)

    def start(self, unbound=True):
        try:
            return self._start(unbound)
        except BaseException:
            self.close()
            raise

    def _start(self, unbound):
        other = Zone("other.test")
        other.add_srv(SRV_PREFIX + "mail1", 0, 5, 25, V1 + ".", ttl=600)
        self.other = other
        self.zone = scenario_zone("onionmx.test",
                                  outalias_target=f"{SRV_PREFIX}mail1.other.test.")
        self.signed = scenario_zone("signed.test", with_big=False)
        self.bogus = scenario_zone("bogus.test", with_big=False)
        self.unsigned = Zone("unsigned.test")
        self.unsigned.add_srv(SRV_PREFIX + "mail1", 0, 5, 25, V1 + ".", ttl=600)
        signed_text, signed_anchor = sign_zone(self.workdir, self.signed)
        bogus_text, bogus_anchor = sign_zone(self.workdir, self.bogus,
                                             corrupt_owner=SRV_PREFIX + "mail1")
        self.anchors = {"signed.test": signed_anchor, "bogus.test": bogus_anchor}
        texts = {"onionmx.test": self.zone.text(), "other.test": other.text(),
                 "signed.test": signed_text, "bogus.test": bogus_text,
                 "unsigned.test": self.unsigned.text()}
        serials = {z.origin: z.serial for z in
                   (self.zone, other, self.signed, self.bogus, self.unsigned)}
        self.knot = KnotServer(self.workdir, texts, serials=serials).start()
        if unbound:
            self.unbound = UnboundServer(
                self.workdir, self.knot.port,
                stubs=["signed.test", "bogus.test", "unsigned.test"],
                anchors=[signed_anchor, bogus_anchor], insecure=["unsigned.test"],
                serials={o: serials[o] for o in ("signed.test", "bogus.test", "unsigned.test")},
            ).start()
        return self

    def info(self):
        return {
            "workdir": self.workdir,
            "knot": {"port": self.knot.port if self.knot else None,
                     "control": self.knot.sock if self.knot else None,
                     "zones": list(self.knot.zones) if self.knot else []},
            "unbound": {"port": self.unbound.port if self.unbound else None},
            "trust_anchors": getattr(self, "anchors", {}),
        }

    def close(self):
        for srv in (self.unbound, self.knot):
            if srv:
                srv.stop()
        if not self.keep:
            shutil.rmtree(self.workdir, ignore_errors=True)
        if self in _LIVE_HARNESSES:
            _LIVE_HARNESSES.remove(self)


def _serve():
    install_signal_cleanup()
    h = Harness(keep=True).start()
    info = h.info()
    print(json.dumps(info, indent=2))
    kp, up = info["knot"]["port"], info["unbound"]["port"]
    print(f"\nauthoritative Knot : 127.0.0.1:{kp}   e.g. kdig -p {kp} @127.0.0.1 "
          f"_onion-mx._tcp.multi.onionmx.test SRV")
    print(f"validating unbound : 127.0.0.1:{up}   e.g. dig +dnssec -p {up} @127.0.0.1 "
          f"_onion-mx._tcp.mail1.signed.test SRV")
    print(f"files in {h.workdir} (kept). Ctrl-C stops the servers.", flush=True)
    try:
        while True:
            signal.pause()
    except KeyboardInterrupt:
        pass
    finally:
        h.close()


if __name__ == "__main__":
    if len(sys.argv) >= 2 and sys.argv[1] == "serve":
        missing = require_binaries()
        if missing:
            sys.exit(f"missing: {', '.join(missing)}")
        _serve()
    else:
        sys.exit("usage: dnsharness.py serve")


# ==========================================================================
# Route trust (test_route_trust.py): records with their own TTLs, zones
# rewritten between steps, re-signing with the key sign_zone() made, and
# RRSIGs of any type corrupted.  Additive: nothing above uses these.

TYPE_MX, TYPE_TLSA = 15, 52


def add_rr(zone, owner, rrtype, rdata, ttl=None):
    """Any record, with its own TTL (Zone.add has none)."""
    zone.other.add(owner)
    zone.lines.append(f"{owner} {ttl or ''} IN {rrtype} {rdata}")


def txt_rdata(text):
    """TXT presentation of one character-string (RFC 1035 §5.1 quoting)."""
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def resign_zone(workdir, zone):
    """Sign `zone` again with the key sign_zone() generated for its origin
    in `workdir`, so the trust anchor stays valid. Returns the signed text."""
    kdir = os.path.join(workdir, "keys-" + zone.origin)
    if not any(n.startswith("K") and n.endswith(".key") for n in os.listdir(kdir)):
        raise RuntimeError(f"no key for {zone.origin} in {kdir}: sign_zone() first")
    src = os.path.join(kdir, zone.origin + ".zone")
    out = src + ".signed"
    with open(src, "w") as f:
        f.write(zone.text())
    subprocess.run(["dnssec-signzone", "-S", "-K", kdir, "-z", "-O", "full", "-o", zone.origin,
                    "-f", out, src], check=True, capture_output=True, cwd=kdir)
    with open(out) as f:
        return f.read()


def corrupt_rrsig(text, fqdn, covered):
    """Flip one bit of every RRSIG covering `covered` (e.g. "TXT") at owner
    `fqdn` (absolute, trailing dot) in signed zone text (-O full layout:
    owner ttl IN RRSIG type alg labels ttl exp inc tag signer sig...)."""
    lines = text.splitlines()
    done = False
    for i, line in enumerate(lines):
        parts = line.split()
        if len(parts) > 13 and parts[0] == fqdn and parts[3] == "RRSIG" and parts[4] == covered:
            sig = bytearray(base64.b64decode("".join(parts[13:])))
            sig[5] ^= 0x01
            lines[i] = " ".join(parts[:13] + [base64.b64encode(bytes(sig)).decode()])
            done = True
    if not done:
        raise RuntimeError(f"no RRSIG {covered} at {fqdn} to corrupt")
    return "\n".join(lines) + "\n"


def knot_replace_zone(knot, origin, text, serial, ready_s=10.0):
    """Rewrite a zone file of a running KnotServer and reload it; returns
    once Knot answers with the new SOA serial."""
    with open(os.path.join(knot.dir, origin + ".zone"), "w") as f:
        f.write(text)
    subprocess.run(["knotc", "-s", knot.sock, "zone-reload", origin], check=True,
                   capture_output=True, timeout=10)
    wait_until(lambda: _soa_serial_is(knot.port, origin, serial), ready_s,
               f"reload of {origin} (serial {serial})", knot.proc)
