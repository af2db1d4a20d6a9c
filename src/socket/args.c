/* asock_args: initialisation, ownership (claim / release) and the one funnel through which every
 * operation's result reaches the user. */
#include "socket.h"

void asock_args_init(asock_args *e)
{
    if (e == NULL)
        return;
    memset(e, 0, sizeof(*e));
    struct asock__args_priv *p = asock__priv(e);
    p->magic = ASOCK__ARGS_MAGIC;
    p->state = ASOCK__ARGS_FREE;
    asock__q_init(&p->snode);
    asock__task_init(&p->task, NULL);
    p->top.timer.index = UINT32_MAX;
    p->detail = "";
}

int asock_args_set_buffer(asock_args *e, void *buffer, size_t offset, size_t count)
{
    if (e == NULL)
        return -EINVAL;
    const struct asock__args_priv *p = asock__cpriv(e);
    if (p->magic != ASOCK__ARGS_MAGIC)
        return -EINVAL;
    if (p->state != ASOCK__ARGS_FREE)
        return -EBUSY;
    if (offset + count < offset || (buffer == NULL && (offset != 0 || count != 0)))
        return -EINVAL;
    e->buffer = buffer;
    e->offset = offset;
    e->count = count;
    e->buffer_list = NULL;
    e->buffer_list_count = 0;
    return 0;
}

int asock_args_in_use(const asock_args *e)
{
    return e != NULL && asock__cpriv(e)->magic == ASOCK__ARGS_MAGIC &&
           asock__cpriv(e)->state != ASOCK__ARGS_FREE;
}

const char *asock_args_error_detail(const asock_args *e)
{
    if (e == NULL || asock__cpriv(e)->magic != ASOCK__ARGS_MAGIC || asock__cpriv(e)->detail == NULL)
        return "";
    return asock__cpriv(e)->detail;
}

void asock__args_unclaim(asock_args *e)
{
    struct asock__args_priv *p = asock__priv(e);
    p->state = ASOCK__ARGS_FREE;
    p->sock = NULL;
}

void asock__args_set_error(asock_args *e, asock_socket_error se, int sys_errno, const char *detail)
{
    e->socket_error = se;
    e->sys_errno = sys_errno;
    if (detail != NULL)
        asock__priv(e)->detail = detail;
}

int asock__args_finish(asock_args *e, asock_socket *sender)
{
    struct asock__args_priv *p = asock__priv(e);
    bool pending = (p->flags & ASOCK__AF_PENDING) != 0;
    asock__q_remove(&p->snode);
    asock_loop *loop = p->sock != NULL ? p->sock->loop : NULL;
    /* A socket closed under a pending operation reports it aborted, whatever the call said. */
    if (pending && p->sock != NULL && (p->sock->flags & ASOCK__SF_CLOSING) &&
        e->socket_error != ASOCK_SUCCESS && e->socket_error != ASOCK_ERR_OPERATION_ABORTED) {
        e->socket_error = ASOCK_ERR_OPERATION_ABORTED;
    }
    if (e->socket_error == ASOCK_ERR_OPERATION_ABORTED && e->sys_errno == 0)
        e->sys_errno = ECANCELED;
    /* free before the callback, so it can start the next operation with e */
    p->state = ASOCK__ARGS_FREE;
    p->flags = 0;
    p->sock = NULL;
    if (!pending)
        return 0;
    if (loop != NULL)
        asock__loop_unref(loop);
    if (e->completed != NULL)
        e->completed(sender, e);
    return 1;
}

static void finish_task(struct asock__task *t)
{
    struct asock__args_priv *p = asock__container_of(t, struct asock__args_priv, task);
    asock_args *e = asock__container_of((void *)p, asock_args, priv_);
    asock_socket *sender =
        e->connect_socket != NULL && p->op == ASOCK_OP_CONNECT ? e->connect_socket : p->sock;
    asock__args_finish(e, sender);
}

void asock__args_finish_later(asock_args *e, asock_loop *loop)
{
    struct asock__args_priv *p = asock__priv(e);
    asock__task_init(&p->task, finish_task);
    asock__loop_defer(loop, &p->task);
}
