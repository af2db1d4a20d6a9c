/* Cross-thread posts: producers push onto a lock-free LIFO list and write the eventfd once per
 * batch; the loop watches the eventfd through an ordinary engine POLL_IN operation, reverses the
 * list (first posted, first run) and runs every function exactly once. */
#include "internal.h"
#include "../engine/engine.h"

#include <sys/eventfd.h>
#include <unistd.h>

struct asock__wake {
    struct asock__io io;
    struct asock__op op;
    asock_loop *loop;
    int armed; /* op submitted */
};

static void wake_done(struct asock__op *op);

static int arm(asock_loop *loop)
{
    struct asock__wake *w = loop->wake;
    asock__op_prep(&w->op, ASOCK__OP_POLL_IN, &w->io, wake_done);
    int rc = asock__engine_submit(loop, &w->op);
    w->armed = rc == 0;
    return rc;
}

int asock__post_init(asock_loop *loop)
{
    struct asock__wake *w = asock__calloc(1, sizeof(*w));
    if (w == NULL)
        return -ENOMEM;
    int fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    if (fd < 0) {
        int err = -errno;
        asock__free(w);
        return err;
    }
    asock__io_init(&w->io, fd);
    w->loop = loop;
    loop->wake = w;
    atomic_init(&loop->post_head, NULL);
    atomic_init(&loop->wake_armed, 0);
    atomic_init(&loop->posts_pending, 0);
    int rc = arm(loop);
    if (rc < 0) {
        close(fd);
        asock__free(w);
        loop->wake = NULL;
    }
    return rc;
}

/* Runs every function posted so far; returns how many ran. */
int asock__post_drain(asock_loop *loop)
{
    /* Clear the flag before taking the list: a producer that pushes after this point writes the
     * eventfd again, so nothing posted is ever left unseen. */
    atomic_store(&loop->wake_armed, 0);
    struct asock__post *list = atomic_exchange(&loop->post_head, NULL);
    struct asock__post *fifo = NULL;
    while (list != NULL) {
        struct asock__post *next = list->next;
        list->next = fifo;
        fifo = list;
        list = next;
    }
    int n = 0;
    while (fifo != NULL) {
        struct asock__post *p = fifo;
        fifo = p->next;
        void (*fn)(void *) = p->fn;
        void *arg = p->arg;
        asock__free(p);
        atomic_fetch_sub(&loop->posts_pending, 1);
        fn(arg);
        n++;
    }
    return n;
}

static void wake_done(struct asock__op *op)
{
    struct asock__wake *w = asock__container_of(op, struct asock__wake, op);
    asock_loop *loop = w->loop;
    w->armed = 0;
    uint64_t v;
    while (read(w->io.fd, &v, sizeof(v)) < 0 && errno == EINTR)
        ;
    asock__post_drain(loop);
    if (op->res != -ECANCELED && !w->io.closing && !loop->freeing)
        arm(loop);
}

static void wake_closed(struct asock__io *io)
{
    struct asock__wake *w = asock__container_of(io, struct asock__wake, io);
    w->loop->wake = NULL;
    asock__free(w);
}

/* Stops watching the eventfd and closes it (asock_loop_free, after the last posts ran). */
void asock__post_shutdown(asock_loop *loop)
{
    if (loop->wake == NULL)
        return;
    asock__engine_close(loop, &loop->wake->io, wake_closed);
}

int asock_loop_post(asock_loop *loop, void (*fn)(void *arg), void *arg)
{
    if (loop == NULL || fn == NULL)
        return -EINVAL;
    struct asock__post *p = asock__malloc(sizeof(*p));
    if (p == NULL)
        return -ENOMEM;
    p->fn = fn;
    p->arg = arg;
    atomic_fetch_add(&loop->posts_pending, 1);
    struct asock__post *old = atomic_load(&loop->post_head);
    do {
        p->next = old;
    } while (!atomic_compare_exchange_weak(&loop->post_head, &old, p));
    /* (during asock_loop_free the eventfd may be gone: the free drains the list itself) */
    if (loop->wake != NULL && atomic_exchange(&loop->wake_armed, 1) == 0) {
        uint64_t one = 1;
        ssize_t rc;
        do {
            rc = write(loop->wake->io.fd, &one, sizeof(one));
        } while (rc < 0 && errno == EINTR);
        /* EAGAIN means the counter is already huge, i.e. a wake-up is already pending */
    }
    return 0;
}

/* Releases the eventfd if its engine op never completed (the engine is already destroyed). */
void asock__post_release(asock_loop *loop)
{
    struct asock__wake *w = loop->wake;
    if (w == NULL)
        return;
    if (w->io.fd >= 0)
        close(w->io.fd);
    asock__free(w);
    loop->wake = NULL;
}
