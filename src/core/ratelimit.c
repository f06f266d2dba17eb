// SPDX-License-Identifier: MIT
/*
 * Token buckets for handshake messages, one per source (IPv4 address or IPv6 /64, since
 * one IPv6 host usually owns a whole /64), in a set-associative table of fixed size:
 * SipHash of the source with a random key picks a set of NT_RATELIMIT_WAYS buckets; a new
 * source takes the set's least recently used bucket. A bucket holds credit in milliseconds
 * (it refills one millisecond per millisecond, up to burst * cost); a message costs
 * 1000 / rate. The load indicator counts the messages it is told of in eight 125 ms slots.
 */
#include "core/ratelimit.h"

#include <errno.h>
#include <sodium.h>
#include <string.h>

int nt_ratelimit_table_init(struct nt_ratelimit_table *t, uint32_t rate, uint32_t burst,
			    uint32_t load_threshold)
{
	if (rate == 0 || rate > 1000 || burst == 0 || burst > 1000 || load_threshold == 0)
		return -EINVAL;
	memset(t, 0, sizeof(*t));
	nt_ratelimit_table_clear(t);
	t->cost_ms = 1000 / rate;
	t->burst_ms = burst * t->cost_ms;
	t->load_threshold = load_threshold;
	return 0;
}

void nt_ratelimit_table_clear(struct nt_ratelimit_table *t)
{
	uint32_t cost = t->cost_ms, burst = t->burst_ms, load = t->load_threshold;

	memset(t->buckets, 0, sizeof(t->buckets));
	memset(t->load_count, 0, sizeof(t->load_count));
	memset(t->load_slot_start, 0, sizeof(t->load_slot_start));
	randombytes_buf(t->hash_key, sizeof(t->hash_key));
	t->cost_ms = cost;
	t->burst_ms = burst;
	t->load_threshold = load;
}

static bool source_key(const union nt_sockaddr *from, uint8_t key[16])
{
	memset(key, 0, 16);
	switch (from->sa.sa_family) {
	case AF_INET:
		key[10] = key[11] = 0xff;
		memcpy(key + 12, &from->in4.sin_addr, 4);
		return true;
	case AF_INET6:
		memcpy(key, &from->in6.sin6_addr, 8);
		/* A v4-mapped address counts as its IPv4 address, not as a /64. */
		if (IN6_IS_ADDR_V4MAPPED(&from->in6.sin6_addr))
			memcpy(key + 8, (const uint8_t *)&from->in6.sin6_addr + 8, 8);
		return true;
	default:
		return false;
	}
}

void nt_ratelimit_table_count_load(struct nt_ratelimit_table *t, uint64_t now_ms)
{
	uint64_t start = now_ms - now_ms % 125;
	size_t i = (size_t)(now_ms / 125) % NT_RATELIMIT_LOAD_SLOTS;

	if (t->load_slot_start[i] != start) {
		t->load_slot_start[i] = start;
		t->load_count[i] = 0;
	}
	if (t->load_count[i] < UINT32_MAX)
		t->load_count[i]++;
}

bool nt_ratelimit_table_is_under_load(const struct nt_ratelimit_table *t, uint64_t now_ms)
{
	uint64_t sum = 0;

	for (size_t i = 0; i < NT_RATELIMIT_LOAD_SLOTS; i++)
		if (t->load_slot_start[i] + 1000 > now_ms && t->load_slot_start[i] <= now_ms)
			sum += t->load_count[i];
	return sum > t->load_threshold;
}

bool nt_ratelimit_table_allow(struct nt_ratelimit_table *t, const union nt_sockaddr *from,
			      uint64_t now_ms)
{
	struct nt_ratelimit_bucket *set, *b = NULL, *lru;
	uint8_t key[16], h[8];
	uint64_t idx, credit;

	if (!source_key(from, key))
		return false;
	crypto_shorthash(h, key, sizeof(key), t->hash_key);
	memcpy(&idx, h, sizeof(idx));
	set = t->buckets[idx % NT_RATELIMIT_SETS];
	/* A used bucket has last_ms != 0; time 0 is stored as 1 so it stays "used". */
	if (now_ms == 0)
		now_ms = 1;

	lru = &set[0];
	for (size_t w = 0; w < NT_RATELIMIT_WAYS; w++) {
		if (set[w].last_ms && memcmp(set[w].key, key, sizeof(key)) == 0) {
			b = &set[w];
			break;
		}
		if (set[w].last_ms < lru->last_ms)
			lru = &set[w];
	}
	if (!b) {
		b = lru;
		memcpy(b->key, key, sizeof(key));
		b->last_ms = now_ms;
		b->tokens = t->burst_ms;
	}
	if (now_ms > b->last_ms) {
		credit = (uint64_t)b->tokens + (now_ms - b->last_ms);
		b->tokens = (uint32_t)(credit > t->burst_ms ? t->burst_ms : credit);
		b->last_ms = now_ms;
	}
	if (b->tokens < t->cost_ms)
		return false;
	b->tokens -= t->cost_ms;
	return true;
}
