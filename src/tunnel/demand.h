/* SPDX-License-Identifier: MIT */
/*
 * Sessions on demand (docs/scale.md): a node keeps sessions alive only with its neighbors
 * (tunnel/neighbors.h, chosen by the layer that knows the members) and the members it heard of
 * from the operator; a session with anyone else is opened by traffic (the packet waits here
 * while the member is dialled at the endpoints its claim lists) and let go when nobody has
 * used it for NT_IDLE_SESSION_MS: no keepalive, no rekey, no announcement, and WireGuard's
 * timers end it. So what a member pays grows with the members it talks to, not with N.
 */
#ifndef NT_TUNNEL_DEMAND_H
#define NT_TUNNEL_DEMAND_H

#include "tunnel/types.h"

/*
 * The members to keep sessions with (at most NT_NEIGHBORS_MAX). complete: the choice was made
 * among enough members (else every session is kept, as in a small network). Neighbors with no
 * session are dialled on the next tick and every NT_NEIGHBOR_REDIAL_MS. Safe to call from an
 * observer (it starts no handshake itself).
 */
void nt_tunnel_set_neighbors(struct nt_tunnel *t, const struct nt_contact *c, unsigned int n,
			     bool complete, uint64_t now);
/* Tries to reach member c now: its known address, and the endpoints of its claim. */
void nt_tunnel_dial(struct nt_tunnel *t, const struct nt_contact *c, uint64_t now);
/*
 * Keeps an IP packet for member id until a session with it exists (NT_PENDING_MS at most).
 * Returns false when there is no room (the caller drops it); *fresh: no packet was waiting
 * for id before (the caller dials it with nt_tunnel_dial_for).
 */
bool nt_tunnel_pend(struct nt_tunnel *t, const uint8_t id[32], const uint8_t *pkt, size_t len,
		    uint64_t now, bool *fresh);
/*
 * Dials member c for the packets waiting for it; via: members that keep a session with it
 * (its neighbors), through which a relayed handshake goes if no direct one has answered after
 * NT_RELAY_AFTER_MS (both behind NATs that a first packet does not open).
 */
void nt_tunnel_dial_for(struct nt_tunnel *t, const struct nt_contact *c, const struct nt_contact *via,
			unsigned int n_via, uint64_t now);
/*
 * Whether a session with p is worth keeping now: a neighbor of ours, or one that keeps it
 * (ANNOUNCE keep), recent traffic, packets waiting.
 */
bool nt_tunnel_wants(struct nt_tunnel *t, struct nt_peer *p, uint64_t now);
/*
 * One hint's turn: INITs to its endpoint (a punch for one a member told us of), as far as its
 * budget and the per-address limit allow, then the relay if punching has not worked.
 */
void nt_tunnel_hint_try(struct nt_tunnel *t, struct nt_hint *h, uint64_t now);
/* Whether a hint is worth its INITs now: configured, for a wanted member, or we know too few. */
bool nt_tunnel_hint_wanted(struct nt_tunnel *t, const struct nt_hint *h, uint64_t now);
/* Traffic marks, keepalives only for neighbors, expired pending packets, neighbor redials. */
void nt_tunnel_demand_tick(struct nt_tunnel *t, uint64_t now);
/* Observer: a member joined; the packets waiting for it go to its session's queue. */
void nt_tunnel_demand_on_joined(void *ctx, struct nt_peer *p);
/* Frees the packets still waiting. */
void nt_tunnel_demand_clear(struct nt_tunnel *t);

#endif
