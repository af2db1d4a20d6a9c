/* The resolve layer's internals: c-ares on the loop (resolver.c), the services database
 * (services.c), RFC 2782 SRV ordering (srv.c), host lookups shared by asock_resolve_async
 * (resolve.c) and connect by name (connect_name.c).
 *
 * Only src/resolve includes <ares.h>. */
#ifndef ASOCK_RESOLVE_RESOLVE_INT_H
#define ASOCK_RESOLVE_RESOLVE_INT_H

#include "../core/internal.h"

#include <ares.h>

/* ---- the per-loop resolver (resolver.c) ---- */

struct asock__resolver;

/* The loop's resolver state, created on first use (no c-ares channel yet).  NULL on ENOMEM. */
ASOCK__HIDDEN struct asock__resolver *asock__resolver_get(asock_loop *loop);

/* The SocketError of a c-ares status on this loop: as asock__ares_error, except that a query
 * that failed because no socket could be opened (the descriptor limit) is TOO_MANY_OPEN_SOCKETS
 * (then *detail, when detail is not NULL, says so). */
ASOCK__HIDDEN asock_socket_error asock__resolver_error(asock_loop *loop, int status,
                                                       const char **detail);

/* A random uint32_t from the loop's source (asock_resolve_set_random). */
ASOCK__HIDDEN uint32_t asock__resolver_random(struct asock__resolver *r);

/* The detail text of a channel that could not be made, or NULL. */
ASOCK__HIDDEN const char *asock__resolver_init_detail(asock_loop *loop);

/* Something that the resolver must abort when the loop is freed (before the sockets close). */
struct asock__rlive {
    struct asock__qnode node;
    void (*abort)(struct asock__rlive *l);
};

ASOCK__HIDDEN void asock__resolver_track(struct asock__resolver *r, struct asock__rlive *l);
ASOCK__HIDDEN void asock__resolver_untrack(struct asock__rlive *l);
/* 1 once the loop is being freed: nothing new may start. */
ASOCK__HIDDEN bool asock__resolver_closing(const struct asock__resolver *r);

/* The service of the connect-by-service call in progress (see connect_name.c). */
ASOCK__HIDDEN const char **asock__resolver_service_slot(struct asock__resolver *r);

/* ---- DNS queries ("tickets") ----
 * A ticket is one c-ares query.  Its answer is delivered from a loop task: never inside the call
 * that started it and never inside c-ares.  c-ares 1.18 cannot cancel a single query, so an owner
 * that loses interest abandons the ticket: the query runs on and its answer is dropped.  The data
 * handed to fn is freed when fn returns. */
struct asock__dns_ticket;
typedef void asock__dns_addr_fn(void *owner, int status, const struct ares_addrinfo *ai);
typedef void asock__dns_srv_fn(void *owner, int status, const struct ares_srv_reply *srv);

/* A/AAAA (family AF_INET or AF_INET6; hosts file first, then DNS).  0 or -ENOMEM. */
ASOCK__HIDDEN int asock__dns_addrinfo(asock_loop *loop, const char *name, int family,
                                      asock__dns_addr_fn *fn, void *owner,
                                      struct asock__dns_ticket **out);
/* SRV for the fully qualified qname (no search list).  0 or -ENOMEM. */
ASOCK__HIDDEN int asock__dns_srv(asock_loop *loop, const char *qname, asock__dns_srv_fn *fn,
                                 void *owner, struct asock__dns_ticket **out);
/* fn will not be called for t (NULL is fine). */
ASOCK__HIDDEN void asock__dns_abandon(struct asock__dns_ticket *t);

/* c-ares status -> SocketError (errors.md), and a static name ("ENOTFOUND"). */
ASOCK__HIDDEN asock_socket_error asock__ares_error(int status);
ASOCK__HIDDEN const char *asock__ares_name(int status);

/* ---- services (services.c) ---- */

/* Resolves a service to a port without the network: a number, then the services database for
 * the socket type's protocol ("udp" for SOCK_DGRAM, else "tcp").
 * Returns 1 (numeric) or 2 (database) with *port set, 0 when the service must go to SRV, or
 * -EINVAL (empty, "0" without allow_zero, a number out of range, not a valid service name). */
ASOCK__HIDDEN int asock__service_port(const char *service, int socktype, bool allow_zero,
                                      uint16_t *port);

/* The SRV owner name _a._b._proto.host for service "a.b" (RFC 2782, hierarchical services as
 * the Windows Runtime forms them).  0 or -EINVAL (too long). */
ASOCK__HIDDEN int asock__srv_qname(char *out, size_t len, const char *service, int socktype,
                                   const char *host);

/* ---- SRV ordering (srv.c, pure) ---- */

struct asock__srv_rec {
    const char *target; /* "" for the root (".") */
    uint16_t priority;
    uint16_t weight;
    uint16_t port;
};

/* Orders recs in place by RFC 2782 (§ "Usage rules"): priority ascending, and within one
 * priority a weighted random choice, one record at a time, with weight-0 records placed first
 * in each draw.  rnd is called once per draw in a group of more than one record.
 * Returns the number of usable records (records with target "." are dropped when others exist),
 * or -ENOENT when the answer says the service is decidedly not available (a lone ".").  */
ASOCK__HIDDEN int asock__srv_order(struct asock__srv_rec *recs, size_t n, asock_random_fn *rnd,
                                   void *user);

/* ---- host lookups (resolve.c) ----
 * One name, one or both families (two separate c-ares queries: one AF_UNSPEC query would wait
 * for both, RFC 8305 §3).  An IP literal is answered without traffic.  Results arrive per
 * family, from the loop. */
struct asock__hostlookup;
typedef void asock__hostlookup_fn(struct asock__hostlookup *hl, int family);

enum {
    ASOCK__HL_V6 = 0,
    ASOCK__HL_V4 = 1
};

struct asock__hostlookup {
    asock_loop *loop;
    asock__hostlookup_fn *fn; /* after each family's answer (hl->status[i] set) */
    void *owner;
    struct asock__dns_ticket *ticket[2];
    bool asked[2];
    bool done[2];
    int status[2];            /* ARES_* per family */
    asock_endpoint *addrs[2]; /* port 0 */
    size_t naddrs[2];
    struct asock__task literal_task; /* delivers a literal's answer */
    bool literal_pending;
    bool stopped;
};

/* Starts a lookup of name for family (AF_UNSPEC: both).  fn(hl, family) runs once per family
 * asked, never inside this call.  0 or -ENOMEM. */
ASOCK__HIDDEN int asock__hostlookup_start(struct asock__hostlookup *hl, asock_loop *loop,
                                          const char *name, int family, asock__hostlookup_fn *fn,
                                          void *owner);
/* Stops callbacks and frees the addresses (safe to repeat, also from inside fn). */
ASOCK__HIDDEN void asock__hostlookup_stop(struct asock__hostlookup *hl);
ASOCK__HIDDEN bool asock__hostlookup_finished(const struct asock__hostlookup *hl);
/* The combined status once finished: SUCCESS if any family has an address, else the most
 * telling failure (NXDOMAIN, then temporary failures, then NODATA). */
ASOCK__HIDDEN int asock__hostlookup_status(const struct asock__hostlookup *hl);

/* RFC 6724 rule 1 across families: true when the system has a route to a (a UDP connect
 * probe, no packet sent). */
ASOCK__HIDDEN bool asock__addr_routable(const asock_endpoint *a);

#endif
