/* D10: asock_error_get_status over the full table of errors.md §3 (errno / resolver result ->
 * SocketError -> SocketErrorStatus), every status name, and the datagram layer's own errors
 * (argument and state errors give Unknown; the UDP ECONNREFUSED rule is exercised with a real
 * peer in test_output_stream.c). */
#include "dgram_test.h"

#include <ares.h>

struct row {
    int err;
    asock_error_status status;
};

static void test_errno_rows(void **state)
{
    (void)state;
    const struct row rows[] = {
        {EADDRINUSE, ASOCK_STATUS_ADDRESS_ALREADY_IN_USE},
        {EADDRNOTAVAIL, ASOCK_STATUS_CANNOT_ASSIGN_REQUESTED_ADDRESS},
        {ECONNREFUSED, ASOCK_STATUS_CONNECTION_REFUSED}, /* TCP; UDP is translated by the layer */
        {ENETUNREACH, ASOCK_STATUS_NETWORK_IS_UNREACHABLE},
        {EHOSTUNREACH, ASOCK_STATUS_UNREACHABLE_HOST},
        {ENETDOWN, ASOCK_STATUS_NETWORK_IS_DOWN},
        {ENETRESET, ASOCK_STATUS_NETWORK_DROPPED_CONNECTION_ON_RESET},
        {ECONNABORTED, ASOCK_STATUS_SOFTWARE_CAUSED_CONNECTION_ABORT},
        {ECONNRESET, ASOCK_STATUS_CONNECTION_RESET_BY_PEER},
        {EHOSTDOWN, ASOCK_STATUS_HOST_IS_DOWN},
        {EMFILE, ASOCK_STATUS_TOO_MANY_OPEN_FILES},
        {ENFILE, ASOCK_STATUS_TOO_MANY_OPEN_FILES},
        {EMSGSIZE, ASOCK_STATUS_MESSAGE_TOO_LONG},
        {ETIMEDOUT, ASOCK_STATUS_CONNECTION_TIMED_OUT},
        {EAFNOSUPPORT, ASOCK_STATUS_ADDRESS_FAMILY_NOT_SUPPORTED},
        {ESOCKTNOSUPPORT, ASOCK_STATUS_SOCKET_TYPE_NOT_SUPPORTED},
        {EPROTONOSUPPORT, ASOCK_STATUS_SOCKET_TYPE_NOT_SUPPORTED},
        {ECANCELED, ASOCK_STATUS_OPERATION_ABORTED},
        /* not network conditions: Unknown */
        {EINVAL, ASOCK_STATUS_UNKNOWN},
        {EALREADY, ASOCK_STATUS_UNKNOWN},
        {EISCONN, ASOCK_STATUS_UNKNOWN},
        {EOPNOTSUPP, ASOCK_STATUS_UNKNOWN},
        {0, ASOCK_STATUS_UNKNOWN},
    };
    for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
        asock_socket_error se = asock_socket_error_from_errno(rows[i].err);
        if (asock_error_get_status(se) != rows[i].status)
            fail_msg("errno %d -> %s -> %s, wanted %s", rows[i].err, asock_socket_error_name(se),
                     asock_error_status_name(asock_error_get_status(se)),
                     asock_error_status_name(rows[i].status));
    }
    /* the layer's UDP rule: ECONNREFUSED is reported as ConnectionReset */
    assert_int_equal(asock_error_get_status(ASOCK_ERR_CONNECTION_RESET),
                     ASOCK_STATUS_CONNECTION_RESET_BY_PEER);
}

static void test_resolver_rows(void **state)
{
    (void)state;
    const struct row rows[] = {
        {ARES_ENOTFOUND, ASOCK_STATUS_HOST_NOT_FOUND},
        {ARES_ENODATA, ASOCK_STATUS_NO_DATA_RECORD_OF_REQUESTED_TYPE},
        {ARES_ETIMEOUT, ASOCK_STATUS_NON_AUTHORITATIVE_HOST_NOT_FOUND},
        {ARES_ESERVFAIL, ASOCK_STATUS_NON_AUTHORITATIVE_HOST_NOT_FOUND},
        {ARES_ECONNREFUSED, ASOCK_STATUS_NON_AUTHORITATIVE_HOST_NOT_FOUND},
    };
    for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
        asock_socket_error se = asock_resolve_error_from_status(rows[i].err);
        if (asock_error_get_status(se) != rows[i].status)
            fail_msg("c-ares %d -> %s -> %s, wanted %s", rows[i].err, asock_socket_error_name(se),
                     asock_error_status_name(asock_error_get_status(se)),
                     asock_error_status_name(rows[i].status));
    }
}

static void test_every_status_named(void **state)
{
    (void)state;
    const char *names[31] = {"Unknown",
                             "OperationAborted",
                             "HttpInvalidServerResponse",
                             "ConnectionTimedOut",
                             "AddressFamilyNotSupported",
                             "SocketTypeNotSupported",
                             "HostNotFound",
                             "NoDataRecordOfRequestedType",
                             "NonAuthoritativeHostNotFound",
                             "ClassTypeNotFound",
                             "AddressAlreadyInUse",
                             "CannotAssignRequestedAddress",
                             "ConnectionRefused",
                             "NetworkIsUnreachable",
                             "UnreachableHost",
                             "NetworkIsDown",
                             "NetworkDroppedConnectionOnReset",
                             "SoftwareCausedConnectionAbort",
                             "ConnectionResetByPeer",
                             "HostIsDown",
                             "NoAddressesFound",
                             "TooManyOpenFiles",
                             "MessageTooLong",
                             "CertificateExpired",
                             "CertificateUntrustedRoot",
                             "CertificateCommonNameIsIncorrect",
                             "CertificateWrongUsage",
                             "CertificateRevoked",
                             "CertificateNoRevocationCheck",
                             "CertificateRevocationServerOffline",
                             "CertificateIsInvalid"};
    for (int i = 0; i <= 30; i++)
        assert_string_equal(asock_error_status_name((asock_error_status)i), names[i]);
    assert_null(asock_error_status_name((asock_error_status)31));
}

/* The layer's own refusals are argument or state errors: status Unknown (WinRT re-throws those). */
static void test_layer_errors_are_unknown(void **state)
{
    (void)state;
    asock_loop *loop = asock_t_loop();
    asock_datagram *ds = dg_new(loop, NULL);
    dg_rec r;
    asock_async *op = asock_datagram_bind_endpoint_async(ds, "", NULL);
    dg_fails(loop, &r, op, ASOCK_ERR_INVALID_ARGUMENT, ASOCK_STATUS_UNKNOWN);
    asock_async_close(op);
    op = asock_datagram_bind_service_name_async(ds, NULL, "");
    dg_fails(loop, &r, op, ASOCK_ERR_INVALID_ARGUMENT, ASOCK_STATUS_UNKNOWN);
    asock_async_close(op);
    assert_int_equal(asock_error_get_status(ASOCK_ERR_ALREADY_IN_PROGRESS), ASOCK_STATUS_UNKNOWN);
    assert_int_equal(asock_error_get_status(ASOCK_ERR_IS_CONNECTED), ASOCK_STATUS_UNKNOWN);
    assert_int_equal(asock_error_get_status(ASOCK_ERR_OPERATION_NOT_SUPPORTED),
                     ASOCK_STATUS_UNKNOWN);
    dg_close(loop, ds);
    asock_t_end(loop);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_errno_rows),
        cmocka_unit_test(test_resolver_rows),
        cmocka_unit_test(test_every_status_named),
        cmocka_unit_test(test_layer_errors_are_unknown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
