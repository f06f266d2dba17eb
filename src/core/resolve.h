/* SPDX-License-Identifier: MIT */
/*
 * Host names (--peer, --bootstrap, --stun) looked up without stopping the event loop: a
 * DNS server that does not answer must not freeze the tunnel for the seconds its timeouts
 * take. Lookups run in the background (glibc's getaddrinfo_a); the loop asks, and gets
 * the address once it is known (kept for NT_RESOLVE_TTL_MS, then looked up again while the
 * old one is still used). Literal addresses are answered at once, with no lookup.
 */
#ifndef NT_RESOLVE_H
#define NT_RESOLVE_H

#include <stdbool.h>
#include <stdint.h>

#include "core/util.h"

#define NT_RESOLVE_MAX 64 /* names at once: --peer, --bootstrap and --stun together */
#define NT_RESOLVE_TTL_MS (5 * 60 * 1000)
#define NT_RESOLVE_RETRY_MS 5000 /* after a failed lookup */

struct nt_resolve_entry; /* heap: a lookup still running at exit must keep its memory */

struct nt_resolver {
	struct nt_resolve_entry *e[NT_RESOLVE_MAX];
	unsigned int n;
	unsigned int pending;
};

void nt_resolver_init(struct nt_resolver *r);
/*
 * "host:port": true with *out filled when the address is known (a literal, or a name looked
 * up before); false while a lookup runs (started here if none does) or after one failed
 * (retried after NT_RESOLVE_RETRY_MS), or when hostport is malformed.
 */
bool nt_resolve(struct nt_resolver *r, const char *hostport, union nt_sockaddr *out, uint64_t now);
/* Collects finished lookups; returns how many are still running. Call from the loop. */
unsigned int nt_resolver_tick(struct nt_resolver *r, uint64_t now);
/* Cancels what runs; a lookup that cannot be cancelled keeps its (small) memory. */
void nt_resolver_free(struct nt_resolver *r);

#endif
