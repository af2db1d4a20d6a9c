/* Bad input (API conventions; dotnet-sockets.md §1.3 rule 1, §1.7): a clear negative errno,
 * nothing started, no callback, the args untouched, and another pending operation on the same
 * loop (the "witness") still completes normally. */
#define _GNU_SOURCE 1
#include "net.h"

#include <errno.h>
#include <stdint.h>
#include <unistd.h>

/* A pending receive on a connected pair that must complete normally at the end. */
struct witness {
    asock_socket *s;
    int peer;
    char buf[8];
    asock_t_op op;
};

static void witness_start(asock_loop *loop, struct witness *w)
{
    asock_t_connected_pair(loop, AF_INET, &w->s, &w->peer);
    asock_t_op_init(&w->op);
    assert_int_equal(asock_args_set_buffer(&w->op.e, w->buf, 0, sizeof(w->buf)), 0);
    asock_t_assert_rc(asock_t_start(&w->op, asock_receive_async, w->s), 1);
}

static void witness_finish(asock_loop *loop, struct witness *w)
{
    assert_int_equal(w->op.calls, 0);
    asock_t_write_all(w->peer, "alive", 5);
    asock_t_wait(loop, &w->op, ASOCK_T_WAIT_MS);
    asock_t_assert_err(&w->op.e, ASOCK_SUCCESS);
    assert_int_equal(w->op.e.bytes_transferred, 5);
    assert_memory_equal(w->buf, "alive", 5);
    asock_socket_close(w->s);
    asock_t_close_fd(w->peer);
}

/* An args record with sentinel results, to see that a refused call leaves it untouched. */
static void sentinel_init(asock_t_op *op)
{
    asock_t_op_init(op);
    op->e.socket_error = ASOCK_ERR_WOULD_BLOCK;
    op->e.sys_errno = 4242;
    op->e.bytes_transferred = 4242;
}

#define assert_untouched(op)                                           \
    do {                                                               \
        assert_int_equal((op)->e.socket_error, ASOCK_ERR_WOULD_BLOCK); \
        assert_int_equal((op)->e.sys_errno, 4242);                     \
        assert_int_equal((op)->e.bytes_transferred, 4242);             \
        assert_int_equal((op)->e.last_operation, ASOCK_OP_NONE);       \
        assert_int_equal(asock_args_in_use(&(op)->e), 0);              \
        assert_int_equal((op)->calls, 0);                              \
    } while (0)

static asock_t_start_fn *const all_ops[] = {
    asock_connect_async,
    asock_accept_async,
    asock_send_async,
    asock_receive_async,
    asock_send_to_async,
    asock_receive_from_async,
    asock_receive_message_from_async,
    asock_disconnect_async,
};
#define N_OPS (sizeof(all_ops) / sizeof(all_ops[0]))

static void null_socket_and_null_args(void **state)
{
    (void)state;
    asock_loop *loop = asock_t_loop();
    struct witness w;
    witness_start(loop, &w);
    asock_socket *s = asock_t_open(loop, AF_INET, SOCK_STREAM);

    asock_t_op op;
    sentinel_init(&op);
    asock_t_ep(&op.e.remote_endpoint, "127.0.0.1", 9);
    for (size_t i = 0; i < N_OPS; i++) {
        int rc = asock_t_start(&op, all_ops[i], NULL);
        if (rc != -EINVAL)
            fail_msg("op %zu with a NULL socket returned %d, want -EINVAL", i, rc);
        rc = all_ops[i](s, NULL);
        if (rc != -EINVAL)
            fail_msg("op %zu with NULL args returned %d, want -EINVAL", i, rc);
    }
    asock_t_assert_rc(asock_loop_connect_async(loop, SOCK_STREAM, 0, NULL), -EINVAL);
    asock_t_call_begin(&op);
    asock_t_assert_rc(asock_t_call_end(&op, asock_loop_connect_async(NULL, SOCK_STREAM, 0, &op.e)),
                      -EINVAL);
    assert_untouched(&op);
    asock_cancel_connect_async(NULL); /* no effect, no crash */

    /* endpoint / option / buffer helpers */
    asock_t_assert_rc(asock_socket_bind(s, NULL), -EINVAL);
    asock_t_assert_rc(asock_socket_bind(NULL, &op.e.remote_endpoint), -EINVAL);
    asock_t_assert_rc(asock_socket_get_option(s, ASOCK_OPT_NO_DELAY, NULL), -EINVAL);
    asock_t_assert_rc(asock_socket_set_option(NULL, ASOCK_OPT_NO_DELAY, 1), -EINVAL);
    asock_t_assert_rc(asock_socket_local_endpoint(s, NULL), -EINVAL);
    asock_t_assert_rc(asock_socket_remote_endpoint(s, NULL), -EINVAL);
    asock_t_assert_rc(asock_args_set_buffer(NULL, NULL, 0, 0), -EINVAL);
    asock_socket *none = (asock_socket *)(uintptr_t)1;
    asock_t_assert_rc(asock_socket_open(NULL, AF_INET, SOCK_STREAM, 0, &none), -EINVAL);
    asock_t_assert_rc(asock_socket_open(loop, AF_INET, SOCK_STREAM, 0, NULL), -EINVAL);

    asock_t_spin(loop, 50);
    assert_untouched(&op);
    witness_finish(loop, &w);
    asock_socket_close(s);
    asock_t_end(loop);
    assert_int_equal(op.calls, 0);
    asock_t_op_check(&w.op);
}

static int g_raw_calls;

static void raw_completed(asock_socket *sender, asock_args *e)
{
    (void)sender;
    (void)e;
    g_raw_calls++;
}

/* An args record that was never initialised (zeroed, or garbage) is refused with -EINVAL. */
static void args_never_initialised(void **state)
{
    (void)state;
    asock_loop *loop = asock_t_loop();
    struct witness w;
    witness_start(loop, &w);
    uint16_t port = 0;
    int lfd = asock_t_tcp_listener(AF_INET, "127.0.0.1", &port);
    asock_socket *s = asock_t_open(loop, AF_INET, SOCK_STREAM);
    g_raw_calls = 0;

    for (int fill = 0; fill < 2; fill++) {
        asock_args raw;
        memset(&raw, fill == 0 ? 0 : 0xA5, sizeof(raw));
        raw.completed = raw_completed;
        raw.user_token = NULL;
        asock_t_ep(&raw.remote_endpoint, "127.0.0.1", port);
        raw.buffer = NULL;
        raw.offset = raw.count = 0;
        raw.buffer_list = NULL;
        raw.buffer_list_count = 0;
        raw.socket_flags = 0;
        raw.accept_socket = NULL;
        raw.connect_timeout_ms = 0;
        raw.disconnect_reuse_socket = 0;
        int rc = asock_connect_async(s, &raw);
        if (rc != -EINVAL)
            fail_msg("connect with %s args never initialised returned %d, want -EINVAL",
                     fill == 0 ? "zeroed" : "garbage", rc);
        asock_t_assert_rc(asock_send_async(w.s, &raw), -EINVAL);
        asock_t_assert_rc(asock_receive_async(w.s, &raw), -EINVAL);
        asock_t_assert_rc(asock_loop_connect_async(loop, SOCK_STREAM, 0, &raw), -EINVAL);
    }
    asock_t_spin(loop, 50);
    assert_int_equal(g_raw_calls, 0);
    assert_int_equal(asock_socket_connected(s), 0);
    assert_int_equal(asock_t_wait_readable(lfd, 50), 0); /* no connection was made */

    witness_finish(loop, &w);
    asock_socket_close(s);
    asock_t_close_fd(lfd);
    asock_t_end(loop);
    assert_int_equal(g_raw_calls, 0);
    asock_t_op_check(&w.op);
}

/* A null remote endpoint (kind NONE) where one is required; a DNS endpoint where an IP one is. */
static void missing_or_wrong_endpoint(void **state)
{
    (void)state;
    asock_loop *loop = asock_t_loop();
    struct witness w;
    witness_start(loop, &w);
    asock_socket *t = asock_t_open(loop, AF_INET, SOCK_STREAM);
    asock_socket *u = asock_t_open(loop, AF_INET, SOCK_DGRAM);
    asock_t_bind(u, "127.0.0.1", 0);
    char buf[8];

    asock_t_op op;
    sentinel_init(&op);
    assert_int_equal(asock_args_set_buffer(&op.e, buf, 0, sizeof(buf)), 0);
    assert_int_equal(op.e.remote_endpoint.kind, ASOCK_ENDPOINT_NONE);
    asock_t_assert_rc(asock_t_start(&op, asock_connect_async, t), -EINVAL);
    asock_t_assert_rc(asock_t_start(&op, asock_connect_async, u), -EINVAL);
    asock_t_assert_rc(asock_t_start(&op, asock_send_to_async, u), -EINVAL);
    asock_t_assert_rc(asock_t_start(&op, asock_receive_from_async, u), -EINVAL);
    asock_t_assert_rc(asock_t_start(&op, asock_receive_message_from_async, u), -EINVAL);
    asock_t_call_begin(&op);
    asock_t_assert_rc(asock_t_call_end(&op, asock_loop_connect_async(loop, SOCK_STREAM, 0, &op.e)),
                      -EINVAL);
    assert_untouched(&op);

    /* send_to and receive_from take IP endpoints only */
    assert_int_equal(asock_endpoint_dns(&op.e.remote_endpoint, "localhost", 9, AF_INET), 0);
    asock_t_assert_rc(asock_t_start(&op, asock_send_to_async, u), -EINVAL);
    asock_t_assert_rc(asock_t_start(&op, asock_receive_from_async, u), -EINVAL);
    asock_t_assert_rc(asock_socket_bind(t, &op.e.remote_endpoint), -EINVAL);
    assert_untouched(&op);

    /* a template of the wrong family */
    asock_t_ep(&op.e.remote_endpoint, "::", 0);
    asock_t_assert_rc(asock_t_start(&op, asock_receive_from_async, u), -EAFNOSUPPORT);
    asock_t_assert_rc(asock_socket_bind(t, &op.e.remote_endpoint), -EAFNOSUPPORT);
    assert_untouched(&op);

    asock_t_spin(loop, 50);
    assert_untouched(&op);
    witness_finish(loop, &w);
    asock_socket_close(t);
    asock_socket_close(u);
    asock_t_end(loop);
    assert_int_equal(op.calls, 0);
    asock_t_op_check(&w.op);
}

/* Unknown options: -ENOPROTOOPT for set and get. */
static void unknown_option(void **state)
{
    (void)state;
    asock_loop *loop = asock_t_loop();
    struct witness w;
    witness_start(loop, &w);
    asock_socket *s = asock_t_open(loop, AF_INET, SOCK_STREAM);
    int v = 1234;
    asock_t_assert_rc(asock_socket_set_option(s, (asock_option)0, 1), -ENOPROTOOPT);
    asock_t_assert_rc(asock_socket_set_option(s, (asock_option)999, 1), -ENOPROTOOPT);
    asock_t_assert_rc(asock_socket_get_option(s, (asock_option)999, &v), -ENOPROTOOPT);
    asock_t_assert_rc(asock_socket_get_option(s, (asock_option)-1, &v), -ENOPROTOOPT);
    assert_int_equal(v, 1234);
    witness_finish(loop, &w);
    asock_socket_close(s);
    asock_t_end(loop);
    asock_t_op_check(&w.op);
}

/* Operations that do not fit the socket: -EOPNOTSUPP (accept on UDP, send_to / connect on a
 * listener); accept on a stream socket that is not listening is refused too. */
static void operation_does_not_fit_socket(void **state)
{
    (void)state;
    asock_loop *loop = asock_t_loop();
    struct witness w;
    witness_start(loop, &w);
    asock_socket *u = asock_t_open(loop, AF_INET, SOCK_DGRAM);
    asock_t_bind(u, "127.0.0.1", 0);
    uint16_t port = 0;
    asock_socket *l = asock_t_listener(loop, "127.0.0.1", &port);
    asock_socket *t = asock_t_open(loop, AF_INET, SOCK_STREAM);

    asock_t_op op;
    sentinel_init(&op);
    asock_t_assert_rc(asock_t_start(&op, asock_accept_async, u), -EOPNOTSUPP);
    asock_t_ep(&op.e.remote_endpoint, "127.0.0.1", port);
    assert_int_equal(asock_args_set_buffer(&op.e, "x", 0, 1), 0);
    asock_t_assert_rc(asock_t_start(&op, asock_send_to_async, l), -EOPNOTSUPP);
    asock_t_assert_rc(asock_t_start(&op, asock_connect_async, l), -EOPNOTSUPP);
    int rc = asock_t_start(&op, asock_accept_async, t);
    if (rc >= 0)
        fail_msg("accept on a stream socket that is not listening returned %d", rc);
    assert_untouched(&op);

    asock_t_spin(loop, 50);
    assert_untouched(&op);
    /* the listener was not disturbed: it still accepts */
    asock_t_op acc;
    asock_t_op_init(&acc);
    int c = asock_t_tcp_connect(AF_INET, "127.0.0.1", port);
    asock_t_do(loop, &acc, asock_accept_async, l);
    asock_t_assert_err(&acc.e, ASOCK_SUCCESS);
    asock_socket_close(acc.e.accept_socket);
    asock_t_close_fd(c);

    witness_finish(loop, &w);
    asock_socket_close(u);
    asock_socket_close(l);
    asock_socket_close(t);
    asock_t_end(loop);
    assert_int_equal(op.calls, 0);
    asock_t_op_check(&w.op);
    asock_t_op_check(&acc);
}

/* Bad buffers: a NULL buffer with a count, an offset + count that overflows. */
static void bad_buffers(void **state)
{
    (void)state;
    asock_loop *loop = asock_t_loop();
    struct witness w;
    witness_start(loop, &w);
    asock_socket *s;
    int peer;
    asock_t_connected_pair(loop, AF_INET, &s, &peer);

    asock_t_op op;
    sentinel_init(&op);
    char buf[4];
    asock_t_assert_rc(asock_args_set_buffer(&op.e, buf, SIZE_MAX, 2), -EINVAL);
    op.e.buffer = NULL;
    op.e.offset = 0;
    op.e.count = 5;
    asock_t_assert_rc(asock_t_start(&op, asock_send_async, s), -EINVAL);
    asock_t_assert_rc(asock_t_start(&op, asock_receive_async, s), -EINVAL);
    op.e.buffer = buf;
    op.e.offset = SIZE_MAX;
    op.e.count = 2;
    asock_t_assert_rc(asock_t_start(&op, asock_send_async, s), -EINVAL);
    asock_t_assert_rc(asock_t_start(&op, asock_receive_async, s), -EINVAL);
    assert_untouched(&op);

    asock_t_spin(loop, 50);
    assert_untouched(&op);
    assert_int_equal(asock_t_read_some(peer, buf, sizeof(buf), 50), -1); /* nothing was sent */
    witness_finish(loop, &w);
    asock_socket_close(s);
    asock_t_close_fd(peer);
    asock_t_end(loop);
    asock_t_op_check(&w.op);
}

/* asock_socket_open with what cannot be opened. */
static void bad_socket_open(void **state)
{
    (void)state;
    asock_loop *loop = asock_t_loop();
    asock_socket *s = NULL;
    asock_t_assert_rc(asock_socket_open(loop, AF_UNIX, SOCK_STREAM, 0, &s), -EAFNOSUPPORT);
    assert_null(s);
    asock_t_assert_rc(asock_socket_open(loop, AF_INET, SOCK_STREAM, IPPROTO_UDP, &s),
                      -EPROTONOSUPPORT);
    assert_null(s);
    int rc = asock_socket_open(loop, AF_INET, SOCK_SEQPACKET, 0, &s);
    assert_true(rc < 0);
    assert_null(s);
    asock_t_end(loop);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(null_socket_and_null_args),
        cmocka_unit_test(args_never_initialised),
        cmocka_unit_test(missing_or_wrong_endpoint),
        cmocka_unit_test(unknown_option),
        cmocka_unit_test(operation_does_not_fit_socket),
        cmocka_unit_test(bad_buffers),
        cmocka_unit_test(bad_socket_open),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
