/* Allocation wrappers: every allocation in asock goes through here, so a test can make the Nth
 * one fail and check that each path turns it into -ENOMEM (STYLE.md habit 7). */
#include "internal.h"

#include <stdlib.h>

#include "alloc_test.h"

/* Allocations attempted so far, and the number of the first one that must fail (-1: none). */
static atomic_long alloc_count;
static atomic_long fail_from = -1;

/* Counts one allocation; true if the failure hook says this one must fail. */
static bool alloc_should_fail(void)
{
    long nth = atomic_fetch_add_explicit(&alloc_count, 1, memory_order_relaxed) + 1;
    long from = atomic_load_explicit(&fail_from, memory_order_relaxed);
    return from >= 0 && nth >= from;
}

void asock__alloc_fail_after(long n)
{
    if (n < 0) {
        atomic_store(&fail_from, -1);
        return;
    }
    atomic_store(&fail_from, atomic_load(&alloc_count) + n);
}

long asock__alloc_count(void)
{
    return atomic_load(&alloc_count);
}

void *asock__malloc(size_t size)
{
    if (alloc_should_fail())
        return NULL;
    /* malloc(0) may return NULL, which callers would read as out of memory; ask for one byte so
     * every successful call gives a distinct pointer. */
    return malloc(size == 0 ? 1 : size);
}

void *asock__calloc(size_t n, size_t size)
{
    if (alloc_should_fail())
        return NULL;
    if (size != 0 && n > SIZE_MAX / size)
        return NULL; /* n * size would wrap */
    if (n == 0 || size == 0)
        return calloc(1, 1);
    return calloc(n, size);
}

void *asock__realloc(void *p, size_t size)
{
    if (alloc_should_fail())
        return NULL; /* like a failed realloc: p stays valid and owned by the caller */
    /* realloc(p, 0) frees p on glibc and returns NULL: keep "NULL means failure" instead. */
    return realloc(p, size == 0 ? 1 : size);
}

void asock__free(void *p)
{
    free(p);
}

char *asock__strdup(const char *s)
{
    if (s == NULL)
        return NULL;
    size_t n = strlen(s) + 1;
    char *copy = asock__malloc(n);
    if (copy == NULL)
        return NULL;
    memcpy(copy, s, n);
    return copy;
}
