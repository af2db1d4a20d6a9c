/* The io_uring engine: engine choice and fallback, forced-off features (ASOCK_URING_DISABLE), the
 * two-CQE timed operations (LINK_TIMEOUT) and their loop-timer fallback, cancellation, SQ and CQ
 * overflow, and the thread binding of a SINGLE_ISSUER ring.
 *
 * The engine-level cases drive struct asock__op directly through the engine boundary (engine.h), so
 * they run on both engines and check the same contract; the cases that are io_uring-only skip on
 * the epoll run. */
#define _GNU_SOURCE 1
#include "net.h"

#include "engine/engine.h"

#include <errno.h>
#include <pthread.h>
#include <sys/utsname.h>
#include <unistd.h>

/* Mirrors the URING_F_* bits of src/engine/uring.c (reported by asock__uring_features). */
#define T_F_SINGLE_ISSUER 0x01u
#define T_F_DEFER_TASKRUN 0x02u
#define T_F_COOP_TASKRUN  0x04u
#define T_F_LINK_TIMEOUT  0x08u
#define T_F_CANCEL_FD     0x10u
#define T_F_CQE_SKIP      0x20u
#define T_F_SUBMIT_ALL    0x40u
unsigned asock__uring_features(const asock_loop *loop);

static bool on_uring(asock_loop *loop)
{
    return asock_loop_engine(loop) == ASOCK_ENGINE_IO_URING;
}

/* A loop created with ASOCK_URING_DISABLE=disable (NULL: unset). */
static asock_loop *loop_with_disable(const char *disable)
{
    const char *old = getenv("ASOCK_URING_DISABLE");
    char *saved = old != NULL ? strdup(old) : NULL;
    if (disable != NULL)
        setenv("ASOCK_URING_DISABLE", disable, 1);
    else
        unsetenv("ASOCK_URING_DISABLE");
    asock_loop *loop = asock_t_loop();
    if (saved != NULL) {
        setenv("ASOCK_URING_DISABLE", saved, 1);
        free(saved);
    } else {
        unsetenv("ASOCK_URING_DISABLE");
    }
    return loop;
}

/* ---- engine-level operations ---- */

struct eop {
    struct asock__op_timed t; /* first */
    asock_loop *loop;
    volatile int calls;
    int res;
    int inside; /* a submit or cancel call is running */
    int calls_inside;
};

static void eop_done(struct asock__op *op)
{
    struct eop *e = (struct eop *)(void *)asock__container_of(op, struct asock__op_timed, op);
    e->calls++;
    e->res = op->res;
    if (e->inside)
        e->calls_inside++;
    assert_false(op->flags & ASOCK__OPF_SUBMITTED);
    asock__loop_unref(e->loop);
}

static void eop_init(struct eop *e, asock_loop *loop)
{
    memset(e, 0, sizeof(*e));
    e->loop = loop;
}

/* Submits kind on io (timeout_ms > 0: a timed op).  Returns the engine's rc. */
static int eop_submit(struct eop *e, enum asock__op_kind kind, struct asock__io *io, void *buf,
                      size_t len, uint32_t timeout_ms)
{
    struct asock__op *op = &e->t.op;
    op->flags = 0;
    asock__op_prep(op, kind, io, eop_done);
    if (timeout_ms > 0) {
        op->flags |= ASOCK__OPF_TIMED;
        e->t.timeout_ms = timeout_ms;
    }
    op->u.rw.buf = buf;
    op->u.rw.len = len;
    op->u.rw.flags = 0;
    e->inside = 1;
    int rc = asock__engine_submit(e->loop, op);
    e->inside = 0;
    if (rc == 0)
        asock__loop_ref(e->loop);
    return rc;
}

static void eop_cancel(struct eop *e)
{
    e->inside = 1;
    asock__engine_cancel(e->loop, &e->t.op);
    e->inside = 0;
}

static void eop_wait(struct eop *e, int timeout_ms)
{
    if (asock_t_run_until(e->loop, &e->calls, timeout_ms) != 0)
        fail_msg("engine op (kind %d) did not complete in %d ms", e->t.op.kind, timeout_ms);
    assert_int_equal(e->calls, 1);
    assert_int_equal(e->calls_inside, 0);
}

/* An asock__io for a plain descriptor; closed through the core (asock__engine_close). */
struct tio {
    struct asock__io io;
    volatile int closed;
};

static void tio_closed(struct asock__io *io)
{
    struct tio *t = (struct tio *)(void *)io;
    t->closed = 1;
}

static void tio_close(asock_loop *loop, struct tio *t)
{
    asock__engine_close(loop, &t->io, tio_closed);
    /* closed() runs from the loop; the closing list is "work" */
    if (asock_t_run_until(loop, &t->closed, ASOCK_T_WAIT_MS) != 0)
        fail_msg("io %d was not closed", t->io.fd);
}

static void socketpair_io(struct tio *t, int *peer)
{
    int sv[2];
    assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, sv), 0);
    memset(t, 0, sizeof(*t));
    asock__io_init(&t->io, sv[0]);
    *peer = sv[1];
}

/* ---- engine choice ---- */

static void chosen_engine(void **state)
{
    (void)state;
    asock_loop *loop = asock_t_loop();
    const char *want = getenv("ASOCK_ENGINE");
    if (want == NULL || strcmp(want, "io_uring") != 0) {
        asock_t_end(loop);
        skip();
    }
    assert_int_equal(asock_loop_engine(loop), ASOCK_ENGINE_IO_URING);
    const char *why = asock_loop_engine_reason(loop);
    if (strstr(why, "io_uring") == NULL)
        fail_msg("reason \"%s\" does not name io_uring", why);
    unsigned f = asock__uring_features(loop);
    fprintf(stderr, "io_uring features 0x%x (reason \"%s\")\n", f, why);
    const char *dis = getenv("ASOCK_URING_DISABLE");
    struct utsname u;
    int major = 0, minor = 0;
    if (uname(&u) == 0)
        sscanf(u.release, "%d.%d", &major, &minor);
    if ((dis == NULL || dis[0] == '\0') && (major > 6 || (major == 6 && minor >= 1))) {
        /* a 6.1+ kernel accepts everything the engine asks for */
        assert_int_equal(f & (T_F_SINGLE_ISSUER | T_F_DEFER_TASKRUN | T_F_LINK_TIMEOUT |
                              T_F_CANCEL_FD | T_F_CQE_SKIP | T_F_SUBMIT_ALL),
                         T_F_SINGLE_ISSUER | T_F_DEFER_TASKRUN | T_F_LINK_TIMEOUT | T_F_CANCEL_FD |
                             T_F_CQE_SKIP | T_F_SUBMIT_ALL);
    }
    asock_t_end(loop);
}

struct env_save {
    char *engine;
    char *unavailable;
};

static char *dup_env(const char *name)
{
    const char *v = getenv(name);
    return v != NULL ? strdup(v) : NULL;
}

static void restore_env(const char *name, char *v)
{
    if (v != NULL) {
        setenv(name, v, 1);
        free(v);
    } else {
        unsetenv(name);
    }
}

/* ASOCK_URING_UNAVAILABLE=1: AUTO falls back to epoll and says why; an explicit io_uring request
 * fails with the probe's -errno. */
static void unavailable_falls_back(void **state)
{
    (void)state;
    struct env_save s = {dup_env("ASOCK_ENGINE"), dup_env("ASOCK_URING_UNAVAILABLE")};
    unsetenv("ASOCK_ENGINE"); /* it would override AUTO */
    setenv("ASOCK_URING_UNAVAILABLE", "1", 1);

    asock_loop_options opts;
    memset(&opts, 0, sizeof(opts));
    opts.engine = ASOCK_ENGINE_AUTO;
    asock_loop *loop = asock_t_loop_opts(&opts);
    int engine = asock_loop_engine(loop);
    const char *why = asock_loop_engine_reason(loop);

    asock_loop *bad = NULL;
    opts.engine = ASOCK_ENGINE_IO_URING;
    int rc = asock_loop_new(&bad, &opts);

    const char *reason = NULL;
    int probe = asock__uring_probe(&reason);

    restore_env("ASOCK_ENGINE", s.engine);
    restore_env("ASOCK_URING_UNAVAILABLE", s.unavailable);

    assert_int_equal(engine, ASOCK_ENGINE_EPOLL);
    if (strstr(why, "unavailable") == NULL || strstr(why, "ASOCK_URING_UNAVAILABLE") == NULL)
        fail_msg("fallback reason \"%s\" does not say why", why);
    assert_int_equal(rc, -ENOSYS);
    assert_null(bad);
    assert_int_equal(probe, -ENOSYS);
    assert_string_equal(reason, "ASOCK_URING_UNAVAILABLE is set");
    asock_t_end(loop);
}

/* The probe keeps no state: with the variable gone it succeeds again (on this machine). */
static void probe_is_stateless(void **state)
{
    (void)state;
    asock_loop *loop = asock_t_loop();
    if (!on_uring(loop)) {
        asock_t_end(loop);
        skip();
    }
    char *old = dup_env("ASOCK_URING_UNAVAILABLE");
    setenv("ASOCK_URING_UNAVAILABLE", "1", 1);
    const char *r1 = NULL;
    int a = asock__uring_probe(&r1);
    unsetenv("ASOCK_URING_UNAVAILABLE");
    const char *r2 = NULL;
    int b = asock__uring_probe(&r2);
    restore_env("ASOCK_URING_UNAVAILABLE", old);
    assert_int_equal(a, -ENOSYS);
    assert_int_equal(b, 0);
    asock_t_end(loop);
}

/* ---- public-API round trips ---- */

/* A TCP echo: asock listener + accept, asock client; client sends, server echoes, client reads. */
static void tcp_echo(asock_loop *loop)
{
    uint16_t port = 0;
    asock_socket *l = asock_t_listener(loop, "127.0.0.1", &port);
    asock_t_op acc;
    asock_t_op_init(&acc);
    int arc = asock_t_start(&acc, asock_accept_async, l);
    assert_true(arc == 0 || arc == 1);

    asock_socket *c = asock_t_open(loop, AF_INET, SOCK_STREAM);
    asock_t_op con;
    asock_t_op_init(&con);
    asock_t_ep(&con.e.remote_endpoint, "127.0.0.1", port);
    con.e.connect_timeout_ms = 5000; /* a deadline that does not fire */
    asock_t_do(loop, &con, asock_connect_async, c);
    asock_t_assert_err(&con.e, ASOCK_SUCCESS);
    asock_t_wait(loop, &acc, ASOCK_T_WAIT_MS);
    asock_t_assert_err(&acc.e, ASOCK_SUCCESS);
    asock_socket *srv = acc.e.accept_socket;
    assert_non_null(srv);

    /* server receive pending first, then the client's send */
    char sbuf[64];
    asock_t_op srcv;
    asock_t_op_init(&srcv);
    assert_int_equal(asock_args_set_buffer(&srcv.e, sbuf, 0, sizeof(sbuf)), 0);
    asock_t_assert_rc(asock_t_start(&srcv, asock_receive_async, srv), 1);
    asock_t_op snd;
    asock_t_op_init(&snd);
    assert_int_equal(asock_args_set_buffer(&snd.e, "hello uring", 0, 11), 0);
    asock_t_do(loop, &snd, asock_send_async, c);
    asock_t_assert_err(&snd.e, ASOCK_SUCCESS);
    assert_int_equal(snd.e.bytes_transferred, 11);
    asock_t_wait(loop, &srcv, ASOCK_T_WAIT_MS);
    asock_t_assert_err(&srcv.e, ASOCK_SUCCESS);
    assert_int_equal(srcv.e.bytes_transferred, 11);
    assert_memory_equal(sbuf, "hello uring", 11);

    /* echo back: client receive pending, server send */
    char cbuf[64];
    asock_t_op crcv;
    asock_t_op_init(&crcv);
    assert_int_equal(asock_args_set_buffer(&crcv.e, cbuf, 0, sizeof(cbuf)), 0);
    asock_t_assert_rc(asock_t_start(&crcv, asock_receive_async, c), 1);
    asock_t_op echo;
    asock_t_op_init(&echo);
    assert_int_equal(asock_args_set_buffer(&echo.e, sbuf, 0, 11), 0);
    asock_t_do(loop, &echo, asock_send_async, srv);
    asock_t_wait(loop, &crcv, ASOCK_T_WAIT_MS);
    asock_t_assert_err(&crcv.e, ASOCK_SUCCESS);
    assert_int_equal(crcv.e.bytes_transferred, 11);
    assert_memory_equal(cbuf, "hello uring", 11);

    /* the connect's deadline must not fire later */
    uint64_t until = asock_t_now_ms() + 50;
    while (asock_t_now_ms() < until)
        asock_loop_run(loop, ASOCK_RUN_NOWAIT);
    assert_int_equal(con.calls, con.pending);

    asock_socket_close(srv);
    asock_socket_close(c);
    asock_socket_close(l);
}

/* A connect to a SYN that is never answered, with a deadline: TIMED_OUT, near the deadline. */
static void connect_times_out(asock_loop *loop, uint32_t ms)
{
    uint16_t bport = 0;
    int filler = -1;
    int blfd = asock_t_blackhole(AF_INET, "127.0.0.1", &bport, &filler);
    if (blfd < 0) {
        fprintf(stderr, "note: no unanswered SYN on this machine; timeout case not run\n");
        return;
    }
    asock_socket *c = asock_t_open(loop, AF_INET, SOCK_STREAM);
    asock_t_op con;
    asock_t_op_init(&con);
    asock_t_ep(&con.e.remote_endpoint, "127.0.0.1", bport);
    con.e.connect_timeout_ms = ms;
    uint64_t t0 = asock_t_now_ms();
    asock_t_assert_rc(asock_t_start(&con, asock_connect_async, c), 1);
    asock_t_wait(loop, &con, ASOCK_T_WAIT_MS);
    uint64_t took = asock_t_now_ms() - t0;
    asock_t_assert_err(&con.e, ASOCK_ERR_TIMED_OUT);
    assert_int_equal(con.calls, 1);
    if (took + 5 < ms || took > ms + 1000)
        fail_msg("connect timed out after %llu ms, deadline %u ms", (unsigned long long)took, ms);
    asock_socket_close(c);
    asock_t_close_fd(filler);
    asock_t_close_fd(blfd);
}

static void disable_all_still_works(void **state)
{
    (void)state;
    asock_loop *loop = loop_with_disable("all");
    if (on_uring(loop))
        assert_int_equal(asock__uring_features(loop), 0);
    tcp_echo(loop);
    connect_times_out(loop, 150);
    asock_t_end(loop);
}

static void connect_timeout_link(void **state)
{
    (void)state;
    asock_loop *loop = loop_with_disable(NULL);
    if (on_uring(loop))
        assert_true(asock__uring_features(loop) & T_F_LINK_TIMEOUT);
    connect_times_out(loop, 120);
    tcp_echo(loop); /* a deadline that does not fire */
    asock_t_end(loop);
}

static void connect_timeout_timer(void **state)
{
    (void)state;
    asock_loop *loop = loop_with_disable("link_timeout");
    if (on_uring(loop))
        assert_false(asock__uring_features(loop) & T_F_LINK_TIMEOUT);
    connect_times_out(loop, 120);
    tcp_echo(loop);
    asock_t_end(loop);
}

/* ---- engine-level: a connect made by the engine (CONNECT_START) ----
 * Both engines: io_uring as one IORING_OP_CONNECT, epoll as connect(2) then the wait.  It
 * connects, reports a refusal, times out at its deadline (a full accept queue), and cancels. */
static void connect_start_submit(struct eop *e, struct tio *t, const struct sockaddr_storage *ss,
                                 socklen_t len, uint32_t timeout_ms)
{
    struct asock__op *op = &e->t.op;
    op->flags = 0;
    asock__op_prep(op, ASOCK__OP_CONNECT_START, &t->io, eop_done);
    if (timeout_ms > 0) {
        op->flags |= ASOCK__OPF_TIMED;
        e->t.timeout_ms = timeout_ms;
    }
    op->u.conn.addr = (const struct sockaddr *)ss;
    op->u.conn.len = len;
    e->inside = 1;
    assert_int_equal(asock__engine_submit(e->loop, op), 0);
    e->inside = 0;
    asock__loop_ref(e->loop);
}

static void tcp_tio(struct tio *t)
{
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    assert_true(fd >= 0);
    memset(t, 0, sizeof(*t));
    asock__io_init(&t->io, fd);
}

static void connect_start(void **state)
{
    (void)state;
    asock_loop *loop = asock_t_loop();
    struct sockaddr_storage ss;
    uint16_t port = 0;
    int lfd = asock_t_tcp_listener(AF_INET, "127.0.0.1", &port);
    socklen_t len = asock_t_sockaddr("127.0.0.1", port, &ss);

    /* connects; the peer accepts it */
    struct tio t;
    tcp_tio(&t);
    struct eop e;
    eop_init(&e, loop);
    connect_start_submit(&e, &t, &ss, len, 0);
    assert_int_equal(e.calls, 0);
    eop_wait(&e, ASOCK_T_WAIT_MS);
    assert_int_equal(e.res, 0);
    int a = asock_t_accept_fd(lfd, ASOCK_T_WAIT_MS);
    asock_t_close_fd(a);
    tio_close(loop, &t);

    /* refused: nothing listens any more */
    asock_t_close_fd(lfd);
    tcp_tio(&t);
    eop_init(&e, loop);
    connect_start_submit(&e, &t, &ss, len, 0);
    eop_wait(&e, ASOCK_T_WAIT_MS);
    assert_int_equal(e.res, -ECONNREFUSED);
    tio_close(loop, &t);

    /* a SYN nobody answers: the deadline ends it; then a cancel ends another */
    uint16_t bport = 0;
    int filler = -1;
    int bfd = asock_t_blackhole(AF_INET, "127.0.0.1", &bport, &filler);
    if (bfd >= 0) {
        socklen_t blen = asock_t_sockaddr("127.0.0.1", bport, &ss);
        tcp_tio(&t);
        eop_init(&e, loop);
        connect_start_submit(&e, &t, &ss, blen, 100);
        eop_wait(&e, 5000);
        assert_int_equal(e.res, -ETIMEDOUT);
        tio_close(loop, &t);

        tcp_tio(&t);
        eop_init(&e, loop);
        connect_start_submit(&e, &t, &ss, blen, 0);
        for (int i = 0; i < 3; i++)
            asock_loop_run(loop, ASOCK_RUN_NOWAIT);
        eop_cancel(&e);
        eop_wait(&e, ASOCK_T_WAIT_MS);
        assert_int_equal(e.res, -ECANCELED);
        tio_close(loop, &t);
        asock_t_close_fd(filler);
        asock_t_close_fd(bfd);
    } else {
        fprintf(stderr, "note: no black-hole listener here; deadline and cancel cases skipped\n");
    }
    asock_t_end(loop);
}

/* ---- engine-level: cancel and timed ops ---- */

static void cancel_pending_recv_on(const char *disable)
{
    asock_loop *loop = loop_with_disable(disable);
    struct tio t;
    int peer;
    socketpair_io(&t, &peer);
    char buf[16];

    /* cancelled while its SQE still waits in the SQ; cancel twice: one completion */
    struct eop a;
    eop_init(&a, loop);
    assert_int_equal(eop_submit(&a, ASOCK__OP_RECV, &t.io, buf, sizeof(buf), 0), 0);
    eop_cancel(&a);
    eop_cancel(&a);
    assert_int_equal(a.calls, 0);
    eop_wait(&a, ASOCK_T_WAIT_MS);
    assert_int_equal(a.res, -ECANCELED);

    /* cancelled after it reached the kernel */
    struct eop b;
    eop_init(&b, loop);
    assert_int_equal(eop_submit(&b, ASOCK__OP_RECV, &t.io, buf, sizeof(buf), 0), 0);
    asock_loop_run(loop, ASOCK_RUN_NOWAIT);
    assert_int_equal(b.calls, 0);
    eop_cancel(&b);
    assert_int_equal(b.calls, 0);
    eop_wait(&b, ASOCK_T_WAIT_MS);
    assert_int_equal(b.res, -ECANCELED);

    /* cancel after completion: no effect */
    eop_cancel(&b);
    asock_loop_run(loop, ASOCK_RUN_NOWAIT);
    assert_int_equal(b.calls, 1);

    /* the descriptor still works: a new receive gets the data */
    struct eop c;
    eop_init(&c, loop);
    assert_int_equal(eop_submit(&c, ASOCK__OP_RECV, &t.io, buf, sizeof(buf), 0), 0);
    assert_int_equal(write(peer, "abc", 3), 3);
    eop_wait(&c, ASOCK_T_WAIT_MS);
    assert_int_equal(c.res, 3);
    assert_memory_equal(buf, "abc", 3);

    /* data already there and a cancel in the same batch: one completion, either result */
    struct eop d;
    eop_init(&d, loop);
    assert_int_equal(write(peer, "xy", 2), 2);
    assert_int_equal(eop_submit(&d, ASOCK__OP_RECV, &t.io, buf, sizeof(buf), 0), 0);
    eop_cancel(&d);
    eop_wait(&d, ASOCK_T_WAIT_MS);
    assert_true(d.res == 2 || d.res == -ECANCELED);

    tio_close(loop, &t);
    asock_t_close_fd(peer);
    asock_t_end(loop);
}

static void cancel_pending_recv(void **state)
{
    (void)state;
    cancel_pending_recv_on(NULL);
}

static void cancel_pending_recv_no_skip(void **state)
{
    (void)state;
    cancel_pending_recv_on("cqe_skip,cancel_fd");
}

/* Timed receive: the deadline fires (-ETIMEDOUT), data comes first (the data; nothing fires
 * later), a cancel comes first (-ECANCELED). */
static void timed_ops_on(const char *disable)
{
    asock_loop *loop = loop_with_disable(disable);
    struct tio t;
    int peer;
    socketpair_io(&t, &peer);
    char buf[16];

    struct eop a;
    eop_init(&a, loop);
    uint64_t t0 = asock_t_now_ms();
    assert_int_equal(eop_submit(&a, ASOCK__OP_RECV, &t.io, buf, sizeof(buf), 60), 0);
    eop_wait(&a, ASOCK_T_WAIT_MS);
    uint64_t took = asock_t_now_ms() - t0;
    assert_int_equal(a.res, -ETIMEDOUT);
    if (took < 55 || took > 1000)
        fail_msg("timed op ended after %llu ms, deadline 60 ms", (unsigned long long)took);

    struct eop b;
    eop_init(&b, loop);
    assert_int_equal(eop_submit(&b, ASOCK__OP_RECV, &t.io, buf, sizeof(buf), 80), 0);
    asock_loop_run(loop, ASOCK_RUN_NOWAIT);
    assert_int_equal(write(peer, "data", 4), 4);
    eop_wait(&b, ASOCK_T_WAIT_MS);
    assert_int_equal(b.res, 4);
    asock__loop_ref(loop); /* keep the loop waiting past the old deadline */
    uint64_t until = asock_t_now_ms() + 150;
    while (asock_t_now_ms() < until)
        asock_loop_run(loop, ASOCK_RUN_NOWAIT);
    asock__loop_unref(loop);
    assert_int_equal(b.calls, 1);

    struct eop c;
    eop_init(&c, loop);
    assert_int_equal(eop_submit(&c, ASOCK__OP_RECV, &t.io, buf, sizeof(buf), 1000), 0);
    asock_loop_run(loop, ASOCK_RUN_NOWAIT);
    eop_cancel(&c);
    eop_wait(&c, ASOCK_T_WAIT_MS);
    assert_int_equal(c.res, -ECANCELED);

    /* a timed op on a descriptor that is closed: -ECANCELED, the fd closes after it */
    struct eop d;
    eop_init(&d, loop);
    assert_int_equal(eop_submit(&d, ASOCK__OP_RECV, &t.io, buf, sizeof(buf), 1000), 0);
    asock_loop_run(loop, ASOCK_RUN_NOWAIT);
    tio_close(loop, &t);
    assert_int_equal(d.calls, 1);
    assert_int_equal(d.res, -ECANCELED);

    asock_t_close_fd(peer);
    asock_t_end(loop);
}

static void timed_ops_link(void **state)
{
    (void)state;
    timed_ops_on(NULL);
}

static void timed_ops_timer(void **state)
{
    (void)state;
    timed_ops_on("link_timeout");
}

/* Thousands of ops on one descriptor: the SQ (256) fills during submit, the CQ (1024) overflows
 * when they all become ready at once; every op completes exactly once. */
#define MANY 3000

static void many_ops_on(const char *disable, bool ready)
{
    asock_loop *loop = loop_with_disable(disable);
    struct tio t;
    int peer;
    socketpair_io(&t, &peer);
    struct eop *ops = calloc(MANY, sizeof(*ops));
    assert_non_null(ops);
    for (int i = 0; i < MANY; i++) {
        eop_init(&ops[i], loop);
        assert_int_equal(eop_submit(&ops[i], ASOCK__OP_POLL_IN, &t.io, NULL, 0, 0), 0);
    }
    asock_loop_run(loop, ASOCK_RUN_NOWAIT);
    if (ready) {
        assert_int_equal(write(peer, "!", 1), 1);
        uint64_t end = asock_t_now_ms() + ASOCK_T_WAIT_MS;
        int done = 0;
        while (done < MANY && asock_t_now_ms() < end) {
            asock_loop_run(loop, ASOCK_RUN_ONCE);
            done = 0;
            for (int i = 0; i < MANY; i++)
                done += ops[i].calls;
        }
        for (int i = 0; i < MANY; i++) {
            assert_int_equal(ops[i].calls, 1);
            assert_int_equal(ops[i].res, 0);
        }
        tio_close(loop, &t);
    } else {
        tio_close(loop, &t); /* cancels all MANY */
        for (int i = 0; i < MANY; i++) {
            assert_int_equal(ops[i].calls, 1);
            assert_int_equal(ops[i].res, -ECANCELED);
            assert_int_equal(ops[i].calls_inside, 0);
        }
    }
    free(ops);
    asock_t_close_fd(peer);
    asock_t_end(loop);
}

static void many_ops_ready(void **state)
{
    (void)state;
    many_ops_on(NULL, true);
}

static void many_ops_closed(void **state)
{
    (void)state;
    many_ops_on(NULL, false);
}

static void many_ops_closed_no_cancel_fd(void **state)
{
    (void)state;
    many_ops_on("cancel_fd,cqe_skip", false);
}

/* Completions arrive with RUN_NOWAIT only (poll(0) must run DEFER_TASKRUN task work). */
static void nowait_makes_progress(void **state)
{
    (void)state;
    asock_loop *loop = asock_t_loop();
    struct tio t;
    int peer;
    socketpair_io(&t, &peer);
    char buf[8];
    struct eop a;
    eop_init(&a, loop);
    assert_int_equal(eop_submit(&a, ASOCK__OP_RECV, &t.io, buf, sizeof(buf), 0), 0);
    asock_loop_run(loop, ASOCK_RUN_NOWAIT);
    assert_int_equal(write(peer, "z", 1), 1);
    uint64_t end = asock_t_now_ms() + ASOCK_T_WAIT_MS;
    while (a.calls == 0 && asock_t_now_ms() < end)
        asock_loop_run(loop, ASOCK_RUN_NOWAIT);
    assert_int_equal(a.calls, 1);
    assert_int_equal(a.res, 1);
    tio_close(loop, &t);
    asock_t_close_fd(peer);
    asock_t_end(loop);
}

/* ---- public API: a pending receive on a socket closed from another socket's callback ---- */

struct closer {
    asock_socket *victim;
};

static void close_victim(asock_t_op *op, asock_socket *sender)
{
    (void)sender;
    struct closer *c = op->ctx;
    asock_socket_close(c->victim);
}

static void close_from_other_callback(void **state)
{
    (void)state;
    asock_loop *loop = asock_t_loop();
    asock_socket *a, *b;
    int pa, pb;
    asock_t_connected_pair(loop, AF_INET, &a, &pa);
    asock_t_connected_pair(loop, AF_INET, &b, &pb);

    char abuf[8], bbuf[8];
    asock_t_op ra, rb;
    asock_t_op_init(&ra);
    asock_t_op_init(&rb);
    assert_int_equal(asock_args_set_buffer(&ra.e, abuf, 0, sizeof(abuf)), 0);
    assert_int_equal(asock_args_set_buffer(&rb.e, bbuf, 0, sizeof(bbuf)), 0);
    struct closer c = {a};
    rb.then = close_victim;
    rb.ctx = &c;
    asock_t_assert_rc(asock_t_start(&ra, asock_receive_async, a), 1);
    asock_t_assert_rc(asock_t_start(&rb, asock_receive_async, b), 1);
    asock_loop_run(loop, ASOCK_RUN_NOWAIT);

    asock_t_write_all(pb, "go", 2);
    asock_t_wait(loop, &rb, ASOCK_T_WAIT_MS);
    asock_t_assert_err(&rb.e, ASOCK_SUCCESS);
    assert_int_equal(rb.e.bytes_transferred, 2);
    asock_t_wait(loop, &ra, ASOCK_T_WAIT_MS);
    asock_t_assert_err(&ra.e, ASOCK_ERR_OPERATION_ABORTED);
    asock_t_drain(loop, 2000);
    assert_int_equal(ra.calls, 1);
    assert_int_equal(rb.calls, 1);

    /* the peer of the closed socket sees the close (FIN or RST) */
    assert_int_equal(asock_t_wait_readable(pa, ASOCK_T_WAIT_MS), 1);
    char x;
    ssize_t n = recv(pa, &x, 1, MSG_DONTWAIT);
    assert_true(n == 0 || (n < 0 && errno == ECONNRESET));
    asock_socket_close(b);
    asock_t_close_fd(pa);
    asock_t_close_fd(pb);
    asock_t_end(loop);
}

/* ---- thread binding ---- */

struct thr {
    asock_loop *loop;
    pthread_barrier_t bar;
    int rc_after; /* asock_loop_run on the main thread after the worker ran the loop */
    int echo_ok;
};

static void noop_post(void *arg)
{
    (void)arg;
}

static void *worker(void *arg)
{
    struct thr *t = arg;
    /* the first run binds a SINGLE_ISSUER ring to this thread */
    tcp_echo(t->loop);
    asock_t_drain(t->loop, 2000);
    t->echo_ok = 1;
    pthread_barrier_wait(&t->bar); /* main tries the loop */
    pthread_barrier_wait(&t->bar);
    asock_t_end(t->loop); /* freed on the thread that ran it */
    return NULL;
}

static void loop_created_here_run_there(void **state)
{
    (void)state;
    struct thr t;
    memset(&t, 0, sizeof(t));
    t.loop = asock_t_loop();
    /* With DEFER_TASKRUN even a wait from another thread is refused; with SINGLE_ISSUER alone,
     * only a submission is. */
    bool bound = on_uring(t.loop) && (asock__uring_features(t.loop) & T_F_DEFER_TASKRUN);
    bool single = on_uring(t.loop) && (asock__uring_features(t.loop) & T_F_SINGLE_ISSUER);
    assert_int_equal(pthread_barrier_init(&t.bar, NULL, 2), 0);
    pthread_t th;
    assert_int_equal(pthread_create(&th, NULL, worker, &t), 0);
    pthread_barrier_wait(&t.bar);
    assert_int_equal(t.echo_ok, 1);
    /* a post is work, so the run below reaches the engine */
    assert_int_equal(asock_loop_post(t.loop, noop_post, NULL), 0);
    t.rc_after = asock_loop_run(t.loop, ASOCK_RUN_NOWAIT);
    pthread_barrier_wait(&t.bar);
    pthread_join(th, NULL);
    pthread_barrier_destroy(&t.bar);
    if (bound)
        assert_int_equal(t.rc_after, -EEXIST); /* bound to the worker */
    else if (single)
        assert_true(t.rc_after >= 0 || t.rc_after == -EEXIST);
    else
        assert_true(t.rc_after >= 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(chosen_engine),
        cmocka_unit_test(unavailable_falls_back),
        cmocka_unit_test(probe_is_stateless),
        cmocka_unit_test(disable_all_still_works),
        cmocka_unit_test(connect_timeout_link),
        cmocka_unit_test(connect_timeout_timer),
        cmocka_unit_test(connect_start),
        cmocka_unit_test(cancel_pending_recv),
        cmocka_unit_test(cancel_pending_recv_no_skip),
        cmocka_unit_test(timed_ops_link),
        cmocka_unit_test(timed_ops_timer),
        cmocka_unit_test(many_ops_ready),
        cmocka_unit_test(many_ops_closed),
        cmocka_unit_test(many_ops_closed_no_cancel_fd),
        cmocka_unit_test(nowait_makes_progress),
        cmocka_unit_test(close_from_other_callback),
        cmocka_unit_test(loop_created_here_run_there),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
