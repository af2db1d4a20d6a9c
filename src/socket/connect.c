/* Connect (seed 000): instance and static connects to IP endpoints, the buffer sent with a
 * connect (S6), connect timeouts and cancel-connect.  DNS endpoints go to the resolve layer
 * (asock__name_connect_start). */
#include "socket.h"

#include <poll.h>
#include <unistd.h>

ASOCK__HIDDEN int asock__args_done(asock_args *e, asock_socket *sender);
ASOCK__HIDDEN int asock__stream_send_start(asock_socket *s, asock_args *e);
ASOCK__HIDDEN int asock__dest_addr(asock_socket *s, const asock_endpoint *ep, asock_args *e);
ASOCK__HIDDEN void asock__connect_op_done(asock_args *e, int res);
ASOCK__HIDDEN int asock__connect_finish(asock_args *e);
ASOCK__HIDDEN void asock__socket_op_done(struct asock__op *op);

/* Puts e's buffer in the private iov for the send that follows the connect. */
static void prepare_data(asock_args *e)
{
    struct asock__args_priv *p = asock__priv(e);
    p->iov = p->iov_inline;
    p->iov_alloc = NULL;
    p->iov_inline[0].iov_base = (char *)e->buffer + e->offset;
    p->iov_inline[0].iov_len = e->count;
    p->niov = 1;
    p->msg.msg_iovlen = 1;
}

/* Ends a connect: for a static connect a failed socket is closed and the sender is NULL.
 * Returns what asock__args_done returns (1 when the callback ran). */
int asock__connect_finish(asock_args *e)
{
    struct asock__args_priv *p = asock__priv(e);
    asock_socket *s = p->sock;
    bool is_static = (p->flags & ASOCK__AF_STATIC) != 0;
    bool ok = e->socket_error == ASOCK_SUCCESS;
    e->socket_flags = 0;
    if (ok) {
        e->connect_socket = s;
        if (is_static)
            s->flags &= ~ASOCK__SF_INTERNAL; /* the caller owns it now */
        return asock__args_done(e, s);
    }
    e->connect_socket = NULL;
    if (!is_static)
        return asock__args_done(e, s);
    int rc = asock__args_done(e, NULL);
    asock_socket_close(s);
    return rc;
}

/* The connection is up: send the data that came with the connect, if any.
 * Returns 1 when the connect is finished (result in e), 0 when the data is still going out. */
static int connected(asock_socket *s, asock_args *e)
{
    struct asock__args_priv *p = asock__priv(e);
    s->flags = (s->flags & ~(ASOCK__SF_CONNECTING | ASOCK__SF_CONN_FAILED)) | ASOCK__SF_CONNECTED |
               ASOCK__SF_BOUND;
    e->connect_socket = s;
    if (!(p->flags & ASOCK__AF_CONNECT_DATA)) {
        asock__args_set_result(e, 0);
        return 1;
    }
    prepare_data(e);
    /* the data goes first: sends started meanwhile wait behind it */
    s->flags |= ASOCK__SF_SENDING;
    int r = asock__stream_send_start(s, e);
    if (r)
        s->flags &= ~ASOCK__SF_SENDING; /* no callback ran, so nothing is held */
    return r;
}

/* The kernel may still be connecting (timeout, cancel): drop the half-open connection so the
 * socket is quiet, and remember that the next connect needs a fresh descriptor. */
static void abandon_connection(asock_socket *s)
{
    struct sockaddr unspec = {.sa_family = AF_UNSPEC};
    if (s->io.fd >= 0)
        connect(s->io.fd, &unspec, sizeof(unspec));
    s->flags = (s->flags & ~(ASOCK__SF_CONNECTING | ASOCK__SF_CONNECTED)) | ASOCK__SF_CONN_FAILED;
}

static void connect_failed(asock_socket *s, asock_args *e, int res)
{
    struct asock__args_priv *p = asock__priv(e);
    if (res == -ECANCELED && (p->flags & ASOCK__AF_CANCELED)) {
        asock__args_set_error(e, ASOCK_ERR_OPERATION_ABORTED, ECANCELED, "connect cancelled");
    } else if (res == -ETIMEDOUT || res == -ETIME) {
        asock__args_set_error(e, ASOCK_ERR_TIMED_OUT, ETIMEDOUT, "connect timed out");
    } else {
        asock__args_set_result(e, res);
        if (res == -EACCES && s->type == SOCK_DGRAM)
            p->detail = "broadcast destination: set ASOCK_OPT_BROADCAST first";
    }
    e->bytes_transferred = 0;
    if (s->type == SOCK_STREAM)
        abandon_connection(s);
}

void asock__connect_op_done(asock_args *e, int res)
{
    struct asock__args_priv *p = asock__priv(e);
    asock_socket *s = p->sock;
    s->flags &= ~ASOCK__SF_CONNECTING;
    if (res == 0) {
        if (!connected(s, e))
            return; /* the data goes out; the send's completion finishes the connect */
    } else {
        connect_failed(s, e, res);
    }
    asock__connect_finish(e);
}

/* Hands the connect of s to the engine: CONNECT waits for the end of a connect(2) under way,
 * CONNECT_START makes the whole connect (to p->addr).  1 pending, or 0 with the failure in e. */
static int submit_connect(asock_socket *s, asock_args *e, enum asock__op_kind kind)
{
    struct asock__args_priv *p = asock__priv(e);
    s->flags |= ASOCK__SF_CONNECTING;
    struct asock__op *op = &p->top.op;
    asock__op_prep(op, kind, &s->io, NULL);
    op->u.conn.addr = &p->addr.sa;
    op->u.conn.len = p->addrlen;
    p->top.timeout_ms = e->connect_timeout_ms;
    if (e->connect_timeout_ms != 0)
        op->flags |= ASOCK__OPF_TIMED;
    else
        op->flags &= (uint8_t)~ASOCK__OPF_TIMED;
    /* the socket layer's completion (io.c) dispatches back to asock__connect_op_done */
    op->done = asock__socket_op_done;
    int rc = asock__engine_submit(s->loop, op);
    if (rc < 0) {
        s->flags &= ~ASOCK__SF_CONNECTING;
        connect_failed(s, e, rc);
        return asock__connect_finish(e);
    }
    s->pending_out++;
    asock__args_pend(e);
    return 1;
}

/* Connects s (claimed e) to the IP endpoint in e.  0 done synchronously, 1 pending. */
static int ip_connect(asock_socket *s, asock_args *e)
{
    struct asock__args_priv *p = asock__priv(e);
    int rc = asock__dest_addr(s, &e->remote_endpoint, e);
    if (rc < 0) {
        asock__args_set_result(e, rc);
        return asock__connect_finish(e);
    }
    if (s->type == SOCK_STREAM && (s->flags & ASOCK__SF_CONN_FAILED)) {
        /* Linux cannot connect a socket again after a failed connect: use a fresh descriptor
         * with the same options (.NET does the same) */
        rc = asock__socket_renew(s);
        if (rc < 0) {
            asock__args_set_result(e, rc);
            return asock__connect_finish(e);
        }
    }
    if (s->type == SOCK_STREAM && e->buffer != NULL && e->count != 0)
        p->flags |= ASOCK__AF_CONNECT_DATA;
    if (s->type == SOCK_STREAM && s->loop->engine->calls_in_ring) {
        /* the engine makes the whole connect in its ring (IORING_OP_CONNECT): no connect(2),
         * no wait for writability, no SO_ERROR read */
        return submit_connect(s, e, ASOCK__OP_CONNECT_START);
    }
    int r;
    do {
        r = connect(s->io.fd, &p->addr.sa, p->addrlen);
    } while (r < 0 && errno == EINTR && s->type == SOCK_DGRAM);
    if (r == 0) {
        if (s->type == SOCK_DGRAM) {
            s->flags |= ASOCK__SF_CONNECTED | ASOCK__SF_BOUND;
            asock__args_set_result(e, 0);
            return asock__connect_finish(e);
        }
        if (!connected(s, e))
            return 1;
        return asock__connect_finish(e);
    }
    int err = errno;
    if (s->type == SOCK_STREAM && (err == EINPROGRESS || err == EINTR))
        return submit_connect(s, e, ASOCK__OP_CONNECT);
    connect_failed(s, e, -err);
    return asock__connect_finish(e);
}

/* Checks shared by both connects.  0 or the refusal. */
static int check_args(const asock_args *e)
{
    if (e->buffer_list != NULL)
        return -EINVAL; /* .NET: BufferList is not allowed for connect */
    if (e->remote_endpoint.kind != ASOCK_ENDPOINT_IP &&
        e->remote_endpoint.kind != ASOCK_ENDPOINT_DNS)
        return -EINVAL;
    if (e->buffer == NULL && e->count != 0)
        return -EINVAL;
    return 0;
}

int asock_connect_async(asock_socket *s, asock_args *e)
{
    if (s == NULL || e == NULL)
        return -EINVAL;
    if ((s->flags & ASOCK__SF_CLOSING) || s->io.fd < 0 || s->loop->freeing)
        return -EBADF;
    int rc = check_args(e);
    if (rc < 0)
        return rc;
    if (s->flags & ASOCK__SF_LISTENING)
        return -EOPNOTSUPP;
    if (s->type == SOCK_STREAM && (s->flags & ASOCK__SF_CONNECTED))
        return -EISCONN;
    if (s->flags & ASOCK__SF_CONNECTING)
        return -EALREADY;
    int fam = asock_endpoint_family(&e->remote_endpoint);
    if (e->remote_endpoint.kind == ASOCK_ENDPOINT_IP || fam != AF_UNSPEC) {
        if (!asock__socket_can_use_family(s, fam))
            return -EAFNOSUPPORT; /* .NET: NotSupportedException, nothing started */
    }
    rc = asock__args_claim(e, s, ASOCK_OP_CONNECT);
    if (rc < 0)
        return rc;
    asock__args_begin(e);
    if (e->remote_endpoint.kind == ASOCK_ENDPOINT_DNS) {
        rc = asock__name_connect_start(s->loop, s, s->type, s->protocol, e);
        if (rc < 0)
            asock__args_unclaim(e);
        return rc;
    }
    return ip_connect(s, e);
}

int asock_loop_connect_async(asock_loop *loop, int type, int protocol, asock_args *e)
{
    if (loop == NULL || e == NULL)
        return -EINVAL;
    if (loop->freeing)
        return -EBADF;
    if (type != SOCK_STREAM && type != SOCK_DGRAM)
        return -EINVAL;
    int rc = check_args(e);
    if (rc < 0)
        return rc;
    if (asock_args_in_use(e))
        return -EBUSY;
    if (e->remote_endpoint.kind == ASOCK_ENDPOINT_DNS) {
        rc = asock__args_claim(e, NULL, ASOCK_OP_CONNECT);
        if (rc < 0)
            return rc;
        asock__args_begin(e);
        asock__priv(e)->flags |= ASOCK__AF_STATIC;
        rc = asock__name_connect_start(loop, NULL, type, protocol, e);
        if (rc < 0)
            asock__args_unclaim(e);
        return rc;
    }
    asock_socket *s = NULL;
    rc = asock_socket_open(loop, e->remote_endpoint.ip.sa.sa_family, type, protocol, &s);
    if (rc < 0)
        return rc;
    s->flags |= ASOCK__SF_INTERNAL;
    rc = asock__args_claim(e, s, ASOCK_OP_CONNECT);
    if (rc < 0) {
        asock_socket_close(s);
        return rc;
    }
    asock__args_begin(e);
    asock__priv(e)->flags |= ASOCK__AF_STATIC;
    return ip_connect(s, e);
}

/* True when the kernel has already established the connection (writable, no error).  Only
 * poll(2): reading SO_ERROR here would consume an error the completion still has to report. */
static bool already_connected(int fd)
{
    struct pollfd pfd = {.fd = fd, .events = POLLOUT};
    if (poll(&pfd, 1, 0) != 1)
        return false;
    return (pfd.revents & POLLOUT) && !(pfd.revents & (POLLERR | POLLHUP));
}

void asock_cancel_connect_async(asock_args *e)
{
    if (e == NULL)
        return;
    struct asock__args_priv *p = asock__priv(e);
    if (p->magic != ASOCK__ARGS_MAGIC || p->state != ASOCK__ARGS_BUSY || p->op != ASOCK_OP_CONNECT)
        return;
    if (p->name_connect != NULL) {
        asock__name_connect_cancel(e);
        return;
    }
    struct asock__op *op = &p->top.op;
    if (!(op->flags & ASOCK__OPF_SUBMITTED) ||
        (op->kind != ASOCK__OP_CONNECT && op->kind != ASOCK__OP_CONNECT_START) || p->sock == NULL)
        return; /* finished, or already sending its data: too late to cancel */
    if (already_connected(p->sock->io.fd))
        return; /* the connect won the race: it completes with success, the socket is kept */
    p->flags |= ASOCK__AF_CANCELED;
    asock__engine_cancel(p->sock->loop, op);
}
