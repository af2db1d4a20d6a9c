/* The hand-written raw io_uring loop, tuned: IORING_SETUP_SINGLE_ISSUER | DEFER_TASKRUN (6.1;
 * task work runs only inside our own io_uring_enter), SUBMIT_ALL, a large CQ, multishot accept
 * (5.19), multishot receive (6.0) into a provided-buffer ring (5.19), sends flagged
 * IOSQE_CQE_SKIP_SUCCESS (5.17) so a successful send posts no completion at all, and one
 * io_uring_enter per loop iteration (submit + wait).
 *
 * liburing 2.3 has no io_uring_setup_buf_ring: the buffer ring is mmap'ed and registered by hand
 * (io_uring_register_buf_ring + io_uring_buf_ring_init).  io_uring_enable_rings is declared but
 * not exported by Debian's liburing 2.3, so rings are never created disabled. */
#include "../bench.h"

#include <liburing.h>

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#define BGID 7

enum tag {
    T_RECV = 0,
    T_SEND = 1,
    T_ACCEPT = 2,
    T_CONNECT = 3,
    T_CLOSE = 4,
    T_RECVMSG = 5,
    T_CANCEL = 6
};

struct ring {
    struct io_uring ring;
    struct io_uring_buf_ring *br;
    size_t br_len;
    char *bufs;
    unsigned nbufs, bufsz;
    int ok;
};

static int ring_init(struct ring *R, unsigned nbufs, unsigned bufsz)
{
    memset(R, 0, sizeof(*R));
    struct io_uring_params p;
    memset(&p, 0, sizeof(p));
    p.flags = IORING_SETUP_SINGLE_ISSUER | IORING_SETUP_DEFER_TASKRUN | IORING_SETUP_SUBMIT_ALL |
              IORING_SETUP_CQSIZE;
    p.cq_entries = 8192;
    int rc = io_uring_queue_init_params(1024, &R->ring, &p);
    if (rc < 0)
        return rc;
    R->ok = 1;
    R->nbufs = nbufs;
    R->bufsz = bufsz;
    R->br_len = nbufs * sizeof(struct io_uring_buf);
    void *mem = mmap(NULL, R->br_len, PROT_READ | PROT_WRITE, MAP_ANONYMOUS | MAP_PRIVATE, -1, 0);
    if (mem == MAP_FAILED)
        return -errno;
    R->br = mem;
    struct io_uring_buf_reg reg;
    memset(&reg, 0, sizeof(reg));
    reg.ring_addr = (unsigned long)mem;
    reg.ring_entries = nbufs;
    reg.bgid = BGID;
    rc = io_uring_register_buf_ring(&R->ring, &reg, 0);
    if (rc < 0)
        return rc;
    io_uring_buf_ring_init(R->br);
    R->bufs = malloc((size_t)nbufs * bufsz);
    if (R->bufs == NULL)
        return -ENOMEM;
    int mask = io_uring_buf_ring_mask(nbufs);
    for (unsigned i = 0; i < nbufs; i++)
        io_uring_buf_ring_add(R->br, R->bufs + (size_t)i * bufsz, bufsz, (unsigned short)i, mask,
                              (int)i);
    io_uring_buf_ring_advance(R->br, (int)nbufs);
    return 0;
}

static void ring_exit(struct ring *R)
{
    if (R->ok)
        io_uring_queue_exit(&R->ring); /* cancels whatever is still pending */
    if (R->br != NULL)
        munmap(R->br, R->br_len);
    free(R->bufs);
}

static char *buf_of(struct ring *R, const struct io_uring_cqe *cqe, unsigned *bid)
{
    *bid = cqe->flags >> IORING_CQE_BUFFER_SHIFT;
    return R->bufs + (size_t)*bid * R->bufsz;
}

static void buf_recycle(struct ring *R, unsigned bid)
{
    io_uring_buf_ring_add(R->br, R->bufs + (size_t)bid * R->bufsz, R->bufsz, (unsigned short)bid,
                          io_uring_buf_ring_mask(R->nbufs), 0);
    io_uring_buf_ring_advance(R->br, 1);
}

static struct io_uring_sqe *sqe_get(struct ring *R)
{
    struct io_uring_sqe *sqe = io_uring_get_sqe(&R->ring);
    if (sqe == NULL) {
        io_uring_submit(&R->ring);
        sqe = io_uring_get_sqe(&R->ring);
        if (sqe == NULL)
            abort(); /* cannot happen: a submit empties the SQ */
    }
    return sqe;
}

static void set_ud(struct io_uring_sqe *sqe, void *p, enum tag t)
{
    io_uring_sqe_set_data64(sqe, (uint64_t)(uintptr_t)p | (uint64_t)t);
}

static void *ud_ptr(const struct io_uring_cqe *cqe)
{
    return (void *)(uintptr_t)(cqe->user_data & ~UINT64_C(7));
}

static enum tag ud_tag(const struct io_uring_cqe *cqe)
{
    return (enum tag)(cqe->user_data & 7);
}

/* One loop iteration: submit what was prepared and wait for at least one completion (20 ms at
 * most, so the clock is looked at even when nothing happens). */
static void enter(struct ring *R)
{
    struct __kernel_timespec ts = {.tv_sec = 0, .tv_nsec = 20 * 1000 * 1000};
    struct io_uring_cqe *cqe;
    io_uring_submit_and_wait_timeout(&R->ring, &cqe, 1, &ts, NULL);
}

struct conn {
    int fd;
    uint8_t kind; /* 0 client, 1 server, 2 udp client, 3 udp server */
    uint8_t dead;
    uint32_t got;
    struct sockaddr_in peer; /* udp server: where the echo goes */
} __attribute__((aligned(8)));

static void arm_recv(struct ring *R, struct conn *c)
{
    struct io_uring_sqe *sqe = sqe_get(R);
    io_uring_prep_recv_multishot(sqe, c->fd, NULL, 0, 0);
    sqe->flags |= IOSQE_BUFFER_SELECT;
    sqe->buf_group = BGID;
    set_ud(sqe, c, T_RECV);
}

static struct msghdr recvmsg_tmpl = {.msg_namelen = sizeof(struct sockaddr_in)};

static void arm_recvmsg(struct ring *R, struct conn *c)
{
    struct io_uring_sqe *sqe = sqe_get(R);
    io_uring_prep_recvmsg_multishot(sqe, c->fd, &recvmsg_tmpl, 0);
    sqe->flags |= IOSQE_BUFFER_SELECT;
    sqe->buf_group = BGID;
    set_ud(sqe, c, T_RECVMSG);
}

static void send_msg(struct ring *R, struct conn *c, size_t n, const struct sockaddr_in *to)
{
    struct io_uring_sqe *sqe = sqe_get(R);
    io_uring_prep_send(sqe, c->fd, bench_payload, n, MSG_NOSIGNAL);
    if (to != NULL)
        io_uring_prep_send_set_addr(sqe, (const struct sockaddr *)to, sizeof(*to));
    sqe->flags |= IOSQE_CQE_SKIP_SUCCESS;
    set_ud(sqe, c, T_SEND);
}

static void arm_accept(struct ring *R, int lfd, void *owner)
{
    struct io_uring_sqe *sqe = sqe_get(R);
    io_uring_prep_multishot_accept(sqe, lfd, NULL, NULL, SOCK_CLOEXEC);
    set_ud(sqe, owner, T_ACCEPT);
}

static void close_skip(struct ring *R, int fd)
{
    struct io_uring_sqe *sqe = sqe_get(R);
    io_uring_prep_close(sqe, fd);
    sqe->flags |= IOSQE_CQE_SKIP_SUCCESS;
    set_ud(sqe, NULL, T_CLOSE);
}

struct pool {
    struct conn *v;
    int n, cap;
};

static struct conn *pool_add(struct pool *p, int fd, int kind)
{
    if (p->n == p->cap)
        return NULL;
    struct conn *c = &p->v[p->n++];
    memset(c, 0, sizeof(*c));
    c->fd = fd;
    c->kind = (uint8_t)kind;
    return c;
}

/* For setup, where the pool was sized exactly: never NULL. */
static struct conn *pool_take(struct pool *p, int fd, int kind)
{
    struct conn *c = pool_add(p, fd, kind);
    if (c == NULL)
        abort();
    return c;
}

static void pool_close(struct pool *p)
{
    for (int i = 0; i < p->n; i++)
        if (p->v[i].fd >= 0)
            close(p->v[i].fd);
    free(p->v);
}

/* ---- tcp_ping_pong (and tcp_echo_mt) ---- */

static int tcp_ping_pong(struct bench_run *r)
{
    struct ring R;
    struct pool p = {calloc((size_t)(4 * r->flows + 8), sizeof(struct conn)), 0, 4 * r->flows + 8};
    uint16_t port = 0;
    int lfd = -1;
    int rc = ring_init(&R, 1024, 2048);
    if (rc < 0 || p.v == NULL) {
        bench_fail(r, "io_uring setup: %s", strerror(-rc));
        goto out;
    }
    lfd = bench_listen_raw(0, r->reuseport, r->reuseport != 0, &port);
    if (lfd < 0) {
        bench_fail(r, "listen: %s", strerror(-lfd));
        goto out;
    }
    arm_accept(&R, lfd, NULL);
    struct sockaddr_in sa;
    bench_loopback(&sa, port);
    if (r->two_process) {
        if (bench_aux_tcp_driver(r, port) < 0) {
            bench_fail(r, "driver: %s", strerror(errno));
            goto out;
        }
    } else {
        for (int i = 0; i < r->flows; i++) {
            int fd = bench_socket(SOCK_STREAM, 0, 0, 0, 0);
            struct conn *c = fd >= 0 ? pool_add(&p, fd, 0) : NULL;
            if (c == NULL) {
                bench_fail(r, "socket: %s", strerror(errno));
                goto out;
            }
            struct io_uring_sqe *sqe = sqe_get(&R);
            io_uring_prep_connect(sqe, fd, (const struct sockaddr *)&sa, sizeof(sa));
            set_ud(sqe, c, T_CONNECT);
        }
    }
    bench_start(r);
    int counts_server = r->two_process;
    int stop = 0;
    while (!stop) {
        enter(&R);
        unsigned head, seen = 0;
        struct io_uring_cqe *cqe;
        io_uring_for_each_cqe(&R.ring, head, cqe)
        {
            seen++;
            if (stop) {
                if (ud_tag(cqe) == T_ACCEPT && cqe->res >= 0)
                    close(cqe->res);
                continue;
            }
            struct conn *c = ud_ptr(cqe);
            switch (ud_tag(cqe)) {
            case T_ACCEPT:
                if (cqe->res >= 0) {
                    bench_set_nodelay(cqe->res);
                    struct conn *s = pool_add(&p, cqe->res, 1);
                    if (s == NULL)
                        close(cqe->res);
                    else
                        arm_recv(&R, s);
                }
                if (!(cqe->flags & IORING_CQE_F_MORE))
                    arm_accept(&R, lfd, NULL);
                break;
            case T_CONNECT:
                if (cqe->res < 0) {
                    bench_fail(r, "connect: %s", strerror(-cqe->res));
                    stop = 1;
                    break;
                }
                bench_set_nodelay(c->fd);
                arm_recv(&R, c);
                send_msg(&R, c, BENCH_MSG, NULL);
                break;
            case T_RECV: {
                if (cqe->res <= 0) {
                    if (cqe->res == -ENOBUFS)
                        arm_recv(&R, c);
                    else
                        c->dead = 1; /* the peer left */
                    break;
                }
                unsigned bid;
                (void)buf_of(&R, cqe, &bid); /* the data itself is not looked at */
                buf_recycle(&R, bid);
                if (!(cqe->flags & IORING_CQE_F_MORE))
                    arm_recv(&R, c);
                uint32_t m = (uint32_t)cqe->res;
                if (c->kind == 1) {
                    send_msg(&R, c, m, NULL);
                    if (counts_server) {
                        c->got += m;
                        while (c->got >= BENCH_MSG && !stop) {
                            c->got -= BENCH_MSG;
                            stop = bench_op(r, 1);
                        }
                    }
                    break;
                }
                c->got += m;
                if (c->got < BENCH_MSG)
                    break;
                c->got -= BENCH_MSG;
                if (bench_op(r, 1)) {
                    stop = 1;
                    break;
                }
                send_msg(&R, c, BENCH_MSG, NULL);
                break;
            }
            default: /* a failed send: the connection is going away */
                break;
            }
        }
        io_uring_cq_advance(&R.ring, seen);
        if (seen == 0)
            stop = bench_tick(r);
    }
out:
    ring_exit(&R);
    pool_close(&p);
    if (lfd >= 0)
        close(lfd);
    return 0;
}

/* ---- udp_ping_pong: multishot recvmsg on the servers, multishot recv on connected clients ---- */

static int udp_ping_pong(struct bench_run *r)
{
    struct ring R;
    int nf = r->flows;
    struct pool p = {calloc((size_t)(2 * nf), sizeof(struct conn)), 0, 2 * nf};
    uint16_t *ports = calloc((size_t)nf, sizeof(uint16_t));
    int rc = ring_init(&R, 1024, 2048);
    if (rc < 0 || p.v == NULL || ports == NULL) {
        bench_fail(r, "io_uring setup: %s", strerror(-rc));
        goto out;
    }
    for (int i = 0; i < nf; i++) {
        int fd = bench_socket(SOCK_DGRAM, 0, 1, 0, 0);
        if (fd < 0) {
            bench_fail(r, "socket: %s", strerror(-fd));
            goto out;
        }
        ports[i] = bench_port_of(fd);
        arm_recvmsg(&R, pool_take(&p, fd, 3));
    }
    if (r->two_process) {
        if (bench_aux_udp_driver(r, ports, nf) < 0) {
            bench_fail(r, "driver: %s", strerror(errno));
            goto out;
        }
    } else {
        for (int i = 0; i < nf; i++) {
            int fd = bench_socket(SOCK_DGRAM, 0, 1, 0, 0);
            struct sockaddr_in sa;
            bench_loopback(&sa, ports[i]);
            if (fd < 0 || connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
                bench_fail(r, "client: %s", strerror(errno));
                goto out;
            }
            arm_recv(&R, pool_take(&p, fd, 2));
        }
    }
    io_uring_submit(&R.ring);
    bench_start(r);
    for (int i = nf; i < p.n; i++)
        send_msg(&R, &p.v[i], BENCH_MSG, NULL);
    int counts_server = r->two_process;
    int stop = 0;
    while (!stop) {
        enter(&R);
        unsigned head, seen = 0;
        struct io_uring_cqe *cqe;
        io_uring_for_each_cqe(&R.ring, head, cqe)
        {
            seen++;
            if (stop)
                continue;
            struct conn *c = ud_ptr(cqe);
            enum tag t = ud_tag(cqe);
            if (t != T_RECV && t != T_RECVMSG)
                continue;
            if (cqe->res < 0) {
                if (cqe->res == -ENOBUFS)
                    t == T_RECV ? arm_recv(&R, c) : arm_recvmsg(&R, c);
                continue;
            }
            unsigned bid;
            char *buf = buf_of(&R, cqe, &bid);
            if (t == T_RECVMSG) {
                struct io_uring_recvmsg_out *o =
                    io_uring_recvmsg_validate(buf, cqe->res, &recvmsg_tmpl);
                if (o != NULL) {
                    memcpy(&c->peer, io_uring_recvmsg_name(o), sizeof(c->peer));
                    size_t len = io_uring_recvmsg_payload_length(o, cqe->res, &recvmsg_tmpl);
                    send_msg(&R, c, len, &c->peer);
                    if (counts_server)
                        stop = bench_op(r, 1);
                }
                buf_recycle(&R, bid);
                if (!(cqe->flags & IORING_CQE_F_MORE))
                    arm_recvmsg(&R, c);
                continue;
            }
            buf_recycle(&R, bid);
            if (!(cqe->flags & IORING_CQE_F_MORE))
                arm_recv(&R, c);
            if (bench_op(r, 1)) {
                stop = 1;
                continue;
            }
            send_msg(&R, c, BENCH_MSG, NULL);
        }
        io_uring_cq_advance(&R.ring, seen);
        if (seen == 0)
            stop = bench_tick(r);
    }
out:
    ring_exit(&R);
    pool_close(&p);
    free(ports);
    return 0;
}

/* ---- udp_pump: multishot recvmsg (the sender's address comes with every datagram) ---- */

static int udp_pump(struct bench_run *r)
{
    struct ring R;
    struct pool p = {calloc(1, sizeof(struct conn)), 0, 1};
    int rc = ring_init(&R, 1024, 2048);
    int fd = bench_socket(SOCK_DGRAM, 0, 1, 0, 0);
    if (rc < 0 || fd < 0 || p.v == NULL) {
        bench_fail(r, "setup: %s", strerror(rc < 0 ? -rc : errno));
        if (fd >= 0)
            close(fd);
        goto out;
    }
    struct conn *c = pool_take(&p, fd, 3);
    arm_recvmsg(&R, c);
    io_uring_submit(&R.ring);
    if (bench_aux_blaster(r, bench_port_of(fd)) < 0) {
        bench_fail(r, "blaster: %s", strerror(errno));
        goto out;
    }
    bench_start(r);
    int stop = 0;
    while (!stop) {
        enter(&R);
        unsigned head, seen = 0;
        struct io_uring_cqe *cqe;
        io_uring_for_each_cqe(&R.ring, head, cqe)
        {
            seen++;
            if (stop)
                continue;
            if (cqe->res < 0) {
                arm_recvmsg(&R, c);
                continue;
            }
            unsigned bid;
            char *buf = buf_of(&R, cqe, &bid);
            if (io_uring_recvmsg_validate(buf, cqe->res, &recvmsg_tmpl) != NULL)
                stop = bench_op(r, 1);
            buf_recycle(&R, bid);
            if (!(cqe->flags & IORING_CQE_F_MORE))
                arm_recvmsg(&R, c);
        }
        io_uring_cq_advance(&R.ring, seen);
        if (seen == 0)
            stop = bench_tick(r);
    }
out:
    ring_exit(&R);
    pool_close(&p);
    return 0;
}

/* ---- udp_send: 64 SENDs with the sink's address per io_uring_enter, CQE_SKIP_SUCCESS ---- */

static int udp_send(struct bench_run *r)
{
    struct ring R;
    struct pool p = {calloc(1, sizeof(struct conn)), 0, 1};
    int rc = ring_init(&R, 16, 2048);
    int fd = bench_socket(SOCK_DGRAM, 0, 1, 0, 0);
    if (rc < 0 || fd < 0 || p.v == NULL) {
        bench_fail(r, "setup: %s", strerror(rc < 0 ? -rc : errno));
        if (fd >= 0)
            close(fd);
        goto out;
    }
    struct conn *c = pool_take(&p, fd, 3);
    c->peer = r->sink;
    bench_start(r);
    int stop = 0;
    while (!stop) {
        for (int i = 0; i < BENCH_BATCH; i++)
            send_msg(&R, c, BENCH_MSG, &c->peer);
        io_uring_submit(&R.ring);
        /* a failed send posts a CQE: those are not counted */
        unsigned head, seen = 0;
        struct io_uring_cqe *cqe;
        io_uring_for_each_cqe(&R.ring, head, cqe)
        {
            seen++;
        }
        io_uring_cq_advance(&R.ring, seen);
        stop = bench_op(r, BENCH_BATCH - seen);
    }
out:
    ring_exit(&R);
    pool_close(&p);
    return 0;
}

/* ---- tcp_pump: one 64 KiB send (MSG_WAITALL: the kernel finishes a short send) in flight,
 * multishot receive into 64 KiB provided buffers ---- */

static int tcp_pump(struct bench_run *r)
{
    struct ring R;
    int rc = ring_init(&R, 16, BENCH_PUMP_BUF);
    uint16_t port;
    int lfd = bench_listen_raw(0, 0, 0, &port);
    int cfd = bench_socket(SOCK_STREAM, 0, 0, 0, 0);
    int sfd = -1;
    struct sockaddr_in sa;
    bench_loopback(&sa, port);
    if (rc == 0 && lfd >= 0 && cfd >= 0 && connect(cfd, (struct sockaddr *)&sa, sizeof(sa)) == 0)
        sfd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);
    struct conn w = {.fd = cfd}, rd = {.fd = sfd, .kind = 1};
    if (sfd < 0) {
        bench_fail(r, "setup: %s", strerror(rc < 0 ? -rc : errno));
        goto out;
    }
    bench_start(r);
    arm_recv(&R, &rd);
    struct io_uring_sqe *sqe = sqe_get(&R);
    io_uring_prep_send(sqe, cfd, bench_payload, BENCH_PUMP_BUF, MSG_NOSIGNAL | MSG_WAITALL);
    set_ud(sqe, &w, T_SEND);
    int stop = 0;
    while (!stop) {
        enter(&R);
        unsigned head, seen = 0;
        struct io_uring_cqe *cqe;
        io_uring_for_each_cqe(&R.ring, head, cqe)
        {
            seen++;
            if (stop)
                continue;
            if (ud_tag(cqe) == T_SEND) {
                if (cqe->res < 0) {
                    bench_fail(r, "send: %s", strerror(-cqe->res));
                    stop = 1;
                    continue;
                }
                sqe = sqe_get(&R);
                io_uring_prep_send(sqe, cfd, bench_payload, BENCH_PUMP_BUF,
                                   MSG_NOSIGNAL | MSG_WAITALL);
                set_ud(sqe, &w, T_SEND);
                continue;
            }
            if (cqe->res <= 0) {
                if (cqe->res == -ENOBUFS) {
                    arm_recv(&R, &rd);
                    continue;
                }
                bench_fail(r, "recv: %s", strerror(-cqe->res));
                stop = 1;
                continue;
            }
            unsigned bid;
            (void)buf_of(&R, cqe, &bid);
            buf_recycle(&R, bid);
            if (!(cqe->flags & IORING_CQE_F_MORE))
                arm_recv(&R, &rd);
            stop = bench_op(r, (uint64_t)cqe->res);
        }
        io_uring_cq_advance(&R.ring, seen);
        if (seen == 0)
            stop = bench_tick(r);
    }
out:
    ring_exit(&R);
    if (sfd >= 0)
        close(sfd);
    if (cfd >= 0)
        close(cfd);
    if (lfd >= 0)
        close(lfd);
    return 0;
}

/* ---- pound: multishot accept + IORING_OP_CLOSE on the server, IORING_OP_CONNECT + CLOSE on the
 * clients (SO_LINGER 0 set at socket creation) ---- */

static int pound_start(struct ring *R, const struct sockaddr_in *sa)
{
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return -errno;
    bench_set_linger0(fd);
    struct io_uring_sqe *sqe = sqe_get(R);
    io_uring_prep_connect(sqe, fd, (const struct sockaddr *)sa, sizeof(*sa));
    io_uring_sqe_set_data64(sqe, (uint64_t)fd << 3 | T_CONNECT);
    return 0;
}

static int pound(struct bench_run *r)
{
    struct ring R;
    int rc = ring_init(&R, 16, 2048);
    uint16_t port;
    int lfd = bench_listen_raw(0, 0, 0, &port);
    struct sockaddr_in sa;
    bench_loopback(&sa, port);
    int inflight = 0;
    if (rc < 0 || lfd < 0) {
        bench_fail(r, "setup: %s", strerror(rc < 0 ? -rc : errno));
        goto out;
    }
    arm_accept(&R, lfd, NULL);
    bench_start(r);
    for (; inflight < r->flows; inflight++) {
        if ((rc = pound_start(&R, &sa)) < 0) {
            bench_fail(r, "socket: %s", strerror(-rc));
            goto out;
        }
    }
    int stop = 0, accepting = 1;
    /* after the window: cancel the accept and collect every connect still in flight, so no
     * descriptor is left behind (at most about a second) */
    for (int drain = 0; accepting || inflight > 0;) {
        if (stop && drain++ == 0) {
            struct io_uring_sqe *sqe = sqe_get(&R);
            io_uring_prep_cancel64(sqe, T_ACCEPT, 0);
            set_ud(sqe, NULL, T_CANCEL);
        }
        if (drain > 50)
            break;
        enter(&R);
        unsigned head, seen = 0;
        struct io_uring_cqe *cqe;
        io_uring_for_each_cqe(&R.ring, head, cqe)
        {
            seen++;
            enum tag t = ud_tag(cqe);
            if (t == T_ACCEPT) {
                if (cqe->res >= 0)
                    close_skip(&R, cqe->res);
                if (!(cqe->flags & IORING_CQE_F_MORE)) {
                    if (stop)
                        accepting = 0;
                    else
                        arm_accept(&R, lfd, NULL);
                }
                continue;
            }
            if (t != T_CONNECT)
                continue; /* a failed close, the cancel: nothing to do */
            int fd = (int)(cqe->user_data >> 3);
            close_skip(&R, fd);
            inflight--;
            if (stop)
                continue;
            if (cqe->res < 0) {
                bench_fail(r, "connect: %s", strerror(-cqe->res));
                stop = 1;
                continue;
            }
            if (bench_op(r, 1)) {
                stop = 1;
                continue;
            }
            if (pound_start(&R, &sa) == 0)
                inflight++;
        }
        io_uring_cq_advance(&R.ring, seen);
        if (seen == 0 && !stop)
            stop = bench_tick(r);
    }
    io_uring_submit(&R.ring); /* the last closes */
out:
    ring_exit(&R);
    if (lfd >= 0)
        close(lfd);
    return 0;
}

/* ---- idle_memory: a 12-byte state slot per connection and a multishot receive pending in the
 * kernel (its memory is the kernel's, not counted here) ---- */

static int idle_memory(struct bench_run *r)
{
    struct ring R;
    int n = r->flows;
    struct bench_clients cl = {0};
    int rc = ring_init(&R, 64, 2048);
    uint16_t port;
    int lfd = bench_listen_raw(1, 0, 0, &port);
    if (rc < 0 || lfd < 0 || bench_clients_alloc(&cl, n) < 0) {
        bench_fail(r, "setup: %s", strerror(rc < 0 ? -rc : errno));
        goto out;
    }
    struct bench_mem m0, m1;
    bench_mem_snap(&m0);
    struct pool p = {calloc((size_t)n, sizeof(struct conn)), 0, n};
    while (p.n < n && !bench_done(r)) {
        rc = bench_clients_connect(&cl, port, n - cl.n < 1000 ? n - cl.n : 1000);
        if (rc < 0) {
            bench_fail(r, "client connect: %s", strerror(-rc));
            break;
        }
        while (p.n < cl.n) {
            int fd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);
            if (fd < 0)
                break;
            arm_recv(&R, pool_take(&p, fd, 1));
        }
        io_uring_submit(&R.ring);
    }
    bench_mem_snap(&m1);
    if (!bench_done(r))
        bench_mem_result(r, &m0, &m1, n);
    ring_exit(&R);
    R.ok = 0;
    R.br = NULL;
    R.bufs = NULL;
    pool_close(&p);
out:
    ring_exit(&R);
    bench_clients_free(&cl);
    if (lfd >= 0)
        close(lfd);
    return 0;
}

const struct bench_impl bench_impl_raw_uring = {
    .name = "raw_uring",
    .what = "hand-written io_uring loop (SINGLE_ISSUER|DEFER_TASKRUN, multishot accept/recv, "
            "buffer ring, CQE_SKIP_SUCCESS sends)",
    .fn = {[WL_POUND] = pound,
           [WL_TCP_PING_PONG] = tcp_ping_pong,
           [WL_UDP_PING_PONG] = udp_ping_pong,
           [WL_UDP_PUMP] = udp_pump,
           [WL_UDP_SEND] = udp_send,
           [WL_TCP_PUMP] = tcp_pump,
           [WL_TCP_ECHO_MT] = tcp_ping_pong,
           [WL_IDLE_MEMORY] = idle_memory},
};
