/* DNS servers that misbehave, against asock_resolve_async and connect by name: a tiny in-test
 * UDP responder (a thread with a plain socket on 127.0.0.1) that never answers, answers garbage,
 * answers with TC set and no TCP behind it, answers cut off mid-record, answers with another
 * query's ID, or answers SERVFAIL / REFUSED.  Each case runs ASOCK_FAULTS_REPEAT times (default
 * 10) for a host lookup, an SRV lookup and a connect by name; every request must complete
 * exactly once, with the SocketError below, within its bound, leaving no descriptor behind.
 *
 *   silent      TryAgain (c-ares ETIMEOUT)
 *   garbage     TryAgain (c-ares drops what does not parse, then times out)
 *   wrong id    TryAgain (dropped as not ours)
 *   truncated   TryAgain (TC: c-ares retries over TCP, nobody listens: ECONNREFUSED)
 *   cut short   NoRecovery (c-ares EBADRESP)
 *   servfail    TryAgain
 *   refused     TryAgain (c-ares 1.18 turns REFUSED into ECONNREFUSED after the last server) */
#define _GNU_SOURCE 1
#include "net.h"

#include "dns_responder.h"

#include <errno.h>
#include <unistd.h>

static int g_repeat = 10;

static asock_loop *fault_loop(void)
{
    static char server[64];
    snprintf(server, sizeof(server), "127.0.0.1:%u", (unsigned)g_srv.port);
    asock_loop_options o;
    memset(&o, 0, sizeof(o));
    o.dns_servers = server;
    o.dns_timeout_ms = 100;
    o.dns_tries = 2;
    return asock_t_loop_opts(&o);
}

struct rec {
    int calls;
    asock_socket_error err;
    int code;
    size_t count;
};

static void on_resolved(asock_resolve *req, const asock_resolve_result *res, void *user)
{
    (void)req;
    struct rec *r = user;
    r->calls++;
    r->err = res->error;
    r->code = res->resolver_code;
    r->count = res->count;
}

static void resolve_once(asock_loop *loop, const char *host, const char *service,
                         asock_socket_error want)
{
    struct rec r;
    memset(&r, 0, sizeof(r));
    asock_resolve_hints h;
    memset(&h, 0, sizeof(h));
    h.timeout_ms = 5000;
    asock_resolve *req = NULL;
    assert_int_equal(asock_resolve_async(loop, host, service, &h, on_resolved, &r, &req), 0);
    assert_int_equal(r.calls, 0);
    uint64_t t0 = asock_t_now_ms();
    while (r.calls == 0 && asock_t_now_ms() - t0 < 6000)
        asock_loop_run(loop, ASOCK_RUN_ONCE);
    assert_int_equal(r.calls, 1);
    if (r.err != want)
        fail_msg("%s %s: %s (c-ares %d), wanted %s", host, service, asock_socket_error_name(r.err),
                 r.code, asock_socket_error_name(want));
    assert_int_equal(r.count, 0);
    asock_t_spin(loop, 5);
    assert_int_equal(r.calls, 1);
}

static void connect_once(asock_loop *loop, asock_socket_error want)
{
    asock_t_op op;
    asock_t_op_init(&op);
    assert_int_equal(asock_endpoint_dns(&op.e.remote_endpoint, "conn.test", 9, AF_UNSPEC), 0);
    op.e.connect_timeout_ms = 5000;
    asock_t_call_begin(&op);
    int rc = asock_t_call_end(&op, asock_loop_connect_async(loop, SOCK_STREAM, 0, &op.e));
    asock_t_assert_rc(rc, 1);
    asock_t_wait(loop, &op, 6000);
    asock_t_assert_err(&op.e, want);
    assert_null(op.e.connect_socket);
    asock_t_op_check(&op);
}

static void run_mode(enum mode m, asock_socket_error want, const char *what)
{
    atomic_store(&g_srv.mode, (int)m);
    long q0 = atomic_load(&g_srv.queries);
    asock_loop *loop = fault_loop();
    uint64_t t0 = asock_t_now_ms();
    for (int i = 0; i < g_repeat; i++) {
        resolve_once(loop, "host.test", "80", want);
        resolve_once(loop, "srv.test", "fuzzsvc", want);
        connect_once(loop, want);
    }
    asock_t_end(loop);
    fprintf(stderr,
            "# DNS %s: %d host lookups, %d SRV lookups, %d connects by name -> %s "
            "(%ld queries, %llu ms)\n",
            what, g_repeat, g_repeat, g_repeat, asock_socket_error_name(want),
            atomic_load(&g_srv.queries) - q0, (unsigned long long)(asock_t_now_ms() - t0));
}

static void dns_silent(void **state)
{
    (void)state;
    run_mode(M_SILENT, ASOCK_ERR_TRY_AGAIN, "server never answers");
}

static void dns_garbage(void **state)
{
    (void)state;
    run_mode(M_GARBAGE, ASOCK_ERR_TRY_AGAIN, "garbage answers");
}

static void dns_wrong_id(void **state)
{
    (void)state;
    run_mode(M_WRONG_ID, ASOCK_ERR_TRY_AGAIN, "answers with a wrong ID");
}

static void dns_truncated(void **state)
{
    (void)state;
    run_mode(M_TRUNCATED, ASOCK_ERR_TRY_AGAIN, "truncated (TC, no TCP)");
}

static void dns_cut(void **state)
{
    (void)state;
    run_mode(M_CUT, ASOCK_ERR_NO_RECOVERY, "answers cut mid-record");
}

static void dns_servfail(void **state)
{
    (void)state;
    run_mode(M_SERVFAIL, ASOCK_ERR_TRY_AGAIN, "SERVFAIL");
}

static void dns_refused(void **state)
{
    (void)state;
    run_mode(M_REFUSED, ASOCK_ERR_TRY_AGAIN, "REFUSED");
}

int main(void)
{
    const char *r = getenv("ASOCK_FAULTS_REPEAT");
    if (r != NULL && atoi(r) > 0)
        g_repeat = atoi(r);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(dns_silent),   cmocka_unit_test(dns_garbage),
        cmocka_unit_test(dns_wrong_id), cmocka_unit_test(dns_truncated),
        cmocka_unit_test(dns_cut),      cmocka_unit_test(dns_servfail),
        cmocka_unit_test(dns_refused),
    };
    return cmocka_run_group_tests(tests, server_setup, server_teardown);
}
