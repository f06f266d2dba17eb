/* SPDX-License-Identifier: MIT */
/*
 * Handshake rate limiting (DESIGN §5): a fixed-size table of token buckets keyed by source
 * address (IPv4 address, or IPv6 /64), and a global "under load" indicator that tells the
 * daemon when to demand mac2 (cookies). No allocation after init; an attacker with many
 * addresses can only evict entries, never grow the table. Sans-IO: times are passed in.
 */
#ifndef NT_RATELIMIT_H
#define NT_RATELIMIT_H

#include <stdbool.h>
#include <stdint.h>

#include "core/util.h"

#ifndef NT_RATELIMIT_SETS
#define NT_RATELIMIT_SETS 512 /* x NT_RATELIMIT_WAYS buckets */
#endif
#define NT_RATELIMIT_WAYS 4
#define NT_RATELIMIT_LOAD_SLOTS 8 /* the last second, in 125 ms slots */

struct nt_ratelimit_bucket {
	uint8_t key[16]; /* IPv4 mapped into ::ffff:0:0/96, or the IPv6 /64 */
	uint64_t last_ms; /* monotonic, last refill; 0 = unused */
	uint32_t tokens; /* in milliseconds of credit */
};

struct nt_ratelimit_table {
	struct nt_ratelimit_bucket buckets[NT_RATELIMIT_SETS][NT_RATELIMIT_WAYS];
	uint8_t hash_key[16]; /* SipHash key: an attacker cannot aim at one set */
	uint32_t cost_ms; /* credit one message costs: 1000 / rate */
	uint32_t burst_ms; /* bucket size: burst * cost */
	uint32_t load_threshold; /* messages per second that mean "under load" */
	uint32_t load_count[NT_RATELIMIT_LOAD_SLOTS];
	uint64_t load_slot_start[NT_RATELIMIT_LOAD_SLOTS]; /* ms, slot-aligned */
};

enum {
	NT_RATELIMIT_DEFAULT_RATE = 20, /* handshake messages per second per source */
	NT_RATELIMIT_DEFAULT_BURST = 5,
	NT_RATELIMIT_DEFAULT_LOAD = 128, /* per second, all sources together */
};

/* rate per second (1..1000), burst >= 1, load_threshold >= 1. 0 or -EINVAL. */
int nt_ratelimit_table_init(struct nt_ratelimit_table *t, uint32_t rate, uint32_t burst,
			    uint32_t load_threshold);
/* Wipes the table (and draws a new hash key). */
void nt_ratelimit_table_clear(struct nt_ratelimit_table *t);

/*
 * Charges one message to the bucket of `from` and says whether to process it. Charge only
 * messages that proved their source address (a valid cookie): a bucket that anybody can
 * drain by spoofing that address would let a stranger silence a member. now_ms must not go
 * backwards by much.
 */
bool nt_ratelimit_table_allow(struct nt_ratelimit_table *t, const union nt_sockaddr *from,
			      uint64_t now_ms);

/* Counts one message toward the load (count those from the network only: valid mac1). */
void nt_ratelimit_table_count_load(struct nt_ratelimit_table *t, uint64_t now_ms);

/* More than load_threshold messages counted in the last second. */
bool nt_ratelimit_table_is_under_load(const struct nt_ratelimit_table *t, uint64_t now_ms);

#endif
