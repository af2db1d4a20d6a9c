/* RFC 2782 SRV ordering (src/resolve/srv.c), pure and deterministic: a fixed random sequence
 * gives a fixed order; the services-name helpers (src/resolve/services.c). */
#define _GNU_SOURCE 1
#include "test.h"

#include "resolve/resolve_int.h"

#include <errno.h>

struct seq {
    const uint32_t *v;
    size_t n, i;
};

static uint32_t seq_next(void *user)
{
    struct seq *s = user;
    uint32_t x = s->v[s->i % s->n];
    s->i++;
    return x;
}

static uint32_t never(void *user)
{
    (void)user;
    fail_msg("no draw expected");
    return 0;
}

#define REC(t, p, w, port)    \
    {                         \
        (t), (p), (w), (port) \
    }

/* Priority ascending, whatever the wire order; single-record groups need no draw. */
static void priority_order(void **state)
{
    (void)state;
    struct asock__srv_rec r[] = {REC("c", 30, 5, 3), REC("a", 10, 5, 1), REC("b", 20, 5, 2)};
    assert_int_equal(asock__srv_order(r, 3, never, NULL), 3);
    assert_string_equal(r[0].target, "a");
    assert_string_equal(r[1].target, "b");
    assert_string_equal(r[2].target, "c");
}

/* Within a priority: records sorted by weight (weight 0 first), a draw x in [0, sum] picks the
 * first whose running sum reaches x. */
static void weighted_draw(void **state)
{
    (void)state;
    /* sorted: z(0) a(10) b(30); running sums 0, 10, 40; sum 40 */
    const uint32_t xs[] = {0, 1, 10, 11, 40};
    const char *first[] = {"z", "a", "a", "b", "b"};
    for (size_t k = 0; k < 5; k++) {
        struct asock__srv_rec r[] = {REC("b", 1, 30, 2), REC("z", 1, 0, 9), REC("a", 1, 10, 1)};
        uint32_t v[] = {xs[k], 0};
        struct seq s = {v, 2, 0};
        assert_int_equal(asock__srv_order(r, 3, seq_next, &s), 3);
        assert_string_equal(r[0].target, first[k]);
        assert_int_equal(s.i, 2); /* two draws for three records */
    }
    /* x is taken modulo sum + 1: 41 is 0 */
    struct asock__srv_rec r[] = {REC("b", 1, 30, 2), REC("z", 1, 0, 9), REC("a", 1, 10, 1)};
    struct seq s = {(const uint32_t[]){41, 0}, 2, 0};
    asock__srv_order(r, 3, seq_next, &s);
    assert_string_equal(r[0].target, "z");
    /* second draw over {a(10), b(30)} with x = 0: a */
    assert_string_equal(r[1].target, "a");
    assert_string_equal(r[2].target, "b");
}

/* Over every x in [0, sum] once, each record comes first in proportion to its weight. */
static void weight_distribution(void **state)
{
    (void)state;
    int count[3] = {0, 0, 0};
    for (uint32_t x = 0; x <= 100; x++) {
        struct asock__srv_rec r[] = {REC("s60", 10, 60, 1), REC("s40", 10, 40, 2),
                                     REC("s0", 20, 0, 3)};
        struct seq s = {&x, 1, 0};
        assert_int_equal(asock__srv_order(r, 3, seq_next, &s), 3);
        if (strcmp(r[0].target, "s40") == 0)
            count[0]++;
        else if (strcmp(r[0].target, "s60") == 0)
            count[1]++;
        assert_string_equal(r[2].target, "s0");
        assert_int_equal(s.i, 1);
    }
    assert_int_equal(count[0], 41);
    assert_int_equal(count[1], 60);
}

/* A lone "." (or "", as c-ares gives the root) means not available; among others it is
 * dropped. */
static void root_target(void **state)
{
    (void)state;
    struct asock__srv_rec a[] = {REC("", 0, 0, 1)};
    assert_int_equal(asock__srv_order(a, 1, never, NULL), -ENOENT);
    struct asock__srv_rec b[] = {REC(".", 0, 0, 1)};
    assert_int_equal(asock__srv_order(b, 1, never, NULL), -ENOENT);
    struct asock__srv_rec c[] = {REC(".", 0, 0, 1), REC("x", 5, 0, 2)};
    assert_int_equal(asock__srv_order(c, 2, never, NULL), 1);
    assert_string_equal(c[0].target, "x");
    assert_int_equal(asock__srv_order(c, 0, never, NULL), -ENOENT);
}

/* Only weight-0 records: the draw spreads them evenly (r mod count). */
static void all_zero_weights(void **state)
{
    (void)state;
    struct asock__srv_rec r[] = {REC("b", 1, 0, 2), REC("a", 1, 0, 1), REC("c", 1, 0, 3)};
    struct seq s = {(const uint32_t[]){2, 1}, 2, 0};
    assert_int_equal(asock__srv_order(r, 3, seq_next, &s), 3);
    /* sorted a b c; 2 mod 3 -> c; then {a, b}: 1 mod 2 -> b */
    assert_string_equal(r[0].target, "c");
    assert_string_equal(r[1].target, "b");
    assert_string_equal(r[2].target, "a");
}

static void service_ports(void **state)
{
    (void)state;
    uint16_t port = 0;
    assert_int_equal(asock__service_port("80", SOCK_STREAM, false, &port), 1);
    assert_int_equal(port, 80);
    assert_int_equal(asock__service_port("65535", SOCK_DGRAM, false, &port), 1);
    assert_int_equal(port, 65535);
    assert_int_equal(asock__service_port("65536", SOCK_DGRAM, false, &port), -EINVAL);
    assert_int_equal(asock__service_port("0", SOCK_DGRAM, false, &port), -EINVAL);
    assert_int_equal(asock__service_port("0", SOCK_DGRAM, true, &port), 1);
    assert_int_equal(port, 0);
    assert_int_equal(asock__service_port("", SOCK_DGRAM, false, &port), -EINVAL);
    assert_int_equal(asock__service_port(NULL, SOCK_DGRAM, true, &port), 1);
    assert_int_equal(asock__service_port("-1", SOCK_DGRAM, false, &port), -EINVAL);
    assert_int_equal(asock__service_port("a b", SOCK_DGRAM, false, &port), -EINVAL);
    /* the database, with the socket's protocol */
    assert_int_equal(asock__service_port("ntp", SOCK_DGRAM, false, &port), 2);
    assert_int_equal(port, 123);
    assert_int_equal(asock__service_port("ntp", SOCK_STREAM, false, &port), 0);
    assert_int_equal(asock__service_port("http", SOCK_STREAM, false, &port), 2);
    assert_int_equal(port, 80);
    assert_int_equal(asock__service_port("http", SOCK_DGRAM, false, &port), 0);
    assert_int_equal(asock__service_port("echo", SOCK_DGRAM, false, &port), 2);
    assert_int_equal(port, 7);
    assert_int_equal(asock__service_port("no-such-service", SOCK_DGRAM, false, &port), 0);
}

static void srv_names(void **state)
{
    (void)state;
    char q[300];
    assert_int_equal(asock__srv_qname(q, sizeof(q), "stun", SOCK_DGRAM, "contoso.com"), 0);
    assert_string_equal(q, "_stun._udp.contoso.com");
    assert_int_equal(asock__srv_qname(q, sizeof(q), "xmpp-client", SOCK_STREAM, "contoso.com"), 0);
    assert_string_equal(q, "_xmpp-client._tcp.contoso.com");
    /* hierarchical (the Windows Runtime's "stun._service01") */
    assert_int_equal(asock__srv_qname(q, sizeof(q), "stun._service01", SOCK_DGRAM, "c.com"), 0);
    assert_string_equal(q, "_stun._service01._udp.c.com");
    assert_int_equal(asock__srv_qname(q, 10, "stun", SOCK_DGRAM, "contoso.com"), -EINVAL);
}

/* The public classification of a service string (what asockcat validates with). */
static void service_lookup_public(void **state)
{
    (void)state;
    uint16_t port = 7;
    assert_int_equal(asock_service_lookup("80", SOCK_STREAM, 0, &port), ASOCK_SERVICE_NUMBER);
    assert_int_equal(port, 80);
    assert_int_equal(asock_service_lookup("ntp", SOCK_DGRAM, 0, &port), ASOCK_SERVICE_DATABASE);
    assert_int_equal(port, 123);
    port = 7;
    /* ntp is UDP-only in the services database: for a stream it would be an SRV name */
    assert_int_equal(asock_service_lookup("ntp", SOCK_STREAM, 0, &port), ASOCK_SERVICE_SRV);
    assert_int_equal(port, 7);
    assert_int_equal(asock_service_lookup("0", SOCK_STREAM, 0, &port), -EINVAL);
    assert_int_equal(asock_service_lookup("", SOCK_STREAM, 0, &port), -EINVAL);
    assert_int_equal(asock_service_lookup("0", SOCK_DGRAM, 1, &port), ASOCK_SERVICE_NUMBER);
    assert_int_equal(port, 0);
    assert_int_equal(asock_service_lookup("70000", SOCK_STREAM, 0, &port), -EINVAL);
    assert_int_equal(asock_service_lookup("-x", SOCK_STREAM, 0, &port), -EINVAL);
    assert_int_equal(asock_service_lookup("a b", SOCK_STREAM, 0, &port), -EINVAL);
    assert_int_equal(asock_service_lookup(NULL, SOCK_STREAM, 0, &port), -EINVAL);
    assert_int_equal(asock_service_lookup("80", SOCK_STREAM, 0, NULL), -EINVAL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(service_lookup_public), cmocka_unit_test(priority_order),
        cmocka_unit_test(weighted_draw),         cmocka_unit_test(weight_distribution),
        cmocka_unit_test(root_target),           cmocka_unit_test(all_zero_weights),
        cmocka_unit_test(service_ports),         cmocka_unit_test(srv_names),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
