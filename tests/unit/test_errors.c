/* The error tables against errors.md: every SocketError name and value (§1), every errno row
 * (§2), every SocketErrorStatus name and value and the SocketError -> status mapping (§3), and
 * the errno texts of asock_strerror. */
#define _GNU_SOURCE 1
#include "test.h"

#include <errno.h>
#include <limits.h>

#include "core/internal.h"

/* errors.md writes the errno numbers of the generic Linux layout (x86-64, arm64, ...); the
 * numeric column is checked only where that layout applies. */
#if defined(__x86_64__) || defined(__aarch64__) || defined(__i386__) || defined(__arm__) || \
    defined(__riscv) || defined(__s390x__) || defined(__powerpc64__)
#define GENERIC_ERRNO_LAYOUT 1
#else
#define GENERIC_ERRNO_LAYOUT 0
#endif

struct socket_error_row {
    asock_socket_error sym;
    int value;
    const char *name;
};

/* errors.md §1, in the order of the table (left column, then right). */
static const struct socket_error_row socket_errors[] = {
    {ASOCK_SUCCESS, 0, "Success"},
    {ASOCK_ERR_SOCKET_ERROR, -1, "SocketError"},
    {ASOCK_ERR_INTERRUPTED, 10004, "Interrupted"},
    {ASOCK_ERR_ACCESS_DENIED, 10013, "AccessDenied"},
    {ASOCK_ERR_FAULT, 10014, "Fault"},
    {ASOCK_ERR_INVALID_ARGUMENT, 10022, "InvalidArgument"},
    {ASOCK_ERR_TOO_MANY_OPEN_SOCKETS, 10024, "TooManyOpenSockets"},
    {ASOCK_ERR_WOULD_BLOCK, 10035, "WouldBlock"},
    {ASOCK_ERR_IN_PROGRESS, 10036, "InProgress"},
    {ASOCK_ERR_ALREADY_IN_PROGRESS, 10037, "AlreadyInProgress"},
    {ASOCK_ERR_NOT_SOCKET, 10038, "NotSocket"},
    {ASOCK_ERR_DESTINATION_ADDRESS_REQUIRED, 10039, "DestinationAddressRequired"},
    {ASOCK_ERR_MESSAGE_SIZE, 10040, "MessageSize"},
    {ASOCK_ERR_PROTOCOL_TYPE, 10041, "ProtocolType"},
    {ASOCK_ERR_PROTOCOL_OPTION, 10042, "ProtocolOption"},
    {ASOCK_ERR_PROTOCOL_NOT_SUPPORTED, 10043, "ProtocolNotSupported"},
    {ASOCK_ERR_SOCKET_NOT_SUPPORTED, 10044, "SocketNotSupported"},
    {ASOCK_ERR_OPERATION_NOT_SUPPORTED, 10045, "OperationNotSupported"},
    {ASOCK_ERR_PROTOCOL_FAMILY_NOT_SUPPORTED, 10046, "ProtocolFamilyNotSupported"},
    {ASOCK_ERR_ADDRESS_FAMILY_NOT_SUPPORTED, 10047, "AddressFamilyNotSupported"},
    {ASOCK_ERR_ADDRESS_ALREADY_IN_USE, 10048, "AddressAlreadyInUse"},
    {ASOCK_ERR_ADDRESS_NOT_AVAILABLE, 10049, "AddressNotAvailable"},
    {ASOCK_ERR_NETWORK_DOWN, 10050, "NetworkDown"},
    {ASOCK_ERR_NETWORK_UNREACHABLE, 10051, "NetworkUnreachable"},
    {ASOCK_ERR_NETWORK_RESET, 10052, "NetworkReset"},
    {ASOCK_ERR_CONNECTION_ABORTED, 10053, "ConnectionAborted"},
    {ASOCK_ERR_CONNECTION_RESET, 10054, "ConnectionReset"},
    {ASOCK_ERR_NO_BUFFER_SPACE_AVAILABLE, 10055, "NoBufferSpaceAvailable"},
    {ASOCK_ERR_IS_CONNECTED, 10056, "IsConnected"},
    {ASOCK_ERR_NOT_CONNECTED, 10057, "NotConnected"},
    {ASOCK_ERR_SHUTDOWN, 10058, "Shutdown"},
    {ASOCK_ERR_TIMED_OUT, 10060, "TimedOut"},
    {ASOCK_ERR_CONNECTION_REFUSED, 10061, "ConnectionRefused"},
    {ASOCK_ERR_HOST_DOWN, 10064, "HostDown"},
    {ASOCK_ERR_HOST_UNREACHABLE, 10065, "HostUnreachable"},
    {ASOCK_ERR_PROCESS_LIMIT, 10067, "ProcessLimit"},
    {ASOCK_ERR_SYSTEM_NOT_READY, 10091, "SystemNotReady"},
    {ASOCK_ERR_VERSION_NOT_SUPPORTED, 10092, "VersionNotSupported"},
    {ASOCK_ERR_NOT_INITIALIZED, 10093, "NotInitialized"},
    {ASOCK_ERR_DISCONNECTING, 10101, "Disconnecting"},
    {ASOCK_ERR_TYPE_NOT_FOUND, 10109, "TypeNotFound"},
    {ASOCK_ERR_HOST_NOT_FOUND, 11001, "HostNotFound"},
    {ASOCK_ERR_TRY_AGAIN, 11002, "TryAgain"},
    {ASOCK_ERR_NO_RECOVERY, 11003, "NoRecovery"},
    {ASOCK_ERR_NO_DATA, 11004, "NoData"},
    {ASOCK_ERR_IO_PENDING, 997, "IOPending"},
    {ASOCK_ERR_OPERATION_ABORTED, 995, "OperationAborted"},
};

static void test_socket_error_names(void **state)
{
    (void)state;
    assert_int_equal(ASOCK__ARRAY_SIZE(socket_errors), 47);
    for (size_t i = 0; i < ASOCK__ARRAY_SIZE(socket_errors); i++) {
        const struct socket_error_row *r = &socket_errors[i];
        assert_int_equal((int)r->sym, r->value);
        const char *name = asock_socket_error_name((asock_socket_error)r->value);
        assert_non_null(name);
        assert_string_equal(name, r->name);
        const char *msg = asock_socket_error_message((asock_socket_error)r->value);
        assert_non_null(msg);
        assert_true(msg[0] != '\0');
        /* values and names are unique */
        for (size_t j = 0; j < i; j++) {
            assert_int_not_equal(socket_errors[j].value, r->value);
            assert_string_not_equal(socket_errors[j].name, r->name);
        }
    }
}

static void test_socket_error_unknown_values(void **state)
{
    (void)state;
    static const int not_errors[] = {-2,    1,     22,    996,   998,     10000,  10059,
                                     10062, 10102, 11000, 11005, INT_MAX, INT_MIN};
    for (size_t i = 0; i < ASOCK__ARRAY_SIZE(not_errors); i++) {
        asock_socket_error e = (asock_socket_error)not_errors[i];
        assert_null(asock_socket_error_name(e));
        const char *msg = asock_socket_error_message(e);
        assert_non_null(msg);
        assert_true(msg[0] != '\0');
        assert_int_equal(asock_error_get_status(e), ASOCK_STATUS_UNKNOWN);
    }
    assert_string_not_equal(asock_socket_error_message(ASOCK_ERR_CONNECTION_REFUSED),
                            asock_socket_error_message(ASOCK_ERR_CONNECTION_RESET));
}

struct errno_row {
    int err;
    int linux_value;
    int socket_error;
};

/* errors.md §2, every row (EWOULDBLOCK and ENOTSUP are the same numbers as EAGAIN and EOPNOTSUPP
 * and are listed under their own names too). */
static const struct errno_row errno_rows[] = {
    {EPERM, 1, 10013},
    {ENOENT, 2, 10049},
    {EINTR, 4, 10004},
    {ENXIO, 6, 11001},
    {EBADF, 9, 995},
    {EAGAIN, 11, 10035},
    {EWOULDBLOCK, 11, 10035},
    {EACCES, 13, 10013},
    {EFAULT, 14, 10014},
    {EINVAL, 22, 10022},
    {ENFILE, 23, 10024},
    {EMFILE, 24, 10024},
    {EPIPE, 32, 10058},
    {ENODATA, 61, 11004},
    {ENOTSOCK, 88, 10038},
    {EDESTADDRREQ, 89, 10039},
    {EMSGSIZE, 90, 10040},
    {EPROTOTYPE, 91, 10041},
    {ENOPROTOOPT, 92, 10042},
    {EPROTONOSUPPORT, 93, 10043},
    {ESOCKTNOSUPPORT, 94, 10044},
    {ENOTSUP, 95, 10045},
    {EOPNOTSUPP, 95, 10045},
    {EPFNOSUPPORT, 96, 10046},
    {EAFNOSUPPORT, 97, 10047},
    {EADDRINUSE, 98, 10048},
    {EADDRNOTAVAIL, 99, 10049},
    {ENETDOWN, 100, 10050},
    {ENETUNREACH, 101, 10051},
    {ENETRESET, 102, 10052},
    {ECONNABORTED, 103, 10053},
    {ECONNRESET, 104, 10054},
    {ENOBUFS, 105, 10055},
    {EISCONN, 106, 10056},
    {ENOTCONN, 107, 10057},
    {ESHUTDOWN, 108, 10101},
    {ETIMEDOUT, 110, 10060},
    {ECONNREFUSED, 111, 10061},
    {EHOSTDOWN, 112, 10064},
    {EHOSTUNREACH, 113, 10065},
    {EALREADY, 114, 10037},
    {EINPROGRESS, 115, 10036},
    {ECANCELED, 125, 995},
};

static void test_errno_mapping(void **state)
{
    (void)state;
    assert_int_equal(asock_socket_error_from_errno(0), ASOCK_SUCCESS);
    for (size_t i = 0; i < ASOCK__ARRAY_SIZE(errno_rows); i++) {
        const struct errno_row *r = &errno_rows[i];
        if (GENERIC_ERRNO_LAYOUT)
            assert_int_equal(r->err, r->linux_value);
        assert_int_equal((int)asock_socket_error_from_errno(r->err), r->socket_error);
        assert_int_equal((int)asock_socket_error_from_errno(-r->err), r->socket_error);
        /* every mapped errno has a name and a real text */
        assert_non_null(asock__errno_name(r->err));
        assert_string_not_equal(asock_strerror(r->err), "unknown error");
    }
}

static void test_errno_unmapped(void **state)
{
    (void)state;
    static const int unmapped[] = {EBUSY, ENOMEM,    ENOSYS,  ERANGE, EEXIST, ETIME,   ENOSPC,
                                   E2BIG, EOVERFLOW, ENOTDIR, EPROTO, 4000,   INT_MAX, INT_MIN};
    for (size_t i = 0; i < ASOCK__ARRAY_SIZE(unmapped); i++) {
        assert_int_equal(asock_socket_error_from_errno(unmapped[i]), ASOCK_ERR_SOCKET_ERROR);
        if (unmapped[i] != INT_MIN)
            assert_int_equal(asock_socket_error_from_errno(-unmapped[i]), ASOCK_ERR_SOCKET_ERROR);
    }
}

static void test_strerror(void **state)
{
    (void)state;
    /* never NULL, whatever the value */
    for (int e = -300; e <= 300; e++)
        assert_non_null(asock_strerror(e));
    assert_non_null(asock_strerror(INT_MIN));
    assert_non_null(asock_strerror(INT_MAX));
    assert_string_equal(asock_strerror(4000), "unknown error");
    assert_string_equal(asock_strerror(-4000), "unknown error");

    /* both signs give the same text */
    assert_string_equal(asock_strerror(EINVAL), asock_strerror(-EINVAL));
    assert_string_equal(asock_strerror(ECONNREFUSED), asock_strerror(-ECONNREFUSED));

    /* the errno values asock's refused calls return all have their own text */
    static const int required[] = {
        EPERM,           ENOENT,          EINTR,        ENXIO,        EBADF,        EAGAIN,
        EACCES,          EFAULT,          EINVAL,       ENFILE,       EMFILE,       EPIPE,
        ENODATA,         ENOTSOCK,        EDESTADDRREQ, EMSGSIZE,     EPROTOTYPE,   ENOPROTOOPT,
        EPROTONOSUPPORT, ESOCKTNOSUPPORT, EOPNOTSUPP,   EPFNOSUPPORT, EAFNOSUPPORT, EADDRINUSE,
        EADDRNOTAVAIL,   ENETDOWN,        ENETUNREACH,  ENETRESET,    ECONNABORTED, ECONNRESET,
        ENOBUFS,         EISCONN,         ENOTCONN,     ESHUTDOWN,    ETIMEDOUT,    ECONNREFUSED,
        EHOSTDOWN,       EHOSTUNREACH,    EALREADY,     EINPROGRESS,  ECANCELED,    EBUSY,
        ENOMEM,          ENOSYS,          ERANGE,       EEXIST,       ETIME,        ENOSPC,
        E2BIG,           EOVERFLOW,       ENOTDIR,      EPROTO,
    };
    for (size_t i = 0; i < ASOCK__ARRAY_SIZE(required); i++) {
        const char *t = asock_strerror(-required[i]);
        assert_non_null(t);
        assert_string_not_equal(t, "unknown error");
        assert_non_null(asock__errno_name(required[i]));
        /* distinct texts and names */
        for (size_t j = 0; j < i; j++) {
            assert_string_not_equal(asock_strerror(required[j]), t);
            assert_string_not_equal(asock__errno_name(required[j]), asock__errno_name(required[i]));
        }
    }
}

static void test_errno_names(void **state)
{
    (void)state;
    assert_string_equal(asock__errno_name(ECONNREFUSED), "ECONNREFUSED");
    assert_string_equal(asock__errno_name(EINVAL), "EINVAL");
    assert_string_equal(asock__errno_name(ENOMEM), "ENOMEM");
    assert_string_equal(asock__errno_name(EWOULDBLOCK), "EAGAIN");
    assert_null(asock__errno_name(0));
    assert_null(asock__errno_name(4000));
}

struct status_row {
    asock_error_status sym;
    int value;
    const char *name;
};

/* errors.md §3, every row. */
static const struct status_row statuses[] = {
    {ASOCK_STATUS_UNKNOWN, 0, "Unknown"},
    {ASOCK_STATUS_OPERATION_ABORTED, 1, "OperationAborted"},
    {ASOCK_STATUS_HTTP_INVALID_SERVER_RESPONSE, 2, "HttpInvalidServerResponse"},
    {ASOCK_STATUS_CONNECTION_TIMED_OUT, 3, "ConnectionTimedOut"},
    {ASOCK_STATUS_ADDRESS_FAMILY_NOT_SUPPORTED, 4, "AddressFamilyNotSupported"},
    {ASOCK_STATUS_SOCKET_TYPE_NOT_SUPPORTED, 5, "SocketTypeNotSupported"},
    {ASOCK_STATUS_HOST_NOT_FOUND, 6, "HostNotFound"},
    {ASOCK_STATUS_NO_DATA_RECORD_OF_REQUESTED_TYPE, 7, "NoDataRecordOfRequestedType"},
    {ASOCK_STATUS_NON_AUTHORITATIVE_HOST_NOT_FOUND, 8, "NonAuthoritativeHostNotFound"},
    {ASOCK_STATUS_CLASS_TYPE_NOT_FOUND, 9, "ClassTypeNotFound"},
    {ASOCK_STATUS_ADDRESS_ALREADY_IN_USE, 10, "AddressAlreadyInUse"},
    {ASOCK_STATUS_CANNOT_ASSIGN_REQUESTED_ADDRESS, 11, "CannotAssignRequestedAddress"},
    {ASOCK_STATUS_CONNECTION_REFUSED, 12, "ConnectionRefused"},
    {ASOCK_STATUS_NETWORK_IS_UNREACHABLE, 13, "NetworkIsUnreachable"},
    {ASOCK_STATUS_UNREACHABLE_HOST, 14, "UnreachableHost"},
    {ASOCK_STATUS_NETWORK_IS_DOWN, 15, "NetworkIsDown"},
    {ASOCK_STATUS_NETWORK_DROPPED_CONNECTION_ON_RESET, 16, "NetworkDroppedConnectionOnReset"},
    {ASOCK_STATUS_SOFTWARE_CAUSED_CONNECTION_ABORT, 17, "SoftwareCausedConnectionAbort"},
    {ASOCK_STATUS_CONNECTION_RESET_BY_PEER, 18, "ConnectionResetByPeer"},
    {ASOCK_STATUS_HOST_IS_DOWN, 19, "HostIsDown"},
    {ASOCK_STATUS_NO_ADDRESSES_FOUND, 20, "NoAddressesFound"},
    {ASOCK_STATUS_TOO_MANY_OPEN_FILES, 21, "TooManyOpenFiles"},
    {ASOCK_STATUS_MESSAGE_TOO_LONG, 22, "MessageTooLong"},
    {ASOCK_STATUS_CERTIFICATE_EXPIRED, 23, "CertificateExpired"},
    {ASOCK_STATUS_CERTIFICATE_UNTRUSTED_ROOT, 24, "CertificateUntrustedRoot"},
    {ASOCK_STATUS_CERTIFICATE_COMMON_NAME_IS_INCORRECT, 25, "CertificateCommonNameIsIncorrect"},
    {ASOCK_STATUS_CERTIFICATE_WRONG_USAGE, 26, "CertificateWrongUsage"},
    {ASOCK_STATUS_CERTIFICATE_REVOKED, 27, "CertificateRevoked"},
    {ASOCK_STATUS_CERTIFICATE_NO_REVOCATION_CHECK, 28, "CertificateNoRevocationCheck"},
    {ASOCK_STATUS_CERTIFICATE_REVOCATION_SERVER_OFFLINE, 29, "CertificateRevocationServerOffline"},
    {ASOCK_STATUS_CERTIFICATE_IS_INVALID, 30, "CertificateIsInvalid"},
};

static void test_status_names(void **state)
{
    (void)state;
    assert_int_equal(ASOCK__ARRAY_SIZE(statuses), 31);
    for (size_t i = 0; i < ASOCK__ARRAY_SIZE(statuses); i++) {
        assert_int_equal((int)statuses[i].sym, statuses[i].value);
        assert_int_equal(statuses[i].value, (int)i);
        const char *name = asock_error_status_name((asock_error_status)statuses[i].value);
        assert_non_null(name);
        assert_string_equal(name, statuses[i].name);
    }
    assert_null(asock_error_status_name((asock_error_status)-1));
    assert_null(asock_error_status_name((asock_error_status)31));
    assert_null(asock_error_status_name((asock_error_status)10061));
}

struct status_map_row {
    asock_socket_error err;
    asock_error_status status;
};

/* asock_error_get_status for every SocketError (errors.md §3, translated through §2). */
static const struct status_map_row status_map[] = {
    {ASOCK_SUCCESS, ASOCK_STATUS_UNKNOWN},
    {ASOCK_ERR_SOCKET_ERROR, ASOCK_STATUS_UNKNOWN},
    {ASOCK_ERR_OPERATION_ABORTED, ASOCK_STATUS_OPERATION_ABORTED},
    {ASOCK_ERR_IO_PENDING, ASOCK_STATUS_UNKNOWN},
    {ASOCK_ERR_INTERRUPTED, ASOCK_STATUS_UNKNOWN},
    {ASOCK_ERR_ACCESS_DENIED, ASOCK_STATUS_UNKNOWN},
    {ASOCK_ERR_FAULT, ASOCK_STATUS_UNKNOWN},
    {ASOCK_ERR_INVALID_ARGUMENT, ASOCK_STATUS_UNKNOWN},
    {ASOCK_ERR_TOO_MANY_OPEN_SOCKETS, ASOCK_STATUS_TOO_MANY_OPEN_FILES},
    {ASOCK_ERR_WOULD_BLOCK, ASOCK_STATUS_UNKNOWN},
    {ASOCK_ERR_IN_PROGRESS, ASOCK_STATUS_UNKNOWN},
    {ASOCK_ERR_ALREADY_IN_PROGRESS, ASOCK_STATUS_UNKNOWN},
    {ASOCK_ERR_NOT_SOCKET, ASOCK_STATUS_UNKNOWN},
    {ASOCK_ERR_DESTINATION_ADDRESS_REQUIRED, ASOCK_STATUS_UNKNOWN},
    {ASOCK_ERR_MESSAGE_SIZE, ASOCK_STATUS_MESSAGE_TOO_LONG},
    {ASOCK_ERR_PROTOCOL_TYPE, ASOCK_STATUS_UNKNOWN},
    {ASOCK_ERR_PROTOCOL_OPTION, ASOCK_STATUS_UNKNOWN},
    {ASOCK_ERR_PROTOCOL_NOT_SUPPORTED, ASOCK_STATUS_SOCKET_TYPE_NOT_SUPPORTED},
    {ASOCK_ERR_SOCKET_NOT_SUPPORTED, ASOCK_STATUS_SOCKET_TYPE_NOT_SUPPORTED},
    {ASOCK_ERR_OPERATION_NOT_SUPPORTED, ASOCK_STATUS_UNKNOWN},
    {ASOCK_ERR_PROTOCOL_FAMILY_NOT_SUPPORTED, ASOCK_STATUS_UNKNOWN},
    {ASOCK_ERR_ADDRESS_FAMILY_NOT_SUPPORTED, ASOCK_STATUS_ADDRESS_FAMILY_NOT_SUPPORTED},
    {ASOCK_ERR_ADDRESS_ALREADY_IN_USE, ASOCK_STATUS_ADDRESS_ALREADY_IN_USE},
    {ASOCK_ERR_ADDRESS_NOT_AVAILABLE, ASOCK_STATUS_CANNOT_ASSIGN_REQUESTED_ADDRESS},
    {ASOCK_ERR_NETWORK_DOWN, ASOCK_STATUS_NETWORK_IS_DOWN},
    {ASOCK_ERR_NETWORK_UNREACHABLE, ASOCK_STATUS_NETWORK_IS_UNREACHABLE},
    {ASOCK_ERR_NETWORK_RESET, ASOCK_STATUS_NETWORK_DROPPED_CONNECTION_ON_RESET},
    {ASOCK_ERR_CONNECTION_ABORTED, ASOCK_STATUS_SOFTWARE_CAUSED_CONNECTION_ABORT},
    {ASOCK_ERR_CONNECTION_RESET, ASOCK_STATUS_CONNECTION_RESET_BY_PEER},
    {ASOCK_ERR_NO_BUFFER_SPACE_AVAILABLE, ASOCK_STATUS_UNKNOWN},
    {ASOCK_ERR_IS_CONNECTED, ASOCK_STATUS_UNKNOWN},
    {ASOCK_ERR_NOT_CONNECTED, ASOCK_STATUS_UNKNOWN},
    {ASOCK_ERR_SHUTDOWN, ASOCK_STATUS_UNKNOWN},
    {ASOCK_ERR_TIMED_OUT, ASOCK_STATUS_CONNECTION_TIMED_OUT},
    {ASOCK_ERR_CONNECTION_REFUSED, ASOCK_STATUS_CONNECTION_REFUSED},
    {ASOCK_ERR_HOST_DOWN, ASOCK_STATUS_HOST_IS_DOWN},
    {ASOCK_ERR_HOST_UNREACHABLE, ASOCK_STATUS_UNREACHABLE_HOST},
    {ASOCK_ERR_PROCESS_LIMIT, ASOCK_STATUS_UNKNOWN},
    {ASOCK_ERR_SYSTEM_NOT_READY, ASOCK_STATUS_UNKNOWN},
    {ASOCK_ERR_VERSION_NOT_SUPPORTED, ASOCK_STATUS_UNKNOWN},
    {ASOCK_ERR_NOT_INITIALIZED, ASOCK_STATUS_UNKNOWN},
    {ASOCK_ERR_DISCONNECTING, ASOCK_STATUS_UNKNOWN},
    {ASOCK_ERR_TYPE_NOT_FOUND, ASOCK_STATUS_UNKNOWN},
    {ASOCK_ERR_HOST_NOT_FOUND, ASOCK_STATUS_HOST_NOT_FOUND},
    {ASOCK_ERR_TRY_AGAIN, ASOCK_STATUS_NON_AUTHORITATIVE_HOST_NOT_FOUND},
    {ASOCK_ERR_NO_RECOVERY, ASOCK_STATUS_NON_AUTHORITATIVE_HOST_NOT_FOUND},
    {ASOCK_ERR_NO_DATA, ASOCK_STATUS_NO_DATA_RECORD_OF_REQUESTED_TYPE},
};

static void test_get_status(void **state)
{
    (void)state;
    /* one row per SocketError, none missing */
    assert_int_equal(ASOCK__ARRAY_SIZE(status_map), ASOCK__ARRAY_SIZE(socket_errors));
    for (size_t i = 0; i < ASOCK__ARRAY_SIZE(socket_errors); i++) {
        size_t hits = 0;
        for (size_t j = 0; j < ASOCK__ARRAY_SIZE(status_map); j++)
            hits += status_map[j].err == socket_errors[i].sym;
        assert_int_equal(hits, 1);
    }
    for (size_t i = 0; i < ASOCK__ARRAY_SIZE(status_map); i++) {
        if (asock_error_get_status(status_map[i].err) != status_map[i].status)
            fail_msg("get_status(%s) = %s, expected %s", asock_socket_error_name(status_map[i].err),
                     asock_error_status_name(asock_error_get_status(status_map[i].err)),
                     asock_error_status_name(status_map[i].status));
    }
}

struct errno_status_row {
    int err;
    asock_error_status status;
};

/* errors.md §3 as it is written, by errno: errno -> SocketError -> status. */
static const struct errno_status_row errno_status[] = {
    {EADDRINUSE, ASOCK_STATUS_ADDRESS_ALREADY_IN_USE},
    {EADDRNOTAVAIL, ASOCK_STATUS_CANNOT_ASSIGN_REQUESTED_ADDRESS},
    {ECONNREFUSED, ASOCK_STATUS_CONNECTION_REFUSED}, /* stream socket */
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
    /* not network conditions */
    {EINVAL, ASOCK_STATUS_UNKNOWN},
    {EISCONN, ASOCK_STATUS_UNKNOWN},
    {ENOTCONN, ASOCK_STATUS_UNKNOWN},
    {EALREADY, ASOCK_STATUS_UNKNOWN},
    {ENOMEM, ASOCK_STATUS_UNKNOWN},
    {EBUSY, ASOCK_STATUS_UNKNOWN},
};

static void test_get_status_by_errno(void **state)
{
    (void)state;
    for (size_t i = 0; i < ASOCK__ARRAY_SIZE(errno_status); i++) {
        asock_socket_error se = asock_socket_error_from_errno(errno_status[i].err);
        if (asock_error_get_status(se) != errno_status[i].status)
            fail_msg("errno %s -> %s -> %s, expected %s", asock__errno_name(errno_status[i].err),
                     asock_socket_error_name(se),
                     asock_error_status_name(asock_error_get_status(se)),
                     asock_error_status_name(errno_status[i].status));
    }
    /* ICMP port unreachable on UDP is reported as ConnectionReset by the datagram layer */
    assert_int_equal(asock_error_get_status(ASOCK_ERR_CONNECTION_RESET),
                     ASOCK_STATUS_CONNECTION_RESET_BY_PEER);
}

static void test_version(void **state)
{
    (void)state;
    assert_string_equal(asock_version_string(), ASOCK_VERSION_STRING);
    assert_int_equal(asock_version(), ASOCK_VERSION_HEX);
    char expect[32];
    snprintf(expect, sizeof(expect), "%u.%u.%u", asock_version() >> 16,
             (asock_version() >> 8) & 0xffu, asock_version() & 0xffu);
    assert_string_equal(asock_version_string(), expect);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_socket_error_names),
        cmocka_unit_test(test_socket_error_unknown_values),
        cmocka_unit_test(test_errno_mapping),
        cmocka_unit_test(test_errno_unmapped),
        cmocka_unit_test(test_strerror),
        cmocka_unit_test(test_errno_names),
        cmocka_unit_test(test_status_names),
        cmocka_unit_test(test_get_status),
        cmocka_unit_test(test_get_status_by_errno),
        cmocka_unit_test(test_version),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
