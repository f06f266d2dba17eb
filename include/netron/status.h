/* SPDX-License-Identifier: MIT */
/*
 * Read-only snapshots of a node's state: what the API serialises and what an embedding
 * program reads. Plain data, no pointers into the daemon.
 */
#ifndef NT_STATUS_H
#define NT_STATUS_H

#include <stdbool.h>
#include <stdint.h>

#include "netron/options.h"
#include "netron/types.h"

#ifdef __cplusplus
extern "C" {
#endif

enum nt_path {
	NT_PATH_NONE = 0,
	NT_PATH_DIRECT,
	NT_PATH_LAN,
	NT_PATH_RELAYED,
};

struct nt_peer_status {
	nt_node_id id;
	char id_short[NT_NODE_ID_SHORT_LEN + 1];
	char endpoint[64]; /* "192.0.2.1:51830", "" when none */
	enum nt_path path;
	nt_node_id relay_via; /* with NT_PATH_RELAYED */
	struct nt_cidr addresses[NT_MAX_ADDRESSES];
	unsigned int n_addresses;
	bool connected; /* a usable session exists */
	uint64_t rx_bytes, tx_bytes; /* inner payload bytes */
	uint64_t rx_packets, tx_packets;
	uint64_t last_handshake_unix_ms; /* 0 = never */
	uint64_t session_age_ms;
	uint32_t rtt_ms; /* 0 = unknown; rounded up (a LAN member shows 1) */
	uint32_t rtt_us; /* the same in microseconds: of the latest handshake, either side */
	uint32_t handshakes; /* completed */
};

/* What the DNS server (--dns) did with each query: /metrics' netron_dns_answers_total. */
enum nt_dns_result {
	NT_DNS_RESULT_ANSWER, /* a member's name, an ID name, a PTR, the SOA */
	NT_DNS_RESULT_RECORD, /* a record of bucket "dns" (POST /api/dns) */
	NT_DNS_RESULT_NXDOMAIN,
	NT_DNS_RESULT_NODATA,
	NT_DNS_RESULT_FORMERR,
	NT_DNS_RESULT_NOTIMP,
	NT_DNS_RESULT_FORWARDED, /* the upstream resolver's answer, passed on */
	NT_DNS_RESULT_CACHED, /* an upstream answer from the cache */
	NT_DNS_RESULT_SERVFAIL, /* no upstream answered, or too many queries outstanding */
	NT_DNS_RESULT_RATELIMITED, /* dropped unanswered: the source was over its rate */
	NT_DNS_RESULT_MAX
};

struct nt_dns_status {
	bool enabled;
	char listen[NT_HOSTPORT_MAX];
	char domain[130];
	uint64_t queries_udp, queries_tcp;
	uint64_t results[NT_DNS_RESULT_MAX];
	unsigned int members, records; /* names and "dns" records in the zone */
	unsigned int upstreams, pending, cached; /* forwarding: resolvers, in flight, cache entries */
};

struct nt_status {
	nt_node_id id;
	char id_short[NT_NODE_ID_SHORT_LEN + 1];
	char fingerprint[17];
	char ifname[NT_IFNAME_MAX];
	struct nt_cidr addresses[NT_MAX_ADDRESSES];
	unsigned int n_addresses;
	uint16_t listen_port;
	char reflexive[64]; /* our address as others see it, "" when unknown */
	uint64_t uptime_ms;
	uint64_t handshakes_ok, handshakes_failed;
	uint64_t rx_bytes, tx_bytes;
	uint64_t drops[32]; /* by nt_drop_reason (src/daemon.h), the unused rest 0 */
	unsigned int n_peers;
	struct nt_peer_status *peers; /* n_peers entries */
	/* The ledger: the state every member agrees on, and our claims that lost. */
	char ledger_state[65]; /* hex of the state hash; "" without a ledger */
	uint32_t ledger_entries, ledger_capacity;
	uint64_t ledger_refused; /* entries refused because the store was full */
	struct nt_cidr conflicts[NT_MAX_ADDRESSES]; /* our addresses held by an earlier claim */
	unsigned int n_conflicts;
	bool dhcp_pending; /* --dhcp and no address bound yet */
	/* Control-plane traffic, UDP payload bytes: what discovery and agreement cost at idle. */
	uint64_t dht_tx_bytes, dht_rx_bytes;
	uint64_t mdns_tx_bytes, mdns_rx_bytes;
	uint64_t gossip_tx_bytes, gossip_rx_bytes; /* whole encrypted frames */
	/* The data path's offloads: what the kernel accepted, and how much they carried. */
	struct nt_offload_status {
		bool tun_vnet; /* the TUN exchanges virtio headers */
		bool tun_tso, tun_uso; /* it hands over TCP / UDP superpackets */
		bool udp_gso, udp_gro; /* the socket sends GSO runs / receives GRO bundles */
		uint64_t tun_superpackets, tun_segments; /* read, and the packets cut from them */
		uint64_t udp_gso_sends, udp_gso_fallbacks; /* runs sent as one; refused and split */
		uint64_t udp_gro_receives, udp_gro_frames; /* bundles received, frames in them */
		uint64_t tun_coalesced_writes, tun_coalesced_packets; /* superpackets written, packets in them */
		uint64_t tx_paused; /* times the socket was full and the TUN was left unread until it drained */
	} offload;
	/* The data-plane threads (--workers), the event loop's own first. */
	unsigned int n_workers;
	struct nt_worker_status {
		uint64_t tx_packets, rx_packets; /* read from / written to its TUN queue */
		uint64_t handoffs_lost; /* work for the loop dropped because it was behind */
		uint64_t waits; /* times the thread waited for the loop (a member's handshake) */
	} workers[NT_MAX_WORKERS];
	struct nt_dns_status dns;
	/*
	 * Where the memory goes, in bytes (netron_memory_bytes). The first four are allocated
	 * memory and do not overlap (their sum is what malloc holds for us); an allocation whose
	 * pages were never touched counts whole, so they can exceed what is resident.
	 */
	struct nt_memory_status {
		uint64_t heap; /* malloc'ed memory not counted in the three below */
		uint64_t packet_buffers; /* receive/send/TUN buffers, worker rings, staged packets */
		uint64_t ledger; /* the ledger's store, allocated at start */
		uint64_t tables; /* peers, session index, routes */
		uint64_t libraries; /* resident pages of files: our code and the libraries' */
		uint64_t resident; /* the whole resident set (VmRSS) */
	} memory;
	/* Subnet routes (docs/routes.md): every member's advertised prefixes, ours included. */
	unsigned int n_routes;
	struct nt_route_status {
		struct nt_cidr prefix;
		nt_node_id via; /* the member that forwards to it */
		char address[48]; /* that member's VPN address */
		bool chosen; /* the winner of its prefix (earliest claim); false: on standby */
		bool accepted; /* this node routes the prefix there (--accept-routes, --router) */
		bool ours; /* we advertise it */
	} *routes; /* n_routes entries */
};

void nt_status_free(struct nt_status *s);

#ifdef __cplusplus
}
#endif
#endif
