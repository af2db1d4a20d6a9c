/* Cross-thread posts: asock_loop_post is the one call other threads may make.  Worker threads
 * hand results to the loop thread, which owns all the state (a sum, a count, a socket) without
 * any lock; when every worker is done, a last post closes the loop's socket, the loop runs out of
 * work and asock_loop_run returns.
 *
 *   cross_thread_post        4 workers x 10000 posts; exit 0 when every post ran once, and the
 *                            posts of each thread ran in the order they were posted
 *
 * Note: a posted function keeps the loop running only while it waits to run.  A loop whose only
 * input is posts returns from asock_loop_run as soon as nothing is pending, so here the loop
 * also serves a UDP socket (its "real" work: a receive is pending on it the whole time).
 */
#include <asock/asock.h>

#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>

#define WORKERS 4
#define POSTS   10000

struct item {
    int worker;
    int seq;
};

/* touched by the loop thread only */
static asock_loop *loop;
static asock_socket *udp;
static asock_args rx;
static char rxbuf[512];
static long long sum;
static int count;
static int next_seq[WORKERS];
static int out_of_order;
static int datagrams;

static void on_item(void *arg) /* runs on the loop thread */
{
    struct item *it = arg;
    if (it->seq != next_seq[it->worker])
        out_of_order++;
    next_seq[it->worker] = it->seq + 1;
    sum += it->seq;
    count++;
    free(it); /* the loop thread owns what was posted to it */
}

static void *worker(void *arg)
{
    int w = (int)(intptr_t)arg;
    for (int i = 0; i < POSTS; i++) {
        struct item *it = malloc(sizeof(*it));
        if (it == NULL)
            abort();
        it->worker = w;
        it->seq = i;
        if (asock_loop_post(loop, on_item, it) < 0) /* only -ENOMEM */
            abort();
    }
    return NULL;
}

static void on_all_done(void *arg) /* runs on the loop thread, after every worker's posts */
{
    (void)arg;
    printf("loop thread: the workers are done; closing the socket ends the loop's work\n");
    asock_socket_close(udp); /* the pending receive completes with OperationAborted */
}

static void *joiner(void *arg)
{
    pthread_t *threads = arg;
    for (int i = 0; i < WORKERS; i++)
        pthread_join(threads[i], NULL);
    asock_loop_post(loop, on_all_done, NULL);
    return NULL;
}

static void on_datagram(asock_socket *s, asock_args *e)
{
    if (e->socket_error != ASOCK_SUCCESS)
        return; /* closed by on_all_done */
    datagrams++;
    asock_args_set_buffer(e, rxbuf, 0, sizeof(rxbuf));
    while (asock_receive_from_async(s, e) == 0) /* synchronous completions: go on */
        datagrams++;
}

int main(void)
{
    if (asock_loop_new(&loop, NULL) < 0)
        return 1;
    asock_endpoint ep;
    asock_endpoint_ip(&ep, "127.0.0.1", 0);
    asock_socket_open(loop, AF_INET, SOCK_DGRAM, 0, &udp);
    asock_socket_bind(udp, &ep);
    asock_args_init(&rx);
    rx.completed = on_datagram;
    rx.remote_endpoint = ep; /* the family template for receive_from */
    asock_args_set_buffer(&rx, rxbuf, 0, sizeof(rxbuf));
    if (asock_receive_from_async(udp, &rx) != 1)
        return 1;

    pthread_t threads[WORKERS], j;
    for (int i = 0; i < WORKERS; i++)
        pthread_create(&threads[i], NULL, worker, (void *)(intptr_t)i);
    pthread_create(&j, NULL, joiner, threads);

    int rc = asock_loop_run(loop, ASOCK_RUN_DEFAULT); /* until the socket is closed */
    pthread_join(j, NULL);
    asock_loop_free(loop);

    long long want = (long long)WORKERS * POSTS * (POSTS - 1) / 2;
    printf("loop returned %d; %d posts ran (%d expected), sum %lld (%lld expected), %d out of "
           "order, %d datagrams\n",
           rc, count, WORKERS * POSTS, sum, want, out_of_order, datagrams);
    return rc == 0 && count == WORKERS * POSTS && sum == want && out_of_order == 0 ? 0 : 1;
}
