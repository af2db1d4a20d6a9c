/* Connect by name (SPEC S12, dotnet-sockets.md §2.4-2.6): DNS endpoints on the instance and the
 * static connect, the .NET results (connect_socket, connect_by_name_error, last error, NoData),
 * data sent with the connect, options re-applied, SRV fall-through, timeout and cancel reaching
 * the resolution phase, and datagram sockets. */
#define _GNU_SOURCE 1
#include "net.h"
#include "dns_env.h"

#include <ares.h>
#include <netinet/tcp.h>

static void dns_ep(asock_endpoint *ep, const char *host, uint16_t port, int family)
{
    assert_int_equal(asock_endpoint_dns(ep, host, port, family), 0);
}

static int ep_family(const asock_socket *s)
{
    asock_endpoint remote;
    assert_int_equal(asock_socket_remote_endpoint(s, &remote), 0);
    return asock_endpoint_family(&remote);
}

/* svc1.test -> 127.0.0.2: an instance connect by name; the callback runs from the loop. */
static void instance_connect(void **state)
{
    (void)state;
    asock_loop *loop = dns_loop();
    uint16_t port = 0;
    int lfd = asock_t_tcp_listener(AF_INET, "127.0.0.2", &port);
    asock_socket *s = asock_t_open(loop, AF_INET, SOCK_STREAM);
    asock_t_op op;
    asock_t_op_init(&op);
    dns_ep(&op.e.remote_endpoint, "svc1.test", port, AF_UNSPEC);
    assert_int_equal(asock_t_do(loop, &op, asock_connect_async, s), 1);
    asock_t_assert_err(&op.e, ASOCK_SUCCESS);
    assert_int_equal(op.e.connect_by_name_error, ASOCK_SUCCESS);
    assert_ptr_equal(op.e.connect_socket, s);
    assert_ptr_equal(op.sender, s);
    assert_int_equal(asock_socket_connected(s), 1);
    assert_int_equal(op.e.remote_endpoint.kind, ASOCK_ENDPOINT_DNS); /* left as it was */

    int peer = asock_t_accept_fd(lfd, ASOCK_T_WAIT_MS);
    asock_t_write_all(peer, "x", 1);
    char b = 0;
    assert_int_equal(asock_args_set_buffer(&op.e, &b, 0, 1), 0);
    asock_t_do(loop, &op, asock_receive_async, s);
    assert_int_equal(b, 'x');
    asock_socket_close(s);
    asock_t_close_fd(peer);
    asock_t_close_fd(lfd);
    asock_t_end(loop);
    asock_t_op_check(&op);
}

/* S6 + re-applied options: the data goes out on the winner, bytes_transferred counts it; the
 * options set before the connect are on the connected descriptor. */
static void data_and_options(void **state)
{
    (void)state;
    asock_loop *loop = dns_loop();
    uint16_t port = 0;
    int lfd = asock_t_tcp_listener(AF_INET, "127.0.0.2", &port);
    asock_socket *s = asock_t_open(loop, AF_INET, SOCK_STREAM);
    assert_int_equal(asock_socket_set_option(s, ASOCK_OPT_NO_DELAY, 1), 0);
    assert_int_equal(asock_socket_set_option(s, ASOCK_OPT_KEEP_ALIVE, 1), 0);
    asock_t_op op;
    asock_t_op_init(&op);
    char data[] = "hello by name";
    assert_int_equal(asock_args_set_buffer(&op.e, data, 0, sizeof(data)), 0);
    dns_ep(&op.e.remote_endpoint, "svc1.test", port, AF_UNSPEC);
    asock_t_do(loop, &op, asock_connect_async, s);
    asock_t_assert_err(&op.e, ASOCK_SUCCESS);
    assert_int_equal(op.e.bytes_transferred, sizeof(data));
    int fd = asock_socket_fd(s);
    int v = 0;
    socklen_t len = sizeof(v);
    assert_int_equal(getsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &v, &len), 0);
    assert_int_equal(v, 1);
    assert_int_equal(getsockopt(fd, SOL_SOCKET, SO_KEEPALIVE, &v, &len), 0);
    assert_int_equal(v, 1);

    int peer = asock_t_accept_fd(lfd, ASOCK_T_WAIT_MS);
    char got[sizeof(data)];
    asock_t_read_exact(peer, got, sizeof(got), ASOCK_T_WAIT_MS);
    assert_memory_equal(got, data, sizeof(data));
    asock_socket_close(s);
    asock_t_close_fd(peer);
    asock_t_close_fd(lfd);
    asock_t_end(loop);
}

/* svc2.test -> ::1, 127.0.0.3.  The static connect gets a socket of the family that answered:
 * IPv6 when [::1] listens; IPv4 when only 127.0.0.3 listens (::1 refuses at once). */
static int loop_connect_stream(asock_socket *s, asock_args *e)
{
    asock_loop *loop = (asock_loop *)(void *)s;
    return asock_loop_connect_async(loop, SOCK_STREAM, 0, e);
}

static void static_connect(void **state)
{
    (void)state;
    asock_loop *loop = dns_loop();
    uint16_t port = 0;
    int l6 = asock_t_tcp_listener(AF_INET6, "::1", &port);
    asock_t_op op;
    asock_t_op_init(&op);
    dns_ep(&op.e.remote_endpoint, "svc2.test", port, AF_UNSPEC);
    assert_int_equal(asock_t_do(loop, &op, loop_connect_stream, (asock_socket *)(void *)loop), 1);
    asock_t_assert_err(&op.e, ASOCK_SUCCESS);
    assert_non_null(op.e.connect_socket);
    assert_ptr_equal(op.sender, op.e.connect_socket);
    assert_int_equal(ep_family(op.e.connect_socket), AF_INET6);
    int peer = asock_t_accept_fd(l6, ASOCK_T_WAIT_MS);
    asock_socket_close(op.e.connect_socket);
    asock_t_close_fd(peer);
    asock_t_close_fd(l6);

    /* only 127.0.0.3 listens: ::1 refuses, the IPv4 address wins */
    int l4 = asock_t_tcp_listener(AF_INET, "127.0.0.3", &port);
    dns_ep(&op.e.remote_endpoint, "svc2.test", port, AF_UNSPEC);
    asock_t_do(loop, &op, loop_connect_stream, (asock_socket *)(void *)loop);
    asock_t_assert_err(&op.e, ASOCK_SUCCESS);
    assert_non_null(op.e.connect_socket);
    assert_int_equal(ep_family(op.e.connect_socket), AF_INET);
    peer = asock_t_accept_fd(l4, ASOCK_T_WAIT_MS);
    asock_socket_close(op.e.connect_socket);
    asock_t_close_fd(peer);
    asock_t_close_fd(l4);
    asock_t_end(loop);
    asock_t_op_check(&op);
}

/* The .NET failure results: resolution errors, the last connect error, NoData. */
static void failures(void **state)
{
    (void)state;
    asock_loop *loop = dns_loop();
    asock_socket *s = asock_t_open(loop, AF_INET, SOCK_STREAM);
    asock_t_op op;
    asock_t_op_init(&op);

    dns_ep(&op.e.remote_endpoint, "nosuch.test", 80, AF_UNSPEC);
    asock_t_do(loop, &op, asock_connect_async, s);
    asock_t_assert_err(&op.e, ASOCK_ERR_HOST_NOT_FOUND);
    assert_int_equal(op.e.connect_by_name_error, ASOCK_ERR_HOST_NOT_FOUND);
    assert_int_equal(op.e.sys_errno, ARES_ENOTFOUND); /* the resolver's code beside it */
    assert_null(op.e.connect_socket);

    /* an AF_INET socket and a name with only AAAA: no usable address */
    dns_ep(&op.e.remote_endpoint, "v6only.test", 80, AF_UNSPEC);
    asock_t_do(loop, &op, asock_connect_async, s);
    asock_t_assert_err(&op.e, ASOCK_ERR_NO_DATA);
    assert_int_equal(op.e.connect_by_name_error, ASOCK_ERR_NO_DATA);

    /* every address refuses: the last error */
    uint16_t closed = asock_t_free_port(AF_INET, "127.0.0.3", SOCK_STREAM);
    dns_ep(&op.e.remote_endpoint, "svc2.test", closed, AF_UNSPEC);
    asock_t_do(loop, &op, loop_connect_stream, (asock_socket *)(void *)loop);
    asock_t_assert_err(&op.e, ASOCK_ERR_CONNECTION_REFUSED);
    assert_int_equal(op.e.connect_by_name_error, ASOCK_ERR_CONNECTION_REFUSED);
    assert_int_equal(op.e.sys_errno, ECONNREFUSED);
    assert_null(op.e.connect_socket);
    assert_null(op.sender);

    /* the user's socket stays usable after a failed connect by name */
    uint16_t port = 0;
    int lfd = asock_t_tcp_listener(AF_INET, "127.0.0.2", &port);
    dns_ep(&op.e.remote_endpoint, "svc1.test", port, AF_UNSPEC);
    asock_t_do(loop, &op, asock_connect_async, s);
    asock_t_assert_err(&op.e, ASOCK_SUCCESS);
    int peer = asock_t_accept_fd(lfd, ASOCK_T_WAIT_MS);
    asock_socket_close(s);
    asock_t_close_fd(peer);
    asock_t_close_fd(lfd);
    asock_t_end(loop);
    asock_t_op_check(&op);
}

static const char *g_host, *g_service;

static int connect_service(asock_socket *s, asock_args *e)
{
    return asock_connect_service_async(s, g_host, g_service, e);
}

/* D3/S12: _fall._tcp.svc.test has refuse.test (priority 10, nothing listens) and ok.test
 * (priority 20): the connect falls through to ok.test. */
static void srv_fall_through(void **state)
{
    (void)state;
    asock_loop *loop = dns_loop();
    uint16_t ok_port = dns_env_port("srv_ok_port");
    uint16_t refuse_port = dns_env_port("srv_refuse_port");
    int one = 1;
    int lfd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    assert_true(lfd >= 0);
    setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    struct sockaddr_storage ss;
    socklen_t len = asock_t_sockaddr("127.0.53.12", ok_port, &ss);
    assert_int_equal(bind(lfd, (struct sockaddr *)&ss, len), 0);
    assert_int_equal(listen(lfd, 8), 0);

    asock_socket *s = asock_t_open(loop, AF_INET, SOCK_STREAM);
    asock_t_op op;
    asock_t_op_init(&op);
    g_host = "svc.test";
    g_service = "fall";
    assert_int_equal(asock_t_do(loop, &op, connect_service, s), 1);
    asock_t_assert_err(&op.e, ASOCK_SUCCESS);
    asock_endpoint remote;
    assert_int_equal(asock_socket_remote_endpoint(s, &remote), 0);
    char buf[64];
    asock_endpoint_format(&remote, buf, sizeof(buf));
    char want[64];
    snprintf(want, sizeof(want), "127.0.53.12:%u", (unsigned)ok_port);
    assert_string_equal(buf, want);
    int peer = asock_t_accept_fd(lfd, ASOCK_T_WAIT_MS);
    asock_socket_close(s);
    asock_t_close_fd(peer);

    /* with only the refusing target reachable the error is the last one: refused */
    asock_t_close_fd(lfd);
    (void)refuse_port;
    s = asock_t_open(loop, AF_INET, SOCK_STREAM);
    asock_t_do(loop, &op, connect_service, s);
    asock_t_assert_err(&op.e, ASOCK_ERR_CONNECTION_REFUSED);

    /* a service with neither a services entry nor an SRV record: HostNotFound */
    g_service = "nosuchservice";
    asock_t_do(loop, &op, connect_service, s);
    asock_t_assert_err(&op.e, ASOCK_ERR_HOST_NOT_FOUND);

    /* services-database names work the same (echo 7/tcp; nothing listens on 127.0.0.2:7) */
    g_host = "svc1.test";
    g_service = "echo";
    asock_t_do(loop, &op, connect_service, s);
    asock_t_assert_err(&op.e, ASOCK_ERR_CONNECTION_REFUSED);
    assert_int_equal(asock_connect_service_async(s, "svc1.test", "0", &op.e), -EINVAL);
    assert_int_equal(asock_connect_service_async(s, "bad host!", "80", &op.e), -EINVAL);
    asock_socket_close(s);
    asock_t_end(loop);
    asock_t_op_check(&op);
}

/* connect_timeout_ms covers resolution: a server that never answers times the connect out. */
static void timeout_during_resolution(void **state)
{
    (void)state;
    int silent;
    asock_loop *loop = dns_silent_loop(&silent, 5000, 3);
    asock_socket *s = asock_t_open(loop, AF_INET, SOCK_STREAM);
    asock_t_op op;
    asock_t_op_init(&op);
    dns_ep(&op.e.remote_endpoint, "svc1.test", 80, AF_UNSPEC);
    op.e.connect_timeout_ms = 200;
    uint64_t t0 = asock_t_now_ms();
    asock_t_do(loop, &op, asock_connect_async, s);
    uint64_t took = asock_t_now_ms() - t0;
    asock_t_assert_err(&op.e, ASOCK_ERR_TIMED_OUT);
    assert_int_equal(op.e.connect_by_name_error, ASOCK_ERR_TIMED_OUT);
    assert_true(took >= 190 && took < 1500);
    asock_socket_close(s);
    asock_t_end(loop);
    asock_t_close_fd(silent);
}

/* cancel reaches the resolution phase; closing the socket does too. */
static void cancel_during_resolution(void **state)
{
    (void)state;
    int silent;
    asock_loop *loop = dns_silent_loop(&silent, 5000, 3);
    asock_socket *s = asock_t_open(loop, AF_INET, SOCK_STREAM);
    asock_t_op op;
    asock_t_op_init(&op);
    dns_ep(&op.e.remote_endpoint, "svc1.test", 80, AF_UNSPEC);
    assert_int_equal(asock_t_start(&op, asock_connect_async, s), 1);
    for (int i = 0; i < 5; i++)
        asock_loop_run(loop, ASOCK_RUN_NOWAIT);
    assert_int_equal(op.calls, 0);
    /* a second connect while this one runs is refused */
    asock_args e2;
    asock_args_init(&e2);
    dns_ep(&e2.remote_endpoint, "svc1.test", 80, AF_UNSPEC);
    assert_int_equal(asock_connect_async(s, &e2), -EALREADY);
    uint64_t t0 = asock_t_now_ms();
    asock_cancel_connect_async(&op.e);
    assert_int_equal(op.calls, 0);
    asock_t_wait(loop, &op, 1000);
    asock_t_assert_err(&op.e, ASOCK_ERR_OPERATION_ABORTED);
    assert_int_equal(op.e.connect_by_name_error, ASOCK_ERR_OPERATION_ABORTED);
    assert_true(asock_t_now_ms() - t0 < 500);

    /* the static connect, cancelled */
    asock_t_op op2;
    asock_t_op_init(&op2);
    dns_ep(&op2.e.remote_endpoint, "svc1.test", 80, AF_UNSPEC);
    assert_int_equal(asock_t_start(&op2, loop_connect_stream, (asock_socket *)(void *)loop), 1);
    asock_loop_run(loop, ASOCK_RUN_NOWAIT);
    asock_cancel_connect_async(&op2.e);
    asock_t_wait(loop, &op2, 1000);
    asock_t_assert_err(&op2.e, ASOCK_ERR_OPERATION_ABORTED);
    assert_null(op2.e.connect_socket);

    /* closing the socket aborts it */
    assert_int_equal(asock_t_start(&op, asock_connect_async, s), 1);
    asock_loop_run(loop, ASOCK_RUN_NOWAIT);
    asock_socket_close(s);
    asock_t_wait(loop, &op, 1000);
    asock_t_assert_err(&op.e, ASOCK_ERR_OPERATION_ABORTED);
    asock_t_end(loop);
    asock_t_close_fd(silent);
    asock_t_op_check(&op);
    asock_t_op_check(&op2);
}

static int loop_connect_service_dgram(asock_socket *s, asock_args *e)
{
    return asock_loop_connect_service_async((asock_loop *)(void *)s, SOCK_DGRAM, 0, g_host,
                                            g_service, e);
}

/* A datagram socket resolves and connects its own descriptor (it may be bound) to the first
 * usable address. */
static void datagram_connect(void **state)
{
    (void)state;
    asock_loop *loop = dns_loop();
    uint16_t port = 0;
    int peer = asock_t_udp_socket(AF_INET, "127.0.0.2", &port);
    asock_socket *s = asock_t_open(loop, AF_INET, SOCK_DGRAM);
    asock_t_bind(s, "127.0.0.1", 0);
    uint16_t local = asock_t_local_port(s);
    asock_t_op op;
    asock_t_op_init(&op);
    dns_ep(&op.e.remote_endpoint, "svc1.test", port, AF_UNSPEC);
    asock_t_do(loop, &op, asock_connect_async, s);
    asock_t_assert_err(&op.e, ASOCK_SUCCESS);
    assert_ptr_equal(op.e.connect_socket, s);
    assert_int_equal(asock_socket_connected(s), 1);
    assert_int_equal(asock_t_local_port(s), local); /* the same, bound descriptor */

    char d = 'u';
    assert_int_equal(asock_args_set_buffer(&op.e, &d, 0, 1), 0);
    asock_t_do(loop, &op, asock_send_async, s);
    asock_t_assert_err(&op.e, ASOCK_SUCCESS);
    char got = 0;
    struct sockaddr_storage from;
    assert_int_equal(asock_t_recvfrom(peer, &got, 1, ASOCK_T_WAIT_MS, &from), 1);
    assert_int_equal(got, 'u');
    assert_int_equal(asock_t_sa_port(&from), local);

    /* a UDP-only services-database name */
    g_host = "svc1.test";
    g_service = "ntp";
    asock_t_do(loop, &op, connect_service, s);
    asock_t_assert_err(&op.e, ASOCK_SUCCESS);
    asock_endpoint remote;
    assert_int_equal(asock_socket_remote_endpoint(s, &remote), 0);
    assert_int_equal(asock_endpoint_port(&remote), 123);
    asock_socket_close(s);

    /* the static connect of a datagram socket */
    assert_int_equal(asock_t_start(&op, loop_connect_service_dgram, (asock_socket *)(void *)loop),
                     1);
    asock_t_wait(loop, &op, ASOCK_T_WAIT_MS);
    asock_t_assert_err(&op.e, ASOCK_SUCCESS);
    assert_non_null(op.e.connect_socket);
    assert_int_equal(asock_socket_type(op.e.connect_socket), SOCK_DGRAM);
    assert_int_equal(asock_socket_connected(op.e.connect_socket), 1);
    asock_socket_close(op.e.connect_socket);
    asock_t_close_fd(peer);
    asock_t_end(loop);
    asock_t_op_check(&op);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(instance_connect),         cmocka_unit_test(data_and_options),
        cmocka_unit_test(static_connect),           cmocka_unit_test(failures),
        cmocka_unit_test(srv_fall_through),         cmocka_unit_test(timeout_during_resolution),
        cmocka_unit_test(cancel_during_resolution), cmocka_unit_test(datagram_connect),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
