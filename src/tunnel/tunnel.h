/* SPDX-License-Identifier: MIT */
/*
 * The tunnel: sessions with members on top of the data plane. It decides whom to handshake
 * with and when (hints, reconnects, rekeys, relays), what a completed handshake becomes (a
 * member, its keypair, its proven path), and what members tell each other on their sessions
 * (ANNOUNCE, PEX, path validation, relaying). It registers with the data plane for the
 * handshake messages and those control types, and tells the layers above of members that
 * join and leave (nt_tunnel_members_observe). Loop thread only.
 *
 *   members.c     who is a member, bounds per source, two-phase removal with observers
 *   handshakes.c  the attempts, initiating, answering, completing
 *   path.c        where a member is reached, and proof that it receives there
 *   hints.c       endpoints worth a handshake, and what each may draw
 *   announce.c    ANNOUNCE, PEX, keepalives
 *   relay.c       relaying for members, and through them
 *   demand.c      sessions on demand: neighbors kept, the rest opened by traffic
 *   neighbors.c   which members are neighbors
 *   tunnel.c      start, stop, the tick that drives the rest, status
 */
#ifndef NT_TUNNEL_H
#define NT_TUNNEL_H

#include "tunnel/demand.h"
#include "tunnel/hints.h"
#include "tunnel/members.h"
#include "tunnel/types.h"

/*
 * Starts the tunnel on host->dp: handshake keys, limits, the configured --peer hints, and its
 * handlers in the data plane. 0 or -errno.
 */
int nt_tunnel_start(struct nt_tunnel *t, const struct nt_tunnel_host *host);
/* Stops every handshake and wipes its secrets (the peers are the data plane's). */
void nt_tunnel_stop(struct nt_tunnel *t);
/* Timers: attempts, keepalives, announcements, rekeys, reconnects, hints, forgetting. */
void nt_tunnel_tick(struct nt_tunnel *t, uint64_t now);
/*
 * Whether id proved itself a member: it completed a handshake with us, or a member we have
 * a live session with names it in its PEX (it has a session with it).
 */
bool nt_tunnel_knows_member(struct nt_tunnel *t, const uint8_t id[32], uint64_t now);
/* Whether any member has a live session with us. */
bool nt_tunnel_has_session(struct nt_tunnel *t, uint64_t now);
/* The tunnel's part of a status: handshake counters, and one entry per member (s->peers). */
int nt_tunnel_status(struct nt_tunnel *t, struct nt_status *s, uint64_t now);

#endif
