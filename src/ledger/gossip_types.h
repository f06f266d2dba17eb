/* SPDX-License-Identifier: MIT */
/*
 * The gossip engine's wire constants, configuration and counters (gossip.h is its
 * interface): apart, so that the engine's private header (gossip_impl.h) can embed them
 * without including gossip.h.
 */
#ifndef NT_GOSSIP_TYPES_H
#define NT_GOSSIP_TYPES_H

#include <stddef.h>
#include <stdint.h>

#include "ledger/ledger_entry.h"

enum {
	NT_GOSSIP_VERSION = 2,
	NT_GOSSIP_HDR_LEN = 2, /* version, type */
	NT_GOSSIP_SUMMARY_ITEM = 20, /* id(8) version(8) hash prefix(4) */
	NT_GOSSIP_RANGE_HDR = 9, /* level(1) prefix(8): which range of the id space */
	NT_GOSSIP_SPLIT = 16, /* sub-ranges per range: one hex digit of the id per level */
	NT_GOSSIP_RANGE_ITEM = 12, /* count(4) hash(8) of one sub-range */
	NT_GOSSIP_LEVELS = 16, /* a range of level 16 is one id */
	/* A range holding at most this many entries is listed (SUMMARY), not split further. */
	NT_GOSSIP_LEAF = 32,
};

enum nt_gossip_type {
	NT_GOSSIP_DIGEST = 1,
	NT_GOSSIP_RANGES = 2, /* the 16 sub-ranges of a range: count and hash of each */
	NT_GOSSIP_SUMMARY = 3, /* every entry the sender holds in one range */
	NT_GOSSIP_WANT = 4,
	NT_GOSSIP_ENTRIES = 5, /* answers a want or a summary */
	NT_GOSSIP_PUSH = 6, /* unsolicited new entries; forwarded once by each receiver */
	NT_GOSSIP_IHAVE = 7, /* items of news the sender holds: ask (WANT) for what you lack */
};

#define NT_GOSSIP_DEFAULT_MAX_PEERS 64
#define NT_GOSSIP_DEFAULT_MAX_MSG 1200
/* Digest rounds: one partner a round; the interval doubles from the first to the second
 * while nothing differs, and falls back to the first on any difference or change. */
#define NT_GOSSIP_DEFAULT_DIGEST_MS 5000
#define NT_GOSSIP_DEFAULT_DIGEST_MAX_MS 60000
#define NT_GOSSIP_DEFAULT_SUMMARY_MS 1000
#define NT_GOSSIP_DEFAULT_WANT_BUDGET 2048 /* entries served to one peer per second */
/* Ed25519 checks of one member's entries a second (~50 us each): a full sync of a few
 * thousand entries takes seconds, a flood of bad signatures costs a few percent of a core. */
#define NT_GOSSIP_DEFAULT_VERIFY_BUDGET 500
/* Range and summary messages sent in answer to one peer a second: a full sync of an empty
 * member needs 16 at once; a peer that claims every range differs gets no more than this. */
#define NT_GOSSIP_DEFAULT_RANGE_BUDGET 256
/* Peers a received push is forwarded to (the others than its sender): all of them when they
 * are only the neighbors (docs/scale.md), a bounded number on a member with many sessions. */
#define NT_GOSSIP_DEFAULT_FANOUT 16
/*
 * Of those, how many get the entries themselves (PUSH); the others get an IHAVE of their
 * items (20 bytes each instead of a few hundred) and WANT what they lack. Every member then
 * receives a change about once, not once from each neighbor (docs/ledger.md §3).
 */
#define NT_GOSSIP_DEFAULT_EAGER 1
/*
 * An entry learnt through reconciliation rather than a push is forwarded like a push when it
 * was signed this recently (its version is the owner's wall clock, docs/ledger.md §2): news
 * that missed us as a push (made before its owner had sessions, or lost) still travels in
 * hops of one round trip, while the old entries a joining member pulls go no further.
 */
#define NT_GOSSIP_DEFAULT_FRESH_MS 30000

/* Sends one message to a peer; buf is only valid during the call. Must not re-enter. */
typedef void nt_gossip_send_fn(void *ctx, uint64_t peer, const uint8_t *buf, size_t len);

struct nt_gossip_cfg {
	uint32_t max_peers; /* 0: default */
	size_t max_msg; /* bytes per message; must hold the ledger's largest entry + 6 */
	uint64_t digest_interval_ms; /* digest round interval while things change */
	uint64_t digest_max_ms; /* ... and the longest it doubles to while digests agree */
	uint64_t summary_interval_ms; /* at most one answer to a differing digest per peer per interval */
	uint32_t want_budget; /* entries per peer per second answered to wants and summaries */
	uint32_t verify_budget; /* signature checks per peer per second (entries it sends) */
	uint32_t range_budget; /* range and summary answers per peer per second */
	uint32_t push_fanout; /* at most this many peers a received push is forwarded to */
	uint32_t push_eager; /* of them, how many get the entries; the others an IHAVE */
	uint64_t fresh_ms; /* entries signed this recently are forwarded however they came */
	nt_gossip_send_fn *send;
	void *ctx;
};

struct nt_gossip_stats {
	uint64_t rx_msgs, rx_bad, rx_unknown_peer;
	uint64_t tx_msgs, tx_bytes;
	uint64_t digests_equal, digests_differ;
	uint64_t rounds; /* digest rounds (one partner each) */
	uint64_t ranges_sent, summaries_sent, wants_sent, entries_sent;
	uint64_t pushes_forwarded; /* peers told of news we learnt: entries or IHAVE */
	uint64_t ihaves_sent; /* of those, told by IHAVE */
	uint64_t want_throttled; /* ids not answered because of want_budget */
	uint64_t range_throttled; /* ranges not answered because of range_budget */
	uint64_t entries_rx[NT_LEDGER_VERDICT_MAX]; /* per ledger verdict */
};

#endif
