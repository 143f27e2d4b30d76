#!/usr/bin/env python3
"""Write the seed corpus of fuzz_dns_message: DNS answers in wire format.

Standard library only.  Builds the answers of the test zone of
docs/test-vectors.md §2 (`_onion-mx._tcp.multi`, `mail1`, `none`), CNAME
chains, negative answers with the zone SOA, server errors, invalid targets,
the TXT, MX and TLSA answers of route trust (docs/route-trust.md: policy
record, MTA-STS, MX hosts, DANE), then truncated and malformed variants.  The output is committed; rerun after editing:

    python3 tests/fuzz/make_dns_corpus.py [OUTPUT_DIR]

OUTPUT_DIR defaults to corpus/dns_message next to this script.  Existing
files of the same name are overwritten; others (e.g. fuzzer finds) are kept.
"""
import os
import struct
import sys

T_A, T_CNAME, T_SOA, T_MX, T_TXT, T_SRV, T_OPT, T_TLSA = 1, 5, 6, 15, 16, 33, 41, 52
C_IN = 1
F_ANSWER = 0x8180  # QR RD RA, NOERROR
F_ANSWER_AD = 0x81A0
NOERROR, FORMERR, SERVFAIL, NXDOMAIN, NOTIMP, REFUSED = 0, 1, 2, 3, 4, 5

A1 = "aoqqpp7tzyil4hlq3umoos6atft6jvrqtosq2xy53sdgiesvgg4bqead"
A2 = "efjprum3peosirjsilqv6lvlns3476t3njpngaexsyhangeb3mjo7sad"
A3 = "25njqamcweflpvkl73j4szahhihoc4xt3ktcgjnpaingr5yhkenl5sid"
BAD_CHECKSUM = "boqqpp7tzyil4hlq3umoos6atft6jvrqtosq2xy53sdgiesvgg4bqead"
IDENTITY_KEY = "aeaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaahmjqd"
V2 = "expyuzz4wqqyqhjn"
ZONE = "onionmx.test"


class Wire:
    """Byte-level DNS message builder; RDLENGTH is patched by end_rdata()."""

    def __init__(self):
        self.b = bytearray()
        self._rdlen_at = None

    def u8(self, v):
        self.b.append(v & 0xFF)
        return self

    def u16(self, v):
        self.b += struct.pack(">H", v & 0xFFFF)
        return self

    def u32(self, v):
        self.b += struct.pack(">I", v & 0xFFFFFFFF)
        return self

    def raw(self, data):
        self.b += data if isinstance(data, (bytes, bytearray)) else data.encode()
        return self

    def labels(self, dotted):
        for label in [l for l in dotted.split(".") if l]:
            self.u8(len(label)).raw(label)
        return self

    def name(self, dotted):
        return self.labels(dotted).u8(0)

    def ptr(self, offset):
        return self.u16(0xC000 | offset)

    def header(self, flags, qd=1, an=0, ns=0, ar=0, ident=0x4F4E):
        return self.u16(ident).u16(flags).u16(qd).u16(an).u16(ns).u16(ar)

    def question(self, qname, qtype=T_SRV):
        return self.name(qname).u16(qtype).u16(C_IN)

    def rr(self, rtype, ttl, cls=C_IN):
        self.u16(rtype).u16(cls).u32(ttl)
        self._rdlen_at = len(self.b)
        return self.u16(0)

    def end_rdata(self, adjust=0):
        n = len(self.b) - self._rdlen_at - 2 + adjust
        self.b[self._rdlen_at:self._rdlen_at + 2] = struct.pack(">H", n & 0xFFFF)
        return self

    def srv(self, prio, weight, port, target, owner_ptr=12, ttl=300):
        self.ptr(owner_ptr).rr(T_SRV, ttl).u16(prio).u16(weight).u16(port)
        return self.name(target).end_rdata()

    def soa(self, owner_ptr, ttl=60, minimum=60):
        self.ptr(owner_ptr).rr(T_SOA, ttl)
        self.labels("ns1").ptr(owner_ptr).labels("hostmaster").ptr(owner_ptr)
        return self.u32(1).u32(3600).u32(600).u32(86400).u32(minimum).end_rdata()

    def opt(self, payload=1232, do=False):
        return self.u8(0).u16(T_OPT).u16(payload).u8(0).u8(0).u16(0x8000 if do else 0).u16(0)

    def bytes(self):
        return bytes(self.b)


def zone_offset(qname):
    """Offset of "onionmx.test" inside a question name written at 12."""
    head = qname[: -len(ZONE)].rstrip(".")
    return 12 + sum(len(l) + 1 for l in head.split(".") if l)


def srv_answer(qname, records, flags=F_ANSWER, ttl=300, additional_opt=False):
    w = Wire().header(flags, an=len(records), ar=1 if additional_opt else 0).question(qname)
    for prio, weight, port, target in records:
        w.srv(prio, weight, port, target, ttl=ttl)
    if additional_opt:
        w.opt(do=True)
    return w


def multi_compressed():
    """docs/test-vectors.md §2 `multi`: targets 2 and 3 reuse ".onion" of target 1."""
    q = "_onion-mx._tcp.multi." + ZONE
    w = Wire().header(F_ANSWER, an=4).question(q)
    w.ptr(12).rr(T_SRV, 300).u16(10).u16(60).u16(25).labels(A1)
    onion_at = len(w.b)
    w.name("onion").end_rdata()
    w.ptr(12).rr(T_SRV, 300).u16(10).u16(20).u16(25).labels(A2).ptr(onion_at).end_rdata()
    w.ptr(12).rr(T_SRV, 300).u16(10).u16(0).u16(25).labels(A3).ptr(onion_at).end_rdata()
    w.ptr(12).rr(T_SRV, 300).u16(20).u16(0).u16(2525).name("backup.example.net").end_rdata()
    return w


def cname_chain(hops, end_with_srv=True, soa=False, rcode=NOERROR):
    q = "_onion-mx._tcp.alias." + ZONE
    names = [q] + ["hop%d.example" % i for i in range(1, hops + 1)]
    w = Wire().header(0x8180 | rcode, an=hops + (1 if end_with_srv else 0), ns=1 if soa else 0).question(q)
    for src, dst in zip(names, names[1:]):
        w.name(src).rr(T_CNAME, 120).name(dst).end_rdata()
    if end_with_srv:
        w.name(names[-1]).rr(T_SRV, 300).u16(0).u16(0).u16(25).name(A1 + ".onion").end_rdata()
    if soa:
        w.soa(zone_offset(q))
    return w


def negative(rcode, soa_ttl=60, minimum=60, with_soa=True):
    q = "_onion-mx._tcp.nx." + ZONE
    w = Wire().header(0x8180 | rcode, ns=1 if with_soa else 0).question(q)
    if with_soa:
        w.soa(zone_offset(q), soa_ttl, minimum)
    return w


def pointer_hops(chain):
    """Owner of answer 2 reaches the question through 1 + `chain` pointers."""
    w = Wire().header(F_ANSWER, an=2).question("a")
    w.ptr(12).rr(99, 10)
    prev = 12
    for _ in range(chain):
        here = len(w.b)
        w.ptr(prev)
        prev = here
    w.end_rdata()
    return w.ptr(prev).rr(99, 10).end_rdata()


def txt_answer(qname, records, flags=F_ANSWER, ttl=300):
    """Each record is a list of <character-string>s (RFC 1035 §3.3.14)."""
    w = Wire().header(flags, an=len(records)).question(qname, T_TXT)
    for pieces in records:
        w.ptr(12).rr(T_TXT, ttl)
        for p in pieces:
            w.u8(len(p)).raw(p)
        w.end_rdata()
    return w


def trust_answers(out):
    """Route trust's queries: the policy TXT, _mta-sts TXT, MX and TLSA."""
    pq = "_onion-mx._tcp.multi." + ZONE
    out["txt-policy-among-spf"] = txt_answer(pq, [
        ["v=spf1 -all"], ["v=ONIONMX1; mode=en", "force; max_age=86400"]], flags=F_ANSWER_AD).bytes()
    out["txt-two-policies"] = txt_answer(pq, [
        ["v=ONIONMX1; mode=enforce; max_age=60"], ["v=ONIONMX1; mode=none; max_age=0"]]).bytes()
    out["txt-empty-strings"] = txt_answer("_mta-sts.multi." + ZONE, [["", "v=STSv1;", "", " id=1"], [""]]).bytes()
    out["txt-255-byte-string"] = txt_answer(pq, [["v=ONIONMX1; mode=testing; max_age=60; x=" + "a" * 215, "b"]]).bytes()
    # MTA-STS delegated to a provider through a CNAME (RFC 8461 §8.2).
    q = "_mta-sts.multi." + ZONE
    w = Wire().header(F_ANSWER, an=2).question(q, T_TXT)
    w.ptr(12).rr(T_CNAME, 100)
    target = len(w.b)
    w.labels("_mta-sts.provider").ptr(zone_offset(q)).end_rdata()
    out["txt-mta-sts-cname"] = w.ptr(target).rr(T_TXT, 300).u8(13).raw("v=STSv1; id=9").end_rdata().bytes()
    w = Wire().header(F_ANSWER, an=1).question(pq, T_TXT)
    out["txt-string-past-rdata"] = w.ptr(12).rr(T_TXT, 60).u8(5).raw("abc").end_rdata().bytes()
    w = Wire().header(F_ANSWER, an=1).question(pq, T_TXT)
    out["txt-empty-rdata"] = w.ptr(12).rr(T_TXT, 60).end_rdata().bytes()

    mq = "multi." + ZONE
    w = Wire().header(F_ANSWER_AD, an=3).question(mq, T_MX)
    w.ptr(12).rr(T_MX, 300).u16(20).labels("mx2").ptr(zone_offset(mq)).end_rdata()
    w.ptr(12).rr(T_MX, 300).u16(10).labels("MX1").ptr(12).end_rdata()
    w.ptr(12).rr(T_MX, 300).u16(20).name("mx3.example.net").end_rdata()
    out["mx-secure-compressed"] = w.bytes()
    w = Wire().header(F_ANSWER, an=1).question(mq, T_MX)
    out["mx-null"] = w.ptr(12).rr(T_MX, 300).u16(0).u8(0).end_rdata().bytes()
    w = Wire().header(F_ANSWER, ns=1).question(mq, T_MX)
    out["mx-nodata-soa"] = w.soa(zone_offset(mq)).bytes()
    w = Wire().header(F_ANSWER, an=1).question(mq, T_MX)
    out["mx-rdata-short"] = w.ptr(12).rr(T_MX, 300).u16(10).end_rdata().bytes()

    tq = "_25._tcp.mx1." + ZONE
    w = Wire().header(F_ANSWER_AD, an=2).question(tq, T_TLSA)
    for sel in (0, 1):  # DANE-EE(3), SPKI or Cert, SHA2-256 (RFC 7671 §5.1)
        w.ptr(12).rr(T_TLSA, 300).u8(3).u8(sel).u8(1).raw(bytes(range(32))).end_rdata()
    out["tlsa-secure"] = w.bytes()
    w = Wire().header(F_ANSWER_AD | NXDOMAIN, ns=1).question(tq, T_TLSA)
    out["tlsa-nxdomain-secure"] = w.soa(zone_offset(tq)).bytes()


def corpus():
    out = {}
    mq = "_onion-mx._tcp.multi." + ZONE
    out["srv-multi-compressed"] = multi_compressed().bytes()
    out["srv-multi-uncompressed"] = srv_answer(mq, [
        (10, 60, 25, A1 + ".onion"), (10, 20, 25, A2 + ".onion"), (10, 0, 25, A3 + ".onion"),
        (20, 0, 2525, "backup.example.net")]).bytes()
    out["srv-mail1"] = srv_answer("_onion-mx._tcp.mail1." + ZONE, [(0, 5, 25, A1 + ".onion")], ttl=600).bytes()
    out["srv-none-dot"] = srv_answer("_onion-mx._tcp.none." + ZONE, [(0, 0, 0, "")]).bytes()
    out["srv-dot-mixed"] = srv_answer(mq, [(0, 0, 0, ""), (10, 0, 25, A1 + ".onion")]).bytes()
    out["srv-ad-with-opt"] = srv_answer(mq, [(10, 0, 25, A1 + ".onion")], flags=F_ANSWER_AD,
                                        additional_opt=True).bytes()
    out["srv-upper-case"] = srv_answer(mq.upper(), [(10, 0, 25, "SMTP." + A1.upper() + ".ONION")]).bytes()
    out["srv-subdomain-target"] = srv_answer(mq, [(10, 0, 25, "smtp." + A1 + ".onion")]).bytes()
    out["srv-invalid-targets"] = srv_answer(mq, [
        (10, 0, 25, V2 + ".onion"), (10, 0, 25, BAD_CHECKSUM + ".onion"), (10, 0, 25, IDENTITY_KEY + ".onion"),
        (10, 0, 0, A1 + ".onion"), (10, 0, 2525, A2 + ".onion")]).bytes()
    out["srv-top-bit-ttl"] = srv_answer(mq, [(10, 0, 25, A1 + ".onion")], ttl=0x80000000).bytes()
    out["cname-chain-2-srv"] = cname_chain(2).bytes()
    out["cname-chain-8-srv"] = cname_chain(8).bytes()
    out["cname-chain-9-srv"] = cname_chain(9).bytes()
    out["cname-follow-no-soa"] = cname_chain(1, end_with_srv=False).bytes()
    out["cname-nodata-with-soa"] = cname_chain(1, end_with_srv=False, soa=True).bytes()
    out["cname-nxdomain"] = cname_chain(1, end_with_srv=False, soa=True, rcode=NXDOMAIN).bytes()
    out["nxdomain-soa"] = negative(NXDOMAIN).bytes()
    out["nxdomain-no-soa"] = negative(NXDOMAIN, with_soa=False).bytes()
    out["nodata-soa"] = negative(NOERROR, soa_ttl=300, minimum=60).bytes()
    out["nxdomain-soa-top-bit-ttl"] = negative(NXDOMAIN, soa_ttl=0x80000000, minimum=60).bytes()
    for rc, word in ((SERVFAIL, "servfail"), (REFUSED, "refused"), (FORMERR, "formerr"), (NOTIMP, "notimp")):
        out["rcode-" + word] = negative(rc, with_soa=False).bytes()
    q = Wire().header(0x0100, ar=1).question(mq).opt(do=True)
    out["query-not-answer"] = q.bytes()
    out["header-only"] = Wire().header(F_ANSWER, qd=0).bytes()

    # Malformed variants: every one must be rejected as BadData.
    full = multi_compressed().bytes()
    for n in (0, 11, 12, 20, 60, len(full) // 2, len(full) - 1):
        out["truncated-multi-%d" % n] = full[:n]
    out["trailing-byte"] = full + b"\x00"
    out["forward-pointer"] = Wire().header(F_ANSWER).ptr(14).question("example.org").bytes()
    out["pointer-to-itself"] = Wire().header(F_ANSWER).ptr(12).u16(T_SRV).u16(C_IN).bytes()
    w = Wire().header(F_ANSWER, an=1).question("q")
    loop = len(w.b)
    out["pointer-loop"] = w.u8(1).raw("b").ptr(loop).rr(99, 1).end_rdata().bytes()
    out["pointer-hops-64"] = pointer_hops(63).bytes()
    out["pointer-hops-65"] = pointer_hops(64).bytes()
    l63 = "a" * 63
    out["name-255"] = Wire().header(F_ANSWER).question(".".join([l63] * 3 + ["b" * 61])).bytes()
    out["name-256"] = Wire().header(F_ANSWER).question(".".join([l63] * 3 + ["b" * 62])).bytes()
    out["label-type-0x40"] = Wire().header(F_ANSWER).u8(0x40).u8(0).u16(T_SRV).u16(C_IN).bytes()
    out["huge-ancount"] = Wire().header(F_ANSWER, an=0xFFFF).question(mq).bytes()
    out["huge-qdcount"] = Wire().header(F_ANSWER, qd=0xFFFF).question(mq).bytes()
    w = Wire().header(F_ANSWER, an=1).question(mq)
    out["srv-rdata-6"] = w.ptr(12).rr(T_SRV, 60).u16(0).u16(0).u16(25).end_rdata().bytes()
    w = Wire().header(F_ANSWER, an=1).question(mq)
    out["srv-rdlength-long"] = w.ptr(12).rr(T_SRV, 60).u16(0).u16(0).u16(25).name("t.example").u16(0) \
        .end_rdata().bytes()
    w = Wire().header(F_ANSWER, an=1).question(mq)
    out["rdlength-past-end"] = w.ptr(12).u16(T_TXT).u16(C_IN).u32(60).u16(100).u8(3).raw("abc").bytes()
    w = Wire().header(NXDOMAIN | 0x8180, ns=1).question(mq)
    out["soa-rdata-short"] = w.ptr(12).rr(T_SOA, 60).name("ns").name("h").raw(b"\0" * 19).end_rdata().bytes()

    # Library bug reproducer: SRV target "onion." (the bare TLD) makes
    # parse_onion read out of bounds from select_routes.
    out["repro-srv-target-bare-onion-tld"] = srv_answer(mq, [(10, 0, 25, "onion"),
                                                             (10, 0, 25, A1 + ".onion")]).bytes()
    trust_answers(out)
    return out


def main():
    here = os.path.dirname(os.path.abspath(__file__))
    outdir = sys.argv[1] if len(sys.argv) > 1 else os.path.join(here, "corpus", "dns_message")
    os.makedirs(outdir, exist_ok=True)
    files = corpus()
    for name, data in sorted(files.items()):
        with open(os.path.join(outdir, name), "wb") as f:
            f.write(data)
    print("%d files written to %s" % (len(files), outdir))


if __name__ == "__main__":
    main()
