/* Operations that stay armed: asock_receive_multi_async (datagrams and stream chunks in loop-owned
 * buffers), asock_accept_multi_async, and asock_cancel_async on every kind of pending operation.
 *
 * The contract checked throughout: every delivery has asock_args_in_use(e) == 1, exactly one last
 * call has it 0, nothing runs after that last call, and no callback runs inside a start call. */
#define _GNU_SOURCE 1
#include "net.h"

#include "engine/engine.h"

#include <errno.h>
#include <fcntl.h>
#include <unistd.h>

unsigned asock__uring_features(const asock_loop *loop);
#define T_F_ACCEPT_MULTI 0x80u
#define T_F_RECV_MULTI   0x100u
#define T_F_BUF_RING     0x200u

/* ---- a tracker for multi operations ---- */

typedef struct mt mt;
typedef void mt_hook(mt *m, asock_socket *s, asock_args *e);

struct mt {
    asock_args e;
    volatile int wake; /* set by every callback (run_until) */
    int deliveries;    /* callbacks with in_use 1 */
    int finals;        /* callbacks with in_use 0 */
    int after_final;   /* deliveries seen after the last call (a contract violation) */
    int inside;        /* a start call is running */
    int calls_inside;  /* callbacks inside a start call */
    size_t bytes;      /* payload bytes delivered */
    uint64_t hash;     /* FNV-1a over the delivered bytes, in order */
    asock_socket_error final_error;
    size_t final_bytes;
    asock_operation last_op;
    mt_hook *on_delivery; /* optional, runs after the tracker's bookkeeping */
    mt_hook *on_final;
    void *ctx;
    /* datagram checks */
    int truncated;
    asock_endpoint last_sender;
    size_t last_len;
    char last_data[64];
    asock_socket *accepted[256];
};

static uint64_t fnv(uint64_t h, const void *p, size_t n)
{
    const unsigned char *b = p;
    for (size_t i = 0; i < n; i++) {
        h ^= b[i];
        h *= 1099511628211ull;
    }
    return h;
}

#define FNV_INIT 14695981039346656037ull

static void mt_cb(asock_socket *s, asock_args *e)
{
    mt *m = (mt *)(void *)e;
    m->wake = 1;
    if (m->inside)
        m->calls_inside++;
    if (m->finals > 0)
        m->after_final++;
    if (asock_args_in_use(e)) {
        m->deliveries++;
        m->last_op = e->last_operation;
        assert_int_equal(e->socket_error, ASOCK_SUCCESS);
        if (e->buffer != NULL) {
            assert_int_equal(e->offset, 0);
            assert_int_equal(e->count, e->bytes_transferred);
            m->bytes += e->bytes_transferred;
            m->hash = fnv(m->hash, e->buffer, e->bytes_transferred);
            m->last_len = e->bytes_transferred;
            memset(m->last_data, 0, sizeof(m->last_data));
            memcpy(m->last_data, e->buffer,
                   e->bytes_transferred < sizeof(m->last_data) - 1 ? e->bytes_transferred
                                                                   : sizeof(m->last_data) - 1);
            if (e->socket_flags & MSG_TRUNC)
                m->truncated++;
            m->last_sender = e->remote_endpoint;
        }
        if (e->accept_socket != NULL && m->deliveries <= 256)
            m->accepted[m->deliveries - 1] = e->accept_socket;
        if (m->on_delivery != NULL)
            m->on_delivery(m, s, e);
        return;
    }
    m->finals++;
    m->final_error = e->socket_error;
    m->final_bytes = e->bytes_transferred;
    assert_null(e->buffer);
    assert_int_equal(e->count, 0);
    if (m->on_final != NULL)
        m->on_final(m, s, e);
}

static void mt_init(mt *m)
{
    memset(m, 0, sizeof(*m));
    asock_args_init(&m->e);
    m->e.completed = mt_cb;
    m->hash = FNV_INIT;
}

static int mt_start(mt *m, int (*fn)(asock_socket *, asock_args *), asock_socket *s)
{
    m->inside = 1;
    int rc = fn(s, &m->e);
    m->inside = 0;
    return rc;
}

/* Runs the loop until cond(m) holds (bounded). */
static void run_until(asock_loop *loop, mt *m, int (*cond)(const mt *m, size_t arg), size_t arg)
{
    uint64_t end = asock_t_now_ms() + ASOCK_T_WAIT_MS * 2;
    while (!cond(m, arg)) {
        uint64_t now = asock_t_now_ms();
        if (now > end)
            fail_msg("timed out: %d deliveries, %d finals, %zu bytes (%s)", m->deliveries,
                     m->finals, m->bytes, asock_t_engine());
        m->wake = 0;
        asock_t_run_until(loop, &m->wake, (int)(end - now) + 1);
    }
}

static int has_deliveries(const mt *m, size_t n)
{
    return (size_t)m->deliveries >= n;
}

static int has_final(const mt *m, size_t n)
{
    (void)n;
    return m->finals > 0;
}

static int has_bytes(const mt *m, size_t n)
{
    return m->bytes >= n || m->finals > 0;
}

/* ---- datagrams ---- */

static void asock_t_set_rcvbuf_big(asock_socket *s)
{
    (void)asock_socket_set_option(s, ASOCK_OPT_RECEIVE_BUFFER, 1 << 22); /* capped by rmem_max */
}

struct dgram_ctx {
    uint16_t pa, pb;
    int next_a, next_b; /* next sequence number expected from each sender */
    int errors;
};

/* Payloads are "A:<n>" / "B:<n>": each sender's datagrams arrive in order, from that sender. */
static void dgram_check(mt *m, asock_socket *s, asock_args *e)
{
    (void)s;
    struct dgram_ctx *c = m->ctx;
    if (m->last_len > 60)
        return; /* the big one */
    int n = atoi(m->last_data + 2);
    if (m->last_data[0] == 'A') {
        assert_int_equal(n, c->next_a);
        c->next_a++;
        asock_t_assert_ep(&e->remote_endpoint, "127.0.0.1", c->pa);
    } else {
        assert_int_equal(m->last_data[0], 'B');
        assert_int_equal(n, c->next_b);
        c->next_b++;
        asock_t_assert_ep(&e->remote_endpoint, "127.0.0.2", c->pb);
    }
    assert_int_equal(e->last_operation, ASOCK_OP_RECEIVE_FROM);
    assert_int_equal(e->socket_flags & MSG_TRUNC, 0);
}

static void multi_udp_in_order(void **state)
{
    (void)state;
    asock_loop *loop = asock_t_loop();
    struct dgram_ctx c = {0};
    int a = asock_t_udp_socket(AF_INET, "127.0.0.1", &c.pa);
    int b = asock_t_udp_socket(AF_INET, "127.0.0.2", &c.pb);
    asock_socket *s = asock_t_open(loop, AF_INET, SOCK_DGRAM);
    asock_t_set_rcvbuf_big(s);
    asock_t_bind(s, "127.0.0.1", 0);
    uint16_t port = asock_t_local_port(s);

    /* some are queued before the receive is armed, the rest come while it is */
    enum {
        N = 300
    };

    char msg[32];
    for (int i = 0; i < 20; i++) {
        int len = snprintf(msg, sizeof(msg), "%c:%d", i % 2 ? 'B' : 'A', i / 2);
        asock_t_sendto(i % 2 ? b : a, msg, (size_t)len, "127.0.0.1", port);
    }
    mt m;
    mt_init(&m);
    m.ctx = &c;
    m.on_delivery = dgram_check;
    assert_int_equal(mt_start(&m, asock_receive_multi_async, s), 1);
    assert_int_equal(asock_args_in_use(&m.e), 1);
    run_until(loop, &m, has_deliveries, 20);
    for (int i = 20; i < N; i++) {
        int len = snprintf(msg, sizeof(msg), "%c:%d", i % 2 ? 'B' : 'A', i / 2);
        asock_t_sendto(i % 2 ? b : a, msg, (size_t)len, "127.0.0.1", port);
        if (i % 20 == 0)
            run_until(loop, &m, has_deliveries, (size_t)i - 20); /* keep the socket's queue short */
    }
    run_until(loop, &m, has_deliveries, N);
    assert_int_equal(c.next_a, N / 2);
    assert_int_equal(c.next_b, N / 2);
    assert_int_equal(m.truncated, 0);

    /* a datagram larger than a buffer's room is cut, and says so */
    m.on_delivery = NULL;
    static char big[6000];
    asock_t_fill(big, sizeof(big), 7);
    asock_t_sendto(a, big, sizeof(big), "127.0.0.1", port);
    run_until(loop, &m, has_deliveries, N + 1);
    assert_int_equal(m.truncated, 1);
    assert_int_equal(m.last_len, ASOCK__POOL_DEFAULT_SIZE - ASOCK__DGRAM_DATA_OFF);
    asock_t_assert_ep(&m.last_sender, "127.0.0.1", c.pa);
    /* an empty datagram is a delivery of 0 bytes */
    asock_t_sendto(b, "", 0, "127.0.0.1", port);
    run_until(loop, &m, has_deliveries, N + 2);
    assert_int_equal(m.last_len, 0);
    assert_int_equal(m.finals, 0);

    /* cancel from outside: exactly one last call, OPERATION_ABORTED */
    asock_cancel_async(&m.e);
    asock_cancel_async(&m.e); /* a second cancel changes nothing */
    assert_int_equal(m.finals, 0);
    run_until(loop, &m, has_final, 0);
    assert_int_equal(m.final_error, ASOCK_ERR_OPERATION_ABORTED);
    assert_int_equal(m.e.sys_errno, ECANCELED);
    assert_int_equal(asock_args_in_use(&m.e), 0);
    asock_cancel_async(&m.e); /* not pending: no effect */
    asock_t_spin(loop, 20);
    assert_int_equal(m.finals, 1);
    assert_int_equal(m.after_final, 0);
    assert_int_equal(m.calls_inside, 0);

    asock_socket_close(s);
    asock_t_close_fd(a);
    asock_t_close_fd(b);
    asock_t_end(loop);
}

/* IPv6, and a connected datagram socket whose peer is gone: the ICMP error ends the receive. */
static void multi_udp_v6_and_refused(void **state)
{
    (void)state;
    asock_loop *loop = asock_t_loop();
    uint16_t pa = 0;
    int a = asock_t_udp_socket(AF_INET6, "::1", &pa);
    asock_socket *s = asock_t_open(loop, AF_INET6, SOCK_DGRAM);
    asock_t_bind(s, "::1", 0);
    uint16_t port = asock_t_local_port(s);
    mt m;
    mt_init(&m);
    assert_int_equal(mt_start(&m, asock_receive_multi_async, s), 1);
    asock_t_sendto(a, "six", 3, "::1", port);
    run_until(loop, &m, has_deliveries, 1);
    assert_int_equal(m.last_len, 3);
    assert_string_equal(m.last_data, "six");
    asock_t_assert_ep(&m.last_sender, "::1", pa);
    asock_cancel_async(&m.e);
    run_until(loop, &m, has_final, 0);
    assert_int_equal(m.final_error, ASOCK_ERR_OPERATION_ABORTED);

    /* connected to a port where nobody listens: the send's ICMP error ends the multi receive */
    uint16_t dead = asock_t_free_port(AF_INET6, "::1", SOCK_DGRAM);
    asock_args c;
    asock_args_init(&c);
    asock_t_ep(&c.remote_endpoint, "::1", dead);
    assert_int_equal(asock_connect_async(s, &c), 0);
    mt_init(&m);
    assert_int_equal(mt_start(&m, asock_receive_multi_async, s), 1);
    asock_loop_run(loop, ASOCK_RUN_NOWAIT);
    assert_int_equal(asock_args_set_buffer(&c, "x", 0, 1), 0);
    assert_int_equal(asock_send_async(s, &c), 0);
    run_until(loop, &m, has_final, 0);
    assert_int_equal(m.final_error, ASOCK_ERR_CONNECTION_REFUSED);
    assert_int_equal(m.deliveries, 0);

    asock_socket_close(s);
    asock_t_close_fd(a);
    asock_t_end(loop);
}

/* ---- streams ---- */

struct writer {
    pthread_t t;
    int fd;
    size_t n;
    unsigned seed;
    uint64_t hash;
};

static void *writer_main(void *arg)
{
    struct writer *w = arg;
    static unsigned char chunk[65536];
    size_t sent = 0;
    w->hash = FNV_INIT;
    unsigned seed = w->seed;
    while (sent < w->n) {
        size_t k = w->n - sent < sizeof(chunk) ? w->n - sent : sizeof(chunk);
        for (size_t i = 0; i < k; i++) {
            seed = seed * 1103515245u + 12345u;
            chunk[i] = (unsigned char)(seed >> 16);
        }
        w->hash = fnv(w->hash, chunk, k);
        asock_t_write_all(w->fd, chunk, k);
        sent += k;
    }
    shutdown(w->fd, SHUT_WR);
    return NULL;
}

static void stream_4mib(asock_loop *loop)
{
    asock_socket *s;
    int peer;
    asock_t_connected_pair(loop, AF_INET, &s, &peer);
    mt m;
    mt_init(&m);
    assert_int_equal(mt_start(&m, asock_receive_multi_async, s), 1);
    struct writer w = {.fd = peer, .n = 4u << 20, .seed = 42};
    assert_int_equal(pthread_create(&w.t, NULL, writer_main, &w), 0);
    run_until(loop, &m, has_final, 0);
    pthread_join(w.t, NULL);
    assert_int_equal(m.bytes, w.n);
    assert_true(m.hash == w.hash);
    assert_int_equal(m.finals, 1);
    assert_int_equal(m.final_error, ASOCK_SUCCESS); /* the stream's end */
    assert_int_equal(m.final_bytes, 0);
    assert_int_equal(m.last_op, ASOCK_OP_RECEIVE);
    assert_int_equal(asock_args_in_use(&m.e), 0);
    assert_true(m.deliveries >= (int)(w.n / 65536));
    assert_int_equal(m.calls_inside, 0);
    asock_socket_close(s);
    asock_t_close_fd(peer);
}

static void multi_tcp_4mib(void **state)
{
    (void)state;
    asock_loop *loop = asock_t_loop();
    stream_4mib(loop);
    asock_t_end(loop);
}

/* ---- cancel and close from inside a delivery ---- */

static void cancel_on_third(mt *m, asock_socket *s, asock_args *e)
{
    (void)s;
    if (m->deliveries == 3) {
        asock_cancel_async(e);
        asock_cancel_async(e);
    }
}

static void rearm_in_final(mt *m, asock_socket *s, asock_args *e)
{
    (void)e;
    if (m->ctx == NULL)
        return;
    m->ctx = NULL;
    /* the last call frees e: it can be armed again from here */
    assert_int_equal(asock_receive_multi_async(s, &m->e), 1);
}

static void multi_cancel_inside(void **state)
{
    (void)state;
    asock_loop *loop = asock_t_loop();
    uint16_t pa = 0;
    int a = asock_t_udp_socket(AF_INET, "127.0.0.1", &pa);
    asock_socket *s = asock_t_open(loop, AF_INET, SOCK_DGRAM);
    asock_t_bind(s, "127.0.0.1", 0);
    uint16_t port = asock_t_local_port(s);
    for (int i = 0; i < 10; i++)
        asock_t_sendto(a, "d", 1, "127.0.0.1", port);
    mt m;
    mt_init(&m);
    m.on_delivery = cancel_on_third;
    assert_int_equal(mt_start(&m, asock_receive_multi_async, s), 1);
    run_until(loop, &m, has_final, 0);
    asock_t_spin(loop, 30);
    assert_int_equal(m.deliveries, 3); /* nothing after the cancel */
    assert_int_equal(m.finals, 1);
    assert_int_equal(m.final_error, ASOCK_ERR_OPERATION_ABORTED);
    assert_int_equal(asock_args_in_use(&m.e), 0);

    /* re-armed from inside its last call: it goes on with the next datagrams */
    mt_init(&m);
    m.ctx = &m;
    m.on_final = rearm_in_final;
    m.on_delivery = cancel_on_third;
    assert_int_equal(mt_start(&m, asock_receive_multi_async, s), 1);
    for (int i = 0; i < 3; i++)
        asock_t_sendto(a, "e", 1, "127.0.0.1", port);
    run_until(loop, &m, has_final, 0);
    assert_int_equal(asock_args_in_use(&m.e), 1); /* armed again */
    int before = m.deliveries;
    asock_t_sendto(a, "after", 5, "127.0.0.1", port);
    uint64_t end = asock_t_now_ms() + ASOCK_T_WAIT_MS;
    while (strcmp(m.last_data, "after") != 0 && asock_t_now_ms() < end) {
        m.wake = 0;
        asock_t_run_until(loop, &m.wake, 100);
    }
    assert_string_equal(m.last_data, "after");
    assert_true(m.deliveries > before);

    asock_socket_close(s); /* ends the re-armed one */
    asock_t_spin(loop, 10);
    assert_int_equal(asock_args_in_use(&m.e), 0);
    asock_t_close_fd(a);
    asock_t_end(loop);
}

static void close_on_second(mt *m, asock_socket *s, asock_args *e)
{
    (void)e;
    if (m->deliveries == 2)
        asock_socket_close(s);
}

static void multi_close(void **state)
{
    (void)state;
    int fds_at_start = asock_t_fd_count();
    asock_loop *loop = asock_t_loop();
    uint16_t pa = 0;
    int a = asock_t_udp_socket(AF_INET, "127.0.0.1", &pa);

    /* closed while armed, outside any callback */
    asock_socket *s = asock_t_open(loop, AF_INET, SOCK_DGRAM);
    asock_t_bind(s, "127.0.0.1", 0);
    mt m;
    mt_init(&m);
    assert_int_equal(mt_start(&m, asock_receive_multi_async, s), 1);
    asock_loop_run(loop, ASOCK_RUN_NOWAIT);
    asock_socket_close(s);
    assert_int_equal(asock_receive_multi_async(s, &m.e), -EBADF);
    run_until(loop, &m, has_final, 0);
    assert_int_equal(m.final_error, ASOCK_ERR_OPERATION_ABORTED);
    assert_int_equal(m.deliveries, 0);

    /* closed from inside a delivery, datagrams still queued */
    s = asock_t_open(loop, AF_INET, SOCK_DGRAM);
    asock_t_bind(s, "127.0.0.1", 0);
    uint16_t port = asock_t_local_port(s);
    for (int i = 0; i < 8; i++)
        asock_t_sendto(a, "c", 1, "127.0.0.1", port);
    mt_init(&m);
    m.on_delivery = close_on_second;
    assert_int_equal(mt_start(&m, asock_receive_multi_async, s), 1);
    run_until(loop, &m, has_final, 0);
    asock_t_spin(loop, 20);
    assert_int_equal(m.deliveries, 2);
    assert_int_equal(m.finals, 1);
    assert_int_equal(m.final_error, ASOCK_ERR_OPERATION_ABORTED);

    /* a stream closed while armed, and one closed from inside a delivery */
    int peer;
    asock_t_connected_pair(loop, AF_INET, &s, &peer);
    mt_init(&m);
    assert_int_equal(mt_start(&m, asock_receive_multi_async, s), 1);
    asock_t_write_all(peer, "x", 1);
    run_until(loop, &m, has_deliveries, 1);
    asock_socket_close(s);
    run_until(loop, &m, has_final, 0);
    assert_int_equal(m.final_error, ASOCK_ERR_OPERATION_ABORTED);
    asock_t_close_fd(peer);

    asock_t_connected_pair(loop, AF_INET, &s, &peer);
    mt_init(&m);
    m.on_delivery = close_on_second;
    assert_int_equal(mt_start(&m, asock_receive_multi_async, s), 1);
    asock_t_write_all(peer, "y", 1);
    run_until(loop, &m, has_deliveries, 1);
    asock_t_write_all(peer, "z", 1);
    run_until(loop, &m, has_final, 0);
    assert_int_equal(m.deliveries, 2);
    assert_int_equal(m.final_error, ASOCK_ERR_OPERATION_ABORTED);
    asock_t_close_fd(peer);

    /* and the loop's free closes an armed one */
    s = asock_t_open(loop, AF_INET, SOCK_DGRAM);
    asock_t_bind(s, "127.0.0.1", 0);
    mt_init(&m);
    assert_int_equal(mt_start(&m, asock_receive_multi_async, s), 1);
    asock_loop_run(loop, ASOCK_RUN_NOWAIT);
    asock_t_close_fd(a);
    asock_loop_free(loop); /* (an armed receive is work: asock_t_end would wait for it) */
    assert_int_equal(m.finals, 1);
    assert_int_equal(m.final_error, ASOCK_ERR_OPERATION_ABORTED);
    assert_int_equal(asock_t_fd_count(), fds_at_start);
}

/* ---- a tiny pool: the receive waits for buffers and loses nothing ---- */

static void seq_check(mt *m, asock_socket *s, asock_args *e)
{
    (void)s;
    int *next = m->ctx;
    assert_int_equal(atoi(e->buffer), *next);
    (*next)++;
}

static void multi_tiny_pool(void **state)
{
    (void)state;
    asock_loop_options o;
    memset(&o, 0, sizeof(o));
    o.receive_buffer_size = 256;
    o.receive_buffer_count = 4;
    asock_loop *loop = asock_t_loop_opts(&o);
    uint16_t pa = 0;
    int a = asock_t_udp_socket(AF_INET, "127.0.0.1", &pa);
    asock_socket *s = asock_t_open(loop, AF_INET, SOCK_DGRAM);
    asock_t_set_rcvbuf_big(s);
    asock_t_bind(s, "127.0.0.1", 0);
    uint16_t port = asock_t_local_port(s);

    enum {
        N = 500
    };

    char msg[200];
    memset(msg, '.', sizeof(msg));
    /* a burst far larger than the pool, before and after the receive is armed */
    for (int i = 0; i < 100; i++) {
        int len = snprintf(msg, sizeof(msg), "%d", i);
        msg[len] = '.';
        asock_t_sendto(a, msg, 150, "127.0.0.1", port);
    }
    int next = 0;
    mt m;
    mt_init(&m);
    m.ctx = &next;
    m.on_delivery = seq_check;
    assert_int_equal(mt_start(&m, asock_receive_multi_async, s), 1);
    for (int i = 100; i < N; i++) {
        int len = snprintf(msg, sizeof(msg), "%d", i);
        msg[len] = '.';
        asock_t_sendto(a, msg, 150, "127.0.0.1", port);
        if (i % 50 == 0)
            run_until(loop, &m, has_deliveries, (size_t)i - 100);
    }
    run_until(loop, &m, has_deliveries, N);
    assert_int_equal(next, N);
    assert_int_equal(m.bytes, (size_t)N * 150);
    assert_int_equal(m.finals, 0);
    asock_cancel_async(&m.e);
    run_until(loop, &m, has_final, 0);

    /* a stream through the same four buffers */
    asock_socket *c;
    int peer;
    asock_t_connected_pair(loop, AF_INET, &c, &peer);
    mt_init(&m);
    assert_int_equal(mt_start(&m, asock_receive_multi_async, c), 1);
    struct writer w = {.fd = peer, .n = 1u << 20, .seed = 9};
    assert_int_equal(pthread_create(&w.t, NULL, writer_main, &w), 0);
    run_until(loop, &m, has_final, 0);
    pthread_join(w.t, NULL);
    assert_int_equal(m.bytes, w.n);
    assert_true(m.hash == w.hash);
    assert_int_equal(m.final_error, ASOCK_SUCCESS);
    assert_true(m.deliveries >= (int)(w.n / 256));

    asock_socket_close(c);
    asock_socket_close(s);
    asock_t_close_fd(peer);
    asock_t_close_fd(a);
    asock_t_end(loop);
}

/* ---- accept that stays armed ---- */

static void accept_check(mt *m, asock_socket *s, asock_args *e)
{
    (void)m;
    assert_non_null(e->accept_socket);
    assert_int_equal(asock_socket_connected(e->accept_socket), 1);
    assert_int_equal(e->last_operation, ASOCK_OP_ACCEPT);
    assert_ptr_equal(asock_socket_loop(e->accept_socket), asock_socket_loop(s));
}

static void multi_accept_200(void **state)
{
    (void)state;
    asock_loop *loop = asock_t_loop();
    uint16_t port = 0;
    asock_socket *l = asock_t_listener(loop, "127.0.0.1", &port);

    enum {
        N = 200
    };

    int fds[N];
    struct sockaddr_storage ss;
    socklen_t len = asock_t_sockaddr("127.0.0.1", port, &ss);
    for (int i = 0; i < 20; i++) {
        fds[i] = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
        assert_int_equal(connect(fds[i], (struct sockaddr *)&ss, len), 0);
    }
    mt m;
    mt_init(&m);
    m.on_delivery = accept_check;
    assert_int_equal(mt_start(&m, asock_accept_multi_async, l), 1);
    run_until(loop, &m, has_deliveries, 20);
    for (int i = 20; i < N; i++) {
        fds[i] = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
        assert_int_equal(connect(fds[i], (struct sockaddr *)&ss, len), 0);
        if (i % 25 == 0)
            asock_loop_run(loop, ASOCK_RUN_NOWAIT);
    }
    run_until(loop, &m, has_deliveries, N);
    assert_int_equal(m.deliveries, N);
    assert_int_equal(m.finals, 0);
    assert_null(m.e.accept_socket); /* set back after each callback */
    /* every accepted socket is a distinct, working connection */
    for (int i = 0; i < N; i++) {
        for (int j = 0; j < i; j++)
            assert_ptr_not_equal(m.accepted[i], m.accepted[j]);
    }
    asock_endpoint peer_ep;
    assert_int_equal(asock_socket_remote_endpoint(m.accepted[N - 1], &peer_ep), 0);
    asock_cancel_async(&m.e);
    run_until(loop, &m, has_final, 0);
    assert_int_equal(m.final_error, ASOCK_ERR_OPERATION_ABORTED);
    assert_int_equal(m.after_final, 0);
    /* a plain accept works again after the cancel */
    int extra = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    assert_int_equal(connect(extra, (struct sockaddr *)&ss, len), 0);
    asock_t_op op;
    asock_t_op_init(&op);
    asock_t_do(loop, &op, asock_accept_async, l);
    asock_t_assert_err(&op.e, ASOCK_SUCCESS);
    asock_socket_close(op.e.accept_socket);
    asock_t_close_fd(extra);

    for (int i = 0; i < N; i++) {
        asock_socket_close(m.accepted[i]);
        asock_t_close_fd(fds[i]);
    }
    /* closing the listener ends an armed multi accept */
    mt_init(&m);
    assert_int_equal(mt_start(&m, asock_accept_multi_async, l), 1);
    asock_loop_run(loop, ASOCK_RUN_NOWAIT);
    asock_socket_close(l);
    run_until(loop, &m, has_final, 0);
    assert_int_equal(m.final_error, ASOCK_ERR_OPERATION_ABORTED);
    asock_t_end(loop);
}

/* ---- asock_cancel_async on ordinary operations ---- */

static void cancel_plain_operations(void **state)
{
    (void)state;
    asock_loop *loop = asock_t_loop();

    /* a pending receive */
    asock_socket *s;
    int peer;
    asock_t_connected_pair(loop, AF_INET, &s, &peer);
    char buf[64];
    asock_t_op op;
    asock_t_op_init(&op);
    assert_int_equal(asock_args_set_buffer(&op.e, buf, 0, sizeof(buf)), 0);
    asock_t_assert_rc(asock_t_start(&op, asock_receive_async, s), 1);
    asock_cancel_async(&op.e);
    assert_int_equal(op.calls, 0); /* never inside the cancel */
    asock_t_wait(loop, &op, ASOCK_T_WAIT_MS);
    asock_t_assert_err(&op.e, ASOCK_ERR_OPERATION_ABORTED);
    assert_int_equal(op.e.bytes_transferred, 0);
    asock_t_spin(loop, 10);
    asock_t_op_check(&op);
    /* the socket still works */
    asock_t_write_all(peer, "ok", 2);
    asock_t_do(loop, &op, asock_receive_async, s);
    asock_t_assert_err(&op.e, ASOCK_SUCCESS);
    assert_int_equal(op.e.bytes_transferred, 2);

    /* a pending send: part of it may have gone out */
    int small = 4096;
    assert_int_equal(asock_socket_set_option(s, ASOCK_OPT_SEND_BUFFER, small), 0);
    size_t total = 32u << 20;
    unsigned char *big = malloc(total);
    assert_non_null(big);
    memset(big, 'q', total);
    asock_t_op sop;
    asock_t_op_init(&sop);
    assert_int_equal(asock_args_set_buffer(&sop.e, big, 0, total), 0);
    asock_t_assert_rc(asock_t_start(&sop, asock_send_async, s), 1);
    asock_t_spin(loop, 10);
    asock_cancel_async(&sop.e);
    asock_t_wait(loop, &sop, ASOCK_T_WAIT_MS);
    asock_t_assert_err(&sop.e, ASOCK_ERR_OPERATION_ABORTED);
    assert_true(sop.e.bytes_transferred < total);
    asock_t_op_check(&sop);
    free(big);
    asock_socket_close(s);
    asock_t_close_fd(peer);

    /* a pending accept and a pending receive_from */
    uint16_t port = 0;
    asock_socket *l = asock_t_listener(loop, "127.0.0.1", &port);
    asock_t_op aop;
    asock_t_op_init(&aop);
    asock_t_assert_rc(asock_t_start(&aop, asock_accept_async, l), 1);
    asock_cancel_async(&aop.e);
    asock_t_wait(loop, &aop, ASOCK_T_WAIT_MS);
    asock_t_assert_err(&aop.e, ASOCK_ERR_OPERATION_ABORTED);
    assert_null(aop.e.accept_socket);
    asock_socket_close(l);

    asock_socket *u = asock_t_open(loop, AF_INET, SOCK_DGRAM);
    asock_t_bind(u, "127.0.0.1", 0);
    asock_t_op rop;
    asock_t_op_init(&rop);
    asock_t_ep(&rop.e.remote_endpoint, "0.0.0.0", 0);
    assert_int_equal(asock_args_set_buffer(&rop.e, buf, 0, sizeof(buf)), 0);
    asock_t_assert_rc(asock_t_start(&rop, asock_receive_from_async, u), 1);
    asock_cancel_async(&rop.e);
    asock_t_wait(loop, &rop, ASOCK_T_WAIT_MS);
    asock_t_assert_err(&rop.e, ASOCK_ERR_OPERATION_ABORTED);
    asock_socket_close(u);

    /* a connect: canceled like asock_cancel_connect_async */
    int filler = -1;
    uint16_t bport = 0;
    int bh = asock_t_blackhole(AF_INET, "127.0.0.1", &bport, &filler);
    if (bh >= 0) {
        asock_socket *cs = asock_t_open(loop, AF_INET, SOCK_STREAM);
        asock_t_op cop;
        asock_t_op_init(&cop);
        asock_t_ep(&cop.e.remote_endpoint, "127.0.0.1", bport);
        asock_t_assert_rc(asock_t_start(&cop, asock_connect_async, cs), 1);
        asock_cancel_async(&cop.e);
        asock_t_wait(loop, &cop, ASOCK_T_WAIT_MS);
        asock_t_assert_err(&cop.e, ASOCK_ERR_OPERATION_ABORTED);
        asock_socket_close(cs);
        asock_t_close_fd(filler);
        asock_t_close_fd(bh);
    }

    /* NULL, never initialised, free: no effect */
    asock_cancel_async(NULL);
    asock_args never;
    memset(&never, 0, sizeof(never));
    asock_cancel_async(&never);
    asock_args idle;
    asock_args_init(&idle);
    asock_cancel_async(&idle);
    asock_t_end(loop);
}

/* ---- refusals ---- */

static void multi_bad_input(void **state)
{
    (void)state;
    asock_loop_options o;
    memset(&o, 0, sizeof(o));
    asock_loop *bad = NULL;
    o.receive_buffer_size = 10;
    assert_int_equal(asock_loop_new(&bad, &o), -EINVAL);
    o.receive_buffer_size = (1u << 20) + 1u;
    assert_int_equal(asock_loop_new(&bad, &o), -EINVAL);
    o.receive_buffer_size = 0;
    o.receive_buffer_count = 40000;
    assert_int_equal(asock_loop_new(&bad, &o), -EINVAL);
    assert_null(bad);

    asock_loop *loop = asock_t_loop();
    asock_socket *u = asock_t_open(loop, AF_INET, SOCK_DGRAM);
    asock_t_bind(u, "127.0.0.1", 0);
    mt m;
    mt_init(&m);
    assert_int_equal(asock_receive_multi_async(NULL, &m.e), -EINVAL);
    assert_int_equal(asock_receive_multi_async(u, NULL), -EINVAL);
    assert_int_equal(asock_accept_multi_async(NULL, &m.e), -EINVAL);
    asock_args never;
    memset(&never, 0, sizeof(never));
    assert_int_equal(asock_receive_multi_async(u, &never), -EINVAL);
    assert_int_equal(asock_accept_multi_async(u, &m.e), -EOPNOTSUPP); /* not a stream */

    uint16_t port = 0;
    asock_socket *l = asock_t_listener(loop, "127.0.0.1", &port);
    assert_int_equal(asock_receive_multi_async(l, &m.e), -EOPNOTSUPP); /* a listener */
    asock_socket *t = asock_t_open(loop, AF_INET, SOCK_STREAM);
    assert_int_equal(asock_accept_multi_async(t, &m.e), -EOPNOTSUPP); /* not listening */
    asock_socket_close(t);
    m.e.accept_socket = u;
    assert_int_equal(asock_accept_multi_async(l, &m.e), -EINVAL); /* must be NULL */
    m.e.accept_socket = NULL;
    char b[4];
    assert_int_equal(asock_args_set_buffer(&m.e, b, 0, sizeof(b)), 0);
    assert_int_equal(asock_accept_multi_async(l, &m.e), -EOPNOTSUPP); /* no accept buffers */
    assert_int_equal(asock_args_set_buffer(&m.e, NULL, 0, 0), 0);
    assert_int_equal(asock_args_in_use(&m.e), 0);

    /* the read side belongs to one multi operation */
    assert_int_equal(mt_start(&m, asock_receive_multi_async, u), 1);
    assert_int_equal(asock_receive_multi_async(u, &m.e), -EBUSY); /* e in use */
    mt m2;
    mt_init(&m2);
    assert_int_equal(asock_receive_multi_async(u, &m2.e), -EBUSY);
    asock_t_op op;
    asock_t_op_init(&op);
    assert_int_equal(asock_args_set_buffer(&op.e, b, 0, sizeof(b)), 0);
    asock_t_assert_rc(asock_t_start(&op, asock_receive_async, u), -EBUSY);
    asock_t_ep(&op.e.remote_endpoint, "0.0.0.0", 0);
    asock_t_assert_rc(asock_t_start(&op, asock_receive_from_async, u), -EBUSY);
    asock_t_assert_rc(asock_t_start(&op, asock_receive_message_from_async, u), -EBUSY);
    assert_int_equal(asock_args_in_use(&op.e), 0);
    /* sends are not affected */
    asock_t_ep(&op.e.remote_endpoint, "127.0.0.1", asock_t_local_port(u));
    assert_int_equal(asock_args_set_buffer(&op.e, "me", 0, 2), 0);
    asock_t_do(loop, &op, asock_send_to_async, u);
    asock_t_assert_err(&op.e, ASOCK_SUCCESS);
    run_until(loop, &m, has_deliveries, 1);
    assert_string_equal(m.last_data, "me");
    asock_cancel_async(&m.e);
    run_until(loop, &m, has_final, 0);

    /* ... and a multi receive is refused while another receive waits */
    assert_int_equal(asock_args_set_buffer(&op.e, b, 0, sizeof(b)), 0);
    asock_t_ep(&op.e.remote_endpoint, "0.0.0.0", 0);
    asock_t_assert_rc(asock_t_start(&op, asock_receive_from_async, u), 1);
    mt_init(&m);
    assert_int_equal(asock_receive_multi_async(u, &m.e), -EBUSY);
    asock_cancel_async(&op.e);
    asock_t_wait(loop, &op, ASOCK_T_WAIT_MS);

    /* accept: the same */
    assert_int_equal(mt_start(&m, asock_accept_multi_async, l), 1);
    asock_t_op aop;
    asock_t_op_init(&aop);
    asock_t_assert_rc(asock_t_start(&aop, asock_accept_async, l), -EBUSY);
    assert_int_equal(asock_accept_multi_async(l, &m2.e), -EBUSY);

    /* closed sockets */
    asock_socket_close(u);
    assert_int_equal(asock_receive_multi_async(u, &m2.e), -EBADF);
    asock_socket_close(l);
    assert_int_equal(asock_accept_multi_async(l, &m2.e), -EBADF);
    run_until(loop, &m, has_final, 0);
    assert_int_equal(m.final_error, ASOCK_ERR_OPERATION_ABORTED);
    assert_int_equal(m2.deliveries + m2.finals, 0);
    asock_t_end(loop);
}

/* ---- io_uring: a kernel that refuses the multishot flags (-EINVAL) ---- */

static void multi_einval_fallback(void **state)
{
    (void)state;
    setenv("ASOCK_URING_TEST_EINVAL", "accept,recv", 1);
    asock_loop *loop = asock_t_loop();
    unsetenv("ASOCK_URING_TEST_EINVAL");
    bool uring = asock_loop_engine(loop) == ASOCK_ENGINE_IO_URING;
    unsigned before = asock__uring_features(loop);

    /* datagrams */
    uint16_t pa = 0;
    int a = asock_t_udp_socket(AF_INET, "127.0.0.1", &pa);
    asock_socket *s = asock_t_open(loop, AF_INET, SOCK_DGRAM);
    asock_t_bind(s, "127.0.0.1", 0);
    uint16_t port = asock_t_local_port(s);
    mt m;
    mt_init(&m);
    assert_int_equal(mt_start(&m, asock_receive_multi_async, s), 1);
    for (int i = 0; i < 5; i++)
        asock_t_sendto(a, "ev", 2, "127.0.0.1", port);
    run_until(loop, &m, has_deliveries, 5);
    assert_int_equal(m.finals, 0);
    asock_cancel_async(&m.e);
    run_until(loop, &m, has_final, 0);

    /* accept */
    uint16_t lport = 0;
    asock_socket *l = asock_t_listener(loop, "127.0.0.1", &lport);
    mt_init(&m);
    assert_int_equal(mt_start(&m, asock_accept_multi_async, l), 1);
    int fd = asock_t_tcp_connect(AF_INET, "127.0.0.1", lport);
    run_until(loop, &m, has_deliveries, 1);
    asock_socket_close(m.accepted[0]);
    asock_cancel_async(&m.e);
    run_until(loop, &m, has_final, 0);
    assert_int_equal(m.final_error, ASOCK_ERR_OPERATION_ABORTED);

    if (uring && (before & T_F_RECV_MULTI)) {
        unsigned after = asock__uring_features(loop);
        assert_int_equal(after & (T_F_RECV_MULTI | T_F_ACCEPT_MULTI), 0);
    }
    /* a stream on the readiness path after the switch */
    asock_socket *c;
    int peer;
    asock_t_connected_pair(loop, AF_INET, &c, &peer);
    mt_init(&m);
    assert_int_equal(mt_start(&m, asock_receive_multi_async, c), 1);
    asock_t_write_all(peer, "stream", 6);
    asock_t_close_fd(peer);
    run_until(loop, &m, has_final, 0);
    assert_int_equal(m.bytes, 6);
    assert_int_equal(m.final_error, ASOCK_SUCCESS);

    asock_socket_close(c);
    asock_socket_close(l);
    asock_socket_close(s);
    asock_t_close_fd(fd);
    asock_t_close_fd(a);
    asock_t_end(loop);
}

/* 1 if ASOCK_URING_DISABLE names name. */
static int disabled(const char *name)
{
    const char *s = getenv("ASOCK_URING_DISABLE");
    size_t n = strlen(name);
    while (s != NULL && *s != '\0') {
        size_t len = strcspn(s, ",");
        if (len == n && memcmp(s, name, n) == 0)
            return 1;
        s += len;
        if (*s == ',')
            s++;
    }
    return 0;
}

/* The features the io_uring loop reports follow ASOCK_URING_DISABLE. */
static void multi_switches(void **state)
{
    (void)state;
    asock_loop *loop = asock_t_loop();
    if (asock_loop_engine(loop) != ASOCK_ENGINE_IO_URING) {
        asock_t_end(loop);
        skip();
    }
    unsigned f = asock__uring_features(loop);
    if (disabled("all") || disabled("multishot"))
        assert_int_equal(f & (T_F_ACCEPT_MULTI | T_F_RECV_MULTI), 0);
    if (disabled("accept_multishot"))
        assert_int_equal(f & T_F_ACCEPT_MULTI, 0);
    if (disabled("recv_multishot"))
        assert_int_equal(f & T_F_RECV_MULTI, 0);
    if (disabled("buf_ring"))
        assert_int_equal(f & (T_F_BUF_RING | T_F_RECV_MULTI), 0);
    /* whatever is on, a stream of 4 MiB arrives whole */
    stream_4mib(loop);
    asock_t_end(loop);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(multi_udp_in_order), cmocka_unit_test(multi_udp_v6_and_refused),
        cmocka_unit_test(multi_tcp_4mib),     cmocka_unit_test(multi_cancel_inside),
        cmocka_unit_test(multi_close),        cmocka_unit_test(multi_tiny_pool),
        cmocka_unit_test(multi_accept_200),   cmocka_unit_test(cancel_plain_operations),
        cmocka_unit_test(multi_bad_input),    cmocka_unit_test(multi_einval_fallback),
        cmocka_unit_test(multi_switches),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
