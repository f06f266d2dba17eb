/* SPDX-License-Identifier: MIT */
/*
 * Data-plane workers (DESIGN §9): with --workers N > 1, N - 1 threads each own one queue of
 * the multi-queue TUN, one UDP socket bound to the node's port (SO_REUSEPORT), an event loop
 * and a packet engine of their own (engine.h: the same packet path as the loop's). The event
 * loop thread stays worker 0: it runs its engine on its own queue and socket and owns
 * everything else (handshakes, discovery, ledger, timers, the API).
 *
 * What a worker reads is a snapshot the loop publishes: routes, members (endpoint, the
 * keypair to send with) and the session index of every keypair, copied out of the loop's
 * tables and never changed once published. A worker takes the newest snapshot at the start
 * of every wake-up and says so; the loop frees an old snapshot, and keypairs the sessions
 * dropped, only once no worker can still hold them (a grace period, as RCU).
 *
 * Shared mutable state is small: a keypair's send counter (atomic) and replay window
 * (locked, session.c); per-member counters and times in the snapshot (atomics, folded into
 * the member by the loop); each engine's counters (one writer each). Everything a worker
 * cannot finish alone goes to the loop through a per-worker ring: datagrams that are not
 * data frames or whose index it does not know, decrypted control messages, packets for a
 * member without a usable keypair or on a relay, and notes (first frame on a new keypair,
 * a member seen at a new address, a rekey due). The loop hands them to its host's callbacks.
 *
 * Ordering: the kernel gives each TUN flow to one queue and each member's datagrams (one
 * address pair) to one socket, so a flow is never reordered by the workers; frames to one
 * member from several workers interleave their counters, which the receiver's replay window
 * (8128 counters) accepts.
 */
#ifndef NT_WORKERS_H
#define NT_WORKERS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/util.h"
#include "dataplane/peer.h"
#include "dataplane/route.h"
#include "dataplane/tun.h"
#include "dataplane/udp.h"

struct event_base;
struct nt_keypair;
struct nt_network_keys;
struct nt_options;
struct nt_status;
struct nt_workers;

/* The loop's tables and what it does with what workers hand over (all on the loop thread). */
struct nt_workers_host {
	struct nt_tun *tun; /* multi-queue: each worker opens a queue of it */
	struct nt_udp *udp; /* open with NT_UDP_REUSEPORT: each worker binds its port too */
	const char *listen_host;
	const struct nt_network_keys *keys; /* mac1, for the handshake messages a worker sees */
	size_t max_frame;
	struct nt_peer_table *peers; /* read when a snapshot is built (each peer learns its slot) */
	const struct nt_route *route;
	/* A datagram as received, for the loop to handle as its own. */
	void (*frame)(void *ctx, uint8_t *frame, size_t len, const union nt_sockaddr *from, uint64_t now);
	/* An authenticated frame on session index `index`: its inner type and control body. */
	void (*authentic)(void *ctx, uint32_t index, uint8_t inner, const uint8_t *body, size_t len,
			  bool malformed, const union nt_sockaddr *from, uint64_t now);
	/* A packet from a worker's TUN queue that it could not send. */
	void (*packet)(void *ctx, const uint8_t *pkt, size_t len, uint64_t now);
	/* The member with this node ID is due for a rekey. */
	void (*rekey)(void *ctx, const uint8_t id[32], uint64_t now);
	/* After a ring is drained: write what the loop coalesced from it (it may point into it). */
	void (*flush)(void *ctx);
	void *ctx;
};

/*
 * Opens n - 1 workers' queues and sockets and starts their threads (n > 1; with n <= 1 there
 * is nothing to start and *out is NULL). host is copied. 0 or -errno.
 */
int nt_workers_start(struct nt_workers **out, unsigned int n, const struct nt_workers_host *host,
		     struct event_base *base);
/* Stops and joins the threads, closes their queues and sockets, frees wk; accepts NULL. */
void nt_workers_stop(struct nt_workers *wk);

/* The loop's tables changed: publish a new snapshot soon (coalesced). */
void nt_workers_changed(struct nt_workers *wk);
/* ...or now: a new keypair, whose frames may be on their way already. */
void nt_workers_publish(struct nt_workers *wk);
/*
 * Housekeeping from the loop's tick: publishes a snapshot when one is due, folds the
 * workers' per-member counters into the members.
 */
void nt_workers_tick(struct nt_workers *wk, uint64_t now);
/* The member is about to be freed: nothing of the loop's may point to it any more. */
void nt_workers_peer_gone(struct nt_workers *wk, struct nt_peer *p);
/* Frees kp once no worker can hold it. */
void nt_workers_release_keypair(struct nt_workers *wk, struct nt_keypair *kp);
/*
 * The loop's responder handshake in attempt slot `slot` waits for a FIN on session index
 * `index` (0: no longer): a worker waits for the loop only for such a FIN.
 */
void nt_workers_expect_fin(struct nt_workers *wk, unsigned int slot, uint32_t index);
/* Adds the workers' counters to a status and fills their entries (1 .. n - 1). */
void nt_workers_status(struct nt_workers *wk, struct nt_status *st);

#endif
