/* Endpoints: IP literal parsing and formatting, DNS name validation, sockaddr conversion and
 * equality.  No network traffic: everything here is pure parsing. */
#define _GNU_SOURCE 1
#include "test.h"

#include <errno.h>
#include <net/if.h>

/* Parses literal:port, formats it back and checks the text. */
static void round_trip(const char *literal, uint16_t port, int family, const char *expect)
{
    asock_endpoint ep;
    assert_int_equal(asock_endpoint_ip(&ep, literal, port), 0);
    assert_int_equal(ep.kind, ASOCK_ENDPOINT_IP);
    assert_int_equal(asock_endpoint_family(&ep), family);
    assert_int_equal(asock_endpoint_port(&ep), port);

    char buf[128];
    int n = asock_endpoint_format(&ep, buf, sizeof(buf));
    assert_int_equal(n, (int)strlen(expect));
    assert_string_equal(buf, expect);

    socklen_t len = 0;
    const struct sockaddr *sa = asock_endpoint_sockaddr(&ep, &len);
    assert_non_null(sa);
    assert_int_equal(sa->sa_family, family);
    assert_int_equal(len,
                     family == AF_INET ? sizeof(struct sockaddr_in) : sizeof(struct sockaddr_in6));

    /* through a sockaddr and back: the same endpoint */
    asock_endpoint copy;
    assert_int_equal(asock_endpoint_from_sockaddr(&copy, sa, len), 0);
    assert_true(asock_endpoint_equal(&ep, &copy));
}

static void test_ip_v4(void **state)
{
    (void)state;
    round_trip("127.0.0.1", 80, AF_INET, "127.0.0.1:80");
    round_trip("0.0.0.0", 0, AF_INET, "0.0.0.0:0");
    round_trip("255.255.255.255", 65535, AF_INET, "255.255.255.255:65535");

    asock_endpoint ep;
    assert_int_equal(asock_endpoint_ip(&ep, "10.1.2.3", 8080), 0);
    assert_int_equal(ep.ip.in4.sin_addr.s_addr, htonl(0x0a010203u));
    assert_int_equal(ep.ip.in4.sin_port, htons(8080));
}

static void test_ip_v6(void **state)
{
    (void)state;
    round_trip("::1", 80, AF_INET6, "[::1]:80");
    round_trip("::", 443, AF_INET6, "[::]:443");
    round_trip("2001:db8::17", 53, AF_INET6, "[2001:db8::17]:53");
    round_trip("2001:DB8:0:0:0:0:0:1", 1, AF_INET6, "[2001:db8::1]:1");
    round_trip("::ffff:192.0.2.1", 9, AF_INET6, "[::ffff:192.0.2.1]:9");
}

static void test_ip_v6_scoped(void **state)
{
    (void)state;
    unsigned lo = if_nametoindex("lo");
    if (lo == 0)
        skip(); /* no loopback interface in this namespace */

    round_trip("fe80::1%lo", 80, AF_INET6, "[fe80::1%lo]:80");

    asock_endpoint ep;
    assert_int_equal(asock_endpoint_ip(&ep, "fe80::1%lo", 80), 0);
    assert_int_equal(ep.ip.in6.sin6_scope_id, lo);

    /* a numeric scope id names the same interface */
    char numeric[32];
    snprintf(numeric, sizeof(numeric), "fe80::1%%%u", lo);
    asock_endpoint by_index;
    assert_int_equal(asock_endpoint_ip(&by_index, numeric, 80), 0);
    assert_true(asock_endpoint_equal(&ep, &by_index));

    /* the scope is part of the identity */
    asock_endpoint unscoped;
    assert_int_equal(asock_endpoint_ip(&unscoped, "fe80::1", 80), 0);
    assert_false(asock_endpoint_equal(&ep, &unscoped));

    /* an index with no interface is kept and formatted as a number */
    asock_endpoint ghost;
    assert_int_equal(asock_endpoint_ip(&ghost, "fe80::1%4000000000", 7), 0);
    char buf[64];
    assert_true(asock_endpoint_format(&ghost, buf, sizeof(buf)) > 0);
    assert_string_equal(buf, "[fe80::1%4000000000]:7");

    /* unknown interface name, empty scope, scope out of range */
    assert_int_equal(asock_endpoint_ip(&ep, "fe80::1%no-such-if0", 80), -EINVAL);
    assert_int_equal(asock_endpoint_ip(&ep, "fe80::1%", 80), -EINVAL);
    assert_int_equal(asock_endpoint_ip(&ep, "fe80::1%4294967296", 80), -EINVAL);
    assert_int_equal(ep.kind, ASOCK_ENDPOINT_NONE);
}

static void test_ip_bad_literals(void **state)
{
    (void)state;
    static const char *const bad[] = {
        "",          "1.2.3",       "localhost",  "::g",        "1.2.3.4:80",    "1.2.3.4.5",
        "256.1.1.1", " 1.2.3.4",    "1.2.3.4 ",   "0x7f.0.0.1", "127.1",         "[::1]",
        "::1::2",    "example.com", "1.2.3.4%lo", ":::",        "fe80::1%lo%lo",
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        asock_endpoint ep;
        memset(&ep, 0xa5, sizeof(ep));
        if (asock_endpoint_ip(&ep, bad[i], 80) != -EINVAL)
            fail_msg("\"%s\" was accepted as an IP literal", bad[i]);
        assert_int_equal(ep.kind, ASOCK_ENDPOINT_NONE);
        assert_int_equal(asock_endpoint_family(&ep), AF_UNSPEC);
        assert_int_equal(asock_endpoint_port(&ep), 0);
    }
    asock_endpoint ep;
    memset(&ep, 0xa5, sizeof(ep));
    assert_int_equal(asock_endpoint_ip(&ep, NULL, 80), -EINVAL);
    assert_int_equal(ep.kind, ASOCK_ENDPOINT_NONE);
    assert_int_equal(asock_endpoint_ip(NULL, "127.0.0.1", 80), -EINVAL);

    /* a 300-character literal does not overflow anything */
    char longer[301];
    memset(longer, '1', sizeof(longer) - 1);
    longer[300] = '\0';
    longer[3] = ':';
    assert_int_equal(asock_endpoint_ip(&ep, longer, 80), -EINVAL);
}

static void test_dns_good(void **state)
{
    (void)state;
    static const char *const good[] = {
        "localhost",
        "example.com",
        "example.com.",
        "a",
        "a-b.c-d",
        "_sip._udp.example.com",
        "xn--bcher-kva.example",
        "123.example",
        "A.B.C",
        "1.2.3.4",
        "::1",
        "fe80::1%1",
    };
    for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
        asock_endpoint ep;
        if (asock_endpoint_dns(&ep, good[i], 443, AF_UNSPEC) != 0)
            fail_msg("\"%s\" was refused as a DNS host", good[i]);
        assert_int_equal(ep.kind, ASOCK_ENDPOINT_DNS);
        assert_ptr_equal(ep.dns.host, good[i]); /* stored, not copied */
        assert_int_equal(asock_endpoint_port(&ep), 443);
        assert_int_equal(asock_endpoint_family(&ep), AF_UNSPEC);
        socklen_t len = 99;
        assert_null(asock_endpoint_sockaddr(&ep, &len));
        assert_int_equal(len, 0);
    }

    asock_endpoint ep;
    assert_int_equal(asock_endpoint_dns(&ep, "example.com", 80, AF_INET), 0);
    assert_int_equal(asock_endpoint_family(&ep), AF_INET);
    assert_int_equal(asock_endpoint_dns(&ep, "example.com", 80, AF_INET6), 0);
    assert_int_equal(asock_endpoint_family(&ep), AF_INET6);

    /* the limits themselves: 253 characters (254 with the trailing dot), labels of 63 */
    char name[300];
    memset(name, 'a', 253);
    for (size_t i = 63; i < 253; i += 64)
        name[i] = '.';
    name[253] = '\0';
    assert_int_equal(asock_endpoint_dns(&ep, name, 1, AF_UNSPEC), 0);
    name[253] = '.';
    name[254] = '\0';
    assert_int_equal(asock_endpoint_dns(&ep, name, 1, AF_UNSPEC), 0);
}

static void test_dns_bad(void **state)
{
    (void)state;
    char too_long[256];
    memset(too_long, 'a', 254);
    for (size_t i = 63; i < 254; i += 64)
        too_long[i] = '.';
    too_long[254] = '\0';

    char long_label[80];
    memset(long_label, 'b', 64);
    memcpy(long_label + 64, ".com", 5);

    const char *const bad[] = {
        "",     too_long, long_label,   "-a.com", "a-.com", "a..b", "a b",
        ".",    "..",     ".a",         "a.b..",  "a/b",    "a:b",  "h\xc3\xa9llo.com",
        "a\tb", "[::1]",  "1.2.3.4:80", "a@b",
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        asock_endpoint ep;
        memset(&ep, 0xa5, sizeof(ep));
        if (asock_endpoint_dns(&ep, bad[i], 80, AF_UNSPEC) != -EINVAL)
            fail_msg("\"%s\" was accepted as a DNS host", bad[i]);
        assert_int_equal(ep.kind, ASOCK_ENDPOINT_NONE);
    }

    asock_endpoint ep;
    assert_int_equal(asock_endpoint_dns(&ep, NULL, 80, AF_UNSPEC), -EINVAL);
    assert_int_equal(asock_endpoint_dns(NULL, "example.com", 80, AF_UNSPEC), -EINVAL);
    assert_int_equal(asock_endpoint_dns(&ep, "example.com", 80, AF_UNIX), -EINVAL);
    assert_int_equal(asock_endpoint_dns(&ep, "example.com", 80, -1), -EINVAL);
    assert_int_equal(asock_endpoint_dns(&ep, "example.com", 80, AF_PACKET), -EINVAL);
    assert_int_equal(ep.kind, ASOCK_ENDPOINT_NONE);
}

static void test_format_dns(void **state)
{
    (void)state;
    asock_endpoint ep;
    char buf[64];
    assert_int_equal(asock_endpoint_dns(&ep, "example.com", 8080, AF_UNSPEC), 0);
    assert_int_equal(asock_endpoint_format(&ep, buf, sizeof(buf)), 16);
    assert_string_equal(buf, "example.com:8080");

    assert_int_equal(asock_endpoint_dns(&ep, "::1", 53, AF_INET6), 0);
    assert_int_equal(asock_endpoint_format(&ep, buf, sizeof(buf)), 8);
    assert_string_equal(buf, "[::1]:53");

    assert_int_equal(asock_endpoint_dns(&ep, "10.0.0.1", 53, AF_UNSPEC), 0);
    assert_int_equal(asock_endpoint_format(&ep, buf, sizeof(buf)), 11);
    assert_string_equal(buf, "10.0.0.1:53");
}

static void test_format_truncation(void **state)
{
    (void)state;
    asock_endpoint ep;
    assert_int_equal(asock_endpoint_ip(&ep, "192.168.100.200", 65535), 0);
    const char *full = "192.168.100.200:65535";
    int need = (int)strlen(full);

    /* the needed length whatever the buffer, like snprintf */
    assert_int_equal(asock_endpoint_format(&ep, NULL, 0), need);

    char buf[64];
    memset(buf, 'x', sizeof(buf));
    assert_int_equal(asock_endpoint_format(&ep, buf, 0), need);
    assert_int_equal(buf[0], 'x'); /* len 0: nothing written */

    assert_int_equal(asock_endpoint_format(&ep, buf, 1), need);
    assert_string_equal(buf, "");

    assert_int_equal(asock_endpoint_format(&ep, buf, 10), need);
    assert_string_equal(buf, "192.168.1");

    assert_int_equal(asock_endpoint_format(&ep, buf, (size_t)need), need);
    assert_int_equal(strlen(buf), (size_t)need - 1);
    assert_memory_equal(buf, full, (size_t)need - 1);

    assert_int_equal(asock_endpoint_format(&ep, buf, (size_t)need + 1), need);
    assert_string_equal(buf, full);

    /* v6 truncation keeps the NUL too */
    assert_int_equal(asock_endpoint_ip(&ep, "2001:db8::1", 443), 0);
    assert_int_equal(asock_endpoint_format(&ep, buf, 5), 17);
    assert_string_equal(buf, "[200");
}

static void test_format_errors(void **state)
{
    (void)state;
    char buf[32];
    asock_endpoint ep;
    memset(&ep, 0, sizeof(ep));
    assert_int_equal(asock_endpoint_format(NULL, buf, sizeof(buf)), -EINVAL);
    assert_int_equal(asock_endpoint_format(&ep, buf, sizeof(buf)), -EINVAL); /* NONE */
    assert_int_equal(asock_endpoint_ip(&ep, "127.0.0.1", 1), 0);
    assert_int_equal(asock_endpoint_format(&ep, NULL, 8), -EINVAL);
    asock_endpoint failed;
    assert_int_equal(asock_endpoint_ip(&failed, "nope", 1), -EINVAL);
    assert_int_equal(asock_endpoint_format(&failed, buf, sizeof(buf)), -EINVAL);
}

static void test_from_sockaddr(void **state)
{
    (void)state;
    asock_endpoint ep;

    struct sockaddr_in in4;
    memset(&in4, 0, sizeof(in4));
    in4.sin_family = AF_INET;
    in4.sin_port = htons(1234);
    in4.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    assert_int_equal(asock_endpoint_from_sockaddr(&ep, (struct sockaddr *)&in4, sizeof(in4)), 0);
    assert_int_equal(ep.kind, ASOCK_ENDPOINT_IP);
    assert_int_equal(asock_endpoint_port(&ep), 1234);
    assert_int_equal(asock_endpoint_family(&ep), AF_INET);
    char buf[64];
    assert_int_equal(asock_endpoint_format(&ep, buf, sizeof(buf)), 14);
    assert_string_equal(buf, "127.0.0.1:1234");

    /* a sockaddr_storage-sized length is fine */
    struct sockaddr_storage ss;
    memset(&ss, 0, sizeof(ss));
    memcpy(&ss, &in4, sizeof(in4));
    assert_int_equal(asock_endpoint_from_sockaddr(&ep, (struct sockaddr *)&ss, sizeof(ss)), 0);

    struct sockaddr_in6 in6;
    memset(&in6, 0, sizeof(in6));
    in6.sin6_family = AF_INET6;
    in6.sin6_port = htons(4321);
    in6.sin6_addr = in6addr_loopback;
    assert_int_equal(asock_endpoint_from_sockaddr(&ep, (struct sockaddr *)&in6, sizeof(in6)), 0);
    assert_int_equal(asock_endpoint_family(&ep), AF_INET6);
    assert_int_equal(asock_endpoint_port(&ep), 4321);
    assert_int_equal(asock_endpoint_format(&ep, buf, sizeof(buf)), 10);
    assert_string_equal(buf, "[::1]:4321");

    /* short lengths */
    memset(&ep, 0xa5, sizeof(ep));
    assert_int_equal(asock_endpoint_from_sockaddr(&ep, (struct sockaddr *)&in4, sizeof(in4) - 1),
                     -EINVAL);
    assert_int_equal(ep.kind, ASOCK_ENDPOINT_NONE);
    assert_int_equal(asock_endpoint_from_sockaddr(&ep, (struct sockaddr *)&in6, sizeof(in4)),
                     -EINVAL);
    assert_int_equal(asock_endpoint_from_sockaddr(&ep, (struct sockaddr *)&in4, 0), -EINVAL);

    /* NULLs */
    assert_int_equal(asock_endpoint_from_sockaddr(&ep, NULL, sizeof(in4)), -EINVAL);
    assert_int_equal(asock_endpoint_from_sockaddr(NULL, (struct sockaddr *)&in4, sizeof(in4)),
                     -EINVAL);

    /* other families */
    struct sockaddr_storage other;
    memset(&other, 0, sizeof(other));
    other.ss_family = AF_UNIX;
    memset(&ep, 0xa5, sizeof(ep));
    assert_int_equal(asock_endpoint_from_sockaddr(&ep, (struct sockaddr *)&other, sizeof(other)),
                     -EAFNOSUPPORT);
    assert_int_equal(ep.kind, ASOCK_ENDPOINT_NONE);
    other.ss_family = AF_UNSPEC;
    assert_int_equal(asock_endpoint_from_sockaddr(&ep, (struct sockaddr *)&other, sizeof(other)),
                     -EAFNOSUPPORT);
}

static void test_equal(void **state)
{
    (void)state;
    asock_endpoint a;
    asock_endpoint b;

    assert_int_equal(asock_endpoint_ip(&a, "127.0.0.1", 80), 0);
    assert_int_equal(asock_endpoint_ip(&b, "127.0.0.1", 80), 0);
    assert_true(asock_endpoint_equal(&a, &b));
    assert_true(asock_endpoint_equal(&a, &a));

    assert_int_equal(asock_endpoint_ip(&b, "127.0.0.1", 81), 0);
    assert_false(asock_endpoint_equal(&a, &b)); /* port */
    assert_int_equal(asock_endpoint_ip(&b, "127.0.0.2", 80), 0);
    assert_false(asock_endpoint_equal(&a, &b)); /* address */
    assert_int_equal(asock_endpoint_ip(&b, "::ffff:127.0.0.1", 80), 0);
    assert_false(asock_endpoint_equal(&a, &b)); /* family (v4-mapped is another family) */

    /* IPv4: only the address and port count, not sin_zero garbage */
    struct sockaddr_in raw;
    memset(&raw, 0x5a, sizeof(raw));
    raw.sin_family = AF_INET;
    raw.sin_port = htons(80);
    raw.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    assert_int_equal(asock_endpoint_from_sockaddr(&b, (struct sockaddr *)&raw, sizeof(raw)), 0);
    assert_true(asock_endpoint_equal(&a, &b));

    /* IPv6: flowinfo does not count, the port does */
    assert_int_equal(asock_endpoint_ip(&a, "2001:db8::5", 80), 0);
    struct sockaddr_in6 raw6;
    memset(&raw6, 0, sizeof(raw6));
    raw6.sin6_family = AF_INET6;
    raw6.sin6_port = htons(80);
    raw6.sin6_flowinfo = htonl(0x12345u);
    assert_int_equal(inet_pton(AF_INET6, "2001:db8::5", &raw6.sin6_addr), 1);
    assert_int_equal(asock_endpoint_from_sockaddr(&b, (struct sockaddr *)&raw6, sizeof(raw6)), 0);
    assert_true(asock_endpoint_equal(&a, &b));
    raw6.sin6_port = htons(81);
    assert_int_equal(asock_endpoint_from_sockaddr(&b, (struct sockaddr *)&raw6, sizeof(raw6)), 0);
    assert_false(asock_endpoint_equal(&a, &b));

    /* anything that is not an IP endpoint is never equal, even to itself */
    assert_int_equal(asock_endpoint_dns(&a, "example.com", 80, AF_UNSPEC), 0);
    assert_int_equal(asock_endpoint_dns(&b, "example.com", 80, AF_UNSPEC), 0);
    assert_false(asock_endpoint_equal(&a, &b));
    memset(&a, 0, sizeof(a));
    memset(&b, 0, sizeof(b));
    assert_false(asock_endpoint_equal(&a, &b));
    assert_false(asock_endpoint_equal(NULL, &b));
    assert_false(asock_endpoint_equal(&a, NULL));
}

static void test_accessors_none(void **state)
{
    (void)state;
    asock_endpoint ep;
    memset(&ep, 0, sizeof(ep));
    assert_int_equal(asock_endpoint_family(&ep), AF_UNSPEC);
    assert_int_equal(asock_endpoint_port(&ep), 0);
    socklen_t len = 42;
    assert_null(asock_endpoint_sockaddr(&ep, &len));
    assert_int_equal(len, 0);
    assert_null(asock_endpoint_sockaddr(&ep, NULL));
    assert_int_equal(asock_endpoint_family(NULL), AF_UNSPEC);
    assert_int_equal(asock_endpoint_port(NULL), 0);
    assert_null(asock_endpoint_sockaddr(NULL, &len));

    /* sockaddr without a length pointer */
    assert_int_equal(asock_endpoint_ip(&ep, "::1", 5), 0);
    assert_non_null(asock_endpoint_sockaddr(&ep, NULL));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_ip_v4),         cmocka_unit_test(test_ip_v6),
        cmocka_unit_test(test_ip_v6_scoped),  cmocka_unit_test(test_ip_bad_literals),
        cmocka_unit_test(test_dns_good),      cmocka_unit_test(test_dns_bad),
        cmocka_unit_test(test_format_dns),    cmocka_unit_test(test_format_truncation),
        cmocka_unit_test(test_format_errors), cmocka_unit_test(test_from_sockaddr),
        cmocka_unit_test(test_equal),         cmocka_unit_test(test_accessors_none),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
