/* Stream I/O in the async-args model (SPEC S11; dotnet-sockets.md §1.5, §3.3, §3.6): send and
 * receive, accept (new socket or into a given one), EOF as a 0-byte Success, partial-send
 * continuation, scatter/gather, the zero-byte receive as a readiness probe, MSG_NOSIGNAL. */
#define _GNU_SOURCE 1
#include "net.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

static void send_receive_both_ways(void **state)
{
    (void)state;
    asock_loop *loop = asock_t_loop();
    asock_socket *s;
    int peer;
    asock_t_connected_pair(loop, AF_INET6, &s, &peer);

    asock_t_op op;
    asock_t_op_init(&op);
    assert_int_equal(asock_args_set_buffer(&op.e, "xxhello", 2, 5), 0);
    asock_t_do(loop, &op, asock_send_async, s);
    asock_t_assert_err(&op.e, ASOCK_SUCCESS);
    assert_int_equal(op.e.bytes_transferred, 5);
    assert_int_equal(op.e.last_operation, ASOCK_OP_SEND);
    char got[16];
    asock_t_read_exact(peer, got, 5, 2000);
    assert_memory_equal(got, "hello", 5);

    /* receive into a window */
    char buf[16];
    memset(buf, '.', sizeof(buf));
    asock_t_write_all(peer, "world", 5);
    assert_int_equal(asock_args_set_buffer(&op.e, buf, 4, 8), 0);
    asock_t_do(loop, &op, asock_receive_async, s);
    asock_t_assert_err(&op.e, ASOCK_SUCCESS);
    assert_int_equal(op.e.bytes_transferred, 5);
    assert_memory_equal(buf, "....world...", 12);

    asock_socket_close(s);
    asock_t_close_fd(peer);
    asock_t_end(loop);
    asock_t_op_check(&op);
}

/* Accept: accept_socket NULL -> a new socket stored there; non-NULL -> the connection moves into
 * the given socket. */
static void accept_new_and_into_socket(void **state)
{
    (void)state;
    asock_loop *loop = asock_t_loop();
    uint16_t port = 0;
    asock_socket *l = asock_t_listener(loop, "127.0.0.1", &port);

    asock_t_op acc;
    asock_t_op_init(&acc);
    asock_t_assert_rc(asock_t_start(&acc, asock_accept_async, l), 1); /* nothing queued yet */
    int c1 = asock_t_tcp_connect(AF_INET, "127.0.0.1", port);
    asock_t_wait(loop, &acc, ASOCK_T_WAIT_MS);
    asock_t_assert_err(&acc.e, ASOCK_SUCCESS);
    assert_ptr_equal(acc.sender, l);
    assert_int_equal(acc.e.last_operation, ASOCK_OP_ACCEPT);
    assert_int_equal(acc.e.bytes_transferred, 0);
    asock_socket *a1 = acc.e.accept_socket;
    assert_non_null(a1);
    assert_true(a1 != l);
    assert_int_equal(asock_socket_connected(a1), 1);
    assert_int_equal(asock_socket_family(a1), AF_INET);
    assert_int_equal(asock_socket_type(a1), SOCK_STREAM);
    int fd = asock_socket_fd(a1);
    assert_true(fd >= 0);
    assert_true((fcntl(fd, F_GETFL) & O_NONBLOCK) != 0);
    assert_true((fcntl(fd, F_GETFD) & FD_CLOEXEC) != 0);
    asock_endpoint remote;
    assert_int_equal(asock_socket_remote_endpoint(a1, &remote), 0);
    struct sockaddr_storage ss;
    socklen_t len = sizeof(ss);
    assert_int_equal(getsockname(c1, (struct sockaddr *)&ss, &len), 0);
    assert_int_equal(asock_endpoint_port(&remote), asock_t_sa_port(&ss));

    /* data over the accepted socket */
    asock_t_write_all(c1, "acc", 3);
    char buf[8];
    asock_t_op io;
    asock_t_op_init(&io);
    assert_int_equal(asock_args_set_buffer(&io.e, buf, 0, sizeof(buf)), 0);
    asock_t_do(loop, &io, asock_receive_async, a1);
    asock_t_assert_err(&io.e, ASOCK_SUCCESS);
    assert_int_equal(io.e.bytes_transferred, 3);
    assert_memory_equal(buf, "acc", 3);

    /* a connection already queued: accept into a given socket */
    int c2 = asock_t_tcp_connect(AF_INET, "127.0.0.1", port);
    asock_socket *into = asock_t_open(loop, AF_INET, SOCK_STREAM);
    acc.e.accept_socket = into;
    asock_t_do(loop, &acc, asock_accept_async, l);
    asock_t_assert_err(&acc.e, ASOCK_SUCCESS);
    assert_ptr_equal(acc.e.accept_socket, into);
    assert_int_equal(asock_socket_connected(into), 1);
    asock_t_write_all(c2, "in", 2);
    asock_t_do(loop, &io, asock_receive_async, into);
    asock_t_assert_err(&io.e, ASOCK_SUCCESS);
    assert_int_equal(io.e.bytes_transferred, 2);
    assert_memory_equal(buf, "in", 2);

    asock_socket_close(a1);
    asock_socket_close(into);
    asock_socket_close(l);
    asock_t_close_fd(c1);
    asock_t_close_fd(c2);
    asock_t_end(loop);
    asock_t_op_check(&acc);
    asock_t_op_check(&io);
}

/* A receive after the peer's FIN completes with 0 bytes and Success (pending and synchronous). */
static void receive_after_fin_is_zero_success(void **state)
{
    (void)state;
    asock_loop *loop = asock_t_loop();
    asock_socket *s;
    int peer;
    asock_t_connected_pair(loop, AF_INET, &s, &peer);

    char buf[16];
    asock_t_op op;
    asock_t_op_init(&op);
    assert_int_equal(asock_args_set_buffer(&op.e, buf, 0, sizeof(buf)), 0);
    asock_t_assert_rc(asock_t_start(&op, asock_receive_async, s), 1);
    assert_int_equal(shutdown(peer, SHUT_WR), 0);
    asock_t_wait(loop, &op, ASOCK_T_WAIT_MS);
    asock_t_assert_err(&op.e, ASOCK_SUCCESS);
    assert_int_equal(op.e.sys_errno, 0);
    assert_int_equal(op.e.bytes_transferred, 0);

    /* again, now synchronously: EOF stays readable */
    op.e.bytes_transferred = 99;
    asock_t_assert_rc(asock_t_start(&op, asock_receive_async, s), 0);
    asock_t_assert_err(&op.e, ASOCK_SUCCESS);
    assert_int_equal(op.e.bytes_transferred, 0);

    /* the other direction still works (half close) */
    assert_int_equal(asock_args_set_buffer(&op.e, "after", 0, 5), 0);
    asock_t_do(loop, &op, asock_send_async, s);
    asock_t_assert_err(&op.e, ASOCK_SUCCESS);
    char got[5];
    asock_t_read_exact(peer, got, 5, 2000);
    assert_memory_equal(got, "after", 5);

    asock_socket_close(s);
    asock_t_close_fd(peer);
    asock_t_end(loop);
    asock_t_op_check(&op);
}

/* A zero-byte receive (empty buffer) waits for readability without consuming. */
static void zero_byte_receive_is_readiness_probe(void **state)
{
    (void)state;
    asock_loop *loop = asock_t_loop();
    asock_socket *s;
    int peer;
    asock_t_connected_pair(loop, AF_INET, &s, &peer);

    char buf[16];
    asock_t_op op;
    asock_t_op_init(&op);
    assert_int_equal(asock_args_set_buffer(&op.e, buf, 0, 0), 0);
    asock_t_assert_rc(asock_t_start(&op, asock_receive_async, s), 1);
    for (int i = 0; i < 3; i++)
        assert_true(asock_loop_run(loop, ASOCK_RUN_NOWAIT) >= 0);
    assert_int_equal(op.calls, 0);
    asock_t_write_all(peer, "data", 4);
    asock_t_wait(loop, &op, ASOCK_T_WAIT_MS);
    asock_t_assert_err(&op.e, ASOCK_SUCCESS);
    assert_int_equal(op.e.bytes_transferred, 0);

    /* again, with data readable: completes (0 bytes) and still consumes nothing */
    asock_t_do(loop, &op, asock_receive_async, s);
    asock_t_assert_err(&op.e, ASOCK_SUCCESS);
    assert_int_equal(op.e.bytes_transferred, 0);

    assert_int_equal(asock_args_set_buffer(&op.e, buf, 0, sizeof(buf)), 0);
    asock_t_do(loop, &op, asock_receive_async, s);
    asock_t_assert_err(&op.e, ASOCK_SUCCESS);
    assert_int_equal(op.e.bytes_transferred, 4);
    assert_memory_equal(buf, "data", 4);

    asock_socket_close(s);
    asock_t_close_fd(peer);
    asock_t_end(loop);
    asock_t_op_check(&op);
}

/* A 4 MiB send completes once, with every byte, even though it cannot go out in one call. */
static void large_send_completes_once_with_all_bytes(void **state)
{
    (void)state;
    asock_loop *loop = asock_t_loop();
    asock_socket *s;
    int peer;
    asock_t_connected_pair(loop, AF_INET, &s, &peer);
    const size_t n = 4u << 20;
    unsigned char *data = malloc(n);
    assert_non_null(data);
    asock_t_fill(data, n, 11);

    asock_t_op op;
    asock_t_op_init(&op);
    assert_int_equal(asock_args_set_buffer(&op.e, data, 0, n), 0);
    /* start before the reader, so the first attempt fills the socket buffer */
    int rc = asock_t_start(&op, asock_send_async, s);
    assert_true(rc == 0 || rc == 1);
    asock_t_reader rd;
    asock_t_reader_start(&rd, -1, peer, n);
    asock_t_wait(loop, &op, 10000);
    asock_t_reader_join(&rd);
    asock_t_assert_err(&op.e, ASOCK_SUCCESS);
    assert_int_equal(op.e.bytes_transferred, n);
    assert_int_equal(rd.err, 0);
    assert_int_equal(rd.got, n);
    assert_true(asock_t_check_fill(rd.buf, n, 11));
    asock_t_reader_free(&rd);

    asock_socket_close(s);
    asock_t_close_fd(peer);
    asock_t_end(loop);
    asock_t_op_check(&op);
    assert_true(op.calls <= 1);
    free(data);
}

/* Several sends started back to back on one stream, each too big for one call: the bytes reach
 * the peer in the order the sends were started (.NET queues them), never interleaved, also when
 * a send goes out in pieces and when one is a buffer_list (sendmsg).  Each completes once with
 * all its bytes. */
static void concurrent_sends_keep_their_order(void **state)
{
    (void)state;
    asock_loop *loop = asock_t_loop();
    asock_socket *s;
    int peer;
    asock_t_connected_pair(loop, AF_INET, &s, &peer);
    asock_t_assert_rc(asock_socket_set_option(s, ASOCK_OPT_SEND_BUFFER, 16384), 0);

    enum {
        NSEND = 5
    };

    const size_t part = 300000;
    unsigned char *data[NSEND];
    asock_t_op op[NSEND];
    struct iovec list[3];
    for (int i = 0; i < NSEND; i++) {
        data[i] = malloc(part);
        assert_non_null(data[i]);
        asock_t_fill(data[i], part, 20u + (unsigned)i);
        asock_t_op_init(&op[i]);
        if (i == 2) {
            /* the middle one as three pieces: the sendmsg path */
            list[0] = (struct iovec){data[i], 1000};
            list[1] = (struct iovec){data[i] + 1000, 100000};
            list[2] = (struct iovec){data[i] + 101000, part - 101000};
            op[i].e.buffer_list = list;
            op[i].e.buffer_list_count = 3;
        } else {
            assert_int_equal(asock_args_set_buffer(&op[i].e, data[i], 0, part), 0);
        }
    }
    /* all started before anyone reads: the first fills the socket buffer, the rest wait */
    for (int i = 0; i < NSEND; i++) {
        int rc = asock_t_start(&op[i], asock_send_async, s);
        assert_true(rc == 0 || rc == 1);
    }
    asock_t_reader rd;
    asock_t_reader_start(&rd, -1, peer, part * NSEND);
    for (int i = 0; i < NSEND; i++)
        asock_t_wait(loop, &op[i], 10000);
    asock_t_reader_join(&rd);
    assert_int_equal(rd.err, 0);
    assert_int_equal(rd.got, part * NSEND);
    for (int i = 0; i < NSEND; i++) {
        asock_t_assert_err(&op[i].e, ASOCK_SUCCESS);
        assert_int_equal(op[i].e.bytes_transferred, part);
        assert_true(asock_t_check_fill(rd.buf + (size_t)i * part, part, 20u + (unsigned)i));
    }
    asock_t_reader_free(&rd);

    asock_socket_close(s);
    asock_t_close_fd(peer);
    asock_t_end(loop);
    for (int i = 0; i < NSEND; i++) {
        asock_t_op_check(&op[i]);
        assert_true(op[i].calls <= 1);
        free(data[i]);
    }
}

/* Sends waiting behind a running one: a cancel ends the waiting one alone (OperationAborted,
 * nothing of it sent), a close ends every one, each callback exactly once. */
static void waiting_sends_cancel_and_close(void **state)
{
    (void)state;
    asock_loop *loop = asock_t_loop();
    asock_socket *s;
    int peer;
    asock_t_connected_pair(loop, AF_INET, &s, &peer);
    asock_t_assert_rc(asock_socket_set_option(s, ASOCK_OPT_SEND_BUFFER, 16384), 0);
    const size_t n = 4u << 20; /* far more than the socket and the peer's buffers hold */
    unsigned char *data = calloc(1, n);
    assert_non_null(data);
    asock_t_op op[3];
    for (int i = 0; i < 3; i++) {
        asock_t_op_init(&op[i]);
        assert_int_equal(asock_args_set_buffer(&op[i].e, data, 0, n), 0);
        asock_t_assert_rc(asock_t_start(&op[i], asock_send_async, s), 1);
    }
    for (int i = 0; i < 5; i++) {
        asock_loop_run(loop, ASOCK_RUN_NOWAIT);
        usleep(10000);
    }
    assert_int_equal(op[0].calls + op[1].calls + op[2].calls, 0);
    asock_cancel_async(&op[2].e);
    asock_t_wait(loop, &op[2], ASOCK_T_WAIT_MS);
    asock_t_assert_err(&op[2].e, ASOCK_ERR_OPERATION_ABORTED);
    assert_int_equal(op[2].e.bytes_transferred, 0);
    assert_int_equal(op[0].calls + op[1].calls, 0);
    /* the cancelled record can start again at once (it waits behind the others again) */
    asock_t_assert_rc(asock_t_start(&op[2], asock_send_async, s), 1);
    asock_socket_close(s);
    for (int i = 0; i < 3; i++) {
        asock_t_wait(loop, &op[i], ASOCK_T_WAIT_MS);
        asock_t_assert_err(&op[i].e, ASOCK_ERR_OPERATION_ABORTED);
    }
    asock_t_close_fd(peer);
    asock_t_end(loop);
    for (int i = 0; i < 3; i++)
        asock_t_op_check(&op[i]);
    assert_int_equal(op[2].calls, 2);
    free(data);
}

/* Scatter/gather: buffer_list for send and receive; the list is copied at start. */
static void buffer_list_send_and_receive(void **state)
{
    (void)state;
    asock_loop *loop = asock_t_loop();
    asock_socket *s;
    int peer;
    asock_t_connected_pair(loop, AF_INET, &s, &peer);

    struct iovec out[3] = {{(void *)(uintptr_t) "abc", 3},
                           {(void *)(uintptr_t) "", 0},
                           {(void *)(uintptr_t) "defgh", 5}};
    asock_t_op op;
    asock_t_op_init(&op);
    op.e.buffer_list = out;
    op.e.buffer_list_count = 3;
    asock_t_do(loop, &op, asock_send_async, s);
    asock_t_assert_err(&op.e, ASOCK_SUCCESS);
    assert_int_equal(op.e.bytes_transferred, 8);
    char got[8];
    asock_t_read_exact(peer, got, 8, 2000);
    assert_memory_equal(got, "abcdefgh", 8);

    /* receive into three pieces; the caller's array is changed after the start */
    char p1[4] = {0}, p2[3] = {0}, p3[3] = {0}, decoy[16] = {0};
    struct iovec in[3] = {{p1, sizeof(p1)}, {p2, sizeof(p2)}, {p3, sizeof(p3)}};
    op.e.buffer_list = in;
    op.e.buffer_list_count = 3;
    asock_t_assert_rc(asock_t_start(&op, asock_receive_async, s), 1);
    in[0].iov_base = decoy;
    in[1].iov_base = decoy;
    in[2].iov_base = decoy;
    asock_t_write_all(peer, "0123456789", 10);
    asock_t_wait(loop, &op, ASOCK_T_WAIT_MS);
    asock_t_assert_err(&op.e, ASOCK_SUCCESS);
    assert_int_equal(op.e.bytes_transferred, 10);
    assert_memory_equal(p1, "0123", 4);
    assert_memory_equal(p2, "456", 3);
    assert_memory_equal(p3, "789", 3);
    for (size_t i = 0; i < sizeof(decoy); i++)
        assert_int_equal(decoy[i], 0);

    asock_socket_close(s);
    asock_t_close_fd(peer);
    asock_t_end(loop);
    asock_t_op_check(&op);
}

/* A peer that reset the connection: the receive reports ConnectionReset. */
static void receive_after_reset(void **state)
{
    (void)state;
    asock_loop *loop = asock_t_loop();
    asock_socket *s;
    int peer;
    asock_t_connected_pair(loop, AF_INET, &s, &peer);

    char buf[8];
    asock_t_op op;
    asock_t_op_init(&op);
    assert_int_equal(asock_args_set_buffer(&op.e, buf, 0, sizeof(buf)), 0);
    asock_t_assert_rc(asock_t_start(&op, asock_receive_async, s), 1);
    asock_t_set_abortive(peer);
    asock_t_close_fd(peer);
    asock_t_wait(loop, &op, ASOCK_T_WAIT_MS);
    asock_t_assert_err(&op.e, ASOCK_ERR_CONNECTION_RESET);
    assert_int_equal(op.e.sys_errno, ECONNRESET);
    assert_int_equal(op.e.bytes_transferred, 0);

    asock_socket_close(s);
    asock_t_end(loop);
    asock_t_op_check(&op);
}

/* MSG_NOSIGNAL on every send: sending to a peer that is gone gives an error, never SIGPIPE. */
static void send_to_closed_peer_no_sigpipe(void **state)
{
    (void)state;
    void (*old)(int) = signal(SIGPIPE, SIG_DFL);
    asock_loop *loop = asock_t_loop();
    asock_socket *s;
    int peer;
    asock_t_connected_pair(loop, AF_INET, &s, &peer);
    asock_t_close_fd(peer);

    asock_t_op op;
    asock_t_op_init(&op);
    assert_int_equal(asock_args_set_buffer(&op.e, "zzzz", 0, 4), 0);
    int failed = 0;
    for (int i = 0; i < 50 && !failed; i++) {
        asock_t_do(loop, &op, asock_send_async, s);
        if (op.e.socket_error != ASOCK_SUCCESS)
            failed = 1;
        else {
            struct timespec ts = {0, 5 * 1000000L};
            nanosleep(&ts, NULL);
        }
    }
    assert_int_equal(failed, 1);
    if (op.e.socket_error != ASOCK_ERR_SHUTDOWN && op.e.socket_error != ASOCK_ERR_CONNECTION_RESET)
        fail_msg("send to a closed peer: socket_error %d, want Shutdown or ConnectionReset",
                 (int)op.e.socket_error);
    assert_true(op.e.sys_errno == EPIPE || op.e.sys_errno == ECONNRESET);

    asock_socket_close(s);
    asock_t_end(loop);
    asock_t_op_check(&op);
    signal(SIGPIPE, old);
}

/* Data and the peer's FIN arrive together: a receive gets the data with a short read, and the
 * next receive must still complete (0 bytes, Success) although no new readiness edge will come.
 * (A regression: the epoll engine took every short read for "the socket is empty".) */
struct fin_ctx {
    asock_loop *loop;
    char buf[64];
    int calls;
    size_t got[4];
    asock_socket_error err[4];
};

static void on_fin_recv(asock_socket *sender, asock_args *e)
{
    struct fin_ctx *c = e->user_token;
    c->got[c->calls] = e->bytes_transferred;
    c->err[c->calls] = e->socket_error;
    c->calls++;
    /* re-arm from inside the callback until the end of the stream */
    if (e->socket_error == ASOCK_SUCCESS && e->bytes_transferred > 0 && c->calls < 4) {
        int rc = asock_receive_async(sender, e);
        assert_true(rc == 0 || rc == 1);
        if (rc == 0) {
            c->got[c->calls] = e->bytes_transferred;
            c->err[c->calls] = e->socket_error;
            c->calls++;
        }
    }
}

static void short_read_then_fin_completes(void **state)
{
    (void)state;
    for (int round = 0; round < 2; round++) {
        asock_loop *loop = asock_t_loop();
        asock_socket *s;
        int peer;
        asock_t_connected_pair(loop, AF_INET, &s, &peer);
        struct fin_ctx c;
        memset(&c, 0, sizeof(c));
        c.loop = loop;
        asock_args e;
        asock_t_args(&e, on_fin_recv, &c);
        assert_int_equal(asock_args_set_buffer(&e, c.buf, 0, sizeof(c.buf)), 0);
        if (round == 0) {
            /* pending first, then data + FIN in one go */
            assert_int_equal(asock_receive_async(s, &e), 1);
            asock_t_write_all(peer, "tail", 4);
            shutdown(peer, SHUT_WR);
        } else {
            /* data + FIN already there: the first receive completes synchronously */
            asock_t_write_all(peer, "tail", 4);
            shutdown(peer, SHUT_WR);
            assert_int_equal(asock_t_wait_readable(asock_socket_fd(s), 2000), 1);
            int rc = asock_receive_async(s, &e);
            assert_int_equal(rc, 0);
            assert_int_equal(e.bytes_transferred, 4);
            c.got[0] = 4;
            c.calls = 1;
            /* the next receive after that short read */
            rc = asock_receive_async(s, &e);
            assert_true(rc == 0 || rc == 1);
            if (rc == 0) {
                c.got[1] = e.bytes_transferred;
                c.err[1] = e.socket_error;
                c.calls = 2;
            }
        }
        for (int i = 0; i < 200 && c.calls < 2; i++)
            asock_loop_run(loop, ASOCK_RUN_NOWAIT), asock_t_spin(loop, 5);
        assert_int_equal(c.calls, 2);
        assert_int_equal(c.got[0], 4);
        assert_int_equal(c.err[1], ASOCK_SUCCESS);
        assert_int_equal(c.got[1], 0);
        asock_socket_close(s);
        asock_t_close_fd(peer);
        asock_t_end(loop);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(send_receive_both_ways),
        cmocka_unit_test(accept_new_and_into_socket),
        cmocka_unit_test(receive_after_fin_is_zero_success),
        cmocka_unit_test(zero_byte_receive_is_readiness_probe),
        cmocka_unit_test(large_send_completes_once_with_all_bytes),
        cmocka_unit_test(concurrent_sends_keep_their_order),
        cmocka_unit_test(waiting_sends_cancel_and_close),
        cmocka_unit_test(buffer_list_send_and_receive),
        cmocka_unit_test(receive_after_reset),
        cmocka_unit_test(send_to_closed_peer_no_sigpipe),
        cmocka_unit_test(short_read_then_fin_completes),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
