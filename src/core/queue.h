/* Intrusive circular doubly linked list (libuv's uv__queue idea, written for asock).
 * A node that is on no list points to itself, so removal is always safe to repeat. */
#ifndef ASOCK_CORE_QUEUE_H
#define ASOCK_CORE_QUEUE_H

#include <stdbool.h>
#include <stddef.h>

struct asock__qnode {
    struct asock__qnode *next;
    struct asock__qnode *prev;
};

#define asock__container_of(ptr, type, member) ((type *)((char *)(ptr)-offsetof(type, member)))

static inline void asock__q_init(struct asock__qnode *q)
{
    q->next = q;
    q->prev = q;
}

static inline bool asock__q_empty(const struct asock__qnode *q)
{
    return q->next == q;
}

static inline struct asock__qnode *asock__q_head(const struct asock__qnode *q)
{
    return q->next;
}

static inline void asock__q_insert_tail(struct asock__qnode *q, struct asock__qnode *n)
{
    n->next = q;
    n->prev = q->prev;
    q->prev->next = n;
    q->prev = n;
}

static inline void asock__q_insert_head(struct asock__qnode *q, struct asock__qnode *n)
{
    n->next = q->next;
    n->prev = q;
    q->next->prev = n;
    q->next = n;
}

static inline void asock__q_remove(struct asock__qnode *n)
{
    n->prev->next = n->next;
    n->next->prev = n->prev;
    n->next = n;
    n->prev = n;
}

/* Moves every node of from to the tail of to; from becomes empty. */
static inline void asock__q_move(struct asock__qnode *from, struct asock__qnode *to)
{
    if (asock__q_empty(from))
        return;
    struct asock__qnode *first = from->next;
    struct asock__qnode *last = from->prev;
    first->prev = to->prev;
    to->prev->next = first;
    last->next = to;
    to->prev = last;
    asock__q_init(from);
}

#endif
