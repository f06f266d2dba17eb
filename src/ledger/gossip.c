// SPDX-License-Identifier: MIT
/*
 * Ledger anti-entropy between members (DESIGN §7), sans-IO.
 *
 *   every digest interval, and at once after a local change:   A -> B  DIGEST(hash, count)
 *   B's hash differs:                      B -> A  SUMMARY(id, version, hash prefix)...
 *                                          B -> A  DIGEST   (so A summarises for B too)
 *   A lacks an item or holds an older one: A -> B  WANT(id...)
 *                                          B -> A  ENTRIES(entry...)
 *   A holds a newer one:                   A -> B  ENTRIES(entry...)
 *   a local change:                        A -> *  PUSH(entry), forwarded by each
 *                                          receiver that learnt something to a few peers
 *
 * Every message fits the caller's max_msg; summaries and entries are chunked. Nothing
 * is allocated after nt_gossip_new: four message buffers and the peer table.
 */
#include "ledger/gossip.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "core/log.h"
#include "core/util.h"

struct peer {
	uint64_t handle;
	uint64_t next_digest; /* unix ms; 0: on the next tick */
	uint64_t digest_sent_at, summary_sent_at; /* 0: never */
	uint64_t summary_rx_at; /* when its summary (all it holds) last came; 0: never */
	uint64_t refill_at; /* want budget bookkeeping */
	uint32_t tokens;
	uint64_t verify_at; /* signature check budget: refilled every second */
	uint32_t verify_tokens;
	bool used, synced;
};

/* A message being built: header, u16 item count, items. */
struct msg {
	uint8_t *buf;
	size_t len;
	uint16_t n;
	uint8_t type;
};

struct nt_gossip {
	struct nt_gossip_cfg cfg;
	struct nt_ledger *l;
	struct peer *peers;
	struct msg sum, want, ent, fwd;
	uint32_t fanout_next;
	struct nt_gossip_stats stats;
	struct nt_ratelimit rl_bad; /* log throttle (log.h) */
};








static struct peer *peer_find(const struct nt_gossip *g, uint64_t handle)
{
	for (uint32_t i = 0; i < g->cfg.max_peers; i++)
		if (g->peers[i].used && g->peers[i].handle == handle)
			return &g->peers[i];
	return NULL;
}

static void emit(struct nt_gossip *g, uint64_t peer, const uint8_t *buf, size_t len)
{
	g->stats.tx_msgs++;
	g->stats.tx_bytes += len;
	g->cfg.send(g->cfg.ctx, peer, buf, len);
}

static void msg_begin(struct msg *m, uint8_t type)
{
	m->buf[0] = NT_GOSSIP_VERSION;
	m->buf[1] = type;
	m->type = type;
	m->len = NT_GOSSIP_HDR_LEN + 2;
	m->n = 0;
}

static void msg_flush(struct nt_gossip *g, struct msg *m, uint64_t peer)
{
	if (m->n) {
		nt_put_be16(m->buf + NT_GOSSIP_HDR_LEN, m->n);
		emit(g, peer, m->buf, m->len);
	}
	msg_begin(m, m->type);
}

static void send_digest(struct nt_gossip *g, struct peer *p, uint64_t now)
{
	uint8_t buf[NT_GOSSIP_HDR_LEN + NT_LEDGER_HASH_LEN + 4];

	buf[0] = NT_GOSSIP_VERSION;
	buf[1] = NT_GOSSIP_DIGEST;
	nt_ledger_state_hash(g->l, buf + NT_GOSSIP_HDR_LEN);
	nt_put_be32(buf + NT_GOSSIP_HDR_LEN + NT_LEDGER_HASH_LEN, nt_ledger_count(g->l));
	emit(g, p->handle, buf, sizeof(buf));
	p->digest_sent_at = now;
	p->next_digest = now + g->cfg.digest_interval_ms;
}

struct summary_ctx {
	struct nt_gossip *g;
	uint64_t peer;
};

static bool summary_item(void *ctx, const struct nt_ledger_entry *e)
{
	struct summary_ctx *c = ctx;
	struct msg *m = &c->g->sum;

	if (m->len + NT_GOSSIP_SUMMARY_ITEM > c->g->cfg.max_msg)
		msg_flush(c->g, m, c->peer);
	nt_put_be64(m->buf + m->len, nt_ledger_entry_id(c->g->l, e));
	nt_put_be64(m->buf + m->len + 8, e->version);
	memcpy(m->buf + m->len + 16, nt_ledger_entry_hash(c->g->l, e), 4);
	m->len += NT_GOSSIP_SUMMARY_ITEM;
	m->n++;
	return true;
}

static void send_summary(struct nt_gossip *g, struct peer *p, uint64_t now)
{
	struct summary_ctx c = { g, p->handle };

	msg_begin(&g->sum, NT_GOSSIP_SUMMARY);
	nt_ledger_foreach_stored(g->l, summary_item, &c);
	msg_flush(g, &g->sum, p->handle);
	p->summary_sent_at = now;
	g->stats.summaries_sent++;
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
static void append_entry(struct nt_gossip *g, struct msg *m, uint64_t peer,
			 const struct nt_ledger_entry *e)
{
	ssize_t n = nt_ledger_entry_encode(e, m->buf + m->len + 2, record_room(g, m));

	if (n == -ENOSPC) {
		msg_flush(g, m, peer);
		n = nt_ledger_entry_encode(e, m->buf + m->len + 2, record_room(g, m));
	}
	if (n < 0)
		return;
	nt_put_be16(m->buf + m->len, (uint16_t)n);
	m->len += 2 + (size_t)n;
	m->n++;
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
	if (!p->summary_sent_at || now - p->summary_sent_at >= g->cfg.summary_interval_ms)
		send_summary(g, p, now);
	/* Our digest lets the peer summarise for us, so both sides pull in one round. */
	if (!p->digest_sent_at || now - p->digest_sent_at >= g->cfg.summary_interval_ms)
		send_digest(g, p, now);
}

static void on_summary(struct nt_gossip *g, struct peer *p, const uint8_t *items, uint16_t n,
		       uint64_t now)
{
	p->summary_rx_at = now;
	msg_begin(&g->want, NT_GOSSIP_WANT);
	msg_begin(&g->ent, NT_GOSSIP_ENTRIES);
	for (uint16_t i = 0; i < n; i++) {
		const uint8_t *it = items + (size_t)i * NT_GOSSIP_SUMMARY_ITEM;
		uint64_t id = nt_get_be64(it), version = nt_get_be64(it + 8);
		const struct nt_ledger_entry *e = nt_ledger_get_by_id(g->l, id);
		int c = 0;

		if (e && e->version == version)
			c = memcmp(nt_ledger_entry_hash(g->l, e), it + 16, 4);
		if (!e || e->version < version || c > 0) {
			/* Theirs is newer, or the same version with a lower hash, which wins; unless
			 * we refused that very entry already (it would be refused again). */
			if (nt_ledger_was_refused(g->l, id, version))
				continue;
			if (g->want.len + 8 > g->cfg.max_msg)
				msg_flush(g, &g->want, p->handle);
			nt_put_be64(g->want.buf + g->want.len, id);
			g->want.len += 8;
			g->want.n++;
			g->stats.wants_sent++;
		} else if ((e->version > version || c < 0) && budget_take(g, p, now)) {
			append_entry(g, &g->ent, p->handle, e);
			g->stats.entries_sent++;
		}
	}
	msg_flush(g, &g->want, p->handle);
	msg_flush(g, &g->ent, p->handle);
}

static void on_want(struct nt_gossip *g, struct peer *p, const uint8_t *ids, uint16_t n,
		    uint64_t now)
{
	msg_begin(&g->ent, NT_GOSSIP_ENTRIES);
	for (uint16_t i = 0; i < n; i++) {
		const struct nt_ledger_entry *e = nt_ledger_get_by_id(g->l, nt_get_be64(ids + 8 * (size_t)i));
		if (!e || !budget_take(g, p, now))
			continue;
		append_entry(g, &g->ent, p->handle, e);
		g->stats.entries_sent++;
	}
	msg_flush(g, &g->ent, p->handle);
}

/* Sends the pending forward message to up to push_fanout peers other than src. */
static void forward_flush(struct nt_gossip *g, uint64_t src)
{
	uint32_t sent = 0;

	if (!g->fwd.n)
		return;
	nt_put_be16(g->fwd.buf + NT_GOSSIP_HDR_LEN, g->fwd.n);
	for (uint32_t k = 0; k < g->cfg.max_peers && sent < g->cfg.push_fanout; k++) {
		struct peer *p = &g->peers[(g->fanout_next + k) % g->cfg.max_peers];
		if (!p->used || p->handle == src)
			continue;
		emit(g, p->handle, g->fwd.buf, g->fwd.len);
		sent++;
	}
	g->fanout_next = (g->fanout_next + 1) % g->cfg.max_peers;
	g->stats.pushes_forwarded += sent;
	msg_begin(&g->fwd, NT_GOSSIP_PUSH);
}

static void on_entries(struct nt_gossip *g, struct peer *p, const uint8_t *recs, uint16_t n,
		       bool push, uint64_t now)
{
	size_t off = 0;

	msg_begin(&g->fwd, NT_GOSSIP_PUSH);
	if (now >= p->verify_at + 1000 || now < p->verify_at) {
		p->verify_tokens = g->cfg.verify_budget;
		p->verify_at = now;
	}
	for (uint16_t i = 0; i < n; i++) {
		size_t elen = nt_get_be16(recs + off);
		const uint8_t *e = recs + off + 2;
		/* A member's entries cost us at most its budget of signature checks a second. */
		enum nt_ledger_verdict v = nt_ledger_insert_budget(g->l, e, elen, now, &p->verify_tokens);

		off += 2 + elen;
		g->stats.entries_rx[v]++;
		if (!nt_ledger_verdict_is_ok(v))
			log_ratelimited(&g->rl_bad, NT_DBG_GOSSIP, "gossip: entry from peer %llu: %s",
					(unsigned long long)p->handle, nt_ledger_verdict_str(v));
		/* Only what taught us something travels on, so a flood dies out. */
		if (!push || (v != NT_LEDGER_ADDED && v != NT_LEDGER_UPDATED))
			continue;
		if (g->fwd.len + 2 + elen > g->cfg.max_msg)
			forward_flush(g, p->handle);
		if (g->fwd.len + 2 + elen <= g->cfg.max_msg) {
			nt_put_be16(g->fwd.buf + g->fwd.len, (uint16_t)elen);
			memcpy(g->fwd.buf + g->fwd.len + 2, e, elen);
			g->fwd.len += 2 + elen;
			g->fwd.n++;
		}
	}
	forward_flush(g, p->handle);
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

int nt_gossip_input(struct nt_gossip *g, uint64_t peer, const uint8_t *buf, size_t len,
		    uint64_t now_ms)
{
	struct peer *p = peer_find(g, peer);
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
	if (buf[1] == NT_GOSSIP_DIGEST) {
		if (len != NT_GOSSIP_HDR_LEN + NT_LEDGER_HASH_LEN + 4)
			goto bad;
		on_digest(g, p, buf + NT_GOSSIP_HDR_LEN, now_ms);
		return 0;
	}
	if (len < NT_GOSSIP_HDR_LEN + 2)
		goto bad;
	n = nt_get_be16(buf + NT_GOSSIP_HDR_LEN);
	blen = len - NT_GOSSIP_HDR_LEN - 2;
	switch (buf[1]) {
	case NT_GOSSIP_SUMMARY:
		if (blen != (size_t)n * NT_GOSSIP_SUMMARY_ITEM)
			goto bad;
		on_summary(g, p, body, n, now_ms);
		return 0;
	case NT_GOSSIP_WANT:
		if (blen != (size_t)n * 8)
			goto bad;
		on_want(g, p, body, n, now_ms);
		return 0;
	case NT_GOSSIP_ENTRIES:
	case NT_GOSSIP_PUSH:
		if (!records_are_framed(body, blen, n))
			goto bad;
		on_entries(g, p, body, n, buf[1] == NT_GOSSIP_PUSH, now_ms);
		return 0;
	}
bad:
	g->stats.rx_bad++;
	log_ratelimited(&g->rl_bad, NT_DBG_GOSSIP, "gossip: malformed message (%zu bytes) from peer %llu",
			len, (unsigned long long)peer);
	return -EBADMSG;
}

uint64_t nt_gossip_tick(struct nt_gossip *g, uint64_t now_ms)
{
	uint64_t next = now_ms + g->cfg.digest_interval_ms;

	nt_ledger_expire(g->l, now_ms);
	for (uint32_t i = 0; i < g->cfg.max_peers; i++) {
		struct peer *p = &g->peers[i];
		if (!p->used)
			continue;
		if (now_ms >= p->next_digest)
			send_digest(g, p, now_ms);
		next = NT_MIN(next, p->next_digest);
	}
	return next;
}

/* May be called from the ledger's change callback: it only reads the ledger. */
void nt_gossip_on_local_change(struct nt_gossip *g, const struct nt_ledger_entry *e,
			       uint64_t now_ms)
{
	struct msg *m = &g->fwd;

	msg_begin(m, NT_GOSSIP_PUSH);
	append_entry(g, m, 0, e);
	if (!m->n)
		return;
	nt_put_be16(m->buf + NT_GOSSIP_HDR_LEN, m->n);
	for (uint32_t i = 0; i < g->cfg.max_peers; i++)
		if (g->peers[i].used)
			emit(g, g->peers[i].handle, m->buf, m->len);
	for (uint32_t i = 0; i < g->cfg.max_peers; i++)
		if (g->peers[i].used)
			send_digest(g, &g->peers[i], now_ms);
	msg_begin(m, NT_GOSSIP_PUSH);
}

int nt_gossip_peer_add(struct nt_gossip *g, uint64_t peer)
{
	if (peer_find(g, peer))
		return -EEXIST;
	for (uint32_t i = 0; i < g->cfg.max_peers; i++) {
		struct peer *p = &g->peers[i];
		if (p->used)
			continue;
		*p = (struct peer){ .handle = peer, .used = true };
		return 0;
	}
	return -ENOSPC;
}

void nt_gossip_peer_remove(struct nt_gossip *g, uint64_t peer)
{
	struct peer *p = peer_find(g, peer);

	if (p)
		p->used = false;
}

bool nt_gossip_peer_has_summarized(const struct nt_gossip *g, uint64_t peer, uint64_t before)
{
	const struct peer *p = peer_find(g, peer);

	return p && (p->synced || (p->summary_rx_at && p->summary_rx_at <= before));
}

bool nt_gossip_peer_is_synced(const struct nt_gossip *g, uint64_t peer)
{
	const struct peer *p = peer_find(g, peer);

	return p && p->synced;
}

void nt_gossip_stats_get(const struct nt_gossip *g, struct nt_gossip_stats *out)
{
	*out = g->stats;
}

int nt_gossip_new(struct nt_gossip **out, struct nt_ledger *l, const struct nt_gossip_cfg *cfg)
{
	struct nt_gossip *g;
	uint8_t *bufs;

	if (!cfg->send)
		return -EINVAL;
	g = calloc(1, sizeof(*g));
	if (!g)
		return -ENOMEM;
	g->l = l;
	g->cfg = *cfg;
	if (!g->cfg.max_peers)
		g->cfg.max_peers = NT_GOSSIP_DEFAULT_MAX_PEERS;
	if (!g->cfg.max_msg)
		g->cfg.max_msg = NT_GOSSIP_DEFAULT_MAX_MSG;
	if (!g->cfg.digest_interval_ms)
		g->cfg.digest_interval_ms = NT_GOSSIP_DEFAULT_DIGEST_MS;
	if (!g->cfg.summary_interval_ms)
		g->cfg.summary_interval_ms = NT_GOSSIP_DEFAULT_SUMMARY_MS;
	if (!g->cfg.want_budget)
		g->cfg.want_budget = NT_GOSSIP_DEFAULT_WANT_BUDGET;
	if (!g->cfg.verify_budget)
		g->cfg.verify_budget = NT_GOSSIP_DEFAULT_VERIFY_BUDGET;
	if (!g->cfg.push_fanout)
		g->cfg.push_fanout = NT_GOSSIP_DEFAULT_FANOUT;
	/* The largest entry must fit one ENTRIES message; counts are u16. */
	if (g->cfg.max_msg < NT_GOSSIP_HDR_LEN + 2 + 2 + nt_ledger_entry_max_wire(l) ||
	    g->cfg.max_msg > 65535) {
		free(g);
		return -EINVAL;
	}
	g->peers = calloc(g->cfg.max_peers, sizeof(*g->peers));
	bufs = calloc(4, g->cfg.max_msg);
	if (!g->peers || !bufs) {
		free(bufs);
		free(g->peers);
		free(g);
		return -ENOMEM;
	}
	g->sum.buf = bufs;
	g->want.buf = bufs + g->cfg.max_msg;
	g->ent.buf = bufs + 2 * g->cfg.max_msg;
	g->fwd.buf = bufs + 3 * g->cfg.max_msg;
	msg_begin(&g->sum, NT_GOSSIP_SUMMARY);
	msg_begin(&g->want, NT_GOSSIP_WANT);
	msg_begin(&g->ent, NT_GOSSIP_ENTRIES);
	msg_begin(&g->fwd, NT_GOSSIP_PUSH);
	*out = g;
	return 0;
}

void nt_gossip_free(struct nt_gossip *g)
{
	if (!g)
		return;
	free(g->sum.buf);
	free(g->peers);
	free(g);
}
