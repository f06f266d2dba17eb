// SPDX-License-Identifier: MIT
/*
 * Endpoint hints (tunnel/hints.h) on a tunnel with a detached data plane and a fake clock:
 * which slot a new hint takes (open sources, DHT and mDNS, hold a quarter of the table at most
 * and replace only each other; a member's or our own hint replaces an open one first;
 * configured hints are never replaced), the INIT budget naming pays for, what only the
 * operator may name, expiry, and what members tell us by PEX: told_by, the PEX_MAX bound,
 * vouching for a member, and nt_tunnel_hints_on_gone letting go of a member that leaves.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include <cmocka.h>

#include "tunnel_rig.h"

static struct rig rig;

static int setup(void **state)
{
	(void)state;
	rig_up(&rig, true);
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	rig_down(&rig);
	return 0;
}

/* A distinct endpoint per (net, i): 198.51.100.x, 203.0.113.x or 192.0.2.x, port from i. */
static union nt_sockaddr ep_of(unsigned int net, unsigned int i)
{
	static const char *const nets[] = { "198.51.100", "203.0.113", "192.0.2" };
	char s[64];

	snprintf(s, sizeof(s), "%s.%u:%u", nets[net], 1 + i % 200, 10000 + i);
	return rig_addr(s);
}

static unsigned int count_source(enum nt_hint_source src)
{
	unsigned int n = 0;

	for (unsigned int i = 0; i < NT_MAX_HINTS; i++)
		n += rig.t.hints[i].used && rig.t.hints[i].source == src;
	return n;
}

static unsigned int count_used(void)
{
	unsigned int n = 0;

	for (unsigned int i = 0; i < NT_MAX_HINTS; i++)
		n += rig.t.hints[i].used;
	return n;
}

static unsigned int count_open(void)
{
	return count_source(NT_HINT_DHT) + count_source(NT_HINT_MDNS);
}

static struct nt_hint *add(enum nt_hint_source src, union nt_sockaddr ep, uint32_t budget, uint64_t now)
{
	return nt_tunnel_hint_add(&rig.t, src, &ep, NULL, budget, now);
}

static void test_open_sources_quarter(void **state)
{
	uint64_t now = rig.t0;
	union nt_sockaddr e;
	struct nt_hint *h;

	(void)state;
	assert_true(nt_tunnel_hint_source_is_open(NT_HINT_DHT));
	assert_true(nt_tunnel_hint_source_is_open(NT_HINT_MDNS));
	assert_false(nt_tunnel_hint_source_is_open(NT_HINT_PEX));
	assert_false(nt_tunnel_hint_source_is_open(NT_HINT_CONFIG));
	assert_false(nt_tunnel_hint_source_is_open(NT_HINT_LEDGER));
	assert_false(nt_tunnel_hint_source_is_open(NT_HINT_REMEMBERED));
	/* Ten members' hints first: they expire before any of the open ones below. */
	for (unsigned int i = 0; i < 10; i++)
		assert_non_null(add(NT_HINT_PEX, ep_of(1, i), 0, now));
	/* A quarter of the table from the DHT and mDNS, each expiring a millisecond later. */
	for (unsigned int i = 0; i < NT_MAX_HINTS / 4; i++)
		assert_non_null(add(i % 2 ? NT_HINT_MDNS : NT_HINT_DHT, ep_of(0, i), 0, now + 1 + i));
	assert_int_equal(count_open(), NT_MAX_HINTS / 4);
	/*
	 * One more, with free slots left: it replaces the open hint that expires first, never
	 * a member's (those expire earlier still).
	 */
	h = add(NT_HINT_DHT, ep_of(0, 1000), 0, now + 1000);
	assert_non_null(h);
	assert_int_equal(h->source, NT_HINT_DHT);
	assert_int_equal(h->expires_ms, now + 1000 + NT_HINT_TTL_MS);
	assert_int_equal(count_open(), NT_MAX_HINTS / 4);
	assert_int_equal(count_source(NT_HINT_PEX), 10);
	e = ep_of(0, 0);
	assert_null(nt_tunnel_hint_find(&rig.t, &e));
	e = ep_of(0, 1);
	assert_non_null(nt_tunnel_hint_find(&rig.t, &e));
	assert_int_equal(count_used(), 10 + NT_MAX_HINTS / 4);
	/* mDNS is the same pool: the next one goes in the place of the oldest (ep 1). */
	assert_non_null(add(NT_HINT_MDNS, ep_of(0, 1001), 0, now + 1001));
	assert_null(nt_tunnel_hint_find(&rig.t, &e));
	assert_int_equal(count_open(), NT_MAX_HINTS / 4);

	/* Members fill the rest of the table. */
	for (unsigned int i = 10; count_used() < NT_MAX_HINTS; i++)
		assert_non_null(add(NT_HINT_PEX, ep_of(1, i), 0, now + 2000));
	assert_int_equal(count_source(NT_HINT_PEX), NT_MAX_HINTS - NT_MAX_HINTS / 4);
	/* Full: a member's new hint takes an open one's place first, though it expires later. */
	assert_non_null(add(NT_HINT_PEX, ep_of(2, 0), 0, now + 3000));
	e = ep_of(0, 2); /* the open hint that expired first */
	assert_null(nt_tunnel_hint_find(&rig.t, &e));
	assert_int_equal(count_open(), NT_MAX_HINTS / 4 - 1);
	assert_int_equal(count_source(NT_HINT_PEX), NT_MAX_HINTS - NT_MAX_HINTS / 4 + 1);
	e = ep_of(1, 0); /* the earliest member's hint is still there */
	assert_non_null(nt_tunnel_hint_find(&rig.t, &e));
	/* Full, and an open source: it can only replace an open hint. */
	assert_non_null(add(NT_HINT_DHT, ep_of(0, 1002), 0, now + 3000));
	assert_int_equal(count_open(), NT_MAX_HINTS / 4 - 1);
	assert_int_equal(count_used(), NT_MAX_HINTS);

	/* Members' hints push out every open one; then an open source finds no room at all. */
	for (unsigned int i = 1; count_open() > 0; i++)
		assert_non_null(add(NT_HINT_LEDGER, ep_of(2, i), 0, now + 4000));
	assert_null(add(NT_HINT_DHT, ep_of(0, 2000), 0, now + 5000));
	assert_null(add(NT_HINT_MDNS, ep_of(0, 2001), 0, now + 5000));
	assert_int_equal(count_open(), 0);
	assert_int_equal(count_used(), NT_MAX_HINTS);
}

static void test_configured_never_replaced(void **state)
{
	uint64_t now = rig.t0;
	union nt_sockaddr cfg = rig_addr("192.0.2.250:51820"), e;
	struct nt_hint *h;

	(void)state;
	h = add(NT_HINT_CONFIG, cfg, NT_HINT_BUDGET_UNLIMITED, now);
	assert_non_null(h);
	assert_int_equal(h->expires_ms, 0);
	assert_int_equal(h->budget, NT_HINT_BUDGET_UNLIMITED);
	for (unsigned int i = 0; count_used() < NT_MAX_HINTS; i++)
		assert_non_null(add(NT_HINT_PEX, ep_of(1, i), 0, now + i));
	/* Twice the table's worth of members' hints: each replaces the one expiring first. */
	for (unsigned int i = 0; i < 2 * NT_MAX_HINTS; i++) {
		h = add(NT_HINT_REMEMBERED, ep_of(2, i), 0, now + NT_MAX_HINTS + i);
		assert_non_null(h);
		assert_int_equal(h->source, NT_HINT_REMEMBERED);
	}
	h = nt_tunnel_hint_find(&rig.t, &cfg);
	assert_non_null(h);
	assert_int_equal(h->source, NT_HINT_CONFIG);
	assert_int_equal(count_source(NT_HINT_CONFIG), 1);
	/* The last NT_MAX_HINTS - 1 remembered ones are what is left beside it. */
	assert_int_equal(count_source(NT_HINT_REMEMBERED), NT_MAX_HINTS - 1);
	e = ep_of(2, NT_MAX_HINTS);
	assert_null(nt_tunnel_hint_find(&rig.t, &e));
	e = ep_of(2, NT_MAX_HINTS + 1);
	assert_non_null(nt_tunnel_hint_find(&rig.t, &e));
	/* Named again by the DHT, it stays the operator's: no expiry, no budget. */
	h = add(NT_HINT_DHT, cfg, 0, now + 10);
	assert_int_equal(h->source, NT_HINT_CONFIG);
	assert_int_equal(h->expires_ms, 0);
	assert_int_equal(h->budget, NT_HINT_BUDGET_UNLIMITED);
	/* A table of configured hints only: nothing else gets in. */
	for (unsigned int i = 0; i < NT_MAX_HINTS; i++)
		rig.t.hints[i].used = false;
	for (unsigned int i = 0; i < NT_MAX_HINTS; i++)
		assert_non_null(add(NT_HINT_CONFIG, ep_of(0, i), NT_HINT_BUDGET_UNLIMITED, now));
	assert_null(add(NT_HINT_PEX, ep_of(1, 0), 0, now));
	assert_null(add(NT_HINT_DHT, ep_of(1, 1), 0, now));
	assert_int_equal(count_source(NT_HINT_CONFIG), NT_MAX_HINTS);
}

static void test_budgets_and_expiry(void **state)
{
	uint64_t now = rig.t0;
	union nt_sockaddr e = rig_addr("203.0.113.9:51820");
	struct nt_hint *h;

	(void)state;
	/* At least one INIT, whatever the naming paid... */
	h = add(NT_HINT_DHT, e, 0, now);
	assert_non_null(h);
	assert_int_equal(h->budget, NT_HS_INIT_LEN);
	assert_int_equal(h->backoff_ms, 1000);
	assert_int_equal(h->next_try_ms, now);
	assert_int_equal(h->expires_ms, now + NT_HINT_TTL_MS);
	/* ...what each naming pays, added up... */
	assert_ptr_equal(add(NT_HINT_DHT, e, NT_HS_INIT_LEN + 20, now + 5000), h);
	assert_int_equal(h->budget, 2 * NT_HS_INIT_LEN + 20);
	assert_int_equal(h->expires_ms, now + 5000 + NT_HINT_TTL_MS);
	/* ...four INITs at most; and an earlier naming does not shorten its life. */
	assert_ptr_equal(add(NT_HINT_DHT, e, 10000, now + 1000), h);
	assert_int_equal(h->budget, 4 * NT_HS_INIT_LEN);
	assert_int_equal(h->expires_ms, now + 5000 + NT_HINT_TTL_MS);
	assert_int_equal(h->source, NT_HINT_DHT);
	/* A member names it too: vouched for, out of the open sources' quarter. */
	assert_ptr_equal(add(NT_HINT_PEX, e, 0, now + 6000), h);
	assert_int_equal(h->source, NT_HINT_PEX);
	assert_int_equal(h->budget, 4 * NT_HS_INIT_LEN);
	/* Unlimited once, unlimited for good (a source that is not open keeps its place). */
	assert_ptr_equal(add(NT_HINT_REMEMBERED, e, NT_HINT_BUDGET_UNLIMITED, now + 7000), h);
	assert_int_equal(h->budget, NT_HINT_BUDGET_UNLIMITED);
	assert_int_equal(h->source, NT_HINT_PEX);
	assert_ptr_equal(add(NT_HINT_DHT, e, 0, now + 8000), h);
	assert_int_equal(h->budget, NT_HINT_BUDGET_UNLIMITED);
	assert_int_equal(h->source, NT_HINT_PEX);
	/* The operator's word makes it configured: it never expires. */
	assert_ptr_equal(add(NT_HINT_CONFIG, e, NT_HINT_BUDGET_UNLIMITED, now + 9000), h);
	assert_int_equal(h->source, NT_HINT_CONFIG);
	assert_int_equal(h->expires_ms, 0);
	assert_int_equal(count_used(), 1);

	/* Only the operator may name loopback, multicast, link-local or a zero port. */
	assert_null(add(NT_HINT_DHT, rig_addr("127.0.0.1:51820"), 0, now));
	assert_null(add(NT_HINT_PEX, rig_addr("224.0.0.251:5353"), 0, now));
	e = rig_addr("198.51.100.1:51820");
	e.in4.sin_port = 0;
	assert_null(add(NT_HINT_LEDGER, e, 0, now));
	assert_null(add(NT_HINT_MDNS, rig_addr("[::1]:51820"), 0, now));
	assert_null(add(NT_HINT_REMEMBERED, rig_addr("[fe80::1]:51820"), 0, now));
	assert_int_equal(count_used(), 1);
	h = add(NT_HINT_CONFIG, rig_addr("127.0.0.1:51820"), NT_HINT_BUDGET_UNLIMITED, now);
	assert_non_null(h);
	assert_int_equal(count_used(), 2);
}

/* PEX: member m tells us of `count` endpoints (ids[i] at eps[i]). */
static size_t pex_body(uint8_t *out, size_t cap, const uint8_t (*ids)[32],
		       const union nt_sockaddr *eps, unsigned int count)
{
	struct nt_pex pex = { .count = count };
	int n;

	for (unsigned int i = 0; i < count; i++) {
		memcpy(pex.entries[i].id, ids[i], 32);
		pex.entries[i].endpoint = eps[i];
	}
	n = nt_control_pex_encode(&pex, out, cap);
	assert_true(n > 0);
	return (size_t)n;
}

/*
 * nt_tunnel_hints_vouched (what a route rebuild reads once) lists, sorted and once each,
 * exactly the ids nt_tunnel_hints_vouch says yes to at now; returns how many.
 */
static size_t check_vouched(uint64_t now)
{
	static uint8_t ids[NT_MAX_HINTS][32];
	size_t n = nt_tunnel_hints_vouched(&rig.t, now, ids);

	for (size_t i = 0; i < n; i++) {
		assert_true(nt_tunnel_hints_vouch(&rig.t, ids[i], now));
		if (i)
			assert_true(memcmp(ids[i - 1], ids[i], 32) < 0);
	}
	for (unsigned int i = 0; i < NT_MAX_HINTS; i++) {
		const struct nt_hint *h = &rig.t.hints[i];
		bool listed = false;

		if (!h->used || !h->id_known || !nt_tunnel_hints_vouch(&rig.t, h->id, now))
			continue;
		for (size_t j = 0; j < n && !listed; j++)
			listed = !memcmp(ids[j], h->id, 32);
		assert_true(listed);
	}
	return n;
}

static void test_pex_told_by_vouch_gone(void **state)
{
	uint64_t now = rig.t0;
	union nt_sockaddr m_ep = rig_addr("198.51.100.200:51820"), eps[NT_PEX_MAX];
	uint8_t ids[NT_PEX_MAX][32], body[2048], stranger[32];
	struct member m, k, other;
	struct nt_hint *h;
	uint32_t budget;
	size_t len;

	(void)state;
	member_new(&rig, &m, &m_ep, now);
	member_new(&rig, &k, NULL, now);
	member_new(&rig, &other, NULL, now);
	/* Two strangers, ourselves, and a member we have a live session with. */
	for (unsigned int i = 0; i < 2; i++) {
		randombytes_buf(ids[i], 32);
		eps[i] = ep_of(1, i);
	}
	memcpy(ids[2], rig.id->ed_pk, 32);
	eps[2] = ep_of(1, 2);
	memcpy(ids[3], k.pk, 32);
	eps[3] = ep_of(1, 3);
	len = pex_body(body, sizeof(body), (const uint8_t (*)[32])ids, eps, 4);
	nt_tunnel_announce_on_control(&rig.t, m.p, NT_CTRL_PEX, body, len, &m_ep, NULL, now);
	assert_int_equal(count_used(), 2);
	assert_int_equal(nt_tunnel_hints_told_by(&rig.t, m.p), 2);
	assert_int_equal(nt_tunnel_hints_told_by(&rig.t, k.p), 0);
	/* Each costs what its share of the PEX paid, four times over (at least one INIT). */
	budget = (uint32_t)(4 * (len + 1 + NT_DATA_OVERHEAD) / 4);
	for (unsigned int i = 0; i < 2; i++) {
		h = nt_tunnel_hint_find(&rig.t, &eps[i]);
		assert_non_null(h);
		assert_int_equal(h->source, NT_HINT_PEX);
		assert_ptr_equal(h->told_by, m.p);
		assert_true(h->id_known);
		assert_memory_equal(h->id, ids[i], 32);
		assert_int_equal(h->budget, NT_MAX(budget, (uint32_t)NT_HS_INIT_LEN));
	}
	/* A live member vouches for them; nobody for a stranger it did not name. */
	randombytes_buf(stranger, sizeof(stranger));
	assert_true(nt_tunnel_hints_vouch(&rig.t, ids[0], now));
	assert_true(nt_tunnel_hints_vouch(&rig.t, ids[1], now));
	assert_false(nt_tunnel_hints_vouch(&rig.t, stranger, now));
	assert_true(nt_tunnel_knows_member(&rig.t, ids[0], now));
	assert_true(nt_tunnel_knows_member(&rig.t, k.pk, now));
	assert_false(nt_tunnel_knows_member(&rig.t, stranger, now));
	/* A member silent past NT_PEER_DEAD_MS vouches for nobody. */
	assert_false(nt_tunnel_hints_vouch(&rig.t, ids[0], now + NT_PEER_DEAD_MS));
	assert_true(nt_tunnel_hints_vouch(&rig.t, ids[0], now + NT_PEER_DEAD_MS - 1));
	assert_int_equal(check_vouched(now), 2);
	assert_int_equal(check_vouched(now + NT_PEER_DEAD_MS), 0);

	/* One member makes us try as many endpoints as one PEX names, no more. */
	for (unsigned int i = 0; i < NT_PEX_MAX; i++) {
		randombytes_buf(ids[i], 32);
		eps[i] = ep_of(2, i);
	}
	len = pex_body(body, sizeof(body), (const uint8_t (*)[32])ids, eps, NT_PEX_MAX);
	nt_tunnel_announce_on_control(&rig.t, m.p, NT_CTRL_PEX, body, len, &m_ep, NULL, now);
	assert_int_equal(nt_tunnel_hints_told_by(&rig.t, m.p), NT_PEX_MAX);
	assert_int_equal(count_used(), NT_PEX_MAX);
	assert_non_null(nt_tunnel_hint_find(&rig.t, &eps[NT_PEX_MAX - 3]));
	assert_null(nt_tunnel_hint_find(&rig.t, &eps[NT_PEX_MAX - 2]));
	assert_null(nt_tunnel_hint_find(&rig.t, &eps[NT_PEX_MAX - 1]));
	/* Another member's PEX of the same endpoints: its own count, told_by moves to it. */
	nt_tunnel_announce_on_control(&rig.t, other.p, NT_CTRL_PEX, body, len, &m_ep, NULL, now);
	assert_int_equal(nt_tunnel_hints_told_by(&rig.t, other.p), NT_PEX_MAX);
	assert_int_equal(nt_tunnel_hints_told_by(&rig.t, m.p), 2);
	assert_int_equal(count_used(), NT_PEX_MAX + 2);
	assert_int_equal(check_vouched(now), NT_PEX_MAX + 2);
	/* Two endpoints of one member (the same id at both): listed once. */
	h = nt_tunnel_hint_find(&rig.t, &eps[0]);
	memcpy(nt_tunnel_hint_find(&rig.t, &eps[1])->id, h->id, 32);
	assert_int_equal(check_vouched(now), NT_PEX_MAX + 1);

	/* The member leaves: its hints stay, but nothing points at it any more. */
	nt_tunnel_member_kill(&rig.t, other.p);
	nt_tunnel_members_reap_dead(&rig.t);
	for (unsigned int i = 0; i < NT_MAX_HINTS; i++)
		assert_true(rig.t.hints[i].told_by == NULL || rig.t.hints[i].told_by == m.p);
	assert_int_equal(count_used(), NT_PEX_MAX + 2);
	assert_false(nt_tunnel_hints_vouch(&rig.t, ids[0], now));
	assert_int_equal(nt_tunnel_hints_told_by(&rig.t, m.p), 2);
	assert_int_equal(check_vouched(now), 2);
	/* The observer alone does the same. */
	nt_tunnel_hints_on_gone(&rig.t, m.p);
	assert_int_equal(nt_tunnel_hints_told_by(&rig.t, m.p), 0);
	for (unsigned int i = 0; i < NT_MAX_HINTS; i++)
		assert_null(rig.t.hints[i].told_by);
	member_free(&m);
	member_free(&k);
	member_free(&other);
}

/*
 * A member vouches for the id it named at an endpoint, not for whatever id is named there
 * later: a claim signed with a minted key that lists that endpoint (dialled on demand,
 * demand.c, which names the hint after the claim's owner) must not make the minted key a
 * member someone vouched for (claims_rebuild.c would give it routes and neighbor choice).
 */
static void test_vouch_not_renamed(void **state)
{
	uint64_t now = rig.t0;
	union nt_sockaddr m_ep = rig_addr("198.51.100.200:51820"), ep = ep_of(1, 7);
	uint8_t v[32], minted[32], body[256];
	struct member m;
	struct nt_hint *h;
	size_t len;

	(void)state;
	member_new(&rig, &m, &m_ep, now);
	randombytes_buf(v, sizeof(v));
	randombytes_buf(minted, sizeof(minted));
	len = pex_body(body, sizeof(body), (const uint8_t (*)[32])v, &ep, 1);
	nt_tunnel_announce_on_control(&rig.t, m.p, NT_CTRL_PEX, body, len, &m_ep, NULL, now);
	assert_true(nt_tunnel_hints_vouch(&rig.t, v, now));
	/* The minted key's claim names the same endpoint. */
	h = nt_tunnel_hint_add(&rig.t, NT_HINT_LEDGER, &ep, minted, 4 * NT_HS_INIT_LEN, now);
	assert_non_null(h);
	assert_false(nt_tunnel_hints_vouch(&rig.t, minted, now));
	assert_false(nt_tunnel_knows_member(&rig.t, minted, now));
	assert_int_equal(check_vouched(now), 0);
	/* The member naming it again at that endpoint vouches for it again. */
	nt_tunnel_announce_on_control(&rig.t, m.p, NT_CTRL_PEX, body, len, &m_ep, NULL, now);
	assert_true(nt_tunnel_hints_vouch(&rig.t, v, now));
	assert_false(nt_tunnel_hints_vouch(&rig.t, minted, now));
	member_free(&m);
}

/* A hint is satisfied by a live direct session with the member behind it, or ourselves. */
static void test_satisfied(void **state)
{
	uint64_t now = rig.t0;
	union nt_sockaddr e = rig_addr("203.0.113.77:51820"), self = rig_addr("203.0.113.78:51820");
	struct member m;
	struct nt_hint *h, *hs;

	(void)state;
	member_bare(&rig, &m, now);
	h = nt_tunnel_hint_add(&rig.t, NT_HINT_PEX, &e, m.pk, 0, now);
	hs = nt_tunnel_hint_add(&rig.t, NT_HINT_DHT, &self, rig.id->ed_pk, 0, now);
	assert_non_null(h);
	assert_non_null(hs);
	assert_true(nt_tunnel_hint_is_satisfied(&rig.t, hs, now));
	/* A member with no session does not satisfy it. */
	assert_false(nt_tunnel_hint_is_satisfied(&rig.t, h, now));
	member_free(&m);
	nt_tunnel_member_kill(&rig.t, m.p);
	nt_tunnel_members_reap_dead(&rig.t);
	/* A member with a session does, until the session dies. */
	member_new(&rig, &m, NULL, now);
	nt_tunnel_hints_name(&rig.t, &e, m.p->id); /* a handshake there named the new one */
	assert_memory_equal(h->id, m.p->id, 32);
	assert_true(nt_tunnel_hint_is_satisfied(&rig.t, h, now));
	assert_false(nt_tunnel_hint_is_satisfied(&rig.t, h, now + NT_PEER_DEAD_MS));
	/* A relayed session does not: the direct path is still wanted. */
	m.p->via = m.p; /* any relay */
	assert_false(nt_tunnel_hint_is_satisfied(&rig.t, h, now));
	m.p->via = NULL;
	member_free(&m);
}

#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
		T(test_open_sources_quarter), T(test_configured_never_replaced),
		T(test_budgets_and_expiry), T(test_pex_told_by_vouch_gone), T(test_vouch_not_renamed),
		T(test_satisfied),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
