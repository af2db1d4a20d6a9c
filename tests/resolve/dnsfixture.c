/* Helper of the dnsmasq fixture (tests/resolve/dnsmasq.sh): no dig on the machine, so this does
 * the two things the script needs.
 *   dnsfixture freeport ADDR udp|tcp     prints a port free on ADDR (for both UDP and TCP)
 *   dnsfixture probe ADDR PORT NAME      exit 0 when an A query for NAME gets a NOERROR answer
 *                                        with at least one record within 200 ms */
#define _GNU_SOURCE 1
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

static int addr_of(const char *ip, unsigned port, struct sockaddr_in *sa)
{
    memset(sa, 0, sizeof(*sa));
    sa->sin_family = AF_INET;
    sa->sin_port = htons((uint16_t)port);
    return inet_pton(AF_INET, ip, &sa->sin_addr) == 1 ? 0 : -1;
}

static int bind_ok(int type, const struct sockaddr_in *sa)
{
    int fd = socket(AF_INET, type | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return 0;
    int ok = bind(fd, (const struct sockaddr *)sa, sizeof(*sa)) == 0;
    close(fd);
    return ok;
}

static int freeport(const char *ip)
{
    for (int i = 0; i < 50; i++) {
        struct sockaddr_in sa;
        if (addr_of(ip, 0, &sa) != 0)
            return 2;
        int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
        if (fd < 0 || bind(fd, (struct sockaddr *)&sa, sizeof(sa)) != 0)
            return 2;
        socklen_t len = sizeof(sa);
        getsockname(fd, (struct sockaddr *)&sa, &len);
        close(fd);
        /* dnsmasq listens on UDP and TCP with one number */
        if (bind_ok(SOCK_DGRAM, &sa) && bind_ok(SOCK_STREAM, &sa)) {
            printf("%u\n", (unsigned)ntohs(sa.sin_port));
            return 0;
        }
    }
    return 1;
}

static int probe(const char *ip, unsigned port, const char *name)
{
    unsigned char q[300];
    size_t n = 0;
    const unsigned char hdr[12] = {0x12, 0x34, 0x01, 0x00, 0, 1, 0, 0, 0, 0, 0, 0};
    memcpy(q, hdr, sizeof(hdr));
    n = sizeof(hdr);
    const char *p = name;
    while (*p != '\0') {
        const char *dot = strchr(p, '.');
        size_t l = dot != NULL ? (size_t)(dot - p) : strlen(p);
        if (l == 0 || l > 63 || n + l + 6 > sizeof(q))
            return 2;
        q[n++] = (unsigned char)l;
        memcpy(q + n, p, l);
        n += l;
        p += l;
        if (*p == '.')
            p++;
    }
    q[n++] = 0;
    q[n++] = 0;
    q[n++] = 1; /* A */
    q[n++] = 0;
    q[n++] = 1; /* IN */

    struct sockaddr_in sa;
    if (addr_of(ip, port, &sa) != 0)
        return 2;
    int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return 2;
    int rc = 1;
    if (sendto(fd, q, n, 0, (struct sockaddr *)&sa, sizeof(sa)) == (ssize_t)n) {
        struct pollfd pfd = {.fd = fd, .events = POLLIN};
        if (poll(&pfd, 1, 200) == 1) {
            unsigned char a[512];
            ssize_t got = recv(fd, a, sizeof(a), 0);
            if (got >= 12 && a[0] == 0x12 && a[1] == 0x34 && (a[3] & 0x0f) == 0 &&
                (a[6] != 0 || a[7] != 0))
                rc = 0;
        }
    }
    close(fd);
    return rc;
}

int main(int argc, char **argv)
{
    if (argc == 4 && strcmp(argv[1], "freeport") == 0)
        return freeport(argv[2]);
    if (argc == 5 && strcmp(argv[1], "probe") == 0)
        return probe(argv[2], (unsigned)strtoul(argv[3], NULL, 10), argv[4]);
    fprintf(stderr, "usage: %s freeport ADDR udp|tcp | probe ADDR PORT NAME\n", argv[0]);
    return 2;
}
