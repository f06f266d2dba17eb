/* SPDX-License-Identifier: MIT */
/*
 * Endpoints worth a handshake ("hints"): configured (--peer), remembered from earlier
 * sessions, named by members (PEX, the host endpoints of their claims) and found by
 * discovery (DHT, mDNS). Each is tried with exponential backoff until a session with the
 * member behind it exists; what it may draw is bounded by who named it (a budget of INITs,
 * and open sources holding a quarter of the table). tunnel.c decides when to try them.
 */
#ifndef NT_TUNNEL_HINTS_H
#define NT_TUNNEL_HINTS_H

#include "tunnel/types.h"

/* The hint for this endpoint, or NULL. */
struct nt_hint *nt_tunnel_hint_find(struct nt_tunnel *t, const union nt_sockaddr *ep);
/*
 * Adds or refreshes an endpoint worth a handshake. budget: the bytes of INITs its naming
 * pays for (4 times the naming input's share; at least one INIT, four at most), or
 * NT_HINT_BUDGET_UNLIMITED for what the operator configured or we remembered. NULL when
 * refused: not a unicast endpoint (unless configured), or no room among the hints this
 * source may replace.
 */
struct nt_hint *nt_tunnel_hint_add(struct nt_tunnel *t, enum nt_hint_source src,
				   const union nt_sockaddr *ep, const uint8_t *id, uint32_t budget,
				   uint64_t now);
/* Sources anyone can feed (a DHT announce, an mDNS answer on the LAN). */
bool nt_tunnel_hint_source_is_open(enum nt_hint_source src);
/* Whether a member with a live direct session is behind h (or h is ourselves). */
bool nt_tunnel_hint_is_satisfied(struct nt_tunnel *t, const struct nt_hint *h, uint64_t now);
/* The hints at ep (and, for an initiator, at the endpoint it dialled) are member id's. */
void nt_tunnel_hints_name(struct nt_tunnel *t, const union nt_sockaddr *ep, const uint8_t id[32]);
/* How many hints member p named (PEX). */
unsigned int nt_tunnel_hints_told_by(struct nt_tunnel *t, const struct nt_peer *p);
/* Whether a live member says (PEX) it has a session with id. */
bool nt_tunnel_hints_vouch(struct nt_tunnel *t, const uint8_t id[32], uint64_t now);
/*
 * Every id nt_tunnel_hints_vouch says yes to at now, sorted (memcmp order), without repeats,
 * into ids (room for NT_MAX_HINTS); returns how many. One pass over the table, for a caller
 * that asks about many ids at once (a route rebuild asks about every claim's owner).
 */
size_t nt_tunnel_hints_vouched(struct nt_tunnel *t, uint64_t now, uint8_t (*ids)[32]);
/* Whether id is among the n ids nt_tunnel_hints_vouched listed: a binary search. */
bool nt_tunnel_hints_vouched_has(const uint8_t (*ids)[32], size_t n, const uint8_t id[32]);
/* Observer: member p is about to be freed. */
void nt_tunnel_hints_on_gone(void *ctx, struct nt_peer *p);

#endif
