/* A datagram socket connected by endpoint pair (SPEC D1-D5, the Windows Runtime's
 * DatagramSocket.ConnectAsync(EndpointPair)): host *names* and service *names*, resolved on the
 * loop — the remote service through the services database, else DNS SRV _SERVICE._udp.HOST
 * (RFC 2782: priority, then weight).  Every operation is an async action with a success and an
 * error handler; errors carry a SocketError and its SocketErrorStatus.
 *
 *   datagram_endpoint_pair                        self-test on loopback: an echo peer bound by
 *                                                 bind_endpoint, a client connected by endpoint
 *                                                 pair, one round trip, exit 0
 *   datagram_endpoint_pair DNS_SERVER HOST SERVICE   connect to HOST SERVICE (an SRV name such
 *                                                 as "echo2") using that DNS server, print the
 *                                                 endpoint the pair resolved to, send a datagram
 */
#include <asock/asock.h>

#include <stdio.h>
#include <string.h>

static asock_loop *loop;
static asock_datagram *peer, *client;
static int ok;

static void show_error(const char *what, asock_async *op)
{
    asock_socket_error err = asock_async_error(op);
    printf("%s: %s, status %s (%s)\n", what, asock_socket_error_name(err),
           asock_error_status_name(asock_error_get_status(err)), asock_async_error_detail(op));
}

static void on_error(asock_async *op, void *user)
{
    show_error(user, op);
    asock_async_close(op);
    asock_datagram_close(client);
    if (peer != NULL)
        asock_datagram_close(peer);
}

/* ---- the echo peer (self-test): replies to each sender through an output stream ---- */

struct reply {
    char text[256];
    size_t len;
};

static void on_reply_stream(asock_async *op, void *user)
{
    struct reply *r = user;
    asock_output_stream *os = asock_async_result(op);
    asock_async_close(op);
    asock_async_close(asock_output_stream_write_async(os, r->text, r->len));
}

static void on_peer_message(asock_datagram *ds, const asock_datagram_message *msg, void *user)
{
    (void)user;
    if (msg->error != ASOCK_SUCCESS)
        return;
    static struct reply r; /* one datagram in this demo */
    r.len = msg->length < sizeof(r.text) ? msg->length : sizeof(r.text);
    memcpy(r.text, msg->data, r.len); /* msg is valid during the callback only */
    asock_async *op =
        asock_datagram_get_output_stream_async(ds, msg->remote_address, msg->remote_port);
    asock_async_done(op, on_reply_stream, on_error, &r);
}

/* ---- the client ---- */

static void on_client_message(asock_datagram *ds, const asock_datagram_message *msg, void *user)
{
    (void)ds;
    (void)user;
    if (msg->error != ASOCK_SUCCESS) {
        printf("client: %s (status %s)\n", asock_socket_error_name(msg->error),
               asock_error_status_name(asock_error_get_status(msg->error)));
        return;
    }
    printf("client got \"%.*s\" from %s:%s\n", (int)msg->length, (const char *)msg->data,
           msg->remote_address, msg->remote_port);
    ok = msg->length == 4 && memcmp(msg->data, "ping", 4) == 0;
    asock_datagram_close(client); /* done: the loop runs out of work */
    asock_datagram_close(peer);
}

static void on_written(asock_async *op, void *user)
{
    (void)user;
    printf("client wrote %zu bytes\n", asock_async_bytes_transferred(op));
    asock_async_close(op);
    if (peer == NULL) { /* the SRV demo has no echo peer: one datagram and done */
        ok = 1;
        asock_datagram_close(client);
    }
}

static void on_connected(asock_async *op, void *user)
{
    (void)user;
    asock_async_close(op);
    asock_datagram_information info;
    asock_datagram_get_information(client, &info);
    printf("connected: local %s port %s -> remote %s port %s\n", info.local_address,
           info.local_port, info.remote_address, info.remote_port);
    asock_async *w =
        asock_output_stream_write_async(asock_datagram_output_stream(client), "ping", 4);
    asock_async_done(w, on_written, on_error, "write");
}

static void connect_pair(const char *remote_host, const char *remote_service)
{
    asock_datagram_new(loop, &client);
    asock_datagram_on_message_received(client, on_client_message, NULL); /* before connect */
    asock_endpoint_pair pair = {
        .local_host_name = NULL,    /* the system picks */
        .local_service_name = NULL, /* the system picks */
        .remote_host_name = remote_host,
        .remote_service_name = remote_service,
    };
    printf("connect_async(pair: remote %s, service %s)\n", remote_host, remote_service);
    asock_async *op = asock_datagram_connect_async(client, &pair);
    asock_async_done(op, on_connected, on_error, "connect");
}

static void on_peer_bound(asock_async *op, void *user)
{
    (void)user;
    asock_async_close(op);
    asock_datagram_information info;
    asock_datagram_get_information(peer, &info);
    printf("echo peer bound to address %s, port %s\n", info.local_address, info.local_port);
    static char port[8];
    snprintf(port, sizeof(port), "%s", info.local_port);
    connect_pair("localhost", port); /* a name: resolved on the loop */
}

int main(int argc, char **argv)
{
    asock_loop_options opts;
    memset(&opts, 0, sizeof(opts));
    if (argc >= 4)
        opts.dns_servers = argv[1];
    if (asock_loop_new(&loop, &opts) < 0)
        return 1;
    if (argc >= 4) {
        connect_pair(argv[2], argv[3]);
    } else {
        asock_datagram_new(loop, &peer);
        asock_datagram_on_message_received(peer, on_peer_message, NULL);
        /* every local address (dual mode): "localhost" may resolve to ::1 or 127.0.0.1 */
        asock_async *op = asock_datagram_bind_endpoint_async(peer, NULL, NULL);
        asock_async_done(op, on_peer_bound, on_error, "bind");
    }
    asock_loop_run(loop, ASOCK_RUN_DEFAULT);
    asock_loop_free(loop);
    printf("%s\n", ok ? "ok" : "FAILED");
    return ok ? 0 : 1;
}
