/* Load: N concurrent loopback TCP connections, each echoing a stream that is checked end to end
 * (both ends asock sockets on one loop).
 *
 *   phase 1  N clients connect to one asock listener; all N stay open at once (both ends: 2N
 *            descriptors, so RLIMIT_NOFILE is raised, or the test skips saying why);
 *   phase 2  every client sends BYTES bytes of a pattern unique to (connection, offset) in
 *            chunks of varying size while receiving the echo; the server side echoes whatever
 *            it receives.  Every received byte is compared with the pattern at its offset, so a
 *            byte lost, duplicated, reordered or crossed between connections fails the test;
 *            an FNV-1a checksum of each direction is kept as well;
 *   phase 3  clients shut down their side; the server side sees the end and closes; clients
 *            close; asock_t_end checks that every descriptor was given back.
 * Short by default (ASOCK_LOAD_CONNS=500, ASOCK_LOAD_BYTES=32768); ASOCK_LOAD_LONG=1 runs
 * 10,000 connections of 65,536 bytes each.  The figures go to stderr ("# load: ..."). */
#define _GNU_SOURCE 1
#include "net.h"

#include <errno.h>
#include <stdbool.h>
#include <stdarg.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#define CHUNK        4096
#define MAX_INFLIGHT 512 /* connects started at a time */

struct client;

struct server_conn {
    asock_socket *s;
    asock_args rx, tx;
    unsigned char buf[CHUNK];
    size_t echoed;
    bool closed;
};

struct client {
    asock_socket *s;
    asock_args con, tx, rx;
    unsigned id;
    size_t sent, received;
    uint64_t sum_sent, sum_recv;
    unsigned char out[CHUNK], in[CHUNK];
    bool connected, done, failed;
};

static struct {
    asock_loop *loop;
    asock_socket *lst;
    asock_args acc;
    uint16_t port;
    size_t nconn, bytes;
    struct client *cl;
    struct server_conn **sv;
    size_t nsv;
    size_t connected, connecting, next_connect, done, errors, server_closed;
    uint64_t total_echoed;
    char first_error[200];
    bool split; /* the server side runs in a child process (RLIMIT_NOFILE too low for both) */
} g;

static void failure(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

static void failure(const char *fmt, ...)
{
    if (g.errors++ == 0) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(g.first_error, sizeof(g.first_error), fmt, ap);
        va_end(ap);
    }
}

static inline unsigned char pattern(unsigned id, size_t off)
{
    uint32_t x = (uint32_t)off * 2654435761u ^ id * 40503u;
    x ^= x >> 15;
    return (unsigned char)(x ^ (x >> 8));
}

static uint64_t fnv(uint64_t h, const unsigned char *p, size_t n)
{
    for (size_t i = 0; i < n; i++)
        h = (h ^ p[i]) * 1099511628211u;
    return h;
}

/* ---- server side: echo ---- */

static void sv_rx_done(asock_socket *s, asock_args *e);

static void sv_close(struct server_conn *c)
{
    if (!c->closed) {
        c->closed = true;
        g.server_closed++;
        asock_socket_close(c->s);
    }
}

/* Starts the next receive; handles synchronous completions in a bounded loop. */
static void sv_receive(struct server_conn *c)
{
    for (int spins = 0; spins < 64 && !c->closed; spins++) {
        asock_args_set_buffer(&c->rx, c->buf, 0, CHUNK);
        int rc = asock_receive_async(c->s, &c->rx);
        if (rc == 1)
            return;
        if (rc < 0) {
            failure("server receive refused: %d", rc);
            sv_close(c);
            return;
        }
        if (c->rx.socket_error != ASOCK_SUCCESS || c->rx.bytes_transferred == 0) {
            if (c->rx.socket_error != ASOCK_SUCCESS)
                failure("server receive: %s", asock_socket_error_name(c->rx.socket_error));
            sv_close(c);
            return;
        }
        asock_args_set_buffer(&c->tx, c->buf, 0, c->rx.bytes_transferred);
        rc = asock_send_async(c->s, &c->tx);
        if (rc == 1)
            return; /* the send's completion receives again */
        if (rc < 0 || c->tx.socket_error != ASOCK_SUCCESS) {
            failure("server send: %d %s", rc, asock_socket_error_name(c->tx.socket_error));
            sv_close(c);
            return;
        }
        c->echoed += c->tx.bytes_transferred;
        g.total_echoed += c->tx.bytes_transferred;
    }
    /* fairness: continue from the loop */
    asock_args_set_buffer(&c->rx, c->buf, 0, CHUNK);
    int rc = asock_receive_async(c->s, &c->rx);
    if (rc == 0)
        sv_rx_done(c->s, &c->rx);
}

static void sv_tx_done(asock_socket *s, asock_args *e)
{
    (void)s;
    struct server_conn *c = e->user_token;
    if (e->socket_error != ASOCK_SUCCESS) {
        if (!c->closed)
            failure("server send: %s", asock_socket_error_name(e->socket_error));
        sv_close(c);
        return;
    }
    c->echoed += e->bytes_transferred;
    g.total_echoed += e->bytes_transferred;
    sv_receive(c);
}

static void sv_rx_done(asock_socket *s, asock_args *e)
{
    (void)s;
    struct server_conn *c = e->user_token;
    if (e->socket_error != ASOCK_SUCCESS || e->bytes_transferred == 0) {
        if (e->socket_error != ASOCK_SUCCESS && !c->closed)
            failure("server receive: %s", asock_socket_error_name(e->socket_error));
        sv_close(c);
        return;
    }
    asock_args_set_buffer(&c->tx, c->buf, 0, e->bytes_transferred);
    int rc = asock_send_async(c->s, &c->tx);
    if (rc == 1)
        return;
    if (rc < 0) {
        failure("server send refused: %d", rc);
        sv_close(c);
        return;
    }
    sv_tx_done(c->s, &c->tx);
}

static void accepted(asock_socket *s)
{
    struct server_conn *c = calloc(1, sizeof(*c));
    assert_non_null(c);
    c->s = s;
    asock_args_init(&c->rx);
    c->rx.completed = sv_rx_done;
    c->rx.user_token = c;
    asock_args_init(&c->tx);
    c->tx.completed = sv_tx_done;
    c->tx.user_token = c;
    g.sv[g.nsv++] = c;
    sv_receive(c);
}

static void on_accept(asock_socket *s, asock_args *e);

static void accept_next(void)
{
    for (int spins = 0; spins < 256; spins++) {
        if (g.nsv >= g.nconn)
            return;
        g.acc.accept_socket = NULL;
        int rc = asock_accept_async(g.lst, &g.acc);
        if (rc == 1)
            return;
        if (rc < 0 || g.acc.socket_error != ASOCK_SUCCESS) {
            failure("accept: %d %s", rc, asock_socket_error_name(g.acc.socket_error));
            return;
        }
        accepted(g.acc.accept_socket);
    }
    /* continue from the loop */
    g.acc.accept_socket = NULL;
    int rc = asock_accept_async(g.lst, &g.acc);
    if (rc == 0)
        on_accept(g.lst, &g.acc);
}

static void on_accept(asock_socket *s, asock_args *e)
{
    (void)s;
    if (e->socket_error != ASOCK_SUCCESS) {
        if (e->socket_error != ASOCK_ERR_OPERATION_ABORTED)
            failure("accept: %s", asock_socket_error_name(e->socket_error));
        return;
    }
    accepted(e->accept_socket);
    accept_next();
}

/* ---- client side ---- */

static void cl_send_next(struct client *c);
static void cl_receive_next(struct client *c);

static void cl_check_done(struct client *c)
{
    if (!c->done && c->sent == g.bytes && c->received == g.bytes) {
        c->done = true;
        g.done++;
    }
}

static void cl_tx_done(asock_socket *s, asock_args *e)
{
    (void)s;
    struct client *c = e->user_token;
    if (e->socket_error != ASOCK_SUCCESS) {
        failure("client %u send: %s", c->id, asock_socket_error_name(e->socket_error));
        c->failed = true;
        return;
    }
    c->sent += e->bytes_transferred;
    cl_send_next(c);
}

static void cl_send_next(struct client *c)
{
    while (c->sent < g.bytes && !c->failed) {
        size_t n = 1 + (c->id * 7919u + c->sent * 31u) % CHUNK; /* sizes vary */
        if (n > g.bytes - c->sent)
            n = g.bytes - c->sent;
        for (size_t i = 0; i < n; i++)
            c->out[i] = pattern(c->id, c->sent + i);
        c->sum_sent = fnv(c->sum_sent, c->out, n);
        asock_args_set_buffer(&c->tx, c->out, 0, n);
        int rc = asock_send_async(c->s, &c->tx);
        if (rc == 1)
            return;
        if (rc < 0 || c->tx.socket_error != ASOCK_SUCCESS) {
            failure("client %u send: %d %s", c->id, rc,
                    asock_socket_error_name(c->tx.socket_error));
            c->failed = true;
            return;
        }
        c->sent += c->tx.bytes_transferred;
    }
    if (c->sent == g.bytes)
        asock_socket_shutdown(c->s, SHUT_WR); /* the server sees the end after the echo */
    cl_check_done(c);
}

static bool cl_take(struct client *c, const asock_args *e)
{
    if (e->socket_error != ASOCK_SUCCESS || e->bytes_transferred == 0) {
        failure("client %u receive: %s after %zu of %zu bytes", c->id,
                asock_socket_error_name(e->socket_error), c->received, g.bytes);
        c->failed = true;
        return false;
    }
    size_t n = e->bytes_transferred;
    if (c->received + n > g.bytes) {
        failure("client %u: %zu bytes more than were sent", c->id, c->received + n - g.bytes);
        c->failed = true;
        return false;
    }
    for (size_t i = 0; i < n; i++) {
        if (c->in[i] != pattern(c->id, c->received + i)) {
            failure("client %u: byte %zu is wrong", c->id, c->received + i);
            c->failed = true;
            return false;
        }
    }
    c->sum_recv = fnv(c->sum_recv, c->in, n);
    c->received += n;
    return true;
}

static void cl_rx_done(asock_socket *s, asock_args *e)
{
    (void)s;
    struct client *c = e->user_token;
    if (cl_take(c, e))
        cl_receive_next(c);
}

static void cl_receive_next(struct client *c)
{
    for (int spins = 0; spins < 64; spins++) {
        if (c->received == g.bytes || c->failed) {
            cl_check_done(c);
            return;
        }
        asock_args_set_buffer(&c->rx, c->in, 0, CHUNK);
        int rc = asock_receive_async(c->s, &c->rx);
        if (rc == 1)
            return;
        if (rc < 0) {
            failure("client %u receive refused: %d", c->id, rc);
            c->failed = true;
            return;
        }
        if (!cl_take(c, &c->rx))
            return;
    }
    asock_args_set_buffer(&c->rx, c->in, 0, CHUNK);
    int rc = asock_receive_async(c->s, &c->rx);
    if (rc == 0)
        cl_rx_done(c->s, &c->rx);
}

static void start_connects(void);

static void cl_connected(asock_socket *s, asock_args *e)
{
    (void)s;
    struct client *c = e->user_token;
    g.connecting--;
    if (e->socket_error != ASOCK_SUCCESS) {
        failure("client %u connect: %s", c->id, asock_socket_error_name(e->socket_error));
        c->failed = true;
    } else {
        c->connected = true;
        g.connected++;
    }
    start_connects();
}

static void start_connects(void)
{
    while (g.next_connect < g.nconn && g.connecting < MAX_INFLIGHT) {
        struct client *c = &g.cl[g.next_connect];
        c->id = (unsigned)g.next_connect++;
        int rc = asock_socket_open(g.loop, AF_INET, SOCK_STREAM, 0, &c->s);
        if (rc < 0) {
            failure("socket %u: %s", c->id, asock_strerror(rc));
            c->failed = true;
            continue;
        }
        asock_args_init(&c->con);
        c->con.completed = cl_connected;
        c->con.user_token = c;
        asock_t_ep(&c->con.remote_endpoint, "127.0.0.1", g.port);
        c->con.connect_timeout_ms = 30000;
        g.connecting++;
        rc = asock_connect_async(c->s, &c->con);
        if (rc == 0)
            cl_connected(c->s, &c->con);
        else if (rc < 0) {
            g.connecting--;
            failure("connect %u refused: %d", c->id, rc);
            c->failed = true;
        }
    }
}

static size_t env_size(const char *name, size_t dflt)
{
    const char *v = getenv(name);
    return v != NULL && strtoul(v, NULL, 10) > 0 ? (size_t)strtoul(v, NULL, 10) : dflt;
}

static bool raise_nofile(size_t need)
{
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) != 0)
        return false;
    if (rl.rlim_cur >= need)
        return true;
    rl.rlim_cur = need;
    if (rl.rlim_max < need)
        rl.rlim_max = need; /* needs CAP_SYS_RESOURCE (root) */
    return setrlimit(RLIMIT_NOFILE, &rl) == 0;
}

static void run_phase(const char *what, bool (*until)(void), uint64_t ms)
{
    uint64_t t0 = asock_t_now_ms();
    while (!until() && g.errors == 0) {
        if (asock_t_now_ms() - t0 > ms)
            fail_msg("%s: not finished after %llu ms", what, (unsigned long long)ms);
        assert_true(asock_loop_run(g.loop, ASOCK_RUN_ONCE) >= 0);
    }
    if (g.errors != 0)
        fail_msg("%s: %zu errors, the first: %s", what, g.errors, g.first_error);
}

static bool all_connected(void)
{
    return g.connected == g.nconn && (g.split || g.nsv == g.nconn);
}

static bool all_done(void)
{
    return g.done == g.nconn;
}

static bool all_closed(void)
{
    return g.split || g.server_closed == g.nconn;
}

/* The echo server alone, in a child process with its own loop: for when one process may not
 * hold both ends of every connection (a hard RLIMIT_NOFILE below 2N that cannot be raised).
 * Sends the port through fd, serves until N connections came and went, exits 0 when every
 * byte was echoed, 1 otherwise. */
static void server_process(int fd)
{
    g.loop = asock_t_loop();
    g.lst = asock_t_listener(g.loop, "127.0.0.1", &g.port);
    asock_args_init(&g.acc);
    g.acc.completed = on_accept;
    accept_next();
    if (write(fd, &g.port, sizeof(g.port)) != (ssize_t)sizeof(g.port))
        _exit(1);
    close(fd);
    uint64_t t0 = asock_t_now_ms();
    while (g.server_closed < g.nconn && g.errors == 0 && asock_t_now_ms() - t0 < 1200000)
        asock_loop_run(g.loop, ASOCK_RUN_ONCE);
    bool ok = g.errors == 0 && g.server_closed == g.nconn &&
              g.total_echoed == (uint64_t)g.nconn * g.bytes;
    fprintf(stderr, "# load server process: %zu connections served, %llu bytes echoed%s%s\n", g.nsv,
            (unsigned long long)g.total_echoed, ok ? "" : "; FAILED: ",
            ok ? "" : (g.errors != 0 ? g.first_error : "not every connection finished"));
    asock_socket_close(g.lst);
    asock_loop_free(g.loop);
    _exit(ok ? 0 : 1);
}

static void echo_load(void **state)
{
    (void)state;
    bool longrun = getenv("ASOCK_LOAD_LONG") != NULL && getenv("ASOCK_LOAD_LONG")[0] == '1';
    memset(&g, 0, sizeof(g));
    g.nconn = env_size("ASOCK_LOAD_CONNS", longrun ? 10000 : 500);
    g.bytes = env_size("ASOCK_LOAD_BYTES", longrun ? 65536 : 32768);
    const char *sp = getenv("ASOCK_LOAD_SPLIT");
    g.split = sp != NULL && sp[0] == '1';
    if (!g.split && !raise_nofile(2 * g.nconn + 256))
        g.split = true; /* one process cannot hold both ends: the server side goes to a child */
    if (g.split && !raise_nofile(g.nconn + 256)) {
        fprintf(stderr,
                "SKIP: %zu connections need RLIMIT_NOFILE >= %zu per process and it cannot be "
                "raised here (run as root, or lower ASOCK_LOAD_CONNS)\n",
                g.nconn, g.nconn + 256);
        skip();
    }
    g.cl = calloc(g.nconn, sizeof(*g.cl));
    g.sv = calloc(g.nconn, sizeof(*g.sv));
    assert_non_null(g.cl);
    assert_non_null(g.sv);
    pid_t child = -1;
    if (g.split) {
        int pfd[2];
        assert_int_equal(pipe(pfd), 0);
        child = fork(); /* before this process makes its loop */
        assert_true(child >= 0);
        if (child == 0) {
            close(pfd[0]);
            server_process(pfd[1]);
        }
        close(pfd[1]);
        assert_int_equal(read(pfd[0], &g.port, sizeof(g.port)), (ssize_t)sizeof(g.port));
        close(pfd[0]);
    }
    g.loop = asock_t_loop();
    if (!g.split) {
        g.lst = asock_t_listener(g.loop, "127.0.0.1", &g.port);
        asock_args_init(&g.acc);
        g.acc.completed = on_accept;
    }

    uint64_t t0 = asock_t_now_ms();
    if (!g.split)
        accept_next();
    start_connects();
    run_phase("connect", all_connected, longrun ? 120000 : 30000);
    uint64_t t1 = asock_t_now_ms();
    fprintf(stderr, "# load: %zu connections open at once (%zu descriptors%s) after %llu ms\n",
            g.nconn, 2 * g.nconn, g.split ? ", server side in a child process" : "",
            (unsigned long long)(t1 - t0));

    for (size_t i = 0; i < g.nconn; i++) {
        struct client *c = &g.cl[i];
        c->sum_sent = c->sum_recv = 1469598103934665603u;
        asock_args_init(&c->tx);
        c->tx.completed = cl_tx_done;
        c->tx.user_token = c;
        asock_args_init(&c->rx);
        c->rx.completed = cl_rx_done;
        c->rx.user_token = c;
        cl_receive_next(c);
        cl_send_next(c);
        if (g.errors != 0)
            break;
    }
    run_phase("echo", all_done, longrun ? 600000 : 60000);
    uint64_t t2 = asock_t_now_ms();
    run_phase("close", all_closed, 30000);
    uint64_t sent = 0, recv = 0;
    for (size_t i = 0; i < g.nconn; i++) {
        struct client *c = &g.cl[i];
        assert_int_equal(c->sent, g.bytes);
        assert_int_equal(c->received, g.bytes);
        assert_true(c->sum_sent == c->sum_recv);
        sent += c->sent;
        recv += c->received;
    }
    assert_true(recv == sent);
    if (!g.split)
        assert_true(g.total_echoed == sent);
    fprintf(stderr,
            "# load: %zu connections echoed %llu bytes each way (%zu per connection), every "
            "byte checked, checksums equal, in %llu ms (%.1f MB/s echoed); nothing lost or "
            "duplicated\n",
            g.nconn, (unsigned long long)sent, g.bytes, (unsigned long long)(t2 - t1),
            (double)sent / 1e6 / ((double)(t2 - t1 + 1) / 1000.0));
    for (size_t i = 0; i < g.nconn; i++)
        asock_socket_close(g.cl[i].s);
    if (!g.split)
        asock_socket_close(g.lst);
    asock_t_end(g.loop);
    if (g.split) {
        int st = 0;
        assert_int_equal(waitpid(child, &st, 0), child);
        assert_true(WIFEXITED(st) && WEXITSTATUS(st) == 0);
    }
    for (size_t i = 0; i < g.nsv; i++)
        free(g.sv[i]);
    free(g.sv);
    free(g.cl);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(echo_load),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
