/* Timers: a binary min-heap of pointers, ordered by (deadline, seq). */
#include "internal.h"

#define HEAP_NONE UINT32_MAX

void asock__timer_init(struct asock__timer *t, asock__timer_fn *cb)
{
    t->deadline = 0;
    t->seq = 0;
    t->cb = cb;
    t->index = HEAP_NONE;
    t->unref = 0;
}

static bool before(const struct asock__timer *a, const struct asock__timer *b)
{
    if (a->deadline != b->deadline)
        return a->deadline < b->deadline;
    return a->seq < b->seq;
}

static void place(asock_loop *loop, uint32_t i, struct asock__timer *t)
{
    loop->heap[i] = t;
    t->index = i;
}

static void sift_up(asock_loop *loop, uint32_t i)
{
    struct asock__timer *t = loop->heap[i];
    while (i > 0) {
        uint32_t parent = (i - 1) / 2;
        if (!before(t, loop->heap[parent]))
            break;
        place(loop, i, loop->heap[parent]);
        i = parent;
    }
    place(loop, i, t);
}

static void sift_down(asock_loop *loop, uint32_t i)
{
    struct asock__timer *t = loop->heap[i];
    for (;;) {
        uint32_t child = 2 * i + 1;
        if (child >= loop->heap_len)
            break;
        if (child + 1 < loop->heap_len && before(loop->heap[child + 1], loop->heap[child]))
            child++;
        if (!before(loop->heap[child], t))
            break;
        place(loop, i, loop->heap[child]);
        i = child;
    }
    place(loop, i, t);
}

static void heap_remove(asock_loop *loop, struct asock__timer *t)
{
    uint32_t i = t->index;
    loop->heap_len--;
    if (i != loop->heap_len) {
        struct asock__timer *moved = loop->heap[loop->heap_len];
        place(loop, i, moved);
        sift_down(loop, i);
        sift_up(loop, moved->index);
    }
    t->index = HEAP_NONE;
    if (!t->unref)
        loop->timers_ref--;
}

int asock__timer_start(asock_loop *loop, struct asock__timer *t, uint64_t ms)
{
    if (asock__timer_active(t))
        heap_remove(loop, t);
    if (loop->heap_len == loop->heap_cap) {
        uint32_t cap = loop->heap_cap != 0 ? loop->heap_cap * 2 : 16;
        struct asock__timer **h = asock__realloc(loop->heap, cap * sizeof(*h));
        if (h == NULL)
            return -ENOMEM;
        loop->heap = h;
        loop->heap_cap = cap;
    }
    /* from the real time now: the loop's cached clock may be old if it has not run lately */
    loop->now = asock__hrtime_ms();
    t->deadline = loop->now + ms;
    t->seq = loop->timer_seq++;
    loop->heap[loop->heap_len] = t;
    t->index = loop->heap_len++;
    sift_up(loop, t->index);
    if (!t->unref)
        loop->timers_ref++;
    return 0;
}

void asock__timer_stop(asock_loop *loop, struct asock__timer *t)
{
    if (asock__timer_active(t))
        heap_remove(loop, t);
}

int asock__timer_next(const asock_loop *loop)
{
    if (loop->heap_len == 0)
        return -1;
    uint64_t d = loop->heap[0]->deadline;
    if (d <= loop->now)
        return 0;
    uint64_t diff = d - loop->now;
    return diff > INT32_MAX ? INT32_MAX : (int)diff;
}

/* A timer re-armed inside a callback waits for the next pass (seq >= limit), so a 0 ms timer
 * cannot starve the loop. */
int asock__timer_run(asock_loop *loop)
{
    int n = 0;
    uint64_t limit = loop->timer_seq;
    while (loop->heap_len > 0) {
        struct asock__timer *t = loop->heap[0];
        if (t->deadline > loop->now || t->seq >= limit)
            break;
        heap_remove(loop, t);
        t->cb(t);
        n++;
    }
    return n;
}
