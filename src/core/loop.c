/* The loop: engine choice, run modes, deferred work, and teardown. */
#include "internal.h"
#include "../engine/engine.h"

#include <arpa/inet.h>

#include <stdio.h>
#include <stdlib.h>
#include <time.h>

uint64_t asock__hrtime_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

const char *asock_engine_name(asock_engine engine)
{
    switch (engine) {
    case ASOCK_ENGINE_EPOLL:
        return "epoll";
    case ASOCK_ENGINE_IO_URING:
        return "io_uring";
    case ASOCK_ENGINE_AUTO:
        return "auto";
    }
    return "unknown";
}

/* Which engine to run, and why.  AUTO defers to ASOCK_ENGINE, then to the io_uring probe. */
static int choose_engine(asock_loop *loop, asock_engine want)
{
    const char *env = getenv("ASOCK_ENGINE");
    bool from_env = false;
    if (want == ASOCK_ENGINE_AUTO && env != NULL && env[0] != '\0') {
        if (strcmp(env, "epoll") == 0)
            want = ASOCK_ENGINE_EPOLL;
        else if (strcmp(env, "io_uring") == 0 || strcmp(env, "uring") == 0)
            want = ASOCK_ENGINE_IO_URING;
        else if (strcmp(env, "auto") != 0)
            return -EINVAL;
        from_env = want != ASOCK_ENGINE_AUTO;
    }
    const char *why = NULL;
    switch (want) {
    case ASOCK_ENGINE_EPOLL:
        loop->engine = &asock__epoll_engine;
        loop->engine_reason = from_env ? "epoll: chosen by ASOCK_ENGINE=epoll" : "epoll: requested";
        return 0;
    case ASOCK_ENGINE_IO_URING: {
        int rc = asock__uring_probe(&why);
        if (rc < 0)
            return rc;
        loop->engine = &asock__uring_engine;
        loop->engine_reason =
            from_env ? "io_uring: chosen by ASOCK_ENGINE=io_uring" : "io_uring: requested";
        return 0;
    }
    case ASOCK_ENGINE_AUTO:
        break;
    default:
        return -EINVAL;
    }
    if (asock__uring_probe(&why) == 0) {
        loop->engine = &asock__uring_engine;
        loop->engine_reason = "io_uring: available (auto)";
    } else {
        loop->engine = &asock__epoll_engine;
        snprintf(loop->reason_buf, sizeof(loop->reason_buf), "epoll: io_uring unavailable (%s)",
                 why != NULL ? why : "probe failed");
        loop->engine_reason = loop->reason_buf;
    }
    return 0;
}

/* Checks a dns_servers list and writes it in the one form the resolver reads without surprises:
 * "a.b.c.d:port" or "[v6]:port" entries (port 53 when none was given), comma-separated.
 * Accepted entries: IPv4[:PORT], [IPv6][:PORT] and a bare IPv6 (no port); PORT 1-65535.
 * Refused (-EINVAL): an empty list or entry, spaces, a scope id (%if: c-ares cannot use one), a
 * port out of range (c-ares would wrap 70000 to 4464), anything that is not an IP literal.
 * Returns 0 with *out allocated, -EINVAL or -ENOMEM. */
static int normalise_dns_servers(const char *in, char **out)
{
    *out = NULL;
    size_t len = strlen(in);
    if (len == 0 || len > 4096)
        return -EINVAL;
    char *buf = asock__malloc(2 * len + 64); /* an entry grows by at most "[]:53" */
    if (buf == NULL)
        return -ENOMEM;
    size_t w = 0;
    const char *p = in;
    for (;;) {
        size_t n = strcspn(p, ",");
        char ip[64];
        const char *port = NULL;
        size_t iplen;
        if (n == 0)
            goto bad;
        if (p[0] == '[') {
            const char *close = memchr(p, ']', n);
            if (close == NULL)
                goto bad;
            iplen = (size_t)(close - p - 1);
            memcpy(ip, p + 1, iplen < sizeof(ip) ? iplen : 0);
            if (close + 1 < p + n) {
                if (close[1] != ':')
                    goto bad;
                port = close + 2;
            }
        } else {
            const char *colon = memchr(p, ':', n);
            bool v6 = colon != NULL && memchr(colon + 1, ':', (size_t)(p + n - colon - 1)) != NULL;
            iplen = v6 || colon == NULL ? n : (size_t)(colon - p);
            if (!v6 && colon != NULL)
                port = colon + 1;
            memcpy(ip, p, iplen < sizeof(ip) ? iplen : 0);
        }
        if (iplen == 0 || iplen >= sizeof(ip))
            goto bad;
        ip[iplen] = '\0';
        unsigned char addr[16];
        bool is6 = inet_pton(AF_INET6, ip, addr) == 1;
        if (!is6 && inet_pton(AF_INET, ip, addr) != 1)
            goto bad; /* not a literal; inet_pton also refuses "%scope" */
        if (p[0] == '[' && !is6)
            goto bad;
        unsigned long pn = 53;
        if (port != NULL) {
            size_t plen = (size_t)(p + n - port);
            if (plen == 0 || plen > 5)
                goto bad;
            pn = 0;
            for (size_t i = 0; i < plen; i++) {
                if (port[i] < '0' || port[i] > '9')
                    goto bad;
                pn = pn * 10 + (unsigned long)(port[i] - '0');
            }
            if (pn == 0 || pn > 65535)
                goto bad;
        }
        int k = snprintf(buf + w, 2 * len + 64 - w, is6 ? "%s[%s]:%lu" : "%s%s:%lu",
                         w == 0 ? "" : ",", ip, pn);
        if (k < 0 || (size_t)k >= 2 * len + 64 - w)
            goto bad;
        w += (size_t)k;
        if (p[n] == '\0')
            break;
        p += n + 1;
    }
    *out = buf;
    return 0;
bad:
    asock__free(buf);
    return -EINVAL;
}

int asock_loop_new(asock_loop **out, const asock_loop_options *opts)
{
    if (out == NULL)
        return -EINVAL;
    *out = NULL;
    asock_loop *loop = asock__calloc(1, sizeof(*loop));
    if (loop == NULL)
        return -ENOMEM;
    if (opts != NULL)
        loop->opts = *opts;
    int rc = 0;
    if (loop->opts.dns_servers != NULL) {
        rc = normalise_dns_servers(loop->opts.dns_servers, &loop->dns_servers);
        if (rc < 0)
            goto out_free;
        loop->opts.dns_servers = loop->dns_servers;
    }
    asock__q_init(&loop->deferred_ops);
    asock__q_init(&loop->tasks);
    asock__q_init(&loop->closing);
    asock__q_init(&loop->sockets);
    asock__q_init(&loop->timers);
    loop->now = asock__hrtime_ms();

    rc = choose_engine(loop, loop->opts.engine);
    if (rc < 0)
        goto out_free;
    rc = loop->engine->init(loop);
    if (rc < 0)
        goto out_free;
    rc = asock__post_init(loop);
    if (rc < 0)
        goto out_engine;
    *out = loop;
    return 0;

out_engine:
    loop->engine->destroy(loop);
out_free:
    asock__free(loop->dns_servers);
    asock__free(loop);
    return rc;
}

asock_engine asock_loop_engine(const asock_loop *loop)
{
    return loop != NULL && loop->engine != NULL ? loop->engine->id : ASOCK_ENGINE_AUTO;
}

const char *asock_loop_engine_reason(const asock_loop *loop)
{
    return loop != NULL && loop->engine_reason != NULL ? loop->engine_reason : "";
}

uint64_t asock_loop_now(const asock_loop *loop)
{
    /* the cached time is refreshed only while timers are armed: read the clock */
    return loop != NULL ? asock__hrtime_ms() : 0;
}

void asock__loop_defer(asock_loop *loop, struct asock__task *t)
{
    asock__q_remove(&t->node);
    asock__q_insert_tail(&loop->tasks, &t->node);
}

void asock__loop_undefer(asock_loop *loop, struct asock__task *t)
{
    ASOCK__UNUSED(loop);
    asock__q_remove(&t->node);
}

static bool has_ready(const asock_loop *loop)
{
    return !asock__q_empty(&loop->deferred_ops) || !asock__q_empty(&loop->tasks) ||
           !asock__q_empty(&loop->closing);
}

static bool has_work(const asock_loop *loop)
{
    return loop->active != 0 || loop->timers_ref != 0 || has_ready(loop) ||
           atomic_load(&loop->posts_pending) != 0;
}

/* Runs what the loop itself holds: ops completed outside the engine, deferred tasks, and the
 * release of closed descriptors' owners (last, so nothing above can see freed memory). */
static int run_deferred(asock_loop *loop)
{
    int n = 0;
    while (!asock__q_empty(&loop->deferred_ops) || !asock__q_empty(&loop->tasks)) {
        while (!asock__q_empty(&loop->deferred_ops)) {
            struct asock__qnode *q = asock__q_head(&loop->deferred_ops);
            asock__q_remove(q);
            struct asock__op *op = asock__container_of(q, struct asock__op, node);
            asock__op_finish(loop, op, op->res);
            n++;
        }
        while (!asock__q_empty(&loop->tasks)) {
            struct asock__qnode *q = asock__q_head(&loop->tasks);
            asock__q_remove(q);
            struct asock__task *t = asock__container_of(q, struct asock__task, node);
            t->fn(t);
            n++;
            if (!asock__q_empty(&loop->deferred_ops))
                break;
        }
    }
    while (!asock__q_empty(&loop->closing)) {
        struct asock__qnode *q = asock__q_head(&loop->closing);
        asock__q_remove(q);
        struct asock__io *io = asock__container_of(q, struct asock__io, cnode);
        if (io->closed != NULL)
            io->closed(io);
        n++;
    }
    return n;
}

/* Timers and deferred work.  The clock is read only when a timer is armed: a loop without
 * timers (the hot path of a busy server) never pays for clock_gettime. */
static int run_ready(asock_loop *loop)
{
    int n = 0;
    if (loop->heap_len != 0) {
        loop->now = asock__hrtime_ms();
        n = asock__timer_run(loop);
    }
    if (has_ready(loop))
        n += run_deferred(loop);
    return n;
}

int asock_loop_run(asock_loop *loop, int mode)
{
    if (loop == NULL ||
        (mode != ASOCK_RUN_DEFAULT && mode != ASOCK_RUN_ONCE && mode != ASOCK_RUN_NOWAIT))
        return -EINVAL;
    if (loop->running)
        return -EBUSY;
    loop->running = 1;
    loop->stop_flag = 0;
    int rc = 0;
    for (;;) {
        int progress = run_ready(loop);
        if (loop->stop_flag || !has_work(loop))
            break;
        int timeout;
        if (mode == ASOCK_RUN_NOWAIT || (mode == ASOCK_RUN_ONCE && progress > 0) || has_ready(loop))
            timeout = 0;
        else
            timeout = asock__timer_next(loop);
        int n = loop->engine->poll(loop, timeout);
        if (n < 0) {
            rc = n;
            break;
        }
        run_ready(loop);
        if (mode != ASOCK_RUN_DEFAULT || loop->stop_flag)
            break;
    }
    loop->running = 0;
    if (loop->engine->flush != NULL)
        loop->engine->flush(loop);
    if (rc < 0)
        return rc;
    return has_work(loop) ? 1 : 0;
}

void asock_loop_ref(asock_loop *loop)
{
    if (loop != NULL)
        asock__loop_ref(loop);
}

void asock_loop_unref(asock_loop *loop)
{
    if (loop != NULL && loop->active > 0)
        asock__loop_unref(loop);
}

void asock_loop_stop(asock_loop *loop)
{
    if (loop != NULL)
        loop->stop_flag = 1;
}

/* Socket layer teardown hook: closes every socket left (src/socket/socket.c). */
ASOCK__HIDDEN void asock__socket_close_all(asock_loop *loop);

void asock_loop_free(asock_loop *loop)
{
    if (loop == NULL)
        return;
    loop->freeing = 1;
    loop->running = 0;
    /* upper layers first: they own sockets of the layer below */
    for (int i = ASOCK__SLOT_MAX - 1; i >= 0; i--) {
        if (loop->ext[i].shutdown != NULL)
            loop->ext[i].shutdown(loop, loop->ext[i].data);
    }
    asock__socket_close_all(loop);
    asock__timer_close_all(loop);
    /* Let every aborted operation complete and every posted function run.  Bounded: nothing
     * new can start on closed sockets, and the engine completes cancellations promptly. */
    for (int guard = 0; guard < 100000; guard++) {
        loop->stop_flag = 0;
        run_ready(loop);
        asock__post_drain(loop);
        if (!has_work(loop) ||
            (loop->active == 0 && !has_ready(loop) && atomic_load(&loop->posts_pending) == 0))
            break;
        /* An engine that refuses to run (io_uring called from a thread other than the one its
         * ring is bound to: -EEXIST) will give nothing back: stop waiting for it. */
        int rc = loop->engine->poll(loop, has_ready(loop) ? 0 : 10);
        if (rc < 0 && rc != -EINTR)
            break;
    }
    asock__post_shutdown(loop);
    for (int guard = 0; guard < 1000 && loop->wake != NULL; guard++) {
        run_ready(loop);
        if (loop->wake == NULL)
            break;
        int rc = loop->engine->poll(loop, has_ready(loop) ? 0 : 10);
        if (rc < 0 && rc != -EINTR)
            break;
    }
    asock__post_drain(loop);
    run_ready(loop);
    for (int i = ASOCK__SLOT_MAX - 1; i >= 0; i--) {
        if (loop->ext[i].destroy != NULL)
            loop->ext[i].destroy(loop, loop->ext[i].data);
    }
    loop->engine->destroy(loop);
    /* The eventfd's watch never came back (see above): with the engine gone, nothing can complete
     * on it any more, so it is safe to close now. */
    asock__post_release(loop);
    asock__free(loop->heap);
    asock__free(loop->dns_servers);
    asock__free(loop);
}
