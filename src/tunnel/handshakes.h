/* SPDX-License-Identifier: MIT */
/*
 * Handshakes with members (proto/handshake.h is the message engine): a bounded pool of
 * attempts, each bound to a session index while it runs; whom we call and when (an endpoint,
 * a member's relay, a rekey); and what a completed handshake becomes: the peer's new keypair,
 * its proven address, and its first announcements. Nothing from the network is believed
 * before the handshake proves the sender holds the token (mac1, psk3) and its node key.
 */
#ifndef NT_TUNNEL_HANDSHAKES_H
#define NT_TUNNEL_HANDSHAKES_H

#include "tunnel/types.h"

/*
 * Starts a handshake to ep (for peer p when we know who is there); punch: the first INIT
 * with a low TTL (see struct nt_attempt); open: ep came from an open source. Whether an INIT
 * went out.
 */
bool nt_tunnel_initiate(struct nt_tunnel *t, const union nt_sockaddr *ep, struct nt_peer *p,
			uint64_t now, bool punch, bool open);
/* Starts a handshake with node id through the relay member via. */
void nt_tunnel_initiate_via(struct nt_tunnel *t, struct nt_peer *via, const uint8_t id[32], uint64_t now);
/* p has traffic and no keypair, or a rekey is due: a handshake, at most once per 5 s. */
void nt_tunnel_want_handshake(struct nt_tunnel *t, struct nt_peer *p, uint64_t now);
/* A data frame for an unknown index came straight from `from` (dataplane hook). */
void nt_tunnel_on_unknown_index(struct nt_tunnel *t, const union nt_sockaddr *from, uint64_t now);
/* The handshake frame handler (dataplane.h, nt_dp_frame_fn). */
bool nt_tunnel_on_handshake(void *ctx, uint8_t *msg, size_t len, const union nt_sockaddr *from,
			    struct nt_peer *via, const uint8_t *via_id, uint64_t now);
/* Attempts that timed out, and low-TTL punches to follow at full TTL. */
void nt_tunnel_handshakes_tick(struct nt_tunnel *t, uint64_t now);
/* Observer: member p is about to be freed. */
void nt_tunnel_handshakes_on_gone(void *ctx, struct nt_peer *p);
/* Frees every attempt and the secrets they hold. */
void nt_tunnel_handshakes_clear(struct nt_tunnel *t);

#endif
