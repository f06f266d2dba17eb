// SPDX-License-Identifier: MIT
/*
 * Sessions on demand (demand.h): the neighbor list, the pending packets of members being
 * dialled, and the per-member decision of which sessions are kept alive.
 */
#include "tunnel/demand.h"

#include <ifaddrs.h>
#include <stdlib.h>
#include <string.h>

#include "core/log.h"
#include "tunnel/handshakes.h"
#include "tunnel/hints.h"
#include "tunnel/relay.h"

static bool is_neighbor_id(const struct nt_tunnel *t, const uint8_t id[32])
{
	for (unsigned int i = 0; i < t->n_neighbors; i++)
		if (!memcmp(t->neighbors[i].id, id, 32))
			return true;
	return false;
}

/* A member the operator named with --peer (the hint at its address has learnt who is there). */
static bool is_pinned(const struct nt_tunnel *t, const uint8_t id[32])
{
	for (unsigned int i = 0; i < NT_MAX_HINTS; i++) {
		const struct nt_hint *h = &t->hints[i];

		if (h->used && h->source == NT_HINT_CONFIG && h->id_known && !memcmp(h->id, id, 32))
			return true;
	}
	return false;
}

static struct nt_pending *pending_of(struct nt_tunnel *t, const uint8_t id[32])
{
	for (unsigned int i = 0; i < NT_PENDING; i++)
		if (t->pending[i].used && !memcmp(t->pending[i].id, id, 32))
			return &t->pending[i];
	return NULL;
}

static void pending_free(struct nt_pending *q)
{
	free(q->buf);
	memset(q, 0, sizeof(*q));
}

static unsigned int live_sessions(struct nt_tunnel *t, uint64_t now)
{
	unsigned int n = 0;

	for (unsigned int i = 0; i < t->dp->peers.count; i++)
		n += nt_dataplane_peer_is_alive(t->dp->peers.peers[i], now);
	return n;
}

/*
 * One hint's turn: endpoints learnt from other members may sit behind a NAT (punch: two
 * INITs). Beyond the operator's own, an endpoint that never answered gets what its budget
 * pays for, and no address more than one such INIT a second.
 */
void nt_tunnel_hint_try(struct nt_tunnel *t, struct nt_hint *h, uint64_t now)
{
	bool punch = h->source == NT_HINT_PEX;
	uint32_t cost = (punch ? 2 : 1) * NT_HS_INIT_LEN;
	bool metered = h->budget != NT_HINT_BUDGET_UNLIMITED;

	if (metered && h->budget < cost && punch) {
		punch = false;
		cost = NT_HS_INIT_LEN;
	}
	if (metered && (h->budget < cost || !nt_srclimit_allow(&t->init_limit, &h->endpoint, now))) {
		nt_tunnel_relay_if_stuck(t, h, now);
		h->next_try_ms = now + nt_tunnel_jitter(h->backoff_ms);
		return;
	}
	if (nt_tunnel_initiate(t, &h->endpoint, NULL, now, punch,
			       nt_tunnel_hint_source_is_open(h->source)) && metered)
		h->budget -= cost;
	nt_tunnel_relay_if_stuck(t, h, now);
	h->next_try_ms = now + nt_tunnel_jitter(h->backoff_ms);
	h->backoff_ms = h->backoff_ms * 2 > NT_HINT_BACKOFF_MAX_MS ? NT_HINT_BACKOFF_MAX_MS :
								     h->backoff_ms * 2;
}

bool nt_tunnel_wants(struct nt_tunnel *t, struct nt_peer *p, uint64_t now)
{
	return p->neighbor || p->keeps_us ||
	       (p->last_data_ms && now - p->last_data_ms < t->idle_session_ms) ||
	       p->staged_count || pending_of(t, p->id);
}

bool nt_tunnel_hint_wanted(struct nt_tunnel *t, const struct nt_hint *h, uint64_t now)
{
	unsigned int live;

	if (h->source == NT_HINT_CONFIG)
		return true;
	if (h->id_known && (is_neighbor_id(t, h->id) || pending_of(t, h->id)))
		return true;
	/* Too few sessions to learn the members from: every endpoint we heard of may help. */
	live = live_sessions(t, now);
	return live < NT_MIN_SESSIONS || (!t->neighbors_known && live < t->k_neighbors);
}

void nt_tunnel_dial(struct nt_tunnel *t, const struct nt_contact *c, uint64_t now)
{
	struct nt_peer *p = nt_peer_lookup(&t->dp->peers, c->id);

	if (!memcmp(c->id, t->host.id->ed_pk, 32))
		return;
	if (p && nt_dataplane_peer_is_alive(p, now))
		return;
	/* Where it answered us before, then every endpoint its claim lists (one INIT each now). */
	if (p && p->has_endpoint && p->ep_proven && !p->handshake)
		nt_tunnel_initiate(t, &p->endpoint, p, now, false, false);
	for (unsigned int i = 0; i < c->n_eps && i < NT_CONTACT_EPS; i++) {
		struct nt_hint *h = nt_tunnel_hint_add(t, NT_HINT_LEDGER, &c->eps[i], c->id,
						       4 * NT_HS_INIT_LEN, now);

		if (h && !nt_tunnel_hint_is_satisfied(t, h, now))
			nt_tunnel_hint_try(t, h, now);
	}
}

void nt_tunnel_dial_for(struct nt_tunnel *t, const struct nt_contact *c, const struct nt_contact *via,
			unsigned int n_via, uint64_t now)
{
	struct nt_pending *q = pending_of(t, c->id);

	if (q) {
		q->n_via = 0;
		for (unsigned int i = 0; i < n_via && q->n_via < NT_PENDING_VIA; i++)
			if (memcmp(via[i].id, t->host.id->ed_pk, 32) && memcmp(via[i].id, c->id, 32))
				q->via[q->n_via++] = via[i];
	}
	nt_tunnel_dial(t, c, now);
}

/*
 * A dial that has not answered directly: a relayed handshake through one of the member's
 * neighbors we have a session with, or a dial of that neighbor first.
 */
static void relay_pending(struct nt_tunnel *t, struct nt_pending *q, uint64_t now)
{
	struct nt_peer *target = nt_peer_lookup(&t->dp->peers, q->id);

	if (!q->n_via || now - q->started_ms < NT_RELAY_AFTER_MS || now < q->relay_ms ||
	    (target && nt_dataplane_peer_is_alive(target, now)))
		return;
	q->relay_ms = now + 2000;
	/* Relaying takes a little longer: the packets wait for it, three times as long at most. */
	q->expires_ms = NT_MAX(q->expires_ms, NT_MIN(now + NT_PENDING_MS, q->started_ms + 3 * NT_PENDING_MS));
	for (unsigned int i = 0; i < q->n_via; i++) {
		struct nt_peer *r = nt_peer_lookup(&t->dp->peers, q->via[i].id);

		if (r && !r->via && nt_dataplane_peer_is_alive(r, now)) {
			nt_tunnel_initiate_via(t, r, q->id, now);
			return;
		}
	}
	for (unsigned int i = 0; i < q->n_via; i++)
		nt_tunnel_dial(t, &q->via[i], now);
}

void nt_tunnel_set_neighbors(struct nt_tunnel *t, const struct nt_contact *c, unsigned int n,
			     bool complete, uint64_t now)
{
	if (n > NT_NEIGHBORS_MAX)
		n = NT_NEIGHBORS_MAX;
	memcpy(t->neighbors, c, n * sizeof(*c));
	t->n_neighbors = n;
	t->neighbors_known = complete;
	for (unsigned int i = 0; i < t->dp->peers.count; i++) {
		struct nt_peer *p = t->dp->peers.peers[i];

		p->neighbor = !complete || is_neighbor_id(t, p->id) || is_pinned(t, p->id);
		/* It counts on us to keep the session: tell it we no longer do, at once. */
		if (!p->neighbor && p->told_keep)
			p->announce_due_ms = 0;
	}
	/* Dialled from the next tick: this may run inside a handshake's completion. */
	(void)now;
	t->redial_ms = 0;
}

bool nt_tunnel_pend(struct nt_tunnel *t, const uint8_t id[32], const uint8_t *pkt, size_t len,
		    uint64_t now, bool *fresh)
{
	struct nt_pending *q = pending_of(t, id);
	size_t slot = (size_t)t->host.opts->mtu + 64;

	*fresh = !q;
	if (len > slot)
		return false;
	for (unsigned int i = 0; !q && i < NT_PENDING; i++) {
		if (t->pending[i].used)
			continue;
		q = &t->pending[i];
		q->buf = malloc(NT_PENDING_PKTS * slot);
		if (!q->buf)
			return false;
		q->used = true;
		q->slot = slot;
		memcpy(q->id, id, 32);
		q->started_ms = now;
		q->expires_ms = now + NT_PENDING_MS;
	}
	if (!q)
		return false;
	if (q->count == NT_PENDING_PKTS)
		return false; /* the first packets are what a dial needs; later ones are retried */
	memcpy(q->buf + q->count * q->slot, pkt, len);
	q->len[q->count++] = (uint16_t)len;
	return true;
}

void nt_tunnel_demand_on_joined(void *ctx, struct nt_peer *p)
{
	struct nt_tunnel *t = ctx;
	struct nt_pending *q = pending_of(t, p->id);

	p->neighbor = !t->neighbors_known || is_neighbor_id(t, p->id) || is_pinned(t, p->id);
	if (!q)
		return;
	/* Sent as soon as the session has keys (the initiator's are there when this returns). */
	for (unsigned int i = 0; i < q->count; i++)
		nt_peer_stage(p, q->buf + i * q->slot, q->len[i]);
	p->last_data_ms = nt_now_ms();
	pending_free(q);
}

/*
 * Only a neighbor's session is kept open with no traffic, and keepalives are for the NAT
 * mappings on its path: a neighbor we reach directly on one of our own links has none
 * between us, and its session stays up on the rekeys alone.
 */
static bool needs_keepalive(const struct nt_tunnel *t, const struct nt_peer *p)
{
	if (!p->neighbor)
		return false;
	return !t->links || p->via || !p->has_endpoint || !nt_sockaddr_on_link(t->links, &p->endpoint);
}

void nt_tunnel_demand_tick(struct nt_tunnel *t, uint64_t now)
{
	if (now >= t->links_ms) {
		t->links_ms = now + NT_LINKS_MS;
		if (t->links)
			freeifaddrs(t->links);
		if (getifaddrs(&t->links) < 0)
			t->links = NULL;
	}
	for (unsigned int i = 0; i < NT_PENDING; i++) {
		struct nt_pending *q = &t->pending[i];

		if (q->used && now >= q->expires_ms) {
			for (unsigned int k = 0; k < q->count; k++)
				nt_dataplane_drop(t->dp, NT_DROP_NO_ROUTE);
			pending_free(q);
		} else if (q->used) {
			relay_pending(t, q, now);
		}
	}
	for (unsigned int i = 0; i < t->dp->peers.count; i++) {
		struct nt_peer *p = t->dp->peers.peers[i];
		uint64_t mark = p->rx_packets + p->tx_packets;

		if (mark != p->data_mark) {
			p->data_mark = mark;
			p->last_data_ms = now;
		}
		p->session.persistent_keepalive_ms = needs_keepalive(t, p) ? NT_PERSISTENT_KEEPALIVE_MS : 0;
	}
	if (now >= t->redial_ms) {
		t->redial_ms = now + nt_tunnel_jitter(NT_NEIGHBOR_REDIAL_MS);
		for (unsigned int i = 0; i < t->n_neighbors; i++)
			nt_tunnel_dial(t, &t->neighbors[i], now);
	}
}

void nt_tunnel_demand_clear(struct nt_tunnel *t)
{
	for (unsigned int i = 0; i < NT_PENDING; i++)
		if (t->pending[i].used)
			pending_free(&t->pending[i]);
	t->n_neighbors = 0;
	if (t->links)
		freeifaddrs(t->links);
	t->links = NULL;
}
