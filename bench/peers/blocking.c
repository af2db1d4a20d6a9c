/* Blocking system calls: the floor.  No readiness step at all: one thread drives both ends with
 * plain blocking calls, in an order where every call finds its data already there (loopback
 * delivers a send into the peer's queue before the send returns).  What is left is the cost of
 * the system calls themselves, which no event loop can go below on one thread.
 *
 * Not applicable: the two-process server and the multi-core echo (a blocking server needs a
 * thread per connection) and idle_memory (the same: a thread, and its stack, per socket). */
#include "../bench.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <unistd.h>

/* Every blocking call is bounded: a lost datagram or a full window fails the run instead of
 * hanging it. */
static void bound(int fd, int ms)
{
    struct timeval tv = {ms / 1000, (ms % 1000) * 1000};
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
    setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
}

/* n connected TCP pairs (client c[i], server s[i]). */
static int tcp_pairs(int n, int *c, int *s)
{
    uint16_t port;
    int lfd = bench_listen_raw(0, 0, 0, &port);
    if (lfd < 0)
        return lfd;
    struct sockaddr_in sa;
    bench_loopback(&sa, port);
    for (int i = 0; i < n; i++) {
        c[i] = bench_socket(SOCK_STREAM, 0, 0, 0, 0);
        if (c[i] < 0 || connect(c[i], (struct sockaddr *)&sa, sizeof(sa)) < 0)
            goto fail;
        s[i] = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);
        if (s[i] < 0)
            goto fail;
        bench_set_nodelay(c[i]);
        bench_set_nodelay(s[i]);
        bound(c[i], 1000);
        bound(s[i], 1000);
    }
    close(lfd);
    return 0;
fail:;
    int err = -errno;
    close(lfd);
    return err;
}

static void close_all(int *v, int n)
{
    for (int i = 0; i < n; i++)
        if (v[i] >= 0)
            close(v[i]);
}

static int recv_all(int fd, char *buf, size_t len)
{
    size_t got = 0;
    while (got < len) {
        ssize_t m = recv(fd, buf + got, len - got, 0);
        if (m <= 0)
            return -1;
        got += (size_t)m;
    }
    return 0;
}

static int tcp_ping_pong(struct bench_run *r)
{
    if (r->two_process) {
        bench_skip(r, "a blocking server needs a thread per connection");
        return 0;
    }
    int n = r->flows;
    int *c = malloc((size_t)n * sizeof(int)), *s = malloc((size_t)n * sizeof(int));
    for (int i = 0; i < n; i++)
        c[i] = s[i] = -1;
    int rc = tcp_pairs(n, c, s);
    if (rc < 0) {
        bench_fail(r, "setup: %s", strerror(-rc));
        goto out;
    }
    bench_start(r);
    char buf[BENCH_MSG];
    for (int stop = 0; !stop;) {
        for (int i = 0; i < n && !stop; i++) {
            if (send(c[i], bench_payload, BENCH_MSG, MSG_NOSIGNAL) != BENCH_MSG ||
                recv_all(s[i], buf, BENCH_MSG) < 0 ||
                send(s[i], bench_payload, BENCH_MSG, MSG_NOSIGNAL) != BENCH_MSG ||
                recv_all(c[i], buf, BENCH_MSG) < 0) {
                bench_fail(r, "round trip: %s", strerror(errno));
                break;
            }
            stop = bench_op(r, 1);
        }
    }
out:
    close_all(c, n);
    close_all(s, n);
    free(c);
    free(s);
    return 0;
}

static int udp_ping_pong(struct bench_run *r)
{
    if (r->two_process) {
        bench_skip(r, "a blocking server needs a thread per socket");
        return 0;
    }
    int n = r->flows;
    int *c = malloc((size_t)n * sizeof(int)), *s = malloc((size_t)n * sizeof(int));
    for (int i = 0; i < n; i++)
        c[i] = s[i] = -1;
    for (int i = 0; i < n; i++) {
        s[i] = bench_socket(SOCK_DGRAM, 0, 1, 0, 0);
        c[i] = bench_socket(SOCK_DGRAM, 0, 1, 0, 0);
        struct sockaddr_in sa;
        bench_loopback(&sa, s[i] >= 0 ? bench_port_of(s[i]) : 0);
        if (s[i] < 0 || c[i] < 0 || connect(c[i], (struct sockaddr *)&sa, sizeof(sa)) < 0) {
            bench_fail(r, "setup: %s", strerror(errno));
            goto out;
        }
        bound(c[i], 1000);
        bound(s[i], 1000);
    }
    bench_start(r);
    char buf[2048];
    for (int stop = 0; !stop;) {
        for (int i = 0; i < n && !stop; i++) {
            struct sockaddr_in from;
            socklen_t len = sizeof(from);
            ssize_t m;
            if (send(c[i], bench_payload, BENCH_MSG, 0) != BENCH_MSG ||
                (m = recvfrom(s[i], buf, sizeof(buf), 0, (struct sockaddr *)&from, &len)) < 0 ||
                sendto(s[i], bench_payload, (size_t)m, 0, (struct sockaddr *)&from, len) != m ||
                recv(c[i], buf, sizeof(buf), 0) < 0) {
                bench_fail(r, "round trip: %s", strerror(errno));
                break;
            }
            stop = bench_op(r, 1);
        }
    }
out:
    close_all(c, n);
    close_all(s, n);
    free(c);
    free(s);
    return 0;
}

static int udp_pump(struct bench_run *r)
{
    int fd = bench_socket(SOCK_DGRAM, 0, 1, 0, 0);
    if (fd < 0 || bench_aux_blaster(r, bench_port_of(fd)) < 0) {
        bench_fail(r, "setup: %s", strerror(errno));
        goto out;
    }
    bound(fd, 20);
    bench_start(r);
    char buf[2048];
    for (int stop = 0; !stop;) {
        struct sockaddr_in from;
        socklen_t len = sizeof(from);
        if (recvfrom(fd, buf, sizeof(buf), 0, (struct sockaddr *)&from, &len) < 0)
            stop = bench_tick(r);
        else
            stop = bench_op(r, 1);
    }
out:
    if (fd >= 0)
        close(fd);
    return 0;
}

static int udp_send(struct bench_run *r)
{
    int fd = bench_socket(SOCK_DGRAM, 0, 1, 0, 0);
    if (fd < 0) {
        bench_fail(r, "setup: %s", strerror(-fd));
        return 0;
    }
    bound(fd, 1000);
    bench_start(r);
    for (int stop = 0; !stop;) {
        if (sendto(fd, bench_payload, BENCH_MSG, 0, (const struct sockaddr *)&r->sink,
                   sizeof(r->sink)) == BENCH_MSG)
            stop = bench_op(r, 1);
        else
            stop = bench_tick(r);
    }
    close(fd);
    return 0;
}

/* One thread: write 64 KiB, then read until those 64 KiB have arrived.  The receive window of a
 * loopback connection holds 64 KiB, so the write never waits for the read. */
static int tcp_pump(struct bench_run *r)
{
    int c = -1, s = -1;
    int rc = tcp_pairs(1, &c, &s);
    if (rc < 0) {
        bench_fail(r, "setup: %s", strerror(-rc));
        goto out;
    }
    static char rbuf[BENCH_PUMP_BUF];
    bench_start(r);
    for (int stop = 0; !stop;) {
        if (send(c, bench_payload, BENCH_PUMP_BUF, MSG_NOSIGNAL) != BENCH_PUMP_BUF) {
            bench_fail(r, "write: %s", strerror(errno));
            break;
        }
        size_t got = 0;
        while (got < BENCH_PUMP_BUF && !stop) {
            ssize_t m = recv(s, rbuf, sizeof(rbuf), 0);
            if (m <= 0) {
                bench_fail(r, "read: %s", strerror(errno));
                stop = 1;
                break;
            }
            got += (size_t)m;
            stop = bench_op(r, (uint64_t)m);
        }
    }
out:
    if (c >= 0)
        close(c);
    if (s >= 0)
        close(s);
    return 0;
}

/* Connects `flows` clients, then accepts and closes them: the connects are all in flight (in the
 * accept queue) together.  Clients close abortively, as in every implementation. */
static int pound(struct bench_run *r)
{
    uint16_t port;
    int lfd = bench_listen_raw(0, 0, 0, &port);
    int n = r->flows;
    int *c = malloc((size_t)n * sizeof(int));
    if (lfd < 0 || c == NULL) {
        bench_fail(r, "setup: %s", strerror(errno));
        goto out;
    }
    bound(lfd, 1000);
    struct sockaddr_in sa;
    bench_loopback(&sa, port);
    bench_start(r);
    for (int stop = 0; !stop;) {
        for (int i = 0; i < n; i++) {
            c[i] = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
            if (c[i] < 0)
                break;
            bench_set_linger0(c[i]);
            if (connect(c[i], (struct sockaddr *)&sa, sizeof(sa)) < 0) {
                bench_fail(r, "connect: %s", strerror(errno));
                stop = 1;
            }
        }
        for (int i = 0; i < n; i++) {
            int a = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);
            if (a >= 0)
                close(a);
            if (c[i] >= 0)
                close(c[i]);
        }
        if (!stop)
            stop = bench_op(r, (uint64_t)n);
    }
out:
    free(c);
    if (lfd >= 0)
        close(lfd);
    return 0;
}

const struct bench_impl bench_impl_blocking = {
    .name = "blocking",
    .what = "blocking system calls, one thread driving both ends (the floor)",
    .fn = {[WL_POUND] = pound,
           [WL_TCP_PING_PONG] = tcp_ping_pong,
           [WL_UDP_PING_PONG] = udp_ping_pong,
           [WL_UDP_PUMP] = udp_pump,
           [WL_UDP_SEND] = udp_send,
           [WL_TCP_PUMP] = tcp_pump},
    .na_reason = {[WL_TCP_ECHO_MT] = "a blocking server needs a thread per connection",
                  [WL_IDLE_MEMORY] = "a blocking server needs a thread (and a stack) per "
                                     "connection"},
};
