// SPDX-License-Identifier: MIT
/*
 * Differential fuzz target for replay.c: the input is a program of counter operations
 * (small steps, edges of the window, jumps of about one ring, absolute values, values at
 * the limit, resets); each counter is checked by nt_replay_is_fresh and
 * nt_replay_check_and_update and by a naive reference (a list of every accepted counter
 * plus the window rule). Any disagreement aborts.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "proto/replay.h"

#define W ((uint64_t)NT_REPLAY_WINDOW)
#define R ((uint64_t)NT_REPLAY_RING_BITS)
#define REJ (UINT64_MAX - R - 1)

enum { MAX_OPS = 1024 };

static uint64_t seen[MAX_OPS];
static size_t nseen;
static bool any;
static uint64_t greatest;

static bool ref_fresh(uint64_t c, uint64_t limit)
{
	if (c >= limit)
		return false;
	for (size_t i = 0; i < nseen; i++)
		if (seen[i] == c)
			return false;
	return !any || c > greatest || greatest - c < W;
}

static uint64_t take(const uint8_t **p, const uint8_t *end, size_t n)
{
	uint64_t v = 0;

	for (size_t i = 0; i < n && *p < end; i++, (*p)++)
		v |= (uint64_t)**p << (8 * i);
	return v;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const uint8_t *p = data, *end = data + size;
	static const uint64_t limits[] = { REJ, 20000, UINT64_MAX, 2 * W + 7 };
	struct nt_replay r;
	uint64_t limit;
	size_t ops = 0;

	if (size < 1)
		return 0;
	limit = limits[take(&p, end, 1) & 3];
	nt_replay_init(&r);
	nseen = 0;
	any = false;
	greatest = 0;

	while (p < end && ops++ < MAX_OPS) {
		uint8_t k = (uint8_t)take(&p, end, 1);
		uint64_t c;
		bool want, peek, got;

		switch (k >> 5) {
		case 0:
			c = greatest + (k & 31);
			break;
		case 1:
			c = greatest - take(&p, end, 2);
			break;
		case 2:
			c = greatest - (W - 2 + (k & 3));
			break;
		case 3:
			c = greatest + take(&p, end, 2);
			break;
		case 4:
			c = take(&p, end, 8);
			break;
		case 5:
			c = limit - 1 - (k & 31);
			break;
		case 6:
			c = greatest + R - 64 + (uint64_t)(k & 31) * 4;
			break;
		default:
			nt_replay_init(&r);
			nseen = 0;
			any = false;
			greatest = 0;
			continue;
		}

		want = ref_fresh(c, limit);
		peek = nt_replay_is_fresh(&r, c, limit);
		got = nt_replay_check_and_update(&r, c, limit);
		if (want != peek || want != got)
			abort();
		if (got) {
			seen[nseen++] = c;
			if (!any || c > greatest)
				greatest = c;
			any = true;
		}
		if (nt_replay_is_fresh(&r, c, limit))
			abort(); /* whatever happened, c is not fresh now */
	}
	return 0;
}
