/* SPDX-License-Identifier: MIT */
/*
 * The ledger's public data types besides the entry (ledger_entry.h): its configuration and
 * callbacks, its counters and its sealed blocks. They live apart from ledger.h so that the
 * ledger's private header (ledger_impl.h), which embeds them in struct nt_ledger, and the
 * files that share it do not include ledger.h, which includes their headers. Part of the
 * ledger's public interface: include ledger/ledger.h.
 */
#ifndef NT_LEDGER_TYPES_H
#define NT_LEDGER_TYPES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ledger/ledger_entry.h"

enum {
	NT_LEDGER_BLOCKS = 16, /* sealed blocks kept in the ring */
};

enum nt_ledger_change {
	NT_LEDGER_CHANGE_ADDED,
	NT_LEDGER_CHANGE_UPDATED, /* new version, tombstones included */
	NT_LEDGER_CHANGE_REMOVED, /* expired and rotated out; e is still readable */
};

/*
 * Called after the store changed. local is true for entries we signed in this process
 * (put/delete/refresh), which the integrator hands to nt_gossip_on_local_change().
 * The callback must not modify the ledger.
 */
typedef void nt_ledger_change_fn(void *ctx, const struct nt_ledger_entry *e,
				 enum nt_ledger_change change, bool local);
/* Iteration callback: return false to stop. */
typedef bool nt_ledger_foreach_fn(void *ctx, const struct nt_ledger_entry *e);
/* A predicate on an entry, or on an owner (32 bytes), decided by the integrator. */
typedef bool nt_ledger_entry_pred(void *ctx, const struct nt_ledger_entry *e);
typedef bool nt_ledger_owner_pred(void *ctx, const uint8_t owner[32]);

struct nt_ledger_cfg {
	uint32_t capacity; /* entries; 0: NT_LEDGER_DEFAULT_CAPACITY */
	/*
	 * Bytes for the entries' buckets, keys, values and signatures, each stored in what it
	 * needs (the fixed fields are in the capacity slots); 0: capacity typical entries
	 * (NT_LEDGER_TYPICAL_ENTRY). At least the largest entry; at most 2 GiB.
	 */
	size_t memory;
	uint32_t max_key; /* bytes, <= 255; 0: default */
	uint32_t max_value; /* bytes, <= 65535; 0: default */
	uint32_t max_per_owner; /* 0: default; at most 65535 */
	/*
	 * Entries this process signs (put, delete) that the ledger holds at once, of every
	 * identity it signs with; past it, put is -EDQUOT. 0: NT_LEDGER_LOCAL_SIGNERS (4)
	 * identities' max_per_owner. At most capacity.
	 */
	uint32_t max_local;
	uint64_t max_ttl_ms; /* 0: default (24 h); at most 2^32 - 1 */
	uint64_t skew_ms; /* tolerated clock skew; 0: default (60 s) */
	uint64_t tombstone_ttl_ms; /* 0: default (60 s) */
	uint64_t race_ms; /* 0: NT_LEDGER_DEFAULT_RACE_MS (2 s) */
	/*
	 * Room kept for one bucket (NULL: none): entries of every other bucket together may
	 * use at most capacity - reserve_slots, so they can never crowd it out.
	 */
	const char *reserve_bucket;
	uint32_t reserve_slots;
	uint32_t reserve_per_owner; /* live claims one owner may hold in that bucket; 0: max_per_owner */
	nt_ledger_change_fn *on_change;
	/* Entries from the network that accept() refuses are not stored (NULL: all pass). */
	nt_ledger_entry_pred *accept;
	/*
	 * Owners this node has proven (a session, or a member's word that it has one): their
	 * claims beat those of owners it has not, whatever their age, and take the room of
	 * theirs when the store is full (NULL: every owner counts as proven).
	 */
	nt_ledger_owner_pred *proven;
	/* Told of every entry from the network refused as REJ_HELD that its owner signed (NULL:
	 * nobody). */
	nt_ledger_entry_pred *on_held;
	void *ctx;
};

struct nt_ledger_stats {
	uint32_t entries; /* stored (winners, competing claims and tombstones) */
	uint32_t capacity;
	uint32_t owners;
	uint64_t expired; /* rotated out */
	size_t arena, arena_live; /* bytes of the entries' arena (cfg.memory), and in use */
	uint64_t compactions; /* of the arena */
	uint64_t probes; /* entries looked at by lookups by key, id and owner (O(1) each) */
	uint64_t verdicts[NT_LEDGER_VERDICT_MAX]; /* refused = verdicts[NT_LEDGER_REJ_FULL] */
};

struct nt_ledger_block {
	uint64_t index;
	uint64_t timestamp; /* unix ms */
	uint32_t entries;
	uint8_t state_hash[NT_LEDGER_HASH_LEN];
	uint8_t prev_hash[NT_LEDGER_HASH_LEN];
	uint8_t hash[NT_LEDGER_HASH_LEN];
};

#endif
