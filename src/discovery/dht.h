/* SPDX-License-Identifier: MIT */
/*
 * The BitTorrent Mainline DHT node (BEP 5, BEP 32 for IPv6, BEP 42 node IDs), sans-IO in
 * the shape of jech/dht: the caller feeds it every datagram that starts with 'd' and the
 * time, it sends through a callback and says when it next wants nt_dht_tick(). Netron
 * uses it to announce and look up the rendezvous info-hash (DESIGN §6); see docs/dht.md.
 * Call everything from one thread (the event loop).
 */
#ifndef NT_DHT_H
#define NT_DHT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "core/util.h"
#include "discovery/dht_types.h"

#ifdef __cplusplus
extern "C" {
#endif

struct nt_dht;

int nt_dht_new(struct nt_dht **out, const struct nt_dht_config *cfg);
void nt_dht_free(struct nt_dht *dht);

/* One datagram from `from` (v4-mapped IPv6 is treated as IPv4). Never logs per packet. */
void nt_dht_input(struct nt_dht *dht, const uint8_t *buf, size_t len,
		  const union nt_sockaddr *from, uint64_t now_ms);
/* Timeouts, lookups, table upkeep; returns when it wants to be called again (now_ms-based). */
uint64_t nt_dht_tick(struct nt_dht *dht, uint64_t now_ms);

/* Pings addr (bootstrap or a saved node); it joins the table once it answers. */
int nt_dht_add_node(struct nt_dht *dht, const union nt_sockaddr *addr, uint64_t now_ms);
/*
 * Looks up ih on every enabled family, then sends announce_peer (implied_port=1) to the
 * 8 closest nodes that gave a token. Peers found go to on_peers. Announcements expire
 * after 30 minutes on other nodes: call again at least every 15–25 minutes.
 * -EBUSY when max_searches lookups are already running.
 */
int nt_dht_announce(struct nt_dht *dht, const uint8_t ih[20], uint64_t now_ms);
/* The same lookup, without announcing. */
int nt_dht_search(struct nt_dht *dht, const uint8_t ih[20], uint64_t now_ms);

/*
 * Our external address as someone we trust saw it (STUN, the NAT module). Regenerates
 * the node ID per BEP 42 when the IP changes. The engine also learns it from the "ip"
 * key of answers (a majority of recent votes from distinct IPs).
 */
void nt_dht_set_external_addr(struct nt_dht *dht, const union nt_sockaddr *addr);
/* The learned or set external address of family af; false if none is known. */
bool nt_dht_get_external_addr(const struct nt_dht *dht, int af, union nt_sockaddr *out);
void nt_dht_get_id(const struct nt_dht *dht, uint8_t id[20]);

/* Counters, and node states as of the last input or tick. */
void nt_dht_get_stats(const struct nt_dht *dht, struct nt_dht_stats *st);
/* Up to max good nodes (IPv4 first) to save in the state dir: how many; reload with add_node. */
int nt_dht_export_nodes(const struct nt_dht *dht, union nt_sockaddr *out, size_t max);

#ifdef __cplusplus
}
#endif
#endif
