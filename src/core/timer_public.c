/* asock_timer: the public timer, on the loop's internal timer heap. */
#include "internal.h"

struct asock_timer {
    asock_loop *loop;
    struct asock__timer t;
    struct asock__task release; /* deferred free after close */
    struct asock__qnode lnode;  /* loop->timers */
    asock_timer_fn *fn;
    void *user;
    uint64_t repeat;
    bool closed;
};

static void fire(struct asock__timer *it)
{
    asock_timer *t = asock__container_of(it, asock_timer, t);
    /* re-arm first, so the callback can stop or re-start it */
    if (t->repeat != 0)
        asock__timer_start(t->loop, &t->t, t->repeat);
    t->fn(t, t->user);
}

int asock_timer_new(asock_loop *loop, asock_timer **out)
{
    if (out != NULL)
        *out = NULL;
    if (loop == NULL || out == NULL)
        return -EINVAL;
    if (loop->freeing)
        return -EBADF;
    asock_timer *t = asock__calloc(1, sizeof(*t));
    if (t == NULL)
        return -ENOMEM;
    t->loop = loop;
    asock__timer_init(&t->t, fire);
    asock__task_init(&t->release, NULL);
    asock__q_insert_tail(&loop->timers, &t->lnode);
    *out = t;
    return 0;
}

int asock_timer_start(asock_timer *t, uint64_t timeout_ms, uint64_t repeat_ms, asock_timer_fn *fn,
                      void *user)
{
    if (t == NULL || fn == NULL || t->closed)
        return -EINVAL;
    t->fn = fn;
    t->user = user;
    t->repeat = repeat_ms;
    return asock__timer_start(t->loop, &t->t, timeout_ms);
}

void asock_timer_stop(asock_timer *t)
{
    if (t != NULL)
        asock__timer_stop(t->loop, &t->t);
}

int asock_timer_active(const asock_timer *t)
{
    return t != NULL && asock__timer_active(&t->t) ? 1 : 0;
}

static void release(struct asock__task *task)
{
    asock_timer *t = asock__container_of(task, asock_timer, release);
    asock__free(t);
}

void asock_timer_close(asock_timer *t)
{
    if (t == NULL || t->closed)
        return;
    t->closed = true;
    asock__timer_stop(t->loop, &t->t);
    asock__q_remove(&t->lnode);
    /* freed from the loop, so a close from inside the timer's own callback is safe */
    t->release.fn = release;
    asock__loop_defer(t->loop, &t->release);
}

void asock__timer_close_all(asock_loop *loop)
{
    while (!asock__q_empty(&loop->timers)) {
        asock_timer *t = asock__container_of(asock__q_head(&loop->timers), asock_timer, lnode);
        asock_timer_close(t);
    }
}
