/* Host lookups (A and AAAA as two queries) and the public asynchronous resolve call:
 * host + service -> an ordered list of endpoints (the Windows Runtime's GetEndpointPairsAsync). */
#include "resolve_int.h"

#include <netdb.h>
#include <unistd.h>

#define QNAME_MAX 300

/* ======================================================================================
 * Host lookups
 * ====================================================================================== */

static int fam_of(int idx)
{
    return idx == ASOCK__HL_V6 ? AF_INET6 : AF_INET;
}

static int idx_of(int family)
{
    return family == AF_INET6 ? ASOCK__HL_V6 : ASOCK__HL_V4;
}

static int add_addr(struct asock__hostlookup *hl, int idx, const asock_endpoint *ep)
{
    for (size_t i = 0; i < hl->naddrs[idx]; i++) {
        if (asock_endpoint_equal(&hl->addrs[idx][i], ep))
            return 0; /* hosts file and DNS may both answer */
    }
    asock_endpoint *a =
        asock__realloc(hl->addrs[idx], (hl->naddrs[idx] + 1) * sizeof(asock_endpoint));
    if (a == NULL)
        return -ENOMEM;
    a[hl->naddrs[idx]++] = *ep;
    hl->addrs[idx] = a;
    return 0;
}

static void hl_answer(struct asock__hostlookup *hl, int idx, int status,
                      const struct ares_addrinfo *ai)
{
    hl->ticket[idx] = NULL;
    if (status == ARES_SUCCESS && ai != NULL) {
        for (const struct ares_addrinfo_node *n = ai->nodes; n != NULL; n = n->ai_next) {
            asock_endpoint ep;
            if (n->ai_family != fam_of(idx) ||
                asock_endpoint_from_sockaddr(&ep, n->ai_addr, n->ai_addrlen) != 0)
                continue;
            if (add_addr(hl, idx, &ep) != 0) {
                status = ARES_ENOMEM;
                break;
            }
        }
    }
    if (status == ARES_SUCCESS && hl->naddrs[idx] == 0)
        status = ARES_ENODATA;
    hl->status[idx] = status;
    hl->done[idx] = true;
    hl->fn(hl, fam_of(idx));
}

static void on_v6(void *owner, int status, const struct ares_addrinfo *ai)
{
    hl_answer(owner, ASOCK__HL_V6, status, ai);
}

static void on_v4(void *owner, int status, const struct ares_addrinfo *ai)
{
    hl_answer(owner, ASOCK__HL_V4, status, ai);
}

static void literal_run(struct asock__task *t)
{
    struct asock__hostlookup *hl = asock__container_of(t, struct asock__hostlookup, literal_task);
    hl->literal_pending = false;
    for (int i = 0; i < 2 && !hl->stopped; i++) {
        if (hl->asked[i] && !hl->done[i]) {
            hl->done[i] = true;
            hl->fn(hl, fam_of(i));
        }
    }
}

int asock__hostlookup_start(struct asock__hostlookup *hl, asock_loop *loop, const char *name,
                            int family, asock__hostlookup_fn *fn, void *owner)
{
    memset(hl, 0, sizeof(*hl));
    hl->loop = loop;
    hl->fn = fn;
    hl->owner = owner;
    asock__task_init(&hl->literal_task, literal_run);

    asock_endpoint lit;
    if (asock_endpoint_ip(&lit, name, 0) == 0) {
        /* An IP literal: no traffic.  A literal of the other family has no address of the
         * family asked for (.NET: NoData). */
        int lf = asock_endpoint_family(&lit);
        int want = family == AF_UNSPEC ? lf : family;
        int idx = idx_of(want);
        hl->asked[idx] = true;
        if (want == lf) {
            if (add_addr(hl, idx, &lit) != 0)
                return -ENOMEM;
            hl->status[idx] = ARES_SUCCESS;
        } else {
            hl->status[idx] = ARES_ENODATA;
        }
        hl->literal_pending = true;
        asock__loop_defer(loop, &hl->literal_task);
        return 0;
    }
    /* RFC 8305 §3: AAAA first, then A, as two queries. */
    if (family == AF_UNSPEC || family == AF_INET6) {
        hl->asked[ASOCK__HL_V6] = true;
        int rc = asock__dns_addrinfo(loop, name, AF_INET6, on_v6, hl, &hl->ticket[ASOCK__HL_V6]);
        if (rc < 0) {
            asock__hostlookup_stop(hl);
            return rc;
        }
    }
    if (family == AF_UNSPEC || family == AF_INET) {
        hl->asked[ASOCK__HL_V4] = true;
        int rc = asock__dns_addrinfo(loop, name, AF_INET, on_v4, hl, &hl->ticket[ASOCK__HL_V4]);
        if (rc < 0) {
            asock__hostlookup_stop(hl);
            return rc;
        }
    }
    return 0;
}

void asock__hostlookup_stop(struct asock__hostlookup *hl)
{
    hl->stopped = true;
    for (int i = 0; i < 2; i++) {
        asock__dns_abandon(hl->ticket[i]);
        hl->ticket[i] = NULL;
        asock__free(hl->addrs[i]);
        hl->addrs[i] = NULL;
        hl->naddrs[i] = 0;
    }
    if (hl->literal_pending) {
        asock__loop_undefer(hl->loop, &hl->literal_task);
        hl->literal_pending = false;
    }
}

bool asock__hostlookup_finished(const struct asock__hostlookup *hl)
{
    for (int i = 0; i < 2; i++) {
        if (hl->asked[i] && !hl->done[i])
            return false;
    }
    return true;
}

static bool temporary(int st)
{
    return st == ARES_ETIMEOUT || st == ARES_ESERVFAIL || st == ARES_ECONNREFUSED;
}

int asock__hostlookup_status(const struct asock__hostlookup *hl)
{
    int first = ARES_ENODATA;
    bool have_first = false;
    for (int i = 0; i < 2; i++) {
        if (!hl->asked[i] || !hl->done[i])
            continue;
        if (hl->naddrs[i] > 0)
            return ARES_SUCCESS;
        if (!have_first) {
            first = hl->status[i];
            have_first = true;
        }
    }
    /* No address at all: NXDOMAIN is about the name, so it wins; then a temporary failure (the
     * other family may exist); NODATA only when every family said so. */
    for (int i = 0; i < 2; i++) {
        if (hl->asked[i] && hl->done[i] && hl->status[i] == ARES_ENOTFOUND)
            return ARES_ENOTFOUND;
    }
    for (int i = 0; i < 2; i++) {
        if (hl->asked[i] && hl->done[i] && temporary(hl->status[i]))
            return hl->status[i];
    }
    for (int i = 0; i < 2; i++) {
        if (hl->asked[i] && hl->done[i] && hl->status[i] != ARES_ENODATA)
            return hl->status[i];
    }
    return first;
}

bool asock__addr_routable(const asock_endpoint *a)
{
    socklen_t len = 0;
    const struct sockaddr *sa = asock_endpoint_sockaddr(a, &len);
    if (sa == NULL)
        return false;
    /* RFC 6724 §6 rule 1 (avoid unusable destinations): a UDP connect only asks the routing
     * table; nothing is sent.  The port just has to be non-zero. */
    struct sockaddr_storage ss;
    memcpy(&ss, sa, len);
    if (ss.ss_family == AF_INET6)
        ((struct sockaddr_in6 *)&ss)->sin6_port = htons(9);
    else
        ((struct sockaddr_in *)&ss)->sin_port = htons(9);
    int fd = socket(sa->sa_family, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return false;
    int rc = connect(fd, (struct sockaddr *)&ss, len);
    close(fd);
    return rc == 0;
}

/* ======================================================================================
 * asock_resolve_async
 * ====================================================================================== */

struct target {
    char *name;
    uint16_t port, priority, weight;
    struct asock__hostlookup hl;
    bool started;
    bool finished;
};

enum req_state {
    REQ_RUNNING,
    REQ_DECIDED,
    REQ_DELIVERING
};

struct asock_resolve {
    asock_loop *loop;
    struct asock__resolver *r;
    struct asock__rlive live;
    asock_resolve_fn *cb;
    void *user;
    int family;
    int socktype;
    unsigned flags;
    char *host; /* NULL: PASSIVE wildcard */
    asock_service_source source;
    uint16_t port;
    enum req_state state;
    struct asock__timer timer;
    struct asock__task task;       /* delivery */
    struct asock__task start_task; /* answers that need no lookup */
    struct asock__dns_ticket *srv_ticket;
    struct target *targets;
    size_t ntargets, pending;
    asock_socket_error error;
    int code;
    const char *detail;
    asock_resolve_entry *entries;
    size_t nentries;
};

static void req_stop_work(asock_resolve *q)
{
    asock__timer_stop(q->loop, &q->timer);
    asock__dns_abandon(q->srv_ticket);
    q->srv_ticket = NULL;
    for (size_t i = 0; i < q->ntargets; i++) {
        if (q->targets[i].started)
            asock__hostlookup_stop(&q->targets[i].hl);
    }
}

static void req_free(asock_resolve *q)
{
    req_stop_work(q);
    asock__loop_undefer(q->loop, &q->start_task);
    for (size_t i = 0; i < q->ntargets; i++)
        asock__free(q->targets[i].name);
    asock__free(q->targets);
    asock__free(q->entries);
    asock__free(q->host);
    asock__free(q);
}

static void deliver(struct asock__task *t)
{
    asock_resolve *q = asock__container_of(t, asock_resolve, task);
    q->state = REQ_DELIVERING;
    asock__resolver_untrack(&q->live);
    asock__loop_unref(q->loop);
    asock_resolve_result res;
    memset(&res, 0, sizeof(res));
    res.error = q->error;
    res.resolver_code = q->code;
    res.detail = q->detail != NULL ? q->detail : "";
    res.service_source = q->source;
    if (q->error == ASOCK_SUCCESS) {
        res.count = q->nentries;
        res.entries = q->entries;
    }
    q->cb(q, &res, q->user);
    req_free(q);
}

static void decide(asock_resolve *q, asock_socket_error err, int code, const char *detail)
{
    if (q->state != REQ_RUNNING)
        return;
    q->state = REQ_DECIDED;
    if (code == ARES_ECONNREFUSED)
        err = asock__resolver_error(q->loop, code, &detail);
    q->error = err;
    q->code = code;
    q->detail = detail;
    req_stop_work(q);
    asock__loop_defer(q->loop, &q->task);
}

static const char *host_detail(int st)
{
    switch (st) {
    case ARES_ENOTFOUND:
        return "c-ares: ENOTFOUND (no such host name)";
    case ARES_ENODATA:
        return "c-ares: ENODATA (no address of the family asked for)";
    case ARES_ETIMEOUT:
        return "c-ares: ETIMEOUT (no answer from the DNS server)";
    case ARES_ESERVFAIL:
        return "c-ares: ESERVFAIL (the DNS server failed)";
    case ARES_ECONNREFUSED:
        return "c-ares: ECONNREFUSED (no DNS server gave an answer: unreachable, SERVFAIL or "
               "REFUSED)";
    case ARES_EREFUSED:
        return "c-ares: EREFUSED (the DNS server refused the query)";
    case ARES_EDESTRUCTION:
        return "the loop was freed";
    case ARES_ENOMEM:
        return "out of memory";
    default:
        return "c-ares: the host lookup failed";
    }
}

static void req_abort(struct asock__rlive *l)
{
    asock_resolve *q = asock__container_of(l, asock_resolve, live);
    decide(q, ASOCK_ERR_OPERATION_ABORTED, ARES_EDESTRUCTION, "the loop was freed");
}

static void on_timeout(struct asock__timer *t)
{
    asock_resolve *q = asock__container_of(t, asock_resolve, timer);
    decide(q, ASOCK_ERR_TIMED_OUT, ARES_ETIMEOUT, "the resolution timed out (hints.timeout_ms)");
}

/* RFC 8305 §4: interleave the families, starting with the preferred one (IPv6 unless it has no
 * route, RFC 6724 rule 1). */
static size_t interleave(const struct asock__hostlookup *hl, asock_endpoint *out)
{
    size_t n6 = hl->naddrs[ASOCK__HL_V6], n4 = hl->naddrs[ASOCK__HL_V4];
    const asock_endpoint *a6 = hl->addrs[ASOCK__HL_V6], *a4 = hl->addrs[ASOCK__HL_V4];
    bool v6_first = n6 > 0 && (n4 == 0 || asock__addr_routable(&a6[0]));
    size_t i6 = 0, i4 = 0, k = 0;
    bool six = v6_first;
    while (i6 < n6 || i4 < n4) {
        if ((six && i6 < n6) || i4 >= n4)
            out[k++] = a6[i6++];
        else
            out[k++] = a4[i4++];
        six = !six;
    }
    return k;
}

static void set_port(asock_endpoint *ep, uint16_t port)
{
    if (ep->ip.sa.sa_family == AF_INET6)
        ep->ip.in6.sin6_port = htons(port);
    else
        ep->ip.in4.sin_port = htons(port);
}

static void finish_success(asock_resolve *q)
{
    size_t total = 0;
    for (size_t i = 0; i < q->ntargets; i++)
        total += q->targets[i].hl.naddrs[0] + q->targets[i].hl.naddrs[1];
    if (total == 0) {
        /* Every server failed: report the last one's reason (.NET: the last error). */
        int st = asock__hostlookup_status(&q->targets[q->ntargets - 1].hl);
        decide(q, asock__ares_error(st), st, host_detail(st));
        return;
    }
    q->entries = asock__calloc(total, sizeof(asock_resolve_entry));
    asock_endpoint *tmp = asock__calloc(total, sizeof(asock_endpoint));
    if (q->entries == NULL || tmp == NULL) {
        asock__free(tmp);
        decide(q, ASOCK_ERR_NO_BUFFER_SPACE_AVAILABLE, ARES_ENOMEM, "out of memory");
        return;
    }
    size_t k = 0;
    for (size_t i = 0; i < q->ntargets; i++) {
        struct target *tg = &q->targets[i];
        size_t n = interleave(&tg->hl, tmp);
        for (size_t j = 0; j < n; j++) {
            asock_resolve_entry *en = &q->entries[k++];
            en->endpoint = tmp[j];
            set_port(&en->endpoint, tg->port);
            en->target = tg->name;
            en->group = (unsigned)i;
            en->priority = tg->priority;
            en->weight = tg->weight;
        }
    }
    asock__free(tmp);
    q->nentries = k;
    decide(q, ASOCK_SUCCESS, ARES_SUCCESS, "");
}

static void on_target(struct asock__hostlookup *hl, int family)
{
    ASOCK__UNUSED(family);
    struct target *tg = asock__container_of(hl, struct target, hl);
    asock_resolve *q = hl->owner;
    if (tg->finished || !asock__hostlookup_finished(hl))
        return;
    tg->finished = true;
    if (--q->pending == 0)
        finish_success(q);
}

static int start_targets(asock_resolve *q)
{
    q->pending = q->ntargets;
    for (size_t i = 0; i < q->ntargets; i++) {
        struct target *tg = &q->targets[i];
        int rc = asock__hostlookup_start(&tg->hl, q->loop, tg->name, q->family, on_target, q);
        if (rc < 0)
            return rc;
        tg->started = true;
    }
    return 0;
}

static uint32_t resolver_rnd(void *user)
{
    return asock__resolver_random(user);
}

static void on_srv_answer(void *owner, int status, const struct ares_srv_reply *srv)
{
    asock_resolve *q = owner;
    q->srv_ticket = NULL;
    if (status != ARES_SUCCESS) {
        /* No SRV record for the service: the service is not found (asockcat and the Windows
         * Runtime both say HostNotFound), whether the name does not exist (NXDOMAIN) or has no
         * SRV record (NODATA).  The c-ares code stays beside it. */
        asock_socket_error err =
            status == ARES_ENODATA ? ASOCK_ERR_HOST_NOT_FOUND : asock__ares_error(status);
        const char *detail = status == ARES_ENOTFOUND || status == ARES_ENODATA
                                 ? "SRV: no such service (no services entry, no SRV record)"
                                 : host_detail(status);
        decide(q, err, status, detail);
        return;
    }
    size_t n = 0;
    for (const struct ares_srv_reply *s = srv; s != NULL; s = s->next)
        n++;
    struct asock__srv_rec *recs = asock__calloc(n, sizeof(*recs));
    if (recs == NULL) {
        decide(q, ASOCK_ERR_NO_BUFFER_SPACE_AVAILABLE, ARES_ENOMEM, "out of memory");
        return;
    }
    size_t i = 0;
    for (const struct ares_srv_reply *s = srv; s != NULL; s = s->next, i++) {
        recs[i].target = s->host != NULL ? s->host : "";
        recs[i].priority = s->priority;
        recs[i].weight = s->weight;
        recs[i].port = s->port;
    }
    int kept = asock__srv_order(recs, n, resolver_rnd, q->r);
    if (kept < 0) {
        asock__free(recs);
        decide(q, ASOCK_ERR_HOST_NOT_FOUND, ARES_SUCCESS,
               "SRV: the service is not available (target \".\", RFC 2782)");
        return;
    }
    q->targets = asock__calloc((size_t)kept, sizeof(struct target));
    if (q->targets == NULL) {
        asock__free(recs);
        decide(q, ASOCK_ERR_NO_BUFFER_SPACE_AVAILABLE, ARES_ENOMEM, "out of memory");
        return;
    }
    q->ntargets = (size_t)kept;
    for (i = 0; i < q->ntargets; i++) {
        struct target *tg = &q->targets[i];
        tg->name = asock__strdup(recs[i].target);
        tg->port = recs[i].port;
        tg->priority = recs[i].priority;
        tg->weight = recs[i].weight;
        if (tg->name == NULL) {
            asock__free(recs);
            decide(q, ASOCK_ERR_NO_BUFFER_SPACE_AVAILABLE, ARES_ENOMEM, "out of memory");
            return;
        }
    }
    asock__free(recs);
    if (start_targets(q) < 0)
        decide(q, ASOCK_ERR_NO_BUFFER_SPACE_AVAILABLE, ARES_ENOMEM, "out of memory");
}

/* PASSIVE with no host: the wildcard addresses, IPv6 first. */
static void start_wildcard(struct asock__task *t)
{
    asock_resolve *q = asock__container_of(t, asock_resolve, start_task);
    size_t n = q->family == AF_UNSPEC ? 2 : 1;
    q->entries = asock__calloc(n, sizeof(asock_resolve_entry));
    if (q->entries == NULL) {
        decide(q, ASOCK_ERR_NO_BUFFER_SPACE_AVAILABLE, ARES_ENOMEM, "out of memory");
        return;
    }
    size_t k = 0;
    if (q->family != AF_INET)
        asock_endpoint_ip(&q->entries[k++].endpoint, "::", q->port);
    if (q->family != AF_INET6)
        asock_endpoint_ip(&q->entries[k++].endpoint, "0.0.0.0", q->port);
    q->nentries = k;
    decide(q, ASOCK_SUCCESS, ARES_SUCCESS, "");
}

static void start_srv_on_literal(struct asock__task *t)
{
    asock_resolve *q = asock__container_of(t, asock_resolve, start_task);
    decide(q, ASOCK_ERR_HOST_NOT_FOUND, ARES_ENOTFOUND,
           "the service is not a port number nor in the services database, and an SRV query "
           "needs a host name, not an address");
}

static void start_no_srv(struct asock__task *t)
{
    asock_resolve *q = asock__container_of(t, asock_resolve, start_task);
    decide(q, ASOCK_ERR_HOST_NOT_FOUND, ARES_ESERVICE,
           "the service is not a port number nor in the services database (SRV not allowed)");
}

static void start_failed(struct asock__task *t)
{
    asock_resolve *q = asock__container_of(t, asock_resolve, start_task);
    decide(q, ASOCK_ERR_NO_BUFFER_SPACE_AVAILABLE, ARES_ENOMEM, "out of memory");
}

static int check_hints(const asock_resolve_hints *h)
{
    if (h == NULL)
        return 0;
    if (h->family != AF_UNSPEC && h->family != AF_INET && h->family != AF_INET6)
        return -EINVAL;
    if (h->socktype != 0 && h->socktype != SOCK_STREAM && h->socktype != SOCK_DGRAM)
        return -EINVAL;
    if ((h->flags & ~(ASOCK_RESOLVE_NO_SRV | ASOCK_RESOLVE_PASSIVE | ASOCK_RESOLVE_NUMERIC_HOST)) !=
        0)
        return -EINVAL;
    return 0;
}

int asock_resolve_async(asock_loop *loop, const char *host, const char *service,
                        const asock_resolve_hints *hints, asock_resolve_fn *cb, void *user,
                        asock_resolve **out_req)
{
    if (out_req != NULL)
        *out_req = NULL;
    if (loop == NULL || cb == NULL || check_hints(hints) != 0)
        return -EINVAL;
    asock_resolve_hints h;
    memset(&h, 0, sizeof(h));
    if (hints != NULL)
        h = *hints;
    bool passive = (h.flags & ASOCK_RESOLVE_PASSIVE) != 0;
    int socktype = h.socktype == SOCK_DGRAM ? SOCK_DGRAM : SOCK_STREAM;

    /* The host: a name or a literal (asock_endpoint_dns checks both), or NULL when passive. */
    bool literal = false;
    if (host != NULL) {
        asock_endpoint tmp;
        if (asock_endpoint_dns(&tmp, host, 0, AF_UNSPEC) != 0)
            return -EINVAL;
        literal = asock_endpoint_ip(&tmp, host, 0) == 0;
        if ((h.flags & ASOCK_RESOLVE_NUMERIC_HOST) != 0 && !literal)
            return -EINVAL;
    } else if (!passive) {
        return -EINVAL;
    }
    uint16_t port = 0;
    int sv = asock__service_port(service, socktype, passive, &port);
    if (sv < 0)
        return sv == -ENOMEM ? -ENOMEM : -EINVAL;

    struct asock__resolver *r = asock__resolver_get(loop);
    if (r == NULL)
        return -ENOMEM;
    if (asock__resolver_closing(r))
        return -EINVAL;
    asock_resolve *q = asock__calloc(1, sizeof(*q));
    if (q == NULL)
        return -ENOMEM;
    q->loop = loop;
    q->r = r;
    q->cb = cb;
    q->user = user;
    q->family = h.family;
    q->socktype = socktype;
    q->flags = h.flags;
    q->port = port;
    q->source = sv == 2 ? ASOCK_SERVICE_DATABASE : ASOCK_SERVICE_NUMBER;
    q->state = REQ_RUNNING;
    q->live.abort = req_abort;
    asock__q_init(&q->live.node);
    asock__timer_init(&q->timer, on_timeout);
    asock__task_init(&q->task, deliver);
    asock__task_init(&q->start_task, NULL);
    if (host != NULL) {
        q->host = asock__strdup(host);
        if (q->host == NULL) {
            asock__free(q);
            return -ENOMEM;
        }
    }

    /* From here on the request exists: every outcome, failures included, is delivered by the
     * callback from the loop. */
    asock__loop_ref(loop);
    asock__resolver_track(r, &q->live);
    if (out_req != NULL)
        *out_req = q;
    if (h.timeout_ms != 0 && asock__timer_start(loop, &q->timer, h.timeout_ms) != 0)
        q->start_task.fn = start_failed;

    if (q->start_task.fn != NULL) {
        /* already decided above */
    } else if (host == NULL && sv == 0) {
        /* a service name that is neither a number nor in the services database needs SRV,
         * and SRV needs a host: there is nothing to look up */
        q->source = ASOCK_SERVICE_SRV;
        q->start_task.fn = start_no_srv;
    } else if (host == NULL) {
        q->start_task.fn = start_wildcard;
    } else if (sv == 0) {
        q->source = ASOCK_SERVICE_SRV;
        if ((h.flags & ASOCK_RESOLVE_NO_SRV) != 0) {
            q->start_task.fn = start_no_srv;
        } else if (literal) {
            q->start_task.fn = start_srv_on_literal;
        } else {
            char qname[QNAME_MAX];
            if (asock__srv_qname(qname, sizeof(qname), service, socktype, host) != 0 ||
                asock__dns_srv(loop, qname, on_srv_answer, q, &q->srv_ticket) != 0)
                q->start_task.fn = start_failed;
        }
    } else {
        q->targets = asock__calloc(1, sizeof(struct target));
        if (q->targets == NULL) {
            q->start_task.fn = start_failed;
        } else {
            q->ntargets = 1;
            q->targets[0].port = port;
            q->targets[0].name = asock__strdup(host);
            if (q->targets[0].name == NULL || start_targets(q) < 0)
                q->start_task.fn = start_failed;
        }
    }
    if (q->start_task.fn != NULL)
        asock__loop_defer(loop, &q->start_task);
    return 0;
}

void asock_resolve_cancel(asock_resolve *req)
{
    if (req == NULL || req->state != REQ_RUNNING)
        return;
    decide(req, ASOCK_ERR_OPERATION_ABORTED, ARES_ECANCELLED, "cancelled");
}
