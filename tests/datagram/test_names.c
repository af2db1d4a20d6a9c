/* D2 / D3 with real name services: remote host names through the fixture's dnsmasq; service
 * names through the services database (a local UDP server on the well-known port) and through
 * DNS SRV _SERVICE._udp.HOST (RFC 2782 order, made deterministic with an injected random
 * source); and the failures: unknown name, unknown service, SRV "service not available" (target
 * "."), a name that resolves to a multicast address (D9), a broadcast name. */
#include "dgram_test.h"

static void need_root(void)
{
    if (geteuid() != 0) {
        print_message("skipped: binding a well-known port (< 1024) needs root\n");
        skip();
    }
}

/* A fixed random draw for RFC 2782 weighted selection. */
static uint32_t fixed_draw(void *user)
{
    return *(const uint32_t *)user;
}

static void roundtrip(asock_loop *loop, asock_datagram *ds, dg_msgs *msgs, int peer,
                      const char *peer_addr, const char *want_port)
{
    asock_datagram_information info;
    assert_int_equal(asock_datagram_get_information(ds, &info), 0);
    assert_string_equal(info.remote_address, peer_addr);
    assert_string_equal(info.remote_port, want_port);
    dg_write(loop, asock_datagram_output_stream(ds), "by name");
    char buf[16];
    struct sockaddr_storage from;
    assert_int_equal(asock_t_recvfrom(peer, buf, sizeof(buf), DG_WAIT_MS, &from), 7);
    /* answer the sender: message-received shows the peer's numeric address */
    char addr[64];
    asock_t_sa_addr(&from, addr, sizeof(addr));
    asock_t_sendto(peer, "answer", 6, addr, asock_t_sa_port(&from));
    int before = msgs->count;
    dg_wait_msgs(loop, msgs, before + 1);
    assert_string_equal(msgs->from[before], peer_addr);
    assert_string_equal(msgs->port[before], want_port);
}

/* D2: a DNS name */
static void test_connect_host_name(void **state)
{
    (void)state;
    asock_loop *loop = dg_dns_loop();
    uint16_t pp = 0;
    int peer = asock_t_udp_socket(AF_INET, "127.0.0.2", &pp); /* svc1.test */
    char ps[8];
    dg_msgs msgs;
    asock_datagram *ds = dg_new(loop, &msgs);
    dg_run_ok(loop, asock_datagram_connect_host_async(ds, "svc1.test", dg_port(pp, ps, 8)));
    roundtrip(loop, ds, &msgs, peer, "127.0.0.2", ps);
    dg_close(loop, ds);
    asock_t_close_fd(peer);
    asock_t_end(loop);
}

/* D2 + D4: names on both halves of the pair */
static void test_pair_with_local_name(void **state)
{
    (void)state;
    asock_loop *loop = dg_dns_loop();
    uint16_t pp = 0;
    int peer = asock_t_udp_socket(AF_INET, "127.0.0.4", &pp); /* wild.test */
    char ps[8];
    asock_datagram *ds = dg_new(loop, NULL);
    /* svc1.test is 127.0.0.2: a local address (all of 127/8 is) */
    asock_endpoint_pair p = {"svc1.test", "", "a.b.wild.test", dg_port(pp, ps, 8)};
    dg_run_ok(loop, asock_datagram_connect_async(ds, &p));
    asock_datagram_information info;
    asock_datagram_get_information(ds, &info);
    assert_string_equal(info.local_address, "127.0.0.2");
    assert_string_equal(info.remote_address, "127.0.0.4");
    dg_write(loop, asock_datagram_output_stream(ds), "hi");
    struct sockaddr_storage from;
    char buf[8], addr[64];
    assert_int_equal(asock_t_recvfrom(peer, buf, sizeof(buf), DG_WAIT_MS, &from), 2);
    assert_string_equal(asock_t_sa_addr(&from, addr, sizeof(addr)), "127.0.0.2");
    dg_close(loop, ds);
    asock_t_close_fd(peer);
    asock_t_end(loop);
}

/* D3: services database names — ntp is UDP-only (123/udp), so this also proves the lookup uses
 * the datagram protocol; echo is 7/udp. */
static void test_services_database(void **state)
{
    (void)state;
    need_root();
    asock_loop *loop = dg_dns_loop();
    int ntp = dg_udp_at(AF_INET, "127.0.0.9", 123);
    int echo = dg_udp_at(AF_INET, "127.0.0.9", 7);
    dg_msgs msgs;
    asock_datagram *ds = dg_new(loop, &msgs);
    dg_run_ok(loop, asock_datagram_connect_host_async(ds, "127.0.0.9", "ntp"));
    roundtrip(loop, ds, &msgs, ntp, "127.0.0.9", "123");
    dg_close(loop, ds);
    asock_datagram *e = dg_new(loop, &msgs);
    asock_output_stream *os = NULL;
    dg_rec r;
    asock_async *op = asock_datagram_get_output_stream_async(e, "127.0.0.9", "echo");
    dg_ok(loop, &r, op);
    os = asock_async_result(op);
    asock_async_close(op);
    dg_write(loop, os, "echo");
    char buf[8];
    assert_int_equal(asock_t_recvfrom(echo, buf, sizeof(buf), DG_WAIT_MS, NULL), 4);
    dg_close(loop, e);
    asock_t_close_fd(ntp);
    asock_t_close_fd(echo);
    asock_t_end(loop);
}

/* D3: a name that is not in the services database is an SRV query _echo2._udp.svc.test:
 *   (svc1.test 5001 prio 10 w 60), (svc2.test 5002 prio 10 w 40), (svc1.test 5003 prio 20).
 * A draw of 90 puts svc1.test:5001 first, a draw of 40 svc2.test:5002 (its AAAA ::1 first). */
static void test_srv(void **state)
{
    (void)state;
    asock_loop *loop = dg_dns_loop();
    int p1 = dg_udp_at(AF_INET, "127.0.0.2", 5001);
    int p2v6 = dg_udp_at(AF_INET6, "::1", 5002);
    int p2v4 = dg_udp_at(AF_INET, "127.0.0.3", 5002);
    int p3 = dg_udp_at(AF_INET, "127.0.0.2", 5003);
    uint32_t draw = 90;
    assert_int_equal(asock_resolve_set_random(loop, fixed_draw, &draw), 0);
    dg_msgs msgs;
    asock_datagram *ds = dg_new(loop, &msgs);
    dg_run_ok(loop, asock_datagram_connect_host_async(ds, "svc.test", "echo2"));
    roundtrip(loop, ds, &msgs, p1, "127.0.0.2", "5001");
    dg_close(loop, ds);
    draw = 40;
    ds = dg_new(loop, &msgs);
    dg_run_ok(loop, asock_datagram_connect_host_async(ds, "svc.test", "echo2"));
    roundtrip(loop, ds, &msgs, p2v6, "::1", "5002");
    dg_close(loop, ds);
    /* an SRV destination stream (get_output_stream resolves the same way) */
    draw = 90;
    ds = dg_new(loop, NULL);
    dg_rec r;
    asock_async *op = asock_datagram_get_output_stream_async(ds, "svc.test", "echo2");
    dg_ok(loop, &r, op);
    dg_write(loop, asock_async_result(op), "srv");
    asock_async_close(op);
    char buf[8];
    assert_int_equal(asock_t_recvfrom(p1, buf, sizeof(buf), DG_WAIT_MS, NULL), 3);
    dg_close(loop, ds);
    asock_resolve_set_random(loop, NULL, NULL);
    asock_t_close_fd(p1);
    asock_t_close_fd(p2v6);
    asock_t_close_fd(p2v4);
    asock_t_close_fd(p3);
    asock_t_end(loop);
}

static void expect_connect_fails(asock_loop *loop, const char *host, const char *service,
                                 asock_socket_error want, asock_error_status want_status)
{
    asock_datagram *ds = dg_new(loop, NULL);
    int fds = asock_t_fd_count();
    dg_rec r;
    asock_async *op = asock_datagram_connect_host_async(ds, host, service);
    dg_fails(loop, &r, op, want, want_status);
    asock_async_close(op);
    assert_null(asock_datagram_socket(ds));
    assert_null(asock_datagram_output_stream(ds));
    assert_int_equal(asock_t_fd_count(), fds);
    dg_close(loop, ds);
}

static void test_name_failures(void **state)
{
    (void)state;
    asock_loop *loop = dg_dns_loop();
    /* no such name (NXDOMAIN) */
    expect_connect_fails(loop, "nosuch.test", "5000", ASOCK_ERR_HOST_NOT_FOUND,
                         ASOCK_STATUS_HOST_NOT_FOUND);
    /* a service with neither a services entry nor an SRV record */
    expect_connect_fails(loop, "svc.test", "nosuchsrv", ASOCK_ERR_HOST_NOT_FOUND,
                         ASOCK_STATUS_HOST_NOT_FOUND);
    /* SRV target "." : the service is decidedly not available (RFC 2782) */
    expect_connect_fails(loop, "svc.test", "gone", ASOCK_ERR_HOST_NOT_FOUND,
                         ASOCK_STATUS_HOST_NOT_FOUND);
    /* D9 by name: mcast.test is 239.1.2.3 */
    expect_connect_fails(loop, "mcast.test", "5000", ASOCK_ERR_HOST_NOT_FOUND,
                         ASOCK_STATUS_HOST_NOT_FOUND);
    /* an SRV name on an IP literal host (SRV needs a name) */
    expect_connect_fails(loop, "127.0.0.1", "nosuchsrv", ASOCK_ERR_HOST_NOT_FOUND,
                         ASOCK_STATUS_HOST_NOT_FOUND);
    /* svc1.test has no AAAA: a socket opened for IPv6 cannot use it */
    asock_datagram *ds = dg_new(loop, NULL);
    dg_run_ok(loop, asock_datagram_bind_endpoint_async(ds, "::1", NULL));
    dg_rec r;
    asock_async *op = asock_datagram_connect_host_async(ds, "svc1.test", "5000");
    dg_fails(loop, &r, op, ASOCK_ERR_ADDRESS_FAMILY_NOT_SUPPORTED,
             ASOCK_STATUS_ADDRESS_FAMILY_NOT_SUPPORTED);
    asock_async_close(op);
    dg_close(loop, ds);
    asock_t_end(loop);
}

/* A broadcast name connects (SO_BROADCAST is automatic in this layer) */
static void test_broadcast_name(void **state)
{
    (void)state;
    asock_loop *loop = dg_dns_loop();
    uint16_t port = 0;
    int rx = asock_t_udp_socket(AF_INET, "0.0.0.0", &port);
    char ps[8];
    asock_datagram *ds = dg_new(loop, NULL);
    dg_run_ok(loop, asock_datagram_connect_host_async(ds, "bcast.test", dg_port(port, ps, 8)));
    dg_write(loop, asock_datagram_output_stream(ds), "b");
    char buf[4];
    assert_int_equal(asock_t_recvfrom(rx, buf, sizeof(buf), DG_WAIT_MS, NULL), 1);
    dg_close(loop, ds);
    asock_t_close_fd(rx);
    asock_t_end(loop);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_connect_host_name), cmocka_unit_test(test_pair_with_local_name),
        cmocka_unit_test(test_services_database), cmocka_unit_test(test_srv),
        cmocka_unit_test(test_name_failures),     cmocka_unit_test(test_broadcast_name),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
