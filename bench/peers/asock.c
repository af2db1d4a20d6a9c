/* asock: every workload on the public API only (<asock/asock.h>), the engine forced through
 * asock_loop_options.engine.  Two implementations share this code: asock_uring and asock_epoll.
 *
 * The pattern is the library's own: start an operation; 0 means it completed synchronously (read
 * the results now and start the next), 1 means the callback will run from the loop.  A callback
 * loops the same way, so a run of synchronous completions never recurses. */
#include "../bench.h"

#include <asock/asock.h>

#include <errno.h>
#include <stdlib.h>
#include <string.h>

static char msg[BENCH_PUMP_BUF]; /* what every send sends (asock wants a non-const buffer) */

struct actx {
    struct bench_run *r;
    asock_loop *loop;
    int stop;
    int counts_server;
    asock_endpoint target;
    uint64_t accepted;
};

enum role {
    R_CLIENT,
    R_SERVER,
    R_UCLIENT,
    R_USERVER
};

struct aconn {
    struct actx *x;
    asock_socket *s;
    asock_args rx, tx;
    uint32_t got;
    uint32_t owed; /* bytes to send once tx is free again */
    uint8_t role;
    uint8_t dead;
    char buf[2048];
};

static int new_loop(struct bench_run *r, struct actx *x)
{
    memset(x, 0, sizeof(*x));
    x->r = r;
    asock_loop_options o;
    memset(&o, 0, sizeof(o));
    o.engine = (asock_engine)r->impl->variant;
    int rc = asock_loop_new(&x->loop, &o);
    if (rc < 0)
        bench_fail(r, "asock_loop_new: %s", asock_strerror(rc));
    return rc;
}

static void stop(struct actx *x)
{
    if (!x->stop) {
        x->stop = 1;
        asock_loop_stop(x->loop);
    }
}

static void count(struct actx *x, uint64_t n)
{
    if (bench_op(x->r, n))
        stop(x);
}

/* the stall breaker: the watchdog thread posts a clock check to the loop */
static void tick_cb(void *arg)
{
    struct actx *x = arg;
    if (bench_tick(x->r))
        stop(x);
}

static void poke(struct bench_run *r)
{
    struct actx *x = r->poke_arg;
    asock_loop_post(x->loop, tick_cb, x);
}

/* Runs the loop until the run is over (or nothing is left to do). */
static void run(struct actx *x)
{
    x->r->poke_arg = x;
    x->r->poke = poke;
    while (!x->stop && !bench_done(x->r)) {
        int rc = asock_loop_run(x->loop, ASOCK_RUN_DEFAULT);
        if (rc < 0) {
            bench_fail(x->r, "asock_loop_run: %s", asock_strerror(rc));
            break;
        }
        if (rc == 0 && !x->stop) {
            bench_fail(x->r, "the loop ran out of work");
            break;
        }
    }
}

static void finish(struct actx *x)
{
    x->stop = 1;
    x->r->poke = NULL;
    if (x->loop != NULL)
        asock_loop_free(x->loop); /* closes every socket; pending callbacks see x->stop */
    x->loop = NULL;
}

static int listener(struct actx *x, uint16_t port, int reuseport, asock_socket **out)
{
    asock_socket *l;
    int rc = asock_socket_open(x->loop, AF_INET, SOCK_STREAM, 0, &l);
    if (rc < 0)
        return rc;
    asock_endpoint ep;
    asock_endpoint_ip(&ep, "127.0.0.1", port);
    if (reuseport)
        asock_socket_set_option(l, ASOCK_OPT_REUSE_PORT, 1);
    rc = asock_socket_bind(l, &ep);
    if (rc == 0)
        rc = asock_socket_listen(l, 0);
    if (rc == 0)
        rc = asock_socket_local_endpoint(l, &x->target);
    if (rc < 0) {
        asock_socket_close(l);
        return rc;
    }
    *out = l;
    return 0;
}

/* ---------------------------------------------------------------------------------------- */
/* request/response connections (TCP and UDP) */

static void on_rx(asock_socket *s, asock_args *e);
static void on_tx(asock_socket *s, asock_args *e);

static struct aconn *conn_new(struct actx *x, asock_socket *s, enum role role)
{
    struct aconn *c = calloc(1, sizeof(*c));
    if (c == NULL)
        return NULL;
    c->x = x;
    c->s = s;
    c->role = (uint8_t)role;
    asock_args_init(&c->rx);
    asock_args_init(&c->tx);
    c->rx.completed = on_rx;
    c->rx.user_token = c;
    asock_args_set_buffer(&c->rx, c->buf, 0, sizeof(c->buf));
    c->tx.completed = on_tx;
    c->tx.user_token = c;
    asock_args_set_buffer(&c->tx, msg, 0, BENCH_MSG);
    if (role == R_USERVER)
        asock_endpoint_ip(&c->rx.remote_endpoint, "0.0.0.0", 0); /* the family to receive */
    return c;
}

static int receive(struct aconn *c)
{
    if (c->role == R_USERVER)
        return asock_receive_from_async(c->s, &c->rx);
    return asock_receive_async(c->s, &c->rx);
}

static void send_bytes(struct aconn *c, uint32_t n)
{
    if (asock_args_in_use(&c->tx)) {
        c->owed += n;
        return;
    }
    c->tx.count = n;
    int rc;
    if (c->role == R_USERVER) {
        c->tx.remote_endpoint = c->rx.remote_endpoint;
        rc = asock_send_to_async(c->s, &c->tx);
    } else {
        rc = asock_send_async(c->s, &c->tx);
    }
    if (rc < 0 || (rc == 0 && c->tx.socket_error != ASOCK_SUCCESS))
        c->dead = 1;
}

static void on_tx(asock_socket *s, asock_args *e)
{
    (void)s;
    struct aconn *c = e->user_token;
    if (c->x->stop || e->socket_error != ASOCK_SUCCESS)
        return;
    if (c->owed > 0) {
        uint32_t n = c->owed;
        c->owed = 0;
        send_bytes(c, n);
    }
}

/* Handles n received bytes; 1 when the run is over. */
static int handle(struct aconn *c, size_t n)
{
    struct actx *x = c->x;
    if (c->role == R_SERVER || c->role == R_USERVER) {
        send_bytes(c, (uint32_t)n); /* echo */
        if (x->counts_server) {
            c->got += (uint32_t)n;
            while (c->got >= BENCH_MSG) {
                c->got -= BENCH_MSG;
                count(x, 1);
            }
        }
        return x->stop;
    }
    c->got += (uint32_t)n;
    if (c->role == R_UCLIENT)
        c->got = BENCH_MSG;
    if (c->got < BENCH_MSG)
        return 0;
    c->got -= BENCH_MSG;
    count(x, 1);
    if (x->stop)
        return 1;
    send_bytes(c, BENCH_MSG);
    return 0;
}

/* Consumes the receive that just completed in c->rx, then keeps receiving until one goes
 * pending. */
static void rx_loop(struct aconn *c)
{
    for (;;) {
        if (c->x->stop || c->dead)
            return;
        if (c->rx.socket_error != ASOCK_SUCCESS ||
            (c->rx.bytes_transferred == 0 && c->role == R_CLIENT) ||
            (c->rx.bytes_transferred == 0 && c->role == R_SERVER)) {
            c->dead = 1; /* the peer left (the other thread's run ended) */
            return;
        }
        if (handle(c, c->rx.bytes_transferred))
            return;
        int rc = receive(c);
        if (rc != 0) {
            if (rc < 0)
                c->dead = 1;
            return;
        }
    }
}

static void on_rx(asock_socket *s, asock_args *e)
{
    (void)s;
    rx_loop(e->user_token);
}

static void start_rx(struct aconn *c)
{
    int rc = receive(c);
    if (rc == 0)
        rx_loop(c);
    else if (rc < 0)
        c->dead = 1;
}

/* ---- TCP ---- */

struct tcp_state {
    struct actx *x;
    asock_socket *l;
    asock_args accept;
    struct aconn **conns;
    int n, cap;
};

static void keep(struct tcp_state *t, struct aconn *c)
{
    if (t->n < t->cap)
        t->conns[t->n++] = c;
}

static void on_accept(asock_socket *s, asock_args *e);

static void accept_loop(struct tcp_state *t)
{
    asock_args *e = &t->accept;
    for (;;) {
        if (t->x->stop)
            return;
        if (e->socket_error != ASOCK_SUCCESS) {
            bench_fail(t->x->r, "accept: %s", asock_socket_error_name(e->socket_error));
            stop(t->x);
            return;
        }
        asock_socket *a = e->accept_socket;
        e->accept_socket = NULL;
        asock_socket_set_option(a, ASOCK_OPT_NO_DELAY, 1);
        struct aconn *c = conn_new(t->x, a, R_SERVER);
        if (c == NULL) {
            asock_socket_close(a);
        } else {
            keep(t, c);
            start_rx(c);
        }
        int rc = asock_accept_async(t->l, e);
        if (rc != 0) {
            if (rc < 0)
                bench_fail(t->x->r, "accept: %s", asock_strerror(rc));
            return;
        }
    }
}

static void on_accept(asock_socket *s, asock_args *e)
{
    (void)s;
    accept_loop(e->user_token);
}

static void on_connect(asock_socket *s, asock_args *e)
{
    struct aconn *c = e->user_token;
    if (c->x->stop)
        return;
    if (e->socket_error != ASOCK_SUCCESS) {
        bench_fail(c->x->r, "connect: %s", asock_socket_error_name(e->socket_error));
        stop(c->x);
        return;
    }
    asock_socket_set_option(s, ASOCK_OPT_NO_DELAY, 1);
    e->completed = on_tx;
    start_rx(c);
    send_bytes(c, BENCH_MSG);
}

static int tcp_ping_pong(struct bench_run *r)
{
    struct actx x;
    struct tcp_state t = {.x = &x};
    if (new_loop(r, &x) < 0)
        return 0;
    x.counts_server = r->two_process;
    t.cap = 4 * r->flows + 8;
    t.conns = calloc((size_t)t.cap, sizeof(*t.conns));
    int rc = listener(&x, r->reuseport, r->reuseport != 0, &t.l);
    if (rc < 0 || t.conns == NULL) {
        bench_fail(r, "listen: %s", asock_strerror(rc));
        goto out;
    }
    asock_args_init(&t.accept);
    t.accept.completed = on_accept;
    t.accept.user_token = &t;
    if (r->two_process && bench_aux_tcp_driver(r, asock_endpoint_port(&x.target)) < 0) {
        bench_fail(r, "driver: %s", strerror(errno));
        goto out;
    }
    bench_start(r);
    rc = asock_accept_async(t.l, &t.accept);
    if (rc == 0)
        accept_loop(&t);
    for (int i = 0; i < r->flows && !r->two_process && !x.stop; i++) {
        asock_socket *s;
        rc = asock_socket_open(x.loop, AF_INET, SOCK_STREAM, 0, &s);
        struct aconn *c = rc == 0 ? conn_new(&x, s, R_CLIENT) : NULL;
        if (c == NULL) {
            bench_fail(r, "socket: %s", asock_strerror(rc));
            goto out;
        }
        keep(&t, c);
        c->tx.completed = on_connect;
        c->tx.remote_endpoint = x.target;
        c->tx.count = 0;
        rc = asock_connect_async(s, &c->tx);
        if (rc == 0)
            on_connect(s, &c->tx);
        else if (rc < 0) {
            bench_fail(r, "connect: %s", asock_strerror(rc));
            goto out;
        }
    }
    run(&x);
out:
    finish(&x);
    for (int i = 0; i < t.n; i++)
        free(t.conns[i]);
    free(t.conns);
    return 0;
}

/* ---- UDP ---- */

static int udp_socket(struct actx *x, asock_socket **out)
{
    int rc = asock_socket_open(x->loop, AF_INET, SOCK_DGRAM, 0, out);
    if (rc < 0)
        return rc;
    asock_endpoint ep;
    asock_endpoint_ip(&ep, "127.0.0.1", 0);
    rc = asock_socket_bind(*out, &ep);
    if (rc < 0)
        asock_socket_close(*out);
    return rc;
}

static int udp_ping_pong(struct bench_run *r)
{
    struct actx x;
    if (new_loop(r, &x) < 0)
        return 0;
    x.counts_server = r->two_process;
    int nf = r->flows;
    struct aconn **conns = calloc((size_t)(2 * nf), sizeof(*conns));
    uint16_t *ports = calloc((size_t)nf, sizeof(uint16_t));
    int n = 0;
    if (conns == NULL || ports == NULL) {
        bench_fail(r, "setup: out of memory");
        goto out;
    }
    for (int i = 0; i < nf; i++) {
        asock_socket *s;
        int rc = udp_socket(&x, &s);
        struct aconn *c = rc == 0 ? conn_new(&x, s, R_USERVER) : NULL;
        if (c == NULL) {
            bench_fail(r, "udp socket: %s", asock_strerror(rc));
            goto out;
        }
        conns[n++] = c;
        asock_endpoint ep;
        asock_socket_local_endpoint(s, &ep);
        ports[i] = asock_endpoint_port(&ep);
    }
    if (r->two_process) {
        if (bench_aux_udp_driver(r, ports, nf) < 0) {
            bench_fail(r, "driver: %s", strerror(errno));
            goto out;
        }
    } else {
        for (int i = 0; i < nf; i++) {
            asock_socket *s;
            int rc = udp_socket(&x, &s);
            struct aconn *c = rc == 0 ? conn_new(&x, s, R_UCLIENT) : NULL;
            if (c == NULL) {
                bench_fail(r, "udp socket: %s", asock_strerror(rc));
                goto out;
            }
            conns[n++] = c;
            /* a connected client: send and receive, the server's datagrams only */
            asock_endpoint_ip(&c->tx.remote_endpoint, "127.0.0.1", ports[i]);
            c->tx.count = 0;
            rc = asock_connect_async(s, &c->tx);
            while (rc == 1 && asock_args_in_use(&c->tx))
                asock_loop_run(x.loop, ASOCK_RUN_ONCE);
            if (rc < 0 || c->tx.socket_error != ASOCK_SUCCESS) {
                bench_fail(r, "udp connect: %s", asock_strerror(rc));
                goto out;
            }
        }
    }
    bench_start(r);
    for (int i = 0; i < n; i++)
        start_rx(conns[i]);
    for (int i = nf; i < n; i++)
        send_bytes(conns[i], BENCH_MSG);
    run(&x);
out:
    finish(&x);
    for (int i = 0; i < n; i++)
        free(conns[i]);
    free(conns);
    free(ports);
    return 0;
}

/* udp_pump: the way a user who expects a flood receives with asock: one multi receive that
 * stays armed (io_uring: multishot recvmsg from the loop's buffer ring; epoll: recvmmsg
 * batches into the same buffers), one callback per datagram, no re-arm. */
static void on_pump_rx(asock_socket *s, asock_args *e)
{
    (void)s;
    struct aconn *c = e->user_token;
    if (!asock_args_in_use(e)) {
        /* the last call: an error ends the pair (a close at the end is expected) */
        if (!c->x->stop && e->socket_error != ASOCK_SUCCESS)
            bench_fail(c->x->r, "multi receive: %s", asock_socket_error_name(e->socket_error));
        return;
    }
    if (!c->x->stop && e->socket_error == ASOCK_SUCCESS)
        count(c->x, 1);
}

static int udp_pump(struct bench_run *r)
{
    struct actx x;
    if (new_loop(r, &x) < 0)
        return 0;
    asock_socket *s;
    struct aconn *c = NULL;
    int rc = udp_socket(&x, &s);
    if (rc == 0)
        c = conn_new(&x, s, R_USERVER);
    asock_endpoint ep;
    if (c == NULL || asock_socket_local_endpoint(s, &ep) < 0 ||
        bench_aux_blaster(r, asock_endpoint_port(&ep)) < 0) {
        bench_fail(r, "setup: %s", asock_strerror(rc));
        goto out;
    }
    c->rx.completed = on_pump_rx;
    asock_args_set_buffer(&c->rx, NULL, 0, 0);
    bench_start(r);
    rc = asock_receive_multi_async(s, &c->rx);
    if (rc != 1) {
        bench_fail(r, "multi receive: %s", asock_strerror(rc));
        goto out;
    }
    run(&x);
out:
    finish(&x);
    free(c);
    return 0;
}

/* udp_send: 64 send_to per loop iteration */
static void on_send_tx(asock_socket *s, asock_args *e)
{
    (void)s;
    struct aconn *c = e->user_token;
    if (!c->x->stop && e->socket_error == ASOCK_SUCCESS)
        count(c->x, 1);
}

static int udp_send(struct bench_run *r)
{
    struct actx x;
    if (new_loop(r, &x) < 0)
        return 0;
    asock_socket *s;
    struct aconn *c = NULL;
    int rc = udp_socket(&x, &s);
    if (rc == 0)
        c = conn_new(&x, s, R_USERVER);
    if (c == NULL) {
        bench_fail(r, "setup: %s", asock_strerror(rc));
        goto out;
    }
    c->tx.completed = on_send_tx;
    asock_endpoint_from_sockaddr(&c->tx.remote_endpoint, (const struct sockaddr *)&r->sink,
                                 sizeof(r->sink));
    bench_start(r);
    while (!x.stop && !bench_done(r)) {
        for (int i = 0; i < BENCH_BATCH && !x.stop; i++) {
            if (asock_args_in_use(&c->tx))
                break;
            rc = asock_send_to_async(s, &c->tx);
            if (rc == 0 && c->tx.socket_error == ASOCK_SUCCESS)
                count(&x, 1);
            else if (rc < 0) {
                bench_fail(r, "send_to: %s", asock_strerror(rc));
                stop(&x);
            }
        }
        asock_loop_run(x.loop, asock_args_in_use(&c->tx) ? ASOCK_RUN_ONCE : ASOCK_RUN_NOWAIT);
    }
out:
    finish(&x);
    free(c);
    return 0;
}

/* ---- tcp_pump: one stream, one 64 KiB send in flight, one 64 KiB receive ---- */

struct pump {
    struct actx *x;
    asock_socket *cs, *ss;
    asock_args tx, rx;
    char *rbuf;
};

static void pump_send_loop(struct pump *p)
{
    for (;;) {
        if (p->x->stop)
            return;
        if (p->tx.socket_error != ASOCK_SUCCESS) {
            bench_fail(p->x->r, "send: %s", asock_socket_error_name(p->tx.socket_error));
            stop(p->x);
            return;
        }
        int rc = asock_send_async(p->cs, &p->tx);
        if (rc != 0)
            return;
    }
}

static void pump_recv_loop(struct pump *p)
{
    for (;;) {
        if (p->x->stop)
            return;
        if (p->rx.socket_error != ASOCK_SUCCESS || p->rx.bytes_transferred == 0) {
            bench_fail(p->x->r, "receive: %s", asock_socket_error_name(p->rx.socket_error));
            stop(p->x);
            return;
        }
        count(p->x, p->rx.bytes_transferred);
        if (p->x->stop)
            return;
        int rc = asock_receive_async(p->ss, &p->rx);
        if (rc != 0)
            return;
    }
}

static void on_pump_tx(asock_socket *s, asock_args *e)
{
    (void)s;
    pump_send_loop(e->user_token);
}

static void on_pump_recv(asock_socket *s, asock_args *e)
{
    (void)s;
    pump_recv_loop(e->user_token);
}

static void on_flag(asock_socket *s, asock_args *e)
{
    (void)s;
    *(int *)e->user_token = 1;
}

static int tcp_pump(struct bench_run *r)
{
    struct actx x;
    struct pump p = {.x = &x};
    if (new_loop(r, &x) < 0)
        return 0;
    p.rbuf = malloc(BENCH_PUMP_BUF);
    asock_socket *l = NULL;
    int rc = listener(&x, 0, 0, &l);
    if (rc == 0)
        rc = asock_socket_open(x.loop, AF_INET, SOCK_STREAM, 0, &p.cs);
    if (rc < 0 || p.rbuf == NULL) {
        bench_fail(r, "setup: %s", asock_strerror(rc));
        goto out;
    }
    /* connect and accept, waiting on the loop for both */
    int connected = 0, accepted = 0;
    asock_args ca, aa;
    asock_args_init(&ca);
    asock_args_init(&aa);
    ca.completed = aa.completed = on_flag;
    ca.user_token = &connected;
    aa.user_token = &accepted;
    ca.remote_endpoint = x.target;
    rc = asock_accept_async(l, &aa);
    accepted = rc == 0;
    int rc2 = asock_connect_async(p.cs, &ca);
    connected = rc2 == 0;
    while ((!connected || !accepted) && rc >= 0 && rc2 >= 0)
        asock_loop_run(x.loop, ASOCK_RUN_ONCE);
    if (rc < 0 || rc2 < 0 || ca.socket_error != ASOCK_SUCCESS || aa.socket_error != ASOCK_SUCCESS) {
        bench_fail(r, "connect/accept failed");
        goto out;
    }
    p.ss = aa.accept_socket;
    asock_args_init(&p.tx);
    asock_args_init(&p.rx);
    p.tx.completed = on_pump_tx;
    p.rx.completed = on_pump_recv;
    p.tx.user_token = p.rx.user_token = &p;
    asock_args_set_buffer(&p.tx, msg, 0, BENCH_PUMP_BUF);
    asock_args_set_buffer(&p.rx, p.rbuf, 0, BENCH_PUMP_BUF);
    bench_start(r);
    if (asock_send_async(p.cs, &p.tx) == 0)
        pump_send_loop(&p);
    if (asock_receive_async(p.ss, &p.rx) == 0)
        pump_recv_loop(&p);
    run(&x);
out:
    finish(&x);
    free(p.rbuf);
    return 0;
}

/* ---- pound ---- */

struct slot {
    struct actx *x;
    asock_socket *s;
    asock_args e;
};

struct pound_state {
    struct actx *x;
    asock_socket *l;
    asock_args accept;
};

static void pound_accept_loop(struct pound_state *ps)
{
    asock_args *e = &ps->accept;
    for (;;) {
        if (ps->x->stop)
            return;
        if (e->socket_error == ASOCK_SUCCESS && e->accept_socket != NULL)
            asock_socket_close(e->accept_socket);
        e->accept_socket = NULL;
        int rc = asock_accept_async(ps->l, e);
        if (rc != 0)
            return;
    }
}

static void on_pound_accept(asock_socket *s, asock_args *e)
{
    (void)s;
    pound_accept_loop(e->user_token);
}

static void on_pound_connect(asock_socket *s, asock_args *e);

/* Opens a socket and connects it; keeps going while connects complete synchronously. */
static void slot_start(struct slot *sl)
{
    struct actx *x = sl->x;
    for (;;) {
        if (x->stop)
            return;
        int rc = asock_socket_open(x->loop, AF_INET, SOCK_STREAM, 0, &sl->s);
        if (rc < 0) {
            bench_fail(x->r, "socket: %s", asock_strerror(rc));
            stop(x);
            return;
        }
        asock_socket_set_option(sl->s, ASOCK_OPT_LINGER, 0);
        sl->e.remote_endpoint = x->target;
        rc = asock_connect_async(sl->s, &sl->e);
        if (rc == 1)
            return;
        if (rc < 0 || sl->e.socket_error != ASOCK_SUCCESS) {
            bench_fail(x->r, "connect: %s",
                       rc < 0 ? asock_strerror(rc) : asock_socket_error_name(sl->e.socket_error));
            stop(x);
            return;
        }
        asock_socket_close(sl->s);
        count(x, 1);
    }
}

static void on_pound_connect(asock_socket *s, asock_args *e)
{
    struct slot *sl = e->user_token;
    if (sl->x->stop)
        return;
    if (e->socket_error != ASOCK_SUCCESS) {
        bench_fail(sl->x->r, "connect: %s", asock_socket_error_name(e->socket_error));
        stop(sl->x);
        return;
    }
    asock_socket_close(s);
    count(sl->x, 1);
    slot_start(sl);
}

static int pound(struct bench_run *r)
{
    struct actx x;
    struct pound_state ps = {.x = &x};
    if (new_loop(r, &x) < 0)
        return 0;
    struct slot *slots = calloc((size_t)r->flows, sizeof(*slots));
    int rc = listener(&x, 0, 0, &ps.l);
    if (rc < 0 || slots == NULL) {
        bench_fail(r, "listen: %s", asock_strerror(rc));
        goto out;
    }
    asock_args_init(&ps.accept);
    ps.accept.completed = on_pound_accept;
    ps.accept.user_token = &ps;
    bench_start(r);
    rc = asock_accept_async(ps.l, &ps.accept);
    if (rc == 0)
        pound_accept_loop(&ps);
    for (int i = 0; i < r->flows; i++) {
        slots[i].x = &x;
        asock_args_init(&slots[i].e);
        slots[i].e.completed = on_pound_connect;
        slots[i].e.user_token = &slots[i];
        slot_start(&slots[i]);
    }
    run(&x);
out:
    finish(&x);
    free(slots);
    return 0;
}

/* ---- idle_memory: each accepted socket waits with a zero-byte receive (a readiness probe: no
 * buffer is lent while the connection is idle) ---- */

struct idle_state {
    struct actx *x;
    asock_socket *l;
    asock_args accept;
    asock_args *rx; /* one per connection, allocated after the baseline */
    int n, cap;
};

static void on_idle_rx(asock_socket *s, asock_args *e)
{
    (void)s;
    (void)e;
}

static void idle_accept_loop(struct idle_state *st)
{
    asock_args *e = &st->accept;
    for (;;) {
        if (st->x->stop)
            return;
        if (e->socket_error != ASOCK_SUCCESS) {
            bench_fail(st->x->r, "accept: %s", asock_socket_error_name(e->socket_error));
            stop(st->x);
            return;
        }
        asock_socket *a = e->accept_socket;
        e->accept_socket = NULL;
        if (st->n < st->cap) {
            asock_args *rx = &st->rx[st->n++];
            asock_args_init(rx);
            rx->completed = on_idle_rx;
            if (asock_receive_async(a, rx) < 0) {
                bench_fail(st->x->r, "zero-byte receive refused");
                stop(st->x);
                return;
            }
        }
        if (st->n >= st->cap)
            return; /* everything is accepted: no accept left pending */
        int rc = asock_accept_async(st->l, e);
        if (rc != 0)
            return;
    }
}

static void on_idle_accept(asock_socket *s, asock_args *e)
{
    (void)s;
    idle_accept_loop(e->user_token);
}

static int idle_memory(struct bench_run *r)
{
    struct actx x;
    struct idle_state st = {.x = &x, .cap = r->flows};
    struct bench_clients cl = {0};
    if (new_loop(r, &x) < 0)
        return 0;
    int rc = listener(&x, 0, 0, &st.l);
    if (rc < 0 || bench_clients_alloc(&cl, r->flows) < 0) {
        bench_fail(r, "setup: %s", asock_strerror(rc));
        goto out;
    }
    asock_args_init(&st.accept);
    st.accept.completed = on_idle_accept;
    st.accept.user_token = &st;
    asock_loop_run(x.loop, ASOCK_RUN_NOWAIT);
    struct bench_mem m0, m1;
    bench_mem_snap(&m0);
    st.rx = malloc((size_t)r->flows * sizeof(asock_args));
    rc = asock_accept_async(st.l, &st.accept);
    if (rc == 0)
        idle_accept_loop(&st);
    while (st.n < r->flows && !bench_done(r)) {
        int k = r->flows - cl.n < 1000 ? r->flows - cl.n : 1000;
        if (k > 0 && (rc = bench_clients_connect(&cl, asock_endpoint_port(&x.target), k)) < 0) {
            bench_fail(r, "client connect: %s", strerror(-rc));
            break;
        }
        while (st.n < cl.n && !bench_done(r))
            asock_loop_run(x.loop, ASOCK_RUN_ONCE);
    }
    asock_loop_run(x.loop, ASOCK_RUN_NOWAIT); /* hand the last receives to the kernel */
    bench_mem_snap(&m1);
    if (!bench_done(r))
        bench_mem_result(r, &m0, &m1, r->flows);
out:
    finish(&x);
    free(st.rx);
    bench_clients_free(&cl);
    return 0;
}

#define ASOCK_FNS                                                                                  \
    {                                                                                              \
        [WL_POUND] = pound, [WL_TCP_PING_PONG] = tcp_ping_pong,                                    \
        [WL_UDP_PING_PONG] = udp_ping_pong, [WL_UDP_PUMP] = udp_pump, [WL_UDP_SEND] = udp_send,    \
        [WL_TCP_PUMP] = tcp_pump, [WL_TCP_ECHO_MT] = tcp_ping_pong, [WL_IDLE_MEMORY] = idle_memory \
    }

const struct bench_impl bench_impl_asock_uring = {
    .name = "asock_uring",
    .what = "asock, io_uring engine (asock_loop_options.engine = ASOCK_ENGINE_IO_URING)",
    .variant = ASOCK_ENGINE_IO_URING,
    .fn = ASOCK_FNS,
};

const struct bench_impl bench_impl_asock_epoll = {
    .name = "asock_epoll",
    .what = "asock, epoll engine (asock_loop_options.engine = ASOCK_ENGINE_EPOLL)",
    .variant = ASOCK_ENGINE_EPOLL,
    .fn = ASOCK_FNS,
};
