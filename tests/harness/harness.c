/* The test harness (see test.h). */
#define _GNU_SOURCE 1
#include "test.h"

#include <dirent.h>
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <time.h>
#include <unistd.h>

static int g_fd_count_at_start = -1;

int asock_t_fd_count(void)
{
    DIR *d = opendir("/proc/self/fd");
    if (d == NULL)
        return -1;
    int n = 0;
    struct dirent *ent;
    while ((ent = readdir(d)) != NULL) {
        if (ent->d_name[0] != '.')
            n++;
    }
    closedir(d);
    return n - 1; /* the DIR's own descriptor */
}

const char *asock_t_engine(void)
{
    const char *e = getenv("ASOCK_ENGINE");
    return e != NULL && e[0] != '\0' ? e : "auto";
}

asock_loop *asock_t_loop_opts(const asock_loop_options *opts)
{
    g_fd_count_at_start = asock_t_fd_count();
    asock_loop *loop = NULL;
    int rc = asock_loop_new(&loop, opts);
    if (rc == -ENOSYS || rc == -EPERM || rc == -EOPNOTSUPP) {
        fprintf(stderr, "SKIP: engine %s unavailable here: %s\n", asock_t_engine(),
                asock_strerror(rc));
        exit(ASOCK_T_SKIP);
    }
    assert_int_equal(rc, 0);
    assert_non_null(loop);
    return loop;
}

asock_loop *asock_t_loop(void)
{
    return asock_t_loop_opts(NULL);
}

static uint64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

/* A watchdog thread that wakes a loop blocked in ASOCK_RUN_ONCE once a deadline has passed (by
 * posting a no-op, which is work and wakes the wait), so the waits below are really bounded even
 * when nothing ever completes. */
struct watchdog {
    pthread_t thread;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    int stop;
    asock_loop *loop;
    uint64_t deadline; /* now_ms() clock */
};

static void watchdog_noop(void *arg)
{
    (void)arg;
}

static void *watchdog_main(void *arg)
{
    struct watchdog *w = arg;
    pthread_mutex_lock(&w->mu);
    while (!w->stop) {
        uint64_t now = now_ms();
        if (now >= w->deadline) {
            (void)asock_loop_post(w->loop, watchdog_noop, NULL);
            w->deadline = now + 50; /* again, in case the loop waits once more */
        }
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        uint64_t wait_ms = w->deadline - now;
        ts.tv_sec += (time_t)(wait_ms / 1000u);
        ts.tv_nsec += (long)(wait_ms % 1000u) * 1000000L;
        if (ts.tv_nsec >= 1000000000L) {
            ts.tv_sec++;
            ts.tv_nsec -= 1000000000L;
        }
        (void)pthread_cond_timedwait(&w->cv, &w->mu, &ts);
    }
    pthread_mutex_unlock(&w->mu);
    return NULL;
}

static void watchdog_start(struct watchdog *w, asock_loop *loop, uint64_t deadline)
{
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&w->cv, &ca);
    pthread_condattr_destroy(&ca);
    pthread_mutex_init(&w->mu, NULL);
    w->stop = 0;
    w->loop = loop;
    w->deadline = deadline;
    if (pthread_create(&w->thread, NULL, watchdog_main, w) != 0)
        fail_msg("pthread_create failed");
}

static void watchdog_stop(struct watchdog *w)
{
    pthread_mutex_lock(&w->mu);
    w->stop = 1;
    pthread_cond_signal(&w->cv);
    pthread_mutex_unlock(&w->mu);
    pthread_join(w->thread, NULL);
    pthread_cond_destroy(&w->cv);
    pthread_mutex_destroy(&w->mu);
}

int asock_t_run_until(asock_loop *loop, const volatile int *flag, int timeout_ms)
{
    uint64_t end = now_ms() + (uint64_t)timeout_ms;
    struct watchdog w;
    watchdog_start(&w, loop, end);
    int result = 0, bad_rc = 0;
    while (!*flag) {
        if (now_ms() >= end) {
            result = -1;
            break;
        }
        int rc = asock_loop_run(loop, ASOCK_RUN_NOWAIT);
        if (rc < 0) {
            bad_rc = rc;
            break;
        }
        if (*flag)
            break;
        if (rc == 0) {
            /* no work: nothing will set the flag except time passing in another thread */
            struct timespec ts = {0, 1000000};
            nanosleep(&ts, NULL);
            continue;
        }
        rc = asock_loop_run(loop, ASOCK_RUN_ONCE);
        if (rc < 0) {
            bad_rc = rc;
            break;
        }
    }
    watchdog_stop(&w);
    if (bad_rc < 0)
        fail_msg("asock_loop_run: %d", bad_rc);
    return result;
}

void asock_t_drain(asock_loop *loop, int timeout_ms)
{
    uint64_t end = now_ms() + (uint64_t)timeout_ms;
    struct watchdog w;
    watchdog_start(&w, loop, end);
    int bad_rc = 0, timed_out = 0;
    for (;;) {
        int rc = asock_loop_run(loop, ASOCK_RUN_NOWAIT);
        if (rc < 0) {
            bad_rc = rc;
            break;
        }
        if (rc == 0)
            break;
        if (now_ms() >= end) {
            timed_out = 1;
            break;
        }
        rc = asock_loop_run(loop, ASOCK_RUN_ONCE);
        if (rc < 0) {
            bad_rc = rc;
            break;
        }
    }
    watchdog_stop(&w);
    /* the watchdog's no-op posts, if any, are still queued: run them */
    if (bad_rc == 0 && !timed_out)
        (void)asock_loop_run(loop, ASOCK_RUN_NOWAIT);
    if (bad_rc < 0)
        fail_msg("asock_loop_run: %d", bad_rc);
    if (timed_out)
        fail_msg("loop still has work after %d ms", timeout_ms);
}

void asock_t_end(asock_loop *loop)
{
    asock_t_drain(loop, 5000);
    assert_int_equal(asock_loop_run(loop, ASOCK_RUN_NOWAIT), 0);
    asock_loop_free(loop);
    int now = asock_t_fd_count();
    if (g_fd_count_at_start >= 0 && now != g_fd_count_at_start)
        fail_msg("fd count changed: %d at start, %d at end", g_fd_count_at_start, now);
}

static socklen_t fill_addr(int family, const char *addr, uint16_t port, struct sockaddr_storage *ss)
{
    memset(ss, 0, sizeof(*ss));
    if (family == AF_INET6) {
        struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)ss;
        s6->sin6_family = AF_INET6;
        s6->sin6_port = htons(port);
        assert_int_equal(inet_pton(AF_INET6, addr != NULL ? addr : "::1", &s6->sin6_addr), 1);
        return sizeof(*s6);
    }
    struct sockaddr_in *s4 = (struct sockaddr_in *)ss;
    s4->sin_family = AF_INET;
    s4->sin_port = htons(port);
    assert_int_equal(inet_pton(AF_INET, addr != NULL ? addr : "127.0.0.1", &s4->sin_addr), 1);
    return sizeof(*s4);
}

static uint16_t bound_port(int fd)
{
    struct sockaddr_storage ss;
    socklen_t len = sizeof(ss);
    assert_int_equal(getsockname(fd, (struct sockaddr *)&ss, &len), 0);
    if (ss.ss_family == AF_INET6)
        return ntohs(((struct sockaddr_in6 *)&ss)->sin6_port);
    return ntohs(((struct sockaddr_in *)&ss)->sin_port);
}

static int bound_socket(int family, int type, const char *addr, uint16_t *port)
{
    int fd = socket(family, type | SOCK_CLOEXEC, 0);
    assert_true(fd >= 0);
    int one = 1;
    if (family == AF_INET6)
        assert_int_equal(setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one)), 0);
    struct sockaddr_storage ss;
    socklen_t len = fill_addr(family, addr, 0, &ss);
    assert_int_equal(bind(fd, (struct sockaddr *)&ss, len), 0);
    if (port != NULL)
        *port = bound_port(fd);
    return fd;
}

int asock_t_tcp_listener(int family, const char *addr, uint16_t *port)
{
    int fd = bound_socket(family, SOCK_STREAM, addr, port);
    assert_int_equal(listen(fd, 128), 0);
    return fd;
}

int asock_t_udp_socket(int family, const char *addr, uint16_t *port)
{
    return bound_socket(family, SOCK_DGRAM, addr, port);
}

int asock_t_tcp_connect(int family, const char *addr, uint16_t port)
{
    int fd = socket(family, SOCK_STREAM | SOCK_CLOEXEC, 0);
    assert_true(fd >= 0);
    struct sockaddr_storage ss;
    socklen_t len = fill_addr(family, addr, port, &ss);
    assert_int_equal(connect(fd, (struct sockaddr *)&ss, len), 0);
    return fd;
}

uint16_t asock_t_free_port(int family, const char *addr, int type)
{
    uint16_t port = 0;
    int fd = bound_socket(family, type, addr, &port);
    close(fd);
    return port;
}

int asock_t_wait_readable(int fd, int timeout_ms)
{
    struct pollfd p = {.fd = fd, .events = POLLIN};
    int rc = poll(&p, 1, timeout_ms);
    return rc > 0 ? 1 : 0;
}

void asock_t_args(asock_args *e, asock_completed_fn *cb, void *token)
{
    asock_args_init(e);
    e->completed = cb;
    e->user_token = token;
}

int asock_t_dns_env(const char *key, char *buf, size_t len)
{
    const char *direct = getenv("ASOCK_TEST_DNS");
    if (strcmp(key, "dns") == 0 && direct != NULL && direct[0] != '\0') {
        snprintf(buf, len, "%s", direct);
        return 0;
    }
    const char *file = getenv("ASOCK_TEST_DNS_FILE");
    if (file == NULL)
        return -1;
    FILE *f = fopen(file, "r");
    if (f == NULL)
        return -1;
    char line[256];
    size_t klen = strlen(key);
    int rc = -1;
    while (fgets(line, sizeof(line), f) != NULL) {
        if (strncmp(line, key, klen) == 0 && line[klen] == '=') {
            char *v = line + klen + 1;
            v[strcspn(v, "\r\n")] = '\0';
            snprintf(buf, len, "%s", v);
            rc = 0;
            break;
        }
    }
    fclose(f);
    return rc;
}
