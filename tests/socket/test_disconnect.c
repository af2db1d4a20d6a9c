/* disconnect_async (dotnet-sockets.md §1.5, §2.8): always synchronous (shutdown both ways); with
 * disconnect_reuse_socket the socket gets a fresh descriptor and can connect again. */
#define _GNU_SOURCE 1
#include "net.h"

#include <errno.h>
#include <fcntl.h>
#include <unistd.h>

static void disconnect_is_synchronous(void **state)
{
    (void)state;
    asock_loop *loop = asock_t_loop();
    asock_socket *s;
    int peer;
    asock_t_connected_pair(loop, AF_INET, &s, &peer);

    asock_t_op op;
    asock_t_op_init(&op);
    op.e.bytes_transferred = 5;
    asock_t_assert_rc(asock_t_start(&op, asock_disconnect_async, s), 0);
    asock_t_assert_err(&op.e, ASOCK_SUCCESS);
    assert_int_equal(op.e.last_operation, ASOCK_OP_DISCONNECT);
    assert_int_equal(op.e.bytes_transferred, 0);
    assert_int_equal(asock_socket_connected(s), 0);

    /* the peer sees the end of the stream */
    char b;
    assert_int_equal(asock_t_read_some(peer, &b, 1, 2000), 0);

    asock_t_drain(loop, 500);
    assert_int_equal(op.calls, 0);
    asock_socket_close(s);
    asock_t_close_fd(peer);
    asock_t_end(loop);
    asock_t_op_check(&op);
}

static void disconnect_reuse_connects_again(void **state)
{
    (void)state;
    asock_loop *loop = asock_t_loop();
    asock_socket *s;
    int peer;
    asock_t_connected_pair(loop, AF_INET, &s, &peer);
    assert_int_equal(asock_socket_set_option(s, ASOCK_OPT_NO_DELAY, 1), 0);

    asock_t_op op;
    asock_t_op_init(&op);
    op.e.disconnect_reuse_socket = 1;
    asock_t_assert_rc(asock_t_start(&op, asock_disconnect_async, s), 0);
    asock_t_assert_err(&op.e, ASOCK_SUCCESS);
    assert_int_equal(asock_socket_connected(s), 0);
    char b;
    assert_int_equal(asock_t_read_some(peer, &b, 1, 2000), 0);
    asock_t_close_fd(peer);

    /* a fresh descriptor, non-blocking and close-on-exec */
    int fd = asock_socket_fd(s);
    assert_true(fd >= 0);
    assert_true((fcntl(fd, F_GETFL) & O_NONBLOCK) != 0);
    assert_true((fcntl(fd, F_GETFD) & FD_CLOEXEC) != 0);

    uint16_t port = 0;
    int lfd = asock_t_tcp_listener(AF_INET, "127.0.0.1", &port);
    asock_t_ep(&op.e.remote_endpoint, "127.0.0.1", port);
    assert_int_equal(asock_args_set_buffer(&op.e, "re", 0, 2), 0);
    asock_t_do(loop, &op, asock_connect_async, s);
    asock_t_assert_err(&op.e, ASOCK_SUCCESS);
    assert_int_equal(op.e.bytes_transferred, 2);
    assert_int_equal(asock_socket_connected(s), 1);
    peer = asock_t_accept_fd(lfd, ASOCK_T_WAIT_MS);
    char got[2];
    asock_t_read_exact(peer, got, 2, 2000);
    assert_memory_equal(got, "re", 2);

    asock_socket_close(s);
    asock_t_close_fd(peer);
    asock_t_close_fd(lfd);
    asock_t_end(loop);
    asock_t_op_check(&op);
}

/* Disconnect on a connected datagram socket does not fail on Linux (dotnet-sockets.md §5). */
static void disconnect_udp(void **state)
{
    (void)state;
    asock_loop *loop = asock_t_loop();
    uint16_t pa = 0;
    int a = asock_t_udp_socket(AF_INET, "127.0.0.1", &pa);
    asock_socket *s = asock_t_open(loop, AF_INET, SOCK_DGRAM);
    asock_t_op op;
    asock_t_op_init(&op);
    asock_t_ep(&op.e.remote_endpoint, "127.0.0.1", pa);
    asock_t_assert_rc(asock_t_start(&op, asock_connect_async, s), 0);
    asock_t_assert_err(&op.e, ASOCK_SUCCESS);
    asock_t_assert_rc(asock_t_start(&op, asock_disconnect_async, s), 0);
    asock_t_assert_err(&op.e, ASOCK_SUCCESS);
    asock_socket_close(s);
    asock_t_close_fd(a);
    asock_t_end(loop);
    asock_t_op_check(&op);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(disconnect_is_synchronous),
        cmocka_unit_test(disconnect_reuse_connects_again),
        cmocka_unit_test(disconnect_udp),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
