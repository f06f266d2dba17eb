// SPDX-License-Identifier: MIT
/*
 * News in the gossip engine (docs/ledger.md §3): our own changes, pushed to every peer, and
 * what a member learns, forwarded once. A member has a handful of peers (its neighbors,
 * docs/scale.md), so forwarding every entry to each of them would make every member
 * receive every change once from each neighbor: with leases renewed by every member, that
 * is the one cost of gossip that grows with the network. So a forwarded batch goes whole
 * to push_eager peers (one) and as an IHAVE of its items (20 bytes an entry) to the others
 * (up to push_fanout in all); a peer that lacks an item asks for it (WANT) and forwards it
 * in turn when it comes. A member then receives a change about once, plus an IHAVE from
 * each other neighbor, and one round trip more per hop.
 *
 * An IHAVE costs its sender nothing it did not prove: what we ask for counts against the
 * same per-peer budget as what a SUMMARY makes us ask for (what we may check a second),
 * and the entries it brings are checked like any others.
 */
#include "ledger/gossip.h"
#include "ledger/gossip_impl.h"

#include <string.h>

#include "core/util.h"

/* The slot of an announced item (id and version), or -1. */
static int asked_find(const struct nt_gossip *g, const uint8_t *it)
{
	for (int i = 0; i < NT_GOSSIP_ASKED; i++)
		if (g->asked[i].at && !memcmp(g->asked[i].item, it, 16))
			return i;
	return -1;
}

/*
 * Whether (id, version) came from src because an IHAVE announced it: src is the peer we
 * asked for it last. Had anyone announced it, an old entry that reaches us another way (what
 * a joining member pulls) would travel on as news at the word of a peer that never sent it.
 */
static bool was_announced(const struct nt_gossip *g, uint64_t src, uint64_t id, uint64_t version)
{
	uint8_t it[16];
	int i;

	nt_put_be64(it, id);
	nt_put_be64(it + 8, version);
	i = asked_find(g, it);
	return i >= 0 && g->asked[i].asked_of == src;
}

static void retry_after(struct nt_gossip *g, uint64_t at)
{
	g->retry_at = NT_MIN(g->retry_at, at + NT_GOSSIP_ASK_AGAIN_MS);
}

/* How many slots still waiting were taken for the items this peer announced first. */
static uint32_t slots_owned(const struct nt_gossip *g, uint64_t owner)
{
	uint32_t n = 0;

	for (int i = 0; i < NT_GOSSIP_ASKED; i++)
		n += g->asked[i].at && g->asked[i].tries < NT_GOSSIP_ASK_TRIES &&
		     g->asked[i].owner == owner;
	return n;
}

/*
 * A slot for an item p announced first: an empty or settled one (it came, or we gave up)
 * if there is one, in ring order; else, once p waits on its share of the ring, the oldest
 * of p's own; else the oldest of a peer past its share (only free slots take it past), and
 * the oldest of all when there is none. A peer's announcements thus take the slots of the
 * others' news only while it holds less than its share, however many items it announces
 * and however often we ask it again (which makes its slots the newest).
 */
static int slot_take(struct nt_gossip *g, const struct peer *p)
{
	int own = -1, over = -1, oldest = -1;
	uint32_t owned[NT_GOSSIP_ASKED];

	for (int k = 0; k < NT_GOSSIP_ASKED; k++) {
		int i = (int)((g->asked_next + (uint32_t)k) % NT_GOSSIP_ASKED);

		if (!g->asked[i].at || g->asked[i].tries >= NT_GOSSIP_ASK_TRIES) {
			g->asked_next = ((uint32_t)i + 1) % NT_GOSSIP_ASKED;
			return i;
		}
	}
	/* Every slot waits: 64 x 64 compares, only while the ring is full. */
	for (int i = 0; i < NT_GOSSIP_ASKED; i++) {
		uint64_t at = g->asked[i].at;

		owned[i] = slots_owned(g, g->asked[i].owner);
		if (g->asked[i].owner == p->handle && (own < 0 || at < g->asked[own].at))
			own = i;
		if (owned[i] > NT_GOSSIP_ASKED_PER_PEER && (over < 0 || at < g->asked[over].at))
			over = i;
		if (oldest < 0 || at < g->asked[oldest].at)
			oldest = i;
	}
	if (own >= 0 && owned[own] >= NT_GOSSIP_ASKED_PER_PEER)
		return own;
	return over >= 0 ? over : oldest;
}

/* Asks p for an announced item, now; slot i is its (-1: takes one, slot_take). */
static void ask(struct nt_gossip *g, struct peer *p, const uint8_t *it, int i, uint64_t now)
{
	if (!nt_gossip_want(g, p, it))
		return;
	if (i < 0) {
		i = slot_take(g, p);
		memcpy(g->asked[i].item, it, NT_GOSSIP_SUMMARY_ITEM);
		g->asked[i].tries = 0;
		g->asked[i].owner = p->handle;
	}
	g->asked[i].at = now ? now : 1;
	g->asked[i].from = p->handle;
	g->asked[i].asked_of = p->handle;
	g->asked[i].tries++;
	retry_after(g, g->asked[i].at);
}

void nt_gossip_on_ihave(struct nt_gossip *g, struct peer *p, const uint8_t *items, uint16_t n,
			uint64_t now)
{
	nt_gossip_verify_refill(g, p, now);
	nt_gossip_msg_begin(&g->want, NT_GOSSIP_WANT);
	for (uint16_t k = 0; k < n; k++) {
		const uint8_t *it = items + (size_t)k * NT_GOSSIP_SUMMARY_ITEM;
		int i;

		if (nt_gossip_item_cmp(g, it) <= 0)
			continue;
		i = asked_find(g, it);
		/*
		 * Asked already, of someone: this peer is whom we ask if that goes unanswered,
		 * unless it is the one we asked; so the peer that failed us cannot take our
		 * asking again from another by announcing the item once more.
		 */
		if (i >= 0 && g->asked[i].tries < NT_GOSSIP_ASK_TRIES &&
		    now - g->asked[i].at < NT_GOSSIP_ASK_AGAIN_MS && now >= g->asked[i].at) {
			if (p->handle != g->asked[i].asked_of)
				g->asked[i].from = p->handle;
			continue;
		}
		if (i >= 0 && g->asked[i].tries >= NT_GOSSIP_ASK_TRIES)
			g->asked[i].tries = 0; /* announced again after we gave up: a new start */
		ask(g, p, it, i, now);
	}
	if (g->want.n)
		nt_gossip_rounds_hurry(g, now);
	nt_gossip_msg_flush(g, &g->want, p->handle);
}

void nt_gossip_ask_again(struct nt_gossip *g, uint64_t now)
{
	g->retry_at = UINT64_MAX;
	for (int i = 0; i < NT_GOSSIP_ASKED; i++) {
		struct peer *p;

		if (!g->asked[i].at || g->asked[i].tries >= NT_GOSSIP_ASK_TRIES)
			continue;
		if (nt_gossip_item_cmp(g, g->asked[i].item) <= 0) {
			g->asked[i].tries = NT_GOSSIP_ASK_TRIES; /* it came */
			continue;
		}
		if (now - g->asked[i].at < NT_GOSSIP_ASK_AGAIN_MS && now >= g->asked[i].at) {
			retry_after(g, g->asked[i].at);
			continue;
		}
		p = nt_gossip_peer_find(g, g->asked[i].from);
		if (!p) {
			g->asked[i].tries = NT_GOSSIP_ASK_TRIES; /* nobody left to ask: rounds will */
			continue;
		}
		nt_gossip_verify_refill(g, p, now);
		nt_gossip_msg_begin(&g->want, NT_GOSSIP_WANT);
		ask(g, p, g->asked[i].item, i, now);
		nt_gossip_msg_flush(g, &g->want, p->handle);
	}
}

/* Whether an entry's version (its owner's clock when it signed it) is recent news. */
static bool entry_is_fresh(const struct nt_gossip *g, const struct nt_ledger_entry *e, uint64_t now)
{
	return e->version + g->cfg.fresh_ms >= now && e->version <= now + g->cfg.fresh_ms;
}

/*
 * Sends the pending forward: the entries to push_eager peers, their items to the others,
 * push_fanout peers at most in all, never back to src; rotating, so that the peer that
 * gets the entries changes from one batch to the next.
 */
static void forward_flush(struct nt_gossip *g, uint64_t src)
{
	uint32_t sent = 0, eager = 0;

	if (!g->fwd.n)
		return;
	nt_put_be16(g->fwd.buf + NT_GOSSIP_HDR_LEN, g->fwd.n);
	nt_put_be16(g->ihave.buf + NT_GOSSIP_HDR_LEN, g->ihave.n);
	for (uint32_t k = 0; k < g->npeers && sent < g->cfg.push_fanout; k++) {
		struct peer *p = &g->peers[(g->fanout_next + k) % g->npeers];

		if (p->handle == src)
			continue;
		if (eager < g->cfg.push_eager) {
			nt_gossip_emit(g, p->handle, g->fwd.buf, g->fwd.len);
			eager++;
		} else {
			nt_gossip_emit(g, p->handle, g->ihave.buf, g->ihave.len);
			g->stats.ihaves_sent++;
		}
		sent++;
	}
	if (g->npeers)
		g->fanout_next = (g->fanout_next + 1) % g->npeers;
	g->stats.pushes_forwarded += sent;
	nt_gossip_msg_begin(&g->fwd, NT_GOSSIP_PUSH);
	nt_gossip_msg_begin(&g->ihave, NT_GOSSIP_IHAVE);
}

/* Adds a learnt entry (its encoding e, and what the ledger stored of it) to the pending forward. */
static void forward_add(struct nt_gossip *g, uint64_t src, const uint8_t *e, size_t elen,
			const struct nt_ledger_entry *stored)
{
	uint8_t *it;

	if (g->fwd.len + 2 + elen > g->cfg.max_msg ||
	    g->ihave.len + NT_GOSSIP_SUMMARY_ITEM > g->cfg.max_msg)
		forward_flush(g, src);
	if (g->fwd.len + 2 + elen > g->cfg.max_msg)
		return;
	nt_put_be16(g->fwd.buf + g->fwd.len, (uint16_t)elen);
	memcpy(g->fwd.buf + g->fwd.len + 2, e, elen);
	g->fwd.len += 2 + elen;
	g->fwd.n++;
	it = g->ihave.buf + g->ihave.len;
	nt_put_be64(it, nt_ledger_entry_id(g->l, stored));
	nt_put_be64(it + 8, stored->version);
	memcpy(it + 16, nt_ledger_entry_hash_prefix(g->l, stored), 4);
	g->ihave.len += NT_GOSSIP_SUMMARY_ITEM;
	g->ihave.n++;
}

void nt_gossip_on_entries(struct nt_gossip *g, struct peer *p, const uint8_t *recs, uint16_t n,
			  bool push, uint64_t now)
{
	size_t off = 0;

	nt_gossip_msg_begin(&g->fwd, NT_GOSSIP_PUSH);
	nt_gossip_msg_begin(&g->ihave, NT_GOSSIP_IHAVE);
	nt_gossip_verify_refill(g, p, now);
	for (uint16_t i = 0; i < n; i++) {
		size_t elen = nt_get_be16(recs + off);
		const uint8_t *e = recs + off + 2;
		const struct nt_ledger_entry *stored = NULL;
		/* A member's entries cost us at most its budget of signature checks a second. */
		enum nt_ledger_verdict v = nt_ledger_insert_budget(g->l, e, elen, now, &p->verify_tokens,
								   &stored);

		off += 2 + elen;
		g->stats.entries_rx[v]++;
		if (!nt_ledger_verdict_is_ok(v))
			log_ratelimited(&g->rl_bad, NT_DBG_GOSSIP, "gossip: entry from peer %llu: %s",
					(unsigned long long)p->handle, nt_ledger_verdict_str(v));
		if (v == NT_LEDGER_REJ_BUSY)
			nt_gossip_rounds_when_refilled(g, p);
		if (v != NT_LEDGER_ADDED && v != NT_LEDGER_UPDATED)
			continue;
		nt_gossip_rounds_hurry(g, now);
		/*
		 * Only what taught us something travels on, so each member forwards a change
		 * once and a flood dies out: what came as news (a push, or the answer to an
		 * IHAVE), and what reconciliation taught us only if it was signed recently.
		 */
		if (!push && !entry_is_fresh(g, stored, now) &&
		    !was_announced(g, p->handle, nt_ledger_entry_id(g->l, stored), stored->version))
			continue;
		forward_add(g, p->handle, e, elen, stored);
	}
	forward_flush(g, p->handle);
}

/* May be called from the ledger's change callback: it only reads the ledger. */
void nt_gossip_on_local_change(struct nt_gossip *g, const struct nt_ledger_entry *e,
			       uint64_t now_ms)
{
	struct msg *m = &g->fwd;

	nt_gossip_rounds_hurry(g, now_ms);
	nt_gossip_msg_begin(m, NT_GOSSIP_PUSH);
	nt_gossip_append_entry(g, m, 0, e);
	if (!m->n)
		return;
	/* Ours: nobody else has it yet, so every peer gets the entry itself. */
	nt_put_be16(m->buf + NT_GOSSIP_HDR_LEN, m->n);
	for (uint32_t i = 0; i < g->npeers; i++)
		nt_gossip_emit(g, g->peers[i].handle, m->buf, m->len);
	nt_gossip_msg_begin(m, NT_GOSSIP_PUSH);
}
