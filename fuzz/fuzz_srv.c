/* RFC 2782 ordering of SRV records (asock__srv_order), with records and random numbers from the
 * input.  Up to 4096 records: a 64 KiB TCP answer holds at most about 3,300.
 *
 * Checks: -ENOENT exactly when every target is the root ("." or ""); otherwise the result is a
 * permutation of the non-root records, in non-decreasing priority, with the random source called
 * once per draw (size - 1 per priority group of more than one record); a record of weight > 0 is
 * drawn first in its group whenever the random number lands in its share (the RFC's rule, with
 * the running sum compared against r % (sum + 1)). */
#define _GNU_SOURCE 1
#include "fuzz.h"

#include <asock/asock.h>
#include "resolve/resolve_int.h"

#include <errno.h>
#include <stdbool.h>

#define MAX_RECS 4096

static const char *const names[] = {
    "", ".", "a.test", "b.test", "c.test", "a.test", "srv-1.example", "x",
};

struct rnd_state {
    fuzz_in in;
    size_t calls;
};

static uint32_t rnd(void *user)
{
    struct rnd_state *st = user;
    st->calls++;
    if (st->in.n == 0)
        return (uint32_t)(st->calls * 2654435761u);
    return fuzz_u32(&st->in);
}

static bool is_root(const char *t)
{
    return t[0] == '\0' || strcmp(t, ".") == 0;
}

static int cmp_rec(const void *pa, const void *pb)
{
    const struct asock__srv_rec *a = pa, *b = pb;
    if (a->priority != b->priority)
        return a->priority < b->priority ? -1 : 1;
    if (a->weight != b->weight)
        return a->weight < b->weight ? -1 : 1;
    if (a->port != b->port)
        return a->port < b->port ? -1 : 1;
    return strcmp(a->target, b->target);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fuzz_in in = {data, size};
    size_t n = fuzz_u16(&in) % (MAX_RECS + 1);
    /* each record: priority, weight, port, name index (7 bytes); missing bytes are zeros */
    struct asock__srv_rec *recs = calloc(n + 1, sizeof(*recs));
    struct asock__srv_rec *orig = calloc(n + 1, sizeof(*orig));
    FUZZ_CHECK(recs != NULL && orig != NULL);
    size_t nonroot = 0;
    for (size_t i = 0; i < n; i++) {
        recs[i].priority = fuzz_u16(&in);
        recs[i].weight = fuzz_u16(&in);
        recs[i].port = fuzz_u16(&in);
        recs[i].target = names[fuzz_u8(&in) % (sizeof(names) / sizeof(names[0]))];
        if (!is_root(recs[i].target))
            orig[nonroot++] = recs[i];
    }
    struct rnd_state st = {in, 0};

    int rc = asock__srv_order(recs, n, rnd, &st);
    if (nonroot == 0) {
        FUZZ_CHECK(rc == -ENOENT);
        FUZZ_CHECK(st.calls == 0);
        goto out;
    }
    FUZZ_CHECK(rc >= 0 && (size_t)rc == nonroot);

    /* priorities never decrease, and each group of g records took g - 1 draws */
    size_t draws = 0;
    for (size_t a = 0; a < nonroot;) {
        size_t b = a + 1;
        while (b < nonroot && recs[b].priority == recs[a].priority)
            b++;
        if (b < nonroot)
            FUZZ_CHECK(recs[b].priority > recs[a].priority);
        draws += b - a - 1;
        a = b;
    }
    FUZZ_CHECK(st.calls == draws);

    /* a permutation of the non-root records */
    struct asock__srv_rec *got = malloc(nonroot * sizeof(*got));
    FUZZ_CHECK(got != NULL);
    memcpy(got, recs, nonroot * sizeof(*got));
    for (size_t i = 0; i < nonroot; i++)
        FUZZ_CHECK(!is_root(got[i].target));
    qsort(got, nonroot, sizeof(*got), cmp_rec);
    qsort(orig, nonroot, sizeof(*orig), cmp_rec);
    for (size_t i = 0; i < nonroot; i++)
        FUZZ_CHECK(cmp_rec(&got[i], &orig[i]) == 0);
    free(got);

    /* The first draw of the first group, replayed: with the same first random number, the record
     * RFC 2782 selects (running sum >= r % (sum + 1), records in priority/weight order) is the
     * one asock put first.  Weight-0 groups spread evenly instead (any member). */
    if (nonroot > 1 && orig[1].priority == orig[0].priority) {
        fuzz_in again = in;
        size_t g = 1;
        while (g < nonroot && orig[g].priority == orig[0].priority)
            g++;
        uint32_t r = again.n == 0 ? (uint32_t)2654435761u : fuzz_u32(&again);
        uint64_t sum = 0;
        for (size_t j = 0; j < g; j++)
            sum += orig[j].weight;
        if (sum > 0) {
            uint64_t x = (uint64_t)r % (sum + 1u);
            uint64_t running = 0;
            size_t pick = 0;
            for (size_t j = 0; j < g; j++) {
                running += orig[j].weight;
                if (running >= x) {
                    pick = j;
                    break;
                }
            }
            /* equal (priority, weight) records may sit in either order: compare the weight */
            FUZZ_CHECK(recs[0].weight == orig[pick].weight);
        }
    }
out:
    free(recs);
    free(orig);
    return 0;
}
