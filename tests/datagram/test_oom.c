/* Out of memory anywhere in the datagram layer: every allocation of a bind / connect / stream /
 * write scenario is made to fail in turn.  Calls return NULL (documented) or operations end in
 * ERROR; nothing crashes, leaks (ASan) or keeps a descriptor. */
#include "dgram_test.h"
#include "core/alloc_test.h"

/* Runs the scenario once; returns how many steps got through. */
static int scenario(asock_loop *loop, int peer, const char *ps)
{
    int steps = 0;
    dg_msgs msgs;
    memset(&msgs, 0, sizeof(msgs));
    asock_datagram *ds = NULL;
    if (asock_datagram_new(loop, &ds) != 0)
        return steps;
    asock_datagram_on_message_received(ds, dg_on_msg, &msgs);
    asock_async *ops[3] = {NULL, NULL, NULL};
    ops[0] = asock_datagram_connect_host_async(ds, "127.0.0.2", ps);
    asock_t_spin(loop, 5);
    if (ops[0] != NULL && asock_async_get_status(ops[0]) == ASOCK_ASYNC_COMPLETED) {
        steps++;
        ops[1] = asock_output_stream_write_async(asock_datagram_output_stream(ds), "x", 1);
        if (ops[1] != NULL && asock_async_get_status(ops[1]) == ASOCK_ASYNC_COMPLETED)
            steps++;
    }
    ops[2] = asock_datagram_get_output_stream_async(ds, "127.0.0.3", ps);
    asock_t_spin(loop, 5);
    if (ops[2] != NULL && asock_async_get_status(ops[2]) == ASOCK_ASYNC_COMPLETED)
        steps++;
    for (int i = 0; i < 3; i++)
        asock_async_close(ops[i]);
    asock_datagram_close(ds);
    asock_t_spin(loop, 5);
    char buf[8];
    while (asock_t_recvfrom(peer, buf, sizeof(buf), 0, NULL) >= 0) {
    }
    return steps;
}

static void test_every_allocation_fails(void **state)
{
    (void)state;
    uint16_t pp = 0;
    int peer = asock_t_udp_socket(AF_INET, "127.0.0.2", &pp);
    char ps[8];
    dg_port(pp, ps, 8);
    int full = -1;
    for (long n = 1; n < 60; n++) {
        asock_loop *loop = asock_t_loop();
        asock__alloc_fail_after(n);
        int steps = scenario(loop, peer, ps);
        asock__alloc_fail_after(-1);
        asock_t_end(loop);
        if (steps == 3) {
            full = (int)n;
            break;
        }
    }
    print_message("the scenario needs %d allocations\n", full);
    assert_true(full > 1); /* with enough allocations the scenario completes */
    asock_t_close_fd(peer);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_every_allocation_fails),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
