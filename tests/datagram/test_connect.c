/* connect_async(endpoint_pair) with IP literals and real peers on loopback:
 *   D1 the remote half is required; D2 literals; D4 local half NULL / "" -> system picks;
 *   D5 after connect only the peer's datagrams raise message-received (a second sender on
 *   another loopback address); D6 handler after bind/connect -> -EALREADY; D9 multicast remote ->
 *   HOST_NOT_FOUND before any system call; D12 information and control. */
#include "dgram_test.h"

#include <netinet/ip.h>

static void connect_pair(asock_loop *loop, asock_datagram *ds, const char *lh, const char *ls,
                         const char *rh, const char *rs)
{
    asock_endpoint_pair p = {lh, ls, rh, rs};
    dg_run_ok(loop, asock_datagram_connect_async(ds, &p));
}

static void test_connect_roundtrip(void **state)
{
    (void)state;
    asock_loop *loop = asock_t_loop();
    uint16_t pport = 0;
    int peer = asock_t_udp_socket(AF_INET, "127.0.0.2", &pport);
    char ps[8];
    dg_msgs msgs;
    asock_datagram *ds = dg_new(loop, &msgs);
    asock_datagram_information info;
    assert_int_equal(asock_datagram_get_information(ds, &info), 0);
    assert_string_equal(info.local_address, "");
    assert_string_equal(info.local_port, "");
    assert_string_equal(info.remote_address, "");
    assert_string_equal(info.remote_port, "");
    assert_null(asock_datagram_output_stream(ds));
    connect_pair(loop, ds, NULL, NULL, "127.0.0.2", dg_port(pport, ps, 8));
    /* D12: information after the connect */
    assert_int_equal(asock_datagram_get_information(ds, &info), 0);
    assert_string_equal(info.remote_address, "127.0.0.2");
    assert_string_equal(info.remote_port, ps);
    assert_string_equal(info.local_address, "127.0.0.1"); /* D4: the system picked it */
    uint16_t lport = dg_local_port(ds);
    assert_true(lport != 0);
    /* the output stream reaches the peer */
    asock_output_stream *os = asock_datagram_output_stream(ds);
    assert_non_null(os);
    assert_ptr_equal(asock_output_stream_datagram(os), ds);
    dg_write(loop, os, "hello");
    char buf[64];
    struct sockaddr_storage from;
    assert_int_equal(asock_t_recvfrom(peer, buf, sizeof(buf), DG_WAIT_MS, &from), 5);
    assert_memory_equal(buf, "hello", 5);
    assert_int_equal(asock_t_sa_port(&from), lport);
    /* and its answer raises message-received */
    asock_t_sendto(peer, "hello back", 10, "127.0.0.1", lport);
    dg_wait_msgs(loop, &msgs, 1);
    assert_string_equal(msgs.data[0], "hello back");
    assert_int_equal(msgs.len[0], 10);
    assert_string_equal(msgs.from[0], "127.0.0.2");
    assert_string_equal(msgs.port[0], ps);
    assert_string_equal(msgs.local[0], "127.0.0.1");
    assert_ptr_equal(msgs.sender, ds);
    dg_close(loop, ds);
    asock_t_close_fd(peer);
    asock_t_end(loop);
}

static void test_connect_ipv6(void **state)
{
    (void)state;
    asock_loop *loop = asock_t_loop();
    uint16_t pport = 0;
    int peer = asock_t_udp_socket(AF_INET6, "::1", &pport);
    char ps[8];
    dg_msgs msgs;
    asock_datagram *ds = dg_new(loop, &msgs);
    connect_pair(loop, ds, NULL, "", "::1", dg_port(pport, ps, 8));
    asock_datagram_information info;
    assert_int_equal(asock_datagram_get_information(ds, &info), 0);
    assert_string_equal(info.remote_address, "::1");
    assert_string_equal(info.local_address, "::1");
    uint16_t lport = dg_local_port(ds);
    dg_write(loop, asock_datagram_output_stream(ds), "v6");
    char buf[16];
    assert_int_equal(asock_t_recvfrom(peer, buf, sizeof(buf), DG_WAIT_MS, NULL), 2);
    asock_t_sendto(peer, "v6 back", 7, "::1", lport);
    dg_wait_msgs(loop, &msgs, 1);
    assert_string_equal(msgs.from[0], "::1");
    dg_close(loop, ds);
    asock_t_close_fd(peer);
    asock_t_end(loop);
}

/* D4: a local host and/or a local service in the pair */
static void test_connect_local_half(void **state)
{
    (void)state;
    asock_loop *loop = asock_t_loop();
    uint16_t pport = 0;
    int peer = asock_t_udp_socket(AF_INET, "127.0.0.2", &pport);
    char ps[8], ls[8];
    /* local host given, local service "" -> that address, a system port */
    asock_datagram *a = dg_new(loop, NULL);
    connect_pair(loop, a, "127.0.0.5", "", "127.0.0.2", dg_port(pport, ps, 8));
    asock_datagram_information info;
    asock_datagram_get_information(a, &info);
    assert_string_equal(info.local_address, "127.0.0.5");
    assert_true(dg_local_port(a) != 0);
    dg_write(loop, asock_datagram_output_stream(a), "a");
    struct sockaddr_storage from;
    char buf[8], addr[64];
    assert_int_equal(asock_t_recvfrom(peer, buf, sizeof(buf), DG_WAIT_MS, &from), 1);
    assert_string_equal(asock_t_sa_addr(&from, addr, sizeof(addr)), "127.0.0.5");
    /* local host NULL, local service a port -> the system's address, that port */
    uint16_t want = asock_t_free_port(AF_INET, "127.0.0.1", SOCK_DGRAM);
    asock_datagram *b = dg_new(loop, NULL);
    connect_pair(loop, b, NULL, dg_port(want, ls, 8), "127.0.0.2", ps);
    assert_int_equal(dg_local_port(b), want);
    /* both given */
    uint16_t want2 = asock_t_free_port(AF_INET, "127.0.0.6", SOCK_DGRAM);
    asock_datagram *c = dg_new(loop, NULL);
    connect_pair(loop, c, "127.0.0.6", dg_port(want2, ls, 8), "127.0.0.2", ps);
    asock_datagram_get_information(c, &info);
    assert_string_equal(info.local_address, "127.0.0.6");
    assert_int_equal(dg_local_port(c), want2);
    /* the local port in use -> ADDRESS_ALREADY_IN_USE (AddressAlreadyInUse), nothing kept */
    asock_datagram *d = dg_new(loop, NULL);
    asock_endpoint_pair p = {"127.0.0.6", ls, "127.0.0.2", ps};
    dg_rec r;
    asock_async *op = asock_datagram_connect_async(d, &p);
    dg_fails(loop, &r, op, ASOCK_ERR_ADDRESS_ALREADY_IN_USE, ASOCK_STATUS_ADDRESS_ALREADY_IN_USE);
    asock_async_close(op);
    assert_null(asock_datagram_socket(d));
    assert_null(asock_datagram_output_stream(d));
    /* a local address that is not ours -> CannotAssignRequestedAddress */
    asock_endpoint_pair q = {"203.0.113.7", "", "127.0.0.2", ps};
    op = asock_datagram_connect_async(d, &q);
    dg_fails(loop, &r, op, ASOCK_ERR_ADDRESS_NOT_AVAILABLE,
             ASOCK_STATUS_CANNOT_ASSIGN_REQUESTED_ADDRESS);
    asock_async_close(op);
    /* and d still connects afterwards */
    connect_pair(loop, d, NULL, NULL, "127.0.0.2", ps);
    dg_close(loop, a);
    dg_close(loop, b);
    dg_close(loop, c);
    dg_close(loop, d);
    asock_t_close_fd(peer);
    asock_t_end(loop);
}

/* D1: the remote host and service are required; the call fails as an operation already in
 * ERROR with INVALID_ARGUMENT (status Unknown); nothing is opened or disturbed. */
static void test_remote_required(void **state)
{
    (void)state;
    asock_loop *loop = asock_t_loop();
    int fds = asock_t_fd_count();
    asock_datagram *ds = dg_new(loop, NULL);
    const asock_endpoint_pair bad[] = {
        {NULL, NULL, NULL, "7"},
        {NULL, NULL, "", "7"},
        {NULL, NULL, "127.0.0.1", NULL},
        {NULL, NULL, "127.0.0.1", ""},
        {"", NULL, "127.0.0.1", "7"},
        {NULL, NULL, "not a host!", "7"},
        {NULL, NULL, "127.0.0.1", "70000"},
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        asock_async *op = asock_datagram_connect_async(ds, &bad[i]);
        dg_rec r;
        dg_fails(loop, &r, op, ASOCK_ERR_INVALID_ARGUMENT, ASOCK_STATUS_UNKNOWN);
        assert_true(asock_async_error_detail(op)[0] != '\0');
        asock_async_close(op);
        assert_null(asock_datagram_socket(ds));
        assert_int_equal(asock_t_fd_count(), fds);
    }
    asock_async *op = asock_datagram_connect_async(ds, NULL);
    dg_rec r;
    dg_fails(loop, &r, op, ASOCK_ERR_INVALID_ARGUMENT, ASOCK_STATUS_UNKNOWN);
    asock_async_close(op);
    op = asock_datagram_connect_host_async(ds, NULL, NULL);
    dg_fails(loop, &r, op, ASOCK_ERR_INVALID_ARGUMENT, ASOCK_STATUS_UNKNOWN);
    asock_async_close(op);
    assert_null(asock_datagram_connect_async(NULL, NULL));
    /* nothing started: the handler can still be set, and the socket still connects */
    dg_msgs msgs;
    memset(&msgs, 0, sizeof(msgs));
    assert_int_equal(asock_datagram_on_message_received(ds, dg_on_msg, &msgs), 0);
    uint16_t pport = 0;
    int peer = asock_t_udp_socket(AF_INET, "127.0.0.2", &pport);
    char ps[8];
    connect_pair(loop, ds, NULL, NULL, "127.0.0.2", dg_port(pport, ps, 8));
    dg_close(loop, ds);
    asock_t_close_fd(peer);
    asock_t_end(loop);
}

/* D5: a second sender on another loopback address is not heard after the connect; datagrams it
 * sent before the connect (already queued on the bound socket) are not delivered either. */
static void test_connected_filter(void **state)
{
    (void)state;
    asock_loop *loop = asock_t_loop();
    uint16_t pa = 0, pb = 0;
    int a = asock_t_udp_socket(AF_INET, "127.0.0.2", &pa);
    int b = asock_t_udp_socket(AF_INET, "127.0.0.3", &pb);
    dg_msgs msgs;
    asock_datagram *ds = dg_new(loop, &msgs);
    dg_run_ok(loop, asock_datagram_bind_endpoint_async(ds, "127.0.0.1", NULL));
    uint16_t lport = dg_local_port(ds);
    /* bound, not connected: every source is heard */
    asock_t_sendto(b, "b0", 2, "127.0.0.1", lport);
    dg_wait_msgs(loop, &msgs, 1);
    assert_string_equal(msgs.from[0], "127.0.0.3");
    char ps[8];
    asock_t_sendto(b, "b-early", 7, "127.0.0.1", lport); /* may be queued when connect runs */
    connect_pair(loop, ds, NULL, NULL, "127.0.0.2", dg_port(pa, ps, 8));
    asock_t_sendto(b, "b1", 2, "127.0.0.1", lport);
    asock_t_sendto(a, "a1", 2, "127.0.0.1", lport);
    asock_t_sendto(b, "b2", 2, "127.0.0.1", lport);
    asock_t_sendto(a, "a2", 2, "127.0.0.1", lport);
    int before = msgs.count;
    dg_wait_msgs(loop, &msgs, before + 2);
    asock_t_spin(loop, 50);
    for (int i = before; i < msgs.count; i++) {
        assert_string_equal(msgs.from[i], "127.0.0.2");
        assert_true(msgs.data[i][0] == 'a');
    }
    assert_int_equal(msgs.count, before + 2);
    /* b-early arrived either before the connect (heard) or after (filtered), never from a */
    dg_close(loop, ds);
    asock_t_close_fd(a);
    asock_t_close_fd(b);
    asock_t_end(loop);
}

/* D6: the handler must be set before bind / connect / get_output_stream */
static void test_handler_too_late(void **state)
{
    (void)state;
    asock_loop *loop = asock_t_loop();
    uint16_t pport = 0;
    int peer = asock_t_udp_socket(AF_INET, "127.0.0.2", &pport);
    char ps[8];
    dg_msgs msgs, late;
    memset(&late, 0, sizeof(late));
    /* after a bind */
    asock_datagram *ds = dg_new(loop, &msgs);
    asock_async *op = asock_datagram_bind_endpoint_async(ds, "127.0.0.1", NULL);
    /* refused as soon as the bind started, even before it completed */
    assert_int_equal(asock_datagram_on_message_received(ds, dg_on_msg, &late), -EALREADY);
    dg_rec r;
    dg_ok(loop, &r, op);
    asock_async_close(op);
    assert_int_equal(asock_datagram_on_message_received(ds, dg_on_msg, &late), -EALREADY);
    assert_int_equal(asock_datagram_on_message_received(ds, NULL, NULL), -EALREADY);
    assert_int_equal(asock_error_get_status(asock_socket_error_from_errno(EALREADY)),
                     ASOCK_STATUS_UNKNOWN);
    /* the original handler is unchanged and still hears datagrams */
    asock_t_sendto(peer, "x", 1, "127.0.0.1", dg_local_port(ds));
    dg_wait_msgs(loop, &msgs, 1);
    assert_int_equal(late.count, 0);
    dg_close(loop, ds);
    /* after a connect */
    asock_datagram *c = dg_new(loop, &msgs);
    connect_pair(loop, c, NULL, NULL, "127.0.0.2", dg_port(pport, ps, 8));
    assert_int_equal(asock_datagram_on_message_received(c, dg_on_msg, &late), -EALREADY);
    dg_close(loop, c);
    /* after a get_output_stream */
    asock_datagram *g = dg_new(loop, &msgs);
    op = asock_datagram_get_output_stream_async(g, "127.0.0.2", ps);
    dg_ok(loop, &r, op);
    asock_async_close(op);
    assert_int_equal(asock_datagram_on_message_received(g, dg_on_msg, &late), -EALREADY);
    dg_close(loop, g);
    assert_int_equal(asock_datagram_on_message_received(NULL, dg_on_msg, &late), -EINVAL);
    asock_t_close_fd(peer);
    asock_t_end(loop);
}

/* D9: a multicast remote fails with HOST_NOT_FOUND before any system call */
static void test_multicast_remote(void **state)
{
    (void)state;
    asock_loop *loop = asock_t_loop();
    int fds = asock_t_fd_count();
    asock_datagram *ds = dg_new(loop, NULL);
    const char *groups[] = {"239.1.2.3", "224.0.0.1", "ff02::1", "ff15::1234"};
    for (size_t i = 0; i < 4; i++) {
        dg_rec r;
        asock_async *op = asock_datagram_connect_host_async(ds, groups[i], "5000");
        /* decided inside the call: no resolution, no descriptor */
        assert_int_equal(asock_async_get_status(op), ASOCK_ASYNC_ERROR);
        dg_fails(loop, &r, op, ASOCK_ERR_HOST_NOT_FOUND, ASOCK_STATUS_HOST_NOT_FOUND);
        asock_async_close(op);
        assert_null(asock_datagram_socket(ds));
        assert_int_equal(asock_t_fd_count(), fds);
    }
    /* still usable */
    uint16_t pport = 0;
    int peer = asock_t_udp_socket(AF_INET, "127.0.0.2", &pport);
    char ps[8];
    connect_pair(loop, ds, NULL, NULL, "127.0.0.2", dg_port(pport, ps, 8));
    dg_close(loop, ds);
    asock_t_close_fd(peer);
    asock_t_end(loop);
}

static void test_connect_twice(void **state)
{
    (void)state;
    asock_loop *loop = asock_t_loop();
    uint16_t pa = 0, pb = 0;
    int a = asock_t_udp_socket(AF_INET, "127.0.0.2", &pa);
    int b = asock_t_udp_socket(AF_INET, "127.0.0.3", &pb);
    char sa[8], sb[8];
    asock_datagram *ds = dg_new(loop, NULL);
    connect_pair(loop, ds, NULL, NULL, "127.0.0.2", dg_port(pa, sa, 8));
    dg_rec r;
    asock_async *op = asock_datagram_connect_host_async(ds, "127.0.0.3", dg_port(pb, sb, 8));
    dg_fails(loop, &r, op, ASOCK_ERR_IS_CONNECTED, ASOCK_STATUS_UNKNOWN);
    asock_async_close(op);
    /* bind after connect is refused too */
    op = asock_datagram_bind_endpoint_async(ds, NULL, NULL);
    dg_fails(loop, &r, op, ASOCK_ERR_INVALID_ARGUMENT, ASOCK_STATUS_UNKNOWN);
    asock_async_close(op);
    /* nothing changed */
    asock_datagram_information info;
    asock_datagram_get_information(ds, &info);
    assert_string_equal(info.remote_address, "127.0.0.2");
    assert_string_equal(info.remote_port, sa);
    dg_write(loop, asock_datagram_output_stream(ds), "still a");
    char buf[16];
    assert_int_equal(asock_t_recvfrom(a, buf, sizeof(buf), DG_WAIT_MS, NULL), 7);
    dg_close(loop, ds);
    asock_t_close_fd(a);
    asock_t_close_fd(b);
    asock_t_end(loop);
}

/* A broadcast remote connects without any option (WinRT), unlike the socket layer (S5). */
static void test_broadcast_connect(void **state)
{
    (void)state;
    asock_loop *loop = asock_t_loop();
    uint16_t port = 0;
    int rx = asock_t_udp_socket(AF_INET, "0.0.0.0", &port);
    char ps[8];
    asock_datagram *ds = dg_new(loop, NULL);
    connect_pair(loop, ds, NULL, NULL, "127.255.255.255", dg_port(port, ps, 8));
    dg_write(loop, asock_datagram_output_stream(ds), "bcast");
    char buf[16];
    assert_int_equal(asock_t_recvfrom(rx, buf, sizeof(buf), DG_WAIT_MS, NULL), 5);
    dg_close(loop, ds);
    asock_t_close_fd(rx);
    asock_t_end(loop);
}

static int sockopt(asock_datagram *ds, int level, int name)
{
    int v = -1;
    socklen_t len = sizeof(v);
    assert_int_equal(getsockopt(asock_socket_fd(asock_datagram_socket(ds)), level, name, &v, &len),
                     0);
    return v;
}

/* D12: control — defaults, applied values, what may change after the connect, bad values */
static void test_control(void **state)
{
    (void)state;
    asock_loop *loop = asock_t_loop();
    uint16_t pport = 0;
    int peer = asock_t_udp_socket(AF_INET, "127.0.0.2", &pport);
    char ps[8];
    asock_datagram *ds = dg_new(loop, NULL);
    asock_datagram_control c;
    assert_int_equal(asock_datagram_get_control(ds, &c), 0);
    assert_int_equal(c.outbound_unicast_hop_limit, 128);
    assert_int_equal(c.inbound_buffer_size, 0);
    assert_int_equal(c.dont_fragment, 0);
    assert_int_equal(c.quality_of_service, 0);
    assert_int_equal(c.multicast_only, 0);
    asock_datagram_control bad = c;
    bad.outbound_unicast_hop_limit = 0;
    assert_int_equal(asock_datagram_set_control(ds, &bad), -EINVAL);
    bad = c;
    bad.inbound_buffer_size = -1;
    assert_int_equal(asock_datagram_set_control(ds, &bad), -EINVAL);
    bad = c;
    bad.quality_of_service = 2;
    assert_int_equal(asock_datagram_set_control(ds, &bad), -EINVAL);
    assert_int_equal(asock_datagram_set_control(ds, NULL), -EINVAL);
    c.inbound_buffer_size = 65536;
    c.outbound_unicast_hop_limit = 17;
    c.dont_fragment = 1;
    c.quality_of_service = 1;
    assert_int_equal(asock_datagram_set_control(ds, &c), 0);
    connect_pair(loop, ds, NULL, NULL, "127.0.0.2", dg_port(pport, ps, 8));
    assert_int_equal(sockopt(ds, IPPROTO_IP, IP_TTL), 17);
    assert_int_equal(sockopt(ds, IPPROTO_IP, IP_TOS), 46 << 2); /* DSCP EF */
    assert_int_equal(sockopt(ds, IPPROTO_IP, IP_MTU_DISCOVER), IP_PMTUDISC_DO);
    assert_true(sockopt(ds, SOL_SOCKET, SO_RCVBUF) >= 65536);
    /* the hop limit may change after the connect ... */
    c.outbound_unicast_hop_limit = 99;
    assert_int_equal(asock_datagram_set_control(ds, &c), 0);
    assert_int_equal(sockopt(ds, IPPROTO_IP, IP_TTL), 99);
    /* ... the others not: refused, nothing changed */
    asock_datagram_control late = c;
    late.dont_fragment = 0;
    late.outbound_unicast_hop_limit = 5;
    assert_int_equal(asock_datagram_set_control(ds, &late), -EALREADY);
    assert_int_equal(sockopt(ds, IPPROTO_IP, IP_TTL), 99);
    assert_int_equal(sockopt(ds, IPPROTO_IP, IP_MTU_DISCOVER), IP_PMTUDISC_DO);
    asock_datagram_control now;
    asock_datagram_get_control(ds, &now);
    assert_int_equal(now.dont_fragment, 1);
    assert_int_equal(now.outbound_unicast_hop_limit, 99);
    /* the datagram leaves with TTL 99 (the peer sees it via IP_RECVTTL) */
    int one = 1;
    assert_int_equal(setsockopt(peer, IPPROTO_IP, IP_RECVTTL, &one, sizeof(one)), 0);
    dg_write(loop, asock_datagram_output_stream(ds), "ttl");
    assert_int_equal(asock_t_wait_readable(peer, DG_WAIT_MS), 1);
    char buf[16];

    union {
        char b[CMSG_SPACE(sizeof(int))];
        struct cmsghdr align;
    } cbuf;
    struct iovec iov = {buf, sizeof(buf)};
    struct msghdr mh;
    memset(&mh, 0, sizeof(mh));
    mh.msg_iov = &iov;
    mh.msg_iovlen = 1;
    mh.msg_control = cbuf.b;
    mh.msg_controllen = sizeof(cbuf.b);
    assert_int_equal(recvmsg(peer, &mh, 0), 3);
    struct cmsghdr *cm = CMSG_FIRSTHDR(&mh);
    assert_non_null(cm);
    int ttl = 0;
    memcpy(&ttl, CMSG_DATA(cm), sizeof(ttl));
    assert_int_equal(ttl, 99);
    dg_close(loop, ds);
    asock_t_close_fd(peer);
    asock_t_end(loop);
}

/* The handler may close the socket: nothing is delivered after that, nothing leaks. */
static void test_close_from_handler(void **state)
{
    (void)state;
    asock_loop *loop = asock_t_loop();
    uint16_t pport = 0;
    int peer = asock_t_udp_socket(AF_INET, "127.0.0.2", &pport);
    char ps[8];
    dg_msgs msgs;
    asock_datagram *ds = dg_new(loop, &msgs);
    connect_pair(loop, ds, NULL, NULL, "127.0.0.2", dg_port(pport, ps, 8));
    uint16_t lport = dg_local_port(ds);
    msgs.close_after = 1;
    for (int i = 0; i < 5; i++)
        asock_t_sendto(peer, "burst", 5, "127.0.0.1", lport);
    dg_wait_msgs(loop, &msgs, 1);
    asock_t_spin(loop, 30);
    assert_int_equal(msgs.count, 1);
    asock_t_close_fd(peer);
    asock_t_end(loop);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_connect_roundtrip),  cmocka_unit_test(test_connect_ipv6),
        cmocka_unit_test(test_connect_local_half), cmocka_unit_test(test_remote_required),
        cmocka_unit_test(test_connected_filter),   cmocka_unit_test(test_handler_too_late),
        cmocka_unit_test(test_multicast_remote),   cmocka_unit_test(test_connect_twice),
        cmocka_unit_test(test_broadcast_connect),  cmocka_unit_test(test_control),
        cmocka_unit_test(test_close_from_handler),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
