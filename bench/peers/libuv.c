/* libuv (Debian's libuv1, 1.44): a benchmark-only dependency, linked into asock-bench alone.
 *
 * Written the way a performance-aware libuv user would: uv_try_write / uv_udp_try_send first
 * (uv_write / uv_udp_send only when the kernel would block), one shared read buffer handed out by
 * alloc_cb, UV_UDP_RECVMMSG on the flooded receiver, uv_tcp_close_reset for the pound clients
 * (the same abortive close as every other implementation). */
#include "../bench.h"

#include <uv.h>

#include <errno.h>
#include <stdlib.h>
#include <string.h>

static char msg[BENCH_PUMP_BUF];
static char slab[BENCH_PUMP_BUF];
#define MMSG_SLAB (20 * 65536) /* libuv's recvmmsg path: up to 20 datagrams of 64 KiB */
static char *mmsg_slab;

#define H_STATIC NULL
#define H_MALLOC ((void *)1)

struct uctx {
    struct bench_run *r;
    uv_loop_t loop;
    uv_timer_t timer;
    int stop;
    int counts_server;
    struct sockaddr_in target;
};

enum role {
    R_CLIENT,
    R_SERVER,
    R_UCLIENT,
    R_USERVER
};

struct uconn {
    union {
        uv_tcp_t tcp;
        uv_udp_t udp;
        uv_handle_t h;
    } h;
    struct uctx *x;
    uint32_t got;
    uint8_t role;
    uv_connect_t creq;
};

static void stop(struct uctx *x)
{
    if (!x->stop) {
        x->stop = 1;
        uv_stop(&x->loop);
    }
}

static void count(struct uctx *x, uint64_t n)
{
    if (bench_op(x->r, n))
        stop(x);
}

static void on_timer(uv_timer_t *t)
{
    struct uctx *x = t->data;
    if (bench_tick(x->r))
        stop(x);
}

static int ctx_init(struct bench_run *r, struct uctx *x)
{
    memset(x, 0, sizeof(*x));
    x->r = r;
    int rc = uv_loop_init(&x->loop);
    if (rc < 0) {
        bench_fail(r, "uv_loop_init: %s", uv_strerror(rc));
        return rc;
    }
    uv_timer_init(&x->loop, &x->timer);
    x->timer.data = x;
    return 0;
}

static void run(struct uctx *x)
{
    /* the clock is checked by a 20 ms timer too, so a stalled loop still ends on time (not in
     * counted mode: its callbacks would land in the instruction count) */
    if (!x->r->count_mode)
        uv_timer_start(&x->timer, on_timer, 20, 20);
    while (!x->stop && !bench_done(x->r))
        if (uv_run(&x->loop, UV_RUN_DEFAULT) == 0 && !x->stop) {
            bench_fail(x->r, "the loop ran out of work");
            break;
        }
}

static void on_closed(uv_handle_t *h)
{
    if (h->data == H_MALLOC)
        free(h);
}

static void close_walk(uv_handle_t *h, void *arg)
{
    (void)arg;
    if (!uv_is_closing(h))
        uv_close(h, on_closed);
}

static void ctx_free(struct uctx *x)
{
    x->stop = 1;
    uv_walk(&x->loop, close_walk, NULL);
    uv_run(&x->loop, UV_RUN_DEFAULT);
    if (uv_loop_close(&x->loop) != 0)
        bench_fail(x->r, "uv_loop_close: handles left");
}

static void alloc_slab(uv_handle_t *h, size_t suggested, uv_buf_t *buf)
{
    (void)h;
    (void)suggested;
    *buf = uv_buf_init(slab, sizeof(slab));
}

/* ---- TCP ping-pong ---- */

static void on_write(uv_write_t *req, int status)
{
    (void)status;
    free(req);
}

static void tcp_send(struct uconn *c, size_t n)
{
    uv_buf_t b = uv_buf_init(msg, (unsigned)n);
    int rc = uv_try_write((uv_stream_t *)&c->h.tcp, &b, 1);
    if (rc == (int)n)
        return;
    if (rc == UV_EAGAIN)
        rc = 0;
    if (rc < 0)
        return;
    uv_write_t *req = malloc(sizeof(*req));
    b = uv_buf_init(msg + rc, (unsigned)(n - (size_t)rc));
    if (req != NULL && uv_write(req, (uv_stream_t *)&c->h.tcp, &b, 1, on_write) < 0)
        free(req);
}

static void on_read(uv_stream_t *s, ssize_t nread, const uv_buf_t *buf)
{
    (void)buf;
    struct uconn *c = s->data;
    struct uctx *x = c->x;
    if (x->stop)
        return;
    if (nread < 0) {
        uv_read_stop(s); /* the peer left */
        return;
    }
    if (c->role == R_SERVER) {
        tcp_send(c, (size_t)nread);
        if (x->counts_server) {
            c->got += (uint32_t)nread;
            while (c->got >= BENCH_MSG) {
                c->got -= BENCH_MSG;
                count(x, 1);
            }
        }
        return;
    }
    c->got += (uint32_t)nread;
    if (c->got < BENCH_MSG)
        return;
    c->got -= BENCH_MSG;
    count(x, 1);
    if (!x->stop)
        tcp_send(c, BENCH_MSG);
}

struct tcp_state {
    struct uctx *x;
    uv_tcp_t l;
    struct uconn **conns;
    int n, cap;
};

static void on_connection(uv_stream_t *l, int status)
{
    struct tcp_state *t = l->data;
    if (status < 0 || t->n >= t->cap)
        return;
    struct uconn *c = calloc(1, sizeof(*c));
    if (c == NULL)
        return;
    c->x = t->x;
    c->role = R_SERVER;
    uv_tcp_init(&t->x->loop, &c->h.tcp);
    c->h.tcp.data = c;
    t->conns[t->n++] = c;
    if (uv_accept(l, (uv_stream_t *)&c->h.tcp) == 0) {
        uv_tcp_nodelay(&c->h.tcp, 1);
        uv_read_start((uv_stream_t *)&c->h.tcp, alloc_slab, on_read);
    }
}

static void on_connect(uv_connect_t *req, int status)
{
    struct uconn *c = req->data;
    if (c->x->stop)
        return;
    if (status < 0) {
        bench_fail(c->x->r, "connect: %s", uv_strerror(status));
        stop(c->x);
        return;
    }
    uv_tcp_nodelay(&c->h.tcp, 1);
    uv_read_start((uv_stream_t *)&c->h.tcp, alloc_slab, on_read);
    tcp_send(c, BENCH_MSG);
}

static int tcp_listen(struct uctx *x, uv_tcp_t *l, uint16_t port, int reuseport)
{
    int rc = uv_tcp_init_ex(&x->loop, l, AF_INET);
    if (rc < 0)
        return rc;
    if (reuseport) {
        /* libuv 1.44 has no UV_TCP_REUSEPORT (1.49): set it on the descriptor */
        uv_os_fd_t fd;
        int one = 1;
        uv_fileno((uv_handle_t *)l, &fd);
        setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof(one));
    }
    struct sockaddr_in sa;
    bench_loopback(&sa, port);
    rc = uv_tcp_bind(l, (const struct sockaddr *)&sa, 0);
    if (rc == 0)
        rc = uv_listen((uv_stream_t *)l, SOMAXCONN, on_connection);
    if (rc == 0) {
        int len = sizeof(x->target);
        rc = uv_tcp_getsockname(l, (struct sockaddr *)&x->target, &len);
    }
    return rc;
}

static int tcp_ping_pong(struct bench_run *r)
{
    struct uctx x;
    struct tcp_state t = {.x = &x};
    if (ctx_init(r, &x) < 0)
        return 0;
    x.counts_server = r->two_process;
    t.cap = 4 * r->flows + 8;
    t.conns = calloc((size_t)t.cap, sizeof(*t.conns));
    t.l.data = &t;
    int rc = tcp_listen(&x, &t.l, r->reuseport, r->reuseport != 0);
    t.l.data = &t;
    if (rc < 0 || t.conns == NULL) {
        bench_fail(r, "listen: %s", uv_strerror(rc));
        goto out;
    }
    if (r->two_process && bench_aux_tcp_driver(r, ntohs(x.target.sin_port)) < 0) {
        bench_fail(r, "driver: %s", strerror(errno));
        goto out;
    }
    bench_start(r);
    for (int i = 0; i < r->flows && !r->two_process; i++) {
        struct uconn *c = calloc(1, sizeof(*c));
        if (c == NULL)
            break;
        c->x = &x;
        c->role = R_CLIENT;
        uv_tcp_init(&x.loop, &c->h.tcp);
        c->h.tcp.data = c;
        c->creq.data = c;
        t.conns[t.n++] = c;
        rc = uv_tcp_connect(&c->creq, &c->h.tcp, (const struct sockaddr *)&x.target, on_connect);
        if (rc < 0) {
            bench_fail(r, "connect: %s", uv_strerror(rc));
            goto out;
        }
    }
    run(&x);
out:
    ctx_free(&x);
    for (int i = 0; i < t.n; i++)
        free(t.conns[i]);
    free(t.conns);
    return 0;
}

/* ---- UDP ---- */

static void on_udp_sent(uv_udp_send_t *req, int status)
{
    (void)status;
    free(req);
}

static int udp_send_to(struct uconn *c, size_t n, const struct sockaddr *to)
{
    uv_buf_t b = uv_buf_init(msg, (unsigned)n);
    int rc = uv_udp_try_send(&c->h.udp, &b, 1, to);
    if (rc != UV_EAGAIN)
        return rc;
    uv_udp_send_t *req = malloc(sizeof(*req));
    if (req == NULL)
        return UV_ENOMEM;
    rc = uv_udp_send(req, &c->h.udp, &b, 1, to, on_udp_sent);
    if (rc < 0)
        free(req);
    return rc;
}

static void on_udp_recv(uv_udp_t *h, ssize_t nread, const uv_buf_t *buf,
                        const struct sockaddr *addr, unsigned flags)
{
    (void)buf;
    (void)flags;
    struct uconn *c = h->data;
    struct uctx *x = c->x;
    if (x->stop || nread < 0 || (nread == 0 && addr == NULL))
        return;
    if (c->role == R_USERVER) {
        udp_send_to(c, (size_t)nread, addr);
        if (x->counts_server)
            count(x, 1);
        return;
    }
    count(x, 1);
    if (!x->stop)
        udp_send_to(c, BENCH_MSG, NULL);
}

static int udp_open(struct uctx *x, struct uconn *c, unsigned flags)
{
    c->x = x;
    int rc = uv_udp_init_ex(&x->loop, &c->h.udp, AF_INET | flags);
    c->h.udp.data = c;
    if (rc < 0)
        return rc;
    struct sockaddr_in sa;
    bench_loopback(&sa, 0);
    return uv_udp_bind(&c->h.udp, (const struct sockaddr *)&sa, 0);
}

static uint16_t udp_port(struct uconn *c)
{
    struct sockaddr_in sa;
    int len = sizeof(sa);
    uv_udp_getsockname(&c->h.udp, (struct sockaddr *)&sa, &len);
    return ntohs(sa.sin_port);
}

static int udp_ping_pong(struct bench_run *r)
{
    struct uctx x;
    if (ctx_init(r, &x) < 0)
        return 0;
    x.counts_server = r->two_process;
    int nf = r->flows, n = 0;
    struct uconn *conns = calloc((size_t)(2 * nf), sizeof(*conns));
    uint16_t *ports = calloc((size_t)nf, sizeof(uint16_t));
    if (conns == NULL || ports == NULL)
        goto out;
    for (int i = 0; i < nf; i++) {
        struct uconn *c = &conns[n++];
        c->role = R_USERVER;
        int rc = udp_open(&x, c, 0);
        if (rc < 0) {
            bench_fail(r, "udp: %s", uv_strerror(rc));
            goto out;
        }
        ports[i] = udp_port(c);
    }
    if (r->two_process) {
        if (bench_aux_udp_driver(r, ports, nf) < 0) {
            bench_fail(r, "driver: %s", strerror(errno));
            goto out;
        }
    } else {
        for (int i = 0; i < nf; i++) {
            struct uconn *c = &conns[n++];
            c->role = R_UCLIENT;
            struct sockaddr_in sa;
            bench_loopback(&sa, ports[i]);
            int rc = udp_open(&x, c, 0);
            if (rc == 0)
                rc = uv_udp_connect(&c->h.udp, (const struct sockaddr *)&sa);
            if (rc < 0) {
                bench_fail(r, "udp client: %s", uv_strerror(rc));
                goto out;
            }
        }
    }
    bench_start(r);
    for (int i = 0; i < n; i++)
        uv_udp_recv_start(&conns[i].h.udp, alloc_slab, on_udp_recv);
    for (int i = nf; i < n; i++)
        udp_send_to(&conns[i], BENCH_MSG, NULL);
    run(&x);
out:
    ctx_free(&x);
    free(conns);
    free(ports);
    return 0;
}

static void alloc_mmsg(uv_handle_t *h, size_t suggested, uv_buf_t *buf)
{
    (void)h;
    (void)suggested;
    *buf = uv_buf_init(mmsg_slab, MMSG_SLAB);
}

static void on_pump_recv(uv_udp_t *h, ssize_t nread, const uv_buf_t *buf,
                         const struct sockaddr *addr, unsigned flags)
{
    (void)buf;
    (void)flags;
    struct uconn *c = h->data;
    if (c->x->stop || nread < 0 || (nread == 0 && addr == NULL))
        return;
    count(c->x, 1);
}

static int udp_pump(struct bench_run *r)
{
    struct uctx x;
    if (ctx_init(r, &x) < 0)
        return 0;
    struct uconn c = {.role = R_USERVER};
    if (mmsg_slab == NULL)
        mmsg_slab = malloc(MMSG_SLAB);
    int rc = udp_open(&x, &c, UV_UDP_RECVMMSG);
    if (rc < 0 || mmsg_slab == NULL || bench_aux_blaster(r, udp_port(&c)) < 0) {
        bench_fail(r, "setup: %s", uv_strerror(rc));
        goto out;
    }
    bench_start(r);
    uv_udp_recv_start(&c.h.udp, alloc_mmsg, on_pump_recv);
    run(&x);
out:
    ctx_free(&x);
    return 0;
}

static int udp_send(struct bench_run *r)
{
    struct uctx x;
    if (ctx_init(r, &x) < 0)
        return 0;
    struct uconn c = {.role = R_USERVER};
    int rc = udp_open(&x, &c, 0);
    if (rc < 0) {
        bench_fail(r, "setup: %s", uv_strerror(rc));
        goto out;
    }
    bench_start(r);
    while (!x.stop && !bench_done(r)) {
        for (int i = 0; i < BENCH_BATCH && !x.stop; i++) {
            uv_buf_t b = uv_buf_init(msg, BENCH_MSG);
            if (uv_udp_try_send(&c.h.udp, &b, 1, (const struct sockaddr *)&r->sink) == BENCH_MSG)
                count(&x, 1);
        }
        uv_run(&x.loop, UV_RUN_NOWAIT);
    }
out:
    ctx_free(&x);
    return 0;
}

/* ---- tcp_pump: one uv_write of 64 KiB in flight; reads into the shared 64 KiB slab ---- */

struct pump {
    struct uctx *x;
    uv_tcp_t l, cs, ss;
    uv_connect_t creq;
    uv_write_t wreq;
    int accepted, connected;
};

static void pump_write(struct pump *p);

static void on_pump_write(uv_write_t *req, int status)
{
    struct pump *p = req->data;
    if (p->x->stop)
        return;
    if (status < 0) {
        bench_fail(p->x->r, "write: %s", uv_strerror(status));
        stop(p->x);
        return;
    }
    pump_write(p);
}

static void pump_write(struct pump *p)
{
    uv_buf_t b = uv_buf_init(msg, BENCH_PUMP_BUF);
    p->wreq.data = p;
    uv_write(&p->wreq, (uv_stream_t *)&p->cs, &b, 1, on_pump_write);
}

static void on_pump_read(uv_stream_t *s, ssize_t nread, const uv_buf_t *buf)
{
    (void)buf;
    struct pump *p = s->data;
    if (p->x->stop)
        return;
    if (nread < 0) {
        bench_fail(p->x->r, "read: %s", uv_strerror((int)nread));
        stop(p->x);
        return;
    }
    count(p->x, (uint64_t)nread);
}

static void on_pump_connection(uv_stream_t *l, int status)
{
    struct pump *p = l->data;
    if (status < 0 || p->accepted)
        return;
    uv_tcp_init(&p->x->loop, &p->ss);
    p->ss.data = p;
    p->accepted = uv_accept(l, (uv_stream_t *)&p->ss) == 0;
}

static void on_pump_connect(uv_connect_t *req, int status)
{
    struct pump *p = req->data;
    p->connected = status == 0 ? 1 : -1;
}

static int tcp_pump(struct bench_run *r)
{
    struct uctx x;
    struct pump p = {.x = &x};
    if (ctx_init(r, &x) < 0)
        return 0;
    int rc = uv_tcp_init_ex(&x.loop, &p.l, AF_INET);
    struct sockaddr_in sa;
    bench_loopback(&sa, 0);
    p.l.data = &p;
    if (rc == 0)
        rc = uv_tcp_bind(&p.l, (const struct sockaddr *)&sa, 0);
    if (rc == 0)
        rc = uv_listen((uv_stream_t *)&p.l, SOMAXCONN, on_pump_connection);
    int len = sizeof(x.target);
    if (rc == 0)
        rc = uv_tcp_getsockname(&p.l, (struct sockaddr *)&x.target, &len);
    if (rc == 0)
        rc = uv_tcp_init(&x.loop, &p.cs);
    p.creq.data = &p;
    if (rc == 0)
        rc = uv_tcp_connect(&p.creq, &p.cs, (const struct sockaddr *)&x.target, on_pump_connect);
    while (rc == 0 && (!p.accepted || p.connected == 0))
        uv_run(&x.loop, UV_RUN_ONCE);
    if (rc < 0 || p.connected < 0) {
        bench_fail(r, "setup: %s", uv_strerror(rc));
        goto out;
    }
    bench_start(r);
    uv_read_start((uv_stream_t *)&p.ss, alloc_slab, on_pump_read);
    pump_write(&p);
    run(&x);
out:
    ctx_free(&x);
    return 0;
}

/* ---- pound ---- */

struct slot {
    struct uctx *x;
    uv_tcp_t h;
    uv_connect_t req;
};

static void slot_start(struct slot *s);

static void on_slot_closed(uv_handle_t *h)
{
    struct slot *s = h->data;
    if (!s->x->stop)
        slot_start(s);
}

static void on_pound_connect(uv_connect_t *req, int status)
{
    struct slot *s = req->data;
    if (s->x->stop)
        return;
    if (status < 0) {
        bench_fail(s->x->r, "connect: %s", uv_strerror(status));
        stop(s->x);
        return;
    }
    count(s->x, 1);
    uv_tcp_close_reset(&s->h, on_slot_closed);
}

static void slot_start(struct slot *s)
{
    uv_tcp_init(&s->x->loop, &s->h);
    s->h.data = s;
    s->req.data = s;
    int rc =
        uv_tcp_connect(&s->req, &s->h, (const struct sockaddr *)&s->x->target, on_pound_connect);
    if (rc < 0) {
        bench_fail(s->x->r, "connect: %s", uv_strerror(rc));
        stop(s->x);
    }
}

static void on_pound_connection(uv_stream_t *l, int status)
{
    struct uctx *x = l->data;
    if (status < 0)
        return;
    uv_tcp_t *h = malloc(sizeof(*h));
    if (h == NULL)
        return;
    uv_tcp_init(&x->loop, h);
    h->data = H_MALLOC;
    uv_accept(l, (uv_stream_t *)h);
    uv_close((uv_handle_t *)h, on_closed);
}

static void on_slot_final(uv_handle_t *h)
{
    (void)h;
}

static int pound(struct bench_run *r)
{
    struct uctx x;
    if (ctx_init(r, &x) < 0)
        return 0;
    uv_tcp_t l;
    struct slot *slots = calloc((size_t)r->flows, sizeof(*slots));
    int rc = uv_tcp_init(&x.loop, &l);
    l.data = &x;
    struct sockaddr_in sa;
    bench_loopback(&sa, 0);
    if (rc == 0)
        rc = uv_tcp_bind(&l, (const struct sockaddr *)&sa, 0);
    if (rc == 0)
        rc = uv_listen((uv_stream_t *)&l, SOMAXCONN, on_pound_connection);
    int len = sizeof(x.target);
    if (rc == 0)
        rc = uv_tcp_getsockname(&l, (struct sockaddr *)&x.target, &len);
    if (rc < 0 || slots == NULL) {
        bench_fail(r, "listen: %s", uv_strerror(rc));
        goto out;
    }
    bench_start(r);
    for (int i = 0; i < r->flows; i++) {
        slots[i].x = &x;
        slot_start(&slots[i]);
    }
    run(&x);
out:
    x.stop = 1;
    /* slot handles are not malloc'ed: close them with a callback that frees nothing */
    for (int i = 0; slots != NULL && i < r->flows; i++)
        if (slots[i].x != NULL && !uv_is_closing((uv_handle_t *)&slots[i].h))
            uv_close((uv_handle_t *)&slots[i].h, on_slot_final);
    ctx_free(&x);
    free(slots);
    return 0;
}

/* ---- idle_memory: a uv_tcp_t per connection, reading (alloc_cb runs only when data comes) ---- */

struct idle_state {
    struct uctx *x;
    uv_tcp_t *h; /* allocated after the baseline */
    int n, cap;
};

static void on_idle_read(uv_stream_t *s, ssize_t nread, const uv_buf_t *buf)
{
    (void)s;
    (void)nread;
    (void)buf;
}

static void on_idle_connection(uv_stream_t *l, int status)
{
    struct idle_state *st = l->data;
    if (status < 0 || st->n >= st->cap)
        return;
    uv_tcp_t *h = &st->h[st->n++];
    uv_tcp_init(&st->x->loop, h);
    h->data = H_STATIC;
    if (uv_accept(l, (uv_stream_t *)h) == 0)
        uv_read_start((uv_stream_t *)h, alloc_slab, on_idle_read);
}

static int idle_memory(struct bench_run *r)
{
    struct uctx x;
    struct idle_state st = {.x = &x, .cap = r->flows};
    struct bench_clients cl = {0};
    if (ctx_init(r, &x) < 0)
        return 0;
    uv_tcp_t l;
    int rc = uv_tcp_init(&x.loop, &l);
    l.data = &st;
    struct sockaddr_in sa;
    bench_loopback(&sa, 0);
    if (rc == 0)
        rc = uv_tcp_bind(&l, (const struct sockaddr *)&sa, 0);
    if (rc == 0)
        rc = uv_listen((uv_stream_t *)&l, SOMAXCONN, on_idle_connection);
    int len = sizeof(x.target);
    if (rc == 0)
        rc = uv_tcp_getsockname(&l, (struct sockaddr *)&x.target, &len);
    if (rc < 0 || bench_clients_alloc(&cl, r->flows) < 0) {
        bench_fail(r, "setup: %s", uv_strerror(rc));
        goto out;
    }
    uv_run(&x.loop, UV_RUN_NOWAIT);
    struct bench_mem m0, m1;
    bench_mem_snap(&m0);
    st.h = malloc((size_t)r->flows * sizeof(uv_tcp_t));
    while (st.n < r->flows && !bench_done(r)) {
        int k = r->flows - cl.n < 1000 ? r->flows - cl.n : 1000;
        if (k > 0 && (rc = bench_clients_connect(&cl, ntohs(x.target.sin_port), k)) < 0) {
            bench_fail(r, "client connect: %s", strerror(-rc));
            break;
        }
        while (st.n < cl.n && !bench_done(r))
            uv_run(&x.loop, UV_RUN_ONCE);
    }
    uv_run(&x.loop, UV_RUN_NOWAIT);
    bench_mem_snap(&m1);
    if (!bench_done(r))
        bench_mem_result(r, &m0, &m1, r->flows);
out:
    ctx_free(&x);
    free(st.h);
    bench_clients_free(&cl);
    return 0;
}

static void prime(void)
{
    uv_loop_t loop;
    if (uv_loop_init(&loop) == 0)
        uv_loop_close(&loop);
}

const struct bench_impl bench_impl_libuv = {
    .prime = prime,
    .name = "libuv",
    .what = "libuv 1.44 (Debian libuv1), try_write/try_send first, UV_UDP_RECVMMSG",
    .fn = {[WL_POUND] = pound,
           [WL_TCP_PING_PONG] = tcp_ping_pong,
           [WL_UDP_PING_PONG] = udp_ping_pong,
           [WL_UDP_PUMP] = udp_pump,
           [WL_UDP_SEND] = udp_send,
           [WL_TCP_PUMP] = tcp_pump,
           [WL_TCP_ECHO_MT] = tcp_ping_pong,
           [WL_IDLE_MEMORY] = idle_memory},
};
