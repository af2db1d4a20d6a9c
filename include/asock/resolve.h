/* asock name and service resolution (included by <asock/asock.h>; do not include directly). */
#ifndef ASOCK_RESOLVE_H
#define ASOCK_RESOLVE_H

#ifdef __cplusplus
extern "C" {
#endif

#ifdef __cplusplus
}
#endif

#endif
