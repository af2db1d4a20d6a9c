/* A program built against an installed asock, the way users consume it. */
#include <asock/asock.h>

#include <stdio.h>
#include <string.h>

int main(void)
{
    asock_loop *loop = NULL;
    int rc = asock_loop_new(&loop, NULL);
    if (rc < 0) {
        fprintf(stderr, "asock_loop_new: %s\n", asock_strerror(rc));
        return 1;
    }
    printf("asock %s on %s: %s\n", asock_version_string(),
           asock_engine_name(asock_loop_engine(loop)),
           asock_socket_error_name(ASOCK_ERR_CONNECTION_REFUSED));
    asock_loop_free(loop);
    return strcmp(asock_version_string(), ASOCK_VERSION_STRING) == 0 ? 0 : 1;
}
