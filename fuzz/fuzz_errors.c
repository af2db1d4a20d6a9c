/* The error-status mapping: errno -> SocketError, SocketError -> name / message / status,
 * status -> name, errno -> text, c-ares status -> SocketError, over every int the input names.
 *
 * Checks: every function is total (no crash, never NULL where the header says "never NULL");
 * a SocketError that has a name has a message other than the fallback and a status that has a
 * name; errno and -errno map alike; everything from_errno returns is a named SocketError;
 * asock_resolve_error_from_status returns a named SocketError. */
#define _GNU_SOURCE 1
#include "fuzz.h"

#include <asock/asock.h>
#include "core/internal.h"
#include "resolve/resolve_int.h"

#include <limits.h>

static void check_socket_error(int v)
{
    asock_socket_error err = (asock_socket_error)v;
    const char *name = asock_socket_error_name(err);
    const char *msg = asock_socket_error_message(err);
    FUZZ_CHECK(msg != NULL && msg[0] != '\0');
    asock_error_status st = asock_error_get_status(err);
    const char *st_name = asock_error_status_name(st);
    FUZZ_CHECK(st_name != NULL); /* get_status only returns real statuses */
    if (name == NULL) {
        FUZZ_CHECK(st == ASOCK_STATUS_UNKNOWN);
    } else {
        FUZZ_CHECK(name[0] != '\0');
        FUZZ_CHECK(strlen(name) < 64);
    }
}

static void check_status(int v)
{
    const char *name = asock_error_status_name((asock_error_status)v);
    FUZZ_CHECK((name != NULL) == (v >= 0 && v <= ASOCK_STATUS_CERTIFICATE_IS_INVALID));
}

static void check_errno(int e)
{
    asock_socket_error err = asock_socket_error_from_errno(e);
    FUZZ_CHECK(asock_socket_error_name(err) != NULL);
    if (e != INT_MIN)
        FUZZ_CHECK(asock_socket_error_from_errno(-e) == err);
    if (e == 0)
        FUZZ_CHECK(err == ASOCK_SUCCESS);
    else
        FUZZ_CHECK(err != ASOCK_SUCCESS);
    const char *text = asock_strerror(e);
    FUZZ_CHECK(text != NULL && text[0] != '\0');
    if (e != INT_MIN)
        FUZZ_CHECK(strcmp(asock_strerror(-e), text) == 0);
    /* an errno with a name has a mapping and a text of its own */
    if (asock__errno_name(e) != NULL)
        FUZZ_CHECK(strcmp(text, "unknown error") != 0);
}

static void check_ares(int code)
{
    asock_socket_error err = asock_resolve_error_from_status(code);
    FUZZ_CHECK(asock_socket_error_name(err) != NULL);
    FUZZ_CHECK(asock__ares_error(code) == err);
    FUZZ_CHECK(asock__ares_name(code) != NULL);
    FUZZ_CHECK((err == ASOCK_SUCCESS) == (code == 0));
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fuzz_in in = {data, size};
    while (in.n > 0) {
        int v = (int)fuzz_u32(&in);
        /* small values are where the tables are: steer half of the inputs there */
        int small = (int)(int8_t)(v & 0xff) * ((v >> 8) & 0x7f);
        int vals[] = {v, small, small + 10000, small + 11000, v & 0xffff};
        for (size_t i = 0; i < sizeof(vals) / sizeof(vals[0]); i++) {
            check_socket_error(vals[i]);
            check_status(vals[i]);
            check_errno(vals[i]);
            check_ares(vals[i]);
        }
    }
    return 0;
}
