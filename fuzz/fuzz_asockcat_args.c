/* asockcat's argument parsing (tools/asockcat/main.c: parse_args and the checks it runs before
 * any network activity), fuzzed in process: main.c is compiled into this target with exit()
 * turned into a longjmp, main renamed, and stdout/stderr sent to /dev/null.
 *
 * Input: up to 16 arguments separated by NUL bytes (argv[0] is "asockcat").
 * Checks: parse_args either returns or exits with 0 (--help, --version) or 2 (usage error);
 * after a return the options are consistent (host and service set, -k only with -l, not both
 * --send-only and --recv-only, -w above 0), every service it accepted is accepted by the
 * library's own service parser (so a bad service can never get past the usage check and fail
 * later as a network error), and a --dns-server it normalised is a list c-ares accepts. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE 1
#endif
#include "fuzz.h"

#include <ares.h>
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <math.h>
#include <net/if.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

/* The library's service parser (src/resolve/services.c; a hidden symbol of the static
 * library).  Declared here: resolve_int.h does not mix with asockcat's headers. */
int asock__service_port(const char *service, int socktype, bool allow_zero, uint16_t *port);

static jmp_buf g_jmp;
static volatile int g_exit_code;
static FILE *g_null;

__attribute__((noreturn)) static void fuzz_exit(int code)
{
    g_exit_code = code;
    longjmp(g_jmp, 1);
}

/* What main.c sees. */
#define exit(code) fuzz_exit(code)
#undef stdout
#undef stderr
#define stdout      g_null
#define stderr      g_null
#define printf(...) fprintf(g_null, __VA_ARGS__)
#define main        asockcat_main
int asockcat_main(int argc, char **argv);
#include "../tools/asockcat/main.c"
#undef main
#undef printf
#undef stdout
#undef stderr
#undef exit
#define stdout stdout
#define stderr stderr

#define MAX_ARGS 16

static ares_channel g_channel;

static void init_once(void)
{
    static bool done;
    if (done)
        return;
    done = true;
    g_null = fopen("/dev/null", "w");
    FUZZ_CHECK(g_null != NULL);
    FUZZ_CHECK(ares_library_init(ARES_LIB_INIT_ALL) == ARES_SUCCESS);
    struct ares_options opts;
    memset(&opts, 0, sizeof(opts));
    FUZZ_CHECK(ares_init_options(&g_channel, &opts, 0) == ARES_SUCCESS);
}

static void lib_accepts_service(const char *what, const char *s, int socktype, bool allow_zero)
{
    if (s == NULL)
        return;
    uint16_t port = 0;
    int rc = asock__service_port(s, socktype, allow_zero, &port);
    if (rc < 0) {
        fprintf(stderr, "asockcat accepted %s '%s', the library refuses it (%d)\n", what, s, rc);
        abort();
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    init_once();
    fuzz_in in = {data, size};
    char *args[MAX_ARGS + 1];
    int argc = 0;
    args[argc++] = strdup("asockcat");
    while (in.n > 0 && argc < MAX_ARGS)
        args[argc++] = fuzz_str(&in, 256);
    args[argc] = NULL;
    char *argv[MAX_ARGS + 1]; /* getopt permutes this one */
    memcpy(argv, args, sizeof(argv));

    memset(&g_acat, 0, sizeof(g_acat));
    optind = 0; /* a full re-initialisation of glibc's getopt */
    g_exit_code = -1;
    if (setjmp(g_jmp) == 0) {
        parse_args(argc, argv, &g_acat.o);
        const struct acat_opts *o = &g_acat.o;
        FUZZ_CHECK(o->service != NULL);
        FUZZ_CHECK(o->listen || o->host != NULL);
        FUZZ_CHECK(!(o->send_only && o->recv_only));
        FUZZ_CHECK(!o->keep || o->listen);
        FUZZ_CHECK(o->family == AF_UNSPEC || o->family == AF_INET || o->family == AF_INET6);
        int socktype = o->udp ? SOCK_DGRAM : SOCK_STREAM;
        lib_accepts_service("SERVICE", o->service, socktype, o->listen);
        lib_accepts_service("-p", o->src_service, socktype, true);
        /* Every --dns-server asockcat accepts must be one c-ares takes (finding F1 in
         * docs/RELIABILITY.md: scoped addresses are now refused with exit status 2). */
        if (o->dns_server != NULL) {
            int st = ares_set_servers_ports_csv(g_channel, o->dns_server);
            if (st != ARES_SUCCESS) {
                fprintf(stderr, "asockcat normalised --dns-server to '%s', c-ares refuses it: %s\n",
                        o->dns_server, ares_strerror(st));
                abort();
            }
            /* ... and one asock_loop_new takes (it checks dns_servers itself) */
            asock_loop_options lo;
            memset(&lo, 0, sizeof(lo));
            lo.engine = ASOCK_ENGINE_EPOLL;
            lo.dns_servers = o->dns_server;
            asock_loop *loop = NULL;
            int rc = asock_loop_new(&loop, &lo);
            if (rc != 0) {
                fprintf(stderr, "asock_loop_new refuses --dns-server '%s': %d\n", o->dns_server,
                        rc);
                abort();
            }
            asock_loop_free(loop);
        }
    } else {
        FUZZ_CHECK(g_exit_code == ACAT_EXIT_OK || g_exit_code == ACAT_EXIT_USAGE);
    }
    for (int i = 0; i < argc; i++)
        free(args[i]);
    return 0;
}
