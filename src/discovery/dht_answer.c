// SPDX-License-Identifier: MIT
/*
 * Answering queries (BEP 5 ping, find_node, get_peers, announce_peer; BEP 32 `want`; the
 * BEP 42 "ip" of the requester in every answer), for any node, within the rules for
 * answers to unproven sources (srclimit.h): rate-limited per source and in total, and
 * everything a query makes us send back to its source's IP at most 4 times the query's
 * size, so answers are trimmed to fit, the closest nodes first.
 */
#include "discovery/dht_answer.h"

#include <arpa/inet.h>
#include <errno.h>
#include <string.h>

#include "core/log.h"
#include "core/srclimit.h"
#include "discovery/dht_impl.h"


/* An error answer; its text goes when the whole would not fit in the query's budget. */
bool nt_dht_answer_error(struct nt_dht *dht, const union nt_sockaddr *to, int code,
			 const char *text)
{
	nt_dht_out_reset(dht, NT_KRPC_ERROR);
	dht->out.has_id = false;
	memcpy(dht->out.tid, dht->in.tid, dht->in.tid_len);
	dht->out.tid_len = dht->in.tid_len;
	dht->out.error_code = code;
	dht->out.error_msg = (const uint8_t *)text;
	dht->out.error_msg_len = strlen(text);
	dht->out.has_ip = true;
	dht->out.ip = *to;
	if (nt_dht_out_encode(dht, to) == -ENOBUFS)
		dht->out.error_msg_len = 0;
	return nt_dht_send_msg(dht, to);
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
 * answer whose bare frame is already too big is left for nt_dht_send_msg() to refuse.
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

	nt_dht_out_reset(dht, NT_KRPC_RESPONSE);
	memcpy(dht->out.tid, q->tid, q->tid_len);
	dht->out.tid_len = q->tid_len;
	dht->out.has_ip = true;
	dht->out.ip = *from;

	if (q->method == NT_KRPC_FIND_NODE || q->method == NT_KRPC_GET_PEERS) {
		if (!(want & (NT_KRPC_WANT_N4 | NT_KRPC_WANT_N6)))
			want = from->sa.sa_family == AF_INET6 ? NT_KRPC_WANT_N6 : NT_KRPC_WANT_N4;
		if ((want & NT_KRPC_WANT_N4) && (f = nt_dht_family_of(dht, AF_INET))) {
			dht->out.nodes = dht->nodes4;
			n4 = closest_nodes(dht, f, q->target, dht->nodes4, now_ms) /
			     NT_KRPC_NODE4_LEN;
		}
		if ((want & NT_KRPC_WANT_N6) && (f = nt_dht_family_of(dht, AF_INET6))) {
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
		nt_dht_rand_bytes(dht, &first, sizeof(first));
		nv = nt_dht_store_get(&dht->store, q->target, from->sa.sa_family, dht->out.values,
				      max, first, now_ms);
	}
	if (q->method == NT_KRPC_ANNOUNCE_PEER) {
		union nt_sockaddr peer = *from;
		if (!nt_dht_store_token_ok(&dht->store, from, q->token, q->token_len)) {
			dht->st.bad_tokens++;
			nt_dht_answer_error(dht, from, NT_KRPC_ERR_PROTOCOL, "bad token");
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
	if (nt_dht_send_msg(dht, from))
		dht->st.queries_answered++;
}

void nt_dht_answer_query(struct nt_dht *dht, const union nt_sockaddr *from, uint64_t now_ms)
{
	struct family *f = nt_dht_family_of(dht, from->sa.sa_family);
	struct nt_dht_node *ping = NULL;

	if (!nt_srclimit_allow(&dht->limit, from, now_ms)) {
		dht->st.dropped_ratelimit++;
		log_ratelimited(&dht->rl_limit, NT_DBG_DHT, "dht: rate limit, query not answered");
		return;
	}
	if (memcmp(dht->in.id, dht->id, NT_DHT_ID_LEN) == 0) {
		dht->st.dropped_other++;
		return;
	}
	if (!dht->in.ro)
		nt_dht_table_insert(&f->table, dht->in.id, from, NT_DHT_SEEN_QUERY, now_ms, &ping);
	if (dht->in.method == NT_KRPC_UNKNOWN) {
		if (nt_dht_answer_error(dht, from, NT_KRPC_ERR_METHOD, "method unknown"))
			dht->st.queries_answered++;
	} else {
		reply_query(dht, from, now_ms);
	}
	/*
	 * After the answer: when the node to check is the querier itself (its address came
	 * back with another ID), the ping is sent only if it fits in what the answer left.
	 */
	if (ping)
		nt_dht_send_query(dht, NT_KRPC_PING, &ping->addr, NULL, -1, NULL, 0, now_ms);
}
