/* stdin, stdout and the idle ticker.
 *
 * Why a reader thread for stdin: the library's loop watches only its own sockets (there is no
 * public "watch this descriptor" call), and stdin may be a terminal, a pipe or a regular file —
 * a regular file is always "readable", so polling it does not tell when a read would block. A
 * helper thread therefore does the blocking read(2) and hands each chunk to the loop with
 * asock_loop_post, the one call the library allows from another thread. Flow control is a
 * small pool of chunks: the reader waits for a free one, and the loop gives a chunk back
 * (acat_stdin_release) once the socket took it, so a slow peer slows the reader down instead of
 * filling memory. Nothing else of the tool runs on that thread.
 *
 * The ticker: the public API has no timer, so the idle timeout (-w once connected) is checked by
 * a second helper thread that posts a tick to the loop every period; the loop compares
 * asock_loop_now with the time of the last data.
 *
 * stdout is written with blocking write(2) from the loop's thread: while stdout is not ready,
 * the socket is not read any further either, so a slow consumer pushes back on the peer through
 * TCP's own flow control.
 *
 * Teardown: both threads post only while holding `mu` and after checking `stopping`, so once
 * acat_threads_stop returned nothing posts to the loop any more and it can be freed. The reader
 * may still sit in read(2); the process exits without joining it.
 */
#include "asockcat.h"

#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

#define CHUNKS 4

static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t cv = PTHREAD_COND_INITIALIZER;
static bool stopping;
static struct acat_chunk *free_chunks;
static struct acat_chunk *all_chunks[CHUNKS];
static acat_stdin_fn *stdin_cb;
static int stdin_err; /* set before the end-of-input post */

static bool ticker_running;
static pthread_t ticker_thread;
static uint32_t tick_period_ms;
static acat_tick_fn *tick_cb;

static void post_or_die(void (*fn)(void *), void *arg)
{
    int rc = asock_loop_post(g_acat.loop, fn, arg);
    if (rc < 0) {
        /* Only out of memory can get here; the loop could never learn about stdin again. */
        acat_msg("cannot hand stdin to the loop: %s", asock_strerror(rc));
        _exit(ACAT_EXIT_NET);
    }
}

static void deliver_chunk(void *arg)
{
    stdin_cb((struct acat_chunk *)arg, 0);
}

static void deliver_end(void *arg)
{
    (void)arg;
    stdin_cb(NULL, stdin_err);
}

static void *reader_main(void *arg)
{
    (void)arg;
    for (;;) {
        pthread_mutex_lock(&mu);
        while (free_chunks == NULL && !stopping)
            pthread_cond_wait(&cv, &mu);
        if (stopping) {
            pthread_mutex_unlock(&mu);
            return NULL;
        }
        struct acat_chunk *c = free_chunks;
        free_chunks = c->next;
        pthread_mutex_unlock(&mu);

        ssize_t n;
        do {
            n = read(STDIN_FILENO, c->data, sizeof(c->data));
        } while (n < 0 && errno == EINTR);
        if (n < 0 && errno == EAGAIN) {
            /* stdin was left non-blocking by whoever shares it: wait for it */
            struct pollfd p = {.fd = STDIN_FILENO, .events = POLLIN};
            poll(&p, 1, -1);
            pthread_mutex_lock(&mu);
            c->next = free_chunks;
            free_chunks = c;
            pthread_mutex_unlock(&mu);
            continue;
        }
        int err = n < 0 ? errno : 0;

        pthread_mutex_lock(&mu);
        if (stopping) {
            pthread_mutex_unlock(&mu);
            return NULL;
        }
        if (n > 0) {
            c->len = (size_t)n;
            c->next = NULL;
            post_or_die(deliver_chunk, c);
            pthread_mutex_unlock(&mu);
            continue;
        }
        c->next = free_chunks;
        free_chunks = c;
        stdin_err = err;
        post_or_die(deliver_end, NULL);
        pthread_mutex_unlock(&mu);
        return NULL;
    }
}

int acat_stdin_start(acat_stdin_fn *fn)
{
    stdin_cb = fn;
    for (int i = 0; i < CHUNKS; i++) {
        struct acat_chunk *c = malloc(sizeof(*c));
        if (c == NULL)
            return -ENOMEM;
        all_chunks[i] = c;
        c->next = free_chunks;
        free_chunks = c;
    }
    pthread_t t;
    pthread_attr_t attr;
    pthread_attr_init(&attr);
    pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
    int rc = pthread_create(&t, &attr, reader_main, NULL);
    pthread_attr_destroy(&attr);
    return -rc;
}

void acat_stdin_release(struct acat_chunk *chunk)
{
    pthread_mutex_lock(&mu);
    chunk->next = free_chunks;
    free_chunks = chunk;
    pthread_cond_broadcast(&cv);
    pthread_mutex_unlock(&mu);
}

static void deliver_tick(void *arg)
{
    (void)arg;
    tick_cb();
}

static void *ticker_main(void *arg)
{
    (void)arg;
    pthread_mutex_lock(&mu);
    while (!stopping) {
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        ts.tv_nsec += (long)(tick_period_ms % 1000u) * 1000000L;
        ts.tv_sec += (time_t)(tick_period_ms / 1000u) + ts.tv_nsec / 1000000000L;
        ts.tv_nsec %= 1000000000L;
        int rc = 0;
        while (!stopping && rc != ETIMEDOUT)
            rc = pthread_cond_timedwait(&cv, &mu, &ts);
        if (!stopping)
            post_or_die(deliver_tick, NULL);
    }
    pthread_mutex_unlock(&mu);
    return NULL;
}

int acat_ticker_start(uint32_t period_ms, acat_tick_fn *fn)
{
    tick_period_ms = period_ms;
    tick_cb = fn;
    int rc = pthread_create(&ticker_thread, NULL, ticker_main, NULL);
    if (rc != 0)
        return -rc;
    ticker_running = true;
    return 0;
}

void acat_threads_stop(void)
{
    pthread_mutex_lock(&mu);
    stopping = true;
    pthread_cond_broadcast(&cv);
    pthread_mutex_unlock(&mu);
    if (ticker_running) {
        pthread_join(ticker_thread, NULL);
        ticker_running = false;
    }
}

int acat_stdout_write(const void *buf, size_t len)
{
    const char *p = buf;
    while (len > 0) {
        ssize_t n = write(STDOUT_FILENO, p, len);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            if (errno == EAGAIN) {
                struct pollfd pf = {.fd = STDOUT_FILENO, .events = POLLOUT};
                poll(&pf, 1, -1);
                continue;
            }
            return -errno;
        }
        p += n;
        len -= (size_t)n;
    }
    return 0;
}
