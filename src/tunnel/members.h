/* SPDX-License-Identifier: MIT */
/*
 * The members' lifecycle, as the tunnel decides it: a peer entry is made only for an identity
 * that completed a handshake with us, a source address brings a bounded number of them, a
 * full table gives up the least useful one, and one that left is forgotten after a while.
 * Removal has two phases: a member is marked dead (no lookup finds it), and at the end of the
 * tick every part that pointed at it (the observers) lets go before it is freed.
 */
#ifndef NT_TUNNEL_MEMBERS_H
#define NT_TUNNEL_MEMBERS_H

#include "tunnel/types.h"

/*
 * The member for a node ID that just completed a handshake from `from` (NULL: through a
 * relay), made if new (observers told); NULL when there is no room for it. via: NULL, or the
 * relays the handshake came through (its last message's and its attempt's, either NULL):
 * the caller still uses them, so neither is given up to make room.
 */
struct nt_peer *nt_tunnel_member_get(struct nt_tunnel *t, const uint8_t id[32],
				     const union nt_sockaddr *from, struct nt_peer *const via[2]);
/* Marks p dead: freed at the end of the tick (nt_tunnel_members_reap_dead). */
void nt_tunnel_member_kill(struct nt_tunnel *t, struct nt_peer *p);
/* Tells the observers of the dead members, then frees them. */
void nt_tunnel_members_reap_dead(struct nt_tunnel *t);
/* Kills members gone long enough (no session, no address, nothing in flight). */
void nt_tunnel_members_reap_idle(struct nt_tunnel *t, uint64_t now);
/*
 * Registers an observer of new members (joined) or of members about to be freed (gone).
 * 0, or -ENOSPC past NT_TUNNEL_OBSERVERS: an observer that is not told would keep a
 * pointer to a freed member, so the caller must not go on.
 */
int nt_tunnel_members_observe(struct nt_tunnel *t, bool joined, nt_tunnel_member_fn *fn, void *ctx);
/* The member whose proven endpoint is ep, or NULL. */
struct nt_peer *nt_tunnel_member_at(struct nt_tunnel *t, const union nt_sockaddr *ep);

#endif
