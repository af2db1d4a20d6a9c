/* Multicast where loopback serves (D9's alternative): join / leave, source-specific join, the
 * multicast interface, loopback and TTL options, multicast_only port sharing, and every refusal
 * of the multicast calls.  Across a real link (veth between two namespaces): test_netns.c. */
#include "dgram_test.h"

#define GROUP     "239.1.2.3"
#define SSM_GROUP "232.1.2.3"

/* A receiver bound to every address on a system port, multicast interface lo. */
static asock_datagram *receiver(asock_loop *loop, dg_msgs *msgs, const char *port, int only)
{
    asock_datagram *ds = dg_new(loop, msgs);
    if (only) {
        asock_datagram_control c;
        asock_datagram_get_control(ds, &c);
        c.multicast_only = 1;
        assert_int_equal(asock_datagram_set_control(ds, &c), 0);
    }
    assert_int_equal(asock_datagram_set_multicast_interface(ds, "lo"), 0);
    dg_run_ok(loop, asock_datagram_bind_service_name_async(ds, port, NULL));
    return ds;
}

/* A sender with the multicast interface lo, bound to local_addr (for a known source). */
static asock_output_stream *sender(asock_loop *loop, asock_datagram **out, const char *local_addr,
                                   const char *group, const char *port)
{
    asock_datagram *ds = dg_new(loop, NULL);
    assert_int_equal(asock_datagram_set_multicast_interface(ds, "lo"), 0);
    assert_int_equal(asock_datagram_set_multicast_ttl(ds, 1), 0);
    if (local_addr != NULL)
        dg_run_ok(loop, asock_datagram_bind_endpoint_async(ds, local_addr, NULL));
    dg_rec r;
    asock_async *op = asock_datagram_get_output_stream_async(ds, group, port);
    dg_ok(loop, &r, op);
    asock_output_stream *os = asock_async_result(op);
    asock_async_close(op);
    *out = ds;
    return os;
}

static void test_join_receive_leave(void **state)
{
    (void)state;
    asock_loop *loop = asock_t_loop();
    dg_msgs msgs;
    asock_datagram *rx = receiver(loop, &msgs, "", 0);
    char ps[8];
    dg_port(dg_local_port(rx), ps, 8);
    assert_int_equal(asock_datagram_join_multicast_group(rx, GROUP), 0);
    asock_datagram *tx = NULL;
    asock_output_stream *os = sender(loop, &tx, "127.0.0.5", GROUP, ps);
    dg_write(loop, os, "to the group");
    dg_wait_msgs(loop, &msgs, 1);
    assert_string_equal(msgs.data[0], "to the group");
    assert_string_equal(msgs.from[0], "127.0.0.5");
    assert_string_equal(msgs.local[0], GROUP); /* it arrived for the group */
    /* joined twice: refused, membership unchanged */
    assert_int_equal(asock_datagram_join_multicast_group(rx, GROUP), -EADDRINUSE);
    dg_write(loop, os, "again");
    dg_wait_msgs(loop, &msgs, 2);
    /* after leaving nothing arrives */
    assert_int_equal(asock_datagram_leave_multicast_group(rx, GROUP), 0);
    assert_int_equal(asock_datagram_leave_multicast_group(rx, GROUP), -EADDRNOTAVAIL);
    dg_write(loop, os, "gone");
    asock_t_spin(loop, 100);
    assert_int_equal(msgs.count, 2);
    dg_close(loop, rx);
    dg_close(loop, tx);
    asock_t_end(loop);
}

/* The same socket hears its own multicast (WinRT scenario 5); TTL and loopback are applied. */
static void test_own_traffic_and_loopback(void **state)
{
    (void)state;
    asock_loop *loop = asock_t_loop();
    dg_msgs msgs;
    asock_datagram *ds = receiver(loop, &msgs, "", 0);
    char ps[8];
    dg_port(dg_local_port(ds), ps, 8);
    assert_int_equal(asock_datagram_join_multicast_group(ds, GROUP), 0);
    assert_int_equal(asock_datagram_set_multicast_ttl(ds, 3), 0);
    assert_int_equal(asock_datagram_set_multicast_loopback(ds, 1), 0);
    dg_rec r;
    asock_async *op = asock_datagram_get_output_stream_async(ds, GROUP, ps);
    dg_ok(loop, &r, op);
    asock_output_stream *os = asock_async_result(op);
    asock_async_close(op);
    int fd = asock_socket_fd(asock_datagram_socket(ds));
    int v = -1;
    socklen_t l = sizeof(v);
    assert_int_equal(getsockopt(fd, IPPROTO_IP, IP_MULTICAST_TTL, &v, &l), 0);
    assert_int_equal(v, 3);
    dg_write(loop, os, "self");
    dg_wait_msgs(loop, &msgs, 1);
    assert_int_equal(asock_datagram_set_multicast_loopback(ds, 0), 0);
    l = sizeof(v);
    assert_int_equal(getsockopt(fd, IPPROTO_IP, IP_MULTICAST_LOOP, &v, &l), 0);
    assert_int_equal(v, 0);
    /* (on lo itself the datagram comes back through the device whatever IP_MULTICAST_LOOP says:
     * the option only governs the local copy of traffic sent out of a real interface, which
     * test_netns.c checks over veth) */
    dg_close(loop, ds);
    asock_t_end(loop);
}

/* Source-specific multicast: only the chosen source is heard. */
static void test_source_specific(void **state)
{
    (void)state;
    asock_loop *loop = asock_t_loop();
    dg_msgs msgs;
    asock_datagram *rx = receiver(loop, &msgs, "", 0);
    char ps[8];
    dg_port(dg_local_port(rx), ps, 8);
    assert_int_equal(asock_datagram_join_multicast_source(rx, SSM_GROUP, "127.0.0.5"), 0);
    asock_datagram *ta = NULL, *tb = NULL;
    asock_output_stream *oa = sender(loop, &ta, "127.0.0.5", SSM_GROUP, ps);
    asock_output_stream *ob = sender(loop, &tb, "127.0.0.6", SSM_GROUP, ps);
    dg_write(loop, ob, "from b");
    dg_write(loop, oa, "from a");
    dg_wait_msgs(loop, &msgs, 1);
    asock_t_spin(loop, 50);
    assert_int_equal(msgs.count, 1);
    assert_string_equal(msgs.from[0], "127.0.0.5");
    assert_int_equal(asock_datagram_leave_multicast_source(rx, SSM_GROUP, "127.0.0.5"), 0);
    dg_write(loop, oa, "after leave");
    asock_t_spin(loop, 100);
    assert_int_equal(msgs.count, 1);
    dg_close(loop, rx);
    dg_close(loop, ta);
    dg_close(loop, tb);
    asock_t_end(loop);
}

/* multicast_only sockets share the port; both members hear the group, a socket on the port that
 * did not join does not; unicast arrivals are dropped. */
static void test_multicast_only_pair(void **state)
{
    (void)state;
    asock_loop *loop = asock_t_loop();
    dg_msgs m1, m2;
    asock_datagram *a = receiver(loop, &m1, "", 1);
    char ps[8];
    dg_port(dg_local_port(a), ps, 8);
    asock_datagram *b = receiver(loop, &m2, ps, 1);
    dg_msgs m3;
    asock_datagram *c = receiver(loop, &m3, ps, 1); /* same port, never joins */
    assert_int_equal(asock_datagram_join_multicast_group(a, GROUP), 0);
    assert_int_equal(asock_datagram_join_multicast_group(b, GROUP), 0);
    asock_datagram *tx = NULL;
    asock_output_stream *os = sender(loop, &tx, "127.0.0.5", GROUP, ps);
    dg_write(loop, os, "both");
    dg_wait_msgs(loop, &m1, 1);
    dg_wait_msgs(loop, &m2, 1);
    uint16_t up = 0;
    int u = asock_t_udp_socket(AF_INET, "127.0.0.2", &up);
    asock_t_sendto(u, "unicast", 7, "127.0.0.1", (uint16_t)atoi(ps));
    asock_t_spin(loop, 100);
    assert_int_equal(m1.count + m2.count, 2);
    assert_int_equal(m3.count, 0); /* only joined groups reach a socket (IP_MULTICAST_ALL off) */
    dg_close(loop, c);
    dg_close(loop, a);
    dg_close(loop, b);
    dg_close(loop, tx);
    asock_t_close_fd(u);
    asock_t_end(loop);
}

/* Joins follow the adapter of bind_service_name. */
static void test_join_on_adapter(void **state)
{
    (void)state;
    asock_loop *loop = asock_t_loop();
    dg_msgs msgs;
    asock_datagram *rx = dg_new(loop, &msgs);
    dg_run_ok(loop, asock_datagram_bind_service_name_async(rx, "", "lo"));
    char ps[8];
    dg_port(dg_local_port(rx), ps, 8);
    assert_int_equal(asock_datagram_join_multicast_group(rx, GROUP), 0);
    asock_datagram *tx = NULL;
    asock_output_stream *os = sender(loop, &tx, "127.0.0.5", GROUP, ps);
    dg_write(loop, os, "on lo");
    dg_wait_msgs(loop, &msgs, 1);
    dg_close(loop, rx);
    dg_close(loop, tx);
    asock_t_end(loop);
}

static void test_multicast_refusals(void **state)
{
    (void)state;
    asock_loop *loop = asock_t_loop();
    asock_datagram *ds = dg_new(loop, NULL);
    /* not bound yet */
    assert_int_equal(asock_datagram_join_multicast_group(ds, GROUP), -ENOTCONN);
    /* settings before the socket exists are kept */
    assert_int_equal(asock_datagram_set_multicast_ttl(ds, 7), 0);
    assert_int_equal(asock_datagram_set_multicast_loopback(ds, 0), 0);
    assert_int_equal(asock_datagram_set_multicast_interface(ds, "lo"), 0);
    assert_int_equal(asock_datagram_set_multicast_interface(ds, "nosuchif0"), -ENODEV);
    assert_int_equal(asock_datagram_set_multicast_interface(ds, ""), -EINVAL);
    assert_int_equal(asock_datagram_set_multicast_ttl(ds, 256), -EINVAL);
    assert_int_equal(asock_datagram_set_multicast_ttl(ds, -1), -EINVAL);
    assert_int_equal(asock_datagram_set_multicast_loopback(ds, 2), -EINVAL);
    /* an IPv4 socket */
    dg_run_ok(loop, asock_datagram_bind_endpoint_async(ds, "0.0.0.0", NULL));
    int fd = asock_socket_fd(asock_datagram_socket(ds));
    int v = -1;
    socklen_t l = sizeof(v);
    assert_int_equal(getsockopt(fd, IPPROTO_IP, IP_MULTICAST_TTL, &v, &l), 0);
    assert_int_equal(v, 7);
    l = sizeof(v);
    assert_int_equal(getsockopt(fd, IPPROTO_IP, IP_MULTICAST_LOOP, &v, &l), 0);
    assert_int_equal(v, 0);
    assert_int_equal(asock_datagram_join_multicast_group(ds, NULL), -EINVAL);
    assert_int_equal(asock_datagram_join_multicast_group(ds, "127.0.0.1"), -EINVAL);
    assert_int_equal(asock_datagram_join_multicast_group(ds, "mcast.test"), -EINVAL);
    assert_int_equal(asock_datagram_join_multicast_group(ds, "ff02::1"), -EAFNOSUPPORT);
    assert_int_equal(asock_datagram_join_multicast_source(ds, SSM_GROUP, "239.1.1.1"), -EINVAL);
    assert_int_equal(asock_datagram_join_multicast_source(ds, SSM_GROUP, "::1"), -EINVAL);
    assert_int_equal(asock_datagram_join_multicast_source(ds, SSM_GROUP, NULL), -EINVAL);
    assert_int_equal(asock_datagram_leave_multicast_group(ds, GROUP), -EADDRNOTAVAIL);
    assert_int_equal(asock_datagram_join_multicast_group(NULL, GROUP), -EINVAL);
    /* none of that changed the socket: a join still works */
    assert_int_equal(asock_datagram_join_multicast_group(ds, GROUP), 0);
    dg_close(loop, ds);
    asock_t_end(loop);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_join_receive_leave), cmocka_unit_test(test_own_traffic_and_loopback),
        cmocka_unit_test(test_source_specific),    cmocka_unit_test(test_multicast_only_pair),
        cmocka_unit_test(test_join_on_adapter),    cmocka_unit_test(test_multicast_refusals),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
