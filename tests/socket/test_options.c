/* Socket options and descriptor hygiene (asock.h §4; dotnet-sockets.md §2.7): set/get for each
 * option, checked against getsockopt on the descriptor; REUSE_ADDRESS and REUSE_PORT separate;
 * DUAL_MODE only on AF_INET6 and only before bind; IPV6_V6ONLY=1 by default; descriptors are
 * non-blocking and close-on-exec. */
#define _GNU_SOURCE 1
#include "net.h"

#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/ip.h>
#include <netinet/tcp.h>
#include <unistd.h>

static int sockopt(asock_socket *s, int level, int name)
{
    int v = -12345;
    socklen_t len = sizeof(v);
    int rc = getsockopt(asock_socket_fd(s), level, name, &v, &len);
    if (rc != 0)
        fail_msg("getsockopt(%d, %d): errno %d", level, name, errno);
    return v;
}

static int get(asock_socket *s, asock_option opt)
{
    int v = -12345;
    int rc = asock_socket_get_option(s, opt, &v);
    if (rc != 0)
        fail_msg("get_option(%d) = %d (%s)", (int)opt, rc, asock_strerror(rc));
    return v;
}

static void set(asock_socket *s, asock_option opt, int value)
{
    int rc = asock_socket_set_option(s, opt, value);
    if (rc != 0)
        fail_msg("set_option(%d, %d) = %d (%s)", (int)opt, value, rc, asock_strerror(rc));
}

static void reuse_address_and_port_are_separate(void **state)
{
    (void)state;
    asock_loop *loop = asock_t_loop();
    asock_socket *a = asock_t_open(loop, AF_INET, SOCK_STREAM);
    asock_socket *b = asock_t_open(loop, AF_INET, SOCK_DGRAM);

    set(a, ASOCK_OPT_REUSE_ADDRESS, 1);
    assert_int_equal(get(a, ASOCK_OPT_REUSE_ADDRESS), 1);
    assert_int_equal(get(a, ASOCK_OPT_REUSE_PORT), 0);
    assert_int_equal(sockopt(a, SOL_SOCKET, SO_REUSEADDR), 1);
    assert_int_equal(sockopt(a, SOL_SOCKET, SO_REUSEPORT), 0);

    set(b, ASOCK_OPT_REUSE_PORT, 1);
    assert_int_equal(get(b, ASOCK_OPT_REUSE_PORT), 1);
    assert_int_equal(get(b, ASOCK_OPT_REUSE_ADDRESS), 0);
    assert_int_equal(sockopt(b, SOL_SOCKET, SO_REUSEPORT), 1);
    assert_int_equal(sockopt(b, SOL_SOCKET, SO_REUSEADDR), 0);

    set(a, ASOCK_OPT_REUSE_ADDRESS, 0);
    assert_int_equal(get(a, ASOCK_OPT_REUSE_ADDRESS), 0);
    assert_int_equal(sockopt(a, SOL_SOCKET, SO_REUSEADDR), 0);

    asock_socket_close(a);
    asock_socket_close(b);
    asock_t_end(loop);
}

/* Two sockets on one port with REUSE_PORT (one loop per thread servers). */
static void reuse_port_shares_a_port(void **state)
{
    (void)state;
    asock_loop *loop = asock_t_loop();
    asock_socket *a = asock_t_open(loop, AF_INET, SOCK_STREAM);
    asock_socket *b = asock_t_open(loop, AF_INET, SOCK_STREAM);
    set(a, ASOCK_OPT_REUSE_PORT, 1);
    set(b, ASOCK_OPT_REUSE_PORT, 1);
    asock_t_bind(a, "127.0.0.1", 0);
    assert_int_equal(asock_socket_listen(a, 0), 0);
    uint16_t port = asock_t_local_port(a);
    asock_t_bind(b, "127.0.0.1", port);
    assert_int_equal(asock_socket_listen(b, 0), 0);
    asock_socket_close(a);
    asock_socket_close(b);
    asock_t_end(loop);
}

static void tcp_options(void **state)
{
    (void)state;
    asock_loop *loop = asock_t_loop();
    asock_socket *s = asock_t_open(loop, AF_INET, SOCK_STREAM);

    assert_int_equal(get(s, ASOCK_OPT_NO_DELAY), 0);
    set(s, ASOCK_OPT_NO_DELAY, 1);
    assert_int_equal(get(s, ASOCK_OPT_NO_DELAY), 1);
    assert_int_equal(sockopt(s, IPPROTO_TCP, TCP_NODELAY), 1);

    set(s, ASOCK_OPT_KEEP_ALIVE, 1);
    assert_int_equal(get(s, ASOCK_OPT_KEEP_ALIVE), 1);
    assert_int_equal(sockopt(s, SOL_SOCKET, SO_KEEPALIVE), 1);

    set(s, ASOCK_OPT_RECEIVE_BUFFER, 65536);
    assert_true(get(s, ASOCK_OPT_RECEIVE_BUFFER) >= 65536);
    set(s, ASOCK_OPT_SEND_BUFFER, 65536);
    assert_true(get(s, ASOCK_OPT_SEND_BUFFER) >= 65536);

    set(s, ASOCK_OPT_TTL, 42);
    assert_int_equal(get(s, ASOCK_OPT_TTL), 42);
    assert_int_equal(sockopt(s, IPPROTO_IP, IP_TTL), 42);

    assert_int_equal(get(s, ASOCK_OPT_LINGER), -1);
    set(s, ASOCK_OPT_LINGER, 5);
    assert_int_equal(get(s, ASOCK_OPT_LINGER), 5);
    set(s, ASOCK_OPT_LINGER, 0);
    assert_int_equal(get(s, ASOCK_OPT_LINGER), 0);
    set(s, ASOCK_OPT_LINGER, -1);
    assert_int_equal(get(s, ASOCK_OPT_LINGER), -1);

    set(s, ASOCK_OPT_TYPE_OF_SERVICE, 0x20);
    assert_int_equal(get(s, ASOCK_OPT_TYPE_OF_SERVICE), 0x20);
    assert_int_equal(sockopt(s, IPPROTO_IP, IP_TOS), 0x20);

    set(s, ASOCK_OPT_DONT_FRAGMENT, 1);
    assert_int_equal(get(s, ASOCK_OPT_DONT_FRAGMENT), 1);
    assert_int_equal(sockopt(s, IPPROTO_IP, IP_MTU_DISCOVER), IP_PMTUDISC_DO);

    set(s, ASOCK_OPT_FAST_OPEN, 1);
    assert_int_equal(get(s, ASOCK_OPT_FAST_OPEN), 1);
    assert_int_equal(sockopt(s, IPPROTO_TCP, TCP_FASTOPEN_CONNECT), 1);

    assert_int_equal(get(s, ASOCK_OPT_ERROR), 0);
    assert_true(asock_socket_set_option(s, ASOCK_OPT_ERROR, 1) < 0); /* get only */

    asock_socket_close(s);
    asock_t_end(loop);
}

/* FAST_OPEN on a listener sets the TCP_FASTOPEN queue: set before listen ... */
static void fast_open_before_listen(void **state)
{
    (void)state;
    asock_loop *loop = asock_t_loop();
    asock_socket *l = asock_t_open(loop, AF_INET, SOCK_STREAM);
    asock_t_bind(l, "127.0.0.1", 0);
    set(l, ASOCK_OPT_FAST_OPEN, 16);
    assert_int_equal(asock_socket_listen(l, 0), 0);
    assert_int_equal(sockopt(l, IPPROTO_TCP, TCP_FASTOPEN), 16);
    asock_socket_close(l);
    asock_t_end(loop);
}

/* ... and on a socket that is already listening. */
static void fast_open_on_listener(void **state)
{
    (void)state;
    asock_loop *loop = asock_t_loop();
    asock_socket *l = asock_t_open(loop, AF_INET, SOCK_STREAM);
    asock_t_bind(l, "127.0.0.1", 0);
    assert_int_equal(asock_socket_listen(l, 0), 0);
    set(l, ASOCK_OPT_FAST_OPEN, 16);
    assert_int_equal(sockopt(l, IPPROTO_TCP, TCP_FASTOPEN), 16);
    asock_socket_close(l);
    asock_t_end(loop);
}

static void udp_options(void **state)
{
    (void)state;
    asock_loop *loop = asock_t_loop();
    asock_socket *s = asock_t_open(loop, AF_INET, SOCK_DGRAM);

    assert_int_equal(get(s, ASOCK_OPT_BROADCAST), 0);
    set(s, ASOCK_OPT_BROADCAST, 1);
    assert_int_equal(get(s, ASOCK_OPT_BROADCAST), 1);
    assert_int_equal(sockopt(s, SOL_SOCKET, SO_BROADCAST), 1);

    set(s, ASOCK_OPT_MULTICAST_LOOPBACK, 0);
    assert_int_equal(get(s, ASOCK_OPT_MULTICAST_LOOPBACK), 0);
    assert_int_equal(sockopt(s, IPPROTO_IP, IP_MULTICAST_LOOP), 0);

    set(s, ASOCK_OPT_MULTICAST_TTL, 5);
    assert_int_equal(get(s, ASOCK_OPT_MULTICAST_TTL), 5);
    assert_int_equal(sockopt(s, IPPROTO_IP, IP_MULTICAST_TTL), 5);

    set(s, ASOCK_OPT_TTL, 17);
    assert_int_equal(get(s, ASOCK_OPT_TTL), 17);

    asock_socket_close(s);
    asock_t_end(loop);
}

static void ipv6_options(void **state)
{
    (void)state;
    asock_loop *loop = asock_t_loop();
    asock_socket *t = asock_t_open(loop, AF_INET6, SOCK_STREAM);
    asock_socket *u = asock_t_open(loop, AF_INET6, SOCK_DGRAM);

    /* IPV6_V6ONLY is set explicitly (this machine's default may be 0) */
    assert_int_equal(sockopt(t, IPPROTO_IPV6, IPV6_V6ONLY), 1);
    assert_int_equal(sockopt(u, IPPROTO_IPV6, IPV6_V6ONLY), 1);
    assert_int_equal(get(t, ASOCK_OPT_DUAL_MODE), 0);

    set(t, ASOCK_OPT_DUAL_MODE, 1);
    assert_int_equal(get(t, ASOCK_OPT_DUAL_MODE), 1);
    assert_int_equal(sockopt(t, IPPROTO_IPV6, IPV6_V6ONLY), 0);

    set(u, ASOCK_OPT_TTL, 33);
    assert_int_equal(get(u, ASOCK_OPT_TTL), 33);
    assert_int_equal(sockopt(u, IPPROTO_IPV6, IPV6_UNICAST_HOPS), 33);
    set(u, ASOCK_OPT_TYPE_OF_SERVICE, 0x20);
    assert_int_equal(get(u, ASOCK_OPT_TYPE_OF_SERVICE), 0x20);
    assert_int_equal(sockopt(u, IPPROTO_IPV6, IPV6_TCLASS), 0x20);
    set(u, ASOCK_OPT_DONT_FRAGMENT, 1);
    assert_int_equal(get(u, ASOCK_OPT_DONT_FRAGMENT), 1);
    assert_int_equal(sockopt(u, IPPROTO_IPV6, IPV6_DONTFRAG), 1);
    set(u, ASOCK_OPT_MULTICAST_TTL, 4);
    assert_int_equal(sockopt(u, IPPROTO_IPV6, IPV6_MULTICAST_HOPS), 4);

    /* DUAL_MODE after bind: -EISCONN */
    asock_t_bind(u, "::1", 0);
    asock_t_assert_rc(asock_socket_set_option(u, ASOCK_OPT_DUAL_MODE, 1), -EISCONN);
    assert_int_equal(sockopt(u, IPPROTO_IPV6, IPV6_V6ONLY), 1);

    asock_socket_close(t);
    asock_socket_close(u);
    asock_t_end(loop);
}

static void dual_mode_on_ipv4_not_supported(void **state)
{
    (void)state;
    asock_loop *loop = asock_t_loop();
    asock_socket *s = asock_t_open(loop, AF_INET, SOCK_STREAM);
    asock_t_assert_rc(asock_socket_set_option(s, ASOCK_OPT_DUAL_MODE, 1), -EOPNOTSUPP);
    int v = 77;
    int rc = asock_socket_get_option(s, ASOCK_OPT_DUAL_MODE, &v);
    assert_true(rc == -EOPNOTSUPP || (rc == 0 && v == 0));
    asock_socket_close(s);
    asock_t_end(loop);
}

static void check_fd_flags(asock_socket *s)
{
    int fd = asock_socket_fd(s);
    assert_true(fd >= 0);
    int fl = fcntl(fd, F_GETFL);
    int fdfl = fcntl(fd, F_GETFD);
    if ((fl & O_NONBLOCK) == 0)
        fail_msg("fd %d is blocking", fd);
    if ((fdfl & FD_CLOEXEC) == 0)
        fail_msg("fd %d is not close-on-exec", fd);
}

/* Every descriptor asock makes is non-blocking and close-on-exec: opened, accepted. */
static void descriptors_nonblocking_cloexec(void **state)
{
    (void)state;
    asock_loop *loop = asock_t_loop();
    int fams[2] = {AF_INET, AF_INET6};
    int types[2] = {SOCK_STREAM, SOCK_DGRAM};
    for (int i = 0; i < 2; i++) {
        for (int j = 0; j < 2; j++) {
            asock_socket *s = asock_t_open(loop, fams[i], types[j]);
            check_fd_flags(s);
            assert_int_equal(asock_socket_family(s), fams[i]);
            assert_int_equal(asock_socket_type(s), types[j]);
            assert_ptr_equal(asock_socket_loop(s), loop);
            asock_socket_close(s);
        }
    }
    uint16_t port = 0;
    asock_socket *l = asock_t_listener(loop, "127.0.0.1", &port);
    check_fd_flags(l);
    int c = asock_t_tcp_connect(AF_INET, "127.0.0.1", port);
    asock_t_op acc;
    asock_t_op_init(&acc);
    asock_t_do(loop, &acc, asock_accept_async, l);
    asock_t_assert_err(&acc.e, ASOCK_SUCCESS);
    check_fd_flags(acc.e.accept_socket);
    asock_socket_close(acc.e.accept_socket);
    asock_socket_close(l);
    asock_t_close_fd(c);
    asock_t_end(loop);
    asock_t_op_check(&acc);
}

/* User data on the socket. */
static void socket_user_data(void **state)
{
    (void)state;
    asock_loop *loop = asock_t_loop();
    asock_socket *s = asock_t_open(loop, AF_INET, SOCK_STREAM);
    assert_null(asock_socket_get_data(s));
    int x;
    asock_socket_set_data(s, &x);
    assert_ptr_equal(asock_socket_get_data(s), &x);
    asock_socket_close(s);
    asock_t_end(loop);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(reuse_address_and_port_are_separate),
        cmocka_unit_test(reuse_port_shares_a_port),
        cmocka_unit_test(tcp_options),
        cmocka_unit_test(fast_open_before_listen),
        cmocka_unit_test(fast_open_on_listener),
        cmocka_unit_test(udp_options),
        cmocka_unit_test(ipv6_options),
        cmocka_unit_test(dual_mode_on_ipv4_not_supported),
        cmocka_unit_test(descriptors_nonblocking_cloexec),
        cmocka_unit_test(socket_user_data),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
