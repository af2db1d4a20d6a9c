/* TCP: connect (each resolved address tried in turn) and listen (one peer, or one after the
 * other with -k), on the socket / async-args layer.
 *
 * Connect resolves with asock_resolve_async and then connects to each address with
 * asock_connect_async on a fresh socket, rather than handing the name to
 * asock_connect_service_async: -v must name every address tried and what each one answered,
 * and that is only visible when the tool makes the attempts.  The attempts follow the
 * resolver's order (RFC 2782 for SRV targets, RFC 8305 family interleaving for addresses) one
 * at a time, as ncat does; -w bounds resolution and all attempts together.
 *
 * -I uses asock_socket_fd + setsockopt(SO_BINDTODEVICE): the socket layer has no option for
 * it.  That is safe here because each attempt has its own socket (a socket layer that re-opens
 * a descriptor after a failed connect would not know about the option).
 */
#include "asockcat.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

struct conn {
    struct acat_addrs *local; /* -s / -p, NULL without */
    struct acat_addrs *remote;
    size_t next;
    uint64_t deadline; /* asock_loop_now at which -w runs out; 0 without -w */
    asock_socket *s;
    asock_args e;
    size_t tried;
    bool multicast_seen;
    asock_socket_error last_error;
    char last_detail[160];
    char last_ep[96];
};

static struct conn C;

static asock_socket *listener;
static asock_args acc;

/* Milliseconds left before -w runs out (at least 1), 0 without -w, or -1 once it ran out. */
static int64_t remaining_ms(void)
{
    if (C.deadline == 0)
        return 0;
    uint64_t now = asock_loop_now(g_acat.loop);
    if (now >= C.deadline)
        return -1;
    return (int64_t)(C.deadline - now);
}

/* TCP Fast Open for clients is on when bit 0x1 of net.ipv4.tcp_fastopen is set (the kernel's
 * default is 1).  Then -d uses TCP_FASTOPEN_CONNECT and the data may ride in the SYN. */
static bool fast_open_client_on(void)
{
    FILE *f = fopen("/proc/sys/net/ipv4/tcp_fastopen", "r");
    if (f == NULL)
        return false;
    int v = 0;
    int n = fscanf(f, "%i", &v);
    fclose(f);
    return n == 1 && (v & 1) != 0;
}

/* Socket options common to connect attempts and listeners; false after printing an error. */
static bool setup_socket(asock_socket *s, const char *what)
{
    if (g_acat.o.ifname != NULL) {
        int fd = asock_socket_fd(s);
        if (setsockopt(fd, SOL_SOCKET, SO_BINDTODEVICE, g_acat.o.ifname,
                       (socklen_t)strlen(g_acat.o.ifname)) < 0) {
            int err = errno;
            acat_fail(asock_socket_error_from_errno(err), asock_strerror(err),
                      "%s: -I %s (SO_BINDTODEVICE)", what, g_acat.o.ifname);
            return false;
        }
        acat_verbose("%s: bound to interface %s", what, g_acat.o.ifname);
    }
    return true;
}

static void free_conn(void)
{
    acat_addrs_free(C.local);
    acat_addrs_free(C.remote);
    C.local = NULL;
    C.remote = NULL;
}

/* ---- connect ---- */

static void try_next(void);

static void on_session_end(int status)
{
    acat_finish(status);
}

static void attempt_failed(const asock_endpoint *ep, asock_socket_error err, const char *detail)
{
    char ebuf[160];
    C.last_error = err;
    snprintf(C.last_detail, sizeof(C.last_detail), "%s", detail != NULL ? detail : "");
    snprintf(C.last_ep, sizeof(C.last_ep), "%s", acat_ep(ep));
    acat_verbose("connect to %s: %s%s%s", C.last_ep, acat_error_text(err, ebuf, sizeof(ebuf)),
                 C.last_detail[0] ? ": " : "", C.last_detail);
}

static void connected(void)
{
    asock_args *e = &C.e;
    const asock_endpoint *ep = &e->remote_endpoint;
    asock_socket *s = C.s;
    C.s = NULL;
    if (e->socket_error != ASOCK_SUCCESS) {
        attempt_failed(ep, e->socket_error, asock_args_error_detail(e));
        asock_socket_close(s);
        if (e->socket_error == ASOCK_ERR_TIMED_OUT && remaining_ms() < 0) {
            acat_fail(ASOCK_ERR_TIMED_OUT, NULL, "connect to %s %s: no connection within -w",
                      g_acat.o.host, g_acat.o.service);
            free_conn();
            return;
        }
        try_next();
        return;
    }
    asock_endpoint local;
    char from[96] = "?";
    if (asock_socket_local_endpoint(s, &local) == 0)
        snprintf(from, sizeof(from), "%s", acat_ep(&local));
    if (g_acat.o.data != NULL)
        acat_verbose("connected to %s from %s; -d: %zu of %zu bytes sent with the connect",
                     acat_ep(ep), from, e->bytes_transferred, g_acat.o.data_len);
    else
        acat_verbose("connected to %s from %s", acat_ep(ep), from);
    free_conn();
    acat_relay_start(s, on_session_end);
}

static void on_connected(asock_socket *sender, asock_args *e)
{
    (void)sender;
    (void)e;
    if (g_acat.done) {
        if (C.s != NULL)
            asock_socket_close(C.s);
        C.s = NULL;
        return;
    }
    connected();
}

/* The local endpoint for an attempt of this family: -s's address, or the wildcard with -p's
 * port.  false when -s has no address of that family. */
static bool local_for(int family, asock_endpoint *out)
{
    if (C.local == NULL)
        return false;
    for (size_t i = 0; i < C.local->count; i++) {
        if (asock_endpoint_family(&C.local->eps[i]) == family) {
            *out = C.local->eps[i];
            return true;
        }
    }
    return false;
}

static void try_next(void)
{
    while (!g_acat.done) {
        if (C.remote == NULL || C.next >= C.remote->count) {
            if (C.tried > 0) {
                acat_fail(C.last_error, C.last_detail,
                          "cannot connect to %s %s (%zu address%s tried, the last %s)",
                          g_acat.o.host, g_acat.o.service, C.tried, C.tried == 1 ? "" : "es",
                          C.last_ep);
            } else if (C.multicast_seen) {
                acat_fail(ASOCK_ERR_HOST_NOT_FOUND, "a multicast address is not a peer",
                          "connect to %s %s", g_acat.o.host, g_acat.o.service);
            } else {
                acat_fail(ASOCK_ERR_NO_DATA, "no address of the local address's family",
                          "connect to %s %s", g_acat.o.host, g_acat.o.service);
            }
            free_conn();
            return;
        }
        const asock_endpoint *ep = &C.remote->eps[C.next++];
        int family = asock_endpoint_family(ep);
        if (acat_is_multicast(ep)) {
            acat_verbose("%s: multicast, not a peer: skipped", acat_ep(ep));
            C.multicast_seen = true;
            continue;
        }
        asock_endpoint lep;
        bool bind_local = false;
        if (C.local != NULL) {
            if (!local_for(family, &lep)) {
                acat_verbose("%s: no local address of its family (-s/-p): skipped", acat_ep(ep));
                continue;
            }
            bind_local = true;
        }
        int64_t left = remaining_ms();
        if (left < 0) {
            acat_fail(ASOCK_ERR_TIMED_OUT, NULL, "connect to %s %s: no connection within -w",
                      g_acat.o.host, g_acat.o.service);
            free_conn();
            return;
        }

        C.tried++;
        asock_socket *s = NULL;
        int rc = asock_socket_open(g_acat.loop, family, SOCK_STREAM, 0, &s);
        if (rc < 0) {
            attempt_failed(ep, asock_socket_error_from_errno(rc), asock_strerror(rc));
            continue;
        }
        if (!setup_socket(s, "connect")) {
            asock_socket_close(s);
            free_conn();
            return;
        }
        if (g_acat.o.data != NULL && g_acat.o.data_len > 0 && fast_open_client_on()) {
            rc = asock_socket_set_option(s, ASOCK_OPT_FAST_OPEN, 1);
            if (rc < 0)
                acat_verbose("TCP Fast Open not used: %s", asock_strerror(rc));
        }
        if (bind_local) {
            if (asock_endpoint_port(&lep) != 0)
                (void)asock_socket_set_option(s, ASOCK_OPT_REUSE_ADDRESS, 1);
            rc = asock_socket_bind(s, &lep);
            if (rc < 0) {
                acat_fail(asock_socket_error_from_errno(rc), asock_strerror(rc),
                          "bind to %s (-s/-p)", acat_ep(&lep));
                asock_socket_close(s);
                free_conn();
                return;
            }
            acat_verbose("bound to %s", acat_ep(&lep));
        }

        asock_args_init(&C.e);
        C.e.completed = on_connected;
        C.e.remote_endpoint = *ep;
        C.e.connect_timeout_ms = (uint32_t)left;
        if (g_acat.o.data != NULL)
            asock_args_set_buffer(&C.e, (void *)(uintptr_t)g_acat.o.data, 0, g_acat.o.data_len);
        C.s = s;
        acat_verbose("trying %s (%zu of %zu)", acat_ep(ep), C.next, C.remote->count);
        rc = asock_connect_async(s, &C.e);
        if (rc == 1)
            return;
        if (rc == 0) {
            connected();
            return;
        }
        C.s = NULL;
        asock_socket_close(s);
        attempt_failed(ep, asock_socket_error_from_errno(rc), asock_strerror(rc));
    }
}

static void on_remote(struct acat_addrs *a, void *user)
{
    (void)user;
    if (a->error != ASOCK_SUCCESS) {
        acat_fail(a->error, a->detail, "%s %s", g_acat.o.host, g_acat.o.service);
        acat_addrs_free(a);
        free_conn();
        return;
    }
    C.remote = a;
    C.next = 0;
    try_next();
}

static void resolve_remote(void)
{
    int family = g_acat.o.family;
    if (C.local != NULL && g_acat.o.src_host != NULL && C.local->count > 0)
        family = asock_endpoint_family(&C.local->eps[0]); /* the source fixes the family */
    int64_t left = remaining_ms();
    if (left < 0) {
        acat_fail(ASOCK_ERR_TIMED_OUT, NULL, "%s %s: no connection within -w", g_acat.o.host,
                  g_acat.o.service);
        free_conn();
        return;
    }
    int rc = acat_resolve(g_acat.o.host, g_acat.o.service, family, SOCK_STREAM, false,
                          (uint32_t)left, on_remote, NULL);
    if (rc < 0) {
        acat_fail(asock_socket_error_from_errno(rc), asock_strerror(rc), "resolve %s %s",
                  g_acat.o.host, g_acat.o.service);
        free_conn();
    }
}

static void on_local(struct acat_addrs *a, void *user)
{
    (void)user;
    if (a->error != ASOCK_SUCCESS) {
        acat_fail(a->error, a->detail, "local address -s %s -p %s",
                  g_acat.o.src_host ? g_acat.o.src_host : "(any)",
                  g_acat.o.src_service ? g_acat.o.src_service : "(any)");
        acat_addrs_free(a);
        return;
    }
    C.local = a;
    resolve_remote();
}

static void connect_start(void)
{
    if (g_acat.o.wait_ms > 0)
        C.deadline = asock_loop_now(g_acat.loop) + g_acat.o.wait_ms;
    if (g_acat.o.src_host == NULL && g_acat.o.src_service == NULL) {
        resolve_remote();
        return;
    }
    int rc = acat_resolve(g_acat.o.src_host, g_acat.o.src_service, g_acat.o.family, SOCK_STREAM,
                          true, g_acat.o.wait_ms, on_local, NULL);
    if (rc < 0)
        acat_fail(asock_socket_error_from_errno(rc), asock_strerror(rc),
                  "resolve the local address -s %s -p %s",
                  g_acat.o.src_host ? g_acat.o.src_host : "(any)",
                  g_acat.o.src_service ? g_acat.o.src_service : "(any)");
}

/* ---- listen ---- */

static void accept_next(void);

static void on_listen_session_end(int status)
{
    if (g_acat.o.keep && !g_acat.done) {
        acat_verbose("-k: waiting for the next peer");
        accept_next();
        return;
    }
    acat_finish(status);
}

/* The accept in acc completed; true to accept again. */
static bool accepted(void)
{
    if (acc.socket_error != ASOCK_SUCCESS) {
        char ebuf[160];
        if (g_acat.o.keep) {
            acat_msg("accept: %s", acat_error_text(acc.socket_error, ebuf, sizeof(ebuf)));
            return true;
        }
        acat_fail(acc.socket_error, asock_args_error_detail(&acc), "accept");
        return false;
    }
    asock_socket *s = acc.accept_socket;
    acc.accept_socket = NULL;
    asock_endpoint peer;
    if (asock_socket_remote_endpoint(s, &peer) == 0)
        acat_verbose("connection from %s", acat_ep(&peer));
    if (!g_acat.o.keep) {
        asock_socket_close(listener); /* one peer only, as ncat without -k */
        listener = NULL;
    }
    acat_relay_start(s, on_listen_session_end);
    return false;
}

static void on_accepted(asock_socket *sender, asock_args *e)
{
    (void)sender;
    (void)e;
    if (g_acat.done) {
        if (acc.accept_socket != NULL)
            asock_socket_close(acc.accept_socket);
        acc.accept_socket = NULL;
        return;
    }
    if (accepted())
        accept_next();
}

static void accept_next(void)
{
    while (!g_acat.done && listener != NULL) {
        acc.accept_socket = NULL;
        int rc = asock_accept_async(listener, &acc);
        if (rc == 1)
            return;
        if (rc < 0) {
            acat_fail(asock_socket_error_from_errno(rc), asock_strerror(rc), "accept");
            return;
        }
        if (!accepted())
            return;
    }
}

/* Opens, binds and listens on ep; NULL after printing why not (fatal is false: quietly). */
static asock_socket *listen_on(const asock_endpoint *ep, bool dual, bool fatal)
{
    asock_socket *s = NULL;
    int rc = asock_socket_open(g_acat.loop, asock_endpoint_family(ep), SOCK_STREAM, 0, &s);
    if (rc < 0) {
        if (fatal)
            acat_fail(asock_socket_error_from_errno(rc), asock_strerror(rc), "listen on %s",
                      acat_ep(ep));
        return NULL;
    }
    (void)asock_socket_set_option(s, ASOCK_OPT_REUSE_ADDRESS, 1);
    if (dual)
        (void)asock_socket_set_option(s, ASOCK_OPT_DUAL_MODE, 1);
    if (!setup_socket(s, "listen")) {
        asock_socket_close(s);
        return NULL;
    }
    rc = asock_socket_bind(s, ep);
    if (rc == 0)
        rc = asock_socket_listen(s, 0);
    if (rc < 0) {
        if (fatal)
            acat_fail(asock_socket_error_from_errno(rc), asock_strerror(rc), "listen on %s",
                      acat_ep(ep));
        asock_socket_close(s);
        return NULL;
    }
    return s;
}

static void on_listen_addr(struct acat_addrs *a, void *user)
{
    (void)user;
    if (a->error != ASOCK_SUCCESS || a->count == 0) {
        acat_fail(a->error, a->detail, "listen address %s %s",
                  g_acat.o.host ? g_acat.o.host : "(any)", g_acat.o.service);
        acat_addrs_free(a);
        return;
    }
    uint16_t port = asock_endpoint_port(&a->eps[0]);
    asock_endpoint ep;
    if (g_acat.o.host != NULL) {
        ep = a->eps[0];
        if (a->count > 1)
            acat_verbose("listening on the first address of %s only", g_acat.o.host);
        listener = listen_on(&ep, false, true);
    } else if (g_acat.o.family == AF_INET) {
        asock_endpoint_ip(&ep, "0.0.0.0", port);
        listener = listen_on(&ep, false, true);
    } else if (g_acat.o.family == AF_INET6) {
        asock_endpoint_ip(&ep, "::", port);
        listener = listen_on(&ep, false, true);
    } else {
        /* both families on one dual-mode IPv6 socket; IPv4 alone where IPv6 is off */
        asock_endpoint_ip(&ep, "::", port);
        listener = listen_on(&ep, true, false);
        if (listener == NULL && !g_acat.done) {
            asock_endpoint_ip(&ep, "0.0.0.0", port);
            listener = listen_on(&ep, false, true);
        }
    }
    acat_addrs_free(a);
    if (listener == NULL)
        return;
    asock_endpoint bound;
    if (asock_socket_local_endpoint(listener, &bound) == 0)
        acat_verbose("listening on %s%s", acat_ep(&bound),
                     asock_endpoint_family(&bound) == AF_INET6 && g_acat.o.host == NULL &&
                             g_acat.o.family == AF_UNSPEC
                         ? " (IPv6 and IPv4)"
                         : "");
    asock_args_init(&acc);
    acc.completed = on_accepted;
    accept_next();
}

static void listen_start(void)
{
    int rc = acat_resolve(g_acat.o.host, g_acat.o.service, g_acat.o.family, SOCK_STREAM, true, 0,
                          on_listen_addr, NULL);
    if (rc < 0)
        acat_fail(asock_socket_error_from_errno(rc), asock_strerror(rc), "resolve %s %s",
                  g_acat.o.host ? g_acat.o.host : "(any)", g_acat.o.service);
}

void acat_tcp_start(void)
{
    int rc = acat_relay_init();
    if (rc < 0) {
        acat_fail(asock_socket_error_from_errno(rc), asock_strerror(rc), "start the stdin reader");
        return;
    }
    if (g_acat.o.listen)
        listen_start();
    else
        connect_start();
}
