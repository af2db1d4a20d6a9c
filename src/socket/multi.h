/* The socket layer's operations that stay armed (multi.c), as io.c sees them. */
#ifndef ASOCK_SOCKET_MULTI_H
#define ASOCK_SOCKET_MULTI_H

#include "socket.h"

/* Private operation codes in asock__args_priv.op, beyond every asock_operation value. */
#define ASOCK__OPX_RECEIVE_MULTI 0xf0u
#define ASOCK__OPX_ACCEPT_MULTI  0xf1u

/* 1 if a multi receive or multi accept is armed on s (its read side is taken). */
ASOCK__HIDDEN bool asock__multi_armed(asock_socket *s);

/* io.c: wraps an accepted descriptor in e->accept_socket (a new socket when it is NULL). */
ASOCK__HIDDEN asock_socket *asock__accept_wrap(asock_socket *listener, asock_args *e, int fd,
                                               int *err);

#endif
