/* asock_async: the async action of the datagram layer (IAsyncAction / IAsyncOperation,
 * winrt-datagramsocket.md §4).
 *
 * Rules kept here:
 *   - an operation starts inside the call that returns it (STARTED) and reaches exactly one final
 *     state (COMPLETED, CANCELED or ERROR);
 *   - exactly one handler runs, once, from a deferred loop task — never inside asock_async_done
 *     or the call that finished the operation — also when the handlers are attached after the
 *     operation finished (WinRT behaves "as if it finished just after the handler was set");
 *   - asock_async_close drops the caller's reference; no handler runs after it.
 * References: the caller's, the job's (dropped by the operation's code once no callback of the
 * layers below can reach op) and the delivery task's. */
#include "datagram_int.h"

#include <stdlib.h>

/* Released asyncs kept per loop for reuse: enough for a burst of writes without malloc. */
#define ASYNC_CACHE_MAX 64u

static void deliver(struct asock__task *t);

asock_async *asock__async_new(struct asock__dgram_layer *layer, asock_datagram *ds,
                              enum asock__async_kind kind)
{
    asock_async *op = NULL;
    if (layer->ncache > 0) {
        struct asock__qnode *q = asock__q_head(&layer->cache);
        asock__q_remove(q);
        layer->ncache--;
        op = asock__container_of(q, asock_async, lnode);
    } else {
        op = asock__malloc(sizeof(*op));
        if (op == NULL)
            return NULL;
    }
    /* only the header is cleared: the union is initialised by the operation that uses it */
    memset(op, 0, offsetof(asock_async, u));
    op->layer = layer;
    op->ds = ds;
    op->kind = (uint8_t)kind;
    op->status = ASOCK_ASYNC_STARTED;
    op->refs = 2; /* the caller's and the job's */
    op->detail = "";
    asock__q_init(&op->dnode);
    asock__task_init(&op->task, deliver);
    asock__q_insert_tail(&layer->asyncs, &op->lnode);
    asock__loop_ref(layer->loop);
    op->loop_ref = true;
    return op;
}

static void release(asock_async *op)
{
    asock__q_remove(&op->dnode);
    asock__q_remove(&op->lnode);
    struct asock__dgram_layer *layer = op->layer;
    if (layer != NULL && layer->ncache < ASYNC_CACHE_MAX) {
        asock__q_insert_tail(&layer->cache, &op->lnode);
        layer->ncache++;
        return;
    }
    asock__free(op);
}

void asock__async_unref(asock_async *op)
{
    if (--op->refs == 0)
        release(op);
}

/* Queues the handler's delivery (holds a reference until it ran or was withdrawn). */
static void queue_delivery(asock_async *op)
{
    if (op->task_queued || op->caller_closed || op->layer == NULL)
        return;
    op->task_queued = true;
    op->refs++;
    asock__loop_defer(op->layer->loop, &op->task);
}

static void deliver(struct asock__task *t)
{
    asock_async *op = asock__container_of(t, asock_async, task);
    op->task_queued = false;
    if (!op->caller_closed) {
        asock_async_handler *h =
            op->status == ASOCK_ASYNC_COMPLETED ? op->on_success : op->on_error;
        if (h != NULL)
            h(op, op->user);
    }
    asock__async_unref(op);
}

void asock__async_complete(asock_async *op, asock_async_status status, asock_socket_error err,
                           int sys_errno, const char *detail)
{
    if (op->status != ASOCK_ASYNC_STARTED)
        return;
    if (status == ASOCK_ASYNC_COMPLETED) {
        err = ASOCK_SUCCESS;
        sys_errno = 0;
        detail = "";
    } else if (status == ASOCK_ASYNC_CANCELED) {
        err = ASOCK_ERR_OPERATION_ABORTED;
        if (sys_errno == 0)
            sys_errno = ECANCELED;
    } else if (err == ASOCK_ERR_OPERATION_ABORTED && sys_errno == 0) {
        sys_errno = ECANCELED;
    }
    op->status = (uint8_t)status;
    op->error = err;
    op->sys_errno = sys_errno;
    op->detail = detail != NULL ? detail : "";
    asock__q_remove(&op->dnode);
    if (op->loop_ref && op->layer != NULL) {
        op->loop_ref = false;
        asock__loop_unref(op->layer->loop);
    }
    if (op->handlers_set)
        queue_delivery(op);
}

void asock__async_layer_destroy(struct asock__dgram_layer *layer)
{
    while (!asock__q_empty(&layer->cache)) {
        struct asock__qnode *q = asock__q_head(&layer->cache);
        asock__q_remove(q);
        asock__free(asock__container_of(q, asock_async, lnode));
    }
    layer->ncache = 0;
    /* Whatever is left is held by its caller only (every job ended during the loop's drain);
     * it can still be read and closed after the loop is gone. */
    while (!asock__q_empty(&layer->asyncs)) {
        struct asock__qnode *q = asock__q_head(&layer->asyncs);
        asock__q_remove(q);
        asock_async *op = asock__container_of(q, asock_async, lnode);
        asock__q_remove(&op->dnode);
        op->layer = NULL;
        op->ds = NULL;
        op->loop_ref = false;
        if (op->status == ASOCK_ASYNC_STARTED) {
            /* cannot happen after a full drain; keep the object consistent anyway */
            op->status = ASOCK_ASYNC_ERROR;
            op->error = ASOCK_ERR_OPERATION_ABORTED;
            op->sys_errno = ECANCELED;
            op->detail = "loop freed";
        }
    }
}

/* ---- public ---- */

int asock_async_done(asock_async *op, asock_async_handler *on_success,
                     asock_async_handler *on_error, void *user)
{
    if (op == NULL || (on_success == NULL && on_error == NULL) || op->caller_closed)
        return -EINVAL;
    if (op->handlers_set)
        return -EALREADY;
    op->handlers_set = true;
    op->on_success = on_success;
    op->on_error = on_error;
    op->user = user;
    if (op->status != ASOCK_ASYNC_STARTED)
        queue_delivery(op); /* finished already: the handler still runs, from the loop */
    return 0;
}

asock_async_status asock_async_get_status(const asock_async *op)
{
    return op != NULL ? (asock_async_status)op->status : ASOCK_ASYNC_ERROR;
}

asock_socket_error asock_async_error(const asock_async *op)
{
    return op != NULL ? op->error : ASOCK_ERR_INVALID_ARGUMENT;
}

int asock_async_sys_errno(const asock_async *op)
{
    return op != NULL ? op->sys_errno : EINVAL;
}

const char *asock_async_error_detail(const asock_async *op)
{
    return op != NULL && op->detail != NULL ? op->detail : "";
}

void *asock_async_result(const asock_async *op)
{
    return op != NULL && op->status == ASOCK_ASYNC_COMPLETED ? op->result : NULL;
}

size_t asock_async_bytes_transferred(const asock_async *op)
{
    return op != NULL && op->status == ASOCK_ASYNC_COMPLETED ? op->bytes : 0;
}

void asock_async_cancel(asock_async *op)
{
    if (op == NULL || op->status != ASOCK_ASYNC_STARTED || op->ds == NULL)
        return;
    op->cancel_requested = true;
    asock__dgram_abort_op(op, ASOCK_ASYNC_CANCELED, ASOCK_ERR_OPERATION_ABORTED,
                          "cancelled by asock_async_cancel");
}

void asock_async_close(asock_async *op)
{
    if (op == NULL || op->caller_closed)
        return;
    op->caller_closed = true;
    if (op->task_queued) {
        /* a handler was queued: withdraw it (no handler runs after the close) */
        op->task_queued = false;
        if (op->layer != NULL)
            asock__loop_undefer(op->layer->loop, &op->task);
        asock__async_unref(op);
    }
    asock__async_unref(op);
}
