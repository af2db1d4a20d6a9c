/* asockcat: options, the checks that end in exit status 2 before any network activity, the
 * loop, and the exit status (API.md §6: 0 success, 1 a network or resolution error naming its
 * SocketError, 2 a usage error saying what is wrong). */
#include "asockcat.h"

#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <math.h>
#include <net/if.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct acat g_acat;

static const char usage_text[] =
    "usage: asockcat [options] HOST SERVICE          connect, then relay stdin -> socket and "
    "socket -> stdout\n"
    "       asockcat -l [options] [HOST] SERVICE     listen (accept one peer; with -k keep "
    "accepting)\n"
    "\n"
    "  -u              UDP, through the datagram-socket layer (connect by endpoint pair: only "
    "the\n"
    "                  connected peer's datagrams are printed)\n"
    "  -4 | -6         address family\n"
    "  -s HOST         local host (source address)\n"
    "  -p SERVICE      local service (port or name)\n"
    "  -I IFNAME       bind to a network interface (adapter)\n"
    "  -b              allow broadcast\n"
    "  -w SECONDS      connect timeout (and idle timeout once connected); 1.5, 500ms, 2s, 1m\n"
    "  -d DATA         send DATA with the connect (in the SYN when TCP Fast Open is on)\n"
    "  -k              keep listening after a peer leaves\n"
    "  -v              verbose, on stderr: resolution steps, addresses tried, engine, and each "
    "error\n"
    "                  with its SocketError name and, for -u, its SocketErrorStatus name\n"
    "  --dns-server IP[:PORT]   use this DNS server instead of the system's\n"
    "  --engine epoll|io_uring  choose the engine (default: io_uring when usable, else epoll)\n"
    "  --send-only     only send stdin; ignore what the peer sends; stop at stdin's end\n"
    "  --recv-only     only print what the peer sends; do not read stdin\n"
    "  --version       print the version and exit\n"
    "  -h, --help      print this help and exit\n"
    "\n"
    "SERVICE is a port number, a services-database name (\"http\"), or, when neither, a name\n"
    "looked up as a DNS SRV record _SERVICE._tcp.HOST (_udp with -u).\n"
    "Data goes to stdout only; diagnostics go to stderr.\n"
    "exit status: 0 success; 1 a network or resolution error (stderr names the SocketError,\n"
    "e.g. \"ConnectionRefused\"); 2 a usage error (stderr says what is wrong)\n";

/* ---- messages ---- */

void acat_msg(const char *fmt, ...)
{
    char line[2048];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(line, sizeof(line), fmt, ap);
    va_end(ap);
    fprintf(stderr, "asockcat: %s\n", line);
}

void acat_verbose(const char *fmt, ...)
{
    if (g_acat.o.verbose == 0)
        return;
    char line[2048];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(line, sizeof(line), fmt, ap);
    va_end(ap);
    fprintf(stderr, "asockcat: %s\n", line);
}

const char *acat_error_text(asock_socket_error err, char *buf, size_t len)
{
    const char *name = asock_socket_error_name(err);
    char num[32];
    if (name == NULL) {
        snprintf(num, sizeof(num), "SocketError(%d)", (int)err);
        name = num;
    }
    if (g_acat.o.udp) {
        const char *st = asock_error_status_name(asock_error_get_status(err));
        snprintf(buf, len, "%s, SocketErrorStatus %s (%s)", name, st != NULL ? st : "Unknown",
                 asock_socket_error_message(err));
    } else {
        snprintf(buf, len, "%s (%s)", name, asock_socket_error_message(err));
    }
    return buf;
}

void acat_fail(asock_socket_error err, const char *detail, const char *fmt, ...)
{
    char what[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(what, sizeof(what), fmt, ap);
    va_end(ap);
    char ebuf[256];
    acat_msg("%s: %s%s%s", what, acat_error_text(err, ebuf, sizeof(ebuf)),
             detail != NULL && detail[0] ? ": " : "", detail != NULL ? detail : "");
    acat_finish(ACAT_EXIT_NET);
}

void acat_finish(int code)
{
    if (g_acat.done)
        return;
    g_acat.done = true;
    g_acat.exit_code = code;
    asock_loop_stop(g_acat.loop);
}

const char *acat_ep(const asock_endpoint *ep)
{
    static char bufs[4][96];
    static unsigned next;
    char *b = bufs[next++ % 4u];
    if (asock_endpoint_format(ep, b, sizeof(bufs[0])) < 0)
        snprintf(b, sizeof(bufs[0]), "(no endpoint)");
    return b;
}

/* ---- usage checks ---- */

static void usage_error(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));

static void usage_error(const char *fmt, ...)
{
    char line[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(line, sizeof(line), fmt, ap);
    va_end(ap);
    fprintf(stderr, "asockcat: %s\nTry 'asockcat --help' for more information.\n", line);
    exit(ACAT_EXIT_USAGE);
}

static bool all_digits(const char *s)
{
    if (*s == '\0')
        return false;
    for (; *s != '\0'; s++) {
        if (*s < '0' || *s > '9')
            return false;
    }
    return true;
}

/* The library decides what a service is (asock_service_lookup); this only words the refusal. */
static void check_service(const char *what, const char *s, bool allow_zero)
{
    if (s[0] == '\0')
        usage_error("%s: empty service", what);
    uint16_t port = 0;
    if (asock_service_lookup(s, SOCK_STREAM, allow_zero, &port) >= 0)
        return;
    if (strcmp(s, "0") == 0 || (all_digits(s) && strspn(s, "0") == strlen(s)))
        usage_error("%s: port 0 is not a port to connect to (1-65535)", what);
    if (all_digits(s) || (s[0] == '-' && all_digits(s + 1)))
        usage_error("%s: port %s is out of range (1-65535)", what, s);
    usage_error("%s: '%s' is neither a port number nor a valid service name", what, s);
}

static void check_host(const char *what, const char *h, int family)
{
    asock_endpoint ep;
    if (h[0] == '\0')
        usage_error("%s: empty host", what);
    if (asock_endpoint_ip(&ep, h, 0) == 0) {
        int f = asock_endpoint_family(&ep);
        if (family != AF_UNSPEC && f != family)
            usage_error("%s: %s is an %s address, but %s was given", what, h,
                        f == AF_INET ? "IPv4" : "IPv6", family == AF_INET ? "-4" : "-6");
        return;
    }
    if (asock_endpoint_dns(&ep, h, 1, AF_UNSPEC) != 0)
        usage_error("%s: '%s' is neither an IP address nor a valid host name", what, h);
}

/* "2", "1.5", "500ms", "2s", "1m", "1h" -> milliseconds (ncat's -w forms). */
static uint32_t parse_wait(const char *s)
{
    char *end = NULL;
    errno = 0;
    double v = strtod(s, &end);
    if (end == s || errno != 0 || !isfinite(v))
        usage_error("-w: '%s' is not a time (seconds, or with a unit: 500ms, 2s, 1m)", s);
    double mult;
    if (*end == '\0' || strcmp(end, "s") == 0)
        mult = 1000.0;
    else if (strcmp(end, "ms") == 0)
        mult = 1.0;
    else if (strcmp(end, "m") == 0)
        mult = 60000.0;
    else if (strcmp(end, "h") == 0)
        mult = 3600000.0;
    else
        usage_error("-w: '%s' has an unknown unit (use ms, s, m or h)", s);
    double ms = ceil(v * mult);
    if (!(v > 0.0))
        usage_error("-w: '%s' must be more than 0", s);
    if (ms > 4294967295.0)
        usage_error("-w: '%s' is too long", s);
    return (uint32_t)ms;
}

/* IP[:PORT], [IPv6][:PORT] or a bare IPv6 address -> "ip:port" / "[ipv6]:port" for the loop. */
static const char *parse_dns_server(const char *s)
{
    static char out[128];
    char ip[96];
    const char *port = NULL;
    asock_endpoint ep;
    if (s[0] == '[') {
        const char *close = strchr(s, ']');
        if (close == NULL || (size_t)(close - s - 1) >= sizeof(ip))
            usage_error("--dns-server: '%s' is not IP[:PORT]", s);
        memcpy(ip, s + 1, (size_t)(close - s - 1));
        ip[close - s - 1] = '\0';
        if (close[1] == ':')
            port = close + 2;
        else if (close[1] != '\0')
            usage_error("--dns-server: '%s' is not IP[:PORT]", s);
    } else if (asock_endpoint_ip(&ep, s, 0) == 0 && asock_endpoint_family(&ep) == AF_INET6) {
        snprintf(ip, sizeof(ip), "%s", s); /* a bare IPv6 address */
    } else {
        const char *colon = strrchr(s, ':');
        size_t n = colon != NULL ? (size_t)(colon - s) : strlen(s);
        if (n >= sizeof(ip))
            usage_error("--dns-server: '%s' is not IP[:PORT]", s);
        memcpy(ip, s, n);
        ip[n] = '\0';
        if (colon != NULL)
            port = colon + 1;
    }
    if (asock_endpoint_ip(&ep, ip, 0) != 0)
        usage_error("--dns-server: '%s' is not an IP address (IP[:PORT], IPv6 in brackets)", ip);
    if (strchr(ip, '%') != NULL)
        usage_error("--dns-server: '%s': a scoped address (%%interface) cannot name a DNS server "
                    "(the resolver refuses scope ids)",
                    ip);
    unsigned long p = 53;
    if (port != NULL) {
        if (!all_digits(port))
            usage_error("--dns-server: port '%s' is not a number", port);
        p = strtoul(port, NULL, 10);
        if (p == 0 || p > 65535u || strlen(port) > 5)
            usage_error("--dns-server: port %s is out of range (1-65535)", port);
    }
    if (asock_endpoint_family(&ep) == AF_INET6)
        snprintf(out, sizeof(out), "[%s]:%lu", ip, p);
    else
        snprintf(out, sizeof(out), "%s:%lu", ip, p);
    return out;
}

enum {
    OPT_DNS_SERVER = 256,
    OPT_ENGINE,
    OPT_SEND_ONLY,
    OPT_RECV_ONLY,
    OPT_VERSION
};

static const struct option long_opts[] = {
    {"help", no_argument, NULL, 'h'},
    {"version", no_argument, NULL, OPT_VERSION},
    {"listen", no_argument, NULL, 'l'},
    {"udp", no_argument, NULL, 'u'},
    {"keep-open", no_argument, NULL, 'k'},
    {"broadcast", no_argument, NULL, 'b'},
    {"source", required_argument, NULL, 's'},
    {"source-port", required_argument, NULL, 'p'},
    {"interface", required_argument, NULL, 'I'},
    {"wait", required_argument, NULL, 'w'},
    {"data", required_argument, NULL, 'd'},
    {"verbose", no_argument, NULL, 'v'},
    {"dns-server", required_argument, NULL, OPT_DNS_SERVER},
    {"engine", required_argument, NULL, OPT_ENGINE},
    {"send-only", no_argument, NULL, OPT_SEND_ONLY},
    {"recv-only", no_argument, NULL, OPT_RECV_ONLY},
    {NULL, 0, NULL, 0},
};

static void parse_args(int argc, char **argv, struct acat_opts *o)
{
    bool four = false, six = false;
    const char *wait_arg = NULL;
    opterr = 0; /* our own messages */
    int c;
    while ((c = getopt_long(argc, argv, ":46bd:hI:klp:s:uvw:", long_opts, NULL)) != -1) {
        switch (c) {
        case '4':
            four = true;
            break;
        case '6':
            six = true;
            break;
        case 'b':
            o->broadcast = true;
            break;
        case 'd':
            o->data = optarg;
            o->data_len = strlen(optarg);
            break;
        case 'h':
            fputs(usage_text, stdout);
            exit(ACAT_EXIT_OK);
        case 'I':
            o->ifname = optarg;
            break;
        case 'k':
            o->keep = true;
            break;
        case 'l':
            o->listen = true;
            break;
        case 'p':
            o->src_service = optarg;
            break;
        case 's':
            o->src_host = optarg;
            break;
        case 'u':
            o->udp = true;
            break;
        case 'v':
            o->verbose++;
            break;
        case 'w':
            wait_arg = optarg;
            break;
        case OPT_DNS_SERVER:
            o->dns_server = optarg;
            break;
        case OPT_ENGINE:
            if (strcmp(optarg, "epoll") == 0)
                o->engine = ASOCK_ENGINE_EPOLL;
            else if (strcmp(optarg, "io_uring") == 0)
                o->engine = ASOCK_ENGINE_IO_URING;
            else if (strcmp(optarg, "auto") == 0)
                o->engine = ASOCK_ENGINE_AUTO;
            else
                usage_error("--engine: '%s' is not an engine (epoll, io_uring or auto)", optarg);
            break;
        case OPT_SEND_ONLY:
            o->send_only = true;
            break;
        case OPT_RECV_ONLY:
            o->recv_only = true;
            break;
        case OPT_VERSION:
            printf("asockcat %s (asock %s; engines: io_uring, epoll)\n", ASOCK_VERSION_STRING,
                   asock_version_string());
            exit(ACAT_EXIT_OK);
        case ':':
            if (optopt != 0 && optopt < 256)
                usage_error("option -%c needs a value", optopt);
            usage_error("option %s needs a value", argv[optind - 1]);
        default:
            if (optopt != 0 && optopt < 256)
                usage_error("unknown option -%c", optopt);
            usage_error("unknown option %s", argv[optind - 1]);
        }
    }

    if (four && six)
        usage_error("-4 and -6 exclude each other");
    o->family = four ? AF_INET : six ? AF_INET6 : AF_UNSPEC;
    if (o->send_only && o->recv_only)
        usage_error("--send-only and --recv-only exclude each other");
    if (o->keep && !o->listen)
        usage_error("-k only goes with -l");
    if (o->data != NULL && o->listen)
        usage_error("-d sends data with a connect: it does not go with -l");
    if (wait_arg != NULL)
        o->wait_ms = parse_wait(wait_arg);
    if (o->dns_server != NULL)
        o->dns_server = parse_dns_server(o->dns_server);
    if (o->ifname != NULL) {
        if (o->ifname[0] == '\0' || strlen(o->ifname) >= IF_NAMESIZE)
            usage_error("-I: '%s' is not an interface name", o->ifname);
        if (if_nametoindex(o->ifname) == 0)
            usage_error("-I: there is no network interface named '%s'", o->ifname);
    }

    int npos = argc - optind;
    char **pos = argv + optind;
    if (o->listen) {
        /* asockcat -l [HOST] SERVICE; ncat's "-l -p PORT" and "-l -s ADDR" work too */
        if (npos > 2)
            usage_error("too many arguments (listen: [HOST] SERVICE)");
        if (npos == 2) {
            if (o->src_host != NULL)
                usage_error("-s and a HOST argument both name the local host");
            o->host = pos[0];
        } else {
            o->host = o->src_host;
        }
        if (npos >= 1) {
            if (o->src_service != NULL)
                usage_error("-p and a SERVICE argument both name the local service");
            o->service = pos[npos - 1];
        } else {
            o->service = o->src_service;
        }
        if (o->service == NULL)
            usage_error("missing SERVICE to listen on");
        o->src_host = NULL;
        o->src_service = NULL;
        if (o->host != NULL)
            check_host("HOST", o->host, o->family);
        check_service("SERVICE", o->service, true);
        if (o->udp && o->ifname != NULL && o->host != NULL)
            usage_error("-u -l -I listens on every address of the interface: no HOST with it");
    } else {
        if (npos < 2)
            usage_error(npos == 0 ? "missing HOST and SERVICE" : "missing SERVICE");
        if (npos > 2)
            usage_error("too many arguments (connect: HOST SERVICE)");
        o->host = pos[0];
        o->service = pos[1];
        check_host("HOST", o->host, o->family);
        check_service("SERVICE", o->service, false);
        if (o->src_host != NULL)
            check_host("-s", o->src_host, o->family);
        if (o->src_service != NULL)
            check_service("-p", o->src_service, true);
        if (o->src_host != NULL && o->family == AF_UNSPEC) {
            /* a literal source fixes the family of the remote addresses */
            asock_endpoint a, b;
            if (asock_endpoint_ip(&a, o->src_host, 0) == 0 &&
                asock_endpoint_ip(&b, o->host, 0) == 0 &&
                asock_endpoint_family(&a) != asock_endpoint_family(&b))
                usage_error("-s %s and %s are of different address families", o->src_host, o->host);
        }
    }
}

int main(int argc, char **argv)
{
    struct acat_opts *o = &g_acat.o;
    parse_args(argc, argv, o);
    signal(SIGPIPE, SIG_IGN);

    asock_loop_options lo;
    memset(&lo, 0, sizeof(lo));
    lo.engine = o->engine;
    lo.dns_servers = o->dns_server;
    int rc = asock_loop_new(&g_acat.loop, &lo);
    if (rc < 0) {
        asock_socket_error err = asock_socket_error_from_errno(rc);
        const char *name = asock_socket_error_name(err);
        acat_msg("cannot create the loop%s%s: %s (%s)",
                 o->engine != ASOCK_ENGINE_AUTO ? " on engine " : "",
                 o->engine != ASOCK_ENGINE_AUTO ? asock_engine_name(o->engine) : "",
                 name != NULL ? name : "SocketError", asock_strerror(rc));
        return ACAT_EXIT_NET;
    }
    acat_verbose("engine %s (%s)", asock_engine_name(asock_loop_engine(g_acat.loop)),
                 asock_loop_engine_reason(g_acat.loop));
    if (o->dns_server != NULL)
        acat_verbose("DNS server %s (--dns-server)", o->dns_server);

    if (o->udp)
        acat_udp_start();
    else
        acat_tcp_start();

    while (!g_acat.done) {
        rc = asock_loop_run(g_acat.loop, ASOCK_RUN_DEFAULT);
        if (rc < 0) {
            acat_msg("the loop failed: %s", asock_strerror(rc));
            g_acat.exit_code = ACAT_EXIT_NET;
            g_acat.done = true;
        } else if (rc == 0 && !g_acat.done) {
            acat_msg("internal error: nothing left to wait for");
            g_acat.exit_code = ACAT_EXIT_NET;
            g_acat.done = true;
        }
    }
    acat_threads_stop();
    asock_loop_free(g_acat.loop);
    g_acat.loop = NULL;
    return g_acat.exit_code;
}
