// SPDX-License-Identifier: MIT
/*
 * The arena the ledger's entries keep their bytes in (docs/ledger.md §5): one record per
 * entry of exactly what it needs, [bucket NUL] key NUL value signature, packed from the
 * start in the order written. A freed or shrunk record leaves a hole; when a new one does
 * not fit above the top (or the top would pass its high-water mark while an eighth of it
 * is holes) the live records slide down over the holes. Bucket names are kept once, counted,
 * for every entry of theirs: a record holds its bucket only when the names are all taken.
 * Nothing here allocates; the store (ledger.c) decides what goes in, this file where.
 */
#include <string.h>

#include "core/util.h"
#include "ledger/ledger_impl.h"

/*
 * Bucket names: every entry of a bucket points at one copy of its name, counted. When all
 * NT_LEDGER_BUCKET_NAMES are in use (only the network's whims make that many), an entry of
 * another bucket keeps its name in its own record, as all did before. The reserved bucket's
 * name is taken at start and never let go.
 */
static bool bucket_is_interned(const struct nt_ledger *l, const char *b)
{
	uintptr_t p = (uintptr_t)b, lo = (uintptr_t)l->buckets;

	return p >= lo && p < (uintptr_t)(l->buckets + NT_LEDGER_BUCKET_NAMES);
}

static int bucket_find(const struct nt_ledger *l, const char *b, size_t blen)
{
	for (int i = 0; i < NT_LEDGER_BUCKET_NAMES; i++)
		if (l->buckets[i].refs && l->buckets[i].len == blen &&
		    memcmp(l->buckets[i].name, b, blen) == 0)
			return i;
	return -1;
}

/* A reference to the name of bucket b: its index, or -1 when every name is in use. */
int nt_ledger_bucket_get(struct nt_ledger *l, const char *b, size_t blen)
{
	int i = bucket_find(l, b, blen);

	if (i < 0) {
		if (l->nbuckets == NT_LEDGER_BUCKET_NAMES)
			return -1;
		for (i = 0; l->buckets[i].refs; i++)
			;
		memcpy(l->buckets[i].name, b, blen);
		l->buckets[i].name[blen] = '\0';
		l->buckets[i].len = (uint8_t)blen;
		l->nbuckets++;
	}
	l->buckets[i].refs++;
	return i;
}

/* Lets go of a stored entry's bucket name (nothing when it was kept in its record). */
static void bucket_put(struct nt_ledger *l, const char *b)
{
	struct bucket_name *n;

	if (!bucket_is_interned(l, b))
		return;
	n = &l->buckets[((uintptr_t)b - (uintptr_t)l->buckets) / sizeof(*n)];
	if (--n->refs == 0)
		l->nbuckets--;
}

/* An entry's record in the arena: [bucket NUL] key NUL value signature. */
static size_t record_need(const struct nt_ledger_entry *e, bool interned)
{
	return (interned ? 0 : (size_t)e->bucket_len + 1) + e->key_len + 1 + e->value_len +
	       NT_LEDGER_SIG_LEN;
}

size_t nt_ledger_record_size(const struct nt_ledger *l, const struct slot *s)
{
	return record_need(&s->e, bucket_is_interned(l, s->e.bucket));
}

/* Never less than what nt_ledger_record_store() then takes: a removal only frees names. */
size_t nt_ledger_record_need(const struct nt_ledger *l, const struct nt_ledger_entry *in)
{
	return record_need(in, l->nbuckets < NT_LEDGER_BUCKET_NAMES ||
				       bucket_find(l, in->bucket, in->bucket_len) >= 0);
}

/* Where a stored entry's record starts; NULL when it has none (a free slot). */
static uint8_t *record_of(const struct nt_ledger *l, const struct slot *s)
{
	if (!s->e.key)
		return NULL;
	return (uint8_t *)(bucket_is_interned(l, s->e.bucket) ? s->e.key : s->e.bucket);
}

/* Points a slot's entry at its record r (e.bucket says whether the record holds the bucket). */
static void slot_point(struct nt_ledger *l, struct slot *s, uint8_t *r)
{
	if (!bucket_is_interned(l, s->e.bucket)) {
		s->e.bucket = (const char *)r;
		r += s->e.bucket_len + 1;
	}
	s->e.key = (const char *)r;
	s->e.value = r + s->e.key_len + 1;
	s->e.sig = s->e.value + s->e.value_len;
}

static int by_record(const struct nt_ledger *l, uint32_t a, uint32_t b)
{
	uintptr_t ra = (uintptr_t)record_of(l, &l->slots[a]), rb = (uintptr_t)record_of(l, &l->slots[b]);

	/* A slot whose record is being replaced has none: it goes last, and stays put. */
	ra = ra ? ra : UINTPTR_MAX;
	rb = rb ? rb : UINTPTR_MAX;
	return ra < rb ? -1 : ra > rb;
}

/*
 * Slides every record down over the holes: afterwards arena_top == arena_live. The heap's
 * array, which lists every used slot, is sorted by record for the pass and heapified after.
 */
static void arena_compact(struct nt_ledger *l)
{
	size_t top = 0;

	nt_ledger_sort_slots(l, l->heap, l->nheap, by_record);
	for (uint32_t j = 0; j < l->nheap; j++) {
		struct slot *s = &l->slots[l->heap[j]];
		uint8_t *r = record_of(l, s);
		size_t need;

		if (!r)
			break;
		need = nt_ledger_record_size(l, s);
		if (r != l->arena + top) {
			memmove(l->arena + top, r, need);
			slot_point(l, s, l->arena + top);
		}
		top += need;
	}
	nt_ledger_heap_rebuild(l);
	l->arena_top = top;
	l->stats.compactions++;
}

/*
 * Room for a record of need bytes; the caller checked that it fits (entry_fits()).
 * Records go above the top; the holes below are reclaimed when nothing fits above, and
 * also before the top would pass its high-water mark while an eighth of it is holes: the
 * pages the arena touches (its share of RSS) then follow the most it held, not the bytes
 * written over time, and each compaction reclaims at least an eighth of what it moves.
 */
static uint8_t *arena_alloc(struct nt_ledger *l, size_t need)
{
	uint8_t *r;

	if (l->arena_size - l->arena_top < need ||
	    (l->arena_top + need > l->arena_hwm && l->arena_top - l->arena_live >= l->arena_top / 8))
		arena_compact(l);
	r = l->arena + l->arena_top;
	l->arena_top += need;
	l->arena_live += need;
	l->arena_hwm = NT_MAX(l->arena_hwm, l->arena_top);
	return r;
}

/* Frees slot s's record (a hole until the next compaction); its bucket name is still held. */
static void arena_free(struct nt_ledger *l, struct slot *s)
{
	uint8_t *r = record_of(l, s);
	size_t need;

	if (!r)
		return;
	need = nt_ledger_record_size(l, s);
	if (r + need == l->arena + l->arena_top)
		l->arena_top = (size_t)(r - l->arena); /* the last record written: free at once */
	l->arena_live -= need;
	if (nt_ledger_in_reserve(l, s->e.bucket, s->e.bucket_len))
		l->arena_reserve_live -= need;
	s->e.key = NULL;
}

void nt_ledger_record_store(struct nt_ledger *l, struct slot *s, const struct nt_ledger_entry *in,
			    const uint8_t hash[NT_LEDGER_HASH_LEN])
{
	/* The new name is taken before the old one is let go, which keeps a name shared by both. */
	int bi = nt_ledger_bucket_get(l, in->bucket, in->bucket_len);
	size_t need = record_need(in, bi >= 0);
	bool reserve = nt_ledger_in_reserve(l, in->bucket, in->bucket_len);
	const uint8_t *owner = s->e.owner;
	const char *old_bucket = s->e.key ? s->e.bucket : NULL;
	uint8_t *r = record_of(l, s);

	if (r && nt_ledger_record_size(l, s) >= need) {
		/* In place: what it no longer needs is a hole (the top again, if it was last). */
		size_t old = nt_ledger_record_size(l, s);

		if (r + old == l->arena + l->arena_top)
			l->arena_top -= old - need;
		l->arena_live -= old - need;
		if (reserve)
			l->arena_reserve_live -= old - need;
	} else {
		arena_free(l, s);
		r = arena_alloc(l, need);
		if (reserve)
			l->arena_reserve_live += need;
	}
	if (old_bucket)
		bucket_put(l, old_bucket);
	s->e = *in;
	s->e.owner = owner;
	if (bi >= 0) {
		s->e.bucket = l->buckets[bi].name;
	} else {
		memcpy(r, in->bucket, in->bucket_len);
		r[in->bucket_len] = '\0';
		s->e.bucket = NULL; /* not interned: slot_point() points it at the record */
	}
	slot_point(l, s, r);
	memcpy((char *)s->e.key, in->key, in->key_len);
	((char *)s->e.key)[in->key_len] = '\0';
	if (in->value_len)
		memcpy((uint8_t *)s->e.value, in->value, in->value_len);
	memcpy((uint8_t *)s->e.sig, in->sig, NT_LEDGER_SIG_LEN);
	memcpy(s->hash, hash, NT_LEDGER_HASH_PREFIX_LEN);
	l->state_dirty = true;
}

void nt_ledger_record_free(struct nt_ledger *l, struct slot *s)
{
	arena_free(l, s);
	bucket_put(l, s->e.bucket);
}
