/* The allocation wrappers and their failure-injection hook. */
#define _GNU_SOURCE 1
#include "test.h"

#include <pthread.h>

#include "core/alloc_test.h"
#include "core/internal.h"

static int reset_hook(void **state)
{
    (void)state;
    asock__alloc_fail_after(-1);
    return 0;
}

static void test_count(void **state)
{
    (void)state;
    long before = asock__alloc_count();
    void *a = asock__malloc(16);
    assert_non_null(a);
    assert_int_equal(asock__alloc_count(), before + 1);
    void *b = asock__calloc(4, 4);
    assert_non_null(b);
    assert_int_equal(asock__alloc_count(), before + 2);
    a = asock__realloc(a, 64);
    assert_non_null(a);
    assert_int_equal(asock__alloc_count(), before + 3);
    char *s = asock__strdup("hello");
    assert_non_null(s);
    assert_string_equal(s, "hello");
    assert_int_equal(asock__alloc_count(), before + 4);
    /* free is not an allocation */
    asock__free(a);
    asock__free(b);
    asock__free(s);
    asock__free(NULL);
    assert_int_equal(asock__alloc_count(), before + 4);
}

static void test_fail_after(void **state)
{
    (void)state;
    asock__alloc_fail_after(3);
    void *a = asock__malloc(8); /* 1st */
    void *b = asock__malloc(8); /* 2nd */
    void *c = asock__malloc(8); /* 3rd: fails */
    void *d = asock__malloc(8); /* and every later one */
    assert_non_null(a);
    assert_non_null(b);
    assert_null(c);
    assert_null(d);
    assert_null(asock__calloc(1, 1));
    assert_null(asock__strdup("x"));

    /* a failed realloc leaves the block alone */
    memset(a, 0x3c, 8);
    assert_null(asock__realloc(a, 4096));
    for (size_t i = 0; i < 8; i++)
        assert_int_equal(((unsigned char *)a)[i], 0x3c);

    /* n < 0 turns the hook off */
    asock__alloc_fail_after(-1);
    void *e = asock__malloc(8);
    assert_non_null(e);

    /* 1: the very next allocation fails; 0: everything fails from now */
    asock__alloc_fail_after(1);
    assert_null(asock__malloc(8));
    asock__alloc_fail_after(0);
    assert_null(asock__malloc(8));
    asock__alloc_fail_after(-1);

    asock__free(a);
    asock__free(b);
    asock__free(e);
}

/* The loop a torture test runs: fail allocation 1, 2, ... until the code under test succeeds. */
static int three_strdups(char **out)
{
    for (int i = 0; i < 3; i++) {
        out[i] = asock__strdup("abc");
        if (out[i] == NULL) {
            while (i-- > 0)
                asock__free(out[i]);
            return -ENOMEM;
        }
    }
    return 0;
}

static void test_fail_each_in_turn(void **state)
{
    (void)state;
    char *out[3];
    long n = 1;
    for (;; n++) {
        asock__alloc_fail_after(n);
        int rc = three_strdups(out);
        asock__alloc_fail_after(-1);
        if (rc == 0)
            break;
        assert_int_equal(rc, -ENOMEM);
    }
    assert_int_equal(n, 4); /* allocations 1..3 were each made to fail once */
    for (int i = 0; i < 3; i++)
        asock__free(out[i]);
}

static void test_calloc_overflow(void **state)
{
    (void)state;
    assert_null(asock__calloc(SIZE_MAX / 2 + 1, 2));
    assert_null(asock__calloc(2, SIZE_MAX / 2 + 1));
    assert_null(asock__calloc(SIZE_MAX, SIZE_MAX));
    assert_null(asock__calloc((SIZE_MAX >> 4) + 1, 16));

    unsigned char *z = asock__calloc(32, 8);
    assert_non_null(z);
    for (size_t i = 0; i < 256; i++)
        assert_int_equal(z[i], 0);
    asock__free(z);
}

static void test_zero_sizes(void **state)
{
    (void)state;
    void *a = asock__malloc(0);
    void *b = asock__malloc(0);
    assert_non_null(a);
    assert_non_null(b);
    assert_ptr_not_equal(a, b);
    void *c = asock__calloc(0, 8);
    void *d = asock__calloc(8, 0);
    assert_non_null(c);
    assert_non_null(d);
    a = asock__realloc(a, 0); /* stays a valid block, not freed */
    assert_non_null(a);
    void *e = asock__realloc(NULL, 8); /* like malloc */
    assert_non_null(e);
    char *s = asock__strdup("");
    assert_non_null(s);
    assert_string_equal(s, "");
    assert_null(asock__strdup(NULL));
    asock__free(a);
    asock__free(b);
    asock__free(c);
    asock__free(d);
    asock__free(e);
    asock__free(s);
}

#define THREADS    8
#define PER_THREAD 2000

static void *alloc_worker(void *arg)
{
    (void)arg;
    for (int i = 0; i < PER_THREAD; i++)
        asock__free(asock__malloc(32));
    return NULL;
}

static void test_count_threads(void **state)
{
    (void)state;
    long before = asock__alloc_count();
    pthread_t t[THREADS];
    for (int i = 0; i < THREADS; i++)
        assert_int_equal(pthread_create(&t[i], NULL, alloc_worker, NULL), 0);
    for (int i = 0; i < THREADS; i++)
        assert_int_equal(pthread_join(t[i], NULL), 0);
    assert_int_equal(asock__alloc_count(), before + (long)THREADS * PER_THREAD);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_teardown(test_count, reset_hook),
        cmocka_unit_test_teardown(test_fail_after, reset_hook),
        cmocka_unit_test_teardown(test_fail_each_in_turn, reset_hook),
        cmocka_unit_test_teardown(test_calloc_overflow, reset_hook),
        cmocka_unit_test_teardown(test_zero_sizes, reset_hook),
        cmocka_unit_test_teardown(test_count_threads, reset_hook),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
