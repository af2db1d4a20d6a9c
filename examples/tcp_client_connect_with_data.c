/* A TCP client that sends its first bytes with the connect (SPEC S6, .NET's ConnectAsync with a
 * buffer): one call connects and sends; the callback runs once, after both; bytes_transferred
 * says how much was sent.  With ASOCK_OPT_FAST_OPEN the bytes may ride in the SYN.
 *
 *   tcp_client_connect_with_data                 self-test: a loopback server on the same loop
 *   tcp_client_connect_with_data HOST PORT [TEXT]   send TEXT (default: an HTTP HEAD request) to
 *                                                 HOST (an IP or a name) and print the reply
 */
#include <asock/asock.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void on_done(asock_socket *sender, asock_args *e)
{
    (void)sender;
    *(int *)e->user_token = 1;
}

/* Starts an operation and, if it went pending, runs the loop until its callback ran.  Returns
 * what the start returned (0 synchronous, 1 pending, < 0 refused). */
static int run_op(asock_loop *loop, int (*op)(asock_socket *, asock_args *), asock_socket *s,
                  asock_args *e)
{
    int done = 0;
    e->completed = on_done;
    e->user_token = &done;
    int rc = op(s, e);
    while (rc == 1 && !done && asock_loop_run(loop, ASOCK_RUN_ONCE) > 0) {
    }
    return rc;
}

static const char *how(int rc)
{
    return rc == 0 ? "completed synchronously" : rc == 1 ? "pending, then called back" : "refused";
}

static int self_test(asock_loop *loop)
{
    /* the server: a listener on an ephemeral loopback port, an accept in flight */
    asock_socket *listener;
    asock_endpoint ep;
    asock_endpoint_ip(&ep, "127.0.0.1", 0);
    asock_socket_open(loop, AF_INET, SOCK_STREAM, 0, &listener);
    asock_socket_set_option(listener, ASOCK_OPT_FAST_OPEN, 16); /* accept data in the SYN */
    asock_socket_bind(listener, &ep);
    asock_socket_listen(listener, 0);
    asock_socket_local_endpoint(listener, &ep);

    int accepted = 0;
    asock_args acc;
    asock_args_init(&acc);
    acc.completed = on_done;
    acc.user_token = &accepted;
    if (asock_accept_async(listener, &acc) == 0)
        accepted = 1;

    /* the client: one call connects and sends */
    static char request[] = "PING with the connect\n";
    asock_socket *client;
    asock_socket_open(loop, AF_INET, SOCK_STREAM, 0, &client);
    asock_socket_set_option(client, ASOCK_OPT_FAST_OPEN, 1); /* TCP_FASTOPEN_CONNECT */
    asock_args con;
    asock_args_init(&con);
    con.remote_endpoint = ep;
    con.connect_timeout_ms = 5000;
    asock_args_set_buffer(&con, request, 0, strlen(request));
    int rc = run_op(loop, asock_connect_async, client, &con);
    printf("connect: %s: %s, %zu of %zu bytes sent with it\n", how(rc),
           asock_socket_error_name(con.socket_error), con.bytes_transferred, strlen(request));
    while (!accepted && asock_loop_run(loop, ASOCK_RUN_ONCE) > 0) {
    }

    /* the server reads what came with the connect */
    char buf[128];
    asock_args rcv;
    asock_args_init(&rcv);
    asock_args_set_buffer(&rcv, buf, 0, sizeof(buf));
    int ok = con.socket_error == ASOCK_SUCCESS && acc.socket_error == ASOCK_SUCCESS;
    if (ok) {
        rc = run_op(loop, asock_receive_async, acc.accept_socket, &rcv);
        printf("server received (%s): \"%.*s\"\n", how(rc), (int)rcv.bytes_transferred - 1, buf);
        ok = rcv.bytes_transferred == strlen(request) && memcmp(buf, request, strlen(request)) == 0;
        asock_socket_close(acc.accept_socket);
    }
    asock_socket_close(client);
    asock_socket_close(listener);
    printf("%s\n", ok ? "ok" : "FAILED");
    return ok ? 0 : 1;
}

static int fetch(asock_loop *loop, const char *host, const char *port, const char *text)
{
    char deflt[256];
    if (text == NULL) {
        snprintf(deflt, sizeof(deflt), "HEAD / HTTP/1.0\r\nHost: %s\r\n\r\n", host);
        text = deflt;
    }
    /* the static connect: asock opens the socket (one per address family tried, for a name) */
    asock_args con;
    asock_args_init(&con);
    long p = strtol(port, NULL, 10);
    if (asock_endpoint_ip(&con.remote_endpoint, host, (uint16_t)p) < 0 &&
        asock_endpoint_dns(&con.remote_endpoint, host, (uint16_t)p, AF_UNSPEC) < 0) {
        fprintf(stderr, "bad host %s\n", host);
        return 2;
    }
    con.connect_timeout_ms = 10000;
    asock_args_set_buffer(&con, (void *)(uintptr_t)text, 0, strlen(text));
    int done = 0;
    con.completed = on_done;
    con.user_token = &done;
    int rc = asock_loop_connect_async(loop, SOCK_STREAM, 0, &con);
    while (rc == 1 && !done && asock_loop_run(loop, ASOCK_RUN_ONCE) > 0) {
    }
    if (rc < 0 || con.socket_error != ASOCK_SUCCESS) {
        fprintf(stderr, "connect: %s\n",
                rc < 0 ? asock_strerror(rc) : asock_socket_error_name(con.socket_error));
        return 1;
    }
    fprintf(stderr, "connected; %zu bytes sent with the connect\n", con.bytes_transferred);
    asock_socket *s = con.connect_socket; /* ours now */
    char buf[4096];
    asock_args rcv;
    asock_args_init(&rcv);
    for (;;) {
        asock_args_set_buffer(&rcv, buf, 0, sizeof(buf));
        rc = run_op(loop, asock_receive_async, s, &rcv);
        if (rc < 0 || rcv.socket_error != ASOCK_SUCCESS || rcv.bytes_transferred == 0)
            break;
        fwrite(buf, 1, rcv.bytes_transferred, stdout);
    }
    asock_socket_close(s);
    return 0;
}

int main(int argc, char **argv)
{
    asock_loop *loop;
    int rc = asock_loop_new(&loop, NULL);
    if (rc < 0) {
        fprintf(stderr, "asock_loop_new: %s\n", asock_strerror(rc));
        return 1;
    }
    printf("engine: %s\n", asock_engine_name(asock_loop_engine(loop)));
    int status =
        argc >= 3 ? fetch(loop, argv[1], argv[2], argc > 3 ? argv[3] : NULL) : self_test(loop);
    asock_loop_free(loop);
    return status;
}
