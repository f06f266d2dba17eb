/* SPDX-License-Identifier: MIT */
/*
 * Private to src/ledger/: struct nt_ledger (a fixed array of slots, the arena their bytes live
 * in, and their indexes), and the functions of ledger.c that the ledger's other files
 * (ledger_state.c, ledger_query.c, ledger_local.c) share with it. No file outside src/ledger/
 * includes it: to every other module struct nt_ledger is the opaque type of ledger.h.
 */
#ifndef NT_LEDGER_IMPL_H
#define NT_LEDGER_IMPL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <sodium.h>

#include "ledger/ledger_types.h"

#define NIL UINT32_MAX
#ifndef NT_LEDGER_BUCKET_NAMES
#define NT_LEDGER_BUCKET_NAMES 32 /* bucket names kept once for every entry of theirs */
#endif
#define REFUSED_RING 256
#define REFUSED_HASH 512 /* chains over the ring, by id */

/* "netron ledger v1": an entry's signature covers it, then every byte of the entry before. */
extern const char nt_ledger_sign_context[16];

/*
 * A stored entry's fixed fields, 104 bytes on a 64-bit machine (docs/ledger.md §5): every
 * other fact about it is derived. Its bytes (key, value, signature, and its bucket when
 * that is not interned) are a record in the arena (see arena_need() in ledger.c) that
 * starts at e.bucket or, for an interned bucket, at e.key, so a slot costs the same
 * whatever its entry holds; e.owner is its owner record's key, which gives that record;
 * heap_pos is NIL exactly when the slot is free; the TTL of an entry this process signed
 * is in a side table (ledger_local.c); its full hash is computed when asked for.
 */
struct slot {
	struct nt_ledger_entry e; /* first: a stored entry pointer is its slot's address */
	uint8_t hash[NT_LEDGER_HASH_PREFIX_LEN]; /* BLAKE2b-256 of the encoding, its start */
	uint64_t id;
	uint32_t next_bk; /* (bucket, key) chain, or the free list */
	uint32_t next_id;
	uint32_t heap_pos; /* index in the expiry heap; NIL: the slot is free */
	uint32_t seen; /* ms after seen_base: when this node first stored this (bucket, key, owner) */
};

/* The owner of many entries: its key once, and what they count against its limits. */
struct owner_rec {
	uint8_t pk[32]; /* first: the e.owner of every entry of this owner points here */
	uint32_t next; /* chain, or the free list */
	uint16_t count; /* entries: at most max_per_owner (<= 65535) */
	uint16_t reserve_live; /* of them live claims (no tombstones) in the reserved bucket */
};

/* A bucket name that stored entries share (e.bucket points at it): buckets are few. */
struct bucket_name {
	char name[NT_LEDGER_BUCKET_MAX + 1]; /* NUL-terminated; refs 0: unused */
	uint8_t len;
	uint32_t refs; /* stored entries of this bucket; the reserved bucket's is never 0 */
};

/* An entry this process signed: its slot and the TTL it is re-signed with. */
struct local_ttl {
	uint32_t idx; /* NIL: empty */
	uint32_t ttl_ms;
};

struct nt_ledger {
	struct nt_ledger_cfg cfg; /* defaults resolved */
	struct slot *slots;
	/*
	 * The records of the stored entries, packed from 0 up to arena_top in the order they
	 * were written; what was freed below arena_top (arena_top - arena_live bytes) is
	 * reclaimed by sliding the records down when a new one does not fit above.
	 */
	uint8_t *arena;
	size_t arena_size, arena_top, arena_live;
	size_t arena_hwm; /* the highest arena_top so far: the arena's pages touched */
	size_t arena_other_max; /* bytes the buckets other than the reserved one may hold */
	size_t arena_reserve_live; /* bytes held by records of the reserved bucket */
	/* Chains by (bucket, key), by id and by owner: hsize heads each (nt_ledger_chain()). */
	uint32_t *bk_heads, *id_heads, *owner_heads;
	uint32_t hsize;
	struct owner_rec *owners;
	uint32_t owner_free, nowners;
	uint32_t free_head, used;
	/*
	 * Slots and owner records from these on were never used: they follow the free lists,
	 * so the store touches (and iterates over) only as many as it has held at once.
	 */
	uint32_t fresh, owner_fresh;
	/*
	 * The used slots, a min-heap by expires_at. The state hash and a compaction sort it in
	 * place for their pass and heapify it again (O(n)), so they need no array of their own.
	 */
	uint32_t *heap;
	uint32_t nheap;
	/* Names of the buckets in use; a bucket past them keeps its name in each record. */
	struct bucket_name buckets[NT_LEDGER_BUCKET_NAMES];
	uint32_t nbuckets; /* names in use */
	/*
	 * The entries this process signed, by slot (open addressing, linear probing): at most
	 * local_max, in a table twice as large.
	 */
	struct local_ttl *local;
	uint32_t local_mask, local_shift, nlocal, local_max; /* shift: 32 - log2(table size) */
	uint64_t seen_base; /* unix ms that slots' seen times count from */
	uint8_t *scratch; /* nt_ledger_sign_context + one encoded entry */
	size_t scratch_len;
	uint8_t shkey[crypto_shorthash_KEYBYTES]; /* table hashing only */
	uint8_t state_hash[NT_LEDGER_HASH_LEN];
	bool state_dirty;
	uint64_t refresh_at; /* unix ms: no entry of ours needs re-signing before */
	struct nt_ledger_block blocks[NT_LEDGER_BLOCKS];
	uint64_t nblocks;
	struct nt_ledger_stats stats;
	size_t mem;
	char reserve_bucket[NT_LEDGER_BUCKET_MAX + 1]; /* "" when none */
	uint32_t reserve_used; /* slots holding entries of that bucket */
	/*
	 * Entries refused by rule, so gossip does not fetch them again and again: a ring of the
	 * last REFUSED_RING, chained by id (index + 1, 0 ends a chain) so that gossip asks about
	 * one for each summary item at O(1).
	 */
	struct {
		uint64_t id, version; /* version 0: empty */
		uint16_t next;
	} refused[REFUSED_RING];
	uint16_t refused_heads[REFUSED_HASH];
	uint32_t refused_next;
};

static inline bool nt_ledger_slot_is_used(const struct slot *s)
{
	return s->heap_pos != NIL;
}

/* A chain of hsize heads for a 32-bit hash (Lemire's multiply-shift: no division). */
static inline uint32_t nt_ledger_chain(const struct nt_ledger *l, uint32_t h)
{
	return (uint32_t)(((uint64_t)h * l->hsize) >> 32);
}

/* The index of the owner record of a stored entry. */
static inline uint32_t nt_ledger_owner_idx(const struct nt_ledger *l, const struct slot *s)
{
	return (uint32_t)((const struct owner_rec *)(const void *)s->e.owner - l->owners);
}

/* When this node first stored the entry of slot s (unix ms). */
static inline uint64_t nt_ledger_seen_at(const struct nt_ledger *l, const struct slot *s)
{
	return l->seen_base + s->seen;
}

/* Counts one entry looked at by a lookup (the tests check lookups stay O(1)). */
static inline void nt_ledger_probe(const struct nt_ledger *l)
{
	((struct nt_ledger *)l)->stats.probes++;
}

/*
 * The chain heads (bk_heads, id_heads, owner_heads) hold the complement of the first index
 * of their chain, so that a table fresh from calloc is all NIL: its pages are touched only
 * where a chain starts, not all at once when the ledger is made (a default ledger's heads
 * are 144 KiB, resident from the start otherwise).
 */
static inline uint32_t nt_ledger_head(const uint32_t *heads, uint32_t h)
{
	return ~heads[h];
}

static inline void nt_ledger_head_set(uint32_t *heads, uint32_t h, uint32_t idx)
{
	heads[h] = ~idx;
}

/* The (bucket, key) chain of a key: an index into bk_heads. */
uint32_t nt_ledger_bk_hash(const struct nt_ledger *l, const char *b, size_t blen, const char *k,
			   size_t klen);
bool nt_ledger_same_bk(const struct slot *s, const char *b, size_t blen, const char *k,
		       size_t klen);
/* Sorts n slot indices with cmp (a heapsort: it allocates nothing). */
void nt_ledger_sort_slots(const struct nt_ledger *l, uint32_t *v, size_t n,
			  int (*cmp)(const struct nt_ledger *l, uint32_t a, uint32_t b));
/* The expiry heap (ledger_heap.c): the slot whose entry expires first, or NIL. */
uint32_t nt_ledger_heap_top(const struct nt_ledger *l);
/* Adds slot idx, takes it out, or puts the slot at heap position pos back in order. */
void nt_ledger_heap_push(struct nt_ledger *l, uint32_t idx);
void nt_ledger_heap_remove(struct nt_ledger *l, uint32_t idx);
void nt_ledger_heap_fix(struct nt_ledger *l, uint32_t pos);
/* Makes the heap array a heap again after it was reordered (sorted) in place: O(n). */
void nt_ledger_heap_rebuild(struct nt_ledger *l);
/* The TTL that slot idx is re-signed with (ledger_local.c); 0: not an entry we signed. */
uint32_t nt_ledger_local_ttl(const struct nt_ledger *l, uint32_t idx);
/* Whether the side table has room for slot idx (it is there already, or there is room). */
bool nt_ledger_local_has_room(const struct nt_ledger *l, uint32_t idx);
/* Sets slot idx's TTL (0: forgets it); the caller checked nt_ledger_local_has_room(). */
void nt_ledger_local_set(struct nt_ledger *l, uint32_t idx, uint32_t ttl_ms);
/* The slot of owner's entry on (bucket, key), tombstones included, or NIL. */
uint32_t nt_ledger_find_owned(const struct nt_ledger *l, const char *b, size_t blen, const char *k,
			      size_t klen, const uint8_t owner[32]);
bool nt_ledger_owner_is_proven(const struct nt_ledger *l, const uint8_t owner[32]);
bool nt_ledger_claim_beats(const struct nt_ledger *l, const struct nt_ledger_entry *a,
			   const struct nt_ledger_entry *b);
/* Whether bucket b is the reserved one. */
bool nt_ledger_in_reserve(const struct nt_ledger *l, const char *b, size_t blen);
/*
 * The arena (ledger_arena.c). A reference to the shared name of bucket b: its index in
 * buckets, or -1 when all are in use (a record then holds its bucket).
 */
int nt_ledger_bucket_get(struct nt_ledger *l, const char *b, size_t blen);
/* What a stored entry's record takes in the arena. */
size_t nt_ledger_record_size(const struct nt_ledger *l, const struct slot *s);
/* What the record of an entry not stored yet would take (its bucket's name free or not). */
size_t nt_ledger_record_need(const struct nt_ledger *l, const struct nt_ledger_entry *in);
/*
 * Copies an entry into slot s, whose e.owner is set: its record is rewritten in place when
 * it is no larger, or moves to a new one (the caller checked it fits). in must not point
 * into the arena, which a new record may compact. hash is the entry's full hash.
 */
void nt_ledger_record_store(struct nt_ledger *l, struct slot *s, const struct nt_ledger_entry *in,
			    const uint8_t hash[NT_LEDGER_HASH_LEN]);
/* Frees slot s's record and lets go of its bucket name. */
void nt_ledger_record_free(struct nt_ledger *l, struct slot *s);
/* Frees slot idx (tells on_change first) and unlinks it from every index. */
void nt_ledger_slot_remove(struct nt_ledger *l, uint32_t idx);
/*
 * Merges entry in, whose encoding is wire (wlen bytes); local: one this process signed,
 * which skips the checks only an entry from the network needs. *out (may be NULL) gets
 * the stored entry.
 */
enum nt_ledger_verdict nt_ledger_merge(struct nt_ledger *l, const struct nt_ledger_entry *in,
				       const uint8_t *wire, size_t wlen, uint64_t now, bool local,
				       uint64_t local_ttl, uint32_t *verify_budget,
				       const struct nt_ledger_entry **out);

#endif
