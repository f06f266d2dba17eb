// SPDX-License-Identifier: MIT
/*
 * The route rebuild (claims.c calls it after a batch of ledger changes): the winning
 * machine claims become the data plane's route table, with the endpoints each claim names
 * as hints for members we have a session with, the subnet routes they offer
 * (claims_routes.c), and the neighbors we keep sessions with, chosen among the proven
 * members that hold an address (tunnel/neighbors.h). Loop thread only, as claims.c.
 *
 * A rebuild reads every claim: what it does for each must not depend on the size of any
 * other table, so the ids hints vouch for are read once per rebuild (rc_proven).
 */
#include "ledger/claims_impl.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/log.h"
#include "ledger/claims.h"
#include "ledger/ledger.h"
#include "ledger/ledger_entry.h"
#include "tunnel/hints.h"

#ifndef NT_LEDGER_HINTS_EVERY_MS
#define NT_LEDGER_HINTS_EVERY_MS 60000 /* one owner's claimed endpoints, read at most this often */
#endif

/*
 * The host endpoints a member put in its claim are candidates too: members behind the same
 * NAT reach each other only there, since Linux NATs do not hairpin. Only for a member that
 * proved itself in a handshake (p), at most four, only unicast addresses, and at most once a
 * minute per member: a claim cannot aim our handshakes at a third party.
 */
static void add_endpoint_hints(struct nt_claims *cl, struct nt_peer *p, const struct nt_ledger_entry *e)
{
	/* 4 times the claim's size, shared by its (at most four) endpoints. */
	uint32_t budget = (uint32_t)(NT_LEDGER_WIRE_FIXED + e->bucket_len + e->key_len + e->value_len);
	uint64_t now = nt_now_ms();
	struct nt_contact c;

	if (p->ledger_hints_ms && now - p->ledger_hints_ms < NT_LEDGER_HINTS_EVERY_MS)
		return;
	p->ledger_hints_ms = now;
	nt_claims_contact(e, &c);
	for (unsigned int i = 0; i < c.n_eps; i++)
		nt_tunnel_hint_add(cl->host.tunnel, NT_HINT_LEDGER, &c.eps[i], e->owner, budget, now);
}

/* Rebuilds the route table from the winning claims. */
struct rebuild_ctx {
	struct nt_claims *cl;
	unsigned int routes;
	/* The proven members that hold an address: neighbors and relays are chosen among them. */
	uint8_t (*ids)[32];
	const struct nt_ledger_entry **entries; /* valid during the rebuild only */
	char (*keys)[48];
	size_t n, cap;
	struct nt_claims_offers offers; /* every proven member's subnet routes, ours too */
	/*
	 * The ids that hints vouch for, read once for the whole rebuild (sorted), so that
	 * proving each claim's owner costs a lookup and a binary search, not a pass over the
	 * hint table: O(N log H) for N claims instead of O(N H). NULL: ask owner_is_proven.
	 */
	uint8_t (*vouched)[32];
	size_t n_vouched;
};

/* owner_is_proven() as of the start of this rebuild. */
static bool rc_proven(const struct rebuild_ctx *rc, const uint8_t owner[32])
{
	const struct nt_claims *cl = rc->cl;

	if (!rc->vouched)
		return nt_claims_owner_is_proven(rc->cl, owner);
	return !memcmp(owner, cl->host.id->ed_pk, 32) || nt_peer_lookup(&cl->host.dp->peers, owner) ||
	       nt_tunnel_hints_vouched_has((const uint8_t(*)[32])rc->vouched, rc->n_vouched, owner);
}

static void note_owner(struct rebuild_ctx *rc, const struct nt_ledger_entry *e)
{
	if (rc->n == rc->cap) {
		size_t cap = rc->cap ? 2 * rc->cap : 64;
		uint8_t (*ids)[32] = realloc(rc->ids, cap * 32);
		const struct nt_ledger_entry **entries;
		char (*keys)[48];

		if (!ids)
			return;
		rc->ids = ids;
		entries = realloc(rc->entries, cap * sizeof(*entries));
		if (!entries)
			return;
		rc->entries = entries;
		keys = realloc(rc->keys, cap * sizeof(*keys));
		if (!keys)
			return;
		rc->keys = keys;
		rc->cap = cap;
	}
	memcpy(rc->ids[rc->n], e->owner, 32);
	snprintf(rc->keys[rc->n], sizeof(rc->keys[rc->n]), "%.*s", (int)e->key_len, e->key);
	rc->entries[rc->n++] = e;
}

static bool add_claim_route(void *arg, const struct nt_ledger_entry *e)
{
	struct rebuild_ctx *rc = arg;
	struct nt_claims *cl = rc->cl;
	struct nt_cidr c;
	struct nt_peer *p;
	bool proven;

	if (e->flags)
		return true;
	/* An address in our prefixes (anything else routes nowhere). */
	if (!nt_claims_key_in_prefixes(cl, e, &c))
		return true;
	/* A key minted for the purpose must not draw a LAN's traffic: proven owners only. */
	proven = rc_proven(rc, e->owner);
	if (proven)
		nt_claims_routes_collect(cl, &rc->offers, e);
	if (!memcmp(e->owner, cl->host.id->ed_pk, 32))
		return true;
	/*
	 * Neighbors and relays are dialled unasked: only members someone proved (a handshake
	 * with us, or a PEX from a member we have a session with) may be chosen, or claims
	 * signed with minted keys would aim our INITs at any address they name.
	 */
	if (proven)
		note_owner(rc, e);
	p = nt_peer_lookup(&cl->host.dp->peers, e->owner);
	if (!p)
		return true;
	add_endpoint_hints(cl, p, e);
	if (nt_route_add(&cl->host.dp->route, c.family, c.addr, p) == 0) {
		rc->routes++;
		if (p->n_addresses < NT_MAX_ADDRESSES)
			p->addresses[p->n_addresses++] = c;
	}
	return true;
}

/*
 * The members we keep sessions with (tunnel/neighbors.h), chosen among those that hold an
 * address. With fewer than that many others, the choice is not complete: every session stays.
 */
static void choose_neighbors(struct nt_claims *cl, struct rebuild_ctx *rc)
{
	struct nt_tunnel *t = cl->host.tunnel;
	struct nt_contact c[NT_NEIGHBORS_MAX];
	size_t out[NT_NEIGHBORS_MAX];
	unsigned int m;

	m = nt_neighbors_pick(cl->host.id->ed_pk, (const uint8_t(*)[32])rc->ids, rc->n, t->k_neighbors, out);
	for (unsigned int i = 0; i < m; i++)
		nt_claims_contact(rc->entries[out[i]], &c[i]);
	nt_tunnel_set_neighbors(t, c, m, m >= t->k_neighbors, nt_now_ms());
}

void nt_claims_rebuild_routes(struct nt_claims *cl)
{
	struct rebuild_ctx rc = { .cl = cl };
	uint8_t hash[NT_LEDGER_HASH_LEN];
	char hex[17];

	rc.vouched = malloc((size_t)NT_MAX_HINTS * 32);
	if (rc.vouched)
		rc.n_vouched = nt_tunnel_hints_vouched(cl->host.tunnel, nt_now_ms(), rc.vouched);
	nt_route_clear(&cl->host.dp->route);
	nt_dataplane_changed(cl->host.dp);
	for (unsigned int i = 0; i < cl->host.dp->peers.count; i++)
		cl->host.dp->peers.peers[i]->n_addresses = 0;
	nt_ledger_foreach(cl->ledger, NT_LEDGER_MACHINES, add_claim_route, &rc);
	cl->routes_dirty = false;
	rc.routes += nt_claims_routes_apply(cl, &rc.offers);
	choose_neighbors(cl, &rc);
	free(rc.vouched);
	free(rc.entries);
	free(cl->owners);
	free(cl->owner_keys);
	cl->owners = rc.ids;
	cl->owner_keys = rc.keys;
	cl->n_owners = rc.n;
	/* The state hash sorts every entry's hash: only for someone who reads it. */
	if (nt_log_is_debug(NT_DBG_LEDGER)) {
		nt_ledger_state_hash(cl->ledger, hash);
		nt_hex_encode(hex, hash, 8);
		log_debug(NT_DBG_LEDGER, "ledger: %u routes from the claims, state %s", rc.routes, hex);
	}
}

