/* The datagram layer's internals (seed 003): async actions, datagram sockets, output streams.
 *
 * The layer sits on the socket layer's public API (asock_socket + asock_args) and on the
 * resolver (asock_resolve_async).  Socket-layer internals are used in one place only: cancelling
 * one pending write (asock__engine_cancel on the args' engine op, output_stream.c), because the
 * public API has no per-operation cancel for a send.
 *
 * Lifetimes:
 *   - asock_async: reference counted.  The caller's reference (asock_async_close), the job's
 *     (held while the operation can still receive a resolver or args callback) and the delivery
 *     task's (while a handler is queued).  Freed objects go to a small per-loop cache so a write
 *     does not allocate in steady state.
 *   - asock_datagram: freed once it is closed, no socket operation of it is pending
 *     (io_pending: the receive and writes in the engine) and no message handler is running.
 *   - the loop-wide state (struct asock__dgram_layer) hangs on loop->ext[ASOCK__SLOT_DATAGRAM]:
 *     its shutdown hook closes every datagram socket left, its destroy hook releases the cache
 *     and orphans the asyncs whose callers still hold them (they can be closed after the free).
 */
#ifndef ASOCK_DATAGRAM_INT_H
#define ASOCK_DATAGRAM_INT_H

#include "../core/internal.h"

#include <net/if.h>
#include <netinet/in.h>

/* The loop-wide state of the layer. */
struct asock__dgram_layer {
    asock_loop *loop;
    struct asock__qnode dgrams; /* open asock_datagram (lnode) */
    struct asock__qnode asyncs; /* every live asock_async (lnode) */
    struct asock__qnode cache;  /* released asock_async kept for reuse (lnode) */
    unsigned ncache;
};

/* The layer of loop, created on first use; NULL when out of memory. */
ASOCK__HIDDEN struct asock__dgram_layer *asock__dgram_layer(asock_loop *loop);

enum asock__async_kind {
    ASOCK__ASYNC_BIND = 1,
    ASOCK__ASYNC_CONNECT,
    ASOCK__ASYNC_STREAM, /* get_output_stream */
    ASOCK__ASYNC_WRITE,
    ASOCK__ASYNC_CANCEL_IO
};

/* The resolution state of a bind, connect or get_output_stream. */
struct asock__dgram_job {
    asock_resolve *req[2]; /* [0] remote, [1] local; NULL once its callback ran */
    bool asked[2];         /* that side is being resolved */
    bool done[2];
    asock_socket_error err[2];
    int code[2];
    const char *detail[2];
    asock_endpoint *eps[2]; /* the resolved endpoints (copied) */
    size_t neps[2];
    bool wildcard;    /* bind: no local host (every address) */
    bool connecting;  /* connect: e is pending in the socket layer */
    bool created;     /* connect: the descriptor was opened by this operation */
    unsigned ifindex; /* bind_service_name's adapter, 0 if none */
    char ifname[IF_NAMESIZE];
    asock_args e; /* the connect's args */
};

struct asock_async {
    struct asock__dgram_layer *layer; /* NULL once the loop is gone */
    struct asock__qnode lnode;        /* layer->asyncs, or layer->cache */
    struct asock__qnode dnode;        /* ds->ops while running */
    unsigned refs;
    uint8_t kind;   /* enum asock__async_kind */
    uint8_t status; /* asock_async_status */
    bool caller_closed;
    bool handlers_set;
    bool task_queued;
    bool loop_ref;         /* counts as loop work (while STARTED) */
    bool cancel_requested; /* asock_async_cancel: the final status is CANCELED */
    bool in_engine;        /* write: its args is pending in the engine */
    asock_socket_error error;
    int sys_errno;
    const char *detail;
    void *result;
    size_t bytes;
    asock_async_handler *on_success;
    asock_async_handler *on_error;
    void *user;
    struct asock__task task;
    asock_datagram *ds; /* the socket the operation belongs to; NULL once detached */

    union {
        struct asock__dgram_job job;

        struct {
            asock_args e;
            asock_output_stream *os;
        } write;
    } u;
};

/* A new operation of kind on ds (STARTED, the caller's and the job's references, loop work).
 * NULL when out of memory. */
ASOCK__HIDDEN asock_async *asock__async_new(struct asock__dgram_layer *layer, asock_datagram *ds,
                                            enum asock__async_kind kind);

/* The operation reached its final state: status, error and detail are set, the loop work is
 * dropped and the handler (if attached and the caller has not closed op) is queued.  Only the
 * first call has an effect.  Does not drop the job's reference. */
ASOCK__HIDDEN void asock__async_complete(asock_async *op, asock_async_status status,
                                         asock_socket_error err, int sys_errno, const char *detail);

/* Drops one reference (the job's); frees op at zero. */
ASOCK__HIDDEN void asock__async_unref(asock_async *op);

static inline bool asock__async_running(const asock_async *op)
{
    return op->status == ASOCK_ASYNC_STARTED;
}

/* Releases the layer's cache and orphans the asyncs still held by their callers. */
ASOCK__HIDDEN void asock__async_layer_destroy(struct asock__dgram_layer *layer);

/* ---- output streams ---- */

struct asock_output_stream {
    asock_datagram *ds;
    struct asock__qnode node; /* ds->streams (destination streams only) */
    bool connected;           /* the connected peer's stream: send, not send_to */
    asock_endpoint dest;      /* the destination (an IP endpoint, IPv4 never mapped) */
};

/* ---- datagram sockets ---- */

/* asock_datagram.flags */
#define ASOCK__DG_CLOSED    0x0001u /* asock_datagram_close was called */
#define ASOCK__DG_STARTED   0x0002u /* a bind, connect or get_output_stream started */
#define ASOCK__DG_BOUND     0x0004u /* bound by bind / connect with a local half */
#define ASOCK__DG_CONNECTED 0x0008u /* has a default peer */
#define ASOCK__DG_ADAPTER   0x0010u /* bound to an adapter */
#define ASOCK__DG_IFFILTER  0x0020u /* adapter without SO_BINDTODEVICE: filter arrivals */
#define ASOCK__DG_RX_TASK   0x0040u /* rx_task is queued */
#define ASOCK__DG_RX_ARMED  0x0080u /* the receive args is pending */

/* The receive buffer: large enough for any UDP datagram (65,507 bytes of IPv4 payload, 65,527
 * of IPv6 without jumbograms), so nothing is ever truncated. */
#define ASOCK__DG_RXBUF 65536u

struct asock_datagram {
    asock_loop *loop;
    struct asock__dgram_layer *layer;
    struct asock__qnode lnode; /* layer->dgrams */
    asock_socket *sock;        /* NULL until an operation opens it */
    uint32_t flags;            /* ASOCK__DG_* */
    unsigned io_pending;       /* socket operations in the engine: the receive and writes */
    unsigned writes_pending;   /* writes among them */
    int in_cb;                 /* message handlers running */

    asock_message_received_fn *on_msg;
    void *msg_user;
    asock_datagram_control ctl;

    unsigned adapter_index; /* bind_service_name's adapter, 0 if none */
    unsigned mcast_ifindex; /* set_multicast_interface, 0 if none */
    int mcast_loop;         /* -1: not set */
    int mcast_ttl;          /* -1: not set */

    asock_async *busy;                /* the bind / connect / get_output_stream running, if any */
    struct asock__qnode ops;          /* running operations (asock_async.dnode) */
    struct asock__qnode cancel_waits; /* cancel_io operations waiting for writes to end */

    /* receiving */
    asock_args rx;
    asock_endpoint rx_any; /* the receive's sender template: any address of the family */
    unsigned rx_errors;    /* receive errors in a row */
    unsigned char *rxbuf;  /* ASOCK__DG_RXBUF bytes, allocated once with the socket */
    struct asock__task rx_task;
    struct sockaddr_storage last_src; /* the text below belongs to it (a cache per sender) */
    socklen_t last_src_len;
    char src_addr[64], src_port[8];
    struct sockaddr_storage last_dst;
    socklen_t last_dst_len;
    char dst_addr[64];

    /* the connected peer */
    asock_endpoint remote; /* IPv4 never mapped */
    asock_output_stream conn_stream;
    struct asock__qnode streams; /* destination streams */
};

/* Engine-facing helpers of the datagram (datagram.c). */

/* Frees ds if it is closed and nothing of it runs any more.  Returns true if it was freed. */
ASOCK__HIDDEN bool asock__dgram_maybe_free(asock_datagram *ds);

/* A write finished on ds (output_stream.c tells datagram.c, for cancel_io waiters). */
ASOCK__HIDDEN void asock__dgram_write_ended(asock_datagram *ds);

/* Ends a running operation of ds early with status and err (cancel, cancel_io, close). */
ASOCK__HIDDEN void asock__dgram_abort_op(asock_async *op, asock_async_status status,
                                         asock_socket_error err, const char *detail);

/* Write-specific abort (output_stream.c): cancels the write's engine op, if any. */
ASOCK__HIDDEN void asock__write_abort(asock_async *op, asock_async_status status);

/* An IPv4-mapped IPv6 endpoint (::ffff:a.b.c.d) becomes plain IPv4; others are unchanged. */
ASOCK__HIDDEN void asock__ep_unmap(asock_endpoint *ep);

/* Fills a stream's destination for writes on ds's socket. */
ASOCK__HIDDEN asock_output_stream *asock__dgram_stream_for(asock_datagram *ds,
                                                           const asock_endpoint *dest);

#endif
