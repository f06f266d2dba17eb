/* SPDX-License-Identifier: MIT */
/*
 * Private to the DHT engine: struct nt_dht (the routing tables, our queries in flight,
 * the lookups, the external address votes, the buffers of the message being handled),
 * and the functions of dht.c that encode and send messages, which the engine's other
 * files (dht_answer.c, dht_extaddr.c) share with it. Only those three files include it;
 * to every other module struct nt_dht is the opaque type of dht.h.
 */
#ifndef NT_DHT_IMPL_H
#define NT_DHT_IMPL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "core/log.h"
#include "core/srclimit.h"
#include "core/util.h"
#include "discovery/dht_rpc.h"
#include "discovery/dht_search.h"
#include "discovery/dht_store.h"
#include "discovery/dht_table.h"
#include "discovery/dht_types.h"

enum {
	TID_LEN = 4,
	VOTES = 8, /* external address votes kept per family */
	VOTES_MIN = 3, /* agreeing votes needed, and a strict majority of those kept */
	PINGS_PER_ROUND = 2,
	VALUES4_MAX = 50, /* peers per get_peers answer, so it fits in one datagram */
	VALUES6_MAX = 25,
	SENDBUF = 1500,
};

struct pending {
	bool used;
	uint8_t method; /* enum nt_krpc_method */
	uint8_t tid[TID_LEN];
	union nt_sockaddr to;
	uint64_t sent_ms;
	int search; /* index in searches[] (see search_at), -1 for none */
	uint32_t gen;
};

struct vote {
	union nt_sockaddr voter; /* the responder, port ignored */
	union nt_sockaddr seen; /* what it says our address is */
	bool used;
};

struct family {
	bool enabled;
	int af;
	struct nt_dht_table table;
	struct nt_dht_search self_search; /* find_node of our own ID, to fill the table */
	uint64_t self_search_ms; /* when the last one started; 0 never */
	/*
	 * While the table is thin: the gap to the next self lookup, doubled by each that ends
	 * with no more good nodes than the one before (a small network has no more to find),
	 * back to NT_DHT_SELF_LOOKUP_MS when one finds more.
	 */
	uint64_t self_gap_ms;
	size_t self_good; /* good nodes when the last self lookup started */
	bool has_ext;
	union nt_sockaddr ext;
	struct vote votes[VOTES];
	size_t vote_next;
};

struct nt_dht {
	struct nt_dht_config cfg; /* defaults filled in */
	uint8_t id[NT_DHT_ID_LEN];
	struct family fam[2]; /* IPv4, IPv6 */
	struct pending *pending;
	struct nt_dht_search *searches; /* cfg.max_searches */
	uint32_t search_gen;
	struct nt_dht_store store; /* peers announced to us, and the tokens for it */
	struct nt_srclimit limit; /* answers per source and in all */
	/*
	 * While a query is handled: its source, and how many more bytes its size allows us
	 * to send to that IP (NT_SRCLIMIT_ANSWER_FACTOR times the query).
	 */
	bool in_query;
	union nt_sockaddr in_from;
	size_t in_budget;
	uint64_t next_maint_ms;
	uint64_t now_ms; /* latest time seen */
	struct nt_dht_stats st;
	struct nt_krpc_msg in; /* decoded input */
	struct nt_krpc_msg out; /* message being encoded */
	uint8_t nodes4[NT_DHT_K * NT_KRPC_NODE4_LEN];
	uint8_t nodes6[NT_DHT_K * NT_KRPC_NODE6_LEN];
	uint8_t sendbuf[SENDBUF];
	struct nt_ratelimit rl_malformed, rl_unsolicited, rl_nospace, rl_limit; /* log throttles */
};

/* cfg.rand: len random bytes into buf. */
void nt_dht_rand_bytes(struct nt_dht *dht, void *buf, size_t len);
/* The table of family af, or NULL when it is not enabled. */
struct family *nt_dht_family_of(struct nt_dht *dht, int af);
/* Whether a and b have the same family and IP, whatever their ports. */
bool nt_dht_same_ip(const union nt_sockaddr *a, const union nt_sockaddr *b);
/* Starts dht->out as a message of this type from us (our version and ID). */
void nt_dht_out_reset(struct nt_dht *dht, enum nt_krpc_type type);
/* Encodes dht->out into sendbuf for to; -ENOBUFS when over the budget of the query handled. */
ssize_t nt_dht_out_encode(struct nt_dht *dht, const union nt_sockaddr *to);
/* Encodes and sends dht->out; false when it could not (counted). */
bool nt_dht_send_msg(struct nt_dht *dht, const union nt_sockaddr *to);
/* Sends a query of ours and records it as pending (search: its lookup, -1 for none). */
int nt_dht_send_query(struct nt_dht *dht, enum nt_krpc_method method, const union nt_sockaddr *to,
		      const uint8_t target[NT_DHT_ID_LEN], int search, const uint8_t *token,
		      size_t token_len, uint64_t now_ms);

#endif
