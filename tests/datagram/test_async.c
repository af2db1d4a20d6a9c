/* D11: the async action — starts at once; status, error, result, cancel, close; exactly one of
 * the two handlers runs, once, from the loop (never inside asock_async_done), also when attached
 * after completion; a cancelled operation ends CANCELED with OPERATION_ABORTED; no handler runs
 * after asock_async_close; asyncs outlive the loop; pending ones end when the loop is freed. */
#include "dgram_test.h"

/* A loop whose DNS server never answers, so a resolution stays pending. */
static asock_loop *silent_loop(int *silent_fd)
{
    uint16_t port = 0;
    *silent_fd = asock_t_udp_socket(AF_INET, "127.0.54.2", &port);
    static char server[64];
    snprintf(server, sizeof(server), "127.0.54.2:%u", (unsigned)port);
    asock_loop_options o;
    memset(&o, 0, sizeof(o));
    o.dns_servers = server;
    o.dns_timeout_ms = 10000;
    o.dns_tries = 1;
    return asock_t_loop_opts(&o);
}

static void test_handler_after_completion_runs_from_loop(void **state)
{
    (void)state;
    asock_loop *loop = asock_t_loop();
    asock_datagram *ds = dg_new(loop, NULL);
    /* fails before doing anything: final at once */
    asock_async *op = asock_datagram_connect_host_async(ds, NULL, "7");
    assert_non_null(op);
    assert_int_equal(asock_async_get_status(op), ASOCK_ASYNC_ERROR);
    assert_int_equal(asock_async_error(op), ASOCK_ERR_INVALID_ARGUMENT);
    assert_int_equal(asock_error_get_status(asock_async_error(op)), ASOCK_STATUS_UNKNOWN);
    asock_t_spin(loop, 5); /* finishing before the handler is attached */
    dg_rec r;
    dg_attach(&r, op); /* asserts the handler did not run inside asock_async_done */
    assert_int_equal(dg_wait(loop, &r), ASOCK_ASYNC_ERROR);
    assert_int_equal(r.error, 1);
    assert_int_equal(r.success, 0);
    /* it never runs twice */
    asock_t_spin(loop, 10);
    assert_int_equal(r.error + r.success, 1);
    /* attaching again is refused (WinRT: Completed may be set once) */
    assert_int_equal(asock_async_done(op, dg_on_success, dg_on_error, &r), -EALREADY);
    asock_async_close(op);
    dg_close(loop, ds);
    asock_t_end(loop);
}

static void test_started_then_completed(void **state)
{
    (void)state;
    asock_loop *loop = asock_t_loop();
    uint16_t port = 0;
    int peer = asock_t_udp_socket(AF_INET, "127.0.0.1", &port);
    char ps[8];
    asock_datagram *ds = dg_new(loop, NULL);
    asock_async *op = asock_datagram_connect_host_async(ds, "127.0.0.1", dg_port(port, ps, 8));
    assert_non_null(op);
    /* started hot: running when the call returns, not final yet */
    assert_int_equal(asock_async_get_status(op), ASOCK_ASYNC_STARTED);
    assert_int_equal(asock_async_error(op), ASOCK_SUCCESS);
    assert_null(asock_async_result(op));
    dg_rec r;
    dg_attach(&r, op);
    assert_int_equal(dg_wait(loop, &r), ASOCK_ASYNC_COMPLETED);
    assert_int_equal(r.success, 1);
    assert_int_equal(r.error_seen, ASOCK_SUCCESS);
    assert_string_equal(asock_async_error_detail(op), "");
    assert_int_equal(asock_async_sys_errno(op), 0);
    /* cancel after the end changes nothing */
    asock_async_cancel(op);
    assert_int_equal(asock_async_get_status(op), ASOCK_ASYNC_COMPLETED);
    asock_t_spin(loop, 10);
    assert_int_equal(r.success + r.error, 1);
    asock_async_close(op);
    dg_close(loop, ds);
    asock_t_close_fd(peer);
    asock_t_end(loop);
}

static void test_bad_done_arguments(void **state)
{
    (void)state;
    assert_int_equal(asock_async_done(NULL, dg_on_success, NULL, NULL), -EINVAL);
    assert_int_equal(asock_async_get_status(NULL), ASOCK_ASYNC_ERROR);
    assert_null(asock_async_result(NULL));
    assert_int_equal(asock_async_bytes_transferred(NULL), 0);
    assert_string_equal(asock_async_error_detail(NULL), "");
    asock_async_cancel(NULL);
    asock_async_close(NULL);
    asock_loop *loop = asock_t_loop();
    asock_datagram *ds = dg_new(loop, NULL);
    asock_async *op = asock_datagram_connect_host_async(ds, "", "");
    assert_int_equal(asock_async_done(op, NULL, NULL, NULL), -EINVAL);
    asock_async_close(op);
    dg_close(loop, ds);
    asock_t_end(loop);
}

/* close before the end: the operation goes on, but no handler runs */
static void test_close_before_completion(void **state)
{
    (void)state;
    asock_loop *loop = asock_t_loop();
    uint16_t port = 0;
    int peer = asock_t_udp_socket(AF_INET, "127.0.0.1", &port);
    char ps[8];
    asock_datagram *ds = dg_new(loop, NULL);
    asock_async *op = asock_datagram_connect_host_async(ds, "127.0.0.1", dg_port(port, ps, 8));
    dg_rec r;
    dg_attach(&r, op);
    asock_async_close(op);
    asock_t_spin(loop, 50);
    assert_int_equal(r.success + r.error, 0);
    /* the connect itself happened */
    assert_non_null(asock_datagram_output_stream(ds));
    dg_close(loop, ds);
    asock_t_close_fd(peer);
    asock_t_end(loop);
}

/* close after the end while the handler is queued: it does not run */
static void test_close_withdraws_queued_handler(void **state)
{
    (void)state;
    asock_loop *loop = asock_t_loop();
    asock_datagram *ds = dg_new(loop, NULL);
    asock_async *op = asock_datagram_get_output_stream_async(ds, NULL, "9");
    assert_int_equal(asock_async_get_status(op), ASOCK_ASYNC_ERROR);
    dg_rec r;
    dg_attach(&r, op); /* queued */
    asock_async_close(op);
    asock_t_spin(loop, 20);
    assert_int_equal(r.success + r.error, 0);
    dg_close(loop, ds);
    asock_t_end(loop);
}

static void test_handler_may_close_op(void **state)
{
    (void)state;
    asock_loop *loop = asock_t_loop();
    asock_datagram *ds = dg_new(loop, NULL);
    dg_rec r;
    asock_async *op = asock_datagram_bind_endpoint_async(ds, "127.0.0.1", "");
    dg_attach(&r, op);
    r.close_in_handler = 1;
    assert_int_equal(dg_wait(loop, &r), ASOCK_ASYNC_COMPLETED);
    assert_null(r.op);
    dg_close(loop, ds);
    asock_t_end(loop);
}

/* cancel: CANCELED + OPERATION_ABORTED through on_error; the socket stays usable */
static void test_cancel_pending_resolution(void **state)
{
    (void)state;
    int silent = -1;
    asock_loop *loop = silent_loop(&silent);
    asock_datagram *ds = dg_new(loop, NULL);
    asock_async *op = asock_datagram_connect_host_async(ds, "never.test", "7");
    dg_rec r;
    dg_attach(&r, op);
    asock_t_spin(loop, 20);
    assert_int_equal(asock_async_get_status(op), ASOCK_ASYNC_STARTED);
    asock_async_cancel(op);
    assert_int_equal(r.success + r.error, 0); /* never inside the cancel */
    assert_int_equal(dg_wait(loop, &r), ASOCK_ASYNC_CANCELED);
    assert_int_equal(r.error, 1);
    assert_int_equal(asock_async_error(op), ASOCK_ERR_OPERATION_ABORTED);
    assert_int_equal(asock_error_get_status(asock_async_error(op)), ASOCK_STATUS_OPERATION_ABORTED);
    asock_async_close(op);
    /* nothing was disturbed: the socket connects afterwards */
    uint16_t port = 0;
    int peer = asock_t_udp_socket(AF_INET, "127.0.0.1", &port);
    char ps[8];
    dg_run_ok(loop, asock_datagram_connect_host_async(ds, "127.0.0.1", dg_port(port, ps, 8)));
    assert_non_null(asock_datagram_output_stream(ds));
    dg_close(loop, ds);
    asock_t_close_fd(peer);
    asock_t_drain(loop, 15000); /* the abandoned DNS query times out inside the resolver */
    asock_t_end(loop);
    asock_t_close_fd(silent);
}

/* cancel_io: every pending operation ends ERROR + OPERATION_ABORTED; cancel_io completes */
static void test_cancel_io(void **state)
{
    (void)state;
    int silent = -1;
    asock_loop *loop = silent_loop(&silent);
    asock_datagram *ds = dg_new(loop, NULL);
    asock_async *op = asock_datagram_get_output_stream_async(ds, "never.test", "7");
    dg_rec r, rc;
    dg_attach(&r, op);
    /* a second operation while one runs */
    asock_async *busy = asock_datagram_bind_endpoint_async(ds, NULL, "");
    dg_fails(loop, &rc, busy, ASOCK_ERR_ALREADY_IN_PROGRESS, ASOCK_STATUS_UNKNOWN);
    asock_async_close(busy);
    asock_async *cio = asock_datagram_cancel_io_async(ds);
    dg_rec rcio;
    dg_ok(loop, &rcio, cio);
    assert_int_equal(dg_wait(loop, &r), ASOCK_ASYNC_ERROR);
    assert_int_equal(asock_async_error(op), ASOCK_ERR_OPERATION_ABORTED);
    asock_async_close(op);
    asock_async_close(cio);
    /* cancel_io with nothing pending completes too */
    dg_run_ok(loop, asock_datagram_cancel_io_async(ds));
    dg_close(loop, ds);
    asock_t_drain(loop, 15000);
    asock_t_end(loop);
    asock_t_close_fd(silent);
}

/* the loop freed with an operation pending: it ends ERROR + OPERATION_ABORTED inside the free,
 * the datagram socket is closed, and the async outlives the loop until closed */
static void test_loop_free_ends_pending(void **state)
{
    (void)state;
    int fds = asock_t_fd_count();
    int silent = -1;
    asock_loop *loop = silent_loop(&silent);
    dg_msgs msgs;
    asock_datagram *ds = dg_new(loop, &msgs);
    dg_run_ok(loop, asock_datagram_bind_endpoint_async(ds, "127.0.0.1", ""));
    asock_async *op = asock_datagram_get_output_stream_async(ds, "never.test", "7");
    dg_rec r;
    dg_attach(&r, op);
    asock_t_spin(loop, 10);
    asock_loop_free(loop); /* ds left open on purpose */
    assert_int_equal(r.error, 1);
    assert_int_equal(asock_async_get_status(op), ASOCK_ASYNC_ERROR);
    assert_int_equal(asock_async_error(op), ASOCK_ERR_OPERATION_ABORTED);
    asock_async_close(op); /* after the loop is gone */
    asock_t_close_fd(silent);
    assert_int_equal(asock_t_fd_count(), fds);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_handler_after_completion_runs_from_loop),
        cmocka_unit_test(test_started_then_completed),
        cmocka_unit_test(test_bad_done_arguments),
        cmocka_unit_test(test_close_before_completion),
        cmocka_unit_test(test_close_withdraws_queued_handler),
        cmocka_unit_test(test_handler_may_close_op),
        cmocka_unit_test(test_cancel_pending_resolution),
        cmocka_unit_test(test_cancel_io),
        cmocka_unit_test(test_loop_free_ends_pending),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
