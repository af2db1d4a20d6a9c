/* Output streams: the connected peer's stream and one stream per destination from
 * get_output_stream_async.  Each write is one datagram (WinRT: every WriteAsync is one packet).
 *
 * A write borrows an asock_args inside its asock_async (taken from the layer's cache, so a write
 * does not allocate in steady state) and starts asock_send_async / asock_send_to_async; a UDP
 * send almost always completes inside that call, so the operation is usually COMPLETED when
 * write_async returns (its handler still runs later, from the loop).
 *
 * Socket-layer internals are used here, and only here: asock__priv() to reach a pending write's
 * engine op and asock__engine_cancel() to cancel that one op, because the socket layer's public
 * API cancels only connects (asock_cancel_connect_async) or everything (asock_socket_close). */
#include "datagram_int.h"
#include "../socket/socket.h"

asock_output_stream *asock__dgram_stream_for(asock_datagram *ds, const asock_endpoint *dest)
{
    for (struct asock__qnode *q = asock__q_head(&ds->streams); q != &ds->streams; q = q->next) {
        asock_output_stream *os = asock__container_of(q, asock_output_stream, node);
        if (asock_endpoint_equal(&os->dest, dest))
            return os;
    }
    asock_output_stream *os = asock__calloc(1, sizeof(*os));
    if (os == NULL)
        return NULL;
    os->ds = ds;
    os->connected = false;
    os->dest = *dest;
    asock__q_insert_tail(&ds->streams, &os->node);
    return os;
}

asock_datagram *asock_output_stream_datagram(const asock_output_stream *os)
{
    return os != NULL ? os->ds : NULL;
}

asock_output_stream *asock_datagram_output_stream(asock_datagram *ds)
{
    if (ds == NULL || (ds->flags & (ASOCK__DG_CLOSED | ASOCK__DG_CONNECTED)) != ASOCK__DG_CONNECTED)
        return NULL;
    return &ds->conn_stream;
}

/* The write's final state from its args. */
static void write_result(asock_async *op)
{
    asock_args *e = &op->u.write.e;
    switch (e->socket_error) {
    case ASOCK_SUCCESS:
        op->bytes = e->bytes_transferred;
        asock__async_complete(op, ASOCK_ASYNC_COMPLETED, ASOCK_SUCCESS, 0, NULL);
        return;
    case ASOCK_ERR_CONNECTION_REFUSED:
        /* A queued ICMP port-unreachable from an earlier datagram: on a UDP socket Windows
         * reports WSAECONNRESET, so the status is ConnectionResetByPeer (errors.md §3).  The
         * error is consumed; the socket stays usable. */
        asock__async_complete(op, ASOCK_ASYNC_ERROR, ASOCK_ERR_CONNECTION_RESET, e->sys_errno,
                              "the peer's port was unreachable (ICMP) for an earlier datagram");
        return;
    case ASOCK_ERR_OPERATION_ABORTED:
        asock__async_complete(op, op->cancel_requested ? ASOCK_ASYNC_CANCELED : ASOCK_ASYNC_ERROR,
                              ASOCK_ERR_OPERATION_ABORTED, e->sys_errno, "write aborted");
        return;
    case ASOCK_ERR_MESSAGE_SIZE:
        asock__async_complete(op, ASOCK_ASYNC_ERROR, e->socket_error, e->sys_errno,
                              "the datagram is larger than the path or protocol allows");
        return;
    default:
        asock__async_complete(op, ASOCK_ASYNC_ERROR, e->socket_error, e->sys_errno,
                              asock_args_error_detail(e));
        return;
    }
}

static void write_done(asock_socket *sender, asock_args *e)
{
    ASOCK__UNUSED(sender);
    asock_async *op = e->user_token;
    asock_datagram *ds = op->ds;
    op->in_engine = false;
    ds->io_pending--;
    ds->writes_pending--;
    write_result(op);
    asock__async_unref(op);
    asock__dgram_write_ended(ds);
    asock__dgram_maybe_free(ds);
}

void asock__write_abort(asock_async *op, asock_async_status status)
{
    ASOCK__UNUSED(status); /* CANCELED was recorded in op->cancel_requested by the caller */
    if (!op->in_engine || op->ds == NULL || op->layer == NULL)
        return;
    /* the engine completes the op with -ECANCELED unless its real result came first */
    asock__engine_cancel(op->layer->loop, &asock__priv(&op->u.write.e)->top.op);
}

asock_async *asock_output_stream_write_async(asock_output_stream *os, const void *data,
                                             size_t length)
{
    if (os == NULL)
        return NULL;
    asock_datagram *ds = os->ds;
    asock_async *op = asock__async_new(ds->layer, ds, ASOCK__ASYNC_WRITE);
    if (op == NULL)
        return NULL;
    asock_args *e = &op->u.write.e;
    asock_args_init(e);
    e->completed = write_done;
    e->user_token = op;
    op->u.write.os = os;
    asock_socket_error err = ASOCK_SUCCESS;
    int sys = 0;
    const char *detail = NULL;
    if (ds->flags & ASOCK__DG_CLOSED) {
        err = ASOCK_ERR_OPERATION_ABORTED;
        sys = EBADF;
        detail = "the datagram socket is closed";
    } else if (data == NULL && length != 0) {
        err = ASOCK_ERR_INVALID_ARGUMENT;
        sys = EINVAL;
        detail = "data is NULL";
    } else if (ds->sock == NULL || (os->connected && !(ds->flags & ASOCK__DG_CONNECTED))) {
        err = ASOCK_ERR_NOT_CONNECTED;
        sys = ENOTCONN;
        detail = "the socket is not connected";
    }
    if (err != ASOCK_SUCCESS) {
        asock__async_complete(op, ASOCK_ASYNC_ERROR, err, sys, detail);
        asock__async_unref(op);
        return op;
    }
    /* the send never writes to the buffer: dropping const is safe */
    asock_args_set_buffer(e, (void *)(uintptr_t)data, 0, length);
    int rc;
    if (os->connected) {
        rc = asock_send_async(ds->sock, e);
    } else {
        e->remote_endpoint = os->dest;
        rc = asock_send_to_async(ds->sock, e);
    }
    if (rc == 1) {
        op->in_engine = true;
        ds->io_pending++;
        ds->writes_pending++;
        asock__q_insert_tail(&ds->ops, &op->dnode);
        return op;
    }
    if (rc == 0)
        write_result(op);
    else
        asock__async_complete(op, ASOCK_ASYNC_ERROR, asock_socket_error_from_errno(rc), -rc,
                              "the socket layer refused the send");
    asock__async_unref(op);
    return op;
}
