/* SPDX-License-Identifier: MIT */
/*
 * Private to the gossip engine's two files: gossip.c (rounds, digests, range
 * reconciliation, input) and gossip_push.c (news: pushes, IHAVE, forwarding). No file
 * outside them includes it; to every other module struct nt_gossip is gossip.h's opaque type.
 */
#ifndef NT_GOSSIP_IMPL_H
#define NT_GOSSIP_IMPL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/log.h"
#include "ledger/gossip_types.h"
#include "ledger/ledger.h"

/* Items announced by IHAVE that we remember asking for (a ring). */
#define NT_GOSSIP_ASKED 64
/* An announced entry is asked for again after this long without it, this many times in all. */
#define NT_GOSSIP_ASK_AGAIN_MS 500
#define NT_GOSSIP_ASK_TRIES 5
/*
 * Of the ring's slots still waiting, at most this many for the items one peer announced
 * first: a member that announces what nobody holds takes its own slots back, not those of
 * the news its neighbors announced (so it cannot make us forget what to ask again).
 */
#define NT_GOSSIP_ASKED_PER_PEER (NT_GOSSIP_ASKED / 4)

enum {
	ITEM_LEN = 24, /* id(8) version(8) entry hash prefix(8), big-endian: sorts by memcmp */
	RANGE_HASH_LEN = 8,
	RANGES_LEN = NT_GOSSIP_HDR_LEN + NT_GOSSIP_RANGE_HDR + NT_GOSSIP_SPLIT * NT_GOSSIP_RANGE_ITEM,
};
_Static_assert(ITEM_LEN - 16 <= NT_LEDGER_HASH_PREFIX_LEN, "an item's hash is what the ledger keeps");

struct peer {
	uint64_t handle;
	uint64_t answered_at; /* last answer to a differing digest; 0: never */
	uint64_t summary_rx_at; /* when its root ranges (all it holds, hashed) last came; 0: never */
	uint64_t refill_at; /* want budget bookkeeping */
	uint32_t tokens;
	uint64_t verify_at; /* signature check budget: refilled every second */
	uint32_t verify_tokens;
	uint32_t wanted; /* entries asked of it since verify_at: at most what we may check */
	uint64_t range_at; /* range answer budget: refilled every second */
	uint32_t range_tokens;
	bool synced, hello; /* hello: owed a first digest */
};

/* A message being built: header, u16 item count, items. */
struct msg {
	uint8_t *buf;
	size_t len;
	uint16_t n;
	uint8_t type;
};

struct nt_gossip {
	struct nt_gossip_cfg cfg;
	struct nt_ledger *l;
	struct peer *peers; /* npeers used, packed */
	uint32_t npeers;
	uint32_t rr; /* next digest partner */
	uint32_t fanout_next;
	struct msg want, ent, fwd;
	struct msg ihave; /* the items of fwd's entries, for the peers that get no copy */
	/*
	 * The items we last asked for because an IHAVE announced them (gossip_push.c): the
	 * same news from several peers is asked for once, of one of them again if it has
	 * not come NT_GOSSIP_ASK_AGAIN_MS later (the WANT or its answer was lost), and its
	 * answer travels on like a push.
	 */
	struct {
		uint8_t item[NT_GOSSIP_SUMMARY_ITEM];
		uint64_t at; /* when last asked; 0: an empty slot */
		uint64_t from; /* whom to ask next: the last announcer other than asked_of */
		uint64_t asked_of; /* whom we asked last */
		uint64_t owner; /* the announcer that made us ask first: its share of the ring */
		uint8_t tries; /* NT_GOSSIP_ASK_TRIES: done (it came, or we gave up) */
	} asked[NT_GOSSIP_ASKED];
	uint32_t asked_next;
	uint64_t retry_at; /* the earliest ask again; UINT64_MAX: none */
	uint8_t *out; /* a RANGES or SUMMARY message */
	uint8_t (*items)[ITEM_LEN]; /* stored entries sorted by id; capacity of the ledger */
	uint32_t nitems, cap_items;
	uint8_t items_state[NT_LEDGER_HASH_LEN]; /* the state hash they were built for */
	bool items_valid;
	uint32_t leaf; /* NT_GOSSIP_LEAF, or fewer if max_msg is small */
	uint64_t interval; /* ms until the round after the next */
	uint64_t next_round; /* unix ms; 0: on the next tick */
	bool hello_due; /* a peer is owed its first digest */
	struct nt_gossip_stats stats;
	struct nt_ratelimit rl_bad; /* log throttle (log.h) */
};

void nt_gossip_emit(struct nt_gossip *g, uint64_t peer, const uint8_t *buf, size_t len);
/* Starts m as an empty message of this type (header and a zero count). */
void nt_gossip_msg_begin(struct msg *m, uint8_t type);
/* Sends m to peer if it holds anything, and starts it again empty. */
void nt_gossip_msg_flush(struct nt_gossip *g, struct msg *m, uint64_t peer);
/* Something differs or changed: rounds fall back to the shortest interval. */
void nt_gossip_rounds_hurry(struct nt_gossip *g, uint64_t now);
/* The peer's budget of signature checks (and of entries we ask of it) is a second's. */
void nt_gossip_verify_refill(struct nt_gossip *g, struct peer *p, uint64_t now);
/* The next round comes when p's budget is back (we want more of it than we may check). */
void nt_gossip_rounds_when_refilled(struct nt_gossip *g, struct peer *p);
/* Appends an encoded entry (u16 length, bytes) to m, flushing it to peer when full. */
void nt_gossip_append_entry(struct nt_gossip *g, struct msg *m, uint64_t peer,
			    const struct nt_ledger_entry *e);
/*
 * How an item (u64 id | u64 version | hash[0..4], NT_GOSSIP_SUMMARY_ITEM bytes) compares
 * with what we hold: > 0 theirs is newer (or we lack it), < 0 ours is, 0 the same.
 */
int nt_gossip_item_cmp(const struct nt_gossip *g, const uint8_t *it);
/*
 * Asks p for the item's entry (in g->want, flushed to p when full), unless we refused that
 * very entry, or already asked p for as many as we may check this second. Whether asked.
 */
bool nt_gossip_want(struct nt_gossip *g, struct peer *p, const uint8_t *it);
struct peer *nt_gossip_peer_find(const struct nt_gossip *g, uint64_t handle);
/* Asks again for the announced entries that have not come (from nt_gossip_tick). */
void nt_gossip_ask_again(struct nt_gossip *g, uint64_t now);
/* ENTRIES and PUSH (push: unsolicited): merges them and forwards the news. */
void nt_gossip_on_entries(struct nt_gossip *g, struct peer *p, const uint8_t *recs, uint16_t n,
			  bool push, uint64_t now);
/* IHAVE: asks for the announced entries we lack (n items, checked by the caller). */
void nt_gossip_on_ihave(struct nt_gossip *g, struct peer *p, const uint8_t *items, uint16_t n,
			uint64_t now);

#endif
