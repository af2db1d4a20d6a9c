/* Closing sockets with thousands of operations in flight (both engines).
 *
 * 200 TCP connection pairs (both ends asock sockets) and 200 UDP sockets, each with several
 * pending receives, plus pending accepts on the listener.  Sockets are then closed from
 * completion callbacks in a random order while some traffic still flows (completed receives are
 * re-armed).  Every started pending operation must complete exactly once (OperationAborted,
 * success, or ConnectionReset when a peer closed with bytes unread), none twice, none after
 * asock_loop_free; the whole run is bounded in time.  ASOCK_STRESS_SEED picks another close
 * order. */
#define _GNU_SOURCE 1
#include "net.h"

#include <errno.h>
#include <stdbool.h>
#include <unistd.h>

#define N_PAIRS      200
#define N_UDP        200
#define RECV_PER_TCP 3
#define RECV_PER_UDP 3
#define N_ACCEPTS    40
#define N_SOCKS      (2 * N_PAIRS + N_UDP + 1)
#define N_SLOTS      (2 * N_PAIRS * RECV_PER_TCP + N_UDP * RECV_PER_UDP + N_ACCEPTS)

struct slot {
    asock_args e;         /* first */
    int sock;             /* index in g.socks */
    asock_operation kind; /* ACCEPT, RECEIVE or RECEIVE_FROM */
    int starts;           /* start calls that returned 1 */
    int sync;             /* start calls that returned 0 */
    int calls;            /* callbacks */
    int aborted;
    int ok;
    int reset;
    char buf[32];
};

static struct {
    asock_socket *socks[N_SOCKS];
    int closed[N_SOCKS];
    int order[N_SOCKS]; /* close order */
    int next;           /* next index in order */
    int close_limit;    /* how many the callbacks may close */
    struct slot *slots;
    int nslots;
    int errors;     /* contract violations seen in callbacks */
    int freed;      /* asock_loop_free returned */
    int after_free; /* callbacks after that */
    int total_calls;
    int in_free; /* inside asock_loop_free */
    int calls_in_free;
    unsigned seed;
} g;

static unsigned rnd(void)
{
    g.seed = g.seed * 1103515245u + 12345u;
    return (g.seed >> 16) & 0x7fffu;
}

static void close_sock(int i)
{
    if (g.closed[i])
        return;
    g.closed[i] = 1;
    asock_socket_close(g.socks[i]);
}

static void close_next(void)
{
    while (g.next < g.close_limit) {
        int i = g.order[g.next++];
        if (!g.closed[i]) {
            close_sock(i);
            return;
        }
    }
}

static int start(struct slot *s);

static void completed(asock_socket *sender, asock_args *e)
{
    struct slot *s = (struct slot *)(void *)e;
    (void)sender;
    s->calls++;
    g.total_calls++;
    if (g.freed)
        g.after_free++;
    if (g.in_free)
        g.calls_in_free++;
    if (s->calls > s->starts && g.errors++ < 5) /* nobody started it, or a second one */
        fprintf(stderr, "slot %d: callback %d for %d starts\n", (int)(s - g.slots), s->calls,
                s->starts);
    if (e->socket_error == ASOCK_ERR_OPERATION_ABORTED)
        s->aborted++;
    else if (e->socket_error == ASOCK_SUCCESS)
        s->ok++;
    else if (e->socket_error == ASOCK_ERR_CONNECTION_RESET)
        s->reset++; /* the peer closed with "ping" bytes unread: RST */
    else {
        if (g.errors++ < 5)
            fprintf(stderr, "slot %d (socket %d, op %d): %s, errno %d (%s)\n", (int)(s - g.slots),
                    s->sock, (int)s->kind, asock_socket_error_name(e->socket_error), e->sys_errno,
                    asock_strerror(e->sys_errno));
    }
    if (s->kind == ASOCK_OP_ACCEPT && e->socket_error == ASOCK_SUCCESS) {
        /* not expected (nobody connects any more), but do not leak it */
        asock_socket_close(e->accept_socket);
        e->accept_socket = NULL;
    }
    if (g.in_free)
        return;
    /* close one more socket, chosen at random (the shuffled order), from this callback */
    close_next();
    /* a receive that got data is re-armed while its socket lives (a 0-byte one is EOF) */
    if (e->socket_error == ASOCK_SUCCESS && e->bytes_transferred > 0 && !g.closed[s->sock] &&
        s->kind != ASOCK_OP_ACCEPT)
        start(s);
}

static int start(struct slot *s)
{
    asock_socket *sock = g.socks[s->sock];
    int rc;
    switch (s->kind) {
    case ASOCK_OP_ACCEPT:
        s->e.accept_socket = NULL;
        rc = asock_accept_async(sock, &s->e);
        break;
    case ASOCK_OP_RECEIVE_FROM:
        asock_t_ep(&s->e.remote_endpoint, "127.0.0.1", 0);
        rc = asock_receive_from_async(sock, &s->e);
        break;
    default:
        rc = asock_receive_async(sock, &s->e);
        break;
    }
    if (rc == 1)
        s->starts++;
    else if (rc == 0)
        s->sync++;
    return rc;
}

static struct slot *new_slot(int sock, asock_operation kind)
{
    assert_true(g.nslots < N_SLOTS);
    struct slot *s = &g.slots[g.nslots++];
    asock_t_args(&s->e, completed, NULL);
    if (kind != ASOCK_OP_ACCEPT) /* an accept with a buffer is refused (AcceptEx-only) */
        assert_int_equal(asock_args_set_buffer(&s->e, s->buf, 0, sizeof(s->buf)), 0);
    s->sock = sock;
    s->kind = kind;
    return s;
}

/* Sets everything up: listener (index 0), N_PAIRS clients and their accepted peers, N_UDP UDP
 * sockets; every receive and accept pending. */
static void setup(asock_loop *loop, uint16_t udp_ports[N_UDP])
{
    memset(&g, 0, sizeof(g));
    g.slots = calloc(N_SLOTS, sizeof(*g.slots));
    assert_non_null(g.slots);
    g.seed = 0x5eed1234u;
    const char *env = getenv("ASOCK_STRESS_SEED");
    if (env != NULL)
        g.seed = (unsigned)strtoul(env, NULL, 0);

    uint16_t port = 0;
    g.socks[0] = asock_t_listener(loop, "127.0.0.1", &port);

    /* connect N_PAIRS clients, accept each (one accept args re-used) */
    asock_t_op acc;
    for (int i = 0; i < N_PAIRS; i++) {
        asock_socket *c = asock_t_open(loop, AF_INET, SOCK_STREAM);
        g.socks[1 + i] = c;
        asock_t_op con;
        asock_t_op_init(&con);
        asock_t_ep(&con.e.remote_endpoint, "127.0.0.1", port);
        int crc = asock_t_start(&con, asock_connect_async, c);
        assert_true(crc == 0 || crc == 1);
        asock_t_op_init(&acc);
        asock_t_do(loop, &acc, asock_accept_async, g.socks[0]);
        asock_t_assert_err(&acc.e, ASOCK_SUCCESS);
        g.socks[1 + N_PAIRS + i] = acc.e.accept_socket;
        asock_t_wait(loop, &con, ASOCK_T_WAIT_MS);
        asock_t_assert_err(&con.e, ASOCK_SUCCESS);
    }
    for (int i = 0; i < N_UDP; i++) {
        asock_socket *u = asock_t_open(loop, AF_INET, SOCK_DGRAM);
        asock_t_bind(u, "127.0.0.1", 0);
        udp_ports[i] = asock_t_local_port(u);
        g.socks[1 + 2 * N_PAIRS + i] = u;
    }

    /* pending operations */
    for (int i = 0; i < N_ACCEPTS; i++)
        assert_int_equal(start(new_slot(0, ASOCK_OP_ACCEPT)), 1);
    for (int i = 1; i < 1 + 2 * N_PAIRS; i++) {
        for (int k = 0; k < RECV_PER_TCP; k++)
            assert_int_equal(start(new_slot(i, ASOCK_OP_RECEIVE)), 1);
    }
    for (int i = 1 + 2 * N_PAIRS; i < N_SOCKS; i++) {
        for (int k = 0; k < RECV_PER_UDP; k++) {
            /* A stray datagram from another test on this machine (sent to a port it had just
             * freed, which this socket then got) completes a receive synchronously: start it
             * again, so the slot is pending as the test needs. */
            struct slot *sl = new_slot(i, ASOCK_OP_RECEIVE_FROM);
            int rc = start(sl);
            for (int tries = 0; rc == 0 && tries < 16; tries++)
                rc = start(sl);
            assert_int_equal(rc, 1);
        }
    }
    assert_int_equal(g.nslots, N_SLOTS);
    asock_loop_run(loop, ASOCK_RUN_NOWAIT); /* everything reaches the engine */

    /* a random close order (Fisher-Yates) */
    for (int i = 0; i < N_SOCKS; i++)
        g.order[i] = i;
    for (int i = N_SOCKS - 1; i > 0; i--) {
        int j = (int)(rnd() % (unsigned)(i + 1));
        int tmp = g.order[i];
        g.order[i] = g.order[j];
        g.order[j] = tmp;
    }
}

/* Some traffic while the closes run: a few bytes to random TCP sockets, datagrams to random UDP
 * sockets (some land on closed ones: fine). */
static void traffic(asock_loop *loop, int udp_fd, const uint16_t udp_ports[N_UDP], int rounds)
{
    asock_t_op snd;
    for (int r = 0; r < rounds; r++) {
        int i = 1 + (int)(rnd() % (unsigned)(2 * N_PAIRS));
        if (!g.closed[i]) {
            asock_t_op_init(&snd);
            assert_int_equal(asock_args_set_buffer(&snd.e, "ping", 0, 4), 0);
            int rc = asock_t_start(&snd, asock_send_async, g.socks[i]);
            /* the peer may be closing: any result, but a pending send must complete */
            if (rc == 1)
                asock_t_wait(loop, &snd, ASOCK_T_WAIT_MS);
        }
        int u = (int)(rnd() % N_UDP);
        asock_t_sendto(udp_fd, "dgram", 5, "127.0.0.1", udp_ports[u]);
        asock_loop_run(loop, ASOCK_RUN_NOWAIT);
    }
}

static int sum_starts(void)
{
    int n = 0;
    for (int i = 0; i < g.nslots; i++)
        n += g.slots[i].starts;
    return n;
}

static void check_slots(bool all_done)
{
    assert_int_equal(g.errors, 0);
    assert_int_equal(g.after_free, 0);
    for (int i = 0; i < g.nslots; i++) {
        struct slot *s = &g.slots[i];
        if (s->calls > s->starts)
            fail_msg("slot %d: %d callbacks for %d starts", i, s->calls, s->starts);
        if (all_done && s->calls != s->starts)
            fail_msg("slot %d (socket %d): %d callbacks for %d starts", i, s->sock, s->calls,
                     s->starts);
        if (all_done && asock_args_in_use(&s->e))
            fail_msg("slot %d still in use", i);
    }
}

/* Callbacks close every socket (the chain runs until none is left); asock_t_end then finds an
 * empty loop. */
static void close_all_from_callbacks(void **state)
{
    (void)state;
    uint64_t t0 = asock_t_now_ms();
    asock_loop *loop = asock_t_loop();
    uint16_t udp_ports[N_UDP];
    setup(loop, udp_ports);
    int udp_fd = asock_t_udp_socket(AF_INET, "127.0.0.1", NULL);
    g.close_limit = N_SOCKS;

    /* start the chains: a few closes from the test body, then the callbacks take over */
    for (int k = 0; k < 4; k++)
        close_next();
    traffic(loop, udp_fd, udp_ports, 100);
    uint64_t end = asock_t_now_ms() + 10000;
    while (g.next < N_SOCKS && asock_t_now_ms() < end) {
        if (asock_loop_run(loop, ASOCK_RUN_NOWAIT) == 0)
            close_next(); /* the chain ran dry (should not happen): restart it */
    }
    while (g.next < N_SOCKS) /* time is up: close the rest from here */
        close_next();
    asock_t_drain(loop, 5000);
    check_slots(true);
    int starts = sum_starts();
    fprintf(stderr, "%s: %d pending ops completed (%d started in setup), %llu ms\n",
            asock_t_engine(), starts, N_SLOTS, (unsigned long long)(asock_t_now_ms() - t0));
    asock_t_close_fd(udp_fd);
    asock_t_end(loop);
    check_slots(true);
    free(g.slots);
}

/* Callbacks close about half the sockets; asock_loop_free closes the rest, completing their
 * operations inside the call; nothing runs after it. */
static void free_with_pending(void **state)
{
    (void)state;
    uint64_t t0 = asock_t_now_ms();
    int fds0 = asock_t_fd_count();
    asock_loop *loop = asock_t_loop();
    uint16_t udp_ports[N_UDP];
    setup(loop, udp_ports);
    int udp_fd = asock_t_udp_socket(AF_INET, "127.0.0.1", NULL);
    g.close_limit = N_SOCKS / 2;

    for (int k = 0; k < 4; k++)
        close_next();
    traffic(loop, udp_fd, udp_ports, 50);
    uint64_t end = asock_t_now_ms() + 5000;
    while (g.next < g.close_limit && asock_t_now_ms() < end)
        asock_loop_run(loop, ASOCK_RUN_NOWAIT);
    /* let the closed ones finish, so the free has both kinds: done and still pending */
    for (int k = 0; k < 20; k++)
        asock_loop_run(loop, ASOCK_RUN_NOWAIT);
    check_slots(false);
    int before = g.total_calls;

    /* the loop cannot drain (pending receives on open sockets): free it directly, then check
     * what asock_t_end would (the fd count) */
    g.in_free = 1;
    asock_loop_free(loop);
    g.in_free = 0;
    g.freed = 1;
    check_slots(true);
    assert_true(g.calls_in_free > 0);
    fprintf(stderr, "%s: %d completions before the free, %d inside it, %llu ms\n", asock_t_engine(),
            before, g.calls_in_free, (unsigned long long)(asock_t_now_ms() - t0));
    asock_t_close_fd(udp_fd);
    int fds1 = asock_t_fd_count();
    if (fds1 != fds0)
        fail_msg("fd count changed: %d at start, %d at end", fds0, fds1);
    free(g.slots);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(close_all_from_callbacks),
        cmocka_unit_test(free_with_pending),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
