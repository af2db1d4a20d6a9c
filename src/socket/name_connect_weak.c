/* TEMPORARY: weak fallbacks until the resolve layer's connect by name lands (removed then). */
#include "socket.h"

__attribute__((weak)) int asock__name_connect_start(asock_loop *loop, asock_socket *s, int type,
                                                    int protocol, asock_args *e)
{
    ASOCK__UNUSED(loop);
    ASOCK__UNUSED(s);
    ASOCK__UNUSED(type);
    ASOCK__UNUSED(protocol);
    ASOCK__UNUSED(e);
    return -EOPNOTSUPP;
}

__attribute__((weak)) void asock__name_connect_cancel(asock_args *e)
{
    ASOCK__UNUSED(e);
}

__attribute__((weak)) void asock__name_connect_abort(asock_args *e)
{
    ASOCK__UNUSED(e);
}
