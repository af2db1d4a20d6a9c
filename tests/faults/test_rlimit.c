/* The descriptor limit reached (RLIMIT_NOFILE lowered in the test, the free slots filled): every
 * operation that needs a new descriptor fails with TooManyOpenSockets (EMFILE) — refused at once
 * or completed once with that error — and everything works again once descriptors are freed.
 *
 *   asock_socket_open                 -EMFILE (TooManyOpenSockets), then succeeds
 *   accept (pending, then a client)   completes TooManyOpenSockets; the connection waits in the
 *                                     backlog and the next accept takes it
 *   reconnect after a refused connect needs a fresh descriptor: fails, socket still usable
 *   static connect, connect by name   no socket to open: TooManyOpenSockets, nothing left
 * Repeated ASOCK_FAULTS_REPEAT times (default 10).  The limit is restored at the end of each
 * case, and asock_t_end checks that no descriptor was left behind. */
#define _GNU_SOURCE 1
#include "net.h"

#include <errno.h>
#include <fcntl.h>
#include <sys/resource.h>
#include <unistd.h>

static int g_repeat = 10;

#define MAX_FILL 4096

static struct {
    struct rlimit saved;
    int fill[MAX_FILL];
    int nfill;
} g;

static int highest_fd(void)
{
    int hi = -1;
    for (int fd = 0; fd < 65536; fd++) {
        if (fcntl(fd, F_GETFD) >= 0)
            hi = fd;
        else if (fd > hi + 1024)
            break;
    }
    return hi;
}

/* Lowers the limit to just above the highest descriptor and fills every free slot. */
static void exhaust(void)
{
    assert_int_equal(getrlimit(RLIMIT_NOFILE, &g.saved), 0);
    struct rlimit low = g.saved;
    low.rlim_cur = (rlim_t)highest_fd() + 16;
    assert_int_equal(setrlimit(RLIMIT_NOFILE, &low), 0);
    g.nfill = 0;
    for (;;) {
        assert_true(g.nfill < MAX_FILL);
        int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
        if (fd < 0) {
            assert_int_equal(errno, EMFILE);
            break;
        }
        g.fill[g.nfill++] = fd;
    }
}

/* Frees n slots (n < 0: all, and the limit comes back). */
static void release(int n)
{
    while (g.nfill > 0 && n != 0) {
        close(g.fill[--g.nfill]);
        if (n > 0)
            n--;
    }
    if (g.nfill == 0)
        assert_int_equal(setrlimit(RLIMIT_NOFILE, &g.saved), 0);
}

static void socket_open_fails_then_recovers(void **state)
{
    (void)state;
    asock_loop *loop = asock_t_loop();
    for (int i = 0; i < g_repeat; i++) {
        exhaust();
        asock_socket *s = NULL;
        int rc = asock_socket_open(loop, AF_INET, SOCK_STREAM, 0, &s);
        asock_t_assert_rc(rc, -EMFILE);
        assert_null(s);
        assert_int_equal(asock_socket_error_from_errno(rc), ASOCK_ERR_TOO_MANY_OPEN_SOCKETS);
        rc = asock_socket_open(loop, AF_INET6, SOCK_DGRAM, 0, &s);
        asock_t_assert_rc(rc, -EMFILE);
        release(1);
        assert_int_equal(asock_socket_open(loop, AF_INET, SOCK_STREAM, 0, &s), 0);
        asock_socket_close(s);
        release(-1);
    }
    asock_t_end(loop);
    fprintf(stderr, "# socket open at the limit: %d x2 refused with -EMFILE, then opened\n",
            g_repeat);
}

static void accept_fails_then_recovers(void **state)
{
    (void)state;
    asock_loop *loop = asock_t_loop();
    uint16_t port = 0;
    asock_socket *lst = asock_t_listener(loop, "127.0.0.1", &port);
    for (int i = 0; i < g_repeat; i++) {
        int client = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
        assert_true(client >= 0);
        asock_t_op acc;
        asock_t_op_init(&acc);
        asock_t_assert_rc(asock_t_start(&acc, asock_accept_async, lst), 1);
        exhaust();
        /* connect(2) needs no new descriptor here; accepting it does */
        struct sockaddr_storage ss;
        socklen_t len = asock_t_sockaddr("127.0.0.1", port, &ss);
        assert_int_equal(connect(client, (struct sockaddr *)&ss, len), 0);
        asock_t_wait(loop, &acc, ASOCK_T_WAIT_MS);
        asock_t_assert_err(&acc.e, ASOCK_ERR_TOO_MANY_OPEN_SOCKETS);
        assert_int_equal(acc.e.sys_errno, EMFILE);
        assert_null(acc.e.accept_socket);
        /* descriptors free up: the connection was waiting in the backlog */
        release(2);
        asock_t_op again;
        asock_t_op_init(&again);
        asock_t_do(loop, &again, asock_accept_async, lst);
        asock_t_assert_err(&again.e, ASOCK_SUCCESS);
        assert_non_null(again.e.accept_socket);
        asock_socket_close(again.e.accept_socket);
        release(-1);
        close(client);
        asock_t_op_check(&acc);
    }
    asock_socket_close(lst);
    asock_t_end(loop);
    fprintf(stderr,
            "# accept at the limit: %d failed with TooManyOpenSockets, each connection "
            "accepted after descriptors were freed\n",
            g_repeat);
}

static void connects_fail_then_recover(void **state)
{
    (void)state;
    asock_loop *loop = asock_t_loop();
    uint16_t okport = 0;
    int lfd = asock_t_tcp_listener(AF_INET, "127.0.0.1", &okport);
    uint16_t refused = asock_t_free_port(AF_INET, "127.0.0.1", SOCK_STREAM);
    int outcomes[3] = {0, 0, 0}; /* refused at the call, completed with EMFILE, other */
    for (int i = 0; i < g_repeat; i++) {
        /* a refused connect: the next one on this socket needs a fresh descriptor */
        asock_socket *s = asock_t_open(loop, AF_INET, SOCK_STREAM);
        asock_t_op op;
        asock_t_op_init(&op);
        asock_t_ep(&op.e.remote_endpoint, "127.0.0.1", refused);
        asock_t_do(loop, &op, asock_connect_async, s);
        asock_t_assert_err(&op.e, ASOCK_ERR_CONNECTION_REFUSED);
        exhaust();
        asock_t_op again;
        asock_t_op_init(&again);
        asock_t_ep(&again.e.remote_endpoint, "127.0.0.1", okport);
        int rc = asock_t_start(&again, asock_connect_async, s);
        if (rc < 0) {
            asock_t_assert_rc(rc, -EMFILE);
            outcomes[0]++;
        } else {
            asock_t_wait(loop, &again, ASOCK_T_WAIT_MS);
            if (again.e.socket_error == ASOCK_ERR_TOO_MANY_OPEN_SOCKETS)
                outcomes[1]++;
            else
                outcomes[2]++;
            asock_t_assert_err(&again.e, ASOCK_ERR_TOO_MANY_OPEN_SOCKETS);
        }
        /* the static connect and connect by name: no socket can be opened */
        asock_t_op st;
        asock_t_op_init(&st);
        asock_t_ep(&st.e.remote_endpoint, "127.0.0.1", okport);
        asock_t_call_begin(&st);
        rc = asock_t_call_end(&st, asock_loop_connect_async(loop, SOCK_STREAM, 0, &st.e));
        if (rc < 0) {
            asock_t_assert_rc(rc, -EMFILE);
        } else {
            asock_t_wait(loop, &st, ASOCK_T_WAIT_MS);
            asock_t_assert_err(&st.e, ASOCK_ERR_TOO_MANY_OPEN_SOCKETS);
        }
        assert_null(st.e.connect_socket);
        /* by name, with a literal (resolved without a descriptor): the attempt socket cannot
         * be opened */
        asock_t_op byname;
        asock_t_op_init(&byname);
        assert_int_equal(
            asock_endpoint_dns(&byname.e.remote_endpoint, "127.0.0.1", okport, AF_UNSPEC), 0);
        byname.e.connect_timeout_ms = 3000;
        asock_t_call_begin(&byname);
        rc = asock_t_call_end(&byname, asock_loop_connect_async(loop, SOCK_STREAM, 0, &byname.e));
        if (rc < 0) {
            asock_t_assert_rc(rc, -EMFILE);
        } else {
            asock_t_wait(loop, &byname, ASOCK_T_WAIT_MS);
            asock_t_assert_err(&byname.e, ASOCK_ERR_TOO_MANY_OPEN_SOCKETS);
        }
        assert_null(byname.e.connect_socket);
        /* by a name that needs the resolver: c-ares cannot open the hosts file nor its socket
         * and says ECONNREFUSED; asock remembers why its socket could not be opened and reports
         * TooManyOpenSockets (finding F4 in docs/RELIABILITY.md, fixed) */
        asock_t_op byhost;
        asock_t_op_init(&byhost);
        assert_int_equal(
            asock_endpoint_dns(&byhost.e.remote_endpoint, "localhost", okport, AF_INET), 0);
        byhost.e.connect_timeout_ms = 3000;
        asock_t_call_begin(&byhost);
        rc = asock_t_call_end(&byhost, asock_loop_connect_async(loop, SOCK_STREAM, 0, &byhost.e));
        if (rc < 0) {
            asock_t_assert_rc(rc, -EMFILE);
        } else {
            asock_t_wait(loop, &byhost, ASOCK_T_WAIT_MS);
            asock_t_assert_err(&byhost.e, ASOCK_ERR_TOO_MANY_OPEN_SOCKETS);
        }
        assert_null(byhost.e.connect_socket);

        /* descriptors free up: the same socket connects */
        release(-1);
        asock_t_op ok;
        asock_t_op_init(&ok);
        asock_t_ep(&ok.e.remote_endpoint, "127.0.0.1", okport);
        asock_t_do(loop, &ok, asock_connect_async, s);
        asock_t_assert_err(&ok.e, ASOCK_SUCCESS);
        int peer = asock_t_accept_fd(lfd, ASOCK_T_WAIT_MS);
        asock_t_close_fd(peer);
        asock_socket_close(s);
        asock_t_op_check(&op);
        asock_t_op_check(&again);
        asock_t_op_check(&st);
        asock_t_op_check(&byname);
        asock_t_op_check(&byhost);
    }
    asock_t_close_fd(lfd);
    asock_t_end(loop);
    fprintf(stderr,
            "# reconnect at the limit: %d refused at the call (-EMFILE), %d completed "
            "TooManyOpenSockets; static connect and connect by name failed alike; all recovered\n",
            outcomes[0], outcomes[1]);
}

int main(void)
{
    const char *r = getenv("ASOCK_FAULTS_REPEAT");
    if (r != NULL && atoi(r) > 0)
        g_repeat = atoi(r);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(socket_open_fails_then_recovers),
        cmocka_unit_test(accept_fails_then_recovers),
        cmocka_unit_test(connects_fail_then_recover),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
