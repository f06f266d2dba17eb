/* SPDX-License-Identifier: MIT */
/*
 * What the workers read instead of the loop's tables (workers.h): an immutable copy of the
 * members (endpoint, send keypair, counters the workers add to), their keypairs sorted by
 * session index, and the routes sorted by address, built by the loop and published whole.
 * Workers look things up in it without a lock; the loop folds their counters back into the
 * peers when it retires one.
 */
#ifndef NT_SNAPSHOT_H
#define NT_SNAPSHOT_H

#include <stdbool.h>
#include <stdint.h>

#include "core/util.h"
#include "dataplane/peer.h"
#include "dataplane/route.h"

/* Which of its session's keypairs a snapshot key is. */
enum { NT_SNAP_PREVIOUS, NT_SNAP_CURRENT, NT_SNAP_NEXT };

struct nt_snap_peer {
	struct nt_peer *peer; /* the loop's, for folding; NULL once forgotten; workers never read it */
	uint8_t id[32];
	union nt_sockaddr endpoint;
	bool direct; /* an endpoint and no relay: workers may send */
	struct nt_keypair *send_kp; /* the session's current keypair, NULL: hand packets over */
	/* Written by workers, taken by the loop. */
	uint64_t tx_bytes, tx_packets, rx_bytes, rx_packets;
	uint64_t last_tx_ms, last_rx_ms;
	uint8_t handshake_asked; /* one request per snapshot is enough */
};

struct nt_snap_key {
	uint32_t index;
	uint16_t peer;
	uint8_t role;
	struct nt_keypair *kp;
};

struct nt_snap_route {
	uint8_t family;
	uint8_t plen;
	uint8_t addr[16]; /* masked to plen */
	uint16_t peer;
};

struct nt_snapshot {
	uint64_t gen;
	unsigned int npeers, nkeys, nroutes;
	struct nt_snap_peer *peers;
	struct nt_snap_key *keys; /* by index */
	struct nt_snap_route *routes; /* by family, prefix length, then address */
	/* The route table's shorter-than-host lengths in use, longest first (route.h). */
	uint8_t lens[2][128];
	unsigned int n_lens[2];
};

/* A snapshot of peers and route as of now (generation gen), or NULL without memory. Free with free(). */
struct nt_snapshot *nt_snapshot_build(struct nt_peer_table *peers, const struct nt_route *route,
				      uint64_t gen, uint64_t now);
/* The keypair entry of a session index, or NULL. */
const struct nt_snap_key *nt_snapshot_find_key(const struct nt_snapshot *s, uint32_t index);
/* The member (its slot in s->peers) owning the longest prefix holding an address, or -1. */
int nt_snapshot_find_route(const struct nt_snapshot *s, int family, const uint8_t *addr);
/* Adds what workers counted in s to its peers (those not forgotten since). */
void nt_snapshot_fold(struct nt_snapshot *s);

#endif
