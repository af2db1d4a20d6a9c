/* Network helpers for the socket-layer tests (see net.h). */
#define _GNU_SOURCE 1
#include "net.h"

#include <errno.h>
#include <fcntl.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <time.h>
#include <unistd.h>

uint64_t asock_t_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

/* ---- endpoints ---- */

void asock_t_ep(asock_endpoint *ep, const char *addr, uint16_t port)
{
    memset(ep, 0, sizeof(*ep));
    int rc = asock_endpoint_ip(ep, addr, port);
    if (rc != 0)
        fail_msg("asock_endpoint_ip(%s, %u) = %d", addr, port, rc);
    assert_int_equal(ep->kind, ASOCK_ENDPOINT_IP);
}

socklen_t asock_t_sockaddr(const char *addr, uint16_t port, struct sockaddr_storage *ss)
{
    memset(ss, 0, sizeof(*ss));
    struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)ss;
    if (inet_pton(AF_INET6, addr, &s6->sin6_addr) == 1) {
        s6->sin6_family = AF_INET6;
        s6->sin6_port = htons(port);
        return sizeof(*s6);
    }
    struct sockaddr_in *s4 = (struct sockaddr_in *)ss;
    assert_int_equal(inet_pton(AF_INET, addr, &s4->sin_addr), 1);
    s4->sin_family = AF_INET;
    s4->sin_port = htons(port);
    return sizeof(*s4);
}

uint16_t asock_t_sa_port(const struct sockaddr_storage *ss)
{
    if (ss->ss_family == AF_INET6)
        return ntohs(((const struct sockaddr_in6 *)ss)->sin6_port);
    return ntohs(((const struct sockaddr_in *)ss)->sin_port);
}

const char *asock_t_sa_addr(const struct sockaddr_storage *ss, char *buf, size_t len)
{
    const void *a = ss->ss_family == AF_INET6
                        ? (const void *)&((const struct sockaddr_in6 *)ss)->sin6_addr
                        : (const void *)&((const struct sockaddr_in *)ss)->sin_addr;
    if (inet_ntop(ss->ss_family, a, buf, (socklen_t)len) == NULL)
        snprintf(buf, len, "?");
    return buf;
}

const char *asock_t_ep_addr(const asock_endpoint *ep, char *buf, size_t len)
{
    if (ep->kind != ASOCK_ENDPOINT_IP) {
        snprintf(buf, len, "(kind %d)", (int)ep->kind);
        return buf;
    }
    struct sockaddr_storage ss;
    memset(&ss, 0, sizeof(ss));
    memcpy(&ss, &ep->ip, sizeof(ep->ip));
    return asock_t_sa_addr(&ss, buf, len);
}

void asock_t_assert_ep(const asock_endpoint *ep, const char *addr, uint16_t port)
{
    asock_endpoint want;
    asock_t_ep(&want, addr, port);
    if (!asock_endpoint_equal(ep, &want)) {
        char got[96], w[96];
        asock_endpoint_format(ep, got, sizeof(got));
        asock_endpoint_format(&want, w, sizeof(w));
        fail_msg("endpoint %s, want %s", got, w);
    }
}

/* ---- asock sockets ---- */

asock_socket *asock_t_open(asock_loop *loop, int family, int type)
{
    asock_socket *s = NULL;
    int rc = asock_socket_open(loop, family, type, 0, &s);
    if (rc != 0)
        fail_msg("asock_socket_open(%d, %d) = %d (%s)", family, type, rc, asock_strerror(rc));
    assert_non_null(s);
    return s;
}

void asock_t_bind(asock_socket *s, const char *addr, uint16_t port)
{
    asock_endpoint ep;
    asock_t_ep(&ep, addr, port);
    int rc = asock_socket_bind(s, &ep);
    if (rc != 0)
        fail_msg("asock_socket_bind(%s:%u) = %d (%s)", addr, port, rc, asock_strerror(rc));
}

uint16_t asock_t_local_port(const asock_socket *s)
{
    asock_endpoint ep;
    memset(&ep, 0, sizeof(ep));
    assert_int_equal(asock_socket_local_endpoint(s, &ep), 0);
    return asock_endpoint_port(&ep);
}

asock_socket *asock_t_listener(asock_loop *loop, const char *addr, uint16_t *port)
{
    int family = strchr(addr, ':') != NULL ? AF_INET6 : AF_INET;
    asock_socket *s = asock_t_open(loop, family, SOCK_STREAM);
    asock_t_bind(s, addr, 0);
    assert_int_equal(asock_socket_listen(s, 0), 0);
    *port = asock_t_local_port(s);
    assert_int_not_equal(*port, 0);
    return s;
}

/* ---- the operation tracker ---- */

asock_t_op *asock_t_op_of(asock_args *e)
{
    return (asock_t_op *)(void *)((char *)e - offsetof(asock_t_op, e));
}

static void op_completed(asock_socket *sender, asock_args *e)
{
    asock_t_op *op = asock_t_op_of(e);
    op->calls++;
    if (op->inside)
        op->calls_inside++;
    op->busy_in_cb = asock_args_in_use(e);
    op->sender = sender;
    op->cb_last_operation = e->last_operation;
    op->cb_user_token = e->user_token;
    op->done = 1;
    if (op->then != NULL)
        op->then(op, sender);
}

void asock_t_op_init(asock_t_op *op)
{
    memset(op, 0, sizeof(*op));
    asock_args_init(&op->e);
    op->e.completed = op_completed;
}

void asock_t_call_begin(asock_t_op *op)
{
    op->done = 0;
    op->inside = 1;
}

int asock_t_call_end(asock_t_op *op, int rc)
{
    op->inside = 0;
    op->rc = rc;
    if (rc == 1)
        op->pending++;
    else if (rc == 0)
        op->done = 1;
    return rc;
}

int asock_t_start(asock_t_op *op, asock_t_start_fn *fn, asock_socket *s)
{
    asock_t_call_begin(op);
    int rc = fn(s, &op->e);
    return asock_t_call_end(op, rc);
}

void asock_t_op_check_at(const asock_t_op *op, const char *file, int line)
{
    if (op->calls_inside != 0) {
        print_error("%s:%d: the callback ran inside the call that started it (%d times)\n", file,
                    line, op->calls_inside);
        _fail(file, line);
    }
    if (op->calls != op->pending) {
        print_error("%s:%d: %d callbacks for %d pending starts (last rc %d)\n", file, line,
                    op->calls, op->pending, op->rc);
        _fail(file, line);
    }
}

void asock_t_wait(asock_loop *loop, asock_t_op *op, int timeout_ms)
{
    if (op->rc == 1 && asock_t_run_until(loop, &op->done, timeout_ms) != 0)
        fail_msg("pending operation (last_operation %d) did not complete in %d ms",
                 (int)op->e.last_operation, timeout_ms);
    asock_t_op_check(op);
}

int asock_t_do_at(asock_loop *loop, asock_t_op *op, asock_t_start_fn *fn, asock_socket *s,
                  const char *file, int line)
{
    int rc = asock_t_start(op, fn, s);
    if (rc != 0 && rc != 1) {
        print_error("%s:%d: operation refused: %d (%s)\n", file, line, rc, asock_strerror(rc));
        _fail(file, line);
    }
    asock_t_wait(loop, op, ASOCK_T_WAIT_MS);
    return rc;
}

static const char *err_name(asock_socket_error err)
{
    const char *n = asock_socket_error_name(err);
    return n != NULL ? n : "?";
}

void asock_t_assert_err_at(const asock_args *e, asock_socket_error want, const char *file, int line)
{
    if (e->socket_error != want) {
        print_error("%s:%d: socket_error %s (%d), sys_errno %d (%s), detail \"%s\"; want %s (%d)\n",
                    file, line, err_name(e->socket_error), (int)e->socket_error, e->sys_errno,
                    asock_strerror(e->sys_errno), asock_args_error_detail(e), err_name(want),
                    (int)want);
        _fail(file, line);
    }
}

void asock_t_assert_rc_at(int rc, int want, const char *file, int line)
{
    if (rc != want) {
        print_error("%s:%d: call returned %d (%s), want %d (%s)\n", file, line, rc,
                    rc < 0 ? asock_strerror(rc) : (rc == 1 ? "pending" : "synchronous"), want,
                    asock_strerror(want));
        _fail(file, line);
    }
}

/* ---- composite set-ups ---- */

void asock_t_connected_pair(asock_loop *loop, int family, asock_socket **client, int *peer)
{
    const char *addr = family == AF_INET6 ? "::1" : "127.0.0.1";
    uint16_t port = 0;
    int lfd = asock_t_tcp_listener(family, addr, &port);
    asock_socket *s = asock_t_open(loop, family, SOCK_STREAM);
    asock_t_op op;
    asock_t_op_init(&op);
    asock_t_ep(&op.e.remote_endpoint, addr, port);
    asock_t_do(loop, &op, asock_connect_async, s);
    asock_t_assert_err(&op.e, ASOCK_SUCCESS);
    *peer = asock_t_accept_fd(lfd, ASOCK_T_WAIT_MS);
    asock_t_close_fd(lfd);
    *client = s;
}

int asock_t_blackhole(int family, const char *addr, uint16_t *port, int *filler)
{
    int lfd = socket(family, SOCK_STREAM | SOCK_CLOEXEC, 0);
    assert_true(lfd >= 0);
    struct sockaddr_storage ss;
    socklen_t len = asock_t_sockaddr(addr, 0, &ss);
    assert_int_equal(bind(lfd, (struct sockaddr *)&ss, len), 0);
    assert_int_equal(listen(lfd, 0), 0);
    len = sizeof(ss);
    assert_int_equal(getsockname(lfd, (struct sockaddr *)&ss, &len), 0);
    *port = asock_t_sa_port(&ss);
    /* One connection fills a backlog-0 accept queue; the kernel then drops further SYNs. */
    int f = socket(family, SOCK_STREAM | SOCK_CLOEXEC, 0);
    assert_true(f >= 0);
    assert_int_equal(connect(f, (struct sockaddr *)&ss, len), 0);
    /* Probe: a non-blocking connect must stay unanswered for a while. */
    int probe = socket(family, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    assert_true(probe >= 0);
    int rc = connect(probe, (struct sockaddr *)&ss, len);
    int works = 0;
    if (rc < 0 && errno == EINPROGRESS) {
        struct pollfd p = {.fd = probe, .events = POLLOUT};
        works = poll(&p, 1, 100) == 0;
    }
    close(probe);
    if (!works) {
        close(f);
        close(lfd);
        return -1;
    }
    *filler = f;
    return lfd;
}

/* ---- plain peers ---- */

int asock_t_accept_fd(int lfd, int timeout_ms)
{
    if (!asock_t_wait_readable(lfd, timeout_ms))
        fail_msg("no connection to accept within %d ms", timeout_ms);
    int fd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);
    assert_true(fd >= 0);
    return fd;
}

ssize_t asock_t_read_some(int fd, void *buf, size_t cap, int timeout_ms)
{
    if (!asock_t_wait_readable(fd, timeout_ms))
        return -1;
    ssize_t n = recv(fd, buf, cap, MSG_DONTWAIT);
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
        return -1;
    if (n < 0)
        fail_msg("recv: errno %d", errno);
    return n;
}

void asock_t_read_exact(int fd, void *buf, size_t n, int timeout_ms)
{
    size_t got = 0;
    uint64_t end = asock_t_now_ms() + (uint64_t)timeout_ms;
    while (got < n) {
        uint64_t now = asock_t_now_ms();
        if (now >= end)
            fail_msg("read %zu of %zu bytes in %d ms", got, n, timeout_ms);
        ssize_t r = asock_t_read_some(fd, (char *)buf + got, n - got, (int)(end - now));
        if (r == 0)
            fail_msg("EOF after %zu of %zu bytes", got, n);
        if (r > 0)
            got += (size_t)r;
    }
}

void asock_t_write_all(int fd, const void *buf, size_t n)
{
    size_t done = 0;
    while (done < n) {
        ssize_t w = send(fd, (const char *)buf + done, n - done, MSG_NOSIGNAL);
        if (w < 0 && errno == EINTR)
            continue;
        if (w < 0)
            fail_msg("send: errno %d", errno);
        done += (size_t)w;
    }
}

void asock_t_sendto(int fd, const void *buf, size_t n, const char *addr, uint16_t port)
{
    struct sockaddr_storage ss;
    socklen_t len = asock_t_sockaddr(addr, port, &ss);
    ssize_t w = sendto(fd, buf, n, MSG_NOSIGNAL, (struct sockaddr *)&ss, len);
    if (w < 0 || (size_t)w != n)
        fail_msg("sendto %s:%u: %zd (errno %d)", addr, port, w, errno);
}

ssize_t asock_t_recvfrom(int fd, void *buf, size_t cap, int timeout_ms,
                         struct sockaddr_storage *from)
{
    if (!asock_t_wait_readable(fd, timeout_ms))
        return -1;
    struct sockaddr_storage ss;
    socklen_t len = sizeof(ss);
    ssize_t n = recvfrom(fd, buf, cap, MSG_DONTWAIT, (struct sockaddr *)&ss, &len);
    if (n < 0)
        return -1;
    if (from != NULL)
        *from = ss;
    return n;
}

void asock_t_close_fd(int fd)
{
    assert_int_equal(close(fd), 0);
}

void asock_t_set_abortive(int fd)
{
    struct linger l = {.l_onoff = 1, .l_linger = 0};
    assert_int_equal(setsockopt(fd, SOL_SOCKET, SO_LINGER, &l, sizeof(l)), 0);
}

void asock_t_fill(void *buf, size_t n, unsigned seed)
{
    unsigned char *p = buf;
    uint32_t x = seed * 2654435761u + 1u;
    for (size_t i = 0; i < n; i++) {
        x = x * 1103515245u + 12345u;
        p[i] = (unsigned char)(x >> 16);
    }
}

int asock_t_check_fill(const void *buf, size_t n, unsigned seed)
{
    const unsigned char *p = buf;
    uint32_t x = seed * 2654435761u + 1u;
    for (size_t i = 0; i < n; i++) {
        x = x * 1103515245u + 12345u;
        if (p[i] != (unsigned char)(x >> 16))
            return 0;
    }
    return 1;
}

static void *reader_main(void *arg)
{
    asock_t_reader *r = arg;
    if (r->lfd >= 0) {
        struct pollfd p = {.fd = r->lfd, .events = POLLIN};
        if (poll(&p, 1, ASOCK_T_WAIT_MS) <= 0) {
            r->err = ETIMEDOUT;
            return NULL;
        }
        r->fd = accept4(r->lfd, NULL, NULL, SOCK_CLOEXEC);
        if (r->fd < 0) {
            r->err = errno;
            return NULL;
        }
    }
    while (r->got < r->n) {
        struct pollfd p = {.fd = r->fd, .events = POLLIN};
        if (poll(&p, 1, ASOCK_T_WAIT_MS) <= 0) {
            r->err = ETIMEDOUT;
            return NULL;
        }
        ssize_t n = recv(r->fd, r->buf + r->got, r->n - r->got, MSG_DONTWAIT);
        if (n == 0) {
            r->err = -1;
            return NULL;
        }
        if (n < 0) {
            if (errno == EAGAIN || errno == EINTR)
                continue;
            r->err = errno;
            return NULL;
        }
        r->got += (size_t)n;
    }
    return NULL;
}

void asock_t_reader_start(asock_t_reader *r, int lfd, int fd, size_t n)
{
    memset(r, 0, sizeof(*r));
    r->lfd = lfd;
    r->fd = fd;
    r->n = n;
    r->buf = malloc(n > 0 ? n : 1);
    assert_non_null(r->buf);
    assert_int_equal(pthread_create(&r->thread, NULL, reader_main, r), 0);
}

void asock_t_reader_join(asock_t_reader *r)
{
    assert_int_equal(pthread_join(r->thread, NULL), 0);
}

void asock_t_reader_free(asock_t_reader *r)
{
    free(r->buf);
    r->buf = NULL;
}

void asock_t_spin(asock_loop *loop, int ms)
{
    uint64_t end = asock_t_now_ms() + (uint64_t)ms;
    do {
        assert_true(asock_loop_run(loop, ASOCK_RUN_NOWAIT) >= 0);
        struct timespec ts = {0, 1000000};
        nanosleep(&ts, NULL);
    } while (asock_t_now_ms() < end);
}
