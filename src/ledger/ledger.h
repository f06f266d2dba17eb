/* SPDX-License-Identifier: MIT */
/*
 * The ledger (DESIGN §7): a bounded store of signed entries (bucket, key) -> value,
 * allocated once, merged deterministically, rotated by expiry, summarised by a state
 * hash that is sealed into a ring of blocks. Sans-IO: every call takes the caller's
 * wall clock (unix milliseconds, nt_wall_ms()). The wire encoding, the merge rules and
 * the memory figures are in docs/ledger.md.
 */
#ifndef NT_LEDGER_H
#define NT_LEDGER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "netron/keys.h"

enum {
	NT_LEDGER_FORMAT = 1, /* first byte of every encoded entry */
	NT_LEDGER_BUCKET_MAX = 32, /* bytes of a bucket name, [a-z0-9._-] */
	NT_LEDGER_KEY_LIMIT = 255, /* what the wire can carry (u8 length) */
	NT_LEDGER_VALUE_LIMIT = 65535, /* what the wire can carry (u16 length) */
	NT_LEDGER_SIG_LEN = 64,
	NT_LEDGER_HASH_LEN = 32, /* BLAKE2b-256 */
	/* format, flags, 3 lengths (1+1+2), owner, version, claimed_at, expires_at, sig */
	NT_LEDGER_WIRE_FIXED = 1 + 1 + 1 + 1 + 2 + 32 + 8 + 8 + 8 + NT_LEDGER_SIG_LEN,
	NT_LEDGER_BLOCKS = 16, /* sealed blocks kept in the ring */
};

/* Defaults for struct nt_ledger_cfg fields left at 0. */
#ifndef NT_LEDGER_DEFAULT_CAPACITY
#define NT_LEDGER_DEFAULT_CAPACITY 4096
#endif
#define NT_LEDGER_DEFAULT_MAX_KEY 64
/* 768 so that the largest entry (126 + 32 + 64 + 768 = 990 bytes) fits a 1200-byte gossip message. */
#define NT_LEDGER_DEFAULT_MAX_VALUE 768
#define NT_LEDGER_DEFAULT_MAX_PER_OWNER 64
#define NT_LEDGER_DEFAULT_MAX_TTL_MS (10 * 60 * 1000ULL)
#define NT_LEDGER_DEFAULT_SKEW_MS (60 * 1000ULL)
#define NT_LEDGER_DEFAULT_TOMBSTONE_TTL_MS (60 * 1000ULL)
/*
 * A claim older than the key's holder is a race (the earlier wins) only if it was made this
 * long ago at most and this node first saw the holder as recently; past it the holder keeps
 * the key, so nobody can take a held key by back-dating a claim. Long enough for a claim to
 * reach every member (gossip pushes it at once: milliseconds) with clocks that agree (NTP);
 * short, as it is how long a new claim can be contested by one that says it is older.
 */
#define NT_LEDGER_DEFAULT_RACE_MS (2 * 1000ULL)
/* Owners whose claims one (bucket, key) holds at once: a holder and one contender. */
#define NT_LEDGER_CLAIMS_PER_KEY 2

#define NT_LEDGER_MACHINES "machines" /* key: the VPN address as text, "10.1.0.11" */

enum nt_ledger_flags {
	NT_LEDGER_F_TOMBSTONE = 1U << 0, /* a deletion by the owner; value is empty */
};

/*
 * One entry. Decoded entries point into the buffer they were decoded from; entries
 * stored in a ledger point into the ledger (bucket and key are then NUL-terminated)
 * and stay valid until the next call that modifies the ledger.
 */
struct nt_ledger_entry {
	const char *bucket;
	const char *key;
	const uint8_t *value;
	const uint8_t *owner; /* 32 bytes: the owner's Ed25519 public key = node ID */
	const uint8_t *sig; /* 64 bytes */
	uint64_t version; /* >= 1, strictly increasing per (bucket, key, owner) */
	uint64_t claimed_at; /* unix ms when the owner first claimed this key */
	uint64_t expires_at; /* unix ms */
	uint16_t value_len;
	uint8_t bucket_len;
	uint8_t key_len;
	uint8_t flags; /* enum nt_ledger_flags */
};

/* What the merge did with an entry. The first three are acceptances. */
enum nt_ledger_verdict {
	NT_LEDGER_ADDED, /* a new (bucket, key, owner) */
	NT_LEDGER_UPDATED, /* a newer version from the owner replaced the stored one */
	NT_LEDGER_DUPLICATE, /* the same bytes are already stored: no-op */
	NT_LEDGER_REJ_MALFORMED, /* does not decode */
	NT_LEDGER_REJ_TOO_LARGE, /* key or value above this ledger's limits */
	NT_LEDGER_REJ_SIGNATURE, /* signature does not verify for the owner */
	NT_LEDGER_REJ_EXPIRED, /* expires_at <= now */
	NT_LEDGER_REJ_TTL, /* expires_at > now + max_ttl + skew */
	NT_LEDGER_REJ_FUTURE_CLAIM, /* claimed_at > now + skew */
	NT_LEDGER_REJ_REPLAY, /* version not above the stored one */
	NT_LEDGER_REJ_OWNER_FULL, /* the owner already holds max_per_owner entries */
	NT_LEDGER_REJ_FULL, /* refused: the store (or the room left to its bucket) is full */
	NT_LEDGER_REJ_HELD, /* another owner holds the key: a back-dated claim, or one too many */
	NT_LEDGER_REJ_BACKDATED, /* an owner's new version says its claim is older than it was */
	NT_LEDGER_REJ_BUSY, /* it needed a signature check and the caller's budget had none left */
	NT_LEDGER_REJ_POLICY, /* the integrator's accept() refused it (e.g. outside our prefixes) */
	NT_LEDGER_VERDICT_MAX
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
	uint32_t max_key; /* bytes, <= 255; 0: default */
	uint32_t max_value; /* bytes, <= 65535; 0: default */
	uint32_t max_per_owner; /* 0: default */
	uint64_t max_ttl_ms; /* 0: default (10 min) */
	uint64_t skew_ms; /* tolerated clock skew; 0: default (60 s) */
	uint64_t tombstone_ttl_ms; /* 0: default (60 s) */
	uint64_t race_ms; /* 0: default (30 s) */
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
	/* Told of every entry from the network refused as REJ_HELD (NULL: nobody). */
	nt_ledger_entry_pred *on_held;
	void *ctx;
};

struct nt_ledger_stats {
	uint32_t entries; /* stored (winners, competing claims and tombstones) */
	uint32_t capacity;
	uint32_t owners;
	uint64_t expired; /* rotated out */
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

struct nt_ledger;

/* Allocates everything the ledger will ever use. 0, -EINVAL (cfg) or -ENOMEM. */
int nt_ledger_new(struct nt_ledger **out, const struct nt_ledger_cfg *cfg);
void nt_ledger_free(struct nt_ledger *l);
/* Bytes allocated by nt_ledger_new for this configuration. */
size_t nt_ledger_memory(const struct nt_ledger *l);
/* Largest encoded entry this ledger accepts. */
size_t nt_ledger_entry_max_wire(const struct nt_ledger *l);

/* Strict decoder: exactly len bytes, every length checked. out points into buf. */
bool nt_ledger_entry_decode(const uint8_t *buf, size_t len, struct nt_ledger_entry *out);
/* Canonical encoding; bytes written, or -ENOSPC / -EINVAL. */
ssize_t nt_ledger_entry_encode(const struct nt_ledger_entry *e, uint8_t *buf, size_t len);
bool nt_ledger_verdict_is_ok(enum nt_ledger_verdict v);
const char *nt_ledger_verdict_str(enum nt_ledger_verdict v);

/* Decodes, checks and merges an entry from the network. */
enum nt_ledger_verdict nt_ledger_insert(struct nt_ledger *l, const uint8_t *buf, size_t len,
					uint64_t now_ms);
/*
 * The same, paying for its Ed25519 check (if the cheap checks leave one to do) with one of
 * *verify_budget; with none left it is NT_LEDGER_REJ_BUSY (not remembered as refused: it may
 * come again). What one member sends can then cost no more signature checks than its budget.
 */
enum nt_ledger_verdict nt_ledger_insert_budget(struct nt_ledger *l, const uint8_t *buf, size_t len,
					       uint64_t now_ms, uint32_t *verify_budget);
/* Rotates out entries with expires_at <= now. Returns how many. */
size_t nt_ledger_expire(struct nt_ledger *l, uint64_t now_ms);

/*
 * Creates or refreshes our entry: version bump, claimed_at kept while our entry is
 * live, expires at now + ttl_ms. *out (may be NULL) gets the stored entry.
 * 0, -EINVAL, -ENOSPC (store full), -EDQUOT (per-owner cap).
 */
int nt_ledger_put_local(struct nt_ledger *l, const struct nt_identity *id, const char *bucket,
			const char *key, const void *value, size_t len, uint64_t ttl_ms,
			uint64_t now_ms, const struct nt_ledger_entry **out);
/* Replaces our entry with a signed tombstone. 0, -ENOENT, -EINVAL. */
int nt_ledger_delete_local(struct nt_ledger *l, const struct nt_identity *id, const char *bucket,
			   const char *key, uint64_t now_ms);
/* Re-signs our entries within 1/3 of their TTL of expiry; returns how many, or -errno. */
int nt_ledger_refresh_local(struct nt_ledger *l, const struct nt_identity *id, uint64_t now_ms);

/*
 * The effective entry for (bucket, key): the earliest live claim of a proven owner (then of
 * any owner), ties to the lower owner.
 */
const struct nt_ledger_entry *nt_ledger_get(const struct nt_ledger *l, const char *bucket,
					    const char *key);
/* One owner's stored entry (tombstones included), or NULL. */
const struct nt_ledger_entry *nt_ledger_get_owned(const struct nt_ledger *l, const char *bucket,
						  const char *key, const uint8_t owner[32]);
/* The stored entry with this short id (see nt_ledger_entry_id), or NULL. */
const struct nt_ledger_entry *nt_ledger_get_by_id(const struct nt_ledger *l, uint64_t id);
/*
 * Short id of (bucket, key, owner): the first 8 bytes, big-endian, of a BLAKE2b hash
 * (docs/ledger.md). Cached for entries stored in l; computed otherwise (l may be NULL).
 */
uint64_t nt_ledger_entry_id(const struct nt_ledger *l, const struct nt_ledger_entry *e);
/* BLAKE2b-256 of the encoding of an entry stored in l; NULL for any other entry. */
const uint8_t *nt_ledger_entry_hash(const struct nt_ledger *l, const struct nt_ledger_entry *e);
/* Effective entries of a bucket (NULL: every bucket); no tombstones, no losing claims. */
void nt_ledger_foreach(const struct nt_ledger *l, const char *bucket, nt_ledger_foreach_fn *cb,
		       void *ctx);
/* Every stored entry, in slot order. */
void nt_ledger_foreach_stored(const struct nt_ledger *l, nt_ledger_foreach_fn *cb, void *ctx);

/*
 * Whether an entry with this id and version was refused here (REJ_HELD, REJ_POLICY,
 * REJ_FULL, REJ_OWNER_FULL) recently: gossip does not ask for it again.
 */
bool nt_ledger_was_refused(const struct nt_ledger *l, uint64_t id, uint64_t version);
/* Forgets those refusals: call when the rules changed (a newly proven owner). */
void nt_ledger_forget_refusals(struct nt_ledger *l);

/* Whether any live claim (no tombstone) by an owner other than `owner` is on (bucket, key). */
bool nt_ledger_is_claimed(const struct nt_ledger *l, const char *bucket, const char *key,
			  const uint8_t owner[32]);

/* Bucket "machines": the winning owner of the VPN address ip_text, or NULL. */
const uint8_t *nt_ledger_machine_owner(const struct nt_ledger *l, const char *ip_text);
/* Whether another owner's live claim on (bucket, key) beats owner's (present or future) one. */
bool nt_ledger_claim_is_beaten(const struct nt_ledger *l, const char *bucket, const char *key,
			       const uint8_t owner[32]);

/* BLAKE2b-256 over the stored entries in canonical order (cached until the next change). */
void nt_ledger_state_hash(struct nt_ledger *l, uint8_t out[NT_LEDGER_HASH_LEN]);
uint32_t nt_ledger_count(const struct nt_ledger *l);
/* Seals the current state into the next block of the ring; returns it. */
const struct nt_ledger_block *nt_ledger_seal(struct nt_ledger *l, uint64_t now_ms);
/* Block i of the ring, 0 the newest; NULL past the number sealed. */
const struct nt_ledger_block *nt_ledger_block_get(const struct nt_ledger *l, size_t i);
void nt_ledger_stats_get(const struct nt_ledger *l, struct nt_ledger_stats *out);

#endif
