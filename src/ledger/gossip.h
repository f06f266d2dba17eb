/* SPDX-License-Identifier: MIT */
/*
 * Ledger anti-entropy (DESIGN §7), sans-IO: digests, summaries, wants, entries and
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

#include "ledger/ledger.h"

enum {
	NT_GOSSIP_VERSION = 1,
	NT_GOSSIP_HDR_LEN = 2, /* version, type */
	NT_GOSSIP_SUMMARY_ITEM = 20, /* id(8) version(8) hash prefix(4) */
};

enum nt_gossip_type {
	NT_GOSSIP_DIGEST = 1,
	NT_GOSSIP_SUMMARY = 2,
	NT_GOSSIP_WANT = 3,
	NT_GOSSIP_ENTRIES = 4, /* answers a want */
	NT_GOSSIP_PUSH = 5, /* unsolicited new entries; forwarded to a few other peers */
};

#define NT_GOSSIP_DEFAULT_MAX_PEERS 64
#define NT_GOSSIP_DEFAULT_MAX_MSG 1200
#define NT_GOSSIP_DEFAULT_DIGEST_MS 5000
#define NT_GOSSIP_DEFAULT_SUMMARY_MS 1000
#define NT_GOSSIP_DEFAULT_WANT_BUDGET 2048 /* entries served to one peer per second */
/* Ed25519 checks of one member's entries a second (~50 us each): a full sync of a few
 * thousand entries takes seconds, a flood of bad signatures costs a few percent of a core. */
#define NT_GOSSIP_DEFAULT_VERIFY_BUDGET 500
#define NT_GOSSIP_DEFAULT_FANOUT 4

/* Sends one message to a peer; buf is only valid during the call. Must not re-enter. */
typedef void nt_gossip_send_fn(void *ctx, uint64_t peer, const uint8_t *buf, size_t len);

struct nt_gossip_cfg {
	uint32_t max_peers; /* 0: default */
	size_t max_msg; /* bytes per message; must hold the ledger's largest entry + 6 */
	uint64_t digest_interval_ms; /* periodic digest to each peer */
	uint64_t summary_interval_ms; /* at most one summary per peer per interval */
	uint32_t want_budget; /* entries per peer per second answered to wants */
	uint32_t verify_budget; /* signature checks per peer per second (entries it sends) */
	uint32_t push_fanout; /* peers a received push is forwarded to */
	nt_gossip_send_fn *send;
	void *ctx;
};

struct nt_gossip_stats {
	uint64_t rx_msgs, rx_bad, rx_unknown_peer;
	uint64_t tx_msgs, tx_bytes;
	uint64_t digests_equal, digests_differ;
	uint64_t summaries_sent, wants_sent, entries_sent, pushes_forwarded;
	uint64_t want_throttled; /* ids not answered because of want_budget */
	uint64_t entries_rx[NT_LEDGER_VERDICT_MAX]; /* per ledger verdict */
};

struct nt_gossip;

/* 0, -EINVAL (cfg, or max_msg too small for the ledger) or -ENOMEM. Does not own l. */
int nt_gossip_new(struct nt_gossip **out, struct nt_ledger *l, const struct nt_gossip_cfg *cfg);
void nt_gossip_free(struct nt_gossip *g);

/* A session to a member is up; a digest goes out on the next tick. 0, -EEXIST, -ENOSPC. */
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
/* Sends due digests; returns the next deadline (unix ms). Also rotates expired entries. */
uint64_t nt_gossip_tick(struct nt_gossip *g, uint64_t now_ms);
/* One of our entries changed: push it to every peer and send a digest right away. */
void nt_gossip_on_local_change(struct nt_gossip *g, const struct nt_ledger_entry *e,
			       uint64_t now_ms);
void nt_gossip_stats_get(const struct nt_gossip *g, struct nt_gossip_stats *out);

#endif
