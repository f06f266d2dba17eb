// SPDX-License-Identifier: MIT
/*
 * The DHT engine with a fake clock and captured sends: BEP 42 IDs against the table in
 * the spec, routing table rules (split, bad-node replacement, questionable after 15
 * minutes, replacement candidates, refresh), the lookup state machine, the answers a
 * node gives (tokens, storage, expiry, rate limits, errors), external address votes,
 * and a 200-node simulation over an in-memory network with one node behind a NAT.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <arpa/inet.h>
#include <cmocka.h>

#include "discovery/dht.h"
#include "discovery/dht_rpc.h"
#include "discovery/dht_search.h"
#include "discovery/dht_store.h"
#include "discovery/dht_table.h"
#include "core/log.h"

enum { MIN_MS = 60 * 1000 };

/* xorshift64*: a deterministic random source for the engine. */
static void fake_rand(void *ctx, void *buf, size_t len)
{
	uint64_t *s = ctx;
	uint8_t *p = buf;

	for (size_t i = 0; i < len; i++) {
		*s ^= *s >> 12;
		*s ^= *s << 25;
		*s ^= *s >> 27;
		p[i] = (uint8_t)((*s * 0x2545f4914f6cdd1dULL) >> 56);
	}
}

static union nt_sockaddr sa(const char *s)
{
	union nt_sockaddr a;

	assert_true(nt_sockaddr_parse(s, &a));
	return a;
}

static void test_crc32c(void **state)
{
	(void)state;
	assert_int_equal(nt_dht_crc32c((const uint8_t *)"123456789", 9), 0xe3069283);
	assert_int_equal(nt_dht_crc32c(NULL, 0), 0);
}

/* BEP 42, "Test vectors": IP, rand, and the node ID whose first 21 bits must match. */
static void test_bep42_vectors(void **state)
{
	static const struct {
		const char *ip;
		uint8_t rand;
		uint8_t prefix[3];
	} cases[] = {
		{ "124.31.75.21:1", 1, { 0x5f, 0xbf, 0xbf } },
		{ "21.75.31.124:1", 86, { 0x5a, 0x3c, 0xe9 } },
		{ "65.23.51.170:1", 22, { 0xa5, 0xd4, 0x32 } },
		{ "84.124.73.14:1", 65, { 0x1b, 0x03, 0x21 } },
		{ "43.213.53.83:1", 90, { 0xe5, 0x6f, 0x6c } },
	};

	(void)state;
	for (size_t i = 0; i < NT_ARRAY_SIZE(cases); i++) {
		union nt_sockaddr ip = sa(cases[i].ip);
		uint8_t rnd[20], id[20];

		memset(rnd, 0x5a, sizeof(rnd));
		rnd[19] = cases[i].rand;
		assert_true(nt_dht_id_bep42(id, &ip, rnd));
		if (id[0] != cases[i].prefix[0] || id[1] != cases[i].prefix[1] ||
		    (id[2] & 0xf8) != (cases[i].prefix[2] & 0xf8))
			fail_msg("case %zu: %02x%02x%02x", i, id[0], id[1], id[2]);
		assert_int_equal(id[19], cases[i].rand);
		assert_true(nt_dht_id_is_bep42(id, &ip));
		id[0] ^= 1;
		assert_false(nt_dht_id_is_bep42(id, &ip));
	}
	/* IPv6 works and depends only on the first 8 masked bytes. */
	{
		union nt_sockaddr a = sa("[2001:db8:1:2::1]:1"), b = sa("[2001:db8:1:2::ffff]:1");
		uint8_t rnd[20] = { 0 }, id[20];
		assert_true(nt_dht_id_bep42(id, &a, rnd));
		assert_true(nt_dht_id_is_bep42(id, &b));
	}
}

static void test_distance(void **state)
{
	uint8_t t[20] = { 0 }, a[20] = { 0 }, b[20] = { 0 };

	(void)state;
	a[19] = 1;
	b[0] = 0x80;
	assert_true(nt_dht_id_closer(t, a, b) < 0);
	assert_true(nt_dht_id_closer(t, b, a) > 0);
	assert_int_equal(nt_dht_id_closer(t, a, a), 0);
	assert_int_equal(nt_dht_id_common_bits(t, b), 0);
	assert_int_equal(nt_dht_id_common_bits(t, a), 159);
	assert_int_equal(nt_dht_id_common_bits(t, t), 160);
	b[0] = 0x01;
	assert_int_equal(nt_dht_id_common_bits(t, b), 7);
}

/* An ID sharing exactly `bits` leading bits with the all-zero ID, then `tag`. */
static void make_id(uint8_t id[20], unsigned int bits, uint8_t tag)
{
	memset(id, 0, 20);
	id[bits / 8] = (uint8_t)(0x80 >> (bits % 8));
	id[19] ^= tag;
	id[18] = 0x5a;
}

static union nt_sockaddr addr_n(int n)
{
	char buf[32];

	snprintf(buf, sizeof(buf), "10.1.%d.%d:6881", n / 200, n % 200 + 1);
	return sa(buf);
}

static void test_table_split_and_full(void **state)
{
	static const uint8_t self[20] = { 0 };
	struct nt_dht_table t;
	struct nt_dht_node *ping, *n;
	uint8_t id[20];
	size_t good, dubious;

	(void)state;
	assert_int_equal(nt_dht_table_init(&t, AF_INET, self, 64), 0);
	assert_int_equal(t.max_buckets, 8);
	/* 8 far nodes (first bit differs) fill the single bucket. */
	for (int i = 0; i < NT_DHT_K; i++) {
		make_id(id, 0, (uint8_t)i);
		union nt_sockaddr a = addr_n(i);
		assert_non_null(nt_dht_table_insert(&t, id, &a, NT_DHT_SEEN_REPLY, 1000, &ping));
		assert_null(ping);
	}
	assert_int_equal(t.nbuckets, 1);
	/* A near node: the full bucket holds our ID, so it splits. */
	make_id(id, 5, 1);
	{
		union nt_sockaddr a = addr_n(100);
		n = nt_dht_table_insert(&t, id, &a, NT_DHT_SEEN_REPLY, 1000, &ping);
	}
	assert_non_null(n);
	assert_int_equal(t.nbuckets, 2);
	assert_int_equal(nt_dht_table_bucket_of(&t, id), 1);
	/* A 9th far node: bucket 0 no longer covers our ID, all good: dropped, nobody pinged. */
	make_id(id, 0, 100);
	{
		union nt_sockaddr a = addr_n(101);
		assert_null(nt_dht_table_insert(&t, id, &a, NT_DHT_SEEN_REPLY, 2000, &ping));
	}
	assert_null(ping);
	assert_int_equal(t.nbuckets, 2);
	nt_dht_table_count(&t, 2000, &good, &dubious);
	assert_int_equal(good, 9);
	assert_int_equal(dubious, 0);
	/* Splits stop at max_buckets = max_nodes / K. */
	for (unsigned int bits = 1; bits < 40; bits++) {
		for (int i = 0; i < NT_DHT_K; i++) {
			union nt_sockaddr a = addr_n(200 + (int)bits * 10 + i);
			make_id(id, bits, (uint8_t)(i + 1));
			nt_dht_table_insert(&t, id, &a, NT_DHT_SEEN_REPLY, 3000, &ping);
		}
	}
	assert_int_equal(t.nbuckets, 8);
	nt_dht_table_count(&t, 3000, &good, &dubious);
	assert_true(good <= 64);
	/* The same ID does not enter twice, and our own ID never. */
	{
		union nt_sockaddr a = addr_n(9999);
		assert_null(nt_dht_table_insert(&t, self, &a, NT_DHT_SEEN_REPLY, 3000, &ping));
	}
	nt_dht_table_uninit(&t);
}

static void test_table_states(void **state)
{
	static const uint8_t self[20] = { 0 };
	struct nt_dht_table t;
	struct nt_dht_node *ping, *n;
	uint8_t id[20];
	union nt_sockaddr a = addr_n(1);
	uint64_t t0 = 5000;

	(void)state;
	assert_int_equal(nt_dht_table_init(&t, AF_INET, self, 256), 0);
	make_id(id, 0, 1);
	n = nt_dht_table_insert(&t, id, &a, NT_DHT_SEEN_REPLY, t0, &ping);
	assert_non_null(n);
	/* Good for 15 minutes after a reply, then questionable. */
	assert_int_equal(nt_dht_node_state(n, t0 + 15 * MIN_MS - 1), NT_DHT_NODE_GOOD);
	assert_int_equal(nt_dht_node_state(n, t0 + 15 * MIN_MS), NT_DHT_NODE_QUESTIONABLE);
	/* A query from a node that has answered before makes it good again. */
	nt_dht_table_insert(&t, id, &a, NT_DHT_SEEN_QUERY, t0 + 20 * MIN_MS, &ping);
	assert_int_equal(nt_dht_node_state(n, t0 + 20 * MIN_MS), NT_DHT_NODE_GOOD);
	assert_int_equal(nt_dht_node_state(n, t0 + 35 * MIN_MS), NT_DHT_NODE_QUESTIONABLE);
	/* Bad after NT_DHT_BAD_FAILS unanswered queries; a reply resets the count. */
	for (int i = 0; i < NT_DHT_BAD_FAILS - 1; i++)
		nt_dht_table_failed(&t, &a, t0 + 36 * MIN_MS);
	assert_int_equal(nt_dht_node_state(n, t0 + 36 * MIN_MS), NT_DHT_NODE_QUESTIONABLE);
	nt_dht_table_insert(&t, id, &a, NT_DHT_SEEN_REPLY, t0 + 37 * MIN_MS, &ping);
	assert_int_equal(n->fails, 0);
	for (int i = 0; i < NT_DHT_BAD_FAILS; i++)
		nt_dht_table_failed(&t, &a, t0 + 38 * MIN_MS);
	assert_int_equal(nt_dht_node_state(n, t0 + 38 * MIN_MS), NT_DHT_NODE_BAD);

	/* A node we only heard of that fails once is bad at once. */
	{
		union nt_sockaddr b = addr_n(2);
		struct nt_dht_node *h;
		make_id(id, 0, 2);
		h = nt_dht_table_insert(&t, id, &b, NT_DHT_SEEN_HEARD, t0, &ping);
		assert_non_null(h);
		assert_int_equal(nt_dht_node_state(h, t0), NT_DHT_NODE_QUESTIONABLE);
		nt_dht_table_failed(&t, &b, t0 + 1);
		assert_int_equal(nt_dht_node_state(h, t0 + 1), NT_DHT_NODE_BAD);
	}
	/* A query from an unknown address does not move a known ID; a reply does. */
	{
		union nt_sockaddr c = addr_n(3);
		make_id(id, 0, 1);
		nt_dht_table_insert(&t, id, &c, NT_DHT_SEEN_QUERY, t0, &ping);
		assert_true(nt_sockaddr_equal(&n->addr, &a));
		nt_dht_table_insert(&t, id, &c, NT_DHT_SEEN_REPLY, t0, &ping);
		assert_true(nt_sockaddr_equal(&n->addr, &c));
	}
	nt_dht_table_uninit(&t);
}

static void test_table_replacement(void **state)
{
	static const uint8_t self[20] = { 0 };
	struct nt_dht_table t;
	struct nt_dht_node *ping, *n;
	uint8_t id[20];
	uint64_t t0 = 1000;
	union nt_sockaddr a;

	(void)state;
	assert_int_equal(nt_dht_table_init(&t, AF_INET, self, 256), 0);
	/* Split once so that bucket 0 (far half) no longer covers our ID, then fill it. */
	for (int i = 0; i < NT_DHT_K; i++) {
		make_id(id, 0, (uint8_t)i);
		a = addr_n(i);
		assert_non_null(nt_dht_table_insert(&t, id, &a, NT_DHT_SEEN_REPLY, t0 + (uint64_t)i, &ping));
	}
	make_id(id, 3, 1);
	a = addr_n(50);
	assert_non_null(nt_dht_table_insert(&t, id, &a, NT_DHT_SEEN_REPLY, t0, &ping));
	assert_int_equal(t.nbuckets, 2);

	/* 1. A bad node is replaced at once. */
	a = addr_n(4);
	for (int i = 0; i < NT_DHT_BAD_FAILS; i++)
		nt_dht_table_failed(&t, &a, t0 + 10);
	make_id(id, 0, 200);
	{
		union nt_sockaddr fresh = addr_n(60);
		n = nt_dht_table_insert(&t, id, &fresh, NT_DHT_SEEN_REPLY, t0 + 20, &ping);
		assert_non_null(n);
		assert_null(ping);
		assert_true(nt_sockaddr_equal(&n->addr, &fresh));
		assert_null(nt_dht_table_find_addr(&t, &a));
	}
	/* 2. 15 minutes later all are questionable: the newcomer waits, the oldest is pinged. */
	uint64_t later = t0 + 16 * MIN_MS;
	make_id(id, 0, 201);
	{
		union nt_sockaddr cand = addr_n(61), oldest = addr_n(0);
		assert_null(nt_dht_table_insert(&t, id, &cand, NT_DHT_SEEN_REPLY, later, &ping));
		assert_non_null(ping);
		assert_true(nt_sockaddr_equal(&ping->addr, &oldest));
		assert_true(t.buckets[0].replacement.used);
		/* It does not answer, three times: the replacement takes its slot. */
		for (int i = 0; i < NT_DHT_BAD_FAILS; i++)
			nt_dht_table_failed(&t, &oldest, later + 1000);
		assert_null(nt_dht_table_find_addr(&t, &oldest));
		n = nt_dht_table_find_addr(&t, &cand);
		assert_non_null(n);
		assert_memory_equal(n->id, id, 20);
		assert_false(t.buckets[0].replacement.used);
	}
	/* 3. The questionable nodes are offered for pinging, once per gap. */
	n = nt_dht_table_next_ping(&t, later);
	assert_non_null(n);
	n->last_sent_ms = later;
	assert_true(nt_dht_table_next_ping(&t, later) != n);
	nt_dht_table_uninit(&t);
}

static void test_table_closest_and_rebuild(void **state)
{
	uint8_t self[20], target[20], id[20];
	struct nt_dht_table t;
	struct nt_dht_node *out[NT_DHT_K], *ping;
	uint64_t seed = 7;
	size_t n, good, dubious, good2, dubious2;

	(void)state;
	fake_rand(&seed, self, 20);
	assert_int_equal(nt_dht_table_init(&t, AF_INET, self, 1024), 0);
	for (int i = 0; i < 500; i++) {
		union nt_sockaddr a = addr_n(i);
		fake_rand(&seed, id, 20);
		nt_dht_table_insert(&t, id, &a, NT_DHT_SEEN_REPLY, 1000, &ping);
	}
	fake_rand(&seed, target, 20);
	n = nt_dht_table_closest(&t, target, out, NT_DHT_K, 1000);
	assert_int_equal(n, NT_DHT_K);
	for (size_t i = 1; i < n; i++)
		assert_true(nt_dht_id_closer(target, out[i - 1]->id, out[i]->id) < 0);
	/* Brute force: nobody in the table is closer than out[n-1] without being in out[]. */
	for (size_t b = 0; b < t.nbuckets; b++) {
		for (size_t j = 0; j < NT_DHT_K; j++) {
			struct nt_dht_node *c = &t.buckets[b].nodes[j];
			bool listed = false;
			if (!c->used)
				continue;
			for (size_t k = 0; k < n; k++)
				listed |= out[k] == c;
			if (!listed)
				assert_true(nt_dht_id_closer(target, c->id, out[n - 1]->id) > 0);
		}
	}
	/* A new ID re-files every node that still fits. */
	nt_dht_table_count(&t, 1000, &good, &dubious);
	fake_rand(&seed, self, 20);
	nt_dht_table_set_self(&t, self);
	nt_dht_table_count(&t, 1000, &good2, &dubious2);
	assert_true(good2 > 0 && good2 <= good);
	for (size_t b = 0; b < t.nbuckets; b++)
		for (size_t j = 0; j < NT_DHT_K; j++)
			if (t.buckets[b].nodes[j].used)
				assert_int_equal(nt_dht_table_bucket_of(&t, t.buckets[b].nodes[j].id), b);
	/* An idle bucket asks for a refresh with a target in its own range. */
	{
		uint8_t rnd[20], tgt[20];
		struct nt_dht_node *to;
		size_t seen = 0;
		fake_rand(&seed, rnd, 20);
		assert_false(nt_dht_table_next_refresh(&t, 1000 + 14 * MIN_MS, rnd, tgt, &to));
		while (nt_dht_table_next_refresh(&t, 1000 + 16 * MIN_MS, rnd, tgt, &to)) {
			size_t bi = nt_dht_table_bucket_of(&t, tgt);
			assert_int_equal(bi, nt_dht_table_bucket_of(&t, to->id));
			seen++;
		}
		assert_true(seen > 0 && seen <= t.nbuckets);
	}
	nt_dht_table_uninit(&t);
}

static void test_search_state_machine(void **state)
{
	struct nt_dht_search s;
	uint8_t target[20] = { 0 }, id[20];
	struct nt_dht_cand *c;

	(void)state;
	nt_dht_search_init(&s, NT_DHT_SEARCH_GET_PEERS, AF_INET, target, 1, 0);
	assert_true(nt_dht_search_is_done(&s)); /* nothing to ask */
	for (int i = 0; i < 20; i++) {
		union nt_sockaddr a = addr_n(i);
		make_id(id, (unsigned int)(i % 20), 0);
		id[19] = (uint8_t)i;
		nt_dht_search_add(&s, id, &a);
	}
	assert_int_equal(s.n, NT_DHT_SEARCH_NODES);
	for (size_t i = 1; i < s.n; i++)
		assert_true(nt_dht_id_closer(target, s.cand[i - 1].id, s.cand[i].id) < 0);
	/* Duplicates by address or ID are refused. */
	{
		union nt_sockaddr a = s.cand[5].addr;
		make_id(id, 30, 0);
		assert_false(nt_dht_search_add(&s, id, &a));
		a = addr_n(77);
		memcpy(id, s.cand[7].id, 20);
		assert_false(nt_dht_search_add(&s, id, &a));
	}
	/* Alpha: three in flight, nearest first. */
	struct nt_dht_cand *q[3];
	for (int i = 0; i < 3; i++) {
		q[i] = nt_dht_search_next(&s);
		assert_ptr_equal(q[i], &s.cand[i]);
	}
	assert_null(nt_dht_search_next(&s));
	assert_int_equal(nt_dht_search_inflight(&s), 3);
	union nt_sockaddr a0 = q[0]->addr, a1 = q[1]->addr;
	nt_dht_search_replied(&s, &a0, s.cand[0].id, (const uint8_t *)"tok", 3);
	assert_int_equal(s.cand[0].token_len, 3);
	nt_dht_search_failed(&s, &a1);
	assert_false(nt_dht_search_is_done(&s));
	/* Answer everything offered until done: K non-failed nearest have answered. */
	int rounds = 0;
	while (!nt_dht_search_is_done(&s) && rounds++ < 100) {
		while ((c = nt_dht_search_next(&s)))
			;
		for (size_t i = 0; i < s.n; i++)
			if (s.cand[i].state == NT_DHT_CAND_INFLIGHT) {
				union nt_sockaddr a = s.cand[i].addr;
				nt_dht_search_replied(&s, &a, s.cand[i].id, NULL, 0);
			}
	}
	assert_true(nt_dht_search_is_done(&s));
	size_t replied = 0, asked_beyond = 0, live = 0;
	for (size_t i = 0; i < s.n; i++) {
		if (s.cand[i].state == NT_DHT_CAND_FAILED)
			continue;
		if (live++ < NT_DHT_K)
			replied += s.cand[i].state == NT_DHT_CAND_REPLIED;
		else
			asked_beyond += s.cand[i].state != NT_DHT_CAND_NEW;
	}
	assert_int_equal(replied, NT_DHT_K);
	assert_int_equal(asked_beyond, 0); /* nobody past the k nearest was asked */
	assert_int_equal(s.queries, NT_DHT_K + 1);
}

static void test_store(void **state)
{
	struct nt_dht_store st;
	uint8_t secrets[64], fresh[32], tok[8], tok2[8], ih[20] = { 1 }, other[20] = { 2 };
	union nt_sockaddr a = sa("192.0.2.1:1000"), a2 = sa("192.0.2.1:2000"),
			  b = sa("192.0.2.2:1000"), v6 = sa("[2001:db8::1]:1000"), out[8];
	size_t hashes, peers;

	(void)state;
	memset(secrets, 7, sizeof(secrets));
	assert_int_equal(nt_dht_store_init(&st, 2, 2, secrets), 0);
	/* Tokens depend on the IP, not the port, and not only on the IP. */
	nt_dht_store_token(&st, &a, tok);
	nt_dht_store_token(&st, &a2, tok2);
	assert_memory_equal(tok, tok2, 8);
	assert_true(nt_dht_store_token_ok(&st, &a2, tok, 8));
	assert_false(nt_dht_store_token_ok(&st, &b, tok, 8));
	assert_false(nt_dht_store_token_ok(&st, &a, tok, 7));
	assert_false(nt_dht_store_token_ok(&st, &a, NULL, 0));
	nt_dht_store_token(&st, &v6, tok2);
	assert_memory_not_equal(tok, tok2, 8);
	memset(fresh, 9, sizeof(fresh));
	nt_dht_store_rotate(&st, fresh, 1000);
	assert_true(nt_dht_store_token_ok(&st, &a, tok, 8));
	nt_dht_store_rotate(&st, fresh, 2000);
	assert_false(nt_dht_store_token_ok(&st, &a, tok, 8));

	/* Peers: per family, refreshed in place, the oldest replaced when full. */
	assert_true(nt_dht_store_add(&st, ih, &a, 1000));
	assert_true(nt_dht_store_add(&st, ih, &v6, 1001));
	assert_int_equal(nt_dht_store_get(&st, ih, AF_INET, out, 8, 0, 1002), 1);
	assert_int_equal(nt_dht_store_get(&st, ih, AF_INET6, out, 8, 0, 1002), 1);
	assert_true(nt_sockaddr_equal(&out[0], &v6));
	assert_true(nt_dht_store_add(&st, ih, &a, 1003)); /* refresh: a is now the newest */
	assert_true(nt_dht_store_add(&st, ih, &b, 1004)); /* replaces v6 */
	assert_int_equal(nt_dht_store_get(&st, ih, AF_INET6, out, 8, 0, 1005), 0);
	assert_int_equal(nt_dht_store_get(&st, ih, AF_INET, out, 1, 0, 1005), 1);
	assert_true(nt_dht_store_add(&st, other, &a, 1006));
	assert_false(nt_dht_store_add(&st, (uint8_t[20]){ 3 }, &a, 1007)); /* 2 hashes max */
	nt_dht_store_count(&st, 1007, &hashes, &peers);
	assert_int_equal(hashes, 2);
	assert_int_equal(peers, 3);
	/* Once ih's peers expire, its slot can be reused. */
	assert_true(nt_dht_store_add(&st, (uint8_t[20]){ 3 }, &a, 1004 + NT_DHT_PEER_TTL_MS));
	nt_dht_store_count(&st, 1004 + NT_DHT_PEER_TTL_MS, &hashes, &peers);
	assert_int_equal(hashes, 2);
	assert_int_equal(peers, 2);
	nt_dht_store_uninit(&st);
}

/* --- engine with captured sends ----------------------------------------------------- */

struct sent {
	uint8_t buf[1500];
	size_t len;
	union nt_sockaddr to;
};

struct cap {
	struct sent pkt[64];
	size_t n;
	uint64_t rng;
	size_t peers_calls;
	union nt_sockaddr peers[64];
	size_t npeers;
	size_t done_calls;
};

static void cap_send(void *ctx, const void *buf, size_t len, const union nt_sockaddr *to)
{
	struct cap *c = ctx;

	assert_true(len <= sizeof(c->pkt[0].buf));
	if (c->n == NT_ARRAY_SIZE(c->pkt))
		return;
	memcpy(c->pkt[c->n].buf, buf, len);
	c->pkt[c->n].len = len;
	c->pkt[c->n].to = *to;
	c->n++;
}

static void cap_peers(void *ctx, const uint8_t ih[20], const union nt_sockaddr *p, size_t n)
{
	struct cap *c = ctx;

	c->peers_calls++;
	for (size_t i = 0; i < n && c->npeers < NT_ARRAY_SIZE(c->peers); i++)
		c->peers[c->npeers++] = p[i];
}

static void cap_done(void *ctx, const uint8_t ih[20], int af, size_t replied)
{
	((struct cap *)ctx)->done_calls++;
}

static struct nt_dht *engine(struct cap *c, const struct nt_dht_config *extra)
{
	struct nt_dht_config cfg = { .ipv4 = true, .ipv6 = true, .port = 51830 };
	struct nt_dht *d;

	if (extra)
		cfg = *extra;
	memset(c, 0, sizeof(*c));
	c->rng = 0x1234567;
	cfg.send = cap_send;
	cfg.on_peers = cap_peers;
	cfg.on_search_done = cap_done;
	cfg.ctx = c;
	cfg.rand = fake_rand;
	cfg.rand_ctx = &c->rng;
	assert_int_equal(nt_dht_new(&d, &cfg), 0);
	return d;
}

static struct nt_krpc_msg msg;
static size_t last_qlen, last_alen; /* sizes of the last query ask() made and its answer */

static bool same_ip(const union nt_sockaddr *a, const union nt_sockaddr *b)
{
	if (a->sa.sa_family != b->sa.sa_family)
		return false;
	if (a->sa.sa_family == AF_INET)
		return a->in4.sin_addr.s_addr == b->in4.sin_addr.s_addr;
	return memcmp(&a->in6.sin6_addr, &b->in6.sin6_addr, 16) == 0;
}

/*
 * The rule of docs/dht.md §6: what one datagram from `from` makes us send to its address
 * (the answer, and a ping if any) is at most 4 times its size. Returns those bytes.
 */
static size_t check_bound(const struct cap *c, const union nt_sockaddr *from, size_t len)
{
	size_t back = 0;

	for (size_t i = 0; i < c->n; i++)
		if (same_ip(&c->pkt[i].to, from))
			back += c->pkt[i].len;
	if (back > 4 * len)
		fail_msg("a %zu-byte datagram drew %zu bytes (x%.2f)", len, back, (double)back / (double)len);
	return back;
}

/* Feeds a raw datagram; how many bytes went back to its sender's address. */
static size_t feed(struct nt_dht *d, struct cap *c, const void *buf, size_t len,
		   const union nt_sockaddr *from, uint64_t now)
{
	c->n = 0;
	nt_dht_input(d, buf, len, from, now);
	return check_bound(c, from, len);
}

/* Feeds a query built from m (tid "qq") and returns the decoded single answer. */
static struct nt_krpc_msg *ask(struct nt_dht *d, struct cap *c, struct nt_krpc_msg *q,
			       const union nt_sockaddr *from, uint64_t now)
{
	uint8_t buf[1500];
	ssize_t n;

	q->type = NT_KRPC_QUERY;
	memcpy(q->tid, "qq", 2);
	q->tid_len = 2;
	n = nt_krpc_encode(q, buf, sizeof(buf));
	assert_true(n > 0);
	c->n = 0;
	nt_dht_input(d, buf, (size_t)n, from, now);
	check_bound(c, from, (size_t)n);
	/* The answer; a ping to a node whose ID changed may follow it. */
	for (size_t i = 0; i < c->n; i++) {
		if (!nt_sockaddr_equal(&c->pkt[i].to, from))
			continue;
		assert_int_equal(nt_krpc_decode(&msg, c->pkt[i].buf, c->pkt[i].len), 0);
		if (msg.type == NT_KRPC_QUERY)
			continue;
		assert_memory_equal(msg.tid, "qq", 2);
		last_qlen = (size_t)n;
		last_alen = c->pkt[i].len;
		return &msg;
	}
	return NULL;
}

/* The answer among the captured datagrams (after feed()), or NULL. */
static struct nt_krpc_msg *answer_in(const struct cap *c)
{
	for (size_t i = 0; i < c->n; i++) {
		assert_int_equal(nt_krpc_decode(&msg, c->pkt[i].buf, c->pkt[i].len), 0);
		if (msg.type != NT_KRPC_QUERY)
			return &msg;
	}
	return NULL;
}

static void query(struct nt_krpc_msg *q, enum nt_krpc_method m, uint8_t idbyte)
{
	memset(q, 0, offsetof(struct nt_krpc_msg, values));
	q->method = m;
	memset(q->id, idbyte, 20);
}

static void test_engine_answers(void **state)
{
	struct cap c;
	struct nt_dht *d = engine(&c, NULL);
	union nt_sockaddr from = sa("192.0.2.10:4000"), from6 = sa("[2001:db8::10]:4000");
	struct nt_krpc_msg q, *r;
	uint8_t id[20], token[40];
	size_t token_len;
	struct nt_dht_stats st;

	(void)state;
	nt_dht_get_id(d, id);
	/* ping: our id, the BEP 42 ip of the requester, our version. */
	query(&q, NT_KRPC_PING, 0x11);
	r = ask(d, &c, &q, &from, 1000);
	assert_non_null(r);
	assert_int_equal(r->type, NT_KRPC_RESPONSE);
	assert_memory_equal(r->id, id, 20);
	assert_true(r->has_ip);
	assert_true(nt_sockaddr_equal(&r->ip, &from));
	assert_true(r->has_v);
	assert_memory_equal(r->v, "NT", 2);

	/* find_node: nodes for an IPv4 requester, nodes6 too when it wants n6. */
	query(&q, NT_KRPC_FIND_NODE, 0x22);
	r = ask(d, &c, &q, &from, 1000);
	assert_non_null(r->nodes);
	assert_int_equal(r->nodes_len, 26); /* the 0x11 node that pinged us */
	assert_null(r->nodes6);
	q.want = NT_KRPC_WANT_N6 | NT_KRPC_WANT_N4;
	r = ask(d, &c, &q, &from, 1000);
	assert_non_null(r->nodes);
	assert_non_null(r->nodes6);
	q.want = 0;
	r = ask(d, &c, &q, &from6, 1000);
	assert_null(r->nodes);
	assert_non_null(r->nodes6);

	/* get_peers gives a token; announce_peer with it is stored with the source port. */
	query(&q, NT_KRPC_GET_PEERS, 0x33);
	memset(q.target, 0xab, 20);
	r = ask(d, &c, &q, &from, 1000);
	assert_non_null(r->token);
	assert_int_equal(r->n_values, 0);
	token_len = r->token_len;
	memcpy(token, r->token, token_len);

	query(&q, NT_KRPC_ANNOUNCE_PEER, 0x33);
	memset(q.target, 0xab, 20);
	q.token = (const uint8_t *)"wrongtok";
	q.token_len = 8;
	q.implied_port = true;
	q.port = 9;
	r = ask(d, &c, &q, &from, 1000);
	assert_int_equal(r->type, NT_KRPC_ERROR);
	assert_int_equal(r->error_code, NT_KRPC_ERR_PROTOCOL);
	q.token = token;
	q.token_len = token_len;
	r = ask(d, &c, &q, &from, 1000);
	assert_int_equal(r->type, NT_KRPC_RESPONSE);
	/* Another requester's token is not valid for us. */
	{
		union nt_sockaddr other = sa("192.0.2.99:4000");
		r = ask(d, &c, &q, &other, 1000);
		assert_int_equal(r->type, NT_KRPC_ERROR);
	}
	/* Without implied_port the port argument counts. */
	{
		union nt_sockaddr same_ip = sa("192.0.2.10:5000");
		q.implied_port = false;
		q.port = 7000;
		r = ask(d, &c, &q, &same_ip, 1000);
		assert_int_equal(r->type, NT_KRPC_RESPONSE);
	}
	query(&q, NT_KRPC_GET_PEERS, 0x44);
	memset(q.target, 0xab, 20);
	r = ask(d, &c, &q, &from, 2000);
	assert_int_equal(r->n_values, 2);
	{
		char b1[NT_SOCKADDR_STRLEN], b2[NT_SOCKADDR_STRLEN];
		/* Starting from a random peer: which comes first depends on how the CPU reads
		 * the test's fixed random bytes as an integer, so either order. */
		nt_sockaddr_format(&r->values[0], b1, sizeof(b1));
		nt_sockaddr_format(&r->values[1], b2, sizeof(b2));
		if (strcmp(b1, b2) > 0) {
			nt_sockaddr_format(&r->values[1], b1, sizeof(b1));
			nt_sockaddr_format(&r->values[0], b2, sizeof(b2));
		}
		assert_string_equal(b1, "192.0.2.10:4000");
		assert_string_equal(b2, "192.0.2.10:7000");
	}
	/* IPv6 requesters get IPv6 peers only. */
	r = ask(d, &c, &q, &from6, 2000);
	assert_int_equal(r->n_values, 0);

	/* Unknown method: 204. Malformed query: 203 with its tid. */
	query(&q, NT_KRPC_PING, 0x55);
	{
		static const char unk[] = "d1:ad2:id20:abcdefghij0123456789e1:q7:vote_me1:t2:qq1:y1:qe";
		static const char bad[] = "d1:ad2:id3:abce1:q4:ping1:t2:qq1:y1:qe";
		c.n = 0;
		nt_dht_input(d, (const uint8_t *)unk, sizeof(unk) - 1, &from, 3000);
		assert_int_equal(c.n, 1);
		assert_int_equal(nt_krpc_decode(&msg, c.pkt[0].buf, c.pkt[0].len), 0);
		assert_int_equal(msg.error_code, NT_KRPC_ERR_METHOD);
		c.n = 0;
		nt_dht_input(d, (const uint8_t *)bad, sizeof(bad) - 1, &from, 3000);
		assert_int_equal(c.n, 1);
		assert_int_equal(nt_krpc_decode(&msg, c.pkt[0].buf, c.pkt[0].len), 0);
		assert_int_equal(msg.error_code, NT_KRPC_ERR_PROTOCOL);
		assert_memory_equal(msg.tid, "qq", 2);
		/* Garbage gets nothing. */
		c.n = 0;
		nt_dht_input(d, (const uint8_t *)"d1:xi01ee", 9, &from, 3000);
		assert_int_equal(c.n, 0);
	}
	/* Unsolicited response: dropped, counted. */
	{
		static const char resp[] = "d1:rd2:id20:mnopqrstuvwxyz123456e1:t4:abcd1:y1:re";
		c.n = 0;
		nt_dht_input(d, (const uint8_t *)resp, sizeof(resp) - 1, &from, 3000);
		assert_int_equal(c.n, 0);
	}
	nt_dht_get_stats(d, &st);
	assert_int_equal(st.stored_hashes, 1);
	assert_int_equal(st.stored_peers, 2);
	assert_int_equal(st.announces_stored, 2);
	assert_int_equal(st.bad_tokens, 2);
	assert_int_equal(st.dropped_unsolicited, 1);
	assert_int_equal(st.dropped_malformed, 2);
	assert_true(st.dubious4 >= 1); /* nodes that only queried us are not good */
	assert_int_equal(st.good4, 0);
	nt_dht_free(d);
}

static void test_engine_tokens_and_expiry(void **state)
{
	struct cap c;
	struct nt_dht *d = engine(&c, NULL);
	union nt_sockaddr from = sa("192.0.2.10:4000");
	struct nt_krpc_msg q, *r;
	uint8_t token[40];
	size_t token_len;
	struct nt_dht_stats st;
	uint64_t t = 10 * MIN_MS;

	(void)state;
	nt_dht_tick(d, t);
	query(&q, NT_KRPC_GET_PEERS, 0x33);
	memset(q.target, 0xcd, 20);
	r = ask(d, &c, &q, &from, t);
	token_len = r->token_len;
	memcpy(token, r->token, token_len);
	query(&q, NT_KRPC_ANNOUNCE_PEER, 0x33);
	memset(q.target, 0xcd, 20);
	q.token = token;
	q.token_len = token_len;
	q.implied_port = true;
	/* After one rotation (5 min) the token still works, after two it does not. */
	nt_dht_tick(d, t + 5 * MIN_MS + 1);
	r = ask(d, &c, &q, &from, t + 5 * MIN_MS + 1);
	assert_int_equal(r->type, NT_KRPC_RESPONSE);
	nt_dht_tick(d, t + 10 * MIN_MS + 2);
	r = ask(d, &c, &q, &from, t + 10 * MIN_MS + 2);
	assert_int_equal(r->type, NT_KRPC_ERROR);
	nt_dht_get_stats(d, &st);
	assert_int_equal(st.stored_peers, 1);
	/* Stored peers expire 30 minutes after their announce. */
	nt_dht_tick(d, t + 5 * MIN_MS + 1 + 30 * MIN_MS - 10);
	nt_dht_get_stats(d, &st);
	assert_int_equal(st.stored_peers, 1);
	nt_dht_tick(d, t + 5 * MIN_MS + 1 + 30 * MIN_MS);
	nt_dht_get_stats(d, &st);
	assert_int_equal(st.stored_peers, 0);
	assert_int_equal(st.stored_hashes, 0);
	nt_dht_free(d);
}

static void test_engine_limits(void **state)
{
	struct nt_dht_config cfg = {
		.ipv4 = true, .max_hashes = 2, .max_peers = 3, .rate_per_ip = 2, .rate_total = 1000,
	};
	struct cap c;
	struct nt_dht *d = engine(&c, &cfg);
	struct nt_krpc_msg q, *r;
	struct nt_dht_stats st;
	uint64_t t = 1000;

	(void)state;
	/* Storage: 2 info-hashes of at most 3 peers, whatever is announced. */
	for (int h = 0; h < 4; h++) {
		for (int p = 0; p < 5; p++) {
			union nt_sockaddr from = addr_n(h * 10 + p);
			uint8_t token[40];
			size_t tl;
			t += 1000; /* stay under the per-IP rate */
			query(&q, NT_KRPC_GET_PEERS, (uint8_t)(h * 10 + p + 1));
			memset(q.target, h + 1, 20);
			r = ask(d, &c, &q, &from, t);
			tl = r->token_len;
			memcpy(token, r->token, tl);
			query(&q, NT_KRPC_ANNOUNCE_PEER, (uint8_t)(h * 10 + p + 1));
			memset(q.target, h + 1, 20);
			q.token = token;
			q.token_len = tl;
			q.implied_port = true;
			r = ask(d, &c, &q, &from, t);
			assert_non_null(r);
		}
	}
	nt_dht_get_stats(d, &st);
	assert_int_equal(st.stored_hashes, 2);
	assert_int_equal(st.stored_peers, 6);
	assert_true(st.dropped_other >= 10);

	/* Per-IP rate: a burst of 4 x rate, then nothing until it refills. */
	union nt_sockaddr flood = sa("198.51.100.7:1");
	size_t answered = 0;
	query(&q, NT_KRPC_PING, 0x77);
	for (int i = 0; i < 50; i++)
		answered += ask(d, &c, &q, &flood, t) != NULL;
	assert_int_equal(answered, 8);
	assert_null(ask(d, &c, &q, &flood, t + 100));
	assert_non_null(ask(d, &c, &q, &flood, t + 600));
	/* Another IP is not affected. */
	{
		union nt_sockaddr other = sa("198.51.100.8:1");
		assert_non_null(ask(d, &c, &q, &other, t + 600));
	}
	/* IPv6 is off: its datagrams are dropped. */
	{
		union nt_sockaddr v6 = sa("[2001:db8::1]:1");
		assert_null(ask(d, &c, &q, &v6, t + 600));
	}
	nt_dht_get_stats(d, &st);
	assert_true(st.dropped_ratelimit >= 42);
	nt_dht_free(d);
}

/* A flood from one source gets the burst (4 x rate_per_ip), then rate_per_ip a second. */
static void test_engine_flood_one_source(void **state)
{
	struct cap c;
	struct nt_dht *d = engine(&c, NULL); /* defaults: 8/s, burst 32; 250/s, burst 500 */
	union nt_sockaddr v = sa("198.51.100.7:6881");
	struct nt_krpc_msg q;
	size_t answered = 0;
	uint64_t t = 5000;

	(void)state;
	query(&q, NT_KRPC_PING, 0x77);
	for (int i = 0; i < 1000; i++)
		answered += ask(d, &c, &q, &v, t) != NULL;
	assert_int_equal(answered, 32);
	/* One second later, 8 more; the same source from another port is the same source. */
	answered = 0;
	for (int i = 0; i < 100; i++) {
		union nt_sockaddr p = v;
		p.in4.sin_port = htons((uint16_t)(7000 + i));
		answered += ask(d, &c, &q, &p, t + 1000) != NULL;
	}
	assert_int_equal(answered, 8);
	/* All sources together: the global burst of 500, whatever the number of sources. */
	answered = 0;
	for (int i = 0; i < 2000; i++) {
		union nt_sockaddr s = addr_n(1000 + i);
		answered += ask(d, &c, &q, &s, t + 10000) != NULL;
	}
	assert_int_equal(answered, 500);
	nt_dht_free(d);
}

/*
 * The per-source bucket cannot be refilled by others: after a source has spent its burst,
 * queries from thousands of other addresses (which, with 256 hashed slots, took over its
 * slot and reset it to a full burst before) give it nothing more until time refills it.
 */
static void test_engine_ratelimit_no_refill(void **state)
{
	struct nt_dht_config cfg = { .ipv4 = true, .rate_per_ip = 2, .rate_total = 1000000 };
	struct cap c;
	struct nt_dht *d = engine(&c, &cfg);
	union nt_sockaddr v = sa("198.51.100.7:6881");
	struct nt_krpc_msg q;
	size_t answered = 0, others = 0;
	uint64_t t = 5000;

	(void)state;
	query(&q, NT_KRPC_PING, 0x77);
	for (int i = 0; i < 20; i++)
		answered += ask(d, &c, &q, &v, t) != NULL;
	assert_int_equal(answered, 8);
	for (int i = 0; i < 4096; i++) {
		char buf[40];
		union nt_sockaddr o;
		snprintf(buf, sizeof(buf), "10.%d.%d.%d:6881", i >> 12, (i >> 4) & 0xff, i & 0xf);
		o = sa(buf);
		query(&q, NT_KRPC_PING, (uint8_t)(i | 1));
		others += ask(d, &c, &q, &o, t) != NULL;
	}
	/* Others that share the victim's bucket may be refused; nearly all are answered. */
	assert_true(others >= 4000);
	answered = 0;
	query(&q, NT_KRPC_PING, 0x77);
	for (int i = 0; i < 20; i++)
		answered += ask(d, &c, &q, &v, t) != NULL;
	assert_int_equal(answered, 0);
	/* Time alone refills it: 2 a second. */
	for (int i = 0; i < 20; i++)
		answered += ask(d, &c, &q, &v, t + 1000) != NULL;
	assert_true(answered >= 1 && answered <= 2);
	nt_dht_free(d);
}

/* IPv6 sources are limited per /64: one host owns a whole /64, and could spoof any of it. */
static void test_engine_ratelimit_ipv6_prefix(void **state)
{
	struct nt_dht_config cfg = { .ipv6 = true, .rate_per_ip = 2, .rate_total = 1000000 };
	struct cap c;
	struct nt_dht *d = engine(&c, &cfg);
	struct nt_krpc_msg q;
	size_t answered = 0;

	(void)state;
	query(&q, NT_KRPC_PING, 0x77);
	for (int i = 0; i < 100; i++) {
		char buf[64];
		snprintf(buf, sizeof(buf), "[2001:db8:1:2:%x::%x]:6881", i, i + 1);
		union nt_sockaddr s = sa(buf);
		answered += ask(d, &c, &q, &s, 5000) != NULL;
	}
	assert_int_equal(answered, 8);
	{
		union nt_sockaddr other = sa("[2001:db8:1:3::1]:6881");
		assert_non_null(ask(d, &c, &q, &other, 5000));
	}
	nt_dht_free(d);
}

/* A node with full tables in both families and 32 peers of each family under ih. */
static struct nt_dht *crowded_engine(struct cap *c, const uint8_t ih[20])
{
	struct nt_dht_config cfg = {
		.ipv4 = true, .ipv6 = true, .max_peers = 64, .rate_per_ip = 1000, .rate_total = 1000000,
	};
	struct nt_dht *d = engine(c, &cfg);
	struct nt_krpc_msg q, *r;
	uint64_t rng = 99;
	uint8_t token[40];
	size_t tl;
	struct nt_dht_stats st;

	for (int i = 0; i < 40; i++) {
		char buf[64];
		union nt_sockaddr s;
		if (i < 20)
			snprintf(buf, sizeof(buf), "192.0.2.%d:6881", i + 1);
		else
			snprintf(buf, sizeof(buf), "[2001:db8:%x::1]:6881", i);
		s = sa(buf);
		query(&q, NT_KRPC_PING, 0);
		fake_rand(&rng, q.id, 20);
		assert_non_null(ask(d, c, &q, &s, 1000));
	}
	for (int fam = 0; fam < 2; fam++) {
		union nt_sockaddr p = sa(fam ? "[2001:db8:ff::9]:1" : "203.0.113.9:1");
		query(&q, NT_KRPC_GET_PEERS, 0x99);
		memcpy(q.target, ih, 20);
		r = ask(d, c, &q, &p, 1000);
		tl = r->token_len;
		memcpy(token, r->token, tl);
		for (int i = 0; i < 32; i++) {
			if (fam)
				p.in6.sin6_port = htons((uint16_t)(1000 + i));
			else
				p.in4.sin_port = htons((uint16_t)(1000 + i));
			query(&q, NT_KRPC_ANNOUNCE_PEER, 0x99);
			memcpy(q.target, ih, 20);
			q.token = token;
			q.token_len = tl;
			q.implied_port = true;
			r = ask(d, c, &q, &p, 1000);
			assert_int_equal(r->type, NT_KRPC_RESPONSE);
		}
	}
	nt_dht_get_stats(d, &st);
	assert_true(st.good4 + st.dubious4 >= NT_DHT_K);
	assert_true(st.good6 + st.dubious6 >= NT_DHT_K);
	assert_int_equal(st.stored_peers, 64);
	return d;
}

/* Encodes q with a 1-byte tid and no "v" (the smallest form), feeds it; bytes back. */
static size_t ask_small(struct nt_dht *d, struct cap *c, struct nt_krpc_msg *q,
			const union nt_sockaddr *from, size_t *qlen)
{
	uint8_t buf[1500];
	ssize_t n;

	q->type = NT_KRPC_QUERY;
	q->tid[0] = 'x';
	q->tid_len = 1;
	n = nt_krpc_encode(q, buf, sizeof(buf));
	assert_true(n > 0);
	*qlen = (size_t)n;
	return feed(d, c, buf, (size_t)n, from, 2000);
}

/*
 * Every answer fits in 4 times the query that caused it, for every method, family and
 * `want`, the smallest queries included, on a node whose tables are full and which stores
 * 32 peers announced from one IP (get_peers answered 8x the query before).
 */
static void test_engine_answer_bound(void **state)
{
	static const enum nt_krpc_method methods[] = {
		NT_KRPC_PING, NT_KRPC_FIND_NODE, NT_KRPC_GET_PEERS, NT_KRPC_ANNOUNCE_PEER,
	};
	static const unsigned int wants[] = {
		0, NT_KRPC_WANT_N4, NT_KRPC_WANT_N6, NT_KRPC_WANT_N4 | NT_KRPC_WANT_N6,
	};
	uint8_t ih[20];
	struct cap c;
	struct nt_dht *d;
	struct nt_krpc_msg q, *r;
	size_t qlen, back;

	(void)state;
	memset(ih, 0xab, sizeof(ih));
	d = crowded_engine(&c, ih);
	for (int fam = 0; fam < 2; fam++) {
		union nt_sockaddr from = sa(fam ? "[2001:db8:77::1]:4000" : "198.51.100.77:4000");
		for (size_t m = 0; m < NT_ARRAY_SIZE(methods); m++) {
			for (size_t w = 0; w < NT_ARRAY_SIZE(wants); w++) {
				query(&q, methods[m], 0x55);
				memcpy(q.target, ih, 20);
				q.want = wants[w];
				q.token = (const uint8_t *)"12345678";
				q.token_len = 8;
				/* The bound is checked by ask() and ask_small(); both are answered. */
				assert_non_null(ask(d, &c, &q, &from, 2000));
				assert_true(ask_small(d, &c, &q, &from, &qlen) > 0);
			}
		}
	}

	/* What fits is the useful part: all 8 closest nodes, then values. */
	{
		union nt_sockaddr from = sa("198.51.100.77:4000"), from6 = sa("[2001:db8:77::1]:4000");
		query(&q, NT_KRPC_FIND_NODE, 0x55);
		r = ask(d, &c, &q, &from, 2000);
		assert_int_equal(r->nodes_len, NT_DHT_K * NT_KRPC_NODE4_LEN);
		q.want = NT_KRPC_WANT_N4 | NT_KRPC_WANT_N6;
		r = ask(d, &c, &q, &from, 2000);
		assert_int_equal(r->nodes_len, NT_DHT_K * NT_KRPC_NODE4_LEN);
		assert_non_null(r->nodes6);
		assert_true(r->nodes6_len >= NT_KRPC_NODE6_LEN);
		print_message("dht: find_node want n4 n6, %zu bytes: %zu bytes back (x%.2f), "
			      "%zu + %zu nodes\n", last_qlen, last_alen,
			      (double)last_alen / (double)last_qlen,
			      r->nodes_len / NT_KRPC_NODE4_LEN, r->nodes6_len / NT_KRPC_NODE6_LEN);
		r = ask(d, &c, &q, &from6, 2000);
		assert_int_equal(r->nodes6_len, NT_DHT_K * NT_KRPC_NODE6_LEN);
		assert_non_null(r->nodes);
		/* An ordinary query (a "v", a 2-byte tid) from IPv6 gets all 8 nodes. */
		q.want = 0;
		q.has_v = true;
		memcpy(q.v, "LT\x01\x02", 4);
		r = ask(d, &c, &q, &from6, 2000);
		assert_int_equal(r->nodes6_len, NT_DHT_K * NT_KRPC_NODE6_LEN);
		q.has_v = false;

		query(&q, NT_KRPC_GET_PEERS, 0x55);
		memcpy(q.target, ih, 20);
		r = ask(d, &c, &q, &from, 2000);
		assert_int_equal(r->nodes_len, NT_DHT_K * NT_KRPC_NODE4_LEN);
		assert_non_null(r->token);
		assert_true(r->n_values >= 4);
		assert_true(r->n_values < 32);
		print_message("dht: get_peers, %zu bytes: %zu bytes back (x%.2f), %zu nodes, "
			      "%zu values\n", last_qlen, last_alen,
			      (double)last_alen / (double)last_qlen,
			      r->nodes_len / NT_KRPC_NODE4_LEN, r->n_values);
		r = ask(d, &c, &q, &from6, 2000);
		assert_true(r->nodes6_len >= 6 * NT_KRPC_NODE6_LEN);
		assert_non_null(r->token);
		/* A smallest get_peers still gets its token and nodes. */
		back = ask_small(d, &c, &q, &from, &qlen);
		assert_true(back > 0);
		r = answer_in(&c);
		assert_non_null(r->token);
		assert_true(r->nodes_len >= 6 * NT_KRPC_NODE4_LEN);
	}

	/* Errors: the smallest query we can read, an unknown method, a bad token. */
	{
		static const char tiny[] = "d1:t1:x1:y1:qe";
		static const char unk[] = "d1:ad2:id20:abcdefghij0123456789e1:q1:z1:t1:x1:y1:qe";
		union nt_sockaddr from = sa("198.51.100.78:4000");
		assert_true(feed(d, &c, tiny, sizeof(tiny) - 1, &from, 3000) > 0);
		r = answer_in(&c);
		assert_int_equal(r->type, NT_KRPC_ERROR);
		assert_true(feed(d, &c, unk, sizeof(unk) - 1, &from, 3000) > 0);
		r = answer_in(&c);
		assert_int_equal(r->error_code, NT_KRPC_ERR_METHOD);
	}
	nt_dht_free(d);
}

/* When not all stored peers fit, successive answers show different ones. */
static void test_engine_values_rotate(void **state)
{
	uint8_t ih[20];
	struct cap c;
	struct nt_dht *d;
	struct nt_krpc_msg q, *r;
	union nt_sockaddr from = sa("198.51.100.77:4000");
	bool seen[32] = { false };
	size_t nseen = 0;

	(void)state;
	memset(ih, 0xab, sizeof(ih));
	d = crowded_engine(&c, ih);
	query(&q, NT_KRPC_GET_PEERS, 0x55);
	memcpy(q.target, ih, 20);
	for (int i = 0; i < 64; i++) {
		r = ask(d, &c, &q, &from, 2000);
		for (size_t j = 0; j < r->n_values; j++) {
			int port = ntohs(r->values[j].in4.sin_port) - 1000;
			assert_true(port >= 0 && port < 32);
			nseen += !seen[port];
			seen[port] = true;
		}
	}
	assert_int_equal(nseen, 32);
	nt_dht_free(d);
}

/* Answers the last captured query as a remote node with id `rid` that sees us as `seen`. */
static void answer_last(struct nt_dht *d, struct cap *c, const uint8_t rid[20],
			const union nt_sockaddr *seen, uint64_t now)
{
	struct nt_krpc_msg *r = &msg;
	uint8_t buf[512];
	union nt_sockaddr to = c->pkt[c->n - 1].to;
	ssize_t n;

	assert_int_equal(nt_krpc_decode(r, c->pkt[c->n - 1].buf, c->pkt[c->n - 1].len), 0);
	assert_int_equal(r->type, NT_KRPC_QUERY);
	r->type = NT_KRPC_RESPONSE;
	memcpy(r->id, rid, 20);
	r->nodes = NULL;
	r->nodes6 = NULL;
	r->token = NULL;
	r->n_values = 0;
	r->has_ip = seen != NULL;
	if (seen)
		r->ip = *seen;
	n = nt_krpc_encode(r, buf, sizeof(buf));
	assert_true(n > 0);
	nt_dht_input(d, buf, (size_t)n, &to, now);
}

static void test_engine_external_address_votes(void **state)
{
	struct cap c;
	struct nt_dht *d = engine(&c, NULL);
	union nt_sockaddr ext = sa("203.0.113.5:40001"), liar = sa("203.0.113.66:1"), got;
	uint8_t id0[20], id1[20], rid[20];
	struct nt_dht_stats st;

	(void)state;
	nt_dht_get_id(d, id0);
	assert_false(nt_dht_get_external_addr(d, AF_INET, &got));
	/* Bootstrap to 3 nodes; the first two agree, a third lies: no majority of 3 yet. */
	for (int i = 0; i < 4; i++) {
		union nt_sockaddr node = addr_n(i);
		c.n = 0;
		assert_int_equal(nt_dht_add_node(d, &node, 1000), 0);
		assert_int_equal(c.n, 1);
		memset(rid, 0x40 + i, 20);
		answer_last(d, &c, rid, i == 2 ? &liar : &ext, 1100);
		if (i < 3)
			assert_false(nt_dht_get_external_addr(d, AF_INET, &got));
	}
	/* 3 of 4 votes agree: learned, and the ID is now a BEP 42 one for that IP. */
	assert_true(nt_dht_get_external_addr(d, AF_INET, &got));
	assert_true(nt_sockaddr_equal(&got, &ext));
	nt_dht_get_id(d, id1);
	assert_memory_not_equal(id0, id1, 20);
	assert_true(nt_dht_id_is_bep42(id1, &ext));
	nt_dht_get_stats(d, &st);
	assert_int_equal(st.good4, 4);
	/* Set from outside (STUN): taken as is; IPv6 stays unknown. */
	{
		union nt_sockaddr stun = sa("198.51.100.1:5");
		nt_dht_set_external_addr(d, &stun);
		assert_true(nt_dht_get_external_addr(d, AF_INET, &got));
		assert_true(nt_sockaddr_equal(&got, &stun));
		nt_dht_get_id(d, id1);
		assert_true(nt_dht_id_is_bep42(id1, &stun));
		assert_false(nt_dht_get_external_addr(d, AF_INET6, &got));
	}
	/* Export gives the good nodes. */
	{
		union nt_sockaddr out[10];
		assert_int_equal(nt_dht_export_nodes(d, out, 10), 4);
		assert_int_equal(nt_dht_export_nodes(d, out, 2), 2);
	}
	/* A reply with the right tid from the wrong address is unsolicited. */
	{
		union nt_sockaddr node = addr_n(9), wrong = addr_n(10);
		c.n = 0;
		nt_dht_add_node(d, &node, 2000);
		c.pkt[0].to = wrong;
		memset(rid, 0x70, 20);
		answer_last(d, &c, rid, NULL, 2001);
		nt_dht_get_stats(d, &st);
		assert_int_equal(st.dropped_unsolicited, 1);
		/* And the real one times out and is counted. */
		nt_dht_tick(d, 2000 + 60 * 1000);
		nt_dht_get_stats(d, &st);
		assert_true(st.timeouts >= 1);
	}
	nt_dht_free(d);
}

/* --- 200 nodes over an in-memory network ------------------------------------------- */

enum {
	SIM_NODES = 200,
	SIM_NAT = SIM_NODES - 1, /* this one sits behind a NAT */
	SIM_LATENCY_MS = 15,
	SIM_QUEUE = 1 << 13,
	SIM_NAT_FILTER = 512,
};

struct sim;

struct simnode {
	struct sim *sim;
	int idx;
	struct nt_dht *dht;
	union nt_sockaddr addr; /* as bound; for the NAT node its private address */
	uint64_t rng;
	uint64_t next_tick;
	union nt_sockaddr found[16];
	size_t nfound;
	size_t done;
};

struct dgram {
	uint64_t at;
	int to;
	union nt_sockaddr from;
	size_t len;
	uint8_t buf[1500];
};

struct sim {
	struct simnode node[SIM_NODES];
	struct dgram *q;
	size_t head, tail;
	uint64_t now;
	union nt_sockaddr nat_public; /* the NAT's one mapping for the node behind it */
	union nt_sockaddr nat_allowed[SIM_NAT_FILTER]; /* where it sent: port-restricted cone */
	size_t nat_nallowed;
	uint64_t delivered, dropped;
};

static uint64_t sim_seed = 1000;

static int sim_lookup(struct sim *s, const union nt_sockaddr *to, const union nt_sockaddr *from)
{
	if (nt_sockaddr_equal(to, &s->nat_public)) {
		for (size_t i = 0; i < s->nat_nallowed; i++)
			if (nt_sockaddr_equal(&s->nat_allowed[i], from))
				return SIM_NAT;
		return -1;
	}
	if (to->sa.sa_family != AF_INET || ntohs(to->in4.sin_port) != 6881)
		return -1;
	uint32_t ip = ntohl(to->in4.sin_addr.s_addr);
	if ((ip >> 16) != 0x0a00)
		return -1;
	int idx = (int)((ip >> 8) & 0xff) * 100 + (int)(ip & 0xff) - 1;
	return idx >= 0 && idx < SIM_NAT ? idx : -1;
}

static void sim_send(void *ctx, const void *buf, size_t len, const union nt_sockaddr *to)
{
	struct simnode *n = ctx;
	struct sim *s = n->sim;
	struct dgram *g;
	union nt_sockaddr from = n->addr;
	int dst;

	if (n->idx == SIM_NAT) {
		from = s->nat_public;
		bool known = false;
		for (size_t i = 0; i < s->nat_nallowed; i++)
			known |= nt_sockaddr_equal(&s->nat_allowed[i], to);
		if (!known && s->nat_nallowed < SIM_NAT_FILTER)
			s->nat_allowed[s->nat_nallowed++] = *to;
	}
	dst = sim_lookup(s, to, &from);
	if (dst < 0 || (s->tail + 1) % SIM_QUEUE == s->head) {
		s->dropped++;
		return;
	}
	g = &s->q[s->tail];
	s->tail = (s->tail + 1) % SIM_QUEUE;
	g->at = s->now + SIM_LATENCY_MS;
	g->to = dst;
	g->from = from;
	g->len = len;
	memcpy(g->buf, buf, len);
}

static void sim_peers(void *ctx, const uint8_t ih[20], const union nt_sockaddr *p, size_t n)
{
	struct simnode *sn = ctx;

	for (size_t i = 0; i < n; i++) {
		bool dup = false;
		for (size_t j = 0; j < sn->nfound; j++)
			dup |= nt_sockaddr_equal(&sn->found[j], &p[i]);
		if (!dup && sn->nfound < NT_ARRAY_SIZE(sn->found))
			sn->found[sn->nfound++] = p[i];
	}
}

static void sim_done(void *ctx, const uint8_t ih[20], int af, size_t replied)
{
	if (getenv("SIM_DEBUG"))
		print_message("node %d: lookup done, %zu replies\n", ((struct simnode *)ctx)->idx, replied);
	((struct simnode *)ctx)->done++;
}

static void sim_run_until(struct sim *s, uint64_t until)
{
	while (s->now < until) {
		s->now += 5;
		while (s->head != s->tail && s->q[s->head].at <= s->now) {
			struct dgram *g = &s->q[s->head];
			s->head = (s->head + 1) % SIM_QUEUE;
			s->delivered++;
			if (s->node[g->to].dht)
				nt_dht_input(s->node[g->to].dht, g->buf, g->len, &g->from, s->now);
		}
		for (int i = 0; i < SIM_NODES; i++) {
			struct simnode *n = &s->node[i];
			if (n->dht && n->next_tick <= s->now)
				n->next_tick = nt_dht_tick(n->dht, s->now);
		}
	}
}

static union nt_sockaddr sim_addr(int i)
{
	char buf[40];

	if (i == SIM_NAT)
		return sa("192.168.1.2:6881");
	snprintf(buf, sizeof(buf), "10.0.%d.%d:6881", i / 100, i % 100 + 1);
	return sa(buf);
}

static int sim_setup(void **state)
{
	struct sim *s = calloc(1, sizeof(*s));

	assert_non_null(s);
	s->q = calloc(SIM_QUEUE, sizeof(*s->q));
	assert_non_null(s->q);
	s->nat_public = sa("198.51.100.1:40000");
	s->now = 1000000;
	*state = s;
	return 0;
}

static int sim_teardown(void **state)
{
	struct sim *s = *state;

	for (int i = 0; i < SIM_NODES; i++)
		nt_dht_free(s->node[i].dht);
	free(s->q);
	free(s);
	return 0;
}

/*
 * Joins 200 nodes through node 0, announces one info-hash from 6 of them (one behind the
 * NAT) and looks it up from 20 others. With learn, no node is told its address: all
 * learn it from "ip" votes and regenerate their BEP 42 IDs while the network forms.
 */
static void run_simulation(struct sim *s, bool learn)
{
	static const int announcers[] = { 10, 20, 30, 40, 50, SIM_NAT };
	uint8_t ih[20];
	uint64_t rng = 42, t0 = s->now;
	struct nt_dht_stats st;
	size_t min_good = SIZE_MAX, sum_good = 0;

	fake_rand(&rng, ih, sizeof(ih));
	for (int i = 0; i < SIM_NODES; i++) {
		struct simnode *n = &s->node[i];
		struct nt_dht_config cfg = {
			.ipv4 = true, .port = 6881, .send = sim_send, .on_peers = sim_peers,
			.on_search_done = sim_done, .ctx = n, .rand = fake_rand, .rand_ctx = &n->rng,
		};
		n->sim = s;
		n->idx = i;
		n->rng = sim_seed + (uint64_t)i * 7919;
		n->addr = sim_addr(i);
		assert_int_equal(nt_dht_new(&n->dht, &cfg), 0);
		/* Members know their address (no NAT); the NAT'd node has to learn it. */
		if (i != SIM_NAT && !learn)
			nt_dht_set_external_addr(n->dht, &n->addr);
		n->next_tick = s->now;
	}
	/* Everyone bootstraps from node 0, joining 100 ms apart. */
	for (int i = 1; i < SIM_NODES; i++) {
		union nt_sockaddr boot = sim_addr(0);
		assert_int_equal(nt_dht_add_node(s->node[i].dht, &boot, s->now), 0);
		sim_run_until(s, s->now + 100);
	}
	sim_run_until(s, t0 + 120 * 1000);
	for (int i = 0; i < SIM_NODES; i++) {
		nt_dht_get_stats(s->node[i].dht, &st);
		min_good = NT_MIN(min_good, st.good4);
		sum_good += st.good4;
	}
	print_message("sim: after 120 s every node has >= %zu good nodes, %zu on average "
		      "(%" PRIu64 " datagrams)\n", min_good, sum_good / SIM_NODES, s->delivered);
	assert_true(min_good >= NT_DHT_K);

	/* The NAT'd node learned its public mapping from the "ip" votes. */
	{
		union nt_sockaddr ext;
		uint8_t id[20];
		assert_true(nt_dht_get_external_addr(s->node[SIM_NAT].dht, AF_INET, &ext));
		assert_true(nt_sockaddr_equal(&ext, &s->nat_public));
		nt_dht_get_id(s->node[SIM_NAT].dht, id);
		assert_true(nt_dht_id_is_bep42(id, &s->nat_public));
	}

	for (size_t i = 0; i < NT_ARRAY_SIZE(announcers); i++)
		assert_int_equal(nt_dht_announce(s->node[announcers[i]].dht, ih, s->now), 0);
	sim_run_until(s, s->now + 30 * 1000);
	for (size_t i = 0; i < NT_ARRAY_SIZE(announcers); i++)
		assert_int_equal(s->node[announcers[i]].done, 1);

	/* The 8 nodes closest to ih (brute force over all IDs) hold the announcements. */
	{
		int order[SIM_NODES];
		uint8_t ids[SIM_NODES][20];
		size_t holders = 0;
		for (int i = 0; i < SIM_NODES; i++) {
			nt_dht_get_id(s->node[i].dht, ids[i]);
			order[i] = i;
		}
		for (int i = 1; i < SIM_NODES; i++)
			for (int j = i; j > 0 && nt_dht_id_closer(ih, ids[order[j]], ids[order[j - 1]]) < 0; j--) {
				int tmp = order[j];
				order[j] = order[j - 1];
				order[j - 1] = tmp;
			}
		for (int k = 0; k < NT_DHT_K; k++) {
			size_t want = NT_ARRAY_SIZE(announcers);
			for (size_t a = 0; a < NT_ARRAY_SIZE(announcers); a++)
				want -= announcers[a] == order[k]; /* nobody announces to itself */
			nt_dht_get_stats(s->node[order[k]].dht, &st);
			holders += st.stored_peers == want;
			if (getenv("SIM_DEBUG"))
				print_message("closest %d: node %d stores %zu bad tokens %" PRIu64 " rl %" PRIu64 "\n", k, order[k], st.stored_peers, st.bad_tokens, st.dropped_ratelimit);
		}
		print_message("sim: %zu of the %d closest nodes store every other announcer\n",
			      holders, NT_DHT_K);
		assert_true(holders >= NT_DHT_K - 1);
	}

	/* 20 other nodes look it up and find every announcer, the NAT'd one at its mapping. */
	uint64_t out_before[SIM_NODES];
	for (int i = 100; i < 120; i++) {
		nt_dht_get_stats(s->node[i].dht, &st);
		out_before[i] = st.pkts_out;
		assert_int_equal(nt_dht_search(s->node[i].dht, ih, s->now), 0);
	}
	sim_run_until(s, s->now + 20 * 1000);
	uint64_t total_out = 0;
	for (int i = 100; i < 120; i++) {
		struct simnode *n = &s->node[i];
		assert_int_equal(n->done, 1);
		if (n->nfound != NT_ARRAY_SIZE(announcers))
			fail_msg("node %d found %zu peers", i, n->nfound);
		for (size_t a = 0; a < NT_ARRAY_SIZE(announcers); a++) {
			union nt_sockaddr want = announcers[a] == SIM_NAT ? s->nat_public :
									    sim_addr(announcers[a]);
			bool hit = false;
			for (size_t j = 0; j < n->nfound; j++)
				hit |= nt_sockaddr_equal(&n->found[j], &want);
			assert_true(hit);
		}
		nt_dht_get_stats(n->dht, &st);
		total_out += st.pkts_out - out_before[i];
	}
	print_message("sim: a lookup costs %.1f datagrams on average\n", (double)total_out / 20);
	assert_true(total_out / 20 < 40);
	nt_dht_get_stats(s->node[0].dht, &st);
	assert_int_equal(st.dropped_malformed, 0);
	if (learn) {
		for (int i = 0; i < SIM_NAT; i++) {
			union nt_sockaddr ext;
			assert_true(nt_dht_get_external_addr(s->node[i].dht, AF_INET, &ext));
			assert_true(nt_sockaddr_equal(&ext, &s->node[i].addr));
		}
	}
}

static void test_simulation_known_addresses(void **state)
{
	run_simulation(*state, getenv("SIM_NO_EXT") != NULL);
}

static void test_simulation_learned_addresses(void **state)
{
	run_simulation(*state, true);
}

int main(void)
{
	if (getenv("SIM_SEED"))
		sim_seed = strtoull(getenv("SIM_SEED"), NULL, 0);
	nt_log_set_level(NT_LOG_WARN, 0);
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_crc32c),
		cmocka_unit_test(test_bep42_vectors),
		cmocka_unit_test(test_distance),
		cmocka_unit_test(test_table_split_and_full),
		cmocka_unit_test(test_table_states),
		cmocka_unit_test(test_table_replacement),
		cmocka_unit_test(test_table_closest_and_rebuild),
		cmocka_unit_test(test_search_state_machine),
		cmocka_unit_test(test_store),
		cmocka_unit_test(test_engine_answers),
		cmocka_unit_test(test_engine_tokens_and_expiry),
		cmocka_unit_test(test_engine_limits),
		cmocka_unit_test(test_engine_flood_one_source),
		cmocka_unit_test(test_engine_ratelimit_no_refill),
		cmocka_unit_test(test_engine_ratelimit_ipv6_prefix),
		cmocka_unit_test(test_engine_answer_bound),
		cmocka_unit_test(test_engine_values_rotate),
		cmocka_unit_test(test_engine_external_address_votes),
		cmocka_unit_test_setup_teardown(test_simulation_known_addresses, sim_setup, sim_teardown),
		cmocka_unit_test_setup_teardown(test_simulation_learned_addresses, sim_setup,
						sim_teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
