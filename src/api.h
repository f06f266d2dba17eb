/* SPDX-License-Identifier: MIT */
/*
 * The HTTP API (DESIGN §10): libmicrohttpd in external mode inside the daemon's libevent
 * loop, so handlers read the daemon's state directly, with no locks.
 */
#ifndef NT_API_H
#define NT_API_H

#include "netron/types.h"

struct nt_daemon;
struct nt_api;

/* Starts serving on d->opts.api_listen. 0 or -errno with err filled. */
int nt_api_start(struct nt_daemon *d, struct nt_err *err);
/* Stops and frees d->api; accepts a daemon without one. */
void nt_api_stop(struct nt_daemon *d);

#endif
