/* SPDX-License-Identifier: MIT */
/*
 * One iterative Kademlia lookup (BEP 5 get_peers or find_node) as a pure state machine:
 * a list of the closest candidates seen so far, each new, in flight, answered or
 * failed. The engine (dht.c) asks it whom to query next, feeds it answers and
 * timeouts, and sends. Internal to the DHT engine; exposed for its unit tests.
 */
#ifndef NT_DHT_SEARCH_H
#define NT_DHT_SEARCH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "discovery/dht_rpc.h"
#include "discovery/dht_table.h"

#ifndef NT_DHT_ALPHA
#define NT_DHT_ALPHA 3 /* queries in flight per lookup */
#endif
#ifndef NT_DHT_SEARCH_NODES
#define NT_DHT_SEARCH_NODES 16 /* candidates a lookup keeps, nearest first */
#endif

enum nt_dht_search_kind {
	NT_DHT_SEARCH_FIND_NODE, /* fill the table (bootstrap, self lookup) */
	NT_DHT_SEARCH_GET_PEERS, /* look up an info-hash */
	NT_DHT_SEARCH_ANNOUNCE, /* look up, then announce_peer to the closest that gave tokens */
};

enum nt_dht_cand_state {
	NT_DHT_CAND_NEW,
	NT_DHT_CAND_INFLIGHT,
	NT_DHT_CAND_REPLIED,
	NT_DHT_CAND_FAILED,
};

struct nt_dht_cand {
	uint8_t id[NT_DHT_ID_LEN];
	union nt_sockaddr addr;
	uint8_t state; /* enum nt_dht_cand_state */
	uint8_t token_len; /* 0: it gave no token */
	uint8_t token[NT_KRPC_TOKEN_MAX];
};

struct nt_dht_search {
	bool active;
	enum nt_dht_search_kind kind;
	int af;
	uint8_t target[NT_DHT_ID_LEN];
	uint32_t gen; /* tells this lookup from an earlier one in the same slot */
	uint64_t started_ms;
	uint32_t queries; /* sent so far */
	uint32_t replies;
	size_t n;
	struct nt_dht_cand cand[NT_DHT_SEARCH_NODES];
};

void nt_dht_search_init(struct nt_dht_search *s, enum nt_dht_search_kind kind, int af,
			const uint8_t target[NT_DHT_ID_LEN], uint32_t gen, uint64_t now_ms);
/* Offers a candidate; kept if among the NT_DHT_SEARCH_NODES closest. false if not kept. */
bool nt_dht_search_add(struct nt_dht_search *s, const uint8_t id[NT_DHT_ID_LEN],
		       const union nt_sockaddr *addr);
/*
 * The next candidate to query, marked in flight, or NULL: at most NT_DHT_ALPHA in flight,
 * and only among the NT_DHT_K nearest candidates that have not failed.
 */
struct nt_dht_cand *nt_dht_search_next(struct nt_dht_search *s);
struct nt_dht_cand *nt_dht_search_find(struct nt_dht_search *s, const union nt_sockaddr *addr);
/* addr answered as id, with an announce token or none; re-ranked if its ID changed. */
void nt_dht_search_replied(struct nt_dht_search *s, const union nt_sockaddr *addr,
			   const uint8_t id[NT_DHT_ID_LEN], const uint8_t *token, size_t token_len);
void nt_dht_search_failed(struct nt_dht_search *s, const union nt_sockaddr *addr);
size_t nt_dht_search_inflight(const struct nt_dht_search *s);
/* Done when the NT_DHT_K nearest candidates that did not fail have all answered. */
bool nt_dht_search_is_done(const struct nt_dht_search *s);

#endif
