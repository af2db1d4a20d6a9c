/* Services: a port number, else the services database (getservbyname_r with the socket's own
 * protocol), else SRV.  c-ares is never handed a service name: it looks every service up as
 * "tcp", so UDP-only services (ntp, syslog) would fail (ecosystem.md §2). */
#include "resolve_int.h"

#include <netdb.h>
#include <stdio.h>

#define DNS_LABEL_MAX     63
#define SERVENT_BUF_START 1024
#define SERVENT_BUF_MAX   (64 * 1024)

static bool all_digits(const char *s)
{
    if (*s == '\0')
        return false;
    for (; *s != '\0'; s++) {
        if (*s < '0' || *s > '9')
            return false;
    }
    return true;
}

/* Letters, digits, '-' and '_' in dot-separated labels, each short enough to take its '_'
 * prefix (RFC 6335 §5.1 names, plus the dotted hierarchical form the Windows Runtime accepts).
 * RFC 6335 §5.1: at least one letter, no hyphen at either end ("-1" is no service). */
static bool valid_name(const char *s)
{
    size_t label = 0;
    bool letter = false;
    char prev = '.';
    for (; *s != '\0'; s++) {
        char c = *s;
        if (c == '.') {
            if (label == 0 || prev == '-')
                return false;
            label = 0;
            prev = c;
            continue;
        }
        bool alpha = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
        if (!alpha && !(c >= '0' && c <= '9') && c != '-' && c != '_')
            return false;
        if (c == '-' && label == 0)
            return false;
        letter = letter || alpha;
        if (++label > DNS_LABEL_MAX - 1)
            return false;
        prev = c;
    }
    return label != 0 && prev != '-' && letter;
}

/* getservbyname_r into a buffer that grows while glibc says ERANGE. */
static int lookup_db(const char *name, const char *proto, uint16_t *port)
{
    char stack_buf[SERVENT_BUF_START];
    char *buf = stack_buf;
    size_t len = sizeof(stack_buf);
    int found = 0;
    for (;;) {
        struct servent ent;
        struct servent *res = NULL;
        int rc = getservbyname_r(name, proto, &ent, buf, len, &res);
        if (rc == ERANGE && len < SERVENT_BUF_MAX) {
            len *= 2;
            char *nb = asock__realloc(buf == stack_buf ? NULL : buf, len);
            if (nb == NULL) {
                found = -ENOMEM;
                break;
            }
            buf = nb;
            continue;
        }
        if (rc == 0 && res != NULL) {
            *port = ntohs((uint16_t)res->s_port); /* s_port is in network byte order */
            found = 1;
        }
        break;
    }
    if (buf != stack_buf)
        asock__free(buf);
    return found;
}

int asock__service_port(const char *service, int socktype, bool allow_zero, uint16_t *port)
{
    if (service == NULL || service[0] == '\0') {
        if (!allow_zero)
            return -EINVAL;
        *port = 0;
        return 1;
    }
    if (all_digits(service)) {
        unsigned long v = 0;
        for (const char *p = service; *p != '\0'; p++) {
            v = v * 10u + (unsigned long)(*p - '0');
            if (v > 65535u)
                return -EINVAL;
        }
        if (v == 0 && !allow_zero)
            return -EINVAL; /* a remote port 0 is never meant (WinRT refuses it too) */
        *port = (uint16_t)v;
        return 1;
    }
    if (!valid_name(service))
        return -EINVAL;
    int rc = lookup_db(service, socktype == SOCK_DGRAM ? "udp" : "tcp", port);
    if (rc < 0)
        return rc;
    return rc == 1 ? 2 : 0;
}

int asock__srv_qname(char *out, size_t len, const char *service, int socktype, const char *host)
{
    /* RFC 2782: _Service._Proto.Name.  Every label of a hierarchical service gets its own '_'
     * (the Windows Runtime: "stun._service01" -> _stun._service01._udp.host); a label that
     * already starts with '_' keeps it. */
    size_t used = 0;
    const char *p = service;
    while (*p != '\0') {
        const char *dot = strchr(p, '.');
        size_t n = dot != NULL ? (size_t)(dot - p) : strlen(p);
        int w = snprintf(out + used, len - used, "%s%.*s.", p[0] == '_' ? "" : "_", (int)n, p);
        if (w < 0 || (size_t)w >= len - used)
            return -EINVAL;
        used += (size_t)w;
        p += n;
        if (*p == '.')
            p++;
    }
    int w =
        snprintf(out + used, len - used, "%s.%s", socktype == SOCK_DGRAM ? "_udp" : "_tcp", host);
    if (w < 0 || (size_t)w >= len - used)
        return -EINVAL;
    return 0;
}

int asock_service_lookup(const char *service, int socktype, int allow_zero, uint16_t *port)
{
    if (service == NULL || port == NULL)
        return -EINVAL;
    if (service[0] == '\0' && !allow_zero)
        return -EINVAL;
    uint16_t p = 0;
    int rc = asock__service_port(service, socktype, allow_zero != 0, &p);
    if (rc < 0)
        return rc == -ENOMEM ? -ENOMEM : -EINVAL;
    if (rc == 0)
        return ASOCK_SERVICE_SRV;
    *port = p;
    return rc == 1 ? ASOCK_SERVICE_NUMBER : ASOCK_SERVICE_DATABASE;
}
