/* asock-bench: the harness shared by every implementation (peers/<name>.c).
 *
 * A workload (pound, tcp_ping_pong, ...) is run as a "case": the workload plus its parameters
 * (flows, one or two processes, threads).  Every (workload, implementation) pair is one function
 * of type bench_fn; an implementation lists its functions in a struct bench_impl.
 *
 * The pair function owns everything it creates: it opens its sockets (loopback, ephemeral ports),
 * drives them until bench_op() or bench_tick() says the run is over, then closes everything.
 * The harness decides when the warm-up ends and the window starts and stops, and measures the
 * window (wall time, CPU time of the calling thread, callgrind collection).
 */
#ifndef ASOCK_BENCH_H
#define ASOCK_BENCH_H

#include <netinet/in.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/socket.h>

enum bench_workload {
    WL_POUND,         /* connect + accept + close churn; flows = connects in flight */
    WL_TCP_PING_PONG, /* 64-byte round trips over `flows` connections */
    WL_UDP_PING_PONG, /* 64-byte round trips over `flows` socket pairs */
    WL_UDP_PUMP,      /* receive from the shared sendmmsg blaster */
    WL_UDP_SEND,      /* send into the shared recvmmsg sink */
    WL_TCP_PUMP,      /* one stream, 64 KiB writes */
    WL_TCP_ECHO_MT,   /* tcp_ping_pong, one loop per thread, SO_REUSEPORT listeners */
    WL_IDLE_MEMORY,   /* library bytes per idle connected socket with a pending receive */
    WL_COUNT
};

#define BENCH_MSG      64          /* message size of the ping-pong and datagram workloads */
#define BENCH_PUMP_BUF (64 * 1024) /* tcp_pump write and read size */
#define BENCH_BATCH    64          /* sends per loop iteration (udp_send), blaster batch */

/* A case: one row group of the table. */
struct bench_case {
    const char *name;  /* "tcp_ping_pong" */
    const char *label; /* "tcp_ping_pong/100/2p": unique, used in the table and the CSV */
    enum bench_workload wl;
    int flows;
    int two_process;     /* the peer runs in a child process pinned on the other CPU */
    int threads;         /* WL_TCP_ECHO_MT: loops (one per thread) */
    const char *unit;    /* of the value: "rt/s", "conn/s", "dgram/s", "B/s", "B/conn" */
    int lower_is_better; /* idle_memory */
};

struct bench_run;
typedef int bench_fn(struct bench_run *r);

/* An implementation: its name and one function per workload (NULL: not applicable). */
struct bench_impl {
    const char *name;
    const char *what; /* one line for --list and the docs */
    int variant;      /* implementation-private (asock: the engine) */
    bench_fn *fn[WL_COUNT];
    const char *na_reason[WL_COUNT]; /* why a workload is not applicable */
    void (*prime)(void);             /* one-time global initialisation, before any run (libuv
                                        opens process-wide descriptors on first use) */
};

extern const struct bench_impl bench_impl_asock_uring;
extern const struct bench_impl bench_impl_asock_epoll;
extern const struct bench_impl bench_impl_raw_epoll;
extern const struct bench_impl bench_impl_raw_uring;
extern const struct bench_impl bench_impl_blocking;
extern const struct bench_impl bench_impl_libuv;

/* The outcome of one run of one pair. */
struct bench_result {
    int ok;          /* 1: measured; 0: failed or skipped (note says why) */
    int skipped;     /* not applicable / not possible here */
    uint64_t ops;    /* operations (or bytes, for tcp_pump) in the window */
    double secs;     /* window wall time */
    double cpu_secs; /* user + system time of the measuring thread(s) during the window */
    double value;    /* the figure: ops / secs, or what the pair set (idle_memory) */
    double extra;    /* a second figure (idle_memory: RSS bytes per connection; udp_pump: the
                        blaster's offered rate) */
    double foreign;  /* CPU used by other processes on the machine while this ran, in CPUs */
    char note[160];
};

/* One run of one pair.  The pair function reads cfg fields and calls the helpers below. */
struct bench_run {
    const struct bench_case *bc;
    const struct bench_impl *impl;
    struct bench_result *res;
    int flows;
    int two_process;
    int count_mode;          /* phases are bounded by operation counts (callgrind): no clock */
    uint16_t reuseport;      /* WL_TCP_ECHO_MT: listen on this port with SO_REUSEPORT */
    struct sockaddr_in sink; /* WL_UDP_SEND: where to send */
    int cpu;                 /* the CPU this run's thread is pinned to (-1: none) */
    /* harness state (private) */
    uint64_t ops;
    uint32_t budget;
    uint64_t ops_trip;
    int phase; /* 0 setup, 1 warm-up, 2 window, 3 done */
    uint64_t warm_ops, max_ops;
    uint64_t t_warm_end, t_end, t_hard;
    uint64_t t0;
    double cpu0;
    uint64_t ops0;
    uint64_t start_at; /* absolute start of the warm-up shared by several threads (0: now) */
    double warm_s, window_s;
    /* a stall breaker the pair may set: called from another thread when the window is over but
     * the pair has not returned (asock: post a tick to the loop) */
    void (*poke)(struct bench_run *r);
    void *poke_arg;
    volatile int finished;
    /* auxiliary peers started by the pair through bench_aux_* */
    int aux_pid;
    void *aux_thread;
};

/* ---- phase control ---- */

/* Called by the pair once its sockets exist: the warm-up starts now. */
void bench_start(struct bench_run *r);
int bench__tick(struct bench_run *r);

/* Counts n operations; returns 1 once the run is over (then keep returning, stop the loop). */
static inline int bench_op(struct bench_run *r, uint64_t n)
{
    r->ops += n;
    if (--r->budget == 0 || r->ops >= r->ops_trip)
        return bench__tick(r);
    return 0;
}

/* Checks the clock without counting (call it after a wait that timed out).  1: over. */
static inline int bench_tick(struct bench_run *r)
{
    return bench__tick(r);
}

static inline int bench_done(const struct bench_run *r)
{
    return r->phase >= 3;
}

/* Sets the figure directly (idle_memory) instead of ops / secs. */
void bench_set_value(struct bench_run *r, double value, double extra);
void bench_fail(struct bench_run *r, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void bench_skip(struct bench_run *r, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* ---- helpers ---- */

uint64_t bench_now_ns(void);
double bench_thread_cpu(void); /* user + system seconds of the calling thread */
void bench_pin(int cpu);       /* pins the calling thread (-1: no-op) */
int bench_other_cpu(int cpu);

/* A raw IPv4 loopback socket.  type SOCK_STREAM / SOCK_DGRAM; flags SOCK_NONBLOCK or 0.
 * bound to 127.0.0.1:port (0: ephemeral) unless bind == 0.  Returns the fd or -errno. */
int bench_socket(int type, int nonblock, int bind_it, uint16_t port, int reuseport);
uint16_t bench_port_of(int fd);
void bench_loopback(struct sockaddr_in *sa, uint16_t port);
int bench_listen_raw(int nonblock, uint16_t port, int reuseport, uint16_t *port_out);
void bench_set_nodelay(int fd);
void bench_set_linger0(int fd);
int bench_set_nonblock(int fd);

/* A constant payload of BENCH_PUMP_BUF bytes every implementation sends from. */
extern const char bench_payload[BENCH_PUMP_BUF];

/* ---- auxiliary peers (the same for every implementation) ---- */

/* two_process ping-pong: a raw epoll driver in a child pinned to the other CPU.  TCP: `flows`
 * connections to port; UDP: one client socket per server port in ports[]. */
int bench_aux_tcp_driver(struct bench_run *r, uint16_t port);
int bench_aux_udp_driver(struct bench_run *r, const uint16_t *ports, int n);
/* udp_pump: the sendmmsg blaster thread, pinned to the other CPU, aimed at port. */
int bench_aux_blaster(struct bench_run *r, uint16_t port);
void bench_aux_stop(struct bench_run *r);

/* idle_memory: the client ends, held by a child process (not counted, and not in this
 * process's descriptor limit). */
struct bench_clients {
    int ctl, pid;
    int n, cap;
};

int bench_clients_alloc(struct bench_clients *c, int cap);
/* Connects k more clients to 127.0.0.1:port (blocking: each is in the accept queue when this
 * returns), spread over source addresses 127.0.0.x.  Returns 0 or -errno. */
int bench_clients_connect(struct bench_clients *c, uint16_t port, int k);
void bench_clients_free(struct bench_clients *c);

/* Heap bytes in use (mallinfo2: arena in use + mmapped chunks) and the resident set size. */
struct bench_mem {
    double heap, rss;
};

void bench_mem_snap(struct bench_mem *m);
/* Records (after - before) / n as the figure (heap) and extra (RSS). */
void bench_mem_result(struct bench_run *r, const struct bench_mem *before,
                      const struct bench_mem *after, int n);

/* Raises RLIMIT_NOFILE to at least n.  0 or -errno. */
int bench_raise_nofile(long n);

/* callgrind: collection is toggled on around the window (no-ops outside valgrind). */
void bench_collect_toggle(void);

/* ---- report.c ---- */

struct bench_row {
    const struct bench_case *bc;
    const struct bench_impl *impl;
    int n;
    struct bench_result *reps; /* n results */
};

struct bench_report {
    struct bench_row *rows;
    int nrows;
    int reps;
    double seconds;
    uint64_t ops; /* counted windows (--ops), else 0 */
    const char *command;
    const char *loadavg_before, *loadavg_after;
};

void bench_report_table(const struct bench_report *rep, FILE *out);
int bench_report_csv(const struct bench_report *rep, const char *path);
int bench_report_chart(const struct bench_report *rep, const char *path);
void bench_report_targets(const struct bench_report *rep, FILE *out);
void bench_report_scaling(const struct bench_report *rep, FILE *out);
double bench_row_median(const struct bench_row *row, int what); /* 0 value, 1 cpu/op, 2 extra */

#endif
