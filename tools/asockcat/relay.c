/* One connected TCP peer: socket -> stdout and stdin -> socket, on the loop.
 *
 * One receive and at most one send are in flight at a time, each with its own caller-owned
 * asock_args.  Every start handles both answers of the API: 1 (pending: the callback comes
 * later) and 0 (completed synchronously: no callback, the results are read at once), looping
 * while operations complete synchronously rather than recursing.
 *
 * The session ends (nc/ncat behaviour, ecosystem.md §3.4):
 *   - when the peer closed its side (a receive of 0 bytes) and no send is in flight;
 *   - with --send-only, once stdin ended and everything read from it was sent;
 *   - on an error (printed with its SocketError name), or when -w's idle time passed.
 * stdin's end shuts the write side down (SHUT_WR) and the tool goes on printing what the peer
 * sends.  stdin belongs to the process, not to a peer: chunks read while no peer is connected
 * (listen -k between peers) wait for the next one.
 */
#include "asockcat.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define RX_SIZE (64 * 1024)

struct session {
    asock_socket *s;
    asock_args rx, tx;
    struct acat_chunk *tx_chunk; /* the chunk the send in flight carries */
    bool rx_pending, tx_pending;
    bool peer_eof, wr_shut;
    bool ended;  /* the socket is closed; completions still to come only do bookkeeping */
    bool reaped; /* the loop has left session_end's stack: free once nothing is pending */
    acat_session_end_fn *end;
    char peer[96];
    char rxbuf[RX_SIZE];
};

static struct session *cur;                /* the connected peer, or NULL */
static struct acat_chunk *q_head, *q_tail; /* stdin chunks not sent yet */
static bool stdin_done;                    /* stdin reached its end */
static uint64_t last_activity;             /* asock_loop_now of the last data */

static void pump_rx(struct session *ss);
static void pump_tx(struct session *ss);

static void touch(void)
{
    last_activity = asock_loop_now(g_acat.loop);
}

static void maybe_free(struct session *ss)
{
    if (!ss->reaped || ss->rx_pending || ss->tx_pending)
        return;
    if (ss->tx_chunk != NULL)
        acat_stdin_release(ss->tx_chunk);
    free(ss);
}

static void reap(void *arg)
{
    struct session *ss = arg;
    ss->reaped = true;
    maybe_free(ss);
}

static void session_end(struct session *ss, int status)
{
    if (ss->ended)
        return;
    ss->ended = true;
    if (cur == ss)
        cur = NULL;
    asock_socket_close(ss->s);
    /* Freed later, from the loop: this may run deep inside one of the session's own pumps. */
    if (asock_loop_post(g_acat.loop, reap, ss) < 0)
        ss->reaped = false; /* out of memory: leak it rather than free it under our feet */
    if (!g_acat.done)
        ss->end(status);
}

static void session_error(struct session *ss, asock_socket_error err, const char *detail,
                          const char *what)
{
    char ebuf[160];
    acat_msg("%s %s: %s%s%s", what, ss->peer, acat_error_text(err, ebuf, sizeof(ebuf)),
             detail != NULL && detail[0] ? ": " : "", detail != NULL ? detail : "");
    session_end(ss, ACAT_EXIT_NET);
}

static void session_refused(struct session *ss, int rc, const char *what)
{
    /* The API refused a call the tool made: a bug in the tool or the library, never the net. */
    acat_msg("%s %s refused by asock: %s (%s)", what, ss->peer, asock_strerror(rc),
             asock_socket_error_name(asock_socket_error_from_errno(rc)));
    session_end(ss, ACAT_EXIT_NET);
}

static void maybe_done(struct session *ss)
{
    if (!ss->ended && ss->peer_eof && !ss->tx_pending) {
        acat_verbose("%s closed the connection", ss->peer);
        session_end(ss, ACAT_EXIT_OK);
    }
}

/* ---- socket -> stdout ---- */

/* The receive in ss->rx completed; true to go on receiving. */
static bool handle_rx(struct session *ss)
{
    asock_args *e = &ss->rx;
    if (e->socket_error != ASOCK_SUCCESS) {
        session_error(ss, e->socket_error, asock_args_error_detail(e), "receive from");
        return false;
    }
    if (e->bytes_transferred == 0) {
        ss->peer_eof = true;
        maybe_done(ss);
        return false;
    }
    touch();
    if (!g_acat.o.send_only) {
        int rc = acat_stdout_write(ss->rxbuf, e->bytes_transferred);
        if (rc < 0) {
            acat_msg("stdout: %s", asock_strerror(rc));
            acat_finish(ACAT_EXIT_NET);
            session_end(ss, ACAT_EXIT_NET);
            return false;
        }
    }
    return true;
}

static void on_rx(asock_socket *sender, asock_args *e)
{
    (void)sender;
    struct session *ss = e->user_token;
    ss->rx_pending = false;
    if (ss->ended || g_acat.done) {
        maybe_free(ss);
        return;
    }
    if (handle_rx(ss))
        pump_rx(ss);
}

static void pump_rx(struct session *ss)
{
    while (!ss->ended && !ss->rx_pending && !ss->peer_eof && !g_acat.done) {
        asock_args_set_buffer(&ss->rx, ss->rxbuf, 0, sizeof(ss->rxbuf));
        int rc = asock_receive_async(ss->s, &ss->rx);
        if (rc == 1) {
            ss->rx_pending = true;
            return;
        }
        if (rc < 0) {
            session_refused(ss, rc, "receive from");
            return;
        }
        if (!handle_rx(ss))
            return;
    }
}

/* ---- stdin -> socket ---- */

/* The send in ss->tx completed; true to go on sending. */
static bool handle_tx(struct session *ss)
{
    if (ss->tx_chunk != NULL) {
        acat_stdin_release(ss->tx_chunk);
        ss->tx_chunk = NULL;
    }
    if (ss->tx.socket_error != ASOCK_SUCCESS) {
        session_error(ss, ss->tx.socket_error, asock_args_error_detail(&ss->tx), "send to");
        return false;
    }
    touch();
    return true;
}

static void on_tx(asock_socket *sender, asock_args *e)
{
    (void)sender;
    struct session *ss = e->user_token;
    ss->tx_pending = false;
    if (ss->ended || g_acat.done) {
        maybe_free(ss);
        return;
    }
    if (!handle_tx(ss))
        return;
    pump_tx(ss);
    maybe_done(ss);
}

static void shut_write(struct session *ss)
{
    ss->wr_shut = true;
    int rc = asock_socket_shutdown(ss->s, SHUT_WR);
    if (rc < 0)
        acat_verbose("shutdown of the write side: %s", asock_strerror(rc));
    else
        acat_verbose("stdin ended: write side shut down, still printing what %s sends", ss->peer);
    if (g_acat.o.send_only) {
        acat_verbose("--send-only: done");
        session_end(ss, ACAT_EXIT_OK);
    }
}

static void pump_tx(struct session *ss)
{
    if (g_acat.o.recv_only)
        return;
    while (!ss->ended && !ss->tx_pending && !g_acat.done) {
        if (q_head == NULL) {
            if (stdin_done && !ss->wr_shut)
                shut_write(ss);
            return;
        }
        struct acat_chunk *c = q_head;
        q_head = c->next;
        if (q_head == NULL)
            q_tail = NULL;
        ss->tx_chunk = c;
        asock_args_set_buffer(&ss->tx, c->data, 0, c->len);
        int rc = asock_send_async(ss->s, &ss->tx);
        if (rc == 1) {
            ss->tx_pending = true;
            return;
        }
        if (rc < 0) {
            session_refused(ss, rc, "send to");
            return;
        }
        if (!handle_tx(ss))
            return;
    }
}

static void on_stdin(struct acat_chunk *chunk, int err)
{
    if (g_acat.done) {
        if (chunk != NULL)
            acat_stdin_release(chunk);
        return;
    }
    if (chunk == NULL) {
        if (err != 0)
            acat_msg("stdin: %s (taken as its end)", asock_strerror(err));
        else
            acat_verbose("stdin: end of input");
        stdin_done = true;
    } else {
        chunk->next = NULL;
        if (q_tail != NULL)
            q_tail->next = chunk;
        else
            q_head = chunk;
        q_tail = chunk;
    }
    if (cur != NULL)
        pump_tx(cur);
}

/* ---- idle timeout ---- */

static void on_tick(void)
{
    if (g_acat.done || cur == NULL)
        return;
    uint64_t now = asock_loop_now(g_acat.loop);
    if (now - last_activity < g_acat.o.wait_ms)
        return;
    char ebuf[160];
    acat_msg("%s: no data for %.3g s (-w): %s", cur->peer, (double)g_acat.o.wait_ms / 1000.0,
             acat_error_text(ASOCK_ERR_TIMED_OUT, ebuf, sizeof(ebuf)));
    acat_finish(ACAT_EXIT_NET);
    session_end(cur, ACAT_EXIT_NET);
}

int acat_relay_init(void)
{
    if (!g_acat.o.recv_only) {
        int rc = acat_stdin_start(on_stdin);
        if (rc < 0)
            return rc;
    }
    if (g_acat.o.wait_ms > 0) {
        uint32_t period = g_acat.o.wait_ms / 10u;
        if (period < 10u)
            period = 10u;
        if (period > 200u)
            period = 200u;
        return acat_ticker_start(period, on_tick);
    }
    return 0;
}

void acat_relay_start(asock_socket *s, acat_session_end_fn *end)
{
    struct session *ss = calloc(1, sizeof(*ss));
    if (ss == NULL) {
        asock_socket_close(s);
        acat_fail(ASOCK_ERR_NO_BUFFER_SPACE_AVAILABLE, NULL, "new connection");
        return;
    }
    ss->s = s;
    ss->end = end;
    asock_args_init(&ss->rx);
    asock_args_init(&ss->tx);
    ss->rx.completed = on_rx;
    ss->rx.user_token = ss;
    ss->tx.completed = on_tx;
    ss->tx.user_token = ss;
    asock_endpoint peer;
    if (asock_socket_remote_endpoint(s, &peer) == 0)
        snprintf(ss->peer, sizeof(ss->peer), "%s", acat_ep(&peer));
    else
        snprintf(ss->peer, sizeof(ss->peer), "the peer");
    cur = ss;
    touch();
    pump_rx(ss);
    if (!ss->ended)
        pump_tx(ss);
}
