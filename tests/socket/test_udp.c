/* Datagram sockets in the async-args model (SPEC S1, S4, S5, S11; dotnet-sockets.md §2.2, §2.9,
 * §5): connect sets the default peer and filters other sources, send_to / receive_from without
 * connect, broadcast needs ASOCK_OPT_BROADCAST, truncation reports MSG_TRUNC, ICMP port-unreachable
 * on a connected socket, packet info. */
#define _GNU_SOURCE 1
#include "net.h"

#include <errno.h>
#include <net/if.h>
#include <unistd.h>

/* receive_from with an IP template of family, into buf; waits either way. */
static void recv_from(asock_loop *loop, asock_t_op *op, asock_socket *s, void *buf, size_t cap)
{
    int family = asock_socket_family(s);
    asock_t_ep(&op->e.remote_endpoint, family == AF_INET6 ? "::" : "0.0.0.0", 0);
    assert_int_equal(asock_args_set_buffer(&op->e, buf, 0, cap), 0);
    op->e.socket_flags = 0;
    asock_t_do(loop, op, asock_receive_from_async, s);
}

/* Datagrams that arrive together, or while no receive waits, all reach receives re-armed from
 * their own callbacks (which go to the engine untried): nothing stalls waiting for a readiness
 * report that would not come (the epoll engine waits level-triggered on datagram sockets). */
struct burst_ctx {
    asock_socket *s;
    char bufs[8][8];
    int got;
    int stop_at;
};

static void burst_then(asock_t_op *op, asock_socket *sender)
{
    struct burst_ctx *c = op->ctx;
    asock_t_assert_err(&op->e, ASOCK_SUCCESS);
    assert_int_equal(op->e.bytes_transferred, 1);
    c->got++;
    if (c->got == c->stop_at || c->got == 8)
        return;
    assert_int_equal(asock_args_set_buffer(&op->e, c->bufs[c->got], 0, 8), 0);
    int rc = asock_t_start(op, asock_receive_async, sender);
    if (rc == 0)
        burst_then(op, sender); /* (epoll with a datagram already there would complete at once) */
}

static void udp_burst_reaches_rearmed_receives(void **state)
{
    (void)state;
    asock_loop *loop = asock_t_loop();
    uint16_t pa = 0;
    int a = asock_t_udp_socket(AF_INET, "127.0.0.1", &pa);
    asock_socket *s = asock_t_open(loop, AF_INET, SOCK_DGRAM);
    asock_t_bind(s, "127.0.0.1", 0);
    uint16_t sport = asock_t_local_port(s);
    struct burst_ctx c;
    memset(&c, 0, sizeof(c));
    c.stop_at = 3;
    asock_t_op op;
    asock_t_op_init(&op);
    op.then = burst_then;
    op.ctx = &c;
    assert_int_equal(asock_args_set_buffer(&op.e, c.bufs[0], 0, 8), 0);
    asock_t_assert_rc(asock_t_start(&op, asock_receive_async, s), 1);
    /* three at once, before the loop runs: one readiness report for all of them */
    asock_t_sendto(a, "1", 1, "127.0.0.1", sport);
    asock_t_sendto(a, "2", 1, "127.0.0.1", sport);
    asock_t_sendto(a, "3", 1, "127.0.0.1", sport);
    asock_t_spin(loop, 300);
    assert_int_equal(c.got, 3);
    assert_memory_equal(c.bufs[0], "1", 1);
    assert_memory_equal(c.bufs[1], "2", 1);
    assert_memory_equal(c.bufs[2], "3", 1);

    /* one arrives while nobody receives (the wait reports it to no one and stops listening);
     * a receive then takes it at once, and the next one waits and gets the one after */
    asock_t_sendto(a, "4", 1, "127.0.0.1", sport);
    asock_t_spin(loop, 100);
    char b4[8], b5[8];
    asock_t_op r4, r5;
    asock_t_op_init(&r4);
    asock_t_op_init(&r5);
    assert_int_equal(asock_args_set_buffer(&r4.e, b4, 0, sizeof(b4)), 0);
    asock_t_do(loop, &r4, asock_receive_async, s);
    asock_t_assert_err(&r4.e, ASOCK_SUCCESS);
    assert_memory_equal(b4, "4", 1);
    assert_int_equal(asock_args_set_buffer(&r5.e, b5, 0, sizeof(b5)), 0);
    asock_t_assert_rc(asock_t_start(&r5, asock_receive_async, s), 1);
    asock_t_spin(loop, 50);
    asock_t_sendto(a, "5", 1, "127.0.0.1", sport);
    asock_t_wait(loop, &r5, ASOCK_T_WAIT_MS);
    asock_t_assert_err(&r5.e, ASOCK_SUCCESS);
    assert_memory_equal(b5, "5", 1);
    asock_t_op_check(&r4);
    asock_t_op_check(&r5);

    asock_socket_close(s);
    asock_t_close_fd(a);
    asock_t_end(loop);
}

/* S1/S4: connect sets the default peer (synchronously), datagrams from another source are not
 * delivered while the peer's are; connecting again changes the peer. */
static void udp_connect_default_peer_and_filter(void **state)
{
    (void)state;
    asock_loop *loop = asock_t_loop();
    uint16_t pa = 0, pb = 0;
    int a = asock_t_udp_socket(AF_INET, "127.0.0.1", &pa);
    int b = asock_t_udp_socket(AF_INET, "127.0.0.2", &pb);
    asock_socket *s = asock_t_open(loop, AF_INET, SOCK_DGRAM);
    asock_t_bind(s, "127.0.0.1", 0);
    uint16_t sport = asock_t_local_port(s);

    asock_t_op op;
    asock_t_op_init(&op);
    asock_t_ep(&op.e.remote_endpoint, "127.0.0.1", pa);
    asock_t_assert_rc(asock_t_start(&op, asock_connect_async, s), 0); /* never deferred */
    asock_t_assert_err(&op.e, ASOCK_SUCCESS);
    assert_int_equal(op.e.last_operation, ASOCK_OP_CONNECT);
    assert_int_equal(op.e.bytes_transferred, 0);
    assert_ptr_equal(op.e.connect_socket, s);
    assert_int_equal(asock_socket_connected(s), 1);
    asock_endpoint remote;
    assert_int_equal(asock_socket_remote_endpoint(s, &remote), 0);
    asock_t_assert_ep(&remote, "127.0.0.1", pa);

    /* send without an address goes to the peer */
    assert_int_equal(asock_args_set_buffer(&op.e, "to-a", 0, 4), 0);
    asock_t_do(loop, &op, asock_send_async, s);
    asock_t_assert_err(&op.e, ASOCK_SUCCESS);
    assert_int_equal(op.e.bytes_transferred, 4);
    char buf[64];
    struct sockaddr_storage from;
    assert_int_equal(asock_t_recvfrom(a, buf, sizeof(buf), 2000, &from), 4);
    assert_memory_equal(buf, "to-a", 4);
    assert_int_equal(asock_t_sa_port(&from), sport);

    /* B's datagram is dropped, A's arrives */
    asock_t_sendto(b, "B1", 2, "127.0.0.1", sport);
    asock_t_sendto(a, "A1", 2, "127.0.0.1", sport);
    memset(buf, 0, sizeof(buf));
    recv_from(loop, &op, s, buf, sizeof(buf));
    asock_t_assert_err(&op.e, ASOCK_SUCCESS);
    assert_int_equal(op.e.bytes_transferred, 2);
    assert_memory_equal(buf, "A1", 2);
    asock_t_assert_ep(&op.e.remote_endpoint, "127.0.0.1", pa);

    /* connect again: B is the peer now */
    asock_t_ep(&op.e.remote_endpoint, "127.0.0.2", pb);
    assert_int_equal(asock_args_set_buffer(&op.e, NULL, 0, 0), 0);
    asock_t_assert_rc(asock_t_start(&op, asock_connect_async, s), 0);
    asock_t_assert_err(&op.e, ASOCK_SUCCESS);
    assert_int_equal(asock_socket_remote_endpoint(s, &remote), 0);
    asock_t_assert_ep(&remote, "127.0.0.2", pb);
    asock_t_sendto(a, "A2", 2, "127.0.0.1", sport);
    asock_t_sendto(b, "B2", 2, "127.0.0.1", sport);
    memset(buf, 0, sizeof(buf));
    recv_from(loop, &op, s, buf, sizeof(buf));
    asock_t_assert_err(&op.e, ASOCK_SUCCESS);
    assert_int_equal(op.e.bytes_transferred, 2);
    assert_memory_equal(buf, "B2", 2);
    asock_t_assert_ep(&op.e.remote_endpoint, "127.0.0.2", pb);

    /* and a plain receive on the connected socket works too */
    asock_t_sendto(b, "B3", 2, "127.0.0.1", sport);
    assert_int_equal(asock_args_set_buffer(&op.e, buf, 0, sizeof(buf)), 0);
    asock_t_do(loop, &op, asock_receive_async, s);
    asock_t_assert_err(&op.e, ASOCK_SUCCESS);
    assert_int_equal(op.e.bytes_transferred, 2);
    assert_memory_equal(buf, "B3", 2);

    asock_socket_close(s);
    asock_t_close_fd(a);
    asock_t_close_fd(b);
    asock_t_end(loop);
    asock_t_op_check(&op);
}

/* S4: send_to / receive_from need no connect; receive_from takes datagrams from every source and
 * replaces remote_endpoint with the sender. */
static void udp_send_to_receive_from(int family, const char *addr)
{
    asock_loop *loop = asock_t_loop();
    uint16_t pa = 0;
    int a = asock_t_udp_socket(family, addr, &pa);
    asock_socket *s = asock_t_open(loop, family, SOCK_DGRAM);

    /* unbound: the first send_to binds it */
    asock_t_op op;
    asock_t_op_init(&op);
    asock_t_ep(&op.e.remote_endpoint, addr, pa);
    assert_int_equal(asock_args_set_buffer(&op.e, "hello", 0, 5), 0);
    asock_t_do(loop, &op, asock_send_to_async, s);
    asock_t_assert_err(&op.e, ASOCK_SUCCESS);
    assert_int_equal(op.e.bytes_transferred, 5);
    assert_int_equal(op.e.last_operation, ASOCK_OP_SEND_TO);
    assert_int_equal(asock_socket_connected(s), 0);
    uint16_t sport = asock_t_local_port(s);
    assert_int_not_equal(sport, 0);

    char buf[64];
    struct sockaddr_storage from;
    assert_int_equal(asock_t_recvfrom(a, buf, sizeof(buf), 2000, &from), 5);
    assert_memory_equal(buf, "hello", 5);
    assert_int_equal(asock_t_sa_port(&from), sport);

    /* a pending receive_from, then the reply */
    asock_t_ep(&op.e.remote_endpoint, family == AF_INET6 ? "::" : "0.0.0.0", 0);
    memset(buf, 0, sizeof(buf));
    assert_int_equal(asock_args_set_buffer(&op.e, buf, 0, sizeof(buf)), 0);
    asock_t_assert_rc(asock_t_start(&op, asock_receive_from_async, s), 1);
    assert_int_equal(op.e.last_operation, ASOCK_OP_RECEIVE_FROM);
    asock_t_sendto(a, "world!", 6, addr, sport);
    asock_t_wait(loop, &op, ASOCK_T_WAIT_MS);
    asock_t_assert_err(&op.e, ASOCK_SUCCESS);
    assert_int_equal(op.e.bytes_transferred, 6);
    assert_memory_equal(buf, "world!", 6);
    asock_t_assert_ep(&op.e.remote_endpoint, addr, pa);
    assert_ptr_equal(op.sender, s);

    /* from a second source too (no connect, no filter) */
    uint16_t pb = 0;
    int b = asock_t_udp_socket(family, addr, &pb);
    asock_t_sendto(b, "b", 1, addr, sport);
    recv_from(loop, &op, s, buf, sizeof(buf));
    asock_t_assert_err(&op.e, ASOCK_SUCCESS);
    assert_int_equal(op.e.bytes_transferred, 1);
    asock_t_assert_ep(&op.e.remote_endpoint, addr, pb);

    /* a zero-length datagram is a datagram: 0 bytes, Success, the sender filled in */
    asock_t_sendto(a, "", 0, addr, sport);
    recv_from(loop, &op, s, buf, sizeof(buf));
    asock_t_assert_err(&op.e, ASOCK_SUCCESS);
    assert_int_equal(op.e.bytes_transferred, 0);
    asock_t_assert_ep(&op.e.remote_endpoint, addr, pa);

    asock_socket_close(s);
    asock_t_close_fd(a);
    asock_t_close_fd(b);
    asock_t_end(loop);
    asock_t_op_check(&op);
}

static void udp_send_to_receive_from_v4(void **state)
{
    (void)state;
    udp_send_to_receive_from(AF_INET, "127.0.0.1");
}

static void udp_send_to_receive_from_v6(void **state)
{
    (void)state;
    udp_send_to_receive_from(AF_INET6, "::1");
}

/* S5: connecting to a broadcast address fails with AccessDenied unless ASOCK_OPT_BROADCAST is set;
 * the same for send_to. */
static void udp_broadcast_needs_option(void **state)
{
    (void)state;
    asock_loop *loop = asock_t_loop();
    uint16_t port = asock_t_free_port(AF_INET, "127.0.0.1", SOCK_DGRAM);
    asock_socket *s = asock_t_open(loop, AF_INET, SOCK_DGRAM);

    asock_t_op op;
    asock_t_op_init(&op);
    asock_t_ep(&op.e.remote_endpoint, "127.255.255.255", port);
    asock_t_assert_rc(asock_t_start(&op, asock_connect_async, s), 0);
    asock_t_assert_err(&op.e, ASOCK_ERR_ACCESS_DENIED);
    assert_int_equal((int)op.e.socket_error, 10013);
    assert_int_equal(op.e.sys_errno, EACCES);
    assert_null(op.e.connect_socket);
    assert_int_equal(asock_socket_connected(s), 0);

    assert_int_equal(asock_args_set_buffer(&op.e, "bc", 0, 2), 0);
    asock_t_do(loop, &op, asock_send_to_async, s);
    asock_t_assert_err(&op.e, ASOCK_ERR_ACCESS_DENIED);
    assert_int_equal(op.e.sys_errno, EACCES);
    assert_int_equal(op.e.bytes_transferred, 0);

    assert_int_equal(asock_socket_set_option(s, ASOCK_OPT_BROADCAST, 1), 0);
    assert_int_equal(asock_args_set_buffer(&op.e, NULL, 0, 0), 0);
    asock_t_assert_rc(asock_t_start(&op, asock_connect_async, s), 0);
    asock_t_assert_err(&op.e, ASOCK_SUCCESS);
    assert_int_equal(op.e.sys_errno, 0);
    assert_ptr_equal(op.e.connect_socket, s);
    assert_int_equal(asock_socket_connected(s), 1);

    asock_socket_close(s);
    asock_t_end(loop);
    asock_t_op_check(&op);
}

/* A datagram larger than the buffer: bytes_transferred = the buffer size, MSG_TRUNC in
 * socket_flags; the next datagram is untouched.  For receive_from, receive and
 * receive_message_from. */
static void udp_truncated_datagram(void **state)
{
    (void)state;
    asock_loop *loop = asock_t_loop();
    uint16_t pa = 0;
    int a = asock_t_udp_socket(AF_INET, "127.0.0.1", &pa);
    asock_socket *s = asock_t_open(loop, AF_INET, SOCK_DGRAM);
    asock_t_bind(s, "127.0.0.1", 0);
    uint16_t sport = asock_t_local_port(s);

    unsigned char big[100];
    asock_t_fill(big, sizeof(big), 3);
    unsigned char buf[10];
    asock_t_op op;
    asock_t_op_init(&op);

    for (int kind = 0; kind < 3; kind++) {
        asock_t_sendto(a, big, sizeof(big), "127.0.0.1", sport);
        asock_t_sendto(a, "small", 5, "127.0.0.1", sport);
        asock_t_start_fn *fn = kind == 0   ? asock_receive_from_async
                               : kind == 1 ? asock_receive_message_from_async
                                           : asock_receive_async;
        if (kind == 2) {
            asock_t_ep(&op.e.remote_endpoint, "127.0.0.1", pa);
            asock_t_assert_rc(asock_t_start(&op, asock_connect_async, s), 0);
            asock_t_assert_err(&op.e, ASOCK_SUCCESS);
        }
        asock_t_ep(&op.e.remote_endpoint, "0.0.0.0", 0);
        assert_int_equal(asock_args_set_buffer(&op.e, buf, 0, sizeof(buf)), 0);
        op.e.socket_flags = 0;
        asock_t_do(loop, &op, fn, s);
        asock_t_assert_err(&op.e, ASOCK_SUCCESS);
        assert_int_equal(op.e.bytes_transferred, sizeof(buf));
        if ((op.e.socket_flags & MSG_TRUNC) == 0)
            fail_msg("kind %d: socket_flags 0x%x lacks MSG_TRUNC", kind, op.e.socket_flags);
        assert_memory_equal(buf, big, sizeof(buf));

        memset(buf, 0, sizeof(buf));
        op.e.socket_flags = 0;
        asock_t_do(loop, &op, fn, s);
        asock_t_assert_err(&op.e, ASOCK_SUCCESS);
        assert_int_equal(op.e.bytes_transferred, 5);
        assert_int_equal(op.e.socket_flags & MSG_TRUNC, 0);
        assert_memory_equal(buf, "small", 5);
    }

    asock_socket_close(s);
    asock_t_close_fd(a);
    asock_t_end(loop);
    asock_t_op_check(&op);
}

/* A peer's ICMP port-unreachable on a connected UDP socket: the next receive completes with
 * ConnectionRefused (ECONNREFUSED), and the socket stays usable. */
static void udp_icmp_refused_then_usable(int receive_first)
{
    asock_loop *loop = asock_t_loop();
    uint16_t port = asock_t_free_port(AF_INET, "127.0.0.1", SOCK_DGRAM);
    asock_socket *s = asock_t_open(loop, AF_INET, SOCK_DGRAM);
    asock_t_op op, rcv;
    asock_t_op_init(&op);
    asock_t_op_init(&rcv);
    asock_t_ep(&op.e.remote_endpoint, "127.0.0.1", port);
    asock_t_assert_rc(asock_t_start(&op, asock_connect_async, s), 0);
    asock_t_assert_err(&op.e, ASOCK_SUCCESS);

    char buf[32];
    assert_int_equal(asock_args_set_buffer(&rcv.e, buf, 0, sizeof(buf)), 0);
    if (receive_first)
        asock_t_assert_rc(asock_t_start(&rcv, asock_receive_async, s), 1);

    assert_int_equal(asock_args_set_buffer(&op.e, "x", 0, 1), 0);
    asock_t_do(loop, &op, asock_send_async, s);
    asock_t_assert_err(&op.e, ASOCK_SUCCESS);

    if (!receive_first)
        asock_t_do(loop, &rcv, asock_receive_async, s);
    else
        asock_t_wait(loop, &rcv, ASOCK_T_WAIT_MS);
    asock_t_assert_err(&rcv.e, ASOCK_ERR_CONNECTION_REFUSED);
    assert_int_equal(rcv.e.sys_errno, ECONNREFUSED);
    assert_int_equal(rcv.e.bytes_transferred, 0);

    /* still usable: the peer appears on that port */
    int peer = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    assert_true(peer >= 0);
    struct sockaddr_storage ss;
    socklen_t len = asock_t_sockaddr("127.0.0.1", port, &ss);
    assert_int_equal(bind(peer, (struct sockaddr *)&ss, len), 0);
    assert_int_equal(asock_args_set_buffer(&op.e, "again", 0, 5), 0);
    asock_t_do(loop, &op, asock_send_async, s);
    asock_t_assert_err(&op.e, ASOCK_SUCCESS);
    char pb[16];
    struct sockaddr_storage from;
    assert_int_equal(asock_t_recvfrom(peer, pb, sizeof(pb), 2000, &from), 5);
    assert_memory_equal(pb, "again", 5);
    assert_int_equal(sendto(peer, "reply", 5, 0, (struct sockaddr *)&from, sizeof(from)), 5);
    memset(buf, 0, sizeof(buf));
    asock_t_do(loop, &rcv, asock_receive_async, s);
    asock_t_assert_err(&rcv.e, ASOCK_SUCCESS);
    assert_int_equal(rcv.e.bytes_transferred, 5);
    assert_memory_equal(buf, "reply", 5);

    asock_socket_close(s);
    asock_t_close_fd(peer);
    asock_t_end(loop);
    asock_t_op_check(&op);
    asock_t_op_check(&rcv);
}

static void udp_icmp_refused_next_receive(void **state)
{
    (void)state;
    udp_icmp_refused_then_usable(0);
}

static void udp_icmp_refused_pending_receive(void **state)
{
    (void)state;
    udp_icmp_refused_then_usable(1);
}

/* receive_message_from: packet_info tells the destination address and the interface. */
static void udp_packet_info(int family, const char *any, const char *dest)
{
    asock_loop *loop = asock_t_loop();
    uint16_t pa = 0;
    int a = asock_t_udp_socket(family, family == AF_INET6 ? "::1" : "127.0.0.1", &pa);
    asock_socket *s = asock_t_open(loop, family, SOCK_DGRAM);
    asock_t_bind(s, any, 0);
    uint16_t sport = asock_t_local_port(s);
    unsigned lo = if_nametoindex("lo");
    assert_int_not_equal(lo, 0);

    char buf[32];
    asock_t_op op;
    asock_t_op_init(&op);
    for (int round = 0; round < 2; round++) {
        asock_t_ep(&op.e.remote_endpoint, any, 0);
        memset(buf, 0, sizeof(buf));
        assert_int_equal(asock_args_set_buffer(&op.e, buf, 0, sizeof(buf)), 0);
        if (round == 0) {
            /* pending first (the first call turns packet info on), then the datagram */
            asock_t_assert_rc(asock_t_start(&op, asock_receive_message_from_async, s), 1);
            assert_int_equal(op.e.last_operation, ASOCK_OP_RECEIVE_MESSAGE_FROM);
            asock_t_sendto(a, "pkt0", 4, dest, sport);
            asock_t_wait(loop, &op, ASOCK_T_WAIT_MS);
        } else {
            asock_t_sendto(a, "pkt1", 4, dest, sport);
            assert_int_equal(asock_t_wait_readable(asock_socket_fd(s), 2000), 1);
            asock_t_do(loop, &op, asock_receive_message_from_async, s);
        }
        asock_t_assert_err(&op.e, ASOCK_SUCCESS);
        assert_int_equal(op.e.bytes_transferred, 4);
        assert_memory_equal(buf, round == 0 ? "pkt0" : "pkt1", 4);
        assert_int_equal(op.e.last_operation, ASOCK_OP_RECEIVE_MESSAGE_FROM);
        asock_t_assert_ep(&op.e.remote_endpoint, family == AF_INET6 ? "::1" : "127.0.0.1", pa);
        char text[64];
        assert_int_equal(op.e.packet_info.local_address.kind, ASOCK_ENDPOINT_IP);
        assert_int_equal(asock_endpoint_family(&op.e.packet_info.local_address), family);
        assert_string_equal(asock_t_ep_addr(&op.e.packet_info.local_address, text, sizeof(text)),
                            dest);
        assert_int_equal(op.e.packet_info.interface_index, lo);
    }

    asock_socket_close(s);
    asock_t_close_fd(a);
    asock_t_end(loop);
    asock_t_op_check(&op);
}

static void udp_packet_info_v4(void **state)
{
    (void)state;
    udp_packet_info(AF_INET, "0.0.0.0", "127.0.0.3");
}

static void udp_packet_info_v6(void **state)
{
    (void)state;
    udp_packet_info(AF_INET6, "::", "::1");
}

/* S8 for datagram sockets: a family mismatch is refused at the call. */
static void udp_connect_family_mismatch(void **state)
{
    (void)state;
    asock_loop *loop = asock_t_loop();
    asock_socket *s = asock_t_open(loop, AF_INET, SOCK_DGRAM);
    asock_t_op op;
    asock_t_op_init(&op);
    asock_t_ep(&op.e.remote_endpoint, "::1", 9);
    asock_t_assert_rc(asock_t_start(&op, asock_connect_async, s), -EAFNOSUPPORT);
    assert_int_equal(op.e.last_operation, ASOCK_OP_NONE);
    assert_int_equal(asock_socket_connected(s), 0);
    asock_t_drain(loop, 500);
    assert_int_equal(op.calls, 0);

    /* a dual-mode IPv6 datagram socket takes an IPv4 peer */
    asock_socket *s6 = asock_t_open(loop, AF_INET6, SOCK_DGRAM);
    assert_int_equal(asock_socket_set_option(s6, ASOCK_OPT_DUAL_MODE, 1), 0);
    uint16_t pa = 0;
    int a = asock_t_udp_socket(AF_INET, "127.0.0.1", &pa);
    asock_t_ep(&op.e.remote_endpoint, "127.0.0.1", pa);
    asock_t_assert_rc(asock_t_start(&op, asock_connect_async, s6), 0);
    asock_t_assert_err(&op.e, ASOCK_SUCCESS);
    assert_int_equal(asock_args_set_buffer(&op.e, "v4", 0, 2), 0);
    asock_t_do(loop, &op, asock_send_async, s6);
    asock_t_assert_err(&op.e, ASOCK_SUCCESS);
    char buf[8];
    assert_int_equal(asock_t_recvfrom(a, buf, sizeof(buf), 2000, NULL), 2);
    assert_memory_equal(buf, "v4", 2);

    asock_socket_close(s);
    asock_socket_close(s6);
    asock_t_close_fd(a);
    asock_t_end(loop);
    asock_t_op_check(&op);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(udp_connect_default_peer_and_filter),
        cmocka_unit_test(udp_burst_reaches_rearmed_receives),
        cmocka_unit_test(udp_send_to_receive_from_v4),
        cmocka_unit_test(udp_send_to_receive_from_v6),
        cmocka_unit_test(udp_broadcast_needs_option),
        cmocka_unit_test(udp_truncated_datagram),
        cmocka_unit_test(udp_icmp_refused_next_receive),
        cmocka_unit_test(udp_icmp_refused_pending_receive),
        cmocka_unit_test(udp_packet_info_v4),
        cmocka_unit_test(udp_packet_info_v6),
        cmocka_unit_test(udp_connect_family_mismatch),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
