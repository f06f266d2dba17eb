/* SPDX-License-Identifier: MIT */
/*
 * LAN discovery over Multicast DNS / DNS-SD (RFC 6762 / RFC 6763), sans-IO: the engine is fed
 * datagrams and the time, multicasts through a callback, and says when to call it next.
 * Each node is one instance "<tag>-<nodeid8>._netron._udp.local" of the service type
 * "_netron._udp.local"; an instance whose name starts with our network's tag is reported
 * as a candidate endpoint. Everything learned here is a hint the handshake verifies.
 */
#ifndef NT_MDNS_H
#define NT_MDNS_H

#include <netinet/in.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "netron/keys.h" /* NT_MDNS_TAG_LEN: the network tag, lowercase hex */
#include "core/util.h"

#ifdef __cplusplus
extern "C" {
#endif

#ifndef NT_MDNS_MAX_ADDRS
#define NT_MDNS_MAX_ADDRS 8 /* per family, announced as A / AAAA */
#endif

enum {
	NT_MDNS_PORT = 5353,
	NT_MDNS_ID_MIN = 8, /* hex characters of the node id used in names */
	NT_MDNS_ID_MAX = 16, /* hex characters of the node id put in TXT "id=" */
	NT_MDNS_PKT_MAX = 1400, /* fits one Ethernet frame with IPv6 and UDP headers */
};

/* Multicast buf to the mDNS group of family (AF_INET or AF_INET6). */
typedef void nt_mdns_send_fn(void *ctx, const uint8_t *buf, size_t len, int family);
/* A member of our network may be at endpoint; node_id_prefix is lowercase hex (8-16 chars). */
typedef void nt_mdns_peer_fn(void *ctx, const union nt_sockaddr *endpoint,
			     const char *node_id_prefix);

struct nt_mdns_config {
	const char *tag; /* NT_MDNS_TAG_LEN lowercase hex characters, derived from the token */
	const char *node_id; /* lowercase hex of our node id, at least NT_MDNS_ID_MIN chars */
	uint16_t port; /* our UDP port, put in the SRV record */
	bool ipv4, ipv6; /* families the integrator has a socket for; at least one */
	nt_mdns_send_fn *send;
	nt_mdns_peer_fn *on_peer;
	void *ctx; /* passed to send and on_peer */
};

struct nt_mdns;

/* Validates cfg (copies the strings) and allocates the engine. 0, -EINVAL or -ENOMEM. */
int nt_mdns_new(struct nt_mdns **out, const struct nt_mdns_config *cfg);
/* Accepts NULL. Sends nothing: call nt_mdns_stop first for a goodbye. */
void nt_mdns_free(struct nt_mdns *m);

/*
 * Sets the addresses announced as A / AAAA (the first NT_MDNS_MAX_ADDRS of each family are
 * kept). A change after start is announced again (RFC 6762 §8.4). 0 or -EINVAL.
 */
int nt_mdns_set_addresses(struct nt_mdns *m, const struct in_addr *v4, size_t n4,
			  const struct in6_addr *v6, size_t n6);

/*
 * Feeds one datagram received on the mDNS socket; from (not NULL) is its source, port 5353
 * (RFC 6762 §11; other ports are legacy unicast and ignored). Answers are queued: call
 * nt_mdns_tick afterwards and re-arm the timer with its deadline. on_peer is called from
 * here and must not call back into the engine. Malformed packets are counted and dropped.
 */
void nt_mdns_input(struct nt_mdns *m, const uint8_t *buf, size_t len,
		   const union nt_sockaddr *from, uint64_t now_ms);

/* Sends what is due (announcements, browse queries, answers); returns the next deadline
 * (absolute, in the same clock as now_ms), or UINT64_MAX once stopped. The first call starts. */
uint64_t nt_mdns_tick(struct nt_mdns *m, uint64_t now_ms);

/*
 * true (the default) while we have no session: browse every 1 s doubling to 60 s; false:
 * keep doubling up to 15 min. Switching back to fast browses at the next tick, and so does
 * a changed address list: call nt_mdns_tick after either, its deadline may have moved.
 */
void nt_mdns_set_fast(struct nt_mdns *m, bool fast);

/* Multicasts a goodbye (every record with TTL 0) on each family and goes quiet. */
void nt_mdns_stop(struct nt_mdns *m, uint64_t now_ms);

/* Counters for the status API and tests. */
struct nt_mdns_stats {
	uint64_t rx, rx_bad, rx_ignored, tx_announce, tx_query, tx_response, peers_reported;
};
void nt_mdns_get_stats(const struct nt_mdns *m, struct nt_mdns_stats *st);

#ifdef __cplusplus
}
#endif
#endif
