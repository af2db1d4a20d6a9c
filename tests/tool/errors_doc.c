/* Prints the generated part of docs/ERRORS.md from the library's own tables, through the public
 * API (asock_socket_error_from_errno, asock_resolve_error_from_status, asock_error_get_status
 * and the name functions).  tests/tool/check_errors_doc.py compares it with the page, so the
 * page cannot drift from src/core/error.c. */
#include <asock/asock.h>

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

/* c-ares status codes (ares.h; stable numbers since c-ares 1.x). */
static const char *const ares_names[] = {
    "ARES_SUCCESS",         "ARES_ENODATA",       "ARES_EFORMERR",
    "ARES_ESERVFAIL",       "ARES_ENOTFOUND",     "ARES_ENOTIMP",
    "ARES_EREFUSED",        "ARES_EBADQUERY",     "ARES_EBADNAME",
    "ARES_EBADFAMILY",      "ARES_EBADRESP",      "ARES_ECONNREFUSED",
    "ARES_ETIMEOUT",        "ARES_EOF",           "ARES_EFILE",
    "ARES_ENOMEM",          "ARES_EDESTRUCTION",  "ARES_EBADSTR",
    "ARES_EBADFLAGS",       "ARES_ENONAME",       "ARES_EBADHINTS",
    "ARES_ENOTINITIALIZED", "ARES_ELOADIPHLPAPI", "ARES_EADDRGETNETWORKPARAMS",
    "ARES_ECANCELLED",      "ARES_ESERVICE",
};

/* "ConnectionRefused" -> "CONNECTION_REFUSED", "IOPending" -> "IO_PENDING" */
static void upper_snake(const char *name, char *out, size_t len)
{
    size_t n = 0;
    for (size_t i = 0; name[i] != '\0' && n + 2 < len; i++) {
        char c = name[i];
        bool up = c >= 'A' && c <= 'Z';
        if (up && i > 0) {
            char p = name[i - 1];
            char nx = name[i + 1];
            bool prev_low = p >= 'a' && p <= 'z';
            bool prev_up = p >= 'A' && p <= 'Z';
            bool next_low = nx >= 'a' && nx <= 'z';
            if (prev_low || (prev_up && next_low))
                out[n++] = '_';
        }
        out[n++] = (char)(up || !(c >= 'a' && c <= 'z') ? c : c - 'a' + 'A');
    }
    out[n] = '\0';
}

static void row(const char *what, int num, asock_socket_error err)
{
    asock_error_status st = asock_error_get_status(err);
    printf("| %s | %d | %s | %d | %s | %d |\n", what, num, asock_socket_error_name(err), (int)err,
           asock_error_status_name(st), (int)st);
}

int main(void)
{
    printf("### errno → SocketError → SocketErrorStatus\n\n");
    printf("| errno | value | SocketError | value | SocketErrorStatus | value |\n");
    printf("|---|---|---|---|---|---|\n");
    row("(none)", 0, asock_socket_error_from_errno(0));
    for (int e = 1; e < 134; e++) {
        asock_socket_error err = asock_socket_error_from_errno(e);
        if (err == ASOCK_ERR_SOCKET_ERROR)
            continue;
        const char *name = strerrorname_np(e);
        row(name != NULL ? name : "?", e, err);
    }
    row("any other errno", -1, ASOCK_ERR_SOCKET_ERROR);

    printf("\n### resolver (c-ares) status → SocketError → SocketErrorStatus\n\n");
    printf("| c-ares status | value | SocketError | value | SocketErrorStatus | value |\n");
    printf("|---|---|---|---|---|---|\n");
    for (int c = 0; c < (int)(sizeof(ares_names) / sizeof(ares_names[0])); c++)
        row(ares_names[c], c, asock_resolve_error_from_status(c));

    printf("\n### every SocketError\n\n");
    printf("| SocketError | value | constant | message | SocketErrorStatus |\n");
    printf("|---|---|---|---|---|\n");
    for (int v = -1; v <= 11004; v++) {
        const char *name = asock_socket_error_name((asock_socket_error)v);
        if (name == NULL)
            continue;
        asock_error_status st = asock_error_get_status((asock_socket_error)v);
        char sym[64];
        upper_snake(name, sym, sizeof(sym));
        printf("| %s | %d | `%s%s` | %s | %s |\n", name, v, v == 0 ? "ASOCK_" : "ASOCK_ERR_",
               v == 0 ? "SUCCESS" : sym, asock_socket_error_message((asock_socket_error)v),
               asock_error_status_name(st));
    }

    printf("\n### every SocketErrorStatus\n\n");
    printf("| SocketErrorStatus | value | constant |\n");
    printf("|---|---|---|\n");
    for (int v = 0; v <= 64; v++) {
        const char *name = asock_error_status_name((asock_error_status)v);
        if (name == NULL)
            continue;
        char sym[64];
        upper_snake(name, sym, sizeof(sym));
        printf("| %s | %d | `ASOCK_STATUS_%s` |\n", name, v, sym);
    }
    return 0;
}
