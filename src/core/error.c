/* Error tables: SocketError names and messages, errno -> SocketError (errors.md §2), errno texts
 * for asock_strerror, and SocketError -> SocketErrorStatus (errors.md §3).
 *
 * Each enum has exactly one X-macro table below.  The lookups are switches generated from those
 * tables, so a value listed twice is a compile error (duplicate case label), and a
 * _Static_assert per row keeps the public enum equal to the numbers written in errors.md. */
#include "internal.h"

#include <limits.h>

/* ---- SocketError (errors.md §1): constant, value, .NET name, message, status (§3) ---- */

#define ASOCK__SOCKET_ERRORS(X)                                                                    \
    X(ASOCK_SUCCESS, 0, "Success", "the operation succeeded", UNKNOWN)                             \
    X(ASOCK_ERR_SOCKET_ERROR, -1, "SocketError", "an unspecified socket error occurred", UNKNOWN)  \
    X(ASOCK_ERR_OPERATION_ABORTED, 995, "OperationAborted",                                        \
      "the operation was aborted because the socket was closed or the operation canceled",         \
      OPERATION_ABORTED)                                                                           \
    X(ASOCK_ERR_IO_PENDING, 997, "IOPending", "the operation is still in progress", UNKNOWN)       \
    X(ASOCK_ERR_INTERRUPTED, 10004, "Interrupted", "a blocking call was interrupted", UNKNOWN)     \
    X(ASOCK_ERR_ACCESS_DENIED, 10013, "AccessDenied",                                              \
      "permission denied for this socket operation", UNKNOWN)                                      \
    X(ASOCK_ERR_FAULT, 10014, "Fault", "an invalid pointer address was given", UNKNOWN)            \
    X(ASOCK_ERR_INVALID_ARGUMENT, 10022, "InvalidArgument", "an invalid argument was supplied",    \
      UNKNOWN)                                                                                     \
    X(ASOCK_ERR_TOO_MANY_OPEN_SOCKETS, 10024, "TooManyOpenSockets", "too many open sockets",       \
      TOO_MANY_OPEN_FILES)                                                                         \
    X(ASOCK_ERR_WOULD_BLOCK, 10035, "WouldBlock",                                                  \
      "the operation cannot complete immediately without blocking", UNKNOWN)                       \
    X(ASOCK_ERR_IN_PROGRESS, 10036, "InProgress", "an operation is now in progress", UNKNOWN)      \
    X(ASOCK_ERR_ALREADY_IN_PROGRESS, 10037, "AlreadyInProgress",                                   \
      "an operation is already in progress on this socket", UNKNOWN)                               \
    X(ASOCK_ERR_NOT_SOCKET, 10038, "NotSocket", "the descriptor is not a socket", UNKNOWN)         \
    X(ASOCK_ERR_DESTINATION_ADDRESS_REQUIRED, 10039, "DestinationAddressRequired",                 \
      "a destination address is required", UNKNOWN)                                                \
    X(ASOCK_ERR_MESSAGE_SIZE, 10040, "MessageSize",                                                \
      "the message is too long for the socket or its buffer", MESSAGE_TOO_LONG)                    \
    X(ASOCK_ERR_PROTOCOL_TYPE, 10041, "ProtocolType",                                              \
      "the protocol is the wrong type for this socket", UNKNOWN)                                   \
    X(ASOCK_ERR_PROTOCOL_OPTION, 10042, "ProtocolOption",                                          \
      "an unknown, invalid or unsupported socket option or level", UNKNOWN)                        \
    X(ASOCK_ERR_PROTOCOL_NOT_SUPPORTED, 10043, "ProtocolNotSupported",                             \
      "the protocol is not supported", SOCKET_TYPE_NOT_SUPPORTED)                                  \
    X(ASOCK_ERR_SOCKET_NOT_SUPPORTED, 10044, "SocketNotSupported",                                 \
      "the socket type is not supported in this address family", SOCKET_TYPE_NOT_SUPPORTED)        \
    X(ASOCK_ERR_OPERATION_NOT_SUPPORTED, 10045, "OperationNotSupported",                           \
      "the operation is not supported for this type of socket", UNKNOWN)                           \
    X(ASOCK_ERR_PROTOCOL_FAMILY_NOT_SUPPORTED, 10046, "ProtocolFamilyNotSupported",                \
      "the protocol family is not supported", UNKNOWN)                                             \
    X(ASOCK_ERR_ADDRESS_FAMILY_NOT_SUPPORTED, 10047, "AddressFamilyNotSupported",                  \
      "the address family is not supported by the protocol", ADDRESS_FAMILY_NOT_SUPPORTED)         \
    X(ASOCK_ERR_ADDRESS_ALREADY_IN_USE, 10048, "AddressAlreadyInUse",                              \
      "the address is already in use", ADDRESS_ALREADY_IN_USE)                                     \
    X(ASOCK_ERR_ADDRESS_NOT_AVAILABLE, 10049, "AddressNotAvailable",                               \
      "the requested address is not valid in this context", CANNOT_ASSIGN_REQUESTED_ADDRESS)       \
    X(ASOCK_ERR_NETWORK_DOWN, 10050, "NetworkDown", "the network is down", NETWORK_IS_DOWN)        \
    X(ASOCK_ERR_NETWORK_UNREACHABLE, 10051, "NetworkUnreachable", "the network is unreachable",    \
      NETWORK_IS_UNREACHABLE)                                                                      \
    X(ASOCK_ERR_NETWORK_RESET, 10052, "NetworkReset",                                              \
      "the network dropped the connection on reset", NETWORK_DROPPED_CONNECTION_ON_RESET)          \
    X(ASOCK_ERR_CONNECTION_ABORTED, 10053, "ConnectionAborted",                                    \
      "the connection was aborted by the local host", SOFTWARE_CAUSED_CONNECTION_ABORT)            \
    X(ASOCK_ERR_CONNECTION_RESET, 10054, "ConnectionReset",                                        \
      "the connection was reset by the remote host", CONNECTION_RESET_BY_PEER)                     \
    X(ASOCK_ERR_NO_BUFFER_SPACE_AVAILABLE, 10055, "NoBufferSpaceAvailable",                        \
      "no buffer space is available for the socket operation", UNKNOWN)                            \
    X(ASOCK_ERR_IS_CONNECTED, 10056, "IsConnected", "the socket is already connected", UNKNOWN)    \
    X(ASOCK_ERR_NOT_CONNECTED, 10057, "NotConnected", "the socket is not connected", UNKNOWN)      \
    X(ASOCK_ERR_SHUTDOWN, 10058, "Shutdown", "the socket has been shut down in that direction",    \
      UNKNOWN)                                                                                     \
    X(ASOCK_ERR_TIMED_OUT, 10060, "TimedOut", "the operation timed out", CONNECTION_TIMED_OUT)     \
    X(ASOCK_ERR_CONNECTION_REFUSED, 10061, "ConnectionRefused",                                    \
      "the remote host refused the connection", CONNECTION_REFUSED)                                \
    X(ASOCK_ERR_HOST_DOWN, 10064, "HostDown", "the remote host is down", HOST_IS_DOWN)             \
    X(ASOCK_ERR_HOST_UNREACHABLE, 10065, "HostUnreachable", "there is no route to the host",       \
      UNREACHABLE_HOST)                                                                            \
    X(ASOCK_ERR_PROCESS_LIMIT, 10067, "ProcessLimit",                                              \
      "too many processes are using the socket provider", UNKNOWN)                                 \
    X(ASOCK_ERR_SYSTEM_NOT_READY, 10091, "SystemNotReady", "the network system is not ready",      \
      UNKNOWN)                                                                                     \
    X(ASOCK_ERR_VERSION_NOT_SUPPORTED, 10092, "VersionNotSupported",                               \
      "the requested socket provider version is not supported", UNKNOWN)                           \
    X(ASOCK_ERR_NOT_INITIALIZED, 10093, "NotInitialized",                                          \
      "the socket provider has not been initialized", UNKNOWN)                                     \
    X(ASOCK_ERR_DISCONNECTING, 10101, "Disconnecting",                                             \
      "the connection is being shut down gracefully", UNKNOWN)                                     \
    X(ASOCK_ERR_TYPE_NOT_FOUND, 10109, "TypeNotFound", "the class type was not found", UNKNOWN)    \
    X(ASOCK_ERR_HOST_NOT_FOUND, 11001, "HostNotFound", "no such host is known", HOST_NOT_FOUND)    \
    X(ASOCK_ERR_TRY_AGAIN, 11002, "TryAgain",                                                      \
      "the name could not be resolved now; try again later", NON_AUTHORITATIVE_HOST_NOT_FOUND)     \
    X(ASOCK_ERR_NO_RECOVERY, 11003, "NoRecovery",                                                  \
      "a non-recoverable error occurred during name resolution", NON_AUTHORITATIVE_HOST_NOT_FOUND) \
    X(ASOCK_ERR_NO_DATA, 11004, "NoData",                                                          \
      "the name is valid but has no record of the requested type",                                 \
      NO_DATA_RECORD_OF_REQUESTED_TYPE)

/* ---- SocketErrorStatus (errors.md §3): constant suffix, value, Windows Runtime name ---- */

#define ASOCK__ERROR_STATUSES(X)                                                       \
    X(UNKNOWN, 0, "Unknown")                                                           \
    X(OPERATION_ABORTED, 1, "OperationAborted")                                        \
    X(HTTP_INVALID_SERVER_RESPONSE, 2, "HttpInvalidServerResponse")                    \
    X(CONNECTION_TIMED_OUT, 3, "ConnectionTimedOut")                                   \
    X(ADDRESS_FAMILY_NOT_SUPPORTED, 4, "AddressFamilyNotSupported")                    \
    X(SOCKET_TYPE_NOT_SUPPORTED, 5, "SocketTypeNotSupported")                          \
    X(HOST_NOT_FOUND, 6, "HostNotFound")                                               \
    X(NO_DATA_RECORD_OF_REQUESTED_TYPE, 7, "NoDataRecordOfRequestedType")              \
    X(NON_AUTHORITATIVE_HOST_NOT_FOUND, 8, "NonAuthoritativeHostNotFound")             \
    X(CLASS_TYPE_NOT_FOUND, 9, "ClassTypeNotFound")                                    \
    X(ADDRESS_ALREADY_IN_USE, 10, "AddressAlreadyInUse")                               \
    X(CANNOT_ASSIGN_REQUESTED_ADDRESS, 11, "CannotAssignRequestedAddress")             \
    X(CONNECTION_REFUSED, 12, "ConnectionRefused")                                     \
    X(NETWORK_IS_UNREACHABLE, 13, "NetworkIsUnreachable")                              \
    X(UNREACHABLE_HOST, 14, "UnreachableHost")                                         \
    X(NETWORK_IS_DOWN, 15, "NetworkIsDown")                                            \
    X(NETWORK_DROPPED_CONNECTION_ON_RESET, 16, "NetworkDroppedConnectionOnReset")      \
    X(SOFTWARE_CAUSED_CONNECTION_ABORT, 17, "SoftwareCausedConnectionAbort")           \
    X(CONNECTION_RESET_BY_PEER, 18, "ConnectionResetByPeer")                           \
    X(HOST_IS_DOWN, 19, "HostIsDown")                                                  \
    X(NO_ADDRESSES_FOUND, 20, "NoAddressesFound")                                      \
    X(TOO_MANY_OPEN_FILES, 21, "TooManyOpenFiles")                                     \
    X(MESSAGE_TOO_LONG, 22, "MessageTooLong")                                          \
    X(CERTIFICATE_EXPIRED, 23, "CertificateExpired")                                   \
    X(CERTIFICATE_UNTRUSTED_ROOT, 24, "CertificateUntrustedRoot")                      \
    X(CERTIFICATE_COMMON_NAME_IS_INCORRECT, 25, "CertificateCommonNameIsIncorrect")    \
    X(CERTIFICATE_WRONG_USAGE, 26, "CertificateWrongUsage")                            \
    X(CERTIFICATE_REVOKED, 27, "CertificateRevoked")                                   \
    X(CERTIFICATE_NO_REVOCATION_CHECK, 28, "CertificateNoRevocationCheck")             \
    X(CERTIFICATE_REVOCATION_SERVER_OFFLINE, 29, "CertificateRevocationServerOffline") \
    X(CERTIFICATE_IS_INVALID, 30, "CertificateIsInvalid")

/* ---- errno values: symbol, the SocketError it maps to (errors.md §2), text ----
 * Every row of errors.md §2 is here with its mapping; the rows mapped to ASOCK_ERR_SOCKET_ERROR
 * are errno values asock returns from refused calls and only need a name and a text.  EAGAIN
 * stands for EWOULDBLOCK and EOPNOTSUPP for ENOTSUP (the same numbers on Linux). */

#define ASOCK__ERRNOS(X)                                                                      \
    X(EPERM, ASOCK_ERR_ACCESS_DENIED, "operation not permitted")                              \
    X(ENOENT, ASOCK_ERR_ADDRESS_NOT_AVAILABLE, "no such file or directory")                   \
    X(EINTR, ASOCK_ERR_INTERRUPTED, "interrupted system call")                                \
    X(ENXIO, ASOCK_ERR_HOST_NOT_FOUND, "no such device or address")                           \
    X(EBADF, ASOCK_ERR_OPERATION_ABORTED, "bad file descriptor")                              \
    X(EAGAIN, ASOCK_ERR_WOULD_BLOCK, "resource temporarily unavailable")                      \
    X(EACCES, ASOCK_ERR_ACCESS_DENIED, "permission denied")                                   \
    X(EFAULT, ASOCK_ERR_FAULT, "bad address")                                                 \
    X(EINVAL, ASOCK_ERR_INVALID_ARGUMENT, "invalid argument")                                 \
    X(ENFILE, ASOCK_ERR_TOO_MANY_OPEN_SOCKETS, "too many open files in system")               \
    X(EMFILE, ASOCK_ERR_TOO_MANY_OPEN_SOCKETS, "too many open files")                         \
    X(EPIPE, ASOCK_ERR_SHUTDOWN, "broken pipe")                                               \
    X(ENODATA, ASOCK_ERR_NO_DATA, "no data available")                                        \
    X(ENOTSOCK, ASOCK_ERR_NOT_SOCKET, "socket operation on non-socket")                       \
    X(EDESTADDRREQ, ASOCK_ERR_DESTINATION_ADDRESS_REQUIRED, "destination address required")   \
    X(EMSGSIZE, ASOCK_ERR_MESSAGE_SIZE, "message too long")                                   \
    X(EPROTOTYPE, ASOCK_ERR_PROTOCOL_TYPE, "protocol wrong type for socket")                  \
    X(ENOPROTOOPT, ASOCK_ERR_PROTOCOL_OPTION, "protocol not available")                       \
    X(EPROTONOSUPPORT, ASOCK_ERR_PROTOCOL_NOT_SUPPORTED, "protocol not supported")            \
    X(ESOCKTNOSUPPORT, ASOCK_ERR_SOCKET_NOT_SUPPORTED, "socket type not supported")           \
    X(EOPNOTSUPP, ASOCK_ERR_OPERATION_NOT_SUPPORTED, "operation not supported")               \
    X(EPFNOSUPPORT, ASOCK_ERR_PROTOCOL_FAMILY_NOT_SUPPORTED, "protocol family not supported") \
    X(EAFNOSUPPORT, ASOCK_ERR_ADDRESS_FAMILY_NOT_SUPPORTED,                                   \
      "address family not supported by protocol")                                             \
    X(EADDRINUSE, ASOCK_ERR_ADDRESS_ALREADY_IN_USE, "address already in use")                 \
    X(EADDRNOTAVAIL, ASOCK_ERR_ADDRESS_NOT_AVAILABLE, "cannot assign requested address")      \
    X(ENETDOWN, ASOCK_ERR_NETWORK_DOWN, "network is down")                                    \
    X(ENETUNREACH, ASOCK_ERR_NETWORK_UNREACHABLE, "network is unreachable")                   \
    X(ENETRESET, ASOCK_ERR_NETWORK_RESET, "network dropped connection on reset")              \
    X(ECONNABORTED, ASOCK_ERR_CONNECTION_ABORTED, "software caused connection abort")         \
    X(ECONNRESET, ASOCK_ERR_CONNECTION_RESET, "connection reset by peer")                     \
    X(ENOBUFS, ASOCK_ERR_NO_BUFFER_SPACE_AVAILABLE, "no buffer space available")              \
    X(EISCONN, ASOCK_ERR_IS_CONNECTED, "transport endpoint is already connected")             \
    X(ENOTCONN, ASOCK_ERR_NOT_CONNECTED, "transport endpoint is not connected")               \
    X(ESHUTDOWN, ASOCK_ERR_DISCONNECTING, "cannot send after transport endpoint shutdown")    \
    X(ETIMEDOUT, ASOCK_ERR_TIMED_OUT, "connection timed out")                                 \
    X(ECONNREFUSED, ASOCK_ERR_CONNECTION_REFUSED, "connection refused")                       \
    X(EHOSTDOWN, ASOCK_ERR_HOST_DOWN, "host is down")                                         \
    X(EHOSTUNREACH, ASOCK_ERR_HOST_UNREACHABLE, "no route to host")                           \
    X(EALREADY, ASOCK_ERR_ALREADY_IN_PROGRESS, "operation already in progress")               \
    X(EINPROGRESS, ASOCK_ERR_IN_PROGRESS, "operation now in progress")                        \
    X(ECANCELED, ASOCK_ERR_OPERATION_ABORTED, "operation canceled")                           \
    /* not in errors.md §2: no SocketError of their own */                                   \
    X(EBUSY, ASOCK_ERR_SOCKET_ERROR, "device or resource busy")                               \
    X(ENOMEM, ASOCK_ERR_SOCKET_ERROR, "out of memory")                                        \
    X(ENOSYS, ASOCK_ERR_SOCKET_ERROR, "function not implemented")                             \
    X(ERANGE, ASOCK_ERR_SOCKET_ERROR, "result out of range")                                  \
    X(EEXIST, ASOCK_ERR_SOCKET_ERROR, "file exists")                                          \
    X(ETIME, ASOCK_ERR_SOCKET_ERROR, "timer expired")                                         \
    X(ENOSPC, ASOCK_ERR_SOCKET_ERROR, "no space left on device")                              \
    X(E2BIG, ASOCK_ERR_SOCKET_ERROR, "argument list too long")                                \
    X(EOVERFLOW, ASOCK_ERR_SOCKET_ERROR, "value too large for defined data type")             \
    X(ENOTDIR, ASOCK_ERR_SOCKET_ERROR, "not a directory")                                     \
    X(EPROTO, ASOCK_ERR_SOCKET_ERROR, "protocol error")                                       \
    X(ENODEV, ASOCK_ERR_SOCKET_ERROR, "no such device")                                       \
    X(EIO, ASOCK_ERR_SOCKET_ERROR, "input/output error")                                      \
    X(ESRCH, ASOCK_ERR_SOCKET_ERROR, "no such process")                                       \
    X(ENOTTY, ASOCK_ERR_SOCKET_ERROR, "inappropriate ioctl for device")                       \
    X(ELOOP, ASOCK_ERR_SOCKET_ERROR, "too many levels of symbolic links")                     \
    X(ENAMETOOLONG, ASOCK_ERR_SOCKET_ERROR, "file name too long")                             \
    X(ENOTEMPTY, ASOCK_ERR_SOCKET_ERROR, "directory not empty")

/* The public enums must carry exactly the values errors.md writes down. */
#define CHECK_SOCKET_ERROR(sym, val, name, msg, status) \
    _Static_assert((sym) == (val), #sym " differs from errors.md section 1");
ASOCK__SOCKET_ERRORS(CHECK_SOCKET_ERROR)
#undef CHECK_SOCKET_ERROR

#define CHECK_STATUS(suffix, val, name)            \
    _Static_assert(ASOCK_STATUS_##suffix == (val), \
                   "ASOCK_STATUS_" #suffix " differs from errors.md section 3");
ASOCK__ERROR_STATUSES(CHECK_STATUS)
#undef CHECK_STATUS

/* errors.md §1 lists 47 SocketError names, §3 31 statuses: a dropped row fails here. */
#define COUNT_ROW5(a, b, c, d, e) +1
#define COUNT_ROW3(a, b, c)       +1
_Static_assert(0 ASOCK__SOCKET_ERRORS(COUNT_ROW5) == 47,
               "errors.md section 1 has 47 SocketError names");
_Static_assert(0 ASOCK__ERROR_STATUSES(COUNT_ROW3) == 31, "errors.md section 3 has 31 statuses");
#undef COUNT_ROW5
#undef COUNT_ROW3

const char *asock_socket_error_name(asock_socket_error err)
{
#define NAME_CASE(sym, val, name, msg, status) \
    case sym:                                  \
        return name;
    switch (err) {
        ASOCK__SOCKET_ERRORS(NAME_CASE)
    default:
        return NULL;
    }
#undef NAME_CASE
}

const char *asock_socket_error_message(asock_socket_error err)
{
#define MESSAGE_CASE(sym, val, name, msg, status) \
    case sym:                                     \
        return msg;
    switch (err) {
        ASOCK__SOCKET_ERRORS(MESSAGE_CASE)
    default:
        return "unknown socket error";
    }
#undef MESSAGE_CASE
}

asock_error_status asock_error_get_status(asock_socket_error err)
{
#define STATUS_CASE(sym, val, name, msg, status) \
    case sym:                                    \
        return ASOCK_STATUS_##status;
    switch (err) {
        ASOCK__SOCKET_ERRORS(STATUS_CASE)
    default:
        return ASOCK_STATUS_UNKNOWN;
    }
#undef STATUS_CASE
}

const char *asock_error_status_name(asock_error_status status)
{
#define STATUS_NAME_CASE(suffix, val, name) \
    case ASOCK_STATUS_##suffix:             \
        return name;
    switch (status) {
        ASOCK__ERROR_STATUSES(STATUS_NAME_CASE)
    default:
        return NULL;
    }
#undef STATUS_NAME_CASE
}

/* errno arguments may come as -errno (a refused call's return value) or errno (sys_errno).
 * Returns the positive errno, or -1 for INT_MIN, which has no positive counterpart. */
static int positive_errno(int err)
{
    if (err >= 0)
        return err;
    if (err == INT_MIN)
        return -1;
    return -err;
}

asock_socket_error asock_socket_error_from_errno(int err)
{
    int e = positive_errno(err);
    if (e == 0)
        return ASOCK_SUCCESS;
#define MAP_CASE(sym, mapped, text) \
    case sym:                       \
        return mapped;
    switch (e) {
        ASOCK__ERRNOS(MAP_CASE)
    default:
        return ASOCK_ERR_SOCKET_ERROR;
    }
#undef MAP_CASE
}

const char *asock_strerror(int err)
{
    int e = positive_errno(err);
    if (e == 0)
        return "success";
#define TEXT_CASE(sym, mapped, text) \
    case sym:                        \
        return text;
    switch (e) {
        ASOCK__ERRNOS(TEXT_CASE)
    default:
        return "unknown error";
    }
#undef TEXT_CASE
}

const char *asock__errno_name(int err)
{
    int e = positive_errno(err);
#define ERRNO_NAME_CASE(sym, mapped, text) \
    case sym:                              \
        return #sym;
    switch (e) {
        ASOCK__ERRNOS(ERRNO_NAME_CASE)
    default:
        return NULL;
    }
#undef ERRNO_NAME_CASE
}
