/* The test harness: cmocka plus asock helpers.  Every test starts with asock_t_begin() and ends
 * with asock_t_end(loop), which drives the loop until it is empty, frees it and checks that the
 * process holds exactly the descriptors it held at the start. */
#ifndef ASOCK_TEST_H
#define ASOCK_TEST_H

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <asock/asock.h>

#define ASOCK_T_SKIP 77

/* Number of open descriptors of this process (/proc/self/fd). */
int asock_t_fd_count(void);

/* A new loop on the engine the environment names (ASOCK_ENGINE); exits 77 (skip) when that engine
 * cannot run here.  Records the fd count for asock_t_end. */
asock_loop *asock_t_loop(void);
asock_loop *asock_t_loop_opts(const asock_loop_options *opts);

/* Runs the loop (ASOCK_RUN_ONCE steps) until *flag becomes non-zero or timeout_ms passes.
 * Returns 0 when the flag was set, -1 on timeout. */
int asock_t_run_until(asock_loop *loop, const volatile int *flag, int timeout_ms);

/* Runs ASOCK_RUN_DEFAULT with a bound: fails the test if work is left after timeout_ms. */
void asock_t_drain(asock_loop *loop, int timeout_ms);

/* Drains the loop, asserts it has no work, frees it, and asserts the fd count is back to what it
 * was when asock_t_loop was called. */
void asock_t_end(asock_loop *loop);

/* Plain (blocking, non-asock) helper sockets for peers, on loopback with ephemeral ports. */
int asock_t_tcp_listener(int family, const char *addr, uint16_t *port);
int asock_t_udp_socket(int family, const char *addr, uint16_t *port);
int asock_t_tcp_connect(int family, const char *addr, uint16_t port);
/* A port on addr with nothing listening (bound then closed). */
uint16_t asock_t_free_port(int family, const char *addr, int type);
/* Waits up to timeout_ms for fd to be readable: 1 readable, 0 timeout. */
int asock_t_wait_readable(int fd, int timeout_ms);

/* An initialised args with completed = cb and user_token = token. */
void asock_t_args(asock_args *e, asock_completed_fn *cb, void *token);

/* Reads KEY from the DNS fixture's file (ASOCK_TEST_DNS_FILE, KEY=VALUE lines written by
 * tests/resolve/dnsmasq.sh); for "dns", ASOCK_TEST_DNS=ip:port takes precedence.  0 or -1. */
int asock_t_dns_env(const char *key, char *buf, size_t len);

/* Engine name the test runs on ("epoll", "io_uring"), for messages. */
const char *asock_t_engine(void);

#endif
