/* Load: a UDP flood where every datagram is accounted for.  A sender thread (plain socket) sends
 * COUNT numbered datagrams to an asock UDP socket on 127.0.0.1 as fast as it can; the asock side
 * keeps 16 receives pending (receive_from and receive_message_from) with a small receive buffer,
 * so the kernel drops some.  At the end
 *     datagrams sent == datagrams received + drops the kernel reports for the socket
 * (SO_MEMINFO's SK_MEMINFO_DROPS), no sequence number arrives twice or out of range, and every
 * payload matches its number.  Short by default (ASOCK_LOAD_DATAGRAMS=50000); ASOCK_LOAD_LONG=1
 * sends 2,000,000. */
#define _GNU_SOURCE 1
#include "net.h"

#include <errno.h>
#include <stdbool.h>
#include <linux/sock_diag.h>
#include <pthread.h>
#include <stdatomic.h>
#include <unistd.h>

#define NRECV   16
#define PAYLOAD 64

struct slot {
    asock_args e;
    unsigned char buf[256];
};

static struct {
    asock_loop *loop;
    asock_socket *s;
    uint16_t port;
    struct slot slots[NRECV];
    unsigned char *seen;
    size_t count;
    uint64_t received, dup, bad, errors;
    atomic_int sender_done;
    atomic_ullong sent, send_failed;
    bool closing;
} g;

static void fill(unsigned char *p, uint32_t seq)
{
    memcpy(p, &seq, 4);
    for (int i = 4; i < PAYLOAD; i++)
        p[i] = (unsigned char)(seq * 31u + (uint32_t)i);
}

static void wake(void *arg)
{
    (void)arg;
}

static void *sender(void *arg)
{
    (void)arg;
    int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    struct sockaddr_storage ss;
    socklen_t len = asock_t_sockaddr("127.0.0.1", g.port, &ss);
    unsigned char buf[PAYLOAD];
    for (uint32_t seq = 0; seq < g.count; seq++) {
        fill(buf, seq);
        if (sendto(fd, buf, PAYLOAD, 0, (struct sockaddr *)&ss, len) == PAYLOAD)
            atomic_fetch_add(&g.sent, 1);
        else
            atomic_fetch_add(&g.send_failed, 1); /* counted, never silently lost */
    }
    close(fd);
    atomic_store(&g.sender_done, 1);
    asock_loop_post(g.loop, wake, NULL); /* a loop waiting in RUN_ONCE sees the end */
    return NULL;
}

static void take(const asock_args *e)
{
    if (e->socket_error != ASOCK_SUCCESS) {
        if (g.errors++ == 0)
            fprintf(stderr, "# first receive error: %s (errno %d, %s, op %d, flags 0x%x)\n",
                    asock_socket_error_name(e->socket_error), e->sys_errno,
                    asock_args_error_detail(e), (int)e->last_operation, e->socket_flags);
        return;
    }
    uint32_t seq;
    if (e->bytes_transferred != PAYLOAD) {
        g.bad++;
        return;
    }
    const unsigned char *p = (const unsigned char *)e->buffer;
    memcpy(&seq, p, 4);
    unsigned char want[PAYLOAD];
    fill(want, seq);
    if (seq >= g.count || memcmp(p, want, PAYLOAD) != 0) {
        g.bad++;
        return;
    }
    if (g.seen[seq]++)
        g.dup++;
    g.received++;
}

static void on_recv(asock_socket *s, asock_args *e);

static void arm(struct slot *sl)
{
    for (int spins = 0; spins < 64 && !g.closing; spins++) {
        asock_args_set_buffer(&sl->e, sl->buf, 0, sizeof(sl->buf));
        asock_t_ep(&sl->e.remote_endpoint, "0.0.0.0", 0);
        bool msg = (sl - g.slots) % 2 == 1;
        int rc = msg ? asock_receive_message_from_async(g.s, &sl->e)
                     : asock_receive_from_async(g.s, &sl->e);
        if (rc != 0)
            return;
        take(&sl->e);
    }
    /* let others run: re-arm from a post */
}

static void on_recv(asock_socket *s, asock_args *e)
{
    (void)s;
    struct slot *sl = (struct slot *)(void *)e;
    if (e->socket_error == ASOCK_ERR_OPERATION_ABORTED && g.closing)
        return;
    take(e);
    arm(sl);
}

static uint32_t socket_drops(int fd)
{
    uint32_t mem[SK_MEMINFO_VARS];
    socklen_t len = sizeof(mem);
    memset(mem, 0, sizeof(mem));
    assert_int_equal(getsockopt(fd, SOL_SOCKET, SO_MEMINFO, mem, &len), 0);
    return mem[SK_MEMINFO_DROPS];
}

static void udp_flood(void **state)
{
    (void)state;
    bool longrun = getenv("ASOCK_LOAD_LONG") != NULL && getenv("ASOCK_LOAD_LONG")[0] == '1';
    memset(&g, 0, sizeof(g));
    const char *n = getenv("ASOCK_LOAD_DATAGRAMS");
    g.count = n != NULL && strtoul(n, NULL, 10) > 0 ? strtoul(n, NULL, 10)
                                                    : (longrun ? 2000000u : 50000u);
    g.seen = calloc(g.count, 1);
    assert_non_null(g.seen);
    g.loop = asock_t_loop();
    g.s = asock_t_open(g.loop, AF_INET, SOCK_DGRAM);
    assert_int_equal(asock_socket_set_option(g.s, ASOCK_OPT_RECEIVE_BUFFER, 65536), 0);
    asock_t_bind(g.s, "127.0.0.1", 0);
    g.port = asock_t_local_port(g.s);
    for (int i = 0; i < NRECV; i++) {
        asock_args_init(&g.slots[i].e);
        g.slots[i].e.completed = on_recv;
        arm(&g.slots[i]);
    }
    uint32_t drops0 = socket_drops(asock_socket_fd(g.s));
    pthread_t th;
    uint64_t t0 = asock_t_now_ms();
    assert_int_equal(pthread_create(&th, NULL, sender, NULL), 0);
    /* run until the sender is done and every datagram is either received or dropped */
    uint64_t deadline = t0 + (longrun ? 600000u : 60000u);
    for (;;) {
        asock_loop_run(g.loop, ASOCK_RUN_NOWAIT);
        for (int i = 0; i < NRECV; i++) {
            if (!asock_args_in_use(&g.slots[i].e))
                arm(&g.slots[i]);
        }
        if (atomic_load(&g.sender_done)) {
            uint64_t drops = socket_drops(asock_socket_fd(g.s)) - drops0;
            if (g.received + drops >= atomic_load(&g.sent))
                break;
        }
        if (asock_t_now_ms() > deadline)
            fail_msg("flood: %llu sent, %llu received after the deadline",
                     (unsigned long long)atomic_load(&g.sent), (unsigned long long)g.received);
        if (!atomic_load(&g.sender_done))
            asock_loop_run(g.loop, ASOCK_RUN_ONCE);
    }
    pthread_join(th, NULL);
    uint64_t took = asock_t_now_ms() - t0;
    uint64_t drops = socket_drops(asock_socket_fd(g.s)) - drops0;
    uint64_t sent = atomic_load(&g.sent);
    fprintf(stderr,
            "# udp flood: %zu datagrams offered, %llu sent, %llu refused by sendto, %llu "
            "received, %llu dropped (reported by the kernel), %llu duplicated, %llu corrupt, "
            "%llu receive errors, in %llu ms\n",
            g.count, (unsigned long long)sent, (unsigned long long)atomic_load(&g.send_failed),
            (unsigned long long)g.received, (unsigned long long)drops, (unsigned long long)g.dup,
            (unsigned long long)g.bad, (unsigned long long)g.errors, (unsigned long long)took);
    assert_int_equal(g.dup, 0);
    assert_int_equal(g.bad, 0);
    assert_true(g.received + drops == sent);
    assert_true(sent + atomic_load(&g.send_failed) == g.count);
    assert_int_equal(g.errors, 0);
    g.closing = true;
    asock_socket_close(g.s);
    asock_t_end(g.loop);
    free(g.seen);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(udp_flood),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
