/* SPDX-License-Identifier: MIT */
/*
 * What members tell each other on their sessions: ANNOUNCE (a member's port and name) and
 * PEX (the members it has a session with, at the addresses it sees them at), sent right
 * after a handshake and every 30 s; keepalives. Nothing of this goes to an address that has
 * not answered us (path.h). A PEX becomes hints, bounded per member (hints.h).
 */
#ifndef NT_TUNNEL_ANNOUNCE_H
#define NT_TUNNEL_ANNOUNCE_H

#include "tunnel/types.h"

/* ANNOUNCE and PEX to p where they differ from what it last heard from us in this session. */
bool nt_tunnel_announce_to(struct nt_tunnel *t, struct nt_peer *p, uint64_t now); /* true: sent */
/* A session began or ended: what either side said of keeping it is forgotten. */
void nt_tunnel_session_forget(struct nt_peer *p);
/* A keepalive to p (a proven path only). */
void nt_tunnel_send_keepalive(struct nt_tunnel *t, struct nt_peer *p);
/* The ANNOUNCE and PEX control handler (dataplane.h, nt_dp_control_fn). */
void nt_tunnel_announce_on_control(void *ctx, struct nt_peer *p, uint8_t type, const uint8_t *body,
				   size_t len, const union nt_sockaddr *from, struct nt_peer *via,
				   uint64_t now);

#endif
