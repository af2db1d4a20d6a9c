/* Endpoint literals and formatting: asock_endpoint_ip, asock_endpoint_dns,
 * asock_endpoint_from_sockaddr and asock_endpoint_format.
 *
 * Input: two bytes of port, one byte of mode, then a string (up to a NUL).  The rest of the input
 * is also taken as raw sockaddr bytes.
 *
 * Checks: a refused literal leaves the endpoint NONE with -EINVAL; an accepted one agrees with
 * inet_pton (without a scope) and keeps its port; formatting returns what snprintf would, never
 * writes past len (buffers of exact size, so ASan sees a one-byte overrun), always NUL-terminates;
 * the formatted address parses back to an equal endpoint; asock_endpoint_dns accepts every
 * literal asock_endpoint_ip accepts and formats "host:port" / "[host]:port". */
#define _GNU_SOURCE 1
#include "fuzz.h"

#include <asock/asock.h>

#include <arpa/inet.h>
#include <errno.h>

/* Formats ep into buffers of every size from 0 to the full length + 1 and checks they agree.
 * Returns the full text (heap) or NULL when format refused. */
static char *format_all(const asock_endpoint *ep)
{
    int need = asock_endpoint_format(ep, NULL, 0);
    if (need < 0) {
        FUZZ_CHECK(need == -EINVAL);
        return NULL;
    }
    FUZZ_CHECK(need < 4096);
    char *full = malloc((size_t)need + 1);
    FUZZ_CHECK(full != NULL);
    FUZZ_CHECK(asock_endpoint_format(ep, full, (size_t)need + 1) == need);
    FUZZ_CHECK(strlen(full) == (size_t)need);
    /* shorter buffers: the same return value, a NUL-terminated prefix, no overrun */
    for (size_t len = 1; len <= (size_t)need; len++) {
        char *b = malloc(len);
        FUZZ_CHECK(b != NULL);
        FUZZ_CHECK(asock_endpoint_format(ep, b, len) == need);
        FUZZ_CHECK(strlen(b) == len - 1);
        FUZZ_CHECK(memcmp(b, full, len - 1) == 0);
        free(b);
    }
    return full;
}

/* "[addr%scope]:port" / "addr:port" -> the address part (in place). */
static char *address_part(char *text)
{
    char *colon = strrchr(text, ':');
    FUZZ_CHECK(colon != NULL);
    *colon = '\0';
    if (text[0] == '[') {
        size_t n = strlen(text);
        FUZZ_CHECK(n >= 2 && text[n - 1] == ']');
        text[n - 1] = '\0';
        return text + 1;
    }
    return text;
}

static void check_ip(const char *s, uint16_t port)
{
    asock_endpoint ep;
    memset(&ep, 0xa5, sizeof(ep));
    int rc = asock_endpoint_ip(&ep, s, port);
    if (rc != 0) {
        FUZZ_CHECK(rc == -EINVAL);
        FUZZ_CHECK(ep.kind == ASOCK_ENDPOINT_NONE);
        FUZZ_CHECK(asock_endpoint_port(&ep) == 0);
        FUZZ_CHECK(asock_endpoint_family(&ep) == AF_UNSPEC);
        /* without a scope, what inet_pton refuses asock refuses too, and the other way round */
        if (strchr(s, '%') == NULL && s[0] != '\0') {
            unsigned char buf[16];
            int fam = strchr(s, ':') != NULL ? AF_INET6 : AF_INET;
            FUZZ_CHECK(inet_pton(fam, s, buf) != 1);
        }
        return;
    }
    FUZZ_CHECK(ep.kind == ASOCK_ENDPOINT_IP);
    int fam = asock_endpoint_family(&ep);
    FUZZ_CHECK(fam == (strchr(s, ':') != NULL ? AF_INET6 : AF_INET));
    FUZZ_CHECK(asock_endpoint_port(&ep) == port);
    socklen_t len = 0;
    const struct sockaddr *sa = asock_endpoint_sockaddr(&ep, &len);
    FUZZ_CHECK(sa != NULL);
    FUZZ_CHECK(len == (fam == AF_INET ? sizeof(struct sockaddr_in) : sizeof(struct sockaddr_in6)));
    FUZZ_CHECK(asock_endpoint_equal(&ep, &ep) == 1);
    if (strchr(s, '%') == NULL) {
        unsigned char buf[16];
        FUZZ_CHECK(inet_pton(fam, s, buf) == 1);
        const void *addr =
            fam == AF_INET ? (const void *)&ep.ip.in4.sin_addr : (const void *)&ep.ip.in6.sin6_addr;
        FUZZ_CHECK(memcmp(buf, addr, fam == AF_INET ? 4 : 16) == 0);
    }

    /* format, then parse the address back */
    char *text = format_all(&ep);
    FUZZ_CHECK(text != NULL);
    asock_endpoint back;
    FUZZ_CHECK(asock_endpoint_ip(&back, address_part(text), port) == 0);
    FUZZ_CHECK(asock_endpoint_equal(&ep, &back) == 1);
    free(text);

    /* a literal is a valid DNS endpoint host too (the resolver answers it itself) */
    asock_endpoint dns;
    FUZZ_CHECK(asock_endpoint_dns(&dns, s, port, AF_UNSPEC) == 0);

    /* and the sockaddr goes round through from_sockaddr */
    asock_endpoint again;
    FUZZ_CHECK(asock_endpoint_from_sockaddr(&again, sa, len) == 0);
    FUZZ_CHECK(asock_endpoint_equal(&ep, &again) == 1);
    FUZZ_CHECK(asock_endpoint_from_sockaddr(&again, sa, len - 1) == -EINVAL);
}

static void check_dns(const char *s, uint16_t port, int family)
{
    asock_endpoint ep;
    memset(&ep, 0x5a, sizeof(ep));
    int rc = asock_endpoint_dns(&ep, s, port, family);
    if (rc != 0) {
        FUZZ_CHECK(rc == -EINVAL);
        FUZZ_CHECK(ep.kind == ASOCK_ENDPOINT_NONE);
        return;
    }
    FUZZ_CHECK(ep.kind == ASOCK_ENDPOINT_DNS);
    FUZZ_CHECK(ep.dns.host == s); /* not copied */
    FUZZ_CHECK(asock_endpoint_port(&ep) == port);
    FUZZ_CHECK(asock_endpoint_family(&ep) == family);
    FUZZ_CHECK(asock_endpoint_sockaddr(&ep, NULL) == NULL);
    char *text = format_all(&ep);
    FUZZ_CHECK(text != NULL);
    char want[600];
    snprintf(want, sizeof(want), strchr(s, ':') != NULL ? "[%s]:%u" : "%s:%u", s, (unsigned)port);
    FUZZ_CHECK(strcmp(text, want) == 0);
    free(text);
}

static void check_sockaddr(const uint8_t *raw, size_t n)
{
    struct sockaddr_storage ss;
    memset(&ss, 0, sizeof(ss));
    size_t take = n < sizeof(ss) ? n : sizeof(ss);
    memcpy(&ss, raw, take);
    /* steer the family toward the two that parse, but keep the others too */
    if (take > 0) {
        static const sa_family_t fams[] = {AF_INET, AF_INET6, AF_UNSPEC, AF_UNIX};
        ss.ss_family = fams[raw[0] % 4];
    }
    asock_endpoint ep;
    int rc = asock_endpoint_from_sockaddr(&ep, (struct sockaddr *)&ss, (socklen_t)take);
    if (rc != 0) {
        FUZZ_CHECK(rc == -EINVAL || rc == -EAFNOSUPPORT);
        FUZZ_CHECK(ep.kind == ASOCK_ENDPOINT_NONE);
        return;
    }
    char *text = format_all(&ep);
    FUZZ_CHECK(text != NULL);
    asock_endpoint back;
    /* an IPv4 endpoint or an IPv6 one whose scope is a number or a live interface parses back */
    FUZZ_CHECK(asock_endpoint_ip(&back, address_part(text), asock_endpoint_port(&ep)) == 0);
    if (asock_endpoint_family(&ep) == AF_INET6)
        back.ip.in6.sin6_flowinfo = ep.ip.in6.sin6_flowinfo; /* not part of the text */
    FUZZ_CHECK(asock_endpoint_equal(&ep, &back) == 1);
    free(text);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fuzz_in in = {data, size};
    uint16_t port = fuzz_u16(&in);
    uint8_t mode = fuzz_u8(&in);
    const uint8_t *raw = in.p;
    size_t raw_n = in.n;
    char *s = fuzz_str(&in, 512);
    static const int fams[] = {AF_UNSPEC, AF_INET, AF_INET6, AF_UNIX};

    check_ip(s, port);
    check_dns(s, port, fams[mode % 4]);
    if ((mode & 4) != 0)
        check_sockaddr(raw, raw_n);

    /* NULL and empty inputs are refused, never crash */
    asock_endpoint ep;
    FUZZ_CHECK(asock_endpoint_ip(&ep, NULL, port) == -EINVAL);
    FUZZ_CHECK(asock_endpoint_dns(&ep, NULL, port, AF_UNSPEC) == -EINVAL);
    FUZZ_CHECK(asock_endpoint_format(NULL, NULL, 0) == -EINVAL);
    free(s);
    return 0;
}
