/* The engine boundary: what the layers above ask of an I/O engine, and what an engine must do.
 *
 * The model is completion-based (io_uring-shaped).  An upper layer first tries the system call
 * itself (that is where synchronous completion comes from); when it would block, it hands the
 * engine an operation (struct asock__op) that says which call to finish.  The engine completes
 * every submitted operation exactly once, by setting op->res (bytes / fd / 0, or -errno) and
 * calling op->done from inside asock_loop_run — never inside submit or cancel.
 *
 *   epoll engine:    waits for readiness (edge-triggered, one registration per descriptor for its
 *                    whole life), then performs the call; per descriptor one FIFO queue per
 *                    direction keeps the order of operations.
 *   io_uring engine: turns each operation into an SQE; the CQE is the completion.
 *
 * Multishot operations (ACCEPT_MULTI, RECV_MULTI, RECVMSG_MULTI) are the exception to "exactly
 * once": they stay submitted and complete many times.  Each result but the last is a delivery:
 * the engine sets ASOCK__OPF_MORE and calls asock__op_finish, which then only sets res and calls
 * done (the op stays SUBMITTED and in io->inflight).  The last completion has MORE clear and is
 * an ordinary one: an error, a stream's end (RECV_MULTI, res 0), or -ECANCELED after a cancel.
 * After a cancel (also one made from inside done) there are no more deliveries.  Received data
 * lives in a buffer of the loop's pool (struct asock__bufpool, owned by the engine): valid while
 * done runs, given back to the pool when done returns.
 *
 * Upper layers never include <sys/epoll.h> or <liburing.h>; engines never know about sockets,
 * args or resolution: they see descriptors (struct asock__io) and operations only.
 */
#ifndef ASOCK_ENGINE_ENGINE_H
#define ASOCK_ENGINE_ENGINE_H

#include "../core/internal.h"

enum asock__op_kind {
    ASOCK__OP_POLL_IN = 1, /* wait until readable; res = 0 (no call is made) */
    ASOCK__OP_POLL_OUT,    /* wait until writable; res = 0 */
    ASOCK__OP_CONNECT,     /* finish a connect(2) that returned EINPROGRESS: res 0 or -SO_ERROR */
    ASOCK__OP_ACCEPT,      /* accept4(fd, u.accept.addr, u.accept.addrlen, NONBLOCK|CLOEXEC) */
    ASOCK__OP_RECV,        /* recv(fd, u.rw.buf, u.rw.len, u.rw.flags) */
    ASOCK__OP_SEND,        /* send(fd, u.rw.buf, u.rw.len, u.rw.flags | MSG_NOSIGNAL) */
    ASOCK__OP_RECVMSG,     /* recvmsg(fd, u.msg.msg, u.msg.flags); msg_flags/namelen updated */
    ASOCK__OP_SENDMSG,     /* sendmsg(fd, u.msg.msg, u.msg.flags | MSG_NOSIGNAL) */
    /* connect(fd, u.conn.addr, u.conn.len) on a stream socket, by the engine (io_uring:
     * IORING_OP_CONNECT), to its end: res 0 or -errno.  Submitted untried. */
    ASOCK__OP_CONNECT_START,
    /* multishot (see above); the results of a delivery are in u.multi */
    ASOCK__OP_ACCEPT_MULTI,  /* accept4(fd, NULL, NULL, NONBLOCK|CLOEXEC) per connection: res fd */
    ASOCK__OP_RECV_MULTI,    /* stream: recv into a pool buffer per chunk: res bytes, 0 = end */
    ASOCK__OP_RECVMSG_MULTI, /* datagrams: recvmsg into a pool buffer per datagram: res bytes */
    ASOCK__OP_KIND_MAX
};

/* op->flags, owned by the engine while the operation is submitted. */
#define ASOCK__OPF_SUBMITTED 0x01u /* between submit and done */
#define ASOCK__OPF_CANCELED  0x02u /* cancel was asked for */
#define ASOCK__OPF_TIMED     0x04u /* op is the `op` member of a struct asock__op_timed */
#define ASOCK__OPF_QUEUED    0x08u /* engine-private: on a queue */
#define ASOCK__OPF_ENGINE1   0x10u /* engine-private */
#define ASOCK__OPF_ENGINE2   0x20u /* engine-private */
#define ASOCK__OPF_TRIED                                                                      \
    0x40u                     /* set by the submitter: it has just performed the call and got \
                                 EAGAIN, so the engine need not try it again at once */
#define ASOCK__OPF_MORE 0x80u /* multishot: set by the engine during a delivery (not the last) */

static inline bool asock__op_kind_multi(unsigned kind)
{
    return kind == ASOCK__OP_ACCEPT_MULTI || kind == ASOCK__OP_RECV_MULTI ||
           kind == ASOCK__OP_RECVMSG_MULTI;
}

static inline bool asock__op_kind_read(unsigned kind)
{
    return kind == ASOCK__OP_POLL_IN || kind == ASOCK__OP_ACCEPT || kind == ASOCK__OP_RECV ||
           kind == ASOCK__OP_RECVMSG || asock__op_kind_multi(kind);
}

struct asock__op;
typedef void asock__op_done_fn(struct asock__op *op);

/* A descriptor as the engine sees it.  Embedded in its owner (socket, resolver socket, loop). */
struct asock__io {
    int fd;
    uint8_t registered;     /* engine-private: the epoll engine has added fd */
    uint8_t closing;        /* asock__engine_close was called */
    uint16_t ebits;         /* engine-private bits (epoll: readiness seen while nobody waited) */
    uint32_t inflight;      /* submitted operations not yet completed */
    struct asock__qnode rq; /* epoll: read-direction queue (POLL_IN, ACCEPT, RECV, RECVMSG) */
    struct asock__qnode wq; /* epoll: write-direction queue (POLL_OUT, CONNECT, SEND, SENDMSG) */
    void (*closed)(struct asock__io *io); /* set by asock__engine_close: runs once fd is closed */
    struct asock__qnode cnode;            /* the loop's closing list */
    struct asock__qnode enode; /* engine-private: its lists of descriptors whose multishot op
                                  waits for a pool buffer or is to run again */
};

struct asock__op {
    uint8_t kind;             /* enum asock__op_kind */
    uint8_t flags;            /* ASOCK__OPF_* */
    uint16_t eflags;          /* engine-private state of a multishot op */
    int32_t res;              /* the result, valid in done: >= 0 or -errno */
    struct asock__io *io;     /* the descriptor */
    struct asock__qnode node; /* engine queue, or the loop's deferred list */
    asock__op_done_fn *done;  /* called once, from the loop */

    union {
        struct {
            void *buf;
            size_t len;
            int flags;
        } rw;

        struct {
            struct msghdr *msg;
            int flags;
        } msg;

        struct {
            struct sockaddr *addr;
            socklen_t *addrlen;
        } accept;

        struct {
            const struct sockaddr *addr;
            socklen_t len;
        } conn;

        struct { /* multishot deliveries, set by the engine (res: bytes, or the accepted fd) */
            void *data;                  /* RECV(MSG)_MULTI: the bytes, in a pool buffer */
            const struct sockaddr *name; /* RECVMSG_MULTI: the sender, in the same buffer */
            uint32_t namelen;
            int msg_flags; /* RECVMSG_MULTI: MSG_TRUNC when the datagram was cut */
        } multi;
    } u;
};

/* An operation with a deadline (used for connect timeouts).  When timeout_ms passes before the
 * operation completes, the engine completes it with -ETIMEDOUT.  The epoll engine uses `timer`;
 * the io_uring engine links an IORING_OP_LINK_TIMEOUT and leaves `timer` unused. */
struct asock__op_timed {
    struct asock__op op;
    uint32_t timeout_ms;
    struct asock__timer timer; /* engines that time out with a loop timer */
    asock_loop *loop;          /* set by such an engine at submit, for the timer's callback */
};

struct asock__engine_ops {
    const char *name;
    asock_engine id;
    /* The engine performs a submitted call itself in the loop's next wait, with no system call
     * of its own (io_uring).  Inside the loop the layers then hand it the calls that would
     * complete anyway (sends) instead of trying them first: one io_uring_enter per loop turn
     * does them all. */
    bool calls_in_ring;
    /* Creates the engine's state (loop->engine_data).  0 or -errno. */
    int (*init)(asock_loop *loop);
    /* Releases it.  Every io has been closed and every op completed before this is called. */
    void (*destroy)(asock_loop *loop);
    /* Starts op (kind, io, u, done set by the caller; op->flags may hold ASOCK__OPF_TIMED).
     * 0: submitted, done will run later; -errno: not started (done will not run). */
    int (*submit)(asock_loop *loop, struct asock__op *op);
    /* Asks for op to end early: it completes with -ECANCELED (or with its real result if that
     * came first).  No effect on an op that is not submitted.  Never calls done inside.  A
     * multishot op has no delivery after the cancel; its last completion is -ECANCELED. */
    void (*cancel)(asock_loop *loop, struct asock__op *op);
    /* Cancels every submitted op of io (each completes with -ECANCELED unless its real result
     * came first).  The core closes io->fd once io->inflight is 0 (see asock__engine_close). */
    void (*cancel_all)(asock_loop *loop, struct asock__io *io);
    /* Waits up to timeout_ms (-1: forever, 0: no wait) and dispatches completions.
     * Returns the number of completions dispatched, or -errno. */
    int (*poll)(asock_loop *loop, int timeout_ms);
    /* Forgets io->fd without closing it (the descriptor moves to another io, e.g. the winner of
     * a connect by name).  No op of io is in flight.  May be NULL (nothing to forget). */
    void (*detach)(asock_loop *loop, struct asock__io *io);
    /* Closes fd, which nothing of the engine's refers to any more.  May be NULL (close(2)).
     * io_uring queues an IORING_OP_CLOSE: the descriptor is released at the next flush or poll. */
    void (*close_fd)(asock_loop *loop, int fd);
    /* Hands the kernel what submit and close_fd queued, without waiting.  Called before
     * asock_loop_run returns, so nothing queued waits for a next run.  May be NULL. */
    void (*flush)(asock_loop *loop);
};

ASOCK__HIDDEN extern const struct asock__engine_ops asock__epoll_engine;
ASOCK__HIDDEN extern const struct asock__engine_ops asock__uring_engine;

/* Used by the io_uring engine's probe for AUTO: 0 when io_uring is usable, else -errno and a
 * static reason. */
ASOCK__HIDDEN int asock__uring_probe(const char **reason);

/* Helpers the layers call. */
static inline void asock__io_init(struct asock__io *io, int fd)
{
    io->fd = fd;
    io->registered = 0;
    io->closing = 0;
    io->ebits = 0;
    io->inflight = 0;
    asock__q_init(&io->rq);
    asock__q_init(&io->wq);
    io->closed = NULL;
    asock__q_init(&io->cnode);
    asock__q_init(&io->enode);
}

static inline void asock__op_prep(struct asock__op *op, enum asock__op_kind kind,
                                  struct asock__io *io, asock__op_done_fn *done)
{
    op->kind = (uint8_t)kind;
    op->flags &= ASOCK__OPF_TIMED;
    op->eflags = 0;
    op->res = 0;
    op->io = io;
    op->done = done;
}

static inline int asock__engine_submit(asock_loop *loop, struct asock__op *op)
{
    return loop->engine->submit(loop, op);
}

static inline void asock__engine_cancel(asock_loop *loop, struct asock__op *op)
{
    loop->engine->cancel(loop, op);
}

/* Closes io: cancels its operations through the engine; once every one has completed, the core
 * closes io->fd and then calls closed(io) from the loop.  io must stay valid until then.  The
 * descriptor number is never released while a completion for it can still arrive. */
typedef void asock__io_closed_fn(struct asock__io *io);
ASOCK__HIDDEN void asock__engine_close(asock_loop *loop, struct asock__io *io,
                                       asock__io_closed_fn *closed);

/* Performs op's system call once, non-blocking.  Returns the result (>= 0 or -errno; -EAGAIN when
 * it would block).  Shared by the epoll engine and by the layers' first attempt. */
ASOCK__HIDDEN int asock__op_try(struct asock__op *op);

/* The pending error of a socket (SO_ERROR), as 0 or -errno: the result of a connect that the
 * engine has just seen become writable. */
ASOCK__HIDDEN int asock__so_error(int fd);

/* For engines: queue op's completion to run from the loop (used by cancel, which may not call
 * done itself). */
ASOCK__HIDDEN void asock__loop_defer_op(asock_loop *loop, struct asock__op *op);

/* For engines: the op finished with res; clears ASOCK__OPF_SUBMITTED, drops io->inflight and
 * calls op->done.  Called from the loop only.  With ASOCK__OPF_MORE set (a multishot delivery)
 * it only sets res and calls done: the op stays submitted. */
ASOCK__HIDDEN void asock__op_finish(asock_loop *loop, struct asock__op *op, int res);

/* For engines: a multishot delivery (done runs with ASOCK__OPF_MORE set). */
static inline void asock__op_deliver(asock_loop *loop, struct asock__op *op, int res)
{
    op->flags |= ASOCK__OPF_MORE;
    asock__op_finish(loop, op, res);
    op->flags &= (uint8_t)~ASOCK__OPF_MORE;
}

/* ---- the loop's receive buffers (multishot receives) ----
 * One pool per loop, created by the engine at the first multishot receive: `count` buffers of
 * `size` bytes (loop options receive_buffer_size / receive_buffer_count).  A datagram's buffer
 * has the same layout on every engine, that of io_uring's multishot recvmsg: a 16-byte header
 * (struct io_uring_recvmsg_out), the sender's address (room for a sockaddr_in6), the payload.
 * A stream chunk fills the buffer from its start. */
#define ASOCK__POOL_DEFAULT_SIZE  4096u
#define ASOCK__POOL_DEFAULT_COUNT 256u
#define ASOCK__POOL_MIN_SIZE      64u
#define ASOCK__POOL_MAX_SIZE      (1u << 20)
#define ASOCK__POOL_MAX_COUNT                                 \
    32768u /* buffer ids are 16 bits; an io_uring buffer ring \
              holds at most 32768 entries */
#define ASOCK__DGRAM_NAME_OFF 16u
#define ASOCK__DGRAM_NAME_LEN ((uint32_t)sizeof(struct sockaddr_in6))
#define ASOCK__DGRAM_DATA_OFF (ASOCK__DGRAM_NAME_OFF + ASOCK__DGRAM_NAME_LEN)

struct asock__bufpool {
    unsigned char *base; /* count * size bytes; NULL until created */
    uint32_t size, count;
    uint32_t nfree; /* entries in free[] */
    uint16_t *free; /* ids of the buffers the engine may use (the readiness path) */
};

/* 0, or -EINVAL when the loop options ask for a pool that cannot be (checked by engine init). */
ASOCK__HIDDEN int asock__bufpool_check(const asock_loop_options *opts);
/* Allocates the pool with every buffer free.  0 or -ENOMEM. */
ASOCK__HIDDEN int asock__bufpool_create(struct asock__bufpool *bp, const asock_loop_options *opts);
ASOCK__HIDDEN void asock__bufpool_destroy(struct asock__bufpool *bp);

static inline unsigned char *asock__bufpool_addr(const struct asock__bufpool *bp, unsigned bid)
{
    return bp->base + (size_t)bid * bp->size;
}

/* The readiness path of a multishot op (the epoll engine, and io_uring without the multishot
 * features): performs the calls on a readable descriptor into free pool buffers (recvmmsg
 * batches for datagrams), one delivery per result, each buffer given back after its delivery.
 * Returns what stopped it: */
enum asock__multi_stop {
    ASOCK__MULTI_AGAIN,    /* the call would block: wait for readiness */
    ASOCK__MULTI_NOBUF,    /* no free buffer: wait for one to come back */
    ASOCK__MULTI_BUDGET,   /* delivered its share: run again soon, without waiting */
    ASOCK__MULTI_FINAL,    /* an error or a stream's end: *final holds op's last result; the
                              engine completes op with it */
    ASOCK__MULTI_CANCELED, /* canceled (or its descriptor closed) from inside done: the engine's
                              cancel has already arranged the last completion */
};
ASOCK__HIDDEN enum asock__multi_stop asock__multi_perform(asock_loop *loop,
                                                          struct asock__bufpool *bp,
                                                          struct asock__op *op, unsigned budget,
                                                          int *final);

#endif
