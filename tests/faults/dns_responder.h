/* A tiny DNS server for the fault tests: a thread with a plain UDP socket on 127.0.0.1 that
 * answers each query according to g_srv.mode (one header, no library code).  M_OK answers
 * A queries with 127.0.0.1, SRV queries with one record (target "t.test", port g_srv.srv_port)
 * and everything else with no data. */
#ifndef ASOCK_TEST_DNS_RESPONDER_H
#define ASOCK_TEST_DNS_RESPONDER_H

#include "net.h"

#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <unistd.h>

enum mode {
    M_OK,
    M_SILENT,
    M_GARBAGE,
    M_WRONG_ID,
    M_TRUNCATED,
    M_CUT,
    M_SERVFAIL,
    M_REFUSED
};

static struct {
    int fd;
    uint16_t port;
    pthread_t th;
    atomic_int stop;
    atomic_int mode;
    atomic_long queries;
    unsigned seed;
    uint16_t srv_port;
} g_srv;

static unsigned rnd(void)
{
    g_srv.seed = g_srv.seed * 1103515245u + 12345u;
    return g_srv.seed >> 8;
}

/* The end of the question section of q (offset), or 0 if it is malformed. */
static size_t question_end(const unsigned char *q, size_t n)
{
    size_t off = 12;
    while (off < n && q[off] != 0 && (q[off] & 0xc0) == 0)
        off += 1u + q[off];
    if (off >= n || q[off] != 0)
        return 0;
    off += 5;
    return off <= n ? off : 0;
}

static size_t build(const unsigned char *q, size_t n, unsigned char *out)
{
    size_t qe = question_end(q, n);
    if (n < 12 || qe == 0)
        return 0;
    int mode = atomic_load(&g_srv.mode);
    switch (mode) {
    case M_SILENT:
        return 0;
    case M_GARBAGE: {
        size_t len = 12 + rnd() % 200;
        for (size_t i = 0; i < len; i++)
            out[i] = (unsigned char)rnd();
        memcpy(out, q, 2); /* its ID, so it is not dropped for that alone */
        out[2] |= 0x80;
        return len;
    }
    default:
        break;
    }
    /* a header and the question, then per mode */
    memcpy(out, q, qe);
    out[2] = 0x81; /* QR, RD */
    out[3] = 0x80; /* RA, NOERROR */
    memset(out + 6, 0, 6);
    size_t len = qe;
    static const unsigned char a_rr[] = {0xc0, 0x0c, 0, 1, 0, 1, 0, 0, 0, 60, 0, 4, 127, 0, 0, 1};
    unsigned qtype = (unsigned)(q[qe - 4] << 8 | q[qe - 3]);
    switch (mode) {
    case M_OK:
        if (qtype == 1) { /* A */
            out[7] = 1;
            memcpy(out + len, a_rr, sizeof(a_rr));
            return len + sizeof(a_rr);
        }
        if (qtype == 33) { /* SRV: priority 1, weight 1, the port, "t.test" */
            static const unsigned char srv_head[] = {0xc0, 0x0c, 0, 33, 0, 1, 0, 0, 0, 60, 0, 14};
            out[7] = 1;
            memcpy(out + len, srv_head, sizeof(srv_head));
            len += sizeof(srv_head);
            unsigned char rd[14] = {0,
                                    1,
                                    0,
                                    1,
                                    (unsigned char)(g_srv.srv_port >> 8),
                                    (unsigned char)g_srv.srv_port,
                                    1,
                                    't',
                                    4,
                                    't',
                                    'e',
                                    's',
                                    't',
                                    0};
            memcpy(out + len, rd, sizeof(rd));
            return len + sizeof(rd);
        }
        return len; /* no data */
    case M_WRONG_ID:
        out[0] ^= 0x5a;
        out[7] = 1;
        memcpy(out + len, a_rr, sizeof(a_rr));
        return len + sizeof(a_rr);
    case M_TRUNCATED:
        out[2] |= 0x02; /* TC */
        return len;
    case M_CUT:
        out[7] = 2; /* two answers promised, one and a half sent */
        memcpy(out + len, a_rr, sizeof(a_rr));
        len += sizeof(a_rr);
        memcpy(out + len, a_rr, 7);
        return len + 7;
    case M_SERVFAIL:
        out[3] = 0x82;
        return len;
    case M_REFUSED:
        out[3] = 0x85;
        return len;
    default:
        return 0;
    }
}

static void *server_main(void *arg)
{
    (void)arg;
    unsigned char q[1500], out[1500];
    while (!atomic_load(&g_srv.stop)) {
        struct pollfd p = {g_srv.fd, POLLIN, 0};
        if (poll(&p, 1, 50) <= 0)
            continue;
        struct sockaddr_storage from;
        socklen_t flen = sizeof(from);
        ssize_t n = recvfrom(g_srv.fd, q, sizeof(q), 0, (struct sockaddr *)&from, &flen);
        if (n <= 0)
            continue;
        atomic_fetch_add(&g_srv.queries, 1);
        size_t len = build(q, (size_t)n, out);
        if (len > 0)
            (void)sendto(g_srv.fd, out, len, 0, (struct sockaddr *)&from, flen);
    }
    return NULL;
}

static int server_setup(void **state)
{
    (void)state;
    g_srv.seed = 12345;
    g_srv.fd = asock_t_udp_socket(AF_INET, "127.0.0.1", &g_srv.port);
    atomic_store(&g_srv.stop, 0);
    assert_int_equal(pthread_create(&g_srv.th, NULL, server_main, NULL), 0);
    return 0;
}

static int server_teardown(void **state)
{
    (void)state;
    atomic_store(&g_srv.stop, 1);
    pthread_join(g_srv.th, NULL);
    close(g_srv.fd);
    return 0;
}

#endif
