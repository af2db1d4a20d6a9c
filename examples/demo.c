/* asock demonstration on loopback: needs nothing outside the machine.
 *
 *   1. TCP: a connect that carries data (SEEN by the server before anything else), accepted
 *      through the args model; each call says whether it completed synchronously or pending.
 *   2. UDP: a connected datagram socket receives only from its peer (a second sender on
 *      127.0.0.2 is filtered out), and connecting again changes the peer.
 *   3. Errors by name: a refused connect, a broadcast without ASOCK_OPT_BROADCAST, a family
 *      mismatch refused at the call, an ICMP port-unreachable on connected UDP.
 *
 * Usage: asock-demo [epoll|io_uring]
 */
#include <asock/asock.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int g_failures;

static void check(int ok, const char *what)
{
    printf("  %s %s\n", ok ? "[ok]  " : "[FAIL]", what);
    if (!ok)
        g_failures++;
}

/* Runs the loop until *flag is set (bounded). */
static void run_until(asock_loop *loop, const int *flag)
{
    for (int i = 0; i < 2000 && !*flag; i++) {
        if (asock_loop_run(loop, ASOCK_RUN_ONCE) <= 0)
            break;
    }
}

static const char *how(int rc)
{
    return rc == 0 ? "completed synchronously" : rc == 1 ? "pending" : asock_strerror(rc);
}

static void on_done(asock_socket *sender, asock_args *e)
{
    (void)sender;
    *(int *)e->user_token = 1;
}

/* Starts op and, when it went pending, runs the loop until its callback ran. */
static int start(asock_loop *loop, int (*fn)(asock_socket *, asock_args *), asock_socket *s,
                 asock_args *e, int *done)
{
    *done = 0;
    e->completed = on_done;
    e->user_token = done;
    int rc = fn(s, e);
    if (rc == 1)
        run_until(loop, done);
    return rc;
}

static void demo_tcp(asock_loop *loop)
{
    printf("\n1. TCP connect with data (S6) and accept\n");
    asock_socket *listener = NULL, *client = NULL;
    asock_endpoint ep;
    asock_endpoint_ip(&ep, "127.0.0.1", 0);
    asock_socket_open(loop, AF_INET, SOCK_STREAM, 0, &listener);
    asock_socket_bind(listener, &ep);
    asock_socket_listen(listener, 16);
    asock_socket_local_endpoint(listener, &ep);
    char addr[64];
    asock_endpoint_format(&ep, addr, sizeof(addr));
    printf("  listening on %s\n", addr);

    asock_args acc;
    asock_args_init(&acc);
    int acc_done = 0;
    acc.completed = on_done;
    acc.user_token = &acc_done;
    int arc = asock_accept_async(listener, &acc);
    printf("  accept: %s\n", how(arc));
    if (arc == 0)
        acc_done = 1;

    asock_socket_open(loop, AF_INET, SOCK_STREAM, 0, &client);
    asock_args con;
    asock_args_init(&con);
    static char hello[] = "hello, sent with the connect";
    asock_args_set_buffer(&con, hello, 0, strlen(hello));
    con.remote_endpoint = ep;
    con.connect_timeout_ms = 2000;
    int done = 0;
    int rc = start(loop, asock_connect_async, client, &con, &done);
    printf("  connect: %s -> %s, %zu bytes sent with it\n", how(rc),
           asock_socket_error_name(con.socket_error), con.bytes_transferred);
    check(con.socket_error == ASOCK_SUCCESS && con.bytes_transferred == strlen(hello),
          "the connect carried the whole buffer");
    run_until(loop, &acc_done);
    check(acc.socket_error == ASOCK_SUCCESS && acc.accept_socket != NULL, "accepted");

    asock_endpoint local;
    asock_socket_local_endpoint(client, &local);
    asock_endpoint_format(&local, addr, sizeof(addr));
    printf("  the client was bound by the system to %s (S7)\n", addr);

    char buf[64] = {0};
    asock_args rcv;
    asock_args_init(&rcv);
    asock_args_set_buffer(&rcv, buf, 0, sizeof(buf) - 1);
    rc = start(loop, asock_receive_async, acc.accept_socket, &rcv, &done);
    printf("  server receive: %s -> \"%.*s\"\n", how(rc), (int)rcv.bytes_transferred, buf);
    check(rcv.bytes_transferred == strlen(hello) && memcmp(buf, hello, strlen(hello)) == 0,
          "the server got the connect's data first");

    asock_socket_close(acc.accept_socket);
    asock_socket_close(client);
    asock_socket_close(listener);
}

static asock_socket *udp_bound(asock_loop *loop, const char *ip, asock_endpoint *out)
{
    asock_socket *s = NULL;
    asock_endpoint ep;
    asock_endpoint_ip(&ep, ip, 0);
    asock_socket_open(loop, AF_INET, SOCK_DGRAM, 0, &s);
    asock_socket_bind(s, &ep);
    asock_socket_local_endpoint(s, out);
    return s;
}

static void send_to(asock_loop *loop, asock_socket *s, const asock_endpoint *to, const char *msg)
{
    asock_args e;
    asock_args_init(&e);
    asock_args_set_buffer(&e, (void *)(uintptr_t)msg, 0, strlen(msg));
    e.remote_endpoint = *to;
    int done = 0;
    start(loop, asock_send_to_async, s, &e, &done);
}

static void demo_udp(asock_loop *loop)
{
    printf("\n2. UDP: connect sets the default peer and filters other sources (S4)\n");
    asock_endpoint rx_ep, a_ep, b_ep;
    asock_socket *rx = udp_bound(loop, "127.0.0.1", &rx_ep);
    asock_socket *a = udp_bound(loop, "127.0.0.1", &a_ep);
    asock_socket *b = udp_bound(loop, "127.0.0.2", &b_ep);

    asock_args con;
    asock_args_init(&con);
    con.remote_endpoint = a_ep;
    int done = 0;
    int rc = start(loop, asock_connect_async, rx, &con, &done);
    char addr[64];
    asock_endpoint_format(&a_ep, addr, sizeof(addr));
    printf("  connect to %s: %s -> %s\n", addr, how(rc), asock_socket_error_name(con.socket_error));

    send_to(loop, b, &rx_ep, "from B (127.0.0.2): must be dropped");
    send_to(loop, a, &rx_ep, "from A (the peer)");

    char buf[64] = {0};
    asock_args rcv;
    asock_args_init(&rcv);
    asock_args_set_buffer(&rcv, buf, 0, sizeof(buf) - 1);
    asock_endpoint_ip(&rcv.remote_endpoint, "0.0.0.0", 0);
    rc = start(loop, asock_receive_from_async, rx, &rcv, &done);
    asock_endpoint_format(&rcv.remote_endpoint, addr, sizeof(addr));
    printf("  receive_from: %s -> \"%.*s\" from %s\n", how(rc), (int)rcv.bytes_transferred, buf,
           addr);
    check(strcmp(buf, "from A (the peer)") == 0, "only the peer's datagram arrived");

    /* connecting again changes the peer */
    con.remote_endpoint = b_ep;
    start(loop, asock_connect_async, rx, &con, &done);
    send_to(loop, a, &rx_ep, "from A: now dropped");
    send_to(loop, b, &rx_ep, "from B: the new peer");
    memset(buf, 0, sizeof(buf));
    start(loop, asock_receive_from_async, rx, &rcv, &done);
    printf("  after connecting to B: \"%.*s\"\n", (int)rcv.bytes_transferred, buf);
    check(strcmp(buf, "from B: the new peer") == 0, "connecting again changed the peer");

    asock_socket_close(rx);
    asock_socket_close(a);
    asock_socket_close(b);
}

static void demo_errors(asock_loop *loop)
{
    printf("\n3. Errors carry .NET SocketError names and values (S9)\n");
    /* a port with nothing behind it */
    asock_endpoint closed;
    asock_socket *tmp = udp_bound(loop, "127.0.0.1", &closed);
    asock_socket_close(tmp);
    asock_loop_run(loop, ASOCK_RUN_DEFAULT); /* let the close finish */

    asock_socket *s = NULL;
    asock_socket_open(loop, AF_INET, SOCK_STREAM, 0, &s);
    asock_args e;
    asock_args_init(&e);
    e.remote_endpoint = closed;
    int done = 0;
    int rc = start(loop, asock_connect_async, s, &e, &done);
    printf("  TCP connect to a closed port: %s -> %s (%d), errno %d\n", how(rc),
           asock_socket_error_name(e.socket_error), (int)e.socket_error, e.sys_errno);
    check(e.socket_error == ASOCK_ERR_CONNECTION_REFUSED, "ConnectionRefused = 10061");
    asock_socket_close(s);

    asock_socket_open(loop, AF_INET, SOCK_DGRAM, 0, &s);
    asock_endpoint_ip(&e.remote_endpoint, "127.255.255.255", 9);
    rc = start(loop, asock_connect_async, s, &e, &done);
    printf("  UDP connect to 127.255.255.255: %s -> %s (%s)\n", how(rc),
           asock_socket_error_name(e.socket_error), asock_args_error_detail(&e));
    check(e.socket_error == ASOCK_ERR_ACCESS_DENIED,
          "AccessDenied without ASOCK_OPT_BROADCAST (S5)");
    asock_socket_set_option(s, ASOCK_OPT_BROADCAST, 1);
    rc = start(loop, asock_connect_async, s, &e, &done);
    printf("  again with ASOCK_OPT_BROADCAST: %s -> %s\n", how(rc),
           asock_socket_error_name(e.socket_error));
    check(e.socket_error == ASOCK_SUCCESS, "Success once broadcast is allowed");
    asock_socket_close(s);

    asock_socket_open(loop, AF_INET6, SOCK_STREAM, 0, &s);
    asock_endpoint_ip(&e.remote_endpoint, "127.0.0.1", 9);
    rc = asock_connect_async(s, &e);
    printf("  IPv4 endpoint on an IPv6-only socket: refused at the call: %d (%s) (S8)\n", rc,
           asock_strerror(rc));
    check(rc == -EAFNOSUPPORT, "nothing started");
    asock_socket_close(s);

    /* ICMP port unreachable on a connected UDP socket: the next receive reports it */
    asock_endpoint me;
    s = udp_bound(loop, "127.0.0.1", &me);
    e.remote_endpoint = closed;
    start(loop, asock_connect_async, s, &e, &done);
    asock_args snd;
    asock_args_init(&snd);
    asock_args_set_buffer(&snd, "ping", 0, 4);
    start(loop, asock_send_async, s, &snd, &done);
    char buf[16];
    asock_args rcv;
    asock_args_init(&rcv);
    asock_args_set_buffer(&rcv, buf, 0, sizeof(buf));
    rc = start(loop, asock_receive_async, s, &rcv, &done);
    printf("  UDP receive after sending to a closed port: %s -> %s, status %s\n", how(rc),
           asock_socket_error_name(rcv.socket_error),
           asock_error_status_name(asock_error_get_status(rcv.socket_error)));
    check(rcv.socket_error == ASOCK_ERR_CONNECTION_REFUSED,
          "ConnectionRefused, socket still usable");
    asock_socket_close(s);
}

int main(int argc, char **argv)
{
    asock_loop_options opts;
    memset(&opts, 0, sizeof(opts));
    if (argc > 1) {
        if (strcmp(argv[1], "epoll") == 0) {
            opts.engine = ASOCK_ENGINE_EPOLL;
        } else if (strcmp(argv[1], "io_uring") == 0) {
            opts.engine = ASOCK_ENGINE_IO_URING;
        } else {
            fprintf(stderr, "usage: %s [epoll|io_uring]\n", argv[0]);
            return 2;
        }
    }
    asock_loop *loop = NULL;
    int rc = asock_loop_new(&loop, &opts);
    if (rc < 0) {
        fprintf(stderr, "asock_loop_new: %s\n", asock_strerror(rc));
        return 1;
    }
    printf("asock %s demonstration on loopback\nengine: %s (%s)\n", asock_version_string(),
           asock_engine_name(asock_loop_engine(loop)), asock_loop_engine_reason(loop));
    demo_tcp(loop);
    demo_udp(loop);
    demo_errors(loop);
    asock_loop_free(loop);
    printf("\n%s\n", g_failures == 0 ? "all demonstrations behaved as specified"
                                     : "SOME DEMONSTRATIONS FAILED");
    return g_failures == 0 ? 0 : 1;
}
