/* SPDX-License-Identifier: MIT */
/*
 * The HTTP API (DESIGN §10): libmicrohttpd in external mode inside the daemon's libevent
 * loop, so handlers read the daemon's state directly, with no locks. docs/api.md lists
 * the endpoints and the security model. The pieces: api_parse.c (listen address, path,
 * Host, bearer), api_json.c (documents), api_metrics.c (/metrics), dashboard.html (GET /).
 *
 * The ledger endpoints read d->ledger (NULL: answered as an empty ledger). The DHT
 * endpoint reads d->dht once daemon.h defines NT_DAEMON_HAS_DHT next to that field;
 * until then it answers {"enabled": false}.
 */
#ifndef NT_API_H
#define NT_API_H

#include <stddef.h>
#include <stdint.h>

#include "netron/types.h"

struct nt_daemon;
struct nt_api;

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
 * Starts serving on d->opts.api_listen (call from the loop thread, after the TUN and the
 * UDP socket are up). 0, or -errno with err->msg naming the problem: -EINVAL for a bad
 * listen address or token file, -EADDRINUSE and friends from bind.
 */
int nt_api_start(struct nt_daemon *d, struct nt_err *err);
/* Stops and frees d->api, removes a unix socket file; accepts a daemon without one. */
void nt_api_stop(struct nt_daemon *d);

/* The embedded dashboard page (src/api/dashboard.html). */
const uint8_t *nt_api_dashboard(size_t *len);
/* The TCP port actually bound (useful with port 0), or 0. */
uint16_t nt_api_port(const struct nt_api *a);

#endif
