/* asock — completion-based asynchronous sockets for Linux.
 *
 * The one public header.  It needs only the C library's socket headers: no liburing, no c-ares.
 *
 * Two models share one loop:
 *   - the Socket / async-args model (.NET's Socket + SocketAsyncEventArgs): asock_socket and a
 *     caller-owned, reusable asock_args record that carries one operation at a time;
 *   - the datagram-socket model with endpoint pairs (Windows Runtime DatagramSocket).
 *
 * Conventions (every function):
 *   - Functions that can fail return int: 0 (or a count) on success, a negative errno when the
 *     call itself is refused.  A refused call starts nothing and never calls back.
 *   - Results of I/O carry an asock_socket_error (the .NET SocketError values) plus the errno
 *     behind it (sys_errno).
 *   - Every callback runs on the loop's thread, from asock_loop_run, never inside the call that
 *     started the work.  Only asock_loop_post may be called from another thread.
 */
#ifndef ASOCK_ASOCK_H
#define ASOCK_ASOCK_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <netinet/in.h>

#include <asock/version.h>

#ifdef __cplusplus
extern "C" {
#endif

#if defined(ASOCK_STATIC_BUILD)
#define ASOCK_EXTERN
#else
#define ASOCK_EXTERN __attribute__((visibility("default")))
#endif

/* Feature-test macros, so users can #ifdef. */
#define ASOCK_HAS_IO_URING  1
#define ASOCK_HAS_FAST_OPEN 1
#define ASOCK_HAS_DUAL_MODE 1

/* The library's version at run time ("0.1.0") and as a number (major << 16 | minor << 8 | patch).
 */
ASOCK_EXTERN const char *asock_version_string(void);
ASOCK_EXTERN unsigned asock_version(void);

/* ======================================================================================
 * 1. Errors
 * ====================================================================================== */

/* SocketError: the same names and numeric values as .NET's System.Net.Sockets.SocketError
 * (Windows Sockets codes).  asock_socket_error_name() returns the .NET name ("ConnectionRefused").
 */
typedef enum asock_socket_error {
    ASOCK_SUCCESS = 0,
    ASOCK_ERR_SOCKET_ERROR = -1,
    ASOCK_ERR_OPERATION_ABORTED = 995,
    ASOCK_ERR_IO_PENDING = 997, /* internal "pending" marker; never a final result */
    ASOCK_ERR_INTERRUPTED = 10004,
    ASOCK_ERR_ACCESS_DENIED = 10013,
    ASOCK_ERR_FAULT = 10014,
    ASOCK_ERR_INVALID_ARGUMENT = 10022,
    ASOCK_ERR_TOO_MANY_OPEN_SOCKETS = 10024,
    ASOCK_ERR_WOULD_BLOCK = 10035,
    ASOCK_ERR_IN_PROGRESS = 10036,
    ASOCK_ERR_ALREADY_IN_PROGRESS = 10037,
    ASOCK_ERR_NOT_SOCKET = 10038,
    ASOCK_ERR_DESTINATION_ADDRESS_REQUIRED = 10039,
    ASOCK_ERR_MESSAGE_SIZE = 10040,
    ASOCK_ERR_PROTOCOL_TYPE = 10041,
    ASOCK_ERR_PROTOCOL_OPTION = 10042,
    ASOCK_ERR_PROTOCOL_NOT_SUPPORTED = 10043,
    ASOCK_ERR_SOCKET_NOT_SUPPORTED = 10044,
    ASOCK_ERR_OPERATION_NOT_SUPPORTED = 10045,
    ASOCK_ERR_PROTOCOL_FAMILY_NOT_SUPPORTED = 10046,
    ASOCK_ERR_ADDRESS_FAMILY_NOT_SUPPORTED = 10047,
    ASOCK_ERR_ADDRESS_ALREADY_IN_USE = 10048,
    ASOCK_ERR_ADDRESS_NOT_AVAILABLE = 10049,
    ASOCK_ERR_NETWORK_DOWN = 10050,
    ASOCK_ERR_NETWORK_UNREACHABLE = 10051,
    ASOCK_ERR_NETWORK_RESET = 10052,
    ASOCK_ERR_CONNECTION_ABORTED = 10053,
    ASOCK_ERR_CONNECTION_RESET = 10054,
    ASOCK_ERR_NO_BUFFER_SPACE_AVAILABLE = 10055,
    ASOCK_ERR_IS_CONNECTED = 10056,
    ASOCK_ERR_NOT_CONNECTED = 10057,
    ASOCK_ERR_SHUTDOWN = 10058,
    ASOCK_ERR_TIMED_OUT = 10060,
    ASOCK_ERR_CONNECTION_REFUSED = 10061,
    ASOCK_ERR_HOST_DOWN = 10064,
    ASOCK_ERR_HOST_UNREACHABLE = 10065,
    ASOCK_ERR_PROCESS_LIMIT = 10067,
    ASOCK_ERR_SYSTEM_NOT_READY = 10091,
    ASOCK_ERR_VERSION_NOT_SUPPORTED = 10092,
    ASOCK_ERR_NOT_INITIALIZED = 10093,
    ASOCK_ERR_DISCONNECTING = 10101,
    ASOCK_ERR_TYPE_NOT_FOUND = 10109,
    ASOCK_ERR_HOST_NOT_FOUND = 11001,
    ASOCK_ERR_TRY_AGAIN = 11002,
    ASOCK_ERR_NO_RECOVERY = 11003,
    ASOCK_ERR_NO_DATA = 11004
} asock_socket_error;

/* The .NET name of err ("ConnectionRefused"), or NULL for a value that is not a SocketError. */
ASOCK_EXTERN const char *asock_socket_error_name(asock_socket_error err);

/* A one-line human description of err ("the remote host refused the connection"); never NULL. */
ASOCK_EXTERN const char *asock_socket_error_message(asock_socket_error err);

/* Maps a Linux errno (positive; a negative value is taken as -errno) to its SocketError, as .NET
 * does on Linux (errors.md §2).  0 gives ASOCK_SUCCESS; an errno with no mapping gives
 * ASOCK_ERR_SOCKET_ERROR. */
ASOCK_EXTERN asock_socket_error asock_socket_error_from_errno(int err);

/* Text for an errno value as returned by a refused call (-EINVAL) or kept in sys_errno (EINVAL);
 * thread-safe, never NULL. */
ASOCK_EXTERN const char *asock_strerror(int err);

/* SocketErrorStatus: the same names and values as the Windows Runtime enumeration. */
typedef enum asock_error_status {
    ASOCK_STATUS_UNKNOWN = 0,
    ASOCK_STATUS_OPERATION_ABORTED = 1,
    ASOCK_STATUS_HTTP_INVALID_SERVER_RESPONSE = 2,
    ASOCK_STATUS_CONNECTION_TIMED_OUT = 3,
    ASOCK_STATUS_ADDRESS_FAMILY_NOT_SUPPORTED = 4,
    ASOCK_STATUS_SOCKET_TYPE_NOT_SUPPORTED = 5,
    ASOCK_STATUS_HOST_NOT_FOUND = 6,
    ASOCK_STATUS_NO_DATA_RECORD_OF_REQUESTED_TYPE = 7,
    ASOCK_STATUS_NON_AUTHORITATIVE_HOST_NOT_FOUND = 8,
    ASOCK_STATUS_CLASS_TYPE_NOT_FOUND = 9,
    ASOCK_STATUS_ADDRESS_ALREADY_IN_USE = 10,
    ASOCK_STATUS_CANNOT_ASSIGN_REQUESTED_ADDRESS = 11,
    ASOCK_STATUS_CONNECTION_REFUSED = 12,
    ASOCK_STATUS_NETWORK_IS_UNREACHABLE = 13,
    ASOCK_STATUS_UNREACHABLE_HOST = 14,
    ASOCK_STATUS_NETWORK_IS_DOWN = 15,
    ASOCK_STATUS_NETWORK_DROPPED_CONNECTION_ON_RESET = 16,
    ASOCK_STATUS_SOFTWARE_CAUSED_CONNECTION_ABORT = 17,
    ASOCK_STATUS_CONNECTION_RESET_BY_PEER = 18,
    ASOCK_STATUS_HOST_IS_DOWN = 19,
    ASOCK_STATUS_NO_ADDRESSES_FOUND = 20,
    ASOCK_STATUS_TOO_MANY_OPEN_FILES = 21,
    ASOCK_STATUS_MESSAGE_TOO_LONG = 22,
    ASOCK_STATUS_CERTIFICATE_EXPIRED = 23,
    ASOCK_STATUS_CERTIFICATE_UNTRUSTED_ROOT = 24,
    ASOCK_STATUS_CERTIFICATE_COMMON_NAME_IS_INCORRECT = 25,
    ASOCK_STATUS_CERTIFICATE_WRONG_USAGE = 26,
    ASOCK_STATUS_CERTIFICATE_REVOKED = 27,
    ASOCK_STATUS_CERTIFICATE_NO_REVOCATION_CHECK = 28,
    ASOCK_STATUS_CERTIFICATE_REVOCATION_SERVER_OFFLINE = 29,
    ASOCK_STATUS_CERTIFICATE_IS_INVALID = 30
} asock_error_status;

/* SocketError.GetStatus: a pure function from a SocketError to a status (errors.md §3).
 * Anything that is not a network condition gives ASOCK_STATUS_UNKNOWN. */
ASOCK_EXTERN asock_error_status asock_error_get_status(asock_socket_error err);

/* The Windows Runtime name of a status ("HostNotFound"), or NULL for an unknown value. */
ASOCK_EXTERN const char *asock_error_status_name(asock_error_status status);

/* ======================================================================================
 * 2. Loop
 * ====================================================================================== */

typedef struct asock_loop asock_loop;

typedef enum {
    ASOCK_ENGINE_AUTO,
    ASOCK_ENGINE_EPOLL,
    ASOCK_ENGINE_IO_URING
} asock_engine;

typedef enum {
    ASOCK_RUN_DEFAULT = 0,
    ASOCK_RUN_ONCE = 1,
    ASOCK_RUN_NOWAIT = 2
} asock_run_mode;

/* Zero-initialise, then set what you need: every zero field means "the default". */
typedef struct asock_loop_options {
    asock_engine engine; /* AUTO: io_uring if usable, else epoll; env ASOCK_ENGINE=epoll|io_uring
                            overrides AUTO */
    const char *dns_servers;   /* NULL: the system resolver configuration; else "ip[:port],..."
                                  (IPv6 in brackets: "[::1]:5353", or bare without a port;
                                  port 53 when none).  Checked by asock_loop_new: -EINVAL for an
                                  empty list or entry, a space, a non-literal, a scope id
                                  ("%eth0") or a port outside 1-65535 */
    uint32_t dns_timeout_ms;   /* per DNS try; 0: the resolver's default */
    uint32_t dns_tries;        /* 0: the resolver's default */
    uint32_t attempt_delay_ms; /* Happy Eyeballs connection-attempt delay; 0: 250 ms (RFC 8305) */
    uint32_t receive_buffer_size;  /* the loop's receive buffers (asock_receive_multi_async):
                                      bytes each, 0: 4096; 64 .. 1 MiB, else -EINVAL */
    uint32_t receive_buffer_count; /* how many, 0: 256; at most 32768, else -EINVAL */
    uint32_t reserved_[9];         /* room for more; keep zero */
} asock_loop_options;

/* Creates a loop.  opts may be NULL (all defaults).  Returns 0, or -ENOMEM, -EINVAL (a bad option),
 * -ENOSYS/-EPERM (the engine asked for explicitly is unavailable), or another -errno. */
ASOCK_EXTERN int asock_loop_new(asock_loop **out, const asock_loop_options *opts);

/* Runs the loop (mode: asock_run_mode).
 *   ASOCK_RUN_DEFAULT: until no work is left (no pending operation, timer or posted function) or
 *                      asock_loop_stop is called;
 *   ASOCK_RUN_ONCE:    runs what is ready, waiting for at least one completion if none is;
 *   ASOCK_RUN_NOWAIT:  runs what is ready, never waits.
 * Returns 1 if work is left, 0 if none, or a negative errno.  A socket with nothing pending is not
 * work: an idle loop returns at once.  Not reentrant: -EBUSY from inside a callback. */
ASOCK_EXTERN int asock_loop_run(asock_loop *loop, int mode);

/* Makes the running asock_loop_run return after the current iteration. */
ASOCK_EXTERN void asock_loop_stop(asock_loop *loop);

/* Frees the loop.  Refuses nothing: closes every socket left, completing their pending operations
 * with ASOCK_ERR_OPERATION_ABORTED (those callbacks run inside this call), runs every posted
 * function still queued, then releases everything.  No callback runs after it returns.
 * Thread: the thread that ran the loop.  (The io_uring ring is bound to that thread; from another
 * one the kernel refuses it, pending operations cannot be waited for, and their callbacks do not
 * run.) */
ASOCK_EXTERN void asock_loop_free(asock_loop *loop);

/* The engine that runs (never AUTO). */
ASOCK_EXTERN asock_engine asock_loop_engine(const asock_loop *loop);

/* Why this engine was chosen: "io_uring", "ASOCK_ENGINE=epoll", "io_uring unavailable:
 * io_uring_queue_init: Operation not permitted", ...  Static text, valid for the loop's life. */
ASOCK_EXTERN const char *asock_loop_engine_reason(const asock_loop *loop);

/* "epoll" or "io_uring". */
ASOCK_EXTERN const char *asock_engine_name(asock_engine engine);

/* Thread-safe, also from the loop's own thread: fn(arg) runs once, later, on the loop thread,
 * never inside this call.  Every posted function runs exactly once (asock_loop_free runs what is
 * left).  A pending post is work: it wakes a waiting RUN_ONCE.  Returns 0 or -ENOMEM/-EINVAL. */
ASOCK_EXTERN int asock_loop_post(asock_loop *loop, void (*fn)(void *arg), void *arg);

/* The loop's clock: milliseconds of CLOCK_MONOTONIC (the clock timers and timeouts use). */
ASOCK_EXTERN uint64_t asock_loop_now(const asock_loop *loop);

/* Holds the loop: until the matching asock_loop_unref, asock_loop_run(ASOCK_RUN_DEFAULT) keeps
 * waiting even with nothing pending (e.g. a thread whose only input is asock_loop_post).  Holds
 * nest.  Thread: loop thread only. */
ASOCK_EXTERN void asock_loop_ref(asock_loop *loop);
ASOCK_EXTERN void asock_loop_unref(asock_loop *loop);

/* ---- timers ---- */

typedef struct asock_timer asock_timer;

/* Runs on the loop thread, from asock_loop_run, when the timer fires.  The callback may start,
 * stop or close the timer. */
typedef void asock_timer_fn(asock_timer *timer, void *user);

/* A timer on loop (allocated by asock; release it with asock_timer_close).  0, -EINVAL, -ENOMEM,
 * -EBADF (the loop is being freed). */
ASOCK_EXTERN int asock_timer_new(asock_loop *loop, asock_timer **out);

/* Arms t: fn(t, user) runs after timeout_ms, then every repeat_ms if repeat_ms > 0 (measured
 * from each expiry).  Re-arms a timer that is already armed.  An armed timer is work (keeps
 * asock_loop_run going).  0, -EINVAL (NULL t or fn, closed timer) or -ENOMEM. */
ASOCK_EXTERN int asock_timer_start(asock_timer *t, uint64_t timeout_ms, uint64_t repeat_ms,
                                   asock_timer_fn *fn, void *user);

/* Disarms t (no effect if not armed).  Its callback does not run after this returns. */
ASOCK_EXTERN void asock_timer_stop(asock_timer *t);

/* 1 if t is armed, else 0. */
ASOCK_EXTERN int asock_timer_active(const asock_timer *t);

/* Stops t and releases it (later, from the loop: safe inside its own callback).  t must not be
 * used afterwards.  asock_loop_free releases the timers left. */
ASOCK_EXTERN void asock_timer_close(asock_timer *t);

/* ======================================================================================
 * 3. Endpoints
 * ====================================================================================== */

typedef enum {
    ASOCK_ENDPOINT_NONE,
    ASOCK_ENDPOINT_IP,
    ASOCK_ENDPOINT_DNS
} asock_endpoint_kind;

/* A caller-owned value: an IP address and port, or a host name, port and address family.
 * Fill it with the functions below; never by hand. */
typedef struct asock_endpoint {
    asock_endpoint_kind kind;

    union {
        struct sockaddr sa;
        struct sockaddr_in in4;
        struct sockaddr_in6 in6; /* ASOCK_ENDPOINT_IP */
    } ip;

    struct {
        const char *host; /* ASOCK_ENDPOINT_DNS: NOT copied here; it must stay valid until the
                             operation that uses the endpoint has been started (the operation
                             copies it) */
        uint16_t port;
        int family; /* AF_UNSPEC, AF_INET or AF_INET6 */
    } dns;
} asock_endpoint;

/* Parses an IP literal ("127.0.0.1", "::1", "fe80::1%lo") with a port.  Never resolves a name.
 * Returns 0 or -EINVAL (NULL, empty or not a literal; ep is left NONE). */
ASOCK_EXTERN int asock_endpoint_ip(asock_endpoint *ep, const char *address_literal, uint16_t port);

/* A host name + port (+ family AF_UNSPEC/AF_INET/AF_INET6) to be resolved by the operation.
 * Returns 0 or -EINVAL (NULL/empty host, a host that cannot be a DNS name, a bad family). */
ASOCK_EXTERN int asock_endpoint_dns(asock_endpoint *ep, const char *host, uint16_t port,
                                    int family);

/* From an AF_INET / AF_INET6 sockaddr.  Returns 0, -EINVAL (short length) or -EAFNOSUPPORT. */
ASOCK_EXTERN int asock_endpoint_from_sockaddr(asock_endpoint *ep, const struct sockaddr *sa,
                                              socklen_t len);

/* "127.0.0.1:80", "[::1]:80", "[fe80::1%lo]:80", "host:80".  Returns the length it needs
 * (like snprintf; a NUL is always written when len > 0), or -EINVAL. */
ASOCK_EXTERN int asock_endpoint_format(const asock_endpoint *ep, char *buf, size_t len);

/* AF_INET / AF_INET6 for an IP endpoint, the requested family for a DNS one, AF_UNSPEC else. */
ASOCK_EXTERN int asock_endpoint_family(const asock_endpoint *ep);

/* The port in host byte order (0 for NONE). */
ASOCK_EXTERN uint16_t asock_endpoint_port(const asock_endpoint *ep);

/* For an IP endpoint: its sockaddr and length (NULL / 0 otherwise). */
ASOCK_EXTERN const struct sockaddr *asock_endpoint_sockaddr(const asock_endpoint *ep,
                                                            socklen_t *len);

/* 1 if a and b are the same IP endpoint (family, address, port, scope), else 0. */
ASOCK_EXTERN int asock_endpoint_equal(const asock_endpoint *a, const asock_endpoint *b);

/* ======================================================================================
 * 4. Socket and async event args (seed 000: Socket + SocketAsyncEventArgs)
 * ====================================================================================== */

typedef struct asock_socket asock_socket;

typedef enum asock_option {
    ASOCK_OPT_BROADCAST = 1,   /* SO_BROADCAST (datagram) */
    ASOCK_OPT_REUSE_ADDRESS,   /* SO_REUSEADDR only (never also SO_REUSEPORT) */
    ASOCK_OPT_REUSE_PORT,      /* SO_REUSEPORT only */
    ASOCK_OPT_NO_DELAY,        /* TCP_NODELAY */
    ASOCK_OPT_DUAL_MODE,       /* IPV6_V6ONLY inverted (AF_INET6 only; before bind/connect) */
    ASOCK_OPT_RECEIVE_BUFFER,  /* SO_RCVBUF */
    ASOCK_OPT_SEND_BUFFER,     /* SO_SNDBUF */
    ASOCK_OPT_TTL,             /* IP_TTL / IPV6_UNICAST_HOPS */
    ASOCK_OPT_FAST_OPEN,       /* client: TCP_FASTOPEN_CONNECT; on a listener: TCP_FASTOPEN queue */
    ASOCK_OPT_KEEP_ALIVE,      /* SO_KEEPALIVE */
    ASOCK_OPT_LINGER,          /* SO_LINGER: -1 off, else seconds (0: abortive close) */
    ASOCK_OPT_DONT_FRAGMENT,   /* IP_MTU_DISCOVER=DO / IPV6_DONTFRAG */
    ASOCK_OPT_TYPE_OF_SERVICE, /* IP_TOS / IPV6_TCLASS */
    ASOCK_OPT_MULTICAST_LOOPBACK, /* IP_MULTICAST_LOOP / IPV6_MULTICAST_LOOP */
    ASOCK_OPT_MULTICAST_TTL,      /* IP_MULTICAST_TTL / IPV6_MULTICAST_HOPS */
    ASOCK_OPT_ERROR               /* SO_ERROR (get only; reading clears it) */
} asock_option;

/* Opens a socket on loop: family AF_INET/AF_INET6, type SOCK_STREAM/SOCK_DGRAM, protocol 0 or the
 * matching IPPROTO_TCP/IPPROTO_UDP.  The descriptor exists at once (non-blocking, close-on-exec;
 * AF_INET6 sockets get IPV6_V6ONLY=1 explicitly: set ASOCK_OPT_DUAL_MODE for dual mode).
 * Returns 0, -EINVAL, -EAFNOSUPPORT, -EPROTONOSUPPORT, -EMFILE, -ENFILE, -ENOMEM. */
ASOCK_EXTERN int asock_socket_open(asock_loop *loop, int family, int type, int protocol,
                                   asock_socket **out);

/* Binds to an IP endpoint (a DNS endpoint: -EINVAL; family mismatch: -EAFNOSUPPORT).
 * Returns 0 or -errno from bind(2) (-EADDRINUSE, -EADDRNOTAVAIL, -EACCES, ...). */
ASOCK_EXTERN int asock_socket_bind(asock_socket *s, const asock_endpoint *local);

/* Listens (stream sockets; an unbound socket gets an ephemeral port).  backlog <= 0: SOMAXCONN. */
ASOCK_EXTERN int asock_socket_listen(asock_socket *s, int backlog);

/* Sets or gets an option.  Unknown option: -ENOPROTOOPT; not valid for this socket: -EOPNOTSUPP
 * (e.g. DUAL_MODE on AF_INET), -EISCONN (DUAL_MODE after bind/connect).  Values the socket layer
 * remembers are re-applied to each new descriptor a connect by name opens. */
ASOCK_EXTERN int asock_socket_set_option(asock_socket *s, asock_option opt, int value);
ASOCK_EXTERN int asock_socket_get_option(asock_socket *s, asock_option opt, int *value);

/* The local (getsockname) / remote (getpeername, or the connected default peer) endpoint.
 * Returns 0, -ENOTCONN (no remote), -EINVAL (unbound: no local), -EBADF (closed). */
ASOCK_EXTERN int asock_socket_local_endpoint(const asock_socket *s, asock_endpoint *out);
ASOCK_EXTERN int asock_socket_remote_endpoint(const asock_socket *s, asock_endpoint *out);

/* shutdown(2): SHUT_RD / SHUT_WR / SHUT_RDWR.  Returns 0 or -errno (-ENOTCONN, -EINVAL, -EBADF). */
ASOCK_EXTERN int asock_socket_shutdown(asock_socket *s, int how);

/* Closes the socket.  Every pending operation completes with ASOCK_ERR_OPERATION_ABORTED (its
 * callback runs later, from the loop); the descriptor is closed once the engine has given back
 * every operation on it, and the memory is released after that.  Calls on s made after the close
 * are refused with -EBADF until those completions have run; s must not be used after that. */
ASOCK_EXTERN void asock_socket_close(asock_socket *s);

/* The descriptor (-1 once closed).  Do not close it or change its flags. */
ASOCK_EXTERN int asock_socket_fd(const asock_socket *s);

ASOCK_EXTERN asock_loop *asock_socket_loop(const asock_socket *s);
ASOCK_EXTERN int asock_socket_family(const asock_socket *s);
ASOCK_EXTERN int asock_socket_type(const asock_socket *s);

/* 1 if the socket is connected (a stream that completed a connect or was accepted, or a datagram
 * socket with a default peer), else 0. */
ASOCK_EXTERN int asock_socket_connected(const asock_socket *s);

/* User data attached to the socket (not used by asock). */
ASOCK_EXTERN void asock_socket_set_data(asock_socket *s, void *data);
ASOCK_EXTERN void *asock_socket_get_data(const asock_socket *s);

typedef enum {
    ASOCK_OP_NONE,
    ASOCK_OP_CONNECT,
    ASOCK_OP_ACCEPT,
    ASOCK_OP_SEND,
    ASOCK_OP_RECEIVE,
    ASOCK_OP_SEND_TO,
    ASOCK_OP_RECEIVE_FROM,
    ASOCK_OP_RECEIVE_MESSAGE_FROM,
    ASOCK_OP_DISCONNECT
} asock_operation;

typedef struct asock_args asock_args;

/* The Completed event: sender is the socket the operation ran on (for the static connect: the
 * connected socket, or NULL on failure). */
typedef void asock_completed_fn(asock_socket *sender, asock_args *e);

/* The async event args record (SocketAsyncEventArgs).  Caller-owned and reusable: one operation at
 * a time.  Initialise once with asock_args_init.  From a call that returns 1 until `completed`
 * starts, e and its buffers belong to asock; asock marks e free *before* calling completed, so the
 * callback may start the next operation with it. */
struct asock_args {
    /* set by the caller */
    asock_completed_fn *completed;  /* the Completed event */
    void *user_token;               /* any pointer, handed back untouched */
    asock_endpoint remote_endpoint; /* connect / send_to destination; receive_from(_message):
                                       the family template in, the sender out */
    void *buffer;                   /* with offset and count */
    size_t offset, count;
    const struct iovec *buffer_list; /* alternative to buffer (scatter/gather; copied at start) */
    size_t buffer_list_count;
    int socket_flags;            /* MSG_* in; for receives, the received flags out (MSG_TRUNC,
                                    MSG_CTRUNC); 0 out for the other operations */
    asock_socket *accept_socket; /* accept: NULL -> a new socket is stored here; non-NULL -> a
                                    fresh socket of the listener's loop that the accepted
                                    connection moves into.  Sticky: reset it before reuse. */
    uint32_t connect_timeout_ms; /* connect (and resolution, for DNS endpoints); 0 = none.
                                    Expiry completes with ASOCK_ERR_TIMED_OUT */
    int disconnect_reuse_socket; /* disconnect: give the socket a fresh descriptor */
    /* results */
    asock_socket_error socket_error;
    int sys_errno; /* the errno (or resolver code) behind socket_error, 0 if none */
    size_t bytes_transferred;
    asock_operation last_operation; /* set when the operation starts */
    asock_socket *connect_socket;   /* connect: the connected socket, NULL on failure */
    asock_socket_error
        connect_by_name_error; /* DNS connect: the resolution or last connect error */

    struct {                          /* receive_message_from: where the datagram arrived */
        asock_endpoint local_address; /* its destination address (IP_PKTINFO / IPV6_PKTINFO) */
        unsigned interface_index;
    } packet_info;

    /* private part follows; never touched by users */
    uint64_t priv_[48];
};

/* Initialises e: every field zero, the record free.  Call once before first use (an args that was
 * never initialised is refused with -EINVAL). */
ASOCK_EXTERN void asock_args_init(asock_args *e);

/* Sets buffer, offset and count (clears buffer_list).  Returns 0, -EBUSY (e in use) or -EINVAL
 * (a window outside the buffer cannot be checked here: offset + count must not overflow). */
ASOCK_EXTERN int asock_args_set_buffer(asock_args *e, void *buffer, size_t offset, size_t count);

/* 1 while an operation owns e, else 0. */
ASOCK_EXTERN int asock_args_in_use(const asock_args *e);

/* A static detail string for the last failure ("SO_BROADCAST not set", "c-ares: ENOTFOUND"), or
 * "" when there is none. */
ASOCK_EXTERN const char *asock_args_error_detail(const asock_args *e);

/* The operations.  Each returns
 *   1  pending: e->completed runs later, exactly once, from asock_loop_run on the loop thread,
 *      never inside the call that started it;
 *   0  completed synchronously: completed does NOT run; read the results from e now (a call
 *      that can finish at once does, except on io_uring from inside a callback, where sends,
 *      send-tos and accepts go to the ring, and for a stream connect on io_uring: those
 *      complete through the callback; handle both 0 and 1);
 *  <0  refused, nothing started, no callback, e untouched except where noted:
 *      -EINVAL bad argument (NULL, missing endpoint, args never initialised, bad buffer),
 *      -EBUSY e is in use, -EAFNOSUPPORT endpoint family differs from the socket's,
 *      -EBADF the socket is closed or being closed, -EOPNOTSUPP operation not valid for this
 *      socket (accept on UDP, send_to on a listener, ...), -EISCONN connect on a connected
 *      stream socket, -EALREADY a connect is already pending on the socket.
 * Thread: loop thread only. */

/* Connect (S1): a stream socket connects (sending e's buffer once connected, S6; with
 * ASOCK_OPT_FAST_OPEN the data may ride in the SYN); a datagram socket sets its default peer and
 * filters out other sources.  remote_endpoint is required; a DNS endpoint is resolved and each
 * address tried (Happy Eyeballs, RFC 8305). */
ASOCK_EXTERN int asock_connect_async(asock_socket *s, asock_args *e);

/* Accept on a listening stream socket (the accepted socket lands in e->accept_socket). */
ASOCK_EXTERN int asock_accept_async(asock_socket *listener, asock_args *e);

/* Send on a connected socket.  A stream send completes when every byte was sent (or on error). */
ASOCK_EXTERN int asock_send_async(asock_socket *s, asock_args *e);

/* Receive on a connected socket.  0 bytes with ASOCK_SUCCESS on a stream: the peer closed its side.
 * An empty buffer waits until data is readable without consuming it. */
ASOCK_EXTERN int asock_receive_async(asock_socket *s, asock_args *e);

/* Send one datagram to e->remote_endpoint (an IP endpoint). */
ASOCK_EXTERN int asock_send_to_async(asock_socket *s, asock_args *e);

/* Receive one datagram; e->remote_endpoint (an IP endpoint of a family the socket can receive)
 * is replaced by the sender.  A datagram larger than the buffer completes with what fit and
 * MSG_TRUNC in socket_flags. */
ASOCK_EXTERN int asock_receive_from_async(asock_socket *s, asock_args *e);

/* As receive_from, and e->packet_info tells the datagram's destination address and interface. */
ASOCK_EXTERN int asock_receive_message_from_async(asock_socket *s, asock_args *e);

/* Disconnect: shutdown(SHUT_RDWR); with e->disconnect_reuse_socket the socket gets a fresh
 * descriptor and may connect again.  Always completes synchronously (returns 0). */
ASOCK_EXTERN int asock_disconnect_async(asock_socket *s, asock_args *e);

/* The static ConnectAsync: opens a socket of e->remote_endpoint's family (for a DNS endpoint with
 * AF_UNSPEC, one per family tried), connects it, and hands it over in e->connect_socket (the caller
 * then owns it and closes it).  On failure no socket is left. */
ASOCK_EXTERN int asock_loop_connect_async(asock_loop *loop, int type, int protocol, asock_args *e);

/* Cancels the connect that e is running (resolution, attempts and timer included): it completes
 * with ASOCK_ERR_OPERATION_ABORTED, unless it completed first (then nothing changes; the callback
 * still runs exactly once).  The half-open connection is dropped (connect to AF_UNSPEC); the
 * socket stays open and may connect again.  No effect if e is NULL or not running a connect. */
ASOCK_EXTERN void asock_cancel_connect_async(asock_args *e);

/* ---- loop-owned receive buffers (multishot receive) ----
 * asock_receive_multi_async arms a receive that stays armed: e->completed runs once per datagram
 * (SOCK_DGRAM) or chunk (SOCK_STREAM) with the data in a buffer the loop owns: e->buffer points
 * at it, e->offset = 0, e->count = e->bytes_transferred = its length; for datagrams
 * e->remote_endpoint is the sender and MSG_TRUNC in e->socket_flags tells that a datagram larger
 * than the buffer's room (receive_buffer_size - 44 bytes) was cut.  The data is valid during the
 * callback only (copy what you keep).  While more will come, asock_args_in_use(e) is 1 inside
 * the callback; the last call has it 0: an error, a stream's end (0 bytes, SUCCESS),
 * asock_cancel_async(e) (OPERATION_ABORTED), or the socket's close (OPERATION_ABORTED).  That
 * last call has e->buffer NULL and e->count 0.  e->last_operation is RECEIVE (stream) or
 * RECEIVE_FROM (datagram).
 * Returns 1 (armed), or the refusals of asock_receive_async, and -EBUSY when another receive
 * (multi or not) is pending on the socket; while a multi receive is armed, the socket's other
 * receives are refused with -EBUSY.  Never completes synchronously.
 * Buffers: loop options receive_buffer_size (default 4096, one size per loop) and
 * receive_buffer_count (default 256), allocated at the loop's first multi receive; when all are
 * in use the receive waits (it is not an error): a buffer comes back when the callback that got
 * it returns.  Nothing is allocated per datagram.
 * Engines: io_uring: IORING_OP_RECV / RECVMSG with IORING_RECV_MULTISHOT (Linux 6.0) from a
 * provided buffer ring (5.19); epoll (and io_uring without those features): the engine performs
 * the reads on readiness into pool buffers, recvmmsg batches for datagrams. */
ASOCK_EXTERN int asock_receive_multi_async(asock_socket *s, asock_args *e);

/* ---- accept that stays armed ----
 * Like asock_accept_async (the new socket in e->accept_socket, which must be NULL when armed),
 * but e->completed runs once per accepted connection while asock_args_in_use(e) is 1: take the
 * socket from e->accept_socket in the callback (asock sets it back to NULL afterwards).  Ends as
 * above (an error such as TooManyOpenSockets, asock_cancel_async, the listener's close).
 * Returns 1, or the refusals of accept, and -EBUSY when another accept is pending on the
 * listener (other accepts are refused with -EBUSY while it is armed).
 * io_uring: IORING_ACCEPT_MULTISHOT (Linux 5.19); else accept4 on readiness. */
ASOCK_EXTERN int asock_accept_multi_async(asock_socket *listener, asock_args *e);

/* ---- cancel any pending operation of the args model ----
 * The pending operation of e (receive, send, accept, multi receive/accept, connect) completes
 * with ASOCK_ERR_OPERATION_ABORTED from the loop, unless it completed first; a send may have sent
 * part of its data (bytes_transferred says how much).  No effect if e is not pending.  A connect
 * is canceled as asock_cancel_connect_async does.  Thread: loop thread only. */
ASOCK_EXTERN void asock_cancel_async(asock_args *e);

#ifdef __cplusplus
}
#endif

/* The upper layers' declarations. */
#include <asock/resolve.h>
#include <asock/datagram.h>

#endif /* ASOCK_ASOCK_H */
