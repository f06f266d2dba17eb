// SPDX-License-Identifier: MIT
/*
 * The Mainline DHT engine (BEP 5; BEP 32 for IPv6; BEP 42 IDs), sans-IO like jech/dht.
 *
 * It answers ping, find_node, get_peers and announce_peer for any node, within the rules
 * for answers to unproven sources (srclimit.h): rate-limited per source (IPv4 address or
 * IPv6 /64) and in total, and everything a query makes us send back to its source's IP at
 * most 4 times the query's size (answers are trimmed to fit, closest nodes first). It
 * keeps one routing table per family (dht_table.c), runs iterative lookups (dht_search.c)
 * for the info-hashes it is asked to find or announce, and stores the peers others
 * announce behind rotating tokens (dht_store.c). Our queries carry random 4-byte
 * transaction IDs and are matched on (tid, address); anything else is dropped and
 * counted. It learns its external address from the BEP 42 "ip" votes and derives its ID
 * from it. Every structure is allocated once in nt_dht_new() from the configured limits.
 *
 * This file decodes, dispatches, sends our queries and matches their answers, and drives
 * the lookups and the tables; the answers are written in dht_answer.c, the external
 * address is kept in dht_extaddr.c, and struct nt_dht is in dht_impl.h.
 */
#include "discovery/dht.h"

#include <arpa/inet.h>
#include <errno.h>
#include <sodium.h>
#include <stdlib.h>
#include <string.h>

#include "discovery/dht_answer.h"
#include "discovery/dht_extaddr.h"
#include "discovery/dht_impl.h"
#include "discovery/dht_rpc.h"
#include "discovery/dht_search.h"
#include "discovery/dht_store.h"
#include "discovery/dht_table.h"
#include "core/log.h"
#include "core/srclimit.h"

#ifndef NT_DHT_QUERY_TIMEOUT_MS
#define NT_DHT_QUERY_TIMEOUT_MS 2000 /* an unanswered query fails after this */
#endif
#ifndef NT_DHT_SEARCH_MAX_MS
#define NT_DHT_SEARCH_MAX_MS (60 * 1000) /* a lookup ends after this whatever happens */
#endif
#ifndef NT_DHT_MAINT_MS
#define NT_DHT_MAINT_MS 1000 /* table upkeep period */
#endif
#ifndef NT_DHT_SELF_LOOKUP_MS
#define NT_DHT_SELF_LOOKUP_MS (30 * 1000) /* gap between self lookups while the table is thin */
#endif

static const uint8_t version[4] = { 'N', 'T', 0, 1 };


static void default_rand(void *ctx, void *buf, size_t len)
{
	randombytes_buf(buf, len);
}

void nt_dht_rand_bytes(struct nt_dht *dht, void *buf, size_t len)
{
	dht->cfg.rand(dht->cfg.rand_ctx, buf, len);
}

struct family *nt_dht_family_of(struct nt_dht *dht, int af)
{
	struct family *f = af == AF_INET ? &dht->fam[0] : af == AF_INET6 ? &dht->fam[1] : NULL;

	return f && f->enabled ? f : NULL;
}

/* Searches are numbered: user lookups first, then one self lookup per family. */
static struct nt_dht_search *search_at(struct nt_dht *dht, int i)
{
	if (i < 0)
		return NULL;
	if ((size_t)i < dht->cfg.max_searches)
		return &dht->searches[i];
	if ((size_t)i - dht->cfg.max_searches < 2)
		return &dht->fam[(size_t)i - dht->cfg.max_searches].self_search;
	return NULL;
}

static size_t search_count(const struct nt_dht *dht)
{
	return dht->cfg.max_searches + 2;
}

/* The IP bytes of a (port ignored), for tokens, rate limits and votes. */
static size_t ip_bytes(const union nt_sockaddr *a, uint8_t out[16])
{
	if (a->sa.sa_family == AF_INET) {
		memcpy(out, &a->in4.sin_addr, 4);
		return 4;
	}
	memcpy(out, &a->in6.sin6_addr, 16);
	return 16;
}

bool nt_dht_same_ip(const union nt_sockaddr *a, const union nt_sockaddr *b)
{
	uint8_t x[16], y[16];
	size_t n;

	if (a->sa.sa_family != b->sa.sa_family)
		return false;
	n = ip_bytes(a, x);
	ip_bytes(b, y);
	return memcmp(x, y, n) == 0;
}

/*
 * Encodes dht->out into sendbuf for `to`: the length, or -ENOBUFS when it is over the
 * budget of the query being handled (when `to` is that query's source IP), or another
 * -errno from the encoder. Counts and logs nothing.
 */
ssize_t nt_dht_out_encode(struct nt_dht *dht, const union nt_sockaddr *to)
{
	ssize_t n = nt_krpc_encode(&dht->out, dht->sendbuf, sizeof(dht->sendbuf));

	if (n >= 0 && dht->in_query && nt_dht_same_ip(to, &dht->in_from) &&
	    (size_t)n > dht->in_budget)
		return -ENOBUFS;
	return n;
}

/* Counts a message nt_dht_out_encode() refused with err. */
static void count_unsent(struct nt_dht *dht, ssize_t err)
{
	if (err == -ENOBUFS && dht->in_query) {
		dht->st.dropped_oversize++;
		return;
	}
	dht->st.dropped_other++;
	log_ratelimited(&dht->rl_nospace, NT_DBG_DHT, "dht: cannot encode %s: %s",
			nt_krpc_method_name(dht->out.method), strerror((int)-err));
}

/* Sends the n bytes nt_dht_out_encode() left in sendbuf, charging the query's budget. */
static void out_send(struct nt_dht *dht, const union nt_sockaddr *to, size_t n)
{
	if (dht->in_query && nt_dht_same_ip(to, &dht->in_from))
		dht->in_budget -= n;
	dht->st.pkts_out++;
	dht->cfg.send(dht->cfg.ctx, dht->sendbuf, n, to);
}

/* Encodes and sends dht->out; false when it could not (counted). */
bool nt_dht_send_msg(struct nt_dht *dht, const union nt_sockaddr *to)
{
	ssize_t n = nt_dht_out_encode(dht, to);

	if (n < 0) {
		count_unsent(dht, n);
		return false;
	}
	out_send(dht, to, (size_t)n);
	return true;
}

void nt_dht_out_reset(struct nt_dht *dht, enum nt_krpc_type type)
{
	memset(&dht->out, 0, offsetof(struct nt_krpc_msg, values));
	dht->out.error_msg = NULL;
	dht->out.type = type;
	dht->out.has_v = true;
	memcpy(dht->out.v, version, sizeof(version));
	dht->out.has_id = true;
	memcpy(dht->out.id, dht->id, NT_DHT_ID_LEN);
}

/*
 * Sends a query and records it as pending. search is the lookup it belongs to (-1 for
 * none). -ENOBUFS when max_pending queries are already in flight.
 */
int nt_dht_send_query(struct nt_dht *dht, enum nt_krpc_method method, const union nt_sockaddr *to,
		      const uint8_t target[NT_DHT_ID_LEN], int search, const uint8_t *token,
		      size_t token_len, uint64_t now_ms)
{
	struct pending *p = NULL;
	struct family *f = nt_dht_family_of(dht, to->sa.sa_family);
	struct nt_dht_search *s = search_at(dht, search);
	struct nt_dht_node *n;
	ssize_t len;

	if (!f)
		return -EAFNOSUPPORT;
	for (size_t i = 0; i < dht->cfg.max_pending; i++) {
		if (!dht->pending[i].used) {
			p = &dht->pending[i];
			break;
		}
	}
	if (!p) {
		dht->st.dropped_other++;
		return -ENOBUFS;
	}
	memset(p, 0, sizeof(*p));
	p->method = (uint8_t)method;
	nt_dht_rand_bytes(dht, p->tid, TID_LEN);
	p->to = *to;
	p->sent_ms = now_ms;
	p->search = s ? search : -1;
	p->gen = s ? s->gen : 0;

	nt_dht_out_reset(dht, NT_KRPC_QUERY);
	dht->out.method = method;
	memcpy(dht->out.tid, p->tid, TID_LEN);
	dht->out.tid_len = TID_LEN;
	if (target)
		memcpy(dht->out.target, target, NT_DHT_ID_LEN);
	if (method == NT_KRPC_FIND_NODE || method == NT_KRPC_GET_PEERS)
		dht->out.want = to->sa.sa_family == AF_INET6 ? NT_KRPC_WANT_N6 : NT_KRPC_WANT_N4;
	if (method == NT_KRPC_ANNOUNCE_PEER) {
		dht->out.token = token;
		dht->out.token_len = token_len;
		dht->out.implied_port = true;
		dht->out.port = dht->cfg.port ? dht->cfg.port : 1;
	}
	/* A ping to the source of the query being answered must fit in what its budget left. */
	len = nt_dht_out_encode(dht, to);
	if (len < 0) {
		count_unsent(dht, len);
		return (int)len;
	}
	p->used = true;
	n = nt_dht_table_find_addr(&f->table, to);
	if (n)
		n->last_sent_ms = now_ms;
	out_send(dht, to, (size_t)len);
	return 0;
}

static void search_finish(struct nt_dht *dht, struct nt_dht_search *s, uint64_t now_ms)
{
	size_t live = 0, sent = 0;

	s->active = false;
	for (size_t i = 0; s->kind == NT_DHT_SEARCH_ANNOUNCE && i < s->n && live < NT_DHT_K; i++) {
		struct nt_dht_cand *c = &s->cand[i];
		if (c->state == NT_DHT_CAND_FAILED)
			continue;
		live++;
		if (c->state != NT_DHT_CAND_REPLIED || !c->token_len)
			continue;
		if (nt_dht_send_query(dht, NT_KRPC_ANNOUNCE_PEER, &c->addr, s->target, -1, c->token,
				      c->token_len, now_ms) == 0)
			sent++;
	}
	log_debug(NT_DBG_DHT, "dht: lookup done (%s, %u queries, %u replies, %zu announces)",
		  s->af == AF_INET6 ? "IPv6" : "IPv4", s->queries, s->replies, sent);
	if (s->kind != NT_DHT_SEARCH_FIND_NODE && dht->cfg.on_search_done)
		dht->cfg.on_search_done(dht->cfg.ctx, s->target, s->af, s->replies);
}

static void search_seed(struct nt_dht *dht, struct nt_dht_search *s, uint64_t now_ms)
{
	struct family *f = nt_dht_family_of(dht, s->af);
	struct nt_dht_node *near[NT_DHT_SEARCH_NODES];
	size_t n;

	if (!f)
		return;
	n = nt_dht_table_closest(&f->table, s->target, near, NT_DHT_SEARCH_NODES, now_ms);
	for (size_t i = 0; i < n; i++)
		nt_dht_search_add(s, near[i]->id, &near[i]->addr);
}

/* Sends what lookup i may send now, and finishes it when it is done or too old. */
static void search_step(struct nt_dht *dht, int i, uint64_t now_ms)
{
	struct nt_dht_search *s = search_at(dht, i);
	struct nt_dht_cand *c;
	enum nt_krpc_method m;

	if (!s || !s->active)
		return;
	if (now_ms - s->started_ms >= NT_DHT_SEARCH_MAX_MS) {
		search_finish(dht, s, now_ms);
		return;
	}
	if (s->n == 0)
		search_seed(dht, s, now_ms);
	if (s->n == 0)
		return; /* wait for the table to get nodes */
	m = s->kind == NT_DHT_SEARCH_FIND_NODE ? NT_KRPC_FIND_NODE : NT_KRPC_GET_PEERS;
	while ((c = nt_dht_search_next(s))) {
		if (nt_dht_send_query(dht, m, &c->addr, s->target, i, NULL, 0, now_ms) < 0) {
			c->state = NT_DHT_CAND_NEW; /* retried when a pending slot frees */
			s->queries--;
			break;
		}
	}
	if (nt_dht_search_is_done(s))
		search_finish(dht, s, now_ms);
}

static void learn_nodes(struct nt_dht *dht, const uint8_t *nodes, size_t len, int af,
			struct nt_dht_search *s, uint64_t now_ms)
{
	struct family *f = nt_dht_family_of(dht, af);
	uint8_t id[NT_DHT_ID_LEN];
	union nt_sockaddr a;

	if (!f)
		return;
	for (size_t i = 0; nt_krpc_node_get(nodes, len, af, i, id, &a); i++) {
		struct nt_dht_node *ping;
		if (memcmp(id, dht->id, NT_DHT_ID_LEN) == 0)
			continue;
		/*
		 * Ourselves under an ID we had before BEP 42 renamed us: other tables still
		 * list it, and a query to it would wait out its whole timeout.
		 */
		if (f->has_ext && nt_sockaddr_equal(&a, &f->ext))
			continue;
		nt_dht_table_insert(&f->table, id, &a, NT_DHT_SEEN_HEARD, now_ms, &ping);
		if (ping)
			nt_dht_send_query(dht, NT_KRPC_PING, &ping->addr, NULL, -1, NULL, 0,
					  now_ms);
		if (s && s->af == af)
			nt_dht_search_add(s, id, &a);
	}
}

static void handle_response(struct nt_dht *dht, const union nt_sockaddr *from, uint64_t now_ms)
{
	const struct nt_krpc_msg *r = &dht->in;
	struct family *f = nt_dht_family_of(dht, from->sa.sa_family);
	struct pending *p = NULL;
	struct nt_dht_search *s;
	struct nt_dht_node *ping;
	int si;

	if (r->tid_len == TID_LEN) {
		for (size_t i = 0; i < dht->cfg.max_pending && !p; i++)
			if (dht->pending[i].used && memcmp(dht->pending[i].tid, r->tid, TID_LEN) == 0 &&
			    nt_sockaddr_equal(&dht->pending[i].to, from))
				p = &dht->pending[i];
	}
	if (!p) {
		dht->st.dropped_unsolicited++;
		log_ratelimited(&dht->rl_unsolicited, NT_DBG_DHT, "dht: unsolicited response dropped");
		return;
	}
	p->used = false;
	si = p->search;
	s = search_at(dht, si);
	if (s && (!s->active || s->gen != p->gen))
		s = NULL;

	if (r->type == NT_KRPC_ERROR) {
		if (s) {
			nt_dht_search_failed(s, from);
			search_step(dht, si, now_ms);
		}
		return;
	}
	if (memcmp(r->id, dht->id, NT_DHT_ID_LEN) == 0) {
		dht->st.dropped_other++;
		return;
	}
	nt_dht_table_insert(&f->table, r->id, from, NT_DHT_SEEN_REPLY, now_ms, &ping);
	if (ping)
		nt_dht_send_query(dht, NT_KRPC_PING, &ping->addr, NULL, -1, NULL, 0, now_ms);
	if (r->has_ip)
		nt_dht_extaddr_vote(dht, f, from, &r->ip);
	if (r->nodes)
		learn_nodes(dht, r->nodes, r->nodes_len, AF_INET, s, now_ms);
	if (r->nodes6)
		learn_nodes(dht, r->nodes6, r->nodes6_len, AF_INET6, s, now_ms);
	if (!s)
		return;
	nt_dht_search_replied(s, from, r->id, r->token, r->token_len);
	if (r->n_values && s->kind != NT_DHT_SEARCH_FIND_NODE && dht->cfg.on_peers)
		dht->cfg.on_peers(dht->cfg.ctx, s->target, r->values, r->n_values);
	search_step(dht, si, now_ms);
}

/* v4-mapped IPv6 sources (a dual-stack socket) are IPv4 nodes. */
static void normalize(union nt_sockaddr *out, const union nt_sockaddr *in)
{
	*out = *in;
	if (in->sa.sa_family == AF_INET6 && IN6_IS_ADDR_V4MAPPED(&in->in6.sin6_addr)) {
		memset(out, 0, sizeof(*out));
		out->in4.sin_family = AF_INET;
		out->in4.sin_port = in->in6.sin6_port;
		memcpy(&out->in4.sin_addr, &in->in6.sin6_addr.s6_addr[12], 4);
	}
}

void nt_dht_input(struct nt_dht *dht, const uint8_t *buf, size_t len,
		  const union nt_sockaddr *from_raw, uint64_t now_ms)
{
	union nt_sockaddr from;
	int ret;

	normalize(&from, from_raw);
	dht->now_ms = NT_MAX(dht->now_ms, now_ms);
	dht->st.pkts_in++;
	if (!nt_dht_family_of(dht, from.sa.sa_family)) {
		dht->st.dropped_other++;
		return;
	}
	ret = nt_krpc_decode(&dht->in, buf, len);
	/*
	 * Whoever sent a query has proven nothing about its source address: everything the
	 * query makes us send there (the answer, a ping) fits in a few times its size.
	 */
	dht->in_query = dht->in.type == NT_KRPC_QUERY;
	dht->in_from = from;
	dht->in_budget = NT_SRCLIMIT_ANSWER_FACTOR * len;
	if (ret < 0) {
		dht->st.dropped_malformed++;
		log_ratelimited(&dht->rl_malformed, NT_DBG_DHT, "dht: malformed message: %s%s%s",
				nt_krpc_strerror(ret), ret == NT_KRPC_E_BENCODE ? ": " : "",
				ret == NT_KRPC_E_BENCODE ? nt_bencode_strerror(dht->in.bencode_err) : "");
		/* A query we could read enough of gets a protocol error, within the limits. */
		if (dht->in.type == NT_KRPC_QUERY && dht->in.tid_len && ret != NT_KRPC_E_BENCODE &&
		    nt_srclimit_allow(&dht->limit, &from, now_ms))
			nt_dht_answer_error(dht, &from, NT_KRPC_ERR_PROTOCOL,
					    nt_krpc_strerror(ret));
	} else if (dht->in.type == NT_KRPC_QUERY) {
		nt_dht_answer_query(dht, &from, now_ms);
	} else {
		handle_response(dht, &from, now_ms);
	}
	dht->in_query = false;
}

static void expire_pending(struct nt_dht *dht, uint64_t now_ms)
{
	for (size_t i = 0; i < dht->cfg.max_pending; i++) {
		struct pending *p = &dht->pending[i];
		struct family *f;
		struct nt_dht_search *s;
		if (!p->used || now_ms - p->sent_ms < NT_DHT_QUERY_TIMEOUT_MS)
			continue;
		p->used = false;
		dht->st.timeouts++;
		f = nt_dht_family_of(dht, p->to.sa.sa_family);
		if (f)
			nt_dht_table_failed(&f->table, &p->to, now_ms);
		s = search_at(dht, p->search);
		if (s && s->active && s->gen == p->gen) {
			nt_dht_search_failed(s, &p->to);
			search_step(dht, p->search, now_ms);
		}
	}
}

static void maintain_family(struct nt_dht *dht, size_t fi, uint64_t now_ms)
{
	struct family *f = &dht->fam[fi];
	struct nt_dht_node *n;
	uint8_t r[NT_DHT_ID_LEN], target[NT_DHT_ID_LEN];
	size_t good, dubious;

	nt_dht_table_count(&f->table, now_ms, &good, &dubious);
	/* A self lookup at start, after an ID change, and while the table is thin. */
	if (!f->self_search.active && good + dubious > 0 &&
	    (!f->self_search_ms ||
	     (good < NT_DHT_K &&
	      now_ms - f->self_search_ms >= NT_MAX(f->self_gap_ms, NT_DHT_SELF_LOOKUP_MS)))) {
		if (!f->self_search_ms || good > f->self_good)
			f->self_gap_ms = NT_DHT_SELF_LOOKUP_MS;
		else
			f->self_gap_ms = NT_MIN(2 * f->self_gap_ms, (uint64_t)NT_DHT_REFRESH_MS);
		f->self_good = good;
		nt_dht_search_init(&f->self_search, NT_DHT_SEARCH_FIND_NODE, f->af, dht->id,
				   ++dht->search_gen, now_ms);
		f->self_search_ms = now_ms;
		search_step(dht, (int)(dht->cfg.max_searches + fi), now_ms);
	}
	for (int k = 0; k < PINGS_PER_ROUND && (n = nt_dht_table_next_ping(&f->table, now_ms)); k++)
		if (nt_dht_send_query(dht, NT_KRPC_PING, &n->addr, NULL, -1, NULL, 0, now_ms) < 0)
			break;
	nt_dht_rand_bytes(dht, r, sizeof(r));
	if (nt_dht_table_next_refresh(&f->table, now_ms, r, target, &n))
		nt_dht_send_query(dht, NT_KRPC_FIND_NODE, &n->addr, target, -1, NULL, 0, now_ms);
}

uint64_t nt_dht_tick(struct nt_dht *dht, uint64_t now_ms)
{
	uint64_t next;

	dht->now_ms = NT_MAX(dht->now_ms, now_ms);
	expire_pending(dht, now_ms);
	if (now_ms - dht->store.secret_ms >= NT_DHT_SECRET_MS) {
		uint8_t fresh[NT_DHT_SECRET_LEN];
		nt_dht_rand_bytes(dht, fresh, sizeof(fresh));
		nt_dht_store_rotate(&dht->store, fresh, now_ms);
		sodium_memzero(fresh, sizeof(fresh));
	}
	if (now_ms >= dht->next_maint_ms) {
		dht->next_maint_ms = now_ms + NT_DHT_MAINT_MS;
		for (size_t i = 0; i < 2; i++)
			if (dht->fam[i].enabled)
				maintain_family(dht, i, now_ms);
		for (size_t i = 0; i < search_count(dht); i++)
			search_step(dht, (int)i, now_ms);
		nt_dht_store_expire(&dht->store, now_ms);
	}
	next = dht->next_maint_ms;
	for (size_t i = 0; i < dht->cfg.max_pending; i++)
		if (dht->pending[i].used)
			next = NT_MIN(next, dht->pending[i].sent_ms + NT_DHT_QUERY_TIMEOUT_MS);
	return NT_MAX(next, now_ms + 1);
}

int nt_dht_add_node(struct nt_dht *dht, const union nt_sockaddr *addr_raw, uint64_t now_ms)
{
	union nt_sockaddr addr;

	normalize(&addr, addr_raw);
	dht->now_ms = NT_MAX(dht->now_ms, now_ms);
	/* find_node of our own ID: the answer names the node and its neighbours of ours. */
	return nt_dht_send_query(dht, NT_KRPC_FIND_NODE, &addr, dht->id, -1, NULL, 0, now_ms);
}

static int start_search(struct nt_dht *dht, const uint8_t ih[NT_DHT_ID_LEN],
			enum nt_dht_search_kind kind, uint64_t now_ms)
{
	int started = 0, ret = -EAFNOSUPPORT;

	dht->now_ms = NT_MAX(dht->now_ms, now_ms);
	for (size_t fi = 0; fi < 2; fi++) {
		struct nt_dht_search *s = NULL, *free_slot = NULL;
		if (!dht->fam[fi].enabled)
			continue;
		for (size_t i = 0; i < dht->cfg.max_searches; i++) {
			struct nt_dht_search *c = &dht->searches[i];
			if (c->active && c->af == dht->fam[fi].af &&
			    memcmp(c->target, ih, NT_DHT_ID_LEN) == 0)
				s = c;
			else if (!c->active && !free_slot)
				free_slot = c;
		}
		if (s) {
			/* Already running: an announce request upgrades a plain lookup. */
			if (kind == NT_DHT_SEARCH_ANNOUNCE)
				s->kind = kind;
			started++;
			continue;
		}
		if (!free_slot) {
			ret = -EBUSY;
			continue;
		}
		nt_dht_search_init(free_slot, kind, dht->fam[fi].af, ih, ++dht->search_gen, now_ms);
		search_seed(dht, free_slot, now_ms);
		search_step(dht, (int)(free_slot - dht->searches), now_ms);
		started++;
	}
	return started ? 0 : ret;
}

int nt_dht_announce(struct nt_dht *dht, const uint8_t ih[20], uint64_t now_ms)
{
	return start_search(dht, ih, NT_DHT_SEARCH_ANNOUNCE, now_ms);
}

int nt_dht_search(struct nt_dht *dht, const uint8_t ih[20], uint64_t now_ms)
{
	return start_search(dht, ih, NT_DHT_SEARCH_GET_PEERS, now_ms);
}

void nt_dht_set_external_addr(struct nt_dht *dht, const union nt_sockaddr *addr_raw)
{
	union nt_sockaddr addr;
	struct family *f;

	normalize(&addr, addr_raw);
	f = nt_dht_family_of(dht, addr.sa.sa_family);
	if (f)
		nt_dht_extaddr_set(dht, f, &addr);
}

bool nt_dht_get_external_addr(const struct nt_dht *dht, int af, union nt_sockaddr *out)
{
	const struct family *f = af == AF_INET ? &dht->fam[0] : af == AF_INET6 ? &dht->fam[1] : NULL;

	if (!f || !f->enabled || !f->has_ext)
		return false;
	*out = f->ext;
	return true;
}

void nt_dht_get_id(const struct nt_dht *dht, uint8_t id[20])
{
	memcpy(id, dht->id, NT_DHT_ID_LEN);
}

void nt_dht_get_stats(const struct nt_dht *dht, struct nt_dht_stats *st)
{
	*st = dht->st;
	if (dht->fam[0].enabled) {
		nt_dht_table_count(&dht->fam[0].table, dht->now_ms, &st->good4, &st->dubious4);
		st->buckets4 = dht->fam[0].table.nbuckets;
	}
	if (dht->fam[1].enabled) {
		nt_dht_table_count(&dht->fam[1].table, dht->now_ms, &st->good6, &st->dubious6);
		st->buckets6 = dht->fam[1].table.nbuckets;
	}
	nt_dht_store_count(&dht->store, dht->now_ms, &st->stored_hashes, &st->stored_peers);
	for (size_t i = 0; i < dht->cfg.max_searches; i++)
		st->searches += dht->searches[i].active;
	st->searches += dht->fam[0].self_search.active + dht->fam[1].self_search.active;
	for (size_t i = 0; i < dht->cfg.max_pending; i++)
		st->pending += dht->pending[i].used;
}

int nt_dht_export_nodes(const struct nt_dht *dht, union nt_sockaddr *out, size_t max)
{
	size_t n = 0;

	for (size_t fi = 0; fi < 2; fi++) {
		const struct nt_dht_table *t = &dht->fam[fi].table;
		if (!dht->fam[fi].enabled)
			continue;
		for (size_t i = 0; i < t->nbuckets; i++)
			for (size_t j = 0; j < NT_DHT_K && n < max; j++)
				if (t->buckets[i].nodes[j].used &&
				    nt_dht_node_state(&t->buckets[i].nodes[j], dht->now_ms) ==
					    NT_DHT_NODE_GOOD)
					out[n++] = t->buckets[i].nodes[j].addr;
	}
	return (int)n;
}

static void apply_defaults(struct nt_dht_config *c)
{
	if (!c->rand)
		c->rand = default_rand;
	if (!c->max_nodes)
		c->max_nodes = 256;
	if (!c->max_hashes)
		c->max_hashes = 256;
	if (!c->max_peers)
		c->max_peers = 32;
	if (!c->max_searches)
		c->max_searches = 16;
	if (!c->max_pending)
		c->max_pending = 256;
	if (!c->rate_per_ip)
		c->rate_per_ip = 8;
	if (!c->rate_total)
		c->rate_total = 250;
}

int nt_dht_new(struct nt_dht **out, const struct nt_dht_config *cfg)
{
	uint8_t secrets[2 * NT_DHT_SECRET_LEN], key[NT_SRCLIMIT_KEY_LEN];
	struct nt_dht *dht;
	int ret;

	if (!cfg->send || (!cfg->ipv4 && !cfg->ipv6))
		return -EINVAL;
	if (sodium_init() < 0)
		return -EIO;
	dht = calloc(1, sizeof(*dht));
	if (!dht)
		return -ENOMEM;
	dht->cfg = *cfg;
	apply_defaults(&dht->cfg);
	if (cfg->id)
		memcpy(dht->id, cfg->id, NT_DHT_ID_LEN);
	else
		nt_dht_rand_bytes(dht, dht->id, NT_DHT_ID_LEN);
	dht->cfg.id = NULL;
	nt_dht_rand_bytes(dht, key, sizeof(key));
	ret = nt_srclimit_init(&dht->limit, key, dht->cfg.rate_per_ip,
			       NT_MIN(dht->cfg.rate_per_ip, UINT32_MAX / 4) * 4, dht->cfg.rate_total,
			       NT_MIN(dht->cfg.rate_total, UINT32_MAX / 2) * 2);
	sodium_memzero(key, sizeof(key));
	if (ret < 0) {
		free(dht);
		return ret;
	}
	dht->fam[0].af = AF_INET;
	dht->fam[1].af = AF_INET6;
	dht->fam[0].enabled = cfg->ipv4;
	dht->fam[1].enabled = cfg->ipv6;

	ret = -ENOMEM;
	dht->pending = calloc(dht->cfg.max_pending, sizeof(*dht->pending));
	dht->searches = calloc(dht->cfg.max_searches, sizeof(*dht->searches));
	if (!dht->pending || !dht->searches)
		goto err_arrays;
	nt_dht_rand_bytes(dht, secrets, sizeof(secrets));
	ret = nt_dht_store_init(&dht->store, dht->cfg.max_hashes, dht->cfg.max_peers, secrets);
	sodium_memzero(secrets, sizeof(secrets));
	if (ret < 0)
		goto err_arrays;
	for (size_t i = 0; i < 2; i++) {
		if (!dht->fam[i].enabled)
			continue;
		ret = nt_dht_table_init(&dht->fam[i].table, dht->fam[i].af, dht->id,
					dht->cfg.max_nodes);
		if (ret < 0)
			goto err_tables;
	}
	*out = dht;
	return 0;

err_tables:
	for (size_t i = 0; i < 2; i++)
		nt_dht_table_uninit(&dht->fam[i].table);
	nt_dht_store_uninit(&dht->store);
err_arrays:
	free(dht->pending);
	free(dht->searches);
	free(dht);
	return ret;
}

void nt_dht_free(struct nt_dht *dht)
{
	if (!dht)
		return;
	for (size_t i = 0; i < 2; i++)
		nt_dht_table_uninit(&dht->fam[i].table);
	nt_dht_store_uninit(&dht->store); /* wipes the token secrets */
	free(dht->pending);
	free(dht->searches);
	sodium_memzero(dht->limit.key, sizeof(dht->limit.key));
	free(dht);
}
