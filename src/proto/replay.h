/* SPDX-License-Identifier: MIT */
/*
 * Anti-replay sliding window for data-frame counters (RFC 6479): a ring of 64-bit words
 * that holds one bit per counter in the window, so sliding the window forward clears
 * whole words instead of shifting the bitmap. The window holds NT_REPLAY_WINDOW counters
 * ending at the greatest counter accepted so far; one spare word of the ring is what
 * RFC 6479 needs so the slide never clears a bit still inside the window.
 */
#ifndef NT_REPLAY_H
#define NT_REPLAY_H

#include <stdbool.h>
#include <stdint.h>

enum {
	NT_REPLAY_WORD_BITS = 64,
	NT_REPLAY_RING_WORDS = 128, /* a power of two */
	NT_REPLAY_RING_BITS = NT_REPLAY_RING_WORDS * NT_REPLAY_WORD_BITS, /* 8192 */
	NT_REPLAY_WINDOW = NT_REPLAY_RING_BITS - NT_REPLAY_WORD_BITS, /* 8128 counters */
};

struct nt_replay {
	uint64_t next; /* greatest accepted counter + 1; 0 before the first one */
	uint64_t ring[NT_REPLAY_RING_WORDS]; /* bit (c % 8192) is set when c was accepted */
};

/* Empties the window: every counter below reject_after is fresh again. */
void nt_replay_init(struct nt_replay *r);

/*
 * Whether counter could be accepted, without changing r: counter < reject_after, and it is
 * either above every counter accepted so far or inside the window and not yet seen. Use it
 * to drop obviously old frames before spending an AEAD open on them.
 */
bool nt_replay_is_fresh(const struct nt_replay *r, uint64_t counter, uint64_t reject_after);

/*
 * Accepts counter and records it if nt_replay_is_fresh() holds; returns false (and changes
 * nothing) otherwise. Call only for frames that authenticated, so that a forged counter
 * cannot slide the window.
 */
bool nt_replay_check_and_update(struct nt_replay *r, uint64_t counter, uint64_t reject_after);

#endif
