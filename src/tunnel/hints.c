// SPDX-License-Identifier: MIT
/*
 * The hint table (hints.h): a fixed array; nothing is allocated.
 */
#include "tunnel/hints.h"

#include <stdlib.h>
#include <string.h>

struct nt_hint *nt_tunnel_hint_find(struct nt_tunnel *t, const union nt_sockaddr *ep)
{
	for (unsigned int i = 0; i < NT_MAX_HINTS; i++)
		if (t->hints[i].used && nt_sockaddr_equal(&t->hints[i].endpoint, ep))
			return &t->hints[i];
	return NULL;
}

bool nt_tunnel_hint_source_is_open(enum nt_hint_source src)
{
	return src == NT_HINT_DHT || src == NT_HINT_MDNS;
}

/*
 * The slot a new hint from src takes when the table is full, or NULL: the one that expires
 * first among those it may replace. Hints from open sources hold at most a quarter of the
 * table and replace only each other, so nothing an outsider announces can push out what the
 * operator configured or a member told us; configured hints are never replaced.
 */
static struct nt_hint *victim_for(struct nt_tunnel *t, enum nt_hint_source src)
{
	bool src_open = nt_tunnel_hint_source_is_open(src);
	struct nt_hint *victim = NULL, *free_slot = NULL;
	unsigned int open = 0;

	for (unsigned int i = 0; i < NT_MAX_HINTS; i++) {
		struct nt_hint *x = &t->hints[i];
		bool x_open = nt_tunnel_hint_source_is_open(x->source);

		if (!x->used) {
			if (!free_slot)
				free_slot = x;
			continue;
		}
		open += x_open;
		if (!x->expires_ms || (src_open && !x_open))
			continue;
		/* A member's or our own hint replaces an open one first. */
		if (!victim || (x_open && !nt_tunnel_hint_source_is_open(victim->source)) ||
		    (x_open == nt_tunnel_hint_source_is_open(victim->source) &&
		     x->expires_ms < victim->expires_ms))
			victim = x;
	}
	if (src_open && open >= NT_MAX_HINTS / 4)
		return victim;
	return free_slot ? free_slot : victim;
}

struct nt_hint *nt_tunnel_hint_add(struct nt_tunnel *t, enum nt_hint_source src,
				   const union nt_sockaddr *ep, const uint8_t *id, uint32_t budget,
				   uint64_t now)
{
	struct nt_hint *h;

	/* Only the operator may name a loopback, multicast or otherwise odd endpoint. */
	if (src != NT_HINT_CONFIG && !nt_sockaddr_is_unicast(ep))
		return NULL;
	h = nt_tunnel_hint_find(t, ep);
	if (!h) {
		h = victim_for(t, src);
		if (!h)
			return NULL;
		memset(h, 0, sizeof(*h));
		h->used = true;
		h->source = src;
		h->endpoint = *ep;
		h->next_try_ms = now;
		h->backoff_ms = 1000;
		h->created_ms = now;
	} else if (nt_tunnel_hint_source_is_open(h->source) && !nt_tunnel_hint_source_is_open(src)) {
		h->source = src; /* vouched for now: out of the open sources' quarter */
	}
	if (id) {
		/*
		 * A member vouched for the id it named here, not for the one named now: a
		 * claim signed with a minted key may list any endpoint (demand.c dials it).
		 * A PEX naming this id sets told_by again after us (announce.c).
		 */
		if (h->id_known && memcmp(h->id, id, 32))
			h->told_by = NULL;
		memcpy(h->id, id, 32);
		h->id_known = true;
	}
	/*
	 * What naming it again allows us to send there, at least one INIT, at most four: an
	 * endpoint nobody has seen answer costs what the input that named it paid for.
	 */
	if (budget == NT_HINT_BUDGET_UNLIMITED || h->budget == NT_HINT_BUDGET_UNLIMITED)
		h->budget = NT_HINT_BUDGET_UNLIMITED;
	else
		h->budget = NT_MIN(h->budget + NT_MAX(budget, (uint32_t)NT_HS_INIT_LEN),
				   4u * NT_HS_INIT_LEN);
	/* Configured endpoints never expire; a discovered one lives on while it is seen. */
	if (src == NT_HINT_CONFIG) {
		h->expires_ms = 0;
		h->source = src;
	} else if (h->source != NT_HINT_CONFIG) {
		h->expires_ms = NT_MAX(h->expires_ms, now + NT_HINT_TTL_MS);
	}
	return h;
}

bool nt_tunnel_hint_is_satisfied(struct nt_tunnel *t, const struct nt_hint *h, uint64_t now)
{
	const struct nt_peer_table *peers = &t->dp->peers;

	if (h->id_known && memcmp(h->id, t->host.id->ed_pk, 32) == 0)
		return true; /* ourselves: never worth a handshake */
	for (unsigned int i = 0; i < peers->count; i++) {
		const struct nt_peer *p = peers->peers[i];

		/* A relayed session does not satisfy a hint: the direct path is still wanted. */
		if (p->dead || !nt_dataplane_peer_is_alive(p, now) || p->via)
			continue;
		if (h->id_known && memcmp(h->id, p->id, 32) == 0)
			return true;
		if (h->id_prefix[0] && !strncmp(h->id_prefix, p->id_short, NT_NODE_ID_SHORT_LEN))
			return true;
		if (p->has_endpoint && nt_sockaddr_equal(&p->endpoint, &h->endpoint))
			return true;
	}
	return false;
}

void nt_tunnel_hints_name(struct nt_tunnel *t, const union nt_sockaddr *ep, const uint8_t id[32])
{
	for (unsigned int i = 0; i < NT_MAX_HINTS; i++) {
		struct nt_hint *h = &t->hints[i];

		if (h->used && nt_sockaddr_equal(&h->endpoint, ep)) {
			memcpy(h->id, id, 32);
			h->id_known = true;
		}
	}
}

unsigned int nt_tunnel_hints_told_by(struct nt_tunnel *t, const struct nt_peer *p)
{
	unsigned int n = 0;

	for (unsigned int i = 0; i < NT_MAX_HINTS; i++)
		n += t->hints[i].used && t->hints[i].told_by == p;
	return n;
}

bool nt_tunnel_hints_vouch(struct nt_tunnel *t, const uint8_t id[32], uint64_t now)
{
	for (unsigned int i = 0; i < NT_MAX_HINTS; i++) {
		const struct nt_hint *h = &t->hints[i];

		if (h->used && h->id_known && h->told_by && !memcmp(h->id, id, 32) &&
		    nt_dataplane_peer_is_alive(h->told_by, now))
			return true;
	}
	return false;
}

static int id_cmp(const void *a, const void *b)
{
	return memcmp(a, b, 32);
}

size_t nt_tunnel_hints_vouched(struct nt_tunnel *t, uint64_t now, uint8_t (*ids)[32])
{
	size_t n = 0, kept = 0;

	for (unsigned int i = 0; i < NT_MAX_HINTS; i++) {
		const struct nt_hint *h = &t->hints[i];

		if (h->used && h->id_known && h->told_by && nt_dataplane_peer_is_alive(h->told_by, now))
			memcpy(ids[n++], h->id, 32);
	}
	qsort(ids, n, 32, id_cmp);
	for (size_t i = 0; i < n; i++)
		if (!kept || memcmp(ids[kept - 1], ids[i], 32))
			memmove(ids[kept++], ids[i], 32);
	return kept;
}

bool nt_tunnel_hints_vouched_has(const uint8_t (*ids)[32], size_t n, const uint8_t id[32])
{
	return bsearch(id, ids, n, 32, id_cmp) != NULL;
}

void nt_tunnel_hints_on_gone(void *ctx, struct nt_peer *p)
{
	struct nt_tunnel *t = ctx;

	for (unsigned int i = 0; i < NT_MAX_HINTS; i++)
		if (t->hints[i].told_by == p)
			t->hints[i].told_by = NULL;
}
