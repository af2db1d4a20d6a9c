/* Resolution for asockcat: asock_resolve_async on the loop, and the -v trace of each step in
 * the order the resolver follows (resolve.h): the service (a number, the services database,
 * else DNS SRV _SERVICE._PROTO.HOST), then the addresses (A/AAAA) of the host or of each SRV
 * target.  The tool resolves first and then tries the addresses itself, so -v can name every
 * address it tries. */
#include "asockcat.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct req {
    acat_resolved_fn *cb;
    void *user;
    char *host;
    char *service;
    bool passive;
};

/* -v: where the service's port is going to come from (the resolver does the real work). */
static void trace_service(const char *host, const char *service, int socktype, bool passive)
{
    const char *proto = socktype == SOCK_DGRAM ? "udp" : "tcp";
    uint16_t port = 0;
    int src = asock_service_lookup(service != NULL ? service : "0", socktype, 1, &port);
    if (src == ASOCK_SERVICE_NUMBER) {
        acat_verbose("service %s: a port number", service != NULL ? service : "0");
        return;
    }
    if (src == ASOCK_SERVICE_DATABASE) {
        acat_verbose("service %s: services database (%s) -> port %u", service, proto,
                     (unsigned)port);
        return;
    }
    if (passive || host == NULL) {
        acat_verbose("service %s: not a number and not in the services database (%s)", service,
                     proto);
        return;
    }
    /* _SERVICE._PROTO.HOST, each label of a dotted service with its own '_' (RFC 2782) */
    char qname[1024];
    size_t used = 0;
    const char *p = service;
    while (*p != '\0' && used < sizeof(qname)) {
        size_t n = strcspn(p, ".");
        int w = snprintf(qname + used, sizeof(qname) - used, "%s%.*s.", p[0] == '_' ? "" : "_",
                         (int)n, p);
        if (w < 0)
            break;
        used += (size_t)w;
        p += n;
        if (*p == '.')
            p++;
    }
    if (used < sizeof(qname))
        snprintf(qname + used, sizeof(qname) - used, "_%s.%s", proto, host);
    acat_verbose("service %s: not a number and not in the services database (%s) -> DNS SRV %s",
                 service, proto, qname);
}

static void trace_result(const struct req *rq, const asock_resolve_result *r)
{
    char ebuf[160];
    if (r->error != ASOCK_SUCCESS) {
        acat_verbose("resolution of %s %s failed: %s%s%s", rq->host ? rq->host : "(any)",
                     rq->service ? rq->service : "0", acat_error_text(r->error, ebuf, sizeof(ebuf)),
                     r->detail[0] ? ": " : "", r->detail);
        return;
    }
    if (r->service_source == ASOCK_SERVICE_SRV) {
        size_t i = 0;
        while (i < r->count) {
            const asock_resolve_entry *first = &r->entries[i];
            acat_verbose("SRV target %s port %u (priority %u, weight %u)",
                         first->target ? first->target : "?",
                         (unsigned)asock_endpoint_port(&first->endpoint), (unsigned)first->priority,
                         (unsigned)first->weight);
            char line[1024];
            size_t used = 0;
            line[0] = '\0';
            for (; i < r->count && r->entries[i].group == first->group; i++) {
                char a[80];
                asock_endpoint_format(&r->entries[i].endpoint, a, sizeof(a));
                int w = snprintf(line + used, sizeof(line) - used, "%s%s", used ? ", " : "", a);
                if (w > 0 && (size_t)w < sizeof(line) - used)
                    used += (size_t)w;
            }
            acat_verbose("  A/AAAA %s -> %s", first->target ? first->target : "?", line);
        }
        return;
    }
    char line[1024];
    size_t used = 0;
    line[0] = '\0';
    for (size_t i = 0; i < r->count; i++) {
        char a[80];
        asock_endpoint_format(&r->entries[i].endpoint, a, sizeof(a));
        int w = snprintf(line + used, sizeof(line) - used, "%s%s", used ? ", " : "", a);
        if (w > 0 && (size_t)w < sizeof(line) - used)
            used += (size_t)w;
    }
    asock_endpoint lit;
    if (rq->host == NULL)
        acat_verbose("local wildcard -> %s", line);
    else if (asock_endpoint_ip(&lit, rq->host, 0) == 0)
        acat_verbose("%s is an IP literal (no DNS) -> %s", rq->host, line);
    else
        acat_verbose("A/AAAA %s -> %s", rq->host, line);
}

static void on_resolved(asock_resolve *req, const asock_resolve_result *r, void *user)
{
    (void)req;
    struct req *rq = user;
    trace_result(rq, r);
    struct acat_addrs *a = calloc(1, sizeof(*a));
    if (a != NULL) {
        a->error = r->error;
        a->detail = r->detail; /* static text (resolve.h) */
        if (r->error == ASOCK_SUCCESS && r->count > 0) {
            a->eps = calloc(r->count, sizeof(*a->eps));
            if (a->eps == NULL) {
                a->error = ASOCK_ERR_NO_BUFFER_SPACE_AVAILABLE;
                a->detail = "out of memory";
            } else {
                a->count = r->count;
                for (size_t i = 0; i < r->count; i++)
                    a->eps[i] = r->entries[i].endpoint;
            }
        }
    }
    acat_resolved_fn *cb = rq->cb;
    void *cb_user = rq->user;
    free(rq->host);
    free(rq->service);
    free(rq);
    if (a == NULL) {
        acat_fail(ASOCK_ERR_NO_BUFFER_SPACE_AVAILABLE, NULL, "resolution");
        return;
    }
    if (g_acat.done) {
        acat_addrs_free(a);
        return;
    }
    cb(a, cb_user);
}

static char *dup_or_null(const char *s)
{
    return s != NULL ? strdup(s) : NULL;
}

int acat_resolve(const char *host, const char *service, int family, int socktype, bool passive,
                 uint32_t timeout_ms, acat_resolved_fn *cb, void *user)
{
    struct req *rq = calloc(1, sizeof(*rq));
    if (rq == NULL)
        return -ENOMEM;
    rq->cb = cb;
    rq->user = user;
    rq->host = dup_or_null(host);
    rq->service = dup_or_null(service);
    rq->passive = passive;
    if ((host != NULL && rq->host == NULL) || (service != NULL && rq->service == NULL)) {
        free(rq->host);
        free(rq->service);
        free(rq);
        return -ENOMEM;
    }
    trace_service(host, service, socktype, passive);

    asock_resolve_hints hints;
    memset(&hints, 0, sizeof(hints));
    hints.family = family;
    hints.socktype = socktype;
    hints.flags = passive ? (ASOCK_RESOLVE_PASSIVE | ASOCK_RESOLVE_NO_SRV) : 0u;
    hints.timeout_ms = timeout_ms;
    int rc = asock_resolve_async(g_acat.loop, host, service, &hints, on_resolved, rq, NULL);
    if (rc < 0) {
        free(rq->host);
        free(rq->service);
        free(rq);
    }
    return rc;
}

void acat_addrs_free(struct acat_addrs *a)
{
    if (a == NULL)
        return;
    free(a->eps);
    free(a);
}

bool acat_is_multicast(const asock_endpoint *ep)
{
    socklen_t len = 0;
    const struct sockaddr *sa = asock_endpoint_sockaddr(ep, &len);
    if (sa == NULL)
        return false;
    if (sa->sa_family == AF_INET) {
        const struct sockaddr_in *in4 = (const struct sockaddr_in *)(const void *)sa;
        return IN_MULTICAST(ntohl(in4->sin_addr.s_addr));
    }
    if (sa->sa_family == AF_INET6) {
        const struct sockaddr_in6 *in6 = (const struct sockaddr_in6 *)(const void *)sa;
        return IN6_IS_ADDR_MULTICAST(&in6->sin6_addr);
    }
    return false;
}
