/* The completion contract of the async-args model (SPEC S2, S3, S10; dotnet-sockets.md §1.1,
 * §1.3): 0 = completed synchronously (no callback, results readable at once), 1 = pending (exactly
 * one callback, from the loop, never inside the call), the args record is free before the callback
 * runs, user_token comes back untouched, last_operation is set when the operation starts, and a
 * busy args record is refused with -EBUSY while its operation completes normally. */
#define _GNU_SOURCE 1
#include "net.h"

#include <errno.h>
#include <unistd.h>

static int token_target;

/* A receive with nothing to read can only be pending; its callback runs once, from the loop. */
static void pending_receive_calls_back_once_from_loop(void **state)
{
    (void)state;
    asock_loop *loop = asock_t_loop();
    asock_socket *s;
    int peer;
    asock_t_connected_pair(loop, AF_INET, &s, &peer);

    char buf[16] = {0};
    asock_t_op op;
    asock_t_op_init(&op);
    op.e.user_token = &token_target;
    assert_int_equal(asock_args_set_buffer(&op.e, buf, 0, sizeof(buf)), 0);
    int rc = asock_t_start(&op, asock_receive_async, s);
    asock_t_assert_rc(rc, 1);
    assert_int_equal(op.calls, 0);
    assert_int_equal(asock_args_in_use(&op.e), 1);
    assert_int_equal(op.e.last_operation, ASOCK_OP_RECEIVE); /* set when the operation starts */

    /* No data: running the loop must not complete it. */
    for (int i = 0; i < 5; i++)
        assert_true(asock_loop_run(loop, ASOCK_RUN_NOWAIT) >= 0);
    assert_int_equal(op.calls, 0);

    asock_t_write_all(peer, "ping", 4);
    asock_t_wait(loop, &op, ASOCK_T_WAIT_MS);
    assert_int_equal(op.calls, 1);
    assert_ptr_equal(op.sender, s);
    assert_int_equal(op.busy_in_cb, 0); /* free before the callback */
    assert_int_equal(op.cb_last_operation, ASOCK_OP_RECEIVE);
    assert_ptr_equal(op.cb_user_token, &token_target);
    asock_t_assert_err(&op.e, ASOCK_SUCCESS);
    assert_int_equal(op.e.sys_errno, 0);
    assert_int_equal(op.e.bytes_transferred, 4);
    assert_memory_equal(buf, "ping", 4);
    assert_int_equal(asock_args_in_use(&op.e), 0);

    /* Draining the loop brings no second callback. */
    asock_t_drain(loop, 1000);
    assert_int_equal(op.calls, 1);

    asock_socket_close(s);
    asock_t_close_fd(peer);
    asock_t_end(loop);
    asock_t_op_check(&op);
}

/* Like .NET, the system call is tried first: data already queued completes synchronously, the
 * callback never runs (not even after the loop is drained), and the results are there at once. */
static void try_first_receive_with_data_is_synchronous(void **state)
{
    (void)state;
    asock_loop *loop = asock_t_loop();
    asock_socket *s;
    int peer;
    asock_t_connected_pair(loop, AF_INET, &s, &peer);

    asock_t_write_all(peer, "hello", 5);
    assert_int_equal(asock_t_wait_readable(asock_socket_fd(s), 2000), 1);

    char buf[16] = {0};
    asock_t_op op;
    asock_t_op_init(&op);
    op.e.user_token = &token_target;
    assert_int_equal(asock_args_set_buffer(&op.e, buf, 0, sizeof(buf)), 0);
    int rc = asock_t_start(&op, asock_receive_async, s);
    asock_t_assert_rc(rc, 0);
    /* results readable at once */
    asock_t_assert_err(&op.e, ASOCK_SUCCESS);
    assert_int_equal(op.e.bytes_transferred, 5);
    assert_memory_equal(buf, "hello", 5);
    assert_int_equal(op.e.last_operation, ASOCK_OP_RECEIVE);
    assert_ptr_equal(op.e.user_token, &token_target);
    assert_int_equal(asock_args_in_use(&op.e), 0);

    /* a send with room in the buffer completes synchronously too */
    asock_t_op snd;
    asock_t_op_init(&snd);
    assert_int_equal(asock_args_set_buffer(&snd.e, "abc", 0, 3), 0);
    asock_t_do(loop, &snd, asock_send_async, s);
    asock_t_assert_err(&snd.e, ASOCK_SUCCESS);
    assert_int_equal(snd.e.bytes_transferred, 3);
    assert_int_equal(snd.e.last_operation, ASOCK_OP_SEND);

    asock_t_drain(loop, 1000);
    assert_int_equal(op.calls, 0);

    char got[3];
    asock_t_read_exact(peer, got, 3, 2000);
    assert_memory_equal(got, "abc", 3);

    asock_socket_close(s);
    asock_t_close_fd(peer);
    asock_t_end(loop);
    asock_t_op_check(&op);
    asock_t_op_check(&snd);
}

/* ---- re-arming from inside the callback ---- */

struct rearm_ctx {
    asock_socket *s;
    char buf[8];
    char got[64];
    size_t total, target;
    int rearm_rc_pending;
    int rearm_sync;
    volatile int finished;
};

static void rearm_consume(struct rearm_ctx *c, const asock_args *e)
{
    asock_t_assert_err(e, ASOCK_SUCCESS);
    assert_true(e->bytes_transferred > 0);
    assert_true(c->total + e->bytes_transferred <= sizeof(c->got));
    memcpy(c->got + c->total, c->buf, e->bytes_transferred);
    c->total += e->bytes_transferred;
}

static void rearm_then(asock_t_op *op, asock_socket *sender)
{
    struct rearm_ctx *c = op->ctx;
    assert_ptr_equal(sender, c->s);
    assert_int_equal(op->busy_in_cb, 0);
    rearm_consume(c, &op->e);
    while (c->total < c->target) {
        /* the same args record, started again from its own callback */
        int rc = asock_t_start(op, asock_receive_async, c->s);
        if (rc == 1) {
            c->rearm_rc_pending++;
            return;
        }
        asock_t_assert_rc(rc, 0);
        c->rearm_sync++;
        rearm_consume(c, &op->e);
    }
    c->finished = 1;
}

static void args_free_before_callback_can_rearm(void **state)
{
    (void)state;
    asock_loop *loop = asock_t_loop();
    struct rearm_ctx c;
    memset(&c, 0, sizeof(c));
    int peer;
    asock_t_connected_pair(loop, AF_INET, &c.s, &peer);
    c.target = 6;

    asock_t_op op;
    asock_t_op_init(&op);
    op.then = rearm_then;
    op.ctx = &c;
    assert_int_equal(asock_args_set_buffer(&op.e, c.buf, 0, 2), 0);
    asock_t_assert_rc(asock_t_start(&op, asock_receive_async, c.s), 1);

    /* one piece at a time, so re-arms find nothing to read and go pending */
    const char *pieces[] = {"ab", "cd", "ef"};
    for (int i = 0; i < 3; i++) {
        int calls_before = op.calls;
        asock_t_write_all(peer, pieces[i], 2);
        uint64_t end = asock_t_now_ms() + ASOCK_T_WAIT_MS;
        while (op.calls == calls_before && asock_t_now_ms() < end)
            assert_true(asock_loop_run(loop, ASOCK_RUN_ONCE) >= 0);
        assert_int_equal(op.calls, calls_before + 1);
    }
    assert_int_equal(c.finished, 1);
    assert_int_equal(c.total, 6);
    assert_memory_equal(c.got, "abcdef", 6);
    assert_int_equal(c.rearm_rc_pending, 2);
    asock_t_op_check(&op);

    asock_socket_close(c.s);
    asock_t_close_fd(peer);
    asock_t_end(loop);
    asock_t_op_check(&op);
}

/* Re-arming inside the callback when the data is already there: the re-armed call completes
 * synchronously inside the callback, and its callback does not run (no nesting, no double). */
static void rearm_inside_callback_sync(void **state)
{
    (void)state;
    asock_loop *loop = asock_t_loop();
    struct rearm_ctx c;
    memset(&c, 0, sizeof(c));
    int peer;
    asock_t_connected_pair(loop, AF_INET, &c.s, &peer);
    c.target = 8;

    asock_t_op op;
    asock_t_op_init(&op);
    op.then = rearm_then;
    op.ctx = &c;
    assert_int_equal(asock_args_set_buffer(&op.e, c.buf, 0, 2), 0);
    asock_t_assert_rc(asock_t_start(&op, asock_receive_async, c.s), 1);
    asock_t_write_all(peer, "12345678", 8);
    assert_int_equal(asock_t_run_until(loop, &c.finished, ASOCK_T_WAIT_MS), 0);
    assert_int_equal(c.total, 8);
    assert_memory_equal(c.got, "12345678", 8);
    asock_t_drain(loop, 1000);
    asock_t_op_check(&op);

    asock_socket_close(c.s);
    asock_t_close_fd(peer);
    asock_t_end(loop);
    asock_t_op_check(&op);
}

/* What a callback sends has reached the kernel by the time asock_loop_run returns, in every run
 * mode: an application that runs the loop from its own loop (RUN_NOWAIT / RUN_ONCE) never leaves
 * a reply waiting in io_uring's ring for a next run. */
struct reply_once {
    asock_t_op reply;
    asock_socket *s;
};

static void send_reply_then(asock_t_op *op, asock_socket *sender)
{
    struct reply_once *r = op->ctx;
    asock_t_assert_err(&op->e, ASOCK_SUCCESS);
    assert_int_equal(asock_args_set_buffer(&r->reply.e, "reply", 0, 5), 0);
    int rc = asock_t_start(&r->reply, asock_send_async, sender);
    assert_true(rc == 0 || rc == 1);
}

static void callback_sends_reach_kernel_before_run_returns(void **state)
{
    (void)state;
    for (int mode = 0; mode < 2; mode++) {
        asock_loop *loop = asock_t_loop();
        asock_socket *s;
        int peer;
        asock_t_connected_pair(loop, AF_INET, &s, &peer);
        struct reply_once r;
        memset(&r, 0, sizeof(r));
        asock_t_op_init(&r.reply);
        asock_t_op rcv;
        asock_t_op_init(&rcv);
        rcv.then = send_reply_then;
        rcv.ctx = &r;
        char buf[8];
        assert_int_equal(asock_args_set_buffer(&rcv.e, buf, 0, sizeof(buf)), 0);
        asock_t_assert_rc(asock_t_start(&rcv, asock_receive_async, s), 1);
        asock_t_write_all(peer, "hi", 2);
        /* run until the receive's callback ran, and no further */
        for (int i = 0; i < 2000 && rcv.calls == 0; i++) {
            asock_loop_run(loop, mode == 0 ? ASOCK_RUN_ONCE : ASOCK_RUN_NOWAIT);
            if (rcv.calls == 0)
                usleep(1000);
        }
        assert_int_equal(rcv.calls, 1);
        /* the loop is not run again: the reply must already be on its way */
        char got[8];
        asock_t_read_exact(peer, got, 5, 2000);
        assert_memory_equal(got, "reply", 5);
        asock_t_wait(loop, &r.reply, ASOCK_T_WAIT_MS);
        asock_t_assert_err(&r.reply.e, ASOCK_SUCCESS);
        asock_socket_close(s);
        asock_t_close_fd(peer);
        asock_t_end(loop);
        asock_t_op_check(&rcv);
        asock_t_op_check(&r.reply);
    }
}

/* user_token is handed back untouched: sync, pending and refused operations. */
static void user_token_untouched(void **state)
{
    (void)state;
    asock_loop *loop = asock_t_loop();
    asock_socket *s;
    int peer;
    asock_t_connected_pair(loop, AF_INET, &s, &peer);
    char buf[8];

    asock_t_op op;
    asock_t_op_init(&op);
    op.e.user_token = &token_target;
    assert_int_equal(asock_args_set_buffer(&op.e, buf, 0, sizeof(buf)), 0);

    /* pending */
    asock_t_assert_rc(asock_t_start(&op, asock_receive_async, s), 1);
    assert_ptr_equal(op.e.user_token, &token_target);
    asock_t_write_all(peer, "x", 1);
    asock_t_wait(loop, &op, ASOCK_T_WAIT_MS);
    assert_ptr_equal(op.cb_user_token, &token_target);
    assert_ptr_equal(op.e.user_token, &token_target);

    /* synchronous */
    assert_int_equal(asock_args_set_buffer(&op.e, "y", 0, 1), 0);
    asock_t_do(loop, &op, asock_send_async, s);
    assert_ptr_equal(op.e.user_token, &token_target);

    /* refused (no remote endpoint) */
    asock_t_assert_rc(asock_connect_async(s, &op.e), -EINVAL);
    assert_ptr_equal(op.e.user_token, &token_target);

    /* a token that is not a valid pointer is still handed back as is */
    op.e.user_token = (void *)(uintptr_t)0xdeadbeefu;
    assert_int_equal(asock_args_set_buffer(&op.e, buf, 0, sizeof(buf)), 0);
    asock_t_assert_rc(asock_t_start(&op, asock_receive_async, s), 1);
    asock_t_write_all(peer, "z", 1);
    asock_t_wait(loop, &op, ASOCK_T_WAIT_MS);
    assert_ptr_equal(op.cb_user_token, (void *)(uintptr_t)0xdeadbeefu);

    asock_socket_close(s);
    asock_t_close_fd(peer);
    asock_t_end(loop);
    asock_t_op_check(&op);
}

/* last_operation names the operation that was started, also during it and in the callback. */
static void last_operation_per_operation(void **state)
{
    (void)state;
    asock_loop *loop = asock_t_loop();
    uint16_t port = 0;
    asock_socket *l = asock_t_listener(loop, "127.0.0.1", &port);

    asock_t_op acc;
    asock_t_op_init(&acc);
    int rc = asock_t_start(&acc, asock_accept_async, l);
    assert_true(rc == 0 || rc == 1);
    assert_int_equal(acc.e.last_operation, ASOCK_OP_ACCEPT);

    asock_socket *c = asock_t_open(loop, AF_INET, SOCK_STREAM);
    asock_t_op con;
    asock_t_op_init(&con);
    asock_t_ep(&con.e.remote_endpoint, "127.0.0.1", port);
    rc = asock_t_start(&con, asock_connect_async, c);
    assert_true(rc == 0 || rc == 1);
    assert_int_equal(con.e.last_operation, ASOCK_OP_CONNECT);
    asock_t_wait(loop, &con, ASOCK_T_WAIT_MS);
    asock_t_wait(loop, &acc, ASOCK_T_WAIT_MS);
    asock_t_assert_err(&con.e, ASOCK_SUCCESS);
    asock_t_assert_err(&acc.e, ASOCK_SUCCESS);
    if (con.rc == 1)
        assert_int_equal(con.cb_last_operation, ASOCK_OP_CONNECT);
    if (acc.rc == 1)
        assert_int_equal(acc.cb_last_operation, ASOCK_OP_ACCEPT);
    assert_int_equal(acc.e.last_operation, ASOCK_OP_ACCEPT);
    assert_non_null(acc.e.accept_socket);

    /* the same args record for another kind of operation */
    assert_int_equal(asock_args_set_buffer(&con.e, "q", 0, 1), 0);
    asock_t_do(loop, &con, asock_send_async, c);
    assert_int_equal(con.e.last_operation, ASOCK_OP_SEND);
    char b[1];
    assert_int_equal(asock_args_set_buffer(&con.e, b, 0, 1), 0);
    asock_t_do(loop, &con, asock_receive_async, acc.e.accept_socket);
    assert_int_equal(con.e.last_operation, ASOCK_OP_RECEIVE);
    assert_int_equal(b[0], 'q');
    assert_int_equal(asock_args_set_buffer(&con.e, NULL, 0, 0), 0);
    asock_t_assert_rc(asock_t_start(&con, asock_disconnect_async, c), 0);
    assert_int_equal(con.e.last_operation, ASOCK_OP_DISCONNECT);

    asock_socket_close(acc.e.accept_socket);
    asock_socket_close(c);
    asock_socket_close(l);
    asock_t_end(loop);
    asock_t_op_check(&acc);
    asock_t_op_check(&con);
}

/* S10: an args record in use is refused with -EBUSY, untouched, and the first operation still
 * completes normally. */
static void busy_args_refused_first_completes(void **state)
{
    (void)state;
    asock_loop *loop = asock_t_loop();
    asock_socket *s;
    int peer;
    asock_t_connected_pair(loop, AF_INET, &s, &peer);
    asock_socket *other = asock_t_open(loop, AF_INET, SOCK_STREAM);
    uint16_t lport = 0;
    int lfd = asock_t_tcp_listener(AF_INET, "127.0.0.1", &lport);

    char buf[16] = {0};
    asock_t_op op;
    asock_t_op_init(&op);
    op.e.user_token = &token_target;
    assert_int_equal(asock_args_set_buffer(&op.e, buf, 0, sizeof(buf)), 0);
    asock_t_assert_rc(asock_t_start(&op, asock_receive_async, s), 1);

    asock_t_assert_rc(asock_send_async(s, &op.e), -EBUSY);
    asock_t_assert_rc(asock_receive_async(s, &op.e), -EBUSY);
    asock_t_ep(&op.e.remote_endpoint, "127.0.0.1", lport);
    asock_t_assert_rc(asock_connect_async(other, &op.e), -EBUSY);
    asock_t_assert_rc(asock_disconnect_async(s, &op.e), -EBUSY);
    asock_t_assert_rc(asock_loop_connect_async(loop, SOCK_STREAM, 0, &op.e), -EBUSY);
    char other_buf[4];
    asock_t_assert_rc(asock_args_set_buffer(&op.e, other_buf, 0, sizeof(other_buf)), -EBUSY);
    assert_ptr_equal(op.e.buffer, buf);
    assert_int_equal(op.e.count, sizeof(buf));
    assert_int_equal(op.e.last_operation, ASOCK_OP_RECEIVE);
    assert_int_equal(asock_args_in_use(&op.e), 1);
    assert_int_equal(op.calls, 0);

    asock_t_write_all(peer, "first", 5);
    asock_t_wait(loop, &op, ASOCK_T_WAIT_MS);
    asock_t_assert_err(&op.e, ASOCK_SUCCESS);
    assert_int_equal(op.e.bytes_transferred, 5);
    assert_memory_equal(buf, "first", 5);
    assert_int_equal(op.calls, 1);
    assert_int_equal(asock_args_in_use(&op.e), 0);
    /* nothing was started by the refused calls: the other socket is still unconnected and the
     * listener has nothing to accept */
    assert_int_equal(asock_socket_connected(other), 0);
    assert_int_equal(asock_t_wait_readable(lfd, 50), 0);

    asock_t_drain(loop, 1000);
    assert_int_equal(op.calls, 1);

    asock_socket_close(other);
    asock_socket_close(s);
    asock_t_close_fd(peer);
    asock_t_close_fd(lfd);
    asock_t_end(loop);
    asock_t_op_check(&op);
}

/* Pending receives waiting behind another: cancelling one in the middle ends it alone, the
 * others still get the data in order; a close ends the rest, each exactly once. */
static void pending_receives_cancel_middle_then_close(void **state)
{
    (void)state;
    asock_loop *loop = asock_t_loop();
    asock_socket *s;
    int peer;
    asock_t_connected_pair(loop, AF_INET, &s, &peer);

    enum {
        N = 5
    };

    asock_t_op ops[N];
    char bufs[N][1];
    for (int i = 0; i < N; i++) {
        asock_t_op_init(&ops[i]);
        assert_int_equal(asock_args_set_buffer(&ops[i].e, bufs[i], 0, 1), 0);
        asock_t_assert_rc(asock_t_start(&ops[i], asock_receive_async, s), 1);
    }
    asock_cancel_async(&ops[1].e);
    asock_t_wait(loop, &ops[1], ASOCK_T_WAIT_MS);
    asock_t_assert_err(&ops[1].e, ASOCK_ERR_OPERATION_ABORTED);
    asock_t_write_all(peer, "ab", 2);
    asock_t_wait(loop, &ops[0], ASOCK_T_WAIT_MS);
    asock_t_wait(loop, &ops[2], ASOCK_T_WAIT_MS);
    asock_t_assert_err(&ops[0].e, ASOCK_SUCCESS);
    asock_t_assert_err(&ops[2].e, ASOCK_SUCCESS);
    assert_int_equal(bufs[0][0], 'a');
    assert_int_equal(bufs[2][0], 'b');
    assert_int_equal(ops[3].calls + ops[4].calls, 0);
    asock_socket_close(s);
    asock_t_wait(loop, &ops[3], ASOCK_T_WAIT_MS);
    asock_t_wait(loop, &ops[4], ASOCK_T_WAIT_MS);
    asock_t_assert_err(&ops[3].e, ASOCK_ERR_OPERATION_ABORTED);
    asock_t_assert_err(&ops[4].e, ASOCK_ERR_OPERATION_ABORTED);
    asock_t_close_fd(peer);
    asock_t_end(loop);
    for (int i = 0; i < N; i++) {
        asock_t_op_check(&ops[i]);
        assert_int_equal(ops[i].calls, 1);
    }
}

/* Several pending receives on one socket: each completes exactly once, in the order they were
 * started (one FIFO queue per direction, dotnet-sockets.md §3.3). */
static void pending_receives_fifo_exactly_once(void **state)
{
    (void)state;
    asock_loop *loop = asock_t_loop();
    asock_socket *s;
    int peer;
    asock_t_connected_pair(loop, AF_INET, &s, &peer);

    enum {
        N = 3
    };

    asock_t_op ops[N];
    char bufs[N][1];
    for (int i = 0; i < N; i++) {
        asock_t_op_init(&ops[i]);
        assert_int_equal(asock_args_set_buffer(&ops[i].e, bufs[i], 0, 1), 0);
        asock_t_assert_rc(asock_t_start(&ops[i], asock_receive_async, s), 1);
    }
    asock_t_write_all(peer, "xyz", 3);
    for (int i = 0; i < N; i++)
        asock_t_wait(loop, &ops[i], ASOCK_T_WAIT_MS);
    for (int i = 0; i < N; i++) {
        asock_t_assert_err(&ops[i].e, ASOCK_SUCCESS);
        assert_int_equal(ops[i].e.bytes_transferred, 1);
    }
    assert_int_equal(bufs[0][0], 'x');
    assert_int_equal(bufs[1][0], 'y');
    assert_int_equal(bufs[2][0], 'z');

    asock_socket_close(s);
    asock_t_close_fd(peer);
    asock_t_end(loop);
    for (int i = 0; i < N; i++)
        asock_t_op_check(&ops[i]);
}

/* socket_flags is an in/out field: 0 out for sends, the received flags out for receives. */
static void socket_flags_out(void **state)
{
    (void)state;
    asock_loop *loop = asock_t_loop();
    asock_socket *s;
    int peer;
    asock_t_connected_pair(loop, AF_INET, &s, &peer);

    asock_t_op op;
    asock_t_op_init(&op);
    assert_int_equal(asock_args_set_buffer(&op.e, "abc", 0, 3), 0);
    op.e.socket_flags = MSG_NOSIGNAL;
    asock_t_do(loop, &op, asock_send_async, s);
    asock_t_assert_err(&op.e, ASOCK_SUCCESS);
    assert_int_equal(op.e.socket_flags, 0);

    char buf[8];
    asock_t_write_all(peer, "def", 3);
    assert_int_equal(asock_args_set_buffer(&op.e, buf, 0, sizeof(buf)), 0);
    op.e.socket_flags = 0;
    asock_t_do(loop, &op, asock_receive_async, s);
    asock_t_assert_err(&op.e, ASOCK_SUCCESS);
    assert_int_equal(op.e.socket_flags & (MSG_TRUNC | MSG_CTRUNC), 0);

    /* MSG_PEEK in: the data stays */
    asock_t_write_all(peer, "ghi", 3);
    assert_int_equal(asock_t_wait_readable(asock_socket_fd(s), 2000), 1);
    op.e.socket_flags = MSG_PEEK;
    asock_t_do(loop, &op, asock_receive_async, s);
    asock_t_assert_err(&op.e, ASOCK_SUCCESS);
    assert_int_equal(op.e.bytes_transferred, 3);
    op.e.socket_flags = 0;
    memset(buf, 0, sizeof(buf));
    asock_t_do(loop, &op, asock_receive_async, s);
    assert_int_equal(op.e.bytes_transferred, 3);
    assert_memory_equal(buf, "ghi", 3);

    char got[3];
    asock_t_read_exact(peer, got, 3, 2000);
    asock_socket_close(s);
    asock_t_close_fd(peer);
    asock_t_end(loop);
    asock_t_op_check(&op);
}

/* A refused call never calls back, even after the loop is drained. */
static void refused_call_never_calls_back(void **state)
{
    (void)state;
    asock_loop *loop = asock_t_loop();
    asock_socket *s = asock_t_open(loop, AF_INET, SOCK_STREAM);
    asock_t_op op;
    asock_t_op_init(&op);
    /* remote_endpoint left NONE */
    asock_t_assert_rc(asock_t_start(&op, asock_connect_async, s), -EINVAL);
    assert_int_equal(op.e.last_operation, ASOCK_OP_NONE);
    assert_int_equal(asock_args_in_use(&op.e), 0);
    asock_t_drain(loop, 1000);
    assert_int_equal(op.calls, 0);
    asock_socket_close(s);
    asock_t_end(loop);
    assert_int_equal(op.calls, 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(pending_receive_calls_back_once_from_loop),
        cmocka_unit_test(try_first_receive_with_data_is_synchronous),
        cmocka_unit_test(args_free_before_callback_can_rearm),
        cmocka_unit_test(rearm_inside_callback_sync),
        cmocka_unit_test(callback_sends_reach_kernel_before_run_returns),
        cmocka_unit_test(user_token_untouched),
        cmocka_unit_test(last_operation_per_operation),
        cmocka_unit_test(busy_args_refused_first_completes),
        cmocka_unit_test(pending_receives_fifo_exactly_once),
        cmocka_unit_test(pending_receives_cancel_middle_then_close),
        cmocka_unit_test(socket_flags_out),
        cmocka_unit_test(refused_call_never_calls_back),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
