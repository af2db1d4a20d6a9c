/* A connected UDP socket (SPEC S1/S4, the socket layer): connecting a datagram socket sets its
 * default peer, and from then on only that peer's datagrams arrive — anything another source
 * sends is dropped by the kernel.  Connecting again changes the peer.
 *
 *   udp_connected_peer       self-test on loopback (127.0.0.1 and 127.0.0.2), exit 0
 */
#include <asock/asock.h>

#include <stdio.h>
#include <string.h>

static asock_loop *loop;

static void on_done(asock_socket *sender, asock_args *e)
{
    (void)sender;
    *(int *)e->user_token = 1;
}

static asock_socket *udp_on(const char *ip, asock_endpoint *bound)
{
    asock_socket *s = NULL;
    asock_endpoint ep;
    asock_endpoint_ip(&ep, ip, 0);
    asock_socket_open(loop, AF_INET, SOCK_DGRAM, 0, &s);
    asock_socket_bind(s, &ep);
    asock_socket_local_endpoint(s, bound);
    return s;
}

static void send_to(asock_socket *from, const asock_endpoint *to, const char *text)
{
    asock_args e;
    asock_args_init(&e);
    int done = 0;
    e.completed = on_done;
    e.user_token = &done;
    e.remote_endpoint = *to;
    asock_args_set_buffer(&e, (void *)(uintptr_t)text, 0, strlen(text));
    int rc = asock_send_to_async(from, &e);
    while (rc == 1 && !done && asock_loop_run(loop, ASOCK_RUN_ONCE) > 0) {
    }
}

/* Connect s to peer: a datagram connect completes at once (no handshake). */
static void connect_to(asock_socket *s, const asock_endpoint *peer)
{
    asock_args e;
    asock_args_init(&e);
    int done = 0;
    e.completed = on_done;
    e.user_token = &done;
    e.remote_endpoint = *peer;
    int rc = asock_connect_async(s, &e);
    while (rc == 1 && !done && asock_loop_run(loop, ASOCK_RUN_ONCE) > 0) {
    }
    char a[64];
    asock_endpoint_format(peer, a, sizeof(a));
    printf("connected to %s: %s\n", a, asock_socket_error_name(e.socket_error));
}

/* Receives one datagram on s into buf (as text).  The datagrams were sent before, so the
 * receive usually completes synchronously (returns 0, no callback). */
static void receive_one(asock_socket *s, char *buf, size_t len)
{
    asock_args e;
    asock_args_init(&e);
    int done = 0;
    e.completed = on_done;
    e.user_token = &done;
    asock_args_set_buffer(&e, buf, 0, len - 1);
    int rc = asock_receive_async(s, &e);
    while (rc == 1 && !done && asock_loop_run(loop, ASOCK_RUN_ONCE) > 0) {
    }
    printf("  receive %s\n", rc == 0 ? "completed synchronously" : "was pending");
    buf[e.socket_error == ASOCK_SUCCESS ? e.bytes_transferred : 0] = '\0';
}

int main(void)
{
    if (asock_loop_new(&loop, NULL) < 0)
        return 1;
    asock_endpoint rx_ep, a_ep, b_ep;
    asock_socket *rx = udp_on("127.0.0.1", &rx_ep);
    asock_socket *a = udp_on("127.0.0.1", &a_ep);
    asock_socket *b = udp_on("127.0.0.2", &b_ep);
    int ok = 1;
    char buf[128];

    connect_to(rx, &a_ep);
    send_to(b, &rx_ep, "from B (not the peer)"); /* dropped: B is not the peer */
    send_to(a, &rx_ep, "from A (the peer)");
    receive_one(rx, buf, sizeof(buf));
    printf("  received: \"%s\"\n", buf);
    ok &= strcmp(buf, "from A (the peer)") == 0;

    connect_to(rx, &b_ep); /* the peer is B now */
    send_to(a, &rx_ep, "from A (no longer the peer)");
    send_to(b, &rx_ep, "from B (the new peer)");
    receive_one(rx, buf, sizeof(buf));
    printf("  received: \"%s\"\n", buf);
    ok &= strcmp(buf, "from B (the new peer)") == 0;

    asock_socket_close(rx);
    asock_socket_close(a);
    asock_socket_close(b);
    asock_loop_free(loop);
    printf("%s\n", ok ? "ok" : "FAILED");
    return ok ? 0 : 1;
}
