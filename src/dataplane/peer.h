/* SPDX-License-Identifier: MIT */
/*
 * Members we have (or try to have) a session with, and the index table that maps the
 * 32-bit session index carried by every frame to the keypair or handshake it belongs to.
 * A peer embeds everything it owns: its session (previous/current/next keypairs), its
 * VPN addresses, its counters and a small queue of packets waiting for a handshake.
 */
#ifndef NT_PEER_H
#define NT_PEER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "netron/options.h"
#include "netron/status.h"
#include "netron/types.h"
#include "proto/session.h"
#include "core/util.h"

#ifndef NT_MAX_PEERS
#define NT_MAX_PEERS 16384 /* default size of the peer table (--max-peers) */
#endif
#ifndef NT_INDEX_SLOTS_MIN
#define NT_INDEX_SLOTS_MIN 256 /* a power of two: the index table's size at start */
#endif
#ifndef NT_MAX_ATTEMPTS
#define NT_MAX_ATTEMPTS 64 /* handshakes in flight, both roles */
#endif
#ifndef NT_PEER_DEAD_MS
/* Two missed persistent keepalives and a handshake timeout: the member is gone. */
#define NT_PEER_DEAD_MS (2 * NT_PERSISTENT_KEEPALIVE_MS + NT_REKEY_TIMEOUT_MS)
#endif
#ifndef NT_STAGED_MAX
#define NT_STAGED_MAX 16 /* packets kept per peer while its handshake runs */
#endif

struct nt_peer {
	nt_node_id id;
	char id_short[NT_NODE_ID_SHORT_LEN + 1];
	union nt_sockaddr endpoint; /* where we send: its address, proven by a round trip if ep_proven */
	bool has_endpoint;
	bool ep_proven; /* it answered us there (handshake or PATH_RESPONSE): gossip may go there */
	/* A new source address, asked with PATH_CHALLENGE before anything else goes there. */
	union nt_sockaddr probe_ep;
	uint8_t probe_nonce[8];
	uint64_t probe_sent_ms; /* monotonic; 0 = no challenge out */
	uint64_t path_replies_ms; /* token bucket of our PATH_RESPONSEs, in ms of credit */
	uint64_t path_refill_ms;
	enum nt_path path;
	struct nt_session session;
	struct nt_cidr addresses[NT_MAX_ADDRESSES]; /* what it announced it owns */
	unsigned int n_addresses;
	uint16_t listen_port; /* its announced UDP port */
	uint8_t last_timestamp[12]; /* greatest TAI64N of its handshakes */
	void *handshake; /* our initiation in progress (daemon's attempt), or NULL */
	uint64_t handshake_due_ms; /* when to (re)initiate; 0 = not wanted */
	uint64_t last_handshake_wall_ms;
	uint64_t connected_since_ms; /* monotonic; 0 = no session */
	uint64_t created_ms; /* monotonic */
	uint64_t announce_due_ms; /* next ANNOUNCE/PEX to it */
	uint64_t rx_bytes, tx_bytes, rx_packets, tx_packets;
	uint32_t handshakes;
	uint32_t rtt_us; /* round trip of the latest handshake, 0 = unknown */
	bool in_gossip; /* registered with the gossip engine */
	bool dead; /* forgotten: freed at the end of the tick, invisible to nt_peer_lookup */
	bool neighbor; /* its session is kept alive with no traffic (tunnel/neighbors.h) */
	bool told_keep; /* our last ANNOUNCE to it said we keep the session (it is our neighbor) */
	bool keeps_us; /* its last ANNOUNCE in this session said it keeps the session open */
	uint64_t announce_sum, pex_sum; /* what we last sent it in this session (0 = nothing) */
	uint64_t last_data_ms; /* monotonic: an IP packet went either way (0 = never) */
	uint64_t data_mark; /* rx_packets + tx_packets when last_data_ms was set */
	struct nt_peer *via; /* the member relaying our session, NULL on a direct path */
	uint64_t last_direct_rx_ms; /* monotonic; 0 = never */
	uint64_t relay_tokens_ms; /* as a relay for this member: token bucket, in ms of credit */
	uint64_t relay_refill_ms;
	char name[64]; /* its hostname, from ANNOUNCE */
	uint64_t ledger_hints_ms; /* monotonic: when its claimed endpoints were last read */
	/* Packets read from the TUN before a keypair existed (a ring, allocated on first use). */
	uint8_t *staged;
	size_t staged_cap; /* bytes per slot */
	uint16_t staged_len[NT_STAGED_MAX];
	unsigned int staged_head, staged_count;
	unsigned int snap_slot; /* its place in the workers' snapshot (workers.c) */
	unsigned int lane; /* the worker its frames are steered to, every session alike */
};

/*
 * The members, in no order (peers[0..count)), and a hash of them by node ID (keyed, so that
 * IDs ground to collide cannot make lookups slow). Sized at start; nothing grows after.
 */
struct nt_peer_table {
	struct nt_peer **peers;
	unsigned int count, cap;
	struct nt_peer **by_id; /* open addressing, mask + 1 slots */
	uint32_t mask;
	uint8_t key[16];
};

/* A table for cap members (0: NT_MAX_PEERS). 0 or -ENOMEM. */
int nt_peer_table_init(struct nt_peer_table *t, unsigned int cap);
/* Frees every peer and the table. */
void nt_peer_table_free(struct nt_peer_table *t);
/* Bytes allocated for the table and its peers (staged packets not included). */
size_t nt_peer_table_bytes(const struct nt_peer_table *t);
/* Bytes allocated for packets staged while handshakes run. */
size_t nt_peer_table_staged_bytes(const struct nt_peer_table *t);

/* Creates a peer for id (staged slots of slot_size bytes). NULL when full or out of memory. */
struct nt_peer *nt_peer_new(struct nt_peer_table *t, const uint8_t id[32], size_t slot_size,
			    nt_keypair_drop_fn *on_drop, void *drop_ctx);
/* The live peer of a node ID, or NULL (a dead one too: see nt_peer_lookup_any). */
struct nt_peer *nt_peer_lookup(const struct nt_peer_table *t, const uint8_t id[32]);
/* The peer of a node ID, dead or alive, or NULL. */
struct nt_peer *nt_peer_lookup_any(const struct nt_peer_table *t, const uint8_t id[32]);
/* Unlinks and frees (session keypairs dropped through on_drop first). */
void nt_peer_remove(struct nt_peer_table *t, struct nt_peer *p);

/* Queues a copy of an IP packet; the oldest is dropped when full. */
void nt_peer_stage(struct nt_peer *p, const uint8_t *pkt, size_t len);

/* The index table. */
enum nt_index_kind {
	NT_INDEX_FREE = 0,
	NT_INDEX_KEYPAIR,
	NT_INDEX_HANDSHAKE,
};

struct nt_index_slot {
	uint32_t index;
	uint8_t kind;
	void *ptr;
};

/*
 * Open addressing, at most 3/4 full. It starts small and doubles when it fills, up to a
 * size fixed at start that holds every index the peer table can need (three keypairs per
 * member and NT_MAX_ATTEMPTS handshakes): no cap below --max-peers, and a router with a few
 * sessions pays a few KiB, not the table for thousands.
 */
struct nt_index_table {
	struct nt_index_slot *slots; /* mask + 1 */
	uint32_t mask;
	uint32_t max_slots; /* the size it may grow to */
	unsigned int count;
};

/* A table for the indices of max_peers members. 0 or -ENOMEM. */
int nt_index_table_init(struct nt_index_table *t, unsigned int max_peers);
void nt_index_table_uninit(struct nt_index_table *t);
/* Bytes allocated for it. */
size_t nt_index_table_bytes(const struct nt_index_table *t);

/*
 * A new random index for ptr, not in use. With lanes > 1 its low byte modulo lanes is lane:
 * the socket (data-plane worker) the kernel steers frames carrying it to (nt_udp_steer).
 * 0, -ENOSPC (every index the configured capacity allows is taken) or -ENOMEM.
 */
int nt_index_add(struct nt_index_table *t, enum nt_index_kind kind, void *ptr, unsigned int lanes,
		 unsigned int lane, uint32_t *out);
void *nt_index_lookup(const struct nt_index_table *t, uint32_t index, enum nt_index_kind kind);
void nt_index_remove(struct nt_index_table *t, uint32_t index);
/* Rebinds a live index (a handshake's index becomes its keypair's); false if absent. */
bool nt_index_rebind(struct nt_index_table *t, uint32_t index, enum nt_index_kind kind, void *ptr);

#endif
