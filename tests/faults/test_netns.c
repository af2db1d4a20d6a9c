/* Network faults on real sockets, injected with nft in a network namespace the test makes for
 * itself (unshare(CLONE_NEWNET) at start: the namespace holds only lo and disappears with the
 * process; reference/ecosystem.md §4.6; this kernel has no netem).  Each case repeats
 * ASOCK_FAULTS_REPEAT times (default 10) and checks that every started operation completed
 * exactly once with the expected SocketError, and that no descriptor is left (asock_t_end).
 *
 *   SYN dropped            nft drop            connect -> TimedOut after connect_timeout_ms;
 *                                              the socket connects afterwards (fresh descriptor)
 *   RST answered           nft reject tcp rst  connect -> ConnectionRefused, listener or not
 *   peer vanishes (RST)    peer process killed with unread data: pending receive and pending
 *                                              send -> ConnectionReset, once each
 *   peer vanishes (silent) nft drop both ways + TCP_USER_TIMEOUT: pending send / receive ->
 *                                              TimedOut, once each
 *   ICMP on UDP            nft reject (port-unreachable / admin-prohibited): connected UDP
 *                                              receive -> ConnectionRefused / HostUnreachable,
 *                                              socket usable afterwards; unconnected sockets
 *                                              see nothing
 * Skipped (exit 77, with the reason) where namespaces or nft are not available. */
#define _GNU_SOURCE 1
#include "net.h"

#include <errno.h>
#include <net/if.h>
#include <netinet/tcp.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <sys/ioctl.h>
#include <sys/wait.h>
#include <unistd.h>

static int g_repeat = 10;

static int lo_up(void)
{
    int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return -errno;
    struct ifreq ifr;
    memset(&ifr, 0, sizeof(ifr));
    snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "lo");
    int rc = 0;
    if (ioctl(fd, SIOCGIFFLAGS, &ifr) < 0) {
        rc = -errno;
    } else {
        ifr.ifr_flags = (short)(ifr.ifr_flags | IFF_UP);
        if (ioctl(fd, SIOCSIFFLAGS, &ifr) < 0)
            rc = -errno;
    }
    close(fd);
    return rc;
}

/* Runs "nft <args>"; returns its exit status. */
__attribute__((format(printf, 1, 2))) static int nft(const char *fmt, ...)
{
    char args[512], cmd[600];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(args, sizeof(args), fmt, ap);
    va_end(ap);
    snprintf(cmd, sizeof(cmd), "nft %s 2>&1", args);
    int rc = system(cmd);
    return rc == -1 ? -1 : WEXITSTATUS(rc);
}

static void nft_must(const char *rule)
{
    if (nft("%s", rule) != 0)
        fail_msg("nft %s failed", rule);
}

/* A fresh table with input and output filter chains. */
static void rules_reset(void)
{
    nft("delete table inet asockf >/dev/null");
    nft_must("add table inet asockf");
    nft_must("add chain inet asockf in '{ type filter hook input priority 0; }'");
    nft_must("add chain inet asockf out '{ type filter hook output priority 0; }'");
}

static int setup(void **state)
{
    (void)state;
    rules_reset();
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    nft("delete table inet asockf");
    return 0;
}

/* ---- SYN dropped ---- */

static void syn_dropped_times_out(void **state)
{
    (void)state;
    asock_loop *loop = asock_t_loop();
    uint16_t port = asock_t_free_port(AF_INET, "127.0.0.1", SOCK_STREAM);
    nft("add rule inet asockf in tcp dport %u drop", (unsigned)port);
    uint16_t okport = 0;
    int lfd = asock_t_tcp_listener(AF_INET, "127.0.0.1", &okport);
    int timed_out = 0;
    for (int i = 0; i < g_repeat; i++) {
        asock_socket *s = asock_t_open(loop, AF_INET, SOCK_STREAM);
        asock_t_op op;
        asock_t_op_init(&op);
        asock_t_ep(&op.e.remote_endpoint, "127.0.0.1", port);
        op.e.connect_timeout_ms = 150;
        uint64_t t0 = asock_t_now_ms();
        asock_t_assert_rc(asock_t_start(&op, asock_connect_async, s), 1);
        asock_t_wait(loop, &op, 3000);
        uint64_t took = asock_t_now_ms() - t0;
        asock_t_assert_err(&op.e, ASOCK_ERR_TIMED_OUT);
        assert_int_equal(op.e.sys_errno, ETIMEDOUT);
        assert_true(took >= 100 && took < 2000);
        timed_out++;
        /* the same socket connects afterwards, on a fresh descriptor */
        asock_t_op ok;
        asock_t_op_init(&ok);
        asock_t_ep(&ok.e.remote_endpoint, "127.0.0.1", okport);
        asock_t_do(loop, &ok, asock_connect_async, s);
        asock_t_assert_err(&ok.e, ASOCK_SUCCESS);
        int peer = asock_t_accept_fd(lfd, ASOCK_T_WAIT_MS);
        asock_socket_close(s);
        asock_t_close_fd(peer);
        asock_t_op_check(&op);
        asock_t_op_check(&ok);

        /* the static connect leaves no socket behind */
        asock_t_op st;
        asock_t_op_init(&st);
        asock_t_ep(&st.e.remote_endpoint, "127.0.0.1", port);
        st.e.connect_timeout_ms = 100;
        asock_t_call_begin(&st);
        int rc = asock_t_call_end(&st, asock_loop_connect_async(loop, SOCK_STREAM, 0, &st.e));
        asock_t_assert_rc(rc, 1);
        asock_t_wait(loop, &st, 3000);
        asock_t_assert_err(&st.e, ASOCK_ERR_TIMED_OUT);
        assert_null(st.e.connect_socket);
    }
    asock_t_close_fd(lfd);
    asock_t_end(loop);
    fprintf(stderr, "# SYN dropped: %d connects timed out (and %d static ones), all reused\n",
            timed_out, g_repeat);
}

/* ---- RST ---- */

static void rst_refuses(void **state)
{
    (void)state;
    asock_loop *loop = asock_t_loop();
    uint16_t port = 0;
    int lfd = asock_t_tcp_listener(AF_INET, "127.0.0.1", &port); /* a listener that is there */
    nft("add rule inet asockf in tcp dport %u tcp flags syn reject with tcp reset", (unsigned)port);
    for (int i = 0; i < g_repeat; i++) {
        asock_socket *s = asock_t_open(loop, AF_INET, SOCK_STREAM);
        asock_t_op op;
        asock_t_op_init(&op);
        asock_t_ep(&op.e.remote_endpoint, "127.0.0.1", port);
        op.e.connect_timeout_ms = 2000;
        asock_t_do(loop, &op, asock_connect_async, s);
        asock_t_assert_err(&op.e, ASOCK_ERR_CONNECTION_REFUSED);
        assert_int_equal(op.e.sys_errno, ECONNREFUSED);
        assert_int_equal(asock_socket_connected(s), 0);
        asock_socket_close(s);
        asock_t_op_check(&op);
    }
    asock_t_close_fd(lfd);
    asock_t_end(loop);
    fprintf(stderr, "# RST: %d connects refused\n", g_repeat);
}

/* ---- a peer that vanishes ---- */

/* A pending receive and a pending send (the peer never reads, so a large send stays pending)
 * on a connected client.  Returns via the trackers. */
static void arm_pending(asock_loop *loop, asock_socket *c, asock_t_op *rx, char *rbuf, size_t rn,
                        asock_t_op *tx, char *tbuf, size_t tn)
{
    asock_t_op_init(rx);
    asock_args_set_buffer(&rx->e, rbuf, 0, rn);
    asock_t_assert_rc(asock_t_start(rx, asock_receive_async, c), 1);
    asock_t_op_init(tx);
    asock_args_set_buffer(&tx->e, tbuf, 0, tn);
    int rc = asock_t_start(tx, asock_send_async, c);
    asock_t_assert_rc(rc, 1);
    asock_t_spin(loop, 50);
    assert_int_equal(rx->calls, 0);
    assert_int_equal(tx->calls, 0);
}

#define BIG_SEND (16u << 20)

static void peer_killed_resets(void **state)
{
    (void)state;
    char *big = malloc(BIG_SEND);
    assert_non_null(big);
    memset(big, 'x', BIG_SEND);
    int resets = 0, rx_reset = 0;
    for (int i = 0; i < g_repeat; i++) {
        asock_loop *loop = asock_t_loop();
        uint16_t port = 0;
        int lfd = asock_t_tcp_listener(AF_INET, "127.0.0.1", &port);
        pid_t pid = fork();
        assert_true(pid >= 0);
        if (pid == 0) {
            /* the peer: accept, read nothing, wait to be killed */
            int fd = accept(lfd, NULL, NULL);
            (void)fd;
            for (;;)
                pause();
        }
        asock_t_close_fd(lfd);
        asock_socket *c = asock_t_open(loop, AF_INET, SOCK_STREAM);
        asock_t_op con;
        asock_t_op_init(&con);
        asock_t_ep(&con.e.remote_endpoint, "127.0.0.1", port);
        asock_t_do(loop, &con, asock_connect_async, c);
        asock_t_assert_err(&con.e, ASOCK_SUCCESS);
        asock_t_op rx, tx;
        char rbuf[64];
        arm_pending(loop, c, &rx, rbuf, sizeof(rbuf), &tx, big, BIG_SEND);
        /* the peer vanishes with our bytes unread: its kernel answers with a RST */
        kill(pid, SIGKILL);
        int st = 0;
        waitpid(pid, &st, 0);
        uint64_t t0 = asock_t_now_ms();
        while ((rx.calls == 0 || tx.calls == 0) && asock_t_now_ms() - t0 < ASOCK_T_WAIT_MS)
            asock_loop_run(loop, ASOCK_RUN_ONCE);
        assert_int_equal(rx.calls, 1);
        assert_int_equal(tx.calls, 1);
        /* The kernel reports the reset (ECONNRESET) once, to whichever call reads the socket's
         * error first; the other operation then sees a closed socket: EPIPE (Shutdown) for the
         * send, end of stream (0 bytes, Success) for the receive.  Which one gets the reset
         * depends on the engine's order (epoll: the receive; io_uring: either). */
        assert_true(rx.e.socket_error == ASOCK_ERR_CONNECTION_RESET ||
                    tx.e.socket_error == ASOCK_ERR_CONNECTION_RESET);
        if (rx.e.socket_error == ASOCK_SUCCESS)
            assert_int_equal(rx.e.bytes_transferred, 0);
        else
            asock_t_assert_err(&rx.e, ASOCK_ERR_CONNECTION_RESET);
        if (tx.e.socket_error != ASOCK_ERR_CONNECTION_RESET)
            asock_t_assert_err(&tx.e, ASOCK_ERR_SHUTDOWN);
        if (rx.e.socket_error == ASOCK_ERR_CONNECTION_RESET)
            rx_reset++;
        assert_true(tx.e.bytes_transferred < BIG_SEND);
        resets++;
        /* nothing completes twice, later operations fail at once or refuse */
        asock_t_spin(loop, 20);
        asock_t_op_check(&rx);
        asock_t_op_check(&tx);
        asock_socket_close(c);
        asock_t_end(loop);
    }
    free(big);
    fprintf(stderr,
            "# peer killed: %d connections reset (the receive saw it %d times, the send the "
            "others), 2 pending operations each completed once\n",
            resets, rx_reset);
}

static void peer_blackholed_times_out(void **state)
{
    (void)state;
    char *big = malloc(BIG_SEND);
    assert_non_null(big);
    memset(big, 'y', BIG_SEND);
    int repeat = g_repeat < 3 ? g_repeat : 3; /* each waits for the user timeout */
    for (int i = 0; i < repeat; i++) {
        asock_loop *loop = asock_t_loop();
        asock_socket *c = NULL;
        int peer = -1;
        asock_t_connected_pair(loop, AF_INET, &c, &peer);
        asock_endpoint pe;
        assert_int_equal(asock_socket_remote_endpoint(c, &pe), 0);
        unsigned port = asock_endpoint_port(&pe);
        /* the peer goes silent: every segment of the connection is dropped */
        rules_reset();
        nft("add rule inet asockf in tcp dport %u drop", port);
        nft("add rule inet asockf in tcp sport %u drop", port);
        /* abort after 300 ms without an acknowledgement (the descriptor's option; asock does
         * not expose it) */
        unsigned tmo = 300;
        assert_int_equal(
            setsockopt(asock_socket_fd(c), IPPROTO_TCP, TCP_USER_TIMEOUT, &tmo, sizeof(tmo)), 0);
        asock_t_op rx, tx;
        char rbuf[64];
        arm_pending(loop, c, &rx, rbuf, sizeof(rbuf), &tx, big, BIG_SEND);
        uint64_t t0 = asock_t_now_ms();
        while ((rx.calls == 0 || tx.calls == 0) && asock_t_now_ms() - t0 < 10000)
            asock_loop_run(loop, ASOCK_RUN_ONCE);
        assert_int_equal(rx.calls, 1);
        assert_int_equal(tx.calls, 1);
        /* The kernel reports the abort (ETIMEDOUT) once, to whichever call reads the socket's
         * error first; the other operation then sees a dead socket (EPIPE: Shutdown, or 0 bytes
         * on a receive).  At least one reports the timeout; both complete. */
        assert_true(rx.e.socket_error == ASOCK_ERR_TIMED_OUT ||
                    tx.e.socket_error == ASOCK_ERR_TIMED_OUT);
        if (rx.e.socket_error != ASOCK_ERR_TIMED_OUT && rx.e.socket_error != ASOCK_SUCCESS)
            asock_t_assert_err(&rx.e, ASOCK_ERR_TIMED_OUT);
        if (rx.e.socket_error == ASOCK_SUCCESS)
            assert_int_equal(rx.e.bytes_transferred, 0);
        if (tx.e.socket_error != ASOCK_ERR_TIMED_OUT)
            asock_t_assert_err(&tx.e, ASOCK_ERR_SHUTDOWN);
        fprintf(stderr, "# blackholed peer: both pending operations timed out after %llu ms\n",
                (unsigned long long)(asock_t_now_ms() - t0));
        asock_t_op_check(&rx);
        asock_t_op_check(&tx);
        asock_socket_close(c);
        asock_t_close_fd(peer);
        asock_t_end(loop);
        rules_reset();
    }
    free(big);
}

/* ---- ICMP errors on UDP ---- */

static void udp_icmp_case(const char *reject, asock_socket_error want, int want_errno)
{
    asock_loop *loop = asock_t_loop();
    uint16_t port = asock_t_free_port(AF_INET, "127.0.0.1", SOCK_DGRAM);
    rules_reset();
    nft("add rule inet asockf in udp dport %u reject%s", (unsigned)port, reject);
    for (int i = 0; i < g_repeat; i++) {
        asock_socket *s = asock_t_open(loop, AF_INET, SOCK_DGRAM);
        asock_t_op con;
        asock_t_op_init(&con);
        asock_t_ep(&con.e.remote_endpoint, "127.0.0.1", port);
        asock_t_do(loop, &con, asock_connect_async, s);
        asock_t_assert_err(&con.e, ASOCK_SUCCESS);
        asock_t_op rx;
        char buf[32];
        asock_t_op_init(&rx);
        asock_args_set_buffer(&rx.e, buf, 0, sizeof(buf));
        int rc = asock_t_start(&rx, asock_receive_async, s);
        assert_true(rc == 1 || rc == 0);
        asock_t_op tx;
        asock_t_op_init(&tx);
        asock_args_set_buffer(&tx.e, (void *)"ping", 0, 4);
        asock_t_do(loop, &tx, asock_send_async, s);
        asock_t_assert_err(&tx.e, ASOCK_SUCCESS);
        if (rc == 1)
            asock_t_wait(loop, &rx, 3000);
        asock_t_assert_err(&rx.e, want);
        assert_int_equal(rx.e.sys_errno, want_errno);
        /* the socket stays usable: the error was reported once */
        asock_t_op tx2;
        asock_t_op_init(&tx2);
        asock_args_set_buffer(&tx2.e, (void *)"ping", 0, 4);
        asock_t_do(loop, &tx2, asock_send_async, s);
        asock_t_assert_err(&tx2.e, ASOCK_SUCCESS);
        asock_t_op_check(&rx);
        asock_socket_close(s);
    }
    /* an unconnected socket hears nothing about it (Linux reports ICMP only when connected) */
    asock_socket *u = asock_t_open(loop, AF_INET, SOCK_DGRAM);
    asock_t_bind(u, "127.0.0.1", 0);
    asock_t_op rx;
    char buf[32];
    asock_t_op_init(&rx);
    asock_args_set_buffer(&rx.e, buf, 0, sizeof(buf));
    asock_t_ep(&rx.e.remote_endpoint, "0.0.0.0", 0);
    asock_t_assert_rc(asock_t_start(&rx, asock_receive_from_async, u), 1);
    asock_t_op tx;
    asock_t_op_init(&tx);
    asock_args_set_buffer(&tx.e, (void *)"ping", 0, 4);
    asock_t_ep(&tx.e.remote_endpoint, "127.0.0.1", port);
    asock_t_do(loop, &tx, asock_send_to_async, u);
    asock_t_assert_err(&tx.e, ASOCK_SUCCESS);
    asock_t_spin(loop, 100);
    assert_int_equal(rx.calls, 0);
    asock_socket_close(u);
    asock_t_wait(loop, &rx, 3000);
    asock_t_assert_err(&rx.e, ASOCK_ERR_OPERATION_ABORTED);
    asock_t_end(loop);
    fprintf(stderr, "# UDP reject%s: %d connected receives got %s, socket reused each time\n",
            reject, g_repeat, asock_socket_error_name(want));
}

static void udp_icmp_port_unreachable(void **state)
{
    (void)state;
    udp_icmp_case("", ASOCK_ERR_CONNECTION_REFUSED, ECONNREFUSED);
}

static void udp_icmp_admin_prohibited(void **state)
{
    (void)state;
    udp_icmp_case(" with icmp type admin-prohibited", ASOCK_ERR_HOST_UNREACHABLE, EHOSTUNREACH);
}

int main(void)
{
    const char *r = getenv("ASOCK_FAULTS_REPEAT");
    if (r != NULL && atoi(r) > 0)
        g_repeat = atoi(r);
    if (unshare(CLONE_NEWNET) != 0) {
        fprintf(stderr, "SKIP: cannot make a network namespace (unshare: %s); run as root\n",
                strerror(errno));
        return ASOCK_T_SKIP;
    }
    if (lo_up() != 0) {
        fprintf(stderr, "SKIP: cannot bring lo up in the new namespace\n");
        return ASOCK_T_SKIP;
    }
    if (nft("list tables >/dev/null") != 0 || nft("add table inet asockf") != 0) {
        fprintf(stderr, "SKIP: nft is not usable here (apt-get install nftables)\n");
        return ASOCK_T_SKIP;
    }
    nft("delete table inet asockf");
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(syn_dropped_times_out, setup, teardown),
        cmocka_unit_test_setup_teardown(rst_refuses, setup, teardown),
        cmocka_unit_test_setup_teardown(peer_killed_resets, setup, teardown),
        cmocka_unit_test_setup_teardown(peer_blackholed_times_out, setup, teardown),
        cmocka_unit_test_setup_teardown(udp_icmp_port_unreachable, setup, teardown),
        cmocka_unit_test_setup_teardown(udp_icmp_admin_prohibited, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
