// SPDX-License-Identifier: MIT
/*
 * Building, searching and retiring the workers' snapshots (snapshot.h). The loop builds one
 * in a single allocation; workers only read it.
 */
#include "dataplane/snapshot.h"

#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

static int snap_key_cmp(const void *a, const void *b)
{
	const struct nt_snap_key *x = a, *y = b;

	return x->index < y->index ? -1 : x->index > y->index;
}

static int snap_route_cmp(const void *a, const void *b)
{
	const struct nt_snap_route *x = a, *y = b;

	if (x->family != y->family)
		return x->family < y->family ? -1 : 1;
	if (x->plen != y->plen)
		return x->plen < y->plen ? -1 : 1;
	return memcmp(x->addr, y->addr, 16);
}

struct nt_snapshot *nt_snapshot_build(struct nt_peer_table *peers, const struct nt_route *route,
				      uint64_t gen, uint64_t now)
{
	unsigned int npeers = peers->count, nkeys = 0, nroutes = 0;
	struct nt_snapshot *s;
	size_t size;

	for (uint32_t i = 0; i <= route->mask; i++)
		nroutes += route->slots[i].family != 0;
	size = sizeof(*s) + npeers * sizeof(struct nt_snap_peer) + 3 * npeers * sizeof(struct nt_snap_key) +
	       nroutes * sizeof(struct nt_snap_route);
	s = calloc(1, size);
	if (!s)
		return NULL;
	s->gen = gen;
	s->peers = (struct nt_snap_peer *)(s + 1);
	s->keys = (struct nt_snap_key *)(s->peers + npeers);
	s->routes = (struct nt_snap_route *)(s->keys + 3 * npeers);
	for (unsigned int i = 0; i < npeers; i++) {
		struct nt_peer *p = peers->peers[i];
		struct nt_snap_peer *e = &s->peers[i];
		struct nt_keypair *const kps[3] = { p->session.previous, p->session.current,
						    p->session.next };

		p->snap_slot = i;
		e->peer = p;
		memcpy(e->id, p->id, 32);
		e->endpoint = p->endpoint;
		e->direct = p->has_endpoint && !p->via;
		e->send_kp = nt_session_keypair_for_send(&p->session, now);
		for (unsigned int r = 0; r < 3; r++)
			if (kps[r])
				s->keys[nkeys++] = (struct nt_snap_key){ kps[r]->local_index, (uint16_t)i,
								      (uint8_t)r, kps[r] };
	}
	s->npeers = npeers;
	s->nkeys = nkeys;
	for (uint32_t i = 0; i <= route->mask; i++) {
		const struct nt_route_slot *r = &route->slots[i];
		const struct nt_peer *p = r->owner;

		if (!r->family)
			continue;
		s->routes[s->nroutes].family = r->family;
		s->routes[s->nroutes].plen = r->plen;
		memcpy(s->routes[s->nroutes].addr, r->addr, 16);
		s->routes[s->nroutes].peer = (uint16_t)p->snap_slot;
		s->nroutes++;
	}
	memcpy(s->lens, route->lens, sizeof(s->lens));
	memcpy(s->n_lens, route->n_lens, sizeof(s->n_lens));
	qsort(s->keys, s->nkeys, sizeof(s->keys[0]), snap_key_cmp);
	qsort(s->routes, s->nroutes, sizeof(s->routes[0]), snap_route_cmp);
	return s;
}

const struct nt_snap_key *nt_snapshot_find_key(const struct nt_snapshot *s, uint32_t index)
{
	struct nt_snap_key k = { .index = index };

	return bsearch(&k, s->keys, s->nkeys, sizeof(k), snap_key_cmp);
}

int nt_snapshot_find_route(const struct nt_snapshot *s, int family, const uint8_t *addr)
{
	unsigned int host = family == AF_INET ? 32 : 128, f = family == AF_INET ? 0 : 1;
	struct nt_snap_route k = { .family = (uint8_t)family, .plen = (uint8_t)host };
	const struct nt_snap_route *r;

	memcpy(k.addr, addr, family == AF_INET ? 4 : 16);
	r = bsearch(&k, s->routes, s->nroutes, sizeof(k), snap_route_cmp);
	/* Then the advertised subnets, longest first, as nt_route_lookup() does. */
	for (unsigned int i = 0; !r && i < s->n_lens[f]; i++) {
		k.plen = s->lens[f][i];
		nt_route_mask(family, addr, k.plen, k.addr);
		r = bsearch(&k, s->routes, s->nroutes, sizeof(k), snap_route_cmp);
	}
	return r ? r->peer : -1;
}

void nt_snapshot_fold(struct nt_snapshot *s)
{
	for (unsigned int i = 0; i < s->npeers; i++) {
		struct nt_snap_peer *e = &s->peers[i];
		struct nt_peer *p = e->peer;
		uint64_t tx = NT_RELAXED_TAKE(e->tx_bytes), txp = NT_RELAXED_TAKE(e->tx_packets);
		uint64_t rx = NT_RELAXED_TAKE(e->rx_bytes), rxp = NT_RELAXED_TAKE(e->rx_packets);
		uint64_t rx_ms = NT_RELAXED_LOAD(e->last_rx_ms), tx_ms = NT_RELAXED_LOAD(e->last_tx_ms);

		if (!p)
			continue;
		p->tx_bytes += tx;
		p->tx_packets += txp;
		p->rx_bytes += rx;
		p->rx_packets += rxp;
		/* Only data frames reach a worker's counters; keepalives go to the loop. */
		nt_session_note_io(&p->session, rx_ms, rx_ms, tx_ms);
		if (rx_ms > p->last_direct_rx_ms)
			p->last_direct_rx_ms = rx_ms;
	}
}

