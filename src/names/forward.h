/* SPDX-License-Identifier: MIT */
/*
 * Forwarding what the zone does not hold (docs/dns.md): a bounded table of queries in flight
 * to the upstream resolvers and a bounded cache of their answers. Sans-IO: it sends and
 * answers through callbacks and is given the time. Fixed memory: NT_FWD_PENDING queries in
 * flight (past that the client gets SERVFAIL), NT_FWD_CACHE answers of at most NT_FWD_MSG_MAX
 * bytes cached for the smallest TTL in them (at most NT_FWD_TTL_MAX s), their TTLs aged
 * when served. An upstream answer is taken only if its id (random per query), its question
 * and the address it came from all match a query in flight.
 */
#ifndef NT_FORWARD_H
#define NT_FORWARD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/util.h"
#include "discovery/dns.h"

#ifndef NT_FWD_PENDING
#define NT_FWD_PENDING 256
#endif
#ifndef NT_FWD_CACHE
#define NT_FWD_CACHE 256 /* entries, in sets of NT_FWD_WAYS */
#endif
#ifndef NT_FWD_TIMEOUT_MS
#define NT_FWD_TIMEOUT_MS 2000 /* per upstream try */
#endif

enum {
	NT_FWD_WAYS = 4,
	NT_FWD_MAX_UPSTREAMS = 4,
	NT_FWD_QUERY_MAX = 512, /* a query we forward; longer ones get FORMERR... or SERVFAIL */
	NT_FWD_MSG_MAX = 1232, /* an answer we cache (the EDNS size of DNS Flag Day 2020) */
	NT_FWD_TTLS = 24, /* records of a cached answer whose TTLs are aged */
	NT_FWD_TTL_MAX = 3600,
};

enum nt_fwd_verdict {
	NT_FWD_CACHED, /* answered from the cache */
	NT_FWD_SENT, /* sent upstream; the answer comes through reply() */
	NT_FWD_FULL, /* too many in flight: the caller answers SERVFAIL */
	NT_FWD_NONE, /* no upstream resolver: the caller answers SERVFAIL */
};

/* Sends buf to an upstream resolver. */
typedef void nt_fwd_send_fn(void *ctx, const union nt_sockaddr *to, const uint8_t *buf, size_t len);
/* Answers a client: conn is 0 for UDP (client is its address), else the caller's TCP token. */
typedef void nt_fwd_reply_fn(void *ctx, const union nt_sockaddr *client, uint32_t conn,
			     const uint8_t *buf, size_t len, bool servfail);

struct nt_fwd_pending {
	bool used;
	uint8_t upstream, tries;
	uint16_t up_id, client_id;
	uint32_t conn;
	uint64_t deadline_ms;
	union nt_sockaddr client;
	struct nt_dns_name qname;
	uint16_t qtype, qclass;
	uint16_t qlen;
	uint8_t query[NT_FWD_QUERY_MAX]; /* as the client sent it, for the next upstream */
};

struct nt_fwd_entry {
	uint64_t hash; /* 0: free */
	uint64_t stored_ms, expires_ms;
	struct nt_dns_name qname;
	uint16_t qtype, qclass;
	uint16_t len, nttl;
	uint16_t ttl_off[NT_FWD_TTLS];
	uint8_t msg[NT_FWD_MSG_MAX];
};

struct nt_fwd {
	union nt_sockaddr upstreams[NT_FWD_MAX_UPSTREAMS];
	unsigned int n_upstreams, next_upstream;
	nt_fwd_send_fn *send;
	nt_fwd_reply_fn *reply;
	void *ctx;
	uint8_t hash_key[16];
	unsigned int n_pending, n_cached;
	uint64_t timeouts, mismatched; /* upstream tries that timed out; answers matching nothing */
	struct nt_fwd_pending pending[NT_FWD_PENDING];
	struct nt_fwd_entry cache[NT_FWD_CACHE];
	struct nt_dns_msg msg; /* an upstream answer being matched */
	uint8_t out[NT_FWD_MSG_MAX > 4096 ? NT_FWD_MSG_MAX : 4096];
};

/* Heap: the struct is large. 0 or -ENOMEM. */
int nt_fwd_new(struct nt_fwd **out, const union nt_sockaddr *upstreams, unsigned int n,
	       nt_fwd_send_fn *send, nt_fwd_reply_fn *reply, void *ctx);
void nt_fwd_free(struct nt_fwd *f);
/*
 * A query the zone did not answer: q is its (only) question, buf its bytes. Answers from the
 * cache (through reply), or sends it upstream under a fresh random id.
 */
enum nt_fwd_verdict nt_fwd_query(struct nt_fwd *f, const struct nt_dns_question *q, const uint8_t *buf,
				 size_t len, const union nt_sockaddr *client, uint32_t conn, uint64_t now_ms);
/* A datagram on the upstream socket from `from`: true if it answered a query in flight. */
bool nt_fwd_on_response(struct nt_fwd *f, const uint8_t *buf, size_t len, const union nt_sockaddr *from,
			uint64_t now_ms);
/* Tries the next upstream for queries that timed out, or answers SERVFAIL. */
void nt_fwd_tick(struct nt_fwd *f, uint64_t now_ms);
/* A TCP client went away: its queries in flight are forgotten. */
void nt_fwd_forget_conn(struct nt_fwd *f, uint32_t conn);

#endif
