/* Happy Eyeballs v2 (RFC 8305) with IPv6 black-holed (reference/ecosystem.md §4.6): the test
 * runs in a network namespace it makes itself (a forked child calls unshare(CLONE_NEWNET)),
 * brings lo up, and drops TCP to [::1]:PORT with nft.  "localhost" resolves to ::1 (AAAA) and
 * 127.0.0.1 (A) without any DNS server (hosts file and c-ares's RFC 6761 localhost answer).
 * The connect must go over IPv4 after the connection-attempt delay, not after a full timeout.
 * Skipped, with the reason, where the machine forbids namespaces or has no nft. */
#define _GNU_SOURCE 1
#include "net.h"

#include <errno.h>
#include <net/if.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <sys/ioctl.h>
#include <sys/wait.h>
#include <unistd.h>

static uint16_t g_port;

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

static asock_loop *he_loop(uint32_t attempt_delay_ms)
{
    asock_loop_options o;
    memset(&o, 0, sizeof(o));
    o.dns_servers = "127.0.0.1:1"; /* nothing listens: no query can leave the namespace */
    o.dns_timeout_ms = 200;
    o.dns_tries = 1;
    o.attempt_delay_ms = attempt_delay_ms;
    return asock_t_loop_opts(&o);
}

static int loop_connect_stream(asock_socket *s, asock_args *e)
{
    return asock_loop_connect_async((asock_loop *)(void *)s, SOCK_STREAM, 0, e);
}

/* The instance connect goes through the host + service form (a numeric service). */
static int connect_service(asock_socket *s, asock_args *e)
{
    char port[8];
    snprintf(port, sizeof(port), "%u", (unsigned)g_port);
    return asock_connect_service_async(s, "localhost", port, e);
}

static uint64_t connect_localhost(asock_loop *loop, asock_socket *s, asock_t_op *op)
{
    asock_t_op_init(op);
    assert_int_equal(asock_endpoint_dns(&op->e.remote_endpoint, "localhost", g_port, AF_UNSPEC), 0);
    op->e.connect_timeout_ms = 10000;
    uint64_t t0 = asock_t_now_ms();
    if (s != NULL)
        asock_t_do(loop, op, connect_service, s);
    else
        asock_t_do(loop, op, loop_connect_stream, (asock_socket *)(void *)loop);
    return asock_t_now_ms() - t0;
}

static int family_of_remote(asock_socket *s)
{
    asock_endpoint r;
    assert_int_equal(asock_socket_remote_endpoint(s, &r), 0);
    const struct sockaddr *sa = asock_endpoint_sockaddr(&r, NULL);
    if (sa->sa_family == AF_INET6 && IN6_IS_ADDR_V4MAPPED(&r.ip.in6.sin6_addr))
        return AF_INET;
    return sa->sa_family;
}

/* The static connect: IPv6 first (AAAA answered), black-holed; IPv4 after 250 ms. */
static void static_connect_falls_back(void **state)
{
    (void)state;
    asock_loop *loop = he_loop(0);
    asock_t_op op;
    uint64_t took = connect_localhost(loop, NULL, &op);
    asock_t_assert_err(&op.e, ASOCK_SUCCESS);
    assert_non_null(op.e.connect_socket);
    assert_int_equal(family_of_remote(op.e.connect_socket), AF_INET);
    fprintf(stderr, "# static connect over IPv4 after %llu ms (attempt delay 250 ms)\n",
            (unsigned long long)took);
    assert_true(took >= 200); /* IPv6 was tried first and waited for */
    assert_true(took < 1500); /* not a full connect timeout */
    asock_socket_close(op.e.connect_socket);
    asock_t_end(loop); /* the black-holed attempt's socket is gone too */
}

/* An instance connect on a dual-mode IPv6 socket; its options are re-applied; a shorter
 * configured attempt delay is honoured. */
static void instance_dual_mode_configurable_delay(void **state)
{
    (void)state;
    asock_loop *loop = he_loop(100);
    asock_socket *s = asock_t_open(loop, AF_INET6, SOCK_STREAM);
    assert_int_equal(asock_socket_set_option(s, ASOCK_OPT_DUAL_MODE, 1), 0);
    assert_int_equal(asock_socket_set_option(s, ASOCK_OPT_NO_DELAY, 1), 0);
    asock_t_op op;
    uint64_t took = connect_localhost(loop, s, &op);
    asock_t_assert_err(&op.e, ASOCK_SUCCESS);
    assert_ptr_equal(op.e.connect_socket, s);
    assert_int_equal(family_of_remote(s), AF_INET);
    fprintf(stderr, "# instance connect over IPv4 after %llu ms (attempt delay 100 ms)\n",
            (unsigned long long)took);
    assert_true(took >= 80);
    assert_true(took < 240);
    int v = 0;
    assert_int_equal(asock_socket_get_option(s, ASOCK_OPT_NO_DELAY, &v), 0);
    assert_int_equal(v, 1);
    asock_socket_close(s);
    asock_t_end(loop);
}

/* Only the black-holed address: the connect timeout ends it (TIMED_OUT), and cancel ends an
 * attempt in flight (OPERATION_ABORTED). */
static void blackholed_only_times_out(void **state)
{
    (void)state;
    asock_loop *loop = he_loop(0);
    asock_socket *s = asock_t_open(loop, AF_INET6, SOCK_STREAM);
    asock_t_op op;
    asock_t_op_init(&op);
    assert_int_equal(asock_endpoint_dns(&op.e.remote_endpoint, "localhost", g_port, AF_INET6), 0);
    op.e.connect_timeout_ms = 400;
    uint64_t t0 = asock_t_now_ms();
    asock_t_do(loop, &op, asock_connect_async, s);
    uint64_t took = asock_t_now_ms() - t0;
    asock_t_assert_err(&op.e, ASOCK_ERR_TIMED_OUT);
    assert_true(took >= 390 && took < 1500);

    op.e.connect_timeout_ms = 0;
    assert_int_equal(asock_t_start(&op, asock_connect_async, s), 1);
    for (int i = 0; i < 20; i++)
        asock_loop_run(loop, ASOCK_RUN_NOWAIT);
    asock_cancel_connect_async(&op.e);
    asock_t_wait(loop, &op, 1000);
    asock_t_assert_err(&op.e, ASOCK_ERR_OPERATION_ABORTED);
    asock_socket_close(s);
    asock_t_end(loop);
}

static int run_child(void)
{
    if (unshare(CLONE_NEWNET) != 0) {
        fprintf(stderr,
                "SKIP: unshare(CLONE_NEWNET) failed: %s (needs CAP_SYS_ADMIN or user "
                "namespaces)\n",
                asock_strerror(-errno));
        return ASOCK_T_SKIP;
    }
    int rc = lo_up();
    if (rc < 0) {
        fprintf(stderr, "SKIP: cannot bring lo up in the namespace: %s\n", asock_strerror(rc));
        return ASOCK_T_SKIP;
    }
    /* one port number on both loopbacks */
    int l6 = asock_t_tcp_listener(AF_INET6, "::1", &g_port);
    int l4 = asock_t_tcp_listener(AF_INET, "127.0.0.1", &g_port);
    (void)l4;
    char cmd[512];
    snprintf(cmd, sizeof(cmd),
             "nft add table inet asock_he && "
             "nft add chain inet asock_he out '{ type filter hook output priority 0; }' && "
             "nft add rule inet asock_he out ip6 daddr ::1 tcp dport %u drop",
             (unsigned)g_port);
    if (system(cmd) != 0) {
        fprintf(stderr, "SKIP: nft is not available or not permitted here (needs nftables and "
                        "CAP_NET_ADMIN in the namespace)\n");
        return ASOCK_T_SKIP;
    }
    /* the black hole really is one */
    int probe = socket(AF_INET6, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    struct sockaddr_storage ss;
    socklen_t len = asock_t_sockaddr("::1", g_port, &ss);
    connect(probe, (struct sockaddr *)&ss, len);
    struct pollfd pfd = {.fd = probe, .events = POLLOUT};
    if (poll(&pfd, 1, 300) != 0) {
        fprintf(stderr, "FAIL: the nft rule did not black-hole [::1]:%u\n", (unsigned)g_port);
        return 1;
    }
    close(probe);
    (void)l6;
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(static_connect_falls_back),
        cmocka_unit_test(instance_dual_mode_configurable_delay),
        cmocka_unit_test(blackholed_only_times_out),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

int main(void)
{
    fflush(NULL);
    pid_t pid = fork();
    if (pid < 0) {
        perror("fork");
        return 1;
    }
    if (pid == 0)
        _exit(run_child());
    /* bounded wait for the child (the namespace dies with it) */
    for (int i = 0; i < 600; i++) {
        int status = 0;
        pid_t w = waitpid(pid, &status, WNOHANG);
        if (w == pid) {
            if (WIFEXITED(status))
                return WEXITSTATUS(status);
            fprintf(stderr, "child died: signal %d\n", WTERMSIG(status));
            return 1;
        }
        usleep(100000);
    }
    fprintf(stderr, "FAIL: the namespace child did not finish within 60 s\n");
    kill(pid, SIGKILL);
    waitpid(pid, NULL, 0);
    return 1;
}
