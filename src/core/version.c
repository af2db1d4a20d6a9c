/* The library's version at run time, for comparing with the header it was compiled against. */
#include "internal.h"

#include <asock/version.h>

const char *asock_version_string(void)
{
    return ASOCK_VERSION_STRING;
}

unsigned asock_version(void)
{
    return ASOCK_VERSION_HEX;
}
