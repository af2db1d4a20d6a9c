/* D7: output streams — the connected stream, and get_output_stream_async to two destinations
 * (a socket used that way hears every source); D10: a peer's ICMP port-unreachable on the
 * connected socket is CONNECTION_RESET (status ConnectionResetByPeer) and the socket stays
 * usable; write errors; nothing allocated per datagram on the hot path. */
#include "dgram_test.h"
#include "core/alloc_test.h"

static asock_output_stream *get_stream(asock_loop *loop, asock_datagram *ds, const char *host,
                                       const char *service)
{
    dg_rec r;
    asock_async *op = asock_datagram_get_output_stream_async(ds, host, service);
    dg_ok(loop, &r, op);
    asock_output_stream *os = asock_async_result(op);
    assert_non_null(os);
    assert_ptr_equal(asock_output_stream_datagram(os), ds);
    asock_async_close(op);
    return os;
}

static void test_two_destinations(void **state)
{
    (void)state;
    asock_loop *loop = asock_t_loop();
    uint16_t pa = 0, pb = 0, pc = 0;
    int a = asock_t_udp_socket(AF_INET, "127.0.0.2", &pa);
    int b = asock_t_udp_socket(AF_INET, "127.0.0.3", &pb);
    int c = asock_t_udp_socket(AF_INET, "127.0.0.4", &pc);
    char sa[8], sb[8];
    dg_msgs msgs;
    asock_datagram *ds = dg_new(loop, &msgs);
    asock_output_stream *oa = get_stream(loop, ds, "127.0.0.2", dg_port(pa, sa, 8));
    asock_output_stream *ob = get_stream(loop, ds, "127.0.0.3", dg_port(pb, sb, 8));
    assert_ptr_not_equal(oa, ob);
    /* the same destination again: the same stream */
    assert_ptr_equal(get_stream(loop, ds, "127.0.0.2", sa), oa);
    /* not connected: no connected stream, no remote */
    assert_null(asock_datagram_output_stream(ds));
    dg_write(loop, oa, "to a");
    dg_write(loop, ob, "to b");
    char buf[16];
    struct sockaddr_storage fa, fb;
    assert_int_equal(asock_t_recvfrom(a, buf, sizeof(buf), DG_WAIT_MS, &fa), 4);
    assert_memory_equal(buf, "to a", 4);
    assert_int_equal(asock_t_recvfrom(b, buf, sizeof(buf), DG_WAIT_MS, &fb), 4);
    assert_memory_equal(buf, "to b", 4);
    assert_int_equal(asock_t_recvfrom(a, buf, sizeof(buf), 20, NULL), -1); /* one each */
    /* both from the socket's one port (bound by the first write) */
    uint16_t lport = asock_t_sa_port(&fa);
    assert_int_equal(asock_t_sa_port(&fb), lport);
    assert_int_equal(dg_local_port(ds), lport);
    asock_datagram_information info;
    asock_datagram_get_information(ds, &info);
    assert_string_equal(info.remote_address, "");
    /* a socket used this way hears every source, IPv4 shown unmapped on its dual-mode socket */
    asock_t_sendto(a, "from a", 6, "127.0.0.1", lport);
    asock_t_sendto(b, "from b", 6, "127.0.0.1", lport);
    asock_t_sendto(c, "from c", 6, "127.0.0.1", lport);
    dg_wait_msgs(loop, &msgs, 3);
    int seen = 0;
    for (int i = 0; i < 3; i++) {
        if (strcmp(msgs.from[i], "127.0.0.2") == 0)
            seen |= 1;
        if (strcmp(msgs.from[i], "127.0.0.3") == 0)
            seen |= 2;
        if (strcmp(msgs.from[i], "127.0.0.4") == 0)
            seen |= 4;
        assert_null(strstr(msgs.from[i], "::ffff:"));
    }
    assert_int_equal(seen, 7);
    /* an IPv6 destination on the same (dual-mode) socket */
    uint16_t p6 = 0;
    int v6 = asock_t_udp_socket(AF_INET6, "::1", &p6);
    char s6[8];
    asock_output_stream *o6 = get_stream(loop, ds, "::1", dg_port(p6, s6, 8));
    dg_write(loop, o6, "six");
    assert_int_equal(asock_t_recvfrom(v6, buf, sizeof(buf), DG_WAIT_MS, NULL), 3);
    dg_close(loop, ds);
    asock_t_close_fd(a);
    asock_t_close_fd(b);
    asock_t_close_fd(c);
    asock_t_close_fd(v6);
    asock_t_end(loop);
}

/* bind first, then a stream: replies come back to the bound port from any source */
static void test_bound_then_stream(void **state)
{
    (void)state;
    asock_loop *loop = asock_t_loop();
    uint16_t pa = 0;
    int a = asock_t_udp_socket(AF_INET, "127.0.0.2", &pa);
    char sa[8];
    dg_msgs msgs;
    asock_datagram *ds = dg_new(loop, &msgs);
    dg_run_ok(loop, asock_datagram_bind_service_name_async(ds, "", NULL));
    uint16_t lport = dg_local_port(ds);
    asock_output_stream *oa = get_stream(loop, ds, "127.0.0.2", dg_port(pa, sa, 8));
    dg_write(loop, oa, "ping");
    struct sockaddr_storage from;
    char buf[16];
    assert_int_equal(asock_t_recvfrom(a, buf, sizeof(buf), DG_WAIT_MS, &from), 4);
    assert_int_equal(asock_t_sa_port(&from), lport);
    asock_t_sendto(a, "pong", 4, "127.0.0.1", lport);
    dg_wait_msgs(loop, &msgs, 1);
    assert_string_equal(msgs.data[0], "pong");
    assert_string_equal(msgs.port[0], sa);
    dg_close(loop, ds);
    asock_t_close_fd(a);
    asock_t_end(loop);
}

static void test_stream_errors(void **state)
{
    (void)state;
    asock_loop *loop = asock_t_loop();
    uint16_t pa = 0;
    int a = asock_t_udp_socket(AF_INET, "127.0.0.2", &pa);
    char sa[8];
    asock_datagram *ds = dg_new(loop, NULL);
    const char *hosts[] = {NULL, "", "127.0.0.2", "127.0.0.2"};
    const char *svcs[] = {"9", "9", NULL, ""};
    for (int i = 0; i < 4; i++) {
        dg_rec r;
        asock_async *op = asock_datagram_get_output_stream_async(ds, hosts[i], svcs[i]);
        dg_fails(loop, &r, op, ASOCK_ERR_INVALID_ARGUMENT, ASOCK_STATUS_UNKNOWN);
        assert_null(asock_async_result(op));
        asock_async_close(op);
        assert_null(asock_datagram_socket(ds));
    }
    assert_null(asock_datagram_get_output_stream_async(NULL, "127.0.0.1", "9"));
    assert_null(asock_output_stream_write_async(NULL, "x", 1));
    /* an IPv4 socket (connected to an IPv4 peer) cannot get an IPv6 destination */
    asock_endpoint_pair p = {NULL, NULL, "127.0.0.2", dg_port(pa, sa, 8)};
    dg_run_ok(loop, asock_datagram_connect_async(ds, &p));
    dg_rec r;
    asock_async *op = asock_datagram_get_output_stream_async(ds, "::1", "9");
    dg_fails(loop, &r, op, ASOCK_ERR_ADDRESS_FAMILY_NOT_SUPPORTED,
             ASOCK_STATUS_ADDRESS_FAMILY_NOT_SUPPORTED);
    asock_async_close(op);
    /* write errors: NULL data, too large (MessageTooLong); an empty datagram is fine */
    asock_output_stream *os = asock_datagram_output_stream(ds);
    op = asock_output_stream_write_async(os, NULL, 3);
    dg_fails(loop, &r, op, ASOCK_ERR_INVALID_ARGUMENT, ASOCK_STATUS_UNKNOWN);
    asock_async_close(op);
    static char big[70000];
    op = asock_output_stream_write_async(os, big, sizeof(big));
    dg_fails(loop, &r, op, ASOCK_ERR_MESSAGE_SIZE, ASOCK_STATUS_MESSAGE_TOO_LONG);
    assert_int_equal(asock_async_bytes_transferred(op), 0);
    asock_async_close(op);
    op = asock_output_stream_write_async(os, NULL, 0);
    dg_ok(loop, &r, op);
    assert_int_equal(asock_async_bytes_transferred(op), 0);
    asock_async_close(op);
    char buf[16];
    assert_int_equal(asock_t_recvfrom(a, buf, sizeof(buf), DG_WAIT_MS, NULL), 0);
    /* nothing was disturbed */
    dg_write(loop, os, "fine");
    assert_int_equal(asock_t_recvfrom(a, buf, sizeof(buf), DG_WAIT_MS, NULL), 4);
    dg_close(loop, ds);
    asock_t_close_fd(a);
    asock_t_end(loop);
}

/* D10: ICMP port-unreachable on a connected socket -> message-received with CONNECTION_RESET
 * (ConnectionResetByPeer), data NULL; the socket stays usable. */
static void test_port_unreachable_reported(void **state)
{
    (void)state;
    asock_loop *loop = asock_t_loop();
    uint16_t dead = asock_t_free_port(AF_INET, "127.0.0.2", SOCK_DGRAM);
    char ds_port[8];
    dg_msgs msgs;
    asock_datagram *ds = dg_new(loop, &msgs);
    asock_endpoint_pair p = {NULL, NULL, "127.0.0.2", dg_port(dead, ds_port, 8)};
    dg_run_ok(loop, asock_datagram_connect_async(ds, &p));
    dg_write(loop, asock_datagram_output_stream(ds), "anyone?");
    dg_wait_error(loop, &msgs);
    assert_int_equal(msgs.last_error, ASOCK_ERR_CONNECTION_RESET);
    assert_int_equal(asock_error_get_status(msgs.last_error),
                     ASOCK_STATUS_CONNECTION_RESET_BY_PEER);
    assert_int_equal(msgs.count, 0);
    /* the peer comes up on that port: the same socket talks to it */
    int peer = dg_udp_at(AF_INET, "127.0.0.2", dead);
    dg_write(loop, asock_datagram_output_stream(ds), "now?");
    char buf[16];
    assert_int_equal(asock_t_recvfrom(peer, buf, sizeof(buf), DG_WAIT_MS, NULL), 4);
    asock_t_sendto(peer, "yes", 3, "127.0.0.1", dg_local_port(ds));
    dg_wait_msgs(loop, &msgs, 1);
    assert_string_equal(msgs.data[0], "yes");
    dg_close(loop, ds);
    asock_t_close_fd(peer);
    asock_t_end(loop);
}

/* Without a message handler the queued ICMP error surfaces on the next write, also as
 * CONNECTION_RESET, and the write after that succeeds. */
static void test_port_unreachable_on_write(void **state)
{
    (void)state;
    asock_loop *loop = asock_t_loop();
    uint16_t dead = asock_t_free_port(AF_INET, "127.0.0.2", SOCK_DGRAM);
    char ps[8];
    asock_datagram *ds = dg_new(loop, NULL);
    asock_endpoint_pair p = {NULL, NULL, "127.0.0.2", dg_port(dead, ps, 8)};
    dg_run_ok(loop, asock_datagram_connect_async(ds, &p));
    asock_output_stream *os = asock_datagram_output_stream(ds);
    dg_write(loop, os, "1");
    asock_t_spin(loop, 20); /* the ICMP error arrives */
    dg_rec r;
    asock_async *op = asock_output_stream_write_async(os, "2", 1);
    dg_fails(loop, &r, op, ASOCK_ERR_CONNECTION_RESET, ASOCK_STATUS_CONNECTION_RESET_BY_PEER);
    asock_async_close(op);
    dg_write(loop, os, "3"); /* usable again */
    dg_close(loop, ds);
    asock_t_end(loop);
}

/* broadcast through a destination stream (loopback's broadcast address) */
static void test_broadcast_stream(void **state)
{
    (void)state;
    asock_loop *loop = asock_t_loop();
    uint16_t port = 0;
    int rx = asock_t_udp_socket(AF_INET, "0.0.0.0", &port);
    char ps[8];
    asock_datagram *ds = dg_new(loop, NULL);
    asock_output_stream *os = get_stream(loop, ds, "127.255.255.255", dg_port(port, ps, 8));
    dg_write(loop, os, "all");
    char buf[8];
    assert_int_equal(asock_t_recvfrom(rx, buf, sizeof(buf), DG_WAIT_MS, NULL), 3);
    dg_close(loop, ds);
    asock_t_close_fd(rx);
    asock_t_end(loop);
}

/* multicast_only: unicast destinations and connects are refused */
static void test_multicast_only_refuses_unicast(void **state)
{
    (void)state;
    asock_loop *loop = asock_t_loop();
    asock_datagram *ds = dg_new(loop, NULL);
    asock_datagram_control c;
    asock_datagram_get_control(ds, &c);
    c.multicast_only = 1;
    assert_int_equal(asock_datagram_set_control(ds, &c), 0);
    dg_rec r;
    asock_async *op = asock_datagram_get_output_stream_async(ds, "127.0.0.2", "9");
    dg_fails(loop, &r, op, ASOCK_ERR_OPERATION_NOT_SUPPORTED, ASOCK_STATUS_UNKNOWN);
    asock_async_close(op);
    op = asock_datagram_connect_host_async(ds, "127.0.0.2", "9");
    dg_fails(loop, &r, op, ASOCK_ERR_OPERATION_NOT_SUPPORTED, ASOCK_STATUS_UNKNOWN);
    asock_async_close(op);
    /* a multicast destination is fine */
    asock_output_stream *os = get_stream(loop, ds, "239.1.2.3", "9");
    assert_non_null(os);
    dg_close(loop, ds);
    asock_t_end(loop);
}

/* Hot path: once warmed up, writes and received datagrams allocate nothing. */
static void test_no_allocation_per_datagram(void **state)
{
    (void)state;
    asock_loop *loop = asock_t_loop();
    uint16_t pa = 0;
    int a = asock_t_udp_socket(AF_INET, "127.0.0.2", &pa);
    char sa[8];
    dg_msgs msgs;
    asock_datagram *ds = dg_new(loop, &msgs);
    asock_endpoint_pair p = {NULL, NULL, "127.0.0.2", dg_port(pa, sa, 8)};
    dg_run_ok(loop, asock_datagram_connect_async(ds, &p));
    uint16_t lport = dg_local_port(ds);
    asock_output_stream *os = asock_datagram_output_stream(ds);
    char buf[16];
    for (int round = 0; round < 2; round++) {
        long before = asock__alloc_count();
        for (int i = 0; i < 50; i++) {
            dg_write(loop, os, "w");
            assert_int_equal(asock_t_recvfrom(a, buf, sizeof(buf), DG_WAIT_MS, NULL), 1);
            asock_t_sendto(a, "r", 1, "127.0.0.1", lport);
            dg_wait_msgs(loop, &msgs, msgs.count + 1);
        }
        if (round == 1)
            assert_int_equal(asock__alloc_count(), before); /* round 0 warmed the caches */
    }
    dg_close(loop, ds);
    asock_t_close_fd(a);
    asock_t_end(loop);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_two_destinations),
        cmocka_unit_test(test_bound_then_stream),
        cmocka_unit_test(test_stream_errors),
        cmocka_unit_test(test_port_unreachable_reported),
        cmocka_unit_test(test_port_unreachable_on_write),
        cmocka_unit_test(test_broadcast_stream),
        cmocka_unit_test(test_multicast_only_refuses_unicast),
        cmocka_unit_test(test_no_allocation_per_datagram),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
