/* What the io_uring engine needs and liburing 2.3 (Debian 12) lacks.  Included by uring.c only,
 * after <liburing.h>. */
#ifndef ASOCK_ENGINE_URING_COMPAT_H
#define ASOCK_ENGINE_URING_COMPAT_H

#include <errno.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <liburing.h>

/* io_uring_enable_rings: liburing 2.3 declares it in liburing.h but its liburing.map does not
 * export it (fixed in 2.4), so linking fails.  The register call it wraps
 * (IORING_REGISTER_ENABLE_RINGS: 5.10) is made here directly, on the ring's real descriptor. */
static inline int asock__uring_enable_rings(struct io_uring *ring)
{
    long rc = syscall(__NR_io_uring_register, ring->ring_fd, IORING_REGISTER_ENABLE_RINGS, NULL, 0);
    return rc < 0 ? -errno : 0;
}

#endif
