/* asock-bench: the table (medians, spread, CPU per operation, ratios to the raw epoll loop and to
 * libuv), the targets of issue 7, the CSV and the gnuplot chart. */
#include "bench.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#ifndef BENCH_SOURCE_DIR
#define BENCH_SOURCE_DIR "."
#endif

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

/* what: 0 value, 1 CPU seconds per operation, 2 extra, 3 min value, 4 max value */
static double row_stat(const struct bench_row *row, int what)
{
    double v[128];
    int n = 0;
    for (int i = 0; i < row->n && n < 128; i++) {
        const struct bench_result *r = &row->reps[i];
        if (!r->ok)
            continue;
        if (what == 1)
            v[n++] = r->ops > 0 ? r->cpu_secs / (double)r->ops : NAN;
        else if (what == 2)
            v[n++] = r->extra;
        else
            v[n++] = r->value;
    }
    if (n == 0)
        return NAN;
    qsort(v, (size_t)n, sizeof(double), cmp_double);
    if (what == 3)
        return v[0];
    if (what == 4)
        return v[n - 1];
    return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

double bench_row_median(const struct bench_row *row, int what)
{
    return row_stat(row, what);
}

static const struct bench_row *find_row(const struct bench_report *rep, const char *label,
                                        const char *impl)
{
    for (int i = 0; i < rep->nrows; i++)
        if (strcmp(rep->rows[i].bc->label, label) == 0 &&
            strcmp(rep->rows[i].impl->name, impl) == 0)
            return &rep->rows[i];
    return NULL;
}

static double ratio_to(const struct bench_report *rep, const struct bench_row *row, const char *ref,
                       int what)
{
    const struct bench_row *r = find_row(rep, row->bc->label, ref);
    if (r == NULL)
        return NAN;
    double a = row_stat(row, what), b = row_stat(r, what);
    return (isnan(a) || isnan(b) || b == 0) ? NAN : a / b;
}

static const char *human(double v, char *buf, size_t len)
{
    if (isnan(v))
        snprintf(buf, len, "-");
    else if (v >= 1e9)
        snprintf(buf, len, "%.3gG", v / 1e9);
    else if (v >= 1e6)
        snprintf(buf, len, "%.3gM", v / 1e6);
    else if (v >= 1e4)
        snprintf(buf, len, "%.3gk", v / 1e3);
    else
        snprintf(buf, len, "%.4g", v);
    return buf;
}

static const char *ratio_str(double v, char *buf, size_t len)
{
    if (isnan(v))
        snprintf(buf, len, "-");
    else
        snprintf(buf, len, "%.2fx", v);
    return buf;
}

void bench_report_table(const struct bench_report *rep, FILE *out)
{
    struct utsname u;
    uname(&u);
    time_t now = time(NULL);
    char date[64];
    strftime(date, sizeof(date), "%Y-%m-%d %H:%M UTC", gmtime(&now));
    long ncpu = sysconf(_SC_NPROCESSORS_ONLN);
    if (rep->ops != 0)
        fprintf(out, "asock-bench  %s  kernel %s %s  %ld CPUs  windows of %llu operations\n", date,
                u.release, u.machine, ncpu, (unsigned long long)rep->ops);
    else
        fprintf(out, "asock-bench  %s  kernel %s %s  %ld CPUs  window %.2fs x %d reps\n", date,
                u.release, u.machine, ncpu, rep->seconds, rep->reps);
    fprintf(out, "load average before: %s  after: %s\n", rep->loadavg_before, rep->loadavg_after);
    fprintf(out, "command: %s\n\n", rep->command);
    fprintf(out, "| case | impl | median | unit | spread (min..max) | CPU/op | x raw_epoll "
                 "| x libuv | other load |\n");
    fprintf(out, "|---|---|---:|---|---|---:|---:|---:|---:|\n");
    for (int i = 0; i < rep->nrows; i++) {
        const struct bench_row *row = &rep->rows[i];
        char a[32], b[32], c[32], d[32], e[32], f[32];
        int okn = 0;
        const char *why = "";
        for (int k = 0; k < row->n; k++) {
            okn += row->reps[k].ok;
            if (!row->reps[k].ok && why[0] == '\0')
                why = row->reps[k].note;
        }
        if (okn == 0) {
            fprintf(out, "| %s | %s | n/a | | %s | | | |\n", row->bc->label, row->impl->name, why);
            continue;
        }
        double med = row_stat(row, 0), lo = row_stat(row, 3), hi = row_stat(row, 4);
        char spread[64];
        if (okn > 1)
            snprintf(spread, sizeof(spread), "%s..%s (%.1f%%)", human(lo, a, sizeof(a)),
                     human(hi, b, sizeof(b)), 100 * (hi - lo) / med);
        else
            snprintf(spread, sizeof(spread), "1 run");
        char cpu[48];
        if (row->bc->wl == WL_IDLE_MEMORY) {
            snprintf(cpu, sizeof(cpu), "RSS %.0f B/conn", row_stat(row, 2));
        } else if (strcmp(row->bc->name, "instructions") == 0) {
            snprintf(cpu, sizeof(cpu), "-");
        } else {
            double cpo = row_stat(row, 1);
            char o[32];
            if (row->bc->wl == WL_TCP_PUMP)
                snprintf(cpu, sizeof(cpu), "%.1f us/64KiB", cpo * 1e6 * BENCH_PUMP_BUF);
            else if (row->bc->wl == WL_UDP_PUMP)
                snprintf(cpu, sizeof(cpu), "%.2f us (offered %s/s)", cpo * 1e6,
                         human(row_stat(row, 2), o, sizeof(o)));
            else
                snprintf(cpu, sizeof(cpu), "%.2f us", cpo * 1e6);
        }
        double foreign = 0;
        for (int k = 0; k < row->n; k++)
            if (row->reps[k].foreign > foreign)
                foreign = row->reps[k].foreign;
        snprintf(f, sizeof(f), "%.0f%%%s", 100 * foreign, foreign > 0.1 ? " (!)" : "");
        fprintf(out, "| %s | %s | %s | %s | %s | %s | %s | %s | %s |%s%s\n", row->bc->label,
                row->impl->name, human(med, c, sizeof(c)), row->bc->unit, spread, cpu,
                ratio_str(ratio_to(rep, row, "raw_epoll", 0), d, sizeof(d)),
                ratio_str(ratio_to(rep, row, "libuv", 0), e, sizeof(e)), f,
                okn < row->n ? " failed runs: " : "", okn < row->n ? why : "");
    }
    fprintf(out, "\nother load: the most CPU that other processes used during any repetition of "
                 "the row, in %% of one CPU ((!): above 10%%, the figure is disturbed).\n\n");
}

/* ---- multi-core: the echo workload on 2 loops (threads) against 1 ---- */

void bench_report_scaling(const struct bench_report *rep, FILE *out)
{
    int header = 0;
    for (int i = 0; i < rep->nrows; i++) {
        const struct bench_row *one = &rep->rows[i];
        if (strcmp(one->bc->label, "tcp_echo_mt/1t") != 0)
            continue;
        const struct bench_row *two = find_row(rep, "tcp_echo_mt/2t", one->impl->name);
        if (two == NULL)
            continue;
        double a = row_stat(one, 0), b = row_stat(two, 0);
        if (isnan(a) || isnan(b))
            continue;
        if (!header) {
            fprintf(out, "| multi-core (SO_REUSEPORT, a loop per thread) | 1 thread | 2 threads "
                         "| scaling |\n|---|---:|---:|---:|\n");
            header = 1;
        }
        char x[32], y[32];
        fprintf(out, "| %s | %s rt/s | %s rt/s | %.2fx |\n", one->impl->name,
                human(a, x, sizeof(x)), human(b, y, sizeof(y)), b / a);
    }
    if (header)
        fprintf(out, "\n");
}

/* ---- the targets of issue 7 ---- */

struct target {
    const char *label;
    const char *ref; /* "raw_epoll", "libuv", or NULL: an absolute bound */
    int what;        /* 0 value, 1 CPU per op */
    int at_most;     /* 1: measured <= bound, else >= */
    double bound;
};

static const struct target targets[] = {
    {"tcp_ping_pong/100", "raw_epoll", 0, 0, 1.15},
    {"tcp_ping_pong/100", "libuv", 0, 0, 1.35},
    {"udp_ping_pong/1", "raw_epoll", 0, 0, 1.2},
    {"udp_ping_pong/100", "raw_epoll", 0, 0, 1.2},
    {"pound/1", "raw_epoll", 0, 0, 1.1},
    {"pound/1", "libuv", 0, 0, 1.2},
    {"pound/64", "raw_epoll", 0, 0, 1.1},
    {"pound/64", "libuv", 0, 0, 1.2},
    {"udp_pump", "raw_epoll", 1, 1, 0.9},
    {"tcp_pump", "raw_epoll", 0, 0, 1.0},
    {"instructions/tcp_rt", NULL, 0, 1, 350},
    {"instructions/udp_rt", NULL, 0, 1, 350},
    {"idle_memory/10000", NULL, 0, 1, 256},
    {"idle_memory/100000", NULL, 0, 1, 256},
};

void bench_report_targets(const struct bench_report *rep, FILE *out)
{
    static const char *const mine[] = {"asock_uring", "asock_epoll"};
    int header = 0;
    for (size_t t = 0; t < sizeof(targets) / sizeof(targets[0]); t++) {
        const struct target *tg = &targets[t];
        for (int m = 0; m < 2; m++) {
            const struct bench_row *row = find_row(rep, tg->label, mine[m]);
            if (row == NULL)
                continue;
            double v =
                tg->ref != NULL ? ratio_to(rep, row, tg->ref, tg->what) : row_stat(row, tg->what);
            if (tg->ref != NULL && find_row(rep, tg->label, tg->ref) == NULL)
                continue;
            if (!header) {
                fprintf(out, "| target | asock engine | measured | wanted | met |\n");
                fprintf(out, "|---|---|---:|---:|---|\n");
                header = 1;
            }
            char what[96];
            if (tg->ref != NULL)
                snprintf(what, sizeof(what), "%s %s vs %s", tg->label, tg->what ? "CPU/op" : "rate",
                         tg->ref);
            else
                snprintf(what, sizeof(what), "%s", tg->label);
            int met = !isnan(v) && (tg->at_most ? v <= tg->bound : v >= tg->bound);
            if (tg->ref != NULL)
                fprintf(out, "| %s | %s | %.2fx | %s %.2fx | %s |\n", what, mine[m], v,
                        tg->at_most ? "<=" : ">=", tg->bound,
                        isnan(v) ? "n/a"
                        : met    ? "yes"
                                 : "NO");
            else
                fprintf(out, "| %s | %s | %.0f %s | <= %.0f | %s |\n", what, mine[m], v,
                        row->bc->unit, tg->bound,
                        isnan(v) ? "n/a"
                        : met    ? "yes"
                                 : "NO");
        }
    }
    const struct bench_row *blk = find_row(rep, "udp_ping_pong/1", "blocking");
    if (blk != NULL && header) {
        double v = ratio_to(rep, blk, "raw_epoll", 0);
        fprintf(out,
                "| (floor) udp_ping_pong/1 blocking vs raw_epoll | - | %.2fx | (1.38x in the "
                "issue) | - |\n",
                v);
    }
    if (header)
        fprintf(out, "\n");
}

/* ---- CSV ---- */

int bench_report_csv(const struct bench_report *rep, const char *path)
{
    FILE *f = fopen(path, "w");
    if (f == NULL)
        return -1;
    fprintf(f, "case,workload,flows,processes,threads,impl,rep,unit,value,ops,secs,cpu_secs,"
               "cpu_ns_per_op,extra,ratio_raw_epoll,ratio_libuv,ok,other_load_cpus,note\n");
    for (int i = 0; i < rep->nrows; i++) {
        const struct bench_row *row = &rep->rows[i];
        const struct bench_case *bc = row->bc;
        for (int k = 0; k < row->n; k++) {
            const struct bench_result *r = &row->reps[k];
            fprintf(f, "%s,%s,%d,%d,%d,%s,%d,%s,%.6g,%llu,%.6f,%.6f,%.2f,%.6g,,,%d,\"%s\"\n",
                    bc->label, bc->name, bc->flows, bc->two_process ? 2 : 1, bc->threads,
                    row->impl->name, k + 1, bc->unit, r->value, (unsigned long long)r->ops, r->secs,
                    r->cpu_secs, r->ops ? 1e9 * r->cpu_secs / (double)r->ops : 0.0, r->extra, r->ok,
                    r->note);
        }
        fprintf(f, "%s,%s,%d,%d,%d,%s,median,%s,%.6g,,,,%.2f,%.6g,%.4f,%.4f,%d,,\n", bc->label,
                bc->name, bc->flows, bc->two_process ? 2 : 1, bc->threads, row->impl->name,
                bc->unit, row_stat(row, 0), 1e9 * row_stat(row, 1), row_stat(row, 2),
                ratio_to(rep, row, "raw_epoll", 0), ratio_to(rep, row, "libuv", 0),
                !isnan(row_stat(row, 0)));
    }
    return fclose(f) == 0 ? 0 : -1;
}

/* ---- chart: each case's rate as a ratio to the raw epoll loop, one bar per implementation ---- */

int bench_report_chart(const struct bench_report *rep, const char *path)
{
    char dat[64];
    snprintf(dat, sizeof(dat), "/tmp/asock-bench-chart.%d.dat", (int)getpid());
    FILE *f = fopen(dat, "w");
    if (f == NULL)
        return -1;
    /* columns: case, then one ratio per implementation in the order of the first case */
    const char *names[16];
    int nimpl = 0;
    for (int i = 0; i < rep->nrows && nimpl < 16; i++) {
        int seen = 0;
        for (int k = 0; k < nimpl; k++)
            seen |= strcmp(names[k], rep->rows[i].impl->name) == 0;
        if (!seen)
            names[nimpl++] = rep->rows[i].impl->name;
    }
    fprintf(f, "case");
    for (int k = 0; k < nimpl; k++)
        fprintf(f, "\t%s", names[k]);
    fprintf(f, "\n");
    const char *last = "";
    int lines = 0;
    for (int i = 0; i < rep->nrows; i++) {
        const struct bench_case *bc = rep->rows[i].bc;
        if (strcmp(bc->label, last) == 0 || bc->lower_is_better)
            continue;
        last = bc->label;
        if (find_row(rep, bc->label, "raw_epoll") == NULL)
            continue;
        /* udp_pump's figure is the receiver's CPU per datagram: charted inverted, so higher is
         * still better */
        int cpu = bc->wl == WL_UDP_PUMP;
        fprintf(f, "%s%s", bc->label, cpu ? " (1/CPU)" : "");
        for (int k = 0; k < nimpl; k++) {
            const struct bench_row *row = find_row(rep, bc->label, names[k]);
            double v = row != NULL ? ratio_to(rep, row, "raw_epoll", cpu) : NAN;
            if (cpu)
                v = 1 / v;
            if (isnan(v))
                fprintf(f, "\t0");
            else
                fprintf(f, "\t%.3f", v);
        }
        fprintf(f, "\n");
        lines++;
    }
    fclose(f);
    if (lines == 0) {
        errno = EINVAL;
        return -1;
    }
    size_t n = strlen(path);
    const char *term =
        strcmp(path + n - 4, ".svg") == 0 ? "svg size 1200,560" : "pngcairo size 1200,560";
    char expr[1024];
    snprintf(expr, sizeof(expr), "datafile='%s'; outfile='%s'; termspec='%s'; ncols=%d", dat, path,
             term, nimpl);
    pid_t pid = fork();
    if (pid < 0)
        return -1;
    if (pid == 0) {
        execlp("gnuplot", "gnuplot", "-e", expr, BENCH_SOURCE_DIR "/chart.gp", (char *)NULL);
        _exit(127);
    }
    int st = 0;
    waitpid(pid, &st, 0);
    unlink(dat);
    return WIFEXITED(st) && WEXITSTATUS(st) == 0 ? 0 : -1;
}
