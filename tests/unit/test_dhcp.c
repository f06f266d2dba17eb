// SPDX-License-Identifier: MIT
/*
 * DHCP tests: range parsing, the deterministic pick, the settle state machine for one
 * node, ten nodes picking at once in a small range (ledgers synchronised each round,
 * one round late, so their first claims really are concurrent), and a bound node
 * moving away when an earlier claim shows up.
 */
#include <arpa/inet.h>
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

#include "ledger/dhcp.h"
#include "ledger/ledger.h"

#define T0 1700000000000ULL
#define NODES 10

static struct nt_identity ids[NODES + 1];

static void ids_init(void)
{
	for (int i = 0; i <= NODES; i++) {
		uint8_t seed[32] = { 'd', 'h', (uint8_t)i };
		if (ids[i].ed_sk)
			continue;
		ids[i].ed_sk = sodium_malloc(64);
		assert_non_null(ids[i].ed_sk);
		crypto_sign_seed_keypair(ids[i].ed_pk, ids[i].ed_sk, seed);
	}
}

static struct nt_ledger *ledger_new(void)
{
	struct nt_ledger *l;

	assert_int_equal(nt_ledger_new(&l, &(struct nt_ledger_cfg){ .capacity = 128 }), 0);
	return l;
}

static uint32_t host(const char *s)
{
	struct in_addr a;

	assert_int_equal(inet_pton(AF_INET, s, &a), 1);
	return ntohl(a.s_addr);
}

static void test_range_parse(void **state)
{
	static const struct {
		const char *in;
		bool ok;
		const char *first;
		uint32_t count;
	} cases[] = {
		{ "10.1.0.0/24", true, "10.1.0.1", 254 }, /* 1 */
		{ "10.1.0.77/24", true, "10.1.0.1", 254 }, /* 2: host bits ignored */
		{ "10.1.0.0/31", true, "10.1.0.0", 2 }, /* 3: RFC 3021 */
		{ "10.1.0.9/32", true, "10.1.0.9", 1 }, /* 4 */
		{ "10.0.0.0/8", true, "10.0.0.1", 16777214 }, /* 5 */
		{ "192.168.7.0/30", true, "192.168.7.1", 2 }, /* 6 */
		{ "10.1.0.0", false, NULL, 0 }, /* 7 */
		{ "10.1.0.0/", false, NULL, 0 }, /* 8 */
		{ "10.1.0.0/7", false, NULL, 0 }, /* 9 */
		{ "10.1.0.0/33", false, NULL, 0 }, /* 10 */
		{ "10.1.0.0/2a", false, NULL, 0 }, /* 11 */
		{ "300.1.0.0/24", false, NULL, 0 }, /* 12 */
		{ "fd00::/64", false, NULL, 0 }, /* 13 */
		{ "10.1.0.0/024", false, NULL, 0 }, /* 14 */
		{ "/24", false, NULL, 0 }, /* 15 */
		{ "10.1.0.0/-4", false, NULL, 0 }, /* 16 */
	};

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct nt_dhcp_range r;
		bool ok = nt_dhcp_range_parse(cases[i].in, &r);
		if (ok != cases[i].ok)
			fail_msg("range case %zu (%s): got %d", i + 1, cases[i].in, ok);
		if (!ok)
			continue;
		assert_int_equal(r.first, host(cases[i].first));
		assert_int_equal(r.count, cases[i].count);
	}
}

static void test_pick(void **state)
{
	struct nt_ledger *l = ledger_new(), *other = ledger_new();
	struct in_addr a, b, c;
	char text[INET_ADDRSTRLEN];
	const struct nt_ledger_entry *e;

	(void)state;
	ids_init();
	assert_int_equal(nt_dhcp_pick(l, "10.1.0.0/24", ids[0].ed_pk, 0, &a), 0);
	assert_int_equal(nt_dhcp_pick(l, "10.1.0.0/24", ids[0].ed_pk, 0, &b), 0);
	assert_int_equal(a.s_addr, b.s_addr); /* deterministic */
	assert_int_equal(nt_dhcp_pick(l, "10.1.0.0/24", ids[0].ed_pk, 1, &c), 0);
	assert_int_equal(ntohl(c.s_addr), ntohl(a.s_addr) == host("10.1.0.254") ?
					  host("10.1.0.1") : ntohl(a.s_addr) + 1);
	assert_int_equal(nt_dhcp_pick(l, "bad", ids[0].ed_pk, 0, &b), -EINVAL);
	/* Never the network or broadcast address, for any node. */
	for (int i = 0; i <= NODES; i++)
		for (unsigned int k = 0; k < 6; k++) {
			assert_int_equal(nt_dhcp_pick(l, "10.9.9.8/29", ids[i].ed_pk, k, &b), 0);
			assert_true(ntohl(b.s_addr) >= host("10.9.9.9") &&
				    ntohl(b.s_addr) <= host("10.9.9.14"));
		}
	/* Someone else takes our first choice: we skip it; our own claim is not "taken". */
	inet_ntop(AF_INET, &a, text, sizeof(text));
	assert_int_equal(nt_ledger_put_local(other, &ids[1], NT_LEDGER_MACHINES, text, "", 0, 60000,
					     T0, &e), 0);
	{
		uint8_t buf[512];
		ssize_t n = nt_ledger_entry_encode(e, buf, sizeof(buf));
		assert_true(n > 0);
		assert_int_equal(nt_ledger_insert(l, buf, (size_t)n, T0), NT_LEDGER_ADDED);
	}
	assert_int_equal(nt_dhcp_pick(l, "10.1.0.0/24", ids[0].ed_pk, 0, &b), 0);
	assert_int_equal(b.s_addr, c.s_addr);
	assert_int_equal(nt_dhcp_pick(l, "10.1.0.0/24", ids[1].ed_pk, 0, &b), 0);
	/* A /32 whose only address is taken has nothing free. */
	snprintf(text, sizeof(text), "%s/32", "10.7.7.7");
	assert_int_equal(nt_ledger_put_local(l, &ids[2], NT_LEDGER_MACHINES, "10.7.7.7", "", 0, 60000,
					     T0, NULL), 0);
	assert_int_equal(nt_dhcp_pick(l, text, ids[0].ed_pk, 0, &b), -EADDRNOTAVAIL);
	assert_int_equal(nt_dhcp_pick(l, text, ids[2].ed_pk, 0, &b), 0);
	nt_ledger_free(l);
	nt_ledger_free(other);
}

static void test_single_node(void **state)
{
	struct nt_ledger *l = ledger_new();
	struct nt_dhcp d;
	uint64_t next, now = T0;

	(void)state;
	ids_init();
	assert_int_equal(nt_dhcp_init(&d, "10.1.0.0/24", ids[0].ed_pk, 2000, 0), 0);
	assert_int_equal(nt_dhcp_init(&d, "10.1.0.0/99", ids[0].ed_pk, 2000, 0), -EINVAL);
	assert_int_equal(nt_dhcp_init(&d, "10.1.0.0/24", ids[0].ed_pk, 2000, 0), 0);
	assert_int_equal(nt_dhcp_step(&d, l, &ids[0], "me", 2, now, &next), NT_DHCP_CLAIMED);
	assert_int_equal(next, now + 2000);
	assert_memory_equal(nt_ledger_machine_owner(l, d.addr_text), ids[0].ed_pk, 32);
	assert_int_equal(nt_dhcp_step(&d, l, &ids[0], "me", 2, now + 1999, &next), NT_DHCP_CLAIMED);
	assert_int_equal(nt_dhcp_step(&d, l, &ids[0], "me", 2, now + 2000, &next), NT_DHCP_BOUND);
	assert_int_equal(d.attempt, 0);
	assert_int_equal(nt_dhcp_step(&d, l, &ids[0], "me", 2, now + 5000, &next), NT_DHCP_BOUND);
	/* The claim rotates out if nobody refreshes it: the machine claims again. */
	assert_int_equal(nt_dhcp_step(&d, l, &ids[0], "me", 2, now + NT_DHCP_DEFAULT_TTL_MS, &next),
			 NT_DHCP_CLAIMED);
	nt_ledger_free(l);
}

static struct nt_ledger *ledgers[NODES + 1];

struct collect_ctx {
	uint8_t (*bufs)[256];
	size_t *lens;
	size_t n;
};

static bool collect(void *p, const struct nt_ledger_entry *e)
{
	struct collect_ctx *c = p;
	ssize_t n = nt_ledger_entry_encode(e, c->bufs[c->n], 256);

	assert_true(n > 0);
	c->lens[c->n++] = (size_t)n;
	return c->n < 128;
}

/* Every stored entry of every ledger into every other: one gossip round, fully meshed. */
static void sync_round(int count, uint64_t now)
{
	static uint8_t bufs[NODES + 1][128][256];
	static size_t lens[NODES + 1][128];
	struct collect_ctx c[NODES + 1];

	/* Snapshot first, so everything a node claimed this round arrives next round. */
	for (int i = 0; i < count; i++) {
		c[i] = (struct collect_ctx){ bufs[i], lens[i], 0 };
		nt_ledger_foreach_stored(ledgers[i], collect, &c[i]);
	}
	for (int i = 0; i < count; i++)
		for (int j = 0; j < count; j++)
			for (size_t k = 0; i != j && k < c[j].n; k++) {
				/* A snapshot can be older than what i already heard directly; a
				 * third claim on one address is one too many for the key. */
				enum nt_ledger_verdict v =
					nt_ledger_insert(ledgers[i], bufs[j][k], lens[j][k], now);
				assert_true(nt_ledger_verdict_is_ok(v) || v == NT_LEDGER_REJ_REPLAY ||
					    v == NT_LEDGER_REJ_HELD);
			}
}

static void test_ten_nodes_at_once(void **state)
{
	struct nt_dhcp d[NODES];
	uint64_t now = T0;
	unsigned int lost = 0;
	int round;

	(void)state;
	ids_init();
	for (int i = 0; i < NODES; i++) {
		ledgers[i] = ledger_new();
		assert_int_equal(nt_dhcp_init(&d[i], "10.1.0.0/28", ids[i].ed_pk, 1000, 0), 0);
	}
	/* 100 ms rounds: every node steps, then the ledgers exchange what they held. */
	for (round = 0; round < 200; round++, now += 100) {
		bool all_bound = true;
		for (int i = 0; i < NODES; i++)
			all_bound &= nt_dhcp_step(&d[i], ledgers[i], &ids[i], "m", 1, now, NULL) ==
				     NT_DHCP_BOUND;
		if (all_bound)
			break;
		sync_round(NODES, now);
	}
	assert_true(round < 200);
	for (int i = 0; i < NODES; i++) {
		lost += d[i].attempt;
		for (int j = 0; j < i; j++)
			if (d[i].addr.s_addr == d[j].addr.s_addr)
				fail_msg("nodes %d and %d both bound %s", i, j, d[i].addr_text);
		for (int k = 0; k < NODES; k++)
			assert_memory_equal(nt_ledger_machine_owner(ledgers[k], d[i].addr_text),
					    ids[i].ed_pk, 32);
		assert_true(ntohl(d[i].addr.s_addr) >= host("10.1.0.1") &&
			    ntohl(d[i].addr.s_addr) <= host("10.1.0.14"));
	}
	printf("# 10 nodes bound 10 distinct addresses of a /28 after %d rounds, %u lost claims\n",
	       round, lost);
	assert_true(lost > 0); /* these seeds collide: the conflict path ran */
	for (int i = 0; i < NODES; i++)
		nt_ledger_free(ledgers[i]);
}

/*
 * An earlier claim that shows up within the race window (two nodes that picked one
 * address at once) moves the bound node; one that shows up later (a node that says it
 * claimed earlier, whether it was partitioned or lies) is refused: the bound node keeps it.
 */
static void test_bound_node_moves(void **state)
{
	struct nt_ledger *l = ledger_new(), *intruder = ledger_new();
	const struct nt_ledger_entry *e;
	struct nt_dhcp d;
	char first[INET_ADDRSTRLEN];
	uint8_t buf[512];
	ssize_t n;

	(void)state;
	ids_init();
	assert_int_equal(nt_dhcp_init(&d, "10.1.0.0/24", ids[0].ed_pk, 1000, 0), 0);
	assert_int_equal(nt_dhcp_step(&d, l, &ids[0], "m", 1, T0 + 10000, NULL), NT_DHCP_CLAIMED);
	assert_int_equal(nt_dhcp_step(&d, l, &ids[0], "m", 1, T0 + 11000, NULL), NT_DHCP_BOUND);
	strcpy(first, d.addr_text);
	/* A claim that says it was made at T0 + 5000: long before ours reached anyone. */
	assert_int_equal(nt_ledger_put_local(intruder, &ids[NODES], NT_LEDGER_MACHINES, first, "s", 1,
					     300000, T0 + 5000, &e), 0);
	n = nt_ledger_entry_encode(e, buf, sizeof(buf));
	assert_int_equal(nt_ledger_insert(l, buf, (size_t)n, T0 + 12000), NT_LEDGER_REJ_HELD);
	assert_int_equal(nt_dhcp_step(&d, l, &ids[0], "m", 1, T0 + 12000, NULL), NT_DHCP_BOUND);
	assert_string_equal(d.addr_text, first);
	assert_memory_equal(nt_ledger_machine_owner(l, first), ids[0].ed_pk, 32);
	nt_ledger_free(intruder);

	/* A claim made 10 ms before ours, arriving a second later: a race, and it wins. */
	intruder = ledger_new();
	assert_int_equal(nt_ledger_put_local(intruder, &ids[NODES], NT_LEDGER_MACHINES, first, "s", 1,
					     300000, T0 + 9990, &e), 0);
	nt_ledger_free(l);
	l = ledger_new();
	assert_int_equal(nt_dhcp_init(&d, "10.1.0.0/24", ids[0].ed_pk, 1000, 0), 0);
	assert_int_equal(nt_dhcp_step(&d, l, &ids[0], "m", 1, T0 + 10000, NULL), NT_DHCP_CLAIMED);
	assert_string_equal(d.addr_text, first); /* the same pick: deterministic per node */
	n = nt_ledger_entry_encode(e, buf, sizeof(buf));
	assert_int_equal(nt_ledger_insert(l, buf, (size_t)n, T0 + 11000), NT_LEDGER_ADDED);
	assert_int_equal(nt_dhcp_step(&d, l, &ids[0], "m", 1, T0 + 11000, NULL), NT_DHCP_CLAIMED);
	assert_int_equal(d.attempt, 1);
	assert_string_not_equal(d.addr_text, first);
	assert_memory_equal(nt_ledger_machine_owner(l, first), ids[NODES].ed_pk, 32);
	e = nt_ledger_get_owned(l, NT_LEDGER_MACHINES, first, ids[0].ed_pk);
	assert_non_null(e);
	assert_true(e->flags & NT_LEDGER_F_TOMBSTONE); /* we withdrew */
	assert_int_equal(nt_dhcp_step(&d, l, &ids[0], "m", 1, T0 + 12000, NULL), NT_DHCP_BOUND);
	nt_ledger_free(l);
	nt_ledger_free(intruder);
}

static bool proven_is_node0(void *ctx, const uint8_t owner[32])
{
	(void)ctx;
	return !memcmp(owner, ids[0].ed_pk, 32);
}

/*
 * Squatters: owners this node has not proven (identities anyone can mint) claim addresses.
 * A pick prefers an address nobody claims; when squatters claim all of them, it takes one
 * of theirs (ours beats theirs by the ledger's rule) rather than finding no address.
 */
static void test_pick_around_squatters(void **state)
{
	struct nt_ledger_cfg cfg = { .capacity = 64, .proven = proven_is_node0 };
	struct nt_ledger *l;
	struct in_addr a;
	char text[INET_ADDRSTRLEN];

	(void)state;
	ids_init();
	assert_int_equal(nt_ledger_new(&l, &cfg), 0);
	/* 10.1.0.0/29: six usable addresses; squatters take five. */
	for (int i = 1; i <= 5; i++) {
		snprintf(text, sizeof(text), "10.1.0.%d", i);
		assert_int_equal(nt_ledger_put_local(l, &ids[i], NT_LEDGER_MACHINES, text, "s", 1, 300000,
						     T0, NULL), 0);
	}
	assert_int_equal(nt_dhcp_pick(l, "10.1.0.0/29", ids[0].ed_pk, 0, &a), 0);
	assert_int_equal(ntohl(a.s_addr), host("10.1.0.6"));
	/* ...and the sixth. */
	assert_int_equal(nt_ledger_put_local(l, &ids[6], NT_LEDGER_MACHINES, "10.1.0.6", "s", 1, 300000,
					     T0, NULL), 0);
	assert_int_equal(nt_dhcp_pick(l, "10.1.0.0/29", ids[0].ed_pk, 0, &a), 0);
	assert_true(ntohl(a.s_addr) >= host("10.1.0.1") && ntohl(a.s_addr) <= host("10.1.0.6"));
	assert_false(nt_ledger_claim_is_beaten(l, NT_LEDGER_MACHINES, inet_ntoa(a), ids[0].ed_pk));
	nt_ledger_free(l);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_range_parse),
		cmocka_unit_test(test_pick),
		cmocka_unit_test(test_single_node),
		cmocka_unit_test(test_ten_nodes_at_once),
		cmocka_unit_test(test_bound_node_moves),
		cmocka_unit_test(test_pick_around_squatters),
	};

	if (sodium_init() < 0)
		return 1;
	return cmocka_run_group_tests(tests, NULL, NULL);
}
