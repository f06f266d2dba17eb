/* SPDX-License-Identifier: MIT */
/*
 * What a DHT node keeps for others (BEP 5): the peers announced per info-hash, bounded
 * and expiring, and the announce tokens that guard it. Internal to the DHT engine
 * (dht.c); exposed for its unit tests.
 */
#ifndef NT_DHT_STORE_H
#define NT_DHT_STORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "discovery/dht_rpc.h"
#include "core/util.h"

#ifndef NT_DHT_SECRET_MS
#define NT_DHT_SECRET_MS (5 * 60 * 1000) /* token secret rotation */
#endif
#ifndef NT_DHT_PEER_TTL_MS
#define NT_DHT_PEER_TTL_MS (30 * 60 * 1000) /* stored peers expire after this */
#endif

enum {
	NT_DHT_TOKEN_LEN = 8,
	NT_DHT_SECRET_LEN = 32,
};

struct nt_dht_stored_peer {
	union nt_sockaddr addr;
	uint64_t seen_ms; /* last announce */
};

struct nt_dht_stored_hash {
	bool used;
	uint8_t ih[NT_DHT_ID_LEN];
	size_t n;
	struct nt_dht_stored_peer *peers; /* max_peers slots of the pool */
};

struct nt_dht_store {
	size_t max_hashes, max_peers;
	struct nt_dht_stored_hash *hashes;
	struct nt_dht_stored_peer *pool;
	uint8_t *secrets; /* sodium_malloc: current secret, then the previous one */
	uint64_t secret_ms; /* when the current secret was made */
};

/* Allocates everything; both token secrets start as `secrets` (2 x 32 bytes). */
int nt_dht_store_init(struct nt_dht_store *st, size_t max_hashes, size_t max_peers,
		      const uint8_t secrets[2 * NT_DHT_SECRET_LEN]);
/* Frees; the secrets are wiped. */
void nt_dht_store_uninit(struct nt_dht_store *st);

/* The current secret becomes the previous one; fresh is the new current one. */
void nt_dht_store_rotate(struct nt_dht_store *st, const uint8_t fresh[NT_DHT_SECRET_LEN],
			 uint64_t now_ms);
/* The token to give requester `from` (its IP, not its port) under the current secret. */
void nt_dht_store_token(const struct nt_dht_store *st, const union nt_sockaddr *from,
			uint8_t out[NT_DHT_TOKEN_LEN]);
/* Whether tok is the token of `from` under the current or the previous secret. */
bool nt_dht_store_token_ok(const struct nt_dht_store *st, const union nt_sockaddr *from,
			   const uint8_t *tok, size_t len);

/*
 * Stores or refreshes peer under ih; a full info-hash loses its oldest peer. false when
 * ih is new and every slot holds a live info-hash.
 */
bool nt_dht_store_add(struct nt_dht_store *st, const uint8_t ih[NT_DHT_ID_LEN],
		      const union nt_sockaddr *peer, uint64_t now_ms);
/*
 * Up to max live peers of ih in family af, into out, in stored order from slot `first`
 * (taken modulo the number stored, and wrapping): how many. Answers that start at a
 * random slot show different peers when not all fit.
 */
size_t nt_dht_store_get(const struct nt_dht_store *st, const uint8_t ih[NT_DHT_ID_LEN], int af,
			union nt_sockaddr *out, size_t max, size_t first, uint64_t now_ms);
void nt_dht_store_expire(struct nt_dht_store *st, uint64_t now_ms);
void nt_dht_store_count(const struct nt_dht_store *st, uint64_t now_ms, size_t *hashes,
			size_t *peers);

#endif
