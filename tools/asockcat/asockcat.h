/* asockcat — a netcat-like tool on asock's public API (API.md §6).
 *
 * The pieces:
 *   main.c     options, usage checks (exit 2 before any network activity), the loop, the exit
 *   stdio.c    stdin through a reader thread and asock_loop_post; stdout; the idle ticker
 *   names.c    resolution on the loop (asock_resolve_async) and its -v trace
 *   relay.c    one TCP peer: socket -> stdout, stdin -> socket, half-close, idle timeout
 *   tcp.c      TCP connect (each address tried in order) and listen (-k)
 *   udp.c      -u through the datagram-socket layer (include/asock/datagram.h)
 *
 * Everything but the stdin reader and the ticker runs on the loop's thread.
 */
#ifndef ASOCKCAT_H
#define ASOCKCAT_H

#include <asock/asock.h>

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define ACAT_EXIT_OK    0
#define ACAT_EXIT_NET   1
#define ACAT_EXIT_USAGE 2

/* The options, as parsed and checked by main.c. */
struct acat_opts {
    bool listen;             /* -l */
    bool udp;                /* -u */
    bool keep;               /* -k */
    bool broadcast;          /* -b */
    bool send_only;          /* --send-only */
    bool recv_only;          /* --recv-only */
    int verbose;             /* -v, counted */
    int family;              /* AF_UNSPEC, or AF_INET / AF_INET6 for -4 / -6 */
    const char *host;        /* connect: the remote host; listen: the local host or NULL */
    const char *service;     /* connect: the remote service; listen: the local service */
    const char *src_host;    /* -s (connect mode); NULL when not given */
    const char *src_service; /* -p (connect mode); NULL when not given */
    const char *ifname;      /* -I; NULL when not given */
    uint32_t wait_ms;        /* -w; 0: no connect or idle timeout */
    const char *data;        /* -d; NULL when not given */
    size_t data_len;
    const char *dns_server; /* --dns-server, normalised for asock_loop_options.dns_servers */
    asock_engine engine;    /* --engine; AUTO when not given */
};

/* The process-wide state. */
struct acat {
    struct acat_opts o;
    asock_loop *loop;
    bool done;     /* acat_finish ran: the loop is being stopped */
    int exit_code; /* what the process exits with once the loop stops */
};

extern struct acat g_acat;

/* ---- main.c ---- */

/* Stops the loop; the process exits with code once asock_loop_run returns.  The first call wins. */
void acat_finish(int code);

/* Diagnostics on stderr, "asockcat: " first. */
void acat_msg(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* The same, only with -v. */
void acat_verbose(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* "ConnectionRefused (the remote host refused the connection)", plus " / <SocketErrorStatus>"
 * for -u: the name every error message carries.  Returns buf. */
const char *acat_error_text(asock_socket_error err, char *buf, size_t len);

/* A failure the tool cannot continue after: prints "what: <error text>[: detail]" and
 * finishes with exit status 1. */
void acat_fail(asock_socket_error err, const char *detail, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* The text of an endpoint ("127.0.0.1:80", "[::1]:80"), in a static rotating buffer. */
const char *acat_ep(const asock_endpoint *ep);

/* ---- stdio.c ---- */

#define ACAT_CHUNK_SIZE (64 * 1024)

/* One block read from stdin.  The loop owns it from its delivery until acat_stdin_release. */
struct acat_chunk {
    struct acat_chunk *next;
    size_t len;
    char data[ACAT_CHUNK_SIZE];
};

/* Called on the loop's thread: a chunk read from stdin (in order), or NULL once stdin reached
 * its end (err 0) or failed (err > 0, an errno). */
typedef void acat_stdin_fn(struct acat_chunk *chunk, int err);

/* Called on the loop's thread about every period_ms while the ticker runs. */
typedef void acat_tick_fn(void);

/* Starts the stdin reader thread.  0 or a negative errno. */
int acat_stdin_start(acat_stdin_fn *fn);

/* Gives a delivered chunk back to the reader (loop thread). */
void acat_stdin_release(struct acat_chunk *chunk);

/* Starts the ticker thread.  0 or a negative errno. */
int acat_ticker_start(uint32_t period_ms, acat_tick_fn *fn);

/* Before the loop is freed: no helper thread posts to it after this returns. */
void acat_threads_stop(void);

/* Writes all of buf to stdout (blocking).  0 or a negative errno. */
int acat_stdout_write(const void *buf, size_t len);

/* ---- names.c ---- */

/* A copy of a resolution's outcome that outlives the callback. */
struct acat_addrs {
    asock_socket_error error;
    const char *detail; /* static */
    size_t count;
    asock_endpoint *eps;
};

typedef void acat_resolved_fn(struct acat_addrs *addrs, void *user);

/* Resolves host + service on the loop (passive: the local side, services database only) and
 * traces each step with -v (services database -> SRV -> A/AAAA).  cb runs once, from the loop;
 * it owns addrs (free with acat_addrs_free).  0, or a negative errno if nothing started. */
int acat_resolve(const char *host, const char *service, int family, int socktype, bool passive,
                 uint32_t timeout_ms, acat_resolved_fn *cb, void *user);

void acat_addrs_free(struct acat_addrs *a);

/* 1 if ep is a multicast address (never a unicast peer: D9 / API.md §6 "HostNotFound"). */
bool acat_is_multicast(const asock_endpoint *ep);

/* ---- relay.c ---- */

typedef void acat_session_end_fn(int status);

/* Relays between the connected stream socket s (now owned by the relay) and stdin/stdout until
 * the peer leaves; then closes s and calls end(0), or end(1) after an error it printed. */
void acat_relay_start(asock_socket *s, acat_session_end_fn *end);

/* Starts the stdin reader (unless --recv-only) and the idle ticker (with -w). */
int acat_relay_init(void);

/* ---- tcp.c / udp.c ---- */

/* Start their mode on the loop; failures are reported through acat_fail. */
void acat_tcp_start(void);
void acat_udp_start(void);

#endif /* ASOCKCAT_H */
