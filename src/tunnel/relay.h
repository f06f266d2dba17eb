/* SPDX-License-Identifier: MIT */
/*
 * Relays: when two members cannot punch through to each other, one that has a session with
 * both passes their frames (docs/nat.md). As a relay we forward a member's RELAY to another
 * member as RELAYED, within a bounded table of pairs and a per-member frame budget; as an
 * end we hand what a relay delivers back to the data plane as if it came in, through that
 * relay (and never relay a relayed frame again).
 */
#ifndef NT_TUNNEL_RELAY_H
#define NT_TUNNEL_RELAY_H

#include "tunnel/types.h"

/* The RELAY and RELAYED control handler (dataplane.h, nt_dp_control_fn). */
void nt_tunnel_relay_on_control(void *ctx, struct nt_peer *p, uint8_t type, const uint8_t *body,
				size_t len, const union nt_sockaddr *from, struct nt_peer *via,
				uint64_t now);
/*
 * Punching toward h's member has not worked for a while: reach it through the member that
 * told us about it. The direct tries go on; the first direct session takes over.
 */
void nt_tunnel_relay_if_stuck(struct nt_tunnel *t, struct nt_hint *h, uint64_t now);
/* Observer: member p is about to be freed. */
void nt_tunnel_relay_on_gone(void *ctx, struct nt_peer *p);

#endif
