/* Closing with pending operations (dotnet-sockets.md §3.5, §2.6): every pending operation
 * completes with OperationAborted, from the loop, exactly once; asock_loop_free completes what is
 * left and no callback runs after it; closing from inside a callback; calls on a closed socket are
 * refused with -EBADF. */
#define _GNU_SOURCE 1
#include "net.h"

#include <errno.h>
#include <sys/socket.h>
#include <unistd.h>

static void assert_aborted(const asock_t_op *op)
{
    asock_t_op_check(op);
    assert_int_equal(op->calls, 1);
    asock_t_assert_err(&op->e, ASOCK_ERR_OPERATION_ABORTED);
    assert_int_equal(op->busy_in_cb, 0);
}

/* Pending receive, accept and connect, each closed: OperationAborted from the loop. */
static void close_aborts_pending_receive_accept_connect(void **state)
{
    (void)state;
    asock_loop *loop = asock_t_loop();

    /* receive */
    asock_socket *s;
    int peer;
    asock_t_connected_pair(loop, AF_INET, &s, &peer);
    char buf[8];
    asock_t_op rcv;
    asock_t_op_init(&rcv);
    assert_int_equal(asock_args_set_buffer(&rcv.e, buf, 0, sizeof(buf)), 0);
    asock_t_assert_rc(asock_t_start(&rcv, asock_receive_async, s), 1);

    /* accept */
    uint16_t port = 0;
    asock_socket *l = asock_t_listener(loop, "127.0.0.1", &port);
    asock_t_op acc;
    asock_t_op_init(&acc);
    asock_t_assert_rc(asock_t_start(&acc, asock_accept_async, l), 1);

    /* connect (to a SYN that is never answered), if this machine allows it */
    uint16_t bport = 0;
    int filler = -1;
    int blfd = asock_t_blackhole(AF_INET, "127.0.0.1", &bport, &filler);
    asock_socket *c = NULL;
    asock_t_op con;
    asock_t_op_init(&con);
    if (blfd >= 0) {
        c = asock_t_open(loop, AF_INET, SOCK_STREAM);
        asock_t_ep(&con.e.remote_endpoint, "127.0.0.1", bport);
        asock_t_assert_rc(asock_t_start(&con, asock_connect_async, c), 1);
    } else {
        fprintf(stderr, "note: pending-connect case not run (no unanswered SYN here)\n");
    }

    /* the close calls back nothing by itself */
    rcv.inside = acc.inside = con.inside = 1;
    asock_socket_close(s);
    asock_socket_close(l);
    if (c != NULL)
        asock_socket_close(c);
    rcv.inside = acc.inside = con.inside = 0;
    assert_int_equal(rcv.calls + acc.calls + con.calls, 0);

    asock_t_run_until(loop, &rcv.done, ASOCK_T_WAIT_MS);
    asock_t_run_until(loop, &acc.done, ASOCK_T_WAIT_MS);
    if (c != NULL)
        asock_t_run_until(loop, &con.done, ASOCK_T_WAIT_MS);
    asock_t_drain(loop, 2000);
    assert_aborted(&rcv);
    assert_ptr_equal(rcv.sender, s);
    assert_aborted(&acc);
    assert_ptr_equal(acc.sender, l);
    assert_null(acc.e.accept_socket);
    if (c != NULL) {
        assert_aborted(&con);
        assert_null(con.e.connect_socket);
    }

    asock_t_close_fd(peer);
    if (blfd >= 0) {
        asock_t_close_fd(filler);
        asock_t_close_fd(blfd);
    }
    asock_t_end(loop);
    assert_int_equal(rcv.calls, 1);
    assert_int_equal(acc.calls, 1);
}

/* A pending send (peer not reading) is aborted by close as well. */
static void close_aborts_pending_send(void **state)
{
    (void)state;
    asock_loop *loop = asock_t_loop();
    asock_socket *s;
    int peer;
    asock_t_connected_pair(loop, AF_INET, &s, &peer);
    const size_t n = 32u << 20;
    unsigned char *data = calloc(1, n);
    assert_non_null(data);
    asock_t_op op;
    asock_t_op_init(&op);
    assert_int_equal(asock_args_set_buffer(&op.e, data, 0, n), 0);
    int rc = asock_t_start(&op, asock_send_async, s);
    if (rc != 1) {
        /* 32 MiB fit in the socket buffers: nothing to abort */
        fprintf(stderr, "note: 32 MiB send completed synchronously; nothing pending to abort\n");
        asock_socket_close(s);
    } else {
        asock_socket_close(s);
        assert_int_equal(op.calls, 0);
        asock_t_wait(loop, &op, ASOCK_T_WAIT_MS);
        assert_aborted(&op);
        assert_true(op.e.bytes_transferred < n);
    }
    asock_t_close_fd(peer);
    asock_t_end(loop);
    asock_t_op_check(&op);
    free(data);
}

/* Calls on a socket that is being closed are refused with -EBADF (right after the close, and from
 * one of its own aborted completions). */
struct ebadf_ctx {
    asock_socket *s;
    int rc_in_cb[4];
};

static void ebadf_then(asock_t_op *op, asock_socket *sender)
{
    struct ebadf_ctx *c = op->ctx;
    assert_ptr_equal(sender, c->s);
    asock_t_assert_err(&op->e, ASOCK_ERR_OPERATION_ABORTED);
    c->rc_in_cb[0] = asock_receive_async(sender, &op->e);
    c->rc_in_cb[1] = asock_send_async(sender, &op->e);
    asock_endpoint ep;
    c->rc_in_cb[2] = asock_socket_local_endpoint(sender, &ep);
    c->rc_in_cb[3] = asock_socket_set_option(sender, ASOCK_OPT_NO_DELAY, 1);
}

static void calls_on_closed_socket_ebadf(void **state)
{
    (void)state;
    asock_loop *loop = asock_t_loop();
    asock_socket *s;
    int peer;
    asock_t_connected_pair(loop, AF_INET, &s, &peer);

    struct ebadf_ctx c;
    memset(&c, 0, sizeof(c));
    c.s = s;
    char buf[8];
    asock_t_op rcv;
    asock_t_op_init(&rcv);
    rcv.then = ebadf_then;
    rcv.ctx = &c;
    assert_int_equal(asock_args_set_buffer(&rcv.e, buf, 0, sizeof(buf)), 0);
    asock_t_assert_rc(asock_t_start(&rcv, asock_receive_async, s), 1);
    asock_socket_close(s);

    /* right after the close, before the aborted completion ran */
    asock_t_op op;
    asock_t_op_init(&op);
    assert_int_equal(asock_args_set_buffer(&op.e, "x", 0, 1), 0);
    asock_t_assert_rc(asock_t_start(&op, asock_send_async, s), -EBADF);
    asock_t_assert_rc(asock_t_start(&op, asock_receive_async, s), -EBADF);
    asock_t_assert_rc(asock_t_start(&op, asock_disconnect_async, s), -EBADF);
    asock_t_ep(&op.e.remote_endpoint, "127.0.0.1", 9);
    asock_t_assert_rc(asock_t_start(&op, asock_connect_async, s), -EBADF);
    asock_t_assert_rc(asock_t_start(&op, asock_send_to_async, s), -EBADF);
    asock_t_assert_rc(asock_t_start(&op, asock_receive_from_async, s), -EBADF);
    asock_t_assert_rc(asock_t_start(&op, asock_receive_message_from_async, s), -EBADF);
    asock_t_assert_rc(asock_t_start(&op, asock_accept_async, s), -EBADF);
    asock_endpoint ep;
    asock_t_assert_rc(asock_socket_local_endpoint(s, &ep), -EBADF);
    asock_t_assert_rc(asock_socket_remote_endpoint(s, &ep), -EBADF);
    asock_t_assert_rc(asock_socket_set_option(s, ASOCK_OPT_NO_DELAY, 1), -EBADF);
    int v;
    asock_t_assert_rc(asock_socket_get_option(s, ASOCK_OPT_NO_DELAY, &v), -EBADF);
    asock_t_assert_rc(asock_socket_shutdown(s, SHUT_RDWR), -EBADF);
    asock_t_assert_rc(asock_socket_listen(s, 1), -EBADF);
    asock_t_assert_rc(asock_socket_bind(s, &op.e.remote_endpoint), -EBADF);
    assert_int_equal(op.e.last_operation, ASOCK_OP_NONE);

    asock_t_wait(loop, &rcv, ASOCK_T_WAIT_MS);
    assert_aborted(&rcv);
    for (int i = 0; i < 4; i++) {
        if (c.rc_in_cb[i] != -EBADF)
            fail_msg("call %d from the aborted callback returned %d, want -EBADF", i,
                     c.rc_in_cb[i]);
    }
    asock_t_drain(loop, 1000);
    assert_int_equal(op.calls, 0);
    assert_int_equal(rcv.calls, 1);

    asock_t_close_fd(peer);
    asock_t_end(loop);
    asock_t_op_check(&op);
    asock_t_op_check(&rcv);
}

/* Closing from inside a callback: the socket's own completion closes it, another pending
 * operation on it is aborted, once. */
static void close_then(asock_t_op *op, asock_socket *sender)
{
    asock_t_assert_err(&op->e, ASOCK_SUCCESS);
    op->then_state = asock_args_in_use(&op->e);
    asock_socket_close(sender);
}

static void close_inside_callback(void **state)
{
    (void)state;
    asock_loop *loop = asock_t_loop();
    asock_socket *s;
    int peer;
    asock_t_connected_pair(loop, AF_INET, &s, &peer);

    /* two pending receives: the first gets the data and closes the socket in its callback */
    char b1[2], b2[2];
    asock_t_op first, second;
    asock_t_op_init(&first);
    asock_t_op_init(&second);
    first.then = close_then;
    assert_int_equal(asock_args_set_buffer(&first.e, b1, 0, 1), 0);
    assert_int_equal(asock_args_set_buffer(&second.e, b2, 0, 1), 0);
    asock_t_assert_rc(asock_t_start(&first, asock_receive_async, s), 1);
    asock_t_assert_rc(asock_t_start(&second, asock_receive_async, s), 1);
    asock_t_write_all(peer, "a", 1); /* one byte: only the first receive gets data */
    asock_t_wait(loop, &first, ASOCK_T_WAIT_MS);
    asock_t_assert_err(&first.e, ASOCK_SUCCESS);
    assert_int_equal(first.e.bytes_transferred, 1);
    assert_int_equal(first.then_state, 0);
    asock_t_wait(loop, &second, ASOCK_T_WAIT_MS);
    assert_aborted(&second);

    asock_t_drain(loop, 1000);
    assert_int_equal(first.calls, 1);
    assert_int_equal(second.calls, 1);
    asock_t_close_fd(peer);
    asock_t_end(loop);
    asock_t_op_check(&first);
    asock_t_op_check(&second);
}

/* A server's usual last words, from inside a receive callback: send the reply, then close (or
 * shut the write side down).  The peer gets the whole reply and then an orderly end of stream,
 * never a reset, on both engines (on io_uring the send sits in the ring when the close comes).
 * A close that aborts a pending receive still resets (.NET's abortive close). */
struct reply_ctx {
    asock_t_op reply;
    int mode; /* 0: close, 1: shutdown(SHUT_WR) then close later, 2: leave a receive pending */
    asock_t_op extra;
    char ebuf[4];
};

static void reply_then(asock_t_op *op, asock_socket *sender)
{
    struct reply_ctx *c = op->ctx;
    asock_t_assert_err(&op->e, ASOCK_SUCCESS);
    assert_int_equal(asock_args_set_buffer(&c->reply.e, "pong!", 0, 5), 0);
    int rc = asock_t_start(&c->reply, asock_send_async, sender);
    assert_true(rc == 0 || rc == 1);
    if (c->mode == 2) {
        assert_int_equal(asock_args_set_buffer(&c->extra.e, c->ebuf, 0, sizeof(c->ebuf)), 0);
        asock_t_assert_rc(asock_t_start(&c->extra, asock_receive_async, sender), 1);
    }
    if (c->mode == 1)
        assert_int_equal(asock_socket_shutdown(sender, SHUT_WR), 0);
    else
        asock_socket_close(sender);
}

static void reply_then_close_is_orderly(void **state)
{
    (void)state;
    for (int mode = 0; mode < 3; mode++) {
        asock_loop *loop = asock_t_loop();
        asock_socket *s;
        int peer;
        asock_t_connected_pair(loop, AF_INET, &s, &peer);
        struct reply_ctx c;
        memset(&c, 0, sizeof(c));
        c.mode = mode;
        asock_t_op_init(&c.reply);
        asock_t_op_init(&c.extra);
        asock_t_op rcv;
        asock_t_op_init(&rcv);
        rcv.then = reply_then;
        rcv.ctx = &c;
        char buf[8];
        assert_int_equal(asock_args_set_buffer(&rcv.e, buf, 0, sizeof(buf)), 0);
        asock_t_assert_rc(asock_t_start(&rcv, asock_receive_async, s), 1);
        asock_t_write_all(peer, "ping", 4);
        asock_t_wait(loop, &rcv, ASOCK_T_WAIT_MS);
        asock_t_wait(loop, &c.reply, ASOCK_T_WAIT_MS);
        if (mode == 2) {
            asock_t_wait(loop, &c.extra, ASOCK_T_WAIT_MS);
            asock_t_assert_err(&c.extra.e, ASOCK_ERR_OPERATION_ABORTED);
        }
        asock_t_drain(loop, 200);
        /* read to the end: the bytes, then 0 (FIN) or ECONNRESET */
        char got[16];
        size_t n = 0;
        int end = -1; /* 0: FIN, else the errno */
        for (int i = 0; i < 100 && end < 0; i++) {
            if (!asock_t_wait_readable(peer, 2000))
                break;
            ssize_t r = recv(peer, got + n, sizeof(got) - n, MSG_DONTWAIT);
            if (r > 0)
                n += (size_t)r;
            else if (r == 0)
                end = 0;
            else if (errno != EAGAIN)
                end = errno;
        }
        if (mode == 2) {
            assert_int_equal(end, ECONNRESET); /* the close aborted a receive */
        } else {
            asock_t_assert_err(&c.reply.e, ASOCK_SUCCESS);
            assert_int_equal(c.reply.e.bytes_transferred, 5);
            assert_int_equal(n, 5);
            assert_memory_equal(got, "pong!", 5);
            assert_int_equal(end, 0); /* an orderly end of stream, no reset */
        }
        if (mode == 1)
            asock_socket_close(s);
        asock_t_close_fd(peer);
        asock_t_end(loop);
        asock_t_op_check(&rcv);
        asock_t_op_check(&c.reply);
    }
}

/* Closing a socket that has nothing pending: no callback, the descriptor goes away. */
static void close_idle_socket(void **state)
{
    (void)state;
    asock_loop *loop = asock_t_loop();
    asock_socket *a = asock_t_open(loop, AF_INET, SOCK_STREAM);
    asock_socket *b = asock_t_open(loop, AF_INET6, SOCK_DGRAM);
    asock_socket_close(a);
    asock_socket_close(b);
    asock_t_end(loop);
}

/* asock_loop_free with pending operations: their callbacks run inside it, with OperationAborted,
 * a restart from such a callback is refused, and nothing runs after it. */
struct free_ctx {
    int restart_rc;
    int calls_after_free;
};

static int g_loop_freed;

static void free_then(asock_t_op *op, asock_socket *sender)
{
    struct free_ctx *c = op->ctx;
    if (g_loop_freed)
        c->calls_after_free++;
    asock_t_assert_err(&op->e, ASOCK_ERR_OPERATION_ABORTED);
    c->restart_rc = asock_receive_async(sender, &op->e);
}

static void loop_free_aborts_pending(void **state)
{
    (void)state;
    int fds_before = asock_t_fd_count();
    asock_loop *loop = asock_t_loop();
    asock_socket *s;
    int peer;
    asock_t_connected_pair(loop, AF_INET, &s, &peer);
    uint16_t port = 0;
    asock_socket *l = asock_t_listener(loop, "127.0.0.1", &port);
    asock_socket *u = asock_t_open(loop, AF_INET, SOCK_DGRAM);
    asock_t_bind(u, "127.0.0.1", 0);

    struct free_ctx c1, c2, c3;
    memset(&c1, 0, sizeof(c1));
    memset(&c2, 0, sizeof(c2));
    memset(&c3, 0, sizeof(c3));
    char b1[4], b3[4];
    asock_t_op rcv, acc, rf;
    asock_t_op_init(&rcv);
    asock_t_op_init(&acc);
    asock_t_op_init(&rf);
    rcv.then = free_then;
    rcv.ctx = &c1;
    acc.then = free_then;
    acc.ctx = &c2;
    rf.then = free_then;
    rf.ctx = &c3;
    assert_int_equal(asock_args_set_buffer(&rcv.e, b1, 0, sizeof(b1)), 0);
    assert_int_equal(asock_args_set_buffer(&rf.e, b3, 0, sizeof(b3)), 0);
    asock_t_ep(&rf.e.remote_endpoint, "0.0.0.0", 0);
    asock_t_assert_rc(asock_t_start(&rcv, asock_receive_async, s), 1);
    asock_t_assert_rc(asock_t_start(&acc, asock_accept_async, l), 1);
    asock_t_assert_rc(asock_t_start(&rf, asock_receive_from_async, u), 1);

    g_loop_freed = 0;
    asock_loop_free(loop); /* the sockets are not closed by the test: the loop closes them */
    g_loop_freed = 1;

    assert_int_equal(rcv.calls, 1);
    assert_int_equal(acc.calls, 1);
    assert_int_equal(rf.calls, 1);
    asock_t_assert_err(&rcv.e, ASOCK_ERR_OPERATION_ABORTED);
    asock_t_assert_err(&acc.e, ASOCK_ERR_OPERATION_ABORTED);
    asock_t_assert_err(&rf.e, ASOCK_ERR_OPERATION_ABORTED);
    /* a restart from an aborted callback during free is refused (it would never complete) */
    assert_true(c1.restart_rc < 0);
    assert_true(c2.restart_rc < 0);
    assert_true(c3.restart_rc < 0);
    assert_int_equal(c1.calls_after_free + c2.calls_after_free + c3.calls_after_free, 0);
    assert_int_equal(asock_args_in_use(&rcv.e), 0);

    asock_t_close_fd(peer);
    int fds_after = asock_t_fd_count();
    if (fds_after != fds_before)
        fail_msg("fd count %d before the loop, %d after asock_loop_free", fds_before, fds_after);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(close_aborts_pending_receive_accept_connect),
        cmocka_unit_test(close_aborts_pending_send),
        cmocka_unit_test(calls_on_closed_socket_ebadf),
        cmocka_unit_test(close_inside_callback),
        cmocka_unit_test(reply_then_close_is_orderly),
        cmocka_unit_test(close_idle_socket),
        cmocka_unit_test(loop_free_aborts_pending),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
