/* SPDX-License-Identifier: MIT */
/*
 * Limits on what the node sends to addresses that have not proven they receive there: the
 * answers to DHT queries and STUN Binding requests, which anyone can ask for with a spoofed
 * source. Two rules, the same for every such answer (README "Security model", docs/dht.md
 * §6, docs/nat.md):
 *   - an answer is at most NT_SRCLIMIT_ANSWER_FACTOR times the size of the datagram that
 *     caused it (the caller trims or drops it);
 *   - answers are rate-limited per source (an IPv4 address, or an IPv6 /64) and in total,
 *     by token buckets that nothing but time refills.
 * Sans-IO: times are passed in. No allocation; the caller embeds the struct.
 */
#ifndef NT_SRCLIMIT_H
#define NT_SRCLIMIT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/util.h"

#ifndef NT_SRCLIMIT_BUCKETS
#define NT_SRCLIMIT_BUCKETS 1024 /* per-source buckets (8 bytes each) */
#endif

enum {
	NT_SRCLIMIT_ANSWER_FACTOR = 4, /* answer bytes per byte of the datagram that caused it */
	NT_SRCLIMIT_KEY_LEN = 16,
};

struct nt_srclimit {
	uint64_t tat[NT_SRCLIMIT_BUCKETS]; /* per bucket: GCRA theoretical arrival time, us */
	uint64_t total_tat; /* the same for all sources together */
	uint64_t interval_us, tolerance_us; /* per source: 1 s / rate, (burst - 1) intervals */
	uint64_t total_interval_us, total_tolerance_us;
	uint8_t key[NT_SRCLIMIT_KEY_LEN]; /* SipHash key: nobody can aim at a bucket */
};

/*
 * rate answers per second per source with bursts of `burst`, and total_rate per second
 * with bursts of total_burst for all sources (rates 1..1000000, bursts >= 1). key is the
 * random hashing key. 0 or -EINVAL.
 */
int nt_srclimit_init(struct nt_srclimit *l, const uint8_t key[NT_SRCLIMIT_KEY_LEN], uint32_t rate,
		     uint32_t burst, uint32_t total_rate, uint32_t total_burst);

/*
 * Whether one more answer may go to `from` now; if so it is counted against both limits
 * (a refused answer costs nothing, so a source over its limit does not eat the total).
 * false for an address of another family. now_ms must not go backwards.
 */
bool nt_srclimit_allow(struct nt_srclimit *l, const union nt_sockaddr *from, uint64_t now_ms);

/* The bucket a source is counted in (IPv4-mapped IPv6 counts as IPv4); for tests. */
size_t nt_srclimit_bucket_of(const struct nt_srclimit *l, const union nt_sockaddr *from);

#endif
