/* Races (run in every build; scripts/tsan.sh runs them under ThreadSanitizer):
 *
 *   post storm        4 threads call asock_loop_post at full speed (ASOCK_RACE_POSTS each,
 *                     default 100,000) while the loop thread runs; every posted function runs
 *                     exactly once, on the loop thread, and none after asock_loop_free returns;
 *   cancel vs connect a loopback connect cancelled at once, or after 0..3 loop turns, so the
 *                     cancel lands before, during and after the completion: exactly one
 *                     callback, Success or OperationAborted, and an aborted socket connects again;
 *   cancel vs resolve asock_resolve_cancel at every point of a literal's resolution;
 *   close in callback a receive callback closes its own socket while a large send is in flight
 *                     on it and the peer keeps sending: each operation completes exactly once.
 * Repetitions: ASOCK_RACE_REPEAT (default 500). */
#define _GNU_SOURCE 1
#include "net.h"

#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <unistd.h>

static int g_repeat = 500;

/* ---- post storm ---- */

#define THREADS 4

static struct {
    asock_loop *loop;
    long per_thread;
    atomic_uchar *ran; /* THREADS * per_thread counters */
    atomic_long total;
    atomic_int wrong_thread, after_free, refused;
    pthread_t loop_thread;
    atomic_int freed;
} ps;

static void posted(void *arg)
{
    long idx = (long)(intptr_t)arg;
    if (!pthread_equal(pthread_self(), ps.loop_thread))
        atomic_fetch_add(&ps.wrong_thread, 1);
    if (atomic_load(&ps.freed))
        atomic_fetch_add(&ps.after_free, 1);
    atomic_fetch_add(&ps.ran[idx], 1);
    atomic_fetch_add(&ps.total, 1);
}

static void *poster(void *arg)
{
    long t = (long)(intptr_t)arg;
    for (long i = 0; i < ps.per_thread; i++) {
        long idx = t * ps.per_thread + i;
        while (asock_loop_post(ps.loop, posted, (void *)(intptr_t)idx) != 0)
            atomic_fetch_add(&ps.refused, 1); /* -ENOMEM: try again */
    }
    return NULL;
}

static void post_storm(void **state)
{
    (void)state;
    const char *n = getenv("ASOCK_RACE_POSTS");
    ps.per_thread = n != NULL && atol(n) > 0 ? atol(n) : 100000;
    ps.ran = calloc((size_t)(THREADS * ps.per_thread), sizeof(*ps.ran));
    assert_non_null(ps.ran);
    atomic_store(&ps.total, 0);
    atomic_store(&ps.freed, 0);
    ps.loop = asock_t_loop();
    ps.loop_thread = pthread_self();
    pthread_t th[THREADS];
    uint64_t t0 = asock_t_now_ms();
    for (long t = 0; t < THREADS; t++)
        assert_int_equal(pthread_create(&th[t], NULL, poster, (void *)(intptr_t)t), 0);
    long want = THREADS * ps.per_thread;
    while (atomic_load(&ps.total) < want && asock_t_now_ms() - t0 < 120000)
        assert_true(asock_loop_run(ps.loop, ASOCK_RUN_ONCE) >= 0);
    for (int t = 0; t < THREADS; t++)
        pthread_join(th[t], NULL);
    uint64_t took = asock_t_now_ms() - t0;
    asock_t_end(ps.loop); /* runs what is left, frees */
    atomic_store(&ps.freed, 1);
    assert_int_equal(atomic_load(&ps.total), want);
    for (long i = 0; i < want; i++) {
        if (atomic_load(&ps.ran[i]) != 1)
            fail_msg("post %ld ran %d times", i, (int)atomic_load(&ps.ran[i]));
    }
    assert_int_equal(atomic_load(&ps.wrong_thread), 0);
    assert_int_equal(atomic_load(&ps.after_free), 0);
    fprintf(stderr,
            "# post storm: %d threads x %ld posts, each ran exactly once on the loop "
            "thread, in %llu ms (%.0f posts/s)\n",
            THREADS, ps.per_thread, (unsigned long long)took,
            (double)want / ((double)(took + 1) / 1000.0));
    free(ps.ran);
}

/* ---- cancel racing a connect's completion ---- */

static void cancel_vs_connect(void **state)
{
    (void)state;
    asock_loop *loop = asock_t_loop();
    uint16_t port = 0;
    int lfd = asock_t_tcp_listener(AF_INET, "127.0.0.1", &port);
    /* every other connect goes to a listener whose queue is full: its SYN is never answered, so
     * the cancel surely lands first there */
    uint16_t bport = 0;
    int filler = -1;
    int blfd = asock_t_blackhole(AF_INET, "127.0.0.1", &bport, &filler);
    int outcome[2] = {0, 0}; /* success, aborted */
    for (int i = 0; i < g_repeat; i++) {
        asock_socket *s = asock_t_open(loop, AF_INET, SOCK_STREAM);
        asock_t_op op;
        asock_t_op_init(&op);
        bool hole = blfd >= 0 && i % 2 == 1;
        asock_t_ep(&op.e.remote_endpoint, "127.0.0.1", hole ? bport : port);
        int rc = asock_t_start(&op, asock_connect_async, s);
        assert_true(rc == 0 || rc == 1);
        for (int turns = i % 4; turns > 0; turns--)
            asock_loop_run(loop, ASOCK_RUN_NOWAIT);
        asock_cancel_connect_async(&op.e); /* before, during or after the completion */
        asock_cancel_connect_async(&op.e); /* twice changes nothing */
        if (rc == 1)
            asock_t_wait(loop, &op, ASOCK_T_WAIT_MS);
        asock_t_spin(loop, 1);
        asock_t_op_check(&op);
        if (op.e.socket_error == ASOCK_SUCCESS) {
            outcome[0]++;
            assert_int_equal(asock_socket_connected(s), 1);
        } else {
            asock_t_assert_err(&op.e, ASOCK_ERR_OPERATION_ABORTED);
            outcome[1]++;
            /* the socket may connect again */
            asock_t_op again;
            asock_t_op_init(&again);
            asock_t_ep(&again.e.remote_endpoint, "127.0.0.1", port);
            asock_t_do(loop, &again, asock_connect_async, s);
            asock_t_assert_err(&again.e, ASOCK_SUCCESS);
        }
        asock_socket_close(s);
        /* drop what the listener accepted meanwhile */
        while (asock_t_wait_readable(lfd, 0) == 1) {
            int fd = accept(lfd, NULL, NULL);
            if (fd < 0)
                break;
            close(fd);
        }
    }
    asock_t_close_fd(lfd);
    if (blfd >= 0) {
        asock_t_close_fd(filler);
        asock_t_close_fd(blfd);
    }
    asock_t_end(loop);
    fprintf(stderr,
            "# cancel vs connect: %d runs, %d completed first, %d cancelled; one "
            "callback each\n",
            g_repeat, outcome[0], outcome[1]);
}

/* ---- cancel racing a resolution ---- */

struct rrec {
    int calls;
    asock_socket_error err;
};

static void on_res(asock_resolve *req, const asock_resolve_result *res, void *user)
{
    (void)req;
    struct rrec *r = user;
    r->calls++;
    r->err = res->error;
}

static void cancel_vs_resolve(void **state)
{
    (void)state;
    asock_loop *loop = asock_t_loop();
    int outcome[2] = {0, 0};
    for (int i = 0; i < g_repeat; i++) {
        struct rrec r = {0, ASOCK_SUCCESS};
        asock_resolve *req = NULL;
        assert_int_equal(
            asock_resolve_async(loop, i % 2 ? "127.0.0.1" : "::1", "80", NULL, on_res, &r, &req),
            0);
        for (int turns = i % 3; turns > 0 && r.calls == 0; turns--)
            asock_loop_run(loop, ASOCK_RUN_NOWAIT);
        if (r.calls == 0)
            asock_resolve_cancel(req); /* req is valid until its callback returns */
        asock_t_drain(loop, ASOCK_T_WAIT_MS);
        assert_int_equal(r.calls, 1);
        if (r.err == ASOCK_SUCCESS)
            outcome[0]++;
        else if (r.err == ASOCK_ERR_OPERATION_ABORTED)
            outcome[1]++;
        else
            fail_msg("resolve: %s", asock_socket_error_name(r.err));
    }
    asock_t_end(loop);
    fprintf(stderr,
            "# cancel vs resolve: %d runs, %d delivered, %d cancelled; one callback "
            "each\n",
            g_repeat, outcome[0], outcome[1]);
}

/* ---- close from inside a callback while another operation is in flight ---- */

#define BIG (8u << 20)

struct cic {
    asock_socket *s;
    asock_t_op rx, tx;
    char rbuf[64];
};

static void close_in_rx(asock_t_op *op, asock_socket *sender)
{
    (void)op;
    asock_socket_close(sender); /* the send is still in flight on this socket */
}

static void close_in_callback(void **state)
{
    (void)state;
    char *big = malloc(BIG);
    assert_non_null(big);
    memset(big, 'z', BIG);
    asock_loop *loop = asock_t_loop();
    int aborted = 0, sent_first = 0;
    int repeat = g_repeat / 5 > 0 ? g_repeat / 5 : 1;
    for (int i = 0; i < repeat; i++) {
        struct cic c;
        int peer = -1;
        asock_t_connected_pair(loop, AF_INET, &c.s, &peer);
        asock_t_op_init(&c.rx);
        c.rx.then = close_in_rx;
        asock_args_set_buffer(&c.rx.e, c.rbuf, 0, sizeof(c.rbuf));
        asock_t_assert_rc(asock_t_start(&c.rx, asock_receive_async, c.s), 1);
        asock_t_op_init(&c.tx);
        asock_args_set_buffer(&c.tx.e, big, 0, BIG);
        int rc = asock_t_start(&c.tx, asock_send_async, c.s);
        assert_true(rc == 1);
        /* the peer writes: the receive completes and closes the socket under the send */
        asock_t_write_all(peer, "x", 1);
        uint64_t t0 = asock_t_now_ms();
        while ((c.rx.calls == 0 || c.tx.calls == 0) && asock_t_now_ms() - t0 < ASOCK_T_WAIT_MS)
            asock_loop_run(loop, ASOCK_RUN_ONCE);
        assert_int_equal(c.rx.calls, 1);
        assert_int_equal(c.tx.calls, 1);
        asock_t_assert_err(&c.rx.e, ASOCK_SUCCESS);
        if (c.tx.e.socket_error == ASOCK_ERR_OPERATION_ABORTED)
            aborted++;
        else
            sent_first++;
        asock_t_spin(loop, 2);
        asock_t_op_check(&c.rx);
        asock_t_op_check(&c.tx);
        asock_t_close_fd(peer);
    }
    asock_t_end(loop);
    free(big);
    fprintf(stderr,
            "# close in callback: %d sockets closed from their receive callback with a "
            "%u-byte send in flight: %d sends aborted, %d completed first; one callback each\n",
            repeat, BIG, aborted, sent_first);
}

int main(void)
{
    const char *r = getenv("ASOCK_RACE_REPEAT");
    if (r != NULL && atoi(r) > 0)
        g_repeat = atoi(r);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(post_storm),
        cmocka_unit_test(cancel_vs_connect),
        cmocka_unit_test(cancel_vs_resolve),
        cmocka_unit_test(close_in_callback),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
