// SPDX-License-Identifier: MIT
/*
 * Rate limits for answers to unproven sources (srclimit.h), as GCRA token buckets (the
 * "virtual scheduling" form of ITU-T I.371): a bucket is one time, the theoretical
 * arrival time (TAT) of the next answer; an answer at `now` fits if TAT - now is at most
 * (burst - 1) intervals, and moves TAT one interval past max(TAT, now). A bucket never
 * used (TAT 0) therefore holds a full burst, and only time refills a spent one.
 *
 * The per-source buckets are a plain array indexed by SipHash of the source under a random
 * key, with no tags: a bucket belongs to no source, the sources hashed to it share it, and
 * it is never handed over to a newcomer or reset. So however many other addresses send,
 * one source is never answered more than burst + rate x time (a table with tags that hands
 * a slot to a new source with a fresh burst lets anyone refill a victim's bucket by
 * sending from addresses that collide with it). The price: a source that shares a bucket
 * with a flooder (one chance in NT_SRCLIMIT_BUCKETS, and nobody can choose which) is held
 * to the flooder's limit.
 *
 * A source is an IPv4 address or an IPv6 /64: one IPv6 host usually owns a whole /64 and
 * can send from any address in it.
 */
#include "core/srclimit.h"

#include <errno.h>
#include <sodium.h>
#include <string.h>

_Static_assert(NT_SRCLIMIT_KEY_LEN == crypto_shorthash_KEYBYTES, "SipHash key size");

int nt_srclimit_init(struct nt_srclimit *l, const uint8_t key[NT_SRCLIMIT_KEY_LEN], uint32_t rate,
		     uint32_t burst, uint32_t total_rate, uint32_t total_burst)
{
	if (rate == 0 || rate > 1000000 || total_rate == 0 || total_rate > 1000000 || burst == 0 ||
	    total_burst == 0)
		return -EINVAL;
	memset(l, 0, sizeof(*l));
	memcpy(l->key, key, NT_SRCLIMIT_KEY_LEN);
	l->interval_us = 1000000 / rate;
	l->tolerance_us = (uint64_t)(burst - 1) * l->interval_us;
	l->total_interval_us = 1000000 / total_rate;
	l->total_tolerance_us = (uint64_t)(total_burst - 1) * l->total_interval_us;
	return 0;
}

/* The IPv4 address in ::ffff:0:0/96, or the IPv6 /64 followed by zeros. */
static bool source_key(const union nt_sockaddr *from, uint8_t key[16])
{
	const uint8_t *a6;

	memset(key, 0, 16);
	switch (from->sa.sa_family) {
	case AF_INET:
		key[10] = key[11] = 0xff;
		memcpy(key + 12, &from->in4.sin_addr, 4);
		return true;
	case AF_INET6:
		a6 = from->in6.sin6_addr.s6_addr;
		if (IN6_IS_ADDR_V4MAPPED(&from->in6.sin6_addr))
			memcpy(key, a6, 16);
		else
			memcpy(key, a6, 8);
		return true;
	default:
		return false;
	}
}

size_t nt_srclimit_bucket_of(const struct nt_srclimit *l, const union nt_sockaddr *from)
{
	uint8_t key[16], h[crypto_shorthash_BYTES];
	uint64_t v;

	if (!source_key(from, key))
		return NT_SRCLIMIT_BUCKETS;
	crypto_shorthash(h, key, sizeof(key), l->key);
	memcpy(&v, h, sizeof(v));
	return (size_t)(v % NT_SRCLIMIT_BUCKETS);
}

bool nt_srclimit_allow(struct nt_srclimit *l, const union nt_sockaddr *from, uint64_t now_ms)
{
	size_t i = nt_srclimit_bucket_of(l, from);
	uint64_t now = now_ms * 1000, tat, total;

	if (i >= NT_SRCLIMIT_BUCKETS)
		return false;
	tat = NT_MAX(l->tat[i], now);
	total = NT_MAX(l->total_tat, now);
	if (tat - now > l->tolerance_us || total - now > l->total_tolerance_us)
		return false;
	l->tat[i] = tat + l->interval_us;
	l->total_tat = total + l->total_interval_us;
	return true;
}
