/* The data operations of the args model: accept, send, receive, send_to, receive_from,
 * receive_message_from and disconnect.
 *
 * Every operation first tries its system call (that is where synchronous completion comes from,
 * as in .NET); only when the call would block does it go to the engine.  When operations of the
 * same direction are already waiting, the new one queues behind them without trying, so data is
 * never taken out of order.  While a receive or accept that stays armed (multi.c) holds the read
 * side, the other receives and accepts are refused with -EBUSY. */
#include "multi.h"

#include <limits.h>
#include <unistd.h>

/* ---- common checks ---- */

static int check_socket(const asock_socket *s, const asock_args *e)
{
    if (s == NULL || e == NULL)
        return -EINVAL;
    if ((s->flags & ASOCK__SF_CLOSING) || s->io.fd < 0 || s->loop->freeing)
        return -EBADF;
    return 0;
}

/* Points p->iov at e's buffer or buffer_list.  Returns the total length, or -EINVAL. */
static ssize_t setup_iov(asock_args *e)
{
    struct asock__args_priv *p = asock__priv(e);
    if (e->buffer_list != NULL) {
        if (e->buffer != NULL || e->buffer_list_count == 0 || e->buffer_list_count > 1024)
            return -EINVAL;
        struct iovec *iov = p->iov_inline;
        if (e->buffer_list_count > ASOCK__ARRAY_SIZE(p->iov_inline)) {
            /* a long scatter/gather list is copied (.NET copies it too); not the hot path */
            iov = asock__calloc(e->buffer_list_count, sizeof(*iov));
            if (iov == NULL)
                return -ENOMEM;
        }
        size_t total = 0;
        for (size_t i = 0; i < e->buffer_list_count; i++) {
            if (e->buffer_list[i].iov_base == NULL && e->buffer_list[i].iov_len != 0) {
                if (iov != p->iov_inline)
                    asock__free(iov);
                return -EINVAL;
            }
            iov[i] = e->buffer_list[i];
            total += iov[i].iov_len;
        }
        p->iov = iov;
        p->iov_alloc = iov != p->iov_inline ? iov : NULL;
        p->niov = (uint8_t)(e->buffer_list_count > 255 ? 255 : e->buffer_list_count);
        p->msg.msg_iovlen = e->buffer_list_count;
        return total > SSIZE_MAX ? -EINVAL : (ssize_t)total;
    }
    if (e->buffer == NULL && e->count != 0)
        return -EINVAL;
    if (e->offset + e->count < e->offset)
        return -EINVAL;
    p->iov = p->iov_inline;
    p->iov_alloc = NULL;
    p->iov_inline[0].iov_base = e->buffer != NULL ? (char *)e->buffer + e->offset : NULL;
    p->iov_inline[0].iov_len = e->count;
    p->niov = 1;
    p->msg.msg_iovlen = 1;
    return (ssize_t)e->count;
}

static void release_iov(asock_args *e)
{
    struct asock__args_priv *p = asock__priv(e);
    if (p->iov_alloc != NULL) {
        asock__free(p->iov_alloc);
        p->iov_alloc = NULL;
    }
    p->iov = NULL;
}

static bool single_buffer(const asock_args *e)
{
    return e->buffer_list == NULL;
}

/* Finishes e on the synchronous path or the callback path. */
ASOCK__HIDDEN int asock__args_done(asock_args *e, asock_socket *sender);

int asock__args_done(asock_args *e, asock_socket *sender)
{
    release_iov(e);
    return asock__args_finish(e, sender);
}

static int done(asock_args *e, asock_socket *sender)
{
    return asock__args_done(e, sender);
}

static uint32_t *pending_counter(asock_socket *s, enum asock__op_kind kind)
{
    return asock__op_kind_read(kind) ? &s->pending_in : &s->pending_out;
}

/* -EBUSY when a multi operation holds s's read side. */
static int check_read_side(asock_socket *s)
{
    return asock__multi_armed(s) ? -EBUSY : 0;
}

static void op_done(struct asock__op *op);

/* Hands e's engine op to the engine.  0 submitted, or -errno. */
static int submit(asock_socket *s, asock_args *e, enum asock__op_kind kind, bool tried)
{
    struct asock__args_priv *p = asock__priv(e);
    struct asock__op *op = &p->top.op;
    asock__op_prep(op, kind, &s->io, op_done);
    if (tried)
        op->flags |= ASOCK__OPF_TRIED;
    int rc = asock__engine_submit(s->loop, op);
    if (rc < 0)
        return rc;
    (*pending_counter(s, kind))++;
    asock__args_pend(e);
    return 0;
}

/* Fills the engine op's call arguments for e's current step. */
static void prep_rw(asock_args *e, enum asock__op_kind kind, int flags)
{
    struct asock__args_priv *p = asock__priv(e);
    struct asock__op *op = &p->top.op;
    op->kind = (uint8_t)kind;
    switch (kind) {
    case ASOCK__OP_RECV:
    case ASOCK__OP_SEND:
        op->u.rw.buf = p->iov[0].iov_base;
        op->u.rw.len = p->iov[0].iov_len;
        op->u.rw.flags = flags;
        break;
    case ASOCK__OP_RECVMSG:
    case ASOCK__OP_SENDMSG:
        p->msg.msg_iov = p->iov;
        op->u.msg.msg = &p->msg;
        op->u.msg.flags = flags;
        break;
    default:
        break;
    }
}

/* Tries e's call now (unless operations of that direction are waiting), and submits it to the
 * engine when it would block.  Returns the call's result, or -EAGAIN when it was submitted. */
static int attempt(asock_socket *s, asock_args *e, enum asock__op_kind kind)
{
    struct asock__args_priv *p = asock__priv(e);
    struct asock__op *op = &p->top.op;
    op->io = &s->io;
    bool tried = false;
    /* A receive re-armed inside the callback of the receive that just completed on this socket
     * (request/response traffic) would almost surely get EAGAIN: it goes to the engine without
     * the try.  Nothing is missed: data that came meanwhile is seen by the engine (the epoll
     * engine tries at once when an edge arrived; io_uring's kernel performs the call).  Any
     * other receive tries first, as .NET does, so data already there completes synchronously. */
    bool skip =
        (kind == ASOCK__OP_RECV || kind == ASOCK__OP_RECVMSG) && (s->flags & ASOCK__SF_IN_RX_CB);
    /* A send started inside the loop on an engine that performs calls in its ring goes there:
     * the loop's next io_uring_enter does every such send at once, with no send(2) each. */
    if ((kind == ASOCK__OP_SEND || kind == ASOCK__OP_SENDMSG || kind == ASOCK__OP_ACCEPT) &&
        s->loop->running && s->loop->engine->calls_in_ring)
        skip = true;
    if (*pending_counter(s, kind) == 0 && !skip) {
        int res = asock__op_try(op);
        if (res != -EAGAIN)
            return res;
        tried = true;
    }
    /* On a ring engine a receive skipped for being re-armed in its own callback is known to
     * find nothing yet: the engine may wait before its call (io_uring: POLL_FIRST).  Not on
     * epoll, where "tried" would drop an edge that came meanwhile. */
    if (skip && !tried && (kind == ASOCK__OP_RECV || kind == ASOCK__OP_RECVMSG) &&
        s->loop->engine->calls_in_ring)
        tried = true;
    int rc = submit(s, e, kind, tried);
    return rc < 0 ? rc : -EAGAIN;
}

/* ---- stream send: completes when every byte went out ---- */

/* Advances p->iov past n sent bytes. */
static void consume(struct asock__args_priv *p, size_t n)
{
    p->progress += n;
    while (n > 0 && p->msg.msg_iovlen > 0) {
        if (n < p->iov[0].iov_len) {
            p->iov[0].iov_base = (char *)p->iov[0].iov_base + n;
            p->iov[0].iov_len -= n;
            return;
        }
        n -= p->iov[0].iov_len;
        p->iov++;
        p->msg.msg_iovlen--;
    }
    /* skip empty entries */
    while (p->msg.msg_iovlen > 0 && p->iov[0].iov_len == 0) {
        p->iov++;
        p->msg.msg_iovlen--;
    }
}

static size_t remaining(const struct asock__args_priv *p)
{
    size_t r = 0;
    for (size_t i = 0; i < p->msg.msg_iovlen; i++)
        r += p->iov[i].iov_len;
    return r;
}

/* Sends what is left of a stream send.  Returns 1 when everything was sent (or an error ended
 * it: the result is in e), 0 when the rest waits in the engine. */
static int stream_send_step(asock_socket *s, asock_args *e, int res)
{
    struct asock__args_priv *p = asock__priv(e);
    if (res >= 0 && p->msg.msg_iovlen == 1 && (size_t)res == p->iov[0].iov_len) {
        /* the usual case: the one buffer went out whole */
        p->progress += (size_t)res;
        e->socket_error = ASOCK_SUCCESS;
        e->sys_errno = 0;
        e->bytes_transferred = p->progress;
        return 1;
    }
    for (;;) {
        if (res >= 0) {
            consume(p, (size_t)res);
            if (p->msg.msg_iovlen == 0 || remaining(p) == 0) {
                asock__args_set_result(e, 0);
                e->bytes_transferred = p->progress;
                return 1;
            }
            if (p->flags & ASOCK__AF_CANCELED) {
                /* asock_cancel_async came while a part was being sent: stop here */
                asock__args_set_result(e, -ECANCELED);
                e->bytes_transferred = p->progress;
                return 1;
            }
        } else if (res != -EAGAIN) {
            asock__args_set_result(e, res);
            e->bytes_transferred = p->progress; /* what did go out (.NET reports it too) */
            return 1;
        } else {
            return 0;
        }
        enum asock__op_kind kind = p->msg.msg_iovlen == 1 ? ASOCK__OP_SEND : ASOCK__OP_SENDMSG;
        prep_rw(e, kind, e->socket_flags);
        res = attempt(s, e, kind);
        if (res == -EAGAIN)
            return 0;
    }
}

/* Starts sending e's buffer on a connected stream socket (send, and the data of a connect).
 * Returns 1 when finished (result in e), 0 when pending. */
ASOCK__HIDDEN int asock__stream_send_start(asock_socket *s, asock_args *e);

int asock__stream_send_start(asock_socket *s, asock_args *e)
{
    struct asock__args_priv *p = asock__priv(e);
    p->progress = 0;
    p->msg.msg_name = NULL;
    p->msg.msg_namelen = 0;
    p->msg.msg_control = NULL;
    p->msg.msg_controllen = 0;
    if (p->msg.msg_iovlen == 1 ? p->iov[0].iov_len == 0 : remaining(p) == 0) {
        asock__args_set_result(e, 0);
        return 1;
    }
    enum asock__op_kind kind = p->msg.msg_iovlen == 1 ? ASOCK__OP_SEND : ASOCK__OP_SENDMSG;
    prep_rw(e, kind, e->socket_flags);
    int res = attempt(s, e, kind);
    if (res < 0 && res != -EAGAIN) {
        asock__args_set_result(e, res);
        return 1;
    }
    return stream_send_step(s, e, res);
}

/* ---- the receive family: results ---- */

static void parse_pktinfo(asock_args *e)
{
    struct asock__args_priv *p = asock__priv(e);
    memset(&e->packet_info, 0, sizeof(e->packet_info));
    for (struct cmsghdr *c = CMSG_FIRSTHDR(&p->msg); c != NULL; c = CMSG_NXTHDR(&p->msg, c)) {
        if (c->cmsg_level == IPPROTO_IP && c->cmsg_type == IP_PKTINFO) {
            struct in_pktinfo pi;
            memcpy(&pi, CMSG_DATA(c), sizeof(pi));
            struct sockaddr_in sin = {.sin_family = AF_INET, .sin_addr = pi.ipi_addr};
            asock_endpoint_from_sockaddr(&e->packet_info.local_address, (struct sockaddr *)&sin,
                                         sizeof(sin));
            e->packet_info.interface_index = (unsigned)pi.ipi_ifindex;
        } else if (c->cmsg_level == IPPROTO_IPV6 && c->cmsg_type == IPV6_PKTINFO) {
            struct in6_pktinfo pi;
            memcpy(&pi, CMSG_DATA(c), sizeof(pi));
            struct sockaddr_in6 sin6 = {.sin6_family = AF_INET6, .sin6_addr = pi.ipi6_addr};
            asock_endpoint_from_sockaddr(&e->packet_info.local_address, (struct sockaddr *)&sin6,
                                         sizeof(sin6));
            e->packet_info.interface_index = pi.ipi6_ifindex;
        }
    }
}

/* Stores the result of a receive-family call. */
static void receive_result(asock_args *e, int res)
{
    struct asock__args_priv *p = asock__priv(e);
    asock__args_set_result(e, res);
    if (p->flags & ASOCK__AF_ZERO_RECV) {
        /* a readiness probe: report 0 bytes, consume nothing */
        if (res >= 0)
            e->bytes_transferred = 0;
        e->socket_flags = 0;
        return;
    }
    if (res < 0) {
        e->socket_flags = 0;
        return;
    }
    if (p->top.op.kind == ASOCK__OP_RECVMSG) {
        e->socket_flags = p->msg.msg_flags & (MSG_TRUNC | MSG_CTRUNC);
        if (p->op == ASOCK_OP_RECEIVE_FROM || p->op == ASOCK_OP_RECEIVE_MESSAGE_FROM)
            asock_endpoint_from_sockaddr(&e->remote_endpoint, &p->addr.sa, p->msg.msg_namelen);
        if (p->op == ASOCK_OP_RECEIVE_MESSAGE_FROM)
            parse_pktinfo(e);
    } else {
        e->socket_flags = 0;
    }
}

/* ---- engine completion ---- */

ASOCK__HIDDEN void asock__connect_op_done(asock_args *e, int res);
ASOCK__HIDDEN int asock__connect_finish(asock_args *e);

ASOCK__HIDDEN void asock__socket_op_done(struct asock__op *op);

void asock__socket_op_done(struct asock__op *op)
{
    op_done(op);
}

static void op_done(struct asock__op *op)
{
    asock_args *e = asock__args_of_op(op);
    struct asock__args_priv *p = asock__priv(e);
    asock_socket *s = p->sock;
    int res = op->res;
    (*pending_counter(s, (enum asock__op_kind)op->kind))--;
    if (s->flags & ASOCK__SF_CLOSING) {
        /* whatever the call said, the close aborted it */
        if (res >= 0 && op->kind == ASOCK__OP_ACCEPT)
            close(res);
        if (res < 0 || op->kind == ASOCK__OP_ACCEPT || op->kind == ASOCK__OP_CONNECT ||
            op->kind == ASOCK__OP_CONNECT_START) {
            asock__socket_aborted(s);
            asock__args_set_error(e, ASOCK_ERR_OPERATION_ABORTED, ECANCELED, "socket closed");
            done(e, s);
            return;
        }
    }
    switch (p->op) {
    case ASOCK_OP_CONNECT:
        if (op->kind == ASOCK__OP_CONNECT || op->kind == ASOCK__OP_CONNECT_START) {
            asock__connect_op_done(e, res);
        } else if (stream_send_step(s, e, res)) {
            /* the data sent with the connect (S6) is out */
            asock__connect_finish(e);
            asock__send_next(s);
        }
        return;
    case ASOCK_OP_ACCEPT: {
        if (res >= 0) {
            int err = 0;
            asock_socket *a = asock__accept_wrap(s, e, res, &err);
            if (a == NULL)
                asock__args_set_result(e, err);
            else
                asock__args_set_result(e, 0);
        } else {
            asock__args_set_result(e, res);
        }
        e->socket_flags = 0;
        done(e, s);
        return;
    }
    case ASOCK_OP_SEND:
    case ASOCK_OP_SEND_TO:
        if (s->type == SOCK_STREAM && p->op == ASOCK_OP_SEND) {
            if (!stream_send_step(s, e, res))
                return;
            e->socket_flags = 0;
            done(e, s);
            asock__send_next(s);
            return;
        }
        asock__args_set_result(e, res);
        e->socket_flags = 0;
        done(e, s);
        return;
    case ASOCK_OP_RECEIVE:
    case ASOCK_OP_RECEIVE_FROM:
    case ASOCK_OP_RECEIVE_MESSAGE_FROM:
        if ((p->flags & ASOCK__AF_ZERO_RECV) && op->kind == ASOCK__OP_POLL_IN)
            res = 0;
        receive_result(e, res);
        /* (s stays valid after the callback even if it closes s: released from the loop) */
        s->flags |= ASOCK__SF_IN_RX_CB;
        done(e, s);
        s->flags &= ~ASOCK__SF_IN_RX_CB;
        return;
    default:
        asock__args_set_result(e, res);
        done(e, s);
        return;
    }
}

/* ---- stream sends waiting behind the running one ---- */

static asock_args *first_held(asock_socket *s)
{
    for (struct asock__qnode *n = asock__q_head(&s->args); n != &s->args; n = n->next) {
        struct asock__args_priv *p = asock__container_of(n, struct asock__args_priv, snode);
        if (p->flags & ASOCK__AF_HELD)
            return asock__container_of((void *)p, asock_args, priv_);
    }
    return NULL;
}

void asock__send_next(asock_socket *s)
{
    for (;;) {
        asock_args *e = (s->flags & ASOCK__SF_CLOSING) ? NULL : first_held(s);
        if (e == NULL) {
            /* (a close aborts the held ones itself) */
            s->flags &= ~ASOCK__SF_SENDING;
            return;
        }
        asock__priv(e)->flags &= (uint8_t)~ASOCK__AF_HELD;
        if (!asock__stream_send_start(s, e))
            return; /* in the engine: its completion calls us again */
        e->socket_flags = 0;
        done(e, s); /* it was pending: its callback runs now */
    }
}

static void held_aborted(struct asock__task *t)
{
    struct asock__args_priv *p = asock__container_of(t, struct asock__args_priv, task);
    asock_args *e = asock__container_of((void *)p, asock_args, priv_);
    done(e, p->sock);
}

void asock__send_abort_held(asock_args *e)
{
    struct asock__args_priv *p = asock__priv(e);
    if (!(p->flags & ASOCK__AF_HELD))
        return;
    p->flags &= (uint8_t)~ASOCK__AF_HELD;
    if (p->sock->flags & ASOCK__SF_CLOSING)
        asock__socket_aborted(p->sock); /* data the user gave is dropped: the peer sees a reset */
    asock__args_set_error(e, ASOCK_ERR_OPERATION_ABORTED, ECANCELED, "operation aborted");
    e->socket_flags = 0;
    asock__task_init(&p->task, held_aborted);
    asock__loop_defer(p->sock->loop, &p->task);
}

/* Completes e synchronously (0) or leaves it pending (1), after attempt() said res. */
static int settle(asock_socket *s, asock_args *e, int res)
{
    if (res == -EAGAIN)
        return 1;
    struct asock__args_priv *p = asock__priv(e);
    if (p->op == ASOCK_OP_RECEIVE || p->op == ASOCK_OP_RECEIVE_FROM ||
        p->op == ASOCK_OP_RECEIVE_MESSAGE_FROM)
        receive_result(e, res);
    else {
        asock__args_set_result(e, res);
        e->socket_flags = 0;
    }
    return done(e, s);
}

/* A submit failure after the claim: the call completes synchronously with that error. */
static int failed_submit(asock_socket *s, asock_args *e, int rc)
{
    asock__args_set_result(e, rc);
    e->socket_flags = 0;
    return done(e, s);
}

/* ---- accept ---- */

asock_socket *asock__accept_wrap(asock_socket *listener, asock_args *e, int fd, int *err)
{
    asock_socket *a = e->accept_socket;
    if (a != NULL) {
        /* accept into the caller's socket: its unused descriptor is replaced */
        if (listener->loop->engine->detach != NULL)
            listener->loop->engine->detach(listener->loop, &a->io);
        close(a->io.fd);
        a->io.fd = fd;
        a->io.registered = 0;
        a->io.ebits = 0;
        a->family = listener->family;
    } else {
        a = asock__calloc(1, sizeof(*a));
        if (a == NULL) {
            close(fd);
            *err = -ENOMEM;
            return NULL;
        }
        a->loop = listener->loop;
        asock__io_init(&a->io, fd);
        a->family = listener->family;
        a->type = SOCK_STREAM;
        a->protocol = listener->protocol;
        asock__q_init(&a->args);
        asock__q_insert_tail(&listener->loop->sockets, &a->lnode);
        e->accept_socket = a;
    }
    a->flags = ASOCK__SF_BOUND | ASOCK__SF_CONNECTED | (listener->flags & ASOCK__SF_DUAL_MODE);
    return a;
}

int asock_accept_async(asock_socket *listener, asock_args *e)
{
    int rc = check_socket(listener, e);
    if (rc < 0)
        return rc;
    if (listener->type != SOCK_STREAM)
        return -EOPNOTSUPP;
    if (!(listener->flags & ASOCK__SF_LISTENING))
        return -EOPNOTSUPP; /* accept needs a listening socket */
    if (e->buffer_list != NULL || (e->buffer != NULL && e->count != 0))
        return -EOPNOTSUPP; /* AcceptEx-style receive buffers: Windows only, as in .NET */
    rc = check_read_side(listener);
    if (rc < 0)
        return rc;
    asock_socket *a = e->accept_socket;
    if (a != NULL && (a->loop != listener->loop || (a->flags & ~ASOCK__SF_DUAL_MODE) != 0 ||
                      a->io.inflight != 0 || a->type != SOCK_STREAM || !asock__q_empty(&a->args) ||
                      a->family != listener->family))
        return -EINVAL; /* only a fresh, unused stream socket can receive a connection */
    rc = asock__args_claim(e, listener, ASOCK_OP_ACCEPT);
    if (rc < 0)
        return rc;
    asock__args_begin(e);
    struct asock__args_priv *p = asock__priv(e);
    p->iov = NULL;
    p->iov_alloc = NULL;
    struct asock__op *op = &p->top.op;
    op->kind = ASOCK__OP_ACCEPT;
    op->u.accept.addr = NULL;
    op->u.accept.addrlen = NULL;
    int res = attempt(listener, e, ASOCK__OP_ACCEPT);
    if (res == -EAGAIN)
        return 1;
    if (res >= 0) {
        int err = 0;
        if (asock__accept_wrap(listener, e, res, &err) == NULL)
            res = err;
        else
            res = 0;
    }
    return settle(listener, e, res);
}

/* ---- send / receive ---- */

int asock_send_async(asock_socket *s, asock_args *e)
{
    int rc = check_socket(s, e);
    if (rc < 0)
        return rc;
    if (s->flags & ASOCK__SF_LISTENING)
        return -EOPNOTSUPP;
    rc = asock__args_claim(e, s, ASOCK_OP_SEND);
    if (rc < 0)
        return rc;
    ssize_t total = setup_iov(e);
    if (total < 0) {
        asock__args_unclaim(e);
        return (int)total;
    }
    asock__args_begin(e);
    struct asock__args_priv *p = asock__priv(e);
    if (s->type == SOCK_STREAM) {
        if (s->flags & ASOCK__SF_SENDING) {
            /* another stream send is running: wait behind it, so bytes never interleave */
            p->flags |= ASOCK__AF_HELD;
            asock__args_pend(e);
            return 1;
        }
        s->flags |= ASOCK__SF_SENDING;
        if (!asock__stream_send_start(s, e))
            return 1;
        s->flags &= ~ASOCK__SF_SENDING; /* nothing was held meanwhile: no callback ran */
        e->socket_flags = 0;
        return done(e, s);
    }
    p->msg.msg_name = NULL;
    p->msg.msg_namelen = 0;
    p->msg.msg_control = NULL;
    p->msg.msg_controllen = 0;
    enum asock__op_kind kind = single_buffer(e) ? ASOCK__OP_SEND : ASOCK__OP_SENDMSG;
    prep_rw(e, kind, e->socket_flags);
    return settle(s, e, attempt(s, e, kind));
}

/* A receive whose buffer is empty waits for readability without consuming data (.NET's
 * zero-byte receive): tried as a 1-byte MSG_PEEK, then a POLL_IN wait. */
static int zero_byte_receive(asock_socket *s, asock_args *e)
{
    struct asock__args_priv *p = asock__priv(e);
    p->flags |= ASOCK__AF_ZERO_RECV;
    struct asock__op *op = &p->top.op;
    op->io = &s->io;
    op->kind = ASOCK__OP_RECV;
    op->u.rw.buf = p->control; /* a scratch byte; MSG_PEEK leaves the data queued */
    op->u.rw.len = 1;
    op->u.rw.flags = MSG_PEEK;
    int res = -EAGAIN;
    if (s->pending_in == 0)
        res = asock__op_try(op);
    if (res != -EAGAIN)
        return settle(s, e, res);
    int rc = submit(s, e, ASOCK__OP_POLL_IN, false);
    if (rc < 0)
        return failed_submit(s, e, rc);
    return 1;
}

int asock_receive_async(asock_socket *s, asock_args *e)
{
    int rc = check_socket(s, e);
    if (rc < 0)
        return rc;
    if (s->flags & ASOCK__SF_LISTENING)
        return -EOPNOTSUPP;
    rc = check_read_side(s);
    if (rc < 0)
        return rc;
    rc = asock__args_claim(e, s, ASOCK_OP_RECEIVE);
    if (rc < 0)
        return rc;
    ssize_t total = setup_iov(e);
    if (total < 0) {
        asock__args_unclaim(e);
        return (int)total;
    }
    asock__args_begin(e);
    int flags = e->socket_flags;
    if (total == 0 && single_buffer(e))
        return zero_byte_receive(s, e);
    struct asock__args_priv *p = asock__priv(e);
    enum asock__op_kind kind;
    if (s->type == SOCK_STREAM && single_buffer(e)) {
        kind = ASOCK__OP_RECV;
    } else {
        /* datagrams go through recvmsg so a truncation is reported (MSG_TRUNC) */
        kind = ASOCK__OP_RECVMSG;
        p->msg.msg_name = NULL;
        p->msg.msg_namelen = 0;
        p->msg.msg_control = NULL;
        p->msg.msg_controllen = 0;
        p->msg.msg_flags = 0;
    }
    prep_rw(e, kind, flags);
    int res = attempt(s, e, kind);
    if (res == -EAGAIN)
        return 1;
    return settle(s, e, res);
}

/* The endpoint of a send_to, as the socket's family needs it. */
static int dest_addr(asock_socket *s, const asock_endpoint *ep, struct asock__args_priv *p)
{
    if (ep->kind != ASOCK_ENDPOINT_IP)
        return -EINVAL;
    int fam = ep->ip.sa.sa_family;
    if (fam == s->family) {
        socklen_t len = 0;
        const struct sockaddr *sa = asock_endpoint_sockaddr(ep, &len);
        memcpy(&p->addr, sa, len);
        p->addrlen = len;
        return 0;
    }
    if (fam == AF_INET && s->family == AF_INET6 && (s->flags & ASOCK__SF_DUAL_MODE)) {
        memset(&p->addr.in6, 0, sizeof(p->addr.in6));
        p->addr.in6.sin6_family = AF_INET6;
        p->addr.in6.sin6_port = ep->ip.in4.sin_port;
        p->addr.in6.sin6_addr.s6_addr[10] = 0xff;
        p->addr.in6.sin6_addr.s6_addr[11] = 0xff;
        memcpy(&p->addr.in6.sin6_addr.s6_addr[12], &ep->ip.in4.sin_addr, 4);
        p->addrlen = sizeof(p->addr.in6);
        return 0;
    }
    return -EAFNOSUPPORT;
}

ASOCK__HIDDEN int asock__dest_addr(asock_socket *s, const asock_endpoint *ep, asock_args *e);

int asock__dest_addr(asock_socket *s, const asock_endpoint *ep, asock_args *e)
{
    return dest_addr(s, ep, asock__priv(e));
}

int asock_send_to_async(asock_socket *s, asock_args *e)
{
    int rc = check_socket(s, e);
    if (rc < 0)
        return rc;
    if (s->type != SOCK_DGRAM)
        return -EOPNOTSUPP;
    if (e->remote_endpoint.kind != ASOCK_ENDPOINT_IP)
        return -EINVAL;
    if (!asock__socket_can_use_family(s, e->remote_endpoint.ip.sa.sa_family))
        return -EAFNOSUPPORT;
    rc = asock__args_claim(e, s, ASOCK_OP_SEND_TO);
    if (rc < 0)
        return rc;
    struct asock__args_priv *p = asock__priv(e);
    rc = dest_addr(s, &e->remote_endpoint, p);
    ssize_t total = rc < 0 ? rc : setup_iov(e);
    if (total < 0) {
        asock__args_unclaim(e);
        return (int)total;
    }
    asock__args_begin(e);
    p->msg.msg_name = &p->addr;
    p->msg.msg_namelen = p->addrlen;
    p->msg.msg_control = NULL;
    p->msg.msg_controllen = 0;
    prep_rw(e, ASOCK__OP_SENDMSG, e->socket_flags);
    return settle(s, e, attempt(s, e, ASOCK__OP_SENDMSG));
}

static int enable_pktinfo(asock_socket *s)
{
    if (s->flags & ASOCK__SF_PKTINFO)
        return 0;
    int one = 1;
    if (s->family == AF_INET6) {
        if (setsockopt(s->io.fd, IPPROTO_IPV6, IPV6_RECVPKTINFO, &one, sizeof(one)) < 0)
            return -errno;
        if (s->flags & ASOCK__SF_DUAL_MODE)
            setsockopt(s->io.fd, IPPROTO_IP, IP_PKTINFO, &one, sizeof(one));
    } else if (setsockopt(s->io.fd, IPPROTO_IP, IP_PKTINFO, &one, sizeof(one)) < 0) {
        return -errno;
    }
    s->flags |= ASOCK__SF_PKTINFO;
    return 0;
}

static int receive_from(asock_socket *s, asock_args *e, asock_operation opk)
{
    int rc = check_socket(s, e);
    if (rc < 0)
        return rc;
    if (s->type != SOCK_DGRAM)
        return -EOPNOTSUPP;
    if (e->remote_endpoint.kind != ASOCK_ENDPOINT_IP)
        return -EINVAL;
    if (!asock__socket_can_use_family(s, e->remote_endpoint.ip.sa.sa_family))
        return -EAFNOSUPPORT;
    rc = check_read_side(s);
    if (rc < 0)
        return rc;
    if (opk == ASOCK_OP_RECEIVE_MESSAGE_FROM) {
        rc = enable_pktinfo(s);
        if (rc < 0)
            return rc;
    }
    rc = asock__args_claim(e, s, opk);
    if (rc < 0)
        return rc;
    ssize_t total = setup_iov(e);
    if (total < 0) {
        asock__args_unclaim(e);
        return (int)total;
    }
    asock__args_begin(e);
    struct asock__args_priv *p = asock__priv(e);
    p->msg.msg_name = &p->addr;
    p->msg.msg_namelen = sizeof(p->addr);
    if (opk == ASOCK_OP_RECEIVE_MESSAGE_FROM) {
        p->msg.msg_control = p->control;
        p->msg.msg_controllen = sizeof(p->control);
        memset(&e->packet_info, 0, sizeof(e->packet_info));
    } else {
        p->msg.msg_control = NULL;
        p->msg.msg_controllen = 0;
    }
    p->msg.msg_flags = 0;
    prep_rw(e, ASOCK__OP_RECVMSG, e->socket_flags);
    int res = attempt(s, e, ASOCK__OP_RECVMSG);
    if (res == -EAGAIN)
        return 1;
    return settle(s, e, res);
}

int asock_receive_from_async(asock_socket *s, asock_args *e)
{
    return receive_from(s, e, ASOCK_OP_RECEIVE_FROM);
}

int asock_receive_message_from_async(asock_socket *s, asock_args *e)
{
    return receive_from(s, e, ASOCK_OP_RECEIVE_MESSAGE_FROM);
}

int asock_disconnect_async(asock_socket *s, asock_args *e)
{
    int rc = check_socket(s, e);
    if (rc < 0)
        return rc;
    if (s->flags & ASOCK__SF_LISTENING)
        return -EOPNOTSUPP;
    rc = asock__args_claim(e, s, ASOCK_OP_DISCONNECT);
    if (rc < 0)
        return rc;
    asock__args_begin(e);
    /* sends queued in an engine's ring go out before the shutdown, as they would have had they
     * been made at once */
    if (s->loop->engine->flush != NULL)
        s->loop->engine->flush(s->loop);
    int res = 0;
    if (shutdown(s->io.fd, SHUT_RDWR) < 0)
        res = -errno;
    if (res == -ENOTCONN && s->type == SOCK_DGRAM)
        res = 0; /* an unconnected datagram socket has nothing to disconnect */
    s->flags &= ~(ASOCK__SF_CONNECTED);
    s->flags |= ASOCK__SF_SHUT_WR;
    if (e->disconnect_reuse_socket && s->pending_in + s->pending_out == 0) {
        int rr = asock__socket_renew(s);
        if (rr < 0 && res == 0)
            res = rr;
    }
    asock__args_set_result(e, res);
    e->socket_flags = 0;
    return done(e, s);
}
