/* What both engines share: performing an operation's system call once, finishing an operation
 * (a multishot one only at its last completion), and closing a descriptor only after its last
 * completion. */
#include "internal.h"
#include "../engine/engine.h"

#include <poll.h>
#include <unistd.h>

int asock__so_error(int fd)
{
    int err = 0;
    socklen_t len = sizeof(err);
    if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) < 0)
        return -errno;
    return -err;
}

static int check_connected(int fd)
{
    int err = asock__so_error(fd);
    if (err != 0)
        return err;
    /* SO_ERROR is 0 both when connected and while still connecting: only a writable socket is
     * connected (a stale readiness report must not complete the connect early). */
    struct pollfd p = {.fd = fd, .events = POLLOUT};
    int n = poll(&p, 1, 0);
    if (n < 0)
        return -errno;
    if (n == 0 || (p.revents & POLLOUT) == 0)
        return -EAGAIN;
    return 0;
}

static int check_ready(int fd, short events)
{
    struct pollfd p = {.fd = fd, .events = events};
    int n = poll(&p, 1, 0);
    if (n < 0)
        return -errno;
    /* an error or hang-up also ends the wait: the caller's next call reports it */
    return n > 0 && p.revents != 0 ? 0 : -EAGAIN;
}

int asock__op_try(struct asock__op *op)
{
    int fd = op->io->fd;
    ssize_t n;
    for (;;) {
        switch ((enum asock__op_kind)op->kind) {
        case ASOCK__OP_POLL_IN:
            return check_ready(fd, POLLIN);
        case ASOCK__OP_POLL_OUT:
            return check_ready(fd, POLLOUT);
        case ASOCK__OP_CONNECT:
            return check_connected(fd);
        case ASOCK__OP_CONNECT_START:
            if (connect(fd, op->u.conn.addr, op->u.conn.len) == 0)
                return 0;
            if (errno == EINPROGRESS || errno == EINTR) {
                /* under way (a stream connect interrupted by a signal goes on, too): from now on
                 * the op waits for the end of the connect */
                op->kind = ASOCK__OP_CONNECT;
                return -EAGAIN;
            }
            return -errno;
        case ASOCK__OP_ACCEPT:
            n = accept4(fd, op->u.accept.addr, op->u.accept.addrlen, SOCK_NONBLOCK | SOCK_CLOEXEC);
            break;
        case ASOCK__OP_RECV:
            n = recv(fd, op->u.rw.buf, op->u.rw.len, op->u.rw.flags);
            break;
        case ASOCK__OP_SEND:
            n = send(fd, op->u.rw.buf, op->u.rw.len, op->u.rw.flags | MSG_NOSIGNAL);
            break;
        case ASOCK__OP_RECVMSG:
            n = recvmsg(fd, op->u.msg.msg, op->u.msg.flags);
            break;
        case ASOCK__OP_SENDMSG:
            n = sendmsg(fd, op->u.msg.msg, op->u.msg.flags | MSG_NOSIGNAL);
            break;
        default:
            return -EINVAL;
        }
        if (n >= 0)
            return n > INT32_MAX ? INT32_MAX : (int)n;
        if (errno == EINTR)
            continue;
        /* a send on a TCP Fast Open socket whose SYN is still out: wait like EAGAIN */
        if (errno == EWOULDBLOCK || errno == EINPROGRESS)
            return -EAGAIN;
        return -errno;
    }
}

/* Closes io's descriptor once nothing can complete on it any more. */
static void maybe_close(asock_loop *loop, struct asock__io *io)
{
    if (!io->closing || io->inflight != 0 || io->fd < 0)
        return;
    /* Inside the loop an engine may close in its ring: the descriptor is released by the time
     * asock_loop_run returns (its flush).  Outside, it is released now. */
    if (loop->running && loop->engine->close_fd != NULL)
        loop->engine->close_fd(loop, io->fd);
    else
        close(io->fd);
    io->fd = -1;
    asock__q_insert_tail(&loop->closing, &io->cnode);
}

void asock__op_finish(asock_loop *loop, struct asock__op *op, int res)
{
    struct asock__io *io = op->io;
    if (op->flags & ASOCK__OPF_MORE) {
        /* a multishot delivery: the op stays submitted and counted in io->inflight, so the
         * descriptor cannot be closed under it */
        op->res = res;
        op->done(op);
        return;
    }
    op->flags &= (uint8_t) ~(ASOCK__OPF_SUBMITTED | ASOCK__OPF_CANCELED | ASOCK__OPF_QUEUED);
    op->res = res;
    io->inflight--;
    op->done(op);
    maybe_close(loop, io);
}

void asock__loop_defer_op(asock_loop *loop, struct asock__op *op)
{
    asock__q_insert_tail(&loop->deferred_ops, &op->node);
}

void asock__engine_close(asock_loop *loop, struct asock__io *io, asock__io_closed_fn *closed)
{
    if (io->closing)
        return;
    io->closing = 1;
    io->closed = closed;
    if (io->fd < 0) {
        /* nothing was ever opened: just report closed from the loop */
        asock__q_insert_tail(&loop->closing, &io->cnode);
        return;
    }
    if (io->inflight != 0)
        loop->engine->cancel_all(loop, io);
    maybe_close(loop, io);
}
