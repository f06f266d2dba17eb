// SPDX-License-Identifier: MIT
/*
 * RFC 6479 replay window: a numbered table of edge cases run in order on one window
 * (in the manner of WireGuard's counter.c selftest), then 1e5 random operations compared
 * with a naive reference (a set of every accepted counter plus the window rule).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "proto/replay.h"

#define W ((uint64_t)NT_REPLAY_WINDOW) /* 8128 */
#define R ((uint64_t)NT_REPLAY_RING_BITS) /* 8192 */
#define REJ (UINT64_MAX - R - 1) /* WireGuard's REJECT_AFTER_MESSAGES */

struct replay_case {
	bool reset; /* start from an empty window first */
	uint64_t counter;
	uint64_t limit;
	bool fresh;
};

#define T(c, f) { false, (c), REJ, (f) }
#define T_LIM(c, lim, f) { false, (c), (lim), (f) }
#define RESET { true, 0, 0, false }

static const struct replay_case cases[] = {
	/* 1 */ T(0, true),
	/* 2 */ T(1, true),
	/* 3 */ T(1, false), /* duplicate */
	/* 4 */ T(9, true),
	/* 5 */ T(8, true), /* out of order, inside */
	/* 6 */ T(7, true),
	/* 7 */ T(7, false),
	/* 8 */ T(W, true), /* greatest = W */
	/* 9 */ T(W - 1, true),
	/* 10 */ T(W - 1, false),
	/* 11 */ T(W - 2, true),
	/* 12 */ T(2, true), /* W - 2 behind the greatest: inside */
	/* 13 */ T(2, false),
	/* 14 */ T(1, false), /* seen */
	/* 15 */ T(0, false), /* seen, and now exactly W behind: left of the window */
	/* 16 */ T(W + 16, true),
	/* 17 */ T(16, false), /* exactly W behind: just left of the window */
	/* 18 */ T(17, true), /* W - 1 behind: the oldest counter inside */
	/* 19 */ T(17, false),
	/* 20 */ T(W + 16, false),
	/* 21 */ T(4 * W, true), /* far jump */
	/* 22 */ T(4 * W - W + 1, true), /* oldest inside */
	/* 23 */ T(4 * W - W, false), /* just left */
	/* 24 */ T(10, false),
	/* 25 */ T(4 * W - W + 2, true),
	/* 26 */ T(4 * W - 1, true),
	/* 27 */ T(0, false),
	/* ring wrap: c and c + 8192 share one bit */
	/* 28 */ RESET,
	/* 29 */ T(100, true),
	/* 30 */ T(100 + R, true), /* jump of a whole ring: everything cleared */
	/* 31 */ T(100, false), /* its bit was reused, but it is left of the window */
	/* 32 */ T(100 + R - W + 1, true), /* oldest inside (165) */
	/* 33 */ T(100 + R - W + 1, false),
	/* 34 */ T(100 + R + 64, true), /* slide by one word */
	/* 35 */ T(100 + R - W + 1, false), /* 165 left the window */
	/* 36 */ T(100 + R + 64 - W + 1, true), /* new oldest (229) */
	/* 37 */ T(100 + R + 64 - W, false),
	/* 38 */ T(100 + R + 63, true), /* just below the greatest */
	/* 39 */ T(100 + R + 65, true),
	/* a bit inside the window survives a slide that reuses neighbouring words */
	/* 40 */ RESET,
	/* 41 */ T(5000, true),
	/* 42 */ T(4000, true),
	/* 43 */ T(5000 + W - 1, true), /* slides 127 words */
	/* 44 */ T(5000, false), /* still remembered */
	/* 45 */ T(5001, true),
	/* 46 */ T(4000, false),
	/* 47 */ T(5000 + W, true),
	/* 48 */ T(5000, false), /* now exactly W behind: left */
	/* 49 */ T(5001, false), /* the oldest inside, seen */
	/* jumps of exactly ring size minus one word, and exactly the ring */
	/* 50 */ RESET,
	/* 51 */ T(63, true),
	/* 52 */ T(63 + R - 64, true),
	/* 53 */ T(63 + R - 64 - W + 1, true),
	/* 54 */ T(63 + 2 * R - 64, true),
	/* 55 */ T(63 + R - 64, false),
	/* 56 */ T(63 + 2 * R - 65, true),
	/* first counter far from zero */
	/* 57 */ RESET,
	/* 58 */ T(UINT64_C(1) << 40, true),
	/* 59 */ T((UINT64_C(1) << 40) - 1, true),
	/* 60 */ T(0, false),
	/* REJECT_AFTER_MESSAGES */
	/* 61 */ RESET,
	/* 62 */ T(REJ, false),
	/* 63 */ T(REJ - 1, true),
	/* 64 */ T(REJ, false),
	/* 65 */ T(REJ - 1, false),
	/* 66 */ T(REJ - 2, true),
	/* 67 */ T(REJ + 1, false),
	/* 68 */ T(UINT64_MAX, false),
	/* 69 */ T(REJ - 2, false),
	/* 70 */ T(REJ - 3, true),
	/* 71 */ T(REJ - W, true), /* oldest inside */
	/* 72 */ T(REJ - W - 1, false),
	/* 73 */ T(0, false),
	/* other limits */
	/* 74 */ RESET,
	/* 75 */ T_LIM(0, 0, false), /* a zero limit accepts nothing */
	/* 76 */ T_LIM(0, 1, true),
	/* 77 */ T_LIM(1, 1, false),
	/* 78 */ T_LIM(UINT64_MAX - 1, UINT64_MAX, true), /* greatest possible, no overflow */
	/* 79 */ T_LIM(UINT64_MAX - 1, UINT64_MAX, false),
	/* 80 */ T_LIM(UINT64_MAX - 2, UINT64_MAX, true),
	/* 81 */ T_LIM(UINT64_MAX, UINT64_MAX, false),
	/* 82 */ T_LIM(UINT64_MAX - 1 - W, UINT64_MAX, false),
};

static void test_replay_table(void **state)
{
	struct nt_replay r, before;

	(void)state;
	nt_replay_init(&r);
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const struct replay_case *c = &cases[i];
		bool peek, got;

		if (c->reset) {
			nt_replay_init(&r);
			continue;
		}
		before = r;
		peek = nt_replay_is_fresh(&r, c->counter, c->limit);
		if (memcmp(&before, &r, sizeof(r)) != 0)
			fail_msg("case %zu: is_fresh changed the window", i + 1);
		got = nt_replay_check_and_update(&r, c->counter, c->limit);
		if (peek != c->fresh || got != c->fresh)
			fail_msg("case %zu: counter %llu limit %llu: is_fresh %d, check %d, want %d",
				 i + 1, (unsigned long long)c->counter, (unsigned long long)c->limit,
				 peek, got, c->fresh);
		if (!got && memcmp(&before, &r, sizeof(r)) != 0)
			fail_msg("case %zu: a refused counter changed the window", i + 1);
		if (got && nt_replay_is_fresh(&r, c->counter, c->limit))
			fail_msg("case %zu: accepted counter is still fresh", i + 1);
	}
}

/* The reference: every accepted counter in an open-addressing set, plus the greatest. */
enum { REF_SLOTS = 1 << 18 };
struct ref {
	uint64_t *slot; /* UINT64_MAX = empty (never an accepted counter: limit <= REJ) */
	bool any;
	uint64_t greatest;
};

static void ref_reset(struct ref *f)
{
	memset(f->slot, 0xff, REF_SLOTS * sizeof(*f->slot));
	f->any = false;
	f->greatest = 0;
}

static uint64_t *ref_find(struct ref *f, uint64_t c)
{
	uint64_t h = (c * UINT64_C(0x9e3779b97f4a7c15)) >> 46;

	while (f->slot[h] != UINT64_MAX && f->slot[h] != c)
		h = (h + 1) & (REF_SLOTS - 1);
	return &f->slot[h];
}

static bool ref_fresh(struct ref *f, uint64_t c, uint64_t limit)
{
	if (c >= limit || *ref_find(f, c) == c)
		return false;
	return !f->any || c > f->greatest || f->greatest - c < W;
}

static void ref_add(struct ref *f, uint64_t c)
{
	*ref_find(f, c) = c;
	if (!f->any || c > f->greatest)
		f->greatest = c;
	f->any = true;
}

static uint64_t rng_state;
static uint64_t rnd(void)
{
	/* xorshift64*, fixed seed: the same sequence on every run */
	rng_state ^= rng_state >> 12;
	rng_state ^= rng_state << 25;
	rng_state ^= rng_state >> 27;
	return rng_state * UINT64_C(0x2545f4914f6cdd1d);
}

static uint64_t sub_sat(uint64_t a, uint64_t b)
{
	return a > b ? a - b : 0;
}

static void run_random(uint64_t base, unsigned int ops, unsigned int *accepted)
{
	struct ref f = { .slot = malloc(REF_SLOTS * sizeof(uint64_t)) };
	struct nt_replay r;
	uint64_t g = base;
	unsigned int inserted = 0;

	assert_non_null(f.slot);
	ref_reset(&f);
	nt_replay_init(&r);
	for (unsigned int i = 0; i < ops; i++) {
		uint64_t x = rnd(), c;
		unsigned int pick = (unsigned int)(x % 1000);
		bool want, peek, got;

		if (pick < 1 || inserted > REF_SLOTS / 2) {
			ref_reset(&f);
			nt_replay_init(&r);
			g = base;
			inserted = 0;
			continue;
		}
		if (pick < 400)
			c = g + (x >> 32) % 200;
		else if (pick < 800)
			c = sub_sat(g, (x >> 32) % (W + 300));
		else if (pick < 900)
			c = sub_sat(g + 1, W - 1 + (x >> 32) % 3); /* the left edge */
		else if (pick < 950)
			c = g + (x >> 32) % (3 * R);
		else if (pick < 980)
			c = g + R - 64 + (x >> 32) % 128; /* jumps of about one ring */
		else
			c = base + (x >> 32) % 64;
		if (c < base)
			c = base;

		want = ref_fresh(&f, c, REJ);
		peek = nt_replay_is_fresh(&r, c, REJ);
		got = nt_replay_check_and_update(&r, c, REJ);
		if (want != peek || want != got)
			fail_msg("op %u: counter %llu (base %llu): reference %d, is_fresh %d, check %d",
				 i, (unsigned long long)c, (unsigned long long)base, want, peek, got);
		if (got) {
			ref_add(&f, c);
			inserted++;
			(*accepted)++;
			if (c > g)
				g = c;
		}
	}
	free(f.slot);
}

static void test_replay_random(void **state)
{
	unsigned int accepted = 0;

	(void)state;
	rng_state = UINT64_C(0x6e6574726f6e2121);
	run_random(0, 50000, &accepted);
	/* Near the limit: counters run into REJECT_AFTER_MESSAGES. */
	run_random(REJ - 400000, 50000, &accepted);
	/* Both outcomes must have been exercised a fair number of times. */
	assert_in_range(accepted, 20000, 80000);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_replay_table),
		cmocka_unit_test(test_replay_random),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
