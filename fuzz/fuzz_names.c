/* Host-name and service-name validation, against independent re-statements of the rules:
 *   - asock_endpoint_dns / asock_resolve_async's host check: an IP literal, or a host name
 *     (RFC 1123 §2.1 letters, digits, '-', plus '_' for SRV owner names; labels of 1..63 with no
 *     '-' at either end; at most 253 characters besides one trailing '.');
 *   - asock__service_port: empty / "0" only when the local side allows it, a number 1..65535,
 *     else a service name (labels of letters, digits, '-', '_', each 1..62 long with no '-' at
 *     either end, at least one letter overall) that goes to the services database or to SRV;
 *   - asock__srv_qname: "_a._b._tcp.host" (a label that already starts with '_' keeps it), or
 *     -EINVAL exactly when it does not fit in the buffer.
 * Input: one mode byte, then the host, then the service (NUL-separated). */
#define _GNU_SOURCE 1
#include "fuzz.h"

#include <asock/asock.h>
#include "resolve/resolve_int.h"

#include <errno.h>
#include <stdbool.h>

static bool lab_char(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' ||
           c == '_';
}

/* The host-name rule, written independently of endpoint.c. */
static bool host_name_ok(const char *h)
{
    size_t n = strlen(h);
    if (n > 0 && h[n - 1] == '.')
        n--;
    if (n == 0 || n > 253)
        return false;
    const char *p = h;
    const char *end = h + n;
    while (p < end) {
        const char *q = p;
        while (q < end && *q != '.')
            q++;
        size_t len = (size_t)(q - p);
        if (len == 0 || len > 63 || p[0] == '-' || q[-1] == '-')
            return false;
        for (const char *c = p; c < q; c++) {
            if (!lab_char(*c))
                return false;
        }
        if (q == end)
            break;
        p = q + 1;
        if (p == end)
            return false; /* an empty last label before the one trailing dot */
    }
    return true;
}

/* The service-name rule, written independently of services.c. */
static bool service_name_ok(const char *s)
{
    if (*s == '\0')
        return false;
    bool letter = false;
    const char *p = s;
    for (;;) {
        const char *q = strchr(p, '.');
        size_t len = q != NULL ? (size_t)(q - p) : strlen(p);
        if (len == 0 || len > 62 || p[0] == '-' || p[len - 1] == '-')
            return false;
        for (size_t i = 0; i < len; i++) {
            if (!lab_char(p[i]))
                return false;
            if ((p[i] >= 'a' && p[i] <= 'z') || (p[i] >= 'A' && p[i] <= 'Z'))
                letter = true;
        }
        if (q == NULL)
            break;
        p = q + 1;
    }
    return letter;
}

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

static void check_host(const char *h, int family)
{
    asock_endpoint ep;
    int rc = asock_endpoint_dns(&ep, h, 80, family);
    asock_endpoint lit;
    bool literal = asock_endpoint_ip(&lit, h, 80) == 0;
    bool want = family == AF_UNSPEC || family == AF_INET || family == AF_INET6;
    want = want && (literal || host_name_ok(h));
    if (want != (rc == 0)) {
        fprintf(stderr, "host \"%s\" family %d: asock says %d, the rule says %s\n", h, family, rc,
                want ? "valid" : "invalid");
        abort();
    }
}

/* The SRV owner name as RFC 2782 and the Windows Runtime form it. */
static void expected_qname(char *out, size_t cap, const char *service, int socktype,
                           const char *host)
{
    size_t used = 0;
    out[0] = '\0';
    const char *p = service;
    for (;;) {
        const char *q = strchr(p, '.');
        size_t len = q != NULL ? (size_t)(q - p) : strlen(p);
        used += (size_t)snprintf(out + used, cap - used, "%s%.*s.", p[0] == '_' ? "" : "_",
                                 (int)len, p);
        if (q == NULL)
            break;
        p = q + 1;
    }
    snprintf(out + used, cap - used, "%s.%s", socktype == SOCK_DGRAM ? "_udp" : "_tcp", host);
}

static void check_service(const char *s, const char *host, int socktype, bool allow_zero,
                          size_t qlen)
{
    uint16_t port = 0xbeef;
    int rc = asock__service_port(s, socktype, allow_zero, &port);
    if (s[0] == '\0') {
        FUZZ_CHECK(rc == (allow_zero ? 1 : -EINVAL));
        return;
    }
    if (all_digits(s)) {
        unsigned long v = 0;
        bool big = false;
        for (const char *p = s; *p != '\0' && !big; p++) {
            v = v * 10u + (unsigned long)(*p - '0');
            big = v > 65535u;
        }
        if (big || (v == 0 && !allow_zero)) {
            FUZZ_CHECK(rc == -EINVAL);
        } else {
            FUZZ_CHECK(rc == 1);
            FUZZ_CHECK(port == v);
        }
        return;
    }
    if (!service_name_ok(s)) {
        if (rc != -EINVAL) {
            fprintf(stderr, "service \"%s\": asock says %d, the rule says invalid\n", s, rc);
            abort();
        }
        return;
    }
    if (rc != 0 && rc != 2) {
        fprintf(stderr, "service \"%s\": asock says %d, the rule says valid\n", s, rc);
        abort();
    }
    if (rc == 2)
        return; /* found in the services database: no SRV name needed */

    /* A name for SRV: the owner name fits exactly when asock says it does. */
    if (!host_name_ok(host))
        return;
    char want[1024];
    expected_qname(want, sizeof(want), s, socktype, host);
    char *out = malloc(qlen); /* exact size: ASan sees any overrun */
    FUZZ_CHECK(out != NULL);
    int qr = asock__srv_qname(out, qlen, s, socktype, host);
    if (strlen(want) < qlen) {
        FUZZ_CHECK(qr == 0);
        FUZZ_CHECK(strcmp(out, want) == 0);
    } else {
        FUZZ_CHECK(qr == -EINVAL);
    }
    free(out);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fuzz_in in = {data, size};
    uint8_t mode = fuzz_u8(&in);
    size_t qlen = 1 + (size_t)fuzz_u16(&in) % 400;
    char *host = fuzz_str(&in, 400);
    char *service = fuzz_str(&in, 400);
    static const int fams[] = {AF_UNSPEC, AF_INET, AF_INET6, AF_UNIX};

    check_host(host, fams[mode % 4]);
    check_host(service, AF_UNSPEC);
    check_service(service, host, (mode & 4) != 0 ? SOCK_DGRAM : SOCK_STREAM, (mode & 8) != 0, qlen);
    check_service(host, service, SOCK_STREAM, false, qlen);
    free(host);
    free(service);
    return 0;
}
