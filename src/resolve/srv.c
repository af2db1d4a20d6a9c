/* RFC 2782 ordering of SRV records.  Pure: no allocation, no I/O; the random source is passed
 * in, so a test can fix the order. */
#include "resolve_int.h"

static bool is_root(const char *target)
{
    return target == NULL || target[0] == '\0' || (target[0] == '.' && target[1] == '\0');
}

/* The canonical order before any draw: priority, then weight (RFC 2782: weight-0 records at the
 * beginning of each draw's list), then target and port.  Wire order never matters (dnsmasq, for
 * one, answers in the reverse of its configuration), so a fixed random sequence gives a fixed
 * result. */
static int compare(const struct asock__srv_rec *a, const struct asock__srv_rec *b)
{
    if (a->priority != b->priority)
        return a->priority < b->priority ? -1 : 1;
    if (a->weight != b->weight)
        return a->weight < b->weight ? -1 : 1;
    int c = strcmp(a->target, b->target);
    if (c != 0)
        return c;
    if (a->port != b->port)
        return a->port < b->port ? -1 : 1;
    return 0;
}

static void sort_recs(struct asock__srv_rec *recs, size_t n)
{
    /* insertion sort: answers hold a handful of records */
    for (size_t i = 1; i < n; i++) {
        struct asock__srv_rec x = recs[i];
        size_t j = i;
        while (j > 0 && compare(&x, &recs[j - 1]) < 0) {
            recs[j] = recs[j - 1];
            j--;
        }
        recs[j] = x;
    }
}

/* Moves recs[from] to recs[to] (to <= from), shifting the ones between up by one. */
static void move_to(struct asock__srv_rec *recs, size_t to, size_t from)
{
    struct asock__srv_rec x = recs[from];
    for (size_t k = from; k > to; k--)
        recs[k] = recs[k - 1];
    recs[to] = x;
}

/* Orders recs[a, b) (one priority) by repeated weighted draws. */
static void order_group(struct asock__srv_rec *recs, size_t a, size_t b, asock_random_fn *rnd,
                        void *user)
{
    for (size_t i = a; i + 1 < b; i++) {
        uint64_t sum = 0;
        for (size_t j = i; j < b; j++)
            sum += recs[j].weight;
        uint32_t r = rnd(user);
        size_t pick = i;
        if (sum == 0) {
            /* Only weight-0 records are left: RFC 2782 would always take the first; spread the
             * load evenly among them instead. */
            pick = i + (size_t)(r % (uint32_t)(b - i));
        } else {
            /* RFC 2782: a uniform number in [0, sum]; the first record whose running sum is
             * >= it is next.  A weight-0 record at the front wins only on 0: a very small
             * chance, as the RFC asks. */
            uint64_t x = (uint64_t)r % (sum + 1u);
            uint64_t running = 0;
            for (size_t j = i; j < b; j++) {
                running += recs[j].weight;
                if (running >= x) {
                    pick = j;
                    break;
                }
            }
        }
        move_to(recs, i, pick);
    }
}

int asock__srv_order(struct asock__srv_rec *recs, size_t n, asock_random_fn *rnd, void *user)
{
    /* RFC 2782: "A Target of '.' means that the service is decidedly not available at this
     * domain."  Alone, that is the answer; among real targets such a record is meaningless and
     * dropped. */
    size_t kept = 0;
    for (size_t i = 0; i < n; i++) {
        if (!is_root(recs[i].target))
            recs[kept++] = recs[i];
    }
    if (kept == 0)
        return -ENOENT;
    sort_recs(recs, kept);
    /* RFC 2782: lowest priority first; within one priority, weighted random order. */
    size_t a = 0;
    while (a < kept) {
        size_t b = a + 1;
        while (b < kept && recs[b].priority == recs[a].priority)
            b++;
        if (b - a > 1)
            order_group(recs, a, b, rnd, user);
        a = b;
    }
    return kept > INT32_MAX ? INT32_MAX : (int)kept;
}
