// SPDX-License-Identifier: MIT
/*
 * Members: made after a handshake, bounded per source address, forgotten in two phases
 * (members.h). The peer table itself is the data plane's (dataplane/peer.h).
 */
#include "tunnel/members.h"

#include <errno.h>
#include <string.h>

#include "core/log.h"

int nt_tunnel_members_observe(struct nt_tunnel *t, bool joined, nt_tunnel_member_fn *fn, void *ctx)
{
	unsigned int *n = joined ? &t->n_joined : &t->n_gone;

	if (*n >= NT_TUNNEL_OBSERVERS)
		return -ENOSPC;
	if (joined) {
		t->joined[*n].fn = fn;
		t->joined[*n].ctx = ctx;
	} else {
		t->gone[*n].fn = fn;
		t->gone[*n].ctx = ctx;
	}
	(*n)++;
	return 0;
}

struct nt_peer *nt_tunnel_member_at(struct nt_tunnel *t, const union nt_sockaddr *ep)
{
	for (unsigned int i = 0; i < t->dp->peers.count; i++) {
		struct nt_peer *p = t->dp->peers.peers[i];

		if (!p->dead && p->has_endpoint && nt_sockaddr_equal(&p->endpoint, ep))
			return p;
	}
	return NULL;
}

void nt_tunnel_member_kill(struct nt_tunnel *t, struct nt_peer *p)
{
	if (p->dead)
		return;
	p->dead = true;
	t->n_dead++;
}

/* Everything that points at dead member p lets go (attempts, hints, relays, gossip), then it goes. */
static void bury(struct nt_tunnel *t, struct nt_peer *p)
{
	struct nt_peer_table *peers = &t->dp->peers;

	for (unsigned int k = 0; k < t->n_gone; k++)
		t->gone[k].fn(t->gone[k].ctx, p);
	for (unsigned int k = 0; k < peers->count; k++) {
		struct nt_peer *o = peers->peers[k];

		if (o->via == p) {
			o->via = NULL;
			o->path = NT_PATH_NONE;
		}
	}
	t->n_dead--;
	nt_dataplane_peer_free(t->dp, p); /* swaps the last peer into p's slot */
}

void nt_tunnel_members_reap_dead(struct nt_tunnel *t)
{
	struct nt_peer_table *peers = &t->dp->peers;

	for (unsigned int i = 0; i < peers->count && t->n_dead;) {
		if (peers->peers[i]->dead)
			bury(t, peers->peers[i]);
		else
			i++;
	}
	t->n_dead = 0;
}

void nt_tunnel_members_reap_idle(struct nt_tunnel *t, uint64_t now)
{
	for (unsigned int i = 0; i < t->dp->peers.count; i++) {
		struct nt_peer *p = t->dp->peers.peers[i];
		uint64_t last = NT_MAX(NT_MAX(p->created_ms, p->session.last_received_ms),
				       p->connected_since_ms);

		if (p->dead || nt_dataplane_peer_is_alive(p, now) || p->n_addresses || p->handshake ||
		    p->staged_count || now - last < t->peer_idle_ms)
			continue;
		log_info("peer %s: gone for %llu min, forgotten", p->id_short,
			 (unsigned long long)((now - last) / 60000));
		nt_tunnel_member_kill(t, p);
	}
}

/* Whether two endpoints are one source: the same IPv4 address, or the same IPv6 /64. */
static bool same_source(const union nt_sockaddr *a, const union nt_sockaddr *b)
{
	if (a->sa.sa_family != b->sa.sa_family)
		return false;
	if (a->sa.sa_family == AF_INET)
		return a->in4.sin_addr.s_addr == b->in4.sin_addr.s_addr;
	return a->sa.sa_family == AF_INET6 &&
	       memcmp(&a->in6.sin6_addr, &b->in6.sin6_addr,
		      IN6_IS_ADDR_V4MAPPED(&a->in6.sin6_addr) ? 16 : 8) == 0;
}

/*
 * Room for a new member that completed a handshake from `from` (NULL: through a relay).
 * One source address holds NT_PEERS_PER_SOURCE members at most, so identities one member
 * mints cannot fill the table; a full table gives up the member that routes nothing and
 * carried the least traffic (nobody's address, keepalives only: minted ones first), freed
 * at once. The handshake's relays (via) are not given up: the frame being handled came
 * through one (the data plane and the handshake still use it), and the attempt being
 * completed runs through the other (its observer would free the attempt).
 */
static bool room(struct nt_tunnel *t, const union nt_sockaddr *from, struct nt_peer *const via[2])
{
	struct nt_peer_table *peers = &t->dp->peers;
	struct nt_peer *victim = NULL;
	unsigned int same = 0;

	for (unsigned int i = 0; i < peers->count; i++) {
		struct nt_peer *p = peers->peers[i];

		if (from && p->has_endpoint && same_source(&p->endpoint, from))
			same++;
		if (p->dead || p->n_addresses || p->handshake || (via && (p == via[0] || p == via[1])))
			continue;
		if (!victim || p->rx_bytes + p->tx_bytes < victim->rx_bytes + victim->tx_bytes)
			victim = p;
	}
	if (same >= NT_PEERS_PER_SOURCE)
		return false;
	if (peers->count < peers->cap)
		return true;
	if (!victim)
		return false;
	log_info("peer table full: %s (no address, least traffic) makes room", victim->id_short);
	nt_tunnel_member_kill(t, victim);
	bury(t, victim);
	return true;
}

struct nt_peer *nt_tunnel_member_get(struct nt_tunnel *t, const uint8_t id[32],
				     const union nt_sockaddr *from, struct nt_peer *const via[2])
{
	struct nt_peer *p = nt_peer_lookup(&t->dp->peers, id);

	if (p && !p->dead)
		return p;
	if (p || !room(t, from, via))
		return NULL; /* a dead one is freed at the end of the tick; it may come back after */
	p = nt_dataplane_peer_new(t->dp, id);
	if (!p)
		return NULL;
	/* A member proven now: its claims take effect, what was refused may pass. */
	for (unsigned int k = 0; k < t->n_joined; k++)
		t->joined[k].fn(t->joined[k].ctx, p);
	return p;
}
