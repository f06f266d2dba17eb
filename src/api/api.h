/* SPDX-License-Identifier: MIT */
/*
 * The HTTP API (DESIGN §10): libmicrohttpd in external mode inside the daemon's libevent
 * loop, so handlers read the node's state directly, with no locks. docs/api.md lists the
 * endpoints and the security model. The pieces: api_parse.c (listen address, path, Host,
 * bearer), api_json.c (documents), api_metrics.c (/metrics), dashboard.html (GET /).
 *
 * The API knows the node only through struct nt_api_host, which its host (the daemon, or a
 * test) fills: a snapshot function, the ledger it may read and write, the DHT it reports on.
 */
#ifndef NT_API_H
#define NT_API_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "netron/types.h"

struct event_base;
struct nt_api;
struct nt_dht;
struct nt_identity;
struct nt_ledger;
struct nt_names;
struct nt_status;

/* What the API serves, from its host. Everything must outlive the API. */
struct nt_api_host {
	struct event_base *base; /* the loop it runs in; handlers run on its thread */
	const char *listen; /* --api-listen */
	const char *token_file; /* --api-token-file, "" for none */
	const char *hostname;
	const struct nt_identity *id; /* signs what PUT/DELETE write */
	struct nt_ledger *ledger; /* NULL: answered as an empty ledger */
	struct nt_dht *dht; /* NULL: {"enabled": false} */
	const struct nt_names *names; /* the name each member answers to; NULL: none */
	/* A snapshot of the node (nt_status_free frees it); 0 or -errno. */
	int (*status)(void *ctx, struct nt_status **out);
	/* /healthz: the node carries traffic (its TUN and socket are up). */
	bool (*ready)(void *ctx);
	void *ctx;
};

#ifndef NT_API_CONNECTION_LIMIT
#define NT_API_CONNECTION_LIMIT 64 /* beyond it, new connections wait in the backlog */
#endif
#ifndef NT_API_PER_IP_LIMIT
#define NT_API_PER_IP_LIMIT 16
#endif
#ifndef NT_API_TIMEOUT_S
#define NT_API_TIMEOUT_S 10 /* idle connections are closed after this */
#endif
#ifndef NT_API_BODY_MAX
#define NT_API_BODY_MAX (64 * 1024) /* PUT bodies */
#endif

/*
 * Starts serving on host->listen (call from the loop thread). 0 and *out, or -errno with
 * err->msg naming the problem: -EINVAL for a bad listen address or token file,
 * -EADDRINUSE and friends from bind. host is copied.
 */
int nt_api_start(struct nt_api **out, const struct nt_api_host *host, struct nt_err *err);
/* Stops and frees a, removes a unix socket file; accepts NULL. */
void nt_api_stop(struct nt_api *a);

/* The embedded dashboard page (src/api/dashboard.html). */
const uint8_t *nt_api_dashboard(size_t *len);
/* The TCP port actually bound (useful with port 0), or 0. */
uint16_t nt_api_port(const struct nt_api *a);

#endif
