/* Across a real link: two network namespaces joined by a veth pair, made and removed by this
 * test (D8 adapter binding, broadcast and multicast over a real interface).
 *
 *   namespace A (this process, after unshare(CLONE_NEWNET)): va 10.99.0.1/24, the asock side;
 *   namespace B (a child, after its own unshare):            vb 10.99.0.2/24, a plain peer that
 *       echoes on port 7777 and sends / receives on command over a socketpair.
 * Skipped with a message where namespaces or veth links cannot be made (no root, no CAP_NET_ADMIN,
 * no veth).  The namespaces disappear with the processes; the veth pair is deleted at the end. */
#include "dgram_test.h"

#include <net/if.h>
#include <sched.h>
#include <signal.h>
#include <sys/wait.h>

#define ECHO_PORT 7777
#define GROUP     "239.1.2.3"

static pid_t g_child = -1;
static int g_ctl = -1; /* our end of the command socketpair */
static char g_skip[160];

/* ---- namespace B: the peer ---- */

static int child_udp(uint16_t port, int reuse)
{
    int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    int one = 1;
    if (reuse)
        setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    setsockopt(fd, SOL_SOCKET, SO_BROADCAST, &one, sizeof(one));
    struct sockaddr_in sin = {.sin_family = AF_INET, .sin_port = htons(port)};
    if (bind(fd, (struct sockaddr *)&sin, sizeof(sin)) != 0) {
        close(fd);
        return -1;
    }
    return fd;
}

static void child_reply(int ctl, const char *text)
{
    if (write(ctl, text, strlen(text)) < 0)
        _exit(3);
}

/* Commands (one datagram on the SOCK_SEQPACKET pair each):
 *   "send ADDR PORT DATA"    send DATA (multicast through vb) -> "sent"
 *   "recv PORT GROUP|- MS"   bind PORT (joining GROUP on vb), "ready", then "got DATA FROM" or
 *                            "none" after MS milliseconds
 *   "quit" */
static void child_main(int ctl)
{
    int echo = child_udp(ECHO_PORT, 0);
    unsigned vb = if_nametoindex("vb");
    char cmd[512];
    for (;;) {
        struct pollfd p[2] = {{ctl, POLLIN, 0}, {echo, POLLIN, 0}};
        if (poll(p, 2, -1) < 0)
            continue;
        if (p[1].revents & POLLIN) {
            char buf[512];
            struct sockaddr_in from;
            socklen_t fl = sizeof(from);
            ssize_t n = recvfrom(echo, buf, sizeof(buf), 0, (struct sockaddr *)&from, &fl);
            if (n >= 0)
                sendto(echo, buf, (size_t)n, 0, (struct sockaddr *)&from, fl);
        }
        if (!(p[0].revents & (POLLIN | POLLHUP)))
            continue;
        ssize_t n = read(ctl, cmd, sizeof(cmd) - 1);
        if (n <= 0)
            _exit(0);
        cmd[n] = '\0';
        char a[64], b[64], c[256];
        if (strcmp(cmd, "quit") == 0)
            _exit(0);
        if (sscanf(cmd, "send %63s %63s %255s", a, b, c) == 3) {
            int fd = child_udp(0, 0);
            struct ip_mreqn m;
            memset(&m, 0, sizeof(m));
            m.imr_ifindex = (int)vb;
            setsockopt(fd, IPPROTO_IP, IP_MULTICAST_IF, &m, sizeof(m));
            struct sockaddr_in to = {.sin_family = AF_INET, .sin_port = htons((uint16_t)atoi(b))};
            inet_pton(AF_INET, a, &to.sin_addr);
            sendto(fd, c, strlen(c), 0, (struct sockaddr *)&to, sizeof(to));
            close(fd);
            child_reply(ctl, "sent");
        } else if (sscanf(cmd, "recv %63s %63s %255s", a, b, c) == 3) {
            int fd = child_udp((uint16_t)atoi(a), 1);
            if (strcmp(b, "-") != 0) {
                struct ip_mreqn m;
                memset(&m, 0, sizeof(m));
                inet_pton(AF_INET, b, &m.imr_multiaddr);
                m.imr_ifindex = (int)vb;
                setsockopt(fd, IPPROTO_IP, IP_ADD_MEMBERSHIP, &m, sizeof(m));
            }
            child_reply(ctl, "ready");
            struct pollfd q = {fd, POLLIN, 0};
            char buf[256], out[400], addr[64];
            if (poll(&q, 1, atoi(c)) == 1) {
                struct sockaddr_in from;
                socklen_t fl = sizeof(from);
                ssize_t k = recvfrom(fd, buf, sizeof(buf) - 1, 0, (struct sockaddr *)&from, &fl);
                buf[k > 0 ? k : 0] = '\0';
                inet_ntop(AF_INET, &from.sin_addr, addr, sizeof(addr));
                snprintf(out, sizeof(out), "got %s %s", buf, addr);
                child_reply(ctl, out);
            } else {
                child_reply(ctl, "none");
            }
            close(fd);
        }
    }
}

/* ---- namespace A: set-up ---- */

static int sh(const char *fmt, ...)
{
    char cmd[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(cmd, sizeof(cmd), fmt, ap);
    va_end(ap);
    char full[600];
    snprintf(full, sizeof(full), "%s >/dev/null 2>&1", cmd);
    return system(full);
}

static void ask(const char *cmd, char *reply, size_t len)
{
    assert_true(write(g_ctl, cmd, strlen(cmd)) == (ssize_t)strlen(cmd));
    struct pollfd p = {g_ctl, POLLIN, 0};
    if (poll(&p, 1, DG_WAIT_MS) != 1)
        fail_msg("the peer namespace did not answer \"%s\"", cmd);
    ssize_t n = read(g_ctl, reply, len - 1);
    assert_true(n > 0);
    reply[n] = '\0';
}

static int setup(void **state)
{
    (void)state;
    if (geteuid() != 0) {
        snprintf(g_skip, sizeof(g_skip), "needs root (network namespaces and a veth link)");
        return 0;
    }
    if (unshare(CLONE_NEWNET) != 0) {
        snprintf(g_skip, sizeof(g_skip), "unshare(CLONE_NEWNET) failed: errno %d", errno);
        return 0;
    }
    sh("ip link set lo up");
    int sv[2];
    if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) != 0)
        return -1;
    int go[2];
    if (pipe(go) != 0)
        return -1;
    g_child = fork();
    if (g_child < 0)
        return -1;
    if (g_child == 0) {
        close(sv[0]);
        close(go[1]);
        if (unshare(CLONE_NEWNET) != 0)
            _exit(2);
        char c;
        /* wait until A made the veth and configured our end */
        if (read(go[0], &c, 1) != 1)
            _exit(0);
        close(go[0]);
        child_main(sv[1]);
        _exit(0);
    }
    close(sv[1]);
    close(go[0]);
    g_ctl = sv[0];
    /* the child's namespace exists once /proc/PID/ns/net differs from ours */
    for (int i = 0; i < 200; i++) {
        if (sh("test \"$(readlink /proc/%d/ns/net)\" != \"$(readlink /proc/self/ns/net)\"",
               (int)g_child) == 0)
            break;
        poll(NULL, 0, 5);
    }
    int rc = sh("ip link add va type veth peer name vb netns %d", (int)g_child);
    if (rc != 0) {
        snprintf(g_skip, sizeof(g_skip), "cannot create a veth pair (ip link add ... type veth)");
        close(go[1]);
        return 0;
    }
    rc = sh("ip addr add 10.99.0.1/24 broadcast 10.99.0.255 dev va && ip link set va up");
    rc |= sh("nsenter -t %d -n sh -c 'ip link set lo up && ip addr add 10.99.0.2/24 broadcast "
             "10.99.0.255 dev vb && ip link set vb up'",
             (int)g_child);
    if (rc != 0) {
        snprintf(g_skip, sizeof(g_skip), "cannot configure the veth link (ip / nsenter)");
        close(go[1]);
        return 0;
    }
    /* a second link in A (vc, 10.98.0.1/24) that does not lead to the peer */
    if (sh("ip link add vc type veth peer name vd && ip addr add 10.98.0.1/24 dev vc && "
           "ip link set vc up && ip link set vd up") != 0) {
        snprintf(g_skip, sizeof(g_skip), "cannot create the second veth pair");
        close(go[1]);
        return 0;
    }
    if (write(go[1], "g", 1) != 1)
        return -1;
    close(go[1]);
    /* the link is up when the peer's echo answers */
    int probe = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    struct sockaddr_in to = {.sin_family = AF_INET, .sin_port = htons(ECHO_PORT)};
    inet_pton(AF_INET, "10.99.0.2", &to.sin_addr);
    int up = 0;
    for (int i = 0; i < 100 && !up; i++) {
        sendto(probe, "p", 1, 0, (struct sockaddr *)&to, sizeof(to));
        struct pollfd p = {probe, POLLIN, 0};
        if (poll(&p, 1, 50) == 1) {
            char b[4];
            up = recv(probe, b, sizeof(b), 0) == 1;
        }
    }
    close(probe);
    if (!up)
        snprintf(g_skip, sizeof(g_skip), "the veth link did not come up");
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    if (g_ctl >= 0) {
        if (write(g_ctl, "quit", 4) < 0) {
            /* the child may be gone already */
        }
        close(g_ctl);
        g_ctl = -1;
    }
    if (g_child > 0) {
        int st;
        waitpid(g_child, &st, 0);
        g_child = -1;
    }
    sh("ip link del va"); /* usually gone with the child's namespace already */
    sh("ip link del vc");
    return 0;
}

static void need_link(void)
{
    if (g_skip[0] != '\0') {
        print_message("skipped: %s\n", g_skip);
        skip();
    }
}

/* ---- tests ---- */

/* D8: bound to the adapter va, a connect without a local host keeps the binding and reaches the
 * peer; bound to vc (another link), it does not. */
static void test_adapter_binding(void **state)
{
    (void)state;
    need_link();
    asock_loop *loop = asock_t_loop();
    dg_msgs msgs;
    asock_datagram *ds = dg_new(loop, &msgs);
    dg_run_ok(loop, asock_datagram_bind_service_name_async(ds, "", "va"));
    dg_run_ok(loop, asock_datagram_connect_host_async(ds, "10.99.0.2", "7777"));
    dg_write(loop, asock_datagram_output_stream(ds), "over-va");
    dg_wait_msgs(loop, &msgs, 1);
    assert_string_equal(msgs.data[0], "over-va");
    assert_string_equal(msgs.from[0], "10.99.0.2");
    asock_datagram_information info;
    asock_datagram_get_information(ds, &info);
    assert_string_equal(info.local_address, "10.99.0.1");
    dg_close(loop, ds);
    /* bound to vc: the datagram leaves through vc (Linux takes any destination as on-link for
     * a socket bound to a device), so the peer behind va never answers */
    dg_msgs none;
    asock_datagram *lo = dg_new(loop, &none);
    dg_run_ok(loop, asock_datagram_bind_service_name_async(lo, "", "vc"));
    dg_run_ok(loop, asock_datagram_connect_host_async(lo, "10.99.0.2", "7777"));
    dg_rec r;
    asock_async *op = asock_output_stream_write_async(asock_datagram_output_stream(lo), "x", 1);
    dg_attach(&r, op);
    dg_wait(loop, &r);
    asock_async_close(op);
    asock_t_spin(loop, 300);
    assert_int_equal(none.count, 0);
    dg_close(loop, lo);
    asock_t_end(loop);
}

/* D8 without SO_BINDTODEVICE: IP_UNICAST_IF steers sending, arrivals on other interfaces are
 * filtered out. */
static void test_adapter_fallback_filter(void **state)
{
    (void)state;
    need_link();
    asock_loop *loop = asock_t_loop();
    setenv("ASOCK_DATAGRAM_FORCE_UNICAST_IF", "1", 1);
    dg_msgs on_va, on_lo;
    asock_datagram *va = dg_new(loop, &on_va);
    dg_run_ok(loop, asock_datagram_bind_service_name_async(va, "", "va"));
    asock_datagram *lo = dg_new(loop, &on_lo);
    dg_run_ok(loop, asock_datagram_bind_service_name_async(lo, "", "lo"));
    unsetenv("ASOCK_DATAGRAM_FORCE_UNICAST_IF");
    char cmd[128], reply[128];
    snprintf(cmd, sizeof(cmd), "send 10.99.0.1 %u to-va", (unsigned)dg_local_port(va));
    ask(cmd, reply, sizeof(reply));
    snprintf(cmd, sizeof(cmd), "send 10.99.0.1 %u to-lo", (unsigned)dg_local_port(lo));
    ask(cmd, reply, sizeof(reply));
    dg_wait_msgs(loop, &on_va, 1);
    assert_string_equal(on_va.data[0], "to-va");
    asock_t_spin(loop, 100);
    assert_int_equal(on_lo.count, 0); /* it came in on va, not lo: filtered */
    /* sending from the va-bound socket goes out on va */
    dg_run_ok(loop, asock_datagram_connect_host_async(va, "10.99.0.2", "7777"));
    dg_write(loop, asock_datagram_output_stream(va), "echo-me");
    dg_wait_msgs(loop, &on_va, 2);
    assert_string_equal(on_va.data[1], "echo-me");
    dg_close(loop, va);
    dg_close(loop, lo);
    asock_t_end(loop);
}

static void test_broadcast_across_link(void **state)
{
    (void)state;
    need_link();
    asock_loop *loop = asock_t_loop();
    dg_msgs msgs;
    asock_datagram *ds = dg_new(loop, &msgs);
    dg_run_ok(loop, asock_datagram_bind_service_name_async(ds, "", NULL));
    char cmd[128], reply[256];
    /* the peer broadcasts on its subnet: heard here */
    snprintf(cmd, sizeof(cmd), "send 10.99.0.255 %u subnet-bcast", (unsigned)dg_local_port(ds));
    ask(cmd, reply, sizeof(reply));
    dg_wait_msgs(loop, &msgs, 1);
    assert_string_equal(msgs.data[0], "subnet-bcast");
    assert_string_equal(msgs.from[0], "10.99.0.2");
    /* we broadcast through destination streams: directed and limited broadcast */
    const char *dests[] = {"10.99.0.255", "255.255.255.255"};
    for (int i = 0; i < 2; i++) {
        asock_datagram *tx = dg_new(loop, NULL);
        if (i == 1) /* the limited broadcast leaves through the adapter the socket is bound to */
            dg_run_ok(loop, asock_datagram_bind_service_name_async(tx, "", "va"));
        ask("recv 9999 - 3000", reply, sizeof(reply));
        assert_string_equal(reply, "ready");
        dg_rec r;
        asock_async *op = asock_datagram_get_output_stream_async(tx, dests[i], "9999");
        dg_ok(loop, &r, op);
        dg_write(loop, asock_async_result(op), "bcast-out");
        asock_async_close(op);
        struct pollfd p = {g_ctl, POLLIN, 0};
        assert_int_equal(poll(&p, 1, DG_WAIT_MS), 1);
        ssize_t n = read(g_ctl, reply, sizeof(reply) - 1);
        assert_true(n > 0);
        reply[n] = '\0';
        assert_string_equal(reply, "got bcast-out 10.99.0.1");
        dg_close(loop, tx);
    }
    dg_close(loop, ds);
    asock_t_end(loop);
}

static void expect_child(const char *want)
{
    char reply[256];
    struct pollfd p = {g_ctl, POLLIN, 0};
    assert_int_equal(poll(&p, 1, DG_WAIT_MS), 1);
    ssize_t n = read(g_ctl, reply, sizeof(reply) - 1);
    assert_true(n > 0);
    reply[n] = '\0';
    assert_string_equal(reply, want);
}

static void test_multicast_across_link(void **state)
{
    (void)state;
    need_link();
    asock_loop *loop = asock_t_loop();
    char cmd[128], reply[256];
    /* receive: joined on the adapter, the peer sends to the group */
    dg_msgs msgs;
    asock_datagram *rx = dg_new(loop, &msgs);
    dg_run_ok(loop, asock_datagram_bind_service_name_async(rx, "", "va"));
    unsigned port = dg_local_port(rx);
    assert_int_equal(asock_datagram_join_multicast_group(rx, GROUP), 0);
    snprintf(cmd, sizeof(cmd), "send %s %u group-in", GROUP, port);
    ask(cmd, reply, sizeof(reply));
    dg_wait_msgs(loop, &msgs, 1);
    assert_string_equal(msgs.data[0], "group-in");
    assert_string_equal(msgs.from[0], "10.99.0.2");
    assert_string_equal(msgs.local[0], GROUP);
    /* send: through va with loopback off, the peer (a member) hears it, our member does not */
    asock_datagram *tx = dg_new(loop, NULL);
    assert_int_equal(asock_datagram_set_multicast_interface(tx, "va"), 0);
    assert_int_equal(asock_datagram_set_multicast_loopback(tx, 0), 0);
    char ps[8];
    dg_rec r;
    asock_async *op =
        asock_datagram_get_output_stream_async(tx, GROUP, dg_port((uint16_t)port, ps, 8));
    dg_ok(loop, &r, op);
    asock_output_stream *os = asock_async_result(op);
    asock_async_close(op);
    snprintf(cmd, sizeof(cmd), "recv %u %s 3000", port, GROUP);
    ask(cmd, reply, sizeof(reply));
    assert_string_equal(reply, "ready");
    dg_write(loop, os, "group-out");
    expect_child("got group-out 10.99.0.1");
    asock_t_spin(loop, 100);
    assert_int_equal(msgs.count, 1);
    /* loopback on: our own member hears it too */
    assert_int_equal(asock_datagram_set_multicast_loopback(tx, 1), 0);
    ask(cmd, reply, sizeof(reply));
    dg_write(loop, os, "group-loop");
    expect_child("got group-loop 10.99.0.1");
    dg_wait_msgs(loop, &msgs, 2);
    assert_string_equal(msgs.data[1], "group-loop");
    assert_string_equal(msgs.from[1], "10.99.0.1");
    dg_close(loop, tx);
    /* source-specific: a join for another source hears nothing from the peer */
    assert_int_equal(asock_datagram_leave_multicast_group(rx, GROUP), 0);
    assert_int_equal(asock_datagram_join_multicast_source(rx, "232.1.1.1", "10.99.0.3"), 0);
    snprintf(cmd, sizeof(cmd), "send 232.1.1.1 %u not-my-source", port);
    ask(cmd, reply, sizeof(reply));
    asock_t_spin(loop, 150);
    assert_int_equal(msgs.count, 2);
    assert_int_equal(asock_datagram_join_multicast_source(rx, "232.1.1.1", "10.99.0.2"), 0);
    snprintf(cmd, sizeof(cmd), "send 232.1.1.1 %u my-source", port);
    ask(cmd, reply, sizeof(reply));
    dg_wait_msgs(loop, &msgs, 3);
    assert_string_equal(msgs.data[2], "my-source");
    dg_close(loop, rx);
    asock_t_end(loop);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_adapter_binding),
        cmocka_unit_test(test_adapter_fallback_filter),
        cmocka_unit_test(test_broadcast_across_link),
        cmocka_unit_test(test_multicast_across_link),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
