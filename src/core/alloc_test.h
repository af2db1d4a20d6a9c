/* Failure injection for the allocation wrappers in alloc.c (tests only; not part of the API).
 * Every call of asock__malloc, asock__calloc, asock__realloc and asock__strdup counts as one
 * allocation, including the calls the hook makes fail. */
#ifndef ASOCK_CORE_ALLOC_TEST_H
#define ASOCK_CORE_ALLOC_TEST_H

/* Makes the n-th allocation from now (1-based) and every later one fail (return NULL); n == 0
 * fails every allocation from now on, n < 0 turns failures off.  Thread-safe. */
__attribute__((visibility("hidden"))) void asock__alloc_fail_after(long n);

/* Allocations made since the process started.  Thread-safe. */
__attribute__((visibility("hidden"))) long asock__alloc_count(void);

#endif
