/* The epoll engine: completion semantics on top of readiness.
 *
 * Each descriptor is registered once, edge-triggered, for both directions, the first time an
 * operation has to wait on it (as .NET does).  Waiting operations sit on one FIFO queue per
 * direction; on an event the engine performs the head operation's call, completes it, and goes
 * on until a call would block.  A "ready" bit per direction remembers an edge that arrived while
 * the queue was empty, so an operation submitted later is tried at once instead of waiting for an
 * edge that will never come.
 *
 * Multishot operations (accept, stream and datagram receive that stay armed) sit alone on the
 * read queue and run the shared readiness path (multi.c): on each edge they read until EAGAIN
 * into the loop's buffer pool (recvmmsg batches for datagrams).  Two engine lists of descriptors
 * (io->enode) keep them going without an edge: `resume` (just submitted, or stopped after their
 * share of a busy socket so other descriptors and timers get their turn) runs at the next poll,
 * which then does not wait; `starved` (no free buffer) moves to `resume` once buffers are back.
 */
#include "../core/internal.h"
#include "engine.h"

#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#define EVENT_BATCH  256
#define MULTI_BUDGET 256u /* deliveries per descriptor per turn */

struct epoll_engine {
    int epfd;
    struct asock__bufpool pool;  /* the loop's receive buffers, made at the first multi receive */
    struct asock__qnode resume;  /* ios whose multishot op runs at the next poll */
    struct asock__qnode starved; /* ios whose multishot op waits for a free buffer */
    struct epoll_event events[EVENT_BATCH];
};

/* io->ebits bits */
#define READY_IN  0x1u
#define READY_OUT 0x2u
/* A datagram socket is registered level-triggered, with interest only in the directions that
 * have operations waiting (LEVEL; WANT_IN / WANT_OUT say what is registered).  Edge-triggered, a
 * receive re-armed after a datagram must try a recvmsg at once, because a second datagram that
 * came with the same edge would get no new one: in request/response traffic that try always
 * fails (EAGAIN).  Level-triggered, the wait reports a datagram that is there, so the receive
 * just waits.  Interest is dropped lazily: when the wait reports a direction with nothing
 * waiting (and the descriptor leaves the set on an error or hang-up with nothing waiting, which
 * level-triggered epoll would otherwise report again and again). */
#define LEVEL    0x4u
#define WANT_IN  0x8u
#define WANT_OUT 0x10u
#define WANT_ALL (WANT_IN | WANT_OUT)

static bool is_read_kind(uint8_t kind)
{
    return asock__op_kind_read(kind);
}

static int ep_init(asock_loop *loop)
{
    int rc = asock__bufpool_check(&loop->opts);
    if (rc < 0)
        return rc;
    struct epoll_engine *ep = asock__calloc(1, sizeof(*ep));
    if (ep == NULL)
        return -ENOMEM;
    asock__q_init(&ep->resume);
    asock__q_init(&ep->starved);
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
    asock__bufpool_destroy(&ep->pool);
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

/* A level-triggered io's interest becomes want (WANT_* bits).  0 or -errno. */
static int set_interest(struct epoll_engine *ep, struct asock__io *io, uint16_t want)
{
    if (io->registered && (io->ebits & WANT_ALL) == want)
        return 0;
    if (io->registered && want == 0) {
        /* nothing wanted: leave the set (an error or hang-up would still be reported) */
        if (epoll_ctl(ep->epfd, EPOLL_CTL_DEL, io->fd, NULL) < 0)
            return -errno;
        io->registered = 0;
        io->ebits &= (uint16_t)~WANT_ALL;
        return 0;
    }
    struct epoll_event ev = {.events = ((want & WANT_IN) ? EPOLLIN : 0u) |
                                       ((want & WANT_OUT) ? EPOLLOUT : 0u),
                             .data = {.ptr = io}};
    if (epoll_ctl(ep->epfd, io->registered ? EPOLL_CTL_MOD : EPOLL_CTL_ADD, io->fd, &ev) < 0)
        return -errno;
    io->registered = 1;
    io->ebits = (uint16_t)((io->ebits & ~WANT_ALL) | want);
    return 0;
}

static bool is_datagram_socket(int fd)
{
    int type = 0;
    socklen_t len = sizeof(type);
    return getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &len) == 0 && type == SOCK_DGRAM;
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
    if (op->kind == 0 || op->kind >= ASOCK__OP_KIND_MAX)
        return -EINVAL;
    if (io->fd < 0 || io->closing)
        return -EBADF;
    if (op->flags & ASOCK__OPF_SUBMITTED)
        return -EBUSY;
    bool multi = asock__op_kind_multi(op->kind);
    if (multi && op->kind != ASOCK__OP_ACCEPT_MULTI && ep->pool.base == NULL) {
        int rc = asock__bufpool_create(&ep->pool, &loop->opts);
        if (rc < 0)
            return rc;
    }
    op->flags &= (uint8_t) ~(ASOCK__OPF_CANCELED | ASOCK__OPF_MORE);
    bool rd = is_read_kind(op->kind);
    struct asock__qnode *q = rd ? &io->rq : &io->wq;
    uint16_t bit = rd ? READY_IN : READY_OUT;
    if (!io->registered && !(io->ebits & LEVEL) && is_datagram_socket(io->fd))
        io->ebits |= LEVEL; /* decided once per descriptor */
    if (io->ebits & LEVEL) {
        uint16_t want = rd ? WANT_IN : WANT_OUT;
        int rc = set_interest(ep, io, (uint16_t)((io->ebits & WANT_ALL) | want));
        if (rc < 0)
            return rc;
    } else if (!io->registered) {
        struct epoll_event ev = {.events = EPOLLIN | EPOLLOUT | EPOLLRDHUP | EPOLLET,
                                 .data = {.ptr = io}};
        if (epoll_ctl(ep->epfd, EPOLL_CTL_ADD, io->fd, &ev) < 0)
            return -errno;
        io->registered = 1;
    }
    op->flags |= ASOCK__OPF_SUBMITTED;
    io->inflight++;
    if (multi) {
        /* never performed inside submit: the first attempt runs at the next poll */
        op->flags = (uint8_t)((op->flags & ~ASOCK__OPF_TRIED) | ASOCK__OPF_QUEUED);
        asock__q_insert_tail(q, &op->node);
        asock__q_remove(&io->enode);
        asock__q_insert_tail(&ep->resume, &io->enode);
        return 0;
    }
    if (io->ebits & LEVEL) {
        /* level-triggered: the wait reports what is already there; no try here */
        op->flags &= (uint8_t)~ASOCK__OPF_TRIED;
    } else if (op->kind == ASOCK__OP_CONNECT_START) {
        /* connect(2) now; when under way the op waits for the end as an ASOCK__OP_CONNECT */
        int res = asock__op_try(op);
        if (res != -EAGAIN) {
            op->res = res;
            asock__loop_defer_op(loop, op);
            return 0;
        }
        io->ebits &= (uint16_t)~bit;
    } else if (op->flags & ASOCK__OPF_TRIED) {
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
    op->flags |= ASOCK__OPF_CANCELED; /* a multishot op being performed stops delivering */
    if (asock__op_kind_multi(op->kind))
        asock__q_remove(&op->io->enode);
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

/* Runs io's multishot op (the head of its read queue) until it would block, runs out of buffers
 * or has had its share. */
static void run_multi(asock_loop *loop, struct epoll_engine *ep, struct asock__io *io,
                      struct asock__op *op)
{
    int final = 0;
    asock__q_remove(&io->enode);
    switch (asock__multi_perform(loop, &ep->pool, op, MULTI_BUDGET, &final)) {
    case ASOCK__MULTI_AGAIN:
        io->ebits &= (uint16_t)~READY_IN;
        if ((io->ebits & LEVEL) && !(io->ebits & WANT_IN) &&
            set_interest(ep, io, (uint16_t)((io->ebits & WANT_ALL) | WANT_IN)) < 0) {
            unqueue(loop, op);
            asock__op_finish(loop, op, -errno);
        }
        break;
    case ASOCK__MULTI_NOBUF:
        /* level-triggered: stop hearing about data it cannot take (back when buffers are) */
        if (io->ebits & LEVEL)
            set_interest(ep, io, (uint16_t)(io->ebits & WANT_OUT));
        asock__q_insert_tail(&ep->starved, &io->enode);
        break;
    case ASOCK__MULTI_BUDGET:
        asock__q_insert_tail(&ep->resume, &io->enode);
        break;
    case ASOCK__MULTI_FINAL:
        unqueue(loop, op);
        asock__op_finish(loop, op, final);
        break;
    case ASOCK__MULTI_CANCELED:
        break;
    }
}

static struct asock__op *multi_head(const struct asock__io *io)
{
    if (asock__q_empty(&io->rq))
        return NULL;
    struct asock__op *op = asock__container_of(asock__q_head(&io->rq), struct asock__op, node);
    return asock__op_kind_multi(op->kind) ? op : NULL;
}

/* Runs the operations that were waiting on q when the event came.  Operations submitted from
 * inside their callbacks wait for the next event (or are tried at once thanks to the ready bit),
 * so a callback that re-arms cannot spin here. */
static void process(asock_loop *loop, struct asock__io *io, struct asock__qnode *q, uint16_t bit,
                    uint32_t ev)
{
    if (asock__q_empty(q)) {
        io->ebits |= bit;
        if (io->ebits & LEVEL) /* nothing waits that way: stop hearing about it */
            set_interest(loop->engine_data, io,
                         (uint16_t)(io->ebits & WANT_ALL & ~(q == &io->rq ? WANT_IN : WANT_OUT)));
        return;
    }
    struct asock__op *mop = q == &io->rq ? multi_head(io) : NULL;
    if (mop != NULL) {
        io->ebits |= bit;
        run_multi(loop, loop->engine_data, io, mop);
        return;
    }
    struct asock__qnode batch;
    asock__q_init(&batch);
    asock__q_move(q, &batch);
    io->ebits |= bit;
    while (!asock__q_empty(&batch)) {
        struct asock__op *op = asock__container_of(asock__q_head(&batch), struct asock__op, node);
        int res;
        if (op->kind == ASOCK__OP_CONNECT && (ev & EPOLLOUT) && !(ev & (EPOLLERR | EPOLLHUP)))
            res = asock__so_error(io->fd); /* writable now, no error: connected (no poll) */
        else
            res = asock__op_try(op);
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
        /* A stream recv that got less than it asked for emptied the socket: unless a new edge
         * comes, the next call would say EAGAIN, so an operation submitted from the callback
         * waits for that edge instead of trying at once.  Not when the peer's FIN (or an error)
         * came with the event: the next recv then returns at once, and no edge will follow. */
        if (op->kind == ASOCK__OP_RECV && res > 0 && (size_t)res < op->u.rw.len &&
            !(op->u.rw.flags & MSG_PEEK) && !(ev & (EPOLLRDHUP | EPOLLHUP | EPOLLERR)))
            io->ebits &= (uint16_t)~bit;
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

/* Runs the multishot ops that were on the resume list when the poll began. */
static int run_resume(asock_loop *loop, struct epoll_engine *ep)
{
    if (asock__q_empty(&ep->resume))
        return 0;
    struct asock__qnode batch;
    asock__q_init(&batch);
    asock__q_move(&ep->resume, &batch);
    int n = 0;
    while (!asock__q_empty(&batch)) {
        struct asock__io *io = asock__container_of(asock__q_head(&batch), struct asock__io, enode);
        asock__q_remove(&io->enode);
        struct asock__op *op = multi_head(io);
        if (op == NULL || io->fd < 0 || io->closing)
            continue;
        run_multi(loop, ep, io, op);
        n++;
    }
    return n;
}

static int ep_poll(asock_loop *loop, int timeout_ms)
{
    struct epoll_engine *ep = loop->engine_data;
    if (!asock__q_empty(&ep->resume))
        timeout_ms = 0;
    int n = epoll_wait(ep->epfd, ep->events, EVENT_BATCH, timeout_ms);
    if (n < 0 && errno != EINTR)
        return -errno;
    if (n < 0)
        n = 0;
    for (int i = 0; i < n; i++) {
        struct asock__io *io = ep->events[i].data.ptr;
        uint32_t ev = ep->events[i].events;
        if (io->fd < 0)
            continue;
        if (ev & (EPOLLIN | EPOLLERR | EPOLLHUP | EPOLLRDHUP))
            process(loop, io, &io->rq, READY_IN, ev);
        if (io->fd < 0 || io->closing)
            continue;
        if (ev & (EPOLLOUT | EPOLLERR | EPOLLHUP))
            process(loop, io, &io->wq, READY_OUT, ev);
        /* level-triggered with nothing waiting: an error or hang-up would come back at every
         * wait; the descriptor leaves the set until an operation waits again */
        if ((io->ebits & LEVEL) && io->registered && io->fd >= 0 && !io->closing &&
            (ev & (EPOLLERR | EPOLLHUP)) && asock__q_empty(&io->rq) && asock__q_empty(&io->wq))
            set_interest(ep, io, 0);
    }
    n += run_resume(loop, ep);
    /* buffers came back during the deliveries: the starved ops may go on */
    if (!asock__q_empty(&ep->starved) && ep->pool.nfree > 0)
        asock__q_move(&ep->starved, &ep->resume);
    return n;
}

const struct asock__engine_ops asock__epoll_engine = {
    .name = "epoll",
    .id = ASOCK_ENGINE_EPOLL,
    .calls_in_ring = false,
    .init = ep_init,
    .destroy = ep_destroy,
    .submit = ep_submit,
    .cancel = ep_cancel,
    .cancel_all = ep_cancel_all,
    .poll = ep_poll,
    .detach = ep_detach,
    .close_fd = NULL, /* close(2) */
    .flush = NULL,
};
