/* SPDX-License-Identifier: MIT */
/*
 * The ledger (DESIGN §7): a bounded store of signed entries (bucket, key) -> value,
 * allocated once, merged deterministically, rotated by expiry, summarised by a state
 * hash that is sealed into a ring of blocks. Sans-IO: every call takes the caller's
 * wall clock (unix milliseconds, nt_wall_ms()). The wire encoding, the merge rules and
 * the memory figures are in docs/ledger.md.
 *
 *   ledger_entry.c  an entry on the wire: codec, bucket and key rules, verdict names
 *   ledger.c        the store: slots and indexes, the merge, refusals, allocation
 *   ledger_arena.c  where entries' bytes live: records, bucket names, compaction
 *   ledger_local.c  the entries this node signs: put, delete, refresh
 *   ledger_query.c  reading: effective entries, iteration, claims
 *   ledger_state.c  expiry, the state hash, sealed blocks
 *
 * This header declares the store's functions and includes the others' headers, so it is
 * the one to include; ledger_impl.h is private to src/ledger/.
 */
#ifndef NT_LEDGER_H
#define NT_LEDGER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "ledger/ledger_entry.h"
#include "ledger/ledger_local.h"
#include "ledger/ledger_query.h"
#include "ledger/ledger_state.h"
#include "ledger/ledger_types.h"
#include "netron/keys.h"

/* Defaults for struct nt_ledger_cfg fields left at 0. */
#ifndef NT_LEDGER_DEFAULT_CAPACITY
#define NT_LEDGER_DEFAULT_CAPACITY 12288
#endif
/*
 * What a typical entry takes on the wire (a machine claim: 126 bytes of fixed fields, bucket,
 * address, and a JSON record of about 180 bytes): the default arena holds capacity of them.
 */
#define NT_LEDGER_TYPICAL_ENTRY 320
#define NT_LEDGER_MEMORY_LIMIT (1UL << 31) /* arena bytes: offsets are 32-bit */
#define NT_LEDGER_DEFAULT_MAX_KEY 64
/* 768 so that the largest entry (126 + 32 + 64 + 768 = 990 bytes) fits a 1200-byte gossip message. */
#define NT_LEDGER_DEFAULT_MAX_VALUE 768
#define NT_LEDGER_DEFAULT_MAX_PER_OWNER 64
/* Identities whose entries (max_per_owner each) the default max_local leaves room for. */
#ifndef NT_LEDGER_LOCAL_SIGNERS
#define NT_LEDGER_LOCAL_SIGNERS 4
#endif
/* Leases: a machine claim lives hours and is renewed at half-life; a day is the cap. */
#define NT_LEDGER_DEFAULT_MAX_TTL_MS (24 * 3600 * 1000ULL)
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

struct nt_ledger;

/* Allocates everything the ledger will ever use. 0, -EINVAL (cfg) or -ENOMEM. */
int nt_ledger_new(struct nt_ledger **out, const struct nt_ledger_cfg *cfg);
void nt_ledger_free(struct nt_ledger *l);
/* Bytes allocated by nt_ledger_new for this configuration. */
size_t nt_ledger_memory(const struct nt_ledger *l);
/* Largest encoded entry this ledger accepts. */
size_t nt_ledger_entry_max_wire(const struct nt_ledger *l);

/* Decodes, checks and merges an entry from the network. */
enum nt_ledger_verdict nt_ledger_insert(struct nt_ledger *l, const uint8_t *buf, size_t len,
					uint64_t now_ms);
/*
 * The same, paying for its Ed25519 check (if the cheap checks leave one to do) with one of
 * *verify_budget; with none left it is NT_LEDGER_REJ_BUSY (not remembered as refused: it may
 * come again). What one member sends can then cost no more signature checks than its budget.
 * *out (out may be NULL) gets the stored entry when it is ADDED, UPDATED or a DUPLICATE.
 */
enum nt_ledger_verdict nt_ledger_insert_budget(struct nt_ledger *l, const uint8_t *buf, size_t len,
					       uint64_t now_ms, uint32_t *verify_budget,
					       const struct nt_ledger_entry **out);

/*
 * Short id of (bucket, key, owner): the first 8 bytes, big-endian, of a BLAKE2b hash
 * (docs/ledger.md). Cached for entries stored in l; computed otherwise (l may be NULL).
 */
uint64_t nt_ledger_entry_id(const struct nt_ledger *l, const struct nt_ledger_entry *e);
/*
 * The first NT_LEDGER_HASH_PREFIX_LEN bytes of the BLAKE2b-256 of the encoding of an entry
 * stored in l (what gossip's summaries carry); NULL for any other entry. The whole hash of
 * any entry is nt_ledger_entry_hash(), which computes it.
 */
const uint8_t *nt_ledger_entry_hash_prefix(const struct nt_ledger *l, const struct nt_ledger_entry *e);

/*
 * Whether an entry with this id and version, signed by its owner, was refused here (REJ_HELD,
 * REJ_POLICY, REJ_BACKDATED, REJ_FULL, REJ_OWNER_FULL) recently: gossip does not ask for it
 * again. A refused entry whose signature does not check is not remembered.
 */
bool nt_ledger_was_refused(const struct nt_ledger *l, uint64_t id, uint64_t version);
/* Forgets those refusals: call when the rules changed (a newly proven owner). */
void nt_ledger_forget_refusals(struct nt_ledger *l);

uint32_t nt_ledger_count(const struct nt_ledger *l);
void nt_ledger_stats_get(const struct nt_ledger *l, struct nt_ledger_stats *out);

#endif
