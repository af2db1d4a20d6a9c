/* The io_uring engine: every operation becomes one SQE (two for a timed one), its CQE is the
 * completion.  See engine.h for the contract.
 *
 * user_data of an SQE:
 *   op pointer          the operation itself (low bits 0; ops are pointer-aligned)
 *   timed pointer | 1   the IORING_OP_LINK_TIMEOUT linked behind a timed op
 *   2                   an internal ASYNC_CANCEL (its CQE, if any, is ignored)
 *
 * Batching: submit and cancel only write SQEs; poll hands them to the kernel with the wait, one
 * io_uring_enter per loop iteration.  Only a full SQ makes submit/cancel enter the kernel early.
 *
 * Thread binding: with IORING_SETUP_SINGLE_ISSUER (6.0) only one task may submit.  The ring is
 * created disabled (IORING_SETUP_R_DISABLED: 5.10) and enabled by the first io_uring_enter, so a
 * loop may be created on one thread and run on another; from then on the loop is bound to the
 * thread that first ran it (and must also be freed there): io_uring_enter from any other thread
 * fails with -EEXIST.
 *
 * Forcing features off for tests (this machine's kernel has them all): env ASOCK_URING_DISABLE, a
 * comma list of
 *   single_issuer  no IORING_SETUP_SINGLE_ISSUER (also turns defer_taskrun off)
 *   defer_taskrun  no IORING_SETUP_DEFER_TASKRUN
 *   coop_taskrun   no IORING_SETUP_COOP_TASKRUN
 *   link_timeout   connect deadlines on a loop timer instead of IORING_OP_LINK_TIMEOUT
 *   cancel_fd      cancel a closing descriptor's ops one by one, not IORING_ASYNC_CANCEL_FD|ALL
 *   cqe_skip       post the CQEs of internal cancels too (no IOSQE_CQE_SKIP_SUCCESS)
 *   submit_all     no IORING_SETUP_SUBMIT_ALL
 *   accept_multishot  no IORING_ACCEPT_MULTISHOT: accept4 on readiness (POLL_ADD)
 *   recv_multishot    no IORING_RECV_MULTISHOT: reads on readiness into the pool
 *   buf_ring       no provided buffer ring (and so no multishot receive, which needs one)
 *   multishot      accept_multishot and recv_multishot
 *   poll_first     no IORING_RECVSEND_POLL_FIRST on receives known to find nothing yet
 *   all            every one of the above
 * Unknown names are ignored.
 *
 * Multishot operations (engine.h).  With the features, ACCEPT_MULTI is one accept SQE with
 * IORING_ACCEPT_MULTISHOT (5.19), RECV_MULTI / RECVMSG_MULTI one recv / recvmsg SQE with
 * IORING_RECV_MULTISHOT (6.0) and IOSQE_BUFFER_SELECT from the loop's provided buffer ring
 * (IORING_REGISTER_PBUF_RING, 5.19; liburing 2.3 has no io_uring_setup_buf_ring, so the ring is
 * mapped and registered here by hand).  Every CQE with IORING_CQE_F_MORE is a delivery; the
 * buffer id rides in the CQE flags (IORING_CQE_F_BUFFER) and the buffer goes back to the ring
 * after the delivery.  A CQE without F_MORE ends the kernel's request: with data (the kernel
 * stops a multishot, e.g. when its CQ overflowed) or -ENOBUFS (the ring ran dry: the data stays
 * in the socket) the engine arms it again at once, or once a buffer is back; the user never
 * sees -ENOBUFS.  A multishot op whose kernel request is over and not re-armed (waiting for a
 * buffer, or for an SQE) sits on `parked`, re-armed by the next poll.
 * Without a feature (old kernel, ASOCK_URING_DISABLE) the op is a POLL_ADD(POLLIN) and the
 * readiness path of multi.c performs the calls (accept4, recv, recvmmsg into the pool), then
 * the POLL_ADD is armed again.  The kernel version gates are probed through opcodes that came
 * with the same release (IORING_OP_SOCKET: 5.19, IORING_OP_SEND_ZC: 6.0) and by registering
 * the ring; and an -EINVAL from the first multishot SQE of a kind (a kernel without the flag)
 * turns that feature off for the loop and re-arms the op on the readiness path.
 * ASOCK_URING_TEST_EINVAL=accept,recv (tests only) sets an unknown flag bit on those SQEs so
 * the kernel really answers -EINVAL.
 */
#include "engine.h"

#include <limits.h>
#include <poll.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <unistd.h>

#include <liburing.h>

#include "uring_compat.h"

#define URING_SQ_ENTRIES 256u
#define URING_CQ_ENTRIES (4u * URING_SQ_ENTRIES)

#define URING_TAG_MASK  UINT64_C(7)
#define URING_TAG_OP    UINT64_C(0)
#define URING_TAG_LINK  UINT64_C(1)
#define URING_UD_CANCEL UINT64_C(2)

/* Engine-private op flags.  LINKED: a LINK_TIMEOUT is attached and its CQE is still due.
 * REAPED: the op's own CQE came first; its result waits in op->res. */
#define URING_OPF_LINKED  ASOCK__OPF_ENGINE1
#define URING_OPF_REAPED  ASOCK__OPF_ENGINE2
#define URING_OPF_PRIVATE (ASOCK__OPF_QUEUED | URING_OPF_LINKED | URING_OPF_REAPED)

/* Feature bits (ASOCK_URING_DISABLE names, and what asock__uring_features reports). */
#define URING_F_SINGLE_ISSUER 0x01u
#define URING_F_DEFER_TASKRUN 0x02u
#define URING_F_COOP_TASKRUN  0x04u
#define URING_F_LINK_TIMEOUT  0x08u
#define URING_F_CANCEL_FD     0x10u
#define URING_F_CQE_SKIP      0x20u
#define URING_F_SUBMIT_ALL    0x40u
#define URING_F_ACCEPT_MULTI  0x80u
#define URING_F_RECV_MULTI    0x100u
#define URING_F_BUF_RING      0x200u
#define URING_F_POLL_FIRST    0x400u
#define URING_F_ALL           0x7ffu

/* op->eflags of a multishot op */
#define URING_M_KERNEL 0x1u /* a request (multishot SQE or POLL_ADD) is in the kernel */
#define URING_M_POLL   0x2u /* that request is a POLL_ADD: the readiness path */
#define URING_M_PARKED 0x4u /* on u->parked (io->enode): to be armed by the next poll */
/* op->eflags of a one-shot receive: it waits, with no SQE, behind the receive of its io that is
 * in the kernel.  The kernel does not promise in which order several receives waiting on one
 * socket get the data, so only one per socket is in the ring: they complete in FIFO order. */
#define URING_W_HELD 0x8u

#define URING_MULTI_BUDGET 256u    /* deliveries per readiness turn */
#define URING_BGID         0       /* the buffer group of the loop's ring */
#define URING_TEST_FLAG    0x8000u /* an SQE ioprio bit no kernel knows (ASOCK_URING_TEST_EINVAL) */

struct uring {
    struct io_uring ring;
    unsigned features;   /* URING_F_* in use */
    bool disabled;       /* created with IORING_SETUP_R_DISABLED and not enabled yet */
    unsigned sq_entries; /* ring.sq.ring_entries */
    /* Ops whose ASYNC_CANCEL could not get an SQE (the SQ was full and could not be flushed):
     * poll issues them first. */
    struct asock__qnode cancels;
    /* The LINK_TIMEOUT's timespec, one per SQ slot: the kernel reads it when it consumes the
     * SQE, and a slot is reused only after that. */
    struct __kernel_timespec *ts;
    /* multishot operations */
    struct asock__bufpool pool;   /* the loop's receive buffers (made at the first receive) */
    struct io_uring_buf_ring *br; /* the provided buffer ring holding them, or NULL (readiness) */
    size_t br_bytes;              /* its mapping's length */
    unsigned br_entries;          /* a power of two >= pool.count */
    unsigned br_avail;            /* buffers in the ring now */
    struct msghdr mshdr;          /* the multishot recvmsg template: room for a sockaddr_in6 */
    struct asock__qnode parked;   /* ios whose multishot op waits to be armed (io->enode) */
    unsigned test_einval;         /* URING_F_ACCEPT_MULTI / RECV_MULTI: force an -EINVAL */
    unsigned multi_seen;          /* URING_F_*_MULTI that have delivered on this ring */
};

_Static_assert(sizeof(struct io_uring_recvmsg_out) == ASOCK__DGRAM_NAME_OFF,
               "the pool's datagram layout follows struct io_uring_recvmsg_out");

/* ------------------------------------------------------------------------------------------ */
/* probe and feature selection */

struct uring_need {
    uint8_t opcode;
    const char *reason;
};

/* The opcodes the engine uses (kernel versions: POLL_ADD 5.1, ASYNC_CANCEL/TIMEOUT/ACCEPT/
 * LINK_TIMEOUT 5.5, SENDMSG/RECVMSG 5.3, SEND/RECV 5.6). */
static const struct uring_need uring_needs[] = {
    {IORING_OP_POLL_ADD, "io_uring lacks opcode POLL_ADD"},
    {IORING_OP_ASYNC_CANCEL, "io_uring lacks opcode ASYNC_CANCEL"},
    {IORING_OP_ACCEPT, "io_uring lacks opcode ACCEPT"},
    {IORING_OP_SEND, "io_uring lacks opcode SEND"},
    {IORING_OP_RECV, "io_uring lacks opcode RECV"},
    {IORING_OP_SENDMSG, "io_uring lacks opcode SENDMSG"},
    {IORING_OP_RECVMSG, "io_uring lacks opcode RECVMSG"},
    {IORING_OP_LINK_TIMEOUT, "io_uring lacks opcode LINK_TIMEOUT"},
    {IORING_OP_TIMEOUT, "io_uring lacks opcode TIMEOUT"},
    {IORING_OP_CONNECT, "io_uring lacks opcode CONNECT"},
    {IORING_OP_CLOSE, "io_uring lacks opcode CLOSE"},
};

#define URING_PROBE_OPS 256u

/* Room for struct io_uring_probe and its ops[] (filled by IORING_REGISTER_PROBE: 5.6). */
struct uring_probe_buf {
    _Alignas(struct io_uring_probe) unsigned char raw[sizeof(struct io_uring_probe) +
                                                      URING_PROBE_OPS *
                                                          sizeof(struct io_uring_probe_op)];
};

static struct io_uring_probe *uring_probe_get(struct io_uring *ring, struct uring_probe_buf *buf)
{
    memset(buf, 0, sizeof(*buf));
    struct io_uring_probe *p = (struct io_uring_probe *)(void *)buf->raw;
    if (io_uring_register_probe(ring, p, URING_PROBE_OPS) < 0)
        return NULL;
    return p;
}

static const char *uring_init_reason(int err)
{
    switch (err) {
    case -EPERM:
        return "io_uring_queue_init: Operation not permitted";
    case -ENOSYS:
        return "io_uring_queue_init: Function not implemented";
    case -ENOMEM:
        return "io_uring_queue_init: Cannot allocate memory";
    case -EMFILE:
        return "io_uring_queue_init: Too many open files";
    case -ENFILE:
        return "io_uring_queue_init: Too many open files in system";
    case -EINVAL:
        return "io_uring_queue_init: Invalid argument";
    default:
        return "io_uring_queue_init failed";
    }
}

static bool uring_env_set(const char *name)
{
    const char *v = getenv(name);
    return v != NULL && v[0] != '\0' && strcmp(v, "0") != 0;
}

int asock__uring_probe(const char **reason)
{
    const char *why = "io_uring";
    int rc = 0;
    if (uring_env_set("ASOCK_URING_UNAVAILABLE")) {
        why = "ASOCK_URING_UNAVAILABLE is set";
        rc = -ENOSYS;
        goto out;
    }
    struct io_uring ring;
    struct io_uring_params params;
    memset(&params, 0, sizeof(params));
    rc = io_uring_queue_init_params(4, &ring, &params);
    if (rc < 0) {
        why = uring_init_reason(rc);
        goto out;
    }
    if (!(params.features & IORING_FEAT_NODROP)) { /* 5.5 */
        why = "io_uring lacks IORING_FEAT_NODROP";
        rc = -ENOSYS;
        goto out_exit;
    }
    struct uring_probe_buf buf;
    struct io_uring_probe *p = uring_probe_get(&ring, &buf);
    if (p == NULL) { /* IORING_REGISTER_PROBE: 5.6 */
        why = "io_uring lacks IORING_REGISTER_PROBE";
        rc = -ENOSYS;
        goto out_exit;
    }
    for (size_t i = 0; i < ASOCK__ARRAY_SIZE(uring_needs); i++) {
        if (!io_uring_opcode_supported(p, uring_needs[i].opcode)) {
            why = uring_needs[i].reason;
            rc = -ENOSYS;
            break;
        }
    }
out_exit:
    io_uring_queue_exit(&ring);
out:
    if (reason != NULL)
        *reason = why;
    return rc;
}

/* ASOCK_URING_TEST_EINVAL: the multishot SQEs to make invalid (tests of the -EINVAL fallback). */
static unsigned uring_env_test_einval(void)
{
    const char *s = getenv("ASOCK_URING_TEST_EINVAL");
    unsigned bits = 0;
    if (s != NULL && strstr(s, "accept") != NULL)
        bits |= URING_F_ACCEPT_MULTI;
    if (s != NULL && strstr(s, "recv") != NULL)
        bits |= URING_F_RECV_MULTI;
    return bits;
}

/* ASOCK_URING_DISABLE: the URING_F_* bits to force off. */
static unsigned uring_env_disabled(void)
{
    static const struct {
        const char *name;
        unsigned bits;
    } names[] = {
        {"single_issuer", URING_F_SINGLE_ISSUER | URING_F_DEFER_TASKRUN},
        {"defer_taskrun", URING_F_DEFER_TASKRUN},
        {"coop_taskrun", URING_F_COOP_TASKRUN},
        {"link_timeout", URING_F_LINK_TIMEOUT},
        {"cancel_fd", URING_F_CANCEL_FD},
        {"cqe_skip", URING_F_CQE_SKIP},
        {"submit_all", URING_F_SUBMIT_ALL},
        {"accept_multishot", URING_F_ACCEPT_MULTI},
        {"recv_multishot", URING_F_RECV_MULTI},
        {"buf_ring", URING_F_BUF_RING | URING_F_RECV_MULTI},
        {"multishot", URING_F_ACCEPT_MULTI | URING_F_RECV_MULTI},
        {"poll_first", URING_F_POLL_FIRST},
        {"all", URING_F_ALL},
    };

    const char *s = getenv("ASOCK_URING_DISABLE");
    unsigned off = 0;
    while (s != NULL && *s != '\0') {
        size_t len = strcspn(s, ",");
        for (size_t i = 0; i < ASOCK__ARRAY_SIZE(names); i++) {
            if (strlen(names[i].name) == len && memcmp(names[i].name, s, len) == 0)
                off |= names[i].bits;
        }
        s += len;
        if (*s == ',')
            s++;
    }
    return off;
}

/* Creates the ring with the best setup flags the kernel accepts, falling back on -EINVAL:
 * SINGLE_ISSUER|DEFER_TASKRUN (6.0/6.1), then COOP_TASKRUN (5.19), then none; each with and
 * without SUBMIT_ALL (5.18). */
static int uring_setup(struct uring *u, unsigned off)
{
    unsigned cand[3];
    size_t n = 0;
    if (!(off & URING_F_SINGLE_ISSUER)) {
        unsigned f = IORING_SETUP_SINGLE_ISSUER | IORING_SETUP_R_DISABLED;
        if (!(off & URING_F_DEFER_TASKRUN))
            f |= IORING_SETUP_DEFER_TASKRUN;
        else if (!(off & URING_F_COOP_TASKRUN))
            f |= IORING_SETUP_COOP_TASKRUN;
        cand[n++] = f;
    }
    if (!(off & URING_F_COOP_TASKRUN))
        cand[n++] = IORING_SETUP_COOP_TASKRUN;
    cand[n++] = 0;

    int rc = -EINVAL;
    for (size_t i = 0; i < n; i++) {
        for (int all = (off & URING_F_SUBMIT_ALL) ? 1 : 0; all < 2; all++) {
            struct io_uring_params params;
            memset(&params, 0, sizeof(params));
            params.flags = cand[i] | IORING_SETUP_CQSIZE | IORING_SETUP_CLAMP; /* 5.5, 5.6 */
            if (all == 0)
                params.flags |= IORING_SETUP_SUBMIT_ALL;
            params.cq_entries = URING_CQ_ENTRIES;
            rc = io_uring_queue_init_params(URING_SQ_ENTRIES, &u->ring, &params);
            if (rc == 0) {
                unsigned fl = params.flags;
                if (fl & IORING_SETUP_SINGLE_ISSUER)
                    u->features |= URING_F_SINGLE_ISSUER;
                if (fl & IORING_SETUP_DEFER_TASKRUN)
                    u->features |= URING_F_DEFER_TASKRUN;
                if (fl & IORING_SETUP_COOP_TASKRUN)
                    u->features |= URING_F_COOP_TASKRUN;
                if (fl & IORING_SETUP_SUBMIT_ALL)
                    u->features |= URING_F_SUBMIT_ALL;
                if ((params.features & IORING_FEAT_CQE_SKIP) && !(off & URING_F_CQE_SKIP))
                    u->features |= URING_F_CQE_SKIP; /* 5.17 */
                u->disabled = (fl & IORING_SETUP_R_DISABLED) != 0;
                return 0;
            }
            if (rc != -EINVAL)
                return rc;
        }
    }
    return rc;
}

static int uring_init(asock_loop *loop)
{
    int prc = asock__bufpool_check(&loop->opts);
    if (prc < 0)
        return prc;
    struct uring *u = asock__calloc(1, sizeof(*u));
    if (u == NULL)
        return -ENOMEM;
    unsigned off = uring_env_disabled();
    int rc = uring_setup(u, off);
    if (rc < 0)
        goto out_free;
    u->sq_entries = u->ring.sq.ring_entries;
    u->ts = asock__calloc(u->sq_entries, sizeof(*u->ts));
    if (u->ts == NULL) {
        rc = -ENOMEM;
        goto out_exit;
    }
    struct uring_probe_buf buf;
    struct io_uring_probe *p = uring_probe_get(&u->ring, &buf);
    if (p != NULL) {
        if (!(off & URING_F_LINK_TIMEOUT) && io_uring_opcode_supported(p, IORING_OP_LINK_TIMEOUT))
            u->features |= URING_F_LINK_TIMEOUT;
        /* IORING_ASYNC_CANCEL_FD|ALL came in 5.19 with IORING_OP_SOCKET, which the probe can
         * see (a cancel flag cannot be probed). */
        if (!(off & URING_F_CANCEL_FD) && io_uring_opcode_supported(p, IORING_OP_SOCKET))
            u->features |= URING_F_CANCEL_FD;
        /* Multishot accept and provided buffer rings: 5.19, as IORING_OP_SOCKET; multishot
         * recv/recvmsg: 6.0, as IORING_OP_SEND_ZC.  The ring's registration and the first
         * multishot SQEs confirm them (see the header). */
        bool k519 = io_uring_opcode_supported(p, IORING_OP_SOCKET);
        bool k60 = io_uring_opcode_supported(p, IORING_OP_SEND_ZC);
        if (!(off & URING_F_ACCEPT_MULTI) && k519)
            u->features |= URING_F_ACCEPT_MULTI;
        if (!(off & URING_F_BUF_RING) && k519)
            u->features |= URING_F_BUF_RING;
        /* IORING_RECVSEND_POLL_FIRST: 5.19 */
        if (!(off & URING_F_POLL_FIRST) && k519)
            u->features |= URING_F_POLL_FIRST;
        if (!(off & URING_F_RECV_MULTI) && k60 && (u->features & URING_F_BUF_RING))
            u->features |= URING_F_RECV_MULTI;
    }
    u->test_einval = uring_env_test_einval();
    u->mshdr.msg_namelen = ASOCK__DGRAM_NAME_LEN;
    asock__q_init(&u->parked);
    asock__q_init(&u->cancels);
    loop->engine_data = u;
    return 0;

out_exit:
    io_uring_queue_exit(&u->ring);
out_free:
    asock__free(u);
    return rc;
}

static int uring_flush(struct uring *u);

static void uring_destroy(asock_loop *loop)
{
    struct uring *u = loop->engine_data;
    if (u == NULL)
        return;
    /* queued closes must happen: their descriptors are no one's any more */
    if (io_uring_sq_ready(&u->ring) != 0)
        uring_flush(u);
    io_uring_queue_exit(&u->ring); /* also drops the buffer ring's registration */
    if (u->br != NULL)
        munmap(u->br, u->br_bytes);
    asock__bufpool_destroy(&u->pool);
    asock__free(u->ts);
    asock__free(u);
    loop->engine_data = NULL;
}

/* For tests: the URING_F_* features the loop's ring uses. */
ASOCK__HIDDEN unsigned asock__uring_features(const asock_loop *loop);

unsigned asock__uring_features(const asock_loop *loop)
{
    if (loop == NULL || loop->engine != &asock__uring_engine || loop->engine_data == NULL)
        return 0;
    const struct uring *u = loop->engine_data;
    return u->features;
}

/* ------------------------------------------------------------------------------------------ */
/* SQEs */

/* Enables a ring created with IORING_SETUP_R_DISABLED (IORING_REGISTER_ENABLE_RINGS: 5.10): with
 * SINGLE_ISSUER the calling thread becomes the ring's only submitter. */
static int uring_enable(struct uring *u)
{
    if (!u->disabled)
        return 0;
    int rc = asock__uring_enable_rings(&u->ring);
    if (rc < 0)
        return rc;
    u->disabled = false;
    return 0;
}

/* Hands the queued SQEs to the kernel without waiting (only when the SQ is full). */
static int uring_flush(struct uring *u)
{
    int rc = uring_enable(u);
    if (rc < 0)
        return rc;
    do {
        rc = io_uring_submit(&u->ring);
    } while (rc == -EINTR);
    return rc < 0 ? rc : 0;
}

/* An SQE, with at least n - 1 more free behind it (a linked pair must go in one submission). */
static struct io_uring_sqe *uring_sqe(struct uring *u, unsigned n)
{
    if (io_uring_sq_space_left(&u->ring) < n) {
        if (uring_flush(u) < 0 || io_uring_sq_space_left(&u->ring) < n)
            return NULL;
    }
    return io_uring_get_sqe(&u->ring);
}

static bool uring_is_read(const struct asock__op *op)
{
    return asock__op_kind_read(op->kind);
}

static unsigned uring_len(size_t len)
{
    return len > (size_t)INT_MAX ? (unsigned)INT_MAX : (unsigned)len;
}

/* ------------------------------------------------------------------------------------------ */
/* multishot operations (see the header) */

static void uring_finish(asock_loop *loop, struct uring *u, struct asock__op *op, int res);

/* Maps and registers the provided buffer ring (IORING_REGISTER_PBUF_RING: 5.19) and puts every
 * pool buffer in it: what liburing 2.4's io_uring_setup_buf_ring does. */
static int uring_ring_setup(struct uring *u)
{
    unsigned entries = 1;
    while (entries < u->pool.count)
        entries <<= 1;
    long page = sysconf(_SC_PAGESIZE);
    size_t psz = page > 0 ? (size_t)page : 4096u;
    size_t bytes = (size_t)entries * sizeof(struct io_uring_buf);
    bytes = (bytes + psz - 1u) & ~(psz - 1u);
    void *mem = mmap(NULL, bytes, PROT_READ | PROT_WRITE, MAP_ANONYMOUS | MAP_PRIVATE, -1, 0);
    if (mem == MAP_FAILED)
        return -errno;
    struct io_uring_buf_reg reg;
    memset(&reg, 0, sizeof(reg));
    reg.ring_addr = (uint64_t)(uintptr_t)mem;
    reg.ring_entries = entries;
    reg.bgid = URING_BGID;
    int rc = io_uring_register_buf_ring(&u->ring, &reg, 0);
    if (rc < 0) {
        munmap(mem, bytes);
        return rc;
    }
    u->br = mem;
    u->br_bytes = bytes;
    u->br_entries = entries;
    io_uring_buf_ring_init(u->br);
    int mask = io_uring_buf_ring_mask(entries);
    for (unsigned i = 0; i < u->pool.count; i++)
        io_uring_buf_ring_add(u->br, asock__bufpool_addr(&u->pool, i), u->pool.size,
                              (unsigned short)i, mask, (int)i);
    io_uring_buf_ring_advance(u->br, (int)u->pool.count);
    u->br_avail = u->pool.count;
    u->pool.nfree = 0; /* every buffer is the kernel's to pick */
    return 0;
}

/* Back to the readiness path (multishot recv refused by the kernel): the ring goes away and its
 * buffers become the engine's.  Only done before the ring ever delivered, so every buffer is in
 * the ring. */
static void uring_ring_drop(struct uring *u)
{
    io_uring_unregister_buf_ring(&u->ring, URING_BGID);
    munmap(u->br, u->br_bytes);
    u->br = NULL;
    u->br_avail = 0;
    for (uint32_t i = 0; i < u->pool.count; i++)
        u->pool.free[i] = (uint16_t)(u->pool.count - 1u - i);
    u->pool.nfree = u->pool.count;
}

/* The pool, made at the first multishot receive, in the ring when multishot recv is on. */
static int uring_pool_ready(asock_loop *loop, struct uring *u)
{
    if (u->pool.base != NULL)
        return 0;
    int rc = asock__bufpool_create(&u->pool, &loop->opts);
    if (rc < 0)
        return rc;
    if ((u->features & URING_F_RECV_MULTI) && uring_ring_setup(u) < 0)
        u->features &= ~(URING_F_RECV_MULTI | URING_F_BUF_RING); /* a kernel before 5.19 */
    return 0;
}

/* A buffer the kernel picked goes back to the ring. */
static void uring_buf_return(struct uring *u, unsigned bid)
{
    if (u->br == NULL || bid >= u->pool.count)
        return; /* (the ring was dropped: uring_ring_drop gave every buffer to the engine) */
    io_uring_buf_ring_add(u->br, asock__bufpool_addr(&u->pool, bid), u->pool.size,
                          (unsigned short)bid, io_uring_buf_ring_mask(u->br_entries), 0);
    io_uring_buf_ring_advance(u->br, 1);
    u->br_avail++;
}

/* Writes the SQE of op's next kernel request: the multishot one, or a POLL_ADD for the
 * readiness path.  false: no SQE now. */
static bool uring_multi_arm(struct uring *u, struct asock__op *op)
{
    struct io_uring_sqe *sqe = uring_sqe(u, 1);
    if (sqe == NULL)
        return false;
    int fd = op->io->fd;
    bool native;
    if (op->kind == ASOCK__OP_ACCEPT_MULTI) {
        native = (u->features & URING_F_ACCEPT_MULTI) != 0;
        if (native) {
            io_uring_prep_multishot_accept(sqe, fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
            if (u->test_einval & URING_F_ACCEPT_MULTI)
                sqe->ioprio |= URING_TEST_FLAG;
        }
    } else {
        native = u->br != NULL; /* the ring exists only while multishot recv is on */
        if (native) {
            if (op->kind == ASOCK__OP_RECV_MULTI)
                io_uring_prep_recv_multishot(sqe, fd, NULL, 0, 0);
            else
                io_uring_prep_recvmsg_multishot(sqe, fd, &u->mshdr, 0);
            io_uring_sqe_set_flags(sqe, IOSQE_BUFFER_SELECT);
            sqe->buf_group = URING_BGID;
            if (u->test_einval & URING_F_RECV_MULTI)
                sqe->ioprio |= URING_TEST_FLAG;
        }
    }
    if (!native)
        io_uring_prep_poll_add(sqe, fd, POLLIN);
    io_uring_sqe_set_data64(sqe, (uint64_t)(uintptr_t)op | URING_TAG_OP);
    op->eflags = (uint16_t)((op->eflags & ~(URING_M_POLL | URING_M_PARKED)) | URING_M_KERNEL |
                            (native ? 0u : URING_M_POLL));
    return true;
}

static void uring_multi_park(struct uring *u, struct asock__op *op)
{
    asock__q_remove(&op->io->enode);
    asock__q_insert_tail(&u->parked, &op->io->enode);
    op->eflags |= URING_M_PARKED;
}

/* Arms op again, or parks it until a buffer (a receive) or an SQE is there. */
static void uring_multi_rearm(struct uring *u, struct asock__op *op)
{
    bool bufs =
        op->kind == ASOCK__OP_ACCEPT_MULTI || (u->br != NULL ? u->br_avail > 0 : u->pool.nfree > 0);
    if (!bufs || !uring_multi_arm(u, op))
        uring_multi_park(u, op);
}

static int uring_multi_submit(asock_loop *loop, struct uring *u, struct asock__op *op)
{
    if (op->kind != ASOCK__OP_ACCEPT_MULTI) {
        int rc = uring_pool_ready(loop, u);
        if (rc < 0)
            return rc;
    }
    op->flags &=
        (uint8_t) ~(URING_OPF_PRIVATE | ASOCK__OPF_CANCELED | ASOCK__OPF_MORE | ASOCK__OPF_TRIED);
    op->flags |= ASOCK__OPF_SUBMITTED | ASOCK__OPF_QUEUED;
    op->eflags = 0;
    op->res = 0;
    asock__q_insert_tail(&op->io->rq, &op->node);
    op->io->inflight++;
    uring_multi_rearm(u, op);
    return 0;
}

static bool uring_queue_cancel(struct uring *u, struct asock__op *op);

/* Cancel of a multishot op (CANCELED is set): the kernel's request is canceled, or, when there
 * is none (parked, or between two requests), the op ends from the loop. */
static void uring_multi_cancel(asock_loop *loop, struct uring *u, struct asock__op *op)
{
    if (op->eflags & URING_M_KERNEL) {
        if (!uring_queue_cancel(u, op)) {
            asock__q_remove(&op->node);
            asock__q_insert_tail(&u->cancels, &op->node);
        }
        return;
    }
    asock__q_remove(&op->io->enode);
    asock__q_remove(&op->node);
    op->eflags = 0;
    op->flags &= (uint8_t)~URING_OPF_PRIVATE;
    op->res = -ECANCELED;
    asock__loop_defer_op(loop, op);
}

/* The POLL_ADD of the readiness path completed (res: the mask or -errno): perform the calls. */
static int uring_multi_ready(asock_loop *loop, struct uring *u, struct asock__op *op, int res)
{
    if (res < 0) {
        uring_finish(loop, u, op, res);
        return 1;
    }
    int final = 0;
    switch (asock__multi_perform(loop, &u->pool, op, URING_MULTI_BUDGET, &final)) {
    case ASOCK__MULTI_AGAIN:
    case ASOCK__MULTI_BUDGET: /* a POLL_ADD on a readable socket completes at once */
        uring_multi_rearm(u, op);
        return 0;
    case ASOCK__MULTI_NOBUF:
        uring_multi_park(u, op);
        return 0;
    case ASOCK__MULTI_FINAL:
        uring_finish(loop, u, op, final);
        return 1;
    case ASOCK__MULTI_CANCELED:
        break;
    }
    return 0;
}

/* A multishot op's CQE.  Returns 1 if it was the op's last completion. */
static int uring_multi_cqe(asock_loop *loop, struct uring *u, struct asock__op *op, int res,
                           unsigned cflags)
{
    bool more = (cflags & IORING_CQE_F_MORE) != 0;
    bool has_buf = (cflags & IORING_CQE_F_BUFFER) != 0;
    unsigned bid = cflags >> IORING_CQE_BUFFER_SHIFT;
    if (has_buf && u->br_avail > 0)
        u->br_avail--;
    if (!more)
        op->eflags &= (uint16_t)~URING_M_KERNEL;
    bool poll = (op->eflags & URING_M_POLL) != 0;
    if (op->flags & ASOCK__OPF_CANCELED) {
        /* canceled: what still comes is dropped */
        if (has_buf)
            uring_buf_return(u, bid);
        if (!poll && op->kind == ASOCK__OP_ACCEPT_MULTI && res >= 0)
            close(res);
        if (more)
            return 0;
        uring_finish(loop, u, op, -ECANCELED);
        return 1;
    }
    if (poll)
        return uring_multi_ready(loop, u, op, res);

    unsigned feat = op->kind == ASOCK__OP_ACCEPT_MULTI ? URING_F_ACCEPT_MULTI : URING_F_RECV_MULTI;
    if (!more && (res == -ENOBUFS || (res == -EINVAL && !(u->multi_seen & feat)))) {
        if (res == -EINVAL && (u->features & feat)) {
            /* the kernel lacks the multishot flag (accept: 5.19, recv: 6.0) */
            u->features &= ~feat;
            if (feat == URING_F_RECV_MULTI && u->br != NULL)
                uring_ring_drop(u);
        }
        /* -ENOBUFS: the ring ran dry and the data waits in the socket */
        uring_multi_rearm(u, op);
        return 0;
    }
    if (res < 0 || (op->kind == ASOCK__OP_RECV_MULTI && res == 0)) {
        if (has_buf)
            uring_buf_return(u, bid);
        if (more)
            return 0;
        uring_finish(loop, u, op, res); /* an error, or the stream's end */
        return 1;
    }

    int len = res;
    if (op->kind != ASOCK__OP_ACCEPT_MULTI) {
        struct io_uring_recvmsg_out *o = NULL;
        unsigned char *buf = has_buf ? asock__bufpool_addr(&u->pool, bid) : NULL;
        if (buf != NULL && op->kind == ASOCK__OP_RECVMSG_MULTI)
            o = io_uring_recvmsg_validate(buf, res, &u->mshdr);
        if (buf == NULL || (op->kind == ASOCK__OP_RECVMSG_MULTI && o == NULL)) {
            /* a receive result without a usable buffer: nothing to deliver */
            if (has_buf)
                uring_buf_return(u, bid);
            if (!more)
                uring_multi_rearm(u, op);
            return 0;
        }
        if (o == NULL) {
            op->u.multi.data = buf;
            op->u.multi.name = NULL;
            op->u.multi.namelen = 0;
            op->u.multi.msg_flags = 0;
        } else {
            op->u.multi.data = io_uring_recvmsg_payload(o, &u->mshdr);
            op->u.multi.name = io_uring_recvmsg_name(o);
            op->u.multi.namelen =
                o->namelen < ASOCK__DGRAM_NAME_LEN ? o->namelen : ASOCK__DGRAM_NAME_LEN;
            op->u.multi.msg_flags = (int)o->flags;
            unsigned plen = io_uring_recvmsg_payload_length(o, res, &u->mshdr);
            len = plen > (unsigned)INT_MAX ? INT_MAX : (int)plen;
        }
    }
    u->multi_seen |= feat;
    asock__op_deliver(loop, op, len);
    if (has_buf)
        uring_buf_return(u, bid);
    /* A cancel from inside the delivery has already arranged the end (an ASYNC_CANCEL, or a
     * deferred completion when this was the request's last CQE). */
    if (!more && !(op->flags & ASOCK__OPF_CANCELED))
        uring_multi_rearm(u, op);
    return 0;
}

/* The multishot op of io that the parked list names. */
static struct asock__op *uring_parked_op(struct asock__io *io)
{
    for (struct asock__qnode *n = asock__q_head(&io->rq); n != &io->rq; n = n->next) {
        struct asock__op *op = asock__container_of(n, struct asock__op, node);
        if (asock__op_kind_multi(op->kind) && (op->eflags & URING_M_PARKED))
            return op;
    }
    return NULL;
}

/* Arms the parked multishot ops that can go (a buffer or an SQE is there now). */
static void uring_unpark(struct uring *u)
{
    struct asock__qnode batch;
    asock__q_init(&batch);
    asock__q_move(&u->parked, &batch);
    while (!asock__q_empty(&batch)) {
        struct asock__io *io = asock__container_of(asock__q_head(&batch), struct asock__io, enode);
        asock__q_remove(&io->enode);
        struct asock__op *op = uring_parked_op(io);
        if (op == NULL)
            continue;
        op->eflags &= (uint16_t)~URING_M_PARKED;
        uring_multi_rearm(u, op);
    }
}

static void uring_timer_fired(struct asock__timer *timer);

/* Fills the SQE of a one-shot op. */
static void uring_prep(const struct uring *u, struct io_uring_sqe *sqe, struct asock__op *op)
{
    bool poll_first = (op->flags & ASOCK__OPF_TRIED) && (u->features & URING_F_POLL_FIRST);
    int fd = op->io->fd;
    switch ((enum asock__op_kind)op->kind) {
    case ASOCK__OP_POLL_IN:
        io_uring_prep_poll_add(sqe, fd, POLLIN);
        break;
    case ASOCK__OP_POLL_OUT:
    case ASOCK__OP_CONNECT: /* connect(2) said EINPROGRESS: wait for POLLOUT, then SO_ERROR */
        io_uring_prep_poll_add(sqe, fd, POLLOUT);
        break;
    case ASOCK__OP_CONNECT_START:
        io_uring_prep_connect(sqe, fd, op->u.conn.addr, op->u.conn.len);
        break;
    case ASOCK__OP_ACCEPT:
        io_uring_prep_accept(sqe, fd, op->u.accept.addr, op->u.accept.addrlen,
                             SOCK_NONBLOCK | SOCK_CLOEXEC);
        break;
    case ASOCK__OP_RECV:
        io_uring_prep_recv(sqe, fd, op->u.rw.buf, uring_len(op->u.rw.len), op->u.rw.flags);
        if (poll_first)
            sqe->ioprio |= IORING_RECVSEND_POLL_FIRST; /* known empty: wait, then call */
        break;
    case ASOCK__OP_SEND:
        io_uring_prep_send(sqe, fd, op->u.rw.buf, uring_len(op->u.rw.len),
                           op->u.rw.flags | MSG_NOSIGNAL);
        break;
    case ASOCK__OP_RECVMSG:
        io_uring_prep_recvmsg(sqe, fd, op->u.msg.msg, (unsigned)op->u.msg.flags);
        if (poll_first)
            sqe->ioprio |= IORING_RECVSEND_POLL_FIRST;
        break;
    case ASOCK__OP_SENDMSG:
        io_uring_prep_sendmsg(sqe, fd, op->u.msg.msg, (unsigned)(op->u.msg.flags | MSG_NOSIGNAL));
        break;
    case ASOCK__OP_ACCEPT_MULTI:
    case ASOCK__OP_RECV_MULTI:
    case ASOCK__OP_RECVMSG_MULTI:
    case ASOCK__OP_KIND_MAX:
    default:
        break;
    }
    io_uring_sqe_set_data64(sqe, (uint64_t)(uintptr_t)op | URING_TAG_OP);
}

static bool uring_is_recv(unsigned kind)
{
    return kind == ASOCK__OP_RECV || kind == ASOCK__OP_RECVMSG;
}

/* The first one-shot receive on io's read queue (in the kernel, or held), or NULL. */
static struct asock__op *uring_first_recv(const struct asock__io *io)
{
    for (struct asock__qnode *n = asock__q_head(&io->rq); n != &io->rq; n = n->next) {
        struct asock__op *o = asock__container_of(n, struct asock__op, node);
        if (uring_is_recv(o->kind))
            return o;
    }
    return NULL;
}

/* A held receive leaves without having been in the kernel: it completes with res from the
 * loop (cancel may not call done itself). */
static void uring_drop_held(asock_loop *loop, struct asock__op *op, int res)
{
    asock__q_remove(&op->node);
    op->eflags = 0;
    op->flags &= (uint8_t)~URING_OPF_PRIVATE;
    op->res = res;
    asock__loop_defer_op(loop, op);
}

/* io's receive in the kernel has ended: the next held one goes in (held ones that were
 * cancelled meanwhile, or whose descriptor is closing, end with -ECANCELED). */
static void uring_release_next(asock_loop *loop, struct uring *u, struct asock__io *io)
{
    struct asock__op *next;
    while ((next = uring_first_recv(io)) != NULL && (next->eflags & URING_W_HELD)) {
        if ((next->flags & ASOCK__OPF_CANCELED) || io->closing) {
            uring_drop_held(loop, next, -ECANCELED);
            continue;
        }
        struct io_uring_sqe *sqe = uring_sqe(u, 1);
        if (sqe == NULL) {
            uring_drop_held(loop, next, -ENOBUFS); /* the kernel refuses to take SQEs */
            continue;
        }
        next->eflags &= (uint16_t)~URING_W_HELD;
        uring_prep(u, sqe, next);
        return;
    }
}

static int uring_submit(asock_loop *loop, struct asock__op *op)
{
    struct uring *u = loop->engine_data;
    if (op->kind == 0 || op->kind >= ASOCK__OP_KIND_MAX || op->io == NULL)
        return -EINVAL;
    if (op->io->fd < 0 || op->io->closing)
        return -EBADF;
    if (op->flags & ASOCK__OPF_SUBMITTED)
        return -EBUSY;
    if (asock__op_kind_multi(op->kind))
        return uring_multi_submit(loop, u, op);
    op->flags &= (uint8_t) ~(URING_OPF_PRIVATE | ASOCK__OPF_CANCELED);
    op->res = 0;
    if (uring_is_recv(op->kind) && uring_first_recv(op->io) != NULL) {
        /* another receive of this socket is in the ring: wait behind it (FIFO) */
        op->eflags = URING_W_HELD;
        op->flags |= ASOCK__OPF_SUBMITTED | ASOCK__OPF_QUEUED;
        asock__q_insert_tail(&op->io->rq, &op->node);
        op->io->inflight++;
        return 0;
    }

    /* A deadline (timeout_ms 0: none) is a LINK_TIMEOUT, or a loop timer with link_timeout off. */
    struct asock__op_timed *t = NULL;
    bool link = false, timer = false;
    if (op->flags & ASOCK__OPF_TIMED) {
        t = asock__container_of(op, struct asock__op_timed, op);
        link = t->timeout_ms > 0 && (u->features & URING_F_LINK_TIMEOUT);
        timer = t->timeout_ms > 0 && !link;
    }
    if (timer) {
        t->loop = loop; /* asock__timer_start counts from now, as a LINK_TIMEOUT does */
        asock__timer_init(&t->timer, uring_timer_fired);
        int rc = asock__timer_start(loop, &t->timer, t->timeout_ms);
        if (rc < 0)
            return rc;
    }

    struct io_uring_sqe *sqe = uring_sqe(u, link ? 2u : 1u);
    struct io_uring_sqe *lt = NULL;
    if (sqe != NULL && link) {
        lt = io_uring_get_sqe(&u->ring); /* room was reserved */
        if (lt == NULL) {
            io_uring_prep_nop(sqe);
            io_uring_sqe_set_data64(sqe, URING_UD_CANCEL);
            sqe = NULL;
        }
    }
    if (sqe == NULL) {
        if (timer)
            asock__timer_stop(loop, &t->timer);
        return -EAGAIN;
    }
    uring_prep(u, sqe, op);

    if (lt != NULL) {
        io_uring_sqe_set_flags(sqe, IOSQE_IO_LINK);
        struct __kernel_timespec *ts = &u->ts[(size_t)(lt - u->ring.sq.sqes)];
        ts->tv_sec = (long long)(t->timeout_ms / 1000u);
        ts->tv_nsec = (long long)(t->timeout_ms % 1000u) * 1000000LL;
        io_uring_prep_link_timeout(lt, ts, 0);
        io_uring_sqe_set_data64(lt, (uint64_t)(uintptr_t)t | URING_TAG_LINK);
        op->flags |= URING_OPF_LINKED;
    }

    op->flags |= ASOCK__OPF_SUBMITTED | ASOCK__OPF_QUEUED;
    asock__q_insert_tail(uring_is_read(op) ? &op->io->rq : &op->io->wq, &op->node);
    op->io->inflight++;
    return 0;
}

/* Queues an ASYNC_CANCEL for op (IORING_OP_ASYNC_CANCEL: 5.5).  Its own CQE is internal; with
 * IOSQE_CQE_SKIP_SUCCESS (5.17) a successful cancel posts none. */
static bool uring_queue_cancel(struct uring *u, struct asock__op *op)
{
    struct io_uring_sqe *sqe = uring_sqe(u, 1);
    if (sqe == NULL)
        return false;
    io_uring_prep_cancel64(sqe, (uint64_t)(uintptr_t)op | URING_TAG_OP, 0);
    io_uring_sqe_set_data64(sqe, URING_UD_CANCEL);
    if (u->features & URING_F_CQE_SKIP)
        io_uring_sqe_set_flags(sqe, IOSQE_CQE_SKIP_SUCCESS);
    return true;
}

static void uring_cancel(asock_loop *loop, struct asock__op *op)
{
    struct uring *u = loop->engine_data;
    if (!(op->flags & ASOCK__OPF_SUBMITTED) || (op->flags & ASOCK__OPF_CANCELED))
        return;
    op->flags |= ASOCK__OPF_CANCELED;
    if (asock__op_kind_multi(op->kind)) {
        uring_multi_cancel(loop, u, op);
        return;
    }
    if (op->eflags & URING_W_HELD) {
        uring_drop_held(loop, op, -ECANCELED); /* never reached the kernel */
        return;
    }
    if (op->flags & URING_OPF_REAPED)
        return; /* done in the kernel; only its LINK_TIMEOUT's CQE is still due */
    if (!uring_queue_cancel(u, op)) {
        /* No SQE now: poll issues it.  The op leaves its io queue, which only serves to find
         * ops to cancel. */
        asock__q_remove(&op->node);
        asock__q_insert_tail(&u->cancels, &op->node);
    }
}

static void uring_cancel_queue(asock_loop *loop, struct asock__qnode *q)
{
    struct asock__qnode *n = asock__q_head(q);
    while (n != q) {
        struct asock__qnode *next = n->next; /* uring_cancel may move n to u->cancels */
        uring_cancel(loop, asock__container_of(n, struct asock__op, node));
        n = next;
    }
}

/* A loop timer standing for a LINK_TIMEOUT (link_timeout off): cancel the op and remember in
 * op->res (unused until the op completes) that the deadline passed. */
static void uring_timer_fired(struct asock__timer *timer)
{
    struct asock__op_timed *t = asock__container_of(timer, struct asock__op_timed, timer);
    struct asock__op *op = &t->op;
    if (!(op->flags & ASOCK__OPF_SUBMITTED) || (op->flags & ASOCK__OPF_CANCELED))
        return;
    op->res = -ETIMEDOUT;
    uring_cancel(t->loop, op);
}

static void uring_cancel_all(asock_loop *loop, struct asock__io *io)
{
    struct uring *u = loop->engine_data;
    if (io->inflight == 0)
        return;
    /* A multishot op with no request in the kernel would escape the cancel below: end it now. */
    for (struct asock__qnode *n = asock__q_head(&io->rq), *next; n != &io->rq; n = next) {
        next = n->next;
        struct asock__op *op = asock__container_of(n, struct asock__op, node);
        if (asock__op_kind_multi(op->kind) && !(op->eflags & URING_M_KERNEL))
            uring_cancel(loop, op);
    }
    if (io->inflight == 0)
        return;
    if (u->features & URING_F_CANCEL_FD) {
        /* IORING_ASYNC_CANCEL_FD|ALL: 5.19.  The ops' SQEs, if still queued, go in before it. */
        struct io_uring_sqe *sqe = uring_sqe(u, 1);
        if (sqe != NULL) {
            io_uring_prep_cancel_fd(sqe, io->fd, IORING_ASYNC_CANCEL_ALL);
            io_uring_sqe_set_data64(sqe, URING_UD_CANCEL);
            if (u->features & URING_F_CQE_SKIP)
                io_uring_sqe_set_flags(sqe, IOSQE_CQE_SKIP_SUCCESS);
            /* Mark them, so a later cancel of one of them does not queue another SQE. */
            struct asock__qnode *qs[2] = {&io->rq, &io->wq};
            for (size_t i = 0; i < 2; i++) {
                for (struct asock__qnode *n = asock__q_head(qs[i]); n != qs[i]; n = n->next)
                    asock__container_of(n, struct asock__op, node)->flags |= ASOCK__OPF_CANCELED;
            }
            return;
        }
    }
    uring_cancel_queue(loop, &io->rq);
    uring_cancel_queue(loop, &io->wq);
}

/* ------------------------------------------------------------------------------------------ */
/* completions */

static int uring_connect_result(const struct asock__op *op)
{
    int err = 0;
    socklen_t len = sizeof(err);
    if (getsockopt(op->io->fd, SOL_SOCKET, SO_ERROR, &err, &len) < 0)
        return -errno;
    return -err;
}

/* Ends op with res: leaves the engine's queues and hands it to the core. */
static void uring_finish(asock_loop *loop, struct uring *u, struct asock__op *op, int res)
{
    if ((op->flags & ASOCK__OPF_TIMED) && !(u->features & URING_F_LINK_TIMEOUT)) {
        struct asock__op_timed *t = asock__container_of(op, struct asock__op_timed, op);
        if (t->timeout_ms > 0 && asock__timer_active(&t->timer))
            asock__timer_stop(loop, &t->timer);
    }
    asock__q_remove(&op->node);
    if (asock__op_kind_multi(op->kind)) {
        asock__q_remove(&op->io->enode);
        op->eflags = 0;
    }
    op->flags &= (uint8_t)~URING_OPF_PRIVATE;
    if (uring_is_recv(op->kind) && !asock__q_empty(&op->io->rq))
        uring_release_next(loop, u, op->io);
    asock__op_finish(loop, op, res);
}

/* The op's own CQE.  Returns 1 if the op completed. */
static int uring_op_cqe(asock_loop *loop, struct uring *u, struct asock__op *op, int res)
{
    switch ((enum asock__op_kind)op->kind) {
    case ASOCK__OP_POLL_IN:
    case ASOCK__OP_POLL_OUT:
        if (res > 0)
            res = 0; /* any mask (POLLERR, POLLHUP too) means "ready" */
        break;
    case ASOCK__OP_CONNECT:
        if (res >= 0) {
            unsigned mask = (unsigned)res;
            res = uring_connect_result(op);
            /* error or hang-up with SO_ERROR already read by someone else: not connected */
            if (res == 0 && !(mask & POLLOUT))
                res = -ENOTCONN;
        }
        break;
    default:
        break;
    }
    if (res == -EAGAIN && !(op->flags & (ASOCK__OPF_CANCELED | ASOCK__OPF_TIMED)) &&
        op->kind != ASOCK__OP_POLL_IN && op->kind != ASOCK__OP_POLL_OUT) {
        /* Several requests waited on one socket and another took what woke them (a flood
         * with many receives pending): the call would block, so it waits again.  (The epoll
         * engine keeps such an op queued the same way.) */
        struct io_uring_sqe *sqe = uring_sqe(u, 1);
        if (sqe != NULL) {
            uring_prep(u, sqe, op);
            return 0;
        }
    }
    if (res == -EAGAIN && (op->flags & ASOCK__OPF_CANCELED))
        res = -ECANCELED; /* it would have waited again: the cancel ends it */
    if (op->flags & URING_OPF_LINKED) {
        op->res = res; /* the LINK_TIMEOUT's CQE decides */
        op->flags |= URING_OPF_REAPED;
        return 0;
    }
    if ((op->flags & ASOCK__OPF_TIMED) && op->res == -ETIMEDOUT && res == -ECANCELED)
        res = -ETIMEDOUT; /* the deadline (LINK_TIMEOUT CQE or loop timer) came first */
    uring_finish(loop, u, op, res);
    return 1;
}

/* The LINK_TIMEOUT's CQE: -ETIME if it fired and canceled the op, -ECANCELED if the op finished
 * first, -EALREADY/-ENOENT if it fired too late to cancel.  Returns 1 if the op completed. */
static int uring_link_cqe(asock_loop *loop, struct uring *u, struct asock__op_timed *t, int res)
{
    struct asock__op *op = &t->op;
    op->flags &= (uint8_t)~URING_OPF_LINKED;
    if (!(op->flags & URING_OPF_REAPED)) {
        op->res = res == -ETIME ? -ETIMEDOUT : 0; /* remembered for the op's CQE */
        return 0;
    }
    int final = op->res;
    if (final == -ECANCELED && res == -ETIME)
        final = -ETIMEDOUT;
    uring_finish(loop, u, op, final);
    return 1;
}

struct uring_cqe_copy {
    uint64_t user_data;
    int32_t res;
    uint32_t flags;
};

static int uring_dispatch(asock_loop *loop, struct uring *u, const struct uring_cqe_copy *c)
{
    if (c->user_data == LIBURING_UDATA_TIMEOUT) /* liburing's own wait timeout without EXT_ARG */
        return 0;
    uint64_t tag = c->user_data & URING_TAG_MASK;
    uintptr_t ptr = (uintptr_t)(c->user_data & ~URING_TAG_MASK);
    if (ptr == 0)
        return 0; /* an internal cancel */
    if (tag == URING_TAG_OP) {
        struct asock__op *op = (struct asock__op *)ptr;
        if (asock__op_kind_multi(op->kind))
            return uring_multi_cqe(loop, u, op, c->res, c->flags);
        return uring_op_cqe(loop, u, op, c->res);
    }
    if (tag == URING_TAG_LINK)
        return uring_link_cqe(loop, u, (struct asock__op_timed *)ptr, c->res);
    return 0;
}

/* Reaps every CQE the ring holds.  Each is read and its slot given back to the kernel before
 * it is dispatched (callbacks may submit, cancel and close, and a full CQ must not wait on a
 * callback), one at a time: no copy of the batch.  Returns the number of ops completed. */
static int uring_reap(asock_loop *loop, struct uring *u)
{
    int completed = 0;
    unsigned budget = URING_CQ_ENTRIES * 2u; /* do not starve timers under a flood */
    struct io_uring_cq *cq = &u->ring.cq;
    for (;;) {
        unsigned head = *cq->khead;
        unsigned n = io_uring_smp_load_acquire(cq->ktail) - head;
        if (n == 0) {
            /* With IORING_FEAT_NODROP (5.5) an overflowed CQ keeps the rest in the kernel. */
            if (!io_uring_cq_has_overflow(&u->ring) || budget == 0)
                break;
            if (io_uring_get_events(&u->ring) < 0 || io_uring_cq_ready(&u->ring) == 0)
                break;
            continue;
        }
        if (n > budget)
            n = budget;
        budget -= n;
        for (unsigned i = 0; i < n; i++) {
            const struct io_uring_cqe *cqe = &cq->cqes[(head + i) & cq->ring_mask];
            struct uring_cqe_copy c = {cqe->user_data, cqe->res, cqe->flags};
            io_uring_smp_store_release(cq->khead, head + i + 1);
            completed += uring_dispatch(loop, u, &c);
        }
        if (budget == 0)
            break;
    }
    return completed;
}

/* Issues the cancels that found no SQE earlier, and arms the parked multishot ops. */
static void uring_prepare(struct uring *u)
{
    if (!asock__q_empty(&u->parked))
        uring_unpark(u);
    while (!asock__q_empty(&u->cancels)) {
        struct asock__qnode *n = asock__q_head(&u->cancels);
        struct asock__op *op = asock__container_of(n, struct asock__op, node);
        if (!uring_queue_cancel(u, op))
            break;
        asock__q_remove(n);
        asock__q_insert_tail(uring_is_read(op) ? &op->io->rq : &op->io->wq, n);
    }
}

static int uring_poll(asock_loop *loop, int timeout_ms)
{
    struct uring *u = loop->engine_data;
    uring_prepare(u);
    int rc = uring_enable(u);
    if (rc < 0)
        return rc;

    struct io_uring_cqe *cqe = NULL;
    for (;;) {
        if (timeout_ms == 0) {
            /* GETEVENTS without waiting: with DEFER_TASKRUN (6.1) that runs the task work that
             * posts completions. */
            rc = io_uring_submit_and_get_events(&u->ring);
        } else if (timeout_ms < 0) {
            rc = io_uring_submit_and_wait(&u->ring, 1);
        } else {
            struct __kernel_timespec ts;
            ts.tv_sec = timeout_ms / 1000;
            ts.tv_nsec = (long long)(timeout_ms % 1000) * 1000000LL;
            rc = io_uring_submit_and_wait_timeout(&u->ring, &cqe, 1, &ts, NULL);
        }
        if (rc == -EINTR && timeout_ms < 0)
            continue;
        break;
    }
    if (rc < 0 && rc != -ETIME && rc != -EINTR && rc != -EBUSY && rc != -EAGAIN)
        return rc;
    /* -ETIME: the wait timed out.  -EBUSY/-EAGAIN: the kernel wants the CQ drained first; the
     * next poll submits what is left. */
    return uring_reap(loop, u);
}

/* A descriptor nothing refers to any more: IORING_OP_CLOSE (5.6), performed when the SQE is
 * submitted (flush or poll); its CQE is internal (none at all on success with CQE_SKIP). */
static void uring_close_fd(asock_loop *loop, int fd)
{
    struct uring *u = loop->engine_data;
    struct io_uring_sqe *sqe = uring_sqe(u, 1);
    if (sqe == NULL) {
        close(fd);
        return;
    }
    io_uring_prep_close(sqe, fd);
    io_uring_sqe_set_data64(sqe, URING_UD_CANCEL);
    if (u->features & URING_F_CQE_SKIP)
        io_uring_sqe_set_flags(sqe, IOSQE_CQE_SKIP_SUCCESS);
}

static void uring_flush_op(asock_loop *loop)
{
    struct uring *u = loop->engine_data;
    if (io_uring_sq_ready(&u->ring) != 0)
        uring_flush(u);
}

const struct asock__engine_ops asock__uring_engine = {
    .name = "io_uring",
    .id = ASOCK_ENGINE_IO_URING,
    .calls_in_ring = true,
    .init = uring_init,
    .destroy = uring_destroy,
    .submit = uring_submit,
    .cancel = uring_cancel,
    .cancel_all = uring_cancel_all,
    .poll = uring_poll,
    .detach = NULL, /* nothing is registered per descriptor */
    .close_fd = uring_close_fd,
    .flush = uring_flush_op,
};
