// SPDX-License-Identifier: MIT
/*
 * The neighbor choice (neighbors.h): node IDs read as 256-bit big-endian numbers on a ring;
 * "the member that follows x" is the one at the smallest distance (id - x) mod 2^256 > 0.
 * Linear scans: a choice is made when the members change, not per packet.
 */
#include "tunnel/neighbors.h"

#include <stdbool.h>
#include <string.h>

#include <sodium.h>

/* d = (a - b) mod 2^256, big-endian. */
static void ring_sub(uint8_t d[32], const uint8_t a[32], const uint8_t b[32])
{
	int borrow = 0;

	for (int i = 31; i >= 0; i--) {
		int v = (int)a[i] - (int)b[i] - borrow;

		borrow = v < 0;
		d[i] = (uint8_t)(v + (borrow ? 256 : 0));
	}
}

static bool is_zero(const uint8_t d[32])
{
	for (int i = 0; i < 32; i++)
		if (d[i])
			return false;
	return true;
}

static bool taken(const size_t *out, unsigned int m, const uint8_t (*ids)[32], size_t j)
{
	for (unsigned int i = 0; i < m; i++)
		if (!memcmp(ids[out[i]], ids[j], 32))
			return true;
	return false;
}

/*
 * The member nearest to x in one direction (after: the first at or past x going up; else the
 * first below x going down), not self and not chosen yet; false when there is none.
 */
static bool nearest(const uint8_t self[32], const uint8_t (*ids)[32], size_t n, const uint8_t x[32],
		    bool after, const size_t *out, unsigned int m, size_t *found)
{
	uint8_t best[32], d[32];
	bool have = false;

	for (size_t j = 0; j < n; j++) {
		if (!memcmp(ids[j], self, 32) || taken(out, m, ids, j))
			continue;
		if (after)
			ring_sub(d, ids[j], x);
		else
			ring_sub(d, x, ids[j]);
		if (!after && is_zero(d))
			continue; /* going down starts strictly below x */
		if (!have || memcmp(d, best, 32) < 0) {
			memcpy(best, d, 32);
			*found = j;
			have = true;
		}
	}
	return have;
}

unsigned int nt_neighbors_pick(const uint8_t self[32], const uint8_t (*ids)[32], size_t n,
			       unsigned int k, size_t *out)
{
	unsigned int m = 0;
	uint8_t x[32];
	size_t j;

	if (k > NT_NEIGHBORS_MAX)
		k = NT_NEIGHBORS_MAX;
	/* The ring: successor (strictly after self), then predecessor. */
	if (m < k) {
		memcpy(x, self, 32); /* self + 1: the search starts past self */
		for (int i = 31; i >= 0 && !++x[i]; i--)
			;
		if (nearest(self, ids, n, x, true, out, m, &j))
			out[m++] = j;
	}
	if (m < k && nearest(self, ids, n, self, false, out, m, &j))
		out[m++] = j;
	/* Long links: the member that follows a point of the ring only self could have chosen. */
	for (uint8_t i = 0; m < k; i++) {
		uint8_t in[33];

		memcpy(in, self, 32);
		in[32] = i;
		crypto_generichash(x, sizeof(x), in, sizeof(in), (const uint8_t *)"netron neighbor", 15);
		if (!nearest(self, ids, n, x, true, out, m, &j))
			break;
		out[m++] = j;
	}
	return m;
}
