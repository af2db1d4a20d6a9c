/* What the datagram tests share: a loop pointed at the DNS fixture, a recorder for asock_async
 * operations that checks the handler contract (exactly one handler, once, from the loop, never
 * inside asock_async_done), a recorder for message-received, and plain UDP peers. */
#ifndef ASOCK_TEST_DGRAM_H
#define ASOCK_TEST_DGRAM_H

/* first include of every datagram test: SO_BINDTODEVICE, setenv, struct group_req */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE 1
#endif

#include "test.h"
#include "net.h"

#include <errno.h>
#include <poll.h>
#include <stdbool.h>
#include <unistd.h>

#define DG_WAIT_MS 5000

/* ---- the DNS fixture (ASOCK_TEST_DNS_FILE written by tests/resolve/dnsmasq.sh) ---- */

static inline int dg_env_get(const char *key, char *buf, size_t len)
{
    return asock_t_dns_env(key, buf, len);
}

/* A loop whose resolver asks the fixture's dnsmasq (fails the test without the fixture). */
static inline asock_loop *dg_dns_loop(void)
{
    static char server[128];
    if (dg_env_get("dns", server, sizeof(server)) != 0)
        fail_msg("no DNS fixture: run through ctest (resolve.dnsmasq.start), or set "
                 "ASOCK_TEST_DNS=ip:port");
    asock_loop_options o;
    memset(&o, 0, sizeof(o));
    o.dns_servers = server;
    o.dns_timeout_ms = 1000;
    o.dns_tries = 2;
    return asock_t_loop_opts(&o);
}

/* ---- async recorder ---- */

typedef struct dg_rec {
    asock_async *op;
    volatile int done;
    int success, error; /* handler calls */
    int inside;         /* set while asock_async_done runs */
    int calls_inside;
    asock_async_status status_seen;
    asock_socket_error error_seen;
    int close_in_handler; /* close op from its handler */
} dg_rec;

static inline void dg_on_success(asock_async *op, void *user)
{
    dg_rec *r = user;
    assert_ptr_equal(op, r->op);
    r->success++;
    if (r->inside)
        r->calls_inside++;
    r->status_seen = asock_async_get_status(op);
    r->error_seen = asock_async_error(op);
    r->done = 1;
    if (r->close_in_handler) {
        asock_async_close(op);
        r->op = NULL;
    }
}

static inline void dg_on_error(asock_async *op, void *user)
{
    dg_rec *r = user;
    assert_ptr_equal(op, r->op);
    r->error++;
    if (r->inside)
        r->calls_inside++;
    r->status_seen = asock_async_get_status(op);
    r->error_seen = asock_async_error(op);
    r->done = 1;
    if (r->close_in_handler) {
        asock_async_close(op);
        r->op = NULL;
    }
}

/* Attaches the recorder's handlers to op (must be accepted, and nothing may run inside). */
static inline void dg_attach(dg_rec *r, asock_async *op)
{
    memset(r, 0, sizeof(*r));
    assert_non_null(op);
    r->op = op;
    r->inside = 1;
    assert_int_equal(asock_async_done(op, dg_on_success, dg_on_error, r), 0);
    r->inside = 0;
    assert_int_equal(r->success + r->error, 0);
}

/* Runs the loop until r's handler ran; asserts the contract.  Returns the final status. */
static inline asock_async_status dg_wait(asock_loop *loop, dg_rec *r)
{
    if (asock_t_run_until(loop, &r->done, DG_WAIT_MS) != 0)
        fail_msg("the operation's handler did not run within %d ms (status %d, error %s)",
                 DG_WAIT_MS, r->op != NULL ? (int)asock_async_get_status(r->op) : -1,
                 r->op != NULL ? asock_socket_error_name(asock_async_error(r->op)) : "?");
    assert_int_equal(r->success + r->error, 1);
    assert_int_equal(r->calls_inside, 0);
    return r->status_seen;
}

/* Attach, wait, assert COMPLETED (printing the error otherwise). */
#define dg_ok(loop, r, op) dg_ok_at((loop), (r), (op), __FILE__, __LINE__)

static inline void dg_ok_at(asock_loop *loop, dg_rec *r, asock_async *op, const char *file,
                            int line)
{
    dg_attach(r, op);
    asock_async_status st = dg_wait(loop, r);
    if (st != ASOCK_ASYNC_COMPLETED)
        fail_msg("%s:%d: operation ended with status %d, error %s (%d), errno %d, \"%s\"", file,
                 line, (int)st, asock_socket_error_name(asock_async_error(op)),
                 (int)asock_async_error(op), asock_async_sys_errno(op),
                 asock_async_error_detail(op));
    assert_int_equal(r->success, 1);
}

/* Attach, wait, assert ERROR with want (and its status). */
#define dg_fails(loop, r, op, want, want_status) \
    dg_fails_at((loop), (r), (op), (want), (want_status), __FILE__, __LINE__)

static inline void dg_fails_at(asock_loop *loop, dg_rec *r, asock_async *op,
                               asock_socket_error want, asock_error_status want_status,
                               const char *file, int line)
{
    dg_attach(r, op);
    asock_async_status st = dg_wait(loop, r);
    if (st != ASOCK_ASYNC_ERROR || asock_async_error(op) != want)
        fail_msg("%s:%d: status %d, error %s (%d) \"%s\"; wanted ERROR %s", file, line, (int)st,
                 asock_socket_error_name(asock_async_error(op)), (int)asock_async_error(op),
                 asock_async_error_detail(op), asock_socket_error_name(want));
    assert_int_equal(r->error, 1);
    if (asock_error_get_status(asock_async_error(op)) != want_status)
        fail_msg("%s:%d: status of %s is %s, wanted %s", file, line, asock_socket_error_name(want),
                 asock_error_status_name(asock_error_get_status(asock_async_error(op))),
                 asock_error_status_name(want_status));
}

/* ---- message recorder ---- */

#define DG_MSG_MAX 64

typedef struct dg_msgs {
    int count;  /* datagrams */
    int errors; /* error reports */
    int inside; /* a test call is running: a message must not arrive inside it */
    int calls_inside;
    asock_socket_error last_error;
    char data[DG_MSG_MAX][256];
    size_t len[DG_MSG_MAX];
    char from[DG_MSG_MAX][64];
    char port[DG_MSG_MAX][8];
    char local[DG_MSG_MAX][64];
    int close_after; /* close the socket from the handler after this many datagrams (0: no) */
    asock_datagram *sender;
} dg_msgs;

static inline void dg_on_msg(asock_datagram *sender, const asock_datagram_message *m, void *user)
{
    dg_msgs *r = user;
    r->sender = sender;
    if (r->inside)
        r->calls_inside++;
    assert_non_null(m->remote_address);
    assert_non_null(m->remote_port);
    assert_non_null(m->local_address);
    if (m->error != ASOCK_SUCCESS) {
        assert_null(m->data);
        r->errors++;
        r->last_error = m->error;
        return;
    }
    int i = r->count < DG_MSG_MAX ? r->count : DG_MSG_MAX - 1;
    size_t n = m->length < sizeof(r->data[i]) - 1 ? m->length : sizeof(r->data[i]) - 1;
    if (n > 0)
        memcpy(r->data[i], m->data, n);
    r->data[i][n] = '\0';
    r->len[i] = m->length;
    snprintf(r->from[i], sizeof(r->from[i]), "%s", m->remote_address);
    snprintf(r->port[i], sizeof(r->port[i]), "%s", m->remote_port);
    snprintf(r->local[i], sizeof(r->local[i]), "%s", m->local_address);
    r->count++;
    if (r->close_after > 0 && r->count == r->close_after)
        asock_datagram_close(sender);
}

/* Runs the loop until at least n datagrams arrived (fails on timeout). */
static inline void dg_wait_msgs(asock_loop *loop, dg_msgs *r, int n)
{
    uint64_t end = asock_t_now_ms() + DG_WAIT_MS;
    while (r->count < n && asock_t_now_ms() < end)
        asock_loop_run(loop, ASOCK_RUN_NOWAIT), poll(NULL, 0, 1);
    if (r->count < n)
        fail_msg("%d datagram(s) arrived, wanted %d", r->count, n);
}

/* Runs the loop until an error report arrived (fails on timeout). */
static inline void dg_wait_error(asock_loop *loop, dg_msgs *r)
{
    uint64_t end = asock_t_now_ms() + DG_WAIT_MS;
    while (r->errors == 0 && asock_t_now_ms() < end)
        asock_loop_run(loop, ASOCK_RUN_NOWAIT), poll(NULL, 0, 1);
    if (r->errors == 0)
        fail_msg("no receive error was reported");
}

/* A plain UDP socket bound to addr:port exactly (port != 0). */
static inline int dg_udp_at(int family, const char *addr, uint16_t port)
{
    struct sockaddr_storage ss;
    socklen_t len = asock_t_sockaddr(addr, port, &ss);
    int fd = socket(family, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    assert_true(fd >= 0);
    if (family == AF_INET6) {
        int one = 1;
        setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one));
    }
    if (bind(fd, (struct sockaddr *)&ss, len) != 0)
        fail_msg("bind %s:%u: errno %d", addr, (unsigned)port, errno);
    return fd;
}

/* ---- datagram sockets ---- */

static inline asock_datagram *dg_new(asock_loop *loop, dg_msgs *msgs)
{
    asock_datagram *ds = NULL;
    assert_int_equal(asock_datagram_new(loop, &ds), 0);
    assert_non_null(ds);
    if (msgs != NULL) {
        memset(msgs, 0, sizeof(*msgs));
        assert_int_equal(asock_datagram_on_message_received(ds, dg_on_msg, msgs), 0);
    }
    return ds;
}

/* Runs op to completion (must succeed) and closes it. */
#define dg_run_ok(loop, op)     \
    do {                        \
        dg_rec r_;              \
        asock_async *o_ = (op); \
        dg_ok((loop), &r_, o_); \
        asock_async_close(o_);  \
    } while (0)

/* Writes data through os and waits for success. */
static inline void dg_write(asock_loop *loop, asock_output_stream *os, const char *data)
{
    dg_rec r;
    asock_async *op = asock_output_stream_write_async(os, data, strlen(data));
    dg_ok(loop, &r, op);
    assert_int_equal(asock_async_bytes_transferred(op), strlen(data));
    asock_async_close(op);
}

/* The socket's local port (as a number). */
static inline uint16_t dg_local_port(const asock_datagram *ds)
{
    asock_datagram_information info;
    assert_int_equal(asock_datagram_get_information(ds, &info), 0);
    assert_true(info.local_port[0] != '\0');
    return (uint16_t)strtoul(info.local_port, NULL, 10);
}

/* Closes ds and lets the loop finish what the close started. */
static inline void dg_close(asock_loop *loop, asock_datagram *ds)
{
    asock_datagram_close(ds);
    asock_t_spin(loop, 5);
}

/* A port number as text. */
static inline const char *dg_port(uint16_t port, char *buf, size_t len)
{
    snprintf(buf, len, "%u", (unsigned)port);
    return buf;
}

#endif
