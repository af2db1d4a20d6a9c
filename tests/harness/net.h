/* Network helpers for the socket-layer tests: an operation tracker that checks the completion
 * contract (0 = synchronous, no callback; 1 = pending, exactly one callback, from the loop, never
 * inside the call), asock socket shortcuts, and plain blocking peers on loopback. */
#ifndef ASOCK_TEST_NET_H
#define ASOCK_TEST_NET_H

#include "test.h"

#include <pthread.h>
#include <sys/types.h>

/* Every wait in the socket tests is bounded by this (ms). */
#define ASOCK_T_WAIT_MS 5000

/* ---- endpoints ---- */

/* asock_endpoint_ip that must succeed. */
void asock_t_ep(asock_endpoint *ep, const char *addr, uint16_t port);
/* A sockaddr for an IP literal (the family comes from the literal). */
socklen_t asock_t_sockaddr(const char *addr, uint16_t port, struct sockaddr_storage *ss);
/* The port / the address text of a sockaddr. */
uint16_t asock_t_sa_port(const struct sockaddr_storage *ss);
const char *asock_t_sa_addr(const struct sockaddr_storage *ss, char *buf, size_t len);
/* The address text of an IP endpoint ("127.0.0.1", "::1"). */
const char *asock_t_ep_addr(const asock_endpoint *ep, char *buf, size_t len);
/* Fails the test (printing both) unless ep equals the IP endpoint addr:port. */
void asock_t_assert_ep(const asock_endpoint *ep, const char *addr, uint16_t port);

/* ---- asock sockets (each must succeed) ---- */

asock_socket *asock_t_open(asock_loop *loop, int family, int type);
void asock_t_bind(asock_socket *s, const char *addr, uint16_t port);
uint16_t asock_t_local_port(const asock_socket *s);
/* An asock listener on addr:0 (backlog SOMAXCONN); *port gets its port. */
asock_socket *asock_t_listener(asock_loop *loop, const char *addr, uint16_t *port);

/* ---- the operation tracker ---- */

typedef struct asock_t_op asock_t_op;
/* Runs at the end of the tracker's callback (for re-arming and closing from a callback). */
typedef void asock_t_then_fn(asock_t_op *op, asock_socket *sender);

struct asock_t_op {
    asock_args e;         /* must stay first: the callback finds the tracker from &e */
    int rc;               /* what the last start call returned */
    volatile int done;    /* the last started operation's results are readable */
    int pending;          /* start calls that returned 1 */
    int calls;            /* callbacks run */
    int calls_inside;     /* callbacks that ran inside a start call (a contract violation) */
    int inside;           /* a start call is running */
    int busy_in_cb;       /* asock_args_in_use(e) seen at callback entry */
    asock_socket *sender; /* sender of the last callback */
    asock_operation cb_last_operation; /* e->last_operation seen at callback entry */
    void *cb_user_token;               /* e->user_token seen at callback entry */
    asock_t_then_fn *then;             /* optional */
    void *ctx;                         /* for `then` */
    int then_state;                    /* for `then` */
};

/* Initialises op (asock_args_init, completed = the tracker's callback, user_token = NULL). */
void asock_t_op_init(asock_t_op *op);
/* The tracker of an args record (valid in a callback). */
asock_t_op *asock_t_op_of(asock_args *e);

/* Bracket any start call: marks "inside", then records rc (0 -> done at once, 1 -> pending). */
void asock_t_call_begin(asock_t_op *op);
int asock_t_call_end(asock_t_op *op, int rc);

typedef int asock_t_start_fn(asock_socket *s, asock_args *e);
/* Starts fn(s, &op->e) inside the bracket; returns rc, asserts nothing. */
int asock_t_start(asock_t_op *op, asock_t_start_fn *fn, asock_socket *s);
/* For rc 1: runs the loop until the callback ran (fails after timeout_ms).  For rc 0: nothing.
 * Then asserts the contract so far (see asock_t_op_check). */
void asock_t_wait(asock_loop *loop, asock_t_op *op, int timeout_ms);
/* start + assert rc is 0 or 1 + wait.  Returns rc. */
#define asock_t_do(loop, op, fn, s) asock_t_do_at((loop), (op), (fn), (s), __FILE__, __LINE__)
int asock_t_do_at(asock_loop *loop, asock_t_op *op, asock_t_start_fn *fn, asock_socket *s,
                  const char *file, int line);
/* calls == pending and no callback ran inside a call. */
#define asock_t_op_check(op) asock_t_op_check_at((op), __FILE__, __LINE__)
void asock_t_op_check_at(const asock_t_op *op, const char *file, int line);

/* Asserts e->socket_error (printing names, sys_errno and the detail string on a mismatch). */
#define asock_t_assert_err(e, want) asock_t_assert_err_at((e), (want), __FILE__, __LINE__)
void asock_t_assert_err_at(const asock_args *e, asock_socket_error want, const char *file,
                           int line);
/* Asserts that a start call was refused with exactly want (a negative errno). */
#define asock_t_assert_rc(rc, want) asock_t_assert_rc_at((rc), (want), __FILE__, __LINE__)
void asock_t_assert_rc_at(int rc, int want, const char *file, int line);

/* ---- composite set-ups ---- */

/* An asock client of family connected to a plain peer (accepted fd in *peer). */
void asock_t_connected_pair(asock_loop *loop, int family, asock_socket **client, int *peer);

/* A plain TCP listener on addr whose accept queue is full, so a further SYN is never answered.
 * Returns the listener fd (its port in *port, the filler connection in *filler), or -1 when the
 * trick does not work on this machine (the caller skips). */
int asock_t_blackhole(int family, const char *addr, uint16_t *port, int *filler);

/* ---- plain peers ---- */

/* accept(2) with a bounded wait; fails the test on timeout. */
int asock_t_accept_fd(int lfd, int timeout_ms);
/* Reads exactly n bytes (bounded); fails the test on timeout or EOF. */
void asock_t_read_exact(int fd, void *buf, size_t n, int timeout_ms);
/* One read with a bounded wait: bytes read, 0 on EOF, -1 on timeout. */
ssize_t asock_t_read_some(int fd, void *buf, size_t cap, int timeout_ms);
void asock_t_write_all(int fd, const void *buf, size_t n);
/* One datagram to addr:port. */
void asock_t_sendto(int fd, const void *buf, size_t n, const char *addr, uint16_t port);
/* One datagram with a bounded wait: its length, or -1 on timeout. */
ssize_t asock_t_recvfrom(int fd, void *buf, size_t cap, int timeout_ms,
                         struct sockaddr_storage *from);
/* close(2) that must succeed. */
void asock_t_close_fd(int fd);
/* Makes close(fd) send a RST (SO_LINGER 0). */
void asock_t_set_abortive(int fd);

/* A byte pattern (seeded) and its check. */
void asock_t_fill(void *buf, size_t n, unsigned seed);
int asock_t_check_fill(const void *buf, size_t n, unsigned seed);

/* A reader thread: accepts on lfd first if lfd >= 0 (else reads fd), then reads n bytes. */
typedef struct asock_t_reader {
    pthread_t thread;
    int lfd, fd;
    size_t n, got;
    unsigned char *buf;
    int err; /* 0, or what went wrong (ETIMEDOUT, an errno, -1 on EOF) */
} asock_t_reader;

void asock_t_reader_start(asock_t_reader *r, int lfd, int fd, size_t n);
/* Joins; the accepted fd (if any) stays in r->fd for the caller to close; frees nothing else:
 * call asock_t_reader_free after checking r->buf. */
void asock_t_reader_join(asock_t_reader *r);
void asock_t_reader_free(asock_t_reader *r);

/* Runs what is ready (ASOCK_RUN_NOWAIT) for about ms milliseconds, for checking that nothing
 * happens while other operations stay pending (asock_t_drain would wait for them). */
void asock_t_spin(asock_loop *loop, int ms);

/* Monotonic milliseconds. */
uint64_t asock_t_now_ms(void);

#endif
