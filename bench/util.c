/* asock-bench: phase control, loopback socket helpers, the auxiliary peers every implementation
 * shares (two-process driver, sendmmsg blaster), idle-memory clients and memory accounting. */
#include "bench.h"

#include <errno.h>
#include <fcntl.h>
#include <malloc.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <valgrind/callgrind.h>

const char bench_payload[BENCH_PUMP_BUF];

/* ---------------------------------------------------------------------------------------- */
/* clocks, CPU, pinning */

uint64_t bench_now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

double bench_thread_cpu(void)
{
    struct rusage ru;
    getrusage(RUSAGE_THREAD, &ru);
    return (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec * 1e-6 +
           (double)ru.ru_stime.tv_sec + (double)ru.ru_stime.tv_usec * 1e-6;
}

void bench_pin(int cpu)
{
    if (cpu < 0)
        return;
    cpu_set_t set;
    CPU_ZERO(&set);
    CPU_SET((size_t)cpu, &set);
    sched_setaffinity(0, sizeof(set), &set); /* best effort: a failure only costs precision */
}

int bench_other_cpu(int cpu)
{
    long n = sysconf(_SC_NPROCESSORS_ONLN);
    if (n < 2 || cpu < 0)
        return -1;
    return (cpu + 1) % (int)n;
}

/* ---------------------------------------------------------------------------------------- */
/* phases */

void bench_collect_toggle(void)
{
    CALLGRIND_TOGGLE_COLLECT;
}

void bench_start(struct bench_run *r)
{
    uint64_t now = bench_now_ns();
    r->phase = 1;
    r->ops = 0;
    if (r->count_mode) {
        r->budget = UINT32_MAX;
        r->ops_trip = r->warm_ops;
        r->t_hard = now + 600ull * 1000000000u;
        return;
    }
    uint64_t base = r->start_at != 0 ? r->start_at : now;
    r->t_warm_end = base + (uint64_t)(r->warm_s * 1e9);
    r->t_end = r->t_warm_end + (uint64_t)(r->window_s * 1e9);
    r->budget = 32;
    r->ops_trip = UINT64_MAX;
}

static void window_begin(struct bench_run *r, uint64_t now)
{
    r->phase = 2;
    r->t0 = now;
    r->cpu0 = bench_thread_cpu();
    r->ops0 = r->ops;
    if (r->count_mode)
        bench_collect_toggle();
}

static void window_end(struct bench_run *r, uint64_t now)
{
    if (r->count_mode)
        bench_collect_toggle();
    r->phase = 3;
    r->ops_trip = 0; /* every later bench_op lands in bench__tick and says "over" */
    r->budget = 1;
    r->res->secs = (double)(now - r->t0) * 1e-9;
    r->res->cpu_secs = bench_thread_cpu() - r->cpu0;
    r->res->ops = r->ops - r->ops0;
    r->res->ok = 1;
}

int bench__tick(struct bench_run *r)
{
    if (r->phase >= 3) {
        r->budget = 1;
        return 1;
    }
    if (r->phase == 0) {
        r->budget = 32;
        return 0;
    }
    if (r->count_mode) {
        r->budget = UINT32_MAX;
        if (r->ops < r->ops_trip)
            return 0;
        if (r->phase == 1) {
            window_begin(r, bench_now_ns());
            r->ops_trip = r->ops + r->max_ops;
            return 0;
        }
        window_end(r, bench_now_ns());
        return 1;
    }
    r->budget = 32;
    uint64_t now = bench_now_ns();
    if (r->phase == 1 && now >= r->t_warm_end)
        window_begin(r, now);
    if (r->phase == 2 && now >= r->t_end) {
        window_end(r, now);
        return 1;
    }
    return 0;
}

void bench_set_value(struct bench_run *r, double value, double extra)
{
    r->res->value = value;
    r->res->extra = extra;
    r->res->ok = 1;
    r->phase = 3;
}

void bench_fail(struct bench_run *r, const char *fmt, ...)
{
    if (r->res->note[0] != '\0')
        return; /* keep the first reason */
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(r->res->note, sizeof(r->res->note), fmt, ap);
    va_end(ap);
    r->res->ok = 0;
    r->phase = 3;
    r->ops_trip = 0;
    r->budget = 1;
}

void bench_skip(struct bench_run *r, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(r->res->note, sizeof(r->res->note), fmt, ap);
    va_end(ap);
    r->res->ok = 0;
    r->res->skipped = 1;
    r->phase = 3;
}

/* ---------------------------------------------------------------------------------------- */
/* sockets */

void bench_loopback(struct sockaddr_in *sa, uint16_t port)
{
    memset(sa, 0, sizeof(*sa));
    sa->sin_family = AF_INET;
    sa->sin_port = htons(port);
    sa->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
}

int bench_socket(int type, int nonblock, int bind_it, uint16_t port, int reuseport)
{
    int fd = socket(AF_INET, type | SOCK_CLOEXEC | (nonblock ? SOCK_NONBLOCK : 0), 0);
    if (fd < 0)
        return -errno;
    int one = 1;
    if (reuseport)
        setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof(one));
    if (bind_it) {
        struct sockaddr_in sa;
        bench_loopback(&sa, port);
        if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
            int err = -errno;
            close(fd);
            return err;
        }
    }
    return fd;
}

uint16_t bench_port_of(int fd)
{
    struct sockaddr_in sa;
    socklen_t len = sizeof(sa);
    if (getsockname(fd, (struct sockaddr *)&sa, &len) < 0)
        return 0;
    return ntohs(sa.sin_port);
}

int bench_listen_raw(int nonblock, uint16_t port, int reuseport, uint16_t *port_out)
{
    int fd = bench_socket(SOCK_STREAM, nonblock, 1, port, reuseport);
    if (fd < 0)
        return fd;
    if (listen(fd, SOMAXCONN) < 0) {
        int err = -errno;
        close(fd);
        return err;
    }
    if (port_out != NULL)
        *port_out = bench_port_of(fd);
    return fd;
}

void bench_set_nodelay(int fd)
{
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
}

int bench_set_nonblock(int fd)
{
    int fl = fcntl(fd, F_GETFL);
    return fl < 0 ? -1 : fcntl(fd, F_SETFL, fl | O_NONBLOCK);
}

void bench_set_linger0(int fd)
{
    struct linger lg = {.l_onoff = 1, .l_linger = 0};
    setsockopt(fd, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg));
}

/* ---------------------------------------------------------------------------------------- */
/* the two-process driver: a raw epoll client in a child pinned to the other CPU */

static void child_setup(int cpu)
{
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    signal(SIGTERM, SIG_DFL);
    alarm(600); /* bounded whatever happens to the parent */
    bench_pin(cpu);
}

static __attribute__((noreturn)) void tcp_driver_main(int cpu, uint16_t port, int flows)
{
    child_setup(cpu);
    int ep = epoll_create1(EPOLL_CLOEXEC);
    size_t *got = calloc((size_t)flows, sizeof(*got));
    if (ep < 0 || got == NULL)
        _exit(1);
    struct sockaddr_in sa;
    bench_loopback(&sa, port);
    for (int i = 0; i < flows; i++) {
        int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
        if (fd < 0 || connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0)
            _exit(1);
        bench_set_nodelay(fd);
        bench_set_nonblock(fd);
        struct epoll_event ev = {.events = EPOLLIN, .data.u64 = (uint64_t)i << 32 | (uint32_t)fd};
        epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev);
        if (send(fd, bench_payload, BENCH_MSG, MSG_NOSIGNAL) != BENCH_MSG)
            _exit(1);
    }
    char buf[4096];
    struct epoll_event evs[256];
    for (;;) {
        int n = epoll_wait(ep, evs, 256, -1);
        for (int k = 0; k < n; k++) {
            int fd = (int)(uint32_t)evs[k].data.u64;
            size_t i = (size_t)(evs[k].data.u64 >> 32);
            ssize_t m = recv(fd, buf, sizeof(buf), 0);
            if (m <= 0) {
                if (m < 0 && errno == EAGAIN)
                    continue;
                _exit(0); /* the server went away: the run is over */
            }
            got[i] += (size_t)m;
            while (got[i] >= BENCH_MSG) {
                got[i] -= BENCH_MSG;
                if (send(fd, bench_payload, BENCH_MSG, MSG_NOSIGNAL) != BENCH_MSG)
                    _exit(0);
            }
        }
    }
}

static __attribute__((noreturn)) void udp_driver_main(int cpu, const uint16_t *ports, int n)
{
    child_setup(cpu);
    int ep = epoll_create1(EPOLL_CLOEXEC);
    if (ep < 0)
        _exit(1);
    for (int i = 0; i < n; i++) {
        int fd = bench_socket(SOCK_DGRAM, 1, 1, 0, 0);
        struct sockaddr_in sa;
        bench_loopback(&sa, ports[i]);
        if (fd < 0 || connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0)
            _exit(1);
        struct epoll_event ev = {.events = EPOLLIN, .data.fd = fd};
        epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev);
        send(fd, bench_payload, BENCH_MSG, 0);
    }
    char buf[2048];
    struct epoll_event evs[256];
    for (;;) {
        int m = epoll_wait(ep, evs, 256, -1);
        for (int k = 0; k < m; k++) {
            int fd = evs[k].data.fd;
            while (recv(fd, buf, sizeof(buf), 0) >= 0)
                send(fd, bench_payload, BENCH_MSG, 0);
            if (errno == ECONNREFUSED)
                _exit(0); /* the server socket is gone */
        }
    }
}

static int spawn(struct bench_run *r, int kind, uint16_t port, const uint16_t *ports, int n)
{
    pid_t pid = fork();
    if (pid < 0)
        return -errno;
    if (pid == 0) {
        if (kind == 0)
            tcp_driver_main(bench_other_cpu(r->cpu), port, r->flows);
        udp_driver_main(bench_other_cpu(r->cpu), ports, n);
    }
    r->aux_pid = (int)pid;
    return 0;
}

int bench_aux_tcp_driver(struct bench_run *r, uint16_t port)
{
    return spawn(r, 0, port, NULL, 0);
}

int bench_aux_udp_driver(struct bench_run *r, const uint16_t *ports, int n)
{
    return spawn(r, 1, 0, ports, n);
}

/* ---------------------------------------------------------------------------------------- */
/* the sendmmsg blaster (udp_pump) */

struct blaster {
    pthread_t th;
    atomic_int stop;
    int fd, cpu;
    uint64_t sent, t0;
};

static void *blaster_main(void *arg)
{
    struct blaster *b = arg;
    bench_pin(b->cpu);
    struct mmsghdr msgs[BENCH_BATCH];
    static char dgram[BENCH_MSG];
    struct iovec iov = {.iov_base = dgram, .iov_len = BENCH_MSG};
    memset(msgs, 0, sizeof(msgs));
    for (int i = 0; i < BENCH_BATCH; i++) {
        msgs[i].msg_hdr.msg_iov = &iov;
        msgs[i].msg_hdr.msg_iovlen = 1;
    }
    while (!atomic_load_explicit(&b->stop, memory_order_relaxed)) {
        int n = sendmmsg(b->fd, msgs, BENCH_BATCH, 0);
        if (n > 0)
            b->sent += (uint64_t)n;
    }
    return NULL;
}

int bench_aux_blaster(struct bench_run *r, uint16_t port)
{
    struct blaster *b = calloc(1, sizeof(*b));
    if (b == NULL)
        return -ENOMEM;
    b->fd = bench_socket(SOCK_DGRAM, 0, 1, 0, 0);
    struct sockaddr_in sa;
    bench_loopback(&sa, port);
    if (b->fd < 0 || connect(b->fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
        int err = b->fd < 0 ? b->fd : -errno;
        if (b->fd >= 0)
            close(b->fd);
        free(b);
        return err;
    }
    /* a full receive queue drops on the receiver's side; a refused datagram (ICMP) is ignored */
    b->cpu = bench_other_cpu(r->cpu);
    b->t0 = bench_now_ns();
    if (pthread_create(&b->th, NULL, blaster_main, b) != 0) {
        close(b->fd);
        free(b);
        return -EAGAIN;
    }
    r->aux_thread = b;
    return 0;
}

void bench_aux_stop(struct bench_run *r)
{
    if (r->aux_pid > 0) {
        kill(r->aux_pid, SIGKILL);
        waitpid(r->aux_pid, NULL, 0);
        r->aux_pid = 0;
    }
    if (r->aux_thread != NULL) {
        struct blaster *b = r->aux_thread;
        atomic_store(&b->stop, 1);
        pthread_join(b->th, NULL);
        /* what the blaster offered, beside what the receiver took */
        r->res->extra = (double)b->sent / ((double)(bench_now_ns() - b->t0) * 1e-9);
        close(b->fd);
        free(b);
        r->aux_thread = NULL;
    }
}

/* ---------------------------------------------------------------------------------------- */
/* idle_memory clients */

/* The clients live in a child process, so the process being measured holds only its own side
 * of each connection (and its descriptor limit only has to cover those).  The parent asks for
 * k more connections over a socketpair; the child answers with how many it has, or -errno. */

#ifndef IP_BIND_ADDRESS_NO_PORT
#define IP_BIND_ADDRESS_NO_PORT 24
#endif

struct clients_req {
    int port, k;
};

static __attribute__((noreturn)) void clients_main(int ctl, int cap)
{
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    /* nothing of the parent's: its listener and rings must not live on in here */
    if (ctl != 3) {
        dup2(ctl, 3);
        ctl = 3;
    }
    close_range(4, ~0u, 0);
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0) {
        rl.rlim_cur = rl.rlim_max;
        setrlimit(RLIMIT_NOFILE, &rl);
    }
    int n = 0;
    struct clients_req q;
    while (read(ctl, &q, sizeof(q)) == (ssize_t)sizeof(q) && q.k > 0) {
        struct sockaddr_in dst;
        bench_loopback(&dst, (uint16_t)q.port);
        int res = 0;
        for (int i = 0; i < q.k && n < cap; i++) {
            int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
            if (fd < 0) {
                res = -errno;
                break;
            }
            /* a source address per 16,000 connections, the port chosen at connect time (only
             * the 4-tuple has to be unique), so 100,000 connections fit */
            int one = 1;
            setsockopt(fd, IPPROTO_IP, IP_BIND_ADDRESS_NO_PORT, &one, sizeof(one));
            struct sockaddr_in src;
            bench_loopback(&src, 0);
            src.sin_addr.s_addr = htonl(INADDR_LOOPBACK + 1u + (uint32_t)(n / 16000));
            if (bind(fd, (struct sockaddr *)&src, sizeof(src)) < 0 ||
                connect(fd, (struct sockaddr *)&dst, sizeof(dst)) < 0) {
                res = -errno;
                close(fd);
                break;
            }
            n++;
        }
        int reply = res < 0 ? res : n;
        if (write(ctl, &reply, sizeof(reply)) != (ssize_t)sizeof(reply))
            break;
    }
    _exit(0); /* every client descriptor closes with the process */
}

int bench_clients_alloc(struct bench_clients *c, int cap)
{
    c->n = 0;
    c->cap = cap;
    c->ctl = -1;
    c->pid = 0;
    int sv[2];
    if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0)
        return -errno;
    pid_t pid = fork();
    if (pid < 0) {
        int err = -errno;
        close(sv[0]);
        close(sv[1]);
        return err;
    }
    if (pid == 0) {
        close(sv[0]);
        clients_main(sv[1], cap);
    }
    close(sv[1]);
    c->ctl = sv[0];
    c->pid = (int)pid;
    return 0;
}

int bench_clients_connect(struct bench_clients *c, uint16_t port, int k)
{
    if (k <= 0)
        return 0;
    struct clients_req q = {port, k};
    int reply = 0;
    if (write(c->ctl, &q, sizeof(q)) != (ssize_t)sizeof(q) ||
        read(c->ctl, &reply, sizeof(reply)) != (ssize_t)sizeof(reply))
        return -EPIPE;
    if (reply < 0)
        return reply;
    c->n = reply;
    return 0;
}

void bench_clients_free(struct bench_clients *c)
{
    if (c->pid <= 0)
        return; /* never started */
    if (c->ctl >= 0) {
        struct clients_req q = {0, 0};
        if (write(c->ctl, &q, sizeof(q)) < 0) {
            /* the child is gone already */
        }
        close(c->ctl);
        c->ctl = -1;
    }
    if (c->pid > 0) {
        waitpid(c->pid, NULL, 0);
        c->pid = 0;
    }
    c->n = 0;
}

int bench_raise_nofile(long n)
{
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) < 0)
        return -errno;
    if (rl.rlim_cur >= (rlim_t)n)
        return 0;
    rl.rlim_cur = (rlim_t)n;
    if (rl.rlim_max < (rlim_t)n)
        rl.rlim_max = (rlim_t)n;
    if (setrlimit(RLIMIT_NOFILE, &rl) < 0)
        return -errno;
    return 0;
}

void bench_mem_snap(struct bench_mem *m)
{
    malloc_trim(0); /* give freed pages back, so the RSS delta is this run's */
    struct mallinfo2 mi = mallinfo2();
    m->heap = (double)mi.uordblks + (double)mi.hblkhd;
    m->rss = 0;
    FILE *f = fopen("/proc/self/statm", "r");
    if (f != NULL) {
        unsigned long size = 0, res = 0;
        if (fscanf(f, "%lu %lu", &size, &res) == 2)
            m->rss = (double)res * (double)sysconf(_SC_PAGESIZE);
        fclose(f);
    }
}

void bench_mem_result(struct bench_run *r, const struct bench_mem *before,
                      const struct bench_mem *after, int n)
{
    bench_set_value(r, (after->heap - before->heap) / n, (after->rss - before->rss) / n);
}
