/* The loop's receive-buffer pool and the readiness path of multishot operations, shared by the
 * epoll engine and by the io_uring engine when the kernel (or ASOCK_URING_DISABLE) leaves it
 * without multishot accept / receive.
 *
 * The readiness path performs the calls itself once the descriptor is readable: accept4 until
 * EAGAIN, recv into one free buffer at a time for streams, recvmmsg into up to MULTI_BATCH free
 * buffers per call for datagrams.  Each result is one delivery (done with ASOCK__OPF_MORE); its
 * buffer goes back to the pool as soon as done returns.  Nothing is allocated here: the pool is
 * made once per loop, the recvmmsg vectors live on the stack.
 */
#include "engine.h"

#include <limits.h>
#include <unistd.h>

#define MULTI_BATCH 32u /* datagrams per recvmmsg */

int asock__bufpool_check(const asock_loop_options *opts)
{
    uint32_t size = opts->receive_buffer_size;
    uint32_t count = opts->receive_buffer_count;
    if (size != 0 && (size < ASOCK__POOL_MIN_SIZE || size > ASOCK__POOL_MAX_SIZE))
        return -EINVAL;
    if (count > ASOCK__POOL_MAX_COUNT)
        return -EINVAL;
    return 0;
}

int asock__bufpool_create(struct asock__bufpool *bp, const asock_loop_options *opts)
{
    uint32_t size =
        opts->receive_buffer_size != 0 ? opts->receive_buffer_size : ASOCK__POOL_DEFAULT_SIZE;
    uint32_t count =
        opts->receive_buffer_count != 0 ? opts->receive_buffer_count : ASOCK__POOL_DEFAULT_COUNT;
    /* keep every buffer 16-byte aligned (the recvmsg header and the sockaddr in it) */
    size = (size + 15u) & ~15u;
    bp->base = asock__malloc((size_t)size * count);
    bp->free = asock__calloc(count, sizeof(*bp->free));
    if (bp->base == NULL || bp->free == NULL) {
        asock__bufpool_destroy(bp);
        return -ENOMEM;
    }
    bp->size = size;
    bp->count = count;
    /* popped from the top: buffer 0 first */
    for (uint32_t i = 0; i < count; i++)
        bp->free[i] = (uint16_t)(count - 1u - i);
    bp->nfree = count;
    return 0;
}

void asock__bufpool_destroy(struct asock__bufpool *bp)
{
    asock__free(bp->base);
    asock__free(bp->free);
    memset(bp, 0, sizeof(*bp));
}

static unsigned pool_pop(struct asock__bufpool *bp)
{
    return bp->free[--bp->nfree];
}

static void pool_push(struct asock__bufpool *bp, unsigned bid)
{
    bp->free[bp->nfree++] = (uint16_t)bid;
}

static bool gone(const struct asock__op *op)
{
    return (op->flags & ASOCK__OPF_CANCELED) || op->io->closing || op->io->fd < 0;
}

static enum asock__multi_stop do_accept(asock_loop *loop, struct asock__op *op, unsigned budget,
                                        int *final)
{
    for (unsigned n = 0; n < budget; n++) {
        int fd = accept4(op->io->fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (fd < 0) {
            int err = errno;
            if (err == EAGAIN || err == EWOULDBLOCK)
                return ASOCK__MULTI_AGAIN;
            if (err == EINTR || err == ECONNABORTED)
                continue; /* the connection went away before it was accepted: the next one */
            *final = -err;
            return ASOCK__MULTI_FINAL;
        }
        asock__op_deliver(loop, op, fd);
        if (gone(op))
            return ASOCK__MULTI_CANCELED;
    }
    return ASOCK__MULTI_BUDGET;
}

static enum asock__multi_stop do_recv(asock_loop *loop, struct asock__bufpool *bp,
                                      struct asock__op *op, unsigned budget, int *final)
{
    for (unsigned n = 0; n < budget; n++) {
        if (bp->nfree == 0)
            return ASOCK__MULTI_NOBUF;
        unsigned bid = pool_pop(bp);
        unsigned char *buf = asock__bufpool_addr(bp, bid);
        ssize_t r = recv(op->io->fd, buf, bp->size, 0);
        if (r <= 0) {
            int err = r == 0 ? 0 : errno;
            pool_push(bp, bid);
            if (err == EINTR)
                continue;
            if (err == EAGAIN || err == EWOULDBLOCK)
                return ASOCK__MULTI_AGAIN;
            *final = -err; /* 0: the peer closed its side */
            return ASOCK__MULTI_FINAL;
        }
        op->u.multi.data = buf;
        op->u.multi.name = NULL;
        op->u.multi.namelen = 0;
        op->u.multi.msg_flags = 0;
        asock__op_deliver(loop, op, (int)r);
        pool_push(bp, bid);
        if (gone(op))
            return ASOCK__MULTI_CANCELED;
        /* (a short read does not end the turn: the peer's FIN may have come with the data, and
         * no further edge would tell) */
    }
    return ASOCK__MULTI_BUDGET;
}

static enum asock__multi_stop do_recvmmsg(asock_loop *loop, struct asock__bufpool *bp,
                                          struct asock__op *op, unsigned budget, int *final)
{
    struct mmsghdr mm[MULTI_BATCH];
    struct iovec iov[MULTI_BATCH];
    uint16_t bids[MULTI_BATCH];
    unsigned done_n = 0;
    while (done_n < budget) {
        unsigned k = budget - done_n;
        if (k > MULTI_BATCH)
            k = MULTI_BATCH;
        if (k > bp->nfree)
            k = bp->nfree;
        if (k == 0)
            return ASOCK__MULTI_NOBUF;
        for (unsigned i = 0; i < k; i++) {
            unsigned bid = pool_pop(bp);
            unsigned char *buf = asock__bufpool_addr(bp, bid);
            bids[i] = (uint16_t)bid;
            iov[i].iov_base = buf + ASOCK__DGRAM_DATA_OFF;
            iov[i].iov_len = bp->size - ASOCK__DGRAM_DATA_OFF;
            memset(&mm[i], 0, sizeof(mm[i]));
            mm[i].msg_hdr.msg_name = buf + ASOCK__DGRAM_NAME_OFF;
            mm[i].msg_hdr.msg_namelen = ASOCK__DGRAM_NAME_LEN;
            mm[i].msg_hdr.msg_iov = &iov[i];
            mm[i].msg_hdr.msg_iovlen = 1;
        }
        int r = recvmmsg(op->io->fd, mm, k, 0, NULL);
        if (r <= 0) {
            int err = r == 0 ? EAGAIN : errno;
            for (unsigned i = k; i-- > 0;)
                pool_push(bp, bids[i]);
            if (err == EINTR)
                continue;
            if (err == EAGAIN || err == EWOULDBLOCK)
                return ASOCK__MULTI_AGAIN;
            *final = -err; /* e.g. ECONNREFUSED on a connected socket (an ICMP error) */
            return ASOCK__MULTI_FINAL;
        }
        unsigned got = (unsigned)r;
        for (unsigned i = 0; i < got; i++) {
            if (gone(op)) {
                /* canceled by an earlier delivery of this batch: drop the rest */
                pool_push(bp, bids[i]);
                continue;
            }
            op->u.multi.data = iov[i].iov_base;
            op->u.multi.name = mm[i].msg_hdr.msg_name;
            op->u.multi.namelen = mm[i].msg_hdr.msg_namelen;
            op->u.multi.msg_flags = mm[i].msg_hdr.msg_flags;
            unsigned len = mm[i].msg_len;
            asock__op_deliver(loop, op, len > INT_MAX ? INT_MAX : (int)len);
            pool_push(bp, bids[i]);
        }
        for (unsigned i = k; i-- > got;)
            pool_push(bp, bids[i]);
        if (gone(op))
            return ASOCK__MULTI_CANCELED;
        done_n += got;
        /* Fewer than asked for: the queue was empty, or an error stopped the batch (it is
         * reported by the next call, so make it). */
    }
    return ASOCK__MULTI_BUDGET;
}

enum asock__multi_stop asock__multi_perform(asock_loop *loop, struct asock__bufpool *bp,
                                            struct asock__op *op, unsigned budget, int *final)
{
    *final = 0;
    if (gone(op))
        return ASOCK__MULTI_CANCELED;
    switch (op->kind) {
    case ASOCK__OP_ACCEPT_MULTI:
        return do_accept(loop, op, budget, final);
    case ASOCK__OP_RECV_MULTI:
        return do_recv(loop, bp, op, budget, final);
    case ASOCK__OP_RECVMSG_MULTI:
        return do_recvmmsg(loop, bp, op, budget, final);
    default:
        *final = -EINVAL;
        return ASOCK__MULTI_FINAL;
    }
}
