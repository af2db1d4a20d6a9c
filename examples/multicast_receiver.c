/* A multicast receiver with the datagram layer: bind, then join a group; message-received runs
 * for each datagram sent to the group and port.  (Connecting to a multicast address is refused
 * with HostNotFound: multicast is received through a join, SPEC D9.)
 *
 *   multicast_receiver                  self-test on loopback: joins 239.255.0.1 on lo, sends 3
 *                                       datagrams to the group from a second socket, exit 0
 *   multicast_receiver GROUP PORT [IF]  print what arrives for GROUP:PORT until killed
 */
#include <asock/asock.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define SELF_TEST_GROUP "239.255.0.1"
#define SELF_TEST_COUNT 3

static asock_loop *loop;
static const char *group;
static const char *ifname;
static int received;
static int self_test;
static int failed;
static asock_datagram *rx, *tx;

static void on_message(asock_datagram *ds, const asock_datagram_message *msg, void *user)
{
    (void)ds;
    (void)user;
    if (msg->error != ASOCK_SUCCESS) {
        printf("receive error: %s\n", asock_socket_error_name(msg->error));
        return;
    }
    printf("%zu bytes from %s:%s to %s: %.*s\n", msg->length, msg->remote_address, msg->remote_port,
           msg->local_address, (int)msg->length, (const char *)msg->data);
    if (++received == SELF_TEST_COUNT && self_test) {
        asock_datagram_close(rx); /* the loop then runs out of work */
        asock_datagram_close(tx);
    }
}

static void on_error(asock_async *op, void *user)
{
    printf("%s: %s (%s) %s\n", (const char *)user, asock_socket_error_name(asock_async_error(op)),
           asock_error_status_name(asock_error_get_status(asock_async_error(op))),
           asock_async_error_detail(op));
    asock_async_close(op);
    failed = 1;
    asock_datagram_close(rx);
    if (tx != NULL)
        asock_datagram_close(tx);
}

static void on_stream(asock_async *op, void *user)
{
    (void)user;
    asock_output_stream *os = asock_async_result(op);
    asock_async_close(op);
    for (int i = 0; i < SELF_TEST_COUNT; i++) {
        char text[32];
        snprintf(text, sizeof(text), "datagram %d", i);
        /* a write usually completes at once; its async is closed right away (nothing to wait
         * for here: an error would show as a missing datagram) */
        asock_async_close(asock_output_stream_write_async(os, text, strlen(text)));
    }
}

static void on_bound(asock_async *op, void *user)
{
    (void)user;
    asock_async_close(op);
    asock_datagram_information info;
    asock_datagram_get_information(rx, &info);
    int rc = asock_datagram_join_multicast_group(rx, group);
    printf("bound to port %s; join %s%s%s: %s\n", info.local_port, group, ifname ? " on " : "",
           ifname ? ifname : "", rc == 0 ? "ok" : asock_strerror(rc));
    if (rc < 0) {
        failed = 1;
        asock_datagram_close(rx);
        return;
    }
    if (!self_test)
        return;
    /* the sender: a second datagram socket with an output stream to the group */
    asock_datagram_new(loop, &tx);
    asock_datagram_set_multicast_interface(tx, ifname);
    asock_datagram_set_multicast_loopback(tx, 1);
    asock_async *s = asock_datagram_get_output_stream_async(tx, group, info.local_port);
    asock_async_done(s, on_stream, on_error, "get_output_stream");
}

int main(int argc, char **argv)
{
    const char *port = NULL;
    if (argc >= 3) {
        group = argv[1];
        port = argv[2];
        ifname = argc > 3 ? argv[3] : NULL;
    } else {
        self_test = 1;
        group = SELF_TEST_GROUP;
        ifname = "lo";
    }
    if (asock_loop_new(&loop, NULL) < 0)
        return 1;
    asock_datagram_new(loop, &rx);
    asock_datagram_on_message_received(rx, on_message, NULL);
    if (ifname != NULL)
        asock_datagram_set_multicast_interface(rx, ifname); /* joins use it */
    /* every local address, an ephemeral port for the self-test */
    asock_async *op = asock_datagram_bind_service_name_async(rx, port, NULL);
    asock_async_done(op, on_bound, on_error, "bind");

    asock_loop_run(loop, ASOCK_RUN_DEFAULT);
    asock_loop_free(loop);
    if (self_test)
        printf("%d of %d datagrams received: %s\n", received, SELF_TEST_COUNT,
               received == SELF_TEST_COUNT && !failed ? "ok" : "FAILED");
    return received == SELF_TEST_COUNT && !failed ? 0 : 1;
}
