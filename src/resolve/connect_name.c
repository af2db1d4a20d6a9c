/* Connect by name (SPEC S12): resolve, then Happy Eyeballs v2 (RFC 8305) over the addresses,
 * built on the public socket API.  Each attempt is its own socket (Linux cannot reconnect a
 * socket after a failed connect, and attempts overlap), opened with asock_socket_open, given the
 * options the user set on the user's socket, connected with its own internal asock_args.  The
 * first to connect wins: its descriptor moves into the user's socket (asock__socket_adopt), or
 * it becomes e->connect_socket for the static connect; the others are cancelled and closed.
 *
 * A service name that is neither a number nor in the services database (asock_connect_service_
 * async) is resolved by asock_resolve_async (SRV, RFC 2782 order); the attempts then follow that
 * order, so a target that refuses falls through to the next one.
 *
 * connect_timeout_ms covers resolution and attempts; asock_cancel_connect_async and closing the
 * user's socket reach whichever phase runs.  The result is .NET's (dotnet-sockets.md §2.4): the
 * last error, also in connect_by_name_error; NO_DATA when no address was usable. */
#include "resolve_int.h"
#include "../socket/socket.h"

#include <sys/socket.h>

#define RESOLUTION_DELAY_MS  50u   /* RFC 8305 §3 */
#define ATTEMPT_DELAY_MS     250u  /* RFC 8305 §5 */
#define ATTEMPT_DELAY_MIN_MS 10u   /* RFC 8305 §5: MUST NOT be below 10 ms */
#define ATTEMPT_DELAY_MAX_MS 2000u /* RFC 8305 §5: recommended upper bound */

struct nc;

struct attempt {
    struct asock__qnode node;
    struct nc *nc;
    asock_socket *sock; /* NULL once adopted, handed over or closed */
    asock_args e;
    bool pending; /* its completion callback is still to run */
};

enum nc_phase {
    PH_RESOLVING,
    PH_CONNECTING,
    PH_SENDING,
    PH_DONE
};

struct nc {
    asock_loop *loop;
    struct asock__resolver *r;
    struct asock__rlive live;
    asock_args *e;   /* the user's */
    asock_socket *s; /* the user's socket; NULL for the static connect */
    int type, protocol;
    int family; /* families to resolve: AF_UNSPEC, AF_INET or AF_INET6 */
    uint16_t port;
    char *host;
    int refs; /* 1 until the user's completion ran, +1 per pending attempt / lookup / send */
    enum nc_phase phase;

    /* resolution */
    bool srv; /* via asock_resolve_async (service name) */
    struct asock__hostlookup hl;
    bool hl_started;
    asock_resolve *rq;
    bool rq_pending;
    bool resolved;  /* no address will come any more */
    int res_status; /* ARES_* of the resolution, when it failed */
    asock_socket_error res_error;
    const char *res_detail;
    asock_endpoint *list; /* SRV mode: every endpoint, in order */
    size_t nlist, next;
    size_t taken[2]; /* host mode: addresses of each family already tried */
    int last_idx;    /* family index of the last attempt, -1 before the first */
    bool v6_first;

    struct asock__timer res_delay;     /* RFC 8305 §3 resolution delay */
    struct asock__timer attempt_timer; /* RFC 8305 §5 connection attempt delay */
    struct asock__timer deadline;      /* connect_timeout_ms */
    uint32_t attempt_delay;

    /* attempts */
    struct asock__qnode attempts;
    unsigned active;    /* attempts whose connect is in flight */
    bool delay_expired; /* the attempt delay passed with nothing left to start */
    unsigned started;
    asock_socket_error last_err;
    int last_errno;
    const char *last_detail;

    asock_socket *winner;
    asock_args tx; /* the data sent with the connect (S6), or a datagram socket's connect */
    bool tx_pending;
    struct asock__task finish_task;
    bool finish_queued;
};

static void pump(struct nc *nc);
static bool start_attempt(struct nc *nc);
static void finish(struct nc *nc, asock_socket_error err, int sys_errno, const char *detail);

static struct nc *nc_of(asock_args *e)
{
    return asock__priv(e)->name_connect;
}

static void nc_unref(struct nc *nc)
{
    if (--nc->refs != 0)
        return;
    while (!asock__q_empty(&nc->attempts)) {
        struct asock__qnode *q = asock__q_head(&nc->attempts);
        asock__q_remove(q);
        asock__free(asock__container_of(q, struct attempt, node));
    }
    if (nc->hl_started)
        asock__hostlookup_stop(&nc->hl);
    asock__free(nc->list);
    asock__free(nc->host);
    asock__free(nc);
}

/* ---- attempts ---- */

static void close_attempt(struct attempt *a)
{
    if (a->sock != NULL) {
        asock_socket_close(a->sock); /* a pending connect completes ABORTED, later */
        a->sock = NULL;
    }
}

static void record_error(struct nc *nc, asock_socket_error err, int sys_errno, const char *detail)
{
    nc->last_err = err;
    nc->last_errno = sys_errno;
    nc->last_detail = detail;
}

static void win(struct nc *nc, struct attempt *a);
static void attempt_result(struct nc *nc, struct attempt *a);

static void on_attempt_done(asock_socket *sender, asock_args *ae)
{
    ASOCK__UNUSED(sender);
    struct attempt *a = ae->user_token;
    struct nc *nc = a->nc;
    a->pending = false;
    nc->active--;
    attempt_result(nc, a);
    nc_unref(nc);
}

static void attempt_result(struct nc *nc, struct attempt *a)
{
    if (nc->phase != PH_CONNECTING) {
        close_attempt(a); /* a loser, or the connect ended meanwhile */
        return;
    }
    if (a->e.socket_error == ASOCK_SUCCESS) {
        win(nc, a);
        return;
    }
    record_error(nc, a->e.socket_error, a->e.sys_errno, asock_args_error_detail(&a->e));
    close_attempt(a);
    if (nc->type == SOCK_DGRAM) {
        /* no handshake to fall back on: the first usable address decides */
        finish(nc, nc->last_err, nc->last_errno, nc->last_detail);
        return;
    }
    /* RFC 8305 §5: a failed attempt starts the next one at once. */
    if (!start_attempt(nc))
        pump(nc);
}

/* The next address to try, or false.  Host mode interleaves the families (RFC 8305 §4),
 * taking addresses that arrive late into the same rotation. */
static bool next_candidate(struct nc *nc, asock_endpoint *out)
{
    if (nc->srv) {
        if (nc->next >= nc->nlist)
            return false;
        *out = nc->list[nc->next++];
        return true;
    }
    const struct asock__hostlookup *hl = &nc->hl;
    bool avail[2];
    for (int i = 0; i < 2; i++)
        avail[i] = nc->taken[i] < hl->naddrs[i];
    if (!avail[0] && !avail[1])
        return false;
    int idx;
    if (nc->last_idx < 0) {
        /* RFC 6724 rule 1: prefer IPv6 unless it has no route */
        nc->v6_first = avail[ASOCK__HL_V6] &&
                       (!avail[ASOCK__HL_V4] ||
                        asock__addr_routable(&hl->addrs[ASOCK__HL_V6][nc->taken[ASOCK__HL_V6]]));
        idx = nc->v6_first ? ASOCK__HL_V6 : ASOCK__HL_V4;
    } else {
        idx = 1 - nc->last_idx; /* alternate families */
    }
    if (!avail[idx])
        idx = 1 - idx;
    *out = hl->addrs[idx][nc->taken[idx]++];
    if (out->ip.sa.sa_family == AF_INET6)
        out->ip.in6.sin6_port = htons(nc->port);
    else
        out->ip.in4.sin_port = htons(nc->port);
    nc->last_idx = idx;
    return true;
}

static bool usable(const struct nc *nc, const asock_endpoint *ep)
{
    return nc->s == NULL || asock__socket_can_use_family(nc->s, asock_endpoint_family(ep));
}

/* Opens an attempt socket for ep like the user's socket (family, options, local address). */
static int open_attempt(struct nc *nc, const asock_endpoint *ep, asock_socket **out)
{
    int family = nc->s != NULL ? nc->s->family : asock_endpoint_family(ep);
    asock_socket *as = NULL;
    int rc = asock_socket_open(nc->loop, family, nc->type, nc->protocol, &as);
    if (rc < 0)
        return rc;
    as->flags |= ASOCK__SF_INTERNAL;
    if (nc->s != NULL) {
        /* dotnet/corefx#26840: .NET loses options such as KeepAlive on the fresh descriptor of
         * the next address; every attempt here gets them all (dual mode included). */
        rc = asock__socket_copy_options(as, nc->s);
        if (rc == 0 && (nc->s->flags & ASOCK__SF_BOUND)) {
            /* the user bound the socket first: every attempt leaves from the same address; the
             * attempts and the user's descriptor share it (SO_REUSEADDR on both) */
            asock_endpoint local;
            int one = 1;
            rc = asock_socket_local_endpoint(nc->s, &local);
            if (rc == 0) {
                setsockopt(nc->s->io.fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
                setsockopt(as->io.fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
                rc = asock_socket_bind(as, &local);
            }
        }
        if (rc < 0) {
            asock_socket_close(as);
            return rc;
        }
    }
    *out = as;
    return 0;
}

/* Starts attempts until one is in flight (or won at once).  False when no address is left. */
static bool start_attempt(struct nc *nc)
{
    asock_endpoint ep;
    while (nc->phase == PH_CONNECTING && next_candidate(nc, &ep)) {
        if (!usable(nc, &ep))
            continue;
        struct attempt *a = asock__calloc(1, sizeof(*a));
        if (a == NULL) {
            record_error(nc, ASOCK_ERR_NO_BUFFER_SPACE_AVAILABLE, ENOMEM, "out of memory");
            continue;
        }
        a->nc = nc;
        asock__q_insert_tail(&nc->attempts, &a->node);
        nc->started++;
        int rc = open_attempt(nc, &ep, &a->sock);
        if (rc < 0) {
            record_error(nc, asock_socket_error_from_errno(-rc), -rc, "opening an attempt socket");
            continue;
        }
        asock_args_init(&a->e);
        a->e.completed = on_attempt_done;
        a->e.user_token = a;
        a->e.remote_endpoint = ep;
        rc = asock_connect_async(a->sock, &a->e);
        if (rc == 1) {
            a->pending = true;
            nc->active++;
            nc->refs++;
            /* RFC 8305 §5: the next attempt starts after the connection attempt delay unless
             * this one fails first. */
            asock__timer_start(nc->loop, &nc->attempt_timer, nc->attempt_delay);
            nc->delay_expired = false;
            return true;
        }
        if (rc < 0) {
            record_error(nc, asock_socket_error_from_errno(-rc), -rc, "connect refused the call");
            close_attempt(a);
            continue;
        }
        /* completed at once */
        attempt_result(nc, a);
        if (nc->phase != PH_CONNECTING || nc->type == SOCK_DGRAM)
            return true;
    }
    return false;
}

static void on_attempt_timer(struct asock__timer *t)
{
    struct nc *nc = asock__container_of(t, struct nc, attempt_timer);
    if (nc->phase == PH_CONNECTING && !start_attempt(nc))
        nc->delay_expired = true; /* the next address to arrive starts at once */
}

/* Starts what can start; ends the connect when nothing is left to try. */
static void pump(struct nc *nc)
{
    if (nc->phase != PH_CONNECTING)
        return;
    /* A new attempt waits for the attempt delay while another is in flight. */
    if ((nc->active == 0 || nc->delay_expired) && start_attempt(nc))
        return;
    if (nc->phase != PH_CONNECTING)
        return;
    if (nc->active != 0 || !nc->resolved)
        return; /* attempts in flight, or addresses still to come */
    if (nc->started != 0) {
        finish(nc, nc->last_err, nc->last_errno, nc->last_detail);
    } else if (nc->res_error != ASOCK_SUCCESS) {
        finish(nc, nc->res_error, nc->res_status, nc->res_detail);
    } else {
        finish(nc, ASOCK_ERR_NO_DATA, 0, "no address usable by this socket");
    }
}

/* ---- the winner, the data, the end ---- */

static void on_tx_done(asock_socket *sender, asock_args *tx);

static void tx_result(struct nc *nc)
{
    asock_args *e = nc->e;
    asock_args *tx = &nc->tx;
    nc->phase = PH_CONNECTING; /* finish() expects a running connect */
    if (nc->type == SOCK_DGRAM && nc->s != NULL) {
        /* the user's own datagram socket was connected directly */
        if (tx->socket_error == ASOCK_SUCCESS)
            nc->winner = nc->s;
    } else {
        e->bytes_transferred = tx->bytes_transferred;
    }
    finish(nc, tx->socket_error, tx->sys_errno, asock_args_error_detail(tx));
}

static void on_tx_done(asock_socket *sender, asock_args *tx)
{
    ASOCK__UNUSED(sender);
    struct nc *nc = tx->user_token;
    nc->tx_pending = false;
    tx_result(nc);
    nc_unref(nc);
}

static void win(struct nc *nc, struct attempt *a)
{
    asock_socket *w = a->sock;
    a->sock = NULL;
    if (nc->s != NULL) {
        int rc = asock__socket_adopt(nc->s, w);
        if (rc < 0) {
            asock_socket_close(w);
            finish(nc, asock_socket_error_from_errno(-rc), -rc, "moving the connection failed");
            return;
        }
        w = nc->s;
    } else {
        w->flags &= ~ASOCK__SF_INTERNAL; /* the caller's now */
    }
    nc->winner = w;
    asock__timer_stop(nc->loop, &nc->deadline);
    asock_args *e = nc->e;
    if (nc->type != SOCK_STREAM || e->buffer == NULL || e->count == 0) {
        finish(nc, ASOCK_SUCCESS, 0, NULL);
        return;
    }
    /* S6: the data goes out once the winner is chosen; bytes_transferred counts it. */
    nc->phase = PH_SENDING;
    nc->tx.completed = on_tx_done;
    nc->tx.user_token = nc;
    asock_args_set_buffer(&nc->tx, e->buffer, e->offset, e->count);
    nc->tx.socket_flags = 0;
    int rc = asock_send_async(w, &nc->tx);
    if (rc == 1) {
        nc->tx_pending = true;
        nc->refs++;
        return;
    }
    if (rc < 0)
        asock__args_set_error(&nc->tx, asock_socket_error_from_errno(-rc), -rc, NULL);
    tx_result(nc);
}

static void finish_run(struct asock__task *t)
{
    struct nc *nc = asock__container_of(t, struct nc, finish_task);
    asock_args *e = nc->e;
    struct asock__args_priv *p = asock__priv(e);
    asock_socket *sender = e->socket_error == ASOCK_SUCCESS ? nc->winner : nc->s;
    p->name_connect = NULL;
    if (nc->s == NULL)
        asock__loop_unref(nc->loop); /* the static connect's own reference */
    asock__args_finish(e, sender);
    nc_unref(nc);
}

/* Decides the result and lets go of everything; the user's callback runs from a task. */
static void finish(struct nc *nc, asock_socket_error err, int sys_errno, const char *detail)
{
    if (nc->phase == PH_DONE)
        return;
    nc->phase = PH_DONE;
    asock_args *e = nc->e;
    e->socket_error = err;
    e->sys_errno = err == ASOCK_SUCCESS ? 0 : sys_errno;
    asock__priv(e)->detail = detail != NULL ? detail : "";
    e->connect_by_name_error = err;
    if (err == ASOCK_SUCCESS) {
        e->connect_socket = nc->winner;
    } else {
        e->connect_socket = NULL;
        e->bytes_transferred = 0;
        if (nc->s == NULL && nc->winner != NULL) {
            asock_socket_close(nc->winner); /* the static connect leaves no socket behind */
            nc->winner = NULL;
        }
    }
    asock__timer_stop(nc->loop, &nc->res_delay);
    asock__timer_stop(nc->loop, &nc->attempt_timer);
    asock__timer_stop(nc->loop, &nc->deadline);
    if (nc->hl_started)
        asock__hostlookup_stop(&nc->hl);
    if (nc->rq_pending)
        asock_resolve_cancel(nc->rq); /* its callback still comes, and is ignored */
    for (struct asock__qnode *q = nc->attempts.next; q != &nc->attempts; q = q->next)
        close_attempt(asock__container_of(q, struct attempt, node));
    if (nc->s != NULL)
        nc->s->flags &= ~ASOCK__SF_CONNECTING;
    asock__resolver_untrack(&nc->live);
    nc->finish_queued = true;
    asock__loop_defer(nc->loop, &nc->finish_task);
}

/* ---- resolution ---- */

static void begin_connecting(struct nc *nc)
{
    if (nc->phase != PH_RESOLVING)
        return;
    asock__timer_stop(nc->loop, &nc->res_delay);
    nc->phase = PH_CONNECTING;
    if (nc->type == SOCK_DGRAM && nc->s != NULL) {
        /* A datagram socket: connect the user's own socket (it may be bound) to the first usable
         * address; the kernel connect is synchronous. */
        asock_endpoint ep;
        bool found = false;
        while (next_candidate(nc, &ep)) {
            if (usable(nc, &ep)) {
                found = true;
                break;
            }
        }
        if (!found) {
            if (!nc->resolved) {
                nc->phase = PH_RESOLVING; /* wait for the other family */
                return;
            }
            pump(nc);
            return;
        }
        nc->s->flags &= ~ASOCK__SF_CONNECTING;
        nc->tx.completed = on_tx_done;
        nc->tx.user_token = nc;
        nc->tx.remote_endpoint = ep;
        nc->phase = PH_SENDING;
        int rc = asock_connect_async(nc->s, &nc->tx);
        if (rc == 1) {
            nc->tx_pending = true;
            nc->refs++;
            return;
        }
        if (rc < 0)
            asock__args_set_error(&nc->tx, asock_socket_error_from_errno(-rc), -rc, NULL);
        tx_result(nc);
        return;
    }
    pump(nc);
}

static void on_res_delay(struct asock__timer *t)
{
    struct nc *nc = asock__container_of(t, struct nc, res_delay);
    begin_connecting(nc);
}

static void on_family(struct asock__hostlookup *hl, int family)
{
    struct nc *nc = hl->owner;
    if (nc->phase == PH_DONE || nc->phase == PH_SENDING)
        return;
    if (asock__hostlookup_finished(hl)) {
        nc->resolved = true;
        int st = asock__hostlookup_status(hl);
        if (st != ARES_SUCCESS) {
            nc->res_status = st;
            nc->res_detail = "the host name did not resolve";
            nc->res_error = asock__resolver_error(nc->loop, st, &nc->res_detail);
        }
    }
    if (nc->phase == PH_CONNECTING) {
        pump(nc); /* late addresses join the rotation, or nothing is left */
        return;
    }
    int idx = family == AF_INET6 ? ASOCK__HL_V6 : ASOCK__HL_V4;
    bool v6_pending = hl->asked[ASOCK__HL_V6] && !hl->done[ASOCK__HL_V6];
    if (nc->resolved || (idx == ASOCK__HL_V6 && hl->naddrs[idx] > 0)) {
        /* RFC 8305 §3: AAAA answered with addresses (or nothing is pending): go. */
        begin_connecting(nc);
    } else if (idx == ASOCK__HL_V4 && v6_pending && hl->naddrs[idx] > 0) {
        /* RFC 8305 §3: A came first: wait the resolution delay for AAAA. */
        asock__timer_start(nc->loop, &nc->res_delay, RESOLUTION_DELAY_MS);
    }
}

static void on_resolved(asock_resolve *req, const asock_resolve_result *res, void *user)
{
    ASOCK__UNUSED(req);
    struct nc *nc = user;
    nc->rq_pending = false;
    nc->rq = NULL;
    if (nc->phase == PH_RESOLVING) {
        nc->resolved = true;
        if (res->error != ASOCK_SUCCESS) {
            nc->res_error = res->error;
            nc->res_status = res->resolver_code;
            nc->res_detail = res->detail; /* static text */
        } else {
            nc->list = asock__calloc(res->count, sizeof(asock_endpoint));
            if (nc->list == NULL) {
                finish(nc, ASOCK_ERR_NO_BUFFER_SPACE_AVAILABLE, ENOMEM, "out of memory");
                nc_unref(nc);
                return;
            }
            for (size_t i = 0; i < res->count; i++)
                nc->list[i] = res->entries[i].endpoint;
            nc->nlist = res->count;
        }
        begin_connecting(nc);
    }
    nc_unref(nc);
}

/* ---- phases' ends ---- */

static void on_deadline(struct asock__timer *t)
{
    struct nc *nc = asock__container_of(t, struct nc, deadline);
    if (nc->phase == PH_RESOLVING || nc->phase == PH_CONNECTING)
        finish(nc, ASOCK_ERR_TIMED_OUT, ETIMEDOUT, "connect by name timed out");
}

static void on_loop_free(struct asock__rlive *l)
{
    struct nc *nc = asock__container_of(l, struct nc, live);
    if (nc->phase != PH_SENDING)
        finish(nc, ASOCK_ERR_OPERATION_ABORTED, ECANCELED, "the loop was freed");
}

void asock__name_connect_cancel(asock_args *e)
{
    struct nc *nc = nc_of(e);
    if (nc == NULL)
        return;
    /* Once the winner is sending its data it is too late, as for an IP connect. */
    if (nc->phase == PH_RESOLVING || nc->phase == PH_CONNECTING)
        finish(nc, ASOCK_ERR_OPERATION_ABORTED, ECANCELED, "connect cancelled");
}

void asock__name_connect_abort(asock_args *e)
{
    struct nc *nc = nc_of(e);
    if (nc == NULL)
        return;
    /* PH_SENDING: the close aborts the send on the user's socket, which ends the connect. */
    if (nc->phase == PH_RESOLVING || nc->phase == PH_CONNECTING)
        finish(nc, ASOCK_ERR_OPERATION_ABORTED, ECANCELED, "the socket was closed");
}

/* ---- start ---- */

int asock__name_connect_start(asock_loop *loop, asock_socket *s, int type, int protocol,
                              asock_args *e)
{
    const asock_endpoint *ep = &e->remote_endpoint;
    if (ep->kind != ASOCK_ENDPOINT_DNS || ep->dns.host == NULL)
        return -EINVAL;
    struct asock__resolver *r = asock__resolver_get(loop);
    if (r == NULL)
        return -ENOMEM;
    if (asock__resolver_closing(r))
        return -EBADF;
    const char **slot = asock__resolver_service_slot(r);
    const char *service = *slot;
    *slot = NULL;

    int family = ep->dns.family;
    if (s != NULL) {
        /* resolve only what the socket can use */
        if (s->family == AF_INET)
            family = AF_INET;
        else if (!(s->flags & ASOCK__SF_DUAL_MODE))
            family = AF_INET6;
    }

    struct nc *nc = asock__calloc(1, sizeof(*nc));
    if (nc == NULL)
        return -ENOMEM;
    nc->host = asock__strdup(ep->dns.host);
    if (nc->host == NULL) {
        asock__free(nc);
        return -ENOMEM;
    }
    nc->loop = loop;
    nc->r = r;
    nc->e = e;
    nc->s = s;
    nc->type = type;
    nc->protocol = protocol;
    nc->family = family;
    nc->port = ep->dns.port;
    nc->refs = 1;
    nc->phase = PH_RESOLVING;
    nc->last_idx = -1;
    nc->last_err = ASOCK_ERR_NO_DATA;
    nc->live.abort = on_loop_free;
    asock__q_init(&nc->live.node);
    asock__q_init(&nc->attempts);
    asock__timer_init(&nc->res_delay, on_res_delay);
    asock__timer_init(&nc->attempt_timer, on_attempt_timer);
    asock__timer_init(&nc->deadline, on_deadline);
    asock__task_init(&nc->finish_task, finish_run);
    asock_args_init(&nc->tx);
    uint32_t delay =
        loop->opts.attempt_delay_ms != 0 ? loop->opts.attempt_delay_ms : ATTEMPT_DELAY_MS;
    if (delay < ATTEMPT_DELAY_MIN_MS)
        delay = ATTEMPT_DELAY_MIN_MS;
    if (delay > ATTEMPT_DELAY_MAX_MS)
        delay = ATTEMPT_DELAY_MAX_MS;
    nc->attempt_delay = delay;

    int rc = 0;
    if (e->connect_timeout_ms != 0)
        rc = asock__timer_start(loop, &nc->deadline, e->connect_timeout_ms);
    if (rc < 0) {
        asock__free(nc->host);
        asock__free(nc);
        return rc;
    }
    if (service != NULL) {
        nc->srv = true;
        asock_resolve_hints h;
        memset(&h, 0, sizeof(h));
        h.family = family;
        h.socktype = type;
        rc = asock_resolve_async(loop, nc->host, service, &h, on_resolved, nc, &nc->rq);
        if (rc == 0) {
            nc->rq_pending = true;
            nc->refs++;
        }
    } else {
        rc = asock__hostlookup_start(&nc->hl, loop, nc->host, family, on_family, nc);
        if (rc == 0)
            nc->hl_started = true;
    }
    if (rc < 0) {
        asock__timer_stop(loop, &nc->deadline);
        asock__free(nc->host);
        asock__free(nc);
        return rc;
    }

    struct asock__args_priv *p = asock__priv(e);
    p->name_connect = nc;
    asock__args_pend(e);
    if (s == NULL)
        asock__loop_ref(loop); /* args_pend counts only operations on a socket */
    else
        s->flags |= ASOCK__SF_CONNECTING;
    asock__resolver_track(r, &nc->live);
    return 1;
}

/* ---- connect by host + service name ---- */

static int with_service(asock_loop *loop, const char *host, const char *service, int type,
                        asock_args *e, asock_endpoint *saved, const char ***slot_out)
{
    if (loop == NULL || e == NULL || host == NULL || service == NULL)
        return -EINVAL;
    uint16_t port = 0;
    int sv = asock__service_port(service, type, false, &port);
    if (sv < 0)
        return sv == -ENOMEM ? -ENOMEM : -EINVAL;
    *saved = e->remote_endpoint;
    int rc = asock_endpoint_dns(&e->remote_endpoint, host, port, AF_UNSPEC);
    if (rc < 0) {
        e->remote_endpoint = *saved;
        return rc;
    }
    *slot_out = NULL;
    if (sv == 0) {
        /* an SRV service: hand it to asock__name_connect_start through the loop's slot (it is
         * read and cleared inside the asock_connect_async call below) */
        struct asock__resolver *r = asock__resolver_get(loop);
        if (r == NULL) {
            e->remote_endpoint = *saved;
            return -ENOMEM;
        }
        *slot_out = asock__resolver_service_slot(r);
        **slot_out = service;
    }
    return 0;
}

int asock_connect_service_async(asock_socket *s, const char *host, const char *service,
                                asock_args *e)
{
    if (s == NULL)
        return -EINVAL;
    asock_endpoint saved;
    const char **slot = NULL;
    int rc = with_service(s->loop, host, service, s->type, e, &saved, &slot);
    if (rc < 0)
        return rc;
    rc = asock_connect_async(s, e);
    if (slot != NULL)
        *slot = NULL;
    e->remote_endpoint = saved;
    return rc;
}

int asock_loop_connect_service_async(asock_loop *loop, int type, int protocol, const char *host,
                                     const char *service, asock_args *e)
{
    if (type != SOCK_STREAM && type != SOCK_DGRAM)
        return -EINVAL;
    asock_endpoint saved;
    const char **slot = NULL;
    int rc = with_service(loop, host, service, type, e, &saved, &slot);
    if (rc < 0)
        return rc;
    rc = asock_loop_connect_async(loop, type, protocol, e);
    if (slot != NULL)
        *slot = NULL;
    e->remote_endpoint = saved;
    return rc;
}
