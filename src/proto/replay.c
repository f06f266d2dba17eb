// SPDX-License-Identifier: MIT
/*
 * RFC 6479 anti-replay window. Let G be the greatest counter accepted so far. A counter c
 * is fresh when c < reject_after and either nothing was accepted yet, c > G, or
 * G - c < NT_REPLAY_WINDOW and bit c of the ring is clear. Accepting c > G slides the
 * window: the ring words between G's word (exclusive) and c's word (inclusive) are
 * cleared, all of them at once when the jump is longer than the ring. Because the window
 * is one word shorter than the ring, every counter inside the window lives in a word the
 * slide does not touch.
 */
#include <string.h>

#include "proto/replay.h"

enum {
	WORD_SHIFT = 6, /* log2(NT_REPLAY_WORD_BITS) */
	RING_MASK = NT_REPLAY_RING_WORDS - 1,
};

static inline uint64_t word_of(uint64_t counter)
{
	return counter >> WORD_SHIFT;
}

static inline uint64_t bit_of(uint64_t counter)
{
	return UINT64_C(1) << (counter & (NT_REPLAY_WORD_BITS - 1));
}

void nt_replay_init(struct nt_replay *r)
{
	memset(r, 0, sizeof(*r));
}

bool nt_replay_is_fresh(const struct nt_replay *r, uint64_t counter, uint64_t reject_after)
{
	if (counter >= reject_after)
		return false;
	/* Above everything seen so far (or nothing seen yet): always fresh. */
	if (counter >= r->next)
		return true;
	/* Left of the window: its bit may already be reused by a newer counter. */
	if (r->next - 1 - counter >= NT_REPLAY_WINDOW)
		return false;
	return !(r->ring[word_of(counter) & RING_MASK] & bit_of(counter));
}

bool nt_replay_check_and_update(struct nt_replay *r, uint64_t counter, uint64_t reject_after)
{
	uint64_t *word;

	if (!nt_replay_is_fresh(r, counter, reject_after))
		return false;

	if (counter >= r->next) {
		uint64_t from, to, n;

		/*
		 * Slide: clear the words the window enters, which are those after the word
		 * of the old greatest counter, up to and including the new counter's word.
		 * Before the first counter the ring is all zero already.
		 */
		if (r->next != 0) {
			from = word_of(r->next - 1) + 1;
			to = word_of(counter);
			n = to >= from ? to - from + 1 : 0;
			if (n >= NT_REPLAY_RING_WORDS)
				memset(r->ring, 0, sizeof(r->ring));
			else
				for (uint64_t i = 0; i < n; i++)
					r->ring[(from + i) & RING_MASK] = 0;
		}
		r->next = counter + 1; /* counter < reject_after: no overflow */
	}

	word = &r->ring[word_of(counter) & RING_MASK];
	*word |= bit_of(counter);
	return true;
}
