/* Public timers and loop holds. */
#define _GNU_SOURCE 1
#include "test.h"

#include <errno.h>
#include <pthread.h>
#include <time.h>

static uint64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

struct rec {
    int fired;
    uint64_t at[8];
    int stop_after;  /* stop the timer from its callback after this many firings */
    int close_after; /* close it from its callback after this many firings */
};

static void on_fire(asock_timer *t, void *user)
{
    struct rec *r = user;
    if (r->fired < 8)
        r->at[r->fired] = now_ms();
    r->fired++;
    if (r->stop_after != 0 && r->fired == r->stop_after)
        asock_timer_stop(t);
    if (r->close_after != 0 && r->fired == r->close_after)
        asock_timer_close(t);
}

static void one_shot_fires_once_after_timeout(void **state)
{
    (void)state;
    asock_loop *loop = asock_t_loop();
    asock_timer *t = NULL;
    assert_int_equal(asock_timer_new(loop, &t), 0);
    struct rec r = {0};
    uint64_t t0 = now_ms();
    assert_int_equal(asock_timer_start(t, 80, 0, on_fire, &r), 0);
    assert_int_equal(asock_timer_active(t), 1);
    /* an armed timer is work: DEFAULT returns only after it fired */
    assert_int_equal(asock_loop_run(loop, ASOCK_RUN_DEFAULT), 0);
    assert_int_equal(r.fired, 1);
    assert_true(r.at[0] - t0 >= 79);
    assert_true(r.at[0] - t0 < 2000);
    assert_int_equal(asock_timer_active(t), 0);
    asock_timer_close(t);
    asock_t_end(loop);
}

static void repeating_timer_and_stop_in_callback(void **state)
{
    (void)state;
    asock_loop *loop = asock_t_loop();
    asock_timer *t = NULL;
    assert_int_equal(asock_timer_new(loop, &t), 0);
    struct rec r = {.stop_after = 4};
    assert_int_equal(asock_timer_start(t, 10, 20, on_fire, &r), 0);
    assert_int_equal(asock_loop_run(loop, ASOCK_RUN_DEFAULT), 0);
    assert_int_equal(r.fired, 4);
    for (int i = 1; i < 4; i++)
        assert_true(r.at[i] - r.at[i - 1] >= 19);
    asock_timer_close(t);
    asock_t_end(loop);
}

static void close_inside_callback(void **state)
{
    (void)state;
    asock_loop *loop = asock_t_loop();
    asock_timer *t = NULL;
    assert_int_equal(asock_timer_new(loop, &t), 0);
    struct rec r = {.close_after = 2};
    assert_int_equal(asock_timer_start(t, 5, 5, on_fire, &r), 0);
    assert_int_equal(asock_loop_run(loop, ASOCK_RUN_DEFAULT), 0);
    assert_int_equal(r.fired, 2);
    asock_t_end(loop);
}

static void ordered_by_deadline_and_stop_prevents_firing(void **state)
{
    (void)state;
    asock_loop *loop = asock_t_loop();
    asock_timer *a = NULL, *b = NULL, *c = NULL;
    assert_int_equal(asock_timer_new(loop, &a), 0);
    assert_int_equal(asock_timer_new(loop, &b), 0);
    assert_int_equal(asock_timer_new(loop, &c), 0);
    struct rec ra = {0}, rb = {0}, rc = {0};
    assert_int_equal(asock_timer_start(a, 60, 0, on_fire, &ra), 0);
    assert_int_equal(asock_timer_start(b, 20, 0, on_fire, &rb), 0);
    assert_int_equal(asock_timer_start(c, 40, 0, on_fire, &rc), 0);
    asock_timer_stop(c);
    /* re-arming moves the deadline */
    assert_int_equal(asock_timer_start(b, 30, 0, on_fire, &rb), 0);
    assert_int_equal(asock_loop_run(loop, ASOCK_RUN_DEFAULT), 0);
    assert_int_equal(ra.fired, 1);
    assert_int_equal(rb.fired, 1);
    assert_int_equal(rc.fired, 0);
    assert_true(rb.at[0] <= ra.at[0]);
    asock_timer_close(a);
    asock_timer_close(b);
    asock_timer_close(c);
    asock_t_end(loop);
}

static void bad_arguments_and_free_releases_timers(void **state)
{
    (void)state;
    assert_int_equal(asock_timer_new(NULL, NULL), -EINVAL);
    asock_loop *loop = asock_t_loop();
    asock_timer *t = NULL;
    assert_int_equal(asock_timer_new(loop, NULL), -EINVAL);
    assert_int_equal(asock_timer_new(loop, &t), 0);
    struct rec r = {0};
    assert_int_equal(asock_timer_start(NULL, 1, 0, on_fire, &r), -EINVAL);
    assert_int_equal(asock_timer_start(t, 1, 0, NULL, &r), -EINVAL);
    asock_timer_stop(NULL);
    asock_timer_close(NULL);
    assert_int_equal(asock_timer_active(NULL), 0);
    /* armed far in the future and never closed: asock_loop_free releases it (ASan checks) */
    assert_int_equal(asock_timer_start(t, 100000, 0, on_fire, &r), 0);
    int fds = asock_t_fd_count();
    asock_loop_free(loop);
    assert_int_equal(r.fired, 0);
    assert_int_equal(asock_t_fd_count(), fds - 2); /* the loop's own descriptors are gone */
}

static int g_posts;

static void count_post(void *arg)
{
    asock_loop *loop = arg;
    g_posts++;
    if (g_posts == 3)
        asock_loop_unref(loop);
}

static void *poster(void *arg)
{
    asock_loop *loop = arg;
    for (int i = 0; i < 3; i++) {
        struct timespec ts = {0, 20 * 1000000};
        nanosleep(&ts, NULL);
        asock_loop_post(loop, count_post, loop);
    }
    return NULL;
}

static void hold_keeps_waiting_for_posts(void **state)
{
    (void)state;
    g_posts = 0;
    asock_loop *loop = asock_t_loop();
    asock_loop_ref(loop);
    pthread_t th;
    assert_int_equal(pthread_create(&th, NULL, poster, loop), 0);
    /* nothing is pending, but the hold keeps DEFAULT waiting until the third post unrefs */
    assert_int_equal(asock_loop_run(loop, ASOCK_RUN_DEFAULT), 0);
    pthread_join(th, NULL);
    assert_int_equal(g_posts, 3);
    asock_loop_unref(loop); /* an extra unref is harmless */
    assert_int_equal(asock_loop_run(loop, ASOCK_RUN_NOWAIT), 0);
    asock_t_end(loop);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(one_shot_fires_once_after_timeout),
        cmocka_unit_test(repeating_timer_and_stop_in_callback),
        cmocka_unit_test(close_inside_callback),
        cmocka_unit_test(ordered_by_deadline_and_stop_prevents_firing),
        cmocka_unit_test(bad_arguments_and_free_releases_timers),
        cmocka_unit_test(hold_keeps_waiting_for_posts),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
