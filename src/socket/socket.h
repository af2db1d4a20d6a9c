/* The socket layer's internals: asock_socket, the private part of asock_args, and the funnel
 * through which every operation's result reaches the user.  Used by src/socket and by the layers
 * above (resolve: connect by name; datagram). */
#ifndef ASOCK_SOCKET_SOCKET_H
#define ASOCK_SOCKET_SOCKET_H

#include "../core/internal.h"
#include "../engine/engine.h"

#include <netinet/in.h>

/* asock_socket.flags */
#define ASOCK__SF_BOUND       0x0001u
#define ASOCK__SF_LISTENING   0x0002u
#define ASOCK__SF_CONNECTED   0x0004u /* stream: connected/accepted; datagram: has a default peer */
#define ASOCK__SF_CONNECTING  0x0008u /* a connect is pending */
#define ASOCK__SF_CLOSING     0x0010u /* asock_socket_close was called */
#define ASOCK__SF_DUAL_MODE   0x0020u /* AF_INET6 with IPV6_V6ONLY = 0 */
#define ASOCK__SF_PKTINFO     0x0040u /* IP_PKTINFO / IPV6_RECVPKTINFO is on */
#define ASOCK__SF_CONN_FAILED 0x0080u /* the last connect failed: the next one needs a fresh fd */
#define ASOCK__SF_INTERNAL    0x0100u /* opened by asock for a static connect / attempt */
#define ASOCK__SF_SHUT_WR     0x0200u /* the user shut the write side down */
#define ASOCK__SF_FAST_OPEN   0x0400u /* TCP_FASTOPEN_CONNECT is on */
/* inside the completion callback of a receive on this socket: a receive started now (re-armed
 * by the callback) skips its first try, because the call just before found nothing more */
#define ASOCK__SF_IN_RX_CB 0x0800u
/* a stream send is running (in the engine, or being started): later sends wait behind it */
#define ASOCK__SF_SENDING 0x1000u
/* the close aborted an operation: SO_LINGER 0 is set, the peer will see a reset */
#define ASOCK__SF_RESET 0x2000u

/* Options that a socket remembers so a new descriptor (connect by name, reuse) gets them again. */
struct asock__sockopts {
    uint32_t set_mask; /* bit (1 << opt) for each asock_option set by the user */
    int values[32];
};

struct asock_socket {
    asock_loop *loop;
    struct asock__io io;
    uint8_t family; /* AF_INET / AF_INET6 */
    uint8_t type;   /* SOCK_STREAM / SOCK_DGRAM */
    uint8_t protocol;
    uint8_t reserved;
    uint32_t flags;               /* ASOCK__SF_* */
    uint32_t pending_in;          /* user operations waiting in the engine, read direction */
    uint32_t pending_out;         /* ... write direction */
    struct asock__qnode args;     /* asock_args pending on this socket (their priv.snode) */
    struct asock__qnode lnode;    /* the loop's list of sockets */
    struct asock__sockopts *opts; /* NULL until an option is set */
    void *data;                   /* asock_socket_set_data */
};

/* The private part of asock_args (lives in e->priv_). */
enum asock__args_state {
    ASOCK__ARGS_FREE = 0,
    ASOCK__ARGS_BUSY = 1
};

#define ASOCK__ARGS_MAGIC 0x61726773u /* "args": set by asock_args_init */

/* priv.flags */
#define ASOCK__AF_PENDING      0x01u /* the operation went pending (completion by callback) */
#define ASOCK__AF_CANCELED     0x02u /* cancel_connect was asked for */
#define ASOCK__AF_CONNECT_DATA 0x04u /* a connect that sends e's buffer once connected */
#define ASOCK__AF_STATIC       0x08u /* asock_loop_connect_async: the socket is asock's */
#define ASOCK__AF_ZERO_RECV    0x10u /* a receive with an empty buffer (readiness probe) */
#define ASOCK__AF_ABORTED      0x20u /* completed by a close: report OPERATION_ABORTED */
#define ASOCK__AF_HELD         0x40u /* a stream send waiting behind the running one (pending) */

struct asock__args_priv {
    uint32_t magic;
    uint8_t state;              /* enum asock__args_state */
    uint8_t flags;              /* ASOCK__AF_* */
    uint8_t op;                 /* asock_operation running */
    uint8_t niov;               /* entries in iov */
    asock_socket *sock;         /* the socket the operation runs on */
    struct asock__op_timed top; /* the engine operation */
    struct msghdr msg;
    struct iovec *iov;       /* the next entry to use (iov_inline or iov_alloc) */
    struct iovec *iov_alloc; /* an allocated copy of a long buffer_list, else NULL */
    struct iovec iov_inline[2];
    size_t progress; /* bytes already sent by a stream send */

    union {
        struct sockaddr sa;
        struct sockaddr_in in4;
        struct sockaddr_in6 in6;
    } addr;

    socklen_t addrlen;
    uint32_t control_len;
    uint64_t control[6];       /* cmsg space for IP_PKTINFO / IPV6_PKTINFO */
    struct asock__qnode snode; /* the socket's list of pending args */
    struct asock__task task;   /* deferred completion (abort, connect by name) */
    const char *detail;        /* asock_args_error_detail */
    void *name_connect;        /* the resolve layer's state of a connect by name */
};

_Static_assert(sizeof(struct asock__args_priv) <= sizeof(((asock_args *)0)->priv_),
               "asock_args.priv_ is too small for struct asock__args_priv");

static inline struct asock__args_priv *asock__priv(asock_args *e)
{
    return (struct asock__args_priv *)(void *)e->priv_;
}

static inline const struct asock__args_priv *asock__cpriv(const asock_args *e)
{
    return (const struct asock__args_priv *)(const void *)e->priv_;
}

static inline asock_args *asock__args_of_op(struct asock__op *op)
{
    struct asock__op_timed *t = asock__container_of(op, struct asock__op_timed, op);
    struct asock__args_priv *p = asock__container_of(t, struct asock__args_priv, top);
    return asock__container_of((void *)p, asock_args, priv_);
}

/* ---- the result funnel ---- */

/* Claims e for operation op on s (s may be NULL for the static connect): checks that e was
 * initialised and is free and marks it busy; the user-visible fields are not touched yet.
 * 0, -EINVAL (not initialised) or -EBUSY.  (Inline, as the other small steps of the funnel:
 * every operation passes through them.) */
static inline int asock__args_claim(asock_args *e, asock_socket *s, asock_operation op)
{
    struct asock__args_priv *p = asock__priv(e);
    if (p->magic != ASOCK__ARGS_MAGIC)
        return -EINVAL;
    if (p->state != ASOCK__ARGS_FREE)
        return -EBUSY;
    p->state = ASOCK__ARGS_BUSY;
    p->flags = 0;
    p->op = (uint8_t)op;
    p->sock = s;
    p->progress = 0;
    p->iov = NULL;
    p->iov_alloc = NULL;
    p->name_connect = NULL;
    p->top.op.flags = 0;
    return 0;
}

/* The operation really starts (every refusal is behind it): sets last_operation and resets the
 * result fields. */
static inline void asock__args_begin(asock_args *e)
{
    struct asock__args_priv *p = asock__priv(e);
    p->detail = "";
    e->last_operation = (asock_operation)p->op;
    e->socket_error = ASOCK_SUCCESS;
    e->sys_errno = 0;
    e->bytes_transferred = 0;
    e->connect_by_name_error = ASOCK_SUCCESS;
    if (p->op == ASOCK_OP_CONNECT)
        e->connect_socket = NULL;
}

/* Gives e back untouched after a refusal found after the claim (the call returns rc < 0). */
ASOCK__HIDDEN void asock__args_unclaim(asock_args *e);

/* Result of a system call / engine op: res >= 0 bytes (or 0), res < 0 -errno. */
static inline void asock__args_set_result(asock_args *e, int res)
{
    if (res >= 0) {
        e->socket_error = ASOCK_SUCCESS;
        e->sys_errno = 0;
        e->bytes_transferred = (size_t)res;
        return;
    }
    e->sys_errno = -res;
    e->socket_error = asock_socket_error_from_errno(-res);
}

/* A failure that is not an errno (resolver results): se plus the code behind it. */
ASOCK__HIDDEN void asock__args_set_error(asock_args *e, asock_socket_error se, int sys_errno,
                                         const char *detail);

/* The operation goes pending: the loop gets work, e joins its socket's pending list.  With no
 * socket (a static connect by name before its socket exists) there is no loop to count the work
 * on: the caller keeps the loop's work count itself (asock__loop_ref/unref). */
static inline void asock__args_pend(asock_args *e)
{
    struct asock__args_priv *p = asock__priv(e);
    if (p->flags & ASOCK__AF_PENDING)
        return;
    p->flags |= ASOCK__AF_PENDING;
    if (p->sock != NULL)
        asock__q_insert_tail(&p->sock->args, &p->snode);
    asock_loop *loop = p->sock != NULL ? p->sock->loop : NULL;
    if (loop != NULL)
        asock__loop_ref(loop);
}

/* Completes e.  If it went pending: marks e free, then calls e->completed(sender, e) (so the
 * callback can re-arm e).  If not (still inside the starting call): marks e free and returns, the
 * call then returns 0.  Returns 1 if the callback path was taken. */
ASOCK__HIDDEN int asock__args_finish(asock_args *e, asock_socket *sender);

/* Finish e later, from loop (deferred task): used where a completion is found inside a call
 * that already returned 1, or inside a cancel/close. */
ASOCK__HIDDEN void asock__args_finish_later(asock_args *e, asock_loop *loop);

/* ---- stream sends: one at a time per socket, in the order they were started ----
 * A stream send may go out in pieces; a second send given to the kernel between two pieces would
 * interleave its bytes with the first's.  So only one stream send per socket runs (SF_SENDING);
 * the others wait, pending, on the socket's args list with AF_HELD and start in order. */

/* Starts the oldest held send of s, and the next ones while they complete at once (their
 * callbacks run); clears SF_SENDING when none is left.  Called when the running send ended. */
ASOCK__HIDDEN void asock__send_next(asock_socket *s);

/* Ends held send e with OPERATION_ABORTED from the loop (socket closed, or cancelled). */
ASOCK__HIDDEN void asock__send_abort_held(asock_args *e);

/* ---- socket internals for the layers above ---- */

/* The close of s aborted one of its operations: a stream socket then closes with a reset. */
ASOCK__HIDDEN void asock__socket_aborted(asock_socket *s);

ASOCK__HIDDEN bool asock__socket_can_use_family(const asock_socket *s, int family);

/* Moves the connected descriptor of `from` (an attempt socket of connect by name) into s, with
 * its flags; `from` is left closed-and-empty (freed).  0 or -errno. */
ASOCK__HIDDEN int asock__socket_adopt(asock_socket *s, asock_socket *from);

/* Re-applies to s every option the user set on `from` (Happy Eyeballs attempts). */
ASOCK__HIDDEN int asock__socket_copy_options(asock_socket *s, const asock_socket *from);

/* Replaces s's descriptor by a fresh one of the same family/type/protocol with the remembered
 * options (after a failed connect; disconnect with reuse).  0 or -errno. */
ASOCK__HIDDEN int asock__socket_renew(asock_socket *s);

/* ---- connect by name: implemented by the resolve layer (src/resolve/connect_name.c) ----
 * The socket layer calls it for an asock_args whose remote_endpoint is a DNS endpoint, after the
 * claim.  s is the user's socket, or NULL for asock_loop_connect_async (then type/protocol say
 * what to open).  Returns 1 pending, 0 completed synchronously (results in e), <0 refused (the
 * caller unclaims e). */
ASOCK__HIDDEN int asock__name_connect_start(asock_loop *loop, asock_socket *s, int type,
                                            int protocol, asock_args *e);
/* cancel_connect on a connect by name. */
ASOCK__HIDDEN void asock__name_connect_cancel(asock_args *e);
/* The user's socket s is being closed while a connect by name runs on e. */
ASOCK__HIDDEN void asock__name_connect_abort(asock_args *e);

#endif
