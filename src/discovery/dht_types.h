/* SPDX-License-Identifier: MIT */
/*
 * The DHT engine's public data types: its callbacks, its configuration and its counters.
 * They live apart from dht.h so that the engine's private header (dht_impl.h), which
 * embeds them in struct nt_dht, and the engine's files that share it do not include
 * dht.h. Part of the DHT's public interface: include discovery/dht.h.
 */
#ifndef NT_DHT_TYPES_H
#define NT_DHT_TYPES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/util.h"

/* Sends one datagram to `to` (AF_INET or AF_INET6, never v4-mapped). */
typedef void nt_dht_send_fn(void *ctx, const void *buf, size_t len, const union nt_sockaddr *to);
/* Peers found for a searched info-hash; may repeat peers across calls. */
typedef void nt_dht_peers_fn(void *ctx, const uint8_t ih[20], const union nt_sockaddr *peers,
			     size_t n);
/* A lookup of ih over family af ended (after its announces, if any were asked for). */
typedef void nt_dht_done_fn(void *ctx, const uint8_t ih[20], int af, size_t replied);
typedef void nt_dht_rand_fn(void *ctx, void *buf, size_t len);

/* Every limit accepts 0 for its default. */
struct nt_dht_config {
	bool ipv4; /* run the IPv4 table (at least one of ipv4/ipv6) */
	bool ipv6; /* run the IPv6 table (BEP 32) */
	uint16_t port; /* "port" of announce_peer; receivers use the source port (implied_port) */
	const uint8_t *id; /* 20-byte node ID to start with; NULL: random */

	nt_dht_send_fn *send; /* required */
	nt_dht_peers_fn *on_peers; /* optional */
	nt_dht_done_fn *on_search_done; /* optional */
	void *ctx; /* passed to the three callbacks above */
	nt_dht_rand_fn *rand; /* optional; default randombytes_buf */
	void *rand_ctx;

	size_t max_nodes; /* routing table nodes per family; default 256 (32 buckets of 8) */
	size_t max_hashes; /* info-hashes stored for others; default 256 */
	size_t max_peers; /* peers stored per info-hash; default 32 */
	size_t max_searches; /* concurrent lookups (one per info-hash and family); default 16 */
	size_t max_pending; /* queries in flight awaiting an answer; default 256 */
	/*
	 * Queries answered per second per source (an IPv4 address or an IPv6 /64; default 8,
	 * burst 4x), and in all (default 250, burst 2x); at most 1000000. Whatever the rates,
	 * what a query makes us send to its source is at most 4 times its size (srclimit.h).
	 */
	uint32_t rate_per_ip;
	uint32_t rate_total;
};

struct nt_dht_stats {
	size_t good4, dubious4; /* IPv4 table: good; questionable or bad */
	size_t good6, dubious6;
	size_t buckets4, buckets6;
	size_t stored_hashes, stored_peers;
	size_t searches; /* lookups in flight, the internal self lookups included */
	size_t pending; /* queries awaiting an answer */
	uint64_t pkts_in, pkts_out;
	uint64_t queries_answered;
	uint64_t dropped_malformed; /* not KRPC, or a bad field */
	uint64_t dropped_unsolicited; /* responses matching no query of ours */
	uint64_t dropped_ratelimit; /* queries not answered because of rate limits */
	uint64_t dropped_oversize; /* answers (or pings) that would not fit in 4x the query */
	uint64_t dropped_other; /* wrong family, own ID, no room for a query, storage full */
	uint64_t timeouts; /* our queries left unanswered */
	uint64_t announces_stored; /* announce_peer accepted from others */
	uint64_t bad_tokens; /* announce_peer refused for a bad token */
};

#endif
