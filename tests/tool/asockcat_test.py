#!/usr/bin/env python3
"""Interop tests of asockcat: the tool runs as a subprocess against real peers on loopback only
(Python sockets, socat, ncat; dnsmasq for names and SRV through the asock_dns CTest fixture).

    asockcat_test.py ASOCKCAT SCENARIO

The engine comes from ASOCK_ENGINE (set by CTest) and is also passed as --engine, and every -v
run must name it.  Each scenario prints what it checks; the first failed check exits 1.
Standard library only.
"""
import hashlib
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time

ASOCKCAT = sys.argv[1] if len(sys.argv) > 1 else "asockcat"
SCENARIO = sys.argv[2] if len(sys.argv) > 2 else ""
ENGINE = os.environ.get("ASOCK_ENGINE", "epoll")
WAIT = 20.0  # bound on every wait, seconds

failures = 0


def check(ok, what, detail=""):
    global failures
    print(("  [ok]   " if ok else "  [FAIL] ") + what + (("\n         " + detail) if detail and not ok else ""),
          flush=True)
    if not ok:
        failures += 1
        raise SystemExit(1)


def need(tool):
    path = shutil.which(tool)
    if path is None:
        print(f"FATAL: {tool} is not installed (CI installs socat, ncat and dnsmasq-base)", flush=True)
        raise SystemExit(1)
    return path


def dns_info():
    """KEY=VALUE lines of the asock_dns fixture (tests/resolve/dnsmasq.sh)."""
    path = os.environ.get("ASOCK_TEST_DNS_FILE", "")
    info = {}
    try:
        with open(path) as f:
            for line in f:
                if "=" in line:
                    k, v = line.strip().split("=", 1)
                    info[k] = v
    except OSError as exc:
        print(f"FATAL: the DNS fixture's file {path!r} cannot be read ({exc}); "
              "this test needs FIXTURES_REQUIRED asock_dns", flush=True)
        raise SystemExit(1)
    return info


def free_port(addr="127.0.0.1", kind=socket.SOCK_STREAM):
    fam = socket.AF_INET6 if ":" in addr else socket.AF_INET
    with socket.socket(fam, kind) as s:
        s.bind((addr, 0))
        return s.getsockname()[1]


def cmd(*args, verbose=True):
    c = [ASOCKCAT, "--engine", ENGINE]
    if verbose:
        c.append("-v")
    return c + list(args)


def run(args, stdin=b"", timeout=WAIT, verbose=True):
    """Runs asockcat to its end; returns (exit status, stdout bytes, stderr text)."""
    p = subprocess.run(cmd(*args, verbose=verbose), input=stdin, stdout=subprocess.PIPE,
                       stderr=subprocess.PIPE, timeout=timeout)
    err = p.stderr.decode(errors="replace")
    sys.stdout.write("".join("    | " + l + "\n" for l in err.splitlines()))
    return p.returncode, p.stdout, err


def check_engine_named(err):
    check(f"engine {ENGINE}" in err, f"-v names the engine ({ENGINE})", err)


class Bg:
    """asockcat in the background; stderr collected by a thread; waits for stderr lines."""

    def __init__(self, args, stdin=subprocess.PIPE, stdout=subprocess.PIPE, verbose=True):
        self.p = subprocess.Popen(cmd(*args, verbose=verbose), stdin=stdin, stdout=stdout,
                                  stderr=subprocess.PIPE)
        self.err_lines = []
        self.cv = threading.Condition()
        self.t = threading.Thread(target=self._read_err, daemon=True)
        self.t.start()

    def _read_err(self):
        for raw in self.p.stderr:
            line = raw.decode(errors="replace").rstrip("\n")
            sys.stdout.write("    | " + line + "\n")
            with self.cv:
                self.err_lines.append(line)
                self.cv.notify_all()
        with self.cv:
            self.err_lines.append(None)
            self.cv.notify_all()

    def wait_line(self, needle, timeout=WAIT):
        end = time.monotonic() + timeout
        with self.cv:
            while True:
                if any(l is not None and needle in l for l in self.err_lines):
                    return True
                if None in self.err_lines:
                    return False
                left = end - time.monotonic()
                if left <= 0:
                    return False
                self.cv.wait(left)

    def wait_count(self, needle, n, timeout=WAIT):
        end = time.monotonic() + timeout
        with self.cv:
            while sum(1 for l in self.err_lines if l is not None and needle in l) < n:
                left = end - time.monotonic()
                if left <= 0 or None in self.err_lines:
                    return False
                self.cv.wait(left)
            return True

    def stderr(self):
        with self.cv:
            return "\n".join(l for l in self.err_lines if l is not None)

    def finish(self, timeout=WAIT):
        try:
            self.p.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.p.kill()
            self.p.wait()
            check(False, "asockcat ended in time")
        self.t.join(timeout)
        return self.p.returncode

    def kill(self):
        if self.p.poll() is None:
            self.p.terminate()
        return self.finish()


def listen_bg(args, stdin=subprocess.PIPE, stdout=subprocess.PIPE):
    """asockcat -l ... in the background, once it listens."""
    bg = Bg(["-l"] + args, stdin=stdin, stdout=stdout)
    check(bg.wait_line("listening on"), "asockcat listens", bg.stderr())
    return bg


def recv_all(conn, limit=None):
    chunks = []
    n = 0
    while True:
        b = conn.recv(65536)
        if not b:
            break
        chunks.append(b)
        n += len(b)
        if limit is not None and n >= limit:
            break
    return b"".join(chunks)


class PyServer:
    """A Python TCP server on loopback handling one connection with fn(conn, peer)."""

    def __init__(self, fn, addr="127.0.0.1", port=0):
        fam = socket.AF_INET6 if ":" in addr else socket.AF_INET
        self.s = socket.socket(fam, socket.SOCK_STREAM)
        self.s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.s.bind((addr, port))
        self.s.listen(8)
        self.s.settimeout(WAIT)
        self.port = self.s.getsockname()[1]
        self.result = None
        self.error = None
        self.fn = fn
        self.t = threading.Thread(target=self._main, daemon=True)
        self.t.start()

    def _main(self):
        try:
            conn, peer = self.s.accept()
            conn.settimeout(WAIT)
            with conn:
                self.result = self.fn(conn, peer)
        except Exception as exc:  # reported by join()
            self.error = exc
        finally:
            self.s.close()

    def join(self):
        self.t.join(WAIT + 5)
        check(not self.t.is_alive(), "the Python server finished")
        if self.error is not None:
            check(False, "the Python server ran without error", repr(self.error))
        return self.result


def wait_proc(p, what, timeout=WAIT):
    try:
        return p.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        p.kill()
        p.wait()
        check(False, what + " ended in time")


# ============================================================================ scenarios


def s_relay():
    """relay both ways: connect to Python, socat and ncat servers; listen for Python, socat and
    ncat clients; stdin EOF shuts the write side down and what the peer sends after still
    arrives."""
    print("connect -> Python server: both ways, peer data sent after our EOF still printed")

    def srv(conn, peer):
        conn.sendall(b"hello from python\n")
        got = recv_all(conn)  # until asockcat's EOF (stdin ended -> SHUT_WR)
        conn.sendall(b"after your EOF\n")
        return got

    ps = PyServer(srv)
    rc, out, err = run(["127.0.0.1", str(ps.port)], stdin=b"from stdin\n")
    got = ps.join()
    check(rc == 0, "exit 0", err)
    check(got == b"from stdin\n", "the server got stdin", repr(got))
    check(out == b"hello from python\nafter your EOF\n", "stdout has only the server's data",
          repr(out))
    check_engine_named(err)
    check("write side shut down" in err, "-v: stdin EOF shut the write side down", err)

    print("connect -> socat echo server (EXEC:cat)")
    need("socat")
    port = free_port()
    so = subprocess.Popen(["socat", f"TCP-LISTEN:{port},bind=127.0.0.1,reuseaddr", "EXEC:cat"])
    try:
        time.sleep(0.3)
        data = b"".join(b"line %d\n" % i for i in range(2000))
        rc, out, err = run(["127.0.0.1", str(port)], stdin=data)
        check(rc == 0, "exit 0", err)
        check(out == data, "socat echoed everything back", f"{len(out)} of {len(data)} bytes")
    finally:
        wait_proc(so, "socat")

    print("connect -> ncat listener (--recv-only)")
    need("ncat")
    port = free_port()
    # (ncat's stdin stays open: at its end ncat would close the connection, --recv-only or not)
    nc = subprocess.Popen(["ncat", "-l", "--recv-only", "127.0.0.1", str(port)],
                          stdin=subprocess.PIPE, stdout=subprocess.PIPE)
    time.sleep(0.4)
    rc, out, err = run(["127.0.0.1", str(port)], stdin=b"to ncat\n")
    nout, _ = nc.communicate(timeout=WAIT)
    check(rc == 0, "exit 0", err)
    check(nout == b"to ncat\n", "ncat printed what asockcat sent", repr(nout))

    print("listen <- Python client: both ways")
    port = free_port()
    bg = listen_bg(["127.0.0.1", str(port)], stdin=subprocess.PIPE)
    bg.p.stdin.write(b"from the listener\n")
    bg.p.stdin.flush()
    c = socket.create_connection(("127.0.0.1", port), timeout=WAIT)
    c.sendall(b"from the client\n")
    want = b"from the listener\n"
    got = b""
    while len(got) < len(want):
        b = c.recv(100)
        if not b:
            break
        got += b
    check(got == want, "the client got the listener's stdin", repr(got))
    bg.p.stdin.close()  # stdin EOF -> SHUT_WR -> the client sees EOF
    check(c.recv(100) == b"", "the client saw the listener's EOF")
    c.close()
    rc = bg.finish()
    out = bg.p.stdout.read()
    check(rc == 0, "exit 0", bg.stderr())
    check(out == b"from the client\n", "stdout has the client's data", repr(out))

    print("listen <- socat client")
    port = free_port()
    bg = listen_bg([str(port)], stdin=subprocess.DEVNULL)
    so = subprocess.run(["socat", "-", f"TCP:127.0.0.1:{port}"], input=b"from socat\n",
                        stdout=subprocess.PIPE, timeout=WAIT)
    rc = bg.finish()
    out = bg.p.stdout.read()
    check(rc == 0, "exit 0", bg.stderr())
    check(out == b"from socat\n", "stdout has socat's data", repr(out))

    print("listen <- ncat client")
    port = free_port()
    bg = listen_bg([str(port)], stdin=subprocess.DEVNULL)
    nc = subprocess.run(["ncat", "127.0.0.1", str(port)], input=b"from ncat\n",
                        stdout=subprocess.PIPE, timeout=WAIT)
    rc = bg.finish()
    out = bg.p.stdout.read()
    check(rc == 0, "exit 0", bg.stderr())
    check(out == b"from ncat\n", "stdout has ncat's data", repr(out))


def s_listen_keep():
    """-l without -k serves one peer; -l -k serves one after the other while stdin stays
    open."""
    print("-l: one peer, then exit 0 and the port is closed")
    port = free_port()
    bg = listen_bg(["127.0.0.1", str(port)], stdin=subprocess.DEVNULL)
    c = socket.create_connection(("127.0.0.1", port), timeout=WAIT)
    c.sendall(b"one\n")
    c.shutdown(socket.SHUT_WR)
    check(c.recv(10) == b"", "the listener closed after the peer left")
    c.close()
    rc = bg.finish()
    check(rc == 0, "exit 0", bg.stderr())
    check(bg.p.stdout.read() == b"one\n", "stdout has the peer's data")
    try:
        socket.create_connection(("127.0.0.1", port), timeout=2).close()
        refused = False
    except OSError:
        refused = True
    check(refused, "nobody listens any more")

    print("-l -k: Python, socat and ncat clients one after the other; stdin stays open")
    port = free_port()
    bg = listen_bg(["-k", "127.0.0.1", str(port)], stdin=subprocess.PIPE)
    for i in range(3):
        c = socket.create_connection(("127.0.0.1", port), timeout=WAIT)
        c.sendall(b"python %d\n" % i)
        c.close()
        check(bg.wait_count("-k: waiting for the next peer", i + 1), f"python peer {i} done")
    subprocess.run(["socat", "-", f"TCP:127.0.0.1:{port}"], input=b"socat\n", timeout=WAIT,
                   stdout=subprocess.DEVNULL)
    check(bg.wait_count("-k: waiting for the next peer", 4), "socat peer done")
    subprocess.run(["ncat", "--send-only", "127.0.0.1", str(port)], input=b"ncat\n",
                   timeout=WAIT, stdout=subprocess.DEVNULL)
    check(bg.wait_count("-k: waiting for the next peer", 5), "ncat peer done")
    check(bg.p.poll() is None, "still listening after five peers")
    # stdin still open: a line written now goes to the next peer
    bg.p.stdin.write(b"for the sixth\n")
    bg.p.stdin.flush()
    c = socket.create_connection(("127.0.0.1", port), timeout=WAIT)
    got = b""
    while len(got) < len(b"for the sixth\n"):
        b = c.recv(100)
        if not b:
            break
        got += b
    check(got == b"for the sixth\n", "stdin written between peers reached the next peer",
          repr(got))
    c.close()
    rc = bg.kill()
    out = bg.p.stdout.read()
    want = b"python 0\npython 1\npython 2\nsocat\nncat\n"
    check(out == want, "stdout has every peer's data in order", repr(out))


def s_errors():
    """network errors: exit 1 and the SocketError name on stderr; nothing on stdout."""
    print("refused -> exit 1 naming ConnectionRefused")
    port = free_port()
    rc, out, err = run(["127.0.0.1", str(port)], verbose=False)
    check(rc == 1, "exit 1", err)
    check("ConnectionRefused" in err, "stderr names ConnectionRefused", err)
    check(out == b"", "nothing on stdout")

    print("refused with -d (TCP Fast Open path when the sysctl allows it) -> ConnectionRefused")
    rc, out, err = run(["-d", "x", "127.0.0.1", str(port)], verbose=False)
    check(rc == 1 and "ConnectionRefused" in err, "exit 1 naming ConnectionRefused", err)

    print("refused over IPv6 -> ConnectionRefused")
    port6 = free_port("::1")
    rc, out, err = run(["::1", str(port6)], verbose=False)
    check(rc == 1 and "ConnectionRefused" in err, "exit 1 naming ConnectionRefused", err)

    print("-w idle timeout once connected -> exit 1 naming TimedOut")

    def silent(conn, peer):
        recv_all(conn)  # asockcat's EOF; then stay connected and say nothing
        time.sleep(3)

    ps = PyServer(silent)
    t0 = time.monotonic()
    p = subprocess.Popen(cmd("-w", "400ms", "127.0.0.1", str(ps.port), verbose=False),
                         stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    out, errb = p.communicate(timeout=WAIT)  # stdin closed at once: write side shut, then idle
    elapsed = time.monotonic() - t0
    err = errb.decode()
    print("    | " + err.strip())
    ps.join()
    check(p.returncode == 1, "exit 1", err)
    check("TimedOut" in err, "stderr names TimedOut", err)
    check(0.35 <= elapsed < 5, f"after about 0.4 s ({elapsed:.2f} s)")

    print("-w connect timeout (SYNs dropped by nft in a private network namespace)")
    if shutil.which("unshare") is None or shutil.which("nft") is None:
        print("  [skip] unshare or nft missing")
        return
    script = (
        "ip link set lo up && nft add table inet t && "
        "nft add chain inet t out '{ type filter hook output priority 0; }' && "
        "nft add rule inet t out tcp dport 5555 drop || exit 77\n"
        f"exec {ASOCKCAT} --engine {ENGINE} -w 500ms 127.0.0.1 5555 </dev/null\n")
    t0 = time.monotonic()
    p = subprocess.run(["unshare", "-n", "sh", "-c", script], stdout=subprocess.PIPE,
                       stderr=subprocess.PIPE, timeout=WAIT)
    elapsed = time.monotonic() - t0
    err = p.stderr.decode()
    if p.returncode == 77 or "unshare failed" in err or "Operation not permitted" in err:
        print("  [skip] no private network namespace here: " + err.strip())
        return
    print("    | " + err.strip())
    check(p.returncode == 1, "exit 1", err)
    check("TimedOut" in err, "stderr names TimedOut", err)
    check(0.45 <= elapsed < 5, f"after about 0.5 s ({elapsed:.2f} s)")


def s_usage():
    """usage errors: exit 2 with a clear message, before any network activity (a listener
    watching the target port sees no connection)."""
    watch = socket.socket()
    watch.bind(("127.0.0.1", 0))
    watch.listen(8)
    watch.setblocking(False)
    p = str(watch.getsockname()[1])
    cases = [
        ([], "missing HOST and SERVICE"),
        (["127.0.0.1"], "missing SERVICE"),
        (["127.0.0.1", p, "extra"], "too many arguments"),
        (["", p], "empty host"),
        (["127.0.0.1", ""], "empty service"),
        (["bad host!", p], "neither an IP address nor a valid host name"),
        (["a..b", p], "neither an IP address nor a valid host name"),
        (["127.0.0.1", "0"], "port 0"),
        (["127.0.0.1", "65536"], "out of range"),
        (["--", "127.0.0.1", "-1"], "out of range"),
        (["127.0.0.1", "no service!"], "neither a port number nor a valid service name"),
        (["-4", "-6", "127.0.0.1", p], "-4 and -6"),
        (["-4", "::1", p], "IPv6 address, but -4"),
        (["-6", "127.0.0.1", p], "IPv4 address, but -6"),
        (["-w", "abc", "127.0.0.1", p], "-w: 'abc' is not a time"),
        (["-w", "0", "127.0.0.1", p], "must be more than 0"),
        (["-w", "-3", "127.0.0.1", p], "must be more than 0"),
        (["-w", "5parsecs", "127.0.0.1", p], "unknown unit"),
        (["--dns-server", "1.2.3", "127.0.0.1", p], "not an IP address"),
        (["--dns-server", "127.0.0.1:99999", "127.0.0.1", p], "out of range"),
        (["--dns-server", "[::1", "127.0.0.1", p], "not IP[:PORT]"),
        (["--dns-server", "fe80::1%lo", "127.0.0.1", p], "scoped address"),
        (["--engine", "kqueue", "127.0.0.1", p], "not an engine"),
        (["--send-only", "--recv-only", "127.0.0.1", p], "exclude each other"),
        (["-k", "127.0.0.1", p], "-k only goes with -l"),
        (["-l", "-d", "x", p], "does not go with -l"),
        (["-l"], "missing SERVICE"),
        (["-l", "-p", p, "127.0.0.1", p], "-p and a SERVICE argument"),
        (["-I", "nosuchif0", "127.0.0.1", p], "no network interface named"),
        (["-s", "bad host!", "127.0.0.1", p], "-s:"),
        (["-p", "70000", "127.0.0.1", p], "-p: port 70000"),
        (["-s", "::1", "127.0.0.1", p], "different address families"),
        (["-x", "127.0.0.1", p], "unknown option -x"),
        (["--bogus", "127.0.0.1", p], "unknown option --bogus"),
        (["127.0.0.1", p, "-w"], "needs a value"),
    ]
    for args, msg in cases:
        c = [ASOCKCAT, "--engine", ENGINE] + args
        r = subprocess.run(c, input=b"", stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                           timeout=WAIT)
        err = r.stderr.decode()
        check(r.returncode == 2 and msg in err and r.stdout == b"",
              f"{args!r} -> exit 2, {msg!r}", f"exit {r.returncode}, stderr {err!r}")
    try:
        conn, _ = watch.accept()
        conn.close()
        touched = True
    except BlockingIOError:
        touched = False
    watch.close()
    check(not touched, "no usage error made a connection")

    r = subprocess.run([ASOCKCAT, "--help"], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                       timeout=WAIT)
    out = r.stdout.decode()
    check(r.returncode == 0 and "usage: asockcat" in out and "--dns-server" in out,
          "--help -> exit 0, usage on stdout")
    for opt in ["-u", "-4 | -6", "-s HOST", "-p SERVICE", "-I IFNAME", "-b", "-w SECONDS",
                "-d DATA", "-k", "-v", "--dns-server", "--engine", "--send-only", "--recv-only",
                "--version", "-h, --help"]:
        check(opt in out, f"--help lists {opt}")
    r = subprocess.run([ASOCKCAT, "--version"], stdout=subprocess.PIPE, timeout=WAIT)
    check(r.returncode == 0 and r.stdout.startswith(b"asockcat "), "--version -> exit 0")


def s_names():
    """names and services through dnsmasq: A/AAAA, the services database, SRV with
    fall-through, and the resolution errors (HostNotFound)."""
    info = dns_info()
    dns = info["dns"]
    print(f"DNS server {dns}")

    print("a name: svc1.test -> 127.0.0.2")

    def srv(conn, peer):
        conn.sendall(b"svc1\n")
        return recv_all(conn)

    ps = PyServer(srv, "127.0.0.2")
    rc, out, err = run(["--dns-server", dns, "svc1.test", str(ps.port)], stdin=b"hi\n")
    check(ps.join() == b"hi\n", "the server got the data")
    check(rc == 0 and out == b"svc1\n", "exit 0, relayed", err)
    check("A/AAAA svc1.test -> 127.0.0.2" in err, "-v shows the A/AAAA step", err)
    check("trying 127.0.0.2:" in err, "-v shows the address tried", err)

    print("a services-database name (the port comes from /etc/services)")
    picked = None
    for name in ["git", "postgresql", "x11", "openvpn", "radius", "nfs", "socks"]:
        try:
            port = socket.getservbyname(name, "tcp")
        except OSError:
            continue
        try:
            ps = PyServer(lambda conn, peer: recv_all(conn), "127.0.0.5", port)
        except OSError:
            continue
        picked = (name, port)
        break
    check(picked is not None, "a services-database name with a free port on 127.0.0.5")
    rc, out, err = run(["--dns-server", dns, "127.0.0.5", picked[0]], stdin=b"db\n")
    check(ps.join() == b"db\n", f"{picked[0]} -> port {picked[1]}: the server got the data")
    check(rc == 0, "exit 0", err)
    check(f"services database (tcp) -> port {picked[1]}" in err, "-v shows the services-database step",
          err)

    print("SRV _fall._tcp.svc.test: refuse.test refuses, then ok.test")
    ok_port = int(info["srv_ok_port"])
    ps = PyServer(srv, "127.0.53.12", ok_port)
    rc, out, err = run(["--dns-server", dns, "svc.test", "fall"], stdin=b"srv\n")
    check(ps.join() == b"srv\n", "ok.test's server got the data")
    check(rc == 0 and out == b"svc1\n", "exit 0, relayed", err)
    check("DNS SRV _fall._tcp.svc.test" in err, "-v shows the SRV query", err)
    check("SRV target refuse.test" in err and "SRV target ok.test" in err,
          "-v shows both SRV targets", err)
    check("ConnectionRefused" in err, "-v shows refuse.test refusing", err)
    check(err.find("SRV target refuse.test") < err.find("SRV target ok.test"),
          "in priority order", err)

    print("errors: no such name, no such service, an SRV target that is not there")
    for args, what in [(["nosuch.test", "80"], "no such name"),
                       (["svc.test", "nosuchsvc"], "neither services entry nor SRV"),
                       (["svc.test", "gone"], "SRV '.' (service decidedly not available)")]:
        rc, out, err = run(["--dns-server", dns] + args, verbose=False)
        check(rc == 1 and "HostNotFound" in err and out == b"",
              f"{what}: exit 1 naming HostNotFound", err)

    print("a multicast remote (mcast.test -> 239.1.2.3) -> HostNotFound")
    rc, out, err = run(["--dns-server", dns, "mcast.test", "80"], verbose=False)
    check(rc == 1 and "HostNotFound" in err, "exit 1 naming HostNotFound", err)


def s_source():
    """-s/-p: the server sees the source address and port; -I lo binds to the interface."""
    sport = free_port("127.0.0.7")
    ps = PyServer(lambda conn, peer: (peer, recv_all(conn)))
    rc, out, err = run(["-s", "127.0.0.7", "-p", str(sport), "127.0.0.1", str(ps.port)],
                       stdin=b"src\n")
    peer, data = ps.join()
    check(rc == 0, "exit 0", err)
    check(peer[0] == "127.0.0.7" and peer[1] == sport,
          f"the server saw 127.0.0.7:{sport}", repr(peer))
    check(data == b"src\n", "data arrived")

    print("-p alone: the wildcard address with that port")
    sport = free_port()
    ps = PyServer(lambda conn, peer: (peer, recv_all(conn)))
    rc, out, err = run(["-p", str(sport), "127.0.0.1", str(ps.port)], stdin=b"")
    peer, data = ps.join()
    check(rc == 0 and peer[1] == sport, f"the server saw source port {sport}", repr(peer))

    print("-s as a name (localhost) with -4")
    ps = PyServer(lambda conn, peer: (peer, recv_all(conn)))
    rc, out, err = run(["-4", "-s", "localhost", "127.0.0.1", str(ps.port)], stdin=b"")
    peer, data = ps.join()
    check(rc == 0 and peer[0] == "127.0.0.1", "the server saw 127.0.0.1", repr(peer))

    print("-I lo")
    ps = PyServer(lambda conn, peer: recv_all(conn))
    rc, out, err = run(["-I", "lo", "127.0.0.1", str(ps.port)], stdin=b"via lo\n")
    if rc == 1 and "AccessDenied" in err:
        ps.s.close()
        print("  [skip] SO_BINDTODEVICE needs CAP_NET_RAW here")
        return
    check(ps.join() == b"via lo\n" and rc == 0, "exit 0, data arrived", err)
    check("bound to interface lo" in err, "-v says so", err)


def s_data_first():
    """-d DATA is sent with the connect, once, before anything read from stdin."""

    def srv(conn, peer):
        return recv_all(conn)

    for stdin in [b"stdin data\n", b"", b"x" * 300000]:
        ps = PyServer(srv)
        rc, out, err = run(["-d", "FIRST:", "127.0.0.1", str(ps.port)], stdin=stdin)
        got = ps.join()
        check(rc == 0, "exit 0", err)
        check(got == b"FIRST:" + stdin, f"the server got -d first, then {len(stdin)} bytes of stdin",
              repr(got[:40]))
        check("6 of 6 bytes sent with the connect" in err, "-v: the connect carried -d", err)

    print("-d while the server sends first: still exactly once")

    def srv2(conn, peer):
        conn.sendall(b"banner\n")
        return recv_all(conn)

    ps = PyServer(srv2)
    rc, out, err = run(["-d", "once", "127.0.0.1", str(ps.port)], stdin=b"")
    check(ps.join() == b"once" and out == b"banner\n" and rc == 0, "exactly once", err)


def s_half_duplex():
    """--send-only ignores what the peer sends and stops at stdin's end; --recv-only never
    reads stdin and stops when the peer leaves."""

    def chatty(conn, peer):
        conn.sendall(b"ignored\n" * 100)
        return recv_all(conn)

    ps = PyServer(chatty)
    rc, out, err = run(["--send-only", "127.0.0.1", str(ps.port)], stdin=b"only this\n")
    check(ps.join() == b"only this\n", "the server got stdin")
    check(rc == 0 and out == b"", "exit 0, nothing on stdout", err)

    def talker(conn, peer):
        conn.sendall(b"news\n")
        conn.shutdown(socket.SHUT_WR)
        conn.settimeout(2)
        try:
            return recv_all(conn)
        except socket.timeout:
            return b"(timeout)"

    ps = PyServer(talker)
    p = subprocess.Popen(cmd("--recv-only", "127.0.0.1", str(ps.port)), stdin=subprocess.PIPE,
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        p.stdin.write(b"must not be sent\n")
        p.stdin.flush()
    except BrokenPipeError:
        pass  # asockcat may already have got the peer's end and exited: nothing to read it
    try:
        out, errb = p.communicate(timeout=WAIT)  # stdin is closed only after the exit
    except subprocess.TimeoutExpired:
        p.kill()
        check(False, "--recv-only ended")
    got = ps.join()
    check(p.returncode == 0 and out == b"news\n", "exit 0, printed the peer's data",
          errb.decode())
    check(got == b"", "sent nothing", repr(got))


def s_ipv6():
    """IPv6: connect to ::1, -6 with a name, a dual-mode listener taking both families."""

    def srv(conn, peer):
        conn.sendall(b"v6\n")
        return (peer, recv_all(conn))

    ps = PyServer(srv, "::1")
    rc, out, err = run(["::1", str(ps.port)], stdin=b"to v6\n")
    peer, data = ps.join()
    check(rc == 0 and out == b"v6\n" and data == b"to v6\n", "connect to [::1] relays", err)
    check(f"[::1]:{ps.port}" in err, "-v shows [::1]:port", err)

    ps = PyServer(srv, "::1")
    rc, out, err = run(["-6", "localhost", str(ps.port)], stdin=b"")
    ps.join()
    check(rc == 0 and out == b"v6\n", "-6 localhost reaches ::1", err)

    print("-l without a host: one dual-mode socket takes IPv6 and IPv4 peers (-k)")
    port = free_port("::")
    bg = listen_bg(["-k", str(port)], stdin=subprocess.PIPE)
    for addr, fam in [("::1", socket.AF_INET6), ("127.0.0.1", socket.AF_INET)]:
        c = socket.socket(fam)
        c.settimeout(WAIT)
        c.connect((addr, port))
        c.sendall(("via %s\n" % addr).encode())
        c.close()
        time.sleep(0.3)
    bg.kill()
    out = bg.p.stdout.read()
    check(out == b"via ::1\nvia 127.0.0.1\n", "both families reached it", repr(out))

    print("-l -6 ::1")
    port = free_port("::1")
    bg = listen_bg(["-6", "::1", str(port)], stdin=subprocess.DEVNULL)
    subprocess.run(["socat", "-", f"TCP6:[::1]:{port}"], input=b"socat6\n", timeout=WAIT,
                   stdout=subprocess.DEVNULL)
    rc = bg.finish()
    check(rc == 0 and bg.p.stdout.read() == b"socat6\n", "socat over IPv6 reached it")


def s_bigtransfer():
    """64 MiB each way at once (connect mode, Python peer), and 64 MiB uploaded by socat to a
    listener; SHA-256 identical."""
    size = 64 * 1024 * 1024
    tmp = tempfile.mkdtemp(prefix="asockcat-big-")
    try:
        up = os.path.join(tmp, "up")
        down = os.path.join(tmp, "down")
        with open(up, "wb") as f:
            f.write(os.urandom(size))
        with open(up, "rb") as f:
            up_sha = hashlib.sha256(f.read()).hexdigest()
        down_data = os.urandom(size)
        down_sha = hashlib.sha256(down_data).hexdigest()

        def srv(conn, peer):
            h = hashlib.sha256()
            n = [0]

            def reader():
                while True:
                    b = conn.recv(1 << 20)
                    if not b:
                        break
                    h.update(b)
                    n[0] += len(b)

            t = threading.Thread(target=reader)
            t.start()
            conn.sendall(down_data)
            # asockcat ends the session when the peer closes its side (as ncat does, and as
            # -k needs): half-close only after the upload arrived, so both run at once
            t.join(120)
            conn.shutdown(socket.SHUT_WR)
            return n[0], h.hexdigest()

        ps = PyServer(srv)
        t0 = time.monotonic()
        with open(up, "rb") as fin, open(down, "wb") as fout:
            p = subprocess.run(cmd("127.0.0.1", str(ps.port), verbose=False), stdin=fin,
                               stdout=fout, stderr=subprocess.PIPE, timeout=120)
        n, sha = ps.join()
        dt = time.monotonic() - t0
        check(p.returncode == 0, f"exit 0 ({dt:.2f} s)", p.stderr.decode())
        check(n == size and sha == up_sha, "upload: 64 MiB, SHA-256 identical", f"{n} bytes")
        with open(down, "rb") as f:
            got = f.read()
        check(len(got) == size and hashlib.sha256(got).hexdigest() == down_sha,
              "download: 64 MiB, SHA-256 identical", f"{len(got)} bytes")

        print("listen mode: socat uploads 64 MiB")
        port = free_port()
        with open(down, "wb") as fout:
            bg = listen_bg([str(port)], stdin=subprocess.DEVNULL, stdout=fout)
            so = subprocess.run(["socat", "-u", f"FILE:{up}", f"TCP:127.0.0.1:{port}"],
                                timeout=120)
            rc = bg.finish(120)
        check(so.returncode == 0 and rc == 0, "socat and asockcat exit 0", bg.stderr())
        with open(down, "rb") as f:
            got = f.read()
        check(len(got) == size and hashlib.sha256(got).hexdigest() == up_sha,
              "64 MiB, SHA-256 identical", f"{len(got)} bytes")
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def udp_sock(addr="127.0.0.1", port=0):
    fam = socket.AF_INET6 if ":" in addr else socket.AF_INET
    u = socket.socket(fam, socket.SOCK_DGRAM)
    u.bind((addr, port))
    u.settimeout(WAIT)
    return u


def s_udp_filter():
    """-u through the datagram layer: a connected peer's datagrams only; -d as the first
    datagram; ICMP port-unreachable -> exit 1 naming ConnectionReset / ConnectionResetByPeer;
    listen: the first sender is the peer, -k takes every sender; IPv6."""
    print("connect: only the peer's datagrams are printed")
    srv = udp_sock()
    port = srv.getsockname()[1]
    bg = Bg(["-u", "-w", "1", "-d", "first\n", "127.0.0.1", str(port)], stdin=subprocess.PIPE)
    bg.p.stdin.write(b"hello\n")
    bg.p.stdin.flush()
    d1, a = srv.recvfrom(100)
    d2, _ = srv.recvfrom(100)
    check(d1 == b"first\n" and d2 == b"hello\n", "the peer got -d first, then stdin",
          repr((d1, d2)))
    intruder = udp_sock("127.0.0.2")
    intruder.sendto(b"intruder\n", a)
    other = udp_sock()
    other.sendto(b"other port\n", a)
    time.sleep(0.1)
    srv.sendto(b"reply\n", a)
    bg.p.stdin.close()
    rc = bg.finish()  # -w 1: the idle timeout ends it
    out = bg.p.stdout.read()
    check(out == b"reply\n", "stdout has the peer's datagram only", repr(out))
    check(rc == 1 and "TimedOut" in bg.stderr() and "ConnectionTimedOut" in bg.stderr(),
          "-w idle: exit 1 naming TimedOut and its status ConnectionTimedOut", bg.stderr())
    check(f"engine {ENGINE}" in bg.stderr(), "-v names the engine")
    for u in (srv, intruder, other):
        u.close()

    print("connect to a port nobody listens on -> ConnectionReset / ConnectionResetByPeer")
    port = free_port(kind=socket.SOCK_DGRAM)
    p = subprocess.Popen(cmd("-u", "127.0.0.1", str(port), verbose=False), stdin=subprocess.PIPE,
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    p.stdin.write(b"anyone?\n")
    p.stdin.flush()
    try:
        rc = p.wait(timeout=WAIT)
    except subprocess.TimeoutExpired:
        p.kill()
        check(False, "asockcat ended")
    err = p.stderr.read().decode()
    print("    | " + err.strip())
    check(rc == 1 and "ConnectionReset" in err and "ConnectionResetByPeer" in err,
          "exit 1 naming ConnectionReset and ConnectionResetByPeer", err)

    print("IPv6: -u ::1, --send-only")
    srv = udp_sock("::1")
    rc, out, err = run(["-u", "--send-only", "::1", str(srv.getsockname()[1])], stdin=b"v6\n")
    d, _ = srv.recvfrom(100)
    check(rc == 0 and d == b"v6\n", "the IPv6 peer got it; exit 0 after stdin (--send-only)", err)
    srv.close()

    print("listen without -k: the first sender is the peer; others are ignored")
    port = free_port(kind=socket.SOCK_DGRAM)
    bg = Bg(["-u", "-l", "127.0.0.1", str(port)], stdin=subprocess.PIPE)
    check(bg.wait_line("listening on"), "listening", bg.stderr())
    a = udp_sock()
    b = udp_sock("127.0.0.2")
    a.sendto(b"a1\n", ("127.0.0.1", port))
    check(bg.wait_line("peer 127.0.0.1:"), "A became the peer", bg.stderr())
    b.sendto(b"b1\n", ("127.0.0.1", port))
    check(bg.wait_line("ignored"), "B was ignored", bg.stderr())
    a.sendto(b"a2\n", ("127.0.0.1", port))
    bg.p.stdin.write(b"to the peer\n")
    bg.p.stdin.flush()
    d, _ = a.recvfrom(100)
    check(d == b"to the peer\n", "stdin went to the peer", repr(d))
    time.sleep(0.2)
    bg.kill()
    out = bg.p.stdout.read()
    check(out == b"a1\na2\n", "stdout has the peer's datagrams only", repr(out))

    print("listen -k: every sender; stdin goes to the latest")
    port = free_port(kind=socket.SOCK_DGRAM)
    bg = Bg(["-u", "-l", "-k", str(port)], stdin=subprocess.PIPE)
    check(bg.wait_line("listening on"), "listening", bg.stderr())
    a.sendto(b"a1\n", ("127.0.0.1", port))
    check(bg.wait_line("peer 127.0.0.1:"), "A is the peer")
    b.sendto(b"b1\n", ("127.0.0.1", port))
    check(bg.wait_line("peer 127.0.0.2:"), "B is the peer now")
    bg.p.stdin.write(b"to B\n")
    bg.p.stdin.flush()
    d, _ = b.recvfrom(100)
    check(d == b"to B\n", "stdin went to the latest sender", repr(d))
    bg.kill()
    out = bg.p.stdout.read()
    check(out == b"a1\nb1\n", "stdout has both", repr(out))
    a.close()
    b.close()


def s_broadcast():
    """-u to a broadcast address: refused without -b (exit 1 naming AccessDenied), sent with
    -b."""
    rx = udp_sock("0.0.0.0")
    rx.settimeout(0.5)
    port = rx.getsockname()[1]
    rc, out, err = run(["-u", "--send-only", "127.255.255.255", str(port)], stdin=b"bcast\n")
    check(rc == 1 and "AccessDenied" in err, "without -b: exit 1 naming AccessDenied", err)
    try:
        d = rx.recvfrom(100)[0]
    except socket.timeout:
        d = None
    check(d is None, "nothing was sent", repr(d))
    rc, out, err = run(["-u", "-b", "--send-only", "127.255.255.255", str(port)], stdin=b"bcast\n")
    check(rc == 0, "with -b: exit 0", err)
    rx.settimeout(WAIT)
    d = rx.recvfrom(100)[0]
    check(d == b"bcast\n", "the broadcast arrived", repr(d))
    rx.close()


def s_multicast():
    """a multicast remote is refused naming HostNotFound (and its status HostNotFound with -u),
    as a literal and as a name (dnsmasq mcast.test -> 239.1.2.3)."""
    dns = dns_info()["dns"]
    for args in (["-u", "239.1.2.3", "5000"], ["-u", "ff02::1", "5000"],
                 ["-u", "--dns-server", dns, "mcast.test", "5000"]):
        rc, out, err = run(args, stdin=b"x\n", verbose=False)
        check(rc == 1 and "HostNotFound, SocketErrorStatus HostNotFound" in err,
              f"{args[-2]}: exit 1 naming HostNotFound (status HostNotFound)", err)
    rc, out, err = run(["--dns-server", dns, "mcast.test", "5000"], stdin=b"", verbose=False)
    check(rc == 1 and "HostNotFound" in err, "TCP to mcast.test: exit 1 naming HostNotFound", err)


def s_udp_srv():
    """-u with an SRV service: _echo2._udp.svc.test (dnsmasq) -> svc1.test:5001 /
    svc2.test:5002 at priority 10; a name with a port (svc1.test); unknown service ->
    HostNotFound."""
    dns = dns_info()["dns"]
    rxs = []
    for addr, port in (("127.0.0.2", 5001), ("127.0.0.3", 5002), ("::1", 5002),
                       ("127.0.0.2", 5003)):
        try:
            u = udp_sock(addr, port)
        except OSError as exc:
            check(False, f"bind {addr}:{port} for the SRV targets", repr(exc))
        u.settimeout(0.05)
        rxs.append(((addr, port), u))
    rc, out, err = run(["-u", "--send-only", "--dns-server", dns, "svc.test", "echo2"],
                       stdin=b"via srv\n")
    check(rc == 0, "exit 0", err)
    got = []
    end = time.monotonic() + 2
    while time.monotonic() < end and not got:
        for ap, u in rxs:
            try:
                d, _ = u.recvfrom(100)
                got.append((ap, d))
            except socket.timeout:
                pass
    check(len(got) == 1 and got[0][1] == b"via srv\n", "one SRV target got it", repr(got))
    check(got[0][0][1] in (5001, 5002), "a priority-10 target (RFC 2782)", repr(got))
    check("_echo2._udp.svc.test" in err, "-v names the SRV query", err)

    rc, out, err = run(["-u", "--send-only", "--dns-server", dns, "svc1.test", "5003"],
                       stdin=b"by name\n")
    d = None
    for ap, u in rxs:
        if ap == ("127.0.0.2", 5003):
            u.settimeout(WAIT)
            d = u.recvfrom(100)[0]
    check(rc == 0 and d == b"by name\n", "svc1.test 5003 got it", err)
    for _, u in rxs:
        u.close()

    rc, out, err = run(["-u", "--dns-server", dns, "svc.test", "nosuchsvc"], verbose=False)
    check(rc == 1 and "HostNotFound" in err, "unknown service: exit 1 naming HostNotFound", err)


SCENARIOS = {
    "relay": s_relay,
    "listen_keep": s_listen_keep,
    "errors": s_errors,
    "usage": s_usage,
    "names": s_names,
    "source": s_source,
    "data_first": s_data_first,
    "half_duplex": s_half_duplex,
    "ipv6": s_ipv6,
    "bigtransfer": s_bigtransfer,
    "udp_filter": s_udp_filter,
    "broadcast": s_broadcast,
    "multicast": s_multicast,
    "udp_srv": s_udp_srv,
}


def main():
    fn = SCENARIOS.get(SCENARIO)
    if fn is None:
        print(f"usage: {sys.argv[0]} ASOCKCAT {{{','.join(sorted(SCENARIOS))}}}")
        return 2
    print(f"== tool.{SCENARIO} on {ENGINE}: {fn.__doc__.strip()}", flush=True)
    fn()
    print("PASS", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
