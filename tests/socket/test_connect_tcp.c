/* connect_async on stream sockets (SPEC S1, S6, S7, S8, S9, S11 cancel-connect;
 * dotnet-sockets.md §2.1, §2.3, §2.6, §2.7, §2.8). */
#define _GNU_SOURCE 1
#include "net.h"

#include <errno.h>
#include <netinet/tcp.h>
#include <time.h>
#include <unistd.h>

static asock_socket *open_client(asock_loop *loop, int family)
{
    return asock_t_open(loop, family, SOCK_STREAM);
}

/* S1: a stream connect; results as .NET sets them; the peer sees the connection. */
static void connect_basic_family(int family, const char *addr)
{
    asock_loop *loop = asock_t_loop();
    uint16_t port = 0;
    int lfd = asock_t_tcp_listener(family, addr, &port);
    asock_socket *s = open_client(loop, family);
    assert_int_equal(asock_socket_connected(s), 0);

    asock_t_op op;
    asock_t_op_init(&op);
    asock_t_ep(&op.e.remote_endpoint, addr, port);
    op.e.bytes_transferred = 77; /* stale values are overwritten */
    op.e.sys_errno = 77;
    asock_t_do(loop, &op, asock_connect_async, s);
    asock_t_assert_err(&op.e, ASOCK_SUCCESS);
    assert_int_equal(op.e.sys_errno, 0);
    assert_int_equal(op.e.bytes_transferred, 0);
    assert_int_equal(op.e.last_operation, ASOCK_OP_CONNECT);
    assert_ptr_equal(op.e.connect_socket, s);
    assert_int_equal(op.e.connect_by_name_error, ASOCK_SUCCESS);
    if (op.rc == 1)
        assert_ptr_equal(op.sender, s);
    assert_int_equal(asock_socket_connected(s), 1);

    asock_endpoint remote;
    assert_int_equal(asock_socket_remote_endpoint(s, &remote), 0);
    assert_int_equal(asock_endpoint_equal(&remote, &op.e.remote_endpoint), 1);

    int peer = asock_t_accept_fd(lfd, ASOCK_T_WAIT_MS);
    asock_t_write_all(peer, "k", 1);
    char b;
    assert_int_equal(asock_args_set_buffer(&op.e, &b, 0, 1), 0);
    asock_t_do(loop, &op, asock_receive_async, s);
    asock_t_assert_err(&op.e, ASOCK_SUCCESS);
    assert_int_equal(b, 'k');

    asock_socket_close(s);
    asock_t_close_fd(peer);
    asock_t_close_fd(lfd);
    asock_t_end(loop);
    asock_t_op_check(&op);
}

static void connect_ipv4(void **state)
{
    (void)state;
    connect_basic_family(AF_INET, "127.0.0.1");
}

static void connect_ipv6(void **state)
{
    (void)state;
    connect_basic_family(AF_INET6, "::1");
}

/* S7: after a connect without bind the local endpoint has a real address and a non-zero port,
 * the one the peer sees. */
static void local_endpoint_after_connect(void **state)
{
    (void)state;
    asock_loop *loop = asock_t_loop();
    uint16_t port = 0;
    int lfd = asock_t_tcp_listener(AF_INET, "127.0.0.1", &port);
    asock_socket *s = open_client(loop, AF_INET);
    asock_endpoint local;
    memset(&local, 0, sizeof(local));
    asock_t_assert_rc(asock_socket_local_endpoint(s, &local), -EINVAL); /* unbound */

    asock_t_op op;
    asock_t_op_init(&op);
    asock_t_ep(&op.e.remote_endpoint, "127.0.0.1", port);
    asock_t_do(loop, &op, asock_connect_async, s);
    asock_t_assert_err(&op.e, ASOCK_SUCCESS);

    assert_int_equal(asock_socket_local_endpoint(s, &local), 0);
    assert_int_equal(asock_endpoint_family(&local), AF_INET);
    char text[64];
    assert_string_equal(asock_t_ep_addr(&local, text, sizeof(text)), "127.0.0.1");
    assert_int_not_equal(asock_endpoint_port(&local), 0);

    int peer = asock_t_accept_fd(lfd, ASOCK_T_WAIT_MS);
    struct sockaddr_storage ss;
    socklen_t len = sizeof(ss);
    assert_int_equal(getpeername(peer, (struct sockaddr *)&ss, &len), 0);
    assert_int_equal(asock_t_sa_port(&ss), asock_endpoint_port(&local));

    asock_socket_close(s);
    asock_t_close_fd(peer);
    asock_t_close_fd(lfd);
    asock_t_end(loop);
    asock_t_op_check(&op);
}

/* S6: the buffer given with connect reaches the peer, bytes_transferred equals it. */
static void connect_with_buffer(size_t n, size_t offset, int fast_open)
{
    asock_loop *loop = asock_t_loop();
    uint16_t port = 0;
    int lfd = asock_t_tcp_listener(AF_INET, "127.0.0.1", &port);
    if (fast_open) {
        int q = 16;
        /* the server side of TFO is best effort here (sysctl tcp_fastopen may not enable it) */
        (void)setsockopt(lfd, IPPROTO_TCP, TCP_FASTOPEN, &q, sizeof(q));
    }
    unsigned char *data = malloc(offset + n);
    assert_non_null(data);
    memset(data, 0xEE, offset);
    asock_t_fill(data + offset, n, 7);

    asock_socket *s = open_client(loop, AF_INET);
    if (fast_open)
        assert_int_equal(asock_socket_set_option(s, ASOCK_OPT_FAST_OPEN, 1), 0);

    asock_t_reader rd;
    asock_t_reader_start(&rd, lfd, -1, n);
    asock_t_op op;
    asock_t_op_init(&op);
    asock_t_ep(&op.e.remote_endpoint, "127.0.0.1", port);
    assert_int_equal(asock_args_set_buffer(&op.e, data, offset, n), 0);
    asock_t_do(loop, &op, asock_connect_async, s);
    asock_t_reader_join(&rd);
    asock_t_assert_err(&op.e, ASOCK_SUCCESS);
    assert_int_equal(op.e.bytes_transferred, n);
    assert_ptr_equal(op.e.connect_socket, s);
    assert_int_equal(op.e.last_operation, ASOCK_OP_CONNECT);
    assert_int_equal(rd.err, 0);
    assert_int_equal(rd.got, n);
    assert_true(asock_t_check_fill(rd.buf, n, 7));

    /* nothing more than the buffer was sent */
    char extra;
    assert_int_equal(asock_t_read_some(rd.fd, &extra, 1, 50), -1);
    asock_t_close_fd(rd.fd);
    asock_t_reader_free(&rd);

    asock_socket_close(s);
    asock_t_close_fd(lfd);
    asock_t_end(loop);
    asock_t_op_check(&op);
    free(data);
}

static void connect_with_small_buffer(void **state)
{
    (void)state;
    connect_with_buffer(5, 0, 0);
}

static void connect_with_buffer_window(void **state)
{
    (void)state;
    connect_with_buffer(10000, 3, 0);
}

static void connect_with_1mib_buffer(void **state)
{
    (void)state;
    connect_with_buffer(1u << 20, 0, 0);
}

/* ASOCK_OPT_FAST_OPEN (TCP_FASTOPEN_CONNECT) on a client: accepted, and the data arrives. */
static void connect_with_buffer_fast_open(void **state)
{
    (void)state;
    connect_with_buffer(100, 0, 1);
}

static void fast_open_accepted_on_client(void **state)
{
    (void)state;
    asock_loop *loop = asock_t_loop();
    asock_socket *s = open_client(loop, AF_INET);
    assert_int_equal(asock_socket_set_option(s, ASOCK_OPT_FAST_OPEN, 1), 0);
    int v = 0;
    assert_int_equal(asock_socket_get_option(s, ASOCK_OPT_FAST_OPEN, &v), 0);
    assert_int_equal(v, 1);
    int fv = 0;
    socklen_t len = sizeof(fv);
    assert_int_equal(getsockopt(asock_socket_fd(s), IPPROTO_TCP, TCP_FASTOPEN_CONNECT, &fv, &len),
                     0);
    assert_int_equal(fv, 1);
    asock_socket_close(s);
    asock_t_end(loop);
}

/* S8: a family mismatch is refused at the call, nothing started; the socket stays usable. */
static void family_mismatch_refused(void **state)
{
    (void)state;
    asock_loop *loop = asock_t_loop();
    uint16_t port = 0;
    int lfd = asock_t_tcp_listener(AF_INET, "127.0.0.1", &port);

    asock_socket *s4 = open_client(loop, AF_INET);
    asock_t_op op;
    asock_t_op_init(&op);
    asock_t_ep(&op.e.remote_endpoint, "::1", port);
    asock_t_assert_rc(asock_t_start(&op, asock_connect_async, s4), -EAFNOSUPPORT);
    assert_int_equal(op.e.last_operation, ASOCK_OP_NONE);
    assert_int_equal(asock_args_in_use(&op.e), 0);

    /* an IPv6 socket that is not dual mode refuses an IPv4 endpoint */
    asock_socket *s6 = open_client(loop, AF_INET6);
    asock_t_ep(&op.e.remote_endpoint, "127.0.0.1", port);
    asock_t_assert_rc(asock_t_start(&op, asock_connect_async, s6), -EAFNOSUPPORT);
    assert_int_equal(op.e.last_operation, ASOCK_OP_NONE);

    asock_t_drain(loop, 500);
    assert_int_equal(op.calls, 0);
    assert_int_equal(asock_t_wait_readable(lfd, 50), 0); /* nothing reached the listener */
    assert_int_equal(asock_socket_connected(s4), 0);

    /* the refused socket still connects */
    asock_t_do(loop, &op, asock_connect_async, s4);
    asock_t_assert_err(&op.e, ASOCK_SUCCESS);
    int peer = asock_t_accept_fd(lfd, ASOCK_T_WAIT_MS);

    asock_socket_close(s4);
    asock_socket_close(s6);
    asock_t_close_fd(peer);
    asock_t_close_fd(lfd);
    asock_t_end(loop);
    asock_t_op_check(&op);
}

/* S8: a dual-mode IPv6 socket connects to an IPv4 endpoint. */
static void dual_mode_connects_ipv4(void **state)
{
    (void)state;
    asock_loop *loop = asock_t_loop();
    uint16_t port = 0;
    int lfd = asock_t_tcp_listener(AF_INET, "127.0.0.1", &port);
    asock_socket *s = open_client(loop, AF_INET6);
    assert_int_equal(asock_socket_set_option(s, ASOCK_OPT_DUAL_MODE, 1), 0);

    asock_t_op op;
    asock_t_op_init(&op);
    asock_t_ep(&op.e.remote_endpoint, "127.0.0.1", port);
    assert_int_equal(asock_args_set_buffer(&op.e, "dm", 0, 2), 0);
    asock_t_do(loop, &op, asock_connect_async, s);
    asock_t_assert_err(&op.e, ASOCK_SUCCESS);
    assert_ptr_equal(op.e.connect_socket, s);
    assert_int_equal(op.e.bytes_transferred, 2);
    assert_int_equal(asock_socket_connected(s), 1);

    int peer = asock_t_accept_fd(lfd, ASOCK_T_WAIT_MS);
    char got[2];
    asock_t_read_exact(peer, got, 2, 2000);
    assert_memory_equal(got, "dm", 2);
    struct sockaddr_storage ss;
    socklen_t len = sizeof(ss);
    assert_int_equal(getpeername(peer, (struct sockaddr *)&ss, &len), 0);
    char text[64];
    assert_string_equal(asock_t_sa_addr(&ss, text, sizeof(text)), "127.0.0.1");

    asock_socket_close(s);
    asock_t_close_fd(peer);
    asock_t_close_fd(lfd);
    asock_t_end(loop);
    asock_t_op_check(&op);
}

/* S9: refused -> ConnectionRefused (10061) with sys_errno ECONNREFUSED; connect_socket NULL. */
static void connect_refused(void **state)
{
    (void)state;
    asock_loop *loop = asock_t_loop();
    uint16_t port = asock_t_free_port(AF_INET, "127.0.0.1", SOCK_STREAM);
    asock_socket *s = open_client(loop, AF_INET);
    asock_t_op op;
    asock_t_op_init(&op);
    asock_t_ep(&op.e.remote_endpoint, "127.0.0.1", port);
    op.e.connect_socket = s; /* reset when the connect starts */
    asock_t_do(loop, &op, asock_connect_async, s);
    asock_t_assert_err(&op.e, ASOCK_ERR_CONNECTION_REFUSED);
    assert_int_equal((int)op.e.socket_error, 10061);
    assert_int_equal(op.e.sys_errno, ECONNREFUSED);
    assert_null(op.e.connect_socket);
    assert_int_equal(op.e.bytes_transferred, 0);
    assert_int_equal(op.e.last_operation, ASOCK_OP_CONNECT);
    assert_int_equal(asock_socket_connected(s), 0);

    /* Like .NET (dotnet-sockets.md §2.8), the socket may connect again after a failed connect. */
    uint16_t lport = 0;
    int lfd = asock_t_tcp_listener(AF_INET, "127.0.0.1", &lport);
    asock_t_ep(&op.e.remote_endpoint, "127.0.0.1", lport);
    asock_t_do(loop, &op, asock_connect_async, s);
    asock_t_assert_err(&op.e, ASOCK_SUCCESS);
    assert_ptr_equal(op.e.connect_socket, s);
    int peer = asock_t_accept_fd(lfd, ASOCK_T_WAIT_MS);

    asock_socket_close(s);
    asock_t_close_fd(peer);
    asock_t_close_fd(lfd);
    asock_t_end(loop);
    asock_t_op_check(&op);
}

/* A connect timeout completes with TimedOut; the SYN is never answered (full accept queue). */
static void connect_timeout(void **state)
{
    (void)state;
    asock_loop *loop = asock_t_loop();
    uint16_t port = 0;
    int filler = -1;
    int lfd = asock_t_blackhole(AF_INET, "127.0.0.1", &port, &filler);
    if (lfd < 0) {
        asock_t_end(loop);
        fprintf(stderr, "SKIP: cannot make a SYN that is never answered on loopback here\n");
        skip();
    }
    asock_socket *s = open_client(loop, AF_INET);
    asock_t_op op;
    asock_t_op_init(&op);
    asock_t_ep(&op.e.remote_endpoint, "127.0.0.1", port);
    op.e.connect_timeout_ms = 200;
    uint64_t t0 = asock_t_now_ms();
    asock_t_assert_rc(asock_t_start(&op, asock_connect_async, s), 1);
    asock_t_wait(loop, &op, 3000);
    uint64_t elapsed = asock_t_now_ms() - t0;
    asock_t_assert_err(&op.e, ASOCK_ERR_TIMED_OUT);
    assert_int_equal(op.e.sys_errno, ETIMEDOUT);
    assert_null(op.e.connect_socket);
    assert_int_equal(asock_socket_connected(s), 0);
    if (elapsed < 150 || elapsed >= 2000)
        fail_msg("a 200 ms connect timeout completed after %llu ms", (unsigned long long)elapsed);

    asock_socket_close(s);
    asock_t_close_fd(filler);
    asock_t_close_fd(lfd);
    asock_t_end(loop);
    asock_t_op_check(&op);
}

/* A connect that succeeds within its timeout: exactly one callback, the timer leaves no work. */
static void connect_timeout_not_fired_on_success(void **state)
{
    (void)state;
    asock_loop *loop = asock_t_loop();
    uint16_t port = 0;
    int lfd = asock_t_tcp_listener(AF_INET, "127.0.0.1", &port);
    asock_socket *s = open_client(loop, AF_INET);
    asock_t_op op;
    asock_t_op_init(&op);
    asock_t_ep(&op.e.remote_endpoint, "127.0.0.1", port);
    op.e.connect_timeout_ms = 100;
    asock_t_do(loop, &op, asock_connect_async, s);
    asock_t_assert_err(&op.e, ASOCK_SUCCESS);
    /* the loop has no work left: the timer was disarmed */
    assert_int_equal(asock_loop_run(loop, ASOCK_RUN_NOWAIT), 0);
    struct timespec ts = {0, 200 * 1000000L};
    nanosleep(&ts, NULL);
    assert_true(asock_loop_run(loop, ASOCK_RUN_NOWAIT) >= 0);
    asock_t_op_check(&op);
    asock_t_assert_err(&op.e, ASOCK_SUCCESS);
    assert_int_equal(asock_socket_connected(s), 1);

    int peer = asock_t_accept_fd(lfd, ASOCK_T_WAIT_MS);
    asock_socket_close(s);
    asock_t_close_fd(peer);
    asock_t_close_fd(lfd);
    asock_t_end(loop);
    asock_t_op_check(&op);
}

/* S11 cancel-connect: OperationAborted from the loop (not inside the cancel); the socket stays
 * open and connects again. */
static void cancel_pending_connect(void **state)
{
    (void)state;
    asock_loop *loop = asock_t_loop();
    uint16_t port = 0;
    int filler = -1;
    int lfd = asock_t_blackhole(AF_INET, "127.0.0.1", &port, &filler);
    if (lfd < 0) {
        asock_t_end(loop);
        fprintf(stderr, "SKIP: cannot make a SYN that is never answered on loopback here\n");
        skip();
    }
    asock_socket *s = open_client(loop, AF_INET);
    asock_t_op op;
    asock_t_op_init(&op);
    asock_t_ep(&op.e.remote_endpoint, "127.0.0.1", port);
    asock_t_assert_rc(asock_t_start(&op, asock_connect_async, s), 1);
    for (int i = 0; i < 3; i++)
        assert_true(asock_loop_run(loop, ASOCK_RUN_NOWAIT) >= 0);
    assert_int_equal(op.calls, 0);

    op.inside = 1; /* a callback inside the cancel call counts as a violation */
    asock_cancel_connect_async(&op.e);
    op.inside = 0;
    assert_int_equal(op.calls, 0);
    asock_t_wait(loop, &op, 2000);
    assert_int_equal(op.calls, 1);
    asock_t_assert_err(&op.e, ASOCK_ERR_OPERATION_ABORTED);
    assert_null(op.e.connect_socket);
    assert_int_equal(asock_socket_connected(s), 0);

    /* a second cancel does nothing */
    asock_cancel_connect_async(&op.e);
    asock_cancel_connect_async(NULL);
    asock_t_drain(loop, 500);
    assert_int_equal(op.calls, 1);

    /* the socket connects again */
    uint16_t lport = 0;
    int lfd2 = asock_t_tcp_listener(AF_INET, "127.0.0.1", &lport);
    asock_t_ep(&op.e.remote_endpoint, "127.0.0.1", lport);
    asock_t_do(loop, &op, asock_connect_async, s);
    asock_t_assert_err(&op.e, ASOCK_SUCCESS);
    int peer = asock_t_accept_fd(lfd2, ASOCK_T_WAIT_MS);

    asock_socket_close(s);
    asock_t_close_fd(peer);
    asock_t_close_fd(lfd2);
    asock_t_close_fd(filler);
    asock_t_close_fd(lfd);
    asock_t_end(loop);
    asock_t_op_check(&op);
}

/* A cancel that races a connect to a live listener: exactly one callback; either the connect won
 * (Success, connected) or the cancel did (OperationAborted, not connected).  A cancel after the
 * completion changes nothing. */
static void cancel_races_completed_connect(void **state)
{
    (void)state;
    asock_loop *loop = asock_t_loop();
    uint16_t port = 0;
    int lfd = asock_t_tcp_listener(AF_INET, "127.0.0.1", &port);

    int won = 0, aborted = 0;
    for (int round = 0; round < 5; round++) {
        asock_socket *s = open_client(loop, AF_INET);
        asock_t_op op;
        asock_t_op_init(&op);
        asock_t_ep(&op.e.remote_endpoint, "127.0.0.1", port);
        int rc = asock_t_start(&op, asock_connect_async, s);
        assert_true(rc == 0 || rc == 1);
        op.inside = 1;
        asock_cancel_connect_async(&op.e); /* races the completion (or is a no-op after rc 0) */
        op.inside = 0;
        asock_t_wait(loop, &op, 2000);
        if (rc == 0)
            asock_t_assert_err(&op.e, ASOCK_SUCCESS);
        if (op.e.socket_error == ASOCK_SUCCESS) {
            won++;
            assert_ptr_equal(op.e.connect_socket, s);
            assert_int_equal(asock_socket_connected(s), 1);
        } else {
            aborted++;
            asock_t_assert_err(&op.e, ASOCK_ERR_OPERATION_ABORTED);
            assert_null(op.e.connect_socket);
            assert_int_equal(asock_socket_connected(s), 0);
        }
        /* after completion: a cancel has no effect */
        asock_socket_error before = op.e.socket_error;
        asock_cancel_connect_async(&op.e);
        asock_t_drain(loop, 500);
        assert_int_equal(op.e.socket_error, before);
        asock_t_op_check(&op);
        asock_socket_close(s);
        asock_t_drain(loop, 1000);
        asock_t_op_check(&op);
        /* drop whatever reached the listener */
        while (asock_t_wait_readable(lfd, 0)) {
            int p = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);
            if (p < 0)
                break;
            close(p);
        }
    }
    fprintf(stderr, "note: cancel race on %s: connect won %d, cancel won %d\n", asock_t_engine(),
            won, aborted);
    asock_t_close_fd(lfd);
    asock_t_end(loop);
}

/* A cancel from inside the connect's own completion callback (the connect has completed, the
 * args record is already free) changes nothing: Success stays, no second callback. */
static void cancel_then(asock_t_op *op, asock_socket *sender)
{
    (void)sender;
    asock_cancel_connect_async(&op->e);
    op->then_state = (int)op->e.socket_error + 1;
}

static void cancel_inside_connect_callback(void **state)
{
    (void)state;
    asock_loop *loop = asock_t_loop();
    uint16_t port = 0;
    int lfd = asock_t_tcp_listener(AF_INET, "127.0.0.1", &port);
    int seen_pending = 0;
    for (int round = 0; round < 5; round++) {
        asock_socket *s = open_client(loop, AF_INET);
        asock_t_op op;
        asock_t_op_init(&op);
        op.then = cancel_then;
        asock_t_ep(&op.e.remote_endpoint, "127.0.0.1", port);
        asock_t_do(loop, &op, asock_connect_async, s);
        if (op.rc == 0)
            asock_cancel_connect_async(&op.e); /* completed synchronously: no effect either */
        else
            seen_pending = 1;
        asock_t_drain(loop, 500);
        asock_t_op_check(&op);
        asock_t_assert_err(&op.e, ASOCK_SUCCESS);
        if (op.rc == 1)
            assert_int_equal(op.then_state, (int)ASOCK_SUCCESS + 1);
        assert_ptr_equal(op.e.connect_socket, s);
        assert_int_equal(asock_socket_connected(s), 1);
        int peer = asock_t_accept_fd(lfd, ASOCK_T_WAIT_MS);
        asock_socket_close(s);
        asock_t_close_fd(peer);
    }
    if (!seen_pending)
        fprintf(stderr, "note: every connect completed synchronously; callback case not run\n");
    asock_t_close_fd(lfd);
    asock_t_end(loop);
}

/* -EISCONN on a connected stream socket; -EOPNOTSUPP on a listener; -EALREADY while a connect is
 * pending on the socket (with another args record). */
static void connect_refused_states(void **state)
{
    (void)state;
    asock_loop *loop = asock_t_loop();
    asock_socket *s;
    int peer;
    asock_t_connected_pair(loop, AF_INET, &s, &peer);
    uint16_t port = 0;
    int lfd = asock_t_tcp_listener(AF_INET, "127.0.0.1", &port);

    asock_t_op op;
    asock_t_op_init(&op);
    asock_t_ep(&op.e.remote_endpoint, "127.0.0.1", port);
    asock_t_assert_rc(asock_t_start(&op, asock_connect_async, s), -EISCONN);
    assert_int_equal(op.e.last_operation, ASOCK_OP_NONE);

    uint16_t lport = 0;
    asock_socket *l = asock_t_listener(loop, "127.0.0.1", &lport);
    asock_t_assert_rc(asock_t_start(&op, asock_connect_async, l), -EOPNOTSUPP);
    assert_int_equal(op.e.last_operation, ASOCK_OP_NONE);

    int filler = -1;
    uint16_t bport = 0;
    int blfd = asock_t_blackhole(AF_INET, "127.0.0.1", &bport, &filler);
    if (blfd >= 0) {
        asock_socket *c = open_client(loop, AF_INET);
        asock_t_op first;
        asock_t_op_init(&first);
        asock_t_ep(&first.e.remote_endpoint, "127.0.0.1", bport);
        asock_t_assert_rc(asock_t_start(&first, asock_connect_async, c), 1);
        asock_t_ep(&op.e.remote_endpoint, "127.0.0.1", port);
        asock_t_assert_rc(asock_t_start(&op, asock_connect_async, c), -EALREADY);
        assert_int_equal(op.e.last_operation, ASOCK_OP_NONE);
        asock_socket_close(c);
        asock_t_wait(loop, &first, 2000);
        asock_t_assert_err(&first.e, ASOCK_ERR_OPERATION_ABORTED);
        asock_t_close_fd(filler);
        asock_t_close_fd(blfd);
    } else {
        fprintf(stderr, "note: -EALREADY case not run (no unanswered SYN here)\n");
    }

    asock_t_drain(loop, 500);
    assert_int_equal(op.calls, 0);
    assert_int_equal(asock_t_wait_readable(lfd, 50), 0);
    asock_socket_close(l);
    asock_socket_close(s);
    asock_t_close_fd(peer);
    asock_t_close_fd(lfd);
    asock_t_end(loop);
    asock_t_op_check(&op);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(connect_ipv4),
        cmocka_unit_test(connect_ipv6),
        cmocka_unit_test(local_endpoint_after_connect),
        cmocka_unit_test(connect_with_small_buffer),
        cmocka_unit_test(connect_with_buffer_window),
        cmocka_unit_test(connect_with_1mib_buffer),
        cmocka_unit_test(connect_with_buffer_fast_open),
        cmocka_unit_test(fast_open_accepted_on_client),
        cmocka_unit_test(family_mismatch_refused),
        cmocka_unit_test(dual_mode_connects_ipv4),
        cmocka_unit_test(connect_refused),
        cmocka_unit_test(connect_timeout),
        cmocka_unit_test(connect_timeout_not_fired_on_success),
        cmocka_unit_test(cancel_pending_connect),
        cmocka_unit_test(cancel_races_completed_connect),
        cmocka_unit_test(cancel_inside_connect_callback),
        cmocka_unit_test(connect_refused_states),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
