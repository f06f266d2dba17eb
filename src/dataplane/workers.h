/* SPDX-License-Identifier: MIT */
/*
 * Data-plane workers (DESIGN §9): with --workers N > 1, N - 1 threads each own one queue of
 * the multi-queue TUN, one UDP socket bound to the node's port (SO_REUSEPORT), an event loop
 * and their own packet buffers, and move packets between them. The event loop thread stays
 * worker 0: it runs the same packet paths on its own queue and socket and owns everything
 * else (handshakes, discovery, ledger, timers, the API).
 *
 * What a worker reads is a snapshot the loop publishes: routes, members (endpoint, the
 * keypair to send with) and the session index of every keypair, copied out of the loop's
 * tables and never changed once published. A worker takes the newest snapshot at the start
 * of every wake-up and says so; the loop frees an old snapshot, and keypairs the sessions
 * dropped, only once no worker can still hold them (a grace period, as RCU).
 *
 * Shared mutable state is small: a keypair's send counter (atomic) and replay window
 * (locked, session.c); per-member counters and times in the snapshot (atomics, folded into
 * the member by the loop); the workers' own counters (one writer each). Everything a worker
 * cannot finish alone goes to the loop through a per-worker ring: datagrams that are not
 * data frames or whose index it does not know, decrypted control messages, packets for a
 * member without a usable keypair or on a relay, and notes (first frame on a new keypair,
 * a member seen at a new address, a rekey due).
 *
 * Ordering: the kernel gives each TUN flow to one queue and each member's datagrams (one
 * address pair) to one socket, so a flow is never reordered by the workers; frames to one
 * member from several workers interleave their counters, which the receiver's replay window
 * (8128 counters) accepts.
 */
#ifndef NT_WORKERS_H
#define NT_WORKERS_H

#include <stdbool.h>
#include <stdint.h>

struct nt_daemon;
struct nt_keypair;
struct nt_peer;
struct nt_status;

/*
 * Opens the extra TUN queues and sockets and starts the threads (d->n_workers - 1 of them).
 * The TUN must be multi-queue and d->udp open with NT_UDP_REUSEPORT. 0 or -errno.
 */
int nt_workers_start(struct nt_daemon *d);
/* Stops and joins the threads, closes their queues and sockets. Safe when none started. */
void nt_workers_stop(struct nt_daemon *d);

/* The loop's tables changed: publish a new snapshot soon (coalesced). */
void nt_workers_changed(struct nt_daemon *d);
/* ...or now: a new keypair, whose frames may be on their way already. */
void nt_workers_publish(struct nt_daemon *d);
/*
 * Housekeeping from the loop's tick: publishes a snapshot when one is due, folds the
 * workers' counters into the members and the daemon's totals, frees what was retired.
 */
void nt_workers_tick(struct nt_daemon *d, uint64_t now);
/*
 * The loop's responder handshake in attempt slot `slot` waits for a FIN on session index
 * `index` (0: no longer): a worker waits for the loop only for such a FIN.
 */
void nt_workers_expect_fin(struct nt_daemon *d, unsigned int slot, uint32_t index);
/* The member is about to be freed: nothing of the loop's may point to it any more. */
void nt_workers_peer_gone(struct nt_daemon *d, struct nt_peer *p);
/* Session release hook: frees kp once no worker can hold it. */
void nt_workers_release_keypair(void *ctx, struct nt_keypair *kp);
/* Fills the per-worker part of a status (the loop's own counters are worker 0's). */
void nt_workers_status(struct nt_daemon *d, struct nt_status *st);

#endif
