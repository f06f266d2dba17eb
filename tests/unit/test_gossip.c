// SPDX-License-Identifier: MIT
/*
 * Gossip tests: eight ledgers and gossip engines on a fake network with a fake clock.
 *
 *     0 --- 1 --- 2 --- 3          ring i <-> i+1, plus chords i <-> i+3
 *     |  \__________/   |          partition: {0,1,2,3} | {4,5,6,7}
 *     7 --- 6 --- 5 --- 4
 *
 * They converge after changes and after a partition heals; a node that stops
 * refreshing vanishes everywhere; conflicting claims resolve the same way everywhere;
 * bad entries and bad messages are rejected and counted; messages never exceed max_msg.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <sodium.h>

#include "ledger/gossip.h"
#include "ledger/ledger.h"
#include "core/util.h"

#define T0 1700000000000ULL
#define NODES 8
#define LATENCY_MS 20
#define MAX_MSG 1200
#define TTL_MS 60000ULL

struct node {
	struct nt_identity id;
	struct nt_ledger *l;
	struct nt_gossip *g;
	uint64_t next_tick;
	bool alive, refreshing;
};

struct pkt {
	struct pkt *next;
	int from, to;
	uint64_t at;
	size_t len;
	uint8_t data[];
};

static struct node nodes[NODES];
static bool linked[NODES][NODES], cut[NODES][NODES];
static uint64_t sim_now;
static struct pkt *qhead, *qtail;
static uint64_t sent_msgs, dropped_msgs, max_seen;
static uint64_t sent_by_type[8]; /* messages sent, by type (NT_GOSSIP_IHAVE is the last) */
static uint32_t push_eager; /* the engines' push_eager (0: the default) */

static void net_send(void *ctx, uint64_t peer, const uint8_t *buf, size_t len)
{
	struct node *n = ctx;
	int from = (int)(n - nodes), to = (int)peer;
	struct pkt *p;

	assert_true(len <= MAX_MSG);
	assert_true(len >= 2);
	if (len > max_seen)
		max_seen = len;
	sent_msgs++;
	if (buf[1] < 8)
		sent_by_type[buf[1]]++;
	if (to < 0 || to >= NODES || !nodes[to].alive || cut[from][to]) {
		dropped_msgs++;
		return;
	}
	p = malloc(sizeof(*p) + len);
	assert_non_null(p);
	p->next = NULL;
	p->from = from;
	p->to = to;
	p->at = sim_now + LATENCY_MS;
	p->len = len;
	memcpy(p->data, buf, len);
	if (qtail)
		qtail->next = p;
	else
		qhead = p;
	qtail = p;
}

static void on_change(void *ctx, const struct nt_ledger_entry *e, enum nt_ledger_change c, bool local)
{
	struct node *n = ctx;

	(void)c;
	if (local && n->g) {
		nt_gossip_on_local_change(n->g, e, sim_now);
		n->next_tick = NT_MIN(n->next_tick, nt_gossip_deadline(n->g));
	}
}

static void net_flush(void)
{
	while (qhead) {
		struct pkt *p = qhead;
		qhead = p->next;
		if (!qhead)
			qtail = NULL;
		free(p);
	}
}

static void sim_setup(void)
{
	net_flush();
	memset(linked, 0, sizeof(linked));
	memset(cut, 0, sizeof(cut));
	sim_now = T0;
	for (int i = 0; i < NODES; i++) {
		struct node *n = &nodes[i];
		struct nt_ledger_cfg lc = { .capacity = 512, .on_change = on_change, .ctx = n };
		struct nt_gossip_cfg gc = { .max_msg = MAX_MSG, .send = net_send, .ctx = n,
					    .push_eager = push_eager };
		uint8_t seed[32] = { 'g', (uint8_t)i };

		if (!n->id.ed_sk) {
			n->id.ed_sk = sodium_malloc(64);
			assert_non_null(n->id.ed_sk);
		}
		crypto_sign_seed_keypair(n->id.ed_pk, n->id.ed_sk, seed);
		assert_int_equal(nt_ledger_new(&n->l, &lc), 0);
		assert_int_equal(nt_gossip_new(&n->g, n->l, &gc), 0);
		n->alive = n->refreshing = true;
		n->next_tick = 0;
	}
	for (int i = 0; i < NODES; i++) {
		int nb[2] = { (i + 1) % NODES, (i + 3) % NODES };
		for (int k = 0; k < 2; k++) {
			if (linked[i][nb[k]])
				continue;
			linked[i][nb[k]] = linked[nb[k]][i] = true;
			assert_int_equal(nt_gossip_peer_add(nodes[i].g, (uint64_t)nb[k]), 0);
			assert_int_equal(nt_gossip_peer_add(nodes[nb[k]].g, (uint64_t)i), 0);
		}
	}
}

static void sim_teardown(void)
{
	net_flush();
	for (int i = 0; i < NODES; i++) {
		nt_gossip_free(nodes[i].g);
		nt_ledger_free(nodes[i].l);
		nodes[i].g = NULL;
		nodes[i].l = NULL;
	}
}

/* Advances the fake clock by ms in 10 ms steps: deliveries, ticks, refreshes. */
static void sim_run(uint64_t ms)
{
	uint64_t end = sim_now + ms;

	while (sim_now < end) {
		sim_now += 10;
		while (qhead && qhead->at <= sim_now) {
			struct pkt *p = qhead;
			qhead = p->next;
			if (!qhead)
				qtail = NULL;
			if (nodes[p->to].alive && !cut[p->from][p->to]) {
				struct node *n = &nodes[p->to];

				assert_int_equal(nt_gossip_input(n->g, (uint64_t)p->from, p->data, p->len,
								 sim_now), 0);
				n->next_tick = NT_MIN(n->next_tick, nt_gossip_deadline(n->g));
			}
			free(p);
		}
		for (int i = 0; i < NODES; i++) {
			struct node *n = &nodes[i];
			if (!n->alive)
				continue;
			if (n->refreshing && sim_now % 1000 == 0)
				assert_true(nt_ledger_refresh_local(n->l, &n->id, sim_now) >= 0);
			if (sim_now >= n->next_tick)
				n->next_tick = nt_gossip_tick(n->g, sim_now);
		}
	}
}

static bool converged(int lo, int hi)
{
	uint8_t ref[32], h[32];
	bool first = true;

	for (int i = lo; i < hi; i++) {
		if (!nodes[i].alive)
			continue;
		nt_ledger_state_hash(nodes[i].l, h);
		if (first)
			memcpy(ref, h, 32);
		else if (memcmp(ref, h, 32) != 0)
			return false;
		first = false;
	}
	return true;
}

/* Runs until the nodes in [lo, hi) agree; returns the simulated milliseconds it took. */
static uint64_t run_until_converged(int lo, int hi, uint64_t max_ms)
{
	uint64_t start = sim_now;

	while (!converged(lo, hi)) {
		if (sim_now - start > max_ms)
			fail_msg("no convergence within %llu ms", (unsigned long long)max_ms);
		sim_run(100);
	}
	return sim_now - start;
}

static void claim(int i, const char *bucket, const char *key, const char *value)
{
	assert_int_equal(nt_ledger_put_local(nodes[i].l, &nodes[i].id, bucket, key, value,
					     strlen(value), TTL_MS, sim_now, NULL), 0);
}

static void test_converge(void **state)
{
	char ip[32];
	uint64_t t;

	(void)state;
	sim_setup();
	for (int i = 0; i < NODES; i++) {
		snprintf(ip, sizeof(ip), "10.1.0.%d", i + 1);
		claim(i, "machines", ip, "endpoint");
	}
	t = run_until_converged(0, NODES, 10000);
	printf("# 8 initial claims converged in %llu ms\n", (unsigned long long)t);
	assert_int_equal(nt_ledger_count(nodes[5].l), NODES);
	/* One change is pushed and forwarded: well under a digest interval. */
	sim_run(3000);
	claim(3, "services", "web", "10.1.0.4:80");
	t = run_until_converged(0, NODES, 2000);
	printf("# one change converged in %llu ms\n", (unsigned long long)t);
	assert_int_equal(nt_ledger_count(nodes[7].l), NODES + 1);
	assert_non_null(nt_ledger_get(nodes[7].l, "services", "web"));
	sim_run(21000); /* rounds go round-robin: every node has had a digest from a peer */
	for (int i = 0; i < NODES; i++) {
		bool some = false;
		for (int j = 0; j < NODES; j++)
			some |= linked[i][j] && nt_gossip_peer_is_synced(nodes[i].g, (uint64_t)j);
		assert_true(some);
	}
	printf("# %llu messages, largest %llu bytes\n", (unsigned long long)sent_msgs,
	       (unsigned long long)max_seen);
	sim_teardown();
}

static void set_partition(bool on)
{
	for (int i = 0; i < NODES; i++)
		for (int j = 0; j < NODES; j++)
			cut[i][j] = on && ((i < 4) != (j < 4));
}

static void test_partition_heals(void **state)
{
	uint8_t a[32], b[32];
	char key[32];
	uint64_t t;

	(void)state;
	sim_setup();
	for (int i = 0; i < NODES; i++) {
		snprintf(key, sizeof(key), "10.1.0.%d", i + 1);
		claim(i, "machines", key, "e");
	}
	run_until_converged(0, NODES, 10000);
	set_partition(true);
	/* Each side changes; a few dozen entries on one side force chunked summaries. */
	for (int k = 0; k < 40; k++) {
		snprintf(key, sizeof(key), "left-%d", k);
		claim(k % 4, "services", key, "left side value");
	}
	claim(6, "dns", "right.example", "10.1.0.7");
	claim(1, "machines", "10.1.0.2", "moved endpoint");
	sim_run(8000);
	assert_true(converged(0, 4));
	assert_true(converged(4, NODES));
	nt_ledger_state_hash(nodes[0].l, a);
	nt_ledger_state_hash(nodes[4].l, b);
	assert_memory_not_equal(a, b, 32);
	assert_null(nt_ledger_get(nodes[5].l, "services", "left-0"));
	set_partition(false);
	t = run_until_converged(0, NODES, 15000);
	printf("# healed partition converged in %llu ms\n", (unsigned long long)t);
	assert_non_null(nt_ledger_get(nodes[5].l, "services", "left-39"));
	assert_non_null(nt_ledger_get(nodes[0].l, "dns", "right.example"));
	assert_memory_equal(nt_ledger_get(nodes[7].l, "machines", "10.1.0.2")->value, "moved", 5);
	sim_teardown();
}

static bool owned_by(void *ctx, const struct nt_ledger_entry *e)
{
	int *count = ctx;

	if (memcmp(e->owner, nodes[5].id.ed_pk, 32) == 0)
		(*count)++;
	return true;
}

static void test_expiry_of_departed(void **state)
{
	char key[32];

	(void)state;
	sim_setup();
	for (int i = 0; i < NODES; i++) {
		snprintf(key, sizeof(key), "10.1.0.%d", i + 1);
		claim(i, "machines", key, "e");
	}
	claim(5, "services", "ssh", "22");
	run_until_converged(0, NODES, 10000);
	/* Node 5 goes away without a word. */
	nodes[5].alive = false;
	sim_run(TTL_MS + 2000);
	for (int i = 0; i < NODES; i++) {
		int count = 0;
		if (!nodes[i].alive)
			continue;
		nt_ledger_foreach_stored(nodes[i].l, owned_by, &count);
		assert_int_equal(count, 0);
		assert_null(nt_ledger_machine_owner(nodes[i].l, "10.1.0.6"));
		assert_non_null(nt_ledger_machine_owner(nodes[i].l, "10.1.0.7"));
		assert_int_equal(nt_ledger_count(nodes[i].l), NODES - 1);
	}
	assert_true(converged(0, NODES));
	sim_teardown();
}

static void test_conflicting_claims(void **state)
{
	const uint8_t *w;

	(void)state;
	sim_setup();
	/*
	 * A race: nodes 1 and 6 are far apart (two hops, 20 ms each); 1 claims first, 6 ten
	 * milliseconds later, before it could have heard of 1's claim. Both claims reach every
	 * node well within the race window, and the earlier wins everywhere.
	 */
	claim(1, "machines", "10.1.0.200", "one");
	sim_run(10);
	assert_null(nt_ledger_get(nodes[6].l, "machines", "10.1.0.200"));
	claim(6, "machines", "10.1.0.200", "six");
	run_until_converged(0, NODES, 15000);
	for (int i = 0; i < NODES; i++) {
		w = nt_ledger_machine_owner(nodes[i].l, "10.1.0.200");
		assert_non_null(w);
		assert_memory_equal(w, nodes[1].id.ed_pk, 32);
	}
	assert_true(nt_ledger_claim_is_beaten(nodes[6].l, "machines", "10.1.0.200", nodes[6].id.ed_pk));
	/* The loser withdraws; the winner stays. */
	assert_int_equal(nt_ledger_delete_local(nodes[6].l, &nodes[6].id, "machines", "10.1.0.200",
						sim_now), 0);
	run_until_converged(0, NODES, 3000);
	assert_memory_equal(nt_ledger_machine_owner(nodes[3].l, "10.1.0.200"), nodes[1].id.ed_pk, 32);
	sim_teardown();
}

/*
 * Not a race: the two sides of a partition each gave one address to their own member and
 * used it for a while. When they meet, the earlier claim is indistinguishable from one
 * back-dated to take a held address, so each side keeps its holder (a claim is never taken
 * from a live holder), until one lets go: then the other's takes over everywhere.
 */
static void test_partition_keeps_holders(void **state)
{
	(void)state;
	sim_setup();
	set_partition(true);
	claim(1, "machines", "10.1.0.201", "one");
	sim_run(500);
	claim(6, "machines", "10.1.0.201", "six");
	sim_run(5000);
	set_partition(false);
	sim_run(5000);
	for (int i = 0; i < NODES; i++)
		assert_memory_equal(nt_ledger_machine_owner(nodes[i].l, "10.1.0.201"),
				    nodes[i < 4 ? 1 : 6].id.ed_pk, 32);
	/* 6 withdraws: 1's claim, refused on 6's side while 6 held the key, now passes there. */
	assert_int_equal(nt_ledger_delete_local(nodes[6].l, &nodes[6].id, "machines", "10.1.0.201",
						sim_now), 0);
	run_until_converged(0, NODES, 30000);
	for (int i = 0; i < NODES; i++)
		assert_memory_equal(nt_ledger_machine_owner(nodes[i].l, "10.1.0.201"), nodes[1].id.ed_pk, 32);
	sim_teardown();
}

/* Builds a signed entry as docs/ledger.md describes it. */
static size_t make_entry(uint8_t *buf, size_t cap, const struct nt_identity *signer,
			 const uint8_t *owner, const char *key, uint64_t version, uint64_t claimed)
{
	static const char ctx[16] = "netron ledger v1";
	uint8_t zsig[64] = { 0 }, msg[16 + 1024];
	struct nt_ledger_entry e = {
		.bucket = "machines", .key = key, .value = (const uint8_t *)"x",
		.owner = owner, .sig = zsig, .version = version, .claimed_at = claimed,
		.expires_at = claimed + TTL_MS, .value_len = 1,
		.bucket_len = 8, .key_len = (uint8_t)strlen(key),
	};
	ssize_t n = nt_ledger_entry_encode(&e, buf, cap);

	assert_true(n > 0);
	memcpy(msg, ctx, 16);
	memcpy(msg + 16, buf, (size_t)n - 64);
	crypto_sign_detached(buf + n - 64, NULL, msg, 16 + (size_t)n - 64, signer->ed_sk);
	return (size_t)n;
}

static size_t wrap(uint8_t *msg, uint8_t type, const uint8_t *e, size_t len)
{
	msg[0] = NT_GOSSIP_VERSION;
	msg[1] = type;
	msg[2] = 0;
	msg[3] = 1;
	msg[4] = (uint8_t)(len >> 8);
	msg[5] = (uint8_t)len;
	memcpy(msg + 6, e, len);
	return 6 + len;
}

static void test_bad_input(void **state)
{
	struct nt_gossip_stats st;
	uint8_t e[512], m[600];
	size_t n, k;
	struct node *a;

	(void)state;
	sim_setup();
	a = &nodes[0];
	sim_now = T0 + 10000;
	/* A good one, its replay, a foreign-owner forgery, an unsigned and an old version. */
	n = make_entry(e, sizeof(e), &nodes[1].id, nodes[1].id.ed_pk, "10.1.0.2", 5, sim_now);
	k = wrap(m, NT_GOSSIP_PUSH, e, n);
	assert_int_equal(nt_gossip_input(a->g, 1, m, k, sim_now), 0);
	assert_int_equal(nt_gossip_input(a->g, 1, m, k, sim_now), 0);
	n = make_entry(e, sizeof(e), &nodes[2].id, nodes[1].id.ed_pk, "10.1.0.2", 9, sim_now);
	assert_int_equal(nt_gossip_input(a->g, 1, m, wrap(m, NT_GOSSIP_PUSH, e, n), sim_now), 0);
	n = make_entry(e, sizeof(e), &nodes[1].id, nodes[1].id.ed_pk, "10.1.0.2", 10, sim_now);
	memset(e + n - 64, 0, 64);
	assert_int_equal(nt_gossip_input(a->g, 1, m, wrap(m, NT_GOSSIP_ENTRIES, e, n), sim_now), 0);
	n = make_entry(e, sizeof(e), &nodes[1].id, nodes[1].id.ed_pk, "10.1.0.2", 4, sim_now);
	assert_int_equal(nt_gossip_input(a->g, 1, m, wrap(m, NT_GOSSIP_PUSH, e, n), sim_now), 0);
	nt_gossip_stats_get(a->g, &st);
	assert_int_equal(st.entries_rx[NT_LEDGER_ADDED], 1);
	assert_int_equal(st.entries_rx[NT_LEDGER_DUPLICATE], 1);
	assert_int_equal(st.entries_rx[NT_LEDGER_REJ_SIGNATURE], 2);
	assert_int_equal(st.entries_rx[NT_LEDGER_REJ_REPLAY], 1);
	assert_int_equal(nt_ledger_get(a->l, "machines", "10.1.0.2")->version, 5);
	/* The good push was forwarded once, to other peers only. */
	assert_true(st.pushes_forwarded >= 1);

	/* Framing errors. */
	static const struct {
		const char *hex_desc;
		uint8_t bytes[16];
		size_t len;
	} bad[] = {
		{ "empty", { 0 }, 0 },
		{ "version", { 1, 1 }, 2 },
		{ "unknown type", { 2, 9, 0, 0 }, 4 },
		{ "short digest", { 2, 1, 0, 0 }, 4 },
		{ "ranges short header", { 2, 2, 0, 0, 0 }, 5 },
		{ "ranges no items", { 2, 2, 0, 0, 0, 0, 0, 0, 0, 0, 0 }, 11 },
		{ "ranges of level 16", { 2, 2, 16, 0, 0, 0, 0, 0, 0, 0, 0 }, 11 },
		{ "summary level 17", { 2, 3, 17, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0 }, 13 },
		{ "summary prefix too long", { 2, 3, 1, 0, 0, 0, 0, 0, 0, 0, 16, 0, 0 }, 13 },
		{ "summary root prefix", { 2, 3, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0 }, 13 },
		{ "summary no count", { 2, 3, 0, 0, 0, 0, 0, 0, 0, 0, 0 }, 11 },
		{ "summary count past end", { 2, 3, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1 }, 13 },
		{ "want count mismatch", { 2, 4, 0, 1, 1, 2, 3 }, 7 },
		{ "entries zero length", { 2, 5, 0, 1, 0, 0 }, 6 },
		{ "entries record past end", { 2, 6, 0, 1, 0, 9, 1 }, 7 },
		{ "entries trailing byte", { 2, 5, 0, 0, 7 }, 5 },
		{ "ihave count past end", { 2, 7, 0, 1, 1, 2, 3 }, 7 },
		{ "ihave no count", { 2, 7, 0 }, 3 },
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		if (nt_gossip_input(a->g, 1, bad[i].bytes, bad[i].len, sim_now) != -EBADMSG)
			fail_msg("bad message %zu (%s) accepted", i + 1, bad[i].hex_desc);
	assert_int_equal(nt_gossip_input(a->g, 99, m, k, sim_now), -ENOENT);
	nt_gossip_stats_get(a->g, &st);
	assert_int_equal(st.rx_bad, sizeof(bad) / sizeof(bad[0]));
	assert_int_equal(st.rx_unknown_peer, 1);
	/* A want for an unknown id and an empty summary are harmless. */
	{
		uint8_t w[12] = { 2, 4, 0, 1, 1, 2, 3, 4, 5, 6, 7, 8 };
		uint8_t s[13] = { 2, 3, 1, 0, 0, 0, 0, 0, 0, 0, 0xf, 0, 0 };
		assert_int_equal(nt_gossip_input(a->g, 1, w, sizeof(w), sim_now), 0);
		assert_int_equal(nt_gossip_input(a->g, 1, s, sizeof(s), sim_now), 0);
	}
	sim_teardown();
}

static void test_join_pulls_everything(void **state)
{
	char key[32];
	uint64_t t;

	(void)state;
	sim_setup();
	/* Node 7 starts cut off from everyone, then joins a ledger of 300 entries. */
	for (int j = 0; j < NODES; j++)
		cut[7][j] = cut[j][7] = true;
	for (int k = 0; k < 300; k++) {
		snprintf(key, sizeof(key), "svc-%d", k);
		claim(k % 7, "services", key, "some value that takes a few bytes");
	}
	run_until_converged(0, 7, 20000);
	assert_int_equal(nt_ledger_count(nodes[7].l), 0);
	for (int j = 0; j < NODES; j++)
		cut[7][j] = cut[j][7] = false;
	t = run_until_converged(0, NODES, 15000);
	printf("# a joining node pulled 300 entries in %llu ms\n", (unsigned long long)t);
	assert_int_equal(nt_ledger_count(nodes[7].l), 300);
	assert_true(max_seen <= MAX_MSG);
	sim_teardown();
}

/*
 * An ENTRIES answer whose first records leave less room than a record's length prefix: the
 * next record starts a new message (before the fix the room left was computed as a
 * negative size, and the next entry was written past the message buffer).
 */
static void test_entries_fill_to_the_edge(void **state)
{
	/* Wire size of an entry: 126 fixed + bucket + key + value. Message: 2 header + 2 count
	 * + per record 2 + wire. Two records of 600 and 591 bytes fill 1199 of 1200. */
	static const size_t values[3] = { 600 - 126 - 8 - 2, 591 - 126 - 8 - 2, 100 };
	static const char *keys[3] = { "k1", "k2", "k3" };
	uint8_t want[2 + 2 + 3 * 8];
	char value[700];

	(void)state;
	sim_setup();
	memset(value, 'v', sizeof(value));
	want[0] = NT_GOSSIP_VERSION;
	want[1] = NT_GOSSIP_WANT;
	want[2] = 0;
	want[3] = 3;
	for (int i = 0; i < 3; i++) {
		const struct nt_ledger_entry *e;

		assert_int_equal(nt_ledger_put_local(nodes[0].l, &nodes[0].id, "services", keys[i], value,
						     values[i], TTL_MS, sim_now, &e),
				 0);
		nt_put_be64(want + 4 + 8 * i, nt_ledger_entry_id(nodes[0].l, e));
	}
	net_flush();
	max_seen = 0;
	/* Node 1 is a gossip peer of node 0 (ring). net_send checks every message <= MAX_MSG. */
	assert_int_equal(nt_gossip_input(nodes[0].g, 1, want, sizeof(want), sim_now), 0);
	assert_true(max_seen == MAX_MSG - 1);
	assert_non_null(qhead);
	assert_non_null(qhead->next); /* the third entry went in a second message */
	sim_teardown();
}

/*
 * A quiet network: one digest per round and the rounds stretch to a minute, so ten quiet
 * minutes cost each node about a dozen 38-byte digests; a change brings them back to 5 s.
 */
static void test_quiet_rounds(void **state)
{
	struct nt_gossip_stats before[NODES], after;
	char ip[32];

	(void)state;
	sim_setup();
	for (int i = 0; i < NODES; i++) {
		nodes[i].refreshing = false;
		snprintf(ip, sizeof(ip), "10.1.0.%d", i + 1);
		claim(i, "machines", ip, "endpoint");
	}
	run_until_converged(0, NODES, 10000);
	sim_run(5000);
	for (int i = 0; i < NODES; i++)
		nt_gossip_stats_get(nodes[i].g, &before[i]);
	sent_msgs = 0;
	sim_run(50000); /* TTL_MS is a minute: stop before the claims expire */
	for (int i = 0; i < NODES; i++) {
		nt_gossip_stats_get(nodes[i].g, &after);
		/* Rounds at most every 5, 10, 20, 40 s from the last change: 4 in 50 s. */
		assert_true(after.rounds - before[i].rounds <= 4);
		assert_true(after.rounds - before[i].rounds >= 1);
		assert_int_equal(after.tx_msgs - before[i].tx_msgs, after.rounds - before[i].rounds);
		assert_int_equal(after.tx_bytes - before[i].tx_bytes,
				 38 * (after.tx_msgs - before[i].tx_msgs));
		assert_int_equal(after.digests_differ, before[i].digests_differ);
	}
	/* A change: the owner's next round is at most 5 s away, and so is every receiver's. */
	nt_gossip_stats_get(nodes[4].g, &before[4]);
	claim(0, "services", "web", "10.1.0.1:80");
	sim_run(5100);
	nt_gossip_stats_get(nodes[4].g, &after);
	assert_true(after.rounds > before[4].rounds);
	assert_non_null(nt_ledger_get(nodes[4].l, "services", "web"));
	sim_teardown();
}

/* Two members that differ in a few of 4000 entries, exchanging messages until quiet. */
struct pair_pkt {
	int to;
	size_t len;
	uint8_t data[MAX_MSG];
};

static struct pair_pkt *pair_q;
static size_t pair_head, pair_tail, pair_cap;
static uint64_t pair_bytes[8];

static void pair_send(void *ctx, uint64_t peer, const uint8_t *buf, size_t len)
{
	(void)ctx;
	assert_true(len <= MAX_MSG && len >= 2 && buf[1] < 8);
	assert_true(pair_tail < pair_cap);
	pair_q[pair_tail].to = (int)peer;
	pair_q[pair_tail].len = len;
	memcpy(pair_q[pair_tail].data, buf, len);
	pair_tail++;
	pair_bytes[buf[1]] += len;
}

static bool copy_entry(void *ctx, const struct nt_ledger_entry *e)
{
	struct nt_ledger *to = ctx;
	uint8_t buf[512];
	ssize_t n = nt_ledger_entry_encode(e, buf, sizeof(buf));

	assert_true(n > 0);
	assert_int_equal(nt_ledger_insert(to, buf, (size_t)n, T0), NT_LEDGER_ADDED);
	return true;
}

static void test_reconcile_cost(void **state)
{
	enum { N = 4000, ONLY_A = 3, ONLY_B = 3 };
	struct nt_ledger_cfg lc = { .capacity = N + 16 };
	struct nt_gossip_cfg gc = { .max_msg = MAX_MSG, .send = pair_send };
	struct nt_identity id = { 0 };
	struct nt_ledger *l[2], *src;
	struct nt_gossip *g[2];
	uint8_t ha[32], hb[32];
	uint64_t control = 0;
	char key[32];

	(void)state;
	pair_cap = 4096;
	pair_q = malloc(pair_cap * sizeof(*pair_q));
	assert_non_null(pair_q);
	id.ed_sk = sodium_malloc(64);
	assert_non_null(id.ed_sk);
	lc.max_local = N; /* src signs for every owner */
	assert_int_equal(nt_ledger_new(&src, &lc), 0);
	lc.max_local = 0;
	for (int s = 0; s < 2; s++) {
		assert_int_equal(nt_ledger_new(&l[s], &lc), 0);
		gc.ctx = l[s];
		assert_int_equal(nt_gossip_new(&g[s], l[s], &gc), 0);
		assert_int_equal(nt_gossip_peer_add(g[s], (uint64_t)!s), 0);
	}
	/* N owners of one claim each, known to both; then a few that only one side knows. */
	for (int i = 0; i < N + ONLY_A + ONLY_B; i++) {
		uint8_t seed[32] = { 'r', 'c', (uint8_t)(i >> 8), (uint8_t)i };
		struct nt_ledger *to = i < N ? src : l[i < N + ONLY_A ? 0 : 1];

		crypto_sign_seed_keypair(id.ed_pk, id.ed_sk, seed);
		snprintf(key, sizeof(key), "10.%d.%d.%d", i >> 16, (i >> 8) & 255, i & 255);
		assert_int_equal(nt_ledger_put_local(to, &id, "machines", key, "{\"endpoints\":[]}", 16,
						     TTL_MS, T0, NULL), 0);
	}
	nt_ledger_foreach_stored(src, copy_entry, l[0]);
	nt_ledger_foreach_stored(src, copy_entry, l[1]);
	memset(pair_bytes, 0, sizeof(pair_bytes));
	pair_head = pair_tail = 0;
	nt_gossip_tick(g[0], T0 + 1000); /* the new peer's first digest */
	while (pair_head < pair_tail) {
		struct pair_pkt *p = &pair_q[pair_head++];
		assert_int_equal(nt_gossip_input(g[p->to], (uint64_t)!p->to, p->data, p->len, T0 + 1000), 0);
	}
	nt_ledger_state_hash(l[0], ha);
	nt_ledger_state_hash(l[1], hb);
	assert_memory_equal(ha, hb, 32);
	assert_int_equal(nt_ledger_count(l[0]), N + ONLY_A + ONLY_B);
	for (int t = 0; t < 8; t++)
		if (t != NT_GOSSIP_ENTRIES)
			control += pair_bytes[t];
	printf("# %d differences in %d entries: %llu bytes of digests, ranges, summaries and wants"
	       " (%llu ranges, %llu summaries), %llu of entries, in %zu messages\n",
	       ONLY_A + ONLY_B, N, (unsigned long long)control,
	       (unsigned long long)pair_bytes[NT_GOSSIP_RANGES],
	       (unsigned long long)pair_bytes[NT_GOSSIP_SUMMARY],
	       (unsigned long long)pair_bytes[NT_GOSSIP_ENTRIES], pair_tail);
	/* A summary of every entry would take 20 bytes each: 80,000. Per difference: a few
	 * levels of 203-byte ranges and one summary of at most NT_GOSSIP_LEAF items. */
	assert_true(control <= (ONLY_A + ONLY_B) * (3 * 203 + 15 + NT_GOSSIP_LEAF * 20 + 12) + 38);
	for (int s = 0; s < 2; s++) {
		nt_gossip_free(g[s]);
		nt_ledger_free(l[s]);
	}
	nt_ledger_free(src);
	sodium_free(id.ed_sk);
	free(pair_q);
}

/* Every id a SUMMARY lists must lie in its range. */
static void test_summary_out_of_range(void **state)
{
	uint8_t m[13 + 20] = { NT_GOSSIP_VERSION, NT_GOSSIP_SUMMARY, 1, 0, 0, 0, 0, 0, 0, 0, 3, 0, 1 };
	struct nt_gossip_stats st;

	(void)state;
	sim_setup();
	nt_put_be64(m + 13, 0x3fffffffffffffffULL); /* in range 3 of level 1 */
	nt_put_be64(m + 21, 1);
	assert_int_equal(nt_gossip_input(nodes[0].g, 1, m, sizeof(m), sim_now), 0);
	nt_put_be64(m + 13, 0x4000000000000000ULL);
	assert_int_equal(nt_gossip_input(nodes[0].g, 1, m, sizeof(m), sim_now), -EBADMSG);
	nt_gossip_stats_get(nodes[0].g, &st);
	assert_int_equal(st.rx_bad, 1);
	assert_int_equal(st.wants_sent, 1);
	sim_teardown();
}

/*
 * Entries learnt by reconciliation (ENTRIES) travel on like pushes only when they are news
 * (signed within fresh_ms): a claim made before its owner had sessions still spreads in hops,
 * while what a joining member pulls goes no further.
 */
static void test_fresh_entries_forwarded(void **state)
{
	struct nt_gossip_stats st;
	uint8_t e[512], m[600];
	size_t n;

	(void)state;
	sim_setup();
	sim_now = T0 + 100000;
	/* Version 5: signed long ago as far as versions tell (they are the owner's clock). */
	n = make_entry(e, sizeof(e), &nodes[1].id, nodes[1].id.ed_pk, "10.1.0.2", 5, sim_now);
	assert_int_equal(nt_gossip_input(nodes[0].g, 1, m, wrap(m, NT_GOSSIP_ENTRIES, e, n), sim_now), 0);
	nt_gossip_stats_get(nodes[0].g, &st);
	assert_int_equal(st.entries_rx[NT_LEDGER_ADDED], 1);
	assert_int_equal(st.pushes_forwarded, 0);
	/* Signed a second ago: news, forwarded to node 0's three other peers. */
	n = make_entry(e, sizeof(e), &nodes[2].id, nodes[2].id.ed_pk, "10.1.0.3", sim_now - 1000, sim_now);
	assert_int_equal(nt_gossip_input(nodes[0].g, 1, m, wrap(m, NT_GOSSIP_ENTRIES, e, n), sim_now), 0);
	nt_gossip_stats_get(nodes[0].g, &st);
	assert_int_equal(st.entries_rx[NT_LEDGER_ADDED], 2);
	assert_int_equal(st.pushes_forwarded, 3);
	sim_teardown();
}

/* The IHAVE item of an entry (encoded in e): id, version, hash[0..4], as a ledger stores it. */
static void item_of(const uint8_t *e, size_t n, uint8_t it[NT_GOSSIP_SUMMARY_ITEM])
{
	struct nt_ledger_cfg lc = { .capacity = 8 };
	const struct nt_ledger_entry *s;
	struct nt_ledger_entry d;
	struct nt_ledger *l;
	uint64_t id;

	assert_int_equal(nt_ledger_new(&l, &lc), 0);
	assert_int_equal(nt_ledger_insert(l, e, n, sim_now), NT_LEDGER_ADDED);
	assert_true(nt_ledger_entry_decode(e, n, &d));
	id = nt_ledger_entry_id(NULL, &d);
	s = nt_ledger_get_by_id(l, id);
	assert_non_null(s);
	nt_put_be64(it, id);
	nt_put_be64(it + 8, d.version);
	memcpy(it + 16, nt_ledger_entry_hash_prefix(l, s), 4);
	nt_ledger_free(l);
}

/* The WANTs queued from node `from` to node `to` (and not yet delivered). */
static unsigned int queued(int from, int to, uint8_t type)
{
	unsigned int n = 0;

	for (const struct pkt *p = qhead; p; p = p->next)
		n += p->from == from && p->to == to && p->data[1] == type;
	return n;
}

/*
 * IHAVE: a member asks the announcer for what it lacks, once however many peers announce
 * it, asks the last of them again a second later if it has not come, forwards it when it
 * comes (the entry to one peer, its item to the others), and ignores an item it holds.
 */
static void test_ihave(void **state)
{
	uint8_t e[512], m[600], it[NT_GOSSIP_SUMMARY_ITEM];
	struct nt_gossip_stats st;
	size_t n, k;
	struct node *a;

	(void)state;
	sim_setup();
	a = &nodes[0]; /* peers 1, 3, 5 and 7 */
	sim_now = T0 + 10000;
	n = make_entry(e, sizeof(e), &nodes[2].id, nodes[2].id.ed_pk, "10.1.0.3", sim_now - 100, sim_now - 100);
	item_of(e, n, it);
	m[0] = NT_GOSSIP_VERSION;
	m[1] = NT_GOSSIP_IHAVE;
	m[2] = 0;
	m[3] = 1;
	memcpy(m + 4, it, sizeof(it));
	k = 4 + sizeof(it);
	net_flush();
	assert_int_equal(nt_gossip_input(a->g, 1, m, k, sim_now), 0);
	assert_int_equal(queued(0, 1, NT_GOSSIP_WANT), 1);
	/* The same news from two more peers: not asked again. */
	assert_int_equal(nt_gossip_input(a->g, 3, m, k, sim_now + 10), 0);
	assert_int_equal(nt_gossip_input(a->g, 7, m, k, sim_now + 20), 0);
	assert_int_equal(queued(0, 3, NT_GOSSIP_WANT) + queued(0, 7, NT_GOSSIP_WANT), 0);
	/* The answer was lost: a second later, the last announcer is asked. */
	net_flush();
	assert_true(nt_gossip_deadline(a->g) <= sim_now + 1000);
	nt_gossip_tick(a->g, sim_now + 1000);
	assert_int_equal(queued(0, 7, NT_GOSSIP_WANT), 1);
	assert_int_equal(queued(0, 1, NT_GOSSIP_WANT) + queued(0, 3, NT_GOSSIP_WANT), 0);
	/* It comes from 7 (an answer, not a push): forwarded all the same, whole to one peer,
	 * as an IHAVE to the other two. */
	net_flush();
	sim_now += 1010;
	assert_int_equal(nt_gossip_input(a->g, 7, m, wrap(m, NT_GOSSIP_ENTRIES, e, n), sim_now), 0);
	nt_gossip_stats_get(a->g, &st);
	assert_int_equal(st.entries_rx[NT_LEDGER_ADDED], 1);
	assert_int_equal(st.pushes_forwarded, 3);
	assert_int_equal(st.ihaves_sent, 2);
	assert_int_equal(queued(0, 7, NT_GOSSIP_PUSH) + queued(0, 7, NT_GOSSIP_IHAVE), 0);
	assert_int_equal(queued(0, 1, NT_GOSSIP_PUSH) + queued(0, 3, NT_GOSSIP_PUSH) +
				 queued(0, 5, NT_GOSSIP_PUSH), 1);
	assert_int_equal(queued(0, 1, NT_GOSSIP_IHAVE) + queued(0, 3, NT_GOSSIP_IHAVE) +
				 queued(0, 5, NT_GOSSIP_IHAVE), 2);
	/* Held now: announcing it again asks for nothing, and nothing is asked again later. */
	net_flush();
	m[1] = NT_GOSSIP_IHAVE;
	m[2] = 0;
	m[3] = 1;
	memcpy(m + 4, it, sizeof(it));
	assert_int_equal(nt_gossip_input(a->g, 5, m, k, sim_now), 0);
	nt_gossip_tick(a->g, sim_now + 5000);
	assert_int_equal(queued(0, 5, NT_GOSSIP_WANT) + queued(0, 1, NT_GOSSIP_WANT) +
				 queued(0, 3, NT_GOSSIP_WANT) + queued(0, 7, NT_GOSSIP_WANT), 0);
	sim_teardown();
}

/* Writes an IHAVE of n items (NT_GOSSIP_SUMMARY_ITEM bytes each) to m; its length. */
static size_t ihave_msg(uint8_t *m, const uint8_t *items, uint16_t n)
{
	m[0] = NT_GOSSIP_VERSION;
	m[1] = NT_GOSSIP_IHAVE;
	nt_put_be16(m + 2, n);
	memcpy(m + 4, items, (size_t)n * NT_GOSSIP_SUMMARY_ITEM);
	return 4 + (size_t)n * NT_GOSSIP_SUMMARY_ITEM;
}

/* The WANT queued from node `from` to node `to` that asks for id. */
static bool wanted_of(int from, int to, uint64_t id)
{
	for (const struct pkt *p = qhead; p; p = p->next) {
		if (p->from != from || p->to != to || p->data[1] != NT_GOSSIP_WANT)
			continue;
		for (uint16_t k = 0; k < nt_get_be16(p->data + 2); k++)
			if (nt_get_be64(p->data + 4 + 8 * (size_t)k) == id)
				return true;
	}
	return false;
}

/*
 * A hostile member (node 1) that announces news first and never answers must not keep our
 * asking away from the honest member (node 3) that announced it too, by announcing it
 * again after it: the second a lost answer waits is spent on the peer that failed us.
 */
static void test_ihave_reannounce(void **state)
{
	uint8_t e[512], m[600], it[NT_GOSSIP_SUMMARY_ITEM];
	struct nt_gossip *g;
	size_t n, k;

	(void)state;
	sim_setup();
	g = nodes[0].g; /* peers 1, 3, 5 and 7 */
	sim_now = T0 + 10000;
	n = make_entry(e, sizeof(e), &nodes[2].id, nodes[2].id.ed_pk, "10.1.0.3", sim_now - 100, sim_now - 100);
	item_of(e, n, it);
	k = ihave_msg(m, it, 1);
	net_flush();
	assert_int_equal(nt_gossip_input(g, 1, m, k, sim_now), 0);
	assert_true(wanted_of(0, 1, nt_get_be64(it)));
	assert_int_equal(nt_gossip_input(g, 3, m, k, sim_now + 10), 0);
	assert_int_equal(nt_gossip_input(g, 1, m, k, sim_now + 20), 0);
	/* Node 1 does not answer: a second later node 3 is asked, not node 1 again. */
	net_flush();
	nt_gossip_tick(g, sim_now + 1000);
	assert_true(wanted_of(0, 3, nt_get_be64(it)));
	assert_false(wanted_of(0, 1, nt_get_be64(it)));
	sim_teardown();
}

/*
 * A hostile member (node 1) announces 64 items nobody holds (2 x 644 bytes): what we asked
 * an honest member (node 3) must still be asked again if its answer is lost, and come
 * only once however many honest members announce it.
 */
static void test_ihave_ring_flood(void **state)
{
	uint8_t e[512], m[1400], it[NT_GOSSIP_SUMMARY_ITEM], junk[64 * NT_GOSSIP_SUMMARY_ITEM];
	struct nt_gossip *g;
	size_t n, k;

	(void)state;
	sim_setup();
	g = nodes[0].g;
	sim_now = T0 + 10000;
	n = make_entry(e, sizeof(e), &nodes[2].id, nodes[2].id.ed_pk, "10.1.0.3", sim_now - 100, sim_now - 100);
	item_of(e, n, it);
	net_flush();
	assert_int_equal(nt_gossip_input(g, 3, m, ihave_msg(m, it, 1), sim_now), 0);
	assert_true(wanted_of(0, 3, nt_get_be64(it)));
	memset(junk, 0, sizeof(junk));
	for (uint16_t j = 0; j < 64; j++) {
		nt_put_be64(junk + j * NT_GOSSIP_SUMMARY_ITEM, 0xdead000000000000ULL + j);
		nt_put_be64(junk + j * NT_GOSSIP_SUMMARY_ITEM + 8, sim_now);
	}
	for (uint16_t j = 0; j < 64; j += 32) {
		k = ihave_msg(m, junk + j * NT_GOSSIP_SUMMARY_ITEM, 32);
		assert_int_equal(nt_gossip_input(g, 1, m, k, sim_now + 10), 0);
	}
	assert_true(wanted_of(0, 1, 0xdead000000000000ULL + 63));
	/* Node 5 announces it too: still asked once. */
	net_flush();
	assert_int_equal(nt_gossip_input(g, 5, m, ihave_msg(m, it, 1), sim_now + 20), 0);
	assert_false(wanted_of(0, 5, nt_get_be64(it)));
	/* The answer was lost: asked again a second later, of node 5 (the last announcer). */
	net_flush();
	nt_gossip_tick(g, sim_now + 1000);
	assert_true(wanted_of(0, 5, nt_get_be64(it)) || wanted_of(0, 3, nt_get_be64(it)));
	sim_teardown();
}

/*
 * The same flood, asked again a second later (which makes its slots the newest): the
 * news of two honest members (nodes 3 and 5) must not take each other's slots while the
 * flood holds more than its share.
 */
static void test_ihave_ring_flood_refreshed(void **state)
{
	uint8_t e[512], m[1400], x[NT_GOSSIP_SUMMARY_ITEM], y[NT_GOSSIP_SUMMARY_ITEM];
	uint8_t junk[63 * NT_GOSSIP_SUMMARY_ITEM];
	struct nt_gossip *g;
	uint64_t t0;
	size_t n;

	(void)state;
	sim_setup();
	g = nodes[0].g;
	t0 = sim_now = T0 + 10000;
	memset(junk, 0, sizeof(junk));
	for (uint16_t j = 0; j < 63; j++) {
		nt_put_be64(junk + j * NT_GOSSIP_SUMMARY_ITEM, 0xdead000000000000ULL + j);
		nt_put_be64(junk + j * NT_GOSSIP_SUMMARY_ITEM + 8, t0);
	}
	net_flush();
	assert_int_equal(nt_gossip_input(g, 1, m, ihave_msg(m, junk, 32), t0), 0);
	assert_int_equal(nt_gossip_input(g, 1, m, ihave_msg(m, junk + 32 * NT_GOSSIP_SUMMARY_ITEM, 31), t0), 0);
	n = make_entry(e, sizeof(e), &nodes[2].id, nodes[2].id.ed_pk, "10.1.0.3", t0 - 100, t0 - 100);
	item_of(e, n, x);
	n = make_entry(e, sizeof(e), &nodes[4].id, nodes[4].id.ed_pk, "10.1.0.5", t0 - 100, t0 - 100);
	item_of(e, n, y);
	assert_int_equal(nt_gossip_input(g, 3, m, ihave_msg(m, x, 1), t0 + 500), 0);
	assert_true(wanted_of(0, 3, nt_get_be64(x)));
	/* The flood is asked again (its slots are now the newest), then node 5's news comes. */
	nt_gossip_tick(g, t0 + 1000);
	assert_true(wanted_of(0, 1, 0xdead000000000000ULL));
	assert_int_equal(nt_gossip_input(g, 5, m, ihave_msg(m, y, 1), t0 + 1100), 0);
	assert_true(wanted_of(0, 5, nt_get_be64(y)));
	/* Node 3's answer was lost: asked again. */
	net_flush();
	nt_gossip_tick(g, t0 + 1500);
	assert_true(wanted_of(0, 3, nt_get_be64(x)));
	sim_teardown();
}

/*
 * A hostile member (node 1) sends an entry it made up in the name of node 2: the next
 * version of node 2's claim, back-dated, with a signature that is not node 2's. It is
 * refused; but it must not make us refuse to ask for node 2's real entry of that version
 * when an honest member (node 3) announces it: only what its owner signed is remembered.
 */
static void test_ihave_forged_refusal(void **state)
{
	uint8_t e[512], m[600], it[NT_GOSSIP_SUMMARY_ITEM];
	struct nt_gossip_stats st;
	struct nt_gossip *g;
	uint64_t v;
	size_t n;

	(void)state;
	sim_setup();
	g = nodes[0].g;
	sim_now = T0 + 10000;
	n = make_entry(e, sizeof(e), &nodes[2].id, nodes[2].id.ed_pk, "10.1.0.3", sim_now - 5000, sim_now - 5000);
	assert_int_equal(nt_ledger_insert(nodes[0].l, e, n, sim_now), NT_LEDGER_ADDED);
	v = sim_now - 100;
	n = make_entry(e, sizeof(e), &nodes[1].id, nodes[2].id.ed_pk, "10.1.0.3", v, sim_now - 6000);
	assert_int_equal(nt_gossip_input(g, 1, m, wrap(m, NT_GOSSIP_ENTRIES, e, n), sim_now), 0);
	nt_gossip_stats_get(g, &st);
	assert_int_equal(st.entries_rx[NT_LEDGER_ADDED] + st.entries_rx[NT_LEDGER_UPDATED], 0);
	n = make_entry(e, sizeof(e), &nodes[2].id, nodes[2].id.ed_pk, "10.1.0.3", v, sim_now - 5000);
	item_of(e, n, it);
	net_flush();
	assert_int_equal(nt_gossip_input(g, 3, m, ihave_msg(m, it, 1), sim_now + 10), 0);
	assert_true(wanted_of(0, 3, nt_get_be64(it)));
	sim_teardown();
}

/*
 * A hostile member (node 1) announces an old entry (signed 40 s ago) that we lack and
 * never answers; the entry then comes from another peer (node 3) in reconciliation, as
 * what a joining member pulls: it is not news, and goes no further. Only the answer of the
 * peer we asked travels on like a push.
 */
static void test_ihave_old_not_news(void **state)
{
	uint8_t e[512], m[600], it[NT_GOSSIP_SUMMARY_ITEM];
	struct nt_gossip_stats st;
	struct nt_gossip *g;
	size_t n;

	(void)state;
	sim_setup();
	g = nodes[0].g;
	sim_now = T0 + 100000;
	n = make_entry(e, sizeof(e), &nodes[2].id, nodes[2].id.ed_pk, "10.1.0.3", sim_now - 40000,
		       sim_now - 40000);
	item_of(e, n, it);
	net_flush();
	assert_int_equal(nt_gossip_input(g, 1, m, ihave_msg(m, it, 1), sim_now), 0);
	assert_true(wanted_of(0, 1, nt_get_be64(it)));
	assert_int_equal(nt_gossip_input(g, 3, m, wrap(m, NT_GOSSIP_ENTRIES, e, n), sim_now + 10), 0);
	nt_gossip_stats_get(g, &st);
	assert_int_equal(st.entries_rx[NT_LEDGER_ADDED], 1);
	assert_int_equal(st.pushes_forwarded, 0);
	sim_teardown();
}

/*
 * What a change costs the network: every member receives the entry about once (from the
 * member it came from, or by asking), and an IHAVE from its other peers; a full copy from
 * every neighbor was what each forward sent before IHAVE.
 */
/* Sends of entries (PUSH or ENTRIES) and of IHAVE while one change crosses the 8 nodes. */
static void one_change(uint32_t eager, uint64_t *entries, uint64_t *ihaves)
{
	char ip[32];

	push_eager = eager;
	sim_setup();
	push_eager = 0;
	for (int i = 0; i < NODES; i++) {
		snprintf(ip, sizeof(ip), "10.1.0.%d", i + 1);
		claim(i, "machines", ip, "endpoint");
	}
	run_until_converged(0, NODES, 10000);
	sim_run(3000);
	memset(sent_by_type, 0, sizeof(sent_by_type));
	claim(3, "services", "web", "10.1.0.4:80");
	run_until_converged(0, NODES, 3000);
	for (int i = 0; i < NODES; i++)
		assert_non_null(nt_ledger_get(nodes[i].l, "services", "web"));
	*entries = sent_by_type[NT_GOSSIP_PUSH] + sent_by_type[NT_GOSSIP_ENTRIES];
	*ihaves = sent_by_type[NT_GOSSIP_IHAVE];
	sim_teardown();
}

/*
 * What a change costs the network. Node 3 sends it to its 4 peers; each of the 7 that
 * learn it passes it whole to one peer and announces it (IHAVE) to the others, who ask
 * for it if they lack it: about one copy per member. With every forward whole (push_eager
 * as large as the fanout, as before IHAVE), each learner sends it to each other peer.
 */
static void test_change_crosses_once(void **state)
{
	uint64_t lazy, lazy_ihaves, eager, eager_ihaves;

	(void)state;
	one_change(0, &lazy, &lazy_ihaves);
	one_change(NT_GOSSIP_DEFAULT_FANOUT, &eager, &eager_ihaves);
	printf("# one change: %llu copies of the entry and %llu IHAVE; %llu copies with every forward whole\n",
	       (unsigned long long)lazy, (unsigned long long)lazy_ihaves, (unsigned long long)eager);
	assert_int_equal(eager_ihaves, 0);
	assert_true(lazy_ihaves >= 1);
	assert_true(lazy <= 4 + 7 + 3);
	assert_true(2 * lazy < eager + 4);
}

/*
 * A peer that says every sub-range differs, again and again, gets at most range_budget
 * answers a second: what it can make us send does not grow with what it sends.
 */
static void test_ranges_budget(void **state)
{
	uint8_t m[2 + 9 + 16 * 12];
	struct nt_gossip_stats st0, st;

	(void)state;
	sim_setup();
	claim(0, "machines", "10.1.0.1", "endpoint");
	net_flush();
	memset(m, 0xee, sizeof(m));
	m[0] = NT_GOSSIP_VERSION;
	m[1] = NT_GOSSIP_RANGES;
	m[2] = 0;
	memset(m + 3, 0, 8);
	nt_gossip_stats_get(nodes[0].g, &st0);
	for (int i = 0; i < 100; i++)
		assert_int_equal(nt_gossip_input(nodes[0].g, 1, m, sizeof(m), sim_now), 0);
	nt_gossip_stats_get(nodes[0].g, &st);
	assert_int_equal(st.summaries_sent + st.ranges_sent - st0.summaries_sent - st0.ranges_sent,
			 NT_GOSSIP_DEFAULT_RANGE_BUDGET);
	assert_int_equal(st.range_throttled, 100 * 16 - NT_GOSSIP_DEFAULT_RANGE_BUDGET);
	/* A second later the budget is back. */
	assert_int_equal(nt_gossip_input(nodes[0].g, 1, m, sizeof(m), sim_now + 1000), 0);
	nt_gossip_stats_get(nodes[0].g, &st0);
	assert_int_equal(st0.summaries_sent + st0.ranges_sent - st.summaries_sent - st.ranges_sent, 16);
	sim_teardown();
}

static void test_cfg(void **state)
{
	struct nt_gossip_cfg gc = { .max_msg = 900, .send = net_send };
	struct nt_ledger *l;
	struct nt_gossip *g;

	(void)state;
	assert_int_equal(nt_ledger_new(&l, &(struct nt_ledger_cfg){ .capacity = 8 }), 0);
	assert_int_equal(nt_gossip_new(&g, l, &gc), -EINVAL); /* 990-byte entries do not fit */
	gc.max_msg = 1200;
	gc.send = NULL;
	assert_int_equal(nt_gossip_new(&g, l, &gc), -EINVAL);
	gc.send = net_send;
	gc.max_peers = 2;
	assert_int_equal(nt_gossip_new(&g, l, &gc), 0);
	assert_int_equal(nt_gossip_peer_add(g, 1), 0);
	assert_int_equal(nt_gossip_peer_add(g, 1), -EEXIST);
	assert_int_equal(nt_gossip_peer_add(g, 2), 0);
	assert_int_equal(nt_gossip_peer_add(g, 3), -ENOSPC);
	nt_gossip_peer_remove(g, 1);
	assert_int_equal(nt_gossip_peer_add(g, 3), 0);
	assert_false(nt_gossip_peer_is_synced(g, 3));
	nt_gossip_free(g);
	nt_ledger_free(l);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_converge),
		cmocka_unit_test(test_partition_heals),
		cmocka_unit_test(test_expiry_of_departed),
		cmocka_unit_test(test_conflicting_claims),
		cmocka_unit_test(test_partition_keeps_holders),
		cmocka_unit_test(test_bad_input),
		cmocka_unit_test(test_join_pulls_everything),
		cmocka_unit_test(test_entries_fill_to_the_edge),
		cmocka_unit_test(test_quiet_rounds),
		cmocka_unit_test(test_reconcile_cost),
		cmocka_unit_test(test_summary_out_of_range),
		cmocka_unit_test(test_fresh_entries_forwarded),
		cmocka_unit_test(test_ihave),
		cmocka_unit_test(test_ihave_reannounce),
		cmocka_unit_test(test_ihave_ring_flood),
		cmocka_unit_test(test_ihave_ring_flood_refreshed),
		cmocka_unit_test(test_ihave_forged_refusal),
		cmocka_unit_test(test_ihave_old_not_news),
		cmocka_unit_test(test_change_crosses_once),
		cmocka_unit_test(test_ranges_budget),
		cmocka_unit_test(test_cfg),
	};

	if (sodium_init() < 0)
		return 1;
	return cmocka_run_group_tests(tests, NULL, NULL);
}
