/* SPDX-License-Identifier: MIT */
/*
 * Ledger anti-entropy (DESIGN §7), sans-IO: digests, range hashes, summaries, wants, entries and
 * pushes between members, carried by the integrator as encrypted control payloads.
 * The engine is fed messages and the wall clock (unix ms, the ledger's clock), sends
 * through a callback and says when it wants to be called next. Messages are specified
 * in docs/ledger.md.
 */
#ifndef NT_GOSSIP_H
#define NT_GOSSIP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ledger/gossip_types.h"
#include "ledger/ledger.h"

struct nt_gossip;

/* 0, -EINVAL (cfg, or max_msg too small for the ledger) or -ENOMEM. Does not own l. */
int nt_gossip_new(struct nt_gossip **out, struct nt_ledger *l, const struct nt_gossip_cfg *cfg);
void nt_gossip_free(struct nt_gossip *g);

/*
 * A session to a member is up: it joins the partners of the digest rounds, and one digest
 * goes to it on the next tick. 0, -EEXIST, -ENOSPC.
 */
int nt_gossip_peer_add(struct nt_gossip *g, uint64_t peer);
void nt_gossip_peer_remove(struct nt_gossip *g, uint64_t peer);
/*
 * Whether we know what the peer holds: its digest matched ours, or its summary came at or
 * before `before` (unix ms; what we lacked of it has been asked for since).
 */
bool nt_gossip_peer_has_summarized(const struct nt_gossip *g, uint64_t peer, uint64_t before);
/* Whether the peer's last digest matched our state. */
bool nt_gossip_peer_is_synced(const struct nt_gossip *g, uint64_t peer);

/* One message from a peer. 0, -ENOENT (unknown peer) or -EBADMSG. */
int nt_gossip_input(struct nt_gossip *g, uint64_t peer, const uint8_t *buf, size_t len,
		    uint64_t now_ms);
/*
 * Sends the digest of a due round (to one partner, round-robin) and to new peers; returns
 * the next deadline (unix ms). Also rotates expired entries.
 */
uint64_t nt_gossip_tick(struct nt_gossip *g, uint64_t now_ms);
/*
 * When the engine wants nt_gossip_tick next (unix ms; 0: at once). Input, a new peer and a
 * local change can bring it forward (something differs: rounds fall back to 5 s), so the
 * integrator reads it again after them.
 */
uint64_t nt_gossip_deadline(const struct nt_gossip *g);
/* One of our entries changed: push it to every peer; digest rounds fall back to the shortest. */
void nt_gossip_on_local_change(struct nt_gossip *g, const struct nt_ledger_entry *e,
			       uint64_t now_ms);
void nt_gossip_stats_get(const struct nt_gossip *g, struct nt_gossip_stats *out);

#endif
