/* A TCP echo server with one loop per thread (SO_REUSEPORT): every thread has its own loop and
 * its own listening socket on the same port, and the kernel spreads incoming connections over
 * them.  Nothing is shared between the threads, so nothing is locked.
 *
 *   tcp_echo_server                  self-test on loopback: 2 server threads, 16 clients, exit 0
 *   tcp_echo_server PORT [THREADS]   serve on 0.0.0.0:PORT until killed
 *
 * Things to notice:
 *   - each loop is created, used and freed on its own thread (with io_uring the ring is bound to
 *     the thread that runs the loop);
 *   - the only cross-thread call is asock_loop_post, used here to stop a server loop;
 *   - an operation that returns 0 completed synchronously and its callback does not run, so each
 *     "start" function loops instead of waiting for a callback.
 */
#include <asock/asock.h>

#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_THREADS 16
#define CLIENTS     16

struct server {
    pthread_t thread;
    int index;
    const char *addr; /* the address to listen on */
    uint16_t port;    /* in: 0 for the first thread (any port), then that port */
    asock_loop *loop;
    asock_socket *listener;
    asock_args acc;
    unsigned accepted;
    /* start-up handshake with main */
    pthread_mutex_t mu;
    pthread_cond_t cv;
    int state; /* 0 starting, 1 listening, -1 failed */
};

struct conn {
    asock_socket *s;
    asock_args e; /* one operation at a time: receive, then send back what came */
    char buf[4096];
};

static void conn_receive(struct conn *c);

static void conn_close(struct conn *c)
{
    asock_socket_close(c->s);
    free(c); /* nothing is pending on c->e: the socket's last operation just completed */
}

/* One echo step finished (a receive or a send); true to go on. */
static bool conn_step(struct conn *c)
{
    if (c->e.socket_error != ASOCK_SUCCESS) {
        conn_close(c);
        return false;
    }
    if (c->e.last_operation == ASOCK_OP_RECEIVE) {
        if (c->e.bytes_transferred == 0) { /* the client closed its side */
            conn_close(c);
            return false;
        }
        asock_args_set_buffer(&c->e, c->buf, 0, c->e.bytes_transferred);
        int rc = asock_send_async(c->s, &c->e);
        if (rc == 1)
            return false; /* conn_completed continues */
        if (rc < 0) {
            conn_close(c);
            return false;
        }
        return conn_step(c); /* the send completed synchronously */
    }
    return true; /* a send completed: receive the next block */
}

static void conn_completed(asock_socket *s, asock_args *e)
{
    (void)s;
    struct conn *c = e->user_token;
    if (conn_step(c))
        conn_receive(c);
}

static void conn_receive(struct conn *c)
{
    for (;;) {
        asock_args_set_buffer(&c->e, c->buf, 0, sizeof(c->buf));
        int rc = asock_receive_async(c->s, &c->e);
        if (rc == 1)
            return;
        if (rc < 0) {
            conn_close(c);
            return;
        }
        if (!conn_step(c))
            return;
    }
}

static void accept_loop(struct server *sv);

static void on_accepted(struct server *sv)
{
    asock_socket *s = sv->acc.accept_socket;
    sv->acc.accept_socket = NULL; /* sticky: reset before the next accept */
    if (sv->acc.socket_error != ASOCK_SUCCESS)
        return;
    sv->accepted++;
    struct conn *c = calloc(1, sizeof(*c));
    if (c == NULL) {
        asock_socket_close(s);
        return;
    }
    c->s = s;
    asock_args_init(&c->e);
    c->e.completed = conn_completed;
    c->e.user_token = c;
    conn_receive(c);
}

static void accept_completed(asock_socket *listener, asock_args *e)
{
    (void)listener;
    struct server *sv = e->user_token;
    if (e->socket_error == ASOCK_ERR_OPERATION_ABORTED)
        return; /* the listener was closed: stop accepting */
    on_accepted(sv);
    accept_loop(sv);
}

static void accept_loop(struct server *sv)
{
    for (;;) {
        int rc = asock_accept_async(sv->listener, &sv->acc);
        if (rc != 0)
            return; /* 1: accept_completed runs later; < 0: the listener is closed */
        on_accepted(sv);
    }
}

/* Posted from main: close the listener; the loop then runs out of work and returns. */
static void stop_server(void *arg)
{
    struct server *sv = arg;
    asock_socket_close(sv->listener);
}

static void set_state(struct server *sv, int state)
{
    pthread_mutex_lock(&sv->mu);
    sv->state = state;
    pthread_cond_broadcast(&sv->cv);
    pthread_mutex_unlock(&sv->mu);
}

static void *server_main(void *arg)
{
    struct server *sv = arg;
    asock_endpoint ep;
    int rc = asock_loop_new(&sv->loop, NULL);
    if (rc == 0)
        rc = asock_socket_open(sv->loop, AF_INET, SOCK_STREAM, 0, &sv->listener);
    if (rc == 0)
        rc = asock_socket_set_option(sv->listener, ASOCK_OPT_REUSE_PORT, 1);
    if (rc == 0)
        rc = asock_endpoint_ip(&ep, sv->addr, sv->port);
    if (rc == 0)
        rc = asock_socket_bind(sv->listener, &ep);
    if (rc == 0)
        rc = asock_socket_listen(sv->listener, 0);
    if (rc == 0)
        rc = asock_socket_local_endpoint(sv->listener, &ep);
    if (rc < 0) {
        fprintf(stderr, "server %d: %s (%s)\n", sv->index, asock_strerror(rc),
                asock_socket_error_name(asock_socket_error_from_errno(rc)));
        if (sv->loop != NULL)
            asock_loop_free(sv->loop);
        sv->loop = NULL;
        set_state(sv, -1);
        return NULL;
    }
    sv->port = asock_endpoint_port(&ep);
    asock_args_init(&sv->acc);
    sv->acc.completed = accept_completed;
    sv->acc.user_token = sv;
    accept_loop(sv);
    printf("server %d: loop on %s, listening on port %u\n", sv->index,
           asock_engine_name(asock_loop_engine(sv->loop)), (unsigned)sv->port);
    set_state(sv, 1);

    asock_loop_run(sv->loop, ASOCK_RUN_DEFAULT); /* until stop_server closed the listener */
    asock_loop_free(sv->loop);
    return NULL;
}

static int start_servers(struct server *sv, int n, const char *addr, uint16_t port)
{
    for (int i = 0; i < n; i++) {
        memset(&sv[i], 0, sizeof(sv[i]));
        sv[i].index = i;
        sv[i].addr = addr;
        sv[i].port = i == 0 ? port : sv[0].port;
        pthread_mutex_init(&sv[i].mu, NULL);
        pthread_cond_init(&sv[i].cv, NULL);
        if (pthread_create(&sv[i].thread, NULL, server_main, &sv[i]) != 0)
            return -1;
        /* wait until it listens: the first thread's port is the one the others share */
        pthread_mutex_lock(&sv[i].mu);
        while (sv[i].state == 0)
            pthread_cond_wait(&sv[i].cv, &sv[i].mu);
        pthread_mutex_unlock(&sv[i].mu);
        if (sv[i].state < 0) {
            pthread_join(sv[i].thread, NULL);
            return -1;
        }
    }
    return 0;
}

/* ---- the self-test's clients: one loop on the main thread, CLIENTS connections ---- */

struct client {
    asock_socket *s;
    asock_args e;
    char msg[32];
    char echo[64];
    size_t got;
    int ok;
};

static int clients_left;

static void client_done(struct client *c, int ok)
{
    c->ok = ok;
    asock_socket_close(c->s);
    clients_left--;
}

static void client_completed(asock_socket *s, asock_args *e);

/* Connected (with the message sent with the connect) or received a part of the echo. */
static void client_step(struct client *c)
{
    size_t want = strlen(c->msg);
    for (;;) {
        if (c->e.socket_error != ASOCK_SUCCESS) {
            printf("client: %s\n", asock_socket_error_name(c->e.socket_error));
            client_done(c, 0);
            return;
        }
        if (c->e.last_operation == ASOCK_OP_RECEIVE) {
            if (c->e.bytes_transferred == 0) {
                client_done(c, 0);
                return;
            }
            c->got += c->e.bytes_transferred;
        }
        if (c->got >= want) {
            client_done(c, c->got == want && memcmp(c->echo, c->msg, want) == 0);
            return;
        }
        asock_args_set_buffer(&c->e, c->echo, c->got, sizeof(c->echo) - c->got);
        int rc = asock_receive_async(c->s, &c->e);
        if (rc == 1)
            return;
        if (rc < 0) {
            client_done(c, 0);
            return;
        }
    }
}

static void client_completed(asock_socket *s, asock_args *e)
{
    (void)s;
    client_step(e->user_token);
}

static int self_test(int threads)
{
    struct server sv[MAX_THREADS];
    if (start_servers(sv, threads, "127.0.0.1", 0) < 0)
        return 1;
    uint16_t port = sv[0].port;

    asock_loop *loop;
    if (asock_loop_new(&loop, NULL) < 0)
        return 1;
    static struct client cl[CLIENTS];
    for (int i = 0; i < CLIENTS; i++) {
        struct client *c = &cl[i];
        snprintf(c->msg, sizeof(c->msg), "hello from client %d", i);
        asock_socket_open(loop, AF_INET, SOCK_STREAM, 0, &c->s);
        asock_args_init(&c->e);
        c->e.completed = client_completed;
        c->e.user_token = c;
        c->e.connect_timeout_ms = 5000;
        asock_endpoint_ip(&c->e.remote_endpoint, "127.0.0.1", port);
        asock_args_set_buffer(&c->e, c->msg, 0, strlen(c->msg)); /* sent with the connect */
        clients_left++;
        int rc = asock_connect_async(c->s, &c->e);
        if (rc == 0)
            client_step(c);
        else if (rc < 0)
            client_done(c, 0);
    }
    while (clients_left > 0 && asock_loop_run(loop, ASOCK_RUN_ONCE) > 0) {
    }
    asock_loop_free(loop);

    int ok = 0;
    for (int i = 0; i < CLIENTS; i++)
        ok += cl[i].ok;
    for (int i = 0; i < threads; i++)
        asock_loop_post(sv[i].loop, stop_server, &sv[i]); /* the one cross-thread call */
    unsigned total = 0;
    for (int i = 0; i < threads; i++) {
        pthread_join(sv[i].thread, NULL);
        printf("server %d accepted %u connection(s)\n", i, sv[i].accepted);
        total += sv[i].accepted;
    }
    printf("%d of %d clients got their echo; %u connections accepted in all\n", ok, CLIENTS, total);
    return ok == CLIENTS && total == CLIENTS ? 0 : 1;
}

int main(int argc, char **argv)
{
    if (argc < 2)
        return self_test(2);
    int port = atoi(argv[1]);
    int threads = argc > 2 ? atoi(argv[2]) : 4;
    if (port <= 0 || port > 65535 || threads < 1 || threads > MAX_THREADS) {
        fprintf(stderr, "usage: %s [PORT [THREADS (1-%d)]]\n", argv[0], MAX_THREADS);
        return 2;
    }
    struct server sv[MAX_THREADS];
    if (start_servers(sv, threads, "0.0.0.0", (uint16_t)port) < 0)
        return 1;
    for (int i = 0; i < threads; i++)
        pthread_join(sv[i].thread, NULL); /* serve until killed */
    return 0;
}
