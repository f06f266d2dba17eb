/* SPDX-License-Identifier: MIT */
/*
 * The Kademlia routing table of one address family (BEP 5, BEP 32: IPv4 and IPv6
 * tables are separate) and the BEP 42 node ID. Internal to the DHT engine (dht.c),
 * exposed for its unit tests.
 */
#ifndef NT_DHT_TABLE_H
#define NT_DHT_TABLE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "discovery/dht_rpc.h"
#include "core/util.h"

#ifndef NT_DHT_K
#define NT_DHT_K 8 /* bucket size, and how many closest nodes a lookup ends on */
#endif
#ifndef NT_DHT_GOOD_MS
#define NT_DHT_GOOD_MS (15 * 60 * 1000) /* a reply keeps a node good this long */
#endif
#ifndef NT_DHT_BAD_FAILS
#define NT_DHT_BAD_FAILS 3 /* unanswered queries in a row that make a node bad */
#endif
#ifndef NT_DHT_REFRESH_MS
#define NT_DHT_REFRESH_MS (15 * 60 * 1000) /* refresh a bucket idle this long */
#endif
#ifndef NT_DHT_EMPTY_REFRESH_MS
#define NT_DHT_EMPTY_REFRESH_MS (30 * 1000) /* refresh a bucket with no live node this often */
#endif
#ifndef NT_DHT_PING_GAP_MS
#define NT_DHT_PING_GAP_MS (10 * 1000) /* at most one ping per questionable node per gap */
#endif

enum nt_dht_node_state {
	NT_DHT_NODE_GOOD,
	NT_DHT_NODE_QUESTIONABLE,
	NT_DHT_NODE_BAD,
};

/* How we came to know a node: it answered our query, it queried us, or someone named it. */
enum nt_dht_seen {
	NT_DHT_SEEN_REPLY,
	NT_DHT_SEEN_QUERY,
	NT_DHT_SEEN_HEARD,
};

struct nt_dht_node {
	uint8_t id[NT_DHT_ID_LEN];
	union nt_sockaddr addr;
	uint64_t last_reply_ms; /* 0: never answered us */
	uint64_t last_query_ms; /* last query it sent us; 0: never */
	uint64_t last_sent_ms; /* last query we sent it; 0: never */
	uint8_t fails; /* our queries it left unanswered, in a row */
	bool used;
};

struct nt_dht_bucket {
	uint64_t last_changed_ms; /* a node was added or answered */
	/*
	 * How long an empty bucket waits for its next refresh: NT_DHT_EMPTY_REFRESH_MS (0),
	 * doubled by each refresh that finds nobody, up to NT_DHT_REFRESH_MS. In a small
	 * network most buckets stay empty; asking again every 30 s would be most of its traffic.
	 */
	uint32_t empty_gap_ms;
	struct nt_dht_node nodes[NT_DHT_K];
	/* A candidate waiting for a questionable node of this bucket to turn bad. */
	struct nt_dht_node replacement;
};

/*
 * Bucket i < nbuckets - 1 holds the nodes whose ID shares exactly i leading bits with
 * ours; the last bucket holds those sharing nbuckets - 1 bits or more, and is the only
 * one that ever splits. max_nodes / K buckets at most, allocated once.
 */
struct nt_dht_table {
	int af;
	uint8_t self[NT_DHT_ID_LEN];
	size_t nbuckets;
	size_t max_buckets;
	struct nt_dht_bucket *buckets;
	struct nt_dht_node *scratch; /* max_buckets * K, for rebuilding on an ID change */
};

int nt_dht_table_init(struct nt_dht_table *t, int af, const uint8_t self[NT_DHT_ID_LEN],
		      size_t max_nodes);
void nt_dht_table_uninit(struct nt_dht_table *t);

enum nt_dht_node_state nt_dht_node_state(const struct nt_dht_node *n, uint64_t now_ms);

/*
 * Records that (id, addr) was seen. Returns the node's slot, or NULL if the table had no
 * room for it. When the bucket is full of good and questionable nodes, the newcomer is
 * kept as the bucket's replacement and *ping is set to the questionable node that
 * should be pinged (its failure lets the replacement in). A query from a known address
 * with a new ID also asks for a ping (the reply moves the entry). Otherwise *ping is NULL.
 */
struct nt_dht_node *nt_dht_table_insert(struct nt_dht_table *t, const uint8_t id[NT_DHT_ID_LEN],
					const union nt_sockaddr *addr, enum nt_dht_seen how,
					uint64_t now_ms, struct nt_dht_node **ping);
struct nt_dht_node *nt_dht_table_find_addr(struct nt_dht_table *t, const union nt_sockaddr *addr);
/* A query we sent to addr went unanswered: count it; a node turned bad is replaced. */
void nt_dht_table_failed(struct nt_dht_table *t, const union nt_sockaddr *addr, uint64_t now_ms);
/* Up to max non-bad nodes closest to target, nearest first; returns how many. */
size_t nt_dht_table_closest(const struct nt_dht_table *t, const uint8_t target[NT_DHT_ID_LEN],
			    struct nt_dht_node **out, size_t max, uint64_t now_ms);
/* Changes our ID and re-files every node under it. */
void nt_dht_table_set_self(struct nt_dht_table *t, const uint8_t self[NT_DHT_ID_LEN]);
void nt_dht_table_count(const struct nt_dht_table *t, uint64_t now_ms, size_t *good,
			size_t *dubious);
/* A questionable node that has not been sent a query for NT_DHT_PING_GAP_MS, or NULL. */
struct nt_dht_node *nt_dht_table_next_ping(struct nt_dht_table *t, uint64_t now_ms);
/*
 * A bucket due for refresh: idle for NT_DHT_REFRESH_MS, or without a live node for
 * NT_DHT_EMPTY_REFRESH_MS (small networks leave far buckets empty until asked). Fills
 * target with an ID in its range (rnd gives the random bits), sets *to to one of its
 * nodes or else to the live node closest to target, and marks the bucket refreshed.
 */
bool nt_dht_table_next_refresh(struct nt_dht_table *t, uint64_t now_ms,
			       const uint8_t rnd[NT_DHT_ID_LEN], uint8_t target[NT_DHT_ID_LEN],
			       struct nt_dht_node **to);
size_t nt_dht_table_bucket_of(const struct nt_dht_table *t, const uint8_t id[NT_DHT_ID_LEN]);

/* XOR metric: <0 if a is closer to target than b, 0 if equal, >0 otherwise. */
int nt_dht_id_closer(const uint8_t target[NT_DHT_ID_LEN], const uint8_t a[NT_DHT_ID_LEN],
		     const uint8_t b[NT_DHT_ID_LEN]);
/* Number of leading bits a and b share (160 if equal). */
unsigned int nt_dht_id_common_bits(const uint8_t a[NT_DHT_ID_LEN], const uint8_t b[NT_DHT_ID_LEN]);

/* CRC-32C (Castagnoli), as BEP 42 uses. */
uint32_t nt_dht_crc32c(const uint8_t *p, size_t len);
/*
 * BEP 42 node ID for external address ip: the first 21 bits come from
 * crc32c((ip & mask) | r << 29 or 5), r = rnd[19] & 7; the last byte is rnd[19]; the
 * rest are rnd. false if ip is neither IPv4 nor IPv6.
 */
bool nt_dht_id_bep42(uint8_t id[NT_DHT_ID_LEN], const union nt_sockaddr *ip,
		     const uint8_t rnd[NT_DHT_ID_LEN]);
/* Whether id is a valid BEP 42 ID for ip. */
bool nt_dht_id_is_bep42(const uint8_t id[NT_DHT_ID_LEN], const union nt_sockaddr *ip);

#endif
