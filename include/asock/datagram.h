/* asock datagram sockets with endpoint pairs (included by <asock/asock.h>; do not include
 * directly).  The Windows Runtime DatagramSocket model (seed 003, SPEC D1-D12):
 *
 *   - a datagram socket connects by host name + service name (resolved on the loop: IP literal or
 *     DNS name; port number, services-database name, or DNS SRV _SERVICE._udp.HOST, RFC 2782);
 *   - message-received runs for each arriving datagram (after a connect: only the connected
 *     peer's), and also reports receive errors (a peer's ICMP port-unreachable as
 *     ASOCK_ERR_CONNECTION_RESET, status ConnectionResetByPeer);
 *   - data goes out through output streams: the connected one, or one per destination from
 *     asock_datagram_get_output_stream_async;
 *   - every operation is an async action (asock_async) with success and error handlers.
 *
 * Typical order (winrt-datagramsocket.md §6): asock_datagram_new; optional
 * asock_datagram_set_control; asock_datagram_on_message_received; then bind (receive from any
 * peer) or connect (one peer); write; asock_datagram_close.
 *
 * Ownership: asock allocates and frees asock_datagram, asock_output_stream (owned by its
 * datagram socket: valid until the socket is closed) and asock_async (the caller holds one
 * reference from the call that returns it until asock_async_close).  The caller owns
 * asock_endpoint_pair, asock_datagram_control and asock_datagram_information; strings passed in
 * are copied by the call.
 *
 * Threads: every function is for the loop's thread only.  Every handler runs on the loop thread,
 * from asock_loop_run (or from asock_loop_free, which closes every datagram socket left),
 * never inside the call that started the work.
 */
#ifndef ASOCK_DATAGRAM_H
#define ASOCK_DATAGRAM_H

#ifndef ASOCK_ASOCK_H
#error "include <asock/asock.h>, not <asock/datagram.h>"
#endif

#ifdef __cplusplus
extern "C" {
#endif

/* ======================================================================================
 * Endpoint pairs
 * ====================================================================================== */

/* The local and remote halves of a datagram conversation (EndpointPair).  Caller-owned; the
 * strings are copied by the call that takes the pair. */
typedef struct asock_endpoint_pair {
    const char *local_host_name;     /* NULL: the system picks the local address; "" is refused */
    const char *local_service_name;  /* NULL or "": the system picks the port; else a port number
                                        or a services-database name (never SRV for the local side) */
    const char *remote_host_name;    /* required: a DNS name or an IP literal */
    const char *remote_service_name; /* required: a port number, a services-database name, or a
                                        name looked up as DNS SRV _NAME._udp.REMOTE_HOST */
} asock_endpoint_pair;

/* ======================================================================================
 * Async actions (IAsyncAction / IAsyncOperation)
 * ====================================================================================== */

typedef struct asock_async asock_async;

/* AsyncStatus: STARTED is the only state that is not final. */
typedef enum {
    ASOCK_ASYNC_STARTED,
    ASOCK_ASYNC_COMPLETED,
    ASOCK_ASYNC_CANCELED,
    ASOCK_ASYNC_ERROR
} asock_async_status;

/* A completion handler: op is the operation, user what asock_async_done was given. */
typedef void asock_async_handler(asock_async *op, void *user);

/* Attaches the completion handlers (once per operation).  Operations start at once, inside the
 * call that returns them.  Exactly one of the two handlers runs, once, from the loop — never
 * inside asock_async_done — also when they are attached after the operation finished:
 *   on_success  status COMPLETED;
 *   on_error    status ERROR (asock_async_error says why) or CANCELED (asock_async_cancel: the
 *               error is ASOCK_ERR_OPERATION_ABORTED).
 * Either handler may be NULL (nothing runs for that outcome); the handler may close op.
 * Returns 0, -EINVAL (op NULL, both handlers NULL, op already closed) or -EALREADY (handlers
 * were attached before: WinRT's Completed may be set only once).  Thread: loop thread. */
ASOCK_EXTERN int asock_async_done(asock_async *op, asock_async_handler *on_success,
                                  asock_async_handler *on_error, void *user);

/* The current status (STARTED until the operation finished).  NULL: ASOCK_ASYNC_ERROR. */
ASOCK_EXTERN asock_async_status asock_async_get_status(const asock_async *op);

/* The operation's SocketError: ASOCK_SUCCESS while STARTED or COMPLETED; why it failed when
 * ERROR; ASOCK_ERR_OPERATION_ABORTED when CANCELED.  Feed it to asock_error_get_status().
 * Argument and state errors (status Unknown) are ASOCK_ERR_INVALID_ARGUMENT,
 * ASOCK_ERR_ALREADY_IN_PROGRESS, ASOCK_ERR_IS_CONNECTED and ASOCK_ERR_OPERATION_NOT_SUPPORTED. */
ASOCK_EXTERN asock_socket_error asock_async_error(const asock_async *op);

/* The errno (or resolver code) behind asock_async_error, 0 if none. */
ASOCK_EXTERN int asock_async_sys_errno(const asock_async *op);

/* A static text that says what failed ("bind: Address already in use", "remote host is a
 * multicast address"); "" on success.  Never NULL. */
ASOCK_EXTERN const char *asock_async_error_detail(const asock_async *op);

/* The operation's result: the asock_output_stream * of a completed
 * asock_datagram_get_output_stream_async (owned by the datagram socket); NULL otherwise. */
ASOCK_EXTERN void *asock_async_result(const asock_async *op);

/* asock_output_stream_write_async: the bytes sent (the whole datagram) once COMPLETED; else 0. */
ASOCK_EXTERN size_t asock_async_bytes_transferred(const asock_async *op);

/* Asks the operation to stop.  If cancellation wins, the status becomes CANCELED (error
 * OPERATION_ABORTED) and on_error runs (later, from the loop); on an operation that already
 * finished it does nothing.  A name resolution in progress is dropped; a write already handed
 * to the kernel may still be sent.  Never fails, never calls back inside.  Thread: loop thread. */
ASOCK_EXTERN void asock_async_cancel(asock_async *op);

/* Releases the caller's reference.  A running operation goes on (cancel it first to stop it),
 * but no handler of op runs after this call; op must not be used afterwards.  NULL: nothing.
 * May be called from op's own handler, and after asock_loop_free.  Thread: loop thread. */
ASOCK_EXTERN void asock_async_close(asock_async *op);

/* ======================================================================================
 * Datagram sockets
 * ====================================================================================== */

typedef struct asock_datagram asock_datagram;
typedef struct asock_output_stream asock_output_stream; /* owned by its datagram socket */

/* DatagramSocketInformation: numeric text, "" where not known yet.  IPv4 addresses appear as
 * "a.b.c.d" (never ::ffff:a.b.c.d), even on a dual-mode socket. */
typedef struct asock_datagram_information {
    char local_address[64], local_port[8], remote_address[64], remote_port[8];
} asock_datagram_information;

/* One arriving datagram, or one receive error.  Everything it points to is valid during the
 * callback only (the data lives in the socket's receive buffer, which the next datagram reuses):
 * copy what you keep. */
typedef struct asock_datagram_message {
    const char *remote_address; /* the sender ("127.0.0.2", "::1"); "" for an error */
    const char *remote_port;    /* the sender's port as decimal text; "" for an error */
    const char *local_address;  /* the address the datagram arrived on (a multicast group for
                                   multicast; from IP_PKTINFO); "" if unknown */
    const void *data;
    size_t length;
    asock_socket_error error; /* SUCCESS, or why no datagram came (e.g. CONNECTION_RESET after a
                                 peer's ICMP port-unreachable; data is NULL then, and the socket
                                 stays usable) */
} asock_datagram_message;

/* message-received: sender is the datagram socket, user what on_message_received was given.
 * The handler may do anything with the socket, including closing it. */
typedef void asock_message_received_fn(asock_datagram *sender, const asock_datagram_message *msg,
                                       void *user);

/* Creates an unbound datagram socket on loop (the descriptor is opened by the first bind,
 * connect or get_output_stream, in the family that operation needs).  Returns 0 (*out set),
 * -EINVAL (NULL argument), -EBADF (the loop is being freed) or -ENOMEM.  Thread: loop thread. */
ASOCK_EXTERN int asock_datagram_new(asock_loop *loop, asock_datagram **out);

/* Sets the message-received handler (fn NULL removes it).  It must be set before any bind,
 * connect or get_output_stream: once one of those started the call is refused with -EALREADY
 * (WinRT's E_ILLEGAL_METHOD_CALL; asock_error_get_status of the matching SocketError is
 * Unknown) and the socket is left as it was.  Datagrams arriving for a socket without a handler
 * are dropped.  With a handler, a bound or connected socket keeps one receive pending: that is
 * loop work, so asock_loop_run(ASOCK_RUN_DEFAULT) keeps running until the socket is closed (as
 * libuv's uv_udp_recv_start does).  Returns 0, -EINVAL (ds NULL), -EALREADY, -EBADF (closed).
 * Thread: loop thread. */
ASOCK_EXTERN int asock_datagram_on_message_received(asock_datagram *ds,
                                                    asock_message_received_fn *fn, void *user);

/* Connects to the remote half of pair (D1-D5, D9).
 *   - remote_host_name and remote_service_name are required: NULL or "" -> the operation fails
 *     with ASOCK_ERR_INVALID_ARGUMENT (status Unknown) before doing anything (the returned
 *     async is already in ERROR; the handlers still run from the loop);
 *   - a remote name is resolved (DNS), a remote service name through the services database,
 *     then DNS SRV (RFC 2782 order); the first address of a family the socket can use wins;
 *   - local_host_name NULL -> the system picks the local address; local_service_name NULL or ""
 *     -> the system picks the port; otherwise the socket is bound to them first;
 *   - a multicast remote address (literal or resolved) fails with ASOCK_ERR_HOST_NOT_FOUND
 *     (status HostNotFound) before any system call: use join_multicast_group instead;
 *   - a broadcast remote connects (SO_BROADCAST is set for you);
 *   - after a bind_service_name_async with an adapter, a pair that names a local host fails
 *     with ASOCK_ERR_INVALID_ARGUMENT (a NULL local host keeps the adapter binding);
 *   - state errors: ASOCK_ERR_IS_CONNECTED (already connected), ASOCK_ERR_ALREADY_IN_PROGRESS
 *     (a bind, connect or get_output_stream is in progress);
 *   - resolution errors: HOST_NOT_FOUND, NO_DATA, TRY_AGAIN, NO_RECOVERY (errors.md);
 *     system-call errors: their SocketError (ADDRESS_ALREADY_IN_USE, ADDRESS_NOT_AVAILABLE, ...).
 * Once connected, only the remote endpoint's datagrams raise message-received, and
 * asock_datagram_output_stream writes to it.  Returns the operation (the caller's reference), or
 * NULL only when ds is NULL or memory ran out.  Thread: loop thread. */
ASOCK_EXTERN asock_async *asock_datagram_connect_async(asock_datagram *ds,
                                                       const asock_endpoint_pair *pair);

/* connect_async with no local half: the pair {NULL, NULL, remote_host, remote_service}. */
ASOCK_EXTERN asock_async *asock_datagram_connect_host_async(asock_datagram *ds,
                                                            const char *remote_host,
                                                            const char *remote_service);

/* Binds to a local address and service (the socket then receives from any peer, D8).
 *   local_host NULL: every local address (a dual-mode IPv6 socket on "::", receiving IPv4 and
 *   IPv6; an IPv4 socket where IPv6 is unavailable); "" -> INVALID_ARGUMENT; else a name or
 *   literal, resolved, whose first address is used.
 *   local_service NULL or "": the system picks the port; else a port or services-database name.
 * Errors: ADDRESS_ALREADY_IN_USE (status AddressAlreadyInUse), ADDRESS_NOT_AVAILABLE
 * (CannotAssignRequestedAddress), HOST_NOT_FOUND (unknown name or service), INVALID_ARGUMENT
 * (already bound or connected), ALREADY_IN_PROGRESS.  Returns as connect_async. */
ASOCK_EXTERN asock_async *asock_datagram_bind_endpoint_async(asock_datagram *ds,
                                                             const char *local_host,
                                                             const char *local_service);

/* Binds to every local address on local_service (NULL or "": the system picks the port), and,
 * when adapter (an interface name such as "eth0") is not NULL, to that interface only:
 * SO_BINDTODEVICE, or where that is not permitted (EPERM) IP_UNICAST_IF / IPV6_UNICAST_IF for
 * sending plus a filter on the arrival interface for receiving.  Multicast joins then use that
 * interface.  An unknown adapter fails with INVALID_ARGUMENT (sys_errno ENODEV); "" likewise.
 * Other errors as bind_endpoint_async.  Returns as connect_async. */
ASOCK_EXTERN asock_async *asock_datagram_bind_service_name_async(asock_datagram *ds,
                                                                 const char *local_service,
                                                                 const char *adapter);

/* Resolves remote_host + remote_service (as connect_async; multicast and broadcast destinations
 * are allowed) and completes with an output stream to that destination (asock_async_result).
 * The stream belongs to ds (one stream per resolved destination: asking again for the same
 * destination gives the same stream) and stays valid until ds is closed.  A socket used this
 * way is not connected: it receives from every source on its port.  The first use opens the
 * socket unbound (a dual-mode IPv6 socket where possible); the first write binds it to an
 * ephemeral port.  Errors: INVALID_ARGUMENT (NULL or "" host or service), the resolution's,
 * ADDRESS_FAMILY_NOT_SUPPORTED (an IPv6 destination for an IPv4 socket),
 * OPERATION_NOT_SUPPORTED (a unicast destination on a multicast_only socket),
 * ALREADY_IN_PROGRESS.  Returns as connect_async. */
ASOCK_EXTERN asock_async *asock_datagram_get_output_stream_async(asock_datagram *ds,
                                                                 const char *remote_host,
                                                                 const char *remote_service);

/* Sends one datagram of length bytes (0 allowed) through os.  data is lent to asock until the
 * operation leaves STARTED (usually it completes at once: a datagram goes out in one call).
 * Completes with bytes_transferred = length, or ERROR: MESSAGE_SIZE (too large; status
 * MessageTooLong), CONNECTION_RESET (an ICMP port-unreachable from an earlier datagram on the
 * connected stream, status ConnectionResetByPeer; the socket stays usable), INVALID_ARGUMENT
 * (data NULL with length > 0), OPERATION_ABORTED (socket closed), or the send's SocketError.
 * Returns the operation, or NULL only when os is NULL or memory ran out. */
ASOCK_EXTERN asock_async *asock_output_stream_write_async(asock_output_stream *os, const void *data,
                                                          size_t length);

/* The datagram socket that owns os (NULL for NULL). */
ASOCK_EXTERN asock_datagram *asock_output_stream_datagram(const asock_output_stream *os);

/* ---- multicast (RFC 3678 MCAST_* options: one code path for IPv4 and IPv6) ----
 * group and source are IP literals.  The interface is the adapter of bind_service_name_async,
 * else the one set with asock_datagram_set_multicast_interface, else the system's choice.
 * Each returns 0 or refuses: -EINVAL (NULL / not a literal / group not multicast / source
 * multicast), -ENOTCONN (the socket is not bound yet: join after the bind completed),
 * -EAFNOSUPPORT (an IPv6 group on an IPv4 socket), -EBADF (closed), or the setsockopt error
 * (-EADDRINUSE joined twice, -EADDRNOTAVAIL leaving a group not joined, -ENODEV).
 * The socket then receives datagrams sent to the group and its port.  Thread: loop thread. */
ASOCK_EXTERN int asock_datagram_join_multicast_group(asock_datagram *ds, const char *group_address);
ASOCK_EXTERN int asock_datagram_leave_multicast_group(asock_datagram *ds,
                                                      const char *group_address);
/* Source-specific multicast (RFC 4607): only datagrams from source_address. */
ASOCK_EXTERN int asock_datagram_join_multicast_source(asock_datagram *ds, const char *group_address,
                                                      const char *source_address);
ASOCK_EXTERN int asock_datagram_leave_multicast_source(asock_datagram *ds,
                                                       const char *group_address,
                                                       const char *source_address);

/* Outgoing multicast settings; allowed at any time (kept and applied when the socket opens).
 *   interface: an interface name (NULL: the system's choice) for sending and for joins;
 *   loopback:  1 (default) my own multicast datagrams come back to local members, 0 not;
 *   ttl:       hop limit of multicast datagrams, 0..255 (default 1).
 * Returns 0, -EINVAL (bad value), -ENODEV (no such interface), -EBADF, or the setsockopt error. */
ASOCK_EXTERN int asock_datagram_set_multicast_interface(asock_datagram *ds, const char *interface);
ASOCK_EXTERN int asock_datagram_set_multicast_loopback(asock_datagram *ds, int loopback);
ASOCK_EXTERN int asock_datagram_set_multicast_ttl(asock_datagram *ds, int ttl);

/* Cancels the socket's pending I/O (CancelIOAsync): every bind, connect, get_output_stream and
 * write still running ends with status ERROR and ASOCK_ERR_OPERATION_ABORTED (I/O cancelled by
 * the socket ends in Error, not Canceled, as in WinRT).  The returned operation completes once
 * every one of them reached its final state (their handlers may still be queued).  The socket
 * stays open and message-received keeps running.  Returns as connect_async. */
ASOCK_EXTERN asock_async *asock_datagram_cancel_io_async(asock_datagram *ds);

/* Fills out with the local and remote addresses and ports (see the type).  Returns 0, -EINVAL
 * (NULL) or -EBADF (closed).  Thread: loop thread. */
ASOCK_EXTERN int asock_datagram_get_information(const asock_datagram *ds,
                                                asock_datagram_information *out);

/* DatagramSocketControl. */
typedef struct asock_datagram_control {
    int inbound_buffer_size;        /* SO_RCVBUF bytes; 0: the system default (reads back what was
                                       set, not the kernel's doubled figure) */
    int outbound_unicast_hop_limit; /* IP_TTL / IPV6_UNICAST_HOPS, 1..255; default 128 (WinRT) */
    int dont_fragment;              /* IP_MTU_DISCOVER=DO / IPV6_DONTFRAG; default 0 */
    int quality_of_service;         /* 0 normal, 1 low latency: DSCP EF (46) via IP_TOS /
                                       IPV6_TCLASS, and SO_PRIORITY 6 */
    int multicast_only; /* share the port with other multicast_only sockets (SO_REUSEADDR);
                           unicast sends are refused and unicast arrivals dropped */
} asock_datagram_control;

/* Reads the control values (defaults until set).  Returns 0 or -EINVAL/-EBADF. */
ASOCK_EXTERN int asock_datagram_get_control(const asock_datagram *ds, asock_datagram_control *out);

/* Sets every field of c.  outbound_unicast_hop_limit may change at any time; the other fields
 * only before the first bind, connect or get_output_stream: changing one later is refused
 * with -EALREADY and nothing is changed.  Returns 0, -EINVAL (NULL, a value out of range:
 * negative buffer size, hop limit outside 1..255, quality_of_service not 0/1), -EALREADY,
 * -EBADF, or a setsockopt error.  Thread: loop thread. */
ASOCK_EXTERN int asock_datagram_set_control(asock_datagram *ds, const asock_datagram_control *c);

/* The output stream to the connected peer: NULL until a connect completed. */
ASOCK_EXTERN asock_output_stream *asock_datagram_output_stream(asock_datagram *ds);

/* The loop ds runs on (NULL for NULL). */
ASOCK_EXTERN asock_loop *asock_datagram_loop(const asock_datagram *ds);

/* The underlying socket-layer socket (NULL until the first bind, connect or get_output_stream
 * opened it), for options this layer does not cover.  Do not close it or start operations on
 * it. */
ASOCK_EXTERN asock_socket *asock_datagram_socket(const asock_datagram *ds);

/* Closes ds (IClosable.Close): unregisters message-received (no message-received runs after
 * this call), ends every pending operation with status ERROR and ASOCK_ERR_OPERATION_ABORTED
 * (their handlers run later, from the loop), closes the descriptor and frees the port.  ds and
 * its output streams must not be used after this call, except that a call already running in
 * one of ds's own callbacks is refused (-EBADF, or an async with OPERATION_ABORTED).  Closing
 * again from such a callback does nothing.  NULL: nothing.  Thread: loop thread. */
ASOCK_EXTERN void asock_datagram_close(asock_datagram *ds);

#ifdef __cplusplus
}
#endif

#endif /* ASOCK_DATAGRAM_H */
