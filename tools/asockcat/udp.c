/* -u: UDP through the datagram-socket layer (include/asock/datagram.h, API.md §5).
 *
 * Connect: asock_datagram_connect_async with the endpoint pair {-s, -p, HOST, SERVICE}; the
 * layer resolves the names (services database, then DNS SRV _SERVICE._udp.HOST) and, once
 * connected, raises message-received only for the peer's datagrams (D5).  Each block read from
 * stdin goes out as datagrams of at most UDP_CHUNK bytes through the connected output stream.
 * A peer's ICMP port-unreachable arrives as ConnectionReset (status ConnectionResetByPeer) and
 * ends the tool with status 1.  UDP has no end of stream: after stdin's end the tool goes on
 * printing what the peer sends, until -w's idle time passes or it is stopped (--send-only: it
 * stops once stdin was sent).
 *
 * Broadcast: the datagram layer connects to a broadcast address by itself (as the Windows
 * Runtime does); netcat users expect that to need -b (API.md §6: AccessDenied without it).  So
 * without -b the tool asks the kernel: a socket-layer UDP socket without ASOCK_OPT_BROADCAST
 * connects to the same remote, and EACCES (AccessDenied) there ends the tool before anything
 * is sent.
 *
 * Listen: asock_datagram_bind_endpoint_async (or bind_service_name_async with -I).  The first
 * sender becomes the peer (stdin goes to it through get_output_stream_async); without -k other
 * senders are ignored, with -k every datagram is printed and stdin goes to the latest sender.
 *
 * -w: the layer has no connect timeout, so the ticker cancels a connect still running after -w
 * (reported as TimedOut); once connected it is the idle timeout.
 */
#include "asockcat.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define UDP_CHUNK 8192 /* the largest datagram one stdin read is cut into */

static asock_datagram *ds;
static asock_async *conn_op; /* the connect or bind while it runs */
static bool ready;           /* connected, or bound */
static asock_output_stream *out;
static asock_async *stream_op; /* get_output_stream_async in flight (listen mode) */
static char peer_addr[64], peer_port[8];
static bool have_peer;
static bool stream_again; /* the peer changed while get_output_stream_async ran */

static struct acat_chunk *q_head, *q_tail; /* stdin chunks waiting */
static size_t q_off;                       /* bytes of q_head already sent */
static bool stdin_done;
static bool writing;               /* a write is in flight */
static struct acat_chunk *w_chunk; /* the chunk the write in flight points into */
static bool w_last;                /* ... and it is that chunk's last slice */
static bool data_sent;
static uint64_t started_at, last_activity;

static void pump_writes(void);
static void request_stream(void);

/* "addr:port", "[v6]:port": a static rotating buffer */
static const char *hp(const char *addr, const char *port)
{
    static char bufs[4][80];
    static unsigned next;
    char *b = bufs[next++ % 4u];
    if (strchr(addr, ':') != NULL)
        snprintf(b, sizeof(bufs[0]), "[%s]:%s", addr, port);
    else
        snprintf(b, sizeof(bufs[0]), "%s:%s", addr, port);
    return b;
}

static void touch(void)
{
    last_activity = asock_loop_now(g_acat.loop);
}

static void fail_async(asock_async *op, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void fail_async(asock_async *op, const char *fmt, ...)
{
    char what[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(what, sizeof(what), fmt, ap);
    va_end(ap);
    acat_fail(asock_async_error(op), asock_async_error_detail(op), "%s", what);
}

/* ---- writing: -d first, then stdin ---- */

static void write_finished(void)
{
    writing = false;
    if (w_chunk != NULL && w_last)
        acat_stdin_release(w_chunk);
    w_chunk = NULL;
}

static void on_write_ok(asock_async *op, void *user)
{
    (void)user;
    asock_async_close(op);
    write_finished();
    touch();
    pump_writes();
}

static void on_write_err(asock_async *op, void *user)
{
    (void)user;
    write_finished();
    if (!g_acat.done)
        fail_async(op, "send to %s", hp(peer_addr, peer_port));
    asock_async_close(op);
}

static void start_write(const void *data, size_t len)
{
    asock_async *op = asock_output_stream_write_async(out, data, len);
    writing = true;
    if (op == NULL) {
        write_finished();
        acat_fail(ASOCK_ERR_NO_BUFFER_SPACE_AVAILABLE, NULL, "send");
        return;
    }
    asock_async_done(op, on_write_ok, on_write_err, NULL);
}

static void pump_writes(void)
{
    if (g_acat.done || writing || out == NULL)
        return;
    if (!data_sent && g_acat.o.data != NULL && !g_acat.o.listen) {
        data_sent = true;
        acat_verbose("-d: %zu bytes as the first datagram", g_acat.o.data_len);
        start_write(g_acat.o.data, g_acat.o.data_len);
        return;
    }
    data_sent = true;
    if (q_head == NULL) {
        if (stdin_done && g_acat.o.send_only) {
            acat_verbose("--send-only: stdin sent, done");
            acat_finish(ACAT_EXIT_OK);
        }
        return;
    }
    struct acat_chunk *c = q_head;
    size_t n = c->len - q_off;
    if (n > UDP_CHUNK)
        n = UDP_CHUNK;
    const char *p = c->data + q_off;
    q_off += n;
    bool last = q_off == c->len;
    if (last) {
        q_head = c->next;
        if (q_head == NULL)
            q_tail = NULL;
        q_off = 0;
    }
    /* the chunk is lent to the write: give it back to the reader once its last slice went */
    w_chunk = c;
    w_last = last;
    start_write(p, n);
}

static void on_stdin(struct acat_chunk *chunk, int err)
{
    if (g_acat.done) {
        if (chunk != NULL)
            acat_stdin_release(chunk);
        return;
    }
    if (chunk == NULL) {
        if (err != 0)
            acat_msg("stdin: %s (taken as its end)", asock_strerror(err));
        else if (g_acat.o.send_only)
            acat_verbose("stdin: end of input");
        else
            acat_verbose("stdin: end of input (UDP has no half-close: still printing what the "
                         "peer sends)");
        stdin_done = true;
    } else {
        chunk->next = NULL;
        if (q_tail != NULL)
            q_tail->next = chunk;
        else
            q_head = chunk;
        q_tail = chunk;
    }
    pump_writes();
}

/* ---- receiving ---- */

static void on_stream(asock_async *op, void *user)
{
    (void)user;
    stream_op = NULL;
    asock_output_stream *os = asock_async_result(op);
    asock_async_close(op);
    if (g_acat.done)
        return;
    if (stream_again) {
        request_stream(); /* the peer changed meanwhile */
        return;
    }
    out = os;
    pump_writes();
}

static void on_stream_err(asock_async *op, void *user)
{
    (void)user;
    stream_op = NULL;
    if (!g_acat.done)
        fail_async(op, "reply to %s", hp(peer_addr, peer_port));
    asock_async_close(op);
}

/* listen mode: sender becomes the peer stdin goes to */
static void set_peer(const char *addr, const char *port)
{
    snprintf(peer_addr, sizeof(peer_addr), "%s", addr);
    snprintf(peer_port, sizeof(peer_port), "%s", port);
    have_peer = true;
    acat_verbose("peer %s%s", hp(addr, port),
                 g_acat.o.keep ? " (stdin goes to the latest sender)" : "");
    out = NULL; /* nothing more for the previous peer */
    if (stream_op != NULL) {
        stream_again = true; /* one get_output_stream at a time: ask again when it is done */
        return;
    }
    request_stream();
}

static void request_stream(void)
{
    stream_again = false;
    stream_op = asock_datagram_get_output_stream_async(ds, peer_addr, peer_port);
    if (stream_op == NULL) {
        acat_fail(ASOCK_ERR_NO_BUFFER_SPACE_AVAILABLE, NULL, "reply to %s",
                  hp(peer_addr, peer_port));
        return;
    }
    asock_async_done(stream_op, on_stream, on_stream_err, NULL);
}

static void on_message(asock_datagram *sender, const asock_datagram_message *msg, void *user)
{
    (void)sender;
    (void)user;
    if (g_acat.done)
        return;
    if (msg->error != ASOCK_SUCCESS) {
        acat_fail(msg->error, NULL, "receive from %s", hp(peer_addr, peer_port));
        return;
    }
    if (g_acat.o.listen) {
        bool is_peer = have_peer && strcmp(msg->remote_address, peer_addr) == 0 &&
                       strcmp(msg->remote_port, peer_port) == 0;
        if (!have_peer || (!is_peer && g_acat.o.keep)) {
            set_peer(msg->remote_address, msg->remote_port);
        } else if (!is_peer) {
            acat_verbose("ignored %zu bytes from %s (not the peer; -k takes every sender)",
                         msg->length, hp(msg->remote_address, msg->remote_port));
            return;
        }
    }
    touch();
    if (!g_acat.o.send_only && msg->length > 0) {
        int rc = acat_stdout_write(msg->data, msg->length);
        if (rc < 0) {
            acat_msg("stdout: %s", asock_strerror(rc));
            acat_finish(ACAT_EXIT_NET);
        }
    }
}

/* ---- broadcast needs -b ---- */

static void probe_done(asock_socket *s, asock_args *e);

static void broadcast_check(void)
{
    asock_endpoint ep;
    if (g_acat.o.broadcast || asock_endpoint_ip(&ep, peer_addr, (uint16_t)atoi(peer_port)) < 0) {
        pump_writes();
        return;
    }
    asock_socket *s = NULL;
    if (asock_socket_open(g_acat.loop, asock_endpoint_family(&ep), SOCK_DGRAM, 0, &s) < 0) {
        pump_writes();
        return;
    }
    static asock_args e;
    asock_args_init(&e);
    e.remote_endpoint = ep;
    e.completed = probe_done;
    int rc = asock_connect_async(s, &e);
    if (rc == 0)
        probe_done(s, &e);
    else if (rc < 0) {
        asock_socket_close(s);
        pump_writes();
    }
}

static void probe_done(asock_socket *s, asock_args *e)
{
    asock_socket_close(s);
    if (g_acat.done)
        return;
    if (e->socket_error == ASOCK_ERR_ACCESS_DENIED) {
        acat_fail(ASOCK_ERR_ACCESS_DENIED, "a broadcast address needs -b", "connect to %s %s",
                  g_acat.o.host, g_acat.o.service);
        return;
    }
    pump_writes();
}

/* ---- connect / bind ---- */

static void on_ready(asock_async *op, void *user)
{
    (void)user;
    conn_op = NULL;
    asock_async_close(op);
    if (g_acat.done)
        return;
    ready = true;
    touch();
    asock_datagram_information info;
    asock_datagram_get_information(ds, &info);
    if (g_acat.o.listen) {
        acat_verbose("listening on %s (UDP)", hp(info.local_address, info.local_port));
        return;
    }
    snprintf(peer_addr, sizeof(peer_addr), "%s", info.remote_address);
    snprintf(peer_port, sizeof(peer_port), "%s", info.remote_port);
    acat_verbose("connected to %s from %s (only its datagrams are printed)",
                 hp(info.remote_address, info.remote_port),
                 hp(info.local_address, info.local_port));
    out = asock_datagram_output_stream(ds);
    broadcast_check();
}

static void on_not_ready(asock_async *op, void *user)
{
    (void)user;
    conn_op = NULL;
    if (!g_acat.done) {
        if (asock_async_get_status(op) == ASOCK_ASYNC_CANCELED ||
            (asock_async_error(op) == ASOCK_ERR_OPERATION_ABORTED && g_acat.o.wait_ms > 0)) {
            acat_fail(ASOCK_ERR_TIMED_OUT, NULL, "%s %s %s: nothing within -w",
                      g_acat.o.listen ? "bind" : "connect to",
                      g_acat.o.host ? g_acat.o.host : "(any)", g_acat.o.service);
        } else if (g_acat.o.listen) {
            fail_async(op, "listen on %s %s", g_acat.o.host ? g_acat.o.host : "(any)",
                       g_acat.o.service);
        } else {
            fail_async(op, "connect to %s %s", g_acat.o.host, g_acat.o.service);
        }
    }
    asock_async_close(op);
}

static void on_adapter_bound(asock_async *op, void *user)
{
    (void)user;
    asock_async_close(op);
    conn_op = NULL;
    if (g_acat.done)
        return;
    acat_verbose("bound to interface %s", g_acat.o.ifname);
    if (g_acat.o.listen) {
        on_ready(NULL, NULL);
        return;
    }
    asock_endpoint_pair pair = {g_acat.o.src_host, NULL, g_acat.o.host, g_acat.o.service};
    conn_op = asock_datagram_connect_async(ds, &pair);
    if (conn_op == NULL) {
        acat_fail(ASOCK_ERR_NO_BUFFER_SPACE_AVAILABLE, NULL, "connect");
        return;
    }
    asock_async_done(conn_op, on_ready, on_not_ready, NULL);
}

static void on_tick(void)
{
    if (g_acat.done || g_acat.o.wait_ms == 0)
        return;
    uint64_t now = asock_loop_now(g_acat.loop);
    if (!ready) {
        if (conn_op != NULL && !g_acat.o.listen && now - started_at >= g_acat.o.wait_ms)
            asock_async_cancel(conn_op); /* on_not_ready reports TimedOut */
        return;
    }
    if (g_acat.o.listen && !have_peer)
        return; /* waiting for a first datagram is not idleness */
    if (now - last_activity >= g_acat.o.wait_ms) {
        char ebuf[200];
        acat_msg("%s: no datagram for %.3g s (-w): %s", hp(peer_addr, peer_port),
                 (double)g_acat.o.wait_ms / 1000.0,
                 acat_error_text(ASOCK_ERR_TIMED_OUT, ebuf, sizeof(ebuf)));
        acat_finish(ACAT_EXIT_NET);
    }
}

void acat_udp_start(void)
{
    const struct acat_opts *o = &g_acat.o;
    int rc = asock_datagram_new(g_acat.loop, &ds);
    if (rc == 0)
        rc = asock_datagram_on_message_received(ds, on_message, NULL);
    if (rc == 0 && !o->recv_only)
        rc = acat_stdin_start(on_stdin);
    if (rc == 0 && o->wait_ms > 0)
        rc = acat_ticker_start(o->wait_ms / 10u < 10u    ? 10u
                               : o->wait_ms / 10u > 200u ? 200u
                                                         : o->wait_ms / 10u,
                               on_tick);
    if (rc < 0) {
        acat_fail(asock_socket_error_from_errno(rc), asock_strerror(rc), "datagram socket");
        return;
    }
    started_at = asock_loop_now(g_acat.loop);
    /* the layer has no family hint: -4 / -6 pick the local wildcard of that family, so the
     * socket opens in it and only addresses of that family are used */
    const char *fam_host = o->family == AF_INET ? "0.0.0.0" : o->family == AF_INET6 ? "::" : NULL;

    if (o->ifname != NULL) {
        const char *svc = o->listen ? o->service : o->src_service;
        acat_verbose("datagram layer: bind_service_name(%s, adapter %s)", svc ? svc : "(any)",
                     o->ifname);
        conn_op = asock_datagram_bind_service_name_async(ds, svc, o->ifname);
        if (conn_op != NULL)
            asock_async_done(conn_op, on_adapter_bound, on_not_ready, NULL);
    } else if (o->listen) {
        const char *host = o->host != NULL ? o->host : fam_host;
        acat_verbose("datagram layer: bind_endpoint(%s, %s)", host ? host : "(any)", o->service);
        conn_op = asock_datagram_bind_endpoint_async(ds, host, o->service);
        if (conn_op != NULL)
            asock_async_done(conn_op, on_ready, on_not_ready, NULL);
    } else {
        const char *lhost = o->src_host != NULL ? o->src_host : fam_host;
        const char *svc = o->service;
        if (svc[0] < '0' || svc[0] > '9')
            acat_verbose("service %s: a port number, else the services database (udp), else "
                         "DNS SRV _%s._udp.%s (the datagram layer resolves it)",
                         svc, svc, o->host);
        acat_verbose("datagram layer: connect(endpoint pair local %s:%s, remote %s:%s)",
                     lhost ? lhost : "(any)", o->src_service ? o->src_service : "(any)", o->host,
                     svc);
        asock_endpoint_pair pair = {lhost, o->src_service, o->host, svc};
        conn_op = asock_datagram_connect_async(ds, &pair);
        if (conn_op != NULL)
            asock_async_done(conn_op, on_ready, on_not_ready, NULL);
    }
    if (conn_op == NULL)
        acat_fail(ASOCK_ERR_NO_BUFFER_SPACE_AVAILABLE, NULL, "datagram socket");
}
