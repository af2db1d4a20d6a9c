#!/usr/bin/env python3
"""Writes the seed corpora under fuzz/corpus/<target>/ (deterministic; re-run after changing an
input format).  Files are named seed-<what>; inputs libFuzzer found later are added beside them
(scripts/fuzz.sh merges new coverage back with -merge=1)."""
import os
import struct
import sys

HERE = os.path.dirname(os.path.abspath(__file__))


def write(target, name, data):
    d = os.path.join(HERE, "corpus", target)
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, "seed-" + name), "wb") as f:
        f.write(data)


# ---- endpoint: u16 port, mode byte, string ----
def endpoint():
    lits = [
        "127.0.0.1", "0.0.0.0", "255.255.255.255", "::1", "::", "fe80::1%lo", "fe80::1%1",
        "fe80::1%4294967295", "fe80::1%4294967296", "fe80::1%", "::ffff:127.0.0.1", "1.2.3",
        "0x7f.1", "1.2.3.4.5", "01.2.3.4", "[::1]", "::1%lo%lo", "2001:db8::1",
        "1:2:3:4:5:6:7:8", "1:2:3:4:5:6:7:8:9", "example.com", "a..b", "-a.b", "a-.b",
        "_srv._tcp.x", "x" * 63 + ".y", "x" * 64 + ".y", ("a." * 126) + "a.", ("a." * 127),
        "localhost.", ".", "", "1.2.3.4%lo", "fe80::1%" + "9" * 30, "fe80::1%nonexistent0",
    ]
    for i, s in enumerate(lits):
        for mode in (0, 5, 6):
            write("endpoint", "%02d-%d" % (i, mode), struct.pack(">HB", 8080 + i, mode) + s.encode() + b"\0")
    # raw sockaddrs (mode bit 2 set): family selector byte first
    raw4 = struct.pack("<HH4s8s", 2, 0x1f90, bytes([127, 0, 0, 1]), b"\0" * 8)
    raw6 = struct.pack("<HHI16sI", 10, 0x1f90, 7, b"\xfe\x80" + b"\0" * 13 + b"\1", 1)
    write("endpoint", "sa4", struct.pack(">HB", 1, 4) + b"\0" + raw4)
    write("endpoint", "sa6", struct.pack(">HB", 1, 4) + b"\1" + raw6)
    write("endpoint", "sa6-scope", struct.pack(">HB", 1, 4) + b"\1" + raw6[:-4] + struct.pack("<I", 99999))
    write("endpoint", "sa-short", struct.pack(">HB", 1, 4) + b"\1" + raw6[:10])


# ---- names: mode byte, u16 qlen, host NUL service ----
def names():
    pairs = [
        ("svc.test", "http"), ("svc.test", "ntp"), ("svc.test", "fuzzsvc"), ("svc.test", "0"),
        ("svc.test", "65535"), ("svc.test", "65536"), ("svc.test", "00080"), ("h", "-1"),
        ("h", "a-"), ("h", "stun._service01"), ("h", "_sip._udp"), ("h", "a..b"),
        ("h", "1a"), ("h", "123"), ("h", "x" * 62), ("h", "x" * 63), ("h.", "x.y.z"),
        ("a" * 63 + "." + "b" * 63 + "." + "c" * 63 + "." + "d" * 61, "svc"),
        ("127.0.0.1", "svc"), ("::1", "svc"), ("", ""), ("-bad", "svc"), ("ok-", "svc"),
        ("under_score.test", "x_y"), ("é.test", "é"),
    ]
    for i, (h, s) in enumerate(pairs):
        for mode in (0, 4, 8, 13):
            for qlen in (300, 20):
                write("names", "%02d-%d-%d" % (i, mode, qlen),
                      struct.pack(">BH", mode, qlen) + h.encode() + b"\0" + s.encode() + b"\0")


# ---- srv: u16 count, records (prio, weight, port, name index), then random numbers ----
def srv():
    def recs(lst, rnd):
        b = struct.pack(">H", len(lst))
        for p, w, port, t in lst:
            b += struct.pack(">HHHB", p, w, port, t)
        for r in rnd:
            b += struct.pack(">I", r)
        return b
    write("srv", "one", recs([(10, 5, 80, 2)], []))
    write("srv", "lone-root", recs([(0, 0, 0, 1)], []))
    write("srv", "roots-and-real", recs([(0, 0, 0, 1), (10, 0, 80, 2), (0, 0, 0, 0)], [0]))
    write("srv", "weighted", recs([(10, 60, 1, 2), (10, 20, 2, 3), (10, 0, 3, 4), (20, 0, 4, 5)], [0, 61, 5]))
    write("srv", "zero-weights", recs([(1, 0, i, 2 + i % 5) for i in range(6)], [1, 2, 3, 4, 5]))
    write("srv", "max-weights", recs([(65535, 65535, 65535, 2 + i % 5) for i in range(8)], [0xffffffff] * 8))
    write("srv", "many", recs([(i % 3, (i * 37) % 100, i, 2 + i % 6) for i in range(300)], list(range(0, 300000, 1000))))
    write("srv", "empty", struct.pack(">H", 0))


# ---- errors: 32-bit values ----
def errors():
    vals = [0, 1, -1, 4, 11, 13, 22, 24, 98, 99, 103, 104, 110, 111, 113, 125, 995, 10004, 10061,
            11001, 11004, 2 ** 31 - 1, -2 ** 31, 23, 24, 30, 31, 16, 12]
    write("errors", "table", b"".join(struct.pack(">i", v) for v in vals))
    for v in (0, 104, -2 ** 31):
        write("errors", "v%d" % v, struct.pack(">i", v))


# ---- asockcat_args: NUL-separated argv ----
def asockcat_args():
    cmds = [
        ["127.0.0.1", "80"], ["-l", "8080"], ["-l", "127.0.0.1", "8080"], ["-l", "-p", "8080"],
        ["-u", "-4", "::1", "53"], ["-4", "-6", "h", "1"], ["-k", "h", "1"], ["-lk", "0"],
        ["-w", "1.5", "h", "1"], ["-w", "500ms", "h", "1"], ["-w", "0", "h", "1"],
        ["-w", "1e300", "h", "1"], ["-w", "nan", "h", "1"], ["-w", "2x", "h", "1"],
        ["--dns-server", "127.0.0.1", "h", "1"], ["--dns-server", "127.0.0.1:5353", "h", "1"],
        ["--dns-server", "[::1]:53", "h", "1"], ["--dns-server", "::1", "h", "1"],
        ["--dns-server", "fe80::1%lo", "h", "1"], ["--dns-server", "[fe80::1%lo]:53", "h", "1"],
        ["--dns-server", "1.2.3.4:0", "h", "1"], ["--dns-server", "1.2.3.4:", "h", "1"],
        ["--dns-server", "[::1", "h", "1"], ["--engine", "epoll", "h", "http"],
        ["--engine", "bogus", "h", "1"], ["-I", "lo", "h", "1"], ["-I", "", "h", "1"],
        ["-I", "x" * 20, "h", "1"], ["-s", "127.0.0.1", "-p", "0", "::1", "1"],
        ["-s", "::1", "127.0.0.1", "1"], ["-d", "hello", "h", "1"], ["-l", "-d", "x", "1"],
        ["--send-only", "--recv-only", "h", "1"], ["-h"], ["--version"], ["--help", "x"],
        ["-v", "-v", "-v", "h", "stun._service01"], ["h", "-1"], ["h", "65536"], ["h", "0"],
        ["h", "a-"], ["h"], [], ["a", "b", "c"], ["-l", "a", "b", "c"], ["-x"], ["--nope"],
        ["-w"], ["--dns-server"], ["-b", "-u", "127.255.255.255", "9"], ["h..x", "1"],
        ["-l", "-s", "127.0.0.1", "h", "1"],
    ]
    for i, c in enumerate(cmds):
        write("asockcat_args", "%02d" % i, b"\0".join(a.encode() for a in c))


# ---- dns_reply ----
def name(s):
    out = b""
    for lab in s.strip(".").split("."):
        if lab:
            out += bytes([len(lab)]) + lab.encode()
    return out + b"\0"


def rr(rtype, rdata, owner=b"\xc0\x0c", ttl=60, rclass=1):
    return owner + struct.pack(">HHIH", rtype, rclass, ttl, len(rdata)) + rdata


A, AAAA, CNAME, SRV = 1, 28, 5, 33


def tmpl(flags=0x8180, an=0, ns=0, ar=0, records=b""):
    body = struct.pack(">HHHH", flags, an, ns, ar) + records
    return struct.pack(">H", len(body)) + body


def raw(b):
    return struct.pack(">H", len(b)) + b


def srv_rdata(prio, weight, port, target):
    return struct.pack(">HHH", prio, weight, port) + name(target)


def dns_reply():
    a_lo = rr(A, bytes([127, 0, 0, 1]))
    aaaa_lo = rr(AAAA, b"\0" * 15 + b"\1")
    # mode 0 (AF_UNSPEC): the AAAA query comes first, then the A query
    write("dns_reply", "unspec-both", bytes([0]) + tmpl(an=1, records=aaaa_lo) + tmpl(an=1, records=a_lo))
    write("dns_reply", "v4-one", bytes([1]) + tmpl(an=1, records=a_lo))
    write("dns_reply", "v6-one", bytes([2]) + tmpl(an=1, records=aaaa_lo))
    write("dns_reply", "v4-many", bytes([1]) + tmpl(an=20, records=b"".join(rr(A, bytes([127, 0, 1, i])) for i in range(20))))
    write("dns_reply", "v4-nxdomain", bytes([1]) + tmpl(flags=0x8183))
    write("dns_reply", "v4-servfail", bytes([1]) + tmpl(flags=0x8182))
    write("dns_reply", "v4-refused", bytes([1]) + tmpl(flags=0x8185))
    write("dns_reply", "v4-formerr", bytes([1]) + tmpl(flags=0x8181))
    write("dns_reply", "v4-nodata", bytes([1]) + tmpl(an=0))
    write("dns_reply", "v4-wrong-type", bytes([1]) + tmpl(an=1, records=aaaa_lo))
    write("dns_reply", "v4-bad-rdlen", bytes([1]) + tmpl(an=1, records=rr(A, bytes([127, 0, 0, 1, 9]))))
    write("dns_reply", "v4-count-too-high", bytes([1]) + tmpl(an=5, records=a_lo))
    write("dns_reply", "v4-cut", bytes([1]) + tmpl(an=1, records=a_lo[:7]))
    write("dns_reply", "v4-garbage", bytes([1]) + raw(b"\x12\x34\xff\xff\x00"))
    write("dns_reply", "v4-silent", bytes([1]) + raw(b""))
    write("dns_reply", "v4-silent-then-answer", bytes([1]) + raw(b"") + tmpl(an=1, records=a_lo))
    write("dns_reply", "v4-loop-pointer", bytes([1]) + tmpl(an=1, records=b"\xc0\x1d" + a_lo[2:]))
    cname = rr(CNAME, name("c.fuzz")) + rr(A, bytes([127, 0, 0, 2]), owner=name("c.fuzz"))
    write("dns_reply", "v4-cname", bytes([1]) + tmpl(an=2, records=cname))
    write("dns_reply", "v4-cname-loop", bytes([1]) + tmpl(an=1, records=rr(CNAME, b"\xc0\x0c")))
    # truncated over UDP (TC), then the full answer over TCP
    big = b"".join(rr(A, bytes([127, 1, i // 256, i % 256])) for i in range(300))
    write("dns_reply", "v4-tc-then-tcp", bytes([1]) + tmpl(flags=0x8380, an=1, records=a_lo) + tmpl(an=300, records=big))
    write("dns_reply", "v4-tc-repeat", bytes([1 | 8]) + tmpl(flags=0x8380, an=1, records=a_lo) + tmpl(an=3000, records=a_lo))
    write("dns_reply", "v4-tc-always", bytes([1]) + tmpl(flags=0x8380, an=1, records=a_lo))
    # SRV: mode 3; the SRV query first, then the targets' AAAA and A queries
    srvs = (rr(SRV, srv_rdata(10, 60, 8001, "a.fuzz")) + rr(SRV, srv_rdata(10, 20, 8002, "b.fuzz")) +
            rr(SRV, srv_rdata(20, 0, 8003, "c.fuzz")))
    write("dns_reply", "srv-three", bytes([3]) + tmpl(an=3, records=srvs) + tmpl(an=1, records=aaaa_lo) + tmpl(an=1, records=a_lo))
    write("dns_reply", "srv-udp", bytes([3 | 4]) + tmpl(an=3, records=srvs) + tmpl(an=1, records=a_lo))
    write("dns_reply", "srv-root", bytes([3]) + tmpl(an=1, records=rr(SRV, srv_rdata(0, 0, 0, "."))))
    write("dns_reply", "srv-root-and-real", bytes([3]) + tmpl(an=2, records=rr(SRV, srv_rdata(0, 0, 0, ".")) + rr(SRV, srv_rdata(5, 0, 99, "a.fuzz"))) + tmpl(an=1, records=a_lo))
    write("dns_reply", "srv-empty", bytes([3]) + tmpl(an=0))
    write("dns_reply", "srv-nxdomain", bytes([3]) + tmpl(flags=0x8183))
    write("dns_reply", "srv-literal-target", bytes([3]) + tmpl(an=1, records=rr(SRV, srv_rdata(1, 1, 7, "127.0.0.1"))))
    write("dns_reply", "srv-localhost-target", bytes([3]) + tmpl(an=1, records=rr(SRV, srv_rdata(1, 1, 7, "localhost"))))
    write("dns_reply", "srv-short-rdata", bytes([3]) + tmpl(an=1, records=rr(SRV, b"\0\1\0")))
    write("dns_reply", "srv-targets-fail", bytes([3]) + tmpl(an=2, records=rr(SRV, srv_rdata(1, 1, 7, "a.fuzz")) + rr(SRV, srv_rdata(2, 1, 8, "b.fuzz"))) + tmpl(flags=0x8183) + tmpl(flags=0x8182))
    # huge: 3000 SRV records through TCP (TC over UDP, records repeated by mode bit 3)
    one = rr(SRV, srv_rdata(1, 1, 9, "t.fuzz"))
    write("dns_reply", "srv-huge-tcp", bytes([3 | 8]) + tmpl(flags=0x8380, an=1, records=one) + tmpl(an=2500, records=one) + tmpl(an=1, records=a_lo))
    write("dns_reply", "srv-many-udp", bytes([3 | 8]) + tmpl(an=18, records=one) + tmpl(an=1, records=a_lo))
    # cancel racing the answers (mode bits 4-7)
    write("dns_reply", "v4-cancel-1", bytes([1 | (1 << 4)]) + tmpl(an=1, records=a_lo))
    write("dns_reply", "srv-cancel-3", bytes([3 | (3 << 4)]) + tmpl(an=3, records=srvs) + tmpl(an=1, records=a_lo))
    write("dns_reply", "unspec-cancel-2", bytes([0 | (2 << 4)]) + raw(b"") + tmpl(an=1, records=a_lo))


if __name__ == "__main__":
    for fn in (endpoint, names, srv, errors, asockcat_args, dns_reply):
        fn()
    print("seed corpora written under", os.path.join(HERE, "corpus"), file=sys.stderr)
