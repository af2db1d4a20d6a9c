/* The loop: run modes, stop, posts (also from other threads), free with work left. */
#define _GNU_SOURCE 1
#include "test.h"

#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <time.h>
#include <unistd.h>

static uint64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

static void idle_loop_returns_at_once(void **state)
{
    (void)state;
    asock_loop *loop = asock_t_loop();
    uint64_t t0 = now_ms();
    assert_int_equal(asock_loop_run(loop, ASOCK_RUN_DEFAULT), 0);
    assert_int_equal(asock_loop_run(loop, ASOCK_RUN_ONCE), 0);
    assert_int_equal(asock_loop_run(loop, ASOCK_RUN_NOWAIT), 0);
    /* an idle socket is not work either */
    asock_socket *s = NULL;
    assert_int_equal(asock_socket_open(loop, AF_INET, SOCK_DGRAM, 0, &s), 0);
    assert_int_equal(asock_loop_run(loop, ASOCK_RUN_DEFAULT), 0);
    assert_true(now_ms() - t0 < 500);
    asock_socket_close(s);
    asock_t_end(loop);
}

static void engine_is_reported(void **state)
{
    (void)state;
    asock_loop *loop = asock_t_loop();
    asock_engine eng = asock_loop_engine(loop);
    assert_true(eng == ASOCK_ENGINE_EPOLL || eng == ASOCK_ENGINE_IO_URING);
    const char *want = getenv("ASOCK_ENGINE");
    if (want != NULL && want[0] != '\0')
        assert_string_equal(asock_engine_name(eng), want);
    assert_true(strlen(asock_loop_engine_reason(loop)) > 0);
    asock_t_end(loop);
}

static void bad_arguments(void **state)
{
    (void)state;
    assert_int_equal(asock_loop_new(NULL, NULL), -EINVAL);
    assert_int_equal(asock_loop_run(NULL, ASOCK_RUN_DEFAULT), -EINVAL);
    asock_loop *loop = asock_t_loop();
    assert_int_equal(asock_loop_run(loop, 42), -EINVAL);
    assert_int_equal(asock_loop_post(loop, NULL, NULL), -EINVAL);
    assert_int_equal(asock_loop_post(NULL, NULL, NULL), -EINVAL);
    asock_loop_options o;
    memset(&o, 0, sizeof(o));
    o.engine = (asock_engine)77;
    asock_loop *bad = NULL;
    assert_int_equal(asock_loop_new(&bad, &o), -EINVAL);
    assert_null(bad);
    asock_loop_stop(NULL);
    asock_loop_free(NULL);
    asock_t_end(loop);
}

struct post_rec {
    asock_loop *loop;
    int order[64];
    int n;
    int inside_post; /* set around asock_loop_post: a function must never run inside it */
    int ran_inside;
};

static struct post_rec g_rec;

static void record(void *arg)
{
    if (g_rec.inside_post)
        g_rec.ran_inside = 1;
    g_rec.order[g_rec.n++] = (int)(intptr_t)arg;
}

static void posts_run_once_in_order(void **state)
{
    (void)state;
    memset(&g_rec, 0, sizeof(g_rec));
    asock_loop *loop = asock_t_loop();
    for (int i = 0; i < 10; i++) {
        g_rec.inside_post = 1;
        assert_int_equal(asock_loop_post(loop, record, (void *)(intptr_t)i), 0);
        g_rec.inside_post = 0;
    }
    assert_int_equal(g_rec.n, 0);
    /* a pending post is work: RUN_DEFAULT runs them and returns when none is left */
    assert_int_equal(asock_loop_run(loop, ASOCK_RUN_DEFAULT), 0);
    assert_int_equal(g_rec.n, 10);
    for (int i = 0; i < 10; i++)
        assert_int_equal(g_rec.order[i], i);
    assert_int_equal(g_rec.ran_inside, 0);
    asock_t_end(loop);
}

static void post_from_callback(void *arg)
{
    asock_loop *loop = arg;
    g_rec.n++;
    if (g_rec.n < 5)
        assert_int_equal(asock_loop_post(loop, post_from_callback, loop), 0);
}

static void post_inside_posted_function(void **state)
{
    (void)state;
    memset(&g_rec, 0, sizeof(g_rec));
    asock_loop *loop = asock_t_loop();
    assert_int_equal(asock_loop_post(loop, post_from_callback, loop), 0);
    assert_int_equal(asock_loop_run(loop, ASOCK_RUN_DEFAULT), 0);
    assert_int_equal(g_rec.n, 5);
    asock_t_end(loop);
}

#define THREADS    4
#define PER_THREAD 20000

static atomic_int g_count[THREADS];
static atomic_int g_total;

static void count_post(void *arg)
{
    int t = (int)((intptr_t)arg >> 24);
    atomic_fetch_add(&g_count[t], 1);
    atomic_fetch_add(&g_total, 1);
}

struct thread_arg {
    asock_loop *loop;
    int id;
};

static void *poster(void *p)
{
    struct thread_arg *ta = p;
    for (int i = 0; i < PER_THREAD; i++) {
        intptr_t v = ((intptr_t)ta->id << 24) | i;
        while (asock_loop_post(ta->loop, count_post, (void *)v) != 0)
            ;
    }
    return NULL;
}

static void posts_from_threads_each_once(void **state)
{
    (void)state;
    asock_loop *loop = asock_t_loop();
    atomic_store(&g_total, 0);
    pthread_t th[THREADS];
    struct thread_arg ta[THREADS];
    for (int i = 0; i < THREADS; i++) {
        atomic_store(&g_count[i], 0);
        ta[i].loop = loop;
        ta[i].id = i;
        assert_int_equal(pthread_create(&th[i], NULL, poster, &ta[i]), 0);
    }
    /* run while the threads post: ONCE waits for the eventfd wake-up */
    uint64_t end = now_ms() + 20000;
    while (atomic_load(&g_total) < THREADS * PER_THREAD && now_ms() < end)
        assert_true(asock_loop_run(loop, ASOCK_RUN_ONCE) >= 0);
    for (int i = 0; i < THREADS; i++)
        pthread_join(th[i], NULL);
    asock_t_drain(loop, 5000);
    assert_int_equal(atomic_load(&g_total), THREADS * PER_THREAD);
    for (int i = 0; i < THREADS; i++)
        assert_int_equal(atomic_load(&g_count[i]), PER_THREAD);
    asock_t_end(loop);
}

static void *late_poster(void *p)
{
    asock_loop *loop = p;
    struct timespec ts = {0, 50 * 1000000};
    nanosleep(&ts, NULL);
    asock_loop_post(loop, record, (void *)(intptr_t)7);
    return NULL;
}

static void run_once_waits_for_post(void **state)
{
    (void)state;
    memset(&g_rec, 0, sizeof(g_rec));
    asock_loop *loop = asock_t_loop();
    /* keep the loop busy with a pending receive, so RUN_ONCE has to wait */
    asock_socket *s = NULL;
    assert_int_equal(asock_socket_open(loop, AF_INET, SOCK_DGRAM, 0, &s), 0);
    asock_endpoint any;
    assert_int_equal(asock_endpoint_ip(&any, "127.0.0.1", 0), 0);
    assert_int_equal(asock_socket_bind(s, &any), 0);
    asock_args e;
    char buf[8];
    asock_t_args(&e, NULL, NULL);
    asock_args_set_buffer(&e, buf, 0, sizeof(buf));
    e.remote_endpoint = any;
    assert_int_equal(asock_receive_from_async(s, &e), 1);
    pthread_t th;
    assert_int_equal(pthread_create(&th, NULL, late_poster, loop), 0);
    uint64_t t0 = now_ms();
    while (g_rec.n == 0 && now_ms() - t0 < 5000)
        assert_int_equal(asock_loop_run(loop, ASOCK_RUN_ONCE), 1);
    pthread_join(th, NULL);
    assert_int_equal(g_rec.n, 1);
    assert_int_equal(g_rec.order[0], 7);
    asock_socket_close(s);
    asock_t_end(loop);
}

static int g_stops;

static void stop_it(void *arg)
{
    g_stops++;
    asock_loop_stop(arg);
}

static void stop_returns_with_work_left(void **state)
{
    (void)state;
    g_stops = 0;
    asock_loop *loop = asock_t_loop();
    asock_socket *s = NULL;
    assert_int_equal(asock_socket_open(loop, AF_INET, SOCK_DGRAM, 0, &s), 0);
    asock_endpoint any;
    assert_int_equal(asock_endpoint_ip(&any, "127.0.0.1", 0), 0);
    assert_int_equal(asock_socket_bind(s, &any), 0);
    asock_args e;
    char buf[8];
    asock_t_args(&e, NULL, NULL);
    asock_args_set_buffer(&e, buf, 0, sizeof(buf));
    e.remote_endpoint = any;
    assert_int_equal(asock_receive_from_async(s, &e), 1);
    assert_int_equal(asock_loop_post(loop, stop_it, loop), 0);
    /* DEFAULT would wait forever for the datagram; stop makes it return 1 (work left) */
    assert_int_equal(asock_loop_run(loop, ASOCK_RUN_DEFAULT), 1);
    assert_int_equal(g_stops, 1);
    asock_socket_close(s);
    asock_t_end(loop);
}

static int g_free_cb;
static asock_socket_error g_free_err;

static void on_free_done(asock_socket *sender, asock_args *e)
{
    (void)sender;
    g_free_cb++;
    g_free_err = e->socket_error;
}

static void free_completes_pending_and_posts(void **state)
{
    (void)state;
    g_free_cb = 0;
    memset(&g_rec, 0, sizeof(g_rec));
    int fds = asock_t_fd_count();
    asock_loop *loop = NULL;
    assert_int_equal(asock_loop_new(&loop, NULL), 0);
    asock_socket *s = NULL;
    assert_int_equal(asock_socket_open(loop, AF_INET, SOCK_DGRAM, 0, &s), 0);
    asock_endpoint any;
    assert_int_equal(asock_endpoint_ip(&any, "127.0.0.1", 0), 0);
    assert_int_equal(asock_socket_bind(s, &any), 0);
    asock_args e;
    char buf[8];
    asock_t_args(&e, on_free_done, NULL);
    asock_args_set_buffer(&e, buf, 0, sizeof(buf));
    e.remote_endpoint = any;
    assert_int_equal(asock_receive_from_async(s, &e), 1);
    assert_int_equal(asock_loop_post(loop, record, (void *)(intptr_t)3), 0);
    asock_loop_free(loop); /* the socket is never closed by the test: free does it */
    assert_int_equal(g_free_cb, 1);
    assert_int_equal(g_free_err, ASOCK_ERR_OPERATION_ABORTED);
    assert_int_equal(g_rec.n, 1);
    assert_int_equal(asock_t_fd_count(), fds);
}

static void run_is_not_reentrant_cb(void *arg)
{
    asock_loop *loop = arg;
    assert_int_equal(asock_loop_run(loop, ASOCK_RUN_NOWAIT), -EBUSY);
    g_rec.n++;
}

static void run_not_reentrant(void **state)
{
    (void)state;
    memset(&g_rec, 0, sizeof(g_rec));
    asock_loop *loop = asock_t_loop();
    assert_int_equal(asock_loop_post(loop, run_is_not_reentrant_cb, loop), 0);
    assert_int_equal(asock_loop_run(loop, ASOCK_RUN_DEFAULT), 0);
    assert_int_equal(g_rec.n, 1);
    asock_t_end(loop);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(idle_loop_returns_at_once),
        cmocka_unit_test(engine_is_reported),
        cmocka_unit_test(bad_arguments),
        cmocka_unit_test(posts_run_once_in_order),
        cmocka_unit_test(post_inside_posted_function),
        cmocka_unit_test(posts_from_threads_each_once),
        cmocka_unit_test(run_once_waits_for_post),
        cmocka_unit_test(stop_returns_with_work_left),
        cmocka_unit_test(free_completes_pending_and_posts),
        cmocka_unit_test(run_not_reentrant),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
