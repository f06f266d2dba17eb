// SPDX-License-Identifier: MIT
/*
 * Ledger anti-entropy between members (DESIGN §7, docs/ledger.md §3), sans-IO. Its cost
 * follows what changes, not how many members there are:
 *
 *   a round (5 s, doubling to 60 s while nothing differs): A -> one partner B  DIGEST
 *   B's state differs:              B -> A  RANGES(root): count + hash of 16 sub-ranges
 *   for each sub-range that differs, the side that sees it answers with the 16
 *   sub-ranges of that one (RANGES), or, once it holds at most NT_GOSSIP_LEAF entries
 *   there, with the list of them (SUMMARY); so k differences cost O(k log N) bytes
 *   on a SUMMARY, the receiver:     WANT(what it lacks)  +  ENTRIES(what the sender lacks)
 *   a local change:                 A -> every peer  PUSH(entry), and every receiver that
 *                                   learnt something forwards it once to its other peers:
 *                                   the entry to one (PUSH), its item to the rest (IHAVE),
 *                                   who WANT it if they lack it (gossip_push.c)
 *
 * Ranges cut the 64-bit short ids (docs/ledger.md §1.1) by hex digits: a range of level L is
 * the ids whose first L digits are its prefix. Their hashes are computed from a copy of
 * (id, version, entry hash) sorted by id, rebuilt when the ledger's state hash changes.
 * Every message fits the caller's max_msg; entries are chunked. Nothing is allocated after
 * nt_gossip_new: five message buffers, the peer table and the sorted copy.
 */
#include "ledger/gossip.h"
#include "ledger/gossip_impl.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "core/log.h"
#include "core/util.h"

struct peer *nt_gossip_peer_find(const struct nt_gossip *g, uint64_t handle)
{
	for (uint32_t i = 0; i < g->npeers; i++)
		if (g->peers[i].handle == handle)
			return &g->peers[i];
	return NULL;
}

void nt_gossip_emit(struct nt_gossip *g, uint64_t peer, const uint8_t *buf, size_t len)
{
	g->stats.tx_msgs++;
	g->stats.tx_bytes += len;
	g->cfg.send(g->cfg.ctx, peer, buf, len);
}

void nt_gossip_msg_begin(struct msg *m, uint8_t type)
{
	m->buf[0] = NT_GOSSIP_VERSION;
	m->buf[1] = type;
	m->type = type;
	m->len = NT_GOSSIP_HDR_LEN + 2;
	m->n = 0;
}

void nt_gossip_msg_flush(struct nt_gossip *g, struct msg *m, uint64_t peer)
{
	if (m->n) {
		nt_put_be16(m->buf + NT_GOSSIP_HDR_LEN, m->n);
		nt_gossip_emit(g, peer, m->buf, m->len);
	}
	nt_gossip_msg_begin(m, m->type);
}

/* Something differs or changed: rounds fall back to the shortest interval. */
void nt_gossip_rounds_hurry(struct nt_gossip *g, uint64_t now)
{
	g->interval = g->cfg.digest_interval_ms;
	if (g->next_round > now + g->cfg.digest_interval_ms)
		g->next_round = now + g->cfg.digest_interval_ms;
}

static void send_digest(struct nt_gossip *g, struct peer *p)
{
	uint8_t buf[NT_GOSSIP_HDR_LEN + NT_LEDGER_HASH_LEN + 4];

	buf[0] = NT_GOSSIP_VERSION;
	buf[1] = NT_GOSSIP_DIGEST;
	nt_ledger_state_hash(g->l, buf + NT_GOSSIP_HDR_LEN);
	nt_put_be32(buf + NT_GOSSIP_HDR_LEN + NT_LEDGER_HASH_LEN, nt_ledger_count(g->l));
	nt_gossip_emit(g, p->handle, buf, sizeof(buf));
}

static bool item_add(void *ctx, const struct nt_ledger_entry *e)
{
	struct nt_gossip *g = ctx;
	uint8_t *it;

	if (g->nitems == g->cap_items)
		return false;
	it = g->items[g->nitems++];
	nt_put_be64(it, nt_ledger_entry_id(g->l, e));
	nt_put_be64(it + 8, e->version);
	memcpy(it + 16, nt_ledger_entry_hash_prefix(g->l, e), RANGE_HASH_LEN);
	return true;
}

static void item_swap(uint8_t (*it)[ITEM_LEN], size_t a, size_t b)
{
	uint8_t tmp[ITEM_LEN];

	memcpy(tmp, it[a], ITEM_LEN);
	memcpy(it[a], it[b], ITEM_LEN);
	memcpy(it[b], tmp, ITEM_LEN);
}

static void sift_down(uint8_t (*it)[ITEM_LEN], size_t root, size_t n)
{
	for (size_t child; (child = 2 * root + 1) < n; root = child) {
		if (child + 1 < n && memcmp(it[child], it[child + 1], ITEM_LEN) < 0)
			child++;
		if (memcmp(it[root], it[child], ITEM_LEN) >= 0)
			return;
		item_swap(it, root, child);
	}
}

/* Heapsort: glibc's qsort may malloc a merge buffer, and gossip must not allocate. */
static void items_sort(uint8_t (*it)[ITEM_LEN], size_t n)
{
	for (size_t i = n / 2; i-- > 0;)
		sift_down(it, i, n);
	for (size_t end = n; end-- > 1;) {
		item_swap(it, 0, end);
		sift_down(it, 0, end);
	}
}

/* Brings the sorted copy up to date: once per change of the ledger's state. */
static void items_refresh(struct nt_gossip *g)
{
	uint8_t state[NT_LEDGER_HASH_LEN];

	nt_ledger_state_hash(g->l, state);
	if (g->items_valid && !memcmp(state, g->items_state, sizeof(state)))
		return;
	g->nitems = 0;
	nt_ledger_foreach_stored(g->l, item_add, g);
	items_sort(g->items, g->nitems);
	memcpy(g->items_state, state, sizeof(state));
	g->items_valid = true;
}

/* Index of the first item whose id is >= id. */
static uint32_t items_lower_bound(const struct nt_gossip *g, uint64_t id)
{
	uint32_t lo = 0, hi = g->nitems;

	while (lo < hi) {
		uint32_t mid = lo + (hi - lo) / 2;
		if (nt_get_be64(g->items[mid]) < id)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

/* Whether (level, prefix) names a range: level <= 16, prefix of 4 * level bits. */
static bool range_is_valid(uint8_t level, uint64_t prefix)
{
	/* Shifts stay below 64: level 16 is the whole id, level 0 the empty prefix. */
	if (level > NT_GOSSIP_LEVELS)
		return false;
	return level == NT_GOSSIP_LEVELS || prefix >> (4 * level) == 0;
}

static uint64_t range_first(uint8_t level, uint64_t prefix)
{
	return level ? prefix << (64 - 4 * level) : 0;
}

static uint64_t range_last(uint8_t level, uint64_t prefix)
{
	if (level == NT_GOSSIP_LEVELS)
		return prefix;
	return level ? range_first(level, prefix) | (UINT64_MAX >> (4 * level)) : UINT64_MAX;
}

static bool range_holds(uint8_t level, uint64_t prefix, uint64_t id)
{
	return id >= range_first(level, prefix) && id <= range_last(level, prefix);
}

/* Our items in a range: [*lo, *hi). */
static void range_slice(const struct nt_gossip *g, uint8_t level, uint64_t prefix, uint32_t *lo,
			uint32_t *hi)
{
	uint64_t last = range_last(level, prefix);

	*lo = items_lower_bound(g, range_first(level, prefix));
	*hi = last == UINT64_MAX ? g->nitems : items_lower_bound(g, last + 1);
}

/*
 * Count and hash of each of the 16 sub-ranges of a range of level < 16 whose items are
 * [lo, hi): the hash is BLAKE2b-64 of the items (id, version, entry hash[0..8]) in id order.
 */
static void range_children(const struct nt_gossip *g, uint8_t level, uint32_t lo, uint32_t hi,
			   uint32_t count[NT_GOSSIP_SPLIT], uint8_t hash[NT_GOSSIP_SPLIT][RANGE_HASH_LEN])
{
	unsigned int shift = 60 - 4 * level;
	uint32_t j = lo;

	for (unsigned int c = 0; c < NT_GOSSIP_SPLIT; c++) {
		uint32_t start = j;

		while (j < hi && ((nt_get_be64(g->items[j]) >> shift) & 0xf) == c)
			j++;
		count[c] = j - start;
		crypto_generichash(hash[c], RANGE_HASH_LEN, (const uint8_t *)g->items[start],
				   (size_t)(j - start) * ITEM_LEN, NULL, 0);
	}
}

static bool range_budget_take(struct nt_gossip *g, struct peer *p, uint64_t now)
{
	if (now >= p->range_at + 1000 || now < p->range_at) {
		p->range_tokens = g->cfg.range_budget;
		p->range_at = now;
	}
	if (!p->range_tokens) {
		g->stats.range_throttled++;
		return false;
	}
	p->range_tokens--;
	return true;
}

static void send_ranges(struct nt_gossip *g, struct peer *p, uint8_t level, uint64_t prefix,
			uint32_t lo, uint32_t hi)
{
	uint32_t count[NT_GOSSIP_SPLIT];
	uint8_t hash[NT_GOSSIP_SPLIT][RANGE_HASH_LEN];
	uint8_t *b = g->out;

	range_children(g, level, lo, hi, count, hash);
	b[0] = NT_GOSSIP_VERSION;
	b[1] = NT_GOSSIP_RANGES;
	b[2] = level;
	nt_put_be64(b + 3, prefix);
	b += NT_GOSSIP_HDR_LEN + NT_GOSSIP_RANGE_HDR;
	for (unsigned int c = 0; c < NT_GOSSIP_SPLIT; c++, b += NT_GOSSIP_RANGE_ITEM) {
		nt_put_be32(b, count[c]);
		memcpy(b + 4, hash[c], RANGE_HASH_LEN);
	}
	nt_gossip_emit(g, p->handle, g->out, RANGES_LEN);
	g->stats.ranges_sent++;
}

static void send_summary(struct nt_gossip *g, struct peer *p, uint8_t level, uint64_t prefix,
			 uint32_t lo, uint32_t hi)
{
	uint8_t *b = g->out;
	size_t len = NT_GOSSIP_HDR_LEN + NT_GOSSIP_RANGE_HDR + 2;

	b[0] = NT_GOSSIP_VERSION;
	b[1] = NT_GOSSIP_SUMMARY;
	b[2] = level;
	nt_put_be64(b + 3, prefix);
	nt_put_be16(b + NT_GOSSIP_HDR_LEN + NT_GOSSIP_RANGE_HDR, (uint16_t)(hi - lo));
	for (uint32_t j = lo; j < hi; j++, len += NT_GOSSIP_SUMMARY_ITEM)
		memcpy(b + len, g->items[j], NT_GOSSIP_SUMMARY_ITEM);
	nt_gossip_emit(g, p->handle, g->out, len);
	g->stats.summaries_sent++;
}

/*
 * A range differs between the peer and us: list what we hold there if it is little (or the
 * range is one id), else send its 16 sub-ranges. Call after items_refresh.
 */
static void answer_range(struct nt_gossip *g, struct peer *p, uint8_t level, uint64_t prefix,
			 uint64_t now)
{
	uint32_t lo, hi;

	if (!range_budget_take(g, p, now))
		return;
	range_slice(g, level, prefix, &lo, &hi);
	if (hi - lo <= g->leaf || level == NT_GOSSIP_LEVELS)
		send_summary(g, p, level, prefix, lo, NT_MIN(hi, lo + g->leaf));
	else
		send_ranges(g, p, level, prefix, lo, hi);
}

/* Takes one entry from the peer's want budget (a token bucket refilled every second). */
static bool budget_take(struct nt_gossip *g, struct peer *p, uint64_t now)
{
	if (now >= p->refill_at + 1000 || now < p->refill_at) {
		p->tokens = g->cfg.want_budget;
		p->refill_at = now;
	}
	if (!p->tokens) {
		g->stats.want_throttled++;
		return false;
	}
	p->tokens--;
	return true;
}

/* Room left in m for one more record's bytes (after its u16 length); 0 when none. */
static size_t record_room(const struct nt_gossip *g, const struct msg *m)
{
	return m->len + 2 < g->cfg.max_msg ? g->cfg.max_msg - m->len - 2 : 0;
}

/* Appends an encoded entry (u16 length, bytes) to m, flushing it to peer when full. */
void nt_gossip_append_entry(struct nt_gossip *g, struct msg *m, uint64_t peer,
			 const struct nt_ledger_entry *e)
{
	ssize_t n = nt_ledger_entry_encode(e, m->buf + m->len + 2, record_room(g, m));

	if (n == -ENOSPC) {
		nt_gossip_msg_flush(g, m, peer);
		n = nt_ledger_entry_encode(e, m->buf + m->len + 2, record_room(g, m));
	}
	if (n < 0)
		return;
	nt_put_be16(m->buf + m->len, (uint16_t)n);
	m->len += 2 + (size_t)n;
	m->n++;
}

/* Sends our entry with this id to the peer, if it has budget left. */
static void give_entry(struct nt_gossip *g, struct peer *p, uint64_t id, uint64_t now)
{
	const struct nt_ledger_entry *e = nt_ledger_get_by_id(g->l, id);

	if (!e || !budget_take(g, p, now))
		return;
	nt_gossip_append_entry(g, &g->ent, p->handle, e);
	g->stats.entries_sent++;
}

static void on_digest(struct nt_gossip *g, struct peer *p, const uint8_t *body, uint64_t now)
{
	uint8_t ours[NT_LEDGER_HASH_LEN];

	nt_ledger_expire(g->l, now);
	nt_ledger_state_hash(g->l, ours);
	if (memcmp(ours, body, NT_LEDGER_HASH_LEN) == 0 &&
	    nt_get_be32(body + NT_LEDGER_HASH_LEN) == nt_ledger_count(g->l)) {
		p->synced = true;
		g->stats.digests_equal++;
		return;
	}
	p->synced = false;
	g->stats.digests_differ++;
	nt_gossip_rounds_hurry(g, now);
	/* Our root ranges let both sides find the difference: each answers the other's. */
	if (!p->answered_at || now - p->answered_at >= g->cfg.summary_interval_ms) {
		p->answered_at = now;
		items_refresh(g);
		answer_range(g, p, 0, 0, now);
	}
}

static void on_ranges(struct nt_gossip *g, struct peer *p, uint8_t level, uint64_t prefix,
		      const uint8_t *items, uint64_t now)
{
	uint32_t count[NT_GOSSIP_SPLIT], lo, hi;
	uint8_t hash[NT_GOSSIP_SPLIT][RANGE_HASH_LEN];

	if (level == 0)
		p->summary_rx_at = now;
	nt_ledger_expire(g->l, now);
	items_refresh(g);
	range_slice(g, level, prefix, &lo, &hi);
	range_children(g, level, lo, hi, count, hash);
	for (unsigned int c = 0; c < NT_GOSSIP_SPLIT; c++) {
		const uint8_t *it = items + c * NT_GOSSIP_RANGE_ITEM;

		if (nt_get_be32(it) == count[c] && !memcmp(it + 4, hash[c], RANGE_HASH_LEN))
			continue;
		nt_gossip_rounds_hurry(g, now);
		answer_range(g, p, (uint8_t)(level + 1), prefix << 4 | c, now);
	}
}

static bool summary_lists(const uint8_t *items, uint16_t n, const uint8_t id[8])
{
	for (uint16_t i = 0; i < n; i++)
		if (!memcmp(items + (size_t)i * NT_GOSSIP_SUMMARY_ITEM, id, 8))
			return true;
	return false;
}

/* The peer's budget of signature checks (and of entries we ask of it) is a second's. */
void nt_gossip_verify_refill(struct nt_gossip *g, struct peer *p, uint64_t now)
{
	if (now >= p->verify_at + 1000 || now < p->verify_at) {
		p->verify_tokens = g->cfg.verify_budget;
		p->wanted = 0;
		p->verify_at = now;
	}
}

/*
 * We want more of a peer than we may check this second (a newcomer to a large network, or
 * a ledger filled by someone): the next round comes when the budget is back, not after
 * the usual interval, so a newcomer fetches the ledger as fast as it may check it.
 */
void nt_gossip_rounds_when_refilled(struct nt_gossip *g, struct peer *p)
{
	uint64_t at = p->verify_at + 1000;

	g->interval = g->cfg.digest_interval_ms;
	if (g->next_round > at)
		g->next_round = at;
}

int nt_gossip_item_cmp(const struct nt_gossip *g, const uint8_t *it)
{
	uint64_t id = nt_get_be64(it), version = nt_get_be64(it + 8);
	const struct nt_ledger_entry *e = nt_ledger_get_by_id(g->l, id);
	int c;

	if (!e || e->version < version)
		return 1;
	if (e->version > version)
		return -1;
	/* The same version: the lower hash wins (docs/ledger.md §2). */
	c = memcmp(nt_ledger_entry_hash_prefix(g->l, e), it + 16, 4);
	return c > 0 ? 1 : c < 0 ? -1 : 0;
}

bool nt_gossip_want(struct nt_gossip *g, struct peer *p, const uint8_t *it)
{
	uint64_t id = nt_get_be64(it);

	/* We refused that very entry already: it would be refused again. */
	if (nt_ledger_was_refused(g->l, id, nt_get_be64(it + 8)))
		return false;
	if (p->wanted >= g->cfg.verify_budget) {
		nt_gossip_rounds_when_refilled(g, p);
		return false;
	}
	p->wanted++;
	if (g->want.len + 8 > g->cfg.max_msg)
		nt_gossip_msg_flush(g, &g->want, p->handle);
	nt_put_be64(g->want.buf + g->want.len, id);
	g->want.len += 8;
	g->want.n++;
	g->stats.wants_sent++;
	return true;
}

/*
 * The peer lists all it holds in a range: we want what is newer there (no more than we
 * may check this second: the rest waits for the next round), and send what is newer here,
 * including what it does not list at all.
 */
static void on_summary(struct nt_gossip *g, struct peer *p, uint8_t level, uint64_t prefix,
		       const uint8_t *items, uint16_t n, uint64_t now)
{
	uint32_t lo, hi;

	if (level == 0)
		p->summary_rx_at = now;
	nt_ledger_expire(g->l, now);
	items_refresh(g);
	nt_gossip_verify_refill(g, p, now);
	nt_gossip_msg_begin(&g->want, NT_GOSSIP_WANT);
	nt_gossip_msg_begin(&g->ent, NT_GOSSIP_ENTRIES);
	for (uint16_t i = 0; i < n; i++) {
		const uint8_t *it = items + (size_t)i * NT_GOSSIP_SUMMARY_ITEM;
		int c = nt_gossip_item_cmp(g, it);

		if (c > 0)
			nt_gossip_want(g, p, it);
		else if (c < 0)
			give_entry(g, p, nt_get_be64(it), now);
	}
	range_slice(g, level, prefix, &lo, &hi);
	for (uint32_t j = lo; j < hi; j++)
		if (!summary_lists(items, n, g->items[j]))
			give_entry(g, p, nt_get_be64(g->items[j]), now);
	if (g->want.n || g->ent.n)
		nt_gossip_rounds_hurry(g, now);
	nt_gossip_msg_flush(g, &g->want, p->handle);
	nt_gossip_msg_flush(g, &g->ent, p->handle);
}

static void on_want(struct nt_gossip *g, struct peer *p, const uint8_t *ids, uint16_t n,
		    uint64_t now)
{
	nt_gossip_msg_begin(&g->ent, NT_GOSSIP_ENTRIES);
	for (uint16_t i = 0; i < n; i++)
		give_entry(g, p, nt_get_be64(ids + 8 * (size_t)i), now);
	nt_gossip_msg_flush(g, &g->ent, p->handle);
}

/* Checks that n records of (u16 length, bytes) fill exactly len bytes. */
static bool records_are_framed(const uint8_t *recs, size_t len, uint16_t n)
{
	size_t off = 0;

	for (uint16_t i = 0; i < n; i++) {
		size_t elen;
		if (len - off < 2)
			return false;
		elen = nt_get_be16(recs + off);
		if (elen == 0 || len - off - 2 < elen)
			return false;
		off += 2 + elen;
	}
	return off == len;
}

/* Checks a SUMMARY body after its range: u16 n, n items of that range, nothing more. */
static bool summary_is_framed(const uint8_t *b, size_t len, uint8_t level, uint64_t prefix,
			      uint16_t *n)
{
	if (len < 2)
		return false;
	*n = nt_get_be16(b);
	if (len - 2 != (size_t)*n * NT_GOSSIP_SUMMARY_ITEM)
		return false;
	for (uint16_t i = 0; i < *n; i++)
		if (!range_holds(level, prefix, nt_get_be64(b + 2 + (size_t)i * NT_GOSSIP_SUMMARY_ITEM)))
			return false;
	return true;
}

/* RANGES and SUMMARY: a range header, then the body. -EBADMSG when malformed. */
static int input_range(struct nt_gossip *g, struct peer *p, uint8_t type, const uint8_t *b,
		       size_t len, uint64_t now)
{
	uint8_t level;
	uint64_t prefix;
	uint16_t n;

	if (len < NT_GOSSIP_RANGE_HDR)
		return -EBADMSG;
	level = b[0];
	prefix = nt_get_be64(b + 1);
	b += NT_GOSSIP_RANGE_HDR;
	len -= NT_GOSSIP_RANGE_HDR;
	if (!range_is_valid(level, prefix))
		return -EBADMSG;
	if (type == NT_GOSSIP_RANGES) {
		if (level == NT_GOSSIP_LEVELS || len != NT_GOSSIP_SPLIT * NT_GOSSIP_RANGE_ITEM)
			return -EBADMSG;
		on_ranges(g, p, level, prefix, b, now);
		return 0;
	}
	if (!summary_is_framed(b, len, level, prefix, &n))
		return -EBADMSG;
	on_summary(g, p, level, prefix, b + 2, n, now);
	return 0;
}

int nt_gossip_input(struct nt_gossip *g, uint64_t peer, const uint8_t *buf, size_t len,
		    uint64_t now_ms)
{
	struct peer *p = nt_gossip_peer_find(g, peer);
	const uint8_t *body = buf + NT_GOSSIP_HDR_LEN + 2;
	size_t blen;
	uint16_t n;

	if (!p) {
		g->stats.rx_unknown_peer++;
		return -ENOENT;
	}
	g->stats.rx_msgs++;
	if (len < NT_GOSSIP_HDR_LEN || buf[0] != NT_GOSSIP_VERSION)
		goto bad;
	switch (buf[1]) {
	case NT_GOSSIP_DIGEST:
		if (len != NT_GOSSIP_HDR_LEN + NT_LEDGER_HASH_LEN + 4)
			goto bad;
		on_digest(g, p, buf + NT_GOSSIP_HDR_LEN, now_ms);
		return 0;
	case NT_GOSSIP_RANGES:
	case NT_GOSSIP_SUMMARY:
		if (input_range(g, p, buf[1], buf + NT_GOSSIP_HDR_LEN, len - NT_GOSSIP_HDR_LEN, now_ms) < 0)
			goto bad;
		return 0;
	}
	if (len < NT_GOSSIP_HDR_LEN + 2)
		goto bad;
	n = nt_get_be16(buf + NT_GOSSIP_HDR_LEN);
	blen = len - NT_GOSSIP_HDR_LEN - 2;
	switch (buf[1]) {
	case NT_GOSSIP_WANT:
		if (blen != (size_t)n * 8)
			goto bad;
		on_want(g, p, body, n, now_ms);
		return 0;
	case NT_GOSSIP_ENTRIES:
	case NT_GOSSIP_PUSH:
		if (!records_are_framed(body, blen, n))
			goto bad;
		nt_gossip_on_entries(g, p, body, n, buf[1] == NT_GOSSIP_PUSH, now_ms);
		return 0;
	case NT_GOSSIP_IHAVE:
		if (blen != (size_t)n * NT_GOSSIP_SUMMARY_ITEM)
			goto bad;
		nt_gossip_on_ihave(g, p, body, n, now_ms);
		return 0;
	}
bad:
	g->stats.rx_bad++;
	log_ratelimited(&g->rl_bad, NT_DBG_GOSSIP, "gossip: malformed message (%zu bytes) from peer %llu",
			len, (unsigned long long)peer);
	return -EBADMSG;
}

/*
 * A round: one digest to the next partner in turn. The interval doubles after each round
 * (up to digest_max_ms); nt_gossip_rounds_hurry() brings it back down when anything differs, so a
 * quiet member sends one digest a minute whatever the number of members.
 */
uint64_t nt_gossip_tick(struct nt_gossip *g, uint64_t now_ms)
{
	nt_ledger_expire(g->l, now_ms);
	if (now_ms >= g->retry_at)
		nt_gossip_ask_again(g, now_ms);
	g->hello_due = false;
	for (uint32_t i = 0; i < g->npeers; i++) {
		if (!g->peers[i].hello)
			continue;
		g->peers[i].hello = false;
		send_digest(g, &g->peers[i]);
	}
	if (!g->npeers) {
		g->next_round = now_ms + g->interval;
		return nt_gossip_deadline(g);
	}
	if (now_ms >= g->next_round) {
		send_digest(g, &g->peers[g->rr++ % g->npeers]);
		g->stats.rounds++;
		g->next_round = now_ms + g->interval;
		g->interval = NT_MIN(2 * g->interval, g->cfg.digest_max_ms);
	}
	return nt_gossip_deadline(g);
}

uint64_t nt_gossip_deadline(const struct nt_gossip *g)
{
	return g->hello_due ? 0 : NT_MIN(g->next_round, g->retry_at);
}

int nt_gossip_peer_add(struct nt_gossip *g, uint64_t peer)
{
	if (nt_gossip_peer_find(g, peer))
		return -EEXIST;
	if (g->npeers == g->cfg.max_peers)
		return -ENOSPC;
	g->peers[g->npeers++] = (struct peer){ .handle = peer, .hello = true };
	g->hello_due = true;
	return 0;
}

void nt_gossip_peer_remove(struct nt_gossip *g, uint64_t peer)
{
	struct peer *p = nt_gossip_peer_find(g, peer);

	if (p)
		*p = g->peers[--g->npeers];
}

bool nt_gossip_peer_has_summarized(const struct nt_gossip *g, uint64_t peer, uint64_t before)
{
	const struct peer *p = nt_gossip_peer_find(g, peer);

	return p && (p->synced || (p->summary_rx_at && p->summary_rx_at <= before));
}

bool nt_gossip_peer_is_synced(const struct nt_gossip *g, uint64_t peer)
{
	const struct peer *p = nt_gossip_peer_find(g, peer);

	return p && p->synced;
}

void nt_gossip_stats_get(const struct nt_gossip *g, struct nt_gossip_stats *out)
{
	*out = g->stats;
}

static void cfg_defaults(struct nt_gossip_cfg *c)
{
	if (!c->max_peers)
		c->max_peers = NT_GOSSIP_DEFAULT_MAX_PEERS;
	if (!c->max_msg)
		c->max_msg = NT_GOSSIP_DEFAULT_MAX_MSG;
	if (!c->digest_interval_ms)
		c->digest_interval_ms = NT_GOSSIP_DEFAULT_DIGEST_MS;
	if (!c->digest_max_ms)
		c->digest_max_ms = NT_MAX(NT_GOSSIP_DEFAULT_DIGEST_MAX_MS, c->digest_interval_ms);
	if (!c->summary_interval_ms)
		c->summary_interval_ms = NT_GOSSIP_DEFAULT_SUMMARY_MS;
	if (!c->want_budget)
		c->want_budget = NT_GOSSIP_DEFAULT_WANT_BUDGET;
	if (!c->verify_budget)
		c->verify_budget = NT_GOSSIP_DEFAULT_VERIFY_BUDGET;
	if (!c->range_budget)
		c->range_budget = NT_GOSSIP_DEFAULT_RANGE_BUDGET;
	if (!c->push_fanout)
		c->push_fanout = NT_GOSSIP_DEFAULT_FANOUT;
	if (!c->push_eager)
		c->push_eager = NT_GOSSIP_DEFAULT_EAGER;
	if (!c->fresh_ms)
		c->fresh_ms = NT_GOSSIP_DEFAULT_FRESH_MS;
}

int nt_gossip_new(struct nt_gossip **out, struct nt_ledger *l, const struct nt_gossip_cfg *cfg)
{
	struct nt_ledger_stats ls;
	struct nt_gossip *g;
	uint8_t *bufs;

	if (!cfg->send)
		return -EINVAL;
	g = calloc(1, sizeof(*g));
	if (!g)
		return -ENOMEM;
	g->l = l;
	g->cfg = *cfg;
	cfg_defaults(&g->cfg);
	/* The largest entry must fit one ENTRIES message, a RANGES message must fit; counts are u16. */
	if (g->cfg.max_msg < NT_GOSSIP_HDR_LEN + 2 + 2 + nt_ledger_entry_max_wire(l) ||
	    g->cfg.max_msg < RANGES_LEN || g->cfg.max_msg > 65535 ||
	    g->cfg.digest_max_ms < g->cfg.digest_interval_ms) {
		free(g);
		return -EINVAL;
	}
	g->leaf = (uint32_t)NT_MIN((size_t)NT_GOSSIP_LEAF,
				   (g->cfg.max_msg - NT_GOSSIP_HDR_LEN - NT_GOSSIP_RANGE_HDR - 2) /
					   NT_GOSSIP_SUMMARY_ITEM);
	nt_ledger_stats_get(l, &ls);
	g->cap_items = ls.capacity;
	g->interval = g->cfg.digest_interval_ms;
	g->retry_at = UINT64_MAX;
	g->peers = calloc(g->cfg.max_peers, sizeof(*g->peers));
	g->items = calloc(NT_MAX(g->cap_items, 1U), ITEM_LEN);
	bufs = calloc(5, g->cfg.max_msg);
	if (!g->peers || !g->items || !bufs) {
		free(bufs);
		free(g->items);
		free(g->peers);
		free(g);
		return -ENOMEM;
	}
	g->out = bufs;
	g->want.buf = bufs + g->cfg.max_msg;
	g->ent.buf = bufs + 2 * g->cfg.max_msg;
	g->fwd.buf = bufs + 3 * g->cfg.max_msg;
	g->ihave.buf = bufs + 4 * g->cfg.max_msg;
	nt_gossip_msg_begin(&g->want, NT_GOSSIP_WANT);
	nt_gossip_msg_begin(&g->ihave, NT_GOSSIP_IHAVE);
	nt_gossip_msg_begin(&g->ent, NT_GOSSIP_ENTRIES);
	nt_gossip_msg_begin(&g->fwd, NT_GOSSIP_PUSH);
	*out = g;
	return 0;
}

void nt_gossip_free(struct nt_gossip *g)
{
	if (!g)
		return;
	free(g->out);
	free(g->items);
	free(g->peers);
	free(g);
}
