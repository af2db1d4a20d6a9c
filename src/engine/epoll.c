/* The epoll engine: completion semantics on top of readiness.
 *
 * Each descriptor is registered once, edge-triggered, for both directions, the first time an
 * operation has to wait on it (as .NET does).  Waiting operations sit on one FIFO queue per
 * direction; on an event the engine performs the head operation's call, completes it, and goes
 * on until a call would block.  A "ready" bit per direction remembers an edge that arrived while
 * the queue was empty, so an operation submitted later is tried at once instead of waiting for an
 * edge that will never come.
 */
#include "../core/internal.h"
#include "engine.h"

#include <sys/epoll.h>
#include <unistd.h>

#define EVENT_BATCH 256

struct epoll_engine {
    int epfd;
    struct epoll_event events[EVENT_BATCH];
};

/* io->ebits bits */
#define READY_IN  0x1u
#define READY_OUT 0x2u

static bool is_read_kind(uint8_t kind)
{
    return kind == ASOCK__OP_POLL_IN || kind == ASOCK__OP_ACCEPT || kind == ASOCK__OP_RECV ||
           kind == ASOCK__OP_RECVMSG;
}

static int ep_init(asock_loop *loop)
{
    struct epoll_engine *ep = asock__calloc(1, sizeof(*ep));
    if (ep == NULL)
        return -ENOMEM;
    ep->epfd = epoll_create1(EPOLL_CLOEXEC);
    if (ep->epfd < 0) {
        int err = -errno;
        asock__free(ep);
        return err;
    }
    loop->engine_data = ep;
    return 0;
}

static void ep_destroy(asock_loop *loop)
{
    struct epoll_engine *ep = loop->engine_data;
    if (ep == NULL)
        return;
    close(ep->epfd);
    asock__free(ep);
    loop->engine_data = NULL;
}

static void timed_out(struct asock__timer *t)
{
    struct asock__op_timed *to = asock__container_of(t, struct asock__op_timed, timer);
    struct asock__op *op = &to->op;
    if ((op->flags & ASOCK__OPF_QUEUED) == 0)
        return;
    asock__q_remove(&op->node);
    /* The loop pointer is not in the op: the timer fires from the loop that owns the io, and
     * asock__op_finish needs it only to close a descriptor; reach it through the timer's owner. */
    op->res = -ETIMEDOUT;
    op->flags &= (uint8_t)~ASOCK__OPF_QUEUED;
    asock__loop_defer_op(to->loop, op);
}

static void unqueue(asock_loop *loop, struct asock__op *op)
{
    asock__q_remove(&op->node);
    op->flags &= (uint8_t)~ASOCK__OPF_QUEUED;
    if (op->flags & ASOCK__OPF_TIMED) {
        struct asock__op_timed *to = asock__container_of(op, struct asock__op_timed, op);
        asock__timer_stop(loop, &to->timer);
    }
}

static int ep_submit(asock_loop *loop, struct asock__op *op)
{
    struct epoll_engine *ep = loop->engine_data;
    struct asock__io *io = op->io;
    if (io->fd < 0 || io->closing)
        return -EBADF;
    if (!io->registered) {
        struct epoll_event ev = {.events = EPOLLIN | EPOLLOUT | EPOLLRDHUP | EPOLLET,
                                 .data = {.ptr = io}};
        if (epoll_ctl(ep->epfd, EPOLL_CTL_ADD, io->fd, &ev) < 0)
            return -errno;
        io->registered = 1;
    }
    bool rd = is_read_kind(op->kind);
    struct asock__qnode *q = rd ? &io->rq : &io->wq;
    uint16_t bit = rd ? READY_IN : READY_OUT;
    op->flags |= ASOCK__OPF_SUBMITTED;
    io->inflight++;
    if (op->flags & ASOCK__OPF_TRIED) {
        /* the caller's attempt just said EAGAIN: the edge it would wait for is still to come */
        op->flags &= (uint8_t)~ASOCK__OPF_TRIED;
        if (asock__q_empty(q))
            io->ebits &= (uint16_t)~bit;
    } else if (asock__q_empty(q) && (io->ebits & bit)) {
        /* an edge arrived while nobody waited: the call may succeed now */
        int res = asock__op_try(op);
        if (res != -EAGAIN) {
            op->res = res;
            asock__loop_defer_op(loop, op);
            return 0;
        }
        io->ebits &= (uint16_t)~bit;
    }
    op->flags |= ASOCK__OPF_QUEUED;
    asock__q_insert_tail(q, &op->node);
    if (op->flags & ASOCK__OPF_TIMED) {
        struct asock__op_timed *to = asock__container_of(op, struct asock__op_timed, op);
        if (to->timeout_ms != 0) {
            to->loop = loop;
            asock__timer_init(&to->timer, timed_out);
            if (asock__timer_start(loop, &to->timer, to->timeout_ms) < 0) {
                asock__q_remove(&op->node);
                op->flags &= (uint8_t) ~(ASOCK__OPF_QUEUED | ASOCK__OPF_SUBMITTED);
                io->inflight--;
                return -ENOMEM;
            }
        }
    }
    return 0;
}

static void ep_cancel(asock_loop *loop, struct asock__op *op)
{
    if ((op->flags & ASOCK__OPF_QUEUED) == 0)
        return; /* not submitted, or already completed and waiting to be dispatched */
    unqueue(loop, op);
    op->res = -ECANCELED;
    asock__loop_defer_op(loop, op);
}

static void cancel_queue(asock_loop *loop, struct asock__qnode *q)
{
    while (!asock__q_empty(q)) {
        struct asock__op *op = asock__container_of(asock__q_head(q), struct asock__op, node);
        ep_cancel(loop, op);
    }
}

static void ep_cancel_all(asock_loop *loop, struct asock__io *io)
{
    cancel_queue(loop, &io->rq);
    cancel_queue(loop, &io->wq);
}

static void ep_detach(asock_loop *loop, struct asock__io *io)
{
    struct epoll_engine *ep = loop->engine_data;
    if (io->registered && io->fd >= 0)
        epoll_ctl(ep->epfd, EPOLL_CTL_DEL, io->fd, NULL);
    io->registered = 0;
    io->ebits = 0;
}

/* Runs the operations that were waiting on q when the event came.  Operations submitted from
 * inside their callbacks wait for the next event (or are tried at once thanks to the ready bit),
 * so a callback that re-arms cannot spin here. */
static void process(asock_loop *loop, struct asock__io *io, struct asock__qnode *q, uint16_t bit)
{
    if (asock__q_empty(q)) {
        io->ebits |= bit;
        return;
    }
    struct asock__qnode batch;
    asock__q_init(&batch);
    asock__q_move(q, &batch);
    io->ebits |= bit;
    while (!asock__q_empty(&batch)) {
        struct asock__op *op = asock__container_of(asock__q_head(&batch), struct asock__op, node);
        int res = asock__op_try(op);
        if (res == -EAGAIN) {
            io->ebits &= (uint16_t)~bit;
            /* the rest go back in front of anything submitted meanwhile */
            struct asock__qnode rest;
            asock__q_init(&rest);
            asock__q_move(q, &rest);
            asock__q_move(&batch, q);
            asock__q_move(&rest, q);
            return;
        }
        unqueue(loop, op);
        asock__op_finish(loop, op, res);
        if (io->fd < 0 || io->closing) {
            /* closed by a callback: what is left was not cancelled (it was off the queue) */
            while (!asock__q_empty(&batch)) {
                struct asock__op *o =
                    asock__container_of(asock__q_head(&batch), struct asock__op, node);
                unqueue(loop, o);
                o->res = -ECANCELED;
                asock__loop_defer_op(loop, o);
            }
            return;
        }
    }
}

static int ep_poll(asock_loop *loop, int timeout_ms)
{
    struct epoll_engine *ep = loop->engine_data;
    int n = epoll_wait(ep->epfd, ep->events, EVENT_BATCH, timeout_ms);
    if (n < 0)
        return errno == EINTR ? 0 : -errno;
    loop->now = asock__hrtime_ms();
    for (int i = 0; i < n; i++) {
        struct asock__io *io = ep->events[i].data.ptr;
        uint32_t ev = ep->events[i].events;
        if (io->fd < 0)
            continue;
        if (ev & (EPOLLIN | EPOLLERR | EPOLLHUP | EPOLLRDHUP))
            process(loop, io, &io->rq, READY_IN);
        if (io->fd < 0 || io->closing)
            continue;
        if (ev & (EPOLLOUT | EPOLLERR | EPOLLHUP))
            process(loop, io, &io->wq, READY_OUT);
    }
    return n;
}

const struct asock__engine_ops asock__epoll_engine = {
    .name = "epoll",
    .id = ASOCK_ENGINE_EPOLL,
    .init = ep_init,
    .destroy = ep_destroy,
    .submit = ep_submit,
    .cancel = ep_cancel,
    .cancel_all = ep_cancel_all,
    .poll = ep_poll,
    .detach = ep_detach,
};
