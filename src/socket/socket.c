/* asock_socket: open, bind, listen, options, endpoints, shutdown and close. */
#include "socket.h"

#include <netinet/tcp.h>
#include <unistd.h>

#ifndef TCP_FASTOPEN_CONNECT
#define TCP_FASTOPEN_CONNECT 30 /* Linux 4.11; older headers lack it */
#endif

static int set_v6only(int fd, int on)
{
    if (setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &on, sizeof(on)) < 0)
        return -errno;
    return 0;
}

static int open_fd(int family, int type, int protocol)
{
    int fd = socket(family, type | SOCK_NONBLOCK | SOCK_CLOEXEC, protocol);
    if (fd < 0)
        return -errno;
    /* Never rely on the bindv6only sysctl: IPv6 sockets are IPv6-only unless asked (.NET). */
    if (family == AF_INET6) {
        int rc = set_v6only(fd, 1);
        if (rc < 0) {
            close(fd);
            return rc;
        }
    }
    return fd;
}

int asock_socket_open(asock_loop *loop, int family, int type, int protocol, asock_socket **out)
{
    if (out != NULL)
        *out = NULL;
    if (loop == NULL || out == NULL)
        return -EINVAL;
    if (loop->freeing)
        return -EBADF;
    if (family != AF_INET && family != AF_INET6)
        return -EAFNOSUPPORT;
    if (type != SOCK_STREAM && type != SOCK_DGRAM)
        return -EINVAL;
    if (protocol != 0 && !(type == SOCK_STREAM && protocol == IPPROTO_TCP) &&
        !(type == SOCK_DGRAM && protocol == IPPROTO_UDP))
        return -EPROTONOSUPPORT;
    asock_socket *s = asock__calloc(1, sizeof(*s));
    if (s == NULL)
        return -ENOMEM;
    int fd = open_fd(family, type, protocol);
    if (fd < 0) {
        asock__free(s);
        return fd;
    }
    s->loop = loop;
    asock__io_init(&s->io, fd);
    s->family = (uint8_t)family;
    s->type = (uint8_t)type;
    s->protocol = (uint8_t)protocol;
    asock__q_init(&s->args);
    asock__q_insert_tail(&loop->sockets, &s->lnode);
    *out = s;
    return 0;
}

/* The socket layer's part of asock_loop_free. */
ASOCK__HIDDEN void asock__socket_close_all(asock_loop *loop);

void asock__socket_close_all(asock_loop *loop)
{
    while (!asock__q_empty(&loop->sockets)) {
        asock_socket *s = asock__container_of(asock__q_head(&loop->sockets), asock_socket, lnode);
        asock_socket_close(s);
    }
}

static void socket_closed(struct asock__io *io)
{
    asock_socket *s = asock__container_of(io, asock_socket, io);
    asock__free(s->opts);
    asock__free(s);
}

void asock_socket_close(asock_socket *s)
{
    if (s == NULL || (s->flags & ASOCK__SF_CLOSING))
        return;
    s->flags |= ASOCK__SF_CLOSING;
    asock__q_remove(&s->lnode);
    /* Operations that are not in the engine (a connect by name between its phases) end here. */
    struct asock__qnode *q = asock__q_head(&s->args);
    while (q != &s->args) {
        struct asock__qnode *next = q->next;
        struct asock__args_priv *p = asock__container_of(q, struct asock__args_priv, snode);
        asock_args *e = asock__container_of((void *)p, asock_args, priv_);
        if (p->name_connect != NULL)
            asock__name_connect_abort(e);
        else if (p->flags & ASOCK__AF_HELD)
            asock__send_abort_held(e);
        q = next;
    }
    asock__engine_close(s->loop, &s->io, socket_closed);
}

void asock__socket_aborted(asock_socket *s)
{
    /* A stream socket whose operations the close aborted, and whose user did not shut the write
     * side down, closes abortively so the peer sees a reset (.NET does the same).  Decided per
     * aborted operation, not at the close: a send the kernel had already done (io_uring: in the
     * ring, its completion not yet read) completes with its result and does not count.  The
     * descriptor is closed only after the last completion, so the option is set in time. */
    if (s->type != SOCK_STREAM || (s->flags & (ASOCK__SF_SHUT_WR | ASOCK__SF_RESET)) ||
        s->io.fd < 0)
        return;
    s->flags |= ASOCK__SF_RESET;
    struct linger lg = {.l_onoff = 1, .l_linger = 0};
    setsockopt(s->io.fd, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg));
}

int asock_socket_fd(const asock_socket *s)
{
    return s != NULL && !(s->flags & ASOCK__SF_CLOSING) ? s->io.fd : -1;
}

asock_loop *asock_socket_loop(const asock_socket *s)
{
    return s != NULL ? s->loop : NULL;
}

int asock_socket_family(const asock_socket *s)
{
    return s != NULL ? s->family : AF_UNSPEC;
}

int asock_socket_type(const asock_socket *s)
{
    return s != NULL ? s->type : 0;
}

int asock_socket_connected(const asock_socket *s)
{
    return s != NULL && (s->flags & ASOCK__SF_CONNECTED) ? 1 : 0;
}

void asock_socket_set_data(asock_socket *s, void *data)
{
    if (s != NULL)
        s->data = data;
}

void *asock_socket_get_data(const asock_socket *s)
{
    return s != NULL ? s->data : NULL;
}

bool asock__socket_can_use_family(const asock_socket *s, int family)
{
    if (family == s->family)
        return true;
    return family == AF_INET && s->family == AF_INET6 && (s->flags & ASOCK__SF_DUAL_MODE);
}

static bool usable(const asock_socket *s)
{
    return s != NULL && !(s->flags & ASOCK__SF_CLOSING) && s->io.fd >= 0;
}

int asock_socket_bind(asock_socket *s, const asock_endpoint *local)
{
    if (s == NULL || local == NULL)
        return -EINVAL;
    if (!usable(s))
        return -EBADF;
    if (local->kind != ASOCK_ENDPOINT_IP)
        return -EINVAL;
    int fam = local->ip.sa.sa_family;
    if (!asock__socket_can_use_family(s, fam))
        return -EAFNOSUPPORT;
    struct sockaddr_in6 mapped;
    socklen_t len = 0;
    const struct sockaddr *sa = asock_endpoint_sockaddr(local, &len);
    if (fam == AF_INET && s->family == AF_INET6) {
        /* dual mode: an IPv4 address as ::ffff:a.b.c.d */
        memset(&mapped, 0, sizeof(mapped));
        mapped.sin6_family = AF_INET6;
        mapped.sin6_port = local->ip.in4.sin_port;
        mapped.sin6_addr.s6_addr[10] = 0xff;
        mapped.sin6_addr.s6_addr[11] = 0xff;
        memcpy(&mapped.sin6_addr.s6_addr[12], &local->ip.in4.sin_addr, 4);
        sa = (const struct sockaddr *)&mapped;
        len = sizeof(mapped);
    }
    if (bind(s->io.fd, sa, len) < 0)
        return -errno;
    s->flags |= ASOCK__SF_BOUND;
    return 0;
}

int asock_socket_listen(asock_socket *s, int backlog)
{
    if (s == NULL)
        return -EINVAL;
    if (!usable(s))
        return -EBADF;
    if (s->type != SOCK_STREAM)
        return -EOPNOTSUPP;
    if (s->flags & (ASOCK__SF_CONNECTED | ASOCK__SF_CONNECTING))
        return -EISCONN;
    if (s->opts != NULL && (s->opts->set_mask & (1u << ASOCK_OPT_FAST_OPEN)) &&
        s->opts->values[ASOCK_OPT_FAST_OPEN] != 0) {
        int qlen =
            s->opts->values[ASOCK_OPT_FAST_OPEN] > 1 ? s->opts->values[ASOCK_OPT_FAST_OPEN] : 16;
        if (setsockopt(s->io.fd, IPPROTO_TCP, TCP_FASTOPEN, &qlen, sizeof(qlen)) < 0)
            return -errno;
    }
    if (listen(s->io.fd, backlog > 0 ? backlog : SOMAXCONN) < 0)
        return -errno;
    s->flags |= ASOCK__SF_LISTENING | ASOCK__SF_BOUND;
    return 0;
}

int asock_socket_shutdown(asock_socket *s, int how)
{
    if (s == NULL)
        return -EINVAL;
    if (!usable(s))
        return -EBADF;
    if (how != SHUT_RD && how != SHUT_WR && how != SHUT_RDWR)
        return -EINVAL;
    /* sends queued in an engine's ring go out first, as they would have had they been made at
     * once */
    if (s->loop->engine->flush != NULL)
        s->loop->engine->flush(s->loop);
    if (shutdown(s->io.fd, how) < 0)
        return -errno;
    if (how != SHUT_RD)
        s->flags |= ASOCK__SF_SHUT_WR;
    return 0;
}

static int endpoint_of(int fd, bool peer, asock_endpoint *out)
{
    struct sockaddr_storage ss;
    socklen_t len = sizeof(ss);
    int rc = peer ? getpeername(fd, (struct sockaddr *)&ss, &len)
                  : getsockname(fd, (struct sockaddr *)&ss, &len);
    if (rc < 0)
        return -errno;
    return asock_endpoint_from_sockaddr(out, (struct sockaddr *)&ss, len);
}

int asock_socket_local_endpoint(const asock_socket *s, asock_endpoint *out)
{
    if (s == NULL || out == NULL)
        return -EINVAL;
    if (!usable(s))
        return -EBADF;
    int rc = endpoint_of(s->io.fd, false, out);
    if (rc < 0)
        return rc;
    /* an unbound socket reports the wildcard with port 0: say "no local endpoint" */
    if (asock_endpoint_port(out) == 0 && !(s->flags & ASOCK__SF_BOUND))
        return -EINVAL;
    return 0;
}

int asock_socket_remote_endpoint(const asock_socket *s, asock_endpoint *out)
{
    if (s == NULL || out == NULL)
        return -EINVAL;
    if (!usable(s))
        return -EBADF;
    return endpoint_of(s->io.fd, true, out);
}

/* ---- options ---- */

struct optmap {
    int level4, name4; /* AF_INET (or both when level6 == 0) */
    int level6, name6; /* AF_INET6 */
};

static int map_option(const asock_socket *s, asock_option opt, int *level, int *name)
{
    bool v6 = s->family == AF_INET6;
    switch (opt) {
    case ASOCK_OPT_BROADCAST:
        *level = SOL_SOCKET;
        *name = SO_BROADCAST;
        return 0;
    case ASOCK_OPT_REUSE_ADDRESS:
        *level = SOL_SOCKET;
        *name = SO_REUSEADDR;
        return 0;
    case ASOCK_OPT_REUSE_PORT:
        *level = SOL_SOCKET;
        *name = SO_REUSEPORT;
        return 0;
    case ASOCK_OPT_NO_DELAY:
        if (s->type != SOCK_STREAM)
            return -EOPNOTSUPP;
        *level = IPPROTO_TCP;
        *name = TCP_NODELAY;
        return 0;
    case ASOCK_OPT_DUAL_MODE:
        if (!v6)
            return -EOPNOTSUPP;
        *level = IPPROTO_IPV6;
        *name = IPV6_V6ONLY;
        return 0;
    case ASOCK_OPT_RECEIVE_BUFFER:
        *level = SOL_SOCKET;
        *name = SO_RCVBUF;
        return 0;
    case ASOCK_OPT_SEND_BUFFER:
        *level = SOL_SOCKET;
        *name = SO_SNDBUF;
        return 0;
    case ASOCK_OPT_TTL:
        *level = v6 ? IPPROTO_IPV6 : IPPROTO_IP;
        *name = v6 ? IPV6_UNICAST_HOPS : IP_TTL;
        return 0;
    case ASOCK_OPT_FAST_OPEN:
        if (s->type != SOCK_STREAM)
            return -EOPNOTSUPP;
        *level = IPPROTO_TCP;
        *name = TCP_FASTOPEN_CONNECT;
        return 0;
    case ASOCK_OPT_KEEP_ALIVE:
        *level = SOL_SOCKET;
        *name = SO_KEEPALIVE;
        return 0;
    case ASOCK_OPT_LINGER:
        *level = SOL_SOCKET;
        *name = SO_LINGER;
        return 0;
    case ASOCK_OPT_DONT_FRAGMENT:
        *level = v6 ? IPPROTO_IPV6 : IPPROTO_IP;
        *name = v6 ? IPV6_DONTFRAG : IP_MTU_DISCOVER;
        return 0;
    case ASOCK_OPT_TYPE_OF_SERVICE:
        *level = v6 ? IPPROTO_IPV6 : IPPROTO_IP;
        *name = v6 ? IPV6_TCLASS : IP_TOS;
        return 0;
    case ASOCK_OPT_MULTICAST_LOOPBACK:
        if (s->type != SOCK_DGRAM)
            return -EOPNOTSUPP;
        *level = v6 ? IPPROTO_IPV6 : IPPROTO_IP;
        *name = v6 ? IPV6_MULTICAST_LOOP : IP_MULTICAST_LOOP;
        return 0;
    case ASOCK_OPT_MULTICAST_TTL:
        if (s->type != SOCK_DGRAM)
            return -EOPNOTSUPP;
        *level = v6 ? IPPROTO_IPV6 : IPPROTO_IP;
        *name = v6 ? IPV6_MULTICAST_HOPS : IP_MULTICAST_TTL;
        return 0;
    case ASOCK_OPT_ERROR:
        *level = SOL_SOCKET;
        *name = SO_ERROR;
        return 0;
    }
    return -ENOPROTOOPT;
}

/* Applies one option to fd (no bookkeeping). */
static int apply_option(asock_socket *s, int fd, asock_option opt, int value)
{
    int level, name;
    int rc = map_option(s, opt, &level, &name);
    if (rc < 0)
        return rc;
    if (opt == ASOCK_OPT_ERROR)
        return -EINVAL; /* read-only */
    if (opt == ASOCK_OPT_LINGER) {
        struct linger lg = {.l_onoff = value >= 0, .l_linger = value >= 0 ? value : 0};
        return setsockopt(fd, level, name, &lg, sizeof(lg)) < 0 ? -errno : 0;
    }
    int v = value;
    if (opt == ASOCK_OPT_DUAL_MODE)
        v = value ? 0 : 1;
    else if (opt == ASOCK_OPT_DONT_FRAGMENT && s->family == AF_INET)
        v = value ? IP_PMTUDISC_DO : IP_PMTUDISC_WANT;
    else if (opt == ASOCK_OPT_BROADCAST || opt == ASOCK_OPT_REUSE_ADDRESS ||
             opt == ASOCK_OPT_REUSE_PORT || opt == ASOCK_OPT_NO_DELAY ||
             opt == ASOCK_OPT_KEEP_ALIVE || opt == ASOCK_OPT_FAST_OPEN ||
             opt == ASOCK_OPT_MULTICAST_LOOPBACK)
        v = value != 0;
    return setsockopt(fd, level, name, &v, sizeof(v)) < 0 ? -errno : 0;
}

int asock_socket_set_option(asock_socket *s, asock_option opt, int value)
{
    if (s == NULL)
        return -EINVAL;
    if (!usable(s))
        return -EBADF;
    if ((unsigned)opt >= 32u)
        return -ENOPROTOOPT;
    if (opt == ASOCK_OPT_DUAL_MODE && s->family == AF_INET6 &&
        (s->flags & (ASOCK__SF_BOUND | ASOCK__SF_CONNECTED | ASOCK__SF_CONNECTING)))
        return -EISCONN;
    int rc;
    if (opt == ASOCK_OPT_FAST_OPEN && (s->flags & ASOCK__SF_LISTENING)) {
        /* on a listener: the server side's pending fast-open queue length */
        int qlen = value > 1 ? value : (value != 0 ? 16 : 0);
        rc = setsockopt(s->io.fd, IPPROTO_TCP, TCP_FASTOPEN, &qlen, sizeof(qlen)) < 0 ? -errno : 0;
    } else {
        rc = apply_option(s, s->io.fd, opt, value);
    }
    if (rc < 0)
        return rc;
    if (s->opts == NULL) {
        s->opts = asock__calloc(1, sizeof(*s->opts));
        if (s->opts == NULL)
            return -ENOMEM; /* applied, but not remembered for a new descriptor */
    }
    s->opts->set_mask |= 1u << opt;
    s->opts->values[opt] = value;
    if (opt == ASOCK_OPT_DUAL_MODE) {
        if (value)
            s->flags |= ASOCK__SF_DUAL_MODE;
        else
            s->flags &= ~ASOCK__SF_DUAL_MODE;
    }
    if (opt == ASOCK_OPT_FAST_OPEN) {
        if (value)
            s->flags |= ASOCK__SF_FAST_OPEN;
        else
            s->flags &= ~ASOCK__SF_FAST_OPEN;
    }
    return 0;
}

int asock_socket_get_option(asock_socket *s, asock_option opt, int *value)
{
    if (s == NULL || value == NULL)
        return -EINVAL;
    if (!usable(s))
        return -EBADF;
    int level, name;
    int rc = map_option(s, opt, &level, &name);
    if (rc < 0)
        return rc;
    if (opt == ASOCK_OPT_FAST_OPEN && (s->flags & ASOCK__SF_LISTENING))
        name = TCP_FASTOPEN;
    if (opt == ASOCK_OPT_LINGER) {
        struct linger lg;
        socklen_t len = sizeof(lg);
        if (getsockopt(s->io.fd, level, name, &lg, &len) < 0)
            return -errno;
        *value = lg.l_onoff ? lg.l_linger : -1;
        return 0;
    }
    int v = 0;
    socklen_t len = sizeof(v);
    if (getsockopt(s->io.fd, level, name, &v, &len) < 0)
        return -errno;
    if (opt == ASOCK_OPT_DUAL_MODE)
        v = !v;
    else if (opt == ASOCK_OPT_DONT_FRAGMENT && s->family == AF_INET)
        v = v == IP_PMTUDISC_DO;
    *value = v;
    return 0;
}

int asock__socket_copy_options(asock_socket *s, const asock_socket *from)
{
    if (from->opts == NULL)
        return 0;
    for (int opt = 0; opt < 32; opt++) {
        if (!(from->opts->set_mask & (1u << opt)))
            continue;
        int rc = asock_socket_set_option(s, (asock_option)opt, from->opts->values[opt]);
        if (rc < 0 && rc != -EOPNOTSUPP)
            return rc;
    }
    return 0;
}

int asock__socket_renew(asock_socket *s)
{
    int fd = open_fd(s->family, s->type, s->protocol);
    if (fd < 0)
        return fd;
    if (s->loop->engine->detach != NULL)
        s->loop->engine->detach(s->loop, &s->io);
    close(s->io.fd);
    s->io.fd = fd;
    s->io.registered = 0;
    s->io.ebits = 0;
    s->flags &=
        ~(ASOCK__SF_BOUND | ASOCK__SF_CONNECTED | ASOCK__SF_CONNECTING | ASOCK__SF_CONN_FAILED |
          ASOCK__SF_PKTINFO | ASOCK__SF_SHUT_WR | ASOCK__SF_LISTENING);
    if (s->opts != NULL) {
        for (int opt = 0; opt < 32; opt++) {
            if (s->opts->set_mask & (1u << opt))
                apply_option(s, fd, (asock_option)opt, s->opts->values[opt]);
        }
    }
    return 0;
}

int asock__socket_adopt(asock_socket *s, asock_socket *from)
{
    if (from->io.inflight != 0 || s->io.inflight != 0)
        return -EBUSY;
    asock_loop *loop = s->loop;
    if (loop->engine->detach != NULL) {
        loop->engine->detach(loop, &s->io);
        loop->engine->detach(loop, &from->io);
    }
    close(s->io.fd);
    s->io.fd = from->io.fd;
    s->io.registered = 0;
    s->io.ebits = 0;
    s->family = from->family;
    s->flags = (s->flags & (ASOCK__SF_CLOSING | ASOCK__SF_INTERNAL)) |
               (from->flags & ~(ASOCK__SF_CLOSING | ASOCK__SF_INTERNAL));
    /* `from` is released from the loop, never here: an event already fetched for it in this
     * iteration may still name its io. */
    from->io.fd = -1;
    from->flags |= ASOCK__SF_CLOSING;
    asock__q_remove(&from->lnode);
    asock__engine_close(loop, &from->io, socket_closed);
    return 0;
}
