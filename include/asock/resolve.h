/* asock — name and service resolution (included by <asock/asock.h>; do not include directly).
 *
 * Resolution never blocks the loop and never uses a thread: host names go to c-ares, driven by
 * the loop's engine (one resolver channel per loop, created on first use, configured from
 * asock_loop_options.dns_servers / dns_timeout_ms / dns_tries, else from the system's
 * /etc/resolv.conf and /etc/hosts).
 *
 * A service is resolved in this order (the Windows Runtime's order, SPEC D3):
 *   1. a number 1..65535 is the port (0, "" or NULL only with ASOCK_RESOLVE_PASSIVE);
 *   2. a name in the services database (getservbyname_r with "tcp", or "udp" for
 *      SOCK_DGRAM hints: UDP-only services such as ntp resolve only for datagrams);
 *   3. any other name is a DNS SRV query for _SERVICE._tcp.HOST (_udp for SOCK_DGRAM; a
 *      hierarchical service "a.b" becomes _a._b._udp.HOST), ordered by RFC 2782 (priority, then
 *      weighted random within a priority; see asock_resolve_set_random).  The addresses of each
 *      SRV target follow one another, in that order, each with the port of its record.
 */
#ifndef ASOCK_RESOLVE_H
#define ASOCK_RESOLVE_H

#ifndef ASOCK_ASOCK_H
#error "include <asock/asock.h>, not <asock/resolve.h>"
#endif

#ifdef __cplusplus
extern "C" {
#endif

typedef struct asock_resolve asock_resolve;

/* asock_resolve_hints.flags:
 *   NO_SRV        a service must be a number or a services-database name; never ask DNS for SRV
 *   PASSIVE       the local side: a NULL host gives the wildcard addresses, and a NULL, "" or "0"
 *                 service port 0 (the system picks)
 *   NUMERIC_HOST  the host must be an IP literal: no DNS at all */
#define ASOCK_RESOLVE_NO_SRV       0x01u
#define ASOCK_RESOLVE_PASSIVE      0x02u
#define ASOCK_RESOLVE_NUMERIC_HOST 0x04u

/* Zero-initialise, then set what you need (NULL hints = all defaults). */
typedef struct asock_resolve_hints {
    int family;            /* AF_UNSPEC (both, RFC 8305 order), AF_INET or AF_INET6 */
    int socktype;          /* SOCK_STREAM (also 0): "tcp" / "_tcp"; SOCK_DGRAM: "udp" / "_udp" */
    unsigned flags;        /* ASOCK_RESOLVE_* */
    uint32_t timeout_ms;   /* bound on the whole resolution (TIMED_OUT when it passes); 0: only
                              the resolver's own timeout and tries */
    uint32_t reserved_[4]; /* keep zero */
} asock_resolve_hints;

/* Where a result's port came from. */
typedef enum asock_service_source {
    ASOCK_SERVICE_NUMBER = 0, /* the service was a port number */
    ASOCK_SERVICE_DATABASE,   /* the services database */
    ASOCK_SERVICE_SRV         /* a DNS SRV record */
} asock_service_source;

/* One candidate endpoint, with the server it belongs to. */
typedef struct asock_resolve_entry {
    asock_endpoint endpoint; /* an IP endpoint, port included */
    const char *target;      /* the host name resolved for it: the SRV target, or the host
                                asked for (an IP literal as given; NULL for PASSIVE wildcards) */
    unsigned group;          /* index of its server: entries of one SRV target share a group
                                (always 0 without SRV) */
    uint16_t priority;       /* the SRV record's priority and weight (0 without SRV) */
    uint16_t weight;
} asock_resolve_entry;

/* The outcome, handed to the callback.  Everything it points to is valid during the callback
 * only: copy what you keep. */
typedef struct asock_resolve_result {
    asock_socket_error error; /* ASOCK_SUCCESS; HOST_NOT_FOUND (no such name, no such service,
                                 an SRV target "."), NO_DATA (the name has no address of the
                                 family asked for), TRY_AGAIN (timeout, server failure),
                                 NO_RECOVERY (refused, malformed answer, bad dns_servers),
                                 TIMED_OUT (hints.timeout_ms), OPERATION_ABORTED (cancelled,
                                 loop freed), NO_BUFFER_SPACE_AVAILABLE (out of memory) */
    int resolver_code;        /* the c-ares status (ARES_ENOTFOUND = 4, ...) behind error, or 0 */
    const char *detail;       /* static text ("c-ares: ENOTFOUND (A/AAAA nosuch.test)"); never
                                 NULL, "" on success */
    asock_service_source service_source;
    size_t count;                       /* > 0 exactly when error is ASOCK_SUCCESS */
    const asock_resolve_entry *entries; /* best first (see the header comment) */
} asock_resolve_result;

/* The completion callback: runs exactly once per started request, on the loop thread, from
 * asock_loop_run (or asock_loop_free), never inside asock_resolve_async.  req is released when
 * the callback returns. */
typedef void asock_resolve_fn(asock_resolve *req, const asock_resolve_result *result, void *user);

/* Resolves host + service into an ordered list of endpoints (the Windows Runtime's
 * GetEndpointPairsAsync; the layers use the same machinery to connect by name).
 *   host:    a DNS name or an IP literal ("127.0.0.1", "::1", "fe80::1%lo"); NULL only with
 *            ASOCK_RESOLVE_PASSIVE (the wildcard addresses).  A literal needs no network traffic.
 *   service: see the header comment.
 *   hints:   may be NULL.
 * Returns 0 (started: cb runs later, exactly once; *out_req, if out_req is not NULL, is the
 * request, valid until its callback returns), or refuses with no callback:
 *   -EINVAL  NULL loop or cb, an empty host, a host that is neither a name nor a literal, a
 *            service that is empty / "0" (without PASSIVE) / a number above 65535 / not a valid
 *            service name, a literal with NUMERIC_HOST unmet, bad hints;
 *   -ENOMEM  out of memory.
 * Even an IP literal with a numeric service completes through the callback, from the loop.
 * Thread: loop thread only. */
ASOCK_EXTERN int asock_resolve_async(asock_loop *loop, const char *host, const char *service,
                                     const asock_resolve_hints *hints, asock_resolve_fn *cb,
                                     void *user, asock_resolve **out_req);

/* Cancels req: its callback runs (later, from the loop) with ASOCK_ERR_OPERATION_ABORTED, unless
 * the result was already decided (then it is delivered unchanged).  No effect on NULL or from
 * inside req's own callback.  DNS queries already sent are left to finish or time out inside the
 * resolver (c-ares 1.18 cannot cancel one query); their answers are dropped.
 * Thread: loop thread only. */
ASOCK_EXTERN void asock_resolve_cancel(asock_resolve *req);

/* The random source of RFC 2782 weighted selection: any uint32_t, uniformly distributed.  The
 * default is a per-loop generator seeded from getrandom(2).  Tests inject a fixed sequence to
 * make SRV order deterministic. */
typedef uint32_t asock_random_fn(void *user);

/* Sets loop's random source (fn NULL restores the default).  0 or -EINVAL/-ENOMEM.
 * Thread: loop thread only. */
ASOCK_EXTERN int asock_resolve_set_random(asock_loop *loop, asock_random_fn *fn, void *user);

/* How a service string resolves, without the network (the same rules asock_resolve_async and
 * the datagram layer use): a number 1..65535 (ASOCK_SERVICE_NUMBER), else the services database
 * for socktype's protocol, "udp" for SOCK_DGRAM and "tcp" otherwise (ASOCK_SERVICE_DATABASE);
 * *port (host byte order) is set in both cases.  A valid name found in neither would be a DNS
 * SRV query (ASOCK_SERVICE_SRV; *port untouched).  With allow_zero, "" and "0" mean port 0 (the
 * local side: the system picks).  Returns the asock_service_source, or -EINVAL (NULL, empty,
 * "0" without allow_zero, a number above 65535, not a valid service name).  Thread-safe. */
ASOCK_EXTERN int asock_service_lookup(const char *service, int socktype, int allow_zero,
                                      uint16_t *port);

/* The resolver's SocketError for a c-ares status (errors.md): ARES_ENOTFOUND -> HOST_NOT_FOUND,
 * ARES_ENODATA -> NO_DATA, ARES_ETIMEOUT / ARES_ESERVFAIL / ARES_ECONNREFUSED -> TRY_AGAIN
 * (c-ares 1.18 reports a server's SERVFAIL and REFUSED answers as ARES_ECONNREFUSED), ARES_EREFUSED
 * / ARES_EFORMERR -> NO_RECOVERY, ARES_SUCCESS -> SUCCESS, ... */
ASOCK_EXTERN asock_socket_error asock_resolve_error_from_status(int resolver_code);

/* ---- connect by host name + service name ----
 * asock_connect_async with a DNS endpoint takes a port number.  These take a service name as
 * well (number, services database or SRV, as above; the protocol comes from the socket type).
 * With SRV, the targets are tried in RFC 2782 order, each with Happy Eyeballs (RFC 8305) over its
 * addresses, falling through to the next target when one fails.  Everything else is
 * asock_connect_async / asock_loop_connect_async with a DNS endpoint (S12): e->remote_endpoint
 * is ignored and left as it was; connect_socket, connect_by_name_error, connect_timeout_ms
 * (covering resolution and attempts) and asock_cancel_connect_async work the same.
 * host and service are copied.  Returns 1 pending, 0 completed synchronously, or the refusals
 * of asock_connect_async plus -EINVAL for a bad host or service.  Thread: loop thread only. */
ASOCK_EXTERN int asock_connect_service_async(asock_socket *s, const char *host, const char *service,
                                             asock_args *e);
ASOCK_EXTERN int asock_loop_connect_service_async(asock_loop *loop, int type, int protocol,
                                                  const char *host, const char *service,
                                                  asock_args *e);

#ifdef __cplusplus
}
#endif

#endif /* ASOCK_RESOLVE_H */
