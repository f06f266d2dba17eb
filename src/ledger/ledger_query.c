// SPDX-License-Identifier: MIT
/*
 * Reading the ledger: the effective entry of a (bucket, key), which is the best live claim
 * (a proven owner's first, then the earliest, ties to the lower owner: docs/ledger.md),
 * one owner's entry, an entry by short id, iteration, and the questions address claims
 * ask (is a key claimed by another owner, is a claim of ours beaten). Nothing here
 * modifies the store.
 */
#include "ledger/ledger_query.h"

#include <string.h>

#include "ledger/ledger_impl.h"

static const struct slot *winner(const struct nt_ledger *l, const char *b, size_t blen,
				 const char *k, size_t klen)
{
	const struct slot *best = NULL;
	uint32_t i = nt_ledger_head(l->bk_heads, nt_ledger_bk_hash(l, b, blen, k, klen));

	for (; i != NIL; i = l->slots[i].next_bk) {
		const struct slot *s = &l->slots[i];

		nt_ledger_probe(l);
		if (!nt_ledger_same_bk(s, b, blen, k, klen) || (s->e.flags & NT_LEDGER_F_TOMBSTONE))
			continue;
		if (!best || nt_ledger_claim_beats(l, &s->e, &best->e))
			best = s;
	}
	return best;
}

const struct nt_ledger_entry *nt_ledger_get(const struct nt_ledger *l, const char *bucket,
					    const char *key)
{
	size_t blen = strlen(bucket), klen = strlen(key);
	const struct slot *s;

	if (!nt_ledger_bucket_is_valid(bucket, blen) || !nt_ledger_key_is_valid(key, klen))
		return NULL;
	s = winner(l, bucket, blen, key, klen);
	return s ? &s->e : NULL;
}

const struct nt_ledger_entry *nt_ledger_get_owned(const struct nt_ledger *l, const char *bucket,
						  const char *key, const uint8_t owner[32])
{
	size_t blen = strlen(bucket), klen = strlen(key);
	uint32_t idx;

	if (!nt_ledger_bucket_is_valid(bucket, blen) || !nt_ledger_key_is_valid(key, klen))
		return NULL;
	idx = nt_ledger_find_owned(l, bucket, blen, key, klen, owner);
	return idx == NIL ? NULL : &l->slots[idx].e;
}

const struct nt_ledger_entry *nt_ledger_get_by_id(const struct nt_ledger *l, uint64_t id)
{
	for (uint32_t i = nt_ledger_head(l->id_heads, nt_ledger_chain(l, (uint32_t)id)); i != NIL;
	     i = l->slots[i].next_id) {
		nt_ledger_probe(l);
		if (l->slots[i].id == id)
			return &l->slots[i].e;
	}
	return NULL;
}

void nt_ledger_foreach(const struct nt_ledger *l, const char *bucket, nt_ledger_foreach_fn *cb,
		       void *ctx)
{
	size_t blen = bucket ? strlen(bucket) : 0;

	for (uint32_t i = 0; i < l->fresh; i++) {
		const struct slot *s = &l->slots[i];
		if (!nt_ledger_slot_is_used(s) || (s->e.flags & NT_LEDGER_F_TOMBSTONE))
			continue;
		if (bucket && (s->e.bucket_len != blen || memcmp(s->e.bucket, bucket, blen) != 0))
			continue;
		if (winner(l, s->e.bucket, s->e.bucket_len, s->e.key, s->e.key_len) != s)
			continue;
		if (!cb(ctx, &s->e))
			return;
	}
}

void nt_ledger_foreach_stored(const struct nt_ledger *l, nt_ledger_foreach_fn *cb, void *ctx)
{
	for (uint32_t i = 0; i < l->fresh; i++)
		if (nt_ledger_slot_is_used(&l->slots[i]) && !cb(ctx, &l->slots[i].e))
			return;
}

const uint8_t *nt_ledger_machine_owner(const struct nt_ledger *l, const char *ip_text)
{
	const struct nt_ledger_entry *e = nt_ledger_get(l, NT_LEDGER_MACHINES, ip_text);

	return e ? e->owner : NULL;
}

bool nt_ledger_is_claimed(const struct nt_ledger *l, const char *bucket, const char *key,
			  const uint8_t owner[32])
{
	size_t blen = strlen(bucket), klen = strlen(key);
	uint32_t i;

	if (!nt_ledger_bucket_is_valid(bucket, blen) || !nt_ledger_key_is_valid(key, klen))
		return false;
	for (i = nt_ledger_head(l->bk_heads, nt_ledger_bk_hash(l, bucket, blen, key, klen)); i != NIL;
	     i = l->slots[i].next_bk) {
		const struct slot *s = &l->slots[i];

		if (nt_ledger_same_bk(s, bucket, blen, key, klen) &&
		    !(s->e.flags & NT_LEDGER_F_TOMBSTONE) && memcmp(s->e.owner, owner, 32) != 0)
			return true;
	}
	return false;
}

bool nt_ledger_claim_is_beaten(const struct nt_ledger *l, const char *bucket, const char *key,
			       const uint8_t owner[32])
{
	const struct nt_ledger_entry *w = nt_ledger_get(l, bucket, key), *own;

	if (!w || memcmp(w->owner, owner, 32) == 0)
		return false;
	/* Our live claim exists and is not the winner: the winner beats it. */
	own = nt_ledger_get_owned(l, bucket, key, owner);
	if (own && !(own->flags & NT_LEDGER_F_TOMBSTONE))
		return true;
	/* One we would make now is younger than any live claim: it wins only by proof. */
	return nt_ledger_owner_is_proven(l, w->owner) || !nt_ledger_owner_is_proven(l, owner);
}
