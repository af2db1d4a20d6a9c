/* What the resolve tests share: the fixture's DNS server (ASOCK_TEST_DNS_FILE, written by
 * dnsmasq.sh; or ASOCK_TEST_DNS=ip:port directly), loops pointed at it, a silent "DNS server"
 * that never answers, and a recorder for asock_resolve_async results. */
#ifndef ASOCK_TEST_DNS_ENV_H
#define ASOCK_TEST_DNS_ENV_H

#include "test.h"

#include <errno.h>
#include <stdbool.h>
#include <time.h>
#include <unistd.h>

/* Reads KEY from the fixture file into buf; 0 on success. */
static inline int dns_env_get(const char *key, char *buf, size_t len)
{
    return asock_t_dns_env(key, buf, len);
}

/* The fixture's server ("127.0.53.1:PORT"); fails the test when the fixture is missing (the
 * fixture itself fails loudly when dnsmasq is not installed). */
static inline const char *dns_server(void)
{
    static char buf[128];
    if (dns_env_get("dns", buf, sizeof(buf)) != 0)
        fail_msg("no DNS fixture: run through ctest (resolve.dnsmasq.start), or set "
                 "ASOCK_TEST_DNS=ip:port");
    return buf;
}

static inline uint16_t dns_env_port(const char *key)
{
    char buf[32];
    if (dns_env_get(key, buf, sizeof(buf)) != 0)
        fail_msg("the DNS fixture file has no %s", key);
    return (uint16_t)strtoul(buf, NULL, 10);
}

/* A loop whose resolver asks the fixture's dnsmasq. */
static inline asock_loop *dns_loop(void)
{
    asock_loop_options o;
    memset(&o, 0, sizeof(o));
    o.dns_servers = dns_server();
    o.dns_timeout_ms = 1000;
    o.dns_tries = 2;
    return asock_t_loop_opts(&o);
}

/* A UDP socket on 127.0.54.1 that never answers: a DNS server that is down.  *server gets
 * "127.0.54.1:PORT". */
static inline int dns_silent_server(char *server, size_t len)
{
    uint16_t port = 0;
    int fd = asock_t_udp_socket(AF_INET, "127.0.54.1", &port);
    snprintf(server, len, "127.0.54.1:%u", (unsigned)port);
    return fd;
}

/* A loop pointed at the silent server, with short c-ares timeouts. */
static inline asock_loop *dns_silent_loop(int *fd, uint32_t timeout_ms, uint32_t tries)
{
    static char server[64];
    *fd = dns_silent_server(server, sizeof(server));
    asock_loop_options o;
    memset(&o, 0, sizeof(o));
    o.dns_servers = server;
    o.dns_timeout_ms = timeout_ms;
    o.dns_tries = tries;
    return asock_t_loop_opts(&o);
}

/* ---- a recorder for asock_resolve_async ---- */

#define DNS_REC_MAX 16

typedef struct dns_rec {
    volatile int done;
    int calls;
    int inside; /* set while the start call runs: a callback seeing it broke the contract */
    int calls_inside;
    asock_resolve *req;
    asock_socket_error error;
    int code;
    char detail[160];
    asock_service_source source;
    size_t count;
    asock_endpoint ep[DNS_REC_MAX];
    char target[DNS_REC_MAX][64];
    unsigned group[DNS_REC_MAX];
    uint64_t t_done; /* asock_t_now-like ms when the callback ran */
} dns_rec;

static inline uint64_t dns_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

static inline void dns_rec_cb(asock_resolve *req, const asock_resolve_result *res, void *user)
{
    dns_rec *r = user;
    assert_ptr_equal(req, r->req);
    r->calls++;
    if (r->inside)
        r->calls_inside++;
    r->error = res->error;
    r->code = res->resolver_code;
    assert_non_null(res->detail);
    snprintf(r->detail, sizeof(r->detail), "%s", res->detail);
    r->source = res->service_source;
    r->count = res->count;
    if (res->error == ASOCK_SUCCESS)
        assert_true(res->count > 0);
    else
        assert_true(res->count == 0);
    for (size_t i = 0; i < res->count && i < DNS_REC_MAX; i++) {
        r->ep[i] = res->entries[i].endpoint;
        snprintf(r->target[i], sizeof(r->target[i]), "%s",
                 res->entries[i].target != NULL ? res->entries[i].target : "");
        r->group[i] = res->entries[i].group;
    }
    r->t_done = dns_now_ms();
    r->done = 1;
}

/* Starts a resolution into r (asserting it was accepted). */
static inline void dns_start(asock_loop *loop, dns_rec *r, const char *host, const char *service,
                             const asock_resolve_hints *hints)
{
    memset(r, 0, sizeof(*r));
    r->inside = 1;
    int rc = asock_resolve_async(loop, host, service, hints, dns_rec_cb, r, &r->req);
    r->inside = 0;
    assert_int_equal(rc, 0);
    assert_non_null(r->req);
    assert_int_equal(r->calls, 0);
}

static inline void dns_wait(asock_loop *loop, dns_rec *r, int timeout_ms)
{
    if (asock_t_run_until(loop, &r->done, timeout_ms) != 0)
        fail_msg("the resolution did not complete within %d ms", timeout_ms);
    assert_int_equal(r->calls, 1);
    assert_int_equal(r->calls_inside, 0);
}

/* Resolve and wait. */
static inline void dns_resolve(asock_loop *loop, dns_rec *r, const char *host, const char *service,
                               int family, int socktype)
{
    asock_resolve_hints h;
    memset(&h, 0, sizeof(h));
    h.family = family;
    h.socktype = socktype;
    dns_start(loop, r, host, service, &h);
    dns_wait(loop, r, 10000);
}

/* "127.0.0.1:80" of entry i. */
static inline const char *dns_ep_str(const dns_rec *r, size_t i, char *buf, size_t len)
{
    asock_endpoint_format(&r->ep[i], buf, len);
    return buf;
}

#define assert_ep(r, i, want)                                              \
    do {                                                                   \
        char b_[80];                                                       \
        assert_true((i) < (r)->count);                                     \
        assert_string_equal(dns_ep_str((r), (i), b_, sizeof(b_)), (want)); \
    } while (0)

#define assert_res_err(r, want)                                                                    \
    do {                                                                                           \
        if ((r)->error != (want))                                                                  \
            fail_msg("resolve error %s (%d), resolver code %d, detail \"%s\"; wanted %s",          \
                     asock_socket_error_name((r)->error), (int)(r)->error, (r)->code, (r)->detail, \
                     asock_socket_error_name(want));                                               \
    } while (0)

#endif
