/* SPDX-License-Identifier: MIT */
/*
 * `netron status`: ask a running node's HTTP API (--api-listen, TCP or unix:) for
 * /api/summary and /api/peers with a small HTTP/1.1 client, and print them as a table.
 * The response parser and the renderer are separate so tests and the fuzzer reach them
 * without sockets.
 */
#ifndef NT_STATUS_CMD_H
#define NT_STATUS_CMD_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "netron/options.h"

#ifndef NT_STATUS_TIMEOUT_MS
#define NT_STATUS_TIMEOUT_MS 3000 /* connect, send and receive, each request */
#endif
#define NT_STATUS_RESPONSE_MAX (8u << 20)

/* Runs the command; returns the process exit code (0, or 1 with a message on stderr). */
int nt_status_cmd(const struct nt_options *o);

/*
 * Parses a complete HTTP/1.x response (the server closed the connection after it):
 * status line, headers, then a body delimited by Content-Length, chunked encoding
 * (decoded in place, buf is modified) or the end of the data. 0 or -EBADMSG.
 */
int nt_status_http_parse(char *buf, size_t len, int *status, char **body, size_t *body_len);

/* Prints the node and the peer table. now_ms: the wall clock, for "12s ago". */
void nt_status_render(FILE *out, json_t *summary, json_t *peers, uint64_t now_ms);
/* "1.5 KiB"; buf of at least 16 bytes. */
const char *nt_status_human_bytes(uint64_t n, char *buf, size_t len);
/* "12s ago", "3m ago", "never" for 0; buf of at least 24 bytes. */
const char *nt_status_ago(uint64_t then_ms, uint64_t now_ms, char *buf, size_t len);

#endif
