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
 */
#include "discovery/dht.h"

#include <arpa/inet.h>
#include <errno.h>
#include <sodium.h>
#include <stdlib.h>
#include <string.h>

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

enum {
	TID_LEN = 4,
	VOTES = 8, /* external address votes kept per family */
	VOTES_MIN = 3, /* agreeing votes needed, and a strict majority of those kept */
	PINGS_PER_ROUND = 2,
	VALUES4_MAX = 50, /* peers per get_peers answer, so it fits in one datagram */
	VALUES6_MAX = 25,
	SENDBUF = 1500,
};

static const uint8_t version[4] = { 'N', 'T', 0, 1 };

struct pending {
	bool used;
	uint8_t method; /* enum nt_krpc_method */
	uint8_t tid[TID_LEN];
	union nt_sockaddr to;
	uint64_t sent_ms;
	int search; /* index in searches[] (see search_at), -1 for none */
	uint32_t gen;
};

struct vote {
	union nt_sockaddr voter; /* the responder, port ignored */
	union nt_sockaddr seen; /* what it says our address is */
	bool used;
};

struct family {
	bool enabled;
	int af;
	struct nt_dht_table table;
	struct nt_dht_search self_search; /* find_node of our own ID, to fill the table */
	uint64_t self_search_ms; /* when the last one started; 0 never */
	bool has_ext;
	union nt_sockaddr ext;
	struct vote votes[VOTES];
	size_t vote_next;
};

struct nt_dht {
	struct nt_dht_config cfg; /* defaults filled in */
	uint8_t id[NT_DHT_ID_LEN];
	struct family fam[2]; /* IPv4, IPv6 */
	struct pending *pending;
	struct nt_dht_search *searches; /* cfg.max_searches */
	uint32_t search_gen;
	struct nt_dht_store store; /* peers announced to us, and the tokens for it */
	struct nt_srclimit limit; /* answers per source and in all */
	/*
	 * While a query is handled: its source, and how many more bytes its size allows us
	 * to send to that IP (NT_SRCLIMIT_ANSWER_FACTOR times the query).
	 */
	bool in_query;
	union nt_sockaddr in_from;
	size_t in_budget;
	uint64_t next_maint_ms;
	uint64_t now_ms; /* latest time seen */
	struct nt_dht_stats st;
	struct nt_krpc_msg in; /* decoded input */
	struct nt_krpc_msg out; /* message being encoded */
	uint8_t nodes4[NT_DHT_K * NT_KRPC_NODE4_LEN];
	uint8_t nodes6[NT_DHT_K * NT_KRPC_NODE6_LEN];
	uint8_t sendbuf[SENDBUF];
};

static struct nt_ratelimit rl_malformed, rl_unsolicited, rl_limit, rl_nospace;

static void default_rand(void *ctx, void *buf, size_t len)
{
	randombytes_buf(buf, len);
}

static void rnd(struct nt_dht *dht, void *buf, size_t len)
{
	dht->cfg.rand(dht->cfg.rand_ctx, buf, len);
}

static struct family *fam_of(struct nt_dht *dht, int af)
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

static bool same_ip(const union nt_sockaddr *a, const union nt_sockaddr *b)
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
static ssize_t out_encode(struct nt_dht *dht, const union nt_sockaddr *to)
{
	ssize_t n = nt_krpc_encode(&dht->out, dht->sendbuf, sizeof(dht->sendbuf));

	if (n >= 0 && dht->in_query && same_ip(to, &dht->in_from) && (size_t)n > dht->in_budget)
		return -ENOBUFS;
	return n;
}

/* Counts a message out_encode() refused with err. */
static void count_unsent(struct nt_dht *dht, ssize_t err)
{
	if (err == -ENOBUFS && dht->in_query) {
		dht->st.dropped_oversize++;
		return;
	}
	dht->st.dropped_other++;
	log_ratelimited(&rl_nospace, NT_DBG_DHT, "dht: cannot encode %s: %s",
			nt_krpc_method_name(dht->out.method), strerror((int)-err));
}

/* Sends the n bytes out_encode() left in sendbuf, charging the query's budget. */
static void out_send(struct nt_dht *dht, const union nt_sockaddr *to, size_t n)
{
	if (dht->in_query && same_ip(to, &dht->in_from))
		dht->in_budget -= n;
	dht->st.pkts_out++;
	dht->cfg.send(dht->cfg.ctx, dht->sendbuf, n, to);
}

/* Encodes and sends dht->out; false when it could not (counted). */
static bool send_msg(struct nt_dht *dht, const union nt_sockaddr *to)
{
	ssize_t n = out_encode(dht, to);

	if (n < 0) {
		count_unsent(dht, n);
		return false;
	}
	out_send(dht, to, (size_t)n);
	return true;
}

static void out_reset(struct nt_dht *dht, enum nt_krpc_type type)
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
static int send_query(struct nt_dht *dht, enum nt_krpc_method method, const union nt_sockaddr *to,
		      const uint8_t target[NT_DHT_ID_LEN], int search, const uint8_t *token,
		      size_t token_len, uint64_t now_ms)
{
	struct pending *p = NULL;
	struct family *f = fam_of(dht, to->sa.sa_family);
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
	rnd(dht, p->tid, TID_LEN);
	p->to = *to;
	p->sent_ms = now_ms;
	p->search = s ? search : -1;
	p->gen = s ? s->gen : 0;

	out_reset(dht, NT_KRPC_QUERY);
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
	len = out_encode(dht, to);
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

/* An error answer; its text goes when the whole would not fit in the query's budget. */
static bool send_error(struct nt_dht *dht, const union nt_sockaddr *to, int code, const char *text)
{
	out_reset(dht, NT_KRPC_ERROR);
	dht->out.has_id = false;
	memcpy(dht->out.tid, dht->in.tid, dht->in.tid_len);
	dht->out.tid_len = dht->in.tid_len;
	dht->out.error_code = code;
	dht->out.error_msg = (const uint8_t *)text;
	dht->out.error_msg_len = strlen(text);
	dht->out.has_ip = true;
	dht->out.ip = *to;
	if (out_encode(dht, to) == -ENOBUFS)
		dht->out.error_msg_len = 0;
	return send_msg(dht, to);
}

/* Compact node infos of the K nodes of family f closest to target, into buf. */
static size_t closest_nodes(struct nt_dht *dht, struct family *f,
			    const uint8_t target[NT_DHT_ID_LEN], uint8_t *buf, uint64_t now_ms)
{
	struct nt_dht_node *near[NT_DHT_K];
	size_t n = nt_dht_table_closest(&f->table, target, near, NT_DHT_K, now_ms), len = 0;

	for (size_t i = 0; i < n; i++)
		len += nt_krpc_node_put(buf + len, near[i]->id, &near[i]->addr);
	return len;
}

/* How much longer a bencoded string of n bytes is than an empty one ("0:"). */
static size_t str_growth(size_t n)
{
	size_t extra_digits = 0;

	for (size_t v = n; v >= 10; v /= 10)
		extra_digits++;
	return extra_digits + n;
}

/*
 * Keeps the first (closest) of `count` compact node infos of `each` bytes that fit in
 * *room more bytes of answer, in *len.
 */
static void fit_nodes(size_t *room, size_t *len, size_t count, size_t each)
{
	size_t k = count;

	while (k > 0 && str_growth(k * each) > *room)
		k--;
	*len = k * each;
	*room -= str_growth(*len);
}

/*
 * Trims the answer in dht->out, whose nodes and values are gathered but not yet counted,
 * to the budget of the query: the closest nodes of the requester's family first, then as
 * many values as fit, then the closest nodes of the other family (BEP 32 `want`). An
 * answer whose bare frame is already too big is left for send_msg() to refuse.
 */
static void fit_answer(struct nt_dht *dht, int af, size_t n4, size_t n6, size_t nv)
{
	size_t peer = af == AF_INET6 ? NT_KRPC_PEER6_LEN : NT_KRPC_PEER4_LEN;
	size_t per_value = 2 + str_growth(peer); /* "6:" + 6 bytes, "18:" + 18 */
	size_t values_frame = 10; /* "6:values" "l" ... "e" */
	size_t room, k = 0;
	ssize_t base;

	dht->out.nodes_len = dht->out.nodes6_len = 0;
	dht->out.n_values = 0;
	base = nt_krpc_encode(&dht->out, dht->sendbuf, sizeof(dht->sendbuf));
	if (base < 0 || (size_t)base > dht->in_budget)
		return;
	room = dht->in_budget - (size_t)base;
	if (af == AF_INET6)
		fit_nodes(&room, &dht->out.nodes6_len, n6, NT_KRPC_NODE6_LEN);
	else
		fit_nodes(&room, &dht->out.nodes_len, n4, NT_KRPC_NODE4_LEN);
	if (nv && room >= values_frame + per_value)
		k = NT_MIN(nv, (room - values_frame) / per_value);
	dht->out.n_values = k;
	room -= k ? values_frame + k * per_value : 0;
	if (af == AF_INET6)
		fit_nodes(&room, &dht->out.nodes_len, n4, NT_KRPC_NODE4_LEN);
	else
		fit_nodes(&room, &dht->out.nodes6_len, n6, NT_KRPC_NODE6_LEN);
}

static void reply_query(struct nt_dht *dht, const union nt_sockaddr *from, uint64_t now_ms)
{
	const struct nt_krpc_msg *q = &dht->in;
	unsigned int want = q->want;
	uint8_t token[NT_DHT_TOKEN_LEN];
	size_t n4 = 0, n6 = 0, nv = 0;
	struct family *f;

	out_reset(dht, NT_KRPC_RESPONSE);
	memcpy(dht->out.tid, q->tid, q->tid_len);
	dht->out.tid_len = q->tid_len;
	dht->out.has_ip = true;
	dht->out.ip = *from;

	if (q->method == NT_KRPC_FIND_NODE || q->method == NT_KRPC_GET_PEERS) {
		if (!(want & (NT_KRPC_WANT_N4 | NT_KRPC_WANT_N6)))
			want = from->sa.sa_family == AF_INET6 ? NT_KRPC_WANT_N6 : NT_KRPC_WANT_N4;
		if ((want & NT_KRPC_WANT_N4) && (f = fam_of(dht, AF_INET))) {
			dht->out.nodes = dht->nodes4;
			n4 = closest_nodes(dht, f, q->target, dht->nodes4, now_ms) /
			     NT_KRPC_NODE4_LEN;
		}
		if ((want & NT_KRPC_WANT_N6) && (f = fam_of(dht, AF_INET6))) {
			dht->out.nodes6 = dht->nodes6;
			n6 = closest_nodes(dht, f, q->target, dht->nodes6, now_ms) /
			     NT_KRPC_NODE6_LEN;
		}
	}
	if (q->method == NT_KRPC_GET_PEERS) {
		size_t max = from->sa.sa_family == AF_INET6 ? VALUES6_MAX : VALUES4_MAX;
		uint32_t first;
		nt_dht_store_token(&dht->store, from, token);
		dht->out.token = token;
		dht->out.token_len = NT_DHT_TOKEN_LEN;
		/* From a random peer on, so that answers too small for all show different ones. */
		rnd(dht, &first, sizeof(first));
		nv = nt_dht_store_get(&dht->store, q->target, from->sa.sa_family, dht->out.values,
				      max, first, now_ms);
	}
	if (q->method == NT_KRPC_ANNOUNCE_PEER) {
		union nt_sockaddr peer = *from;
		if (!nt_dht_store_token_ok(&dht->store, from, q->token, q->token_len)) {
			dht->st.bad_tokens++;
			send_error(dht, from, NT_KRPC_ERR_PROTOCOL, "bad token");
			return;
		}
		/* implied_port: the source port is the one to use, as a NAT mapped it. */
		if (!q->implied_port) {
			if (peer.sa.sa_family == AF_INET)
				peer.in4.sin_port = htons(q->port);
			else
				peer.in6.sin6_port = htons(q->port);
		}
		if (nt_dht_store_add(&dht->store, q->target, &peer, now_ms))
			dht->st.announces_stored++;
		else
			dht->st.dropped_other++;
	}
	fit_answer(dht, from->sa.sa_family, n4, n6, nv);
	if (send_msg(dht, from))
		dht->st.queries_answered++;
}

static void handle_query(struct nt_dht *dht, const union nt_sockaddr *from, uint64_t now_ms)
{
	struct family *f = fam_of(dht, from->sa.sa_family);
	struct nt_dht_node *ping = NULL;

	if (!nt_srclimit_allow(&dht->limit, from, now_ms)) {
		dht->st.dropped_ratelimit++;
		log_ratelimited(&rl_limit, NT_DBG_DHT, "dht: rate limit, query not answered");
		return;
	}
	if (memcmp(dht->in.id, dht->id, NT_DHT_ID_LEN) == 0) {
		dht->st.dropped_other++;
		return;
	}
	if (!dht->in.ro)
		nt_dht_table_insert(&f->table, dht->in.id, from, NT_DHT_SEEN_QUERY, now_ms, &ping);
	if (dht->in.method == NT_KRPC_UNKNOWN) {
		if (send_error(dht, from, NT_KRPC_ERR_METHOD, "method unknown"))
			dht->st.queries_answered++;
	} else {
		reply_query(dht, from, now_ms);
	}
	/*
	 * After the answer: when the node to check is the querier itself (its address came
	 * back with another ID), the ping is sent only if it fits in what the answer left.
	 */
	if (ping)
		send_query(dht, NT_KRPC_PING, &ping->addr, NULL, -1, NULL, 0, now_ms);
}

static int ext_family_index(const struct nt_dht *dht)
{
	if (dht->fam[0].enabled && dht->fam[0].has_ext)
		return 0;
	if (dht->fam[1].enabled && dht->fam[1].has_ext)
		return 1;
	return -1;
}

/* BEP 42: derive our ID from the external IP (IPv4 when known), and re-file the tables. */
static void regen_id(struct nt_dht *dht)
{
	uint8_t r[NT_DHT_ID_LEN];
	char hex[9];
	int i = ext_family_index(dht);

	if (i < 0 || nt_dht_id_is_bep42(dht->id, &dht->fam[i].ext))
		return;
	rnd(dht, r, sizeof(r));
	nt_dht_id_bep42(dht->id, &dht->fam[i].ext, r);
	/* Re-file under the new ID, and introduce it to our new neighbours soon. */
	for (size_t k = 0; k < 2; k++) {
		if (!dht->fam[k].enabled)
			continue;
		nt_dht_table_set_self(&dht->fam[k].table, dht->id);
		dht->fam[k].self_search_ms = 0;
		dht->fam[k].self_search.active = false;
	}
	dht->next_maint_ms = 0;
	nt_hex_encode(hex, dht->id, 4);
	log_debug(NT_DBG_DHT, "dht: new BEP 42 node id %s...", hex);
}

static void set_ext(struct nt_dht *dht, struct family *f, const union nt_sockaddr *a)
{
	char buf[NT_SOCKADDR_STRLEN];
	bool ip_changed = !f->has_ext || !same_ip(&f->ext, a);

	if (f->has_ext && nt_sockaddr_equal(&f->ext, a))
		return;
	f->ext = *a;
	f->has_ext = true;
	if (ip_changed) {
		log_info("dht: external address %s", nt_sockaddr_format(a, buf, sizeof(buf)));
		regen_id(dht);
	}
}

/*
 * BEP 42 "ip" from a response to our query: one vote per responder IP among the last
 * VOTES; an IP reported by at least VOTES_MIN of them and by a strict majority wins,
 * with the port of its latest vote.
 */
static void vote_ext(struct nt_dht *dht, struct family *f, const union nt_sockaddr *voter,
		     const union nt_sockaddr *seen)
{
	struct vote *v = NULL;
	size_t filled = 0;

	if (seen->sa.sa_family != f->af)
		return;
	for (size_t i = 0; i < VOTES; i++)
		if (f->votes[i].used && same_ip(&f->votes[i].voter, voter))
			v = &f->votes[i];
	if (!v) {
		v = &f->votes[f->vote_next];
		f->vote_next = (f->vote_next + 1) % VOTES;
	}
	v->voter = *voter;
	v->seen = *seen;
	v->used = true;
	for (size_t i = 0; i < VOTES; i++)
		filled += f->votes[i].used;
	size_t agree = 0;
	for (size_t i = 0; i < VOTES; i++)
		agree += f->votes[i].used && same_ip(&f->votes[i].seen, seen);
	if (agree >= VOTES_MIN && agree * 2 > filled)
		set_ext(dht, f, seen);
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
		if (send_query(dht, NT_KRPC_ANNOUNCE_PEER, &c->addr, s->target, -1, c->token,
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
	struct family *f = fam_of(dht, s->af);
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
		if (send_query(dht, m, &c->addr, s->target, i, NULL, 0, now_ms) < 0) {
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
	struct family *f = fam_of(dht, af);
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
			send_query(dht, NT_KRPC_PING, &ping->addr, NULL, -1, NULL, 0, now_ms);
		if (s && s->af == af)
			nt_dht_search_add(s, id, &a);
	}
}

static void handle_response(struct nt_dht *dht, const union nt_sockaddr *from, uint64_t now_ms)
{
	const struct nt_krpc_msg *r = &dht->in;
	struct family *f = fam_of(dht, from->sa.sa_family);
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
		log_ratelimited(&rl_unsolicited, NT_DBG_DHT, "dht: unsolicited response dropped");
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
		send_query(dht, NT_KRPC_PING, &ping->addr, NULL, -1, NULL, 0, now_ms);
	if (r->has_ip)
		vote_ext(dht, f, from, &r->ip);
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
	if (!fam_of(dht, from.sa.sa_family)) {
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
		log_ratelimited(&rl_malformed, NT_DBG_DHT, "dht: malformed message: %s%s%s",
				nt_krpc_strerror(ret), ret == NT_KRPC_E_BENCODE ? ": " : "",
				ret == NT_KRPC_E_BENCODE ? nt_bencode_strerror(dht->in.bencode_err) : "");
		/* A query we could read enough of gets a protocol error, within the limits. */
		if (dht->in.type == NT_KRPC_QUERY && dht->in.tid_len && ret != NT_KRPC_E_BENCODE &&
		    nt_srclimit_allow(&dht->limit, &from, now_ms))
			send_error(dht, &from, NT_KRPC_ERR_PROTOCOL, nt_krpc_strerror(ret));
	} else if (dht->in.type == NT_KRPC_QUERY) {
		handle_query(dht, &from, now_ms);
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
		f = fam_of(dht, p->to.sa.sa_family);
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
	     (good < NT_DHT_K && now_ms - f->self_search_ms >= NT_DHT_SELF_LOOKUP_MS))) {
		nt_dht_search_init(&f->self_search, NT_DHT_SEARCH_FIND_NODE, f->af, dht->id,
				   ++dht->search_gen, now_ms);
		f->self_search_ms = now_ms;
		search_step(dht, (int)(dht->cfg.max_searches + fi), now_ms);
	}
	for (int k = 0; k < PINGS_PER_ROUND && (n = nt_dht_table_next_ping(&f->table, now_ms)); k++)
		if (send_query(dht, NT_KRPC_PING, &n->addr, NULL, -1, NULL, 0, now_ms) < 0)
			break;
	rnd(dht, r, sizeof(r));
	if (nt_dht_table_next_refresh(&f->table, now_ms, r, target, &n))
		send_query(dht, NT_KRPC_FIND_NODE, &n->addr, target, -1, NULL, 0, now_ms);
}

uint64_t nt_dht_tick(struct nt_dht *dht, uint64_t now_ms)
{
	uint64_t next;

	dht->now_ms = NT_MAX(dht->now_ms, now_ms);
	expire_pending(dht, now_ms);
	if (now_ms - dht->store.secret_ms >= NT_DHT_SECRET_MS) {
		uint8_t fresh[NT_DHT_SECRET_LEN];
		rnd(dht, fresh, sizeof(fresh));
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
	return send_query(dht, NT_KRPC_FIND_NODE, &addr, dht->id, -1, NULL, 0, now_ms);
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
	f = fam_of(dht, addr.sa.sa_family);
	if (f)
		set_ext(dht, f, &addr);
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
		rnd(dht, dht->id, NT_DHT_ID_LEN);
	dht->cfg.id = NULL;
	rnd(dht, key, sizeof(key));
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
	rnd(dht, secrets, sizeof(secrets));
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
