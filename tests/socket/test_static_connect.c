/* The static ConnectAsync, asock_loop_connect_async, with IP endpoints (dotnet-sockets.md §2.5):
 * the socket it opens is handed over in connect_socket (and as the callback's sender) on success;
 * on failure connect_socket is NULL and no socket is left. */
#define _GNU_SOURCE 1
#include "net.h"

#include <errno.h>
#include <fcntl.h>
#include <unistd.h>

static int start_loop_connect(asock_t_op *op, asock_loop *loop, int type)
{
    asock_t_call_begin(op);
    return asock_t_call_end(op, asock_loop_connect_async(loop, type, 0, &op->e));
}

static void wait_op(asock_loop *loop, asock_t_op *op)
{
    assert_true(op->rc == 0 || op->rc == 1);
    asock_t_wait(loop, op, ASOCK_T_WAIT_MS);
}

static void static_connect_tcp(int family, const char *addr)
{
    asock_loop *loop = asock_t_loop();
    uint16_t port = 0;
    int lfd = asock_t_tcp_listener(family, addr, &port);

    asock_t_op op;
    asock_t_op_init(&op);
    asock_t_ep(&op.e.remote_endpoint, addr, port);
    assert_int_equal(asock_args_set_buffer(&op.e, "static", 0, 6), 0);
    start_loop_connect(&op, loop, SOCK_STREAM);
    wait_op(loop, &op);
    asock_t_assert_err(&op.e, ASOCK_SUCCESS);
    assert_int_equal(op.e.last_operation, ASOCK_OP_CONNECT);
    asock_socket *c = op.e.connect_socket;
    assert_non_null(c);
    if (op.rc == 1)
        assert_ptr_equal(op.sender, c);
    assert_int_equal(op.e.bytes_transferred, 6);
    assert_int_equal(asock_socket_connected(c), 1);
    assert_int_equal(asock_socket_family(c), family);
    assert_int_equal(asock_socket_type(c), SOCK_STREAM);
    assert_ptr_equal(asock_socket_loop(c), loop);
    int fd = asock_socket_fd(c);
    assert_true((fcntl(fd, F_GETFL) & O_NONBLOCK) != 0);
    assert_true((fcntl(fd, F_GETFD) & FD_CLOEXEC) != 0);

    int peer = asock_t_accept_fd(lfd, ASOCK_T_WAIT_MS);
    char got[6];
    asock_t_read_exact(peer, got, 6, 2000);
    assert_memory_equal(got, "static", 6);

    /* the caller owns it: it works like any socket, and the caller closes it */
    char b[2];
    asock_t_write_all(peer, "ok", 2);
    assert_int_equal(asock_args_set_buffer(&op.e, b, 0, 2), 0);
    asock_t_do(loop, &op, asock_receive_async, c);
    asock_t_assert_err(&op.e, ASOCK_SUCCESS);
    assert_memory_equal(b, "ok", 2);

    asock_socket_close(c);
    asock_t_close_fd(peer);
    asock_t_close_fd(lfd);
    asock_t_end(loop);
    asock_t_op_check(&op);
}

static void static_connect_tcp_v4(void **state)
{
    (void)state;
    static_connect_tcp(AF_INET, "127.0.0.1");
}

static void static_connect_tcp_v6(void **state)
{
    (void)state;
    static_connect_tcp(AF_INET6, "::1");
}

/* Failure: connect_socket NULL (sender NULL), and no socket or descriptor is left behind. */
static void static_connect_refused_leaves_nothing(void **state)
{
    (void)state;
    asock_loop *loop = asock_t_loop();
    uint16_t port = asock_t_free_port(AF_INET, "127.0.0.1", SOCK_STREAM);
    int fds = asock_t_fd_count();

    asock_t_op op;
    asock_t_op_init(&op);
    op.sender = (asock_socket *)(uintptr_t)1;
    asock_t_ep(&op.e.remote_endpoint, "127.0.0.1", port);
    start_loop_connect(&op, loop, SOCK_STREAM);
    wait_op(loop, &op);
    asock_t_assert_err(&op.e, ASOCK_ERR_CONNECTION_REFUSED);
    assert_int_equal(op.e.sys_errno, ECONNREFUSED);
    assert_null(op.e.connect_socket);
    if (op.rc == 1)
        assert_null(op.sender);
    asock_t_drain(loop, 1000);
    assert_int_equal(asock_t_fd_count(), fds);

    asock_t_end(loop);
    asock_t_op_check(&op);
}

/* A datagram static connect: the socket has its default peer, synchronously. */
static void static_connect_udp(void **state)
{
    (void)state;
    asock_loop *loop = asock_t_loop();
    uint16_t pa = 0;
    int a = asock_t_udp_socket(AF_INET, "127.0.0.1", &pa);

    asock_t_op op;
    asock_t_op_init(&op);
    asock_t_ep(&op.e.remote_endpoint, "127.0.0.1", pa);
    asock_t_assert_rc(start_loop_connect(&op, loop, SOCK_DGRAM), 0);
    asock_t_assert_err(&op.e, ASOCK_SUCCESS);
    asock_socket *c = op.e.connect_socket;
    assert_non_null(c);
    assert_int_equal(asock_socket_type(c), SOCK_DGRAM);
    assert_int_equal(asock_socket_connected(c), 1);

    assert_int_equal(asock_args_set_buffer(&op.e, "dg", 0, 2), 0);
    asock_t_do(loop, &op, asock_send_async, c);
    asock_t_assert_err(&op.e, ASOCK_SUCCESS);
    char buf[4];
    assert_int_equal(asock_t_recvfrom(a, buf, sizeof(buf), 2000, NULL), 2);
    assert_memory_equal(buf, "dg", 2);

    asock_socket_close(c);
    asock_t_close_fd(a);
    asock_t_end(loop);
    asock_t_op_check(&op);
}

/* A broadcast static connect without the option fails: no socket is left. */
static void static_connect_udp_failure_leaves_nothing(void **state)
{
    (void)state;
    asock_loop *loop = asock_t_loop();
    int fds = asock_t_fd_count();
    asock_t_op op;
    asock_t_op_init(&op);
    asock_t_ep(&op.e.remote_endpoint, "127.255.255.255", 9);
    start_loop_connect(&op, loop, SOCK_DGRAM);
    wait_op(loop, &op);
    asock_t_assert_err(&op.e, ASOCK_ERR_ACCESS_DENIED);
    assert_null(op.e.connect_socket);
    asock_t_drain(loop, 1000);
    assert_int_equal(asock_t_fd_count(), fds);
    asock_t_end(loop);
    asock_t_op_check(&op);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(static_connect_tcp_v4),
        cmocka_unit_test(static_connect_tcp_v6),
        cmocka_unit_test(static_connect_refused_leaves_nothing),
        cmocka_unit_test(static_connect_udp),
        cmocka_unit_test(static_connect_udp_failure_leaves_nothing),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
