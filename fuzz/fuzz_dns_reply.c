/* The DNS reply path: whatever a DNS server answers, asock_resolve_async must complete exactly
 * once, with a result that keeps the header's promises, and leave nothing behind.
 *
 * Each input runs a fresh loop whose resolver asks an in-process DNS server on 127.0.0.1 (UDP,
 * and TCP on the same port for truncated answers).  That server, driven by the same loop through
 * asock sockets, answers the k-th query with reply template k % n from the input: c-ares parses
 * the reply (A, AAAA, CNAME, SRV, garbage, truncated), asock handles what c-ares returns (empty
 * lists, "." targets, thousands of SRV targets, each resolved in turn).  No packet leaves
 * 127.0.0.1: every name goes to this server, and an SRV target that is an IP literal is never
 * contacted (resolution does not connect).
 *
 * Input: byte 0 is the mode:
 *   bits 0-1  0: host "h.fuzz." AF_UNSPEC, 1: AF_INET, 2: AF_INET6, 3: service "fuzzsvc" (SRV)
 *   bit 2     SOCK_DGRAM hints (_udp for SRV)
 *   bit 3     repeat each template's records until the answer count is met (huge answers)
 *   bits 4-7  cancel the request after that many loop iterations (0: never)
 * then up to 8 templates, each a big-endian 16-bit length and that many bytes:
 *   empty          no answer at all (the resolver times out)
 *   1-7 bytes      sent as they are, ID patched (garbage)
 *   8+ bytes       flags (QR forced on, TC cleared over TCP), ancount, nscount, arcount, then
 *                  raw records appended after the query's own question (use name pointer 0xc00c
 *                  for the question's name).
 *
 * Checks: the callback runs exactly once, never inside the start call; count > 0 exactly on
 * SUCCESS; the error is one the header lists; every entry is an IP endpoint of the family asked
 * for, with the numeric service's port (host lookups), a target, and non-decreasing groups;
 * the process holds the same descriptors afterwards; the whole run is bounded in time. */
#define _GNU_SOURCE 1
#include "fuzz.h"

#include <asock/asock.h>

#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <stdbool.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define MAX_TEMPLATES 8
#define MAX_REPLIES   64
#define MAX_TCP       4
#define REPLY_MAX     65535
#define RESOLVE_MS    3000 /* hints.timeout_ms: the request's own bound */
#define WALL_MS       6000 /* the test's bound: a request that outlives it is a hang */
#define HOST_PORT     4242

struct tmpl {
    const uint8_t *p;
    size_t n;
};

struct tcp_conn {
    asock_socket *s;
    asock_args recv;
    asock_args send;
    uint8_t in[8192];
    size_t in_len;
    uint8_t *busy; /* owned by the pending send */
    uint8_t *queue;
    size_t queue_len;
    bool closed;
};

static struct {
    asock_loop *loop;
    uint8_t mode;
    struct tmpl t[MAX_TEMPLATES];
    size_t nt;
    size_t queries, replies;
    asock_socket *udp;
    asock_args urecv;
    uint8_t ubuf[4096];
    asock_socket *lst;
    asock_args acc;
    struct tcp_conn conns[MAX_TCP];
    size_t nconns;
    /* the request */
    asock_resolve *req;
    int calls, calls_inside, inside;
    bool cancelled;
    int family;
    bool srv;
} g;

static uint8_t g_reply[REPLY_MAX + 2];

static int fd_count(void)
{
    DIR *d = opendir("/proc/self/fd");
    if (d == NULL)
        return -1;
    int n = 0;
    struct dirent *ent;
    while ((ent = readdir(d)) != NULL) {
        if (ent->d_name[0] != '.')
            n++;
    }
    closedir(d);
    return n - 1;
}

static uint64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

/* ---- the server ---- */

/* Builds the reply to query q into out.  Returns its length, or 0 for no answer. */
static size_t build_reply(const uint8_t *q, size_t qn, bool tcp, uint8_t *out)
{
    if (qn < 12 || g.replies >= MAX_REPLIES)
        return 0;
    const struct tmpl *t = &g.t[g.queries++ % g.nt];
    if (t->n == 0)
        return 0; /* silent */
    g.replies++;
    if (t->n < 8) {
        memcpy(out, t->p, t->n);
        if (t->n >= 2)
            memcpy(out, q, 2); /* the query's ID */
        return t->n;
    }
    /* the question: labels from offset 12 up to the root, then type and class */
    size_t qe = 12;
    while (qe < qn && q[qe] != 0 && (q[qe] & 0xc0) == 0)
        qe += 1u + q[qe];
    if (qe >= qn || q[qe] != 0)
        return 0;
    qe += 1 + 4;
    if (qe > qn)
        return 0;
    uint16_t flags = (uint16_t)((t->p[0] << 8) | t->p[1]);
    flags |= 0x8000u; /* QR: a response */
    if (tcp)
        flags &= (uint16_t)~0x0200u; /* TC means nothing over TCP: send it all */
    memcpy(out, q, 2);
    out[2] = (uint8_t)(flags >> 8);
    out[3] = (uint8_t)flags;
    out[4] = 0;
    out[5] = 1;
    memcpy(out + 6, t->p + 2, 6);
    size_t len = 12;
    memcpy(out + len, q + 12, qe - 12);
    len += qe - 12;
    const uint8_t *rr = t->p + 8;
    size_t rrn = t->n - 8;
    unsigned reps = 1;
    if ((g.mode & 8) != 0 && rrn > 0) {
        unsigned an = (unsigned)((t->p[2] << 8) | t->p[3]);
        reps = an == 0 ? 1 : an;
    }
    for (unsigned i = 0; i < reps && len + rrn <= REPLY_MAX; i++) {
        memcpy(out + len, rr, rrn);
        len += rrn;
    }
    return len;
}

/* A query on UDP: answer it with a plain sendto on the socket's descriptor (loopback never
 * blocks a datagram; a full buffer just drops it, as a network would). */
static void udp_take(const asock_args *e)
{
    size_t n = build_reply(g.ubuf, e->bytes_transferred, false, g_reply);
    if (n == 0)
        return;
    socklen_t alen = 0;
    const struct sockaddr *sa = asock_endpoint_sockaddr(&e->remote_endpoint, &alen);
    if (sa != NULL)
        (void)sendto(asock_socket_fd(g.udp), g_reply, n, MSG_NOSIGNAL, sa, alen);
}

/* Keeps one receive pending, handling what completes synchronously (bounded). */
static void udp_arm(void)
{
    for (int spins = 0; spins < 1000 && g.udp != NULL; spins++) {
        asock_endpoint_ip(&g.urecv.remote_endpoint, "0.0.0.0", 0);
        asock_args_set_buffer(&g.urecv, g.ubuf, 0, sizeof(g.ubuf));
        int rc = asock_receive_from_async(g.udp, &g.urecv);
        if (rc != 0 || g.urecv.socket_error != ASOCK_SUCCESS)
            return; /* pending (1), refused, or failed */
        udp_take(&g.urecv);
    }
}

static void on_udp(asock_socket *s, asock_args *e)
{
    (void)s;
    if (e->socket_error != ASOCK_SUCCESS || g.udp == NULL)
        return; /* closed */
    udp_take(e);
    udp_arm();
}

static void tcp_close(struct tcp_conn *c)
{
    if (!c->closed) {
        c->closed = true;
        asock_socket_close(c->s);
    }
}

static void tcp_flush(struct tcp_conn *c);

static void on_tcp_sent(asock_socket *s, asock_args *e)
{
    (void)s;
    struct tcp_conn *c = e->user_token;
    free(c->busy);
    c->busy = NULL;
    if (e->socket_error != ASOCK_SUCCESS) {
        tcp_close(c);
        return;
    }
    tcp_flush(c);
}

static void tcp_flush(struct tcp_conn *c)
{
    while (!c->closed && c->busy == NULL && c->queue_len > 0) {
        c->busy = c->queue;
        size_t n = c->queue_len;
        c->queue = NULL;
        c->queue_len = 0;
        asock_args_set_buffer(&c->send, c->busy, 0, n);
        int rc = asock_send_async(c->s, &c->send);
        if (rc == 1)
            return;
        free(c->busy);
        c->busy = NULL;
        if (rc < 0 || c->send.socket_error != ASOCK_SUCCESS)
            tcp_close(c);
    }
}

static void tcp_queue(struct tcp_conn *c, const uint8_t *p, size_t n)
{
    uint8_t *q = realloc(c->queue, c->queue_len + n + 2);
    FUZZ_CHECK(q != NULL);
    q[c->queue_len] = (uint8_t)(n >> 8);
    q[c->queue_len + 1] = (uint8_t)n;
    memcpy(q + c->queue_len + 2, p, n);
    c->queue = q;
    c->queue_len += n + 2;
    tcp_flush(c);
}

/* Bytes from c-ares over TCP: answer every complete length-prefixed query.  false: the
 * connection is done. */
static bool tcp_take(struct tcp_conn *c, const asock_args *e)
{
    if (e->socket_error != ASOCK_SUCCESS || e->bytes_transferred == 0) {
        tcp_close(c);
        return false;
    }
    c->in_len += e->bytes_transferred;
    size_t off = 0;
    while (c->in_len - off >= 2) {
        size_t qn = (size_t)((c->in[off] << 8) | c->in[off + 1]);
        if (c->in_len - off - 2 < qn)
            break;
        size_t n = build_reply(c->in + off + 2, qn, true, g_reply);
        if (n > 0)
            tcp_queue(c, g_reply, n);
        off += 2 + qn;
    }
    memmove(c->in, c->in + off, c->in_len - off);
    c->in_len -= off;
    return !c->closed;
}

static void tcp_arm(struct tcp_conn *c)
{
    for (int spins = 0; spins < 1000 && !c->closed; spins++) {
        if (c->in_len >= sizeof(c->in)) {
            tcp_close(c); /* a query this large is not c-ares talking */
            return;
        }
        asock_args_set_buffer(&c->recv, c->in, c->in_len, sizeof(c->in) - c->in_len);
        int rc = asock_receive_async(c->s, &c->recv);
        if (rc != 0)
            return;
        if (!tcp_take(c, &c->recv))
            return;
    }
}

static void on_tcp_recv(asock_socket *s, asock_args *e)
{
    (void)s;
    struct tcp_conn *c = e->user_token;
    if (tcp_take(c, e))
        tcp_arm(c);
}

static void conn_add(asock_socket *s)
{
    if (g.nconns >= MAX_TCP) {
        asock_socket_close(s);
        return;
    }
    struct tcp_conn *c = &g.conns[g.nconns++];
    memset(c, 0, sizeof(*c));
    c->s = s;
    asock_args_init(&c->recv);
    c->recv.completed = on_tcp_recv;
    c->recv.user_token = c;
    asock_args_init(&c->send);
    c->send.completed = on_tcp_sent;
    c->send.user_token = c;
    tcp_arm(c);
}

static void accept_arm(void)
{
    for (int spins = 0; spins < MAX_TCP + 1 && g.lst != NULL; spins++) {
        g.acc.accept_socket = NULL;
        int rc = asock_accept_async(g.lst, &g.acc);
        if (rc != 0 || g.acc.socket_error != ASOCK_SUCCESS)
            return;
        conn_add(g.acc.accept_socket);
    }
}

static void on_accept(asock_socket *s, asock_args *e)
{
    (void)s;
    if (e->socket_error != ASOCK_SUCCESS || g.lst == NULL)
        return;
    conn_add(e->accept_socket);
    accept_arm();
}

/* A port on 127.0.0.1 free for both UDP and TCP right now (plain sockets, closed again). */
static uint16_t free_port(void)
{
    int u = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    FUZZ_CHECK(u >= 0);
    struct sockaddr_in sin;
    memset(&sin, 0, sizeof(sin));
    sin.sin_family = AF_INET;
    sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    FUZZ_CHECK(bind(u, (struct sockaddr *)&sin, sizeof(sin)) == 0);
    socklen_t len = sizeof(sin);
    FUZZ_CHECK(getsockname(u, (struct sockaddr *)&sin, &len) == 0);
    close(u);
    return ntohs(sin.sin_port);
}

/* The UDP socket and the TCP listener on 127.0.0.1:port.  false if the port was taken. */
static bool server_start(uint16_t port)
{
    asock_endpoint ep;
    asock_endpoint_ip(&ep, "127.0.0.1", port);
    FUZZ_CHECK(asock_socket_open(g.loop, AF_INET, SOCK_DGRAM, 0, &g.udp) == 0);
    FUZZ_CHECK(asock_socket_open(g.loop, AF_INET, SOCK_STREAM, 0, &g.lst) == 0);
    asock_socket_set_option(g.lst, ASOCK_OPT_REUSE_ADDRESS, 1);
    return asock_socket_bind(g.udp, &ep) == 0 && asock_socket_bind(g.lst, &ep) == 0 &&
           asock_socket_listen(g.lst, 16) == 0;
}

static void server_stop(void)
{
    asock_socket *u = g.udp, *l = g.lst;
    g.udp = g.lst = NULL;
    if (u != NULL)
        asock_socket_close(u);
    if (l != NULL)
        asock_socket_close(l);
    for (size_t i = 0; i < g.nconns; i++)
        tcp_close(&g.conns[i]);
}

/* ---- the request ---- */

static bool listed_error(asock_socket_error err)
{
    switch (err) {
    case ASOCK_SUCCESS:
    case ASOCK_ERR_HOST_NOT_FOUND:
    case ASOCK_ERR_NO_DATA:
    case ASOCK_ERR_TRY_AGAIN:
    case ASOCK_ERR_NO_RECOVERY:
    case ASOCK_ERR_TIMED_OUT:
    case ASOCK_ERR_NO_BUFFER_SPACE_AVAILABLE:
        return true;
    case ASOCK_ERR_OPERATION_ABORTED:
        return g.cancelled;
    default:
        return false;
    }
}

static void on_resolved(asock_resolve *req, const asock_resolve_result *res, void *user)
{
    (void)user;
    FUZZ_CHECK(req == g.req);
    g.calls++;
    if (g.inside)
        g.calls_inside++;
    FUZZ_CHECK(res->detail != NULL);
    if (!listed_error(res->error)) {
        fprintf(stderr, "resolve: error %d (%s), resolver code %d, detail \"%s\"\n",
                (int)res->error, asock_socket_error_name(res->error), res->resolver_code,
                res->detail);
        abort();
    }
    if (getenv("ASOCK_FUZZ_VERBOSE") != NULL)
        fprintf(stderr, "  -> %s (c-ares %d), %zu entries, %zu queries, %zu replies, \"%s\"\n",
                asock_socket_error_name(res->error), res->resolver_code, res->count, g.queries,
                g.replies, res->detail);
    FUZZ_CHECK((res->count > 0) == (res->error == ASOCK_SUCCESS));
    FUZZ_CHECK(res->count == 0 || res->entries != NULL);
    unsigned last_group = 0;
    for (size_t i = 0; i < res->count; i++) {
        const asock_resolve_entry *en = &res->entries[i];
        FUZZ_CHECK(en->endpoint.kind == ASOCK_ENDPOINT_IP);
        int fam = asock_endpoint_family(&en->endpoint);
        FUZZ_CHECK(fam == AF_INET || fam == AF_INET6);
        if (g.family != AF_UNSPEC)
            FUZZ_CHECK(fam == g.family);
        FUZZ_CHECK(en->target != NULL);
        (void)strlen(en->target); /* readable */
        /* group: the SRV target's index in RFC 2782 order (targets without addresses leave
         * gaps); entries of one group are one target's */
        FUZZ_CHECK(en->group >= last_group);
        if (i > 0 && en->group == last_group)
            FUZZ_CHECK(strcmp(en->target, res->entries[i - 1].target) == 0);
        last_group = en->group;
        if (!g.srv) {
            FUZZ_CHECK(asock_endpoint_port(&en->endpoint) == HOST_PORT);
            FUZZ_CHECK(en->group == 0);
            FUZZ_CHECK(strcmp(en->target, "h.fuzz.") == 0);
        }
        char buf[128];
        FUZZ_CHECK(asock_endpoint_format(&en->endpoint, buf, sizeof(buf)) > 0);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    memset(&g, 0, sizeof(g));
    fuzz_in in = {data, size};
    g.mode = fuzz_u8(&in);
    while (in.n > 0 && g.nt < MAX_TEMPLATES) {
        size_t n = fuzz_u16(&in);
        if (n > in.n)
            n = in.n;
        g.t[g.nt].p = in.p;
        g.t[g.nt].n = n;
        g.nt++;
        in.p += n;
        in.n -= n;
    }
    if (g.nt == 0) {
        g.t[0].p = NULL;
        g.t[0].n = 0;
        g.nt = 1;
    }

    int fds = fd_count();
    char servers[64];
    asock_loop_options lo;
    memset(&lo, 0, sizeof(lo));
    lo.dns_timeout_ms = 25; /* silence and garbage cost one timeout: keep it short */
    lo.dns_tries = 1;
    lo.dns_servers = servers;
    bool up = false;
    for (int attempt = 0; attempt < 10 && !up; attempt++) {
        uint16_t port = free_port();
        snprintf(servers, sizeof(servers), "127.0.0.1:%u", (unsigned)port);
        FUZZ_CHECK(asock_loop_new(&g.loop, &lo) == 0);
        up = server_start(port);
        if (!up) {
            server_stop();
            asock_loop_free(g.loop);
        }
    }
    FUZZ_CHECK(up);
    asock_args_init(&g.urecv);
    g.urecv.completed = on_udp;
    asock_args_init(&g.acc);
    g.acc.completed = on_accept;
    udp_arm();
    accept_arm();

    static const int fams[] = {AF_UNSPEC, AF_INET, AF_INET6, AF_UNSPEC};
    asock_resolve_hints h;
    memset(&h, 0, sizeof(h));
    h.family = fams[g.mode & 3];
    h.socktype = (g.mode & 4) != 0 ? SOCK_DGRAM : SOCK_STREAM;
    h.timeout_ms = RESOLVE_MS;
    g.family = h.family;
    g.srv = (g.mode & 3) == 3;
    g.inside = 1;
    int rc = asock_resolve_async(g.loop, "h.fuzz.", g.srv ? "fuzzsvc" : "4242", &h, on_resolved,
                                 NULL, &g.req);
    g.inside = 0;
    FUZZ_CHECK(rc == 0);
    FUZZ_CHECK(g.calls == 0);

    unsigned cancel_at = g.mode >> 4;
    uint64_t t0 = now_ms();
    unsigned iter = 0;
    while (g.calls == 0) {
        if (now_ms() - t0 > WALL_MS) {
            fprintf(stderr, "resolve: no callback after %d ms\n", WALL_MS);
            abort();
        }
        if (cancel_at != 0 && ++iter == cancel_at) {
            g.cancelled = true;
            asock_resolve_cancel(g.req);
        }
        FUZZ_CHECK(asock_loop_run(g.loop, ASOCK_RUN_ONCE) >= 0);
    }
    FUZZ_CHECK(g.calls == 1);
    FUZZ_CHECK(g.calls_inside == 0);

    server_stop();
    asock_loop_free(g.loop);
    FUZZ_CHECK(g.calls == 1);
    for (size_t i = 0; i < g.nconns; i++) {
        free(g.conns[i].busy);
        free(g.conns[i].queue);
    }
    int after = fd_count();
    if (after != fds) {
        fprintf(stderr, "descriptors: %d before, %d after\n", fds, after);
        abort();
    }
    return 0;
}
