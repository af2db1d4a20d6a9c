/* Endpoints: caller-owned values holding an IP sockaddr, or a host name + port + family.
 * Nothing here touches the network: IP literals are parsed with inet_pton, and only a scope id
 * given as an interface name asks the kernel for its index (if_nametoindex). */
#include "internal.h"

#include <arpa/inet.h>
#include <net/if.h>
#include <stdio.h>

/* Longest literal accepted: an IPv6 address plus "%" and an interface name or a 10-digit index. */
#define ADDR_MAX (INET6_ADDRSTRLEN + 1 + IF_NAMESIZE + 10)

/* DNS name limits (RFC 1035 §2.3.4): 253 characters of text (255 octets on the wire), and labels
 * of 1..63 characters. */
#define DNS_NAME_MAX  253
#define DNS_LABEL_MAX 63

/* A scope id after '%': a decimal interface index or an interface name.  0 if it is neither. */
static uint32_t parse_scope(const char *s)
{
    if (*s == '\0')
        return 0;
    if (*s >= '0' && *s <= '9') {
        uint64_t v = 0;
        for (const char *p = s; *p != '\0'; p++) {
            if (*p < '0' || *p > '9')
                return 0;
            v = v * 10u + (uint64_t)(*p - '0');
            if (v > UINT32_MAX)
                return 0;
        }
        return (uint32_t)v;
    }
    return if_nametoindex(s);
}

/* Parses an IPv6 literal with an optional "%scope" into ep (already zeroed). */
static int parse_ip6(asock_endpoint *ep, const char *literal, uint16_t port)
{
    char addr[ADDR_MAX + 1];
    size_t n = strlen(literal);
    if (n > ADDR_MAX)
        return -EINVAL;
    memcpy(addr, literal, n + 1);

    uint32_t scope = 0;
    char *pct = strchr(addr, '%');
    if (pct != NULL) {
        *pct = '\0';
        scope = parse_scope(pct + 1);
        if (scope == 0)
            return -EINVAL;
    }
    struct sockaddr_in6 *in6 = &ep->ip.in6;
    if (inet_pton(AF_INET6, addr, &in6->sin6_addr) != 1)
        return -EINVAL;
    in6->sin6_family = AF_INET6;
    in6->sin6_port = htons(port);
    in6->sin6_scope_id = scope;
    return 0;
}

int asock_endpoint_ip(asock_endpoint *ep, const char *address_literal, uint16_t port)
{
    if (ep == NULL)
        return -EINVAL;
    memset(ep, 0, sizeof(*ep));
    if (address_literal == NULL || address_literal[0] == '\0')
        return -EINVAL;

    int rc;
    if (strchr(address_literal, ':') != NULL) {
        rc = parse_ip6(ep, address_literal, port);
    } else {
        /* inet_pton takes only the four-part dotted quad; inet_aton's "1.2.3" or "0x7f.1" forms
         * are not addresses anyone means to write here. */
        struct sockaddr_in *in4 = &ep->ip.in4;
        rc = inet_pton(AF_INET, address_literal, &in4->sin_addr) == 1 ? 0 : -EINVAL;
        in4->sin_family = AF_INET;
        in4->sin_port = htons(port);
    }
    if (rc != 0) {
        memset(ep, 0, sizeof(*ep));
        return rc;
    }
    ep->kind = ASOCK_ENDPOINT_IP;
    return 0;
}

static bool is_label_char(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' ||
           c == '_';
}

/* Host name syntax (RFC 1123 §2.1), plus '_' for SRV-style owner names (RFC 2782). */
static bool is_dns_name(const char *host)
{
    size_t n = strlen(host);
    if (n > 0 && host[n - 1] == '.')
        n--; /* a fully qualified name's trailing dot does not count */
    if (n == 0 || n > DNS_NAME_MAX)
        return false;

    size_t start = 0;
    while (start < n) {
        size_t end = start;
        while (end < n && host[end] != '.') {
            if (!is_label_char(host[end]))
                return false;
            end++;
        }
        size_t label = end - start;
        if (label == 0 || label > DNS_LABEL_MAX)
            return false;
        if (host[start] == '-' || host[end - 1] == '-')
            return false;
        if (end == n)
            return true;
        start = end + 1;
        if (start == n)
            return false; /* "a..": an empty label before the counted end */
    }
    return true;
}

int asock_endpoint_dns(asock_endpoint *ep, const char *host, uint16_t port, int family)
{
    if (ep == NULL)
        return -EINVAL;
    memset(ep, 0, sizeof(*ep));
    if (host == NULL || host[0] == '\0')
        return -EINVAL;
    if (family != AF_UNSPEC && family != AF_INET && family != AF_INET6)
        return -EINVAL;

    /* An IP literal is kept as a DNS endpoint too: the resolver answers literals itself. */
    if (!is_dns_name(host)) {
        asock_endpoint literal;
        if (asock_endpoint_ip(&literal, host, port) != 0)
            return -EINVAL;
    }
    ep->kind = ASOCK_ENDPOINT_DNS;
    ep->dns.host = host;
    ep->dns.port = port;
    ep->dns.family = family;
    return 0;
}

int asock_endpoint_from_sockaddr(asock_endpoint *ep, const struct sockaddr *sa, socklen_t len)
{
    if (ep == NULL)
        return -EINVAL;
    memset(ep, 0, sizeof(*ep));
    if (sa == NULL)
        return -EINVAL;

    switch (sa->sa_family) {
    case AF_INET:
        if (len < sizeof(struct sockaddr_in))
            return -EINVAL;
        memcpy(&ep->ip.in4, sa, sizeof(struct sockaddr_in));
        memset(ep->ip.in4.sin_zero, 0, sizeof(ep->ip.in4.sin_zero));
        break;
    case AF_INET6:
        if (len < sizeof(struct sockaddr_in6))
            return -EINVAL;
        memcpy(&ep->ip.in6, sa, sizeof(struct sockaddr_in6));
        break;
    default:
        return -EAFNOSUPPORT;
    }
    ep->kind = ASOCK_ENDPOINT_IP;
    return 0;
}

int asock_endpoint_format(const asock_endpoint *ep, char *buf, size_t len)
{
    if (ep == NULL || (buf == NULL && len > 0))
        return -EINVAL;

    int n;
    if (ep->kind == ASOCK_ENDPOINT_IP && ep->ip.sa.sa_family == AF_INET) {
        char addr[INET_ADDRSTRLEN];
        if (inet_ntop(AF_INET, &ep->ip.in4.sin_addr, addr, sizeof(addr)) == NULL)
            return -EINVAL;
        n = snprintf(buf, len, "%s:%u", addr, (unsigned)ntohs(ep->ip.in4.sin_port));
    } else if (ep->kind == ASOCK_ENDPOINT_IP && ep->ip.sa.sa_family == AF_INET6) {
        char addr[INET6_ADDRSTRLEN];
        if (inet_ntop(AF_INET6, &ep->ip.in6.sin6_addr, addr, sizeof(addr)) == NULL)
            return -EINVAL;
        uint32_t scope = ep->ip.in6.sin6_scope_id;
        unsigned port = ntohs(ep->ip.in6.sin6_port);
        char ifname[IF_NAMESIZE];
        if (scope == 0)
            n = snprintf(buf, len, "[%s]:%u", addr, port);
        else if (if_indextoname(scope, ifname) != NULL)
            n = snprintf(buf, len, "[%s%%%s]:%u", addr, ifname, port);
        else /* the interface is gone (or in another namespace): keep the number */
            n = snprintf(buf, len, "[%s%%%u]:%u", addr, (unsigned)scope, port);
    } else if (ep->kind == ASOCK_ENDPOINT_DNS && ep->dns.host != NULL) {
        /* An IPv6 literal kept as a DNS host needs brackets to keep its port apart. */
        if (strchr(ep->dns.host, ':') != NULL)
            n = snprintf(buf, len, "[%s]:%u", ep->dns.host, (unsigned)ep->dns.port);
        else
            n = snprintf(buf, len, "%s:%u", ep->dns.host, (unsigned)ep->dns.port);
    } else {
        return -EINVAL;
    }
    return n < 0 ? -EINVAL : n;
}

int asock_endpoint_family(const asock_endpoint *ep)
{
    if (ep == NULL)
        return AF_UNSPEC;
    switch (ep->kind) {
    case ASOCK_ENDPOINT_IP:
        return ep->ip.sa.sa_family;
    case ASOCK_ENDPOINT_DNS:
        return ep->dns.family;
    default:
        return AF_UNSPEC;
    }
}

uint16_t asock_endpoint_port(const asock_endpoint *ep)
{
    if (ep == NULL)
        return 0;
    if (ep->kind == ASOCK_ENDPOINT_DNS)
        return ep->dns.port;
    if (ep->kind != ASOCK_ENDPOINT_IP)
        return 0;
    /* sin_port and sin6_port sit at the same offset, but say which one is meant. */
    if (ep->ip.sa.sa_family == AF_INET)
        return ntohs(ep->ip.in4.sin_port);
    if (ep->ip.sa.sa_family == AF_INET6)
        return ntohs(ep->ip.in6.sin6_port);
    return 0;
}

const struct sockaddr *asock_endpoint_sockaddr(const asock_endpoint *ep, socklen_t *len)
{
    socklen_t n = 0;
    const struct sockaddr *sa = NULL;
    if (ep != NULL && ep->kind == ASOCK_ENDPOINT_IP) {
        if (ep->ip.sa.sa_family == AF_INET) {
            sa = &ep->ip.sa;
            n = sizeof(struct sockaddr_in);
        } else if (ep->ip.sa.sa_family == AF_INET6) {
            sa = &ep->ip.sa;
            n = sizeof(struct sockaddr_in6);
        }
    }
    if (len != NULL)
        *len = n;
    return sa;
}

int asock_endpoint_equal(const asock_endpoint *a, const asock_endpoint *b)
{
    if (a == NULL || b == NULL || a->kind != ASOCK_ENDPOINT_IP || b->kind != ASOCK_ENDPOINT_IP)
        return 0;
    if (a->ip.sa.sa_family != b->ip.sa.sa_family)
        return 0;
    if (a->ip.sa.sa_family == AF_INET) {
        const struct sockaddr_in *x = &a->ip.in4;
        const struct sockaddr_in *y = &b->ip.in4;
        return x->sin_addr.s_addr == y->sin_addr.s_addr && x->sin_port == y->sin_port;
    }
    if (a->ip.sa.sa_family == AF_INET6) {
        /* flowinfo is not part of the endpoint's identity */
        const struct sockaddr_in6 *x = &a->ip.in6;
        const struct sockaddr_in6 *y = &b->ip.in6;
        return memcmp(&x->sin6_addr, &y->sin6_addr, sizeof(x->sin6_addr)) == 0 &&
               x->sin6_port == y->sin6_port && x->sin6_scope_id == y->sin6_scope_id;
    }
    return 0;
}
