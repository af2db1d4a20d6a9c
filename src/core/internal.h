/* asock internals shared by every layer.  The first header of every source file.
 *
 * Layers, lowest first (a layer includes only its own and lower layers' headers):
 *   core (src/core)      loop, timers, posts, allocation, errors, endpoints
 *   engine (src/engine)  epoll and io_uring behind struct asock__engine_ops
 *   socket (src/socket)  asock_socket and asock_args (seed 000)
 *   resolve (src/resolve) c-ares on the loop, services, SRV, connect by name
 *   datagram (src/datagram) asock_datagram with endpoint pairs (seed 003)
 */
#ifndef ASOCK_CORE_INTERNAL_H
#define ASOCK_CORE_INTERNAL_H

#ifndef _GNU_SOURCE
#define _GNU_SOURCE 1
#endif

#include <errno.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <asock/asock.h>

#include "queue.h"

#define ASOCK__HIDDEN        __attribute__((visibility("hidden")))
#define ASOCK__UNUSED(x)     ((void)(x))
#define ASOCK__ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

/* ---- allocation (every allocation goes through these; tests can make the Nth one fail) ---- */

ASOCK__HIDDEN void *asock__malloc(size_t size);
ASOCK__HIDDEN void *asock__calloc(size_t n, size_t size);
ASOCK__HIDDEN void *asock__realloc(void *p, size_t size);
ASOCK__HIDDEN void asock__free(void *p);
ASOCK__HIDDEN char *asock__strdup(const char *s);

/* ---- time ---- */

ASOCK__HIDDEN uint64_t asock__hrtime_ms(void); /* CLOCK_MONOTONIC in milliseconds */

/* ---- timers: a min-heap of deadlines on the loop ---- */

struct asock__timer;
typedef void asock__timer_fn(struct asock__timer *t);

struct asock__timer {
    uint64_t deadline; /* loop time, ms */
    uint64_t seq;      /* insertion order, so equal deadlines fire first-in first-out */
    asock__timer_fn *cb;
    uint32_t index; /* position in the heap; UINT32_MAX when not armed */
    uint8_t unref;  /* an unref'd timer is not "work" (it does not keep asock_loop_run going) */
};

ASOCK__HIDDEN void asock__timer_init(struct asock__timer *t, asock__timer_fn *cb);
/* Arms t to fire after ms milliseconds (re-arms if armed).  0 or -ENOMEM. */
ASOCK__HIDDEN int asock__timer_start(asock_loop *loop, struct asock__timer *t, uint64_t ms);
ASOCK__HIDDEN void asock__timer_stop(asock_loop *loop, struct asock__timer *t);

/* Releases every public timer left (asock_loop_free). */
ASOCK__HIDDEN void asock__timer_close_all(asock_loop *loop);

/* Milliseconds until the next timer (-1: none), for the engine's wait. */
ASOCK__HIDDEN int asock__timer_next(const asock_loop *loop);
/* Runs every timer whose deadline has passed; returns how many ran. */
ASOCK__HIDDEN int asock__timer_run(asock_loop *loop);

static inline bool asock__timer_active(const struct asock__timer *t)
{
    return t->index != UINT32_MAX;
}

/* ---- deferred callbacks: run from the loop, in order ---- */

struct asock__task;
typedef void asock__task_fn(struct asock__task *t);

struct asock__task {
    struct asock__qnode node;
    asock__task_fn *fn;
};

static inline void asock__task_init(struct asock__task *t, asock__task_fn *fn)
{
    asock__q_init(&t->node);
    t->fn = fn;
}

/* Queues t to run from the loop (not inside this call).  A queued task is work. */
ASOCK__HIDDEN void asock__loop_defer(asock_loop *loop, struct asock__task *t);
ASOCK__HIDDEN void asock__loop_undefer(asock_loop *loop, struct asock__task *t);

/* ---- posts from other threads (MPSC list + eventfd) ---- */

struct asock__post {
    struct asock__post *next;
    void (*fn)(void *arg);
    void *arg;
};

/* src/core/post.c */
ASOCK__HIDDEN int asock__post_init(asock_loop *loop);
ASOCK__HIDDEN void asock__post_shutdown(asock_loop *loop);
ASOCK__HIDDEN int asock__post_drain(asock_loop *loop);
ASOCK__HIDDEN void asock__post_release(asock_loop *loop);

/* ---- loop ---- */

struct asock__engine_ops;
struct asock__op;

/* Hooks an upper layer registers on the loop: called when the loop is freed (after every socket
 * is closed, before the engine is destroyed).  One slot per layer that keeps loop-wide state. */
enum asock__loop_slot {
    ASOCK__SLOT_RESOLVER,
    ASOCK__SLOT_DATAGRAM,
    ASOCK__SLOT_MAX
};

struct asock__loop_ext {
    void *data;
    void (*shutdown)(asock_loop *loop, void *data); /* close what the layer holds (may defer) */
    void (*destroy)(asock_loop *loop, void *data);  /* release it after the last callbacks ran */
};

struct asock_loop {
    const struct asock__engine_ops *engine;
    void *engine_data;
    const char *engine_reason;
    char reason_buf[160];
    asock_loop_options opts;
    char *dns_servers; /* owned copy of opts.dns_servers */

    uint64_t now; /* loop time, ms (CLOCK_MONOTONIC) */
    int stop_flag;
    int running; /* inside asock_loop_run */
    int freeing; /* inside asock_loop_free */

    /* work accounting: user-visible pending operations (args, async actions, resolutions) */
    uint64_t active;

    /* timers */
    struct asock__timer **heap;
    uint32_t heap_len, heap_cap;
    uint32_t timers_ref; /* armed timers that are work */
    uint64_t timer_seq;

    struct asock__qnode deferred_ops; /* engine ops whose completion runs from the loop */
    struct asock__qnode tasks;        /* asock__task */
    struct asock__qnode closing;      /* asock__io whose fd is closed; closed() still to run */
    struct asock__qnode sockets;      /* every open asock_socket (for asock_loop_free) */
    struct asock__qnode timers;       /* every public asock_timer not yet closed */

    /* posts */
    struct asock__wake *wake;                /* the eventfd and its engine op (src/core/post.c) */
    _Atomic(struct asock__post *) post_head; /* LIFO push by producers; reversed on drain */
    atomic_int wake_armed;                   /* 1 when an eventfd write is outstanding */
    atomic_uint_fast64_t posts_pending;      /* posted and not yet run: work */

    struct asock__loop_ext ext[ASOCK__SLOT_MAX];
};

static inline void asock__loop_ref(asock_loop *loop)
{
    loop->active++;
}

static inline void asock__loop_unref(asock_loop *loop)
{
    loop->active--;
}

/* ---- errors ---- */

/* Names and messages for errno values used by asock_strerror (no strerror: not thread-safe). */
ASOCK__HIDDEN const char *asock__errno_name(int err);

#endif
