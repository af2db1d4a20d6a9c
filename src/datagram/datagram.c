/* asock_datagram: the Windows Runtime DatagramSocket on asock_socket + asock_resolve (seed 003).
 *
 * A datagram socket opens its descriptor lazily, in the family the first operation needs:
 *   - a wildcard bind or the first get_output_stream: a dual-mode IPv6 socket on "::" (IPv4 and
 *     IPv6 alike; IPv4 peers are shown unmapped), or IPv4 where IPv6 is unavailable;
 *   - a bind to one address, or a connect: the family of that address.
 * bind / connect / get_output_stream resolve their names with asock_resolve_async (services
 * database, then DNS SRV _svc._udp.host, RFC 2782: the resolve layer's job), then make their
 * system calls from the resolver's callback, on the loop.
 *
 * Receiving: when a message handler is set, the socket keeps one receive_message_from pending
 * on its own buffer (allocated once with the descriptor, reused for every datagram), and raises
 * message-received for each datagram, from the loop.  A connected socket also filters in user
 * space, because datagrams that were queued before connect(2) are not flushed by the kernel.
 *
 * Zero-copy hook: rx_arm() is the one place that chooses where a datagram lands.  The io_uring
 * provided-buffer mode (multishot recvmsg on a buffer ring) plugs in there: instead of
 * asock_receive_message_from_async into ds->rxbuf, it would point msg.data at the ring buffer the
 * kernel picked and give that buffer back after the handler returned (rx_deliver), so the data
 * and the addresses reach the handler without a copy.  Nothing else in this file depends on
 * where the bytes live. */
#include "datagram_int.h"

#include <arpa/inet.h>
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <unistd.h>

/* Datagrams delivered in one go before the loop gets to run other work. */
#define RX_BURST 32
/* Receive errors in a row (no datagram between them) after which receiving stops. */
#define RX_MAX_ERRORS 64

/* DSCP EF (46, RFC 3246) in the TOS / traffic class byte, for quality_of_service = low latency. */
#define DSCP_EF_TOS (46 << 2)

/* ======================================================================================
 * The loop-wide state
 * ====================================================================================== */

static void layer_shutdown(asock_loop *loop, void *data)
{
    ASOCK__UNUSED(loop);
    struct asock__dgram_layer *layer = data;
    while (!asock__q_empty(&layer->dgrams)) {
        asock_datagram *ds =
            asock__container_of(asock__q_head(&layer->dgrams), asock_datagram, lnode);
        asock_datagram_close(ds);
    }
}

static void layer_destroy(asock_loop *loop, void *data)
{
    struct asock__dgram_layer *layer = data;
    asock__async_layer_destroy(layer);
    asock__free(layer);
    memset(&loop->ext[ASOCK__SLOT_DATAGRAM], 0, sizeof(loop->ext[ASOCK__SLOT_DATAGRAM]));
}

struct asock__dgram_layer *asock__dgram_layer(asock_loop *loop)
{
    struct asock__loop_ext *x = &loop->ext[ASOCK__SLOT_DATAGRAM];
    if (x->data != NULL)
        return x->data;
    struct asock__dgram_layer *layer = asock__calloc(1, sizeof(*layer));
    if (layer == NULL)
        return NULL;
    layer->loop = loop;
    asock__q_init(&layer->dgrams);
    asock__q_init(&layer->asyncs);
    asock__q_init(&layer->cache);
    x->data = layer;
    x->shutdown = layer_shutdown;
    x->destroy = layer_destroy;
    return layer;
}

/* ======================================================================================
 * Addresses
 * ====================================================================================== */

void asock__ep_unmap(asock_endpoint *ep)
{
    if (ep->kind != ASOCK_ENDPOINT_IP || ep->ip.sa.sa_family != AF_INET6 ||
        !IN6_IS_ADDR_V4MAPPED(&ep->ip.in6.sin6_addr))
        return;
    struct sockaddr_in sin;
    memset(&sin, 0, sizeof(sin));
    sin.sin_family = AF_INET;
    sin.sin_port = ep->ip.in6.sin6_port;
    memcpy(&sin.sin_addr, &ep->ip.in6.sin6_addr.s6_addr[12], 4);
    asock_endpoint_from_sockaddr(ep, (const struct sockaddr *)&sin, sizeof(sin));
}

static bool ep_is_multicast(const asock_endpoint *ep)
{
    if (ep->kind != ASOCK_ENDPOINT_IP)
        return false;
    if (ep->ip.sa.sa_family == AF_INET)
        return IN_MULTICAST(ntohl(ep->ip.in4.sin_addr.s_addr));
    if (ep->ip.sa.sa_family == AF_INET6) {
        if (IN6_IS_ADDR_V4MAPPED(&ep->ip.in6.sin6_addr))
            return ep->ip.in6.sin6_addr.s6_addr[12] >= 224 &&
                   ep->ip.in6.sin6_addr.s6_addr[12] <= 239;
        return IN6_IS_ADDR_MULTICAST(&ep->ip.in6.sin6_addr);
    }
    return false;
}

static int ep_family(const asock_endpoint *ep)
{
    return ep->kind == ASOCK_ENDPOINT_IP ? ep->ip.sa.sa_family : AF_UNSPEC;
}

/* Numeric text of an endpoint: address (IPv4 unmapped, IPv6 with %scope) and port. */
static void ep_text(const asock_endpoint *in, char *addr, size_t alen, char *port, size_t plen)
{
    if (alen > 0)
        addr[0] = '\0';
    if (plen > 0)
        port[0] = '\0';
    if (in->kind != ASOCK_ENDPOINT_IP)
        return;
    asock_endpoint ep = *in;
    asock__ep_unmap(&ep);
    socklen_t len = 0;
    const struct sockaddr *sa = asock_endpoint_sockaddr(&ep, &len);
    if (sa == NULL || getnameinfo(sa, len, addr, (socklen_t)alen, port, (socklen_t)plen,
                                  NI_NUMERICHOST | NI_NUMERICSERV) != 0) {
        if (alen > 0)
            addr[0] = '\0';
        if (plen > 0)
            port[0] = '\0';
    }
}

/* ======================================================================================
 * Creating and freeing
 * ====================================================================================== */

static void rx_done(asock_socket *sender, asock_args *e);
static void rx_task_fn(struct asock__task *t);

int asock_datagram_new(asock_loop *loop, asock_datagram **out)
{
    if (out != NULL)
        *out = NULL;
    if (loop == NULL || out == NULL)
        return -EINVAL;
    if (loop->freeing)
        return -EBADF;
    struct asock__dgram_layer *layer = asock__dgram_layer(loop);
    if (layer == NULL)
        return -ENOMEM;
    asock_datagram *ds = asock__calloc(1, sizeof(*ds));
    if (ds == NULL)
        return -ENOMEM;
    ds->loop = loop;
    ds->layer = layer;
    ds->ctl.outbound_unicast_hop_limit = 128; /* WinRT's default (Linux uses 64) */
    ds->mcast_loop = -1;
    ds->mcast_ttl = -1;
    asock__q_init(&ds->ops);
    asock__q_init(&ds->cancel_waits);
    asock__q_init(&ds->streams);
    asock_args_init(&ds->rx);
    ds->rx.completed = rx_done;
    ds->rx.user_token = ds;
    asock__task_init(&ds->rx_task, rx_task_fn);
    ds->conn_stream.ds = ds;
    ds->conn_stream.connected = true;
    asock__q_init(&ds->conn_stream.node);
    asock__q_insert_tail(&layer->dgrams, &ds->lnode);
    *out = ds;
    return 0;
}

bool asock__dgram_maybe_free(asock_datagram *ds)
{
    if (!(ds->flags & ASOCK__DG_CLOSED) || ds->io_pending != 0 || ds->in_cb != 0)
        return false;
    while (!asock__q_empty(&ds->streams)) {
        struct asock__qnode *q = asock__q_head(&ds->streams);
        asock__q_remove(q);
        asock__free(asock__container_of(q, asock_output_stream, node));
    }
    asock__free(ds->rxbuf);
    asock__free(ds);
    return true;
}

asock_loop *asock_datagram_loop(const asock_datagram *ds)
{
    return ds != NULL ? ds->loop : NULL;
}

asock_socket *asock_datagram_socket(const asock_datagram *ds)
{
    return ds != NULL && !(ds->flags & ASOCK__DG_CLOSED) ? ds->sock : NULL;
}

/* An IPv6 socket that also carries IPv4 (IPV6_V6ONLY off; IPv4 peers appear ::ffff:-mapped). */
static bool is_dual(const asock_datagram *ds)
{
    if (ds->sock == NULL || asock_socket_family(ds->sock) != AF_INET6)
        return false;
    int v = 0;
    return asock_socket_get_option(ds->sock, ASOCK_OPT_DUAL_MODE, &v) == 0 && v != 0;
}

/* AF_INET / AF_INET6 of the open descriptor, AF_UNSPEC before one is open. */
static int sock_family(const asock_datagram *ds)
{
    return ds->sock != NULL ? asock_socket_family(ds->sock) : AF_UNSPEC;
}

/* The socket can send to / receive from family. */
static bool can_use(const asock_datagram *ds, int family)
{
    int sf = sock_family(ds);
    return family == sf || (family == AF_INET && sf == AF_INET6 && is_dual(ds));
}

/* An IPv4-level option that a dual-mode socket needs as well as its IPv6 twin. */
static int set_ip_level(asock_datagram *ds, int name, const void *v, socklen_t len)
{
    int fd = asock_socket_fd(ds->sock);
    if (setsockopt(fd, IPPROTO_IP, name, v, len) < 0)
        return -errno;
    return 0;
}

/* The apply_* helpers set one remembered setting on the open descriptor; a dual-mode socket
 * gets the IPv4 option too, because IPv4 traffic of an IPv6 socket follows the IPv4 settings. */
static int apply_hop_limit(asock_datagram *ds)
{
    int hop = ds->ctl.outbound_unicast_hop_limit;
    int rc = asock_socket_set_option(ds->sock, ASOCK_OPT_TTL, hop);
    if (rc == 0 && is_dual(ds))
        rc = set_ip_level(ds, IP_TTL, &hop, sizeof(hop));
    return rc;
}

static int apply_mcast_if(asock_datagram *ds)
{
    int rc = 0;
    bool v6 = sock_family(ds) == AF_INET6;
    if (!v6 || is_dual(ds)) {
        struct ip_mreqn m;
        memset(&m, 0, sizeof(m));
        m.imr_ifindex = (int)ds->mcast_ifindex;
        rc = set_ip_level(ds, IP_MULTICAST_IF, &m, sizeof(m));
    }
    if (rc == 0 && v6) {
        int idx = (int)ds->mcast_ifindex;
        if (setsockopt(asock_socket_fd(ds->sock), IPPROTO_IPV6, IPV6_MULTICAST_IF, &idx,
                       sizeof(idx)) < 0)
            rc = -errno;
    }
    return rc;
}

static int apply_mcast_loop(asock_datagram *ds)
{
    int v = ds->mcast_loop;
    int rc = asock_socket_set_option(ds->sock, ASOCK_OPT_MULTICAST_LOOPBACK, v);
    if (rc == 0 && is_dual(ds))
        rc = set_ip_level(ds, IP_MULTICAST_LOOP, &v, sizeof(v));
    return rc;
}

static int apply_mcast_ttl(asock_datagram *ds)
{
    int v = ds->mcast_ttl;
    int rc = asock_socket_set_option(ds->sock, ASOCK_OPT_MULTICAST_TTL, v);
    if (rc == 0 && is_dual(ds))
        rc = set_ip_level(ds, IP_MULTICAST_TTL, &v, sizeof(v));
    return rc;
}

/* The control values and the remembered multicast settings, on a new descriptor. */
static int apply_controls(asock_datagram *ds)
{
    asock_socket *s = ds->sock;
    bool dual = is_dual(ds);
    /* WinRT connects to and sends to broadcast addresses without asking (§1.3.6) */
    int rc = asock_socket_set_option(s, ASOCK_OPT_BROADCAST, 1);
    if (rc == 0) {
        /* Only groups this socket joined reach it (Linux's default, IP_MULTICAST_ALL = 1, also
         * delivers every group any socket of the host joined on the port).  Best effort: the
         * option is Linux 2.6.31 (IPv6: 4.20). */
        int off = 0;
        int fd = asock_socket_fd(s);
        if (sock_family(ds) == AF_INET || dual)
            setsockopt(fd, IPPROTO_IP, IP_MULTICAST_ALL, &off, sizeof(off));
        if (sock_family(ds) == AF_INET6)
            setsockopt(fd, IPPROTO_IPV6, IPV6_MULTICAST_ALL, &off, sizeof(off));
    }
    if (rc == 0 && ds->ctl.multicast_only)
        rc = asock_socket_set_option(s, ASOCK_OPT_REUSE_ADDRESS, 1);
    if (rc == 0 && ds->ctl.inbound_buffer_size > 0)
        rc = asock_socket_set_option(s, ASOCK_OPT_RECEIVE_BUFFER, ds->ctl.inbound_buffer_size);
    if (rc == 0)
        rc = apply_hop_limit(ds);
    if (rc == 0 && ds->ctl.dont_fragment) {
        rc = asock_socket_set_option(s, ASOCK_OPT_DONT_FRAGMENT, 1);
        if (rc == 0 && dual) {
            int v = IP_PMTUDISC_DO;
            rc = set_ip_level(ds, IP_MTU_DISCOVER, &v, sizeof(v));
        }
    }
    if (rc == 0 && ds->ctl.quality_of_service == 1) {
        int tos = DSCP_EF_TOS;
        rc = asock_socket_set_option(s, ASOCK_OPT_TYPE_OF_SERVICE, tos);
        if (rc == 0 && dual)
            rc = set_ip_level(ds, IP_TOS, &tos, sizeof(tos));
        int prio = 6; /* the highest priority an unprivileged process may set */
        if (rc == 0 &&
            setsockopt(asock_socket_fd(s), SOL_SOCKET, SO_PRIORITY, &prio, sizeof(prio)) < 0)
            rc = -errno;
    }
    if (rc == 0 && ds->mcast_ifindex != 0)
        rc = apply_mcast_if(ds);
    if (rc == 0 && ds->mcast_loop >= 0)
        rc = apply_mcast_loop(ds);
    if (rc == 0 && ds->mcast_ttl >= 0)
        rc = apply_mcast_ttl(ds);
    return rc;
}

/* Opens the descriptor: family AF_INET or AF_INET6 (dual: IPv6 also carrying IPv4).  0 or
 * -errno; on failure ds->sock stays NULL. */
static int open_socket(asock_datagram *ds, int family, bool dual)
{
    asock_socket *s = NULL;
    int rc = asock_socket_open(ds->loop, family, SOCK_DGRAM, 0, &s);
    if (rc < 0)
        return rc;
    if (dual) {
        rc = asock_socket_set_option(s, ASOCK_OPT_DUAL_MODE, 1);
        if (rc < 0)
            goto out_close;
    }
    if (ds->on_msg != NULL && ds->rxbuf == NULL) {
        ds->rxbuf = asock__malloc(ASOCK__DG_RXBUF);
        if (ds->rxbuf == NULL) {
            rc = -ENOMEM;
            goto out_close;
        }
    }
    ds->sock = s;
    rc = apply_controls(ds);
    if (rc < 0) {
        ds->sock = NULL;
        goto out_close;
    }
    /* the receive template: any sender of the socket's family */
    asock_endpoint_ip(&ds->rx.remote_endpoint, family == AF_INET6 ? "::" : "0.0.0.0", 0);
    ds->rx_any = ds->rx.remote_endpoint;
    return 0;

out_close:
    asock_socket_close(s);
    return rc;
}

/* Opens a wildcard socket: dual-mode IPv6 where possible, else IPv4. */
static int open_wildcard(asock_datagram *ds)
{
    int rc = open_socket(ds, AF_INET6, true);
    if (rc == -EAFNOSUPPORT || rc == -EPROTONOSUPPORT)
        rc = open_socket(ds, AF_INET, false);
    return rc;
}

/* Drops a descriptor an operation opened and could not use, so the next operation starts
 * afresh. */
static void drop_socket(asock_datagram *ds)
{
    if (ds->sock == NULL)
        return;
    asock_socket_close(ds->sock);
    ds->sock = NULL;
    ds->flags &= ~(ASOCK__DG_ADAPTER | ASOCK__DG_IFFILTER);
}

/* Bound by an operation, or implicitly by the first write of a destination stream. */
static bool sock_bound(const asock_datagram *ds)
{
    if (ds->sock == NULL)
        return false;
    if (ds->flags & (ASOCK__DG_BOUND | ASOCK__DG_CONNECTED))
        return true;
    asock_endpoint ep;
    return asock_socket_local_endpoint(ds->sock, &ep) == 0 && asock_endpoint_port(&ep) != 0;
}

/* ======================================================================================
 * Receiving
 * ====================================================================================== */

/* Starts receiving (from a loop task, so a datagram already queued is never delivered inside
 * the operation that opened the socket). */
static void rx_start(asock_datagram *ds)
{
    if (ds->on_msg == NULL || ds->sock == NULL || ds->rxbuf == NULL ||
        (ds->flags & (ASOCK__DG_RX_ARMED | ASOCK__DG_RX_TASK | ASOCK__DG_CLOSED)))
        return;
    ds->flags |= ASOCK__DG_RX_TASK;
    asock__loop_defer(ds->loop, &ds->rx_task);
}

static bool transient_rx_error(asock_datagram *ds)
{
    return ++ds->rx_errors < RX_MAX_ERRORS;
}

/* Raises message-received for the receive that just completed.  Returns true when receiving
 * goes on (ds is alive), false when it stops (ds may have been freed). */
static bool rx_deliver(asock_datagram *ds)
{
    asock_args *e = &ds->rx;
    asock_socket_error err = e->socket_error;
    if (err == ASOCK_ERR_OPERATION_ABORTED)
        return false; /* the socket is closing */
    asock_datagram_message m;
    memset(&m, 0, sizeof(m));
    m.remote_address = "";
    m.remote_port = "";
    m.local_address = "";
    if (err == ASOCK_SUCCESS) {
        ds->rx_errors = 0;
        asock_endpoint src = e->remote_endpoint;
        asock__ep_unmap(&src);
        if ((ds->flags & ASOCK__DG_CONNECTED) && !asock_endpoint_equal(&src, &ds->remote))
            return true; /* D5: not the connected peer (queued before the connect) */
        if ((ds->flags & ASOCK__DG_IFFILTER) && e->packet_info.interface_index != ds->adapter_index)
            return true; /* adapter binding without SO_BINDTODEVICE */
        asock_endpoint dst = e->packet_info.local_address;
        if (ds->ctl.multicast_only && !ep_is_multicast(&dst))
            return true; /* multicast_only: unicast arrivals are dropped */
        socklen_t len = 0;
        const struct sockaddr *sa = asock_endpoint_sockaddr(&src, &len);
        if (sa != NULL && (len != ds->last_src_len || memcmp(sa, &ds->last_src, len) != 0)) {
            ep_text(&src, ds->src_addr, sizeof(ds->src_addr), ds->src_port, sizeof(ds->src_port));
            memcpy(&ds->last_src, sa, len);
            ds->last_src_len = len;
        }
        sa = asock_endpoint_sockaddr(&dst, &len);
        if (sa == NULL) {
            ds->dst_addr[0] = '\0';
            ds->last_dst_len = 0;
        } else if (len != ds->last_dst_len || memcmp(sa, &ds->last_dst, len) != 0) {
            char port[8];
            ep_text(&dst, ds->dst_addr, sizeof(ds->dst_addr), port, sizeof(port));
            memcpy(&ds->last_dst, sa, len);
            ds->last_dst_len = len;
        }
        m.remote_address = ds->src_addr;
        m.remote_port = ds->src_port;
        m.local_address = ds->dst_addr;
        m.data = ds->rxbuf;
        m.length = e->bytes_transferred;
    } else if (err == ASOCK_ERR_CONNECTION_REFUSED) {
        /* A peer's ICMP port-unreachable on a UDP socket: Windows reports WSAECONNRESET, so
         * the status is ConnectionResetByPeer (errors.md §3). */
        err = ASOCK_ERR_CONNECTION_RESET;
    }
    m.error = err;
    ds->in_cb++;
    ds->on_msg(ds, &m, ds->msg_user);
    ds->in_cb--;
    if (ds->flags & ASOCK__DG_CLOSED) {
        asock__dgram_maybe_free(ds);
        return false;
    }
    if (err != ASOCK_SUCCESS && !transient_rx_error(ds))
        return false;
    return true;
}

/* Keeps one receive pending, delivering what completes at once (at most RX_BURST in a row, then
 * the rest from a task so other work gets its turn).  Runs from the loop only. */
static void rx_arm(asock_datagram *ds)
{
    for (int n = 0; n < RX_BURST; n++) {
        if ((ds->flags & (ASOCK__DG_CLOSED | ASOCK__DG_RX_ARMED)) || ds->sock == NULL ||
            ds->on_msg == NULL)
            return;
        /* zero-copy hook: see the file comment */
        ds->rx.remote_endpoint = ds->rx_any;
        ds->rx.socket_flags = 0;
        asock_args_set_buffer(&ds->rx, ds->rxbuf, 0, ASOCK__DG_RXBUF);
        int rc = asock_receive_message_from_async(ds->sock, &ds->rx);
        if (rc == 1) {
            ds->flags |= ASOCK__DG_RX_ARMED;
            ds->io_pending++;
            return;
        }
        if (rc < 0)
            return; /* refused: the socket is being closed */
        if (!rx_deliver(ds))
            return;
    }
    rx_start(ds);
}

static void rx_task_fn(struct asock__task *t)
{
    asock_datagram *ds = asock__container_of(t, asock_datagram, rx_task);
    ds->flags &= ~ASOCK__DG_RX_TASK;
    rx_arm(ds);
}

static void rx_done(asock_socket *sender, asock_args *e)
{
    ASOCK__UNUSED(sender);
    asock_datagram *ds = e->user_token;
    ds->flags &= ~ASOCK__DG_RX_ARMED;
    ds->io_pending--;
    if (ds->flags & ASOCK__DG_CLOSED) {
        asock__dgram_maybe_free(ds);
        return;
    }
    if (rx_deliver(ds))
        rx_arm(ds);
}

/* ======================================================================================
 * Operations: bind, connect, get_output_stream
 * ====================================================================================== */

static const char *const closed_detail = "the datagram socket is closed";

/* Fails op before it started anything: no callback below can reach it, so the job's reference
 * goes at once.  Returns op (the caller's reference). */
static asock_async *fail_now(asock_async *op, asock_socket_error err, int sys_errno,
                             const char *detail)
{
    asock__async_complete(op, ASOCK_ASYNC_ERROR, err, sys_errno, detail);
    asock__async_unref(op);
    return op;
}

/* Drops the job's reference once no resolver or args callback can reach op any more. */
static void job_release_if_idle(asock_async *op)
{
    struct asock__dgram_job *j = &op->u.job;
    for (int i = 0; i < 2; i++) {
        if (j->asked[i] && !j->done[i])
            return;
    }
    if (j->connecting)
        return;
    for (int i = 0; i < 2; i++) {
        asock__free(j->eps[i]);
        j->eps[i] = NULL;
        j->neps[i] = 0;
    }
    asock__async_unref(op);
}

/* The operation ends (success or failure) while running: ds is no longer busy. */
static void job_finish(asock_async *op, asock_async_status st, asock_socket_error err,
                       int sys_errno, const char *detail)
{
    asock_datagram *ds = op->ds;
    if (ds != NULL && ds->busy == op)
        ds->busy = NULL;
    asock__async_complete(op, st, err, sys_errno, detail);
}

static void job_fail_errno(asock_async *op, int rc, const char *detail)
{
    job_finish(op, ASOCK_ASYNC_ERROR, asock_socket_error_from_errno(rc), rc < 0 ? -rc : rc, detail);
}

static void job_resolved(asock_async *op);

static void store_result(asock_async *op, int side, const asock_resolve_result *res)
{
    struct asock__dgram_job *j = &op->u.job;
    j->req[side] = NULL;
    j->done[side] = true;
    j->err[side] = res->error;
    j->code[side] = res->resolver_code;
    j->detail[side] = res->detail;
    if (res->error == ASOCK_SUCCESS && asock__async_running(op)) {
        j->eps[side] = asock__calloc(res->count, sizeof(asock_endpoint));
        if (j->eps[side] == NULL) {
            j->err[side] = ASOCK_ERR_NO_BUFFER_SPACE_AVAILABLE;
            j->code[side] = ENOMEM;
            j->detail[side] = "out of memory";
        } else {
            for (size_t i = 0; i < res->count; i++) {
                j->eps[side][i] = res->entries[i].endpoint;
                asock__ep_unmap(&j->eps[side][i]);
            }
            j->neps[side] = res->count;
        }
    }
    if (!asock__async_running(op)) {
        job_release_if_idle(op); /* cancelled or aborted meanwhile: the answer is dropped */
        return;
    }
    for (int i = 0; i < 2; i++) {
        if (j->asked[i] && !j->done[i])
            return;
    }
    job_resolved(op);
    job_release_if_idle(op);
}

static void on_remote(asock_resolve *req, const asock_resolve_result *res, void *user)
{
    ASOCK__UNUSED(req);
    store_result(user, 0, res);
}

static void on_local(asock_resolve *req, const asock_resolve_result *res, void *user)
{
    ASOCK__UNUSED(req);
    store_result(user, 1, res);
}

/* Starts the resolutions of op.  remote_host NULL: no remote side; local_wanted: resolve
 * local_host (NULL: the wildcard) + local_service.  Returns op. */
static asock_async *job_start(asock_async *op, const char *remote_host, const char *remote_service,
                              bool local_wanted, const char *local_host, const char *local_service)
{
    asock_datagram *ds = op->ds;
    struct asock__dgram_job *j = &op->u.job;
    memset(j, 0, sizeof(*j));
    asock_resolve_hints h;
    memset(&h, 0, sizeof(h));
    /* every family: the operation picks the first address the socket can use, so an address of
     * the wrong family is AddressFamilyNotSupported rather than the resolver's NoData */
    h.family = AF_UNSPEC;
    h.socktype = SOCK_DGRAM;
    uint32_t was_started = ds->flags & ASOCK__DG_STARTED;
    ds->flags |= ASOCK__DG_STARTED; /* D6: the handler is fixed from now on */
    ds->busy = op;
    asock__q_insert_tail(&ds->ops, &op->dnode);
    int rc = 0;
    if (remote_host != NULL) {
        j->asked[0] = true;
        rc = asock_resolve_async(ds->loop, remote_host, remote_service, &h, on_remote, op,
                                 &j->req[0]);
        if (rc < 0) {
            j->done[0] = true;
            j->req[0] = NULL;
        }
    }
    if (rc == 0 && local_wanted) {
        asock_resolve_hints lh = h;
        lh.flags = ASOCK_RESOLVE_PASSIVE | ASOCK_RESOLVE_NO_SRV;
        j->asked[1] = true;
        /* No local host: only the port is wanted; the wildcard address is built for the family
         * the socket gets.  "::" (a literal: no DNS traffic) rather than NULL, because the
         * resolver ignores an unknown service name when the host is NULL (see report). */
        j->wildcard = local_host == NULL;
        rc = asock_resolve_async(ds->loop, local_host != NULL ? local_host : "::", local_service,
                                 &lh, on_local, op, &j->req[1]);
        if (rc < 0) {
            j->done[1] = true;
            j->req[1] = NULL;
        }
    }
    if (rc < 0) {
        /* refused by the resolver (a malformed name or service): nothing started */
        if (j->req[0] == NULL)
            ds->flags = (ds->flags & ~ASOCK__DG_STARTED) | was_started;
        else
            asock_resolve_cancel(j->req[0]);
        if (rc == -ENOMEM)
            job_finish(op, ASOCK_ASYNC_ERROR, ASOCK_ERR_NO_BUFFER_SPACE_AVAILABLE, ENOMEM,
                       "out of memory");
        else
            job_finish(op, ASOCK_ASYNC_ERROR, ASOCK_ERR_INVALID_ARGUMENT, -rc,
                       "not a valid host name, address or service name");
        job_release_if_idle(op);
    }
    return op;
}

/* The wildcard address of family with ep's port (a local half without a host). */
static void wildcard_of(asock_endpoint *out, int family, const asock_endpoint *ep)
{
    asock_endpoint_ip(out, family == AF_INET6 ? "::" : "0.0.0.0", asock_endpoint_port(ep));
}

static int bind_adapter(asock_datagram *ds, unsigned ifindex, const char *ifname)
{
    int fd = asock_socket_fd(ds->sock);
    /* ASOCK_DATAGRAM_FORCE_UNICAST_IF=1 takes the fallback path, so tests cover it on machines
     * where SO_BINDTODEVICE is permitted (as root, or unprivileged since Linux 5.7). */
    const char *force = getenv("ASOCK_DATAGRAM_FORCE_UNICAST_IF");
    if (force == NULL || strcmp(force, "1") != 0) {
        if (setsockopt(fd, SOL_SOCKET, SO_BINDTODEVICE, ifname, (socklen_t)strlen(ifname)) == 0)
            return 0;
        if (errno != EPERM && errno != EACCES)
            return -errno;
    }
    /* Not permitted: steer sending with IP_UNICAST_IF / IPV6_UNICAST_IF and filter arrivals on
     * the interface IP_PKTINFO names (EVerest/EVerest#2207). */
    bool v6 = sock_family(ds) == AF_INET6;
    if (!v6 || is_dual(ds)) {
        uint32_t idx = htonl(ifindex); /* IP_UNICAST_IF takes the index in network order */
        if (setsockopt(fd, IPPROTO_IP, IP_UNICAST_IF, &idx, sizeof(idx)) < 0)
            return -errno;
    }
    if (v6) {
        uint32_t idx6 = htonl(ifindex); /* so does IPV6_UNICAST_IF */
        if (setsockopt(fd, IPPROTO_IPV6, IPV6_UNICAST_IF, &idx6, sizeof(idx6)) < 0)
            return -errno;
    }
    ds->flags |= ASOCK__DG_IFFILTER;
    return 0;
}

/* The local half is resolved: open the descriptor if needed (wildcard: dual-mode), bind it to
 * the adapter first (so the bind's port is taken on that interface), then bind(2). */
static void do_bind(asock_async *op)
{
    asock_datagram *ds = op->ds;
    struct asock__dgram_job *j = &op->u.job;
    bool created = false;
    const asock_endpoint *local = NULL;
    asock_endpoint any;
    if (ds->sock == NULL) {
        int rc = 0;
        if (j->wildcard) {
            rc = open_wildcard(ds);
        } else {
            int fam = ep_family(&j->eps[1][0]);
            rc = open_socket(ds, fam, false);
        }
        if (rc < 0) {
            job_fail_errno(op, rc, "cannot open the socket");
            return;
        }
        created = true;
    }
    if (j->wildcard) {
        wildcard_of(&any, sock_family(ds), &j->eps[1][0]);
        local = &any;
    }
    for (size_t i = 0; i < j->neps[1] && local == NULL; i++) {
        if (can_use(ds, ep_family(&j->eps[1][i])))
            local = &j->eps[1][i];
    }
    if (local == NULL) {
        if (created)
            drop_socket(ds);
        job_finish(op, ASOCK_ASYNC_ERROR, ASOCK_ERR_ADDRESS_FAMILY_NOT_SUPPORTED, EAFNOSUPPORT,
                   "no local address of the socket's family");
        return;
    }
    if (j->ifindex != 0) {
        int rc = bind_adapter(ds, j->ifindex, j->ifname);
        if (rc < 0) {
            if (created)
                drop_socket(ds);
            job_fail_errno(op, rc, "cannot bind to the network adapter");
            return;
        }
        ds->adapter_index = j->ifindex;
        ds->flags |= ASOCK__DG_ADAPTER;
    }
    int rc = asock_socket_bind(ds->sock, local);
    if (rc < 0) {
        if (created)
            drop_socket(ds);
        else
            ds->flags &= ~(ASOCK__DG_ADAPTER | ASOCK__DG_IFFILTER);
        job_fail_errno(op, rc,
                       rc == -EADDRINUSE      ? "bind: the address and port are in use"
                       : rc == -EADDRNOTAVAIL ? "bind: the address is not a local address"
                                              : "bind failed");
        return;
    }
    ds->flags |= ASOCK__DG_BOUND;
    rx_start(ds);
    job_finish(op, ASOCK_ASYNC_COMPLETED, ASOCK_SUCCESS, 0, NULL);
}

/* The connect's result: remember the peer (unmapped, for the D5 filter and information), give
 * the socket its connected stream and start receiving. */
static void connected(asock_async *op)
{
    asock_datagram *ds = op->ds;
    struct asock__dgram_job *j = &op->u.job;
    if (j->e.socket_error != ASOCK_SUCCESS) {
        if (j->created)
            drop_socket(ds);
        job_finish(op, ASOCK_ASYNC_ERROR, j->e.socket_error, j->e.sys_errno, "connect failed");
        return;
    }
    ds->remote = j->e.remote_endpoint;
    asock__ep_unmap(&ds->remote);
    ds->conn_stream.dest = ds->remote;
    ds->flags |= ASOCK__DG_CONNECTED;
    rx_start(ds);
    job_finish(op, ASOCK_ASYNC_COMPLETED, ASOCK_SUCCESS, 0, NULL);
}

static void on_connect_done(asock_socket *sender, asock_args *e)
{
    ASOCK__UNUSED(sender);
    asock_async *op = e->user_token;
    op->u.job.connecting = false;
    if (asock__async_running(op))
        connected(op);
    job_release_if_idle(op);
}

/* Both halves are resolved: pick the first unicast remote address the socket (or the local
 * half) can use, open and bind if needed, then connect(2) through the socket layer. */
static void do_connect(asock_async *op)
{
    asock_datagram *ds = op->ds;
    struct asock__dgram_job *j = &op->u.job;
    const asock_endpoint *remote = NULL, *local = NULL;
    asock_endpoint any;
    bool saw_multicast = false;
    for (size_t r = 0; r < j->neps[0] && remote == NULL; r++) {
        const asock_endpoint *cand = &j->eps[0][r];
        if (ep_is_multicast(cand)) {
            saw_multicast = true; /* D9 */
            continue;
        }
        int fam = ep_family(cand);
        if (ds->sock != NULL && !can_use(ds, fam))
            continue;
        if (j->asked[1] && j->wildcard) {
            /* only a local port: the wildcard of the family the socket will have */
            wildcard_of(&any, ds->sock != NULL ? sock_family(ds) : fam, &j->eps[1][0]);
            local = &any;
        } else if (j->asked[1]) {
            for (size_t l = 0; l < j->neps[1]; l++) {
                if (ep_family(&j->eps[1][l]) == fam) {
                    local = &j->eps[1][l];
                    break;
                }
            }
            if (local == NULL)
                continue;
        }
        remote = cand;
    }
    if (remote == NULL) {
        if (saw_multicast)
            job_finish(op, ASOCK_ASYNC_ERROR, ASOCK_ERR_HOST_NOT_FOUND, 0,
                       "the remote address is multicast: use join_multicast_group");
        else
            job_finish(op, ASOCK_ASYNC_ERROR, ASOCK_ERR_ADDRESS_FAMILY_NOT_SUPPORTED, EAFNOSUPPORT,
                       "no remote address matches the socket's or local family");
        return;
    }
    if (ds->ctl.multicast_only) {
        job_finish(op, ASOCK_ASYNC_ERROR, ASOCK_ERR_OPERATION_NOT_SUPPORTED, EOPNOTSUPP,
                   "multicast_only: a socket for multicast cannot connect to a unicast peer");
        return;
    }
    j->created = false;
    if (ds->sock == NULL) {
        int rc = open_socket(ds, ep_family(remote), false);
        if (rc < 0) {
            job_fail_errno(op, rc, "cannot open the socket");
            return;
        }
        j->created = true;
    }
    if (local != NULL) {
        int rc = asock_socket_bind(ds->sock, local);
        if (rc < 0) {
            if (j->created)
                drop_socket(ds);
            job_fail_errno(op, rc,
                           rc == -EADDRINUSE      ? "bind: the local address and port are in use"
                           : rc == -EADDRNOTAVAIL ? "bind: the local address is not local"
                                                  : "bind failed");
            return;
        }
        ds->flags |= ASOCK__DG_BOUND;
    }
    asock_args_init(&j->e);
    j->e.completed = on_connect_done;
    j->e.user_token = op;
    j->e.remote_endpoint = *remote;
    int rc = asock_connect_async(ds->sock, &j->e);
    if (rc == 1) {
        j->connecting = true; /* a datagram connect is synchronous on Linux; kept general */
        return;
    }
    if (rc < 0) {
        if (j->created)
            drop_socket(ds);
        job_fail_errno(op, rc, "connect refused by the socket layer");
        return;
    }
    connected(op);
}

/* The destination is resolved: any unicast, broadcast or multicast address of a usable family;
 * streams are kept per destination so asking twice does not grow memory. */
static void do_stream(asock_async *op)
{
    asock_datagram *ds = op->ds;
    struct asock__dgram_job *j = &op->u.job;
    bool created = false;
    if (ds->sock == NULL) {
        int rc = open_wildcard(ds);
        if (rc < 0) {
            job_fail_errno(op, rc, "cannot open the socket");
            return;
        }
        created = true;
    }
    const asock_endpoint *dest = NULL;
    for (size_t i = 0; i < j->neps[0] && dest == NULL; i++) {
        if (can_use(ds, ep_family(&j->eps[0][i])))
            dest = &j->eps[0][i];
    }
    if (dest == NULL) {
        if (created)
            drop_socket(ds);
        job_finish(op, ASOCK_ASYNC_ERROR, ASOCK_ERR_ADDRESS_FAMILY_NOT_SUPPORTED, EAFNOSUPPORT,
                   "no destination address of a family the socket can use");
        return;
    }
    if (ds->ctl.multicast_only && !ep_is_multicast(dest)) {
        if (created)
            drop_socket(ds);
        job_finish(op, ASOCK_ASYNC_ERROR, ASOCK_ERR_OPERATION_NOT_SUPPORTED, EOPNOTSUPP,
                   "multicast_only: unicast destinations are refused");
        return;
    }
    asock_output_stream *os = asock__dgram_stream_for(ds, dest);
    if (os == NULL) {
        if (created)
            drop_socket(ds);
        job_finish(op, ASOCK_ASYNC_ERROR, ASOCK_ERR_NO_BUFFER_SPACE_AVAILABLE, ENOMEM,
                   "out of memory");
        return;
    }
    rx_start(ds);
    op->result = os;
    job_finish(op, ASOCK_ASYNC_COMPLETED, ASOCK_SUCCESS, 0, NULL);
}

/* Every resolution answered: a resolver error is the operation's error (HOST_NOT_FOUND, NO_DATA,
 * TRY_AGAIN, ...); otherwise the operation makes its system calls now. */
static void job_resolved(asock_async *op)
{
    struct asock__dgram_job *j = &op->u.job;
    for (int i = 0; i < 2; i++) {
        if (j->asked[i] && j->err[i] != ASOCK_SUCCESS) {
            job_finish(op, ASOCK_ASYNC_ERROR, j->err[i], j->code[i], j->detail[i]);
            return;
        }
    }
    switch ((enum asock__async_kind)op->kind) {
    case ASOCK__ASYNC_BIND:
        do_bind(op);
        break;
    case ASOCK__ASYNC_CONNECT:
        do_connect(op);
        break;
    case ASOCK__ASYNC_STREAM:
        do_stream(op);
        break;
    default:
        break;
    }
}

void asock__dgram_abort_op(asock_async *op, asock_async_status status, asock_socket_error err,
                           const char *detail)
{
    if (!asock__async_running(op))
        return;
    switch ((enum asock__async_kind)op->kind) {
    case ASOCK__ASYNC_WRITE:
        asock__write_abort(op, status);
        return;
    case ASOCK__ASYNC_CANCEL_IO:
        asock__async_complete(op, status, err, 0, detail);
        asock__async_unref(op);
        return;
    default:
        break;
    }
    struct asock__dgram_job *j = &op->u.job;
    for (int i = 0; i < 2; i++) {
        if (j->req[i] != NULL)
            asock_resolve_cancel(j->req[i]); /* its callback comes later and is dropped */
    }
    if (j->connecting)
        asock_cancel_connect_async(&j->e);
    job_finish(op, status, err, ECANCELED, detail);
    job_release_if_idle(op);
}

/* The common refusals of bind / connect / get_output_stream, as failed operations.  NULL when
 * the operation may go on. */
static asock_async *check_common(asock_async *op, asock_datagram *ds)
{
    if (ds->flags & ASOCK__DG_CLOSED)
        return fail_now(op, ASOCK_ERR_OPERATION_ABORTED, EBADF, closed_detail);
    if (ds->busy != NULL)
        return fail_now(op, ASOCK_ERR_ALREADY_IN_PROGRESS, EALREADY,
                        "a bind, connect or get_output_stream is in progress");
    return NULL;
}

static bool empty(const char *s)
{
    return s == NULL || s[0] == '\0';
}

/* Refusals come first, in the reference's order (winrt-datagramsocket.md §1.7): closed, busy,
 * the required remote half (D1), state, the adapter rule (D8), a multicast literal (D9).  Each
 * is an operation already in ERROR, so the caller always gets a handle and an error code. */
asock_async *asock_datagram_connect_async(asock_datagram *ds, const asock_endpoint_pair *pair)
{
    if (ds == NULL)
        return NULL;
    asock_async *op = asock__async_new(ds->layer, ds, ASOCK__ASYNC_CONNECT);
    if (op == NULL)
        return NULL;
    if (check_common(op, ds) != NULL)
        return op;
    /* D1: the remote half is required (WinRT: E_INVALIDARG, status Unknown) */
    if (pair == NULL || empty(pair->remote_host_name) || empty(pair->remote_service_name))
        return fail_now(op, ASOCK_ERR_INVALID_ARGUMENT, EINVAL,
                        "the remote host name and remote service name are required");
    if (pair->local_host_name != NULL && pair->local_host_name[0] == '\0')
        return fail_now(op, ASOCK_ERR_INVALID_ARGUMENT, EINVAL,
                        "the local host name must be NULL (system picks) or a name");
    if (ds->flags & ASOCK__DG_CONNECTED)
        return fail_now(op, ASOCK_ERR_IS_CONNECTED, EISCONN, "already connected");
    bool local_host = pair->local_host_name != NULL;
    bool local_service = !empty(pair->local_service_name);
    if ((ds->flags & ASOCK__DG_ADAPTER) && local_host)
        return fail_now(op, ASOCK_ERR_INVALID_ARGUMENT, EINVAL,
                        "bound to a network adapter: the endpoint pair must not name a local "
                        "host");
    if ((local_host || local_service) && sock_bound(ds))
        return fail_now(op, ASOCK_ERR_INVALID_ARGUMENT, EINVAL,
                        "already bound: the endpoint pair must not name a local half");
    /* D9: a multicast literal fails before any resolution or system call */
    asock_endpoint lit;
    if (asock_endpoint_ip(&lit, pair->remote_host_name, 0) == 0 && ep_is_multicast(&lit))
        return fail_now(op, ASOCK_ERR_HOST_NOT_FOUND, 0,
                        "the remote address is multicast: use join_multicast_group");
    return job_start(op, pair->remote_host_name, pair->remote_service_name,
                     local_host || local_service, pair->local_host_name,
                     local_service ? pair->local_service_name : NULL);
}

asock_async *asock_datagram_connect_host_async(asock_datagram *ds, const char *remote_host,
                                               const char *remote_service)
{
    asock_endpoint_pair pair = {NULL, NULL, remote_host, remote_service};
    return asock_datagram_connect_async(ds, &pair);
}

/* bind_endpoint and bind_service_name: the same job, the adapter is checked at the call (an
 * unknown interface is an argument error, not a network condition). */
static asock_async *bind_common(asock_datagram *ds, const char *local_host,
                                const char *local_service, const char *adapter)
{
    if (ds == NULL)
        return NULL;
    asock_async *op = asock__async_new(ds->layer, ds, ASOCK__ASYNC_BIND);
    if (op == NULL)
        return NULL;
    if (check_common(op, ds) != NULL)
        return op;
    if (local_host != NULL && local_host[0] == '\0')
        return fail_now(op, ASOCK_ERR_INVALID_ARGUMENT, EINVAL,
                        "the local host must be NULL (every address) or a name");
    unsigned ifindex = 0;
    if (adapter != NULL) {
        if (adapter[0] == '\0' || strlen(adapter) >= IF_NAMESIZE)
            return fail_now(op, ASOCK_ERR_INVALID_ARGUMENT, EINVAL, "not an adapter name");
        ifindex = if_nametoindex(adapter);
        if (ifindex == 0)
            return fail_now(op, ASOCK_ERR_INVALID_ARGUMENT, ENODEV, "no such network adapter");
    }
    if (ds->flags & ASOCK__DG_CONNECTED)
        return fail_now(op, ASOCK_ERR_INVALID_ARGUMENT, EINVAL, "already connected");
    if (sock_bound(ds))
        return fail_now(op, ASOCK_ERR_INVALID_ARGUMENT, EINVAL, "already bound");
    job_start(op, NULL, NULL, true, local_host, empty(local_service) ? NULL : local_service);
    if (asock__async_running(op)) {
        op->u.job.ifindex = ifindex;
        if (adapter != NULL)
            snprintf(op->u.job.ifname, sizeof(op->u.job.ifname), "%s", adapter);
    }
    return op;
}

asock_async *asock_datagram_bind_endpoint_async(asock_datagram *ds, const char *local_host,
                                                const char *local_service)
{
    return bind_common(ds, local_host, local_service, NULL);
}

asock_async *asock_datagram_bind_service_name_async(asock_datagram *ds, const char *local_service,
                                                    const char *adapter)
{
    return bind_common(ds, NULL, local_service, adapter);
}

asock_async *asock_datagram_get_output_stream_async(asock_datagram *ds, const char *remote_host,
                                                    const char *remote_service)
{
    if (ds == NULL)
        return NULL;
    asock_async *op = asock__async_new(ds->layer, ds, ASOCK__ASYNC_STREAM);
    if (op == NULL)
        return NULL;
    if (check_common(op, ds) != NULL)
        return op;
    if (empty(remote_host) || empty(remote_service))
        return fail_now(op, ASOCK_ERR_INVALID_ARGUMENT, EINVAL,
                        "the remote host name and remote service name are required");
    return job_start(op, remote_host, remote_service, false, NULL, NULL);
}

/* ======================================================================================
 * cancel_io, close
 * ====================================================================================== */

void asock__dgram_write_ended(asock_datagram *ds)
{
    if (ds->writes_pending != 0)
        return;
    while (!asock__q_empty(&ds->cancel_waits)) {
        asock_async *w = asock__container_of(asock__q_head(&ds->cancel_waits), asock_async, dnode);
        asock__async_complete(w, ASOCK_ASYNC_COMPLETED, ASOCK_SUCCESS, 0, NULL);
        asock__async_unref(w);
    }
}

/* Aborts every running operation of ds (not cancel_io ones). */
static void abort_all(asock_datagram *ds, const char *detail, bool writes)
{
    struct asock__qnode *q = asock__q_head(&ds->ops);
    while (q != &ds->ops) {
        asock_async *op = asock__container_of(q, asock_async, dnode);
        if (op->kind == ASOCK__ASYNC_WRITE && !writes) {
            q = q->next;
            continue;
        }
        /* aborting removes op from the list; a write stays on it until its engine op ends */
        struct asock__qnode *next = q->next;
        asock__dgram_abort_op(op, ASOCK_ASYNC_ERROR, ASOCK_ERR_OPERATION_ABORTED, detail);
        q = next;
    }
}

asock_async *asock_datagram_cancel_io_async(asock_datagram *ds)
{
    if (ds == NULL)
        return NULL;
    asock_async *op = asock__async_new(ds->layer, ds, ASOCK__ASYNC_CANCEL_IO);
    if (op == NULL)
        return NULL;
    if (ds->flags & ASOCK__DG_CLOSED)
        return fail_now(op, ASOCK_ERR_OPERATION_ABORTED, EBADF, closed_detail);
    abort_all(ds, "cancelled by cancel_io", true);
    asock__q_insert_tail(&ds->cancel_waits, &op->dnode);
    asock__dgram_write_ended(ds); /* completes op at once when no write is in the engine */
    return op;
}

void asock_datagram_close(asock_datagram *ds)
{
    if (ds == NULL || (ds->flags & ASOCK__DG_CLOSED))
        return;
    ds->flags |= ASOCK__DG_CLOSED;
    ds->on_msg = NULL; /* no message-received after the close */
    if (ds->flags & ASOCK__DG_RX_TASK) {
        asock__loop_undefer(ds->loop, &ds->rx_task);
        ds->flags &= ~ASOCK__DG_RX_TASK;
    }
    asock__q_remove(&ds->lnode);
    /* binds, connects and get_output_streams end now; writes in the engine end when the
     * socket's close aborts them (their handlers see OPERATION_ABORTED too) */
    abort_all(ds, closed_detail, false);
    if (ds->sock != NULL) {
        asock_socket_close(ds->sock);
        ds->sock = NULL;
    }
    asock__dgram_write_ended(ds);
    asock__dgram_maybe_free(ds);
}

/* ======================================================================================
 * Handler, information, control
 * ====================================================================================== */

int asock_datagram_on_message_received(asock_datagram *ds, asock_message_received_fn *fn,
                                       void *user)
{
    if (ds == NULL)
        return -EINVAL;
    if (ds->flags & ASOCK__DG_CLOSED)
        return -EBADF;
    if (ds->flags & ASOCK__DG_STARTED)
        return -EALREADY; /* D6 */
    ds->on_msg = fn;
    ds->msg_user = user;
    return 0;
}

int asock_datagram_get_information(const asock_datagram *ds, asock_datagram_information *out)
{
    if (ds == NULL || out == NULL)
        return -EINVAL;
    memset(out, 0, sizeof(*out));
    if (ds->flags & ASOCK__DG_CLOSED)
        return -EBADF;
    asock_endpoint ep;
    if (ds->sock != NULL && asock_socket_local_endpoint(ds->sock, &ep) == 0)
        ep_text(&ep, out->local_address, sizeof(out->local_address), out->local_port,
                sizeof(out->local_port));
    if (ds->flags & ASOCK__DG_CONNECTED)
        ep_text(&ds->remote, out->remote_address, sizeof(out->remote_address), out->remote_port,
                sizeof(out->remote_port));
    return 0;
}

int asock_datagram_get_control(const asock_datagram *ds, asock_datagram_control *out)
{
    if (ds == NULL || out == NULL)
        return -EINVAL;
    if (ds->flags & ASOCK__DG_CLOSED)
        return -EBADF;
    *out = ds->ctl;
    return 0;
}

int asock_datagram_set_control(asock_datagram *ds, const asock_datagram_control *c)
{
    if (ds == NULL || c == NULL)
        return -EINVAL;
    if (ds->flags & ASOCK__DG_CLOSED)
        return -EBADF;
    if (c->inbound_buffer_size < 0 || c->outbound_unicast_hop_limit < 1 ||
        c->outbound_unicast_hop_limit > 255 || (c->dont_fragment != 0 && c->dont_fragment != 1) ||
        (c->quality_of_service != 0 && c->quality_of_service != 1) ||
        (c->multicast_only != 0 && c->multicast_only != 1))
        return -EINVAL;
    if (ds->flags & ASOCK__DG_STARTED) {
        /* only the hop limit may change once the socket was bound or connected (WinRT) */
        if (c->inbound_buffer_size != ds->ctl.inbound_buffer_size ||
            c->dont_fragment != ds->ctl.dont_fragment ||
            c->quality_of_service != ds->ctl.quality_of_service ||
            c->multicast_only != ds->ctl.multicast_only)
            return -EALREADY;
    }
    int old = ds->ctl.outbound_unicast_hop_limit;
    ds->ctl = *c;
    if (ds->sock != NULL && c->outbound_unicast_hop_limit != old) {
        int rc = apply_hop_limit(ds);
        if (rc < 0) {
            ds->ctl.outbound_unicast_hop_limit = old;
            return rc;
        }
    }
    return 0;
}

/* ======================================================================================
 * Multicast
 * ====================================================================================== */

/* Join or leave (source-specific when source is set) with the RFC 3678 group_req API, which
 * names the interface by index for both families. */
static int mcast_membership(asock_datagram *ds, const char *group, const char *source, bool join)
{
    if (ds == NULL || group == NULL)
        return -EINVAL;
    if (ds->flags & ASOCK__DG_CLOSED)
        return -EBADF;
    asock_endpoint g, s;
    if (asock_endpoint_ip(&g, group, 0) != 0 || !ep_is_multicast(&g))
        return -EINVAL;
    if (source != NULL) {
        if (asock_endpoint_ip(&s, source, 0) != 0 || ep_is_multicast(&s) ||
            ep_family(&s) != ep_family(&g))
            return -EINVAL;
    }
    if (!sock_bound(ds))
        return -ENOTCONN;
    int gf = ep_family(&g);
    if (!can_use(ds, gf))
        return -EAFNOSUPPORT;
    int level = gf == AF_INET ? IPPROTO_IP : IPPROTO_IPV6;
    unsigned ifindex = ds->adapter_index != 0 ? ds->adapter_index : ds->mcast_ifindex;
    socklen_t glen = 0;
    const struct sockaddr *gsa = asock_endpoint_sockaddr(&g, &glen);
    int fd = asock_socket_fd(ds->sock);
    int rc;
    if (source == NULL) {
        struct group_req gr;
        memset(&gr, 0, sizeof(gr));
        gr.gr_interface = ifindex;
        memcpy(&gr.gr_group, gsa, glen);
        rc = setsockopt(fd, level, join ? MCAST_JOIN_GROUP : MCAST_LEAVE_GROUP, &gr, sizeof(gr));
    } else {
        struct group_source_req gsr;
        memset(&gsr, 0, sizeof(gsr));
        gsr.gsr_interface = ifindex;
        memcpy(&gsr.gsr_group, gsa, glen);
        socklen_t slen = 0;
        const struct sockaddr *ssa = asock_endpoint_sockaddr(&s, &slen);
        memcpy(&gsr.gsr_source, ssa, slen);
        rc = setsockopt(fd, level, join ? MCAST_JOIN_SOURCE_GROUP : MCAST_LEAVE_SOURCE_GROUP, &gsr,
                        sizeof(gsr));
    }
    return rc < 0 ? -errno : 0;
}

int asock_datagram_join_multicast_group(asock_datagram *ds, const char *group_address)
{
    return mcast_membership(ds, group_address, NULL, true);
}

int asock_datagram_leave_multicast_group(asock_datagram *ds, const char *group_address)
{
    return mcast_membership(ds, group_address, NULL, false);
}

int asock_datagram_join_multicast_source(asock_datagram *ds, const char *group_address,
                                         const char *source_address)
{
    if (source_address == NULL)
        return -EINVAL;
    return mcast_membership(ds, group_address, source_address, true);
}

int asock_datagram_leave_multicast_source(asock_datagram *ds, const char *group_address,
                                          const char *source_address)
{
    if (source_address == NULL)
        return -EINVAL;
    return mcast_membership(ds, group_address, source_address, false);
}

int asock_datagram_set_multicast_interface(asock_datagram *ds, const char *interface)
{
    if (ds == NULL)
        return -EINVAL;
    if (ds->flags & ASOCK__DG_CLOSED)
        return -EBADF;
    unsigned idx = 0;
    if (interface != NULL) {
        if (interface[0] == '\0' || strlen(interface) >= IF_NAMESIZE)
            return -EINVAL;
        idx = if_nametoindex(interface);
        if (idx == 0)
            return -ENODEV;
    }
    unsigned old = ds->mcast_ifindex;
    ds->mcast_ifindex = idx;
    if (ds->sock == NULL)
        return 0;
    int rc = apply_mcast_if(ds);
    if (rc < 0)
        ds->mcast_ifindex = old;
    return rc;
}

int asock_datagram_set_multicast_loopback(asock_datagram *ds, int loopback)
{
    if (ds == NULL || (loopback != 0 && loopback != 1))
        return -EINVAL;
    if (ds->flags & ASOCK__DG_CLOSED)
        return -EBADF;
    int old = ds->mcast_loop;
    ds->mcast_loop = loopback;
    if (ds->sock == NULL)
        return 0;
    int rc = apply_mcast_loop(ds);
    if (rc < 0)
        ds->mcast_loop = old;
    return rc;
}

int asock_datagram_set_multicast_ttl(asock_datagram *ds, int ttl)
{
    if (ds == NULL || ttl < 0 || ttl > 255)
        return -EINVAL;
    if (ds->flags & ASOCK__DG_CLOSED)
        return -EBADF;
    int old = ds->mcast_ttl;
    ds->mcast_ttl = ttl;
    if (ds->sock == NULL)
        return 0;
    int rc = apply_mcast_ttl(ds);
    if (rc < 0)
        ds->mcast_ttl = old;
    return rc;
}
