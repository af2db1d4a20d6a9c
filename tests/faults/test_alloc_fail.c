/* Allocation failure wherever the library allocates (src/core/alloc_test.h; STYLE.md habit 7,
 * curl's torture tests): each scenario runs with allocation N and every later one failing, for
 * N = 1, 2, ... until a run needs fewer than N allocations (it then ran clean).  In every run a
 * call either succeeds, or is refused with -ENOMEM and starts nothing; every started operation
 * completes exactly once (with success, NoBufferSpaceAvailable, or the error its failed
 * dependency gave); after the hook is turned off, the loop drains and frees with the descriptor
 * count back where it was (asock_t_end), and ASan/LSan builds see no leak.
 *
 * Scenarios: loop creation; a TCP exchange (listener, accept, connect with a timeout, options,
 * a four-part scatter/gather send, receive); posts; resolution of a literal, of a name and of an
 * SRV service through an in-test DNS server; connect by name; a cancelled resolution. */
#define _GNU_SOURCE 1
#include "dns_responder.h"

#include "core/alloc_test.h"

#include <errno.h>
#include <stdbool.h>

/* Bound on the N loop: a scenario that still fails after this many is a bug (an allocation
 * count that never converges). */
#define N_MAX 2000

struct run {
    long n;
    long made; /* allocations the scenario attempted */
    int refused, failed_ops, ok_ops;
};

typedef void scenario_fn(asock_loop *loop, struct run *r);

static asock_loop *dns_loop_for_test(void)
{
    static char server[64];
    snprintf(server, sizeof(server), "127.0.0.1:%u", (unsigned)g_srv.port);
    asock_loop_options o;
    memset(&o, 0, sizeof(o));
    o.dns_servers = server;
    o.dns_timeout_ms = 200;
    o.dns_tries = 1;
    return asock_t_loop_opts(&o);
}

/* Runs sc for N = 1.. until it makes fewer than N allocations.  Returns the number of runs. */
static long torture(const char *name, scenario_fn *sc)
{
    long n;
    int refused = 0, failed = 0;
    for (n = 1; n <= N_MAX; n++) {
        asock_loop *loop = dns_loop_for_test();
        struct run r;
        memset(&r, 0, sizeof(r));
        r.n = n;
        long before = asock__alloc_count();
        asock__alloc_fail_after(n);
        sc(loop, &r);
        asock__alloc_fail_after(-1);
        r.made = asock__alloc_count() - before;
        refused += r.refused;
        failed += r.failed_ops;
        asock_t_end(loop);
        if (r.made < n)
            break; /* nothing failed: the whole scenario ran clean */
    }
    if (n > N_MAX)
        fail_msg("%s: still failing after %d runs", name, N_MAX);
    fprintf(stderr,
            "# alloc failure, %s: %ld runs (allocation 1..%ld failing), %d calls refused "
            "with -ENOMEM, %d operations completed with an error, last run clean\n",
            name, n, n - 1, refused, failed);
    return n;
}

/* A started call: 1 pending, 0 done, or refused with -ENOMEM (counted).  false if refused. */
static bool started(struct run *r, int rc)
{
    if (rc < 0) {
        if (rc != -ENOMEM)
            fail_msg("run %ld: a call was refused with %d (%s), not -ENOMEM", r->n, rc,
                     asock_strerror(rc));
        r->refused++;
        return false;
    }
    assert_true(rc == 0 || rc == 1);
    return true;
}

/* Waits for a tracker started with rc (0 or 1) and counts its outcome. */
static void finished(asock_loop *loop, struct run *r, asock_t_op *op, int rc)
{
    if (rc == 1)
        asock_t_wait(loop, op, ASOCK_T_WAIT_MS);
    asock_t_op_check(op);
    if (op->e.socket_error == ASOCK_SUCCESS)
        r->ok_ops++;
    else
        r->failed_ops++;
}

/* ---- scenarios ---- */

static void sc_loop_new(asock_loop *loop, struct run *r)
{
    (void)loop;
    asock_loop *l2 = NULL;
    int rc = asock_loop_new(&l2, NULL);
    if (started(r, rc)) {
        assert_non_null(l2);
        /* a second loop gets its resolver and a post too */
        asock__alloc_fail_after(-1);
        asock_loop_free(l2);
    } else {
        assert_null(l2);
    }
}

static void sc_tcp(asock_loop *loop, struct run *r)
{
    asock_socket *lst = NULL, *c = NULL;
    asock_endpoint any;
    asock_t_ep(&any, "127.0.0.1", 0);
    if (!started(r, asock_socket_open(loop, AF_INET, SOCK_STREAM, 0, &lst)))
        return;
    assert_int_equal(asock_socket_bind(lst, &any), 0);
    assert_int_equal(asock_socket_listen(lst, 16), 0);
    uint16_t port = asock_t_local_port(lst);
    asock_t_op acc, con, tx, rx;
    asock_t_op_init(&acc);
    asock_t_op_init(&con);
    asock_t_op_init(&tx);
    asock_t_op_init(&rx);
    int acc_rc = asock_t_start(&acc, asock_accept_async, lst);
    bool acc_ok = started(r, acc_rc);
    if (!started(r, asock_socket_open(loop, AF_INET, SOCK_STREAM, 0, &c)))
        goto out;
    int orc = asock_socket_set_option(c, ASOCK_OPT_NO_DELAY, 1);
    if (orc != 0)
        assert_int_equal(orc, -ENOMEM);
    asock_t_ep(&con.e.remote_endpoint, "127.0.0.1", port);
    con.e.connect_timeout_ms = 3000; /* a timer: the heap may have to grow */
    int rc = asock_t_start(&con, asock_connect_async, c);
    if (!started(r, rc))
        goto out;
    finished(loop, r, &con, rc);
    if (con.e.socket_error != ASOCK_SUCCESS)
        goto out;
    static char parts[4][8] = {"abcd", "efgh", "ijkl", "mnop"};
    struct iovec iov[4];
    for (int i = 0; i < 4; i++) {
        iov[i].iov_base = parts[i];
        iov[i].iov_len = 4;
    }
    tx.e.buffer_list = iov; /* more than two entries: copied, an allocation */
    tx.e.buffer_list_count = 4;
    rc = asock_t_start(&tx, asock_send_async, c);
    bool sent = false;
    if (started(r, rc)) {
        finished(loop, r, &tx, rc);
        sent = tx.e.socket_error == ASOCK_SUCCESS;
    }
    if (acc_ok) {
        finished(loop, r, &acc, acc_rc);
        acc_ok = false;
        if (acc.e.socket_error == ASOCK_SUCCESS && sent) {
            char buf[16];
            asock_args_set_buffer(&rx.e, buf, 0, sizeof(buf));
            rc = asock_t_start(&rx, asock_receive_async, acc.e.accept_socket);
            if (started(r, rc))
                finished(loop, r, &rx, rc);
        }
        if (acc.e.accept_socket != NULL)
            asock_socket_close(acc.e.accept_socket);
    }
out:
    if (c != NULL)
        asock_socket_close(c);
    asock_socket_close(lst);
    if (acc_ok) {
        finished(loop, r, &acc, acc_rc);
        if (acc.e.accept_socket != NULL)
            asock_socket_close(acc.e.accept_socket);
    }
}

static int g_posted;

static void posted(void *arg)
{
    (void)arg;
    g_posted++;
}

static void sc_post(asock_loop *loop, struct run *r)
{
    g_posted = 0;
    int ok = 0;
    for (int i = 0; i < 8; i++) {
        if (started(r, asock_loop_post(loop, posted, NULL)))
            ok++;
    }
    asock_t_drain(loop, ASOCK_T_WAIT_MS);
    assert_int_equal(g_posted, ok); /* each accepted post ran once, the refused ones never */
}

struct res_rec {
    int calls;
    asock_socket_error err;
};

static void on_res(asock_resolve *req, const asock_resolve_result *res, void *user)
{
    (void)req;
    struct res_rec *rr = user;
    rr->calls++;
    rr->err = res->error;
    assert_true((res->count > 0) == (res->error == ASOCK_SUCCESS));
}

static void resolve_one(asock_loop *loop, struct run *r, const char *host, const char *service,
                        bool cancel)
{
    struct res_rec rr = {0, ASOCK_SUCCESS};
    asock_resolve_hints h;
    memset(&h, 0, sizeof(h));
    h.timeout_ms = 3000;
    asock_resolve *req = NULL;
    int rc = asock_resolve_async(loop, host, service, &h, on_res, &rr, &req);
    if (!started(r, rc))
        return;
    assert_int_equal(rc, 0);
    if (cancel)
        asock_resolve_cancel(req);
    uint64_t t0 = asock_t_now_ms();
    while (rr.calls == 0 && asock_t_now_ms() - t0 < 5000)
        asock_loop_run(loop, ASOCK_RUN_ONCE);
    assert_int_equal(rr.calls, 1);
    if (rr.err == ASOCK_SUCCESS) {
        r->ok_ops++;
    } else {
        r->failed_ops++;
        /* out of memory, or what a failed step below reported */
        if (cancel)
            assert_int_equal(rr.err, ASOCK_ERR_OPERATION_ABORTED);
    }
}

static void sc_resolve_literal(asock_loop *loop, struct run *r)
{
    resolve_one(loop, r, "127.0.0.1", "80", false);
    resolve_one(loop, r, "::1", "http", false);
}

static void sc_resolve_name(asock_loop *loop, struct run *r)
{
    resolve_one(loop, r, "host.test", "80", false);
}

static void sc_resolve_srv(asock_loop *loop, struct run *r)
{
    resolve_one(loop, r, "srv.test", "fuzzsvc", false);
}

static void sc_resolve_cancel(asock_loop *loop, struct run *r)
{
    resolve_one(loop, r, "host.test", "80", true);
}

static uint16_t g_okport;
static int g_lfd = -1;

/* Accepts and drops whatever connected to the shared listener meanwhile. */
static void drain_listener(void)
{
    while (asock_t_wait_readable(g_lfd, 0) == 1) {
        int fd = accept(g_lfd, NULL, NULL);
        if (fd < 0)
            break;
        close(fd);
    }
}

static void sc_connect_name(asock_loop *loop, struct run *r)
{
    asock_t_op op;
    asock_t_op_init(&op);
    assert_int_equal(asock_endpoint_dns(&op.e.remote_endpoint, "host.test", g_okport, AF_UNSPEC),
                     0);
    op.e.connect_timeout_ms = 3000;
    asock_t_call_begin(&op);
    int rc = asock_t_call_end(&op, asock_loop_connect_async(loop, SOCK_STREAM, 0, &op.e));
    if (!started(r, rc))
        return;
    finished(loop, r, &op, rc);
    if (op.e.connect_socket != NULL)
        asock_socket_close(op.e.connect_socket);
    drain_listener();
}

static void sc_connect_service(asock_loop *loop, struct run *r)
{
    asock_socket *s = NULL;
    if (!started(r, asock_socket_open(loop, AF_INET, SOCK_STREAM, 0, &s)))
        return;
    asock_t_op op;
    asock_t_op_init(&op);
    op.e.connect_timeout_ms = 3000;
    asock_t_call_begin(&op);
    int rc = asock_t_call_end(&op, asock_connect_service_async(s, "srv.test", "fuzzsvc", &op.e));
    if (started(r, rc))
        finished(loop, r, &op, rc);
    asock_socket_close(s);
    drain_listener();
}

/* ---- the tests ---- */

static int setup(void **state)
{
    server_setup(state);
    g_lfd = asock_t_tcp_listener(AF_INET, "127.0.0.1", &g_okport);
    g_srv.srv_port = g_okport;
    atomic_store(&g_srv.mode, M_OK);
    return 0;
}

static int teardown(void **state)
{
    close(g_lfd);
    return server_teardown(state);
}

static void alloc_loop_new(void **state)
{
    (void)state;
    torture("asock_loop_new", sc_loop_new);
}

static void alloc_tcp(void **state)
{
    (void)state;
    torture("TCP listen/accept/connect/send/receive", sc_tcp);
}

static void alloc_post(void **state)
{
    (void)state;
    torture("asock_loop_post", sc_post);
}

static void alloc_resolve(void **state)
{
    (void)state;
    torture("resolve literals", sc_resolve_literal);
    torture("resolve a name (DNS)", sc_resolve_name);
    torture("resolve an SRV service (DNS)", sc_resolve_srv);
    torture("resolve, then cancel", sc_resolve_cancel);
}

static void alloc_connect_name(void **state)
{
    (void)state;
    torture("connect by name (DNS)", sc_connect_name);
    torture("connect by service (SRV)", sc_connect_service);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(alloc_loop_new),     cmocka_unit_test(alloc_tcp),
        cmocka_unit_test(alloc_post),         cmocka_unit_test(alloc_resolve),
        cmocka_unit_test(alloc_connect_name),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
