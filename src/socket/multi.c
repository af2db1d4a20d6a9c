/* Operations that stay armed (multishot receive and accept) and asock_cancel_async.
 *
 * A multi operation is one engine op of kind RECV_MULTI, RECVMSG_MULTI or ACCEPT_MULTI that
 * completes many times (engine.h).  Each delivery (ASOCK__OPF_MORE) calls e->completed with e
 * still in use and the data in a pool buffer, which the engine takes back when the callback
 * returns; the last completion goes through the usual funnel (asock__args_finish), so e is free
 * in that callback.  The args' private op code tells multi operations from the others; the public
 * last_operation is RECEIVE, RECEIVE_FROM or ACCEPT.
 *
 * A socket's read side is taken by a multi operation alone: it is refused while other receives
 * (or accepts) are pending, and those are refused while it is armed (-EBUSY), so data never
 * arrives out of order between two kinds of receive.
 */
#include "multi.h"

#include <unistd.h>

static int check(const asock_socket *s, const asock_args *e)
{
    if (s == NULL || e == NULL)
        return -EINVAL;
    if ((s->flags & ASOCK__SF_CLOSING) || s->io.fd < 0 || s->loop->freeing)
        return -EBADF;
    return 0;
}

bool asock__multi_armed(asock_socket *s)
{
    if (s->pending_in == 0)
        return false;
    for (struct asock__qnode *n = asock__q_head(&s->args); n != &s->args; n = n->next) {
        struct asock__args_priv *p = asock__container_of(n, struct asock__args_priv, snode);
        if (p->op == ASOCK__OPX_RECEIVE_MULTI || p->op == ASOCK__OPX_ACCEPT_MULTI)
            return true;
    }
    return false;
}

/* A delivery: the data (or the accepted connection) goes to the callback, e stays in use. */
static void deliver(asock_socket *s, asock_args *e, struct asock__op *op)
{
    struct asock__args_priv *p = asock__priv(e);
    e->socket_error = ASOCK_SUCCESS;
    e->sys_errno = 0;
    e->socket_flags = 0;
    if (p->op == ASOCK__OPX_ACCEPT_MULTI) {
        int err = 0;
        e->accept_socket = NULL;
        if (asock__accept_wrap(s, e, op->res, &err) == NULL)
            return; /* no memory for the socket: the connection (already closed) is dropped */
        e->bytes_transferred = 0;
        if (e->completed != NULL)
            e->completed(s, e);
        e->accept_socket = NULL; /* the callback took it */
        return;
    }
    e->buffer = op->u.multi.data;
    e->offset = 0;
    e->count = (size_t)op->res;
    e->bytes_transferred = (size_t)op->res;
    if (op->kind == ASOCK__OP_RECVMSG_MULTI) {
        e->socket_flags = op->u.multi.msg_flags & (MSG_TRUNC | MSG_CTRUNC);
        if (op->u.multi.name != NULL)
            asock_endpoint_from_sockaddr(&e->remote_endpoint, op->u.multi.name,
                                         (socklen_t)op->u.multi.namelen);
    }
    if (e->completed != NULL)
        e->completed(s, e);
    /* the buffer goes back to the loop */
    e->buffer = NULL;
    e->count = 0;
}

static void multi_done(struct asock__op *op)
{
    asock_args *e = asock__args_of_op(op);
    struct asock__args_priv *p = asock__priv(e);
    asock_socket *s = p->sock;
    if (op->flags & ASOCK__OPF_MORE) {
        deliver(s, e, op);
        return;
    }
    /* the last completion */
    s->pending_in--;
    e->buffer = NULL;
    e->offset = 0;
    e->count = 0;
    e->socket_flags = 0;
    e->accept_socket = NULL;
    if ((s->flags & ASOCK__SF_CLOSING) || op->res == -ECANCELED) {
        if (s->flags & ASOCK__SF_CLOSING)
            asock__socket_aborted(s);
        asock__args_set_error(e, ASOCK_ERR_OPERATION_ABORTED, ECANCELED,
                              (s->flags & ASOCK__SF_CLOSING) ? "socket closed" : "canceled");
        e->bytes_transferred = 0;
    } else {
        asock__args_set_result(e, op->res); /* an error, or a stream's end: 0 bytes, success */
    }
    asock__args_finish(e, s);
}

/* Claims e and hands the multi op to the engine.  1 armed, or a refusal. */
static int arm(asock_socket *s, asock_args *e, uint8_t opx, asock_operation visible,
               enum asock__op_kind kind)
{
    if (s->pending_in != 0)
        return -EBUSY; /* the read side is taken (by a receive, an accept or a multi op) */
    int rc = asock__args_claim(e, s, (asock_operation)opx);
    if (rc < 0)
        return rc;
    struct asock__args_priv *p = asock__priv(e);
    p->iov = NULL;
    p->iov_alloc = NULL;
    struct asock__op *op = &p->top.op;
    asock__op_prep(op, kind, &s->io, multi_done);
    memset(&op->u, 0, sizeof(op->u));
    rc = asock__engine_submit(s->loop, op);
    if (rc < 0) {
        asock__args_unclaim(e);
        return rc;
    }
    asock__args_begin(e);
    e->last_operation = visible;
    e->socket_flags = 0;
    s->pending_in++;
    asock__args_pend(e);
    return 1;
}

int asock_receive_multi_async(asock_socket *s, asock_args *e)
{
    int rc = check(s, e);
    if (rc < 0)
        return rc;
    if (s->flags & ASOCK__SF_LISTENING)
        return -EOPNOTSUPP;
    if (s->type == SOCK_STREAM)
        return arm(s, e, ASOCK__OPX_RECEIVE_MULTI, ASOCK_OP_RECEIVE, ASOCK__OP_RECV_MULTI);
    return arm(s, e, ASOCK__OPX_RECEIVE_MULTI, ASOCK_OP_RECEIVE_FROM, ASOCK__OP_RECVMSG_MULTI);
}

int asock_accept_multi_async(asock_socket *listener, asock_args *e)
{
    int rc = check(listener, e);
    if (rc < 0)
        return rc;
    if (listener->type != SOCK_STREAM || !(listener->flags & ASOCK__SF_LISTENING))
        return -EOPNOTSUPP;
    if (e->buffer_list != NULL || (e->buffer != NULL && e->count != 0))
        return -EOPNOTSUPP; /* as asock_accept_async: no receive buffers with an accept */
    if (e->accept_socket != NULL)
        return -EINVAL; /* each connection gets a new socket */
    return arm(listener, e, ASOCK__OPX_ACCEPT_MULTI, ASOCK_OP_ACCEPT, ASOCK__OP_ACCEPT_MULTI);
}

void asock_cancel_async(asock_args *e)
{
    if (e == NULL)
        return;
    struct asock__args_priv *p = asock__priv(e);
    if (p->magic != ASOCK__ARGS_MAGIC || p->state != ASOCK__ARGS_BUSY)
        return;
    if (p->op == ASOCK_OP_CONNECT) {
        asock_cancel_connect_async(e);
        return;
    }
    if (p->flags & ASOCK__AF_HELD) {
        /* a stream send still waiting behind another: nothing of it went out */
        asock__send_abort_held(e);
        return;
    }
    struct asock__op *op = &p->top.op;
    if (!(p->flags & ASOCK__AF_PENDING) || p->sock == NULL || !(op->flags & ASOCK__OPF_SUBMITTED))
        return; /* not pending, or its completion is already on its way */
    /* a stream send between two partial sends must not go on (io.c checks it) */
    p->flags |= ASOCK__AF_CANCELED;
    asock__engine_cancel(p->sock->loop, op);
}
