/* asock_resolve_async against the fixture's dnsmasq (and a silent server): names to IPv4 and
 * IPv6, CNAME, NXDOMAIN, NODATA, literals, the services database, SRV ordering, timeouts,
 * cancellation, and a loop that keeps serving while a lookup is slow (SPEC S12, D2, D3;
 * errors.md resolver mapping). */
#define _GNU_SOURCE 1
#include "net.h"
#include "dns_env.h"

#include <ares.h>
#include <netdb.h>

static asock_resolve_hints hints_of(int family, int socktype)
{
    asock_resolve_hints h;
    memset(&h, 0, sizeof(h));
    h.family = family;
    h.socktype = socktype;
    return h;
}

/* A name with only an A record -> IPv4; the call never completes inside itself. */
static void name_to_ipv4(void **state)
{
    (void)state;
    asock_loop *loop = dns_loop();
    dns_rec r;
    dns_resolve(loop, &r, "svc1.test", "80", AF_UNSPEC, SOCK_STREAM);
    assert_res_err(&r, ASOCK_SUCCESS);
    assert_int_equal(r.code, ARES_SUCCESS);
    assert_int_equal(r.count, 1);
    assert_ep(&r, 0, "127.0.0.2:80");
    assert_string_equal(r.target[0], "svc1.test");
    assert_int_equal(r.source, ASOCK_SERVICE_NUMBER);

    dns_resolve(loop, &r, "svc1.test", "80", AF_INET, SOCK_STREAM);
    assert_res_err(&r, ASOCK_SUCCESS);
    assert_ep(&r, 0, "127.0.0.2:80");
    asock_t_end(loop);
}

/* AAAA only -> IPv6; both -> IPv6 first, then IPv4 (RFC 8305 §4 interleaving, ::1 routable). */
static void name_to_ipv6(void **state)
{
    (void)state;
    asock_loop *loop = dns_loop();
    dns_rec r;
    dns_resolve(loop, &r, "v6only.test", "443", AF_UNSPEC, SOCK_STREAM);
    assert_res_err(&r, ASOCK_SUCCESS);
    assert_int_equal(r.count, 1);
    assert_ep(&r, 0, "[::1]:443");

    dns_resolve(loop, &r, "svc2.test", "5000", AF_UNSPEC, SOCK_STREAM);
    assert_res_err(&r, ASOCK_SUCCESS);
    assert_int_equal(r.count, 2);
    assert_ep(&r, 0, "[::1]:5000");
    assert_ep(&r, 1, "127.0.0.3:5000");

    dns_resolve(loop, &r, "svc2.test", "5000", AF_INET6, SOCK_STREAM);
    assert_res_err(&r, ASOCK_SUCCESS);
    assert_int_equal(r.count, 1);
    assert_ep(&r, 0, "[::1]:5000");

    /* a CNAME is followed */
    dns_resolve(loop, &r, "alias.test", "1", AF_INET, SOCK_STREAM);
    assert_res_err(&r, ASOCK_SUCCESS);
    assert_ep(&r, 0, "127.0.0.1:1");

    /* a wildcard domain */
    dns_resolve(loop, &r, "a.b.wild.test", "2", AF_UNSPEC, SOCK_DGRAM);
    assert_res_err(&r, ASOCK_SUCCESS);
    assert_ep(&r, 0, "127.0.0.4:2");
    asock_t_end(loop);
}

/* NXDOMAIN -> HOST_NOT_FOUND; no record of that family -> NO_DATA; the c-ares code beside. */
static void nxdomain_and_nodata(void **state)
{
    (void)state;
    asock_loop *loop = dns_loop();
    dns_rec r;
    dns_resolve(loop, &r, "nosuch.test", "80", AF_UNSPEC, SOCK_STREAM);
    assert_res_err(&r, ASOCK_ERR_HOST_NOT_FOUND);
    assert_int_equal(r.code, ARES_ENOTFOUND);
    assert_true(r.detail[0] != '\0');

    dns_resolve(loop, &r, "svc1.test", "80", AF_INET6, SOCK_STREAM);
    assert_res_err(&r, ASOCK_ERR_NO_DATA);
    assert_int_equal(r.code, ARES_ENODATA);

    dns_resolve(loop, &r, "v6only.test", "80", AF_INET, SOCK_STREAM);
    assert_res_err(&r, ASOCK_ERR_NO_DATA);
    assert_int_equal(asock_resolve_error_from_status(ARES_ETIMEOUT), ASOCK_ERR_TRY_AGAIN);
    assert_int_equal(asock_resolve_error_from_status(ARES_ESERVFAIL), ASOCK_ERR_TRY_AGAIN);
    assert_int_equal(asock_resolve_error_from_status(ARES_EREFUSED), ASOCK_ERR_NO_RECOVERY);
    asock_t_end(loop);
}

/* Literals and numeric services need no DNS: a loop with a server that never answers still
 * resolves them, through the callback, from the loop. */
static void literals_without_traffic(void **state)
{
    (void)state;
    int silent;
    asock_loop *loop = dns_silent_loop(&silent, 5000, 3);
    dns_rec r;
    uint64_t t0 = dns_now_ms();
    dns_resolve(loop, &r, "127.0.0.9", "7", AF_UNSPEC, SOCK_STREAM);
    assert_res_err(&r, ASOCK_SUCCESS);
    assert_ep(&r, 0, "127.0.0.9:7");
    assert_string_equal(r.target[0], "127.0.0.9");

    dns_resolve(loop, &r, "::1", "echo", AF_UNSPEC, SOCK_DGRAM);
    assert_res_err(&r, ASOCK_SUCCESS);
    assert_ep(&r, 0, "[::1]:7");
    assert_int_equal(r.source, ASOCK_SERVICE_DATABASE);

    /* .NET: an IPv4 literal asked as IPv6 has no usable address -> NoData */
    dns_resolve(loop, &r, "127.0.0.1", "80", AF_INET6, SOCK_STREAM);
    assert_res_err(&r, ASOCK_ERR_NO_DATA);

    /* an SRV service on a literal cannot be looked up */
    dns_resolve(loop, &r, "127.0.0.1", "nosuchservice", AF_UNSPEC, SOCK_STREAM);
    assert_res_err(&r, ASOCK_ERR_HOST_NOT_FOUND);
    assert_true(dns_now_ms() - t0 < 1000);
    asock_t_end(loop);
    asock_t_close_fd(silent);
}

/* D3: services database with the socket's protocol.  ntp is udp-only, echo is tcp and udp. */
static void services_database(void **state)
{
    (void)state;
    asock_loop *loop = dns_loop();
    dns_rec r;
    dns_resolve(loop, &r, "svc1.test", "ntp", AF_UNSPEC, SOCK_DGRAM);
    assert_res_err(&r, ASOCK_SUCCESS);
    assert_ep(&r, 0, "127.0.0.2:123");
    assert_int_equal(r.source, ASOCK_SERVICE_DATABASE);

    /* ntp has no tcp entry: a stream socket goes on to SRV _ntp._tcp.svc1.test: NXDOMAIN */
    dns_resolve(loop, &r, "svc1.test", "ntp", AF_UNSPEC, SOCK_STREAM);
    assert_res_err(&r, ASOCK_ERR_HOST_NOT_FOUND);
    assert_int_equal(r.source, ASOCK_SERVICE_SRV);

    dns_resolve(loop, &r, "svc1.test", "echo", AF_UNSPEC, SOCK_STREAM);
    assert_res_err(&r, ASOCK_SUCCESS);
    assert_ep(&r, 0, "127.0.0.2:7");
    dns_resolve(loop, &r, "svc1.test", "echo", AF_UNSPEC, SOCK_DGRAM);
    assert_res_err(&r, ASOCK_SUCCESS);
    assert_ep(&r, 0, "127.0.0.2:7");

    /* syslog 514/udp only; http 80/tcp only */
    dns_resolve(loop, &r, "svc1.test", "syslog", AF_INET, SOCK_DGRAM);
    assert_res_err(&r, ASOCK_SUCCESS);
    assert_ep(&r, 0, "127.0.0.2:514");
    dns_resolve(loop, &r, "svc1.test", "http", AF_INET, SOCK_STREAM);
    assert_res_err(&r, ASOCK_SUCCESS);
    assert_ep(&r, 0, "127.0.0.2:80");

    /* with NO_SRV, a name outside the database is not found, without DNS */
    asock_resolve_hints h = hints_of(AF_UNSPEC, SOCK_STREAM);
    h.flags = ASOCK_RESOLVE_NO_SRV;
    dns_start(loop, &r, "svc1.test", "ntp", &h);
    dns_wait(loop, &r, 5000);
    assert_res_err(&r, ASOCK_ERR_HOST_NOT_FOUND);
    asock_t_end(loop);
}

/* Refused calls: nothing starts, no callback. */
static void bad_arguments(void **state)
{
    (void)state;
    asock_loop *loop = dns_loop();
    dns_rec r;
    memset(&r, 0, sizeof(r));
    asock_resolve *req = (asock_resolve *)&r;
    assert_int_equal(asock_resolve_async(loop, "svc1.test", "0", NULL, dns_rec_cb, &r, &req),
                     -EINVAL);
    assert_null(req);
    assert_int_equal(asock_resolve_async(loop, "svc1.test", "65536", NULL, dns_rec_cb, &r, NULL),
                     -EINVAL);
    assert_int_equal(asock_resolve_async(loop, "svc1.test", "", NULL, dns_rec_cb, &r, NULL),
                     -EINVAL);
    assert_int_equal(asock_resolve_async(loop, "svc1.test", NULL, NULL, dns_rec_cb, &r, NULL),
                     -EINVAL);
    assert_int_equal(asock_resolve_async(loop, "svc1.test", "a b", NULL, dns_rec_cb, &r, NULL),
                     -EINVAL);
    assert_int_equal(asock_resolve_async(loop, "", "80", NULL, dns_rec_cb, &r, NULL), -EINVAL);
    assert_int_equal(asock_resolve_async(loop, NULL, "80", NULL, dns_rec_cb, &r, NULL), -EINVAL);
    assert_int_equal(asock_resolve_async(loop, "bad host!", "80", NULL, dns_rec_cb, &r, NULL),
                     -EINVAL);
    assert_int_equal(asock_resolve_async(loop, "svc1.test", "80", NULL, NULL, &r, NULL), -EINVAL);
    asock_resolve_hints h = hints_of(AF_UNIX, 0);
    assert_int_equal(asock_resolve_async(loop, "svc1.test", "80", &h, dns_rec_cb, &r, NULL),
                     -EINVAL);
    h = hints_of(AF_UNSPEC, 0);
    h.flags = ASOCK_RESOLVE_NUMERIC_HOST;
    assert_int_equal(asock_resolve_async(loop, "svc1.test", "80", &h, dns_rec_cb, &r, NULL),
                     -EINVAL);
    assert_int_equal(r.calls, 0);

    /* PASSIVE: no host -> wildcards; "0" and "" are port 0 */
    h = hints_of(AF_UNSPEC, SOCK_DGRAM);
    h.flags = ASOCK_RESOLVE_PASSIVE;
    dns_start(loop, &r, NULL, "0", &h);
    dns_wait(loop, &r, 5000);
    assert_res_err(&r, ASOCK_SUCCESS);
    assert_int_equal(r.count, 2);
    assert_ep(&r, 0, "[::]:0");
    assert_ep(&r, 1, "0.0.0.0:0");

    /* PASSIVE with no host: a service name found nowhere cannot fall back to SRV (no host to
     * ask about): HOST_NOT_FOUND, never a silent port 0 */
    dns_start(loop, &r, NULL, "no-such-service-x", &h);
    dns_wait(loop, &r, 5000);
    assert_res_err(&r, ASOCK_ERR_HOST_NOT_FOUND);
    /* ... while a services-database name still gives its port */
    dns_start(loop, &r, NULL, "ntp", &h);
    dns_wait(loop, &r, 5000);
    assert_res_err(&r, ASOCK_SUCCESS);
    assert_ep(&r, 0, "[::]:123");
    asock_t_end(loop);
}

/* ---- SRV (RFC 2782) ---- */

struct seq_rng {
    const uint32_t *v;
    size_t n, i;
};

static uint32_t seq_next(void *user)
{
    struct seq_rng *s = user;
    uint32_t x = s->v[s->i % s->n];
    s->i++;
    return x;
}

/* Priority ascending; within priority 10 the weighted draw decides: with the records sorted
 * (weight 40: svc2.test:5002, then weight 60: svc1.test:5001) a draw x in [0, 100] picks svc2
 * when x <= 40, else svc1.  Each target's addresses follow one another (svc2: ::1 then
 * 127.0.0.3). */
static void srv_priority_order(void **state)
{
    (void)state;
    asock_loop *loop = dns_loop();
    struct seq_rng rng = {(const uint32_t[]){90}, 1, 0};
    assert_int_equal(asock_resolve_set_random(loop, seq_next, &rng), 0);
    dns_rec r;
    dns_resolve(loop, &r, "svc.test", "echo2", AF_UNSPEC, SOCK_DGRAM);
    assert_res_err(&r, ASOCK_SUCCESS);
    assert_int_equal(r.source, ASOCK_SERVICE_SRV);
    assert_int_equal(r.count, 4);
    assert_ep(&r, 0, "127.0.0.2:5001");
    assert_string_equal(r.target[0], "svc1.test");
    assert_int_equal(r.group[0], 0);
    assert_ep(&r, 1, "[::1]:5002");
    assert_ep(&r, 2, "127.0.0.3:5002");
    assert_int_equal(r.group[1], 1);
    assert_int_equal(r.group[2], 1);
    assert_ep(&r, 3, "127.0.0.2:5003"); /* priority 20 last */
    assert_int_equal(r.group[3], 2);
    assert_int_equal(rng.i, 1); /* one draw: the second record of a group of two is forced */

    rng.v = (const uint32_t[]){40};
    rng.i = 0;
    dns_resolve(loop, &r, "svc.test", "echo2", AF_INET, SOCK_DGRAM);
    assert_res_err(&r, ASOCK_SUCCESS);
    assert_int_equal(r.count, 3);
    assert_ep(&r, 0, "127.0.0.3:5002");
    assert_ep(&r, 1, "127.0.0.2:5001");
    assert_ep(&r, 2, "127.0.0.2:5003");
    asock_t_end(loop);
}

/* Weight distribution: x = 0..100 once each gives svc2 (weight 40) first 41 times and svc1
 * (weight 60) first 60 times: exactly the RFC 2782 proportions over [0, sum]. */
static void srv_weight_distribution(void **state)
{
    (void)state;
    asock_loop *loop = dns_loop();
    uint32_t x = 0;
    struct seq_rng rng = {&x, 1, 0};
    assert_int_equal(asock_resolve_set_random(loop, seq_next, &rng), 0);
    int first_svc2 = 0, first_svc1 = 0;
    for (x = 0; x <= 100; x++) {
        dns_rec r;
        dns_resolve(loop, &r, "svc.test", "echo2", AF_INET, SOCK_DGRAM);
        assert_res_err(&r, ASOCK_SUCCESS);
        if (strcmp(r.target[0], "svc2.test") == 0)
            first_svc2++;
        else if (strcmp(r.target[0], "svc1.test") == 0 && asock_endpoint_port(&r.ep[0]) == 5001)
            first_svc1++;
    }
    assert_int_equal(first_svc2, 41);
    assert_int_equal(first_svc1, 60);
    asock_resolve_set_random(loop, NULL, NULL);
    asock_t_end(loop);
}

/* A lone target "." (dnsmasq's --srv-host with no target): decidedly not available. */
static void srv_not_available(void **state)
{
    (void)state;
    asock_loop *loop = dns_loop();
    dns_rec r;
    dns_resolve(loop, &r, "svc.test", "gone", AF_UNSPEC, SOCK_DGRAM);
    assert_res_err(&r, ASOCK_ERR_HOST_NOT_FOUND);
    assert_int_equal(r.source, ASOCK_SERVICE_SRV);

    /* no such SRV name */
    dns_resolve(loop, &r, "svc.test", "nosuchservice", AF_UNSPEC, SOCK_DGRAM);
    assert_res_err(&r, ASOCK_ERR_HOST_NOT_FOUND);
    assert_int_equal(r.code, ARES_ENOTFOUND);

    /* an SRV target that does not resolve */
    dns_resolve(loop, &r, "svc.test", "nohost", AF_UNSPEC, SOCK_STREAM);
    assert_res_err(&r, ASOCK_ERR_HOST_NOT_FOUND);
    asock_t_end(loop);
}

/* ---- timeouts, cancel, a slow lookup ---- */

/* The server never answers: c-ares times out (TRY_AGAIN, ARES_ETIMEOUT) after its tries. */
static void server_timeout(void **state)
{
    (void)state;
    int silent;
    asock_loop *loop = dns_silent_loop(&silent, 150, 2);
    dns_rec r;
    uint64_t t0 = dns_now_ms();
    dns_resolve(loop, &r, "svc1.test", "80", AF_UNSPEC, SOCK_STREAM);
    assert_res_err(&r, ASOCK_ERR_TRY_AGAIN);
    assert_int_equal(r.code, ARES_ETIMEOUT);
    uint64_t took = r.t_done - t0;
    assert_true(took >= 140);
    assert_true(took < 3000);

    /* hints.timeout_ms bounds the whole resolution: TIMED_OUT */
    asock_resolve_hints h = hints_of(AF_UNSPEC, SOCK_STREAM);
    h.timeout_ms = 100;
    t0 = dns_now_ms();
    dns_start(loop, &r, "svc1.test", "80", &h);
    dns_wait(loop, &r, 5000);
    assert_res_err(&r, ASOCK_ERR_TIMED_OUT);
    assert_true(r.t_done - t0 < 250);
    asock_t_end(loop);
    asock_t_close_fd(silent);
}

/* Cancel during resolution: the callback runs once, from the loop, with OPERATION_ABORTED. */
static void cancel_during_resolution(void **state)
{
    (void)state;
    int silent;
    asock_loop *loop = dns_silent_loop(&silent, 5000, 1);
    dns_rec r;
    asock_resolve_hints h = hints_of(AF_UNSPEC, SOCK_STREAM);
    dns_start(loop, &r, "svc1.test", "80", &h);
    /* let the queries go out */
    for (int i = 0; i < 5; i++)
        asock_loop_run(loop, ASOCK_RUN_NOWAIT);
    assert_int_equal(r.calls, 0);
    uint64_t t0 = dns_now_ms();
    r.inside = 1;
    asock_resolve_cancel(r.req);
    r.inside = 0;
    assert_int_equal(r.calls, 0);
    dns_wait(loop, &r, 1000);
    assert_res_err(&r, ASOCK_ERR_OPERATION_ABORTED);
    assert_true(r.t_done - t0 < 500);

    /* cancel of an SRV lookup too */
    h = hints_of(AF_UNSPEC, SOCK_DGRAM);
    dns_start(loop, &r, "svc.test", "echo2", &h);
    asock_loop_run(loop, ASOCK_RUN_NOWAIT);
    asock_resolve_cancel(r.req);
    dns_wait(loop, &r, 1000);
    assert_res_err(&r, ASOCK_ERR_OPERATION_ABORTED);

    /* freeing the loop with a lookup pending completes it (inside asock_loop_free) */
    dns_start(loop, &r, "svc2.test", "80", &h);
    asock_loop_run(loop, ASOCK_RUN_NOWAIT);
    asock_t_close_fd(silent);
    int fds = asock_t_fd_count();
    asock_loop_free(loop);
    assert_int_equal(r.calls, 1);
    assert_res_err(&r, ASOCK_ERR_OPERATION_ABORTED);
    assert_true(asock_t_fd_count() < fds); /* the loop's and c-ares's descriptors are gone */
}

struct echo_state {
    asock_t_op rx;
    int rounds;
    int peer;
};

/* A lookup that hangs on a silent server while the loop serves a TCP connection: 20 round trips
 * complete long before the lookup ends. */
static void loop_serves_while_lookup_is_slow(void **state)
{
    (void)state;
    int silent;
    asock_loop *loop = dns_silent_loop(&silent, 1500, 1);
    dns_rec r;
    asock_resolve_hints h = hints_of(AF_UNSPEC, SOCK_STREAM);
    uint64_t t0 = dns_now_ms();
    dns_start(loop, &r, "svc1.test", "80", &h);

    asock_socket *client = NULL;
    int peer = -1;
    asock_t_connected_pair(loop, AF_INET, &client, &peer);
    asock_t_op op;
    asock_t_op_init(&op);
    for (int i = 0; i < 20; i++) {
        char out = (char)('a' + i), in = 0;
        asock_t_write_all(peer, &out, 1);
        assert_int_equal(asock_args_set_buffer(&op.e, &in, 0, 1), 0);
        asock_t_do(loop, &op, asock_receive_async, client);
        asock_t_assert_err(&op.e, ASOCK_SUCCESS);
        assert_int_equal(in, out);
    }
    uint64_t served = dns_now_ms() - t0;
    assert_int_equal(r.calls, 0); /* still resolving */
    assert_true(served < 1000);
    dns_wait(loop, &r, 5000);
    assert_res_err(&r, ASOCK_ERR_TRY_AGAIN);
    asock_socket_close(client);
    asock_t_close_fd(peer);
    asock_t_end(loop);
    asock_t_close_fd(silent);
}

/* asock_loop_new checks dns_servers: a malformed list is refused with -EINVAL before any lookup
 * (it used to fail every lookup later with NO_RECOVERY); the accepted forms all resolve. */
static void bad_dns_servers(void **state)
{
    (void)state;
    static const char *const bad[] = {"not an address",
                                      "",
                                      " 127.0.0.1",
                                      "127.0.0.1, 127.0.0.2",
                                      "127.0.0.1,,127.0.0.2",
                                      "127.0.0.1,",
                                      ",127.0.0.1",
                                      "127.0.0.1:0",
                                      "127.0.0.1:70000",
                                      "127.0.0.1:",
                                      "1.2.3.4:53a",
                                      "fe80::1%lo",
                                      "[fe80::1%lo]:53",
                                      "[::1",
                                      "[127.0.0.1]:53",
                                      "[::1]x",
                                      "host.test:53",
                                      "127.0.0.1:123456",
                                      "::1:53x"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        asock_loop_options o;
        memset(&o, 0, sizeof(o));
        o.dns_servers = bad[i];
        asock_loop *loop = (asock_loop *)(uintptr_t)1;
        int rc = asock_loop_new(&loop, &o);
        if (rc != -EINVAL)
            fail_msg("dns_servers \"%s\": rc %d, want -EINVAL", bad[i], rc);
        assert_null(loop);
    }
    /* the accepted forms, each pointing at the test's DNS server, answer */
    const char *srv = dns_server();
    char good[3][160];
    snprintf(good[0], sizeof(good[0]), "%s", srv);
    snprintf(good[1], sizeof(good[1]), "[::1]:1,%s", srv);     /* ::1:1 refuses; the next answers */
    snprintf(good[2], sizeof(good[2]), "::1,%s,%s", srv, srv); /* a bare IPv6: port 53 */
    for (size_t i = 0; i < 3; i++) {
        asock_loop_options o;
        memset(&o, 0, sizeof(o));
        o.dns_servers = good[i];
        o.dns_timeout_ms = 300;
        asock_loop *loop = asock_t_loop_opts(&o);
        dns_rec r;
        dns_resolve(loop, &r, "svc1.test", "80", AF_UNSPEC, SOCK_STREAM);
        assert_res_err(&r, ASOCK_SUCCESS);
        asock_t_end(loop);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(name_to_ipv4),
        cmocka_unit_test(name_to_ipv6),
        cmocka_unit_test(nxdomain_and_nodata),
        cmocka_unit_test(literals_without_traffic),
        cmocka_unit_test(services_database),
        cmocka_unit_test(bad_arguments),
        cmocka_unit_test(srv_priority_order),
        cmocka_unit_test(srv_weight_distribution),
        cmocka_unit_test(srv_not_available),
        cmocka_unit_test(server_timeout),
        cmocka_unit_test(cancel_during_resolution),
        cmocka_unit_test(loop_serves_while_lookup_is_slow),
        cmocka_unit_test(bad_dns_servers),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
