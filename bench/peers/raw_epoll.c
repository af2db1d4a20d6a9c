/* The hand-written raw epoll loop: the reference every ratio is taken against.
 *
 * Tuned as a careful C programmer would write it: level-triggered for the request/response
 * workloads (one read per readiness: a read that did not fill the buffer leaves nothing behind
 * that LT would not report again, so no EAGAIN read is spent), edge-triggered and "until EAGAIN"
 * for the streams and floods, no allocation after setup, state found through epoll_data. */
#include "../bench.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <unistd.h>

#define MAXEV 256

enum kind {
    K_LISTEN,
    K_CONNECTING,
    K_CLIENT,
    K_SERVER,
    K_UCLIENT,
    K_USERVER
};

struct conn {
    int fd;
    uint8_t kind;
    uint8_t dead;
    uint32_t got;
};

struct pool {
    struct conn *v;
    int n, cap;
};

static struct conn *pool_add(struct pool *p, int fd, enum kind k)
{
    if (p->n == p->cap)
        return NULL;
    struct conn *c = &p->v[p->n++];
    c->fd = fd;
    c->kind = (uint8_t)k;
    c->dead = 0;
    c->got = 0;
    return c;
}

static void pool_close(struct pool *p)
{
    for (int i = 0; i < p->n; i++)
        if (!p->v[i].dead && p->v[i].fd >= 0)
            close(p->v[i].fd);
    free(p->v);
}

static int watch(int ep, struct conn *c, uint32_t events, int op)
{
    if (c == NULL)
        return -1;
    struct epoll_event ev = {.events = events, .data.ptr = c};
    return epoll_ctl(ep, op, c->fd, &ev);
}

static void drop(struct conn *c)
{
    close(c->fd); /* close also removes it from the epoll set */
    c->dead = 1;
}

/* ---- tcp_ping_pong (and tcp_echo_mt: the same loop on a SO_REUSEPORT listener) ---- */

static int tcp_ping_pong(struct bench_run *r)
{
    int ep = epoll_create1(EPOLL_CLOEXEC);
    struct pool p = {calloc((size_t)(4 * r->flows + 8), sizeof(struct conn)), 0, 4 * r->flows + 8};
    uint16_t port = 0;
    int lfd = bench_listen_raw(1, r->reuseport, r->reuseport != 0, &port);
    if (ep < 0 || p.v == NULL || lfd < 0) {
        bench_fail(r, "setup: %s", strerror(errno));
        goto out;
    }
    watch(ep, pool_add(&p, lfd, K_LISTEN), EPOLLIN, EPOLL_CTL_ADD);
    struct sockaddr_in sa;
    bench_loopback(&sa, port);
    if (r->two_process) {
        if (bench_aux_tcp_driver(r, port) < 0) {
            bench_fail(r, "driver: %s", strerror(errno));
            goto out;
        }
    } else {
        for (int i = 0; i < r->flows; i++) {
            int fd = bench_socket(SOCK_STREAM, 1, 0, 0, 0);
            if (fd < 0 ||
                (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 && errno != EINPROGRESS)) {
                bench_fail(r, "connect: %s", strerror(errno));
                goto out;
            }
            watch(ep, pool_add(&p, fd, K_CONNECTING), EPOLLOUT, EPOLL_CTL_ADD);
        }
    }
    bench_start(r);
    int counts_server = r->two_process;
    char buf[4096];
    struct epoll_event evs[MAXEV];
    int stop = 0;
    while (!stop) {
        int n = epoll_wait(ep, evs, MAXEV, 20);
        if (n <= 0) {
            stop = bench_tick(r);
            continue;
        }
        for (int i = 0; i < n; i++) {
            struct conn *c = evs[i].data.ptr;
            switch (c->kind) {
            case K_LISTEN:
                for (;;) {
                    int fd = accept4(c->fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
                    if (fd < 0)
                        break;
                    bench_set_nodelay(fd);
                    struct conn *s = pool_add(&p, fd, K_SERVER);
                    if (s == NULL) {
                        close(fd);
                        continue;
                    }
                    watch(ep, s, EPOLLIN, EPOLL_CTL_ADD);
                }
                break;
            case K_CONNECTING: {
                int err = 0;
                socklen_t len = sizeof(err);
                getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &err, &len);
                if (err != 0) {
                    bench_fail(r, "connect: %s", strerror(err));
                    stop = 1;
                    break;
                }
                bench_set_nodelay(c->fd);
                c->kind = K_CLIENT;
                watch(ep, c, EPOLLIN, EPOLL_CTL_MOD);
                send(c->fd, bench_payload, BENCH_MSG, MSG_NOSIGNAL);
                break;
            }
            case K_CLIENT:
            case K_SERVER: {
                ssize_t m = recv(c->fd, buf, sizeof(buf), 0);
                if (m <= 0) {
                    if (m < 0 && errno == EAGAIN)
                        break;
                    drop(c); /* the peer left (the other thread's run ended) */
                    break;
                }
                if (c->kind == K_SERVER) {
                    if (send(c->fd, bench_payload, (size_t)m, MSG_NOSIGNAL) != m) {
                        drop(c);
                        break;
                    }
                    if (counts_server) {
                        c->got += (uint32_t)m;
                        while (c->got >= BENCH_MSG) {
                            c->got -= BENCH_MSG;
                            stop |= bench_op(r, 1);
                        }
                    }
                    break;
                }
                c->got += (uint32_t)m;
                if (c->got < BENCH_MSG)
                    break;
                c->got -= BENCH_MSG;
                if (bench_op(r, 1)) {
                    stop = 1;
                    break;
                }
                /* one message in flight per connection: a 64-byte send is never short */
                if (send(c->fd, bench_payload, BENCH_MSG, MSG_NOSIGNAL) != BENCH_MSG)
                    drop(c);
                break;
            }
            default:
                break;
            }
        }
    }
out:
    pool_close(&p);
    if (ep >= 0)
        close(ep);
    return 0;
}

/* ---- udp_ping_pong: clients are connected (send/recv), servers use recvfrom/sendto ---- */

static int udp_ping_pong(struct bench_run *r)
{
    int ep = epoll_create1(EPOLL_CLOEXEC);
    int nf = r->flows;
    struct pool p = {calloc((size_t)(2 * nf), sizeof(struct conn)), 0, 2 * nf};
    uint16_t *ports = calloc((size_t)nf, sizeof(uint16_t));
    if (ep < 0 || p.v == NULL || ports == NULL) {
        bench_fail(r, "setup: %s", strerror(errno));
        goto out;
    }
    for (int i = 0; i < nf; i++) {
        int fd = bench_socket(SOCK_DGRAM, 1, 1, 0, 0);
        if (fd < 0) {
            bench_fail(r, "socket: %s", strerror(-fd));
            goto out;
        }
        ports[i] = bench_port_of(fd);
        watch(ep, pool_add(&p, fd, K_USERVER), EPOLLIN, EPOLL_CTL_ADD);
    }
    if (r->two_process) {
        if (bench_aux_udp_driver(r, ports, nf) < 0) {
            bench_fail(r, "driver: %s", strerror(errno));
            goto out;
        }
    } else {
        for (int i = 0; i < nf; i++) {
            int fd = bench_socket(SOCK_DGRAM, 1, 1, 0, 0);
            struct sockaddr_in sa;
            bench_loopback(&sa, ports[i]);
            if (fd < 0 || connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
                bench_fail(r, "client: %s", strerror(errno));
                goto out;
            }
            watch(ep, pool_add(&p, fd, K_UCLIENT), EPOLLIN, EPOLL_CTL_ADD);
        }
    }
    bench_start(r);
    if (!r->two_process)
        for (int i = nf; i < 2 * nf; i++)
            send(p.v[i].fd, bench_payload, BENCH_MSG, 0);
    int counts_server = r->two_process;
    char buf[2048];
    struct epoll_event evs[MAXEV];
    int stop = 0;
    while (!stop) {
        int n = epoll_wait(ep, evs, MAXEV, 20);
        if (n <= 0) {
            stop = bench_tick(r);
            continue;
        }
        for (int i = 0; i < n; i++) {
            struct conn *c = evs[i].data.ptr;
            if (c->kind == K_USERVER) {
                struct sockaddr_in from;
                socklen_t len = sizeof(from);
                ssize_t m = recvfrom(c->fd, buf, sizeof(buf), 0, (struct sockaddr *)&from, &len);
                if (m < 0)
                    continue;
                sendto(c->fd, bench_payload, (size_t)m, 0, (struct sockaddr *)&from, len);
                if (counts_server)
                    stop |= bench_op(r, 1);
            } else {
                ssize_t m = recv(c->fd, buf, sizeof(buf), 0);
                if (m < 0)
                    continue;
                if (bench_op(r, 1)) {
                    stop = 1;
                    break;
                }
                send(c->fd, bench_payload, BENCH_MSG, 0);
            }
        }
    }
out:
    pool_close(&p);
    free(ports);
    if (ep >= 0)
        close(ep);
    return 0;
}

/* ---- udp_pump: recvfrom until EAGAIN, one datagram per call (no batching) ---- */

static int udp_pump(struct bench_run *r)
{
    int ep = epoll_create1(EPOLL_CLOEXEC);
    int fd = bench_socket(SOCK_DGRAM, 1, 1, 0, 0);
    struct conn c = {fd, K_USERVER, 0, 0};
    if (ep < 0 || fd < 0 || watch(ep, &c, EPOLLIN | EPOLLET, EPOLL_CTL_ADD) < 0 ||
        bench_aux_blaster(r, bench_port_of(fd)) < 0) {
        bench_fail(r, "setup: %s", strerror(errno));
        goto out;
    }
    bench_start(r);
    char buf[2048];
    struct epoll_event evs[4];
    int stop = 0;
    while (!stop) {
        int n = epoll_wait(ep, evs, 4, 20);
        if (n <= 0) {
            stop = bench_tick(r);
            continue;
        }
        for (;;) {
            struct sockaddr_in from;
            socklen_t len = sizeof(from);
            if (recvfrom(fd, buf, sizeof(buf), 0, (struct sockaddr *)&from, &len) < 0)
                break;
            if (bench_op(r, 1)) {
                stop = 1;
                break;
            }
        }
    }
out:
    if (fd >= 0)
        close(fd);
    if (ep >= 0)
        close(ep);
    return 0;
}

/* ---- udp_send: 64 sendto per loop iteration into the shared sink ---- */

static int udp_send(struct bench_run *r)
{
    int ep = epoll_create1(EPOLL_CLOEXEC);
    int fd = bench_socket(SOCK_DGRAM, 1, 1, 0, 0);
    struct conn c = {fd, K_USERVER, 0, 0};
    if (ep < 0 || fd < 0 || watch(ep, &c, EPOLLIN, EPOLL_CTL_ADD) < 0) {
        bench_fail(r, "setup: %s", strerror(errno));
        goto out;
    }
    bench_start(r);
    struct epoll_event evs[4];
    int stop = 0;
    while (!stop) {
        for (int i = 0; i < BENCH_BATCH && !stop; i++) {
            if (sendto(fd, bench_payload, BENCH_MSG, 0, (const struct sockaddr *)&r->sink,
                       sizeof(r->sink)) == BENCH_MSG)
                stop = bench_op(r, 1);
        }
        epoll_wait(ep, evs, 4, 0); /* the loop iteration a real program would run */
    }
out:
    if (fd >= 0)
        close(fd);
    if (ep >= 0)
        close(ep);
    return 0;
}

/* ---- tcp_pump: one stream, 64 KiB writes until EAGAIN, reads until EAGAIN (ET) ---- */

static int tcp_pump(struct bench_run *r)
{
    int ep = epoll_create1(EPOLL_CLOEXEC);
    uint16_t port;
    int lfd = bench_listen_raw(0, 0, 0, &port);
    int cfd = bench_socket(SOCK_STREAM, 0, 0, 0, 0);
    struct sockaddr_in sa;
    bench_loopback(&sa, port);
    int sfd = -1;
    if (ep >= 0 && lfd >= 0 && cfd >= 0 && connect(cfd, (struct sockaddr *)&sa, sizeof(sa)) == 0)
        sfd = accept4(lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
    struct conn w = {cfd, K_CLIENT, 0, 0}, rd = {sfd, K_SERVER, 0, 0};
    if (sfd < 0) {
        bench_fail(r, "setup: %s", strerror(errno));
        goto out;
    }
    if (bench_set_nonblock(cfd) < 0) {
        bench_fail(r, "fcntl: %s", strerror(errno));
        goto out;
    }
    watch(ep, &w, EPOLLOUT | EPOLLET, EPOLL_CTL_ADD);
    watch(ep, &rd, EPOLLIN | EPOLLET, EPOLL_CTL_ADD);
    bench_start(r);
    static char rbuf[BENCH_PUMP_BUF];
    size_t off = 0;
    struct epoll_event evs[4];
    int stop = 0;
    while (!stop) {
        int n = epoll_wait(ep, evs, 4, 20);
        if (n <= 0) {
            stop = bench_tick(r);
            continue;
        }
        for (int i = 0; i < n && !stop; i++) {
            struct conn *c = evs[i].data.ptr;
            if (c == &w) {
                for (;;) {
                    ssize_t m = send(cfd, bench_payload + off, BENCH_PUMP_BUF - off, MSG_NOSIGNAL);
                    if (m < 0)
                        break;
                    off = (off + (size_t)m) % BENCH_PUMP_BUF;
                }
            } else {
                for (;;) {
                    ssize_t m = recv(sfd, rbuf, sizeof(rbuf), 0);
                    if (m <= 0)
                        break;
                    if (bench_op(r, (uint64_t)m)) {
                        stop = 1;
                        break;
                    }
                }
            }
        }
    }
out:
    if (sfd >= 0)
        close(sfd);
    if (cfd >= 0)
        close(cfd);
    if (lfd >= 0)
        close(lfd);
    if (ep >= 0)
        close(ep);
    return 0;
}

/* ---- pound: `flows` connects in flight; the server accepts and closes; the client closes
 * abortively (SO_LINGER 0) once connected, so no TIME_WAIT pins the ephemeral ports ---- */

static int start_connect(int ep, const struct sockaddr_in *sa)
{
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return -errno;
    bench_set_linger0(fd);
    if (connect(fd, (const struct sockaddr *)sa, sizeof(*sa)) < 0 && errno != EINPROGRESS) {
        int err = -errno;
        close(fd);
        return err;
    }
    struct epoll_event ev = {.events = EPOLLOUT, .data.u64 = (uint64_t)1 << 32 | (uint32_t)fd};
    epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev);
    return 0;
}

static int pound(struct bench_run *r)
{
    int ep = epoll_create1(EPOLL_CLOEXEC);
    uint16_t port;
    int lfd = bench_listen_raw(1, 0, 0, &port);
    struct sockaddr_in sa;
    bench_loopback(&sa, port);
    if (ep < 0 || lfd < 0) {
        bench_fail(r, "setup: %s", strerror(errno));
        goto out;
    }
    struct epoll_event lev = {.events = EPOLLIN, .data.u64 = (uint32_t)lfd};
    epoll_ctl(ep, EPOLL_CTL_ADD, lfd, &lev);
    bench_start(r);
    int inflight = 0;
    for (; inflight < r->flows; inflight++) {
        int rc = start_connect(ep, &sa);
        if (rc < 0) {
            bench_fail(r, "connect: %s", strerror(-rc));
            goto drain;
        }
    }
    struct epoll_event evs[MAXEV];
    int stop = 0;
    while (!stop) {
        int n = epoll_wait(ep, evs, MAXEV, 20);
        if (n <= 0) {
            stop = bench_tick(r);
            continue;
        }
        for (int i = 0; i < n; i++) {
            int fd = (int)(uint32_t)evs[i].data.u64;
            if ((evs[i].data.u64 >> 32) == 0) {
                for (;;) {
                    int a = accept4(fd, NULL, NULL, SOCK_CLOEXEC);
                    if (a < 0)
                        break;
                    close(a);
                }
                continue;
            }
            int err = 0;
            socklen_t len = sizeof(err);
            getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len);
            close(fd);
            inflight--;
            if (err != 0) {
                bench_fail(r, "connect: %s", strerror(err));
                stop = 1;
                continue;
            }
            if (bench_op(r, 1)) {
                stop = 1;
                continue;
            }
            if (start_connect(ep, &sa) == 0)
                inflight++;
        }
    }
drain:
    /* the connects still in flight: wait for them so their descriptors can be closed */
    while (inflight > 0) {
        int n = epoll_wait(ep, evs, MAXEV, 1000);
        if (n <= 0)
            break;
        for (int i = 0; i < n; i++) {
            int fd = (int)(uint32_t)evs[i].data.u64;
            if ((evs[i].data.u64 >> 32) == 0) {
                int a;
                while ((a = accept4(fd, NULL, NULL, SOCK_CLOEXEC)) >= 0)
                    close(a);
                continue;
            }
            close(fd);
            inflight--;
        }
    }
out:
    if (lfd >= 0)
        close(lfd);
    if (ep >= 0)
        close(ep);
    return 0;
}

/* ---- idle_memory: per idle connection, an epoll registration and an 8-byte state slot ---- */

static int idle_memory(struct bench_run *r)
{
    int n = r->flows;
    struct bench_clients cl;
    int ep = epoll_create1(EPOLL_CLOEXEC);
    uint16_t port;
    int lfd = bench_listen_raw(1, 0, 0, &port);
    if (ep < 0 || lfd < 0 || bench_clients_alloc(&cl, n) < 0) {
        bench_fail(r, "setup: %s", strerror(errno));
        return 0;
    }
    struct bench_mem m0, m1;
    bench_mem_snap(&m0);
    struct conn *conns = calloc((size_t)n, sizeof(struct conn));
    int accepted = 0;
    while (accepted < n && !bench_done(r)) {
        int rc = bench_clients_connect(&cl, port, n - cl.n < 1000 ? n - cl.n : 1000);
        if (rc < 0) {
            bench_fail(r, "client connect: %s", strerror(-rc));
            break;
        }
        while (accepted < cl.n) {
            int fd = accept4(lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
            if (fd < 0)
                break;
            struct conn *c = &conns[accepted++];
            c->fd = fd;
            c->kind = K_SERVER;
            watch(ep, c, EPOLLIN, EPOLL_CTL_ADD);
        }
    }
    bench_mem_snap(&m1);
    if (!bench_done(r))
        bench_mem_result(r, &m0, &m1, n);
    for (int i = 0; i < accepted; i++)
        close(conns[i].fd);
    free(conns);
    bench_clients_free(&cl);
    close(lfd);
    close(ep);
    return 0;
}

const struct bench_impl bench_impl_raw_epoll = {
    .name = "raw_epoll",
    .what = "hand-written epoll loop (LT request/response, ET streams, no allocation)",
    .fn = {[WL_POUND] = pound,
           [WL_TCP_PING_PONG] = tcp_ping_pong,
           [WL_UDP_PING_PONG] = udp_ping_pong,
           [WL_UDP_PUMP] = udp_pump,
           [WL_UDP_SEND] = udp_send,
           [WL_TCP_PUMP] = tcp_pump,
           [WL_TCP_ECHO_MT] = tcp_ping_pong,
           [WL_IDLE_MEMORY] = idle_memory},
};
