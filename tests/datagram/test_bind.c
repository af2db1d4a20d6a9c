/* D8: bind_endpoint_async and bind_service_name_async (with and without an adapter), and every
 * error of their tables: the call that fails, its error and status, and that nothing else was
 * disturbed.  Adapter binding across a real link is in test_netns.c. */
#include "dgram_test.h"

#include <net/if.h>

static char *bound_device(asock_datagram *ds, char *buf, size_t len)
{
    socklen_t l = (socklen_t)len;
    memset(buf, 0, len);
    assert_int_equal(getsockopt(asock_socket_fd(asock_datagram_socket(ds)), SOL_SOCKET,
                                SO_BINDTODEVICE, buf, &l),
                     0);
    return buf;
}

/* NULL local host: every address, IPv4 and IPv6 on one socket; IPv4 senders unmapped */
static void test_bind_wildcard(void **state)
{
    (void)state;
    asock_loop *loop = asock_t_loop();
    dg_msgs msgs;
    asock_datagram *ds = dg_new(loop, &msgs);
    dg_run_ok(loop, asock_datagram_bind_endpoint_async(ds, NULL, ""));
    asock_datagram_information info;
    assert_int_equal(asock_datagram_get_information(ds, &info), 0);
    assert_string_equal(info.local_address, "::");
    assert_string_equal(info.remote_address, "");
    uint16_t lport = dg_local_port(ds);
    assert_true(lport != 0);
    uint16_t p4 = 0, p6 = 0;
    int s4 = asock_t_udp_socket(AF_INET, "127.0.0.2", &p4);
    int s6 = asock_t_udp_socket(AF_INET6, "::1", &p6);
    asock_t_sendto(s4, "four", 4, "127.0.0.1", lport);
    dg_wait_msgs(loop, &msgs, 1);
    asock_t_sendto(s6, "six", 3, "::1", lport);
    dg_wait_msgs(loop, &msgs, 2);
    assert_string_equal(msgs.from[0], "127.0.0.2");
    assert_string_equal(msgs.local[0], "127.0.0.1");
    assert_string_equal(msgs.from[1], "::1");
    assert_string_equal(msgs.local[1], "::1");
    char ps[8];
    assert_string_equal(msgs.port[0], dg_port(p4, ps, 8));
    dg_close(loop, ds);
    asock_t_close_fd(s4);
    asock_t_close_fd(s6);
    asock_t_end(loop);
}

static void test_bind_address(void **state)
{
    (void)state;
    asock_loop *loop = asock_t_loop();
    dg_msgs msgs;
    asock_datagram *ds = dg_new(loop, &msgs);
    uint16_t want = asock_t_free_port(AF_INET, "127.0.0.7", SOCK_DGRAM);
    char ws[8];
    dg_run_ok(loop, asock_datagram_bind_endpoint_async(ds, "127.0.0.7", dg_port(want, ws, 8)));
    asock_datagram_information info;
    asock_datagram_get_information(ds, &info);
    assert_string_equal(info.local_address, "127.0.0.7");
    assert_string_equal(info.local_port, ws);
    uint16_t p = 0;
    int s = asock_t_udp_socket(AF_INET, "127.0.0.2", &p);
    asock_t_sendto(s, "hi", 2, "127.0.0.7", want);
    dg_wait_msgs(loop, &msgs, 1);
    assert_string_equal(msgs.local[0], "127.0.0.7");
    dg_close(loop, ds);
    asock_t_close_fd(s);
    asock_t_end(loop);
}

static void test_bind_errors(void **state)
{
    (void)state;
    asock_loop *loop = asock_t_loop();
    int fds = asock_t_fd_count();
    uint16_t taken = 0;
    int holder = asock_t_udp_socket(AF_INET, "127.0.0.1", &taken);
    char ts[8];
    dg_port(taken, ts, 8);
    asock_datagram *ds = dg_new(loop, NULL);
    dg_rec r;
    /* port in use -> AddressAlreadyInUse; the descriptor it opened is gone again */
    asock_async *op = asock_datagram_bind_endpoint_async(ds, "127.0.0.1", ts);
    dg_fails(loop, &r, op, ASOCK_ERR_ADDRESS_ALREADY_IN_USE, ASOCK_STATUS_ADDRESS_ALREADY_IN_USE);
    asock_async_close(op);
    assert_null(asock_datagram_socket(ds));
    asock_t_spin(loop, 5);
    assert_int_equal(asock_t_fd_count(), fds + 1);
    /* the holder was not disturbed */
    uint16_t pp = 0;
    int probe = asock_t_udp_socket(AF_INET, "127.0.0.2", &pp);
    asock_t_sendto(probe, "still", 5, "127.0.0.1", taken);
    char buf[8];
    assert_int_equal(asock_t_recvfrom(holder, buf, sizeof(buf), DG_WAIT_MS, NULL), 5);
    /* an address that is not local -> CannotAssignRequestedAddress */
    op = asock_datagram_bind_endpoint_async(ds, "203.0.113.9", NULL);
    dg_fails(loop, &r, op, ASOCK_ERR_ADDRESS_NOT_AVAILABLE,
             ASOCK_STATUS_CANNOT_ASSIGN_REQUESTED_ADDRESS);
    asock_async_close(op);
    /* a local host "" -> InvalidArgument (Unknown) */
    op = asock_datagram_bind_endpoint_async(ds, "", NULL);
    dg_fails(loop, &r, op, ASOCK_ERR_INVALID_ARGUMENT, ASOCK_STATUS_UNKNOWN);
    asock_async_close(op);
    /* a service that is neither a number nor in the services database (no SRV for the local
     * side) -> HostNotFound */
    op = asock_datagram_bind_endpoint_async(ds, NULL, "no-such-service-x");
    dg_fails(loop, &r, op, ASOCK_ERR_HOST_NOT_FOUND, ASOCK_STATUS_HOST_NOT_FOUND);
    asock_async_close(op);
    /* a TCP-only services entry does not bind a UDP socket */
    op = asock_datagram_bind_endpoint_async(ds, NULL, "http");
    dg_fails(loop, &r, op, ASOCK_ERR_HOST_NOT_FOUND, ASOCK_STATUS_HOST_NOT_FOUND);
    asock_async_close(op);
    /* none of that stuck: the socket binds, and a second bind is refused */
    dg_run_ok(loop, asock_datagram_bind_endpoint_async(ds, "127.0.0.1", NULL));
    op = asock_datagram_bind_endpoint_async(ds, "127.0.0.1", NULL);
    dg_fails(loop, &r, op, ASOCK_ERR_INVALID_ARGUMENT, ASOCK_STATUS_UNKNOWN);
    asock_async_close(op);
    op = asock_datagram_bind_service_name_async(ds, NULL, NULL);
    dg_fails(loop, &r, op, ASOCK_ERR_INVALID_ARGUMENT, ASOCK_STATUS_UNKNOWN);
    asock_async_close(op);
    assert_null(asock_datagram_bind_endpoint_async(NULL, NULL, NULL));
    dg_close(loop, ds);
    asock_t_close_fd(holder);
    asock_t_close_fd(probe);
    asock_t_end(loop);
}

/* multicast_only sockets share a port (SO_REUSEADDR); ordinary ones do not */
static void test_multicast_only_shares_port(void **state)
{
    (void)state;
    asock_loop *loop = asock_t_loop();
    asock_datagram *a = dg_new(loop, NULL), *b = dg_new(loop, NULL), *c = dg_new(loop, NULL);
    asock_datagram_control ctl;
    asock_datagram_get_control(a, &ctl);
    ctl.multicast_only = 1;
    assert_int_equal(asock_datagram_set_control(a, &ctl), 0);
    assert_int_equal(asock_datagram_set_control(b, &ctl), 0);
    dg_run_ok(loop, asock_datagram_bind_service_name_async(a, "", NULL));
    char ps[8];
    dg_port(dg_local_port(a), ps, 8);
    dg_run_ok(loop, asock_datagram_bind_service_name_async(b, ps, NULL));
    dg_rec r;
    asock_async *op = asock_datagram_bind_service_name_async(c, ps, NULL);
    dg_fails(loop, &r, op, ASOCK_ERR_ADDRESS_ALREADY_IN_USE, ASOCK_STATUS_ADDRESS_ALREADY_IN_USE);
    asock_async_close(op);
    /* too late to change it on a bound socket */
    ctl.multicast_only = 0;
    assert_int_equal(asock_datagram_set_control(a, &ctl), -EALREADY);
    dg_close(loop, a);
    dg_close(loop, b);
    dg_close(loop, c);
    asock_t_end(loop);
}

/* Adapter binding on loopback: SO_BINDTODEVICE; a later connect naming a local host fails,
 * one without keeps the adapter binding and works. */
static void test_adapter_then_connect(void **state)
{
    (void)state;
    asock_loop *loop = asock_t_loop();
    uint16_t pp = 0;
    int peer = asock_t_udp_socket(AF_INET, "127.0.0.2", &pp);
    char ps[8], dev[IF_NAMESIZE];
    dg_port(pp, ps, 8);
    dg_msgs msgs;
    asock_datagram *ds = dg_new(loop, &msgs);
    dg_run_ok(loop, asock_datagram_bind_service_name_async(ds, "", "lo"));
    assert_string_equal(bound_device(ds, dev, sizeof(dev)), "lo");
    dg_rec r;
    asock_endpoint_pair with_local = {"127.0.0.1", NULL, "127.0.0.2", ps};
    asock_async *op = asock_datagram_connect_async(ds, &with_local);
    dg_fails(loop, &r, op, ASOCK_ERR_INVALID_ARGUMENT, ASOCK_STATUS_UNKNOWN);
    asock_async_close(op);
    assert_null(asock_datagram_output_stream(ds));
    asock_endpoint_pair without = {NULL, NULL, "127.0.0.2", ps};
    dg_run_ok(loop, asock_datagram_connect_async(ds, &without));
    assert_string_equal(bound_device(ds, dev, sizeof(dev)), "lo");
    dg_write(loop, asock_datagram_output_stream(ds), "via lo");
    char buf[16];
    assert_int_equal(asock_t_recvfrom(peer, buf, sizeof(buf), DG_WAIT_MS, NULL), 6);
    asock_t_sendto(peer, "back", 4, "127.0.0.1", dg_local_port(ds));
    dg_wait_msgs(loop, &msgs, 1);
    dg_close(loop, ds);
    asock_t_close_fd(peer);
    asock_t_end(loop);
}

static void test_adapter_errors(void **state)
{
    (void)state;
    asock_loop *loop = asock_t_loop();
    asock_datagram *ds = dg_new(loop, NULL);
    dg_rec r;
    asock_async *op = asock_datagram_bind_service_name_async(ds, "", "nosuchif0");
    dg_fails(loop, &r, op, ASOCK_ERR_INVALID_ARGUMENT, ASOCK_STATUS_UNKNOWN);
    assert_int_equal(asock_async_sys_errno(op), ENODEV);
    asock_async_close(op);
    op = asock_datagram_bind_service_name_async(ds, "", "");
    dg_fails(loop, &r, op, ASOCK_ERR_INVALID_ARGUMENT, ASOCK_STATUS_UNKNOWN);
    asock_async_close(op);
    op = asock_datagram_bind_service_name_async(ds, "", "an-interface-name-too-long");
    dg_fails(loop, &r, op, ASOCK_ERR_INVALID_ARGUMENT, ASOCK_STATUS_UNKNOWN);
    asock_async_close(op);
    assert_null(asock_datagram_socket(ds));
    dg_run_ok(loop, asock_datagram_bind_service_name_async(ds, "", "lo"));
    dg_close(loop, ds);
    asock_t_end(loop);
}

/* Where SO_BINDTODEVICE is not permitted the adapter binding falls back to IP_UNICAST_IF plus
 * an arrival filter; forced here with ASOCK_DATAGRAM_FORCE_UNICAST_IF=1. */
static void test_adapter_fallback(void **state)
{
    (void)state;
    asock_loop *loop = asock_t_loop();
    setenv("ASOCK_DATAGRAM_FORCE_UNICAST_IF", "1", 1);
    uint16_t pp = 0;
    int peer = asock_t_udp_socket(AF_INET, "127.0.0.2", &pp);
    char ps[8], dev[IF_NAMESIZE];
    dg_port(pp, ps, 8);
    dg_msgs msgs;
    asock_datagram *ds = dg_new(loop, &msgs);
    dg_run_ok(loop, asock_datagram_bind_service_name_async(ds, "", "lo"));
    unsetenv("ASOCK_DATAGRAM_FORCE_UNICAST_IF");
    assert_string_equal(bound_device(ds, dev, sizeof(dev)), "");
    uint32_t idx = 0;
    socklen_t l = sizeof(idx);
    assert_int_equal(
        getsockopt(asock_socket_fd(asock_datagram_socket(ds)), IPPROTO_IP, IP_UNICAST_IF, &idx, &l),
        0);
    assert_int_equal(ntohl(idx), if_nametoindex("lo"));
    uint32_t idx6 = 0;
    l = sizeof(idx6);
    assert_int_equal(getsockopt(asock_socket_fd(asock_datagram_socket(ds)), IPPROTO_IPV6,
                                IPV6_UNICAST_IF, &idx6, &l),
                     0);
    assert_int_equal(ntohl(idx6), if_nametoindex("lo"));
    /* datagrams arriving on lo pass the filter */
    asock_t_sendto(peer, "on lo", 5, "127.0.0.1", dg_local_port(ds));
    dg_wait_msgs(loop, &msgs, 1);
    asock_endpoint_pair with_local = {"127.0.0.1", NULL, "127.0.0.2", ps};
    dg_rec r;
    asock_async *op = asock_datagram_connect_async(ds, &with_local);
    dg_fails(loop, &r, op, ASOCK_ERR_INVALID_ARGUMENT, ASOCK_STATUS_UNKNOWN);
    asock_async_close(op);
    dg_close(loop, ds);
    asock_t_close_fd(peer);
    asock_t_end(loop);
}

/* A services-database name for the local side ("ntp", UDP-only) binds its well-known port. */
static void test_bind_service_name(void **state)
{
    (void)state;
    if (geteuid() != 0) {
        print_message("skipped: binding port 123 needs root\n");
        skip();
    }
    asock_loop *loop = asock_t_loop();
    asock_datagram *ds = dg_new(loop, NULL);
    dg_run_ok(loop, asock_datagram_bind_endpoint_async(ds, "127.0.0.10", "ntp"));
    asock_datagram_information info;
    asock_datagram_get_information(ds, &info);
    assert_string_equal(info.local_port, "123");
    dg_close(loop, ds);
    asock_t_end(loop);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_bind_wildcard),
        cmocka_unit_test(test_bind_address),
        cmocka_unit_test(test_bind_errors),
        cmocka_unit_test(test_multicast_only_shares_port),
        cmocka_unit_test(test_adapter_then_connect),
        cmocka_unit_test(test_adapter_errors),
        cmocka_unit_test(test_adapter_fallback),
        cmocka_unit_test(test_bind_service_name),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
