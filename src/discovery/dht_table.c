// SPDX-License-Identifier: MIT
/*
 * Kademlia routing table (BEP 5) for one address family, and BEP 42 node IDs.
 *
 * k = NT_DHT_K nodes per bucket. A node is good if it answered one of our queries in
 * the last 15 minutes, or answered once and has queried us in the last 15 minutes;
 * questionable after that; bad after NT_DHT_BAD_FAILS unanswered queries in a row (one
 * for a node that never answered). A full bucket splits only if it covers our own ID;
 * otherwise a bad node is replaced, or the newcomer waits as the bucket's replacement
 * while the least recently seen questionable node is pinged. Private and reserved
 * addresses are accepted on purpose: Netron test networks live on them.
 */
#include "discovery/dht_table.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

int nt_dht_id_closer(const uint8_t target[NT_DHT_ID_LEN], const uint8_t a[NT_DHT_ID_LEN],
		     const uint8_t b[NT_DHT_ID_LEN])
{
	for (size_t i = 0; i < NT_DHT_ID_LEN; i++) {
		uint8_t da = a[i] ^ target[i], db = b[i] ^ target[i];
		if (da != db)
			return da < db ? -1 : 1;
	}
	return 0;
}

unsigned int nt_dht_id_common_bits(const uint8_t a[NT_DHT_ID_LEN], const uint8_t b[NT_DHT_ID_LEN])
{
	for (size_t i = 0; i < NT_DHT_ID_LEN; i++) {
		uint8_t x = a[i] ^ b[i];
		if (x)
			return (unsigned int)(i * 8) + (unsigned int)__builtin_clz(x) - 24;
	}
	return NT_DHT_ID_LEN * 8;
}

uint32_t nt_dht_crc32c(const uint8_t *p, size_t len)
{
	uint32_t crc = 0xffffffffU;

	while (len--) {
		crc ^= *p++;
		for (int k = 0; k < 8; k++)
			crc = (crc >> 1) ^ (0x82f63b78U & (0U - (crc & 1)));
	}
	return ~crc;
}

/* crc32c of the masked external IP with r mixed in, per BEP 42. */
static bool bep42_crc(const union nt_sockaddr *ip, uint8_t r, uint32_t *crc)
{
	static const uint8_t mask6[8] = { 0x01, 0x03, 0x07, 0x0f, 0x1f, 0x3f, 0x7f, 0xff };
	uint8_t buf[8];

	if (ip->sa.sa_family == AF_INET) {
		uint32_t v = (ntohl(ip->in4.sin_addr.s_addr) & 0x030f3fffU) | ((uint32_t)r << 29);
		buf[0] = (uint8_t)(v >> 24);
		buf[1] = (uint8_t)(v >> 16);
		buf[2] = (uint8_t)(v >> 8);
		buf[3] = (uint8_t)v;
		*crc = nt_dht_crc32c(buf, 4);
		return true;
	}
	if (ip->sa.sa_family == AF_INET6) {
		for (size_t i = 0; i < 8; i++)
			buf[i] = ip->in6.sin6_addr.s6_addr[i] & mask6[i];
		buf[0] |= (uint8_t)(r << 5);
		*crc = nt_dht_crc32c(buf, 8);
		return true;
	}
	return false;
}

bool nt_dht_id_bep42(uint8_t id[NT_DHT_ID_LEN], const union nt_sockaddr *ip,
		     const uint8_t rnd[NT_DHT_ID_LEN])
{
	uint32_t crc;

	if (!bep42_crc(ip, rnd[19] & 7, &crc))
		return false;
	memcpy(id, rnd, NT_DHT_ID_LEN);
	id[0] = (uint8_t)(crc >> 24);
	id[1] = (uint8_t)(crc >> 16);
	id[2] = (uint8_t)(((crc >> 8) & 0xf8) | (rnd[2] & 7));
	return true;
}

bool nt_dht_id_is_bep42(const uint8_t id[NT_DHT_ID_LEN], const union nt_sockaddr *ip)
{
	uint32_t crc;

	if (!bep42_crc(ip, id[19] & 7, &crc))
		return false;
	return id[0] == (uint8_t)(crc >> 24) && id[1] == (uint8_t)(crc >> 16) &&
	       (id[2] & 0xf8) == ((crc >> 8) & 0xf8);
}

int nt_dht_table_init(struct nt_dht_table *t, int af, const uint8_t self[NT_DHT_ID_LEN],
		      size_t max_nodes)
{
	memset(t, 0, sizeof(*t));
	t->af = af;
	memcpy(t->self, self, NT_DHT_ID_LEN);
	t->max_buckets = max_nodes / NT_DHT_K;
	if (t->max_buckets < 1)
		t->max_buckets = 1;
	if (t->max_buckets > NT_DHT_ID_LEN * 8)
		t->max_buckets = NT_DHT_ID_LEN * 8;
	t->nbuckets = 1;
	t->buckets = calloc(t->max_buckets, sizeof(*t->buckets));
	if (!t->buckets)
		goto err;
	t->scratch = calloc(t->max_buckets * NT_DHT_K, sizeof(*t->scratch));
	if (!t->scratch)
		goto err_buckets;
	return 0;
err_buckets:
	free(t->buckets);
	t->buckets = NULL;
err:
	return -ENOMEM;
}

void nt_dht_table_uninit(struct nt_dht_table *t)
{
	free(t->buckets);
	free(t->scratch);
	t->buckets = NULL;
	t->scratch = NULL;
}

enum nt_dht_node_state nt_dht_node_state(const struct nt_dht_node *n, uint64_t now_ms)
{
	if (n->fails >= NT_DHT_BAD_FAILS || (n->fails && !n->last_reply_ms))
		return NT_DHT_NODE_BAD;
	if (n->last_reply_ms && now_ms - n->last_reply_ms < NT_DHT_GOOD_MS)
		return NT_DHT_NODE_GOOD;
	if (n->last_reply_ms && n->last_query_ms && now_ms - n->last_query_ms < NT_DHT_GOOD_MS)
		return NT_DHT_NODE_GOOD;
	return NT_DHT_NODE_QUESTIONABLE;
}

size_t nt_dht_table_bucket_of(const struct nt_dht_table *t, const uint8_t id[NT_DHT_ID_LEN])
{
	size_t b = nt_dht_id_common_bits(t->self, id);

	return b < t->nbuckets - 1 ? b : t->nbuckets - 1;
}

static struct nt_dht_node *find_id(struct nt_dht_table *t, const uint8_t id[NT_DHT_ID_LEN])
{
	struct nt_dht_bucket *b = &t->buckets[nt_dht_table_bucket_of(t, id)];

	for (size_t i = 0; i < NT_DHT_K; i++)
		if (b->nodes[i].used && memcmp(b->nodes[i].id, id, NT_DHT_ID_LEN) == 0)
			return &b->nodes[i];
	return NULL;
}

struct nt_dht_node *nt_dht_table_find_addr(struct nt_dht_table *t, const union nt_sockaddr *addr)
{
	for (size_t i = 0; i < t->nbuckets; i++)
		for (size_t j = 0; j < NT_DHT_K; j++)
			if (t->buckets[i].nodes[j].used &&
			    nt_sockaddr_equal(&t->buckets[i].nodes[j].addr, addr))
				return &t->buckets[i].nodes[j];
	return NULL;
}

/* Splits the last bucket in two: nodes sharing more bits with us move to the new one. */
static bool split_last(struct nt_dht_table *t)
{
	struct nt_dht_bucket *old, *nb;
	size_t moved = 0;

	if (t->nbuckets >= t->max_buckets)
		return false;
	old = &t->buckets[t->nbuckets - 1];
	nb = &t->buckets[t->nbuckets];
	memset(nb, 0, sizeof(*nb));
	nb->last_changed_ms = old->last_changed_ms;
	t->nbuckets++;
	for (size_t i = 0; i < NT_DHT_K; i++) {
		if (!old->nodes[i].used ||
		    nt_dht_table_bucket_of(t, old->nodes[i].id) != t->nbuckets - 1)
			continue;
		nb->nodes[moved++] = old->nodes[i];
		memset(&old->nodes[i], 0, sizeof(old->nodes[i]));
	}
	if (old->replacement.used &&
	    nt_dht_table_bucket_of(t, old->replacement.id) == t->nbuckets - 1) {
		nb->replacement = old->replacement;
		memset(&old->replacement, 0, sizeof(old->replacement));
	}
	return true;
}

static void node_set(struct nt_dht_node *n, const uint8_t id[NT_DHT_ID_LEN],
		     const union nt_sockaddr *addr, enum nt_dht_seen how, uint64_t now_ms)
{
	memset(n, 0, sizeof(*n));
	memcpy(n->id, id, NT_DHT_ID_LEN);
	n->addr = *addr;
	n->used = true;
	if (how == NT_DHT_SEEN_REPLY)
		n->last_reply_ms = now_ms;
	else if (how == NT_DHT_SEEN_QUERY)
		n->last_query_ms = now_ms;
}

static void node_touch(struct nt_dht_node *n, enum nt_dht_seen how, uint64_t now_ms)
{
	if (how == NT_DHT_SEEN_REPLY) {
		n->last_reply_ms = now_ms;
		n->fails = 0;
	} else if (how == NT_DHT_SEEN_QUERY) {
		n->last_query_ms = now_ms;
	}
}

static bool addr_usable(const struct nt_dht_table *t, const union nt_sockaddr *a)
{
	static const uint8_t zero[16];

	if (a->sa.sa_family != t->af)
		return false;
	if (a->sa.sa_family == AF_INET)
		return a->in4.sin_port != 0 && a->in4.sin_addr.s_addr != 0;
	return a->in6.sin6_port != 0 && memcmp(&a->in6.sin6_addr, zero, 16) != 0;
}

static struct nt_dht_node *pick_questionable(struct nt_dht_bucket *b, uint64_t now_ms)
{
	struct nt_dht_node *best = NULL;

	for (size_t i = 0; i < NT_DHT_K; i++) {
		struct nt_dht_node *n = &b->nodes[i];
		uint64_t seen, best_seen;
		if (nt_dht_node_state(n, now_ms) != NT_DHT_NODE_QUESTIONABLE)
			continue;
		seen = NT_MAX(n->last_reply_ms, n->last_query_ms);
		best_seen = best ? NT_MAX(best->last_reply_ms, best->last_query_ms) : 0;
		if (!best || seen < best_seen)
			best = n;
	}
	return best;
}

struct nt_dht_node *nt_dht_table_insert(struct nt_dht_table *t, const uint8_t id[NT_DHT_ID_LEN],
					const union nt_sockaddr *addr, enum nt_dht_seen how,
					uint64_t now_ms, struct nt_dht_node **ping)
{
	struct nt_dht_bucket *b;
	struct nt_dht_node *n, *q;

	*ping = NULL;
	if (!addr_usable(t, addr) || memcmp(id, t->self, NT_DHT_ID_LEN) == 0)
		return NULL;
	n = find_id(t, id);
	if (n) {
		/* A known ID moves to a new address only on a reply from that address. */
		if (how == NT_DHT_SEEN_REPLY)
			n->addr = *addr;
		node_touch(n, how, now_ms);
		if (how == NT_DHT_SEEN_REPLY)
			t->buckets[nt_dht_table_bucket_of(t, id)].last_changed_ms = now_ms;
		return n;
	}
	n = nt_dht_table_find_addr(t, addr);
	if (n) {
		/*
		 * The node behind addr has a new ID (BEP 42 regeneration), or someone spoofs
		 * its address: only a reply to our query moves it; a query gets it pinged.
		 */
		if (how == NT_DHT_SEEN_QUERY &&
		    (!n->last_sent_ms || now_ms - n->last_sent_ms >= NT_DHT_PING_GAP_MS))
			*ping = n;
		if (how != NT_DHT_SEEN_REPLY)
			return NULL;
		memset(n, 0, sizeof(*n));
	}
	for (;;) {
		size_t bi = nt_dht_table_bucket_of(t, id);
		b = &t->buckets[bi];
		for (size_t i = 0; i < NT_DHT_K; i++) {
			if (!b->nodes[i].used) {
				node_set(&b->nodes[i], id, addr, how, now_ms);
				b->last_changed_ms = now_ms;
				b->empty_gap_ms = 0;
				return &b->nodes[i];
			}
		}
		if (bi != t->nbuckets - 1 || !split_last(t))
			break;
	}
	for (size_t i = 0; i < NT_DHT_K; i++) {
		if (nt_dht_node_state(&b->nodes[i], now_ms) == NT_DHT_NODE_BAD) {
			node_set(&b->nodes[i], id, addr, how, now_ms);
			b->last_changed_ms = now_ms;
			return &b->nodes[i];
		}
	}
	q = pick_questionable(b, now_ms);
	if (!q)
		return NULL;
	/* A heard-of node does not push out a candidate that has talked to us. */
	if (!b->replacement.used || how != NT_DHT_SEEN_HEARD ||
	    (!b->replacement.last_reply_ms && !b->replacement.last_query_ms))
		node_set(&b->replacement, id, addr, how, now_ms);
	if (!q->last_sent_ms || now_ms - q->last_sent_ms >= NT_DHT_PING_GAP_MS)
		*ping = q;
	return NULL;
}

void nt_dht_table_failed(struct nt_dht_table *t, const union nt_sockaddr *addr, uint64_t now_ms)
{
	struct nt_dht_node *n = nt_dht_table_find_addr(t, addr);
	struct nt_dht_bucket *b;

	if (!n)
		return;
	if (n->fails < UINT8_MAX)
		n->fails++;
	if (nt_dht_node_state(n, now_ms) != NT_DHT_NODE_BAD)
		return;
	b = &t->buckets[nt_dht_table_bucket_of(t, n->id)];
	if (b->replacement.used) {
		*n = b->replacement;
		memset(&b->replacement, 0, sizeof(b->replacement));
		b->last_changed_ms = now_ms;
	}
}

size_t nt_dht_table_closest(const struct nt_dht_table *t, const uint8_t target[NT_DHT_ID_LEN],
			    struct nt_dht_node **out, size_t max, uint64_t now_ms)
{
	size_t n = 0;

	if (!max)
		return 0;
	for (size_t i = 0; i < t->nbuckets; i++) {
		for (size_t j = 0; j < NT_DHT_K; j++) {
			struct nt_dht_node *c = &t->buckets[i].nodes[j];
			size_t k;
			if (!c->used || nt_dht_node_state(c, now_ms) == NT_DHT_NODE_BAD)
				continue;
			/* Insertion into the sorted out[]; the farthest falls off when full. */
			if (n == max && nt_dht_id_closer(target, c->id, out[n - 1]->id) >= 0)
				continue;
			k = n < max ? n++ : n - 1;
			while (k > 0 && nt_dht_id_closer(target, c->id, out[k - 1]->id) < 0) {
				out[k] = out[k - 1];
				k--;
			}
			out[k] = c;
		}
	}
	return n;
}

void nt_dht_table_set_self(struct nt_dht_table *t, const uint8_t self[NT_DHT_ID_LEN])
{
	size_t n = 0;

	for (size_t i = 0; i < t->nbuckets; i++)
		for (size_t j = 0; j < NT_DHT_K; j++)
			if (t->buckets[i].nodes[j].used)
				t->scratch[n++] = t->buckets[i].nodes[j];
	memset(t->buckets, 0, t->max_buckets * sizeof(*t->buckets));
	t->nbuckets = 1;
	memcpy(t->self, self, NT_DHT_ID_LEN);
	for (size_t k = 0; k < n; k++) {
		struct nt_dht_node *c = &t->scratch[k];
		bool placed = false;
		if (memcmp(c->id, self, NT_DHT_ID_LEN) == 0)
			continue;
		while (!placed) {
			size_t bi = nt_dht_table_bucket_of(t, c->id);
			struct nt_dht_bucket *b = &t->buckets[bi];
			for (size_t i = 0; i < NT_DHT_K && !placed; i++) {
				if (!b->nodes[i].used) {
					b->nodes[i] = *c;
					b->last_changed_ms =
						NT_MAX(b->last_changed_ms, c->last_reply_ms);
					placed = true;
				}
			}
			if (!placed && (bi != t->nbuckets - 1 || !split_last(t)))
				break;
		}
	}
}

void nt_dht_table_count(const struct nt_dht_table *t, uint64_t now_ms, size_t *good,
			size_t *dubious)
{
	*good = *dubious = 0;
	for (size_t i = 0; i < t->nbuckets; i++) {
		for (size_t j = 0; j < NT_DHT_K; j++) {
			const struct nt_dht_node *n = &t->buckets[i].nodes[j];
			if (!n->used)
				continue;
			if (nt_dht_node_state(n, now_ms) == NT_DHT_NODE_GOOD)
				(*good)++;
			else
				(*dubious)++;
		}
	}
}

struct nt_dht_node *nt_dht_table_next_ping(struct nt_dht_table *t, uint64_t now_ms)
{
	for (size_t i = 0; i < t->nbuckets; i++) {
		for (size_t j = 0; j < NT_DHT_K; j++) {
			struct nt_dht_node *n = &t->buckets[i].nodes[j];
			if (!n->used || nt_dht_node_state(n, now_ms) != NT_DHT_NODE_QUESTIONABLE)
				continue;
			if (!n->last_sent_ms || now_ms - n->last_sent_ms >= NT_DHT_PING_GAP_MS)
				return n;
		}
	}
	return NULL;
}

bool nt_dht_table_next_refresh(struct nt_dht_table *t, uint64_t now_ms,
			       const uint8_t rnd[NT_DHT_ID_LEN], uint8_t target[NT_DHT_ID_LEN],
			       struct nt_dht_node **to)
{
	for (size_t i = 0; i < t->nbuckets; i++) {
		struct nt_dht_bucket *b = &t->buckets[i];
		struct nt_dht_node *pick = NULL;
		uint64_t gap;
		size_t bits;

		for (size_t j = 0; j < NT_DHT_K; j++) {
			struct nt_dht_node *n = &b->nodes[j];
			if (!n->used || nt_dht_node_state(n, now_ms) == NT_DHT_NODE_BAD)
				continue;
			if (!pick || nt_dht_node_state(n, now_ms) == NT_DHT_NODE_GOOD)
				pick = n;
		}
		gap = pick ? NT_DHT_REFRESH_MS : b->empty_gap_ms ? b->empty_gap_ms : NT_DHT_EMPTY_REFRESH_MS;

		if (now_ms - b->last_changed_ms < gap)
			continue;
		/* Our first i bits, then (except in the last bucket) bit i flipped, then random. */
		memcpy(target, rnd, NT_DHT_ID_LEN);
		bits = i;
		for (size_t k = 0; k < bits; k++) {
			uint8_t m = (uint8_t)(0x80 >> (k % 8));
			target[k / 8] = (uint8_t)((target[k / 8] & ~m) | (t->self[k / 8] & m));
		}
		if (i < t->nbuckets - 1) {
			uint8_t m = (uint8_t)(0x80 >> (i % 8));
			target[i / 8] = (uint8_t)((target[i / 8] & ~m) | (~t->self[i / 8] & m));
		}
		if (!pick && !nt_dht_table_closest(t, target, &pick, 1, now_ms))
			continue;
		b->last_changed_ms = now_ms;
		if (!pick)
			b->empty_gap_ms = (uint32_t)NT_MIN((uint64_t)NT_DHT_REFRESH_MS, 2 * gap);
		*to = pick;
		return true;
	}
	return false;
}
