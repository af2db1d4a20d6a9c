/* asock-bench: each workload on asock's two engines and on the peers (raw epoll, raw io_uring,
 * blocking system calls, libuv), side by side, repetitions interleaved across implementations.
 *
 *   asock-bench [--workload NAME[,NAME...]] [--impl NAME[,...]] [--seconds S] [--reps N]
 *               [--csv FILE] [--chart FILE] [--quick] [--ops N] [--list]
 *
 * Exit status: 0 every pair ran (or was skipped with a reason), 1 a pair failed, 2 usage. */
#include "bench.h"

#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <signal.h>
#include <spawn.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

extern char **environ;

/* ---------------------------------------------------------------------------------------- */
/* the registry */

static const struct bench_impl *const impls[] = {
    &bench_impl_asock_uring, &bench_impl_asock_epoll, &bench_impl_raw_epoll,
    &bench_impl_raw_uring,   &bench_impl_blocking,    &bench_impl_libuv,
};
#define NIMPLS ((int)(sizeof(impls) / sizeof(impls[0])))

/* idle_memory's flows are replaced in --quick mode */
static struct bench_case cases[] = {
    {"pound", "pound/1", WL_POUND, 1, 0, 1, "conn/s", 0},
    {"pound", "pound/64", WL_POUND, 64, 0, 1, "conn/s", 0},
    {"tcp_ping_pong", "tcp_ping_pong/1", WL_TCP_PING_PONG, 1, 0, 1, "rt/s", 0},
    {"tcp_ping_pong", "tcp_ping_pong/100", WL_TCP_PING_PONG, 100, 0, 1, "rt/s", 0},
    {"tcp_ping_pong", "tcp_ping_pong/100/2p", WL_TCP_PING_PONG, 100, 1, 1, "rt/s", 0},
    {"udp_ping_pong", "udp_ping_pong/1", WL_UDP_PING_PONG, 1, 0, 1, "rt/s", 0},
    {"udp_ping_pong", "udp_ping_pong/100", WL_UDP_PING_PONG, 100, 0, 1, "rt/s", 0},
    {"udp_ping_pong", "udp_ping_pong/100/2p", WL_UDP_PING_PONG, 100, 1, 1, "rt/s", 0},
    {"udp_pump", "udp_pump", WL_UDP_PUMP, 1, 1, 1, "dgram/s", 0},
    {"udp_send", "udp_send", WL_UDP_SEND, 1, 1, 1, "dgram/s", 0},
    {"tcp_pump", "tcp_pump", WL_TCP_PUMP, 1, 0, 1, "B/s", 0},
    {"tcp_echo_mt", "tcp_echo_mt/1t", WL_TCP_ECHO_MT, 100, 0, 1, "rt/s", 0},
    {"tcp_echo_mt", "tcp_echo_mt/2t", WL_TCP_ECHO_MT, 100, 0, 2, "rt/s", 0},
    {"idle_memory", "idle_memory/10000", WL_IDLE_MEMORY, 10000, 0, 1, "B/conn", 1},
    {"idle_memory", "idle_memory/100000", WL_IDLE_MEMORY, 100000, 0, 1, "B/conn", 1},
    {"instructions", "instructions/tcp_rt", WL_TCP_PING_PONG, 1, 0, 1, "instr/rt", 1},
    {"instructions", "instructions/udp_rt", WL_UDP_PING_PONG, 1, 0, 1, "instr/rt", 1},
};
#define NCASES ((int)(sizeof(cases) / sizeof(cases[0])))

static const char *case_skip[NCASES]; /* a case that cannot run here, and why */

static int is_instr(const struct bench_case *bc)
{
    return strcmp(bc->name, "instructions") == 0;
}

/* ---------------------------------------------------------------------------------------- */
/* options */

struct opts {
    int want_case[NCASES];
    int want_impl[NIMPLS];
    double seconds;
    int reps;
    const char *csv, *chart;
    int quick;
    uint64_t ops; /* count mode */
    const char *cg_child;
    int list;
};

static __attribute__((noreturn, format(printf, 1, 2))) void usage_error(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "asock-bench: ");
    vfprintf(stderr, fmt, ap);
    fprintf(stderr, "\nTry 'asock-bench --help'.\n");
    va_end(ap);
    exit(2);
}

static void help(void)
{
    printf(
        "usage: asock-bench [--workload NAME[,NAME...]] [--impl NAME[,...]] [--seconds S]\n"
        "                   [--reps N] [--csv FILE] [--chart FILE] [--quick] [--ops N] [--list]\n"
        "  --workload  workloads or cases (default: all but instructions):");
    const char *last = "";
    for (int i = 0; i < NCASES; i++) {
        if (strcmp(cases[i].name, last) != 0)
            printf(" %s", cases[i].name);
        last = cases[i].name;
    }
    printf("\n  --impl      implementations (default: all):");
    for (int i = 0; i < NIMPLS; i++)
        printf(" %s", impls[i]->name);
    printf("\n  --seconds   measured window per run (default 1; warm-up: a fifth, at least 0.1)\n"
           "  --reps      repetitions, interleaved across implementations (default 5)\n"
           "  --csv FILE  write every figure as CSV     --chart FILE  gnuplot chart (.png/.svg)\n"
           "  --quick     each pair for a fraction of a second, one repetition (smoke test)\n"
           "  --ops N     windows of exactly N operations instead of a time (for callgrind)\n"
           "  --list      list the cases and implementations\n"
           "exit status: 0 every pair ran or was skipped with a reason, 1 a pair failed, 2 "
           "usage\n");
}

static double parse_double(const char *s, const char *opt, double lo, double hi)
{
    char *end;
    errno = 0;
    double v = strtod(s, &end);
    if (errno != 0 || end == s || *end != '\0' || !(v >= lo && v <= hi))
        usage_error("%s wants a number in [%g, %g], not '%s'", opt, lo, hi, s);
    return v;
}

static void parse_list(char *arg, const char *kind, int *want, int n,
                       int (*match)(int, const char *))
{
    char *save = NULL;
    int any = 0;
    for (char *tok = strtok_r(arg, ",", &save); tok != NULL; tok = strtok_r(NULL, ",", &save)) {
        int hit = 0;
        for (int i = 0; i < n; i++) {
            if (match(i, tok)) {
                want[i] = 1;
                hit = 1;
            }
        }
        if (!hit) {
            fprintf(stderr, "asock-bench: unknown %s '%s'\n", kind, tok);
            fprintf(stderr, "Try 'asock-bench --list'.\n");
            exit(2);
        }
        any = 1;
    }
    if (!any)
        usage_error("empty %s list", kind);
}

static int match_case(int i, const char *tok)
{
    return strcmp(cases[i].name, tok) == 0 || strcmp(cases[i].label, tok) == 0;
}

static int match_impl(int i, const char *tok)
{
    return strcmp(impls[i]->name, tok) == 0;
}

static void parse_args(int argc, char **argv, struct opts *o)
{
    memset(o, 0, sizeof(*o));
    o->seconds = 1.0;
    o->reps = 5;
    int any_case = 0, any_impl = 0, set_reps = 0, set_secs = 0;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        const char *val = NULL;
        char name[32];
        const char *eq = strchr(a, '=');
        if (strncmp(a, "--", 2) == 0 && eq != NULL && (size_t)(eq - a) < sizeof(name)) {
            memcpy(name, a, (size_t)(eq - a));
            name[eq - a] = '\0';
            val = eq + 1;
            a = name;
        }
        int takes = strcmp(a, "--workload") == 0 || strcmp(a, "--impl") == 0 ||
                    strcmp(a, "--seconds") == 0 || strcmp(a, "--reps") == 0 ||
                    strcmp(a, "--csv") == 0 || strcmp(a, "--chart") == 0 ||
                    strcmp(a, "--ops") == 0 || strcmp(a, "--cg-child") == 0;
        if (takes && val == NULL) {
            if (i + 1 >= argc)
                usage_error("option %s needs a value", a);
            val = argv[++i];
        } else if (!takes && val != NULL) {
            usage_error("option %s takes no value", a);
        }
        if (strcmp(a, "--workload") == 0) {
            char *copy = strdup(val);
            parse_list(copy, "workload", o->want_case, NCASES, match_case);
            free(copy);
            any_case = 1;
        } else if (strcmp(a, "--impl") == 0) {
            char *copy = strdup(val);
            parse_list(copy, "implementation", o->want_impl, NIMPLS, match_impl);
            free(copy);
            any_impl = 1;
        } else if (strcmp(a, "--seconds") == 0) {
            o->seconds = parse_double(val, "--seconds", 0.01, 60);
            set_secs = 1;
        } else if (strcmp(a, "--reps") == 0) {
            o->reps = (int)parse_double(val, "--reps", 1, 100);
            if ((double)o->reps != strtod(val, NULL))
                usage_error("--reps wants a whole number in [1, 100], not '%s'", val);
            set_reps = 1;
        } else if (strcmp(a, "--ops") == 0) {
            double v = parse_double(val, "--ops", 1, 1e8);
            o->ops = (uint64_t)v;
            if ((double)o->ops != v)
                usage_error("--ops wants a whole number in [1, 100000000], not '%s'", val);
        } else if (strcmp(a, "--csv") == 0) {
            if (*val == '\0')
                usage_error("--csv wants a file name%s", "");
            o->csv = val;
        } else if (strcmp(a, "--chart") == 0) {
            size_t n = strlen(val);
            if (n < 5 || (strcmp(val + n - 4, ".png") != 0 && strcmp(val + n - 4, ".svg") != 0))
                usage_error("--chart wants a file name ending in .png or .svg, not '%s'", val);
            o->chart = val;
        } else if (strcmp(a, "--cg-child") == 0) {
            o->cg_child = val;
        } else if (strcmp(a, "--quick") == 0) {
            o->quick = 1;
        } else if (strcmp(a, "--list") == 0) {
            o->list = 1;
        } else if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
            help();
            exit(0);
        } else if (a[0] == '-') {
            usage_error("unknown option '%s'", a);
        } else {
            usage_error("unexpected argument '%s' (asock-bench takes options only)", a);
        }
    }
    if (!any_case) {
        for (int i = 0; i < NCASES; i++)
            o->want_case[i] = !is_instr(&cases[i]);
    }
    if (!any_impl) {
        for (int i = 0; i < NIMPLS; i++)
            o->want_impl[i] = 1;
    }
    if (o->quick) {
        if (!set_secs)
            o->seconds = 0.1;
        if (!set_reps)
            o->reps = 1;
    }
}

/* ---------------------------------------------------------------------------------------- */
/* the watchdog: every run is bounded in time even if an implementation stalls */

static struct bench_run *volatile watched[2];
static atomic_int nwatched;

static void *watchdog_main(void *arg)
{
    (void)arg;
    for (;;) {
        struct timespec ts = {0, 50 * 1000 * 1000};
        nanosleep(&ts, NULL);
        int n = atomic_load(&nwatched);
        uint64_t now = bench_now_ns();
        for (int i = 0; i < n; i++) {
            struct bench_run *r = watched[i];
            if (r == NULL || r->finished)
                continue;
            uint64_t end = r->count_mode ? r->t_hard : r->t_end;
            if (r->phase == 0 || end == 0)
                end = r->t_hard; /* setup */
            if (now > end + 300000000u && r->poke != NULL)
                r->poke(r);
            if (now > end + 20ull * 1000000000u) {
                fprintf(stderr,
                        "asock-bench: %s on %s did not finish in time (phase %d); "
                        "giving up\n",
                        r->bc->label, r->impl->name, r->phase);
                _exit(3);
            }
        }
    }
    return NULL;
}

/* ---------------------------------------------------------------------------------------- */
/* the recvmmsg sink (udp_send) */

struct sink {
    pthread_t th;
    atomic_int stop;
    int fd, cpu;
};

static void *sink_main(void *arg)
{
    struct sink *s = arg;
    bench_pin(s->cpu);
    static char bufs[BENCH_BATCH][2048];
    struct mmsghdr msgs[BENCH_BATCH];
    struct iovec iov[BENCH_BATCH];
    memset(msgs, 0, sizeof(msgs));
    for (int i = 0; i < BENCH_BATCH; i++) {
        iov[i].iov_base = bufs[i];
        iov[i].iov_len = sizeof(bufs[i]);
        msgs[i].msg_hdr.msg_iov = &iov[i];
        msgs[i].msg_hdr.msg_iovlen = 1;
    }
    struct timeval tv = {0, 20000};
    setsockopt(s->fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
    while (!atomic_load_explicit(&s->stop, memory_order_relaxed))
        recvmmsg(s->fd, msgs, BENCH_BATCH, 0, NULL);
    return NULL;
}

/* ---------------------------------------------------------------------------------------- */
/* running a pair */

/* The machine's busy CPU seconds (all CPUs) and this process's own (children reaped included):
 * their difference over a run is what other processes took meanwhile. */
static void cpu_split(double *machine, double *mine)
{
    *machine = 0;
    FILE *f = fopen("/proc/stat", "r");
    if (f != NULL) {
        unsigned long long v[10] = {0};
        if (fscanf(f, "cpu %llu %llu %llu %llu %llu %llu %llu %llu", &v[0], &v[1], &v[2], &v[3],
                   &v[4], &v[5], &v[6], &v[7]) == 8) {
            /* user nice system [idle iowait irq softirq] steal: interrupt time is left out,
             * it is mostly this process's own loopback traffic (with IRQ time accounting it is
             * not charged to the task) */
            unsigned long long busy = v[0] + v[1] + v[2] + v[7];
            *machine = (double)busy / (double)sysconf(_SC_CLK_TCK);
        }
        fclose(f);
    }
    struct rusage a, b;
    getrusage(RUSAGE_SELF, &a);
    getrusage(RUSAGE_CHILDREN, &b);
    *mine =
        (double)(a.ru_utime.tv_sec + a.ru_stime.tv_sec + b.ru_utime.tv_sec + b.ru_stime.tv_sec) +
        1e-6 * (double)(a.ru_utime.tv_usec + a.ru_stime.tv_usec + b.ru_utime.tv_usec +
                        b.ru_stime.tv_usec);
}

static int count_fds(void)
{
    DIR *d = opendir("/proc/self/fd");
    if (d == NULL)
        return -1;
    int n = 0;
    while (readdir(d) != NULL)
        n++;
    closedir(d);
    return n;
}

struct mt_arg {
    struct bench_run r;
    pthread_t th;
    struct bench_result res;
};

static void *mt_main(void *arg)
{
    struct mt_arg *a = arg;
    bench_pin(a->r.cpu);
    a->r.impl->fn[WL_TCP_PING_PONG](&a->r);
    a->r.finished = 1;
    return NULL;
}

static void init_run(struct bench_run *r, const struct bench_case *bc, const struct bench_impl *im,
                     struct bench_result *res, const struct opts *o)
{
    memset(r, 0, sizeof(*r));
    r->bc = bc;
    r->impl = im;
    r->res = res;
    r->flows = bc->flows;
    r->two_process = bc->two_process && bc->wl != WL_UDP_PUMP && bc->wl != WL_UDP_SEND;
    r->budget = 32;
    r->ops_trip = UINT64_MAX;
    r->window_s = o->seconds;
    r->warm_s = o->seconds / 5 < 0.1 ? 0.1 : o->seconds / 5;
    if (o->quick && r->warm_s > 0.05)
        r->warm_s = 0.05;
    if (o->ops != 0) {
        r->count_mode = 1;
        r->max_ops = o->ops;
        r->warm_ops = o->ops / 10 + 1;
    }
    r->t_hard = bench_now_ns() + (uint64_t)((o->seconds + 30 + (o->ops ? 600 : 0)) * 1e9);
    r->cpu = 0;
}

static void run_mt(const struct bench_case *bc, const struct bench_impl *im,
                   struct bench_result *res, const struct opts *o)
{
    struct mt_arg a[2];
    int n = bc->threads > 2 ? 2 : bc->threads;
    uint16_t port = 0;
    /* a port every thread's listener can share: taken from a throw-away SO_REUSEPORT socket that
     * stays open until the threads have bound theirs */
    int hold = bench_socket(SOCK_STREAM, 0, 1, 0, 1); /* bound, never listening */
    if (hold < 0) {
        snprintf(res->note, sizeof(res->note), "no port: %s", strerror(-hold));
        return;
    }
    port = bench_port_of(hold);
    uint64_t start = bench_now_ns() + 300000000u; /* every loop warms up from the same instant */
    for (int i = 0; i < n; i++) {
        init_run(&a[i].r, bc, im, &a[i].res, o);
        memset(&a[i].res, 0, sizeof(a[i].res));
        a[i].r.reuseport = port;
        a[i].r.cpu = i;
        a[i].r.start_at = start;
        watched[i] = &a[i].r;
    }
    atomic_store(&nwatched, n);
    for (int i = 0; i < n; i++)
        pthread_create(&a[i].th, NULL, mt_main, &a[i]);
    for (int i = 0; i < n; i++)
        pthread_join(a[i].th, NULL);
    close(hold);
    atomic_store(&nwatched, 0);
    res->ok = 1;
    for (int i = 0; i < n; i++) {
        if (!a[i].res.ok) {
            res->ok = 0;
            snprintf(res->note, sizeof(res->note), "thread %d: %.120s", i, a[i].res.note);
            return;
        }
        res->ops += a[i].res.ops;
        res->cpu_secs += a[i].res.cpu_secs;
        res->secs += a[i].res.secs / n;
        res->value += (double)a[i].res.ops / a[i].res.secs;
    }
}

static void run_pair(const struct bench_case *bc, const struct bench_impl *im,
                     struct bench_result *res, const struct opts *o)
{
    memset(res, 0, sizeof(*res));
    enum bench_workload wl = bc->wl;
    bench_fn *fn = im->fn[wl == WL_TCP_ECHO_MT ? WL_TCP_PING_PONG : wl];
    if (fn == NULL || (wl == WL_TCP_ECHO_MT && im->fn[WL_TCP_ECHO_MT] == NULL)) {
        res->skipped = 1;
        snprintf(res->note, sizeof(res->note), "%s",
                 im->na_reason[wl] != NULL ? im->na_reason[wl] : "not applicable");
        return;
    }
    const char *why = case_skip[bc - cases];
    if (why != NULL) {
        res->skipped = 1;
        snprintf(res->note, sizeof(res->note), "%s", why);
        return;
    }
    int fds0 = count_fds();
    double m0, me0, m1, me1;
    uint64_t w0 = bench_now_ns();
    cpu_split(&m0, &me0);
    if (wl == WL_TCP_ECHO_MT) {
        run_mt(bc, im, res, o);
    } else {
        struct bench_run r;
        init_run(&r, bc, im, res, o);
        bench_pin(r.cpu);
        struct sink *sk = NULL;
        if (wl == WL_UDP_SEND) {
            sk = calloc(1, sizeof(*sk));
            sk->fd = bench_socket(SOCK_DGRAM, 0, 1, 0, 0);
            sk->cpu = bench_other_cpu(r.cpu);
            bench_loopback(&r.sink, bench_port_of(sk->fd));
            pthread_create(&sk->th, NULL, sink_main, sk);
        }
        watched[0] = &r;
        atomic_store(&nwatched, 1);
        fn(&r);
        r.finished = 1;
        atomic_store(&nwatched, 0);
        bench_aux_stop(&r);
        if (sk != NULL) {
            atomic_store(&sk->stop, 1);
            pthread_join(sk->th, NULL);
            close(sk->fd);
            free(sk);
        }
        if (res->ok && res->value == 0 && res->secs > 0)
            res->value = (double)res->ops / res->secs;
    }
    cpu_split(&m1, &me1);
    double wall = (double)(bench_now_ns() - w0) * 1e-9;
    if (wall > 0.05) {
        res->foreign = ((m1 - m0) - (me1 - me0)) / wall;
        if (res->foreign < 0)
            res->foreign = 0;
    }
    if (res->ok && res->ops == 0 && wl != WL_IDLE_MEMORY) {
        res->ok = 0;
        snprintf(res->note, sizeof(res->note), "no operation completed in the window");
    }
    int fds1 = count_fds();
    if (res->ok && fds1 != fds0) {
        /* name what was left open, for whoever has to find the leak */
        DIR *d = opendir("/proc/self/fd");
        struct dirent *de;
        while (d != NULL && (de = readdir(d)) != NULL) {
            char path[300], target[256];
            snprintf(path, sizeof(path), "/proc/self/fd/%s", de->d_name);
            ssize_t n = readlink(path, target, sizeof(target) - 1);
            if (n > 0) {
                target[n] = '\0';
                fprintf(stderr, "asock-bench: open after %s on %s: fd %s -> %s\n", bc->label,
                        im->name, de->d_name, target);
            }
        }
        if (d != NULL)
            closedir(d);
        res->ok = 0;
        snprintf(res->note, sizeof(res->note), "descriptor leak: %d before, %d after", fds0, fds1);
    }
}

/* ---------------------------------------------------------------------------------------- */
/* instructions: the pair re-run under valgrind --tool=callgrind, collection on in the window */

static int run_callgrind(const struct bench_case *bc, const struct bench_impl *im,
                         struct bench_result *res, const struct opts *o)
{
    memset(res, 0, sizeof(*res));
    if (im->fn[bc->wl] == NULL) {
        res->skipped = 1;
        snprintf(res->note, sizeof(res->note), "not applicable");
        return 0;
    }
    char exe[PATH_MAX];
    ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
    if (n <= 0)
        return -1;
    exe[n] = '\0';
    char cgout[64], opsf[64], outarg[96], ops[32], wl[64];
    snprintf(cgout, sizeof(cgout), "/tmp/asock-bench-cg.%d.out", (int)getpid());
    snprintf(opsf, sizeof(opsf), "/tmp/asock-bench-cg.%d.ops", (int)getpid());
    snprintf(outarg, sizeof(outarg), "--callgrind-out-file=%s", cgout);
    snprintf(ops, sizeof(ops), "%llu",
             (unsigned long long)(o->ops != 0 ? o->ops : (o->quick ? 2000 : 20000)));
    snprintf(wl, sizeof(wl), "%s",
             bc->wl == WL_TCP_PING_PONG ? "tcp_ping_pong/1" : "udp_ping_pong/1");
    char implname[64];
    snprintf(implname, sizeof(implname), "%s", im->name);
    char *argv[] = {"valgrind",
                    "--tool=callgrind",
                    "--collect-atstart=no",
                    outarg,
                    "-q",
                    exe,
                    "--cg-child",
                    opsf,
                    "--workload",
                    wl,
                    "--impl",
                    implname,
                    "--ops",
                    ops,
                    NULL};
    pid_t pid;
    int rc = posix_spawnp(&pid, "valgrind", NULL, NULL, argv, environ);
    if (rc != 0) {
        res->skipped = 1;
        snprintf(res->note, sizeof(res->note), "valgrind not available: %s", strerror(rc));
        return 0;
    }
    int st = 0;
    waitpid(pid, &st, 0);
    unsigned long long total = 0, nops = 0;
    FILE *f = fopen(cgout, "r");
    if (f != NULL) {
        char line[256];
        while (fgets(line, sizeof(line), f) != NULL) {
            if (strncmp(line, "totals:", 7) == 0 || strncmp(line, "summary:", 8) == 0)
                total = strtoull(strchr(line, ':') + 1, NULL, 10);
        }
        fclose(f);
    }
    f = fopen(opsf, "r");
    if (f != NULL) {
        if (fscanf(f, "%llu", &nops) != 1)
            nops = 0;
        fclose(f);
    }
    unlink(cgout);
    unlink(opsf);
    if (!WIFEXITED(st) || WEXITSTATUS(st) != 0 || total == 0 || nops == 0) {
        snprintf(res->note, sizeof(res->note), "callgrind run failed (status %d)", st);
        return 0;
    }
    res->ok = 1;
    res->ops = nops;
    res->secs = 1;
    res->value = (double)total / (double)nops;
    return 0;
}

/* ---------------------------------------------------------------------------------------- */

static void loadavg(char *buf, size_t len)
{
    buf[0] = '\0';
    FILE *f = fopen("/proc/loadavg", "r");
    if (f == NULL)
        return;
    if (fgets(buf, (int)len, f) == NULL)
        buf[0] = '\0';
    fclose(f);
    char *nl = strchr(buf, '\n');
    if (nl != NULL)
        *nl = '\0';
}

int main(int argc, char **argv)
{
    struct opts o;
    parse_args(argc, argv, &o);
    signal(SIGPIPE, SIG_IGN);
    if (o.list) {
        printf("cases:\n");
        for (int i = 0; i < NCASES; i++)
            printf("  %-22s %s\n", cases[i].label, cases[i].unit);
        printf("implementations:\n");
        for (int i = 0; i < NIMPLS; i++)
            printf("  %-12s %s\n", impls[i]->name, impls[i]->what);
        return 0;
    }
    if (o.quick) {
        for (int i = 0; i < NCASES; i++) {
            if (cases[i].wl == WL_IDLE_MEMORY)
                cases[i].flows = cases[i].flows > 10000 ? 0 : 1000;
        }
    }
    /* The watchdog is a thread, and a process that ever had a second thread pays glibc's
     * cancellation-point wrapper on every system call (about 40 instructions).  Every timed run
     * pays it alike; the callgrind child stays single-threaded (bounded by alarm instead) so
     * the instruction counts are those of the implementations alone. */
    if (o.cg_child != NULL) {
        alarm(900);
    } else {
        pthread_t wd;
        pthread_create(&wd, NULL, watchdog_main, NULL);
    }
    for (int i = 0; i < NIMPLS; i++)
        if (o.want_impl[i] && impls[i]->prime != NULL)
            impls[i]->prime();

    if (o.cg_child != NULL) {
        /* one pair, one repetition, counted windows; the parent reads callgrind's totals */
        const struct bench_case *bc = NULL;
        const struct bench_impl *im = NULL;
        for (int i = 0; i < NCASES && bc == NULL; i++)
            if (o.want_case[i] && !is_instr(&cases[i]))
                bc = &cases[i];
        for (int i = 0; i < NIMPLS && im == NULL; i++)
            if (o.want_impl[i])
                im = impls[i];
        if (bc == NULL || im == NULL || o.ops == 0)
            usage_error("--cg-child needs one workload, one implementation and --ops%s", "");
        struct bench_result res;
        run_pair(bc, im, &res, &o);
        if (!res.ok) {
            fprintf(stderr, "asock-bench: %s on %s: %s\n", bc->label, im->name, res.note);
            return 1;
        }
        FILE *f = fopen(o.cg_child, "w");
        if (f == NULL)
            return 1;
        fprintf(f, "%llu\n", (unsigned long long)res.ops);
        fclose(f);
        return 0;
    }

    /* idle_memory holds its side of every connection (the clients are in a child) */
    for (int i = 0; i < NCASES; i++) {
        if (o.want_case[i] && cases[i].wl == WL_IDLE_MEMORY && cases[i].flows > 0 &&
            bench_raise_nofile(cases[i].flows + 1000L) < 0) {
            static char why[NCASES][160];
            snprintf(why[i], sizeof(why[i]),
                     "RLIMIT_NOFILE cannot be raised to %ld (the hard limit is lower; raising it "
                     "needs CAP_SYS_RESOURCE)",
                     cases[i].flows + 1000L);
            case_skip[i] = why[i];
        }
    }

    struct bench_report rep;
    memset(&rep, 0, sizeof(rep));
    rep.rows = calloc((size_t)(NCASES * NIMPLS), sizeof(*rep.rows));
    rep.reps = o.reps;
    rep.seconds = o.seconds;
    rep.ops = o.ops;
    static char cmd[1024], la0[128], la1[128];
    size_t off = 0;
    for (int i = 0; i < argc && off < sizeof(cmd) - 1; i++)
        off += (size_t)snprintf(cmd + off, sizeof(cmd) - off, "%s%s", i ? " " : "", argv[i]);
    rep.command = cmd;
    loadavg(la0, sizeof(la0));
    rep.loadavg_before = la0;

    int failed = 0;
    for (int c = 0; c < NCASES; c++) {
        if (!o.want_case[c] || cases[c].flows == 0)
            continue;
        const struct bench_case *bc = &cases[c];
        int reps = o.reps;
        if (bc->wl == WL_IDLE_MEMORY || is_instr(bc))
            reps = 1; /* deterministic figures: one run each */
        int first = rep.nrows;
        for (int i = 0; i < NIMPLS; i++) {
            if (!o.want_impl[i])
                continue;
            struct bench_row *row = &rep.rows[rep.nrows++];
            row->bc = bc;
            row->impl = impls[i];
            row->reps = calloc((size_t)reps, sizeof(*row->reps));
        }
        for (int k = 0; k < reps; k++) {
            for (int j = first; j < rep.nrows; j++) {
                struct bench_row *row = &rep.rows[j];
                struct bench_result *res = &row->reps[row->n];
                if (is_instr(bc))
                    run_callgrind(bc, row->impl, res, &o);
                else
                    run_pair(bc, row->impl, res, &o);
                row->n++;
                if (!res->ok && !res->skipped) {
                    failed = 1;
                    fprintf(stderr, "asock-bench: %s on %s failed: %s\n", bc->label,
                            row->impl->name, res->note);
                }
                if (res->skipped && k == 0 && !o.quick && res->note[0] != '\0' &&
                    strcmp(res->note, "not applicable") != 0)
                    fprintf(stderr, "asock-bench: %s on %s skipped: %s\n", bc->label,
                            row->impl->name, res->note);
            }
        }
        fprintf(stderr, "asock-bench: %s done\n", bc->label);
    }
    loadavg(la1, sizeof(la1));
    rep.loadavg_after = la1;

    bench_report_table(&rep, stdout);
    bench_report_scaling(&rep, stdout);
    bench_report_targets(&rep, stdout);
    if (o.csv != NULL && bench_report_csv(&rep, o.csv) < 0) {
        fprintf(stderr, "asock-bench: cannot write %s: %s\n", o.csv, strerror(errno));
        failed = 1;
    }
    if (o.chart != NULL && bench_report_chart(&rep, o.chart) < 0) {
        fprintf(stderr, "asock-bench: chart %s not written (is gnuplot installed?)\n", o.chart);
        failed = 1;
    }
    for (int i = 0; i < rep.nrows; i++)
        free(rep.rows[i].reps);
    free(rep.rows);
    return failed ? 1 : 0;
}
