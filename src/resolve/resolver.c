/* c-ares on the loop: one channel per loop, created on first use; its sockets watched by the
 * loop's engine, its timeouts on a loop timer.  Never ares_fds/select (descriptors above 1024),
 * never a thread.
 *
 * Who closes c-ares's descriptors.  c-ares opens and closes its own sockets, but a descriptor
 * that the engine still watches must not be closed under it: io_uring would keep a poll on a
 * file whose number may already belong to a new socket, and the epoll engine would deregister
 * (or mis-register) whatever now holds that number.  So the resolver installs its own socket
 * functions (ares_set_socket_functions): c-ares's "close" does not close.  It hands the
 * descriptor to asock__engine_close, which cancels the poll operations, waits until the engine
 * has given every one of them back, and only then closes the number.  To c-ares the socket is
 * gone at once (it never touches it again), and the number cannot be reused while a completion
 * for it is still on its way.  A descriptor the engine never saw (c-ares's RFC 6724 sorting
 * probes open, connect and close UDP sockets without ever asking to watch them) is closed at
 * once.  Which descriptors to watch, and for what, comes from the socket-state callback
 * (ARES_OPT_SOCK_STATE_CB): each "watch fd for reading/writing" keeps one one-shot POLL_IN /
 * POLL_OUT operation submitted; when it completes, ares_process_fd handles the descriptor and
 * the poll is submitted again while c-ares still wants it; "(0, 0)" cancels the polls.
 *
 * c-ares callbacks do nothing but record the answer and queue a loop task (see struct
 * asock__dns_ticket), so no user code ever runs inside c-ares, and ares_destroy is only ever
 * called from the loop's teardown hook, never from inside a c-ares callback. */
#include "resolve_int.h"
#include "../engine/engine.h"

#include <arpa/nameser.h>
#include <pthread.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

/* One c-ares socket that the engine watches. */
struct rsock {
    struct asock__io io;
    struct asock__op rop; /* POLL_IN */
    struct asock__op wop; /* POLL_OUT */
    struct asock__resolver *r;
    struct asock__qnode node; /* r->socks, until c-ares closes it */
    bool want_r, want_w;
    bool r_busy, w_busy; /* the op is submitted (its done has not run yet) */
};

struct asock__resolver {
    asock_loop *loop;
    ares_channel channel; /* NULL until first use */
    int init_status;      /* ARES_SUCCESS, or why the channel could not be made */
    const char *init_detail;
    struct asock__timer timer; /* ares_timeout(); unref'd: pending requests hold the loop */
    struct asock__qnode socks; /* struct rsock */
    struct asock__qnode live;  /* struct asock__rlive: requests to abort on teardown */
    bool closing;
    asock_random_fn *rnd;
    void *rnd_user;
    uint64_t rng; /* xorshift64* state of the default source */
    const char *service_slot;
    int socket_errno; /* errno of the last failed socket() c-ares asked for (0: the last worked) */
};

enum ticket_kind {
    TICKET_ADDR,
    TICKET_SRV
};

struct asock__dns_ticket {
    struct asock__task task;
    asock_loop *loop;
    enum ticket_kind kind;

    union {
        asock__dns_addr_fn *addr;
        asock__dns_srv_fn *srv;
    } fn;

    void *owner; /* NULL: abandoned */
    int status;
    struct ares_addrinfo *ai;
    struct ares_srv_reply *srv;
};

/* ---- errors ---- */

asock_socket_error asock__ares_error(int status)
{
    switch (status) {
    case ARES_SUCCESS:
        return ASOCK_SUCCESS;
    case ARES_ENOTFOUND:
    case ARES_EBADNAME:
    case ARES_ENONAME: /* not a name it can resolve: glibc's EAI_NONAME, HostNotFound in .NET */
        return ASOCK_ERR_HOST_NOT_FOUND;
    case ARES_ENODATA:
        return ASOCK_ERR_NO_DATA;
    case ARES_ETIMEOUT:
    case ARES_ESERVFAIL:
    case ARES_ECONNREFUSED:
        return ASOCK_ERR_TRY_AGAIN;
    case ARES_EREFUSED:
    case ARES_EFORMERR:
    case ARES_EBADRESP:
    case ARES_ENOTIMP:
    case ARES_EBADSTR:
    case ARES_EBADQUERY: /* a query the resolver cannot form: permanent */
        return ASOCK_ERR_NO_RECOVERY;
    case ARES_ECANCELLED:
    case ARES_EDESTRUCTION:
        return ASOCK_ERR_OPERATION_ABORTED;
    case ARES_ENOMEM:
        return ASOCK_ERR_NO_BUFFER_SPACE_AVAILABLE;
    case ARES_EBADFAMILY:
        return ASOCK_ERR_ADDRESS_FAMILY_NOT_SUPPORTED;
    case ARES_ESERVICE:
        return ASOCK_ERR_TYPE_NOT_FOUND;
    default:
        return ASOCK_ERR_SOCKET_ERROR;
    }
}

asock_socket_error asock_resolve_error_from_status(int resolver_code)
{
    return asock__ares_error(resolver_code);
}

const char *asock__ares_name(int status)
{
    switch (status) {
    case ARES_SUCCESS:
        return "SUCCESS";
    case ARES_ENODATA:
        return "ENODATA";
    case ARES_EFORMERR:
        return "EFORMERR";
    case ARES_ESERVFAIL:
        return "ESERVFAIL";
    case ARES_ENOTFOUND:
        return "ENOTFOUND";
    case ARES_ENOTIMP:
        return "ENOTIMP";
    case ARES_EREFUSED:
        return "EREFUSED";
    case ARES_EBADQUERY:
        return "EBADQUERY";
    case ARES_EBADNAME:
        return "EBADNAME";
    case ARES_EBADFAMILY:
        return "EBADFAMILY";
    case ARES_EBADRESP:
        return "EBADRESP";
    case ARES_ECONNREFUSED:
        return "ECONNREFUSED";
    case ARES_ETIMEOUT:
        return "ETIMEOUT";
    case ARES_ENOMEM:
        return "ENOMEM";
    case ARES_EDESTRUCTION:
        return "EDESTRUCTION";
    case ARES_EBADSTR:
        return "EBADSTR";
    case ARES_ECANCELLED:
        return "ECANCELLED";
    case ARES_ESERVICE:
        return "ESERVICE";
    default:
        return "error";
    }
}

/* ---- the engine side of c-ares's sockets ---- */

static struct rsock *find_sock(struct asock__resolver *r, ares_socket_t fd)
{
    for (struct asock__qnode *q = r->socks.next; q != &r->socks; q = q->next) {
        struct rsock *rs = asock__container_of(q, struct rsock, node);
        if (rs->io.fd == fd)
            return rs;
    }
    return NULL;
}

static void rearm_timer(struct asock__resolver *r)
{
    if (r->channel == NULL || r->closing) {
        asock__timer_stop(r->loop, &r->timer);
        return;
    }
    struct timeval tv;
    struct timeval *tvp = ares_timeout(r->channel, NULL, &tv);
    if (tvp == NULL) {
        asock__timer_stop(r->loop, &r->timer);
        return;
    }
    uint64_t ms = (uint64_t)tvp->tv_sec * 1000u + ((uint64_t)tvp->tv_usec + 999u) / 1000u;
    if (asock__timer_start(r->loop, &r->timer, ms) != 0) {
        /* No memory for the heap slot: c-ares's own timeouts stall until the next answer.  The
         * requests' own timers (when set) still bound the wait. */
        return;
    }
}

static void on_timer(struct asock__timer *t)
{
    struct asock__resolver *r = asock__container_of(t, struct asock__resolver, timer);
    if (r->channel == NULL)
        return;
    ares_process_fd(r->channel, ARES_SOCKET_BAD, ARES_SOCKET_BAD);
    rearm_timer(r);
}

static void sock_sync(struct rsock *rs);

static void on_poll(struct asock__op *op, bool readable)
{
    struct rsock *rs = readable ? asock__container_of(op, struct rsock, rop)
                                : asock__container_of(op, struct rsock, wop);
    if (readable)
        rs->r_busy = false;
    else
        rs->w_busy = false;
    /* Closed by c-ares meanwhile: the engine is only giving the op back. */
    if (rs->io.closing)
        return;
    struct asock__resolver *r = rs->r;
    if (op->res != -ECANCELED && r->channel != NULL) {
        /* Ready, or an error condition that c-ares discovers by reading / writing. */
        ares_socket_t fd = rs->io.fd;
        ares_process_fd(r->channel, readable ? fd : ARES_SOCKET_BAD,
                        readable ? ARES_SOCKET_BAD : fd);
        rearm_timer(r);
    }
    /* rs may have been handed to asock__engine_close inside ares_process_fd; its memory lives
     * until the closed callback, which runs later from the loop. */
    if (!rs->io.closing)
        sock_sync(rs);
}

static void on_poll_in(struct asock__op *op)
{
    on_poll(op, true);
}

static void on_poll_out(struct asock__op *op)
{
    on_poll(op, false);
}

/* Makes the submitted polls match what c-ares wants. */
static void sock_sync(struct rsock *rs)
{
    asock_loop *loop = rs->r->loop;
    if (rs->want_r && !rs->r_busy) {
        asock__op_prep(&rs->rop, ASOCK__OP_POLL_IN, &rs->io, on_poll_in);
        if (asock__engine_submit(loop, &rs->rop) == 0)
            rs->r_busy = true;
    } else if (!rs->want_r && rs->r_busy) {
        asock__engine_cancel(loop, &rs->rop);
    }
    if (rs->want_w && !rs->w_busy) {
        asock__op_prep(&rs->wop, ASOCK__OP_POLL_OUT, &rs->io, on_poll_out);
        if (asock__engine_submit(loop, &rs->wop) == 0)
            rs->w_busy = true;
    } else if (!rs->want_w && rs->w_busy) {
        asock__engine_cancel(loop, &rs->wop);
    }
    /* A submit that failed (out of memory in the engine) leaves the query to c-ares's timeout
     * and retry, which the resolver timer drives. */
}

static void on_sock_state(void *data, ares_socket_t fd, int readable, int writable)
{
    struct asock__resolver *r = data;
    struct rsock *rs = find_sock(r, fd);
    if (rs == NULL) {
        if (!readable && !writable)
            return;
        rs = asock__calloc(1, sizeof(*rs));
        if (rs == NULL)
            return; /* the query will time out; nothing better to do without memory */
        asock__io_init(&rs->io, fd);
        rs->rop.flags = 0;
        rs->wop.flags = 0;
        rs->r = r;
        asock__q_insert_tail(&r->socks, &rs->node);
    }
    rs->want_r = readable != 0;
    rs->want_w = writable != 0;
    sock_sync(rs);
}

static void on_sock_closed(struct asock__io *io)
{
    struct rsock *rs = asock__container_of(io, struct rsock, io);
    asock__free(rs);
}

static ares_socket_t rs_socket(int domain, int type, int protocol, void *user)
{
    struct asock__resolver *r = user;
    /* c-ares configures nothing on sockets it did not open itself: make them non-blocking and
     * close-on-exec here. */
    int fd = socket(domain, type | SOCK_NONBLOCK | SOCK_CLOEXEC, protocol);
    /* c-ares turns a failed socket() into "server unreachable" (ECONNREFUSED): remember why, so
     * the descriptor limit is reported as such */
    r->socket_errno = fd < 0 ? errno : 0;
    return fd < 0 ? ARES_SOCKET_BAD : fd;
}

asock_socket_error asock__resolver_error(asock_loop *loop, int status, const char **detail)
{
    if (status != ARES_ECONNREFUSED)
        return asock__ares_error(status);
    struct asock__resolver *r = loop->ext[ASOCK__SLOT_RESOLVER].data;
    int err = r != NULL ? r->socket_errno : 0;
    if (err != EMFILE && err != ENFILE) {
        /* c-ares also opens descriptors of its own (the hosts file, its address-sorting
         * probes): see whether one can be had now (a rare, failure-only path) */
        int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
        err = fd < 0 ? errno : 0;
        if (fd >= 0)
            close(fd);
    }
    if (err == EMFILE || err == ENFILE) {
        if (detail != NULL)
            *detail = "c-ares: no socket for the DNS query (too many open files)";
        return ASOCK_ERR_TOO_MANY_OPEN_SOCKETS;
    }
    return asock__ares_error(status);
}

static int rs_close(ares_socket_t fd, void *user)
{
    struct asock__resolver *r = user;
    struct rsock *rs = find_sock(r, fd);
    if (rs == NULL)
        return close(fd);
    asock__q_remove(&rs->node);
    rs->want_r = rs->want_w = false;
    asock__engine_close(r->loop, &rs->io, on_sock_closed);
    return 0;
}

static int rs_connect(ares_socket_t fd, const struct sockaddr *sa, ares_socklen_t len, void *user)
{
    ASOCK__UNUSED(user);
    return connect(fd, sa, len);
}

static ares_ssize_t rs_recvfrom(ares_socket_t fd, void *buf, size_t len, int flags,
                                struct sockaddr *from, ares_socklen_t *fromlen, void *user)
{
    ASOCK__UNUSED(user);
    return recvfrom(fd, buf, len, flags, from, fromlen);
}

static ares_ssize_t rs_sendv(ares_socket_t fd, const struct iovec *iov, int iovcnt, void *user)
{
    ASOCK__UNUSED(user);
    /* sendmsg rather than writev: MSG_NOSIGNAL, so a DNS server closing a TCP connection never
     * raises SIGPIPE in the user's process. */
    struct msghdr msg;
    memset(&msg, 0, sizeof(msg));
    msg.msg_iov = (struct iovec *)(uintptr_t)iov;
    msg.msg_iovlen = iovcnt < 0 ? 0 : (size_t)iovcnt;
    return sendmsg(fd, &msg, MSG_NOSIGNAL);
}

static const struct ares_socket_functions rs_funcs = {
    rs_socket, rs_close, rs_connect, rs_recvfrom, rs_sendv,
};

/* ---- the channel ---- */

static pthread_once_t lib_once = PTHREAD_ONCE_INIT;
static int lib_status = ARES_SUCCESS;

static void lib_init(void)
{
    /* Process-wide, not thread-safe in 1.18: once, and never cleaned up (other loops may be
     * running on other threads). */
    lib_status = ares_library_init(ARES_LIB_INIT_ALL);
}

static int channel_get(struct asock__resolver *r)
{
    if (r->channel != NULL)
        return ARES_SUCCESS;
    if (r->init_status != ARES_SUCCESS)
        return r->init_status;
    pthread_once(&lib_once, lib_init);
    if (lib_status != ARES_SUCCESS) {
        r->init_status = lib_status;
        r->init_detail = "c-ares: ares_library_init failed";
        return lib_status;
    }

    const asock_loop_options *o = &r->loop->opts;
    struct ares_options opts;
    memset(&opts, 0, sizeof(opts));
    int mask = ARES_OPT_SOCK_STATE_CB;
    opts.sock_state_cb = on_sock_state;
    opts.sock_state_cb_data = r;
    if (o->dns_timeout_ms != 0) {
        opts.timeout = o->dns_timeout_ms > INT32_MAX ? INT32_MAX : (int)o->dns_timeout_ms;
        mask |= ARES_OPT_TIMEOUTMS;
    }
    if (o->dns_tries != 0) {
        opts.tries = o->dns_tries > 100 ? 100 : (int)o->dns_tries;
        mask |= ARES_OPT_TRIES;
    }
    /* ARES_FLAG_NOSEARCH is NOT set: a short name is completed with resolv.conf's search list as
     * the system resolver would (its "ndots" rule included).  SRV owner names are sent as they
     * are (ares_query), so the search list never changes an SRV lookup. */
    ares_channel ch = NULL;
    int st = ares_init_options(&ch, &opts, mask);
    if (st != ARES_SUCCESS) {
        r->init_status = st;
        r->init_detail = "c-ares: ares_init_options failed (resolv.conf?)";
        return st;
    }
    ares_set_socket_functions(ch, &rs_funcs, r);
    if (r->loop->dns_servers != NULL) {
        st = ares_set_servers_ports_csv(ch, r->loop->dns_servers);
        if (st != ARES_SUCCESS) {
            ares_destroy(ch);
            r->init_status = st;
            r->init_detail = "c-ares: dns_servers is not a valid \"ip[:port],...\" list";
            return st;
        }
    }
    r->channel = ch;
    return ARES_SUCCESS;
}

/* ---- tickets ---- */

static void ticket_run(struct asock__task *task)
{
    struct asock__dns_ticket *t = asock__container_of(task, struct asock__dns_ticket, task);
    if (t->owner != NULL) {
        if (t->kind == TICKET_ADDR)
            t->fn.addr(t->owner, t->status, t->ai);
        else
            t->fn.srv(t->owner, t->status, t->srv);
    }
    if (t->ai != NULL)
        ares_freeaddrinfo(t->ai);
    if (t->srv != NULL)
        ares_free_data(t->srv);
    asock__free(t);
}

static void ticket_answer(struct asock__dns_ticket *t, int status)
{
    t->status = status;
    asock__loop_defer(t->loop, &t->task);
}

static void on_addrinfo(void *arg, int status, int timeouts, struct ares_addrinfo *res)
{
    ASOCK__UNUSED(timeouts);
    struct asock__dns_ticket *t = arg;
    t->ai = res;
    ticket_answer(t, status);
}

static void on_srv(void *arg, int status, int timeouts, unsigned char *abuf, int alen)
{
    ASOCK__UNUSED(timeouts);
    struct asock__dns_ticket *t = arg;
    if (status == ARES_SUCCESS) {
        struct ares_srv_reply *srv = NULL;
        status = ares_parse_srv_reply(abuf, alen, &srv);
        if (status == ARES_SUCCESS && srv == NULL)
            status = ARES_ENODATA;
        t->srv = srv;
    }
    ticket_answer(t, status);
}

static struct asock__dns_ticket *ticket_new(asock_loop *loop, enum ticket_kind kind, void *owner)
{
    struct asock__dns_ticket *t = asock__calloc(1, sizeof(*t));
    if (t == NULL)
        return NULL;
    asock__task_init(&t->task, ticket_run);
    t->loop = loop;
    t->kind = kind;
    t->owner = owner;
    return t;
}

/* The channel could not be made (or the loop is going away): answer from the loop. */
static bool ticket_fail_early(struct asock__resolver *r, struct asock__dns_ticket *t)
{
    if (r->closing) {
        ticket_answer(t, ARES_EDESTRUCTION);
        return true;
    }
    int st = channel_get(r);
    if (st != ARES_SUCCESS) {
        ticket_answer(t, st);
        return true;
    }
    return false;
}

int asock__dns_addrinfo(asock_loop *loop, const char *name, int family, asock__dns_addr_fn *fn,
                        void *owner, struct asock__dns_ticket **out)
{
    struct asock__resolver *r = asock__resolver_get(loop);
    if (r == NULL)
        return -ENOMEM;
    struct asock__dns_ticket *t = ticket_new(loop, TICKET_ADDR, owner);
    if (t == NULL)
        return -ENOMEM;
    t->fn.addr = fn;
    *out = t;
    if (ticket_fail_early(r, t))
        return 0;
    struct ares_addrinfo_hints hints;
    memset(&hints, 0, sizeof(hints));
    hints.ai_family = family;
    /* No service: c-ares would look it up as "tcp" only; services are ours (services.c). */
    ares_getaddrinfo(r->channel, name, NULL, &hints, on_addrinfo, t);
    rearm_timer(r);
    return 0;
}

int asock__dns_srv(asock_loop *loop, const char *qname, asock__dns_srv_fn *fn, void *owner,
                   struct asock__dns_ticket **out)
{
    struct asock__resolver *r = asock__resolver_get(loop);
    if (r == NULL)
        return -ENOMEM;
    struct asock__dns_ticket *t = ticket_new(loop, TICKET_SRV, owner);
    if (t == NULL)
        return -ENOMEM;
    t->fn.srv = fn;
    *out = t;
    if (ticket_fail_early(r, t))
        return 0;
    ares_query(r->channel, qname, ns_c_in, ns_t_srv, on_srv, t);
    rearm_timer(r);
    return 0;
}

void asock__dns_abandon(struct asock__dns_ticket *t)
{
    if (t != NULL)
        t->owner = NULL;
}

/* ---- the loop slot ---- */

static void resolver_shutdown(asock_loop *loop, void *data)
{
    ASOCK__UNUSED(loop);
    struct asock__resolver *r = data;
    r->closing = true;
    /* Abort every request first: they complete with OPERATION_ABORTED from the loop and let go
     * of their sockets before the socket layer closes what is left. */
    while (!asock__q_empty(&r->live)) {
        struct asock__qnode *q = asock__q_head(&r->live);
        asock__q_remove(q);
        struct asock__rlive *l = asock__container_of(q, struct asock__rlive, node);
        l->abort(l);
    }
    asock__timer_stop(r->loop, &r->timer);
    if (r->channel != NULL) {
        /* Not inside a c-ares callback: the teardown hook runs from asock_loop_free.  Every
         * outstanding query calls back with ARES_EDESTRUCTION (tickets queue their tasks) and
         * every socket goes through rs_close (asock__engine_close). */
        ares_channel ch = r->channel;
        r->channel = NULL;
        ares_destroy(ch);
    }
}

static void resolver_destroy(asock_loop *loop, void *data)
{
    loop->ext[ASOCK__SLOT_RESOLVER].data = NULL;
    asock__free(data);
}

static uint64_t seed(void)
{
    uint64_t s = 0;
    if (getrandom(&s, sizeof(s), GRND_NONBLOCK) != (ssize_t)sizeof(s) || s == 0)
        s = asock__hrtime_ms() ^ 0x9e3779b97f4a7c15u ^ (uint64_t)(uintptr_t)&s;
    return s != 0 ? s : 1;
}

struct asock__resolver *asock__resolver_get(asock_loop *loop)
{
    struct asock__loop_ext *ext = &loop->ext[ASOCK__SLOT_RESOLVER];
    if (ext->data != NULL)
        return ext->data;
    struct asock__resolver *r = asock__calloc(1, sizeof(*r));
    if (r == NULL)
        return NULL;
    r->loop = loop;
    r->init_status = ARES_SUCCESS;
    asock__timer_init(&r->timer, on_timer);
    r->timer.unref = 1;
    asock__q_init(&r->socks);
    asock__q_init(&r->live);
    r->rng = seed();
    ext->data = r;
    ext->shutdown = resolver_shutdown;
    ext->destroy = resolver_destroy;
    return r;
}

bool asock__resolver_closing(const struct asock__resolver *r)
{
    return r->closing || r->loop->freeing;
}

void asock__resolver_track(struct asock__resolver *r, struct asock__rlive *l)
{
    asock__q_insert_tail(&r->live, &l->node);
}

void asock__resolver_untrack(struct asock__rlive *l)
{
    asock__q_remove(&l->node);
}

const char **asock__resolver_service_slot(struct asock__resolver *r)
{
    return &r->service_slot;
}

uint32_t asock__resolver_random(struct asock__resolver *r)
{
    if (r->rnd != NULL)
        return r->rnd(r->rnd_user);
    /* xorshift64* (Vigna): fine for load spreading, not for secrets. */
    uint64_t x = r->rng;
    x ^= x >> 12;
    x ^= x << 25;
    x ^= x >> 27;
    r->rng = x;
    return (uint32_t)((x * 0x2545f4914f6cdd1du) >> 32);
}

int asock_resolve_set_random(asock_loop *loop, asock_random_fn *fn, void *user)
{
    if (loop == NULL)
        return -EINVAL;
    struct asock__resolver *r = asock__resolver_get(loop);
    if (r == NULL)
        return -ENOMEM;
    r->rnd = fn;
    r->rnd_user = fn != NULL ? user : NULL;
    return 0;
}

const char *asock__resolver_init_detail(asock_loop *loop)
{
    struct asock__resolver *r = loop->ext[ASOCK__SLOT_RESOLVER].data;
    return r != NULL ? r->init_detail : NULL;
}
